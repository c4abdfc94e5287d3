"""``page_insights_<page_id>``: one incremental stream per page, so the catalog selects pages.

A thin adapter over :class:`~tap_facebook_pages.source.page_insights.PageInsightsSource`:
schema, keys, the bookmark (moved once per complete window, never back) and a checkpoint (STATE)
between windows.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from singer_sdk import typing as th
from singer_sdk.helpers.conform import TypeConformanceLevel

from tap_facebook_pages.source.discovery import Page
from tap_facebook_pages.source.page_insights import PageInsightsSource
from tap_facebook_pages.streams.base import GraphStream
from tap_facebook_pages.streams.schemas import value_properties

if TYPE_CHECKING:
    from tap_facebook_pages.runtime import Runtime

INSIGHTS_SCHEMA = th.PropertiesList(
    th.Property("page_id", th.StringType, required=True, description="Page id"),
    th.Property("metric", th.StringType, required=True, description="Metric name as requested"),
    th.Property("period", th.StringType, required=True, description="day, week or days_28"),
    th.Property(
        "end_time",
        th.DateTimeType,
        required=True,
        description="API end_time (RFC 3339 UTC): midnight America/Los_Angeles after the day",
    ),
    th.Property(
        "date", th.DateType, description="The Pacific day the value describes (end_time - 1 day)"
    ),
    *value_properties(),
).to_dict()


class PageInsightsStream(GraphStream):
    """Daily (and weekly / 28-day) page insights of one page."""

    primary_keys = ("page_id", "metric", "period", "end_time", "breakdown_key")
    replication_key = "end_time"
    is_sorted = True
    check_sorted = False  # the lookback re-reads days before the bookmark, by design
    STATE_MSG_FREQUENCY = 10**12  # state is written per complete window instead
    window_checkpoints = True  # the bookmark moves once per complete window (never back)
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE  # rows are built with their final types
    schema = INSIGHTS_SCHEMA

    def __init__(self, tap: Any, runtime: Runtime, page: Page) -> None:
        self.page = page
        super().__init__(tap, runtime, name=f"page_insights_{page.id}")

    @functools.cached_property
    def source(self) -> PageInsightsSource:
        """This page's insights for this run."""
        runtime = self.runtime
        return PageInsightsSource(
            name=self.name,
            page=self.page,
            settings=runtime.settings,
            graph=runtime.graph,
            report=runtime.report,
            prefetcher=lambda: runtime.prefetcher,
            state=self.stream_state,
            logger=self.logger,
        )

    def plan_items(self) -> Iterator[tuple[Any, str, dict[str, Any], str, str]]:
        """Every request of this run, in consumption order, for the prefetcher."""
        return self.source.plan_items()

    def _advance_bookmark(self, end_time: str) -> None:
        """Set the bookmark to the last ``end_time`` of a window just emitted."""
        state = self.stream_state
        state["replication_key"] = self.replication_key
        previous = state.get("replication_key_value")
        if not isinstance(previous, str) or end_time > previous:  # never moves back
            state["replication_key_value"] = end_time
        self.state_manager.is_flushed = False

    def get_records(self, context: Any) -> Iterator[dict[str, Any]]:
        """Rows window by window, ascending ``end_time``; STATE after each complete window."""
        for rows in self.get_record_chunks(context):
            yield from rows

    def get_record_chunks(self, context: Any) -> Iterator[list[dict[str, Any]]]:
        """One list of rows per window. The bookmark moves when the next chunk is asked for
        (every row of the window is out by then), and the checkpoint (STATE) is written before
        the next window's rows are fetched."""
        for rows in self.source.window_rows(self.checkpoint):
            yield rows
            if rows:
                self._advance_bookmark(rows[-1]["end_time"])
