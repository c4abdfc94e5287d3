"""Render ``catalog/sample_catalog.json``: the tap's ``--discover`` output on the offline sandbox.

Usage::

    python scripts/render_sample_catalog.py           # (re)write catalog/sample_catalog.json
    python scripts/render_sample_catalog.py --check   # exit 1 if the committed file is stale

Runs ``tap-facebook-pages --config {"sandbox": true} --discover`` with the Python running this
script (so the tap must be installed in it, e.g. ``.venv/bin/python scripts/...``). The sandbox's
pages and the stream schemas do not depend on the date, so the output is deterministic.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_CATALOG = ROOT / "catalog" / "sample_catalog.json"
SANDBOX_CONFIG = {"sandbox": True}


def render() -> str:
    """The catalog the tap discovers on the sandbox, as indented JSON with a final newline."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_FACEBOOK_PAGES_")}
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.json"
        config.write_text(json.dumps(SANDBOX_CONFIG), encoding="utf-8")
        proc = subprocess.run(
            [sys.executable, "-m", "tap_facebook_pages", "--config", str(config), "--discover"],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp,
            timeout=120,
            check=False,
        )
    if proc.returncode != 0:
        msg = f"tap-facebook-pages --discover failed ({proc.returncode}):\n{proc.stderr}"
        raise RuntimeError(msg)
    catalog = json.loads(proc.stdout)
    return json.dumps(catalog, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    args = parser.parse_args(argv)
    text = render()
    current = SAMPLE_CATALOG.read_text(encoding="utf-8") if SAMPLE_CATALOG.exists() else ""
    if args.check:
        if current != text:
            print(
                f"{SAMPLE_CATALOG.relative_to(ROOT)} is out of date; "
                "run: python scripts/render_sample_catalog.py",
                file=sys.stderr,
            )
            return 1
        return 0
    SAMPLE_CATALOG.write_text(text, encoding="utf-8")
    print(f"wrote {SAMPLE_CATALOG.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
