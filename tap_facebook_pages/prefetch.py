"""Prefetch the insights requests of every selected page, in the order the streams consume them.

The SDK syncs one stream at a time. To overlap round trips across pages, the tap plans every
(page, window, request) of the run up front and keeps at most ``lookahead`` of them submitted
ahead of the stream being synced; the batch executor groups them into Graph batch requests and
runs them concurrently. Streams still emit their rows window by window, ascending, so state
stays correct; memory is bounded by the lookahead, not by the number of pages.
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
        lookahead: int,
    ) -> None:
        self.executor = executor
        self._plan_source = plan
        self._plan: list[PlanItem] | None = None
        self._index: dict[Hashable, int] = {}
        self._futures: dict[int, Future[Any]] = {}
        self._submitted = 0
        self.lookahead = max(1, lookahead)
        self._lock = threading.Lock()

    def _ensure_plan(self) -> list[PlanItem]:
        if self._plan is None:
            self._plan = list(self._plan_source())
            self._index = {item[0]: i for i, item in enumerate(self._plan)}
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
            # Refill in chunks, once half the lookahead is used, so batches go out full.
            if self._submitted <= position + self.lookahead // 2:
                limit = min(len(plan), position + self.lookahead)
                chunk = list(range(self._submitted, limit))
                futures = self.executor.submit_many(
                    [(plan[i][1], plan[i][2], plan[i][3], plan[i][4]) for i in chunk]
                )
                self._futures.update(zip(chunk, futures, strict=True))
                self._submitted = max(self._submitted, limit)
            return self._futures.pop(position, None)
