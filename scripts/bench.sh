#!/usr/bin/env bash
# The benchmark (one command): sets up .venv with the bench extra (matplotlib for the chart),
# runs benchmarks/run.py against the sandbox with 50 ms injected latency per round trip, and
# writes BENCHMARKS.md + BENCHMARKS.png. Arguments go to benchmarks/run.py (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
pip_quiet() { "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
pip_quiet .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[bench]"
exec .venv/bin/python benchmarks/run.py "$@"
