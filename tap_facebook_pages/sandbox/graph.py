"""Graph API endpoints of the sandbox: routing and response bodies.

Nothing here does HTTP or keeps state: the server resolves a :class:`Route` for a request, applies
faults, usage and logging, then calls ``route.handler(context)`` which returns the JSON body or
raises :class:`~tap_facebook_pages.sandbox.errors.GraphError`.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from tap_facebook_pages.sandbox import errors
from tap_facebook_pages.sandbox.api_model import ApiMetric, Verdict, load_model
from tap_facebook_pages.sandbox.data import (
    ALL_PAGE_IDS,
    PAGES,
    SandboxPage,
    SandboxPost,
    SandboxReel,
    breakdown_values,
    data_available,
    end_time_for,
    fleet_page,
    metric_value,
    pacific_date,
    pacific_midnight_timestamp,
    page_by_id,
    page_id_for_token,
    page_token,
    post_breakdown_values,
    post_by_id,
    post_lifetime_value,
    posts_for,
    reel_by_id,
    reels_for,
)
from tap_facebook_pages.sandbox.faults import Faults
from tap_facebook_pages.sandbox.fields import FieldSpec, parse_fields

DEFAULT_VERSION = "v25.0"
USER_ID = "100000000000900"
USER_NAME = "[SANDBOX] Test User"
APP_ID = "100000000000777"
APP_NAME = "[SANDBOX] tap-facebook-pages"
PERMISSIONS = (
    "pages_show_list",
    "pages_read_engagement",
    "read_insights",
    "pages_read_user_content",
    "public_profile",
)
BREAKDOWNS = load_model().breakdowns
MAX_SPAN_SECONDS = 93 * 86400
DEFAULT_LIMIT = 25
MAX_LIMIT = 100

BAD_CREATED_TIME = "yesterday-ish"

_PAGE_SCOPES = frozenset(PERMISSIONS) - {"public_profile"}
_PAGE_FIELDS = frozenset(
    {
        "id",
        "name",
        "category",
        "category_list",
        "fan_count",
        "followers_count",
        "verification_status",
        "link",
        "username",
        "about",
        "website",
        "is_published",
        "has_transitioned_to_new_page_experience",
        "access_token",
        "tasks",
        "insights",
    }
)
_POST_FIELDS = frozenset(
    {
        "id",
        "message",
        "created_time",
        "updated_time",
        "permalink_url",
        "status_type",
        "is_published",
        "is_hidden",
        "is_expired",
        "from",
        "shares",
        "reactions",
        "comments",
        "insights",
    }
)
_REEL_FIELDS = frozenset(
    {
        "id",
        "description",
        "title",
        "created_time",
        "updated_time",
        "permalink_url",
        "length",
        "from",
        "video_insights",
    }
)
_REACTION_TYPES = {
    "LIKE": "like",
    "LOVE": "love",
    "WOW": "wow",
    "HAHA": "haha",
    "SAD": "sorry",
    "ANGRY": "anger",
}
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_UNIX_RE = re.compile(r"\d+")

T = TypeVar("T")


@dataclass(frozen=True)
class Context:
    """Everything a handler needs about one Graph call."""

    today: datetime.date
    revision: int
    faults: Faults
    base_url: str
    version: str | None
    token: str
    token_page: str | None
    params: Mapping[str, str]
    fleet: int = 0

    def url(self, path: str, pairs: Sequence[tuple[str, str]]) -> str:
        """An absolute sandbox URL (same version prefix as the request) for paging links."""
        prefix = f"/{self.version}" if self.version else ""
        return f"{self.base_url}{prefix}{path}?{urlencode(pairs, safe=',()')}"

    def has_permission(self, name: str) -> bool:
        """False when the ``missing_permissions`` fault removed ``name``."""
        return name not in self.faults.missing_permissions


def _page(page_id: str) -> SandboxPage:
    page = page_by_id(page_id)
    if page is None:  # pragma: no cover - routes only resolve known pages
        raise KeyError(page_id)
    return page


Handler = Callable[[Context], dict[str, Any]]


INSIGHTS_KINDS = frozenset({"page_insights", "post_insights", "reel_insights"})


@dataclass(frozen=True)
class Route:
    """The handler of a request, the page whose data it touches (None for user-level calls),
    what kind of read it is (``page_node``, ``page_insights``, ``post_insights``...) and, for the
    single-metric path form ``/{id}/insights/{metric}``, that metric."""

    page_id: str | None
    handler: Handler
    kind: str = "user"
    path_metric: str | None = None

    def requested_metrics(self, params: Mapping[str, str]) -> list[str]:
        """The metric names an insights call asks for (empty for other calls)."""
        if self.kind not in INSIGHTS_KINDS:
            return []
        return [self.path_metric] if self.path_metric else _metric_names(params.get("metric"))


def resolve(
    method: str, segments: Sequence[str], token_page: str | None, today: datetime.date
) -> Route:
    """Map a request path (version prefix removed) to its :class:`Route`."""
    if method != "GET":
        raise errors.unsupported_post(segments[0] if segments else "")
    if not segments:
        raise errors.unknown_path("/")
    head, rest = segments[0], list(segments[1:])
    if head == "me":
        return _me_route(rest, token_page)
    if head == "debug_token" and not rest:
        return Route(None, _debug_token)
    page = page_by_id(head)
    if page is not None:
        return _page_route(page, rest)
    post = post_by_id(head, today) if "_" in head else None
    if post is not None:
        return _post_route(post, rest)
    reel = reel_by_id(head, today)
    if reel is not None:
        return _reel_route(reel, rest)
    raise errors.unsupported_get(head)


def _unknown_rest(rest: Sequence[str]) -> errors.GraphError:
    return errors.unknown_path("/" + "/".join(rest))


def _me_route(rest: list[str], token_page: str | None) -> Route:
    if not rest:
        return Route(token_page, _me)
    if rest == ["accounts"]:
        return Route(token_page, _accounts)
    if rest == ["permissions"]:
        return Route(token_page, _permissions)
    raise _unknown_rest(rest)


def _page_route(page: SandboxPage, rest: list[str]) -> Route:
    if not rest:
        return Route(page.id, lambda ctx: _page_node(ctx, page), "page_node")
    if rest[0] == "insights" and len(rest) <= 2:
        path_metric = rest[1] if len(rest) == 2 else None
        return Route(
            page.id,
            lambda ctx: _page_insights(ctx, page, path_metric),
            "page_insights",
            path_metric,
        )
    if rest in (["posts"], ["published_posts"], ["feed"]):
        path = "/".join(["", page.id, *rest])
        return Route(page.id, lambda ctx: _posts(ctx, page, path), "page_posts")
    if rest == ["video_reels"]:
        return Route(page.id, lambda ctx: _reels(ctx, page), "page_reels")
    raise _unknown_rest(rest)


def _post_route(post: SandboxPost, rest: list[str]) -> Route:
    if not rest:
        return Route(post.page_id, lambda ctx: _post_node(ctx, post), "post_node")
    if rest[0] == "insights" and len(rest) <= 2:
        path_metric = rest[1] if len(rest) == 2 else None
        return Route(
            post.page_id,
            lambda ctx: _post_insights(ctx, post, path_metric),
            "post_insights",
            path_metric,
        )
    raise _unknown_rest(rest)


def _reel_route(reel: SandboxReel, rest: list[str]) -> Route:
    if not rest:
        return Route(reel.page_id, lambda ctx: _reel_node(ctx, reel), "reel_node")
    if rest[0] == "video_insights" and len(rest) <= 2:
        path_metric = rest[1] if len(rest) == 2 else None
        return Route(
            reel.page_id,
            lambda ctx: _reel_insights(ctx, reel, path_metric),
            "reel_insights",
            path_metric,
        )
    if rest == ["insights"]:
        # Post-level view metrics are not available on the video node (graph-api.md §2.2).
        return Route(reel.page_id, lambda ctx: _raise(errors.invalid_metric()), "reel_node")
    raise _unknown_rest(rest)


def _raise(error: errors.GraphError) -> dict[str, Any]:
    raise error


# --------------------------------------------------------------------------- shared helpers


def _fields(ctx: Context, default: str) -> list[FieldSpec]:
    return parse_fields(ctx.params.get("fields") or default)


def _check_field_names(specs: Sequence[FieldSpec], allowed: frozenset[str], node: str) -> None:
    for spec in specs:
        if spec.name not in allowed:
            raise errors.nonexisting_field(spec.name, node)


def _with_id(values: dict[str, Any], object_id: str) -> dict[str, Any]:
    values.setdefault("id", object_id)
    return values


def _require_page_token(ctx: Context, page_id: str, object_id: str) -> None:
    if ctx.token_page is None:
        raise errors.page_token_required()
    if ctx.token_page != page_id:
        raise errors.unsupported_get(object_id)


def _require_node_access(ctx: Context, page_id: str, object_id: str) -> None:
    """User tokens and the page's own token may read a node; other pages' tokens may not."""
    if ctx.token_page is not None and ctx.token_page != page_id:
        raise errors.unsupported_get(object_id)


def _limit(ctx: Context) -> int:
    raw = ctx.params.get("limit")
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not raw.isdigit() or int(raw) < 1:
        raise errors.invalid_parameter("(#100) The parameter limit must be a positive integer")
    if int(raw) > MAX_LIMIT:
        raise errors.invalid_parameter(f"(#100) The limit parameter must not exceed {MAX_LIMIT}")
    return int(raw)


def _cursor(key: str) -> str:
    return base64.urlsafe_b64encode(f"sbx:{key}".encode()).decode().rstrip("=")


def _cursor_key(cursor: str) -> str:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        text = ""
    if not text.startswith("sbx:"):
        raise errors.invalid_parameter("(#100) The After Cursor specified is invalid")
    return text[4:]


def _paginate(
    ctx: Context, items: Sequence[T], key: Callable[[T], str], path: str
) -> tuple[list[T], dict[str, Any] | None]:
    """One cursor page of ``items``; ``paging.next`` (with the caller's token) only if more."""
    limit = _limit(ctx)
    start = 0
    after = ctx.params.get("after")
    if after:
        keys = [key(item) for item in items]
        wanted = _cursor_key(after)
        if wanted not in keys:
            raise errors.invalid_parameter("(#100) The After Cursor specified is invalid")
        start = keys.index(wanted) + 1
    chunk = list(items[start : start + limit])
    if not chunk:
        return chunk, None
    last = _cursor(key(chunk[-1]))
    paging: dict[str, Any] = {"cursors": {"before": _cursor(key(chunk[0])), "after": last}}
    if start + limit < len(items):
        skip = {"access_token", "after", "before", "appsecret_proof", "limit"}
        pairs = [(name, value) for name, value in ctx.params.items() if name not in skip]
        pairs += [("limit", str(limit)), ("access_token", ctx.token), ("after", last)]
        paging["next"] = ctx.url(path, pairs)
    return chunk, paging


def _listing(data: list[dict[str, Any]], paging: dict[str, Any] | None) -> dict[str, Any]:
    return {"data": data, "paging": paging} if paging else {"data": data}


@dataclass(frozen=True)
class _Instant:
    day: datetime.date
    timestamp: int


def _instant_of_day(day: datetime.date) -> _Instant:
    return _Instant(day, pacific_midnight_timestamp(day))


def _parse_instant(raw: str, name: str) -> _Instant:
    """``YYYY-MM-DD`` (a Pacific midnight) or unix seconds."""
    if _DATE_RE.fullmatch(raw):
        try:
            return _instant_of_day(datetime.date.fromisoformat(raw))
        except ValueError:
            pass
    elif _UNIX_RE.fullmatch(raw):
        return _Instant(pacific_date(int(raw)), int(raw))
    raise errors.invalid_parameter(
        f"(#100) The parameter {name} must be a unix timestamp or a date (YYYY-MM-DD)"
    )


@dataclass(frozen=True)
class _Window:
    since: _Instant
    until: _Instant

    @property
    def days(self) -> list[datetime.date]:
        count = (self.until.day - self.since.day).days
        return [self.since.day + datetime.timedelta(days=offset) for offset in range(count)]


def _insights_window(ctx: Context, since_raw: str | None, until_raw: str | None) -> _Window:
    """since/until as given; neither → the last 2 complete days; one → 2 days / up to today."""
    since = _parse_instant(since_raw, "since") if since_raw else None
    until = _parse_instant(until_raw, "until") if until_raw else None
    if until is None:
        until = _instant_of_day(ctx.today)
        if since is None:
            since = _instant_of_day(ctx.today - datetime.timedelta(days=2))
    if since is None:
        since = _instant_of_day(until.day - datetime.timedelta(days=2))
    if until.timestamp - since.timestamp > MAX_SPAN_SECONDS:
        raise errors.span_too_long()
    return _Window(since, until)


def _time_paging(
    ctx: Context, path: str, window: _Window, pairs: Sequence[tuple[str, str]]
) -> dict[str, str]:
    """Same-length windows before and after, as unix seconds at Pacific midnights."""
    length = datetime.timedelta(days=max((window.until.day - window.since.day).days, 1))

    def link(start: datetime.date) -> str:
        bounds = [
            ("since", str(pacific_midnight_timestamp(start))),
            ("until", str(pacific_midnight_timestamp(start + length))),
        ]
        return ctx.url(path, [("access_token", ctx.token), *pairs, *bounds])

    return {"previous": link(window.since.day - length), "next": link(window.until.day)}


def _metric_names(raw: str | None) -> list[str]:
    return [name.strip() for name in (raw or "").split(",") if name.strip()]


_LEVEL_ERRORS: dict[str, Callable[[], errors.GraphError]] = {
    "unknown_error": errors.unknown_error,
}
_PERIOD_ERRORS: dict[str, Callable[[str], errors.GraphError]] = {
    "reduce_data": lambda period: errors.reduce_data(),
    "invalid_period": errors.invalid_period,
}


def _check_metrics(ctx: Context, names: Sequence[str], level: str) -> list[ApiMetric]:
    """The answered metrics among ``names``; the whole call fails on the first bad one.

    A monetization-gated metric anywhere in the list fails the call with the #200 body (§11.1),
    whatever else is asked; otherwise the first name that is unknown, retired (also at run time
    through the ``retired_metrics`` fault) or erroring fails it. Names accepted with no data
    (``empty``) are left out of the result."""
    if not names:
        raise errors.missing_metric()
    model = load_model()
    retired = ctx.faults.retired_metrics
    verdicts = [
        (name, Verdict.INVALID if name in retired else model.verdict(level, name)) for name in names
    ]
    if any(verdict is Verdict.MONETIZATION for _, verdict in verdicts):
        raise errors.monetization_permission()
    found = []
    for name, verdict in verdicts:
        if verdict is Verdict.INVALID:
            raise errors.invalid_metric()
        if verdict is Verdict.ERROR:
            raise _LEVEL_ERRORS[str(model.level_error(level, name))]()
        metric = model.metric(level, name)
        if metric is not None:
            found.append(metric)
    return found


def _periods(raw: str | None) -> list[str] | None:
    if not raw:
        return None
    known = load_model().periods
    periods = [period for period in raw.split(",") if period]
    if any(period not in known for period in periods):
        raise errors.invalid_parameter(
            "(#100) period must be one of the following values: " + ", ".join(known)
        )
    return periods


def _answered_periods(metric: ApiMetric, asked: Sequence[str] | None) -> list[str]:
    """The periods ``metric`` answers for ``asked`` (None: every period it answers, §1.2
    Example B). An asked period it does not answer gives no entry, or fails the call when the
    model records an error for it (``page_media_view`` lifetime: code 1 subcode 99)."""
    if asked is None:
        return list(metric.periods)
    for period in asked:
        if period not in metric.periods and period in metric.period_errors:
            raise _PERIOD_ERRORS[metric.period_errors[period]](period)
    return [period for period in asked if period in metric.periods]


def _breakdown(raw: str | None) -> str | None:
    if not raw:
        return None
    if raw not in BREAKDOWNS:
        raise errors.invalid_parameter(
            "(#100) breakdown must be one of the following values: " + ", ".join(BREAKDOWNS)
        )
    return raw


def _insights_entry(
    object_id: str, edge: str, metric: ApiMetric, period: str, values: list[dict[str, Any]]
) -> dict[str, Any]:
    model = load_model()
    return {
        "name": metric.name,
        "period": period,
        "values": values,
        "title": model.title(metric, period),
        "description": model.description(metric, period),
        "id": f"{object_id}/{edge}/{metric.name}/{period}",
    }


# --------------------------------------------------------------------------- user level


def _me(ctx: Context) -> dict[str, Any]:
    if ctx.token_page is not None:
        return _render_page(ctx, _page(ctx.token_page), _fields(ctx, "name,id"))
    specs = _fields(ctx, "name,id")
    _check_field_names(specs, frozenset({"id", "name"}), "User")
    values = {"id": USER_ID, "name": USER_NAME}
    return _with_id({spec.output_key: values[spec.name] for spec in specs}, USER_ID)


def _page_tasks(ctx: Context, page: SandboxPage) -> list[str]:
    if page.id in ctx.faults.revoked_pages:
        return [task for task in page.tasks if task != "ANALYZE"]
    return list(page.tasks)


def _accounts(ctx: Context) -> dict[str, Any]:
    if ctx.token_page is not None:
        raise errors.nonexisting_field("accounts", "Page")
    specs = _fields(ctx, "access_token,category,category_list,name,id,tasks")
    _check_field_names(specs, _PAGE_FIELDS - {"insights"}, "Page")
    pages = [page for page in PAGES if page.in_accounts]
    pages += [fleet_page(i) for i in range(ctx.fleet)]
    if ctx.faults.vanished_pages:
        pages = [page for page in pages if page.id not in ctx.faults.vanished_pages]
    if not ctx.has_permission("pages_show_list"):
        pages = []
    chunk, paging = _paginate(ctx, pages, lambda page: page.id, "/me/accounts")
    return _listing([_render_page(ctx, page, specs) for page in chunk], paging)


def _permissions(ctx: Context) -> dict[str, Any]:
    if ctx.token_page is not None:
        raise errors.nonexisting_field("permissions", "Page")
    names = list(PERMISSIONS) + sorted(ctx.faults.missing_permissions - set(PERMISSIONS))
    data = [
        {"permission": name, "status": "granted" if ctx.has_permission(name) else "declined"}
        for name in names
    ]
    return {"data": data}


def _debug_token(ctx: Context) -> dict[str, Any]:
    """The token's lifetime and scopes. Lifetimes follow the wall clock (the tap compares them
    with it), not the simulated today: by default a token that never expires (``expires_at``
    0) with 90 days of data access; the ``token_expires_in_days`` and
    ``data_access_expires_in_days`` faults change them."""
    faults = ctx.faults
    failure = faults.debug_token_error
    if failure == "app_token":
        raise errors.bad_app_token()
    if failure == "unsupported":
        raise errors.unsupported_get("debug_token")
    app_id, bar, _ = ctx.token.partition("|")
    if bar and app_id != APP_ID:
        raise errors.bad_app_token()
    target = ctx.params.get("input_token")
    if not target:
        raise errors.invalid_parameter("(#100) The parameter input_token is required")
    target_page = page_id_for_token(target)
    now = int(time.time())
    expires_in = faults.token_expires_in_days
    data_access_in = faults.data_access_expires_in_days
    granted = [name for name in PERMISSIONS if ctx.has_permission(name)]
    data: dict[str, Any] = {
        "app_id": APP_ID,
        "type": "PAGE" if target_page else "USER",
        "application": APP_NAME,
        "data_access_expires_at": now + 86400 * (90 if data_access_in is None else data_access_in),
        "expires_at": 0 if expires_in is None else now + 86400 * expires_in,
        "is_valid": True,
        "issued_at": pacific_midnight_timestamp(ctx.today - datetime.timedelta(days=30)),
        "scopes": granted,
        "granular_scopes": [
            {"scope": name, "target_ids": list(ALL_PAGE_IDS)}
            if name in _PAGE_SCOPES
            else {"scope": name}
            for name in granted
        ],
        "user_id": USER_ID,
    }
    if target_page:
        data["profile_id"] = target_page
    return {"data": data}


# --------------------------------------------------------------------------- pages


def _render_page(ctx: Context, page: SandboxPage, specs: Sequence[FieldSpec]) -> dict[str, Any]:
    _check_field_names(specs, _PAGE_FIELDS, "Page")
    values = page.graph_fields()
    out: dict[str, Any] = {}
    for spec in specs:
        if spec.name == "access_token":
            own = ctx.token_page == page.id
            out[spec.output_key] = ctx.token if own else page_token(page.id, ctx.token)
        elif spec.name == "tasks":
            out[spec.output_key] = _page_tasks(ctx, page)
        elif spec.name == "insights":
            _require_page_token(ctx, page.id, page.id)
            out[spec.output_key] = _page_insights_body(
                ctx,
                page,
                metrics=_metric_names(spec.modifier("metric")),
                params={
                    name: spec.modifier(name) for name in ("period", "since", "until", "breakdown")
                },
                paging_path=f"/{page.id}/insights",
                metric_in_query=True,
            )
        elif spec.name in values and spec.name not in ctx.faults.drop_page_fields:
            out[spec.output_key] = values[spec.name]
    out.update(ctx.faults.add_page_fields)
    return _with_id(out, page.id)


def _page_node(ctx: Context, page: SandboxPage) -> dict[str, Any]:
    _require_node_access(ctx, page.id, page.id)
    return _render_page(ctx, page, _fields(ctx, "name,id"))


def _page_insights(ctx: Context, page: SandboxPage, path_metric: str | None) -> dict[str, Any]:
    _require_page_token(ctx, page.id, page.id)
    from_query = path_metric is None
    path = f"/{page.id}/insights" + ("" if from_query else f"/{path_metric}")
    return _page_insights_body(
        ctx,
        page,
        metrics=_metric_names(ctx.params.get("metric")) if from_query else [str(path_metric)],
        params={name: ctx.params.get(name) for name in ("period", "since", "until", "breakdown")},
        paging_path=path,
        metric_in_query=from_query,
    )


def _page_insights_body(
    ctx: Context,
    page: SandboxPage,
    *,
    metrics: list[str],
    params: Mapping[str, str | None],
    paging_path: str,
    metric_in_query: bool,
) -> dict[str, Any]:
    if not ctx.has_permission("read_insights"):
        return {"data": []}
    entries = _check_metrics(ctx, metrics, "PAGE")
    periods = _periods(params.get("period"))
    breakdown = _breakdown(params.get("breakdown"))
    window = _insights_window(ctx, params.get("since"), params.get("until"))
    days = [day for day in window.days if data_available(day, ctx.today)]
    answered = [(entry, _answered_periods(entry, periods)) for entry in entries]
    data = []
    for entry, entry_periods in answered:
        for period in entry_periods:
            values = _page_values(
                ctx, page_id=page.id, entry=entry, period=period, days=days, breakdown=breakdown
            )
            data.append(_insights_entry(page.id, "insights", entry, period, values))
    pairs = [("metric", ",".join(metrics))] if metric_in_query else []
    pairs += [(name, str(params[name])) for name in ("period", "breakdown") if params.get(name)]
    return {"data": data, "paging": _time_paging(ctx, paging_path, window, pairs)}


def _page_values(
    ctx: Context,
    *,
    page_id: str,
    entry: ApiMetric,
    period: str,
    days: Sequence[datetime.date],
    breakdown: str | None,
) -> list[dict[str, Any]]:
    values: list[dict[str, Any]] = []
    split_by = breakdown if breakdown in entry.breakdowns else None
    for day in days:
        end_time = end_time_for(day)
        if split_by is None:
            value = metric_value(page_id, entry.name, period, day, ctx.revision, ctx.today)
            values.append({"value": value, "end_time": end_time})
            continue
        parts = breakdown_values(
            page_id, entry.name, period, day, split_by, ctx.revision, ctx.today
        )
        values += [{"value": parts[k], "end_time": end_time, split_by: k} for k in ("0", "1")]
    return values


# --------------------------------------------------------------------------- posts and reels


def _lifetime_entries(
    ctx: Context,
    object_id: str,
    created: datetime.date,
    *,
    level: str,
    edge: str,
    metrics: list[str],
    period_raw: str | None,
    breakdown_raw: str | None,
) -> list[dict[str, Any]]:
    """Lifetime insights of a post or reel (no ``end_time``; plus the stray ``day`` row)."""
    entries = _check_metrics(ctx, metrics, level)
    periods = _periods(period_raw)
    breakdown = _breakdown(breakdown_raw)
    if not ctx.has_permission("read_insights"):
        return []
    data = []
    for entry in entries:
        if "lifetime" not in _answered_periods(entry, periods):
            continue
        key = entry.name
        values: list[dict[str, Any]]
        if breakdown in entry.breakdowns and breakdown is not None:
            parts = post_breakdown_values(object_id, key, breakdown, created, ctx.today)
            values = [{"value": parts[k], breakdown: k} for k in ("0", "1")]
        else:
            values = [{"value": post_lifetime_value(object_id, key, created, ctx.today)}]
        data.append(_insights_entry(object_id, edge, entry, "lifetime", values))
        if entry.stray_day_row:  # even when only lifetime was asked (§2.2 trap)
            stale = [{"value": 0, "end_time": end_time_for(created)}]
            data.append(_insights_entry(object_id, edge, entry, "day", stale))
    return data


def _check_post_specs(ctx: Context, specs: Sequence[FieldSpec]) -> None:
    """Validate the whole field list up front: one bad field or metric fails the call."""
    _check_field_names(specs, _POST_FIELDS, "PagePost")
    for spec in specs:
        if spec.name in ("reactions", "comments") and not ctx.has_permission(
            "pages_read_user_content"
        ):
            raise errors.missing_user_content_permission()
        if spec.name == "insights":
            _check_metrics(ctx, _metric_names(spec.modifier("metric")), "POST")
            _periods(spec.modifier("period"))
            _breakdown(spec.modifier("breakdown"))


def _wants_summary(spec: FieldSpec) -> bool:
    summary = spec.modifier("summary")
    return summary is not None and summary.lower() not in ("false", "0")


def _reactions_edge(ctx: Context, post: SandboxPost, spec: FieldSpec) -> dict[str, Any]:
    count = post.reactions
    reaction_type = (spec.modifier("type") or "").upper()
    if reaction_type and reaction_type != "NONE":
        by_type = post_lifetime_value(
            post.id, "post_reactions_by_type_total", post.created_date, ctx.today
        )
        key = _REACTION_TYPES.get(reaction_type, reaction_type.lower())
        count = by_type.get(key, 0) if isinstance(by_type, dict) else 0
    edge: dict[str, Any] = {"data": []}
    if _wants_summary(spec):
        edge["summary"] = {"total_count": count, "viewer_reaction": "NONE"}
    return edge


def _comments_edge(post: SandboxPost, spec: FieldSpec) -> dict[str, Any]:
    edge: dict[str, Any] = {"data": []}
    if _wants_summary(spec):
        edge["summary"] = {
            "order": spec.modifier("order") or "ranked",
            "total_count": post.comments,
            "can_comment": True,
        }
    return edge


def _created_time(ctx: Context, post: SandboxPost) -> str:
    """``created_time``; the ``bad_created_time`` fault turns the page's newest post's (the
    first one its listings show) into ``"yesterday-ish"``."""
    if post.page_id in ctx.faults.bad_created_time:
        newest = posts_for(post.page_id, ctx.today)
        if newest and newest[0].id == post.id:
            return BAD_CREATED_TIME
    return post.created_time


def _render_post(ctx: Context, post: SandboxPost, specs: Sequence[FieldSpec]) -> dict[str, Any]:
    page = _page(post.page_id)
    simple: dict[str, Any] = {
        "id": post.id,
        "message": post.message,
        "created_time": _created_time(ctx, post),
        "updated_time": post.updated_time,
        "permalink_url": post.permalink_url,
        "status_type": post.status_type,
        "is_published": post.is_published,
        "is_hidden": False,
        "is_expired": False,
        "from": {"name": page.name, "id": page.id},
    }
    out: dict[str, Any] = {}
    for spec in specs:
        if spec.name == "shares":
            if post.shares > 0:
                out[spec.output_key] = {"count": post.shares}
        elif spec.name == "reactions":
            out[spec.output_key] = _reactions_edge(ctx, post, spec)
        elif spec.name == "comments":
            out[spec.output_key] = _comments_edge(post, spec)
        elif spec.name == "insights":
            data = _lifetime_entries(
                ctx,
                post.id,
                post.created_date,
                level="POST",
                edge="insights",
                metrics=_metric_names(spec.modifier("metric")),
                period_raw=spec.modifier("period"),
                breakdown_raw=spec.modifier("breakdown"),
            )
            out[spec.output_key] = {"data": data}
        else:
            out[spec.output_key] = simple[spec.name]
    return _with_id(out, post.id)


def _created_filter(ctx: Context) -> Callable[[int], bool]:
    since_raw, until_raw = ctx.params.get("since"), ctx.params.get("until")
    since = _parse_instant(since_raw, "since").timestamp if since_raw else None
    until = _parse_instant(until_raw, "until").timestamp if until_raw else None
    return lambda created: (
        (since is None or created >= since) and (until is None or created < until)
    )


def _posts(ctx: Context, page: SandboxPage, path: str) -> dict[str, Any]:
    _require_page_token(ctx, page.id, page.id)
    specs = _fields(ctx, "created_time,message,id")
    _check_post_specs(ctx, specs)
    keep = _created_filter(ctx)
    posts = [post for post in posts_for(page.id, ctx.today) if keep(post.created_timestamp)]
    chunk, paging = _paginate(ctx, posts, lambda post: post.id, path)
    return _listing([_render_post(ctx, post, specs) for post in chunk], paging)


def _post_node(ctx: Context, post: SandboxPost) -> dict[str, Any]:
    _require_page_token(ctx, post.page_id, post.id)
    specs = _fields(ctx, "created_time,message,id")
    _check_post_specs(ctx, specs)
    return _render_post(ctx, post, specs)


def _post_insights(ctx: Context, post: SandboxPost, path_metric: str | None) -> dict[str, Any]:
    _require_page_token(ctx, post.page_id, post.id)
    if not ctx.has_permission("read_insights"):
        return {"data": []}
    from_query = path_metric is None
    metrics = _metric_names(ctx.params.get("metric")) if from_query else [str(path_metric)]
    data = _lifetime_entries(
        ctx,
        post.id,
        post.created_date,
        level="POST",
        edge="insights",
        metrics=metrics,
        period_raw=ctx.params.get("period"),
        breakdown_raw=ctx.params.get("breakdown"),
    )
    window = _insights_window(ctx, None, None)
    pairs = [("metric", ",".join(metrics))] if from_query else []
    pairs += [(name, ctx.params[name]) for name in ("period", "breakdown") if ctx.params.get(name)]
    path = f"/{post.id}/insights" + ("" if from_query else f"/{path_metric}")
    return {"data": data, "paging": _time_paging(ctx, path, window, pairs)}


def _reel_metrics(ctx: Context, raw: str | None) -> list[str]:
    """Requested reel metrics; none means every reel metric the API model answers."""
    names = _metric_names(raw)
    if names:
        return names
    answered = load_model().answered("REEL")
    return [m.name for m in answered if m.name not in ctx.faults.retired_metrics]


def _render_reel(ctx: Context, reel: SandboxReel, specs: Sequence[FieldSpec]) -> dict[str, Any]:
    page = _page(reel.page_id)
    simple: dict[str, Any] = {
        "id": reel.id,
        "description": reel.description,
        "created_time": reel.created_time,
        "updated_time": reel.updated_time,
        "permalink_url": reel.permalink_url,
        "length": reel.length,
        "from": {"name": page.name, "id": page.id},
    }
    if reel.title is not None:
        simple["title"] = reel.title
    out: dict[str, Any] = {}
    for spec in specs:
        if spec.name == "video_insights":
            data = _lifetime_entries(
                ctx,
                reel.id,
                reel.created_date,
                level="REEL",
                edge="video_insights",
                metrics=_reel_metrics(ctx, spec.modifier("metric")),
                period_raw=spec.modifier("period"),
                breakdown_raw=None,
            )
            out[spec.output_key] = {"data": data}
        elif spec.name in simple:
            out[spec.output_key] = simple[spec.name]
    return _with_id(out, reel.id)


def _check_reel_specs(ctx: Context, specs: Sequence[FieldSpec]) -> None:
    _check_field_names(specs, _REEL_FIELDS, "Video")
    for spec in specs:
        if spec.name == "video_insights":
            _check_metrics(ctx, _reel_metrics(ctx, spec.modifier("metric")), "REEL")
            _periods(spec.modifier("period"))


def _reels(ctx: Context, page: SandboxPage) -> dict[str, Any]:
    _require_page_token(ctx, page.id, page.id)
    specs = _fields(ctx, "description,updated_time,id")
    _check_reel_specs(ctx, specs)
    keep = _created_filter(ctx)
    reels = [reel for reel in reels_for(page.id, ctx.today) if keep(reel.created_timestamp)]
    chunk, paging = _paginate(ctx, reels, lambda reel: reel.id, f"/{page.id}/video_reels")
    return _listing([_render_reel(ctx, reel, specs) for reel in chunk], paging)


def _reel_node(ctx: Context, reel: SandboxReel) -> dict[str, Any]:
    _require_page_token(ctx, reel.page_id, reel.id)
    specs = _fields(ctx, "description,updated_time,id")
    _check_reel_specs(ctx, specs)
    return _render_reel(ctx, reel, specs)


def _reel_insights(ctx: Context, reel: SandboxReel, path_metric: str | None) -> dict[str, Any]:
    _require_page_token(ctx, reel.page_id, reel.id)
    metrics = [path_metric] if path_metric else _reel_metrics(ctx, ctx.params.get("metric"))
    data = _lifetime_entries(
        ctx,
        reel.id,
        reel.created_date,
        level="REEL",
        edge="video_insights",
        metrics=metrics,
        period_raw=ctx.params.get("period"),
        breakdown_raw=None,
    )
    return {"data": data}
