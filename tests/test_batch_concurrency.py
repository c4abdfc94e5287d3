"""Minimal calls, batching, per-item retries and fleet sharding (counted, not timed)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import time
from collections.abc import Iterator

import pytest

from tap_facebook_pages.graph.batch import BatchExecutor
from tap_facebook_pages.graph.client import GraphClient
from tap_facebook_pages.sandbox import SandboxServer
from tap_facebook_pages.sandbox import data as sbx
from tap_facebook_pages.tap import shard_of
from tests.helpers import TEST_TOKEN, insights_only, run_tap, sandbox_config, select_catalog

TODAY = dt.date(2026, 11, 20)
FLEET = 12
RANGE = {"start_date": "2026-01-01", "end_date": "2026-06-29", "window_days": 90}  # 2 windows
KEY = ("page_id", "metric", "period", "end_time", "breakdown_key")


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(today=TODAY, fleet=FLEET) as srv:
        yield srv


@pytest.fixture
def sandbox(server: SandboxServer) -> SandboxServer:
    server.configure(faults={})
    server.reset_log()
    return server


def _rows(out) -> dict:
    return {
        tuple(r[k] for k in KEY): r["value"]
        for name, recs in out.records.items()
        if name.startswith("page_insights_")
        for r in recs
    }


def _run(sandbox: SandboxServer, **config):
    """Run with only pages + page insights selected; the log then holds only this run's calls."""
    full = sandbox_config(sandbox.url, **config)
    catalog = select_catalog(full, insights_only)
    sandbox.reset_log()
    return run_tap(full, catalog=catalog)


def _graph_calls(sandbox: SandboxServer) -> list[dict]:
    return [r for r in sandbox.requests if not r.get("batch_envelope")]


def test_calls_equal_the_floor_and_round_trips_are_batched(sandbox: SandboxServer) -> None:
    out = _run(sandbox, max_concurrency=4, **RANGE)
    pages = len(sbx.ACCOUNT_PAGE_IDS) + FLEET
    windows = 2
    assert len([n for n in out.records if n.startswith("page_insights_")]) == pages
    calls = _graph_calls(sandbox)
    # /me/accounts, /me/permissions, /debug_token, one call per page-window
    floor = 1 + 1 + 1 + pages * windows
    assert len(calls) == floor
    assert all(c["status"] == 200 for c in calls)
    # Insights went out in batches of up to 50: far fewer HTTP round trips than calls.
    insight_calls = [c for c in calls if c["path"].endswith("/insights")]
    assert len(insight_calls) == pages * windows
    assert sum(1 for c in insight_calls if c["batch"]) >= len(insight_calls) - 4
    assert sandbox.http_round_trips <= 3 + math.ceil(pages * windows / 50) + 4


def test_sequential_mode_makes_the_same_calls_and_rows(sandbox: SandboxServer) -> None:
    batched = _run(sandbox, **RANGE)
    batched_calls = len(_graph_calls(sandbox))
    plain = _run(sandbox, max_concurrency=1, batch_api=False, **RANGE)
    assert _rows(plain) == _rows(batched)
    assert len(_graph_calls(sandbox)) == batched_calls
    assert sandbox.http_round_trips == batched_calls  # no batching: one round trip per call


def test_batch_item_errors_and_nulls_are_retried_alone(sandbox: SandboxServer) -> None:
    clean = _rows(_run(sandbox, **RANGE))
    sandbox.configure(faults={"null_batch_item_rate": 0.3, "transient_error_rate": 0.1, "seed": 3})
    out = _run(sandbox, **RANGE)
    assert _rows(out) == clean
    calls = _graph_calls(sandbox)
    nulls = [c for c in calls if c.get("fault") == "null_batch_item"]
    assert nulls, "the fault must have produced null items"
    # Every faulted call (null item, error item, or a truncated 200 when a lone item went as a
    # plain GET) was asked again exactly once more; nothing else was asked twice.
    insight = [c for c in calls if c["path"].endswith("/insights")]
    faulted = [c for c in insight if c.get("fault")]
    pages = len(sbx.ACCOUNT_PAGE_IDS) + FLEET
    assert len(insight) == pages * 2 + len(faulted)
    ok = [(c["path"], c["params"].get("since")) for c in insight if not c.get("fault")]
    assert len(ok) == len(set(ok)) == pages * 2


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_shards_partition_the_pages_exactly(sandbox: SandboxServer, count: int) -> None:
    all_pages = {*sbx.ACCOUNT_PAGE_IDS, *(sbx.fleet_page_id(i) for i in range(FLEET))}
    seen: list[str] = []
    for index in range(count):
        out = run_tap(
            sandbox_config(
                sandbox.url,
                shard_count=count,
                shard_index=index,
                start_date="2026-06-01",
                end_date="2026-06-01",
            )
        )
        pages = [p["id"] for p in out.records.get("pages", [])]
        assert all(shard_of(p, count) == index for p in pages)
        streams = {n.removeprefix("page_insights_") for n in out.records if n != "pages"}
        assert streams == set(pages)
        seen.extend(pages)
    assert sorted(seen) == sorted(all_pages)  # every page in exactly one shard


def test_shard_of_is_stable() -> None:
    assert shard_of("100000000000001", 4) == shard_of("100000000000001", 4)
    assert [shard_of(str(i), 1) for i in range(5)] == [0] * 5


def test_fast_record_path_keeps_stream_maps_and_deselection(sandbox: SandboxServer) -> None:
    """The skipped SDK walks must not change what reaches the target."""
    config = sandbox_config(
        sandbox.url,
        page_ids=[sbx.ACCOUNT_PAGE_IDS[0]],
        start_date="2026-06-01",
        end_date="2026-06-02",
        stream_maps={
            "page_insights_100000000000001": {"title": "__NULL__", "doubled": "value * 2"}
        },
    )
    rows = run_tap(config).records["page_insights_100000000000001"]
    assert rows
    assert all(
        "title" not in r and r["doubled"] == (r["value"] * 2 if r["value"] is not None else None)
        for r in rows
    )


def test_a_page_paused_by_its_usage_is_logged_once_and_called_after_the_pause(
    sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The dispatcher honours a page's usage headers without holding up other pages, and says
    so once (a silent pause looked like a hang in a long benchmark)."""
    client = GraphClient(
        base_url=sandbox.url,
        api_version="v25.0",
        access_token=TEST_TOKEN,
        max_throttle_wait_seconds=1.2,
    )
    paused_page, other_page = sbx.ACCOUNT_PAGE_IDS[0], sbx.ACCOUNT_PAGE_IDS[1]
    usage = {paused_page: [{"type": "pages", "call_count": 97, "total_time": 10}]}
    client.pacer.observe({"X-Business-Use-Case-Usage": json.dumps(usage)})
    executor = BatchExecutor(client, max_concurrency=2)
    params = {"metric": "page_follows", "since": "2026-11-01", "until": "2026-11-03"}
    try:
        with caplog.at_level(logging.WARNING):
            started = time.monotonic()
            paused, other = executor.submit_many(
                [
                    (f"{page}/insights", params, sbx.page_token(page, TEST_TOKEN), page)
                    for page in (paused_page, other_page)
                ]
            )
            other.result(timeout=5)
            other_done = time.monotonic() - started
            body = paused.result(timeout=5)
            paused_done = time.monotonic() - started
    finally:
        executor.close()
    assert other_done < 1.0  # the other page did not wait
    assert paused_done >= 1.1  # the paused page waited (capped by max_throttle_wait_seconds)
    assert "data" in (body.parse() if hasattr(body, "parse") else body)
    waits = [r.getMessage() for r in caplog.records if "Waiting" in r.getMessage()]
    assert len(waits) == 1
    assert paused_page in waits[0]
    assert "usage 97%" in waits[0]
    assert client.stats(paused_page).throttle_wait_s > 1.0
