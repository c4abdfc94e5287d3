"""The sandbox in its own process, for the benchmark.

The sandbox shares the machine's cores with what is measured; run in its own process, its CPU
time is never in the measured process's rusage. On top of the sandbox's own control endpoints
(``/__sandbox__/config``, ``log``, ``reset_log``) this adds two for the benchmark:

- ``POST /__sandbox__/bench/reset``: clear the request log and round-trip counter, forget the
  usage counters (a new day's quota) and the first request's arrival time;
- ``GET /__sandbox__/bench/stats``: Graph calls and HTTP round trips since the reset, the
  calls as a sorted list of ``path?params`` (tokens left out), and ``first_request``: the
  ``time.monotonic()`` at which the first Graph request arrived (Linux: a clock shared by every
  process, so the benchmark compares it with a child's start time).

Usage: python benchmarks/sandbox_proc.py --today YYYY-MM-DD (prints ``sandbox listening on URL``
and serves until stdin closes or SIGTERM).
"""

from __future__ import annotations

import argparse
import datetime
import signal
import sys
import threading
import time
from typing import Any
from urllib.parse import urlencode

from tap_facebook_pages.sandbox.server import CONTROL_PREFIX, SandboxServer


class BenchSandbox(SandboxServer):
    """The sandbox plus the first request's arrival time and a usage reset over HTTP."""

    first_request: float | None = None

    def _dispatch(self, handler: Any, method: str) -> None:
        if self.first_request is None and not handler.path.startswith(CONTROL_PREFIX):
            self.first_request = time.monotonic()
        super()._dispatch(handler, method)

    def _control(self, method: str, path: str, raw_body: bytes) -> tuple[int, Any]:
        if method == "POST" and path == CONTROL_PREFIX + "bench/reset":
            self.reset_log()
            self.reset_usage()
            self.first_request = None
            return 200, {"ok": True}
        if method == "GET" and path == CONTROL_PREFIX + "bench/stats":
            entries = self.requests
            calls = sorted(
                e["path"] + "?" + urlencode(sorted(e["params"].items()))
                for e in entries
                if not e["batch_envelope"]
            )
            return 200, {
                "graph_calls": len(calls),
                "http_round_trips": self.http_round_trips,
                "first_request": self.first_request,
                "calls": calls,
            }
        return super()._control(method, path, raw_body)


def main() -> int:
    """Serve until stdin closes (the benchmark exited) or SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--today", type=datetime.date.fromisoformat, required=True)
    args = parser.parse_args()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())

    def watch_stdin() -> None:
        sys.stdin.read()
        stopped.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    with BenchSandbox(today=args.today) as sandbox:
        sys.stdout.write(f"sandbox listening on {sandbox.url}\n")
        sys.stdout.flush()
        stopped.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
