"""The Singer message writers: msgspec encoding, and a flush only where it matters.

The SDK's writers flush stdout after every message; at tens of thousands of records per second
that is a system call per record. We flush after STATE (and SCHEMA) messages only, so whatever a
downstream target has seen of a STATE, it has also seen every record before it.

A STATE message holds the bookmarks of every stream, so with one stream per page it grows with
the fleet; the SDK's state writer deep-copies and compares it on every write and its message
class deep-copies it again to encode it, which made STATE writes quadratic in the number of
pages. ``EncodedStateWriter`` encodes the state once (msgspec, in C) and compares the bytes.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

from singer_sdk.contrib.msgspec import MsgSpecWriter, serialize_jsonl
from singer_sdk.contrib.msgspec import encoder as _encoder
from singer_sdk.helpers._state import StateWriter
from singer_sdk.helpers.types import TapState
from singer_sdk.singerlib.encoding.simple import Message, RecordMessage


def _write_bytes(data: bytes | bytearray) -> None:
    out = sys.stdout
    buffer = getattr(out, "buffer", None)
    if buffer is not None:
        buffer.write(data)
    else:  # a text stream without a byte buffer (tests redirecting stdout)
        out.write(bytes(data).decode("utf-8"))


class BufferedMsgSpecWriter(MsgSpecWriter):
    """msgspec-encoded Singer messages; stdout flushed on non-RECORD messages."""

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
        """Write one message; flush unless it is a RECORD."""
        _write_bytes(self.format_message(message))
        if not isinstance(message, RecordMessage):
            sys.stdout.flush()

    def write_raw(self, data: bytes) -> None:
        """Write already-encoded RECORD lines (the lean record path); no flush."""
        _write_bytes(data)

    def write_state_bytes(self, value: bytes) -> None:
        """Write a STATE message whose value is already JSON-encoded; flush."""
        _write_bytes(b'{"type":"STATE","value":' + value + b"}\n")
        sys.stdout.flush()


class EncodedStateWriter(StateWriter):
    """The SDK's STATE deduplication, on the encoded state instead of deep copies."""

    def __init__(self, message_writer: Any) -> None:
        super().__init__(message_writer)
        self._last_encoded: bytes | None = None

    def write_state(self, state: TapState) -> None:
        """Write a STATE message unless the state is unchanged since the last one."""
        writer = self._message_writer
        if not hasattr(writer, "write_state_bytes"):
            super().write_state(state)
            return
        encoded = _encoder.encode(state)
        if encoded != self._last_encoded:
            writer.write_state_bytes(encoded)
            self._last_encoded = encoded
