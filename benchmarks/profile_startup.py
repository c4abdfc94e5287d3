"""Start-up cost: process start to the first Graph request, against a bare-Python reference.

The sandbox runs in this process and notes (``time.monotonic``, one clock for every process of
the machine) when each HTTP request arrives. Three programs are launched in turn, interleaved,
the fastest of ``--repeats`` runs kept for each (noise on a shared machine only adds time):

- ``bare``: ``python -c`` importing ``json`` and ``urllib.request`` and making one GET;
- ``tap``: this tree's tap, ``--config`` and ``--catalog`` (``pages`` + ``page_insights_*``
  selected, as Meltano runs it);
- ``baseline`` (with ``--baseline DIR``): the same tap from another source tree (say the
  previous commit, extracted with ``git archive <rev> | tar -x -C DIR``), run with that tree
  first on ``PYTHONPATH``.

Usage: python benchmarks/profile_startup.py [--repeats 7] [--baseline DIR]
The target (issue 15): tap - bare <= 0.15 s. For where the time goes:
``python -X importtime -m tap_facebook_pages --config ... --catalog ...``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

from profile_pages import catalog_for  # this folder: scripts run as python benchmarks/…

from tap_facebook_pages.sandbox import SandboxServer

TODAY = dt.date(2026, 11, 20)
ROOT = pathlib.Path(__file__).resolve().parent.parent
TARGET_S = 0.15


def cpu_seconds(pid: int) -> float | None:
    """CPU time used so far by every thread of process ``pid`` (Linux schedstat, in ns)."""
    total = 0
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/schedstat", encoding="ascii") as stat:
                total += int(stat.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return total / 1e9


class Arrivals:
    """When each request reached the sandbox (wraps its dispatcher), and how much CPU the
    launched process had used by then: under load, wall time mostly measures the other
    processes; the CPU time to the first request does not."""

    def __init__(self, sandbox: SandboxServer) -> None:
        self.times: list[float] = []
        self.cpu: list[float | None] = []
        self.pid = 0
        self._lock = threading.Lock()
        dispatch = sandbox._dispatch

        def recording(handler: Any, method: str) -> None:
            with self._lock:
                self.times.append(time.monotonic())
                self.cpu.append(cpu_seconds(self.pid))
            dispatch(handler, method)

        sandbox._dispatch = recording  # type: ignore[method-assign]

    def reset(self, pid: int = 0) -> None:
        with self._lock:
            self.times.clear()
            self.cpu.clear()
            self.pid = pid

    def first(self) -> tuple[float, float]:
        """Arrival time and the process's CPU seconds then, of the first request."""
        with self._lock:
            return self.times[0], self.cpu[0] or 0.0


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a measured process: bytecode caches written and used, as in a
    user's install (pip compiles them; a ``PYTHONDONTWRITEBYTECODE`` set for development would
    recompile every module of the tap at each start)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, **extra}


def launch(
    sandbox: SandboxServer, arrivals: Arrivals, argv: list[str], env: dict[str, str]
) -> tuple[float, float]:
    """Wall seconds from launching ``argv`` to its first request at the sandbox, and the CPU
    seconds the process had used by then. Each run starts with a fresh simulated quota (the
    sandbox's usage headers would otherwise make later runs wait)."""
    sandbox.reset_usage()
    arrivals.reset()
    started = time.monotonic()
    # In a temporary directory: ``-m`` puts the working directory first on sys.path, and a
    # checkout there would shadow the version measured.
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=tempfile.gettempdir(),
    )
    arrivals.reset(proc.pid)  # the first request comes long after this
    if proc.wait() != 0:
        raise SystemExit(f"{argv[:3]} failed ({proc.returncode})")
    arrived, cpu = arrivals.first()
    return arrived - started, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--baseline", help="source tree of the version to compare against")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, SandboxServer(today=TODAY) as sandbox:
        work = pathlib.Path(tmp)
        arrivals = Arrivals(sandbox)
        config = work / "config.json"
        config.write_text(
            json.dumps(
                {
                    "access_token": "bench-token-0000000000",
                    "api_base_url": sandbox.url,
                    "start_date": "2026-11-16",
                    "end_date": "2026-11-19",
                }
            )
        )
        catalog = catalog_for(config, work, 0)
        tap = [sys.executable, "-m", "tap_facebook_pages", "--config", str(config)]
        tap += ["--catalog", str(catalog)]
        bare = [
            sys.executable,
            "-c",
            "import json, sys, urllib.request\n"
            "json.loads(urllib.request.urlopen(sys.argv[1]).read())",
            f"{sandbox.url}/v25.0/me/accounts?access_token=bench-token-0000000000",
        ]
        programs: dict[str, tuple[list[str], dict[str, str]]] = {
            "bare": (bare, child_env()),
            "tap": (tap, child_env()),
        }
        if args.baseline:
            baseline = str(pathlib.Path(args.baseline).resolve())
            programs["baseline"] = (tap, child_env(PYTHONPATH=baseline))
        times: dict[str, list[float]] = {name: [] for name in programs}
        cpus: dict[str, list[float]] = {name: [] for name in programs}
        for argv, env in programs.values():  # unmeasured: writes the bytecode caches
            launch(sandbox, arrivals, argv, env)
        for _ in range(args.repeats):
            for name, (argv, env) in programs.items():
                wall, cpu = launch(sandbox, arrivals, argv, env)
                times[name].append(wall)
                cpus[name].append(cpu)
    for label, values in (("wall", times), ("CPU", cpus)):
        best = {name: min(v) for name, v in values.items()}
        median = {name: statistics.median(v) for name, v in values.items()}
        print(f"-- {label} seconds from launch to the first Graph request (best / median)")
        for name in programs:
            print(
                f"{name:9s} {best[name]:.3f} / {median[name]:.3f}   over bare: "
                f"{best[name] - best['bare']:+.3f} / {median[name] - median['bare']:+.3f}"
            )
        over = best["tap"] - best["bare"]
        if "baseline" in best:
            saved = best["baseline"] - best["tap"]
            ratio = best["tap"] / best["baseline"]
            print(f"saved vs baseline: {saved:.3f} s (tap/baseline {ratio:.2f})")
        verdict = "met" if over <= TARGET_S else "MISSED"
        print(f"target tap - bare <= {TARGET_S:.2f} s ({label}): {over:.3f} s, {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
