"""Console entry point: the SDK's CLI, with expected failures shown as one clear line."""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

# Nothing here imports singer-sdk at module level: main() starts a sync's first Graph calls
# (early.py) before the SDK is imported, then tap_class() imports sdk_fastpath first, which
# defers the SDK's package __init__ (start-up time), and the tap after it.
from tap_facebook_pages import early
from tap_facebook_pages.config import UserError
from tap_facebook_pages.graph.redact import REDACTOR
from tap_facebook_pages.stopping import PROG, Stopped

if TYPE_CHECKING:
    from tap_facebook_pages.tap import TapFacebookPages

_M_ARENA_MAX = -8  # glibc mallopt parameter


def limit_malloc_arenas() -> bool:
    """One malloc arena for the whole process (glibc only; ``MALLOC_ARENA_MAX`` wins).

    glibc gives each thread that allocates its own arena and seldom returns their memory, so
    the Graph worker threads, which receive the batch responses, made peak RSS grow with the
    number of batches a run reads (about 10 MB for a 200-page backfill). The threads mostly
    wait on the network, so sharing one arena costs nothing measurable.
    """
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        return bool(ctypes.CDLL("libc.so.6").mallopt(_M_ARENA_MAX, 1))
    except (OSError, AttributeError):  # not glibc (musl, …): nothing to tune
        return False


def run_stoppable(run: Callable[[], object]) -> None:
    """Run ``run`` (the SDK's CLI); a stop ends it with one line on stderr and no traceback:
    exit 128 + the signal number for SIGTERM/SIGINT, 1 for a target that stopped reading."""
    from tap_facebook_pages.writer import flush_stdout  # noqa: PLC0415 - imports the SDK

    try:
        try:
            run()
        finally:
            flush_stdout()  # RECORD lines the writer still holds (complete lines only)
    except Stopped as error:
        sys.stderr.write(f"{PROG}: error: {error}\n")
        sys.stderr.flush()
        sys.exit(error.exit_code)


class StdoutClosedError(UserError):
    """stdout is closed or read-only at start: the Singer messages could go nowhere."""

    exit_code = 1


def check_stdout() -> None:
    """Refuse to start when stdout is closed (``>&-``) or not writable."""
    stream = sys.stdout
    writable = stream is not None  # Python sets it to None when fd 1 is closed at start
    if stream is sys.__stdout__ and stream is not None:
        try:
            fd = stream.fileno()
            os.fstat(fd)
            if hasattr(os, "O_ACCMODE"):
                import fcntl  # noqa: PLC0415 - POSIX only

                writable = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE != os.O_RDONLY
        except (OSError, ValueError):
            writable = False
    if not writable:
        msg = (
            "cannot write to stdout (it is closed or read-only): the tap writes its Singer "
            "messages there; run it with stdout open, e.g. piped to a target"
        )
        raise StdoutClosedError(msg)


def tap_class() -> type[TapFacebookPages]:
    """The tap class, imported now: sdk_fastpath first, so that it defers singer-sdk's package
    ``__init__`` before any module of the SDK is imported (about 90 ms of CPU and 4 MB)."""
    from tap_facebook_pages import sdk_fastpath  # noqa: F401, PLC0415
    from tap_facebook_pages.tap import TapFacebookPages  # noqa: PLC0415

    return TapFacebookPages


def check_inputs(argv: list[str]) -> None:
    """The --config/--state/--catalog files, read and checked before the SDK parses them."""
    tap = tap_class()
    from tap_facebook_pages.validation import check_cli_inputs  # noqa: PLC0415

    check_cli_inputs(argv, tap)


def main() -> None:
    """Run the tap. Expected conditions (bad config, dead token, failed pages) exit non-zero
    with one line on stderr and no traceback."""
    limit_malloc_arenas()
    try:
        check_stdout()
        early.begin(sys.argv[1:])  # a sync's first Graph calls leave now, the SDK loads
        check_inputs(sys.argv[1:])
        run_stoppable(tap_class().cli)
    except UserError as error:
        from tap_facebook_pages.validation import clean  # noqa: PLC0415

        message = REDACTOR.redact(clean(str(error)))
        sys.stderr.write(f"tap-facebook-pages: error: {message}\n")
        sys.stderr.flush()
        sys.exit(error.exit_code)


if __name__ == "__main__":
    main()
