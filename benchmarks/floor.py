"""The floor reference: a minimal page-insights extractor, measured beside the tap.

It makes the same Graph calls as the tap does for the same work (``/me/permissions``, a one-item
batch with ``/debug_token`` and the paginated ``/me/accounts`` listing, sent side by side; then
one insights call per page and window, in batches of 50, up to ``max_concurrency`` HTTP requests
in flight, each on its own keep-alive connection), decodes every answer into typed msgspec
Structs and writes the RECORD lines of the ``pages`` and ``page_insights_<id>`` streams, byte
for byte as the tap writes them (``time_extracted`` aside). Nothing else: no SCHEMA, no STATE,
no retries, no validation, no logging. Standard library and msgspec only; keep it lean, a slow
floor flattens every ratio in BENCHMARKS.md.

Usage: python benchmarks/floor.py --config CONFIG.json > out.jsonl
(the tap's own config file: access_token, api_base_url, start_date, end_date, page_metrics,
periods, max_concurrency). At exit it writes ``floor summary {json}`` to stderr: records, Graph
calls, HTTP round trips, sync duration (after imports) and peak RSS (VmHWM).
"""

import datetime
import http.client
import json
import sys
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

import msgspec

BATCH = 50
WINDOW_DAYS = 90
PAGE_FIELDS = (
    "id,name,category,category_list,fan_count,followers_count,verification_status,link,"
    "username,about,website,is_published"
)
UTC = datetime.timezone.utc
PACIFIC = ZoneInfo("America/Los_Angeles")
ONE_DAY = datetime.timedelta(days=1)


class Category(msgspec.Struct):
    id: str | None = None
    name: str | None = None


class PageNode(msgspec.Struct):
    """One page of ``/me/accounts``: the page record's fields, its tasks and its token."""

    id: str
    access_token: str | None = None
    name: str | None = None
    category: str | None = None
    category_list: list[Category] | None = None
    fan_count: int | None = None
    followers_count: int | None = None
    verification_status: str | None = None
    link: str | None = None
    username: str | None = None
    about: str | None = None
    website: str | None = None
    is_published: bool | None = None
    tasks: list[str] | None = None


class PageRecord(msgspec.Struct):
    """A ``pages`` row, fields in the tap's order."""

    id: str
    name: str | None
    category: str | None
    category_list: list[Category] | None
    fan_count: int | None
    followers_count: int | None
    verification_status: str | None
    link: str | None
    username: str | None
    about: str | None
    website: str | None
    is_published: bool | None
    tasks: list[str] | None


class Paging(msgspec.Struct):
    next: str | None = None


class Accounts(msgspec.Struct):
    data: list[PageNode] = []
    paging: Paging | None = None


class Permission(msgspec.Struct):
    permission: str
    status: str


class Permissions(msgspec.Struct):
    data: list[Permission] = []


class TokenData(msgspec.Struct):
    is_valid: bool = False
    expires_at: int | None = None
    data_access_expires_at: int | None = None
    scopes: list[str] = []


class DebugToken(msgspec.Struct):
    data: TokenData


class BatchItem(msgspec.Struct):
    code: int
    body: str | None = None


class Value(msgspec.Struct):
    end_time: str | None = None
    value: bool | int | float | str | dict[str, Any] | None = None


class Metric(msgspec.Struct):
    name: str
    period: str
    values: list[Value] = []
    title: str | None = None
    description: str | None = None


class Insights(msgspec.Struct):
    data: list[Metric] = []


class Row(msgspec.Struct):
    """A ``page_insights_<id>`` row, fields in the tap's order."""

    page_id: str
    metric: str
    period: str
    end_time: str | None
    date: str | None
    value: int | float | None
    value_json: str | None
    breakdown_key: str
    title: str | None
    description: str | None


encode = msgspec.json.Encoder().encode
decode_batch = msgspec.json.Decoder(list[BatchItem]).decode
decode_insights = msgspec.json.Decoder(Insights).decode
decode_accounts = msgspec.json.Decoder(Accounts).decode
decode_permissions = msgspec.json.Decoder(Permissions).decode
decode_debug = msgspec.json.Decoder(DebugToken).decode


class Graph:
    """Keep-alive HTTP connections, one per thread, and a call counter."""

    def __init__(self, base_url: str, version: str, token: str) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.https = parts.scheme == "https"
        self.root = f"/{version}/"
        self.token = token
        self.local = threading.local()
        self.lock = threading.Lock()
        self.round_trips = 0
        self.calls = 0

    def _send(self, method: str, path: str, body: bytes | None, calls: int) -> bytes:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            conn = self.local.conn = kind(self.host, self.port, timeout=300)
        headers = {"Authorization": "Bearer " + self.token}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body, headers)
        response = conn.getresponse()
        payload = response.read()
        with self.lock:
            self.round_trips += 1
            self.calls += calls
        if response.status != 200:
            raise SystemExit(f"floor: {method} {path}: HTTP {response.status}")
        return payload

    def get(self, path: str, query: dict[str, Any] | None = None) -> bytes:
        url = self.root + path + ("?" + urlencode(query) if query else "")
        return self._send("GET", url, None, 1)

    def get_url(self, url: str) -> bytes:
        """A ``paging.next`` link, rebased on our own host (its token dropped: ours is in the
        header)."""
        parts = urlsplit(url)
        query = "&".join(p for p in parts.query.split("&") if not p.startswith("access_token="))
        return self._send("GET", parts.path + "?" + query, None, 1)

    def batch(self, relative_urls: list[str]) -> list[BatchItem]:
        items = [{"method": "GET", "relative_url": url} for url in relative_urls]
        body = urlencode({"batch": json.dumps(items), "include_headers": "true"}).encode()
        items_out = decode_batch(self._send("POST", self.root, body, len(relative_urls)))
        for item in items_out:
            if item.code != 200 or item.body is None:
                raise SystemExit(f"floor: a batch item failed with HTTP {item.code}")
        return items_out


_END_TIMES: dict[str, tuple[str, str]] = {}


def end_time_and_day(raw: str) -> tuple[str, str]:
    """``2026-11-17T08:00:00+0000`` -> (``2026-11-17T08:00:00+00:00``, ``2026-11-16``)."""
    if raw.endswith("+0000"):
        moment = datetime.datetime.fromisoformat(raw[:-5]).replace(tzinfo=UTC)
    else:
        moment = datetime.datetime.strptime(raw, "%Y-%m-%dT%H:%M:%S%z").astimezone(UTC)
    day = moment.astimezone(PACIFIC).date() - ONE_DAY
    found = _END_TIMES[raw] = (moment.strftime("%Y-%m-%dT%H:%M:%S+00:00"), day.isoformat())
    return found


def _number(value: Any) -> int | float | None:
    kind = type(value)
    if kind is int or (kind is float and value == value and abs(value) != float("inf")):
        return value  # type: ignore[no-any-return]
    return None


# The tap's value_json: json.dumps(value, sort_keys=True, default=str, allow_nan=True).
_json = json.JSONEncoder(sort_keys=True, default=str, allow_nan=True).encode


def rows_of(page_id: str, answer: Insights) -> list[Row]:
    """The rows of one insights answer (plain numbers: one row; objects: one row per key)."""
    rows: list[Row] = []
    append = rows.append
    end_times = _END_TIMES
    for metric in answer.data:
        name, period, title, description = (
            metric.name,
            metric.period,
            metric.title,
            metric.description,
        )
        for item in metric.values:
            raw = item.end_time
            if raw is None:
                end_time = day = None
            else:
                end_time, day = end_times.get(raw) or end_time_and_day(raw)
            value = item.value
            if type(value) is int:
                append(
                    Row(page_id, name, period, end_time, day, value, None, "", title, description)
                )
            elif type(value) is dict:
                value_json = _json(value)
                if not value:
                    append(Row(page_id, name, period, end_time, day, None, value_json, "", title,
                               description))  # fmt: skip
                for key in sorted(value):
                    append(Row(page_id, name, period, end_time, day, _number(value[key]),
                               value_json, key, title, description))  # fmt: skip
            else:
                number = _number(value)
                value_json = _json(value) if number is None and value is not None else None
                append(Row(page_id, name, period, end_time, day, number, value_json, "", title,
                           description))  # fmt: skip
    return rows


def windows(start: datetime.date, end: datetime.date) -> list[tuple[str, str]]:
    """``(since, until)`` of each window of at most 90 days covering start..end (until
    exclusive)."""
    out = []
    since, stop = start, end + ONE_DAY
    while since < stop:
        until = min(since + datetime.timedelta(days=WINDOW_DAYS), stop)
        out.append((since.isoformat(), until.isoformat()))
        since = until
    return out


def main() -> int:
    """Extract, write RECORD lines to stdout, and a summary line to stderr."""
    started = time.monotonic()
    args = sys.argv[1:]
    if len(args) != 2 or args[0] != "--config":
        sys.stderr.write("usage: floor.py --config CONFIG.json\n")
        return 2
    with open(args[1], "rb") as handle:
        config = json.load(handle)
    graph = Graph(
        config.get("api_base_url", "https://graph.facebook.com"),
        config.get("api_version", "v25.0"),
        config["access_token"],
    )
    periods = config.get("periods") or ["day"]
    metric_param = ",".join(config["page_metrics"])
    spans = windows(
        datetime.date.fromisoformat(config["start_date"]),
        datetime.date.fromisoformat(config["end_date"]),
    )
    concurrency = int(config.get("max_concurrency", 4))
    out = sys.stdout.buffer
    records = 0

    def listing() -> list[PageNode]:
        fields = PAGE_FIELDS + ",tasks,access_token"
        answer = decode_accounts(graph.get("me/accounts", {"fields": fields, "limit": 100}))
        nodes = list(answer.data)
        while answer.paging is not None and answer.paging.next and answer.data:
            answer = decode_accounts(graph.get_url(answer.paging.next))
            nodes += answer.data
        return nodes

    def permissions() -> Permissions:
        return decode_permissions(graph.get("me/permissions"))

    def token_info() -> DebugToken:
        relative = "debug_token?" + urlencode(
            {"input_token": graph.token, "access_token": graph.token}
        )
        return decode_debug(graph.batch([relative])[0].body or "")

    def fetch(urls: list[str]) -> list[BatchItem]:
        return graph.batch(urls)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        side = [pool.submit(permissions), pool.submit(token_info)]
        nodes = listing()
        for future in side:
            future.result()
        now = datetime.datetime.now(UTC)
        head = b'{"type":"RECORD","stream":"pages","record":'
        for node in nodes:
            record = PageRecord(node.id, node.name, node.category, node.category_list,
                                node.fan_count, node.followers_count, node.verification_status,
                                node.link, node.username, node.about, node.website,
                                node.is_published, node.tasks)  # fmt: skip
            out.write(head + encode(record) + b',"time_extracted":' + encode(now) + b"}\n")
            records += 1
        # One insights call per page and window, in the tap's order, 50 to a batch.
        calls: list[tuple[str, str]] = []
        for node in nodes:
            if node.access_token is None or (
                node.tasks is not None and "ANALYZE" not in node.tasks
            ):
                continue
            for since, until in spans:
                query = {"metric": metric_param, "since": since, "until": until}
                if len(periods) == 1:
                    query["period"] = periods[0]
                query["access_token"] = node.access_token
                calls.append((node.id, f"{node.id}/insights?{urlencode(query)}"))
        batches = [calls[i : i + BATCH] for i in range(0, len(calls), BATCH)]
        ahead: deque[tuple[list[tuple[str, str]], Future[list[BatchItem]]]] = deque()
        queued = iter(batches)
        for chunk in queued:
            ahead.append((chunk, pool.submit(fetch, [url for _, url in chunk])))
            if len(ahead) >= concurrency:
                break
        while ahead:
            chunk, future = ahead.popleft()
            answers = future.result()
            nxt = next(queued, None)
            if nxt is not None:
                ahead.append((nxt, pool.submit(fetch, [url for _, url in nxt])))
            for (page_id, _), item in zip(chunk, answers, strict=True):
                rows = rows_of(page_id, decode_insights(item.body or ""))
                if not rows:
                    continue
                head = (
                    b'{"type":"RECORD","stream":"page_insights_' + page_id.encode() + b'","record":'
                )
                tail = b',"time_extracted":' + encode(datetime.datetime.now(UTC)) + b"}\n"
                out.write(head + (tail + head).join(map(encode, rows)) + tail)
                records += len(rows)
    out.flush()
    peak_kb = 0
    try:
        with open("/proc/self/status", "rb") as status:  # Linux: this process's own peak
            for line in status:
                if line.startswith(b"VmHWM:"):
                    peak_kb = int(line.split()[1])
    except OSError:
        pass
    summary = {
        "records": records,
        "graph_calls": graph.calls,
        "http_round_trips": graph.round_trips,
        "duration_s": round(time.monotonic() - started, 4),
        "peak_rss_kb": peak_kb,
    }
    sys.stderr.write("floor summary " + json.dumps(summary) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
