#!/usr/bin/env bash
# README step 1: run the tap end to end on the built-in offline Graph API sandbox (fake data, no
# Facebook account) into a real Singer target (target-jsonl, in its own venv as Meltano would do),
# then print what landed: rows per stream and the date range covered.
set -euo pipefail
cd "$(dirname "$0")/.."
# pip, minus the notices some machines' global pip config prints for every package.
pip_quiet() { "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }
PYTHON=${PYTHON:-python3}
PIP_FLAGS=(-q --disable-pip-version-check)

if [ ! -x .venv/bin/tap-facebook-pages ]; then
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  pip_quiet .venv/bin/python -m pip install "${PIP_FLAGS[@]}" -e .
fi
if [ ! -x .venvs/target-jsonl/bin/target-jsonl ]; then
  "$PYTHON" -m venv .venvs/target-jsonl
  pip_quiet .venvs/target-jsonl/bin/python -m pip install "${PIP_FLAGS[@]}" "target-jsonl==0.1.4"
fi

out=output/demo
rm -rf "$out" && mkdir -p "$out/data"
cat > "$out/tap_config.json" <<JSON
{"sandbox": true, "lookback_days": 3}
JSON
cat > "$out/target_config.json" <<JSON
{"destination_path": "$out/data", "do_timestamp_file": false}
JSON

# Posts and reels are opt-in (catalog selection): the demo selects every stream.
.venv/bin/tap-facebook-pages --config "$out/tap_config.json" --discover 2> "$out/discover.log" \
  | .venv/bin/python -c '
import json, sys
catalog = json.load(sys.stdin)
for stream in catalog["streams"]:
    for entry in stream["metadata"]:
        if not entry["breadcrumb"]:
            entry["metadata"]["selected"] = True
json.dump(catalog, sys.stdout)' > "$out/catalog.json"

echo "Running: tap-facebook-pages (sandbox) | target-jsonl ..." >&2
.venv/bin/tap-facebook-pages --config "$out/tap_config.json" --catalog "$out/catalog.json" \
  2> "$out/tap.log" \
  | .venvs/target-jsonl/bin/target-jsonl --config "$out/target_config.json" > "$out/state.json"

.venv/bin/python - "$out/data" <<'PY'
import json, pathlib, sys
rows = []
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.jsonl")):
    records = [json.loads(line) for line in path.read_text().splitlines() if line]
    dates = sorted(
        str(r.get("date") or r.get("created_time") or "")[:10]
        for r in records
        if r.get("date") or r.get("created_time")
    )
    metrics = {r["metric"] for r in records if r.get("metric")}
    span = f"{dates[0]} .. {dates[-1]}" if dates else ""
    rows.append((path.stem, len(records), len(metrics) or "", span))
print(f"\n{'stream':<36} {'rows':>7} {'metrics':>8}  dates")
print("-" * 80)
for name, count, metrics, span in rows:
    print(f"{name:<36} {count:>7} {metrics!s:>8}  {span}")
print("\nFiles:", sys.argv[1], "| tap log: output/demo/tap.log | final state: output/demo/state.json")
PY
