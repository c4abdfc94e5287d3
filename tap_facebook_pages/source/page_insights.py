"""One page's insights for one run: planning, fetching, rows, completeness (explicit inputs).

Per window (≤ ``window_days``, Pacific dates, ``until`` exclusive) every requested metric and
period goes in one request (plus one per breakdown, and a refused metric due to be asked again
alone); the API's ``paging.next`` is never followed (it walks into the future and carries the
token). Rows come out window by window in ascending ``end_time``; the stream adapter moves the
bookmark and writes STATE between windows, so a killed run resumes where it stopped.

Its inputs are explicit: the page, resolved settings, the Graph client, the run report, the
prefetcher, the page's state dict (bookmark, refused metrics, covered metrics) and a logger. It
knows nothing of the SDK.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import difflib
import functools
import operator
from collections.abc import Callable, Iterable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tap_facebook_pages.graph.batch import RawBody
from tap_facebook_pages.graph.errors import (
    AuthError,
    GraphError,
    PagePermissionError,
    TransientError,
    rejection_reason,
)
from tap_facebook_pages.report import StreamMeter
from tap_facebook_pages.source.bisect import Isolation, isolate_rejected
from tap_facebook_pages.source.discovery import Page
from tap_facebook_pages.source.drift import check_drift
from tap_facebook_pages.source.rejections import (
    RejectedMetrics,
    requested_metrics,
    warn_rejected,
    warn_skipped,
)
from tap_facebook_pages.source.rows import answer_entries, insights_rows
from tap_facebook_pages.stopping import Stopped
from tap_facebook_pages.windows import (
    end_time_for,
    incremental_start,
    iter_windows,
    pacific_today,
)

if TYPE_CHECKING:
    import logging

    from tap_facebook_pages.config import Settings
    from tap_facebook_pages.graph.client import GraphClient
    from tap_facebook_pages.report import RunReport
    from tap_facebook_pages.source.prefetch import Prefetcher

_SORT_KEY = ("end_time", "metric", "period", "breakdown_key")
_KEY = ("metric", "period", "end_time", "breakdown_key")
PLAIN, BREAKDOWN, PROBE = "plain", "breakdown", "probe"


@dataclass(frozen=True)
class RequestSpec:
    """One insights request per window: these metrics, maybe a breakdown. ``kind`` is
    ``plain`` (every metric), ``breakdown`` (the metrics that support it) or ``probe`` (one
    metric the API refused earlier, asked again alone)."""

    kind: str
    metrics: tuple[str, ...]
    breakdown: str | None = None


@dataclass(frozen=True)
class Window:
    """One since/until window; ``only`` restricts it to metrics new to the page (backfill)."""

    since: datetime.date
    until: datetime.date
    only: tuple[str, ...] | None = None


_sort_key = operator.itemgetter(*_SORT_KEY)  # all four are strings in every row
_row_key = operator.itemgetter(*_KEY)


def _day_ranges(days: list[str]) -> str:
    """``2026-11-01..2026-11-03, 2026-11-07`` for a list of ISO days."""
    ordered = sorted(set(days))
    parts: list[str] = []
    start = prev = None
    for day in ordered:
        current = datetime.date.fromisoformat(day)
        if prev is not None and current - prev == datetime.timedelta(days=1):
            prev = current
            continue
        if start is not None and prev is not None:
            parts.append(str(start) if start == prev else f"{start}..{prev}")
        start = prev = current
    if start is not None and prev is not None:
        parts.append(str(start) if start == prev else f"{start}..{prev}")
    return ", ".join(parts)


class PageInsightsSource:
    """Page insights of one page in one run (see the module docstring)."""

    def __init__(
        self,
        *,
        name: str,
        page: Page,
        settings: Settings,
        graph: GraphClient,
        report: RunReport,
        prefetcher: Callable[[], Prefetcher | None],
        state: MutableMapping[str, Any],
        logger: logging.Logger,
    ) -> None:
        self.name = name
        self.page = page
        self.settings = settings
        self.graph = graph
        self.client = graph.for_page(page.token, page.id)  # the page's token and quota scope
        self.report = report
        self.prefetcher = prefetcher
        self.state = state
        self.logger = logger
        self._windows: list[Window] | None = None

    # -- planning -----------------------------------------------------------------------

    @functools.cached_property
    def rejected(self) -> RejectedMetrics:
        """Metrics the API refused for this page, from (and kept in) the page's state."""
        return RejectedMetrics(self.state, pacific_today())

    def _requested(self) -> dict[str, tuple[str, ...]]:
        """Metric -> periods for this run (see ``rejections.requested_metrics``)."""
        return requested_metrics(
            self.settings.page_metrics.requests, self.rejected, self.settings.catalog, "PAGE"
        )

    def request_specs(self, window: Window | None = None) -> list[RequestSpec]:
        """The requests of one window: one for every metric and period together (no
        ``period`` parameter when the metrics want different ones), one per breakdown, and,
        in the first window, each metric due to be asked again alone."""
        catalog = self.settings.catalog
        requested = self._requested()
        due = set(self.rejected.due())
        main = [w for w in self.planned_windows() if w.only is None]
        first = window is None or (bool(main) and window == main[0])
        metrics = [m for m in requested if m not in due]
        if window is not None and window.only is not None:
            metrics = [m for m in metrics if m in window.only]
        specs = [RequestSpec(PLAIN, tuple(metrics))] if metrics else []
        for breakdown in self.settings.breakdowns:
            subset = tuple(
                m
                for m in metrics
                if (meta := catalog.get(m, "PAGE")) and breakdown in meta.supports_breakdowns
            )
            if subset:
                specs.append(RequestSpec(BREAKDOWN, subset, breakdown))
        if first and (window is None or window.only is None):
            specs += [RequestSpec(PROBE, (m,)) for m in sorted(due) if m in requested]
        return specs

    # -- fetching -----------------------------------------------------------------------

    def planned_windows(self) -> list[Window]:
        """The windows this run reads, from the bookmark and settings (cached per run).

        Incremental: from the bookmark minus ``lookback_days`` (an explicit ``start_date``
        bounds it from below). A bookmark after ``end_date`` means either a past range asked
        explicitly (``end_date`` set: ``start_date..end_date`` is read, and the bookmark, which
        never moves back, is kept) or a clock/state problem (no ``end_date``: the bookmark is
        clamped to the last complete day, with a WARNING). Metrics new to the page (absent from
        the state's ``metrics``) are first read alone from ``start_date`` up to where the
        incremental read begins.
        """
        if self._windows is not None:
            return self._windows
        settings = self.settings
        state = self.state
        bookmark = state.get("replication_key_value")
        last = end_time_for(settings.end_date)
        if bookmark and str(bookmark) > last:
            if settings.end_date_explicit:
                self.logger.info(
                    "Page %s: the bookmark %s is after end_date %s: reading %s..%s as asked; "
                    "the bookmark is kept.",
                    self.page.id,
                    bookmark,
                    settings.end_date,
                    settings.start_date,
                    settings.end_date,
                )
                bookmark = None
            else:
                self.logger.warning(
                    "Page %s: the bookmark %s is after the last complete day %s; reading as if "
                    "the bookmark were %s (a clock or state-file problem?).",
                    self.page.id,
                    bookmark,
                    settings.end_date,
                    last,
                )
                bookmark = last
        start = incremental_start(
            bookmark=bookmark,
            start_date=settings.start_date,
            lookback_days=settings.lookback_days,
            floor=settings.start_date if settings.start_date_explicit else None,
        )
        windows: list[Window] = []
        covered = state.get("metrics")
        if bookmark and isinstance(covered, list) and start > settings.start_date:
            new = tuple(m for m in self._requested() if m not in covered)
            if new:
                self.logger.info(
                    "Page %s: metric(s) %s are new to this page's state: reading them from %s.",
                    self.page.id,
                    ", ".join(new),
                    settings.start_date,
                )
                end = start - datetime.timedelta(days=1)
                windows += [
                    Window(since, until, new)
                    for since, until in iter_windows(settings.start_date, end, settings.window_days)
                ]
        windows += [
            Window(since, until)
            for since, until in iter_windows(start, settings.end_date, settings.window_days)
        ]
        self._windows = windows
        return windows

    def _params(
        self,
        spec: RequestSpec,
        metrics: Sequence[str],
        window: Window,
        requested: dict[str, tuple[str, ...]],
    ) -> dict[str, Any]:
        params = {
            "metric": ",".join(metrics),
            "since": window.since.isoformat(),
            "until": window.until.isoformat(),
        }
        periods = {requested.get(m, ("day",)) for m in metrics}
        if len(periods) == 1 and len(single := next(iter(periods))) == 1:
            params["period"] = single[0]  # otherwise every period answers; we keep ours
        if spec.breakdown:
            params["breakdown"] = spec.breakdown
        return params

    def _key(self, spec: RequestSpec, window: Window) -> tuple:
        return (self.name, window.since, window.only, spec.kind, spec.breakdown, spec.metrics)

    def plan_items(self) -> Iterator[tuple[Any, str, dict[str, Any], str, str]]:
        """Every request of this run, in consumption order, for the prefetcher."""
        requested = self._requested()
        for window in self.planned_windows():
            for spec in self.request_specs(window):
                yield (
                    self._key(spec, window),
                    f"{self.page.id}/insights",
                    self._params(spec, spec.metrics, window, requested),
                    self.page.token,
                    self.page.id,
                )

    def _answer_bound(self) -> float:
        """The longest a prefetched answer may take: every attempt and throttle wait."""
        graph = self.graph
        attempts = graph.max_retries + 1
        return attempts * (graph.timeout_seconds + graph.max_throttle_wait_seconds) + 60.0

    def _results(
        self, spec: RequestSpec, window: Window, requested: dict[str, tuple[str, ...]]
    ) -> Isolation[tuple[list[str], list[dict[str, Any]]]]:
        """``(metrics asked, data entries)`` covering the spec's metrics for one window
        (prefetched when possible), and the metrics the API refused alone."""

        def call(subset: list[str]) -> tuple[list[str], list[dict[str, Any]]]:
            entries = self.client.get(
                f"{self.page.id}/insights",
                self._params(spec, subset, window, requested),
                parse=answer_entries,
            )
            return subset, entries

        metrics = list(spec.metrics)
        prefetcher = self.prefetcher()
        future = prefetcher.take(self._key(spec, window)) if prefetcher else None
        if future is None:
            return isolate_rejected(call, metrics)
        try:
            body = future.result(timeout=self._answer_bound())
            parsed = body.parse() if isinstance(body, RawBody) else body
            out: Isolation[tuple[list[str], list[dict[str, Any]]]] = Isolation()
            out.results.append((metrics, answer_entries(parsed)))
            return out
        except concurrent.futures.TimeoutError:
            msg = f"no answer within {self._answer_bound():.0f} s"
            raise TransientError(msg, path=f"/{self.page.id}/insights") from None
        except GraphError as error:
            if rejection_reason(error) is not None:
                return isolate_rejected(call, metrics, failed=error)
            if isinstance(error, TransientError):  # truncated or malformed: ask again
                return isolate_rejected(call, metrics)
            raise

    def _window_rows(self, window: Window) -> list[dict[str, Any]]:
        since, until = window.since, window.until
        first_end = end_time_for(since)
        last_end = end_time_for(until - datetime.timedelta(days=1))
        rows: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        expected: dict[str, tuple[str, ...]] = {}
        pending = self.request_specs(window)
        done: set[tuple[str, str, str | None]] = set()
        while pending:
            spec = pending.pop(0)
            requested = self._requested()
            metrics = tuple(m for m in spec.metrics if (m, spec.kind, spec.breakdown) not in done)
            if not metrics:
                continue
            spec = RequestSpec(spec.kind, metrics, spec.breakdown)
            isolation = self._results(spec, window, requested)
            done.update((m, spec.kind, spec.breakdown) for m in metrics)
            if spec.kind == PROBE and not isolation.rejected:
                self.rejected.accept(metrics[0])
                self.logger.info(
                    "Page %s: metric '%s', refused before, answers again; it is requested "
                    "from now on.",
                    self.page.id,
                    metrics[0],
                )
            if isolation.rejected:
                self._on_rejected(isolation.rejected)
                # Replacements of the metrics just refused, for this window too.
                pending = [s for s in self.request_specs(window) if s.kind != PROBE]
            prefix = f"{spec.breakdown}=" if spec.breakdown else None
            for subset, entries in isolation.results:
                if prefix is None:
                    expected.update({m: requested.get(m, ()) for m in subset})
                named = self._named(entries, subset, requested)
                for row in insights_rows(named, base={"page_id": self.page.id}):
                    if not first_end <= row["end_time"] <= last_end:
                        continue
                    if prefix is not None and not row["breakdown_key"].startswith(prefix):
                        continue  # the unbroken-down value comes from the plain request
                    key = _row_key(row)
                    if key in rows and rows[key] != row:
                        self._duplicates.append(f"{row['metric']}/{row['period']} {row['date']}")
                    rows[key] = row  # keys unique by construction: the last answer wins
        self._check_complete(window, expected, rows.values())
        return sorted(rows.values(), key=_sort_key)

    def _named(
        self,
        entries: list[dict[str, Any]],
        subset: Sequence[str],
        requested: dict[str, tuple[str, ...]],
    ) -> list[dict[str, Any]]:
        """The answer's entries keyed by the metric name *we* asked for (Meta's samples show an
        answer naming a metric differently), restricted to the periods asked for it or configured
        for the run. Every entry, asked or not, is compared with the catalog first (schema
        drift)."""
        asked = set(subset)
        configured = set(self.settings.periods)
        unmatched = [m for m in subset if m not in {e.get("name") for e in entries}]
        out = []
        compared = []
        for entry in entries:
            name = entry.get("name")
            if name not in asked:
                if len(subset) == 1:
                    match = [subset[0]]
                else:
                    match = difflib.get_close_matches(str(name), unmatched, n=1, cutoff=0.8)
                if not match:
                    self._unasked.add(str(name))
                    compared.append(entry)
                    continue
                entry = {**entry, "name": match[0]}  # noqa: PLW2901
                name = match[0]
            compared.append(entry)
            period = entry.get("period")
            # A period configured for the run lands even where the catalog says the metric does
            # not answer it (schema drift, reported below): values are never dropped for drift.
            if period in requested.get(str(name), ()) or period in configured:
                out.append(entry)
        check_drift(
            compared,
            catalog=self.settings.catalog,
            level="PAGE",
            page_id=self.page.id,
            report=self.report,
            logger=self.logger,
        )
        return out

    def _check_complete(
        self,
        window: Window,
        expected: dict[str, tuple[str, ...]],
        rows: Iterable[dict[str, Any]],
    ) -> None:
        """Count every requested (metric, period, day) the API answered without."""
        present = {(r["metric"], r["period"], r["date"]) for r in rows}
        day = window.since
        days = []
        while day < window.until:
            days.append(day.isoformat())
            day += datetime.timedelta(days=1)
        for metric, periods in expected.items():
            for period in periods:
                for iso in days:
                    if (metric, period, iso) not in present:
                        self._missing.setdefault((metric, period), []).append(iso)

    def _on_rejected(self, rejected: dict[str, GraphError]) -> None:
        catalog = self.settings.catalog
        for name, error in rejected.items():
            rejection = self.rejected.reject(name, error)
            replacement = catalog.live_replacement(name, "PAGE")
            warn_rejected(
                self.logger,
                page_id=self.page.id,
                level="PAGE",
                name=name,
                rejection=rejection,
                replacement=replacement,
            )
            self.invalid_this_run.append(name)

    def _check_silence(self, count: int, windows: list[Any]) -> None:
        """Warn when a page that returned rows before returns none now (read_insights lost?)."""
        before = int(self.state.get("last_nonzero_rows") or 0)
        if count:
            self.state["last_nonzero_rows"] = count
        elif before and windows:
            self.logger.warning(
                "Page %s returned no insights rows this run, but %d in an earlier run: check "
                "that the token still has read_insights and the ANALYZE task on the page "
                "(Facebook answers with empty data, not an error).",
                self.page.id,
                before,
            )

    def window_rows(self, before_window: Callable[[], None]) -> Iterator[list[dict[str, Any]]]:
        """One list of rows per window, ascending ``end_time``; ``before_window`` is called
        before every window but the first (the stream writes its checkpoint there: every row
        of the previous window is out by then).

        Each window is a unit of work with its own failure boundary: whatever goes wrong while
        fetching or parsing it (not only a Graph error) becomes a named failure (page, stream,
        metrics, dates, cause), the page's later windows are not read (its bookmark must not
        pass the gap), and the run goes on with the other pages.
        """
        self.invalid_this_run: list[str] = []
        self._missing: dict[tuple[str, str], list[str]] = {}
        self._duplicates: list[str] = []
        self._unasked: set[str] = set()
        meter = StreamMeter(self.graph.stats(self.page.id))
        warn_skipped(
            self.logger, page_id=self.page.id, level="PAGE", skipped=self.rejected.skipped()
        )
        windows = self.planned_windows()
        count = 0
        complete = True
        for index, window in enumerate(windows):
            if index:
                before_window()  # every row up to the previous window is out
            last_day = window.until - datetime.timedelta(days=1)
            try:
                rows = self._window_rows(window)
            except (AuthError, Stopped):
                raise
            except PagePermissionError as error:
                self.report.page_denied(
                    self.logger, page_id=self.page.id, what="insights", error=error
                )
                complete = False
                break
            except Exception as error:  # noqa: BLE001 - the failure boundary of one window
                self.report.window_failed(
                    self.logger,
                    page_id=self.page.id,
                    stream=self.name,
                    what="insights",
                    metrics=tuple(
                        sorted({m for spec in self.request_specs(window) for m in spec.metrics})
                    ),
                    dates=(window.since, last_day),
                    error=error,
                )
                complete = False
                break
            count += len(rows)
            yield rows
        if complete:
            self.state["metrics"] = sorted(self._requested())
        self._check_silence(count, windows)
        missing = self._warn_gaps()
        self.report.stream_done(
            self.logger,
            meter,
            page_id=self.page.id,
            stream=self.name,
            rows=count,
            invalid_metrics=sorted(set(self.invalid_this_run)),
            missing_values=missing,
            # What the SDK's "Starting incremental sync" line said (it is at DEBUG now).
            starting_replication_value=self.state.get("starting_replication_value"),
        )

    def _warn_gaps(self) -> int:
        """One WARNING per kind of gap (per page and run); the number of missing values."""
        missing = sum(len(days) for days in self._missing.values())
        if missing:
            self.logger.warning(
                "Page %s: the API answered without %d requested value(s): %s. They are asked "
                "again on the next run while within lookback_days.",
                self.page.id,
                missing,
                "; ".join(
                    f"{metric}/{period} on {_day_ranges(days)}"
                    for (metric, period), days in sorted(self._missing.items())
                ),
            )
        if self._duplicates:
            self.logger.warning(
                "Page %s: the API answered %d value(s) twice with different numbers; the last "
                "was kept: %s.",
                self.page.id,
                len(self._duplicates),
                ", ".join(sorted(set(self._duplicates))[:20]),
            )
        if self._unasked:
            self.logger.warning(
                "Page %s: the API answered metric(s) not asked for, ignored: %s.",
                self.page.id,
                ", ".join(sorted(self._unasked)),
            )
        self.report.count_missing(missing)
        return missing
