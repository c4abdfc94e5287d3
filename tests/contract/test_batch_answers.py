"""The batch path (``batch_api: true``, ``max_concurrency: 2``): POST /v25.0/ answered with a
§8.1 array of ``{code, headers, body}`` items, a ``null`` one and a #100 one among them."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import parse_qs

from tests.contract import bodies as b
from tests.contract.conftest import FakeGraph, default_value, error_answer, run
from tests.contract.conftest import config as make_config

JUNE = [dt.date(2026, 6, 1), dt.date(2026, 6, 2), dt.date(2026, 6, 3)]
METRICS = ["page_post_engagements", "page_daily_follows_unique"]
RETIRING = "page_video_views_paid"


def batch_config(**extra: Any) -> dict[str, Any]:
    return make_config(page_ids=[b.P1, b.P2], batch_api=True, max_concurrency=2, **extra)


def _values(rows: list[dict[str, Any]]) -> dict[tuple[str, str], Any]:
    keys = [(r["metric"], r["date"]) for r in rows]
    assert len(keys) == len(set(keys)), "a row was emitted twice"
    return {(r["metric"], r["date"]): r["value"] for r in rows}


def _expected(page: str, metrics: list[str]) -> dict[tuple[str, str], Any]:
    return {
        (m, day.isoformat()): default_value(page, m, "day", day) for m in metrics for day in JUNE
    }


def test_a_null_batch_item_is_retried_alone(graph: FakeGraph) -> None:
    """§8.1: a timed-out item comes back ``null``; it is asked again by itself, the other
    item's answer is kept, and every row arrives."""
    graph.null_once.add(b.P1)
    result = run(graph, batch_config(page_metrics=METRICS))

    first = graph.batches[0]
    assert sorted(c.page for c in first if c) == sorted([b.P1, b.P2])
    (timed_out,) = [c for c in first if c and c.page == b.P1]
    retries = [c for c in graph.calls if c.page == b.P1 and c is not timed_out]
    assert len(retries) == 1
    (retry,) = retries
    assert (retry.metrics, retry.since, retry.until) == (
        timed_out.metrics,
        timed_out.since,
        timed_out.until,
    )
    assert retry.via == "get" or all(len(batch) == 1 for batch in graph.batches[1:])
    assert retry.token == b.PAGE_TOKENS[b.P1]
    assert len(graph.insights_calls(b.P2)) == 1  # its answer in the first batch was kept
    for page in (b.P1, b.P2):
        assert _values(result.rows(page)) == _expected(page, METRICS)
    assert result.failed is None


def test_a_retired_metric_item_inside_a_batch_is_isolated(graph: FakeGraph) -> None:
    """§8.1: one item answers code 400 with the ``(#100) … valid insights metric`` body and
    its ``WWW-Authenticate`` header while the other answers 200: the other page's rows come
    from the batch; the refusing page's metric is isolated and remembered."""
    graph.refuse[(b.P2, RETIRING)] = error_answer(400, b.INVALID_METRIC_100)
    batch_items: list[dict[str, Any]] = []
    original = graph.answer

    def spy(call: Any) -> Any:
        answer = original(call)
        if call.via == "batch":
            batch_items.append({"page": call.page, "code": answer.status})
        return answer

    graph.answer = spy  # type: ignore[method-assign]
    result = run(graph, batch_config(page_metrics=[*METRICS, RETIRING]))

    assert {(i["page"], i["code"]) for i in batch_items[:2]} == {(b.P1, 200), (b.P2, 400)}
    assert [c.via for c in graph.insights_calls(b.P1)] == ["batch"]
    assert _values(result.rows(b.P1)) == _expected(b.P1, [*METRICS, RETIRING])
    assert _values(result.rows(b.P2)) == _expected(b.P2, METRICS)
    naming = [c for c in graph.insights_calls(b.P2) if RETIRING in c.metrics]
    assert naming[-1].metrics == (RETIRING,)
    message = b.INVALID_METRIC_100["error"]["message"]
    assert len(result.warnings(b.P2, f"'{RETIRING}'", message)) == 1
    state = result.state(b.P2)
    assert state["invalid_metrics"] == [RETIRING]
    assert state["rejected_metrics"][RETIRING]["reason"] == "retired"
    assert not result.state(b.P1).get("rejected_metrics")
    assert result.failed is None


def test_the_batch_request_is_the_documented_form(graph: FakeGraph) -> None:
    """§8.1: POST /v25.0/ with a ``batch`` form field of GET ops whose relative URLs carry each
    page's own token; the envelope itself carries no token in its URL."""
    run(graph, batch_config(page_metrics=METRICS))
    posts = [r for r in graph.mocker.request_history if r.method == "POST"]
    (post,) = [r for r in posts if "debug_token" not in r.text]  # §5.3 goes as a batch of one
    assert post.url == f"{b.ROOT}/"
    form = parse_qs(post.text)
    assert form["include_headers"] == ["true"]
    ops = json.loads(form["batch"][0])
    assert [op["method"] for op in ops] == ["GET", "GET"]
    for call in graph.batches[0]:
        assert call is not None
        assert call.token == b.PAGE_TOKENS[call.page]
