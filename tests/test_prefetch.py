"""How far ahead the prefetcher submits: full batches, bounded by concurrency and a value budget."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import Future
from typing import Any

from tap_facebook_pages.runtime import PREFETCH_BUDGET_VALUES, _estimated_values
from tap_facebook_pages.source.prefetch import PlanItem, Prefetcher


class RecordingExecutor:
    """Stands in for the batch executor: remembers each submitted chunk, resolves at once."""

    def __init__(self) -> None:
        self.chunks: list[int] = []

    def submit_many(self, requests: list[Any]) -> list[Future[Any]]:
        self.chunks.append(len(requests))
        futures = []
        for path, *_ in requests:
            future: Future[Any] = Future()
            future.set_result(path)
            futures.append(future)
        return futures


def _plan(pages: int, days: int, metrics: int = 10) -> list[PlanItem]:
    since = dt.date(2026, 8, 1)
    until = (since + dt.timedelta(days=days)).isoformat()
    params = {"metric": ",".join(f"m{i}" for i in range(metrics)), "since": since.isoformat()}
    return [
        (("p", page), f"{page}/insights", {**params, "until": until}, "token", str(page))
        for page in range(pages)
    ]


def _consume(prefetcher: Prefetcher, plan: list[PlanItem]) -> int:
    """Take every planned request in order; return the most futures ever held ahead."""
    most = 0
    for item in plan:
        future = prefetcher.take(item[0])
        assert future is not None
        assert future.result() == item[1]
        most = max(most, len(prefetcher._futures) + 1)
    return most


def _prefetcher(executor: RecordingExecutor, plan: list[PlanItem], concurrency: int) -> Prefetcher:
    return Prefetcher(
        executor,  # type: ignore[arg-type]
        lambda: plan,
        batch=50,
        min_ahead=100,
        max_ahead=concurrency * 50,
        budget=PREFETCH_BUDGET_VALUES,
        weight=_estimated_values,
    )


def test_nightly_windows_put_every_batch_in_flight_at_once() -> None:
    plan = _plan(pages=200, days=4)
    executor = RecordingExecutor()
    prefetcher = _prefetcher(executor, plan, concurrency=4)
    _consume(prefetcher, plan)
    assert prefetcher.ahead == 200
    assert executor.chunks == [200]  # four full batches, submitted together


def test_backfill_windows_stay_two_batches_ahead() -> None:
    plan = _plan(pages=200, days=90)
    executor = RecordingExecutor()
    prefetcher = _prefetcher(executor, plan, concurrency=4)
    most = _consume(prefetcher, plan)
    assert prefetcher.ahead == 100  # 90 days x 10 metrics x 2 periods: the budget decides
    assert executor.chunks == [100, 50, 50]  # refills are whole batches
    assert most <= 100


def test_small_fleet_submits_everything_once() -> None:
    plan = _plan(pages=7, days=90)
    executor = RecordingExecutor()
    _consume(_prefetcher(executor, plan, concurrency=4), plan)
    assert executor.chunks == [7]


def test_skipped_requests_are_cancelled_and_not_submitted_later() -> None:
    plan = _plan(pages=160, days=4)
    executor = RecordingExecutor()
    prefetcher = _prefetcher(executor, plan, concurrency=2)  # 100 ahead
    first = prefetcher.take(plan[0][0])
    assert first is not None
    skipped_future = prefetcher._futures[1]
    later = prefetcher.take(plan[120][0])  # pages 1..119 failed or were skipped
    assert later is not None
    assert later.result() == plan[120][1]
    assert skipped_future.cancelled() or skipped_future.done()
    assert 1 not in prefetcher._futures
    assert sum(executor.chunks) <= len(plan)
