"""Run the Graph API sandbox as a process.

``python -m tap_facebook_pages.sandbox --port N [--today YYYY-MM-DD] [--revision K]
[--latency-ms N] [--faults JSON] [--app-secret S]`` prints
``sandbox listening on http://127.0.0.1:N`` and serves until interrupted or terminated.
"""

from __future__ import annotations

import argparse
import datetime
import json
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from tap_facebook_pages.sandbox.server import SandboxServer


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tap_facebook_pages.sandbox",
        description="Offline Graph API sandbox with deterministic fake data (127.0.0.1 only).",
    )
    parser.add_argument("--port", type=int, default=0, help="port to bind (0: any free port)")
    parser.add_argument(
        "--today",
        type=datetime.date.fromisoformat,
        default=None,
        help="simulated current Pacific date (default: the real one)",
    )
    parser.add_argument("--revision", type=int, default=0, help="late-data revision (>= 0)")
    parser.add_argument(
        "--fleet", type=int, default=0, help="extra generated pages in /me/accounts (benchmarks)"
    )
    parser.add_argument("--latency-ms", type=float, default=0, help="delay per HTTP round trip")
    parser.add_argument("--faults", type=json.loads, default=None, help="fault settings as JSON")
    parser.add_argument("--app-secret", default=None, help="require appsecret_proof")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, start the sandbox and block until SIGINT or SIGTERM."""
    args = _parser().parse_args(argv)
    try:
        sandbox = SandboxServer(
            port=args.port,
            today=args.today,
            revision=args.revision,
            latency_ms=args.latency_ms,
            faults=args.faults,
            app_secret=args.app_secret,
            fleet=args.fleet,
        )
    except (TypeError, ValueError) as exc:
        sys.stderr.write(f"invalid sandbox settings: {exc}\n")
        return 2
    stopped = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    with sandbox:
        sys.stdout.write(f"sandbox listening on {sandbox.url}\n")
        sys.stdout.flush()
        stopped.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
