"""Prefetch the insights requests of every selected page, in the order the streams consume them.

The SDK syncs one stream at a time. To overlap round trips across pages, the tap plans every
(page, window, request) of the run up front and keeps some of them submitted ahead of the stream
being synced; the batch executor groups them into Graph batch requests and runs them
concurrently. Streams still emit their rows window by window, ascending, so state stays correct.

How far ahead: enough full batches to keep ``max_concurrency`` requests busy, but no more
estimated values (days x metrics x periods) than ``budget``. A nightly run (a few days per
window) therefore has every batch in flight at once, while a backfill (90-day windows) keeps two
batches ahead, so memory is bounded by the budget, not by the number of pages. Refills are
whole batches, so batches go out full.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import Future
from typing import Any

from tap_facebook_pages.graph.batch import BatchExecutor

PlanItem = tuple[Hashable, str, dict[str, Any], str, str]  # key, path, params, token, scope


class Prefetcher:
    """Submits planned requests ahead of their consumer and hands out their futures."""

    def __init__(
        self,
        executor: BatchExecutor,
        plan: Callable[[], Iterable[PlanItem]],
        *,
        batch: int,
        min_ahead: int,
        max_ahead: int,
        budget: float = float("inf"),
        weight: Callable[[PlanItem], float] = lambda item: 1.0,
    ) -> None:
        self.executor = executor
        self._plan_source = plan
        self._plan: list[PlanItem | None] | None = None
        self._index: dict[Hashable, int] = {}
        self._futures: dict[int, Future[Any]] = {}
        self._submitted = 0
        self.batch = max(1, batch)
        self.min_ahead = max(1, min_ahead)
        self.max_ahead = max(self.min_ahead, max_ahead)
        self.budget = budget
        self._weight = weight
        self.ahead = self.min_ahead
        self._lock = threading.Lock()

    def _ensure_plan(self) -> list[PlanItem | None]:
        if self._plan is None:
            plan: list[PlanItem | None] = list(self._plan_source())
            self._index = {item[0]: i for i, item in enumerate(plan) if item is not None}
            if plan:
                mean = sum(self._weight(item) for item in plan if item) / len(plan)
                by_budget = int(self.budget // max(mean, 1e-9)) if mean else self.max_ahead
                ahead = max(self.min_ahead, min(self.max_ahead, by_budget))
                self.ahead = max(self.batch, ahead - ahead % self.batch)
            self._plan = plan
        return self._plan

    def take(self, key: Hashable) -> Future[Any] | None:
        """The future of planned request ``key`` (submitting ahead), or None if not planned."""
        with self._lock:
            plan = self._ensure_plan()
            position = self._index.pop(key, None)
            if position is None:
                return None
            # Requests planned before this one were skipped (a page failed or changed plan).
            for stale in [i for i in self._futures if i < position]:
                self._futures.pop(stale).cancel()
            limit = min(len(plan), position + self.ahead)
            room = limit - self._submitted
            if room >= self.batch or (limit == len(plan) and room > 0):
                chunk = range(max(self._submitted, position), limit)
                requests = []
                for i in chunk:
                    item = plan[i]
                    plan[i] = None  # submitted: the plan no longer needs to hold it
                    if item is not None:
                        requests.append((i, (item[1], item[2], item[3], item[4])))
                futures = self.executor.submit_many([r for _, r in requests])
                self._futures.update(zip([i for i, _ in requests], futures, strict=True))
                self._submitted = limit
            return self._futures.pop(position, None)
