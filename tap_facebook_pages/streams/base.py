"""Shared stream plumbing: access to the tap's Graph client, settings and run report."""

from __future__ import annotations

import logging
import sys
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

from singer_sdk import Stream
from singer_sdk.contrib.msgspec import encoder as _msgspec_encoder
from singer_sdk.exceptions import MaxRecordsLimitException
from singer_sdk.helpers._util import utc_now
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.singerlib import RecordMessage

from tap_facebook_pages.graph.errors import AuthError
from tap_facebook_pages.settings import UserError
from tap_facebook_pages.stopping import STOP, Stopped
from tap_facebook_pages.writer import flush_stdout

if TYPE_CHECKING:
    from tap_facebook_pages.graph.client import GraphClient
    from tap_facebook_pages.run import RunReport
    from tap_facebook_pages.settings import Settings
    from tap_facebook_pages.tap import TapFacebookPages


class _ExpectedFailureFilter(logging.Filter):
    """Drops the SDK's "An unhandled error occurred while syncing" line when the error in flight
    is an expected condition (a rejected token, a user error, a stop on SIGTERM/SIGINT, a
    target that stopped reading) that the CLI reports as one clear line of its own. The SDK
    logs that line inside its ``except`` block, so the exception is still the one being
    handled when the filter runs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith("An unhandled error occurred while syncing"):
            return True
        error = sys.exc_info()[1]
        if isinstance(error, (AuthError, UserError, Stopped)):
            return False
        # The record limit of ``--test`` (a dry run of one record per stream) ends each stream
        # with the SDK's own abort, paused or (full-table streams) "failed": not an error.
        return not (
            isinstance(error, MaxRecordsLimitException)
            or isinstance(error.__cause__ if error else None, MaxRecordsLimitException)
        )


_EXPECTED_FAILURES = _ExpectedFailureFilter()


class GraphStream(Stream):
    """A stream whose records come from the tap's Graph client (streams never do HTTP)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if _EXPECTED_FAILURES not in self.logger.filters:
            self.logger.addFilter(_EXPECTED_FAILURES)

    @property
    def tap(self) -> TapFacebookPages:
        """The owning tap."""
        return self._tap  # type: ignore[return-value]

    @property
    def graph(self) -> GraphClient:
        """The tap's one Graph client."""
        return self.tap.graph

    @property
    def settings(self) -> Settings:
        """Resolved settings."""
        return self.tap.settings

    @property
    def report(self) -> RunReport:
        """Where failures and per-page statistics of this run are collected."""
        return self.tap.report

    _all_selected: bool | None = None

    def _every_property_selected(self) -> bool:
        if self._all_selected is None:
            mask = self.mask
            self._all_selected = all(
                mask[("properties", name)] for name in self.schema.get("properties", {})
            )
        return self._all_selected

    def _generate_record_messages(
        self, record: dict[str, Any]
    ) -> Generator[RecordMessage, None, None]:
        """The SDK's record path minus the work our records do not need.

        The SDK walks every record to drop deselected properties and to conform types. Streams
        whose records are built with their final types set ``TYPE_CONFORMANCE_LEVEL = NONE``;
        when, in addition, every property is selected there is nothing to drop, and both walks
        are skipped. Any other case takes the SDK's own path. (Overrides a private SDK hook:
        the SDK is pinned to 0.54.)
        """
        if (
            not self._every_property_selected()
            or self.TYPE_CONFORMANCE_LEVEL != TypeConformanceLevel.NONE
        ):
            yield from super()._generate_record_messages(record)
            return
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped,
                    version=self._stream_version,
                    time_extracted=utc_now(),
                )

    # -- stopping between windows ---------------------------------------------------------

    def _write_state_message(self) -> None:
        """Write STATE (when it changed), then stop here if SIGTERM/SIGINT arrived.

        Streams write STATE after every complete window only, so this is where a stop leaves
        the output consistent: every line is out, and the last STATE covers every row written.
        RECORD lines still collected by the writer go out too, even when the state is unchanged.
        """
        super()._write_state_message()
        flush_stdout()
        STOP.check()

    # -- the lean record path -------------------------------------------------------------

    def get_record_chunks(self, context: Any) -> Iterator[list[dict[str, Any]]] | None:
        """Final rows in chunks (one window each), or None when the stream has no such path.

        A stream that implements this manages its own bookmark and STATE messages between
        chunks (it does not rely on the SDK's per-record state increment), and its rows are
        built with their final types (``TYPE_CONFORMANCE_LEVEL = NONE``).
        """
        return None

    def _lean_path(self, write_messages: bool) -> bool:
        """True when nothing the SDK does per record would change this stream's output."""
        maps = self.stream_maps
        return (
            write_messages
            and self.selected
            and self.TYPE_CONFORMANCE_LEVEL == TypeConformanceLevel.NONE
            and self.ABORT_AT_RECORD_COUNT is None
            and not self.child_streams
            and type(self).post_process is Stream.post_process
            and self._stream_version is None
            and len(maps) == 1
            and type(maps[0]) is SameRecordTransform
            and not maps[0].flattening_enabled
            and maps[0].stream_alias == self.name
            and hasattr(self._tap.message_writer, "write_raw")
            and self._every_property_selected()
        )

    def _sync_records(
        self, context: Any = None, *, write_messages: bool = True
    ) -> Generator[dict, Any, Any]:
        """The SDK's record loop, or, for chunked streams, one encode and write per chunk.

        The lean path keeps what the SDK's loop does for such a stream (starting replication
        value, record counter and timer, final state) and drops the per-record work that is a
        no-op for it (limit check, post-processing, child contexts, mapping, conformance,
        message objects, per-record state). Each chunk's RECORD lines are encoded by msgspec
        and written with one call, with one ``time_extracted`` per chunk. (Overrides a private
        SDK method: the SDK is pinned to 0.54.)
        """
        STOP.check()  # a stop requested between streams: no new stream starts
        lean = context is None and self.partitions is None and self._lean_path(write_messages)
        chunks = self.get_record_chunks(context) if lean else None
        if chunks is None:
            yield from super()._sync_records(context, write_messages=write_messages)
            return
        write_raw = self._tap.message_writer.write_raw  # type: ignore[attr-defined]
        encode = _msgspec_encoder.encode
        head = b'{"type":"RECORD","stream":' + encode(self.name) + b',"record":'
        record_counter = self.get_record_counter()
        timer = self.get_sync_timer()
        with record_counter, timer:
            self._write_starting_replication_value(context)
            for rows in chunks:
                if not rows:
                    continue
                tail = b',"time_extracted":' + encode(utc_now()) + b"}\n"
                write_raw(head + (tail + head).join(map(encode, rows)) + tail)
                record_counter.increment(len(rows))
                yield from rows
        self._finalize_state(self.stream_state)
        self._write_state_message()

    def get_replication_key_signpost(self, context: Any = None) -> None:
        """No signpost: windows never reach past the last complete Pacific day."""
        return
