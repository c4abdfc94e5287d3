"""Pacific days, end_time and windows, including both DST changes."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from tap_facebook_pages.windows import (
    day_of_end_time,
    end_time_for,
    incremental_start,
    iter_windows,
    last_complete_day,
    normalize_end_time,
    pacific_today,
)

D = dt.date


@pytest.mark.parametrize(
    ("day", "end_time"),
    [
        (D(2026, 3, 7), "2026-03-08T08:00:00+00:00"),  # PST midnight
        (D(2026, 3, 8), "2026-03-09T07:00:00+00:00"),  # the 23-hour day: ends at PDT midnight
        (D(2026, 10, 31), "2026-11-01T07:00:00+00:00"),
        (D(2026, 11, 1), "2026-11-02T08:00:00+00:00"),  # the 25-hour day: ends at PST midnight
        (D(2026, 12, 31), "2027-01-01T08:00:00+00:00"),
    ],
)
def test_end_time_and_back(day: dt.date, end_time: str) -> None:
    assert end_time_for(day) == end_time
    assert day_of_end_time(end_time) == day
    assert day_of_end_time(end_time.replace("+00:00", "+0000")) == day


def test_normalize_api_end_time() -> None:
    assert normalize_end_time("2026-09-04T07:00:00+0000") == "2026-09-04T07:00:00+00:00"
    assert day_of_end_time("2026-09-04T07:00:00+0000") == D(2026, 9, 3)


def test_pacific_today_differs_from_utc_date() -> None:
    # 2026-11-20 05:00 UTC is still 2026-11-19 in Los Angeles.
    now = dt.datetime(2026, 11, 20, 5, 0, tzinfo=dt.timezone.utc)
    assert pacific_today(now) == D(2026, 11, 19)
    assert last_complete_day(now) == D(2026, 11, 18)


def test_windows_cover_range_without_gaps_or_overlap() -> None:
    windows = iter_windows(D(2025, 1, 1), D(2025, 12, 31), 90)
    assert windows[0] == (D(2025, 1, 1), D(2025, 4, 1))
    assert all((u - s).days <= 90 for s, u in windows)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(windows))
    assert windows[-1][1] == D(2026, 1, 1)  # until is exclusive
    assert sum((u - s).days for s, u in windows) == 365


@pytest.mark.parametrize("size", [1, 7, 30, 90, 500])
def test_window_size_is_capped(size: int) -> None:
    windows = iter_windows(D(2026, 1, 1), D(2026, 6, 30), size)
    assert max((u - s).days for s, u in windows) == min(size, 90)


def test_empty_range() -> None:
    assert iter_windows(D(2026, 2, 2), D(2026, 2, 1), 90) == []


def test_incremental_start() -> None:
    start = D(2026, 1, 1)
    assert incremental_start(bookmark=None, start_date=start, lookback_days=3) == start
    bookmark = end_time_for(D(2026, 3, 10))  # last complete day emitted: 2026-03-10
    assert incremental_start(bookmark=bookmark, start_date=start, lookback_days=3) == D(2026, 3, 8)
    assert incremental_start(bookmark=bookmark, start_date=start, lookback_days=0) == D(2026, 3, 11)
    # An explicit start_date bounds the lookback; a default one does not.
    floor = D(2026, 3, 10)
    assert (
        incremental_start(bookmark=bookmark, start_date=floor, lookback_days=3, floor=floor)
        == floor
    )


def test_the_standard_library_zone_agrees_with_pendulum_over_two_years() -> None:
    """windows.py computes Pacific days with zoneinfo (fast to import); pendulum, which it
    used before, gives the same answers on every day of two years, both DST changes included."""
    import pendulum  # noqa: PLC0415

    pacific = pendulum.timezone("America/Los_Angeles")
    for offset in range(731):
        day = D(2025, 1, 1) + dt.timedelta(days=offset)
        nxt = day + dt.timedelta(days=1)
        midnight = pendulum.datetime(nxt.year, nxt.month, nxt.day, tz=pacific)
        expected = midnight.in_timezone("UTC").strftime("%Y-%m-%dT%H:%M:%S+00:00")
        assert end_time_for(day) == expected
        assert day_of_end_time(expected.replace("+00:00", "+0000")) == day
        for hour in (0, 7, 8, 23):
            moment = dt.datetime(day.year, day.month, day.day, hour, 30, tzinfo=dt.timezone.utc)
            assert pacific_today(moment) == pendulum.instance(moment).in_timezone(pacific).date()


def test_timestamps_in_other_forms_still_parse() -> None:
    assert normalize_end_time("2026-09-04T07:00:00Z") == "2026-09-04T07:00:00+00:00"
    assert normalize_end_time("2026-09-04T09:00:00+02:00") == "2026-09-04T07:00:00+00:00"
    assert normalize_end_time("2026-09-04T07:00:00.000+0000") == "2026-09-04T07:00:00+00:00"
    assert normalize_end_time("2026-09-04T07:00:00") == "2026-09-04T07:00:00+00:00"  # naive: UTC
    assert pacific_today(dt.datetime(2026, 9, 4, 6, 59)) == D(2026, 9, 3)  # naive: UTC
