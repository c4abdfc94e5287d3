"""The Singer message writers: msgspec encoding, written to stdout's file descriptor.

The SDK's writers flush stdout after every message; at tens of thousands of records per second
that is a system call per record. RECORD lines are collected and written in pieces of up to
64 KiB; STATE and SCHEMA messages (and a window's RECORD lines from the lean record path) are
written at once, after everything collected before them, so whatever a downstream target has
seen of a STATE, it has also seen every record before it.

Lines go to the file descriptor of ``sys.stdout`` with ``os.write`` in a loop that resumes
partial writes: a signal arriving during a large write interrupts it part-way, and the rest
must still follow, so every line on stdout is complete. A closed pipe (the target stopped
reading) raises :class:`~tap_facebook_pages.stopping.TargetGone`, and stdout then points at
``/dev/null`` so that nothing complains about it again at exit. When ``sys.stdout`` has no file
descriptor (tests redirect it to a ``StringIO``) the text stream is written instead.

A STATE message holds the bookmarks of every stream, so with one stream per page it grows with
the fleet; the SDK's state writer deep-copies and compares it on every write and its message
class deep-copies it again to encode it, which made STATE writes quadratic in the number of
pages. ``sdk_fastpath.EncodedStateWriter`` encodes the state once (msgspec, in C) and compares
the bytes, and hands them to :meth:`BufferedMsgSpecWriter.write_state_bytes`. Even so, N
streams writing N STATEs of O(N) bytes each is quadratic output (1,000 pages: 343 MB of STATE
for 27 MB of records); the state writer therefore paces large states by the RECORD bytes written
since the last one (``record_bytes_written``).
"""

from __future__ import annotations

import dataclasses
import os
import select
import sys
from typing import Any

from singer_sdk.contrib.msgspec import MsgSpecWriter, serialize_jsonl
from singer_sdk.singerlib.encoding.simple import Message, RecordMessage

from tap_facebook_pages.stopping import STOP, TargetGone

PENDING_LIMIT = 1 << 16  # RECORD bytes collected before they are written

_pending = bytearray()  # complete RECORD lines not written yet
_pending_fd: int | None = None  # where they go
_stdout: Any = None  # the sys.stdout object whose descriptor is cached
_stdout_fd: int | None = None
_record_bytes = 0  # RECORD bytes handed to the writer by this process (STATE pacing reads it)


def record_bytes_written() -> int:
    """RECORD bytes handed to the writer so far (written, or collected to be written)."""
    return _record_bytes


def _fileno(out: Any) -> int | None:
    """The file descriptor behind ``out``, or None (a StringIO, pytest's capsys)."""
    global _stdout, _stdout_fd
    if out is not _stdout:
        try:
            fd = out.fileno()
        except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation, closed
            fd = None
        _stdout, _stdout_fd = out, fd
    return _stdout_fd


def _write_fd(fd: int, data: bytes | bytearray | memoryview) -> None:
    """Write all of ``data`` to ``fd``, resuming partial writes (a signal arrived meanwhile)."""
    view = memoryview(data)
    STOP.writing = True
    try:
        while view:
            try:
                view = view[os.write(fd, view) :]
            except BlockingIOError:  # a non-blocking pipe is full: wait until it drains
                select.select([], [fd], [])
    except BrokenPipeError:
        _target_gone(fd)
    finally:
        STOP.write_done()


def _target_gone(fd: int) -> None:
    """Nobody reads ``fd`` any more: point it at /dev/null, so that flushing ``sys.stdout`` at
    exit does not fail again (what the Python docs recommend after a BrokenPipeError), and
    raise :class:`TargetGone`."""
    _pending.clear()
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)
    raise TargetGone from None


def flush_stdout() -> None:
    """Write out the RECORD lines collected so far."""
    global _pending_fd
    fd, _pending_fd = _pending_fd, None
    if fd is not None and _pending:
        data = bytes(_pending)
        _pending.clear()
        _write_fd(fd, data)


def _flush_text_stream(out: Any, fd: int) -> None:
    """Write out whatever ``sys.stdout`` buffers itself (lines printed outside the writer)."""
    try:
        out.flush()
    except BrokenPipeError:
        _target_gone(fd)


def write_stdout(data: bytes | bytearray, *, now: bool = True) -> None:
    """Write complete lines to stdout, in order; ``now=False`` may collect them (RECORDs)."""
    global _pending_fd  # noqa: PLW0603
    out = sys.stdout
    fd = _fileno(out)
    if fd is None:  # a text stream without a descriptor (tests redirecting stdout)
        flush_stdout()
        buffer = getattr(out, "buffer", None)
        if buffer is not None:
            buffer.write(data)
        else:
            out.write(bytes(data).decode("utf-8"))
        if now:
            out.flush()
        return
    if _pending_fd != fd:
        flush_stdout()  # lines collected for an earlier stdout go there
        _flush_text_stream(out, fd)  # and what was printed to this one goes first
        _pending_fd = fd
    if len(data) < PENDING_LIMIT:
        _pending.extend(data)
        if not now and len(_pending) < PENDING_LIMIT:
            return
        data = b""
    flush_stdout()
    if data:
        _write_fd(fd, data)


class BufferedMsgSpecWriter(MsgSpecWriter):
    """msgspec-encoded Singer messages; RECORDs collected, anything else written at once."""

    def serialize_message(self, message: Message) -> bytearray:
        """The message as a JSON line.

        Messages that use the SDK's generic ``to_dict`` (a deep ``asdict`` of the message,
        schema included) are turned into a dict of their non-null fields without copying;
        the encoded line is the same.
        """
        if type(message).to_dict is Message.to_dict:
            data = {}
            for item in dataclasses.fields(message):
                value = getattr(message, item.name)
                if value is not None:
                    data[item.name] = value
            return serialize_jsonl(data)
        return serialize_jsonl(message.to_dict())

    def write_message(self, message: Message) -> None:
        """Write one message; a RECORD may wait for the next write."""
        global _record_bytes  # noqa: PLW0603
        data = self.format_message(message)
        record = isinstance(message, RecordMessage)
        if record:
            _record_bytes += len(data)
        write_stdout(data, now=not record)

    def write_raw(self, data: bytes) -> None:
        """Write already-encoded RECORD lines (the lean record path: a whole window)."""
        global _record_bytes  # noqa: PLW0603
        _record_bytes += len(data)
        write_stdout(data)

    def write_state_bytes(self, value: bytes) -> None:
        """Write a STATE message whose value is already JSON-encoded."""
        write_stdout(b'{"type":"STATE","value":' + value + b"}\n")
