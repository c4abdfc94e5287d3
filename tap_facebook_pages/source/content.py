"""Posts and reels: one listing per page per run, shared by each pair of streams.

``posts`` + ``post_insights`` come from the same ``/{page-id}/posts`` calls and ``reels`` +
``reel_insights`` from the same ``/{page-id}/video_reels`` calls: the insights are a field
expansion of the listing (``insights.metric(…).period(lifetime)`` /
``video_insights.metric(…).period(lifetime)``), never one call per post. The SDK syncs the two
streams of a pair one after the other (in name order, the insights stream first), so the run owns
one :class:`ContentFetcher` per run: the first stream of a pair to sync makes the calls, window by
window, and the fetcher keeps only what the other selected stream still needs (in the usual
order, the small object rows, never the insight rows); the second stream replays that, and
fetches by itself whatever the first did not get to.

Listing range of a page: from the earliest start among the selected streams of the pair
(``start_date`` without a bookmark, else ``min(bookmark day, end_date - posts_lookback_days)``)
to ``end_date``, in since/until windows of at most ``window_days`` (≤ 90) Pacific days, 100
objects per page of results, ``paging.next`` followed by the Graph client.

Lifetime insights have no ``end_time``: a row's ``date`` is the Pacific day of the extraction
(:func:`observation_day`), so a rerun on the same day upserts the same rows and daily runs build
a series of lifetime totals.
"""

from __future__ import annotations

import datetime
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from tap_facebook_pages.graph.errors import (
    AuthError,
    GraphError,
    MalformedAnswerError,
    PagePermissionError,
    clean_text,
    rejection_reason,
)
from tap_facebook_pages.source.bisect import isolate_rejected
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
    iter_windows,
    pacific_date,
    pacific_midnight,
    pacific_today,
    parse_timestamp,
)

if TYPE_CHECKING:
    import logging

    from tap_facebook_pages.config import MetricPlan, Settings
    from tap_facebook_pages.graph.client import GraphClient
    from tap_facebook_pages.report import RunReport
    from tap_facebook_pages.source.discovery import Page

PAGE_SIZE = 100
USER_CONTENT_PERMISSION = "pages_read_user_content"


def observation_day() -> datetime.date:
    """The Pacific day lifetime totals are observed on (the ``date`` of insights rows).

    A module-level function so tests can simulate "the next day".
    """
    return pacific_today()


# -- rows -------------------------------------------------------------------------------------


def graph_time(raw: Any) -> str | None:
    """An API timestamp (``2026-06-01T16:24:04+0000``) as RFC 3339 UTC, or None."""
    if not raw:
        return None
    text = str(raw)
    try:
        moment = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        try:
            parsed = parse_timestamp(text)
        except (ValueError, TypeError, OverflowError):
            return None  # unreadable: the caller names the object and skips it
        if not isinstance(parsed, datetime.datetime):
            return None
        moment = parsed
    if moment.tzinfo is None:
        return None
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def pacific_day(timestamp: str) -> datetime.date:
    """The Pacific calendar day of an RFC 3339 timestamp."""
    return pacific_date(datetime.datetime.fromisoformat(timestamp))


def pacific_midnight_unix(day: datetime.date) -> int:
    """Unix seconds of 00:00 America/Los_Angeles at the start of ``day`` (for since/until)."""
    return int(pacific_midnight(day).timestamp())


def _summary_count(edge: Any) -> int | None:
    if not isinstance(edge, dict):
        return None
    summary = edge.get("summary")
    count = summary.get("total_count") if isinstance(summary, dict) else None
    return count if type(count) is int else None


def _metadata(node: dict[str, Any], insights_field: str) -> dict[str, Any]:
    """The node without its insights (plain or expanded with a breakdown: ``insights_*``)."""
    return {
        k: v
        for k, v in node.items()
        if k != insights_field and not k.startswith(insights_field + "_")
    }


def _json(value: dict[str, Any]) -> str:
    """``metadata`` as one JSON string (``metadata_json``): schema flattening, which expands or
    drops a free-form object, keeps a string column whole."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _text(value: Any) -> str | None:
    """A string field as the API sent it; anything else is null (the raw node keeps it in
    ``metadata``)."""
    return value if isinstance(value, str) else None


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _count(value: Any) -> int | None:
    return value if type(value) is int else None


def post_row(node: dict[str, Any], page_id: str) -> dict[str, Any]:
    """A ``posts`` row from one node of the ``/{page-id}/posts`` listing; every field of its
    schema's type (a field of another type is null here and kept as sent in ``metadata``)."""
    shares = node.get("shares")
    share_count = _count(shares.get("count")) if isinstance(shares, dict) else None
    return {
        "id": str(node.get("id")),
        "page_id": page_id,
        "message": _text(node.get("message")),
        "created_time": graph_time(node.get("created_time")),
        "updated_time": graph_time(node.get("updated_time")),
        "permalink_url": _text(node.get("permalink_url")),
        "status_type": _text(node.get("status_type")),
        "is_published": _flag(node.get("is_published")),
        "shares_count": share_count if share_count is not None else 0,
        "reactions_count": _summary_count(node.get("reactions")),
        "comments_count": _summary_count(node.get("comments")),
        "metadata": (metadata := _metadata(node, "insights")),
        "metadata_json": _json(metadata),
    }


def reel_row(node: dict[str, Any], page_id: str) -> dict[str, Any]:
    """A ``reels`` row from one node of the ``/{page-id}/video_reels`` listing."""
    length = node.get("length")
    return {
        "id": str(node.get("id")),
        "page_id": page_id,
        "description": _text(node.get("description")),
        "title": _text(node.get("title")),
        "created_time": graph_time(node.get("created_time")),
        "updated_time": graph_time(node.get("updated_time")),
        "permalink_url": _text(node.get("permalink_url")),
        "length": length
        if isinstance(length, (int, float)) and not isinstance(length, bool)
        else None,
        "metadata": (metadata := _metadata(node, "video_insights")),
        "metadata_json": _json(metadata),
    }


# -- the two kinds of content -----------------------------------------------------------------


@dataclass(frozen=True)
class ContentKind:
    """One listing edge and the pair of streams it feeds."""

    name: str
    edge: str
    level: str
    base_fields: tuple[str, ...]
    user_content_fields: tuple[str, ...]
    insights_field: str
    object_stream: str
    insights_stream: str
    id_field: str
    created_field: str
    make_row: Callable[[dict[str, Any], str], dict[str, Any]]

    def plan(self, settings: Settings) -> MetricPlan:
        """The configured metrics of this level."""
        return settings.post_metrics if self.level == "POST" else settings.reel_metrics


POSTS = ContentKind(
    name="posts",
    edge="posts",
    level="POST",
    base_fields=(
        "id",
        "message",
        "created_time",
        "updated_time",
        "permalink_url",
        "status_type",
        "is_published",
        "shares",
    ),
    user_content_fields=(
        "reactions.summary(total_count).limit(0)",
        "comments.summary(total_count).limit(0)",
    ),
    insights_field="insights",
    object_stream="posts",
    insights_stream="post_insights",
    id_field="post_id",
    created_field="post_created_time",
    make_row=post_row,
)

REELS = ContentKind(
    name="reels",
    edge="video_reels",
    level="REEL",
    base_fields=(
        "id",
        "description",
        "title",
        "created_time",
        "updated_time",
        "permalink_url",
        "length",
    ),
    user_content_fields=(),
    insights_field="video_insights",
    object_stream="reels",
    insights_stream="reel_insights",
    id_field="video_id",
    created_field="video_created_time",
    make_row=reel_row,
)


def content_start(
    bookmark: str | None, settings: Settings, *, floor: datetime.date | None
) -> datetime.date:
    """First Pacific day to list for one stream of a pair.

    ``start_date`` without a bookmark; else ``min(bookmark day, end_date - posts_lookback_days)``
    so every object created within the lookback is re-read (its lifetime insights grow) and any
    newer one is read. ``floor`` (an explicitly configured ``start_date``) bounds it from below.
    """
    if not bookmark:
        return settings.start_date
    lookback = datetime.timedelta(days=max(0, settings.posts_lookback_days))
    first = min(pacific_day(bookmark), settings.end_date - lookback)
    return max(floor, first) if floor else first


# -- the fetcher --------------------------------------------------------------------------------


@dataclass
class WindowResult:
    """One since/until window of a listing: object rows and insight rows, ascending."""

    since: datetime.date
    until: datetime.date
    objects: list[dict[str, Any]] | None = None
    insights: list[dict[str, Any]] | None = None


class ContentRuntime(Protocol):
    """What the fetcher needs of the run (the runtime provides it)."""

    @property
    def settings(self) -> Settings:
        """Resolved settings."""

    @property
    def graph(self) -> GraphClient:
        """The run's Graph client."""

    @property
    def report(self) -> RunReport:
        """The run report."""


class Consumer(Protocol):
    """What a stream of a pair tells the fetcher about itself."""

    @property
    def name(self) -> str:
        """The stream's name."""

    @property
    def logger(self) -> logging.Logger:
        """Where the listing logs warnings for this stream."""

    def listing_start(self, page: Page) -> datetime.date:
        """The first day this stream needs for ``page``."""


@dataclass
class PageListing:
    """The listing of one kind of content of one page in this run."""

    fetcher: ContentFetcher
    kind: ContentKind
    page: Page
    pending: set[str]
    want_objects: bool
    want_insights: bool
    windows: list[tuple[datetime.date, datetime.date]]
    results: dict[int, WindowResult] = field(default_factory=dict)
    halted: bool = False
    metrics: list[str] = field(default_factory=list)
    invalid_found: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- consumption ----------------------------------------------------------------------

    def consume(self, stream: str, logger: logging.Logger) -> Iterator[WindowResult]:
        """Every window for ``stream``: replayed when already fetched, fetched otherwise."""
        try:
            for index, (since, until) in enumerate(self.windows):
                result = self._window(index, since, until, stream, logger)
                if result is None:
                    return
                yield result
        finally:
            with self.lock:
                self.pending.discard(stream)
                if not self.pending:
                    self.results.clear()

    def _window(
        self,
        index: int,
        since: datetime.date,
        until: datetime.date,
        stream: str,
        logger: logging.Logger,
    ) -> WindowResult | None:
        with self.lock:
            cached = self.results.pop(index, None)  # kept for this stream only: free it now
            if cached is not None:
                return cached
            if self.halted:
                return None
            result = self._fetch(since, until, logger)
            if result is None:
                self.halted = True
                return None
            others = self.pending - {stream}
            keep = WindowResult(
                since,
                until,
                objects=result.objects if self.kind.object_stream in others else None,
                insights=result.insights if self.kind.insights_stream in others else None,
            )
            if keep.objects is not None or keep.insights is not None:
                self.results[index] = keep
            return result

    # -- fetching ---------------------------------------------------------------------------

    def _fields(self, metrics: list[str], *, probe: bool = False) -> str:
        kind = self.kind
        fields = ["id"] if probe else list(kind.base_fields)
        if not probe and self.fetcher.user_content_allowed:
            fields += kind.user_content_fields
        if metrics:
            fields.append(f"{kind.insights_field}.metric({','.join(metrics)}).period(lifetime)")
            if not probe:  # a probe looks for rejected metrics: the plain field has them all
                for breakdown, subset in self._breakdown_metrics(metrics):
                    fields.append(
                        f"{kind.insights_field}.metric({','.join(subset)}).period(lifetime)"
                        f".breakdown({breakdown}).as({self._alias(breakdown)})"
                    )
        return ",".join(fields)

    def _breakdown_metrics(self, metrics: list[str]) -> list[tuple[str, list[str]]]:
        """``(breakdown, metrics that support it)`` for each configured breakdown."""
        catalog = self.fetcher.runtime.settings.catalog
        out = []
        for breakdown in self.fetcher.runtime.settings.breakdowns:
            subset = [
                m
                for m in metrics
                if (meta := catalog.get(m, self.kind.level))
                and breakdown in meta.supports_breakdowns
            ]
            if subset:
                out.append((breakdown, subset))
        return out

    def _alias(self, breakdown: str) -> str:
        """The response key of the insights field expanded with ``breakdown``."""
        return f"{self.kind.insights_field}_{breakdown}"

    def _params(
        self, since: datetime.date, until: datetime.date, fields: str, limit: int
    ) -> dict[str, Any]:
        return {
            "fields": fields,
            "limit": limit,
            "since": pacific_midnight_unix(since),
            "until": pacific_midnight_unix(until),
        }

    def _list(
        self, since: datetime.date, until: datetime.date, metrics: list[str]
    ) -> list[dict[str, Any]]:
        nodes: list[dict[str, Any]] = []
        params = self._params(since, until, self._fields(metrics), PAGE_SIZE)
        graph = self.fetcher.runtime.graph
        path = f"{self.page.id}/{self.kind.edge}"
        for body in graph.for_page(self.page.token, self.page.id).iterate(path, params):
            data = body.get("data", [])
            if not isinstance(data, list):
                msg = f"'data' of the {self.kind.edge} listing is not a list"
                raise MalformedAnswerError(msg, path=f"/{path}")
            nodes.extend(n for n in data if isinstance(n, dict) and n.get("id"))
        return nodes

    def _probe(self, since: datetime.date, until: datetime.date, metrics: list[str]) -> None:
        """One small listing call (``limit=1``): raises ``InvalidMetricError`` for a bad set."""
        params = self._params(since, until, self._fields(metrics, probe=True), 1)
        path = f"{self.page.id}/{self.kind.edge}"
        graph = self.fetcher.runtime.graph
        graph.for_page(self.page.token, self.page.id).get(path, params)

    def _fetch(
        self, since: datetime.date, until: datetime.date, logger: logging.Logger
    ) -> WindowResult | None:
        """One window's rows, or None when the page failed (recorded in the run report)."""
        try:
            nodes = self._nodes(since, until, logger)
            return self._rows(since, until, nodes, logger)
        except (AuthError, Stopped):
            raise
        except PagePermissionError as error:
            self.fetcher.runtime.report.page_denied(
                logger, page_id=self.page.id, what=self.kind.name, error=error
            )
            return None
        except Exception as error:  # noqa: BLE001 - the failure boundary of one window
            self.fetcher.runtime.report.window_failed(
                logger,
                page_id=self.page.id,
                stream="+".join(sorted(self.pending)),
                what=f"{self.kind.name} created",
                metrics=tuple(self.metrics) if self.want_insights else (),
                dates=(since, until - datetime.timedelta(days=1)),
                error=error,
            )
            return None

    def _nodes(
        self, since: datetime.date, until: datetime.date, logger: logging.Logger
    ) -> list[dict[str, Any]]:
        """The window's nodes; a metric the API refuses is isolated (``bisect.py``: probes of
        one result each, never convicting on one answer) and the listing asked again without
        it. A refusal no probe reproduces (a one-off) is retried, at most twice."""
        last: GraphError | None = None
        for _ in range(3):
            metrics = self.metrics if self.want_insights else []
            try:
                nodes = self._list(since, until, metrics)
            except GraphError as error:
                last = error
                if metrics and rejection_reason(error) is not None:

                    def probe(subset: list[str]) -> None:
                        self._probe(since, until, subset)

                    found = isolate_rejected(probe, metrics, failed=error, fetch_untested=False)
                    if found.rejected:
                        self._on_rejected(found.rejected, logger)
                    continue
                if (
                    isinstance(error, PagePermissionError)
                    and USER_CONTENT_PERMISSION in error.message
                    and self.fetcher.user_content_allowed
                    and self.kind.user_content_fields
                ):
                    self.fetcher.user_content_allowed = False
                    logger.warning(
                        "Page %s: reading reactions and comments needs the %s permission (%s); "
                        "reactions_count and comments_count are null in this run.",
                        self.page.id,
                        USER_CONTENT_PERMISSION,
                        error.describe(),
                    )
                    continue
                raise
            rejected = self.fetcher.rejected(self.kind, self.page)
            for name in metrics:
                if name in rejected:
                    rejected.accept(name)
                    logger.info(
                        "Page %s: %s metric '%s', refused before, answers again.",
                        self.page.id,
                        self.kind.level.lower(),
                        name,
                    )
            return nodes
        assert last is not None
        raise last

    def _on_rejected(self, rejected: dict[str, GraphError], logger: logging.Logger) -> None:
        catalog = self.fetcher.runtime.settings.catalog
        memory = self.fetcher.rejected(self.kind, self.page)
        for name, error in rejected.items():
            rejection = memory.reject(name, error)
            warn_rejected(
                logger,
                page_id=self.page.id,
                level=self.kind.level,
                name=name,
                rejection=rejection,
                replacement=catalog.live_replacement(name, self.kind.level),
            )
        self.invalid_found.extend(rejected)
        self.metrics = self.fetcher.requested_metrics(self.kind, self.page)

    def _rows(
        self,
        since: datetime.date,
        until: datetime.date,
        nodes: list[dict[str, Any]],
        logger: logging.Logger,
    ) -> WindowResult:
        kind = self.kind
        observed = self.fetcher.observed.isoformat()
        objects: list[dict[str, Any]] = []
        insights: list[dict[str, Any]] = []
        seen: set[str] = set()
        low, high = pacific_midnight_unix(since), pacific_midnight_unix(until)
        # The plain insights field, then one expansion per breakdown (is_from_ads=0/1 rows next
        # to the plain row; a breakdown answer's own unsplit values are skipped).
        sources: list[tuple[str, str | None]] = [(kind.insights_field, None)]
        if self.want_insights:
            sources += [(self._alias(b), f"{b}=") for b, _ in self._breakdown_metrics(self.metrics)]
        for node in nodes:
            row = kind.make_row(node, self.page.id)
            created = row["created_time"]
            if row["id"] in seen:
                continue
            if not created:
                logger.warning(
                    "Page %s: %s %s has an unreadable created_time %r; skipped.",
                    self.page.id,
                    kind.name.rstrip("s"),
                    row["id"],
                    clean_text(str(node.get("created_time")), 60),
                )
                continue
            if not low <= datetime.datetime.fromisoformat(created).timestamp() < high:
                continue  # another window's object: each object belongs to exactly one window
            seen.add(row["id"])
            objects.append(row)
            if not self.want_insights:
                continue
            base = {
                kind.id_field: row["id"],
                "page_id": self.page.id,
                kind.created_field: row["created_time"],
            }
            for field_name, prefix in sources:
                edge = node.get(field_name)
                data = answer_entries(edge) if edge is not None else []
                check_drift(
                    data,
                    catalog=self.fetcher.runtime.settings.catalog,
                    level=kind.level,
                    page_id=self.page.id,
                    report=self.fetcher.runtime.report,
                    logger=logger,
                    # The stray day row next to a lifetime value is a known habit of the API
                    # for some metrics (dropped below), not drift.
                    known_periods=("day",),
                )
                lifetime = [e for e in data if e.get("period") == "lifetime"]
                for insight in insights_rows(lifetime, base=base, lifetime_day=observed):
                    if prefix is None or insight["breakdown_key"].startswith(prefix):
                        insights.append(insight)
        objects.sort(key=lambda r: (r["created_time"], r["id"]))
        insights.sort(
            key=lambda r: (r[kind.created_field], r[kind.id_field], r["metric"], r["breakdown_key"])
        )
        return WindowResult(
            since,
            until,
            objects=objects if self.want_objects else None,
            insights=insights if self.want_insights else None,
        )


class ContentFetcher:
    """Per-run, per-page listings of posts and reels, shared by the streams of each pair."""

    def __init__(self, runtime: ContentRuntime, streams: Callable[[str], Any]) -> None:
        self.runtime = runtime
        self._streams = streams
        self.observed = observation_day()
        self.user_content_allowed = True
        self._listings: dict[tuple[str, str], PageListing] = {}
        self._rejected: dict[tuple[str, str], RejectedMetrics] = {}
        self._lock = threading.RLock()

    # -- streams of a pair ------------------------------------------------------------------

    def _stream(self, name: str) -> Any:
        return self._streams(name)

    def needs(self, stream_name: str, page: Page) -> bool:
        """True when ``stream_name`` is selected and syncs ``page``."""
        stream = self._stream(stream_name)
        if stream is None or not stream.selected:
            return False
        return any(p.get("page_id") == page.id for p in stream.partitions or ())

    def _insights_state(self, kind: ContentKind, page: Page) -> dict[str, Any]:
        stream = self._stream(kind.insights_stream)
        return stream.get_context_state({"page_id": page.id}) if stream is not None else {}

    def rejected(self, kind: ContentKind, page: Page) -> RejectedMetrics:
        """Metrics the API refused for this page (kept in the insights stream's partition)."""
        key = (kind.name, page.id)
        with self._lock:
            memory = self._rejected.get(key)
            if memory is None:
                memory = RejectedMetrics(self._insights_state(kind, page), pacific_today())
                self._rejected[key] = memory
            return memory

    def requested_metrics(self, kind: ContentKind, page: Page) -> list[str]:
        """The metrics to expand (``rejections.requested_metrics``)."""
        settings = self.runtime.settings
        memory = self.rejected(kind, page)
        requests = kind.plan(settings).requests
        return list(requested_metrics(requests, memory, settings.catalog, kind.level))

    # -- listings ---------------------------------------------------------------------------

    def listing(self, kind: ContentKind, page: Page, consumer: Consumer) -> PageListing:
        """The listing of ``kind`` for ``page``, created by the first stream that asks."""
        key = (kind.name, page.id)
        with self._lock:
            listing = self._listings.get(key)
            if listing is None:
                listing = self._create(kind, page, consumer)
                self._listings[key] = listing
            return listing

    def _create(self, kind: ContentKind, page: Page, consumer: Consumer) -> PageListing:
        consumers = {
            name for name in (kind.object_stream, kind.insights_stream) if self.needs(name, page)
        }
        consumers.add(consumer.name)
        starts = [consumer.listing_start(page)]
        for name in consumers - {consumer.name}:
            other = self._stream(name)
            starts.append(other.listing_start(page))
        settings = self.runtime.settings
        want_insights = kind.insights_stream in consumers
        return PageListing(
            fetcher=self,
            kind=kind,
            page=page,
            pending=consumers,
            want_objects=kind.object_stream in consumers,
            want_insights=want_insights,
            windows=iter_windows(min(starts), settings.end_date, settings.window_days),
            metrics=self._metrics_announced(kind, page, consumer) if want_insights else [],
        )

    def _metrics_announced(self, kind: ContentKind, page: Page, consumer: Consumer) -> list[str]:
        warn_skipped(
            consumer.logger,
            page_id=page.id,
            level=kind.level,
            skipped=self.rejected(kind, page).skipped(),
        )
        return self.requested_metrics(kind, page)
