"""Stopping on request (SIGTERM, SIGINT) and when the target stops reading.

The SDK's own handler writes STATE from inside the signal handler, which can land in the middle
of a RECORD line being written, and then exits 0. Here the handler only records the request.
Streams check it after every STATE they write (every row up to that STATE is out) and stop with
:class:`StopRequested`; the CLI turns that into one line on stderr and exit 128 + the signal
number (143 for SIGTERM, 130 for SIGINT). A second signal while stopping exits at once, though
never in the middle of a write to stdout (the writer finishes the lines it is writing first).
"""

from __future__ import annotations

import os
import signal
import time

PROG = "tap-facebook-pages"


class Stopped(Exception):
    """The run stopped before its end on purpose; the CLI shows the message as one line."""

    exit_code = 1


class StopRequested(Stopped):
    """SIGTERM or SIGINT: the run stopped between windows."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.exit_code = 128 + signum
        super().__init__(
            f"stopped by {signal_name(signum)}; the last STATE covers every complete window, "
            "rerun to resume"
        )


class TargetGone(Stopped):
    """stdout is a pipe nobody reads any more (EPIPE): the target died or exited."""

    def __init__(self) -> None:
        super().__init__(
            "the target stopped reading (broken pipe); see the target's own log for why. Rerun "
            "from the last STATE the target saved to resume"
        )


def signal_name(signum: int) -> str:
    """``SIGTERM`` for 15, and so on."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class StopState:
    """The process's stop request. Only the main thread touches it (signal handlers run there)."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.writing = False  # the writer is in the middle of writing lines to stdout
        self.exit_after_write: int | None = None

    def reset(self) -> None:
        """Forget an earlier request (a new tap instance in the same process)."""
        self.signum = None
        self.writing = False
        self.exit_after_write = None

    @property
    def requested(self) -> bool:
        """True once SIGTERM or SIGINT arrived."""
        return self.signum is not None

    def request(self, signum: int) -> None:
        """The signal handler: record the first request; no I/O. A second signal exits now,
        or, when stdout is being written, as soon as the lines being written are out."""
        if self.signum is None:
            self.signum = signum
        elif self.writing:
            self.exit_after_write = signum
        else:
            exit_now(signum)

    def check(self) -> None:
        """Raise :class:`StopRequested` when a stop was requested (call between windows)."""
        if self.signum is not None:
            raise StopRequested(self.signum)

    def write_done(self) -> None:
        """Called by the writer after each write: honour a second signal received meanwhile."""
        self.writing = False
        if self.exit_after_write is not None:
            exit_now(self.exit_after_write)


def exit_now(signum: int) -> None:
    """Leave at once (a second signal): one line on stderr, exit 128 + signum, no cleanup."""
    line = (
        f"{PROG}: error: stopped by a second {signal_name(signum)} before the current window "
        "was complete; the last STATE covers every complete window, rerun to resume\n"
    )
    try:
        os.write(2, line.encode())
    finally:
        os._exit(128 + signum)


STOP = StopState()


def interruptible_sleep(seconds: float) -> None:
    """``time.sleep`` that a stop request cuts short (a throttle wait can last many minutes):
    raises :class:`StopRequested` as soon as one arrives."""
    deadline = time.monotonic() + max(0.0, seconds)
    while True:
        STOP.check()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        time.sleep(min(remaining, 0.25))
