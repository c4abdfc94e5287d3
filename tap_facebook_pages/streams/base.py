"""Shared stream plumbing: access to the tap's Graph client, settings and run report."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from singer_sdk import Stream

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

    def get_replication_key_signpost(self, context: Any = None) -> None:
        """No signpost: windows never reach past the last complete Pacific day."""
        return
