"""Pacific days, ``end_time`` conversion and since/until windows.

The Graph API reports a day's value with ``end_time`` = midnight America/Los_Angeles at the end
of that day, written in UTC (07:00Z in PDT, 08:00Z in PST), and reads ``since``/``until`` date
strings as Pacific midnights with ``until`` exclusive. Everything date-like in the tap goes
through these helpers so DST is handled in exactly one place.
"""

from __future__ import annotations

import datetime
import functools
from typing import Any
from zoneinfo import ZoneInfo

# The standard library's zone (the system's tz database, or the ``tzdata`` package): building
# it takes a fraction of a millisecond, where importing pendulum and looking its zone up took
# about 70 ms of every start. pendulum stays the parser of timestamps in unusual forms.
PACIFIC = ZoneInfo("America/Los_Angeles")
UTC = datetime.timezone.utc
MAX_WINDOW_DAYS = 90
_GRAPH_TIME = "%Y-%m-%dT%H:%M:%S%z"  # 2026-09-04T07:00:00+0000 (also +00:00 and Z)


def _aware(moment: datetime.datetime) -> datetime.datetime:
    """``moment`` with a time zone: a naive one is read as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def pacific_date(moment: datetime.datetime) -> datetime.date:
    """The calendar day in America/Los_Angeles at ``moment`` (naive: UTC)."""
    return _aware(moment).astimezone(PACIFIC).date()


def pacific_midnight(day: datetime.date) -> datetime.datetime:
    """00:00 America/Los_Angeles at the start of ``day`` (it always exists: DST changes at
    02:00)."""
    return datetime.datetime(day.year, day.month, day.day, tzinfo=PACIFIC)


def utc_now() -> datetime.datetime:
    """The tap's one clock: every "today" (the default ``end_date``, the day lifetime totals
    are observed on, the rejected-metric memory) is read from it."""
    return datetime.datetime.now(UTC)


def pacific_today(now: datetime.datetime | None = None) -> datetime.date:
    """Today's date in America/Los_Angeles."""
    return pacific_date(now if now is not None else utc_now())


def last_complete_day(now: datetime.datetime | None = None) -> datetime.date:
    """The last Pacific day whose daily values are complete (yesterday, Pacific time)."""
    return pacific_today(now) - datetime.timedelta(days=1)


@functools.lru_cache(maxsize=4096)
def end_time_for(day: datetime.date) -> str:
    """The RFC 3339 UTC ``end_time`` of the value describing Pacific ``day``."""
    midnight = pacific_midnight(day + datetime.timedelta(days=1))
    return midnight.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def parse_timestamp(raw: str) -> Any:
    """An ISO 8601 timestamp as an aware datetime (naive: UTC); other forms as pendulum reads
    them (a date, a duration, …). Raises ValueError when unreadable."""
    try:
        return datetime.datetime.strptime(raw, _GRAPH_TIME)
    except ValueError:
        pass
    import pendulum  # noqa: PLC0415 - rare forms only; importing it costs ~30 ms of start-up

    return pendulum.parse(raw)


@functools.lru_cache(maxsize=4096)
def _parse_end_time(raw: str) -> tuple[str, datetime.date]:
    moment = parse_timestamp(raw)
    if not isinstance(moment, datetime.datetime):  # pragma: no cover - API always sends a time
        msg = f"not a timestamp: {raw!r}"
        raise ValueError(msg)
    utc = _aware(moment).astimezone(UTC)
    # Calendar arithmetic on the Pacific date: subtracting 24 hours would be wrong on the
    # 23- and 25-hour days of the DST changes.
    day = pacific_date(utc) - datetime.timedelta(days=1)
    return utc.strftime("%Y-%m-%dT%H:%M:%S+00:00"), day


@functools.lru_cache(maxsize=4096)
def end_time_and_day(raw: str) -> tuple[str, str]:
    """``(normalize_end_time(raw), day_of_end_time(raw).isoformat())``, cached."""
    normalized, day = _parse_end_time(raw)
    return normalized, day.isoformat()


def normalize_end_time(raw: str) -> str:
    """An API ``end_time`` (``2026-09-04T07:00:00+0000``) as RFC 3339 UTC."""
    return _parse_end_time(raw)[0]


def day_of_end_time(raw: str) -> datetime.date:
    """The Pacific day an ``end_time`` describes: end_time in Los Angeles, minus one day."""
    return _parse_end_time(raw)[1]


def iter_windows(
    start: datetime.date, end: datetime.date, window_days: int
) -> list[tuple[datetime.date, datetime.date]]:
    """Consecutive ``(since, until)`` windows covering ``start..end`` inclusive.

    ``until`` is exclusive, as the API reads it, and no window is longer than ``window_days``
    (itself capped at 90, the documented limit; the server enforces 93).
    """
    if end < start:
        return []
    size = max(1, min(int(window_days), MAX_WINDOW_DAYS))
    windows = []
    since = start
    stop = end + datetime.timedelta(days=1)
    while since < stop:
        until = min(since + datetime.timedelta(days=size), stop)
        windows.append((since, until))
        since = until
    return windows


def incremental_start(
    *,
    bookmark: str | None,
    start_date: datetime.date,
    lookback_days: int,
    floor: datetime.date | None = None,
) -> datetime.date:
    """The first day to read: ``start_date`` on a first run, else the bookmark minus lookback.

    The bookmark is the ``end_time`` of the last complete day emitted (day D), so the next new
    day is D+1 and a lookback of N re-reads exactly the N days D-N+1..D. ``floor`` (an
    explicitly configured ``start_date``) bounds the result from below; a default start date
    does not, so a tap that did not run for months still fills the gap from its bookmark.
    """
    if not bookmark:
        return start_date
    next_day = day_of_end_time(bookmark) + datetime.timedelta(days=1)
    first = next_day - datetime.timedelta(days=max(0, lookback_days))
    return max(floor, first) if floor else first
