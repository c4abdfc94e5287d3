"""Deterministic fake data for the offline Graph API sandbox (pure functions, no I/O).

Every number is derived from SHA-256 of its coordinates (object id, metric, day, ...), so a value
is the same in every process, on every machine and in every test run. Python's ``hash()`` is never
used because it is salted per process.

Time model (see ``graph-api.md`` §1.3): a "day" is a Pacific (America/Los_Angeles) calendar day.
A daily value's ``end_time`` is the next Pacific midnight written in UTC, so ``T07:00:00+0000``
during daylight saving time and ``T08:00:00+0000`` otherwise. Data exists for the days in
``[today - 730 days, today - 1]``; "today" is the simulated current Pacific date.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
from dataclasses import dataclass, field

import pendulum

from tap_facebook_pages.sandbox.api_model import load_model

PACIFIC = pendulum.timezone("America/Los_Angeles")
RETENTION_DAYS = 730
LATE_DATA_DAYS = 5
POST_SATURATION_DAYS = 28
FAKE_LABEL = "[SANDBOX fake data]"

_ANCHOR = datetime.date(2000, 1, 1)
_POST_SLOT_DAYS = 2
_POST_ID_OFFSET = 1_000_000
_REEL_SLOT_DAYS = 7
_REEL_ID_PREFIX = "77"
_ALL_TASKS = ("MANAGE", "CREATE_CONTENT", "MODERATE", "MESSAGING", "ADVERTISE", "ANALYZE")


@dataclass(frozen=True)
class SandboxPage:
    """One fake Facebook Page. ``None`` fields are absent, as the real API omits empty fields."""

    id: str
    name: str
    category: str
    category_list: tuple[dict[str, str], ...] = field(hash=False)
    fan_count: int
    followers_count: int
    verification_status: str
    link: str
    username: str | None
    about: str | None
    website: str | None
    is_published: bool
    tasks: tuple[str, ...]
    in_accounts: bool

    def graph_fields(self) -> dict[str, object]:
        """The page's token-independent Graph fields; absent (``None``) fields are left out."""
        values: dict[str, object] = {
            "id": self.id,
            "name": self.name,
            "category": self.category,
            "category_list": [dict(entry) for entry in self.category_list],
            "fan_count": self.fan_count,
            "followers_count": self.followers_count,
            "verification_status": self.verification_status,
            "link": self.link,
            "username": self.username,
            "about": self.about,
            "website": self.website,
            "is_published": self.is_published,
            "has_transitioned_to_new_page_experience": True,
        }
        return {key: value for key, value in values.items() if value is not None}


PAGES: tuple[SandboxPage, ...] = (
    SandboxPage(
        id="100000000000001",
        name=f"{FAKE_LABEL} Paired Socks Co.",
        category="Clothing store",
        category_list=({"id": "186230924744328", "name": "Clothing Store"},),
        fan_count=4210,
        followers_count=4388,
        verification_status="not_verified",
        link="https://www.facebook.com/100000000000001",
        username="sandboxpairedsocks",
        about="Fake page served by the tap-facebook-pages sandbox. Not a real business.",
        website="https://example.com/paired-socks",
        is_published=True,
        tasks=_ALL_TASKS,
        in_accounts=True,
    ),
    SandboxPage(
        id="100000000000002",
        name=f"{FAKE_LABEL} Harbor Lane Bakery",
        category="Bakery",
        category_list=({"id": "197871390225897", "name": "Bakery"},),
        fan_count=1875,
        followers_count=1990,
        verification_status="blue_verified",
        link="https://www.facebook.com/100000000000002",
        username="sandboxharborlane",
        about="Fake page served by the tap-facebook-pages sandbox. Not a real bakery.",
        website="https://example.com/harbor-lane",
        is_published=True,
        tasks=("ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MODERATE"),
        in_accounts=True,
    ),
    SandboxPage(
        id="100000000000003",
        name=f"{FAKE_LABEL} Quiet Trail Outfitters",
        category="Sporting goods store",
        category_list=(
            {"id": "183222871705567", "name": "Sporting Goods Store"},
            {"id": "2500", "name": "Local Business"},
        ),
        fan_count=312,
        followers_count=340,
        verification_status="not_verified",
        link="https://www.facebook.com/100000000000003",
        username=None,
        about="Fake page served by the tap-facebook-pages sandbox (no username or website).",
        website=None,
        is_published=True,
        tasks=("ANALYZE",),
        in_accounts=True,
    ),
    SandboxPage(
        id="100000000000004",
        name=f"{FAKE_LABEL} Northwind Business-Linked Page",
        category="Business service",
        category_list=({"id": "2234", "name": "Business Service"},),
        fan_count=2650,
        followers_count=2702,
        verification_status="gray_verified",
        link="https://www.facebook.com/100000000000004",
        username="sandboxnorthwind",
        about="Fake business-linked page: absent from /me/accounts, readable by id.",
        website="https://example.com/northwind",
        is_published=True,
        tasks=_ALL_TASKS,
        in_accounts=False,
    ),
)

PAGES_BY_ID: dict[str, SandboxPage] = {page.id: page for page in PAGES}
ACCOUNT_PAGE_IDS: tuple[str, ...] = tuple(page.id for page in PAGES if page.in_accounts)
ALL_PAGE_IDS: tuple[str, ...] = tuple(page.id for page in PAGES)

FLEET_PREFIX = "3"
MAX_FLEET = 100_000


def fleet_page_id(index: int) -> str:
    """The id of generated fleet page ``index`` (15 digits, like the fixed pages)."""
    return f"{FLEET_PREFIX}{index:014d}"


def fleet_page(index: int) -> SandboxPage:
    """Generated page ``index`` of a benchmark fleet: in /me/accounts, with ANALYZE, no reels."""
    page_id = fleet_page_id(index)
    return SandboxPage(
        id=page_id,
        name=f"[SANDBOX fake data] Fleet Page {index:05d}",
        category="Local business",
        category_list=({"id": "2500", "name": "Local Business"},),
        fan_count=100 + index,
        followers_count=120 + index,
        verification_status="not_verified",
        link=f"https://www.facebook.com/{page_id}",
        username=None,
        about=None,
        website=None,
        is_published=True,
        tasks=("ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"),
        in_accounts=True,
    )


def page_by_id(page_id: str) -> SandboxPage | None:
    """A fixed page, a fleet page, or None."""
    page = PAGES_BY_ID.get(page_id)
    if page is not None:
        return page
    if len(page_id) == 15 and page_id.startswith(FLEET_PREFIX) and page_id.isdigit():
        index = int(page_id[1:])
        if index < MAX_FLEET:
            return fleet_page(index)
    return None


_PAGE_SCALE = {
    "100000000000001": 1.0,
    "100000000000002": 0.45,
    "100000000000003": 0.08,
    "100000000000004": 0.7,
}

# Typical daily maximum of each page metric for a page of scale 1.0.
_DAILY_SCALE = {
    "page_post_engagements": 900,
    "page_daily_follows_unique": 40,
    "page_daily_unfollows_unique": 12,
    "page_total_media_view_unique": 2600,
    "page_total_actions": 25,
    "page_media_view": 4800,
    "page_views_total": 650,
    "page_video_views": 1500,
    "page_actions_post_reactions_total": 420,
}

_WINDOW_DAYS = {"day": 1, "week": 7, "days_28": 28, "month": 30}

# Share of the total that a key of an object value gets (the keys themselves come from the API
# model); a key not listed here gets an equal share. A key named "total" is not split: it is the
# sum of the other keys (``{"paid": a, "unpaid": b, "total": a + b}``).
_KEY_WEIGHTS = {
    "like": 0.72,
    "love": 0.14,
    "wow": 0.05,
    "haha": 0.05,
    "sorry": 0.025,
    "anger": 0.015,
    "other clicks": 0.45,
    "link clicks": 0.3,
    "photo view": 0.2,
    "video play": 0.05,
    "COMMENT": 0.6,
    "SHARE": 0.4,
    "REACTION_LIKE": 0.8,
    "REACTION_LOVE": 0.2,
    "paid": 0.25,
    "unpaid": 0.75,
}
_TOTAL_KEY = "total"

# Final (saturated) lifetime magnitude of post / reel metrics for a page of scale 1.0.
_LIFETIME_SCALE = {
    "post_media_view": 4000,
    "post_clicks": 300,
    "post_reactions_by_type_total": 400,
    "_comments": 60,
    "_shares": 50,
    "blue_reels_play_count": 5000,
    "post_video_social_actions": 120,
    "post_video_likes_by_reaction_type": 300,
}

# Metrics derived from another metric times a per-object ratio range.
_DERIVED = {
    "page_total_media_view_unique": ("page_media_view", 0.35, 0.7),
    "post_total_media_view_unique": ("post_media_view", 0.4, 0.75),
    "post_clicks_by_type": ("post_clicks", 1.0, 1.0),
}

_BREAKDOWN_SHARE = {"is_from_ads": (0.03, 0.35), "is_from_followers": (0.2, 0.6)}

_STATUS_TYPES = (
    "added_photos",
    "mobile_status_update",
    "shared_story",
    "added_video",
    "published_story",
)
_OPENERS = ("New this week:", "Behind the scenes:", "Reminder:", "Just in:", "Thank you!")
_TOPICS = (
    "our autumn collection is live",
    "weekend opening hours changed",
    "meet the team that packs your orders",
    "a quick poll about next month's special",
    "photos from the community meetup",
    "free shipping on orders this Friday",
)


def _unit(*parts: object) -> float:
    """A deterministic number in ``[0, 1)`` for the given coordinates."""
    digest = hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _page_scale(object_id: str) -> float:
    return _scale_of_page(object_id.split("_", 1)[0])


@functools.lru_cache(maxsize=65_536)
def _scale_of_page(page_id: str) -> float:
    return _PAGE_SCALE.get(page_id, 0.3 + 0.7 * _unit("scale", page_id))


@functools.lru_cache(maxsize=4096)
def _metric_scale(metric: str) -> float:
    return _DAILY_SCALE.get(metric, 50 + 950 * _unit("metric-scale", metric))


def DEFAULT_TODAY() -> datetime.date:
    """The current Pacific calendar date (the default simulated "today")."""
    now = pendulum.now(PACIFIC)
    return datetime.date(now.year, now.month, now.day)


def pacific_midnight(day: datetime.date) -> pendulum.DateTime:
    """00:00 America/Los_Angeles at the start of ``day``."""
    return pendulum.datetime(day.year, day.month, day.day, tz=PACIFIC)


def pacific_midnight_timestamp(day: datetime.date) -> int:
    """Unix seconds of 00:00 America/Los_Angeles at the start of ``day``."""
    return int(pacific_midnight(day).timestamp())


def pacific_date(timestamp: float) -> datetime.date:
    """The Pacific calendar date containing the instant ``timestamp`` (unix seconds)."""
    moment = pendulum.from_timestamp(timestamp, tz=PACIFIC)
    return datetime.date(moment.year, moment.month, moment.day)


def _graph_time(moment: pendulum.DateTime) -> str:
    return moment.in_tz("UTC").strftime("%Y-%m-%dT%H:%M:%S+0000")


@functools.lru_cache(maxsize=4096)
def end_time_for(day: datetime.date) -> str:
    """``end_time`` of the value for Pacific ``day``: the next Pacific midnight, in UTC."""
    return _graph_time(pacific_midnight(day + datetime.timedelta(days=1)))


def data_available(day: datetime.date, today: datetime.date) -> bool:
    """True when the sandbox holds data for ``day``: ``today - 730 days <= day <= today - 1``."""
    return today - datetime.timedelta(days=RETENTION_DAYS) <= day < today


def page_token(page_id: str, user_token: str) -> str:
    """The deterministic page access token that ``user_token`` gets for ``page_id``."""
    return "SBXPAGE" + page_id + hashlib.sha256(user_token.encode()).hexdigest()[:12]


def page_id_for_token(token: str) -> str | None:
    """The page a page token belongs to, or None when ``token`` is not a sandbox page token."""
    if not token.startswith("SBXPAGE") or len(token) != 7 + 15 + 12:
        return None
    page_id, digest = token[7:22], token[22:]
    if page_by_id(page_id) is None or any(c not in "0123456789abcdef" for c in digest):
        return None
    return page_id


def _late_delta(object_id: str, metric: str, day: datetime.date, revision: int) -> int:
    """Extra amount added to a recent day's value under ``revision`` (strictly increasing)."""
    return revision * (1 + int(_unit("late", object_id, metric, day) * 5))


def _is_late(day: datetime.date, today: datetime.date) -> bool:
    return today - datetime.timedelta(days=LATE_DATA_DAYS) <= day < today


def _split(
    total: int, object_id: str, metric: str, keys: tuple[str, ...], *salt: object
) -> dict[str, int]:
    """Split ``total`` across the keys of an object value.

    Usually only non-zero keys are kept (at least one if ``total > 0``), as the API leaves zero
    keys out. With a ``"total"`` key every key is kept and ``"total"`` is the sum of the others.
    """
    with_total = _TOTAL_KEY in keys
    shares = [key for key in keys if key != _TOTAL_KEY]
    parts: dict[str, int] = {}
    for key in shares:
        weight = _KEY_WEIGHTS.get(key, 1 / len(shares))
        amount = int(total * weight * (0.5 + _unit("split", object_id, metric, key, *salt)))
        if amount > 0 or with_total:
            parts[key] = amount
    if total > 0 and not any(parts.values()):
        parts[shares[0]] = total
    if with_total:
        return _with_total(parts, keys)
    return parts


def _with_total(parts: dict[str, int], keys: tuple[str, ...]) -> dict[str, int]:
    """``parts`` in model key order, with ``"total"`` recomputed as the sum of the others."""
    total = sum(amount for key, amount in parts.items() if key != _TOTAL_KEY)
    return {key: total if key == _TOTAL_KEY else parts.get(key, 0) for key in keys}


@functools.lru_cache(maxsize=1_000_000)
def _daily_number(object_id: str, metric: str, day: datetime.date) -> int:
    """Revision-independent daily count of a number metric."""
    if metric in _DERIVED:
        source, low, high = _DERIVED[metric]
        ratio = low + (high - low) * _unit("ratio", object_id, metric)
        return int(_daily_number(object_id, source, day) * ratio)
    scale = _metric_scale(metric)
    weekday = 0.8 if day.weekday() >= 5 else 1.0
    noise = _unit("daily", object_id, metric, day)
    return int(scale * _page_scale(object_id) * weekday * (0.1 + 0.9 * noise * noise))


def _running_total(object_id: str, metric: str, day: datetime.date) -> int:
    """A non-decreasing total: a per-page base plus slow daily growth."""
    base = 1000 + int(3500 * _unit("total-base", object_id, metric))
    rate = 0.2 + 1.0 * _unit("total-rate", object_id, metric)
    return base + int((day - _ANCHOR).days * rate * _page_scale(object_id))


def _daily_value(
    object_id: str, metric: str, day: datetime.date, revision: int, today: datetime.date
) -> int | dict[str, int]:
    late = revision if _is_late(day, today) else 0
    keys = _object_keys(metric)
    if keys is not None:
        total = _daily_number(object_id, metric, day)
        parts = _split(total, object_id, metric, keys, day)
        if late:
            parts = {k: v + _late_delta(object_id, metric + k, day, late) for k, v in parts.items()}
            if _TOTAL_KEY in keys:
                parts = _with_total(parts, keys)
        return parts
    value = _daily_number(object_id, metric, day)
    return value + _late_delta(object_id, metric, day, late) if late else value


@functools.lru_cache(maxsize=1024)
def _object_keys(metric: str) -> tuple[str, ...] | None:
    """Keys of an object-valued metric (from the API model), or None for number metrics."""
    return load_model().value_keys(metric)


def metric_value(  # noqa: PLR0917 - positional signature is part of the sandbox contract
    object_id: str,
    metric: str,
    period: str,
    day: datetime.date | None,
    revision: int = 0,
    today: datetime.date | None = None,
) -> int | dict[str, int]:
    """The value of a page metric for the Pacific ``day`` (the one ending at ``end_time_for(day)``).

    ``period`` is ``day``, ``week`` (the 7 days ending with ``day``), ``days_28`` or ``month``
    (30 days); ``week``/``days_28`` values are sums of daily values, and running totals such as
    ``page_follows`` are the total at the end of ``day``. Object-valued metrics return a dict of
    non-zero ints. ``day=None`` means yesterday. Days in the ``LATE_DATA_DAYS`` before ``today``
    get a different value for each ``revision`` (late data changing); older days do not depend
    on ``revision``.
    """
    today = today or DEFAULT_TODAY()
    day = day or today - datetime.timedelta(days=1)
    if period not in _WINDOW_DAYS:
        raise ValueError(f"period {period!r} has no daily value; use post_lifetime_value")
    value = _metric_value(object_id, metric, period, day, revision, today)
    return dict(value) if isinstance(value, dict) else value  # callers may change their copy


@functools.lru_cache(maxsize=500_000)
def _metric_value(  # noqa: PLR0917 - mirrors metric_value
    object_id: str,
    metric: str,
    period: str,
    day: datetime.date,
    revision: int,
    today: datetime.date,
) -> int | dict[str, int]:
    """``metric_value`` with every argument given; cached (a ``days_28`` value sums 28 days,
    and a fleet benchmark asks for the same values run after run)."""
    if load_model().is_sampled_total(metric):
        # The late-data shift of a total does not depend on the day, so it stays non-decreasing.
        total = _running_total(object_id, metric, day)
        late = revision if _is_late(day, today) else 0
        return total + _late_delta(object_id, metric, today, late) if late else total
    days = [day - datetime.timedelta(days=offset) for offset in range(_WINDOW_DAYS[period])]
    values = [_daily_value(object_id, metric, d, revision, today) for d in days]
    if all(isinstance(v, int) for v in values):
        return sum(v for v in values if isinstance(v, int))
    summed: dict[str, int] = {}
    for value in values:
        if isinstance(value, dict):
            for key, amount in value.items():
                summed[key] = summed.get(key, 0) + amount
    return summed


def _breakdown_split(
    total: int, object_id: str, metric: str, breakdown: str, *salt: object
) -> dict[str, int]:
    if breakdown not in _BREAKDOWN_SHARE:
        raise ValueError(f"unknown breakdown {breakdown!r}")
    low, high = _BREAKDOWN_SHARE[breakdown]
    share = low + (high - low) * _unit("breakdown", object_id, metric, breakdown, *salt)
    second = int(total * share)
    return {"0": total - second, "1": second}


def breakdown_values(  # noqa: PLR0917 - positional signature is part of the sandbox contract
    object_id: str,
    metric: str,
    period: str,
    day: datetime.date | None,
    breakdown: str,
    revision: int = 0,
    today: datetime.date | None = None,
) -> dict[str, int]:
    """``{"0": a, "1": b}`` for ``breakdown`` (``is_from_ads``/``is_from_followers``).

    ``a + b`` equals ``metric_value(...)`` for the same arguments; ``"1"`` is the paid (or
    follower) part. Only number metrics can be broken down.
    """
    total = metric_value(object_id, metric, period, day, revision, today)
    if not isinstance(total, int):
        raise ValueError(f"{metric} is object-valued and has no breakdown")
    return _breakdown_split(total, object_id, metric, breakdown, period, day)


# --------------------------------------------------------------------------- posts and reels


@dataclass(frozen=True)
class SandboxPost:
    """One fake page post, with its engagement counts as of the ``today`` it was built for."""

    id: str
    page_id: str
    created_time: str
    updated_time: str
    created_timestamp: int
    created_date: datetime.date
    message: str
    status_type: str
    permalink_url: str
    is_published: bool
    shares: int
    reactions: int
    comments: int


@dataclass(frozen=True)
class SandboxReel:
    """One fake reel (a video object on the page)."""

    id: str
    page_id: str
    created_time: str
    updated_time: str
    created_timestamp: int
    created_date: datetime.date
    description: str
    title: str | None
    permalink_url: str
    length: float


def _growth(created: datetime.date, today: datetime.date) -> float:
    """Fraction of its final lifetime value a post has reached by ``today`` (1.0 after ~28 days)."""
    age = max((today - created).days, 0)
    return min(1.0, (age + 1) / POST_SATURATION_DAYS) ** 0.7


def _final_lifetime(object_id: str, metric: str) -> int:
    """Saturated lifetime value of a number metric of a post or reel."""
    if metric in _DERIVED:
        source, low, high = _DERIVED[metric]
        ratio = low + (high - low) * _unit("ratio", object_id, metric)
        return int(_final_lifetime(object_id, source) * ratio)
    if metric == "_shares" and _unit("no-shares", object_id) < 0.25:
        return 0
    scale = _LIFETIME_SCALE.get(metric, 50 + 950 * _unit("metric-scale", metric))
    return 10 + int(scale * _page_scale(object_id) * _unit("lifetime", object_id, metric))


def _average_watch_ms(video_id: str) -> int:
    return 3000 + int(22000 * _unit("avg-watch", video_id))


def post_lifetime_value(
    post_id: str, metric: str, created: datetime.date, today: datetime.date
) -> int | dict[str, int]:
    """Lifetime value of a post (or reel) metric as reported on ``today``.

    Values grow with the days since ``created`` (a later run sees larger totals, never smaller)
    and saturate after about ``POST_SATURATION_DAYS`` days. Averages
    (``post_video_avg_time_watched``, in ms) do not grow. Object metrics return a dict of
    non-zero ints.
    """
    if metric == "post_video_avg_time_watched":
        return _average_watch_ms(post_id)
    if metric == "post_video_view_time":
        plays = int(_final_lifetime(post_id, "blue_reels_play_count") * _growth(created, today))
        return plays * _average_watch_ms(post_id)
    total = int(_final_lifetime(post_id, metric) * _growth(created, today))
    keys = _object_keys(metric)
    if keys is None:
        return total
    return _split(total, post_id, metric, keys)


def post_breakdown_values(
    post_id: str, metric: str, breakdown: str, created: datetime.date, today: datetime.date
) -> dict[str, int]:
    """``{"0": a, "1": b}`` splitting ``post_lifetime_value(...)`` by ``breakdown``."""
    total = post_lifetime_value(post_id, metric, created, today)
    if not isinstance(total, int):
        raise ValueError(f"{metric} is object-valued and has no breakdown")
    return _breakdown_split(total, post_id, metric, breakdown)


def _slot_moment(owner: str, kind: str, slot: int, slot_days: int) -> pendulum.DateTime:
    start = pacific_midnight(_ANCHOR + datetime.timedelta(days=slot * slot_days))
    return start.add(seconds=int(_unit(kind, "moment", owner, slot) * slot_days * 86400))


def _slot_range(today: datetime.date, slot_days: int) -> range:
    first = (today - datetime.timedelta(days=RETENTION_DAYS + slot_days) - _ANCHOR).days
    last = (today - _ANCHOR).days
    return range(max(first // slot_days, 0), last // slot_days + 1)


def _build_post(page_id: str, slot: int, today: datetime.date) -> SandboxPost | None:
    if _unit("post", "exists", page_id, slot) >= 0.9:
        return None
    created = _slot_moment(page_id, "post", slot, _POST_SLOT_DAYS)
    created_date = datetime.date(created.year, created.month, created.day)
    if not data_available(created_date, today):
        return None
    number = _POST_ID_OFFSET + slot
    post_id = f"{page_id}_{number}"
    edited = created.add(seconds=int(_unit("post", "edit", page_id, slot) * 6 * 3600))
    updated = min(edited, pacific_midnight(today).subtract(seconds=1))
    opener = _OPENERS[int(_unit("post", "opener", page_id, slot) * len(_OPENERS))]
    topic = _TOPICS[int(_unit("post", "topic", page_id, slot) * len(_TOPICS))]
    reactions = post_lifetime_value(post_id, "post_reactions_by_type_total", created_date, today)
    shares = post_lifetime_value(post_id, "_shares", created_date, today)
    comments = post_lifetime_value(post_id, "_comments", created_date, today)
    return SandboxPost(
        id=post_id,
        page_id=page_id,
        created_time=_graph_time(created),
        updated_time=_graph_time(updated),
        created_timestamp=int(created.timestamp()),
        created_date=created_date,
        message=f"{FAKE_LABEL} {opener} {topic}",
        status_type=_STATUS_TYPES[int(_unit("post", "status", page_id, slot) * 5)],
        permalink_url=f"https://www.facebook.com/{page_id}/posts/{number}",
        is_published=True,
        shares=shares if isinstance(shares, int) else 0,
        reactions=sum(reactions.values()) if isinstance(reactions, dict) else reactions,
        comments=comments if isinstance(comments, int) else 0,
    )


@functools.lru_cache(maxsize=64)
def _posts(page_id: str, today: datetime.date) -> tuple[SandboxPost, ...]:
    posts = (_build_post(page_id, slot, today) for slot in _slot_range(today, _POST_SLOT_DAYS))
    found = [post for post in posts if post is not None]
    return tuple(sorted(found, key=lambda post: post.created_timestamp, reverse=True))


def posts_for(page_id: str, today: datetime.date) -> list[SandboxPost]:
    """The page's posts created in ``[today - 730 days, today - 1]``, newest first.

    About one post every 2 days; ids are ``"{page_id}_{n}"`` and stay the same whatever
    ``today`` is (only engagement counts change). Unknown pages have no posts.
    """
    if page_by_id(page_id) is None:
        return []
    return list(_posts(page_id, today))


def post_by_id(post_id: str, today: datetime.date) -> SandboxPost | None:
    """The post with id ``post_id`` as of ``today``, or None when it does not exist."""
    page_id, _, number = post_id.partition("_")
    if page_by_id(page_id) is None or not number.isdigit():
        return None
    slot = int(number) - _POST_ID_OFFSET
    if slot not in _slot_range(today, _POST_SLOT_DAYS):
        return None
    return _build_post(page_id, slot, today)


def _reel_id(page_id: str, slot: int) -> str:
    return f"{_REEL_ID_PREFIX}{ALL_PAGE_IDS.index(page_id) + 1}{slot:09d}"


def _build_reel(page_id: str, slot: int, today: datetime.date) -> SandboxReel | None:
    if _unit("reel", "exists", page_id, slot) >= 0.7:
        return None
    created = _slot_moment(page_id, "reel", slot, _REEL_SLOT_DAYS)
    created_date = datetime.date(created.year, created.month, created.day)
    if not data_available(created_date, today):
        return None
    reel_id = _reel_id(page_id, slot)
    updated = min(created.add(minutes=5), pacific_midnight(today).subtract(seconds=1))
    topic = _TOPICS[int(_unit("reel", "topic", page_id, slot) * len(_TOPICS))]
    has_title = _unit("reel", "title", page_id, slot) < 0.6
    return SandboxReel(
        id=reel_id,
        page_id=page_id,
        created_time=_graph_time(created),
        updated_time=_graph_time(updated),
        created_timestamp=int(created.timestamp()),
        created_date=created_date,
        description=f"{FAKE_LABEL} Reel: {topic}",
        title=f"Reel #{slot}" if has_title else None,
        permalink_url=f"https://www.facebook.com/reel/{reel_id}",
        length=round(5 + 85 * _unit("reel", "length", page_id, slot), 2),
    )


@functools.lru_cache(maxsize=64)
def _reels(page_id: str, today: datetime.date) -> tuple[SandboxReel, ...]:
    reels = (_build_reel(page_id, slot, today) for slot in _slot_range(today, _REEL_SLOT_DAYS))
    found = [reel for reel in reels if reel is not None]
    return tuple(sorted(found, key=lambda reel: reel.created_timestamp, reverse=True))


def reels_for(page_id: str, today: datetime.date) -> list[SandboxReel]:
    """The page's reels created in ``[today - 730 days, today - 1]`` (about one a week), newest
    first."""
    if page_id not in PAGES_BY_ID:
        return []
    return list(_reels(page_id, today))


def reel_by_id(reel_id: str, today: datetime.date) -> SandboxReel | None:
    """The reel with id ``reel_id`` as of ``today``, or None when it does not exist."""
    prefix_len = len(_REEL_ID_PREFIX)
    if not reel_id.startswith(_REEL_ID_PREFIX) or not reel_id.isdigit() or len(reel_id) < 12:
        return None
    index = int(reel_id[prefix_len]) - 1
    if not 0 <= index < len(ALL_PAGE_IDS):
        return None
    slot = int(reel_id[prefix_len + 1 :])
    page_id = ALL_PAGE_IDS[index]
    if slot not in _slot_range(today, _REEL_SLOT_DAYS) or _reel_id(page_id, slot) != reel_id:
        return None
    return _build_reel(page_id, slot, today)
