"""Shared fixtures: keep every test offline and away from a developer's real settings."""

from __future__ import annotations

import os
import warnings

import pytest

for _var in [v for v in os.environ if v.startswith("TAP_FACEBOOK_PAGES_")]:
    del os.environ[_var]

warnings.filterwarnings("ignore", message=".*Python 3.10.*end of life.*", category=FutureWarning)


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record sleeps instead of sleeping."""
    slept: list[float] = []
    monkeypatch.setattr("time.sleep", slept.append)
    return slept
