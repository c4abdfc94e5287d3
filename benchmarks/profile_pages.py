"""Per-page and per-record cost of the tap, as slopes between fleet sizes (issue 15).

The tap runs as a subprocess against an in-process sandbox at zero latency, with ``--config``
and ``--catalog`` (``pages`` + ``page_insights_*`` selected, as Meltano runs it). For each
fleet size the least CPU (user + system) and the least peak RSS (VmHWM) of ``--repeats`` runs
are kept (noise on a shared machine only adds). The slope between two sizes cancels start-up,
imports and discovery's fixed part:

- ``nightly``: 4 days per page (lookback 3 + the new day): CPU ms and peak-RSS KiB per page;
- ``backfill``: 90 days per page: CPU µs per record.

With ``--baseline DIR`` (another source tree, say ``git archive <rev> tap_facebook_pages |
tar -x -C DIR``) the same runs of that version are interleaved and the ratios printed.
With ``--tracemalloc`` one extra run per size reports the Python heap's peak and the
top allocation sites alive at exit.

Usage: python benchmarks/profile_pages.py [--pages 10,100,1000] [--backfill-pages 10,50]
       [--repeats 3] [--baseline DIR] [--tracemalloc]
Targets: <= 0.4 ms CPU and <= 10 KiB peak memory per page (nightly, with --catalog); peak RSS
at the largest fleet <= 1.25x that at the smallest.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
from typing import Any

from tap_facebook_pages.metrics import load_catalog
from tap_facebook_pages.sandbox import SandboxServer

TODAY = dt.date(2026, 11, 20)
FIXED_PAGES = 3  # the sandbox's own pages; a fleet adds generated ones

LAUNCHER = """
import atexit, os, runpy, sys
if os.environ.get("PROFILE_TRACEMALLOC"):
    import tracemalloc
    tracemalloc.start(1)

def _report():
    if os.environ.get("PROFILE_TRACEMALLOC"):
        import tracemalloc
        current, peak = tracemalloc.get_traced_memory()
        sys.stderr.write("\\ntracemalloc_peak=%d\\n" % peak)
        stats = tracemalloc.take_snapshot().statistics("lineno")[:12]
        for stat in stats:
            sys.stderr.write("tracemalloc_top %s\\n" % stat)
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                sys.stderr.write("\\npeak_rss_kb=%s\\n" % line.split()[1])
    sys.stderr.flush()

atexit.register(_report)
sys.argv[0] = "tap-facebook-pages"
runpy.run_module("tap_facebook_pages", run_name="__main__", alter_sys=True)
"""


def child_env(**extra: str) -> dict[str, str]:
    """Bytecode caches used, as in a user's install (see profile_startup.py). Processes run
    in a temporary directory: ``python -c``/``-m`` put the working directory first on
    ``sys.path``, and a checkout there would shadow the version measured."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, **extra}


def catalog_for(config: pathlib.Path, work: pathlib.Path, pages: int) -> pathlib.Path:
    found = subprocess.run(
        [sys.executable, "-m", "tap_facebook_pages", "--config", str(config), "--discover"],
        capture_output=True,
        check=True,
        env=child_env(),
        cwd=work,
    )
    catalog = json.loads(found.stdout)
    for stream in catalog["streams"]:
        name = stream["tap_stream_id"]
        wanted = name == "pages" or name.startswith("page_insights_")
        for entry in stream["metadata"]:
            if not entry["breadcrumb"]:
                entry["metadata"]["selected"] = wanted
    path = work / f"catalog-{pages}.json"
    path.write_text(json.dumps(catalog))
    return path


def run(
    config: pathlib.Path, catalog: pathlib.Path, env: dict[str, str], work: pathlib.Path
) -> dict[str, Any]:
    out, err = work / "out.jsonl", work / "err.log"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        argv = [sys.executable, "-c", LAUNCHER, "--config", str(config)]
        proc = subprocess.Popen(
            [*argv, "--catalog", str(catalog)], stdout=stdout, stderr=stderr, env=env, cwd=work
        )
        _, status, usage = os.wait4(proc.pid, 0)
    text = err.read_text(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"tap failed:\n{text[-3000:]}")
    records = sum(1 for line in out.open("rb") if line.startswith(b'{"type":"RECORD"'))
    peak = re.findall(r"^peak_rss_kb=(\d+)$", text, re.MULTILINE)
    traced = re.findall(r"^tracemalloc_peak=(\d+)$", text, re.MULTILINE)
    return {
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "rss_kb": int(peak[-1]) if peak else 0,
        "records": records,
        "traced": int(traced[-1]) if traced else 0,
        "top": re.findall(r"^tracemalloc_top (.*)$", text, re.MULTILINE),
        "log_lines": text.count("\n"),
    }


def measure(
    sandbox: SandboxServer,
    work: pathlib.Path,
    sizes: list[int],
    days: int,
    versions: dict[str, dict[str, str]],
    repeats: int,
    *,
    tracemalloc: bool,
) -> dict[tuple[str, int], dict[str, Any]]:
    end = TODAY - dt.timedelta(days=1)
    config = work / f"config-{days}.json"
    best: dict[tuple[str, int], dict[str, Any]] = {}
    for size in sizes:
        sandbox.configure(fleet=max(0, size - FIXED_PAGES), latency_ms=0)
        config.write_text(
            json.dumps(
                {
                    "access_token": "bench-token-0000000000",
                    "api_base_url": sandbox.url,
                    "start_date": (end - dt.timedelta(days=days - 1)).isoformat(),
                    "end_date": end.isoformat(),
                    "page_metrics": load_catalog().defaults("PAGE")[:10],
                    "max_concurrency": 4,
                }
            )
        )
        catalog = catalog_for(config, work, size)
        for env in versions.values():  # warm-up: sandbox caches, bytecode
            sandbox.reset_usage()
            run(config, catalog, env, work)
        for _ in range(repeats):
            for version, env in versions.items():
                sandbox.reset_usage()
                result = run(config, catalog, env, work)
                key = (version, size)
                old = best.get(key)
                if old is None:
                    best[key] = result
                else:
                    old["cpu_s"] = min(old["cpu_s"], result["cpu_s"])
                    old["rss_kb"] = min(old["rss_kb"], result["rss_kb"])
        if tracemalloc:
            for version, env in versions.items():
                sandbox.reset_usage()
                traced = run(config, catalog, {**env, "PROFILE_TRACEMALLOC": "1"}, work)
                best[(version, size)]["traced"] = traced["traced"]
                best[(version, size)]["top"] = traced["top"]
        for version in versions:
            r = best[(version, size)]
            print(
                f"  {days:2d} days {version:8s} {size:5d} pages: {r['records']:7d} records, "
                f"CPU {r['cpu_s']:.3f} s, peak RSS {r['rss_kb'] / 1024:.1f} MB, "
                f"{r['log_lines']} log lines"
                + (f", tracemalloc peak {r['traced'] / 1024:.0f} KiB" if r["traced"] else ""),
                flush=True,
            )
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", default="10,100,1000")
    parser.add_argument("--backfill-pages", default="10,50")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline")
    parser.add_argument("--tracemalloc", action="store_true")
    args = parser.parse_args()
    versions = {"tap": child_env()}
    if args.baseline:
        versions["baseline"] = child_env(PYTHONPATH=str(pathlib.Path(args.baseline).resolve()))
    sizes = [int(p) for p in args.pages.split(",") if p]
    backfill = [int(p) for p in args.backfill_pages.split(",") if p]
    with tempfile.TemporaryDirectory() as tmp, SandboxServer(today=TODAY) as sandbox:
        work = pathlib.Path(tmp)
        nightly = measure(
            sandbox, work, sizes, 4, versions, args.repeats, tracemalloc=args.tracemalloc
        )
        back = (
            measure(sandbox, work, backfill, 90, versions, args.repeats, tracemalloc=False)
            if len(backfill) >= 2
            else {}
        )
    print("-- nightly (4 days per page), slopes")
    for version in versions:
        for low, high in itertools.pairwise(sizes):
            a, b = nightly[(version, low)], nightly[(version, high)]
            n = high - low
            cpu_ms = (b["cpu_s"] - a["cpu_s"]) / n * 1000
            rss_kib = (b["rss_kb"] - a["rss_kb"]) / n
            line = (
                f"{version:8s} {low}->{high} pages: {cpu_ms:.3f} ms CPU/page, "
                f"{rss_kib:.1f} KiB peak RSS/page"
            )
            if a["traced"] and b["traced"]:
                line += f", {(b['traced'] - a['traced']) / n / 1024:.1f} KiB traced/page"
            print(line)
        rss = nightly[(version, sizes[-1])]["rss_kb"] / nightly[(version, sizes[0])]["rss_kb"]
        print(f"{version:8s} peak RSS {sizes[-1]} / {sizes[0]} pages: {rss:.2f}x (target <= 1.25)")
        for entry in nightly[(version, sizes[-1])].get("top", []):
            print(f"    {entry}")
    if back:
        print("-- backfill (90 days per page), slope")
        for version in versions:
            a, b = back[(version, backfill[0])], back[(version, backfill[-1])]
            per = (b["cpu_s"] - a["cpu_s"]) / max(1, b["records"] - a["records"]) * 1e6
            print(
                f"{version:8s} {per:.2f} µs CPU per record ({b['records'] - a['records']} records)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
