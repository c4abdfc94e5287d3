"""The tap held against answers shaped like the live v25 API's (shared/graph-api.md §11) and
against hostile answers (issue 12), through the sandbox's own model of the API and the CLI."""

from __future__ import annotations

import datetime as dt
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tap_facebook_pages.config import plan_metrics
from tap_facebook_pages.metrics import load_catalog
from tap_facebook_pages.sandbox import SandboxServer
from tap_facebook_pages.sandbox import data as sbx
from tests.helpers import insights_only, parse_messages, run_tap, sandbox_config, select_catalog

TODAY = dt.date(2026, 11, 20)
P1, P2, P3 = "100000000000001", "100000000000002", "100000000000003"
DAYS = [dt.date(2026, 6, 1) + dt.timedelta(days=i) for i in range(5)]
RANGE = {"start_date": "2026-06-01", "end_date": "2026-06-05"}
MONETIZATION = "creator_monetization_qualified_views"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(today=TODAY) as srv:
        yield srv


def _cli(config: dict, tmp_path: Path, state: dict | None = None) -> subprocess.CompletedProcess:
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(config))
    args = [sys.executable, "-m", "tap_facebook_pages", "--config", str(cfg)]
    if state is not None:
        (tmp_path / "state.json").write_text(json.dumps(state))
        args += ["--state", str(tmp_path / "state.json")]
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


def _values(rows: list[dict], metric: str | None = None) -> dict[tuple[str, str, str], object]:
    return {
        (r["metric"], r["date"], r["breakdown_key"]): r["value"]
        for r in rows
        if metric is None or r["metric"] == metric
    }


def _expected(page: str, metric: str, period: str = "day") -> dict[tuple[str, str, str], object]:
    out: dict[tuple[str, str, str], object] = {}
    for day in DAYS:
        value = sbx.metric_value(page, metric, period, day, today=TODAY)
        if isinstance(value, dict):
            out.update({(metric, str(day), k): v for k, v in value.items()})
        else:
            out[(metric, str(day), "")] = value
    return out


def test_a_monetization_metric_answering_200_costs_only_itself(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    """Issue 11 #1: one of ten requested metrics answers (#200) monetization; the other nine
    arrive with their values, the page is not skipped, the run exits 0, and state remembers the
    metric with its reason and date (asked again in 7 days)."""
    metrics = [*load_catalog().defaults("PAGE")[:9], MONETIZATION]
    config = sandbox_config(sandbox.url, page_ids=[P1], page_metrics=metrics, **RANGE)
    proc = _cli(config, tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = parse_messages(proc.stdout)
    rows = out.records[f"page_insights_{P1}"]
    expected: dict = {}
    for metric in metrics[:9]:
        expected.update(_expected(P1, metric))
    assert _values(rows) == expected
    warnings = [line for line in proc.stderr.splitlines() if MONETIZATION in line]
    assert any("Monetization metrics are only visible" in w and P1 in w for w in warnings)
    state = out.last_state["bookmarks"][f"page_insights_{P1}"]
    rejected = state["rejected_metrics"][MONETIZATION]
    assert rejected["reason"] == "permission"
    assert rejected["checked"]
    assert (
        P1 not in json.loads(proc.stderr.split("run summary ")[1].splitlines()[0])["skipped_pages"]
    )

    # Next run: no failing call, the skip is warned once, the metric is not asked.
    sandbox.reset_log()
    again = _cli(config, tmp_path, state=out.last_state)
    assert again.returncode == 0
    calls = [r for r in sandbox.requests if r["path"].endswith("/insights")]
    assert calls
    assert all(r["status"] == 200 for r in calls)
    assert all(MONETIZATION not in r["params"]["metric"] for r in calls)
    skips = [
        line
        for line in again.stderr.splitlines()
        if f"skipping page metric '{MONETIZATION}'" in line
    ]
    assert len(skips) == 1


def test_a_page_level_permission_answer_skips_the_page_and_exits_0(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    """Issue 11 #2: the §11.2 page-level #100 body skips that page with a WARNING; exit 0."""
    sandbox.configure(faults={"page_permission_pages": [P2]})
    proc = _cli(sandbox_config(sandbox.url, page_ids=[P1, P2], **RANGE), tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    out = parse_messages(proc.stdout)
    assert out.records[f"page_insights_{P1}"]
    assert not out.records.get(f"page_insights_{P2}")
    assert any(P2 in line and "WARNING" in line for line in proc.stderr.splitlines())


def test_records_carry_the_requested_metric_name(sandbox: SandboxServer) -> None:
    """Issue 11 #4: Meta's own sample answers with a name that differs from the request."""
    sandbox.configure(faults={"malformed": {P1: "renamed_metric"}})
    out = run_tap(sandbox_config(sandbox.url, page_ids=[P1], **RANGE))
    rows = out.records[f"page_insights_{P1}"]
    defaults = load_catalog().defaults("PAGE")
    assert {r["metric"] for r in rows} == set(defaults)
    expected: dict = {}
    for metric in defaults:
        expected.update(_expected(P1, metric))
    assert _values(rows) == expected


def test_three_periods_in_one_call_per_window(sandbox: SandboxServer) -> None:
    """Issue 11 #5: a requested week/days_28 is never dropped, and any mix of periods costs
    one call per window (no period parameter; the requested ones are kept)."""
    periods = ["day", "week", "days_28"]
    out = run_tap(sandbox_config(sandbox.url, page_ids=[P1], periods=periods, **RANGE))
    calls = [r for r in sandbox.requests if "/insights" in r["path"] or r["path"].endswith("/")]
    insights = [r for r in sandbox.requests if r["path"].endswith("/insights")]
    assert len(insights) <= 1
    assert len(calls) >= 1
    rows = out.records[f"page_insights_{P1}"]
    for metric in load_catalog().defaults("PAGE"):
        for period in periods:
            got = {
                (r["date"], r["breakdown_key"]): r["value"]
                for r in rows
                if r["metric"] == metric and r["period"] == period
            }
            want = {}
            for day in DAYS:
                value = sbx.metric_value(P1, metric, period, day, today=TODAY)
                if isinstance(value, dict):
                    want.update({(str(day), k): v for k, v in value.items()})
                else:
                    want[(str(day), "")] = value
            assert got == want, (metric, period)


def test_a_spurious_invalid_metric_answer_blacklists_nothing(sandbox: SandboxServer) -> None:
    """Issue 12 #3: one wrong (#100) answer for a live set convicts no metric."""
    sandbox.configure(faults={"spurious_invalid_metric": 1})
    out = run_tap(
        sandbox_config(sandbox.url, page_ids=[P1], batch_api=False, max_concurrency=1, **RANGE)
    )
    rows = out.records[f"page_insights_{P1}"]
    assert {r["metric"] for r in rows} == set(load_catalog().defaults("PAGE"))
    state = out.last_state["bookmarks"][f"page_insights_{P1}"]
    assert not state.get("invalid_metrics")


def test_an_over_quota_reading_costs_one_pause_in_a_sequential_run(
    sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 11 #3: X-App-Usage 724 % with (#4), then answers without any usage header. The
    spike hits the first insights call, after discovery's three (/me/accounts, /me/permissions,
    /debug_token)."""
    sandbox.configure(faults={"app_usage_spike": {"after_calls": 3, "call_count": 724}})
    config = sandbox_config(
        sandbox.url,
        batch_api=False,
        max_concurrency=1,
        window_days=1,
        max_throttle_wait_seconds=0.2,
        **RANGE,
    )
    with caplog.at_level("WARNING"):
        out = run_tap(config)
    waits = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Waiting")]
    assert len(waits) == 1, waits
    assert len(out.records[f"page_insights_{P1}"]) > 0


@pytest.mark.parametrize(
    "kind",
    [
        "end_time_garbage",
        "end_time_missing",
        "data_not_list",
        "values_not_list",
        "item_not_object",
        "body_is_list",
    ],
)
def test_a_malformed_answer_is_a_named_failure_and_other_pages_load(
    sandbox: SandboxServer, tmp_path: Path, kind: str
) -> None:
    """Issue 12 #2: a malformed value is retried, then a named failure of that page and
    window; the other pages load; exit 1 with one line, no traceback."""
    sandbox.configure(faults={"malformed": {P2: kind}})
    proc = _cli(sandbox_config(sandbox.url, page_ids=[P1, P2, P3], **RANGE), tmp_path)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("tap-facebook-pages: error: 1 unit(s) of work failed")
    assert f"page {P2}" in last
    assert "dates 2026-06-01..2026-06-05" in last
    out = parse_messages(proc.stdout)
    assert out.records[f"page_insights_{P1}"]
    assert out.records[f"page_insights_{P3}"]


@pytest.mark.parametrize("kind", ["not_object", "body_object"])
def test_a_garbage_batch_item_never_hangs(
    sandbox: SandboxServer, tmp_path: Path, kind: str
) -> None:
    """Issue 12 #1: a batch item that is not an object, or whose body is an object, used to
    raise in a worker thread and leave its future unresolved forever."""
    sandbox.configure(faults={"batch_item_garbage": {P2: kind}, "usage_garbage": True})
    proc = _cli(sandbox_config(sandbox.url, page_ids=[P1, P2, P3], **RANGE), tmp_path)
    assert "Traceback" not in proc.stderr
    out = parse_messages(proc.stdout)
    assert out.records[f"page_insights_{P1}"]
    assert out.records[f"page_insights_{P3}"]
    assert proc.returncode in (0, 1)


def test_gaps_duplicates_and_odd_values_are_named_not_silent(
    sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 12 #5/#13/low: a missing day is warned and counted, a duplicated day comes out
    once, text and booleans are not coerced to numbers."""
    for kind, check in (
        ("missing_day", "answered without"),
        ("missing_metric_day", "answered without"),
        ("period_differs", "answered without"),
        ("duplicate_day", "twice with different numbers"),
    ):
        sandbox.configure(faults={"malformed": {P1: kind}})
        caplog.clear()
        with caplog.at_level("WARNING"):
            out = run_tap(sandbox_config(sandbox.url, page_ids=[P1], **RANGE))
        rows = out.records[f"page_insights_{P1}"]
        keys = [(r["metric"], r["period"], r["end_time"], r["breakdown_key"]) for r in rows]
        assert len(keys) == len(set(keys)), kind
        assert any(check in r.getMessage() and P1 in r.getMessage() for r in caplog.records), kind
    sandbox.configure(faults={"malformed": {P1: "string_values"}})
    rows = run_tap(sandbox_config(sandbox.url, page_ids=[P1], **RANGE)).records[
        f"page_insights_{P1}"
    ]
    odd = [r for r in rows if r["value_json"] in ('"1_000"', '"1e999"')]
    assert len(odd) == 2
    assert all(r["value"] is None for r in odd)
    sandbox.configure(faults={"malformed": {P1: "bool_value"}})
    rows = run_tap(sandbox_config(sandbox.url, page_ids=[P1], **RANGE)).records[
        f"page_insights_{P1}"
    ]
    assert [r["value"] for r in rows if r["value_json"] == "true"] == [None]


def test_a_page_that_leaves_the_listing_is_named(
    sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 12 #6: a page that leaves /me/accounts (revocation) was dropped silently."""
    first = run_tap(sandbox_config(sandbox.url, **RANGE))
    assert first.records[f"page_insights_{P2}"]
    sandbox.configure(faults={"vanished_pages": [P2]})
    with caplog.at_level("WARNING"):
        run_tap(sandbox_config(sandbox.url, **RANGE), state=first.last_state)
    assert any(
        P2 in r.getMessage() and "no longer lists it" in r.getMessage() for r in caplog.records
    )


def test_a_period_the_catalog_says_is_unanswered_is_warned_at_start(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 11 #5: a requested period is never dropped silently."""
    logger = logging.getLogger("test-periods")
    with caplog.at_level("WARNING", logger="test-periods"):
        plan = plan_metrics(
            ["page_daily_follows", "page_post_engagements"],
            ["day", "week"],
            level="PAGE",
            catalog=load_catalog(),
            logger=logger,
            setting="page_metrics",
        )
    assert plan.requests["page_daily_follows"] == ("day",)
    assert plan.requests["page_post_engagements"] == ("day", "week")
    assert [r.getMessage() for r in caplog.records] == [
        "page_metrics: metric 'page_daily_follows' does not answer period(s) week "
        "(catalog: day); requesting day only."
    ]


def test_a_configured_page_that_cannot_be_read_is_named_and_exits_1(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    """Issue 12 (low): a page named in page_ids that cannot be read only warned (exit 0);
    the README promises it is named and the run exits 1. The other pages load."""
    missing = "100000000000099"
    proc = _cli(sandbox_config(sandbox.url, page_ids=[P1, missing], **RANGE), tmp_path)
    assert proc.returncode == 1, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("tap-facebook-pages: error: 1 unit(s) of work failed")
    assert f"page {missing}" in last
    assert parse_messages(proc.stdout).records[f"page_insights_{P1}"]


@pytest.mark.parametrize(
    "stream_maps",
    [None, {"page_insights_*": {"__alias__": "page_insights"}}],
    ids=["no-maps", "meltano-alias-map"],
)
def test_connection_test_is_quiet_on_a_healthy_config(
    tmp_path: Path, stream_maps: dict[str, Any] | None
) -> None:
    """Issue 12 (low): ``--test`` printed an ERROR line per stream on a healthy config. With
    the Meltano default alias map too (``--test`` reads the deselected content streams)."""
    cfg = tmp_path / "config.json"
    config: dict[str, Any] = {"sandbox": True}
    if stream_maps is not None:
        config["stream_maps"] = stream_maps
    cfg.write_text(json.dumps(config))
    proc = subprocess.run(
        [sys.executable, "-m", "tap_facebook_pages", "--config", str(cfg), "--test"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0
    assert "ERROR" not in proc.stderr
    assert "connection test: token accepted" in proc.stderr


def test_periods_that_leave_no_metric_are_a_config_error(tmp_path: Path) -> None:
    """Issue 12 #11: periods that leave no metric read nothing and exited 0."""
    config = {"sandbox": True, "page_metrics": ["page_daily_follows"], "periods": ["week"]}
    proc = _cli(config, tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("tap-facebook-pages: error: page_metrics: no metric is left")


def test_a_selected_stream_that_no_longer_exists_is_named(
    sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 12 (low): a catalog stream that discovery no longer returns was ignored silently."""
    config = sandbox_config(sandbox.url, **RANGE)
    catalog = select_catalog(config, insights_only)
    sandbox.configure(faults={"vanished_pages": [P2]})
    with caplog.at_level("WARNING"):
        run_tap(config, catalog=catalog)
    assert any(
        f"catalog selects stream page_insights_{P2}" in r.getMessage() for r in caplog.records
    )


def test_state_semantics_new_metric_future_bookmark_and_past_range(
    sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 12 #7: state must not silently narrow what is read."""
    two = ["page_post_engagements", "page_views_total"]
    first = run_tap(sandbox_config(sandbox.url, page_ids=[P1], page_metrics=two, **RANGE))
    state = first.last_state
    assert state["bookmarks"][f"page_insights_{P1}"]["metrics"] == sorted(two)

    # A metric added later is read from start_date, not only for lookback_days.
    three = [*two, "page_total_actions"]
    again = run_tap(
        sandbox_config(sandbox.url, page_ids=[P1], page_metrics=three, **RANGE), state=state
    )
    rows = again.records[f"page_insights_{P1}"]
    assert _values(rows, "page_total_actions") == _expected(P1, "page_total_actions")
    assert {r["date"] for r in rows if r["metric"] == "page_post_engagements"} == {
        str(d) for d in DAYS[-3:]
    }

    # An explicit past range before the bookmark is read, and the bookmark does not move back.
    past = {"start_date": "2026-05-01", "end_date": "2026-05-03"}
    old = run_tap(sandbox_config(sandbox.url, page_ids=[P1], page_metrics=two, **past), state=state)
    assert {r["date"] for r in old.records[f"page_insights_{P1}"]} == {
        "2026-05-01",
        "2026-05-02",
        "2026-05-03",
    }
    bookmark = old.last_state["bookmarks"][f"page_insights_{P1}"]["replication_key_value"]
    assert bookmark == state["bookmarks"][f"page_insights_{P1}"]["replication_key_value"]

    # A bookmark in the future (no end_date) is clamped with a WARNING instead of stopping
    # the page until that date.
    future = json.loads(json.dumps(state))
    future["bookmarks"][f"page_insights_{P1}"]["replication_key_value"] = (
        "2031-01-01T08:00:00+00:00"
    )
    with caplog.at_level("WARNING"):
        run_tap(sandbox_config(sandbox.url, page_ids=[P1], page_metrics=two), state=future)
    assert any("after the last complete day" in r.getMessage() for r in caplog.records)
    assert any(r["path"].endswith("/insights") for r in sandbox.requests)


def test_discovery_finding_no_page_is_one_line_exit_1(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    """Issue 12 #6: discovery finding 0 pages exited 0 having read nothing."""
    sandbox.configure(faults={"vanished_pages": [P1, P2, P3]})
    proc = _cli(sandbox_config(sandbox.url, **RANGE), tmp_path)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("tap-facebook-pages: error: the token can read no Facebook page")
