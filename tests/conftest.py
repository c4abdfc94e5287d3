"""Shared fixtures: keep every test offline and away from a developer's real settings."""

from __future__ import annotations

import datetime
import os
import warnings
from collections.abc import Iterator

import pytest

from tap_facebook_pages import windows

for _var in [v for v in os.environ if v.startswith("TAP_FACEBOOK_PAGES_")]:
    del os.environ[_var]

warnings.filterwarnings("ignore", message=".*Python 3.10.*end of life.*", category=FutureWarning)


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record sleeps instead of sleeping."""
    slept: list[float] = []
    monkeypatch.setattr("time.sleep", slept.append)
    return slept


@pytest.fixture(autouse=True, scope="session")
def one_day_per_session() -> Iterator[None]:
    """In-process runs read the clock of the session's start: a suite that crosses Pacific
    midnight does not see two "todays" (tests that need another moment patch
    ``windows.utc_now`` themselves; tap subprocesses use ``helpers.pinned_clock_env``)."""
    start = datetime.datetime.now(datetime.timezone.utc)
    real = windows.utc_now
    windows.utc_now = lambda: start
    yield
    windows.utc_now = real
