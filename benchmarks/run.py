"""Benchmark tap-facebook-pages against the sandbox: calls, round trips, wall time, CPU path, RSS.

Every number is measured in this one run (these machines are noisy; ratios, not timings, are the
result). For each fleet size the tap runs as a subprocess against an in-process sandbox with
injected latency per HTTP round trip, and we report:

- Graph calls made (a batch's sub-requests count one each) and HTTP round trips, against their
  floors: calls = ceil(pages/100) + 2 + pages x windows; round trips = ceil(pages/100) + 2 +
  ceil(pages x windows / 50) (the 2: /me/permissions and /debug_token, beside the listing);
- wall time of the sync (from the tap's own run summary: after imports) against the network
  floor (round-trip floor x latency);
- records/s and the peak RSS of the tap process;
- the CPU-path ratio: the tap's records per CPU-second at zero latency, divided by the records
  per CPU-second of plain ``json.dumps`` of the same Singer messages to /dev/null; measured
  without a stream map and with the fleet's alias map (``ALIAS_MAP``: every page into one
  ``page_insights`` stream), runs interleaved, and the CPU per record of the two compared.

Two profiles: ``nightly`` (4 days per page: lookback 3 + the new day; network-bound) and
``backfill`` (90 days per page; CPU-bound).

Usage: python benchmarks/run.py [--pages 10,50,100,200] [--profiles nightly,backfill]
       [--latency-ms 50] [--metrics N] [--concurrency 4] [--out BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import pathlib
import re
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
CPU_RATIO_TARGET = 0.6
# A fleet's stream map: every page's insights into one table. It only renames the streams, so
# the lean record path serves it: CPU per record within ALIAS_CPU_TARGET of no map at all.
ALIAS_MAP = {"page_insights_*": {"__alias__": "page_insights"}}
ALIAS_CPU_TARGET = 1.10
ALIAS_FALLBACK = 1.5  # beyond this the alias map is on the SDK's per-record path: a failure
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


# Runs the tap's CLI in this interpreter and, at exit, prints its peak RSS from /proc (Linux).
_PEAK_RSS_LAUNCHER = """
import atexit, runpy, sys

def _report():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    sys.stderr.write("\\npeak_rss_kb=%s\\n" % line.split()[1])
                    sys.stderr.flush()
    except OSError:
        pass

atexit.register(_report)
sys.argv[0] = "tap-facebook-pages"
runpy.run_module("tap_facebook_pages", run_name="__main__", alter_sys=True)
"""


def run_tap(
    sandbox: SandboxServer, config: dict[str, Any], workdir: pathlib.Path
) -> dict[str, Any]:
    """Run the tap in a subprocess; return its summary, record count, CPU time and peak RSS.

    Each run starts with a fresh simulated quota (as a nightly run does): the sandbox's usage
    headers count calls forever, and the tap would rightly slow down after a few runs.
    """
    sandbox.reset_usage()
    url = sandbox.url
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
                "-c",
                _PEAK_RSS_LAUNCHER,
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
    # The tap's own high-water mark (VmHWM, reported by the launcher at exit). rusage's
    # ru_maxrss would not do: Linux carries it across fork and exec, so it also counts this
    # benchmark process (and its sandbox caches) at the moment the tap was started.
    peak_kb = [int(m) for m in re.findall(r"^peak_rss_kb=(\d+)$", stderr, re.MULTILINE)]
    return {
        "summary": summary,
        "records": records,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "process_s": elapsed,
        "peak_rss_mb": (peak_kb[-1] if peak_kb else usage.ru_maxrss) / 1024,
        "output": out_path,
    }


def dumps_cpu_seconds(output: pathlib.Path) -> tuple[int, float]:
    """CPU seconds to json.dumps every RECORD message of ``output`` to /dev/null."""
    messages = [
        json.loads(line) for line in output.open("rb") if line.startswith(b'{"type":"RECORD"')
    ]
    best = float("inf")
    with open(os.devnull, "w", encoding="utf-8") as sink:
        for _ in range(5):  # the least of five, as for the tap
            start = time.process_time()
            for message in messages:
                sink.write(json.dumps(message) + "\n")
            best = min(best, time.process_time() - start)
    return len(messages), best


def floors(pages: int, windows: int) -> tuple[int, int]:
    """The minimal Graph calls and HTTP round trips for a page-insights run."""
    listing = math.ceil(pages / 100)
    calls = listing + 2 + pages * windows  # + /me/permissions and /debug_token
    round_trips = listing + 2 + math.ceil(pages * windows / 50)
    return calls, round_trips


def chart(tables: dict[str, list[dict[str, Any]]], path: pathlib.Path) -> bool:
    """Wall time and calls vs fleet size as a PNG (skipped when matplotlib is absent)."""
    try:
        import matplotlib  # noqa: PLC0415

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        return False
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for profile, rows in tables.items():
        pages = [r["pages"] for r in rows]
        left.plot(pages, [r["wall_s"] for r in rows], "o-", label=f"{profile}: sync wall time")
    # Floors, calls and round trips depend on the fleet, not on the days: drawn once.
    rows = next(iter(tables.values()), [])
    pages = [r["pages"] for r in rows]
    left.plot(pages, [r["network_floor_s"] for r in rows], "k--", label="round-trip floor")
    right.plot(pages, [r["calls"] for r in rows], "o-", label="Graph calls")
    right.plot(pages, [r["calls_floor"] for r in rows], "k:", label="calls floor")
    right.plot(pages, [r["round_trips"] for r in rows], "s-", label="HTTP round trips")
    right.plot(pages, [r["round_trips_floor"] for r in rows], "k--", label="round-trip floor")
    left.set_xlabel("pages")
    left.set_ylabel("seconds")
    left.set_title("Wall time vs fleet size (50 ms latency)")
    left.legend(fontsize=8)
    right.set_xlabel("pages")
    right.set_title("Calls vs fleet size (both profiles)")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


PROFILES = {
    # A nightly run of a fleet whose bookmarks are at yesterday: lookback_days 3 + the new
    # day = 4 days per page, one window each. Few records per call: network-bound.
    "nightly": 4,
    # A 90-day backfill: one full window per page, ~1,260 records per call: CPU-bound.
    "backfill": 90,
}


def _wall(result: dict[str, Any]) -> float:
    """The sync's wall time: the tap's own run summary (after imports), else the process's."""
    return float(result["summary"].get("duration_s") or result["process_s"])


def run_profile(
    sandbox: SandboxServer,
    work: pathlib.Path,
    args: argparse.Namespace,
    sizes: list[int],
    days: int,
) -> list[dict[str, Any]]:
    """One table: the tap over ``days`` days for each fleet size."""
    metrics = load_catalog().defaults("PAGE")[: args.metrics]
    end = TODAY - dt.timedelta(days=1)
    start = end - dt.timedelta(days=days - 1)
    windows = math.ceil(days / 90)
    base = {
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "page_metrics": metrics,
        "periods": args.periods.split(","),
        "max_concurrency": args.concurrency,
    }
    rows: list[dict[str, Any]] = []
    for size in sizes:
        sandbox.configure(fleet=max(0, size - FIXED_PAGES), latency_ms=args.latency_ms)
        # Warm the sandbox's value caches first, so that its own CPU (it shares the machine
        # with the tap) is not counted as the tap's wall time.
        run_tap(sandbox, base, work)
        # The fastest of a few runs: on a shared machine noise only ever adds time, and a
        # nightly run's network floor is a fraction of a second.
        result: dict[str, Any] = {}
        for _ in range(args.repeats):
            sandbox.reset_log()
            attempt = run_tap(sandbox, base, work)
            attempt["round_trips_seen"] = sandbox.http_round_trips
            if not result or _wall(attempt) < _wall(result):
                result = attempt
        summary = result["summary"]
        calls_floor, trips_floor = floors(size, windows)
        wall = _wall(result)
        rows.append(
            {
                "days": days,
                "pages": size,
                "records": result["records"],
                "calls": summary.get("graph_calls"),
                "round_trips": summary.get("http_round_trips"),
                "sandbox_round_trips": result["round_trips_seen"],
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
    return rows


CpuPath = tuple[float, int, float, float]  # ratio, records, tap CPU-s, json.dumps CPU-s


def cpu_path(
    sandbox: SandboxServer,
    work: pathlib.Path,
    args: argparse.Namespace,
    variants: dict[str, dict[str, Any]],
) -> dict[str, CpuPath]:
    """CPU path at zero latency, per record, over 90-day windows: the slope of the tap's CPU
    time between two fleet sizes (start-up, imports and discovery cancel out), against
    json.dumps of the same Singer messages. One result per variant (extra config, such as a
    stream map); the variants' runs are interleaved, so a slow spell hits them all."""
    metrics = load_catalog().defaults("PAGE")[: args.metrics]
    end = TODAY - dt.timedelta(days=1)
    base = {
        "start_date": (end - dt.timedelta(days=89)).isoformat(),
        "end_date": end.isoformat(),
        "page_metrics": metrics,
        "max_concurrency": args.concurrency,
    }
    sandbox.configure(latency_ms=0)
    sizes = (max(FIXED_PAGES, args.cpu_pages // 5), args.cpu_pages)
    sandbox.configure(fleet=max(0, sizes[1] - FIXED_PAGES))
    run_tap(sandbox, base, work)  # warm the sandbox's caches (the small fleet is a subset)
    dirs = {name: work / f"cpu-{index}" for index, name in enumerate(variants)}
    for path in dirs.values():
        path.mkdir(exist_ok=True)
    # Small and big runs interleaved, the least CPU of each kept: noise on a shared machine
    # only ever adds CPU time, and interleaving spreads a slow spell over both sizes (and
    # over every variant). The variants' order flips from one repeat to the next: a run
    # right after another variant's is measurably cheaper or dearer on a shared machine.
    # Each variant's last run is its big one: its output stays in its own directory for the
    # json.dumps reference.
    best: dict[tuple[str, int], dict[str, Any]] = {}
    for repeat in range(args.cpu_repeats):
        names = list(variants) if repeat % 2 == 0 else list(reversed(variants))
        for name in names:
            for size in sizes:
                sandbox.configure(fleet=max(0, size - FIXED_PAGES))
                result = run_tap(sandbox, {**base, **variants[name]}, dirs[name])
                key = (name, size)
                if key not in best or result["cpu_s"] < best[key]["cpu_s"]:
                    best[key] = result
    results: dict[str, CpuPath] = {}
    for name in variants:
        small, big = best[(name, sizes[0])], best[(name, sizes[1])]
        count, dumps_cpu = dumps_cpu_seconds(big["output"])
        extra_records = big["records"] - small["records"]
        tap_cpu = (
            (big["cpu_s"] - small["cpu_s"]) / extra_records * count if extra_records > 0 else 0.0
        )
        ratio = dumps_cpu / tap_cpu if tap_cpu > 0 else 0.0
        results[name] = (ratio, count, tap_cpu, dumps_cpu)
    return results


def alias_cost(cpu: dict[str, CpuPath]) -> float:
    """CPU per record with the alias map over CPU per record without a map (1.0: the same)."""
    _, count, tap_cpu, _ = cpu["no map"]
    _, alias_count, alias_cpu, _ = cpu["alias map"]
    if not (count and alias_count and tap_cpu > 0):
        return 0.0
    return (alias_cpu / alias_count) / (tap_cpu / count)


def main() -> int:
    """Run the benchmark and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", default="10,50,100,200")
    parser.add_argument(
        "--profiles", default="nightly,backfill", help=f"any of {', '.join(PROFILES)}"
    )
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument(
        "--metrics", type=int, default=10, help="number of default metrics (max 10)"
    )
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--periods", default="day", help="periods requested, e.g. day,week,days_28")
    parser.add_argument(
        "--cpu-pages", type=int, default=100, help="fleet for the CPU-path ratio (and 1/5 of it)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs per row, fastest kept")
    parser.add_argument("--cpu-repeats", type=int, default=5, help="runs per size, least kept")
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    args = parser.parse_args()

    sizes = [int(p) for p in args.pages.split(",")]
    profiles = [p.strip() for p in args.profiles.split(",") if p.strip()]
    unknown = [p for p in profiles if p not in PROFILES]
    if unknown:
        parser.error(f"unknown profile(s): {', '.join(unknown)}")
    tables: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp, SandboxServer(today=TODAY) as sandbox:
        work = pathlib.Path(tmp)
        for profile in profiles:
            tables[profile] = run_profile(sandbox, work, args, sizes, PROFILES[profile])
        cpu = cpu_path(sandbox, work, args, {"no map": {}, "alias map": {"stream_maps": ALIAS_MAP}})

    alias = alias_cost(cpu)
    report = render(args, tables, *cpu["no map"], alias_ratio=cpu["alias map"][0], alias=alias)
    out = pathlib.Path(args.out)
    png = out.with_suffix(".png")
    if chart(tables, png):
        report += f"\n![wall time and calls vs fleet size]({png.name})\n"
    out.write_text(report, encoding="utf-8")
    print(report)
    print(
        f"CPU per record, alias map / no map: {alias:.2f} (target <= {ALIAS_CPU_TARGET:.2f})",
        flush=True,
    )
    status = 0
    if cpu["no map"][0] < CPU_RATIO_TARGET:
        # A silent fall-back to the SDK's per-record path (an SDK upgrade, fast_path off) must
        # not pass unnoticed.
        print(
            f"FAIL: CPU-path ratio {cpu['no map'][0]:.2f} is below its target {CPU_RATIO_TARGET}",
            file=sys.stderr,
        )
        status = 1
    if alias > ALIAS_FALLBACK:
        # The alias map fell off the lean path (the SDK's map internals changed?): the SDK's
        # per-record path costs about twice the CPU.
        print(
            f"FAIL: CPU per record with the alias map is {alias:.2f} x that without a map: "
            "the lean record path no longer serves it",
            file=sys.stderr,
        )
        status = 1
    elif alias > ALIAS_CPU_TARGET:
        # Above target but not a fall-back: the slope also carries the SDK's per-stream cost
        # of building a custom map (about 1 ms per stream), and these machines are noisy.
        print(
            f"WARNING: CPU per record with the alias map is {alias:.2f} x that without a map "
            f"(target <= {ALIAS_CPU_TARGET:.2f})",
            file=sys.stderr,
        )
    return status


def render(
    args: argparse.Namespace,
    tables: dict[str, list[dict[str, Any]]],
    cpu_ratio: float,
    count: int,
    tap_cpu: float,
    dumps_cpu: float,
    *,
    alias_ratio: float,
    alias: float,
) -> str:
    """The markdown report."""
    lines = [
        "# Benchmarks",
        "",
        "Generated by `scripts/bench.sh` (`python benchmarks/run.py`); every number below",
        "comes from one run on one machine, so compare the ratios, not the seconds.",
        "",
        f"Setup: sandbox latency {args.latency_ms:.0f} ms per HTTP round trip, {args.metrics} "
        f"page metrics, max_concurrency {args.concurrency}, batch API on. The sandbox runs in "
        "the benchmark's process on the same machine (its value caches are warmed by one "
        f"unmeasured run per row); each row is the fastest of {args.repeats} runs.",
        "",
    ]
    for profile, rows in tables.items():
        days = rows[0]["days"] if rows else PROFILES[profile]
        lines += [
            f"## {profile}: {days} days per page, {math.ceil(days / 90)} window(s)",
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
        rss = [r["peak_rss_mb"] for r in rows]
        if rss:
            spread = (max(rss) - min(rss)) / min(rss) * 100
            lines += [
                "",
                f"Peak RSS from {rows[0]['pages']} to {rows[-1]['pages']} pages: "
                f"{min(rss):.0f} to {max(rss):.0f} MB (spread {spread:.0f} %, target ±10 %).",
                "",
            ]
    lines += [
        f"- CPU-path ratio (target ≥ {CPU_RATIO_TARGET}): **{cpu_ratio:.2f}**: the tap emitted "
        f"{count} records "
        f"(90-day windows) in {tap_cpu:.2f} CPU-s vs {dumps_cpu:.2f} CPU-s for `json.dumps` of "
        "the same messages to /dev/null (the tap's CPU is the per-record slope between two fleet",
        "  sizes, so interpreter start-up, imports and discovery cancel out).",
        f"- With the fleet's alias map (`{json.dumps(ALIAS_MAP)}`, every page into one",
        "  `page_insights` stream), measured the same way in the same run (interleaved):",
        f"  CPU-path ratio {alias_ratio:.2f}; CPU per record with the map / without: "
        f"**{alias:.2f}** (target ≤ {ALIAS_CPU_TARGET:.2f}).",
        "- wall/floor compares the sync's wall time (from the tap's run summary: discovery",
        "  included, imports not) with the round-trip floor x latency, where the floor counts",
        "  round trips as if sent one after another. A nightly run is network-bound; a backfill",
        "  is CPU-bound (about 1,260 records per Graph call), so there the record path, not the",
        "  network, sets the time.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
