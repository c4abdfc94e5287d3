"""Concurrent Graph calls, grouped into batch requests.

Independent GETs (different pages and windows) are submitted as futures. A dispatcher groups the
ready ones into Graph batch requests of at most 50 sub-requests (a lone one goes as a plain GET),
and at most ``max_concurrency`` HTTP requests are in flight at once. Each sub-request carries its
own page token and ``appsecret_proof`` inside the batch body (never in a URL we log). Items that
fail transiently, come back ``null`` (a batch timeout) or are throttled are retried alone, with
backoff, while the other items' results are kept. A page paused by its usage headers or a
throttle waits without holding up the other pages.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from concurrent.futures import Future, InvalidStateError, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from tap_facebook_pages.graph.client import Attempts, GraphClient
from tap_facebook_pages.graph.errors import (
    GraphError,
    MalformedAnswerError,
    TransientError,
    interpret_response,
)

MAX_BATCH = 50


class RawBody(str):
    """A successful batch item's body, still JSON text; ``parse`` classifies it like any
    response (a 200 may still carry an error object, or be truncated)."""

    path: str

    def __new__(cls, text: str, path: str) -> RawBody:
        obj = super().__new__(cls, text)
        obj.path = path
        return obj

    def parse(self) -> Any:
        """The parsed body; raises the classified GraphError when it is not a usable body."""
        parsed, error = interpret_response(200, str(self), path=self.path)
        if error is not None:
            raise error
        return parsed


def _headers(answer: dict[str, Any]) -> dict[str, str]:
    headers = answer.get("headers")
    if not isinstance(headers, list):
        return {}
    return {str(h.get("name")): str(h.get("value")) for h in headers if isinstance(h, dict)}


@dataclass
class _Item:
    path: str
    params: dict[str, Any]
    token: str
    scope: str | None
    future: Future[Any] = field(default_factory=Future)
    attempts: Attempts = field(default_factory=Attempts)
    not_before: float = 0.0


class BatchExecutor:
    """Runs submitted GETs concurrently, batched, with per-item retries."""

    def __init__(
        self,
        client: GraphClient,
        *,
        max_concurrency: int = 4,
        batch_size: int = MAX_BATCH,
        use_batch: bool = True,
    ) -> None:
        self.client = client
        self.max_concurrency = max(1, max_concurrency)
        self.batch_size = max(1, min(batch_size, MAX_BATCH))
        self.use_batch = use_batch
        self._pending: deque[_Item] = deque()
        self._cond = threading.Condition()
        self._in_flight = 0
        self._closed = False
        self._pause_until: dict[str | None, float] = {}  # scope -> end of its current pause
        self._pool = ThreadPoolExecutor(
            max_workers=self.max_concurrency, thread_name_prefix="graph"
        )
        self._dispatcher = threading.Thread(
            target=self._dispatch, name="graph-dispatch", daemon=True
        )
        self._dispatcher.start()

    # -- public -------------------------------------------------------------------------

    def submit(
        self, path: str, params: dict[str, Any], *, token: str, scope: str | None
    ) -> Future[Any]:
        """Queue one GET; the future resolves to the parsed body or raises its GraphError."""
        return self.submit_many([(path, params, token, scope)])[0]

    def submit_many(
        self, requests: list[tuple[str, dict[str, Any], str, str | None]]
    ) -> list[Future[Any]]:
        """Queue several GETs at once (so they can share a batch); their futures, in order."""
        items = [
            _Item(path=path.lstrip("/"), params=dict(params), token=token, scope=scope)
            for path, params, token, scope in requests
        ]
        with self._cond:
            if self._closed:
                msg = "executor is closed"
                raise RuntimeError(msg)
            self._pending.extend(items)
            self._cond.notify_all()
        return [item.future for item in items]

    def close(self) -> None:
        """Stop dispatching; pending items fail."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._dispatcher.join(timeout=5)
        self._pool.shutdown(wait=True)
        while self._pending:
            item = self._pending.popleft()
            if not item.future.done():
                item.future.set_exception(RuntimeError("executor closed"))

    # -- dispatching ----------------------------------------------------------------------

    def _ready_items(self, now: float) -> tuple[list[_Item], float | None]:
        """Up to ``batch_size`` items that may be sent now, and the next wake-up time."""
        chosen: list[_Item] = []
        keep: deque[_Item] = deque()
        wake: float | None = None
        paused: dict[str | None, float] = {}
        while self._pending:
            item = self._pending.popleft()
            if item.future.done():  # cancelled by its consumer: nothing to send
                continue
            if len(chosen) >= self.batch_size:
                keep.append(item)
                continue
            if item.scope not in paused:
                # The client's one pacing policy: a pause is logged once, by whoever meets it.
                paused[item.scope] = now + self.client.pacing_wait(item.scope)
            ready_at = max(item.not_before, paused[item.scope])
            if ready_at <= now:
                chosen.append(item)
            else:
                keep.append(item)
                wake = ready_at if wake is None else min(wake, ready_at)
        self._pending = keep
        return chosen, wake

    def _dispatch(self) -> None:
        """The dispatcher thread: it must survive anything, or every waiting stream hangs."""
        try:
            self._dispatch_loop()
        except BaseException as error:  # noqa: BLE001 - fail the waiters, never strand them
            with self._cond:
                self._closed = True
                stranded = list(self._pending)
                self._pending.clear()
            for item in stranded:
                _fail(item, error)

    def _dispatch_loop(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._closed:
                        return
                    if self._pending and self._in_flight < self.max_concurrency:
                        items, wake = self._ready_items(time.monotonic())
                        if items:
                            self._in_flight += 1
                            break
                        timeout = max(0.001, (wake or time.monotonic() + 0.05) - time.monotonic())
                        self._cond.wait(timeout=timeout)
                    else:
                        self._cond.wait(timeout=0.5)
            self._pool.submit(self._run, items)
            del items  # the futures keep their results; this thread must not keep the last batch

    def _run(self, items: list[_Item]) -> None:
        try:
            if len(items) == 1 or not self.use_batch:
                for item in items:
                    self._run_single(item)
            else:
                self._run_batch(items)
        except BaseException as error:  # noqa: BLE001 - a worker must resolve every future
            for item in items:
                _fail(item, error)
        finally:
            with self._cond:
                self._in_flight -= 1
                self._cond.notify_all()

    def _run_single(self, item: _Item) -> None:
        if item.future.done():
            return
        try:
            result = self.client.get(item.path, item.params, token=item.token, scope=item.scope)
        except Exception as error:  # noqa: BLE001 - any failure must reach the waiting stream
            _fail(item, error)
        else:
            _resolve(item, result)

    def _relative_url(self, item: _Item) -> str:
        query = dict(item.params)
        query["access_token"] = item.token
        proof = self.client.proof(item.token)
        if proof:
            query["appsecret_proof"] = proof
        return f"{item.path}?{urlencode(query)}"

    def _run_batch(self, items: list[_Item]) -> None:
        body = [{"method": "GET", "relative_url": self._relative_url(i)} for i in items]
        try:
            answers = self.client.request(
                "POST",
                "",
                data={"batch": json.dumps(body), "include_headers": "true"},
                envelope=True,
            )
        except Exception as error:  # noqa: BLE001 - any failure must reach the waiting streams
            for item in items:
                _fail(item, error)
            return
        if not isinstance(answers, list) or len(answers) != len(items):
            answers = [None] * len(items)
        for item, answer in zip(items, answers, strict=True):
            try:
                self._settle(item, answer)
            except Exception as error:  # noqa: BLE001 - one odd item must not strand the others
                _fail(item, error)

    def _settle(self, item: _Item, answer: Any) -> None:
        client = self.client
        client.bump(item.scope, requests=1)
        log_path = "/" + item.path
        error: GraphError | None
        if answer is None:
            error = TransientError("batch item timed out (null)", path=log_path)
        elif not isinstance(answer, dict):
            error = MalformedAnswerError(
                f"batch item is a {type(answer).__name__}, not an object", path=log_path
            )
        else:
            client.pacer.observe(_headers(answer))
            code, body = answer.get("code"), answer.get("body")
            if not isinstance(body, str) and body is not None:
                error = MalformedAnswerError(
                    f"batch item body is a {type(body).__name__}, not a JSON string",
                    path=log_path,
                )
            elif code == 200 and body:
                # Keep the body as text until its stream consumes it: prefetched windows then
                # cost their JSON size, not the (several times larger) parsed objects.
                _resolve(item, RawBody(body, log_path))
                return
            else:
                status = code if isinstance(code, int) and not isinstance(code, bool) else 0
                parsed, error = interpret_response(status, body or "", path=log_path)
                if error is None:
                    _resolve(item, parsed)
                    return
        if client.next_try(error, item.attempts, item.scope, log_path):
            item.not_before = time.monotonic() + item.attempts.delay
            with self._cond:
                self._pending.appendleft(item)
                self._cond.notify_all()
        else:
            _fail(item, error)


def _resolve(item: _Item, result: Any) -> None:
    if not item.future.done():
        with contextlib.suppress(InvalidStateError):  # cancelled meanwhile by its consumer
            item.future.set_result(result)


def _fail(item: _Item, error: BaseException) -> None:
    if not item.future.done():
        with contextlib.suppress(InvalidStateError):
            item.future.set_exception(error)
