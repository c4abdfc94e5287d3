"""The Singer message writer: msgspec encoding, and a flush only where it matters.

The SDK's writers flush stdout after every message; at tens of thousands of records per second
that is a system call per record. We flush after STATE (and SCHEMA) messages only, so whatever a
downstream target has seen of a STATE, it has also seen every record before it.
"""

from __future__ import annotations

import sys

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib.encoding.simple import Message, RecordMessage


class BufferedMsgSpecWriter(MsgSpecWriter):
    """msgspec-encoded Singer messages; stdout flushed on non-RECORD messages."""

    def write_message(self, message: Message) -> None:
        """Write one message; flush unless it is a RECORD."""
        data = self.format_message(message)
        out = sys.stdout
        buffer = getattr(out, "buffer", None)
        if buffer is not None:
            buffer.write(data)
        else:  # a text stream without a byte buffer (tests redirecting stdout)
            out.write(data.decode("utf-8"))
        if not isinstance(message, RecordMessage):
            out.flush()
