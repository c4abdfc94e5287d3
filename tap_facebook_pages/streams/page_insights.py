"""``page_insights_<page_id>``: one incremental stream per page, so the catalog selects pages.

A thin adapter over :class:`~tap_facebook_pages.source.page_insights.PageInsightsSource`:
schema, keys, the bookmark (moved once per complete window, never back) and a checkpoint (STATE)
between windows.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from singer_sdk import metrics
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


# A fleet's page streams log one line each, their sync summary (rows, duration, starting
# bookmark): the SDK's four other INFO lines per stream (its "Beginning sync", "Starting
# incremental sync ... bookmark value", and the record_count and sync_duration METRIC lines)
# said the same again and cost about a quarter of a page's CPU. The first two are logged at
# DEBUG; the METRIC lines go to the logger ``singer_sdk.metrics.page_insights``, set to
# WARNING (a logging config that sets it to INFO brings them back).
_BEGINNING = "Beginning sync of '%s' in %s mode"
_STARTING = "Starting incremental sync of '%s' with bookmark value: %s"
PAGE_METRICS_LOGGER = logging.getLogger(metrics.METRICS_LOGGER_NAME).getChild("page_insights")
if PAGE_METRICS_LOGGER.level == logging.NOTSET:
    PAGE_METRICS_LOGGER.setLevel(logging.WARNING)


class _StartingAtDebug(logging.Filter):
    """The SDK's "Starting incremental sync" INFO line of a page stream, logged at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != _STARTING or record.levelno != logging.INFO:
            return True
        logger = logging.getLogger(record.name)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(record.msg, *(record.args or ()))
        return False


_STARTING_AT_DEBUG = _StartingAtDebug()


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
        if _STARTING_AT_DEBUG not in self.logger.filters:
            self.logger.addFilter(_STARTING_AT_DEBUG)

    def log(self, message: str, *args: Any, level: int = logging.INFO, **kwargs: Any) -> None:
        """The SDK's stream log; its "Beginning sync" line at DEBUG (see above)."""
        if message == _BEGINNING and level == logging.INFO:
            level = logging.DEBUG
        super().log(message, *args, level=level, **kwargs)

    def get_record_counter(self, **kwargs: Any) -> metrics.Counter:
        """The SDK's record counter, its METRIC lines quiet (the sync summary has rows)."""
        counter = super().get_record_counter(**kwargs)
        counter.logger = PAGE_METRICS_LOGGER
        return counter

    def get_sync_timer(self) -> metrics.Timer:
        """The SDK's sync timer, its METRIC line quiet (the sync summary has the time)."""
        timer = super().get_sync_timer()
        timer.logger = PAGE_METRICS_LOGGER
        return timer

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
