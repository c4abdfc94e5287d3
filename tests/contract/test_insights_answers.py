"""Insights answers of the live API's shapes, sequential GETs (``batch_api: false``,
``max_concurrency: 1``): the rows, skips, warnings, verdict and state the tap produces."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from tests.contract import bodies as b
from tests.contract.conftest import FakeGraph, default_value, error_answer, run
from tests.contract.conftest import config as make_config

JUNE = [dt.date(2026, 6, 1), dt.date(2026, 6, 2), dt.date(2026, 6, 3)]  # PDT: T07:00:00+0000
NOVEMBER = [dt.date(2026, 11, 10), dt.date(2026, 11, 11), dt.date(2026, 11, 12)]  # PST: T08:00
NOVEMBER_RANGE = {"start_date": "2026-11-10", "end_date": "2026-11-12"}
MONETIZATION = "creator_monetization_qualified_views"
RETIRING = "page_video_views_paid"
FAN_ADDS = "page_fan_adds_by_paid_non_paid_unique"


def values(rows: list[dict[str, Any]]) -> dict[tuple[str, str, str], Any]:
    """(metric, date, breakdown_key) -> value, each key exactly once."""
    keys = [(r["metric"], r["date"], r["breakdown_key"]) for r in rows]
    assert len(keys) == len(set(keys)), "a row was emitted twice"
    return {(r["metric"], r["date"], r["breakdown_key"]): r["value"] for r in rows}


def expected(page: str, metrics: list[str], days: list[dt.date]) -> dict[tuple[str, str, str], Any]:
    return {
        (m, day.isoformat(), ""): default_value(page, m, "day", day)
        for m in metrics
        for day in days
    }


def run_summary(logs: list[str]) -> dict[str, Any]:
    line = next(line for line in logs if "run summary " in line)
    return json.loads(line.split("run summary ", 1)[1])


def test_a_monetization_metric_answering_200_costs_only_itself(graph: FakeGraph) -> None:
    """§11.1: every request naming the monetization metric answers (#200) (HTTP 403, only
    ``message`` and ``code``); the page's other metrics answer."""
    others = ["page_post_engagements", "page_daily_follows_unique", "page_video_views"]
    graph.refuse[MONETIZATION] = error_answer(403, b.MONETIZATION_200)
    result = run(graph, make_config(page_metrics=[*others, MONETIZATION]))

    assert values(result.rows()) == expected(b.P1, others, JUNE)
    message = b.MONETIZATION_200["error"]["message"]
    assert len(result.warnings(b.P1, f"'{MONETIZATION}'", message)) == 1
    assert not result.warnings("skipping the page")
    state = result.state()
    assert state["rejected_metrics"][MONETIZATION]["reason"] == "permission"
    assert state["rejected_metrics"][MONETIZATION]["message"] == message
    assert result.failed is None
    # It was convicted alone: the last request naming it named nothing else.
    naming = [c for c in graph.insights_calls() if MONETIZATION in c.metrics]
    assert naming[-1].metrics == (MONETIZATION,)
    assert run_summary(result.logs)["skipped_pages"] == []


def test_a_page_level_permission_answer_skips_that_page_only(graph: FakeGraph) -> None:
    """§11.2: ``(#100) Object does not exist, cannot be loaded due to missing permission …``
    (OAuthException, code 100, no subcode, HTTP 400) for one page's insights, PST days."""
    metrics = ["page_post_engagements", "page_daily_follows_unique"]
    graph.page_answer[b.P2] = error_answer(400, b.PAGE_LEVEL_100)
    result = run(graph, make_config(page_ids=[b.P1, b.P2], page_metrics=metrics, **NOVEMBER_RANGE))

    assert values(result.rows(b.P1)) == expected(b.P1, metrics, NOVEMBER)
    assert {r["end_time"][10:] for r in result.rows(b.P1)} == {"T08:00:00+00:00"}
    assert result.rows(b.P2) == []
    warned = result.warnings(b.P2, "skipping the page", "(#100) Object does not exist")
    assert len(warned) == 1
    assert len(graph.insights_calls(b.P2)) == 1  # a page-level answer: no metric bisection
    assert "rejected_metrics" not in result.state(b.P2)
    assert run_summary(result.logs)["skipped_pages"] == [b.P2]
    assert result.failed is None


def test_a_retired_metric_is_isolated_remembered_and_not_asked_again(graph: FakeGraph) -> None:
    """§6.3/§11.2 ``(#100) The value must be a valid insights metric`` whenever one metric is
    named; the next run, with the state of the first, never names it."""
    others = ["page_post_engagements", "page_daily_follows_unique"]
    graph.refuse[RETIRING] = error_answer(400, b.INVALID_METRIC_100)
    cfg = make_config(page_metrics=[others[0], RETIRING, others[1]])
    first = run(graph, cfg)

    assert values(first.rows()) == expected(b.P1, others, JUNE)
    message = b.INVALID_METRIC_100["error"]["message"]
    assert len(first.warnings(b.P1, f"'{RETIRING}'", message)) == 1
    state = first.state()
    assert state["invalid_metrics"] == [RETIRING]
    assert state["rejected_metrics"][RETIRING]["reason"] == "retired"
    assert first.failed is None

    asked_before = len(graph.calls)
    second = run(graph, cfg, state=first.out.last_state)
    again = graph.calls[asked_before:]
    assert again
    assert all(RETIRING not in call.metrics for call in again)
    assert values(second.rows()) == expected(b.P1, others, JUNE)
    assert len(second.warnings(b.P1, f"skipping page metric '{RETIRING}'")) == 1
    assert second.failed is None


def test_object_values_give_one_row_per_key(graph: FakeGraph) -> None:
    """§11.1: ``page_fan_adds_by_paid_non_paid_unique`` answers ``{"paid", "unpaid", "total"}``."""

    def value(page: str, metric: str, period: str, day: dt.date) -> Any:
        if metric == FAN_ADDS:
            return {"paid": day.day, "unpaid": 10 * day.day, "total": 11 * day.day}
        return default_value(page, metric, period, day)

    graph.value = value
    result = run(graph, make_config(page_metrics=[FAN_ADDS, "page_post_engagements"]))

    rows = result.rows()
    want = expected(b.P1, ["page_post_engagements"], JUNE)
    for day in JUNE:
        for key, number in value(b.P1, FAN_ADDS, "day", day).items():
            want[(FAN_ADDS, day.isoformat(), key)] = number
    assert values(rows) == want
    for row in rows:
        if row["metric"] == FAN_ADDS:
            day = dt.date.fromisoformat(row["date"])
            assert json.loads(row["value_json"]) == value(b.P1, FAN_ADDS, "day", day)
        else:
            assert row["value_json"] is None
            assert row["breakdown_key"] == ""
    assert result.failed is None


def test_dates_across_the_spring_dst_switch(graph: FakeGraph) -> None:
    """§1.3: end_time ``2026-03-08T08:00:00+0000`` (PST) is 2026-03-07 and
    ``2026-03-09T07:00:00+0000`` (PDT) is 2026-03-08."""
    result = run(
        graph,
        make_config(
            page_metrics=["page_post_engagements"], start_date="2026-03-06", end_date="2026-03-08"
        ),
    )
    served = [v["end_time"] for v in _served_values(graph)]
    assert served == [
        "2026-03-07T08:00:00+0000",
        "2026-03-08T08:00:00+0000",
        "2026-03-09T07:00:00+0000",
    ]
    dates = {r["end_time"]: r["date"] for r in result.rows()}
    assert dates == {
        "2026-03-07T08:00:00+00:00": "2026-03-06",
        "2026-03-08T08:00:00+00:00": "2026-03-07",
        "2026-03-09T07:00:00+00:00": "2026-03-08",
    }
    assert not result.warnings("answered without")
    assert result.state()["replication_key_value"] == "2026-03-09T07:00:00+00:00"
    assert result.failed is None


def _served_values(graph: FakeGraph) -> list[dict[str, Any]]:
    (call,) = graph.insights_calls()
    body = graph.answer(call).body
    assert body is not None
    return body["data"][0]["values"]


def test_a_late_revision_is_read_again_within_the_lookback(graph: FakeGraph) -> None:
    """§11.1: the same day read twice a few days apart changed 11190 -> 11191."""
    revised = {"value": 11190}
    late_day = dt.date(2026, 6, 2)

    def value(page: str, metric: str, period: str, day: dt.date) -> Any:
        if metric == "page_post_engagements" and day == late_day:
            return revised["value"]
        return default_value(page, metric, period, day)

    graph.value = value
    cfg = make_config(page_metrics=["page_post_engagements"])
    first = run(graph, cfg)
    assert values(first.rows())[("page_post_engagements", "2026-06-02", "")] == 11190

    revised["value"] = 11191
    asked_before = len(graph.calls)
    second = run(graph, {**cfg, "end_date": "2026-06-04"}, state=first.out.last_state)
    (call,) = graph.calls[asked_before:]
    assert (call.since, call.until) == ("2026-06-01", "2026-06-05")  # 3 lookback days + 1 new
    got = values(second.rows())
    assert got[("page_post_engagements", "2026-06-02", "")] == 11191
    assert len(got) == 4
    assert second.state()["replication_key_value"] == "2026-06-05T07:00:00+00:00"
    assert second.failed is None


def test_a_renamed_answer_is_keyed_by_the_name_asked(graph: FakeGraph) -> None:
    """§11.3: asked ``…_ad_break_…``, answered ``…_ad_breaks_…`` (PST end_times), next to
    another metric of the same request."""
    graph.names[b.RENAMED_ASKED] = b.RENAMED_ANSWERED

    def value(page: str, metric: str, period: str, day: dt.date) -> Any:
        if metric == b.RENAMED_ASKED:
            return dict(b.CROSSPOST_VALUE)
        return default_value(page, metric, period, day)

    graph.value = value
    metrics = [b.RENAMED_ASKED, "page_post_engagements"]
    result = run(graph, make_config(page_metrics=metrics, **NOVEMBER_RANGE))

    (call,) = graph.insights_calls()
    assert call.metrics == tuple(metrics)
    answer = graph.answer(call).body
    assert answer is not None
    assert answer["data"][0]["name"] == b.RENAMED_ANSWERED
    rows = result.rows()
    assert {r["metric"] for r in rows} == set(metrics)
    want = expected(b.P1, ["page_post_engagements"], NOVEMBER)
    for day in NOVEMBER:
        for key, number in b.CROSSPOST_VALUE.items():
            want[(b.RENAMED_ASKED, day.isoformat(), key)] = number
    assert values(rows) == want
    assert {r["end_time"][10:] for r in rows} == {"T08:00:00+00:00"}
    assert not result.warnings("not asked for")
    assert not result.warnings("answered without")
    assert result.failed is None


def test_insights_paging_is_never_followed_and_its_token_never_shown(graph: FakeGraph) -> None:
    """§1.2: ``paging.previous``/``next`` carry the page token and unix since/until; the tap
    asks each window once with date strings and never follows them."""
    metrics = ["page_post_engagements", "page_daily_follows_unique"]
    result = run(graph, make_config(page_metrics=metrics, window_days=1))

    calls = graph.insights_calls()
    assert [(c.since, c.until) for c in calls] == [
        ("2026-06-01", "2026-06-02"),
        ("2026-06-02", "2026-06-03"),
        ("2026-06-03", "2026-06-04"),
    ]
    body = graph.answer(calls[0]).body
    assert body is not None
    assert f"access_token={b.PAGE_TOKENS[b.P1]}" in body["paging"]["next"]
    assert all(c.token == b.PAGE_TOKENS[b.P1] for c in calls)  # the page token, in a header
    assert values(result.rows()) == expected(b.P1, metrics, JUNE)
    assert len(result.out.states) >= 3  # one STATE per complete window
    assert result.failed is None


def test_every_period_answered_only_the_requested_are_kept(graph: FakeGraph) -> None:
    """§1.2 Example B: with two periods requested the tap sends no ``period`` and the API
    answers every period (day, week, days_28); day and week rows are kept, days_28 dropped."""
    metrics = ["page_post_engagements", "page_follows"]
    result = run(graph, make_config(page_metrics=metrics, periods=["day", "week"]))

    (call,) = graph.insights_calls()
    assert call.period is None
    body = graph.answer(call).body
    assert body is not None
    assert {e["period"] for e in body["data"]} == {"day", "week", "days_28"}
    got = {(r["metric"], r["period"], r["date"]): r["value"] for r in result.rows()}
    assert got == {
        (m, period, day.isoformat()): default_value(b.P1, m, period, day)
        for m in metrics
        for period in ("day", "week")
        for day in JUNE
    }
    assert not result.warnings("not asked for")
    assert not result.warnings("answered without")
    assert result.failed is None
