"""``page_insights_<page_id>``: one incremental stream per page, so the catalog selects pages.

Per window (≤ ``window_days``, Pacific dates, ``until`` exclusive) all requested metrics go in
one request per distinct period set; the API's ``paging.next`` is never followed (it walks into
the future and carries the token). Rows are emitted in ascending ``end_time`` and a STATE
message is written after every complete window, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import datetime
import operator
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from singer_sdk import typing as th
from singer_sdk.helpers.conform import TypeConformanceLevel

from tap_facebook_pages.graph.batch import RawBody
from tap_facebook_pages.graph.errors import (
    AuthError,
    GraphError,
    InvalidMetricError,
    PagePermissionError,
    TransientError,
)
from tap_facebook_pages.insights import insights_rows, value_properties
from tap_facebook_pages.metrics import load_catalog
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
    *value_properties(),
).to_dict()

_SORT_KEY = ("end_time", "metric", "period", "breakdown_key")


@dataclass(frozen=True)
class RequestSpec:
    """One insights request per window: these metrics, these periods, maybe a breakdown."""

    metrics: list[str]
    periods: tuple[str, ...]
    breakdown: str | None = None


_sort_key = operator.itemgetter(*_SORT_KEY)  # all four are strings in every row


class PageInsightsStream(GraphStream):
    """Daily (and weekly / 28-day) page insights of one page."""

    primary_keys = ("page_id", "metric", "period", "end_time", "breakdown_key")
    replication_key = "end_time"
    is_sorted = True
    check_sorted = False  # the lookback re-reads days before the bookmark, by design
    STATE_MSG_FREQUENCY = 10**12  # state is written per complete window instead
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE  # rows are built with their final types
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

    def _requested(self) -> dict[str, tuple[str, ...]]:
        """Metric -> periods for this run: the plan, minus metrics the API rejected before,
        plus live replacements the catalog names for those."""
        catalog = load_catalog()
        invalid = self._invalid_metrics()
        requested: dict[str, tuple[str, ...]] = {}
        for metric, periods in self.settings.page_metrics.requests.items():
            if metric not in invalid:
                requested.setdefault(metric, periods)
                continue
            replacement = catalog.live_replacement(metric, "PAGE")
            meta = catalog.get(replacement, "PAGE") if replacement else None
            if replacement and meta and replacement not in invalid:
                usable = tuple(p for p in periods if p in meta.supported_periods)
                if usable:
                    requested.setdefault(replacement, usable)
        return requested

    def request_specs(self) -> list[RequestSpec]:
        """One request per window for each distinct (period set, breakdown) of the metrics."""
        catalog = load_catalog()
        requested = self._requested()
        specs: dict[tuple[tuple[str, ...], str | None], list[str]] = {}
        for metric, periods in requested.items():
            specs.setdefault((periods, None), []).append(metric)
        for breakdown in self.settings.breakdowns:
            for metric, periods in requested.items():
                meta = catalog.get(metric, "PAGE")
                if meta is not None and breakdown in meta.supports_breakdowns:
                    specs.setdefault((periods, breakdown), []).append(metric)
        return [RequestSpec(metrics, periods, bd) for (periods, bd), metrics in specs.items()]

    # -- fetching -----------------------------------------------------------------------

    def planned_windows(self) -> list[tuple[datetime.date, datetime.date]]:
        """The (since, until) windows this run reads, from the bookmark and settings."""
        settings = self.settings
        # The stream's own bookmark, read directly: the SDK primes its "starting value" only
        # when a stream starts syncing, but the prefetcher plans every page before that.
        start = incremental_start(
            bookmark=self.stream_state.get("replication_key_value"),
            start_date=settings.start_date,
            lookback_days=settings.lookback_days,
            floor=settings.start_date if settings.start_date_explicit else None,
        )
        return iter_windows(start, settings.end_date, settings.window_days)

    def _params(
        self, spec: RequestSpec, metrics: list[str], since: datetime.date, until: datetime.date
    ) -> dict[str, Any]:
        params = {
            "metric": ",".join(metrics),
            "since": since.isoformat(),
            "until": until.isoformat(),
        }
        if len(spec.periods) == 1:
            params["period"] = spec.periods[0]
        if spec.breakdown:
            params["breakdown"] = spec.breakdown
        return params

    def _key(self, spec: RequestSpec, metrics: list[str], since: datetime.date) -> tuple:
        return (self.name, since, spec.periods, spec.breakdown, tuple(metrics))

    def plan_items(self) -> Iterator[tuple[Any, str, dict[str, Any], str, str]]:
        """Every request of this run, in consumption order, for the prefetcher."""
        specs = self.request_specs()
        for since, until in self.planned_windows():
            for spec in specs:
                yield (
                    self._key(spec, spec.metrics, since),
                    f"{self.page.id}/insights",
                    self._params(spec, spec.metrics, since, until),
                    self.page.token,
                    self.page.id,
                )

    def _results(
        self, spec: RequestSpec, metrics: list[str], since: datetime.date, until: datetime.date
    ) -> tuple[list[Any], list[str]]:
        """Bodies covering ``metrics`` for one window (prefetched when possible) and the
        metrics the API rejected."""

        def call(subset: list[str]) -> Any:
            return self.graph.get(
                f"{self.page.id}/insights",
                self._params(spec, subset, since, until),
                token=self.page.token,
                scope=self.page.id,
            )

        prefetcher = self.tap.prefetcher
        future = prefetcher.take(self._key(spec, metrics, since)) if prefetcher else None
        if future is None:
            return isolate_invalid(call, metrics)
        try:
            body = future.result()
            return [body.parse() if isinstance(body, RawBody) else body], []
        except InvalidMetricError:
            return isolate_invalid(call, metrics, known_failing=True)
        except TransientError:  # a 200 body that was truncated: ask again, with retries
            return isolate_invalid(call, metrics)

    def _window_rows(self, since: datetime.date, until: datetime.date) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        first_end = end_time_for(since)
        last_end = end_time_for(until - datetime.timedelta(days=1))
        pending = self.request_specs()
        done: set[tuple[str, tuple[str, ...], str | None]] = set()
        while pending:
            spec = pending.pop(0)
            metrics = [m for m in spec.metrics if (m, spec.periods, spec.breakdown) not in done]
            if not metrics:
                continue

            bodies, invalid = self._results(spec, metrics, since, until)
            done.update((m, spec.periods, spec.breakdown) for m in metrics)
            if invalid:
                self._on_invalid(invalid)
                # Replacements of the metrics just rejected, for this window too.
                pending = self.request_specs()
            prefix = f"{spec.breakdown}=" if spec.breakdown else None
            wanted = set(spec.periods)
            for body in bodies:
                data = [e for e in body.get("data") or () if e.get("period") in wanted]
                for row in insights_rows(data, base={"page_id": self.page.id}):
                    if not first_end <= row["end_time"] <= last_end:
                        continue
                    if prefix is not None and not row["breakdown_key"].startswith(prefix):
                        continue  # the unbroken-down value comes from the plain request
                    rows.append(row)
        rows.sort(key=_sort_key)
        return rows

    def _on_invalid(self, invalid: list[str]) -> None:
        catalog = load_catalog()
        for name in invalid:
            meta = catalog.get(name, "PAGE")
            replacement = catalog.live_replacement(name, "PAGE") if meta else None
            self.logger.warning(
                "Page %s: metric '%s' was rejected by the API as not a valid insights metric "
                "(retired by Meta); %s. It is remembered in state and not requested again.",
                self.page.id,
                name,
                f"requesting its replacement '{replacement}'"
                if replacement
                else "no replacement is known, continuing without it",
            )
        self._remember_invalid(invalid)
        self.invalid_this_run.extend(invalid)

    def _increment_stream_state(self, latest_record: Any, *, context: Any = None) -> None:
        """Per-record bookkeeping skipped: the bookmark moves once per complete window
        (``_advance_bookmark``), which is also the only time a STATE is written."""

    def _advance_bookmark(self, end_time: str) -> None:
        """Set the bookmark to the last ``end_time`` of a window just emitted."""
        state = self.stream_state
        state["replication_key"] = self.replication_key
        state["replication_key_value"] = end_time
        self.state_manager.is_flushed = False

    def _check_silence(self, count: int, windows: list[Any]) -> None:
        """Warn when a page that returned rows before returns none now (read_insights lost?)."""
        before = int(self.stream_state.get("last_nonzero_rows") or 0)
        if count:
            self.stream_state["last_nonzero_rows"] = count
        elif before and windows:
            self.logger.warning(
                "Page %s returned no insights rows this run, but %d in an earlier run: check "
                "that the token still has read_insights and the ANALYZE task on the page "
                "(Facebook answers with empty data, not an error).",
                self.page.id,
                before,
            )

    # -- sync -----------------------------------------------------------------------------

    def get_records(self, context: Any) -> Iterator[dict[str, Any]]:
        """Rows window by window, ascending ``end_time``; STATE after each complete window."""
        for rows in self.get_record_chunks(context):
            yield from rows

    def get_record_chunks(self, context: Any) -> Iterator[list[dict[str, Any]]]:
        """One list of rows per window, ascending ``end_time``. The bookmark moves when the
        next chunk is asked for (every row of the window is out by then), and a STATE message
        is written before the next window's rows."""
        self.invalid_this_run: list[str] = []
        started = time.monotonic()
        stats = self.graph.stats(self.page.id)
        before = (stats.requests, stats.retries, stats.throttle_wait_s)
        windows = self.planned_windows()
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
                        metrics=tuple(
                            sorted({m for spec in self.request_specs() for m in spec.metrics})
                        ),
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
            yield rows
            if rows:
                self._advance_bookmark(rows[-1]["end_time"])
        self._check_silence(count, windows)
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
