"""Benchmark tap-facebook-pages against the sandbox and against a floor reference, same run.

Every number is measured in this one run on this one machine (noisy: ratios, not seconds, are
the result). The measured processes and the sandbox are separate processes:

- the **sandbox** runs in its own process (``benchmarks/sandbox_proc.py``), with injected
  latency per HTTP round trip; its CPU is never in a measured process's rusage;
- the **tap** runs as Meltano runs it: ``tap-facebook-pages --config … --catalog …`` (the
  catalog from one unmeasured ``--discover`` per fleet, selecting ``pages`` and every
  ``page_insights_*`` stream), through a launcher that does what the console script does and
  reports the process's own peak RSS (VmHWM) at exit;
- the **floor reference** (``benchmarks/floor.py``) makes the same Graph calls for the same work
  and writes the same RECORD lines (checked: byte-identical after sorting, ``time_extracted``
  aside, and the same calls in the sandbox's log) with stdlib + msgspec only;
- the **bare-Python reference** imports ``json`` and ``urllib`` and makes one GET.

Whole-process figures: wall from just before the process is spawned to its exit (``os.wait4``),
CPU = the child's user + system time from the same rusage (the child only: the sandbox is
another process), start-up = the arrival of the first Graph request at the sandbox (its
``time.monotonic()``, a clock shared by all processes) minus the spawn time. Sync-only figures
come from the tap's ``run summary`` (after imports) and the floor's own summary.

Usage: python benchmarks/run.py [--quick] [--big/--no-big] [--latency-ms 50] [--repeats N]
       [--plot-python PATH] [--out BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import itertools
import json
import math
import os
import pathlib
import pstats
import re
import select
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
TODAY = dt.date(2026, 11, 20)
TOKEN = "bench-token-0000000000"
FIXED_PAGES = 3  # the sandbox's own pages in /me/accounts, before the generated fleet
# A fleet's stream map: every page's insights into one table. It only renames the streams, so
# the lean record path serves it: CPU per record within ALIAS_CPU_TARGET of no map at all.
ALIAS_MAP = {"page_insights_*": {"__alias__": "page_insights"}}

# Targets of issue 15 (each figure is reported as a ratio with its target, PASS or MISS).
STARTUP_EXTRA_S = 0.15  # first Graph request: at most this much later than bare Python's
PAGE_CPU_MS = 0.4  # CPU per page (nightly, --catalog), slope between fleet sizes
PAGE_MEM_KIB = 10.0  # peak memory per page, same slope
RSS_GROWTH = 1.25  # peak RSS at the largest nightly fleet / at the smallest
RECORD_CPU_RATIO = 1.5  # CPU per record / the floor's, 90-day backfill
NIGHTLY_WALL_RATIO = 2.0  # whole-process nightly wall at 100 pages / the floor's
BIG_RSS_FLAT = 1.10  # 2-year backfill peak RSS / 90-day backfill peak RSS (same fleet)
BIG_TIME_LINEAR = 1.10  # wall per record, 2-year / 90-day (same fleet)
ALIAS_CPU_TARGET = 1.10  # CPU per record with the alias map / without
ALIAS_FALLBACK = 1.5  # beyond this the alias map fell off the lean record path: a failure

# Runs the tap's CLI as its console script does, and at exit prints the process's own peak
# RSS (VmHWM, Linux). rusage's ru_maxrss would not do: Linux carries it across fork and exec,
# so it would also count this benchmark process at the moment the child was spawned.
TAP_LAUNCHER = """
import atexit, sys

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
from tap_facebook_pages.cli import main
sys.exit(main())
"""

# The bare-Python reference: what any Python extractor must at least do before its first call.
BARE_REFERENCE = """
import json, sys, urllib.request
request = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]})
with urllib.request.urlopen(request) as answer:
    json.loads(answer.read())
"""

# The floor reference, imported rather than run as a script: like the tap's modules its
# bytecode is then cached (a script run as __main__ is compiled from source every time).
FLOOR_LAUNCHER = """
import sys
sys.path.insert(0, sys.argv.pop(1))
from floor import main
sys.exit(main())
"""

# The children's environment: PYTHONDONTWRITEBYTECODE (set in some shells and CI images) would
# make every measured start compile the benchmark's own modules from source again.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

# The tap under cProfile with the main thread's CPU clock (cProfile's default clock is wall
# time, which would count waits as cost), imports included; the profile goes to argv[1].
PROFILE_LAUNCHER = """
import cProfile, sys, time
out = sys.argv.pop(1)
sys.argv[0] = "tap-facebook-pages"
profiler = cProfile.Profile(time.thread_time)
profiler.enable()
try:
    from tap_facebook_pages.cli import main
    main()
finally:
    profiler.disable()
    profiler.dump_stats(out)
"""

RECORD_PREFIX = b'{"type":"RECORD"'
_TIME_EXTRACTED = re.compile(rb',"time_extracted":"[^"]*"')


class Sandbox:
    """``benchmarks/sandbox_proc.py`` in its own process, driven over its control endpoints."""

    def __init__(self, python: str = sys.executable) -> None:
        self.proc = subprocess.Popen(
            [python, str(BENCH / "sandbox_proc.py"), "--today", TODAY.isoformat()],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=CHILD_ENV,
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 60)
        line = self.proc.stdout.readline() if ready else ""
        if "sandbox listening on " not in line:
            self.stop()
            raise SystemExit(f"the sandbox did not start: {line!r}")
        self.url = line.split("sandbox listening on ", 1)[1].strip()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.url}/__sandbox__/{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read())

    def configure(self, **changes: Any) -> None:
        self._call("POST", "config", changes)

    def reset(self) -> None:
        """A fresh request log, usage quota and first-request time (before every run)."""
        self._call("POST", "bench/reset", {})

    def stats(self) -> dict[str, Any]:
        return dict(self._call("GET", "bench/stats"))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def default_metrics(count: int) -> list[str]:
    """The first ``count`` default page metrics of the tap's catalog."""
    from tap_facebook_pages.metrics import load_catalog  # noqa: PLC0415

    return list(load_catalog().defaults("PAGE")[:count])


def write_config(
    work: pathlib.Path, sandbox: Sandbox, days: int, args: argparse.Namespace, **extra: Any
) -> pathlib.Path:
    """The tap's config (the floor reads the same file): ``days`` days up to yesterday."""
    end = TODAY - dt.timedelta(days=1)
    config = {
        "access_token": TOKEN,
        "api_base_url": sandbox.url,
        "start_date": (end - dt.timedelta(days=days - 1)).isoformat(),
        "end_date": end.isoformat(),
        "page_metrics": args.metric_names,
        "periods": ["day"],
        "max_concurrency": args.concurrency,
        **extra,
    }
    path = work / f"config-{days}d{'-map' if extra else ''}.json"
    path.write_text(json.dumps(config))
    return path


def discover_catalog(
    python: str, sandbox: Sandbox, config: pathlib.Path, work: pathlib.Path, pages: int
) -> pathlib.Path:
    """A catalog selecting ``pages`` and every ``page_insights_*`` stream (one discovery per
    fleet size, not measured)."""
    path = work / f"catalog-{pages}.json"
    if path.exists():
        return path
    sandbox.reset()
    found = subprocess.run(
        [python, "-c", TAP_LAUNCHER, "--config", str(config), "--discover"],
        capture_output=True,
        check=True,
        env=CHILD_ENV,
    )
    catalog = json.loads(found.stdout)
    for stream in catalog["streams"]:
        wanted = stream["tap_stream_id"] == "pages" or stream["tap_stream_id"].startswith(
            "page_insights_"
        )
        for entry in stream["metadata"]:
            if not entry["breadcrumb"]:
                entry["metadata"]["selected"] = wanted
    path.write_text(json.dumps(catalog))
    return path


def measure(
    command: list[str], sandbox: Sandbox, out_path: pathlib.Path, err_path: pathlib.Path
) -> dict[str, Any]:
    """Run ``command`` once against a freshly reset sandbox: whole-process wall and CPU, time
    to the first Graph request, the sandbox's count of calls and round trips."""
    sandbox.reset()
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.monotonic()
        proc = subprocess.Popen(command, stdout=out, stderr=err, env=CHILD_ENV)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
    code = proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = err_path.read_text(errors="replace")
    if code != 0:
        raise SystemExit(f"{command[1]} failed ({code}):\n{stderr[-3000:]}")
    seen = sandbox.stats()
    first = seen["first_request"]
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "startup_s": (first - started) if first is not None else math.nan,
        "sandbox_calls": seen["graph_calls"],
        "sandbox_round_trips": seen["http_round_trips"],
        "calls_seen": seen["calls"],
        "stderr": stderr,
        "output": out_path,
    }


def run_tap(
    python: str,
    sandbox: Sandbox,
    config: pathlib.Path,
    catalog: pathlib.Path,
    work: pathlib.Path,
    tag: str = "tap",
) -> dict[str, Any]:
    """The tap, whole process, as Meltano runs it (``--config`` and ``--catalog``)."""
    command = [python, "-c", TAP_LAUNCHER, "--config", str(config), "--catalog", str(catalog)]
    result = measure(command, sandbox, work / f"{tag}.out", work / f"{tag}.err")
    summary: dict[str, Any] = {}
    for line in result["stderr"].splitlines():
        if "run summary " in line:
            summary = json.loads(line.split("run summary ", 1)[1])
    peak = re.findall(r"^peak_rss_kb=(\d+)$", result["stderr"], re.MULTILINE)
    result.update(
        records=count_records(result["output"]),
        sync_s=float(summary.get("duration_s") or math.nan),
        calls=summary.get("graph_calls"),
        round_trips=summary.get("http_round_trips"),
        peak_rss_kb=int(peak[-1]) if peak else 0,
    )
    return result


def run_floor(
    python: str, sandbox: Sandbox, config: pathlib.Path, work: pathlib.Path, tag: str = "floor"
) -> dict[str, Any]:
    """The floor reference, whole process, on the same config."""
    command = [python, "-c", FLOOR_LAUNCHER, str(BENCH), "--config", str(config)]
    result = measure(command, sandbox, work / f"{tag}.out", work / f"{tag}.err")
    summary: dict[str, Any] = {}
    for line in result["stderr"].splitlines():
        if line.startswith("floor summary "):
            summary = json.loads(line.split("floor summary ", 1)[1])
    result.update(
        records=summary.get("records", 0),
        sync_s=float(summary.get("duration_s") or math.nan),
        calls=summary.get("graph_calls"),
        round_trips=summary.get("http_round_trips"),
        peak_rss_kb=int(summary.get("peak_rss_kb") or 0),
    )
    return result


def run_bare(python: str, sandbox: Sandbox, work: pathlib.Path) -> dict[str, Any]:
    """The bare-Python reference: import json and urllib, one GET."""
    command = [python, "-c", BARE_REFERENCE, f"{sandbox.url}/v25.0/me/permissions", TOKEN]
    return measure(command, sandbox, work / "bare.out", work / "bare.err")


def count_records(path: pathlib.Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.startswith(RECORD_PREFIX))


def record_lines(path: pathlib.Path) -> list[bytes]:
    """The RECORD lines of an output, ``time_extracted`` blanked, sorted."""
    with path.open("rb") as handle:
        return sorted(
            _TIME_EXTRACTED.sub(b',"time_extracted":""', line)
            for line in handle
            if line.startswith(RECORD_PREFIX)
        )


EXACT_LIMIT = 64 * 1024 * 1024  # larger outputs are compared by a multiset digest


def record_digest(path: pathlib.Path) -> tuple[int, int, int]:
    """An order-free digest of the RECORD lines (``time_extracted`` blanked): their count, and
    the sum and the xor of their 64-bit hashes (a 2 M-record output is not sorted in memory)."""
    count = total = mixed = 0
    with path.open("rb") as handle:
        for line in handle:
            if line.startswith(RECORD_PREFIX):
                normal = _TIME_EXTRACTED.sub(b',"time_extracted":""', line)
                value = int.from_bytes(hashlib.blake2b(normal, digest_size=8).digest(), "big")
                count += 1
                total = (total + value) & 0xFFFFFFFFFFFFFFFF
                mixed ^= value
    return count, total, mixed


def compare_outputs(tap: dict[str, Any], floor: dict[str, Any]) -> list[str]:
    """Why the floor's run is not the tap's (empty: the same calls and byte-identical RECORD
    lines, ``time_extracted`` aside)."""
    problems = []
    if max(tap["output"].stat().st_size, floor["output"].stat().st_size) > EXACT_LIMIT:
        tap_digest, floor_digest = record_digest(tap["output"]), record_digest(floor["output"])
        if not tap_digest[0]:
            problems.append("the tap wrote no RECORD lines")
        if tap_digest != floor_digest:
            problems.append(
                f"RECORD lines differ: {tap_digest[0]} from the tap, {floor_digest[0]} from the "
                "floor (multiset digests differ)"
            )
    else:
        tap_lines, floor_lines = record_lines(tap["output"]), record_lines(floor["output"])
        if not tap_lines:
            problems.append("the tap wrote no RECORD lines")
        if tap_lines != floor_lines:
            only_tap = sorted(set(tap_lines) - set(floor_lines))
            only_floor = sorted(set(floor_lines) - set(tap_lines))
            problems.append(
                f"RECORD lines differ: {len(tap_lines)} from the tap, {len(floor_lines)} from "
                f"the floor; first only in the tap: {only_tap[:1]!r}; only in the floor: "
                f"{only_floor[:1]!r}"
            )
    if tap["calls_seen"] != floor["calls_seen"]:
        missing = sorted(set(tap["calls_seen"]) - set(floor["calls_seen"]))
        extra = sorted(set(floor["calls_seen"]) - set(tap["calls_seen"]))
        problems.append(
            f"Graph calls differ: only the tap's {missing[:3]}, only the floor's {extra[:3]}"
        )
    return problems


def floors(pages: int, windows: int) -> tuple[int, int]:
    """The minimal Graph calls and HTTP round trips for a page-insights run."""
    listing = math.ceil(pages / 100)
    calls = listing + 2 + pages * windows  # + /me/permissions and /debug_token
    round_trips = listing + 2 + math.ceil(pages * windows / 50)
    return calls, round_trips


def _keep_least(best: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """Per figure, the least of the runs so far: noise on a shared machine only ever adds."""
    if not best:
        return dict(result)
    for key in ("wall_s", "cpu_s", "startup_s", "sync_s", "peak_rss_kb"):
        if key not in result:
            continue
        value = result[key]
        if not (isinstance(value, float) and math.isnan(value)) and (
            (isinstance(best[key], float) and math.isnan(best[key])) or value < best[key]
        ):
            best[key] = value
    return best


def run_row(
    python: str,
    sandbox: Sandbox,
    work: pathlib.Path,
    args: argparse.Namespace,
    pages: int,
    days: int,
    repeats: int,
    *,
    latency_ms: float,
    alias: bool = False,
    bare: bool = False,
    check: bool = False,
) -> dict[str, Any]:
    """One row: the tap and the floor (and the alias-map tap, the bare reference) on the same
    work, runs interleaved, each figure the least of ``repeats`` runs."""
    sandbox.configure(fleet=max(0, pages - FIXED_PAGES), latency_ms=latency_ms)
    config = write_config(work, sandbox, days, args)
    catalog = discover_catalog(python, sandbox, config, work, pages)
    alias_config = write_config(work, sandbox, days, args, stream_maps=ALIAS_MAP)
    run_floor(python, sandbox, config, work)  # warm the sandbox's caches, unmeasured
    best: dict[str, dict[str, Any]] = {"tap": {}, "floor": {}, "alias": {}, "bare": {}}
    problems: list[str] = []
    for repeat in range(repeats):
        # The order flips from one repeat to the next: a run right after another is
        # measurably cheaper or dearer on a shared machine.
        order = ["tap", "floor", "alias", "bare"]
        order = order if repeat % 2 == 0 else order[::-1]
        for kind in order:
            if kind == "tap":
                result = run_tap(python, sandbox, config, catalog, work)
            elif kind == "floor":
                result = run_floor(python, sandbox, config, work)
            elif kind == "alias" and alias:
                result = run_tap(python, sandbox, alias_config, catalog, work, tag="alias")
            elif kind == "bare" and bare:
                result = run_bare(python, sandbox, work)
            else:
                continue
            best[kind] = _keep_least(best[kind], result)
        if check and repeat == 0:
            problems = compare_outputs(best["tap"], best["floor"])
    windows = math.ceil(days / 90)
    calls_floor, trips_floor = floors(pages, windows)
    tap, floor = best["tap"], best["floor"]
    row = {
        "pages": pages,
        "days": days,
        "latency_ms": latency_ms,
        "records": tap["records"],
        "floor_records": floor["records"],
        "calls": tap["calls"],
        "round_trips": tap["round_trips"],
        "floor_calls": floor["calls"],
        "floor_round_trips": floor["round_trips"],
        "sandbox_calls": tap["sandbox_calls"],
        "sandbox_round_trips": tap["sandbox_round_trips"],
        "calls_floor": calls_floor,
        "round_trips_floor": trips_floor,
        "network_floor_s": trips_floor * latency_ms / 1000,
        "problems": problems,
    }
    for kind, values in best.items():
        if values:
            for key in ("wall_s", "cpu_s", "startup_s", "sync_s", "peak_rss_kb", "records"):
                if key in values:
                    row[f"{kind}_{key}"] = values[key]
    print(json.dumps(row), flush=True)
    return row


def slope(rows: list[dict[str, Any]], key: str, per: str) -> float:
    """The change of ``key`` per unit of ``per`` between the first and the last row."""
    first, last = rows[0], rows[-1]
    span = last[per] - first[per]
    return (last[key] - first[key]) / span if span else math.nan


def import_profile(python: str, config: pathlib.Path, catalog: pathlib.Path, top: int) -> str:
    """The tap's start-up imports (``python -X importtime``): own import time summed by
    top-level package, and the modules with the most own time."""
    found = subprocess.run(
        [python, "-X", "importtime", "-c", TAP_LAUNCHER, "--config", str(config),
         "--catalog", str(catalog)],
        capture_output=True,
        text=True,
        check=True,
        env=CHILD_ENV,
    )  # fmt: skip
    modules = _import_times(found.stderr)
    # A sync's first Graph calls leave once the CLI module (and what it imports) is loaded and
    # the config read (tap_facebook_pages/early.py); the SDK loads while they are under way.
    before = _import_times(
        subprocess.run(
            [python, "-X", "importtime", "-c", "import tap_facebook_pages.cli"],
            capture_output=True,
            text=True,
            check=True,
            env=CHILD_ENV,
        ).stderr
    )
    packages: dict[str, int] = {}
    for own, name in modules:
        root = name.split(".", 1)[0]
        packages[root] = packages.get(root, 0) + own
    total = sum(own for own, _ in modules)
    by_package = sorted(packages.items(), key=lambda kv: -kv[1])[:top]
    by_module = sorted(modules, reverse=True)[:top]
    lines = [
        f"Imports of the whole run (`python -X importtime`, one run, its own overhead "
        f"included): {total / 1e6:.3f} s in {len(modules)} modules; before the first Graph "
        f"request leaves (the CLI module and what it imports, without singer-sdk): "
        f"{sum(own for own, _ in before) / 1e6:.3f} s in {len(before)} modules.",
        "",
        "| package (own time of its modules) | ms | | module | own ms |",
        "|---|---:|---|---|---:|",
    ]
    for (package, package_us), (own, module) in zip(by_package, by_module, strict=False):
        lines.append(f"| `{package}` | {package_us / 1000:.1f} | | `{module}` | {own / 1000:.1f} |")
    return "\n".join(lines)


def _import_times(stderr: str) -> list[tuple[int, str]]:
    """(own microseconds, module) of each line ``python -X importtime`` wrote."""
    modules: list[tuple[int, str]] = []
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \| *(\S+)", line)
        if match:
            modules.append((int(match.group(1)), match.group(2)))
    return modules


def _where(path: str) -> str:
    """The package a profiled function belongs to: a site-packages distribution, the tap,
    the standard library, the import machinery or C built-ins."""
    if path == "~":
        return "C built-ins (msgspec, I/O, locks…)"
    if path.startswith("<frozen"):
        return "import machinery" if "importlib" in path else "stdlib"
    if "tap_facebook_pages" in path:
        return "tap_facebook_pages"
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0]
    return "stdlib"


def _short(path: str) -> str:
    for marker in ("site-packages/", "lib/python3"):
        if marker in path:
            return path.split(marker, 1)[1]
    return pathlib.Path(path).name if path.startswith("/") else path


def cpu_profile(
    python: str, config: pathlib.Path, catalog: pathlib.Path, work: pathlib.Path, top: int
) -> str:
    """The tap's main thread under cProfile, timed by the thread's CPU clock (imports
    included): own time by package, functions by own time, and the tap's and the SDK's
    functions by cumulative time below the run's entry chain (the batch workers' threads are
    not profiled: they mostly wait on the network)."""
    out = work / "tap.prof"
    subprocess.run(
        [python, "-c", PROFILE_LAUNCHER, str(out), "--config", str(config), "--catalog",
         str(catalog)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
        env=CHILD_ENV,
    )  # fmt: skip
    stats = pstats.Stats(str(out), stream=io.StringIO())
    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = stats.total_tt  # type: ignore[attr-defined]

    def name(key: tuple[str, int, str]) -> str:
        file, line, func = key
        return f"{func} ({_short(file)}:{line})" if file != "~" else func

    packages: dict[str, float] = {}
    for (file, _, _), row in table.items():
        packages[_where(file)] = packages.get(_where(file), 0.0) + row[2]
    entry = max(
        (row[3] for (file, _, func), row in table.items() if func == "main" and "cli" in file),
        default=total,
    )
    ours = [
        (key, row)
        for key, row in table.items()
        if _where(key[0]) in ("tap_facebook_pages", "singer_sdk")
        and row[3] < 0.8 * entry
        and key[2] != "<module>"
    ]
    imports = max(
        (row[3] for (_, _, func), row in table.items() if func == "_find_and_load"), default=0.0
    )
    by_own = sorted(table.items(), key=lambda kv: -kv[1][2])[:top]
    by_cum = sorted(ours, key=lambda kv: -kv[1][3])[:top]
    shares = ", ".join(
        f"{package} {seconds:.2f} s"
        for package, seconds in sorted(packages.items(), key=lambda kv: -kv[1])[:8]
    )
    lines = [
        f"CPU of the main thread: {total:.2f} s (cProfile's overhead included), of which "
        f"imports {imports:.2f} s; own time by package: {shares}.",
        "",
        "| function (own time) | own s | | tap / SDK function (cumulative) | cumulative s |",
        "|---|---:|---|---|---:|",
    ]
    for (own_key, own), (cum_key, cum) in zip(by_own, by_cum, strict=False):
        lines.append(f"| `{name(own_key)}` | {own[2]:.3f} | | `{name(cum_key)}` | {cum[3]:.3f} |")
    return "\n".join(lines)


def verdict(value: float, target: float) -> str:
    """PASS or MISS; n/a when noise swamped the figure (a slope at or below zero)."""
    if math.isnan(value) or value < 0:
        return "n/a (noise)"
    return "PASS" if value <= target else "**MISS**"


def main() -> int:
    """Run the benchmark and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small fleets, one run each")
    parser.add_argument(
        "--big",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the 200-page x 2-year backfill row (default: on, off with --quick)",
    )
    parser.add_argument("--nightly-pages", default=None, help="fleet sizes, e.g. 10,100,1000")
    parser.add_argument("--backfill-pages", default=None, help="fleet sizes, e.g. 10,100")
    parser.add_argument("--big-pages", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--metrics", type=int, default=10, help="default metrics (max 10)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=None, help="runs per row, least kept")
    parser.add_argument("--python", default=sys.executable, help="the measured tap's Python")
    parser.add_argument("--plot-python", default=None, help="a Python with matplotlib")
    parser.add_argument("--no-profiles", action="store_true", help="skip the profile section")
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    args = parser.parse_args()
    quick = args.quick
    nightly = args.nightly_pages or ("10,50" if quick else "10,100,1000")
    backfill = args.backfill_pages or ("10,30" if quick else "10,100")
    nightly_sizes = [int(p) for p in nightly.split(",")]
    backfill_sizes = [int(p) for p in backfill.split(",")]
    repeats = args.repeats or (1 if quick else 3)
    # Short rows (a run well under a second or two) get two more runs: their figures (start-up,
    # the nightly wall at 100 pages) are the ones a busy spell distorts most. So do the 90-day
    # backfills: CPU per record and the alias map's cost are differences of their CPU figures
    # (with 3 runs the alias ratio of one version ranged 0.84-1.27 over four benchmark runs).
    short_repeats = args.repeats or (1 if quick else 5)
    big = (not quick) if args.big is None else args.big
    args.metric_names = default_metrics(args.metrics)
    python = args.python
    started = time.monotonic()
    results: dict[str, Any] = {"nightly": [], "backfill": [], "big": []}
    with tempfile.TemporaryDirectory() as tmp, Sandbox(python) as sandbox:
        work = pathlib.Path(tmp)
        for index, pages in enumerate(nightly_sizes):
            results["nightly"].append(
                run_row(python, sandbox, work, args, pages, 4,
                        short_repeats if pages <= 100 else repeats,
                        latency_ms=args.latency_ms, bare=index == 0, check=index == 0)
            )  # fmt: skip
        for index, pages in enumerate(backfill_sizes):
            results["backfill"].append(
                run_row(python, sandbox, work, args, pages, 90, short_repeats,
                        latency_ms=args.latency_ms, alias=True, check=index == 0)
            )  # fmt: skip
        if big:
            big_started = time.monotonic()
            for days in (90, 730):
                results["big"].append(
                    run_row(python, sandbox, work, args, args.big_pages, days, 1,
                            latency_ms=args.latency_ms, check=days == 730)
                )  # fmt: skip
            results["big_s"] = time.monotonic() - big_started
        profiles = ""
        if not args.no_profiles:
            profiles = profile_section(python, sandbox, work, args, nightly_sizes, backfill_sizes)
        results["total_s"] = time.monotonic() - started
        out = pathlib.Path(args.out)
        report, failures = render(args, results, (short_repeats, repeats), quick)
        report += profiles
        if args.plot_python:
            data = work / "results.json"
            data.write_text(json.dumps(results))
            png = out.with_suffix(".png")
            subprocess.run(
                [args.plot_python, str(BENCH / "plot.py"), str(data), str(png)], check=True
            )
            report += f"\n![whole-process wall and peak RSS vs fleet size]({png.name})\n"
    out.write_text(report, encoding="utf-8")
    print(report)
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    return 1 if failures else 0


def profile_section(
    python: str,
    sandbox: Sandbox,
    work: pathlib.Path,
    args: argparse.Namespace,
    nightly_sizes: list[int],
    backfill_sizes: list[int],
) -> str:
    """Where the time goes: the start-up's imports, and cProfile of a nightly run and of a
    backfill (regenerated on every run, so it names today's costs)."""
    small, large = nightly_sizes[0], nightly_sizes[-1]
    sandbox.configure(fleet=max(0, small - FIXED_PAGES), latency_ms=args.latency_ms)
    config = write_config(work, sandbox, 4, args)
    catalog = discover_catalog(python, sandbox, config, work, small)
    imports = import_profile(python, config, catalog, 12)
    sandbox.configure(fleet=max(0, large - FIXED_PAGES))
    catalog = discover_catalog(python, sandbox, config, work, large)
    nightly = cpu_profile(python, config, catalog, work, 12)
    pages = backfill_sizes[-1]
    sandbox.configure(fleet=max(0, pages - FIXED_PAGES))
    config = write_config(work, sandbox, 90, args)
    catalog = discover_catalog(python, sandbox, config, work, pages)
    backfill = cpu_profile(python, config, catalog, work, 12)
    return "\n".join(
        [
            "",
            "## Where the time goes (profiles, regenerated by every run)",
            "",
            f"### Start-up: imports of a nightly run ({small} pages)",
            "",
            imports,
            "",
            f"### Nightly run, {large} pages: cProfile (main thread's CPU clock)",
            "",
            nightly,
            "",
            f"### 90-day backfill, {pages} pages: cProfile (main thread's CPU clock)",
            "",
            backfill,
            "",
        ]
    )


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def _mb(kib: float) -> str:
    return f"{kib / 1024:.0f}"


def _times(value: float, what: str = "floor") -> str:
    return f"{value:.2f}× {what}" if math.isfinite(value) else "n/a"


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 and numerator >= 0 else math.nan


def _segments(rows: list[dict[str, Any]], key: str, scale: float, unit: str) -> str:
    """The slope between each pair of neighbouring fleet sizes, when there are more than two
    (a per-page cost that grows with the fleet shows here)."""
    if len(rows) < 3:
        return ""
    parts = [
        f"{a['pages']}→{b['pages']}: {slope([a, b], key, 'pages') * scale:.2f} {unit}"
        for a, b in itertools.pairwise(rows)
    ]
    return " (" + "; ".join(parts) + ")"


Target = tuple[str, str, str, str, str, str]  # figure, tap, floor, ratio, target, verdict


def target_rows(results: dict[str, Any]) -> list[Target]:
    """Every figure of issue 15 against its target."""
    nightly, backfill, big = results["nightly"], results["backfill"], results["big"]
    rows: list[Target] = []
    first, last = nightly[0], nightly[-1]
    extra = first["tap_startup_s"] - first["bare_startup_s"]
    rows.append((
        "Start-up: process start → first Graph request (nightly, "
        f"{first['pages']} pages)",
        f"{_ms(first['tap_startup_s'])} ms",
        f"bare Python {_ms(first['bare_startup_s'])} ms; "
        f"floor {_ms(first['floor_startup_s'])} ms",
        f"+{_ms(extra)} ms",
        f"≤ +{_ms(STARTUP_EXTRA_S)} ms",
        verdict(extra, STARTUP_EXTRA_S),
    ))  # fmt: skip
    span = f"slope {first['pages']}→{last['pages']} pages"
    cpu = slope(nightly, "tap_cpu_s", "pages") * 1000
    floor_cpu = slope(nightly, "floor_cpu_s", "pages") * 1000
    rows.append((
        f"CPU per page (nightly, `--catalog`, {span})",
        f"{cpu:.2f} ms{_segments(nightly, 'tap_cpu_s', 1000, 'ms')}",
        f"{floor_cpu:.3f} ms",
        _times(_ratio(cpu, floor_cpu)),
        f"≤ {PAGE_CPU_MS} ms",
        verdict(cpu, PAGE_CPU_MS),
    ))  # fmt: skip
    mem = slope(nightly, "tap_peak_rss_kb", "pages")
    floor_mem = slope(nightly, "floor_peak_rss_kb", "pages")
    rows.append((
        f"Peak memory per page (nightly, `--catalog`, {span})",
        f"{mem:.1f} KiB{_segments(nightly, 'tap_peak_rss_kb', 1, 'KiB')}",
        f"{floor_mem:.1f} KiB",
        _times(_ratio(mem, floor_mem)),
        f"≤ {PAGE_MEM_KIB:.0f} KiB",
        verdict(mem, PAGE_MEM_KIB),
    ))  # fmt: skip
    growth = last["tap_peak_rss_kb"] / first["tap_peak_rss_kb"]
    floor_growth = last["floor_peak_rss_kb"] / first["floor_peak_rss_kb"]
    rows.append((
        f"Peak RSS at {last['pages']} pages ÷ at {first['pages']} (nightly)",
        f"{_mb(last['tap_peak_rss_kb'])} / {_mb(first['tap_peak_rss_kb'])} MB",
        f"{_mb(last['floor_peak_rss_kb'])} / {_mb(first['floor_peak_rss_kb'])} MB "
        f"({floor_growth:.2f})",
        f"{growth:.2f}",
        f"≤ {RSS_GROWTH}",
        verdict(growth, RSS_GROWTH),
    ))  # fmt: skip
    per_record = slope(backfill, "tap_cpu_s", "records") * 1e6
    floor_record = slope(backfill, "floor_cpu_s", "records") * 1e6
    record_ratio = _ratio(per_record, floor_record)
    rows.append((
        f"CPU per record (90-day backfill, slope {backfill[0]['pages']}→"
        f"{backfill[-1]['pages']} pages)",
        f"{per_record:.2f} µs",
        f"{floor_record:.2f} µs",
        _times(record_ratio),
        f"≤ {RECORD_CPU_RATIO}× floor",
        verdict(record_ratio, RECORD_CPU_RATIO),
    ))  # fmt: skip
    row = next((r for r in nightly if r["pages"] == 100), last)
    wall_ratio = row["tap_wall_s"] / row["floor_wall_s"]
    network = row["network_floor_s"]
    rows.append((
        f"Whole-process nightly wall, {row['pages']} pages",
        f"{row['tap_wall_s']:.2f} s ({row['tap_wall_s'] / network:.1f}× network floor)",
        f"{row['floor_wall_s']:.2f} s ({row['floor_wall_s'] / network:.1f}× network floor)",
        _times(wall_ratio),
        f"≤ {NIGHTLY_WALL_RATIO}× floor",
        verdict(wall_ratio, NIGHTLY_WALL_RATIO),
    ))  # fmt: skip
    if big:
        short, long = big[0], big[-1]
        flat = long["tap_peak_rss_kb"] / short["tap_peak_rss_kb"]
        rows.append((
            f"2-year backfill, {long['pages']} pages, {long['records']:,} records: "
            "peak RSS ÷ the 90-day backfill's",
            f"{_mb(long['tap_peak_rss_kb'])} / {_mb(short['tap_peak_rss_kb'])} MB",
            f"{_mb(long['floor_peak_rss_kb'])} / {_mb(short['floor_peak_rss_kb'])} MB",
            f"{flat:.2f}",
            f"≤ {BIG_RSS_FLAT} (flat)",
            verdict(flat, BIG_RSS_FLAT),
        ))  # fmt: skip

        def per(result: dict[str, Any], kind: str) -> float:
            return float(result[f"{kind}_wall_s"] / result["records"] * 1e6)

        def cpu_per(result: dict[str, Any], kind: str) -> float:
            return float(result[f"{kind}_cpu_s"] / result["records"] * 1e6)

        linear = per(long, "tap") / per(short, "tap")
        rows.append((
            "2-year backfill: whole-process wall per record ÷ the 90-day backfill's",
            f"{per(long, 'tap'):.2f} / {per(short, 'tap'):.2f} µs",
            f"{per(long, 'floor'):.2f} / {per(short, 'floor'):.2f} µs",
            f"{linear:.2f}",
            f"≤ {BIG_TIME_LINEAR} (linear)",
            verdict(linear, BIG_TIME_LINEAR),
        ))  # fmt: skip
        cpu_linear = cpu_per(long, "tap") / cpu_per(short, "tap")
        rows.append((
            "2-year backfill: whole-process CPU per record ÷ the 90-day backfill's",
            f"{cpu_per(long, 'tap'):.2f} / {cpu_per(short, 'tap'):.2f} µs",
            f"{cpu_per(long, 'floor'):.2f} / {cpu_per(short, 'floor'):.2f} µs",
            f"{cpu_linear:.2f}",
            f"≤ {BIG_TIME_LINEAR} (linear)",
            verdict(cpu_linear, BIG_TIME_LINEAR),
        ))  # fmt: skip
    alias = alias_cost(backfill)
    rows.append((
        f"CPU per record with the alias map `{json.dumps(ALIAS_MAP)}` ÷ without",
        f"{alias_per_record(backfill) * 1e6:.2f} µs",
        "",
        f"{alias:.2f}",
        f"≤ {ALIAS_CPU_TARGET}",
        verdict(alias, ALIAS_CPU_TARGET),
    ))  # fmt: skip
    return rows


def alias_cost(backfill: list[dict[str, Any]]) -> float:
    """CPU per record with the alias map over CPU per record without (1.0: the same).

    Measured on the largest row, where both runs have the same fixed costs: the extra CPU of
    the alias run over its records, added to the per-record slope without the map. A slope of
    the alias runs alone would carry the noise of two small runs (at 10 pages the fixed cost is
    most of the CPU, and 0.1 s of noise moved the ratio by 0.5)."""
    return _ratio(alias_per_record(backfill), slope(backfill, "tap_cpu_s", "records"))


def alias_per_record(backfill: list[dict[str, Any]]) -> float:
    """CPU seconds per record with the alias map (see ``alias_cost``)."""
    last = backfill[-1]
    extra = (last["alias_cpu_s"] - last["tap_cpu_s"]) / last["records"]
    return slope(backfill, "tap_cpu_s", "records") + extra


def failures_of(rows: list[dict[str, Any]]) -> list[str]:
    """Calls or round trips off their floors, or the floor's work not the tap's."""
    failures: list[str] = []
    for row in rows:
        where = f"{row['pages']} pages x {row['days']} days"
        failures += [f"{where}: {problem}" for problem in row["problems"]]
        for what, value, floor in (
            ("Graph calls", row["calls"], row["calls_floor"]),
            ("HTTP round trips", row["round_trips"], row["round_trips_floor"]),
            ("the floor's Graph calls", row["floor_calls"], row["calls_floor"]),
            ("the floor's round trips", row["floor_round_trips"], row["round_trips_floor"]),
            ("the floor's records", row["floor_records"], row["records"]),
        ):
            if value != floor:
                failures.append(f"{where}: {what}: {value}, expected {floor}")
    return failures


TABLE_HEAD = (
    "| pages | days | records | Graph calls | floor | round trips | floor | network floor s "
    "| tap wall s | floor wall s | tap ÷ floor | tap ÷ network | tap sync s | floor sync s "
    "| tap CPU s | floor CPU s | tap ÷ floor | first request tap / floor ms "
    "| peak RSS tap / floor MB |"
)


def table_row(r: dict[str, Any]) -> str:
    cells = [
        r["pages"],
        r["days"],
        f"{r['records']:,}",
        r["calls"],
        r["calls_floor"],
        r["round_trips"],
        r["round_trips_floor"],
        f"{r['network_floor_s']:.2f}",
        f"{r['tap_wall_s']:.2f}",
        f"{r['floor_wall_s']:.2f}",
        f"{r['tap_wall_s'] / r['floor_wall_s']:.2f}",
        f"{r['tap_wall_s'] / r['network_floor_s']:.1f}",
        f"{r['tap_sync_s']:.2f}",
        f"{r['floor_sync_s']:.2f}",
        f"{r['tap_cpu_s']:.2f}",
        f"{r['floor_cpu_s']:.2f}",
        f"{r['tap_cpu_s'] / r['floor_cpu_s']:.2f}",
        f"{_ms(r['tap_startup_s'])} / {_ms(r['floor_startup_s'])}",
        f"{_mb(r['tap_peak_rss_kb'])} / {_mb(r['floor_peak_rss_kb'])}",
    ]
    return "| " + " | ".join(str(c) for c in cells) + " |"


def render(
    args: argparse.Namespace,
    results: dict[str, Any],
    repeats: tuple[int, int],
    quick: bool,
) -> tuple[str, list[str]]:
    """The markdown report, and the failures (calls or round trips off their floors, the
    floor's output not the tap's, the alias map off the lean record path)."""
    nightly, backfill, big = results["nightly"], results["backfill"], results["big"]
    every = nightly + backfill + big
    failures = failures_of(every)
    alias = alias_cost(backfill)
    if alias > ALIAS_FALLBACK:
        failures.append(
            f"CPU per record with the alias map is {alias:.2f}x that without: the lean record "
            "path no longer serves it"
        )
    calls_ok = all(
        r["calls"] == r["calls_floor"] and r["round_trips"] == r["round_trips_floor"] for r in every
    )
    identical = not any(r["problems"] for r in every)
    command = "python benchmarks/run.py" + (" --quick" if quick else "")
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `scripts/bench.sh` (`{command}`); every number below comes from one run "
        "on one machine, so compare the ratios, not the seconds.",
        "",
        f"Setup: sandbox latency {args.latency_ms:.0f} ms per HTTP round trip, {args.metrics} "
        f"page metrics, max_concurrency {args.concurrency}, batches of 50. The tap is "
        "installed as a user installs it (`pip install .` in a venv of its own, nothing else "
        "in it; the chart is drawn from another venv) and run as Meltano runs it, with "
        "`--catalog` (`pages` and every `page_insights_*` stream selected). The sandbox runs "
        "in a process of its own: its CPU is in no figure (each figure counts the measured "
        "child's own rusage). Each figure is the least of several interleaved runs (noise "
        f"only ever adds): {repeats[0]} for nightly rows up to 100 pages and the 90-day "
        f"backfills, {repeats[1]} for the other rows, 1 for the big rows; each row's sandbox "
        "caches are warmed first by one "
        "unmeasured floor run.",
        "",
        "**Floor reference** (`benchmarks/floor.py`): stdlib + msgspec; the same Graph calls "
        "(the sandbox's logs of both runs compared), answers decoded into typed msgspec "
        "Structs, RECORD lines byte-identical to the tap's (sorted, `time_extracted` aside: "
        + ("**checked, identical**" if identical else "**DIFFERENT: see the failures**")
        + "), nothing else. **Network floor**: round trips × latency, as if sent one after "
        "another. **Bare Python**: a process that imports `json` and `urllib` and makes one "
        "GET. Whole process: from spawning the process to its exit (`os.wait4`); sync: the "
        "tap's run summary (`duration_s`, after imports) and the floor's own timer (after "
        "imports); first request: its arrival at the sandbox.",
        "",
        "## Targets",
        "",
        "| figure | tap | floor reference | ratio | target | result |",
        "|---|---:|---:|---:|---:|:---:|",
        *(f"| {' | '.join(t)} |" for t in target_rows(results)),
        "| Graph calls and HTTP round trips ÷ their floors, every row | "
        f"{'1.00' if calls_ok else 'off'} | 1.00 | | 1.00 | {'PASS' if calls_ok else '**MISS**'} |",
        "",
    ]
    for title, rows in (
        ("Nightly: 4 days per page (lookback 3 + the new day), one window", nightly),
        ("Backfill: 90 days per page, one window", backfill),
        ("Big backfill: 90 days and 2 years (9 windows) per page", big),
    ):
        if rows:
            lines += [f"## {title}", "", TABLE_HEAD, "|" + "---:|" * 19]
            lines += [table_row(r) for r in rows]
            lines.append("")
    if big:
        long = big[-1]
        lines += [
            f"The big rows took {results['big_s']:.0f} s on this machine (sandbox warm-up "
            "included); `--no-big` leaves them out. In the 2-year row, "
            f"{long['tap_wall_s'] - long['tap_cpu_s']:.1f} s of the tap's wall is not its own "
            f"CPU (the floor's: {long['floor_wall_s'] - long['floor_cpu_s']:.1f} s): time spent "
            "waiting for answers or for a core (the sandbox builds them on the same "
            f"{os.cpu_count()} cores).",
            "",
        ]
    lines += [f"The whole benchmark took {results['total_s']:.0f} s.", ""]
    return "\n".join(lines), failures


if __name__ == "__main__":
    sys.exit(main())
