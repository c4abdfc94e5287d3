"""Retired metrics (config-time and runtime), breakdown rows, and fail-fast config errors."""

from __future__ import annotations

import datetime as dt
import json
import math
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tap_facebook_pages.metrics import load_catalog
from tap_facebook_pages.sandbox import SandboxServer
from tap_facebook_pages.sandbox import data as sbx
from tap_facebook_pages.windows import end_time_for
from tests.helpers import run_tap, sandbox_config

TODAY = dt.date(2026, 11, 20)
PAGE = sbx.ACCOUNT_PAGE_IDS[0]
DAYS = [dt.date(2026, 6, 1) + dt.timedelta(days=i) for i in range(5)]
CONFIG = {"page_ids": [PAGE], "start_date": "2026-06-01", "end_date": "2026-06-05"}


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(today=TODAY) as srv:
        yield srv


@pytest.fixture
def sandbox(server: SandboxServer) -> SandboxServer:
    server.configure(faults={}, revision=0)
    server.reset_log()
    return server


def _insight_calls(sandbox: SandboxServer) -> list[dict]:
    return [r for r in sandbox.requests if r["path"].endswith("/insights")]


def _values(rows: list[dict]) -> dict[tuple[str, str, str], object]:
    return {(r["metric"], r["date"], r["breakdown_key"]): r["value"] for r in rows}


def _expected(metric: str) -> dict[tuple[str, str, str], object]:
    out: dict[tuple[str, str, str], object] = {}
    for day in DAYS:
        value = sbx.metric_value(PAGE, metric, "day", day, today=TODAY)
        if isinstance(value, dict):
            out.update({(metric, str(day), k): v for k, v in value.items()})
            if not value:
                out[(metric, str(day), "")] = None
        else:
            out[(metric, str(day), "")] = value
    return out


def test_runtime_retired_metric_is_isolated_cheaply_and_remembered(sandbox: SandboxServer) -> None:
    defaults = load_catalog().defaults("PAGE")
    assert len(defaults) == 10
    retired = "page_views_total"
    sandbox.configure(faults={"retired_metrics": [retired]})
    out = run_tap(sandbox_config(sandbox.url, **CONFIG))
    calls = _insight_calls(sandbox)
    extra = len(calls) - 1  # one window: one call when nothing is retired
    assert extra <= math.ceil(math.log2(10)) + 2
    assert all(c["params"]["metric"] for c in calls), "never an empty metric list"
    rows = out.records[f"page_insights_{PAGE}"]
    expected: dict = {}
    for metric in defaults:
        if metric != retired:
            expected.update(_expected(metric))
    assert _values(rows) == expected  # all 9 live metrics, every day, right values
    state = out.last_state
    assert state is not None
    assert state["bookmarks"][f"page_insights_{PAGE}"]["invalid_metrics"] == [retired]

    # The next run, with that state, makes no failing call and does not ask for it again.
    sandbox.reset_log()
    again = run_tap(sandbox_config(sandbox.url, **CONFIG), state=state)
    calls = _insight_calls(sandbox)
    assert calls
    assert all(c["status"] == 200 for c in calls)
    assert all(retired not in c["params"]["metric"].split(",") for c in calls)
    lookback = {str(d) for d in DAYS[-3:]}  # the bookmark is 06-05: lookback re-reads 3 days
    assert _values(again.records[f"page_insights_{PAGE}"]) == {
        k: v for k, v in expected.items() if k[1] in lookback
    }


def test_runtime_retirement_warning_names_page_and_metric(
    sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.configure(faults={"retired_metrics": ["page_video_views"]})
    with caplog.at_level("WARNING"):
        run_tap(sandbox_config(sandbox.url, window_days=2, **CONFIG))
    warnings = [r.getMessage() for r in caplog.records if "page_video_views" in r.getMessage()]
    assert len(warnings) == 1  # once per page, not per window
    assert PAGE in warnings[0]
    assert "retired" in warnings[0]


def test_config_retired_metric_extracts_replacement_values(sandbox: SandboxServer) -> None:
    out = run_tap(sandbox_config(sandbox.url, page_metrics=["page_impressions_unique"], **CONFIG))
    assert _values(out.records[f"page_insights_{PAGE}"]) == _expected(
        "page_total_media_view_unique"
    )
    assert all(
        "page_impressions_unique" not in c["params"]["metric"] for c in _insight_calls(sandbox)
    )


def test_config_retired_metric_without_replacement_is_skipped(sandbox: SandboxServer) -> None:
    out = run_tap(
        sandbox_config(
            sandbox.url, page_metrics=["page_engaged_users", "page_post_engagements"], **CONFIG
        )
    )
    assert {r["metric"] for r in out.records[f"page_insights_{PAGE}"]} == {"page_post_engagements"}
    assert all(c["status"] == 200 for c in _insight_calls(sandbox))


def test_breakdown_rows(sandbox: SandboxServer) -> None:
    out = run_tap(
        sandbox_config(
            sandbox.url,
            page_metrics=["page_media_view", "page_post_engagements"],
            breakdowns=["is_from_ads"],
            **CONFIG,
        )
    )
    rows = out.records[f"page_insights_{PAGE}"]
    got = _values(rows)
    for day in DAYS:
        total = sbx.metric_value(PAGE, "page_media_view", "day", day, today=TODAY)
        split = sbx.breakdown_values(
            PAGE, "page_media_view", "day", day, "is_from_ads", today=TODAY
        )
        assert got[("page_media_view", str(day), "")] == total
        assert got[("page_media_view", str(day), "is_from_ads=0")] == split["0"]
        assert got[("page_media_view", str(day), "is_from_ads=1")] == split["1"]
        # A metric without breakdown support has only its plain row.
        assert [k for k in got if k[0] == "page_post_engagements" and k[1] == str(day)] == [
            ("page_post_engagements", str(day), "")
        ]
    keys = [(r["metric"], r["end_time"], r["breakdown_key"]) for r in rows]
    assert len(keys) == len(set(keys))
    assert {r["end_time"] for r in rows} == {end_time_for(d) for d in DAYS}
    breakdown_calls = [c for c in _insight_calls(sandbox) if c["params"].get("breakdown")]
    assert [c["params"]["metric"] for c in breakdown_calls] == ["page_media_view"]


def test_unknown_metric_fails_fast_with_one_line(tmp_path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"sandbox": True, "page_metrics": ["page_post_engagement"]}))
    proc = subprocess.run(
        [sys.executable, "-m", "tap_facebook_pages", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("tap-facebook-pages: error: page_metrics: unknown page metric")
    assert "page_post_engagements" in last  # the closest known name
    assert proc.stdout == ""
    assert "Sandbox mode" not in proc.stderr  # failed before any Graph call (no sandbox start)
