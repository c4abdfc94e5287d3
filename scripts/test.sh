#!/usr/bin/env bash
# The test command (README step 2; .ci/run calls exactly this).
# Creates ./.venv with the tap and its test/dev tools, then runs lint, format check, type check,
# the metric-catalog render check and the whole pytest suite (end-to-end tests included).
# Extra arguments go to pytest, e.g. `scripts/test.sh -m "not e2e"` for a quick local run.
set -euo pipefail
cd "$(dirname "$0")/.."
# pip, minus the notices some machines' global pip config prints for every package.
pip_quiet() { "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
pip_quiet .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test,dev]"
echo "== ruff" && .venv/bin/ruff check . && .venv/bin/ruff format --check .
echo "== mypy" && .venv/bin/mypy
echo "== generated docs" && .venv/bin/python scripts/render_metrics_catalog.py --check \
  && .venv/bin/python scripts/render_readme_settings.py --check
echo "== pytest" && .venv/bin/pytest "$@"
