"""Fixtures: a requests-mock Graph API answering with the live API's shapes (bodies.py), and a
runner that syncs the real tap in-process against it and checks no token ever leaks."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests_mock

from tap_facebook_pages.tap import RunFailedError, TapFacebookPages
from tests.contract import bodies as b
from tests.helpers import RunOutput, insights_only, parse_messages, select_catalog

# §7.2: real answers carry facebook-api-version and x-fb-trace-id; usage headers only sometimes.
JSON_HEADERS = {
    "Content-Type": "application/json; charset=UTF-8",
    "facebook-api-version": b.VERSION,
    "x-fb-trace-id": "GdEIHnBJCxH",
}
_INSIGHTS = re.compile(rf"^{re.escape(b.ROOT)}/(\d+)/insights(?:\?|$)")


@dataclass
class Call:
    """One insights request the fake answered (a GET, or one item of a batch)."""

    via: str  # "get" or "batch"
    page: str
    metrics: tuple[str, ...]
    period: str | None
    since: str
    until: str
    token: str
    query: dict[str, str]


@dataclass
class Answer:
    """An answer: status, body, and the headers it adds to the usual ones."""

    status: int
    body: dict[str, Any] | None
    headers: dict[str, str] = field(default_factory=dict)


def error_answer(status: int, body: dict[str, Any], **headers: str) -> Answer:
    """An error answer with the §6.1 ``WWW-Authenticate`` header."""
    return Answer(status, body, {"WWW-Authenticate": b.www_authenticate(body), **headers})


def default_value(page: str, metric: str, period: str, day: dt.date) -> Any:
    """A deterministic number per page, metric, period and day."""
    seed = sum(map(ord, f"{page}{metric}{period}"))
    return seed % 500 + day.toordinal() % 97


class FakeGraph:
    """The Graph API of shared/graph-api.md behind requests-mock.

    Insights answers are built per request (``bodies.insights_body``) from the ``metric``,
    ``period``, ``since`` and ``until`` it names. Tests steer them with:

    - ``value(page, metric, period, day)``: the value served (default: ``default_value``);
    - ``refuse[metric]`` or ``refuse[(page, metric)]``: the answer to any request naming that
      metric (of that page);
    - ``page_answer[page]``: the answer to every insights request of that page;
    - ``once``: ``(predicate(call), answer)`` pairs, each used for the first call it matches;
    - ``names``: the name an answer carries for a metric asked (§11.3);
    - ``null_once``: pages whose next batch item answers ``null`` (§8.1 timeout);
    - ``accounts_answer``: an answer to ``/me/accounts`` instead of the §5.1 listing.

    Every insights request is recorded in ``calls``; every value served in ``served``.
    """

    def __init__(self, mocker: requests_mock.Mocker) -> None:
        self.mocker = mocker
        self.pages = dict(b.PAGE_TOKENS)
        self.value: Callable[[str, str, str, dt.date], Any] = default_value
        self.refuse: dict[str | tuple[str, str], Answer] = {}
        self.accounts_answer: Answer | None = None
        self.page_answer: dict[str, Answer] = {}
        self.once: list[tuple[Callable[[Call], bool], Answer]] = []
        self.names: dict[str, str] = {}
        self.null_once: set[str] = set()
        self.calls: list[Call] = []
        self.batches: list[list[Call | None]] = []
        self.served: dict[tuple[str, str, str, str], Any] = {}
        self.strays: list[str] = []
        self.debug_tokens: list[str] = []  # the input_token of each /debug_token call
        self.debug_token_answer: Answer | None = None
        self._lock = threading.Lock()
        self._catalogs: dict[tuple[str, ...], dict[str, Any]] = {}
        mocker.register_uri(requests_mock.ANY, requests_mock.ANY, text=self._stray)
        mocker.get(f"{b.ROOT}/me/accounts", text=self._accounts)
        mocker.get(f"{b.ROOT}/me/permissions", json=b.ME_PERMISSIONS, headers=JSON_HEADERS)
        mocker.get(_INSIGHTS, text=self._get_insights)
        mocker.post(f"{b.ROOT}/", text=self._batch)

    # -- the API ----------------------------------------------------------------------------

    def _stray(self, request: Any, context: Any) -> str:
        self.strays.append(f"{request.method} {request.url}")
        context.status_code = 599
        return "not a Graph API call this contract knows"

    def _accounts(self, request: Any, context: Any) -> str:
        """§5.1: data with access_token, id, name, tasks incl. ANALYZE; paging.cursors only."""
        if self.accounts_answer is not None:
            return self._reply(context, self.accounts_answer)
        template = b.ME_ACCOUNTS_EXAMPLE["data"][0]
        data = [
            {
                **template,
                "access_token": token,
                "name": f"Contract Page {i}",
                "id": page,
            }
            for i, (page, token) in enumerate(self.pages.items(), start=1)
        ]
        return self._reply(
            context, Answer(200, {"data": data, "paging": b.ME_ACCOUNTS_EXAMPLE["paging"]})
        )

    @staticmethod
    def _reply(context: Any, answer: Answer) -> str:
        context.status_code = answer.status
        context.headers.update(JSON_HEADERS)
        context.headers.update(answer.headers)
        return "" if answer.body is None else b.compact_json(answer.body)

    def _call(self, via: str, page: str, query: dict[str, str], token: str) -> Call:
        call = Call(
            via=via,
            page=page,
            metrics=tuple(query.get("metric", "").split(",")),
            period=query.get("period"),
            since=query.get("since", ""),
            until=query.get("until", ""),
            token=token,
            query=query,
        )
        with self._lock:
            self.calls.append(call)
        return call

    def answer(self, call: Call) -> Answer:
        """What the API answers to one insights request."""
        with self._lock:
            for i, (matches, answer) in enumerate(self.once):
                if matches(call):
                    del self.once[i]
                    return answer
        if call.page in self.page_answer:
            return self.page_answer[call.page]
        if call.token != self.pages.get(call.page):
            return error_answer(400, b.EXPIRED_190_463)  # the user token never reads insights
        for metric in call.metrics:
            refusal = self.refuse.get((call.page, metric)) or self.refuse.get(metric)
            if refusal is not None:
                return refusal
        since = dt.date.fromisoformat(call.since)
        until = dt.date.fromisoformat(call.until)

        def value(metric: str, period: str, day: dt.date) -> Any:
            served = self.value(call.page, metric, period, day)
            with self._lock:
                self.served[(call.page, metric, period, day.isoformat())] = served
            return served

        body = b.insights_body(
            call.page,
            call.token,
            call.metrics,
            since,
            until,
            value,
            period=call.period,
            names=self.names,
        )
        return Answer(200, body)

    def _get_insights(self, request: Any, context: Any) -> str:
        page = _INSIGHTS.match(request.url).group(1)  # type: ignore[union-attr]
        query = {k: v[-1] for k, v in request.qs.items()}
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return self._reply(context, self.answer(self._call("get", page, query, token)))

    def _batch(self, request: Any, context: Any) -> str:
        """§8.1: decode the ``batch`` form field, answer a JSON array of ``{code, headers,
        body}`` (body a JSON string), ``null`` for an item that timed out."""
        form = parse_qs(request.text)
        ops = json.loads(form["batch"][0])
        items: list[Any] = []
        calls: list[Call | None] = []
        for op in ops:
            parts = urlsplit(op["relative_url"])
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            token = query.pop("access_token", "")
            if parts.path == "debug_token":  # §5.3, sent as a batch: no token in a URL
                self.debug_tokens.append(query.get("input_token", ""))
                body = self.debug_token_answer or Answer(200, b.debug_token_body(time.time()))
                items.append(b.batch_item(body.status, body.body or {}, dict(body.headers)))
                continue
            page = parts.path.split("/")[0]
            call = self._call("batch", page, query, token)
            calls.append(call)
            with self._lock:
                timed_out = page in self.null_once
                self.null_once.discard(page)
            if timed_out:
                items.append(None)
                continue
            answer = self.answer(call)
            if answer.status == 200:  # §8.1: Content-Type and ETag
                headers = {h["name"]: h["value"] for h in b.BATCH_OK_HEADERS}
                headers.update(answer.headers)
            else:  # §8.1: WWW-Authenticate, then Content-Type
                headers = {**answer.headers, "Content-Type": b.BATCH_OK_HEADERS[0]["value"]}
            items.append(b.batch_item(answer.status, answer.body or {}, headers))
        with self._lock:
            if calls:
                self.batches.append(calls)
        context.headers.update(JSON_HEADERS)
        return b.compact_json(items)

    # -- helpers for tests ------------------------------------------------------------------

    def insights_calls(self, page: str | None = None) -> list[Call]:
        """Insights requests, in order (optionally of one page)."""
        return [c for c in self.calls if page is None or c.page == page]

    def secrets(self) -> list[str]:
        return [b.USER_TOKEN, *self.pages.values()]

    def catalog(self, config: dict[str, Any]) -> dict[str, Any]:
        """The discovered catalog with ``pages`` and ``page_insights_*`` selected (cached per
        page list; discovery calls made for it are not insights calls)."""
        key = tuple(config.get("page_ids") or ())
        if key not in self._catalogs:
            with contextlib.redirect_stdout(io.StringIO()):
                self._catalogs[key] = select_catalog(config, insights_only)
        return self._catalogs[key]


def config(**extra: Any) -> dict[str, Any]:
    """A config for graph.facebook.com (mocked), sequential GETs unless told otherwise."""
    out: dict[str, Any] = {
        "access_token": b.USER_TOKEN,
        "api_base_url": b.GRAPH,
        "backoff_base_seconds": 0.001,
        "max_throttle_wait_seconds": 0.05,
        "page_ids": [b.P1],
        "start_date": "2026-06-01",
        "end_date": "2026-06-03",
        "page_metrics": ["page_post_engagements", "page_daily_follows_unique"],
        "batch_api": False,
        "max_concurrency": 1,
    }
    out.update(extra)
    return out


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@dataclass
class Run:
    """One in-process run: its Singer messages, log lines and end-of-run verdict."""

    out: RunOutput
    stdout: str
    stderr: str
    logs: list[str]
    failed: RunFailedError | None

    def rows(self, page: str = b.P1) -> list[dict[str, Any]]:
        return self.out.records.get(f"page_insights_{page}", [])

    def state(self, page: str = b.P1) -> dict[str, Any]:
        assert self.out.last_state is not None
        return self.out.last_state["bookmarks"][f"page_insights_{page}"]

    def warnings(self, *needles: str) -> list[str]:
        return [
            line
            for line in self.logs
            if line.startswith("WARNING") and all(n in line for n in needles)
        ]


def assert_no_secret(graph: FakeGraph, *texts: str) -> None:
    for text in texts:
        for secret in graph.secrets():
            assert secret not in text, "a token leaked into output or logs"


def run(graph: FakeGraph, cfg: dict[str, Any], state: dict[str, Any] | None = None) -> Run:
    """Sync the real tap in-process (like ``tests.helpers.run_tap``) and check its output,
    stderr and every log line for tokens. ``finish_run``'s RunFailedError is returned."""
    catalog = graph.catalog(cfg)
    stdout, stderr = io.StringIO(), io.StringIO()
    lines = _Lines()
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)  # every line the tap can log is checked, DEBUG included
    root.addHandler(lines)
    failed = None
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            tap = TapFacebookPages(config=cfg, state=state, catalog=catalog)
            tap.sync_all()
            try:
                tap.finish_run()
            except RunFailedError as error:
                failed = error
    finally:
        root.removeHandler(lines)
        root.setLevel(level)
    result = Run(
        parse_messages(stdout.getvalue()), stdout.getvalue(), stderr.getvalue(), lines.lines, failed
    )
    assert_no_secret(graph, result.stdout, result.stderr, *result.logs, str(failed or ""))
    return result


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    """The mocked Graph API; no request can leave the process (unknown URLs are recorded as
    strays and fail the test)."""
    with requests_mock.Mocker(case_sensitive=True) as mocker:
        fake = FakeGraph(mocker)
        yield fake
        assert not fake.strays, fake.strays
        for request in mocker.request_history:
            assert request.hostname == "graph.facebook.com", request.url
            assert_no_secret(fake, request.url)  # tokens travel in a header or a POST body
