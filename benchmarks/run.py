"""Benchmark tap-facebook-pages against the sandbox: calls, round trips, wall time, CPU path, RSS.

Every number is measured in this one run (these machines are noisy; ratios, not timings, are the
result). For each fleet size the tap runs as a subprocess against an in-process sandbox with
injected latency per HTTP round trip, and we report:

- Graph calls made (a batch's sub-requests count one each) and HTTP round trips, against their
  floors: calls = ceil(pages/100) + 1 + pages x windows; round trips = ceil(pages/100) + 1 +
  ceil(pages x windows / 50);
- wall time of the sync (from the tap's own run summary: after imports) against the network
  floor (round-trip floor x latency);
- records/s and the peak RSS of the tap process;
- the CPU-path ratio: the tap's records per CPU-second at zero latency, divided by the records
  per CPU-second of plain ``json.dumps`` of the same Singer messages to /dev/null.

Usage: python benchmarks/run.py [--pages 10,50,100,200] [--days 90] [--latency-ms 50]
       [--metrics N] [--concurrency 4] [--out BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import pathlib
import subprocess
import sys
import tempfile
import time
from typing import Any

from tap_facebook_pages.metrics import load_catalog
from tap_facebook_pages.sandbox import SandboxServer
from tap_facebook_pages.sandbox import data as sbx

ROOT = pathlib.Path(__file__).resolve().parent.parent
TODAY = dt.date(2026, 11, 20)
FIXED_PAGES = len(sbx.ACCOUNT_PAGE_IDS)


def insights_catalog(cfg: pathlib.Path, workdir: pathlib.Path) -> pathlib.Path:
    """A catalog selecting only ``pages`` and the ``page_insights_*`` streams."""
    found = subprocess.run(
        [sys.executable, "-m", "tap_facebook_pages", "--config", str(cfg), "--discover"],
        capture_output=True,
        check=True,
    )
    catalog = json.loads(found.stdout)
    for stream in catalog["streams"]:
        wanted = stream["tap_stream_id"] == "pages" or stream["tap_stream_id"].startswith(
            "page_insights_"
        )
        for entry in stream["metadata"]:
            if not entry["breadcrumb"]:
                entry["metadata"]["selected"] = wanted
    path = workdir / "catalog.json"
    path.write_text(json.dumps(catalog))
    return path


def run_tap(url: str, config: dict[str, Any], workdir: pathlib.Path) -> dict[str, Any]:
    """Run the tap in a subprocess; return its summary, record count, CPU time and peak RSS."""
    cfg = workdir / "config.json"
    cfg.write_text(
        json.dumps({"access_token": "bench-token-0000000000", "api_base_url": url, **config})
    )
    catalog = insights_catalog(cfg, workdir)
    out_path = workdir / "out.jsonl"
    err_path = workdir / "err.log"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.monotonic()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tap_facebook_pages",
                "--config",
                str(cfg),
                "--catalog",
                str(catalog),
            ],
            stdout=out,
            stderr=err,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = err_path.read_text(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"tap failed ({proc.returncode}):\n{stderr[-3000:]}")
    summary: dict[str, Any] = {}
    for line in stderr.splitlines():
        if "run summary " in line:
            summary = json.loads(line.split("run summary ", 1)[1])
    records = sum(1 for line in out_path.open("rb") if line.startswith(b'{"type":"RECORD"'))
    return {
        "summary": summary,
        "records": records,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "process_s": elapsed,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "output": out_path,
    }


def dumps_cpu_seconds(output: pathlib.Path) -> tuple[int, float]:
    """CPU seconds to json.dumps every RECORD message of ``output`` to /dev/null."""
    messages = [
        json.loads(line) for line in output.open("rb") if line.startswith(b'{"type":"RECORD"')
    ]
    with open(os.devnull, "w", encoding="utf-8") as sink:
        start = time.process_time()
        for message in messages:
            sink.write(json.dumps(message) + "\n")
        return len(messages), time.process_time() - start


def floors(pages: int, windows: int) -> tuple[int, int]:
    """The minimal Graph calls and HTTP round trips for a page-insights run."""
    listing = math.ceil(pages / 100)
    calls = listing + 1 + pages * windows
    round_trips = listing + 1 + math.ceil(pages * windows / 50)
    return calls, round_trips


def chart(rows: list[dict[str, Any]], path: pathlib.Path) -> bool:
    """Wall time and calls vs fleet size as a PNG (skipped when matplotlib is absent)."""
    try:
        import matplotlib  # noqa: PLC0415

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        return False
    pages = [r["pages"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(pages, [r["wall_s"] for r in rows], "o-", label="tap sync wall time")
    left.plot(pages, [r["network_floor_s"] for r in rows], "s--", label="network floor")
    left.set_xlabel("pages")
    left.set_ylabel("seconds")
    left.set_title("Wall time vs fleet size")
    left.legend()
    right.plot(pages, [r["calls"] for r in rows], "o-", label="Graph calls")
    right.plot(pages, [r["round_trips"] for r in rows], "s-", label="HTTP round trips")
    right.plot(pages, [r["calls_floor"] for r in rows], "k:", label="calls floor")
    right.set_xlabel("pages")
    right.set_title("Calls vs fleet size")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def main() -> int:
    """Run the benchmark and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", default="10,50,100,200")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument(
        "--metrics", type=int, default=10, help="number of default metrics (max 10)"
    )
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--cpu-pages", type=int, default=50, help="fleet for the CPU-path ratio")
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    args = parser.parse_args()

    sizes = [int(p) for p in args.pages.split(",")]
    metrics = load_catalog().defaults("PAGE")[: args.metrics]
    end = TODAY - dt.timedelta(days=1)
    start = end - dt.timedelta(days=args.days - 1)
    windows = math.ceil(args.days / 90)
    base = {
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "page_metrics": metrics,
        "max_concurrency": args.concurrency,
    }
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp, SandboxServer(today=TODAY) as sandbox:
        work = pathlib.Path(tmp)
        for size in sizes:
            sandbox.configure(fleet=max(0, size - FIXED_PAGES), latency_ms=args.latency_ms)
            sandbox.reset_log()
            result = run_tap(sandbox.url, base, work)
            summary = result["summary"]
            calls_floor, trips_floor = floors(size, windows)
            wall = float(summary.get("duration_s") or result["process_s"])
            rows.append(
                {
                    "pages": size,
                    "records": result["records"],
                    "calls": summary.get("graph_calls"),
                    "round_trips": summary.get("http_round_trips"),
                    "sandbox_round_trips": sandbox.http_round_trips,
                    "calls_floor": calls_floor,
                    "round_trips_floor": trips_floor,
                    "wall_s": wall,
                    "network_floor_s": trips_floor * args.latency_ms / 1000,
                    "records_per_s": result["records"] / wall if wall else 0.0,
                    "cpu_s": result["cpu_s"],
                    "peak_rss_mb": result["peak_rss_mb"],
                }
            )
            print(json.dumps(rows[-1]), flush=True)

        # CPU path at zero latency, per record: the slope of the tap's CPU time between two
        # fleet sizes (start-up, imports and discovery cancel out), against json.dumps of the
        # same Singer messages.
        sandbox.configure(latency_ms=0)
        runs = []
        for size in (max(FIXED_PAGES, args.cpu_pages // 2), args.cpu_pages):
            sandbox.configure(fleet=max(0, size - FIXED_PAGES))
            runs.append(run_tap(sandbox.url, base, work))
        small, big = runs
        count, dumps_cpu = dumps_cpu_seconds(big["output"])
        extra = big["records"] - small["records"]
        tap_cpu = (big["cpu_s"] - small["cpu_s"]) / extra * count if extra > 0 else 0.0
        cpu_ratio = dumps_cpu / tap_cpu if tap_cpu > 0 else 0.0

    rss = [r["peak_rss_mb"] for r in rows]
    report = render(args, rows, cpu_ratio, count, tap_cpu, dumps_cpu, rss)
    out = pathlib.Path(args.out)
    png = out.with_suffix(".png")
    charted = chart(rows, png)
    if charted:
        report += f"\n![wall time and calls vs fleet size]({png.name})\n"
    out.write_text(report, encoding="utf-8")
    print(report)
    return 0


def render(
    args: argparse.Namespace,
    rows: list[dict[str, Any]],
    cpu_ratio: float,
    count: int,
    tap_cpu: float,
    dumps_cpu: float,
    rss: list[float],
) -> str:
    """The markdown report."""
    lines = [
        "# Benchmarks",
        "",
        "Generated by `scripts/bench.sh` (`python benchmarks/run.py`); every number below",
        "comes from one run on one machine, so compare the ratios, not the seconds.",
        "",
        f"Setup: sandbox latency {args.latency_ms:.0f} ms per HTTP round trip, {args.days} days "
        f"({math.ceil(args.days / 90)} window(s) per page), {args.metrics} page metrics, "
        f"max_concurrency {args.concurrency}, batch API on.",
        "",
        "| pages | records | Graph calls | floor | ratio | round trips | floor | ratio | "
        "sync wall s | network floor s | wall/floor | records/s | peak RSS MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        calls, trips = r["calls"] or 0, r["round_trips"] or 0
        lines.append(
            f"| {r['pages']} | {r['records']} | {calls} | {r['calls_floor']} | "
            f"{calls / r['calls_floor']:.2f} | {trips} | {r['round_trips_floor']} | "
            f"{trips / r['round_trips_floor']:.2f} | {r['wall_s']:.2f} | "
            f"{r['network_floor_s']:.2f} | {r['wall_s'] / r['network_floor_s']:.1f} | "
            f"{r['records_per_s']:.0f} | {r['peak_rss_mb']:.0f} |"
        )
    spread = (max(rss) - min(rss)) / min(rss) * 100 if rss else 0.0
    lines += [
        "",
        f"- CPU-path ratio (target ≥ 0.6): **{cpu_ratio:.2f}** — the tap emitted {count} records "
        f"in {tap_cpu:.2f} CPU-s vs {dumps_cpu:.2f} CPU-s for `json.dumps` of the same messages",
        "  to /dev/null (the tap's CPU is the per-record slope between two fleet sizes, so",
        "  interpreter start-up, imports and discovery cancel out).",
        f"- Peak RSS from {rows[0]['pages']} to {rows[-1]['pages']} pages: "
        f"{min(rss):.0f} to {max(rss):.0f} MB (spread {spread:.0f} %, target ±10 %).",
        "- wall/floor compares the sync's wall time with the round-trip floor x latency; when the",
        "  run is CPU-bound (many records per call) the CPU path, not the network, sets the time.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
