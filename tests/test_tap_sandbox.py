"""The core tap end to end against the offline sandbox: values, keys, windows, DST, state."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tap_facebook_pages.metrics import load_catalog
from tap_facebook_pages.sandbox import SandboxServer
from tap_facebook_pages.sandbox import data as sbx
from tap_facebook_pages.windows import end_time_for
from tests.helpers import TEST_TOKEN, RunOutput, parse_messages, run_tap, sandbox_config

TODAY = dt.date(2026, 11, 20)
KEY = ("page_id", "metric", "period", "end_time", "breakdown_key")
DEFAULT_METRICS = load_catalog().defaults("PAGE")


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(today=TODAY) as srv:
        yield srv


@pytest.fixture
def sandbox(server: SandboxServer) -> SandboxServer:
    server.configure(faults={}, revision=0)
    server.reset_log()
    return server


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def _expected_rows(
    page_id: str, metrics: list[str], periods: list[str], days: list[dt.date]
) -> dict:
    """(key) -> value, computed from the sandbox's own data functions."""
    catalog = load_catalog()
    expected: dict[tuple, Any] = {}
    for metric in metrics:
        meta = catalog.get(metric, "PAGE")
        assert meta is not None
        for period in periods:
            if period not in meta.supported_periods:
                continue
            for day in days:
                value = sbx.metric_value(page_id, metric, period, day, today=TODAY)
                end = end_time_for(day)
                if isinstance(value, dict):
                    if not value:
                        expected[(page_id, metric, period, end, "")] = None
                    for key, number in value.items():
                        expected[(page_id, metric, period, end, key)] = number
                else:
                    expected[(page_id, metric, period, end, "")] = value
    return expected


def _insights(out: RunOutput) -> list[dict]:
    return [
        r for name, rows in out.records.items() if name.startswith("page_insights_") for r in rows
    ]


def test_every_page_metric_period_day_once_with_sandbox_value(sandbox: SandboxServer) -> None:
    start, end = dt.date(2026, 1, 1), dt.date(2026, 6, 30)
    config = sandbox_config(
        sandbox.url, start_date=str(start), end_date=str(end), periods=["day", "week"]
    )
    out = run_tap(config)
    rows = _insights(out)
    keys = [tuple(r[k] for k in KEY) for r in rows]
    assert not [k for k, n in Counter(keys).items() if n > 1], "duplicate keys"
    expected: dict = {}
    for page_id in sbx.ACCOUNT_PAGE_IDS:
        expected.update(
            _expected_rows(page_id, DEFAULT_METRICS, ["day", "week"], _days(start, end))
        )
    got = {tuple(r[k] for k in KEY): r["value"] for r in rows}
    assert got.keys() == expected.keys()
    assert got == expected
    # Streams: one per page, named after it; rows ascending by end_time within each stream.
    streams = set(out.records)
    assert streams == {"pages"} | {f"page_insights_{p}" for p in sbx.ACCOUNT_PAGE_IDS}
    for name, recs in out.records.items():
        if name.startswith("page_insights_"):
            ends = [r["end_time"] for r in recs]
            assert ends == sorted(ends)


def test_object_metric_exploded_and_value_json_kept(sandbox: SandboxServer) -> None:
    page = sbx.ACCOUNT_PAGE_IDS[0]
    day = dt.date(2026, 5, 5)
    out = run_tap(
        sandbox_config(
            sandbox.url,
            page_ids=[page],
            start_date=str(day),
            end_date=str(day),
            page_metrics=["page_actions_post_reactions_total"],
        )
    )
    rows = out.records[f"page_insights_{page}"]
    value = sbx.metric_value(page, "page_actions_post_reactions_total", "day", day, today=TODAY)
    assert isinstance(value, dict)
    assert value
    assert {r["breakdown_key"]: r["value"] for r in rows} == value
    assert all(json.loads(r["value_json"]) == value for r in rows)


def test_date_is_the_pacific_day_across_dst(sandbox: SandboxServer) -> None:
    page = sbx.ACCOUNT_PAGE_IDS[1]
    out = run_tap(
        sandbox_config(
            sandbox.url,
            page_ids=[page],
            start_date="2026-03-06",
            end_date="2026-03-10",
            page_metrics=["page_post_engagements"],
        )
    )
    got = {r["date"]: r["end_time"] for r in out.records[f"page_insights_{page}"]}
    assert got == {
        "2026-03-06": "2026-03-07T08:00:00+00:00",
        "2026-03-07": "2026-03-08T08:00:00+00:00",
        "2026-03-08": "2026-03-09T07:00:00+00:00",
        "2026-03-09": "2026-03-10T07:00:00+00:00",
        "2026-03-10": "2026-03-11T07:00:00+00:00",
    }


def _insight_calls(sandbox: SandboxServer, page: str | None = None) -> list[dict]:
    return [
        r
        for r in sandbox.requests
        if r["path"].endswith("/insights") and (page is None or r["page_id"] == page)
    ]


def test_windows_never_exceed_window_days_and_one_call_per_window(sandbox: SandboxServer) -> None:
    page = sbx.ACCOUNT_PAGE_IDS[0]
    run_tap(
        sandbox_config(
            sandbox.url,
            page_ids=[page],
            start_date="2026-01-01",
            end_date="2026-03-31",
            window_days=30,
        )
    )
    calls = _insight_calls(sandbox, page)
    spans = [
        (dt.date.fromisoformat(c["params"]["since"]), dt.date.fromisoformat(c["params"]["until"]))
        for c in calls
    ]
    assert all((u - s).days <= 30 for s, u in spans)
    assert len(calls) == 3  # 90 days / 30: all metrics in one call per window
    assert spans[0][0] == dt.date(2026, 1, 1)
    assert spans[-1][1] == dt.date(2026, 4, 1)
    assert all(len(c["params"]["metric"].split(",")) == len(DEFAULT_METRICS) for c in calls)


def test_second_run_rereads_exactly_lookback_days(sandbox: SandboxServer) -> None:
    page = sbx.ACCOUNT_PAGE_IDS[2]
    base = {"page_ids": [page], "start_date": "2026-03-01", "lookback_days": 3}
    first = run_tap(sandbox_config(sandbox.url, end_date="2026-03-20", **base))
    state = first.last_state
    assert state is not None
    bookmark = state["bookmarks"][f"page_insights_{page}"]["replication_key_value"]
    assert bookmark == end_time_for(dt.date(2026, 3, 20))
    sandbox.reset_log()
    second = run_tap(sandbox_config(sandbox.url, end_date="2026-03-25", **base), state=state)
    calls = _insight_calls(sandbox, page)
    assert [(c["params"]["since"], c["params"]["until"]) for c in calls] == [
        ("2026-03-18", "2026-03-26")
    ]
    dates = sorted({r["date"] for r in second.records[f"page_insights_{page}"]})
    assert dates == [str(d) for d in _days(dt.date(2026, 3, 18), dt.date(2026, 3, 25))]


def test_interrupted_run_resumed_from_last_state_yields_same_rows(sandbox: SandboxServer) -> None:
    page = sbx.ACCOUNT_PAGE_IDS[0]
    config = sandbox_config(
        sandbox.url,
        page_ids=[page],
        start_date="2026-02-01",
        end_date="2026-04-30",
        window_days=15,
        lookback_days=0,
    )
    full = run_tap(config)
    full_keys = {tuple(r[k] for k in KEY): r["value"] for r in _insights(full)}
    # Cut the output right after the 3rd STATE message of the insights stream, as a crash would.
    cut: list[dict] = []
    seen_states = 0
    for msg in full.messages:
        cut.append(msg)
        if msg["type"] == "STATE" and f"page_insights_{page}" in msg["value"].get("bookmarks", {}):
            seen_states += 1
            if seen_states == 3:
                break
    partial = RunOutput(cut)
    assert partial.last_state is not None
    resumed = run_tap(config, state=partial.last_state)
    merged = {tuple(r[k] for k in KEY): r["value"] for r in _insights(partial) + _insights(resumed)}
    assert merged == full_keys
    # The resumed run did not start over: it began after the last complete window.
    first_resumed = min(r["date"] for r in _insights(resumed))
    assert first_resumed > "2026-02-01"


def test_pages_stream_from_the_discovery_call_only(sandbox: SandboxServer) -> None:
    out = run_tap(
        sandbox_config(
            sandbox.url,
            page_ids=[*sbx.ACCOUNT_PAGE_IDS, "100000000000004"],
            start_date="2026-05-01",
            end_date="2026-05-02",
        )
    )
    pages = {p["id"]: p for p in out.records["pages"]}
    assert list(pages) == [*sbx.ACCOUNT_PAGE_IDS, "100000000000004"]
    by_id = {p.id: p for p in sbx.PAGES}
    for page_id, row in pages.items():
        src = by_id[page_id]
        assert row["name"] == src.name
        assert "SANDBOX" in row["name"]
        assert row["fan_count"] == src.fan_count
        assert row["followers_count"] == src.followers_count
        assert "access_token" not in row
    paths = Counter(
        r["path"].lstrip("/") for r in sandbox.requests if not r["path"].endswith("/insights")
    )
    assert paths["me/accounts"] == 1
    # Only the business-linked page (absent from /me/accounts) costs a direct lookup.
    assert paths["100000000000004"] == 1
    assert sum(n for p, n in paths.items() if p.startswith("10000000000000")) == 1


def test_retired_metric_in_config_uses_replacement(sandbox: SandboxServer) -> None:
    page = sbx.ACCOUNT_PAGE_IDS[0]
    out = run_tap(
        sandbox_config(
            sandbox.url,
            page_ids=[page],
            start_date="2026-05-01",
            end_date="2026-05-03",
            page_metrics=["page_impressions_unique", "page_post_engagements"],
        )
    )
    metrics = {r["metric"] for r in out.records[f"page_insights_{page}"]}
    assert metrics == {"page_total_media_view_unique", "page_post_engagements"}
    assert all(
        "page_impressions_unique" not in c["params"]["metric"] for c in _insight_calls(sandbox)
    )


def test_token_never_in_output(sandbox: SandboxServer, capfd: pytest.CaptureFixture[str]) -> None:
    out = run_tap(sandbox_config(sandbox.url, start_date="2026-05-01", end_date="2026-05-02"))
    assert out.records
    captured = capfd.readouterr()
    text = captured.out + captured.err + repr(out.messages)
    assert TEST_TOKEN not in text
    assert "SBXPAGE" not in text  # page tokens


def test_parse_messages_roundtrip() -> None:
    assert parse_messages('{"type": "STATE", "value": {}}\n').states == [{}]


def test_second_run_of_several_pages_requests_only_the_lookback(sandbox: SandboxServer) -> None:
    """Regression: with prefetching, pages after the first planned from start_date on an
    incremental run (their bookmark was read before the SDK primed it)."""
    base = {"start_date": "2026-03-01", "lookback_days": 3}
    first = run_tap(sandbox_config(sandbox.url, end_date="2026-03-20", **base))
    sandbox.reset_log()
    run_tap(sandbox_config(sandbox.url, end_date="2026-03-25", **base), state=first.last_state)
    calls = _insight_calls(sandbox)
    assert sorted((c["page_id"], c["params"]["since"], c["params"]["until"]) for c in calls) == [
        (page, "2026-03-18", "2026-03-26") for page in sorted(sbx.ACCOUNT_PAGE_IDS)
    ]
