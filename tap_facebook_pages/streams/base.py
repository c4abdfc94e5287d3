"""Shared stream plumbing: access to the tap's Graph client, settings and run report."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from singer_sdk import Stream
from singer_sdk.helpers._util import utc_now
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.singerlib import RecordMessage

if TYPE_CHECKING:
    from tap_facebook_pages.graph.client import GraphClient
    from tap_facebook_pages.run import RunReport
    from tap_facebook_pages.settings import Settings
    from tap_facebook_pages.tap import TapFacebookPages


class GraphStream(Stream):
    """A stream whose records come from the tap's Graph client (streams never do HTTP)."""

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
        if self._all_selected is None:
            mask = self.mask
            self._all_selected = all(
                mask[("properties", name)] for name in self.schema.get("properties", {})
            )
        if not self._all_selected or self.TYPE_CONFORMANCE_LEVEL != TypeConformanceLevel.NONE:
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

    def get_replication_key_signpost(self, context: Any = None) -> None:
        """No signpost: windows never reach past the last complete Pacific day."""
        return
