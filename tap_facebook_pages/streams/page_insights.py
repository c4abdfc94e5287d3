"""``page_insights_<page_id>``: one incremental stream per page, so the catalog selects pages.

Per window (≤ ``window_days``, Pacific dates, ``until`` exclusive) all requested metrics go in
one request per distinct period set; the API's ``paging.next`` is never followed (it walks into
the future and carries the token). Rows are emitted in ascending ``end_time`` and a STATE
message is written after every complete window, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterable, Iterator
from typing import Any

from singer_sdk import typing as th

from tap_facebook_pages.graph.errors import AuthError, GraphError, PagePermissionError
from tap_facebook_pages.insights import insights_rows
from tap_facebook_pages.pages import Page
from tap_facebook_pages.retired import isolate_invalid
from tap_facebook_pages.run import Failure
from tap_facebook_pages.streams.base import GraphStream
from tap_facebook_pages.windows import end_time_for, incremental_start, iter_windows

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
    th.Property("value", th.NumberType, description="The value (null when not a number)"),
    th.Property(
        "value_json",
        th.StringType,
        description="The original value as JSON when it is not a plain number, else null",
    ),
    th.Property(
        "breakdown_key",
        th.StringType,
        required=True,
        description="'' for a plain value; the object key, or e.g. 'is_from_ads=1' for breakdowns",
    ),
    th.Property("title", th.StringType),
    th.Property("description", th.StringType),
).to_dict()

_SORT_KEY = ("end_time", "metric", "period", "breakdown_key")


def _sort_key(row: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(row[k]) for k in _SORT_KEY)


class PageInsightsStream(GraphStream):
    """Daily (and weekly / 28-day) page insights of one page."""

    primary_keys = ("page_id", "metric", "period", "end_time", "breakdown_key")
    replication_key = "end_time"
    is_sorted = True
    check_sorted = False  # the lookback re-reads days before the bookmark, by design
    STATE_MSG_FREQUENCY = 10**12  # state is written per complete window instead
    schema = INSIGHTS_SCHEMA

    def __init__(self, tap: Any, page: Page) -> None:
        self.page = page
        super().__init__(tap, name=f"page_insights_{page.id}")

    # -- planning -----------------------------------------------------------------------

    def _invalid_metrics(self) -> set[str]:
        return set(self.stream_state.get("invalid_metrics") or ())

    def _remember_invalid(self, names: Iterable[str]) -> None:
        merged = self._invalid_metrics() | set(names)
        self.stream_state["invalid_metrics"] = sorted(merged)

    def metric_groups(self) -> list[tuple[tuple[str, ...], list[str]]]:
        """Metrics to request grouped by period set (usually a single group)."""
        invalid = self._invalid_metrics()
        groups: dict[tuple[str, ...], list[str]] = {}
        for metric, periods in self.settings.page_metrics.requests.items():
            if metric not in invalid:
                groups.setdefault(periods, []).append(metric)
        return list(groups.items())

    # -- fetching -----------------------------------------------------------------------

    def _fetch(
        self, metrics: list[str], periods: tuple[str, ...], since: datetime.date, until: datetime.date
    ) -> list[dict[str, Any]]:
        params = {
            "metric": ",".join(metrics),
            "since": since.isoformat(),
            "until": until.isoformat(),
        }
        if len(periods) == 1:
            params["period"] = periods[0]
        body = self.graph.get(
            f"{self.page.id}/insights", params, token=self.page.token, scope=self.page.id
        )
        wanted = set(periods)
        return [e for e in body.get("data") or () if e.get("period") in wanted]

    def _window_rows(self, since: datetime.date, until: datetime.date) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        first_end = end_time_for(since)
        last_end = end_time_for(until - datetime.timedelta(days=1))
        for periods, metrics in self.metric_groups():

            def call(subset: list[str], periods: tuple[str, ...] = periods) -> list[dict[str, Any]]:
                return self._fetch(subset, periods, since, until)

            results, invalid = isolate_invalid(call, metrics)
            if invalid:
                self._on_invalid(invalid)
            for data in results:
                for row in insights_rows(data, base={"page_id": self.page.id}):
                    if first_end <= row["end_time"] <= last_end:
                        rows.append(row)
        rows.sort(key=_sort_key)
        return rows

    def _on_invalid(self, invalid: list[str]) -> None:
        catalog_plan = self.settings.page_metrics
        for name in invalid:
            self.logger.warning(
                "Page %s: metric '%s' was rejected by the API as not a valid insights metric "
                "(retired); continuing without it%s.",
                self.page.id,
                name,
                "" if name not in catalog_plan.renamed.values() else " (it was a replacement)",
            )
        self._remember_invalid(invalid)
        self.invalid_this_run.extend(invalid)

    # -- sync -----------------------------------------------------------------------------

    def get_records(self, context: Any) -> Iterator[dict[str, Any]]:
        """Rows window by window, ascending ``end_time``; STATE after each complete window."""
        settings = self.settings
        self.invalid_this_run: list[str] = []
        started = time.monotonic()
        stats = self.graph.stats(self.page.id)
        before = (stats.requests, stats.retries, stats.throttle_wait_s)
        start = incremental_start(
            bookmark=self.get_starting_replication_key_value(context),
            start_date=settings.start_date,
            lookback_days=settings.lookback_days,
            floor=settings.start_date if settings.start_date_explicit else None,
        )
        windows = iter_windows(start, settings.end_date, settings.window_days)
        count = 0
        for index, (since, until) in enumerate(windows):
            if index:
                self._write_state_message()  # every row up to the previous window is out
            try:
                rows = self._window_rows(since, until)
            except AuthError:
                raise
            except PagePermissionError as error:
                self.logger.warning(
                    "Page %s: access lost (%s); skipping the page. Re-grant the token's user a "
                    "role with the ANALYZE task on the page.",
                    self.page.id,
                    error.describe(),
                )
                self.report.skip(self.page.id, error.describe())
                break
            except GraphError as error:
                self.report.fail(
                    Failure(
                        page_id=self.page.id,
                        stream=self.name,
                        detail=error.describe(),
                        metrics=tuple(m for _, ms in self.metric_groups() for m in ms),
                        date_range=f"{since}..{until - datetime.timedelta(days=1)}",
                    )
                )
                self.logger.error(
                    "Page %s: could not read insights for %s..%s after retries: %s",
                    self.page.id,
                    since,
                    until - datetime.timedelta(days=1),
                    error.describe(),
                )
                break
            count += len(rows)
            yield from rows
        self.report.stream_done(
            self.logger,
            page_id=self.page.id,
            stream=self.name,
            rows=count,
            requests=stats.requests - before[0],
            retries=stats.retries - before[1],
            throttle_wait_s=round(stats.throttle_wait_s - before[2], 3),
            invalid_metrics=sorted(set(self.invalid_this_run)),
            duration_s=round(time.monotonic() - started, 3),
        )
