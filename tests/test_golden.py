"""Golden run: a multi-page sandbox run with every stream selected, a breakdown and one retired
metric, compared line by line (RECORD and STATE, minus ``time_extracted``) with a committed
snapshot; and a resume from a committed state file of this version. Refactors must not change
either. After an intended change of output, regenerate with ``GOLDEN_UPDATE=1 pytest
tests/test_golden.py`` and review the diff of ``tests/golden/``."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tap_facebook_pages.sandbox import SandboxServer
from tests.helpers import run_tap, sandbox_config, select_catalog

TODAY = dt.date(2026, 11, 20)
GOLDEN = Path(__file__).parent / "golden"
CONFIG = {
    "start_date": "2026-10-20",
    "end_date": "2026-10-31",
    "window_days": 5,
    "breakdowns": ["is_from_ads"],
    "periods": ["day", "week"],
    "page_metrics": [
        "page_media_view",
        "page_actions_post_reactions_total",
        "page_follows",
        "page_post_engagements",
        "page_views_total",
    ],
}
RETIRED = "page_views_total"
UPDATE = os.environ.get("GOLDEN_UPDATE") == "1"


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    for target in (
        "tap_facebook_pages.source.content.observation_day",
        "tap_facebook_pages.source.content.pacific_today",
        "tap_facebook_pages.source.page_insights.pacific_today",
    ):
        monkeypatch.setattr(target, lambda: TODAY)
    with SandboxServer(today=TODAY) as srv:
        srv.configure(faults={"retired_metrics": [RETIRED]})
        yield srv


def _lines(messages: list[dict]) -> list[str]:
    out = []
    for message in messages:
        if message["type"] not in ("RECORD", "STATE"):
            continue
        message = {k: v for k, v in message.items() if k != "time_extracted"}  # noqa: PLW2901
        out.append(json.dumps(message, sort_keys=True))
    return out


def _check(name: str, lines: list[str]) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(expected)
    for index, (got, want) in enumerate(zip(lines, expected, strict=True)):
        assert got == want, f"{name} line {index + 1} differs"


def test_golden_run(sandbox: SandboxServer) -> None:
    config = sandbox_config(sandbox.url, **CONFIG)
    out = run_tap(config, catalog=select_catalog(config, lambda name: True))
    lines = _lines(out.messages)
    streams = {json.loads(line).get("stream") for line in lines}
    assert {"pages", "posts", "post_insights", "reels", "reel_insights"} <= streams
    assert any(RETIRED in line and "invalid_metrics" in line for line in lines)
    _check("run.jsonl", lines)


def test_resume_from_a_state_of_this_version(sandbox: SandboxServer) -> None:
    """STATE compatibility: a state file written by this version resumes to the same output."""
    config = sandbox_config(sandbox.url, **{**CONFIG, "end_date": "2026-11-03"})
    state_path = GOLDEN / "state.json"
    if UPDATE:
        first = run_tap(
            sandbox_config(sandbox.url, **CONFIG),
            catalog=select_catalog(config, lambda name: True),
        )
        state_path.write_text(json.dumps(first.last_state, indent=1, sort_keys=True) + "\n")
    state = json.loads(state_path.read_text(encoding="utf-8"))
    out = run_tap(config, state=state, catalog=select_catalog(config, lambda name: True))
    _check("resume.jsonl", _lines(out.messages))


def test_the_sdk_path_writes_the_same_lines(sandbox: SandboxServer) -> None:
    """``fast_path: false`` (or an SDK version the fast path was not written for) takes the
    SDK's own record path: the same RECORD and STATE lines as the golden run."""
    config = sandbox_config(sandbox.url, fast_path=False, **CONFIG)
    out = run_tap(config, catalog=select_catalog(config, lambda name: True))
    _check("run.jsonl", _lines(out.messages))


def test_an_unknown_sdk_version_falls_back_to_the_sdk_path(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("tap_facebook_pages.sdk_fastpath.SUPPORTED", False)
    monkeypatch.setattr("tap_facebook_pages.sdk_fastpath.SDK_VERSION", "0.99.0")
    config = sandbox_config(sandbox.url, **CONFIG)
    with caplog.at_level("INFO"):
        out = run_tap(config, catalog=select_catalog(config, lambda name: True))
    assert any("is not the 0.54.x series" in r.getMessage() for r in caplog.records)
    _check("run.jsonl", _lines(out.messages))
