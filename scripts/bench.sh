#!/usr/bin/env bash
# The benchmark (one command). Writes BENCHMARKS.md (+ BENCHMARKS.png).
#
# - .venv-bench: the measured tap, installed as a user installs it (`pip install .`, no extras,
#   not editable, nothing else in it); the driver, the sandbox process and the floor reference
#   run with this Python too (the floor needs only msgspec, which the tap already brings).
# - .venv-bench-plot: matplotlib for the chart, in a venv of its own, so that neither it nor
#   numpy (which the SDK imports when present) inflates the measured tap.
#
# Arguments go to benchmarks/run.py: --quick (small fleets, one run each, no 2-year row),
# --no-big (leave out the 200-page x 2-year backfill, ~2 M records), --no-plot, see --help.
set -euo pipefail
cd "$(dirname "$0")/.."
pip_quiet() { "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }
PYTHON=${PYTHON:-python3}
PLOT=1
ARGS=()
for arg in "$@"; do
  if [ "$arg" = "--no-plot" ]; then PLOT=0; else ARGS+=("$arg"); fi
done
[ -x .venv-bench/bin/python ] || "$PYTHON" -m venv .venv-bench
# Dependencies first (once), then this checkout's code, rebuilt on every run.
pip_quiet .venv-bench/bin/python -m pip install -q --disable-pip-version-check .
pip_quiet .venv-bench/bin/python -m pip install -q --disable-pip-version-check \
  --force-reinstall --no-deps .
if [ "$PLOT" = 1 ]; then
  [ -x .venv-bench-plot/bin/python ] || "$PYTHON" -m venv .venv-bench-plot
  pip_quiet .venv-bench-plot/bin/python -m pip install -q --disable-pip-version-check \
    -r benchmarks/plot-requirements.txt
  ARGS+=(--plot-python .venv-bench-plot/bin/python)
fi
# Byte-compiled as an installed package is (pip compiles at install): a PYTHONDONTWRITEBYTECODE
# in the caller's environment would make every measured start recompile the benchmark's scripts.
unset PYTHONDONTWRITEBYTECODE
exec .venv-bench/bin/python benchmarks/run.py ${ARGS[@]+"${ARGS[@]}"}
