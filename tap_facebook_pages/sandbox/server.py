"""The sandbox HTTP server: a stdlib ``ThreadingHTTPServer`` speaking the Graph API.

Per Graph call the server applies, in order: latency (once per HTTP round trip), the
``app_usage_spike`` and ``redirect`` faults, transient faults, token checks (missing, expired,
``appsecret_proof``), routing, per-page faults (failing, revoked, page permission), throttling,
``spurious_invalid_metric``, then the endpoint handler of :mod:`tap_facebook_pages.sandbox.graph`
and the ``malformed`` fault. Every call gets the usage headers of its token (none after an
``app_usage_spike``) and one entry in the request log.
"""

from __future__ import annotations

import base64
import datetime
import enum
import hashlib
import hmac
import http
import json
import random
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qsl, unquote, urlsplit

from tap_facebook_pages.sandbox import errors, graph
from tap_facebook_pages.sandbox.data import DEFAULT_TODAY, MAX_FLEET, page_id_for_token
from tap_facebook_pages.sandbox.errors import GraphError
from tap_facebook_pages.sandbox.faults import REDIRECT_LOCATION, Faults, ThrottleSpec
from tap_facebook_pages.sandbox.malform import malform

JSON_CONTENT_TYPE = "application/json; charset=UTF-8"
MAX_BATCH_SIZE = 50
CONTROL_PREFIX = "/__sandbox__/"

_VERSION_RE = re.compile(r"v\d+\.\d+")
_HTTP_FAULTS = ("unknown_error", "service_error", "bad_gateway", "truncated")
_BATCH_ITEM_FAULTS = ("unknown_error", "service_error")
_SECRET_PARAMS = frozenset({"access_token", "appsecret_proof"})
_PAYLOAD_CACHE_SIZE = 20_000  # rendered insights answers kept (cleared when full)
_BAD_GATEWAY_PAGE = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>"
    b"<h1>Sorry, something went wrong.</h1><p>We're working on getting this fixed as soon as "
    b"we can.</p></body></html>"
)


class _Unset(enum.Enum):
    UNSET = enum.auto()


_UNSET = _Unset.UNSET


@dataclass(frozen=True)
class _Config:
    today: datetime.date
    revision: int
    faults: Faults
    app_secret: str | None
    fleet: int = 0


@dataclass(frozen=True)
class _Call:
    """One Graph call: a plain HTTP request or one item of a batch."""

    method: str
    segments: tuple[str, ...]
    version: str | None
    params: Mapping[str, str]
    token: str | None
    proof: str | None
    batch: bool

    @property
    def path(self) -> str:
        return "/" + "/".join(self.segments)


@dataclass
class _Outcome:
    status: int = 200
    body: Any = None
    error: GraphError | None = None
    page_id: str | None = None
    throttled: ThrottleSpec | None = None
    fault: str | None = None
    payload: bytes | None = None  # a cached rendering of ``body``
    cache_key: tuple[Any, ...] | None = None  # where to cache the rendering of ``body``
    spike: str | None = None  # "spike": this call is the app_usage_spike; "after": later calls


@dataclass(frozen=True)
class _Result:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    payload: bytes = b""
    page_id: str | None = None


def _split_path(path: str) -> tuple[str | None, tuple[str, ...]]:
    """``/v25.0/a/b`` → ``("v25.0", ("a", "b"))``; the version prefix is optional."""
    segments = tuple(unquote(part) for part in path.split("/") if part)
    if segments and _VERSION_RE.fullmatch(segments[0]):
        return segments[0], segments[1:]
    return None, segments


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() not in ("bearer", "oauth"):
        return None
    return value.strip() or None


def appsecret_proof(app_secret: str, token: str) -> str:
    """``hex(HMAC-SHA256(key=app_secret, msg=token))``, as Meta's SDK computes it."""
    return hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def _to_date(value: datetime.date | str | None) -> datetime.date | None:
    if value is None or isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(value)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], sandbox: SandboxServer) -> None:
        super().__init__(address, _RequestHandler)
        self.sandbox = sandbox


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GraphSandbox/1.0"
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        """Serve a GET request."""
        cast(_HTTPServer, self.server).sandbox._dispatch(self, "GET")

    def do_POST(self) -> None:
        """Serve a POST request (batch, or sandbox control)."""
        cast(_HTTPServer, self.server).sandbox._dispatch(self, "POST")

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the console quiet; the sandbox has its own request log."""


class SandboxServer:
    """An offline Graph API server with deterministic fake data and injectable faults.

    ``today`` is the simulated Pacific date (None: the real current Pacific date, evaluated per
    request); ``revision`` changes the values of the last 5 days (late data); ``latency_ms`` is
    slept once per HTTP round trip; ``faults`` is a dict with the keys of
    :data:`tap_facebook_pages.sandbox.faults.FAULT_KEYS`; with ``app_secret`` every call must
    carry a valid ``appsecret_proof``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        today: datetime.date | str | None = None,
        revision: int = 0,
        latency_ms: float = 0,
        faults: Mapping[str, Any] | None = None,
        app_secret: str | None = None,
        fleet: int = 0,
    ) -> None:
        self._host = host
        self._port = port
        self._lock = threading.RLock()
        self._today: datetime.date | None = None
        self._revision = 0
        self._latency_ms = 0.0
        self._faults = Faults()
        self._faults_raw: dict[str, Any] = {}
        self._app_secret: str | None = None
        self._fleet = 0
        self._log: list[dict[str, Any]] = []
        self._round_trips = 0
        self._traces = 0
        self._usage: dict[str, int] = {}
        self._payloads: dict[tuple[Any, ...], bytes] = {}  # rendered insights answers
        self._rng = random.Random(0)
        self._throttle_state: dict[str, list[int]] = {}
        self._attempted_batch_urls: set[str] = set()
        self._spike_calls = 0
        self._spurious_left = 0
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.configure(
            today=today,
            revision=revision,
            latency_ms=latency_ms,
            faults=faults,
            app_secret=app_secret,
            fleet=fleet,
        )

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> SandboxServer:
        """Bind and serve in a background thread; returns ``self``."""
        if self._httpd is not None:
            return self
        self._httpd = _HTTPServer((self._host, self._port), self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="graph-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        self._httpd = None
        self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (the server must be started)."""
        if self._httpd is None:
            raise RuntimeError("the sandbox is not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    # ------------------------------------------------------------------ configuration

    def configure(
        self,
        *,
        today: datetime.date | str | _Unset | None = _UNSET,
        revision: int | _Unset = _UNSET,
        latency_ms: float | _Unset = _UNSET,
        faults: Mapping[str, Any] | _Unset | None = _UNSET,
        app_secret: str | _Unset | None = _UNSET,
        fleet: int | _Unset = _UNSET,
    ) -> None:
        """Change settings at runtime (thread-safe); omitted settings keep their value.

        ``faults`` replaces the whole fault set and resets fault progress (random sequence,
        throttle counters, null-batch memory); usage counters keep rising.
        """
        new_faults = None if isinstance(faults, _Unset) else Faults.from_dict(faults)
        new_today = None if isinstance(today, _Unset) else _to_date(today)
        if not isinstance(revision, _Unset) and int(revision) < 0:
            raise ValueError("revision must not be negative")
        if not isinstance(latency_ms, _Unset) and float(latency_ms) < 0:
            raise ValueError("latency_ms must not be negative")
        with self._lock:
            if not isinstance(today, _Unset):
                self._today = new_today
            if not isinstance(revision, _Unset):
                self._revision = int(revision)
            if not isinstance(latency_ms, _Unset):
                self._latency_ms = float(latency_ms)
            if not isinstance(app_secret, _Unset):
                self._app_secret = app_secret
            if not isinstance(fleet, _Unset):
                self._fleet = max(0, min(int(fleet), MAX_FLEET))
            if new_faults is not None:
                self._faults = new_faults
                self._faults_raw = dict(cast(Mapping[str, Any], faults or {}))
                self._rng = random.Random(new_faults.seed)
                self._throttle_state = {}
                self._attempted_batch_urls = set()
                self._spike_calls = 0
                self._spurious_left = new_faults.spurious_invalid_metric

    def settings(self) -> dict[str, Any]:
        """The current settings as JSON-able data (the app secret itself is not shown)."""
        with self._lock:
            return {
                "today": self._today.isoformat() if self._today else None,
                "revision": self._revision,
                "latency_ms": self._latency_ms,
                "faults": dict(self._faults_raw),
                "app_secret_set": self._app_secret is not None,
                "fleet": self._fleet,
            }

    def _config(self) -> _Config:
        with self._lock:
            return _Config(
                today=self._today or DEFAULT_TODAY(),
                revision=self._revision,
                faults=self._faults,
                app_secret=self._app_secret,
                fleet=self._fleet,
            )

    # ------------------------------------------------------------------ request log

    @property
    def requests(self) -> list[dict[str, Any]]:
        """A snapshot of the request log: one dict per Graph call (and per batch envelope)."""
        with self._lock:
            return [dict(entry, params=dict(entry["params"])) for entry in self._log]

    @property
    def http_round_trips(self) -> int:
        """HTTP requests served on Graph paths (a batch counts once)."""
        with self._lock:
            return self._round_trips

    def reset_log(self) -> None:
        """Clear the request log and the round-trip counter."""
        with self._lock:
            self._log.clear()
            self._round_trips = 0

    def reset_usage(self) -> None:
        """Forget the calls counted in the usage headers (a new day's quota: the simulated
        usage never decays on its own, so runs in a row would otherwise be paced)."""
        with self._lock:
            self._usage.clear()

    def _record(
        self,
        call: _Call,
        *,
        status: int | None,
        page_id: str | None,
        fault: str | None,
        envelope: bool = False,
    ) -> None:
        entry = {
            "method": call.method,
            "path": call.path,
            "version": call.version,
            "params": {k: v for k, v in call.params.items() if k != "access_token"},
            "token": call.token,
            "page_id": page_id,
            "status": status,
            "batch": call.batch,
            "batch_envelope": envelope,
            "fault": fault,
        }
        with self._lock:
            self._log.append(entry)

    # ------------------------------------------------------------------ HTTP plumbing

    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw_body = handler.rfile.read(length) if length else b""
        if parts.path.startswith(CONTROL_PREFIX):
            status, document = self._control(method, parts.path, raw_body)
            payload = json.dumps(document).encode()
            self._write(handler, _Result(status, [("Content-Type", JSON_CONTENT_TYPE)], payload))
            return
        with self._lock:
            self._round_trips += 1
            latency = self._faults.latency_ms
            latency = self._latency_ms if latency is None else latency
        if latency:
            time.sleep(latency / 1000)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        content_type = handler.headers.get("Content-Type") or ""
        if raw_body and "application/x-www-form-urlencoded" in content_type:
            params.update(parse_qsl(raw_body.decode("utf-8", "replace"), keep_blank_values=True))
        version, segments = _split_path(parts.path)
        call = _Call(
            method=method,
            segments=segments,
            version=version,
            params=params,
            token=_bearer(handler.headers.get("Authorization")) or params.get("access_token"),
            proof=params.get("appsecret_proof"),
            batch=False,
        )
        try:
            result = self._batch(call) if method == "POST" and not segments else self._execute(call)
        except Exception as exc:  # noqa: BLE001 - a sandbox bug must still answer the client
            message = json.dumps({"error": {"message": f"sandbox internal error: {exc!r}"}})
            result = _Result(500, [("Content-Type", JSON_CONTENT_TYPE)], message.encode())
        self._write(handler, result)

    @staticmethod
    def _write(handler: BaseHTTPRequestHandler, result: _Result) -> None:
        handler.send_response(result.status, http.HTTPStatus(result.status).phrase)
        for name, value in result.headers:
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(result.payload)))
        handler.end_headers()
        handler.wfile.write(result.payload)

    def _control(self, method: str, path: str, raw_body: bytes) -> tuple[int, Any]:
        """``GET /__sandbox__/log``, ``POST /__sandbox__/config``, ``POST .../reset_log``."""
        if method == "GET" and path == CONTROL_PREFIX + "log":
            return 200, {"requests": self.requests, "http_round_trips": self.http_round_trips}
        if method == "POST" and path == CONTROL_PREFIX + "reset_log":
            self.reset_log()
            return 200, {"ok": True}
        if method == "POST" and path == CONTROL_PREFIX + "config":
            try:
                changes = json.loads(raw_body or b"{}")
                if not isinstance(changes, dict):
                    raise TypeError("the body must be a JSON object")
                self.configure(**changes)
            except (TypeError, ValueError) as exc:
                return 400, {"error": str(exc)}
            return 200, {"ok": True, "settings": self.settings()}
        return 404, {"error": f"unknown sandbox control endpoint {method} {path}"}

    # ------------------------------------------------------------------ Graph pipeline

    def _trace_id(self) -> str:
        with self._lock:
            self._traces += 1
            number = self._traces
        digest = hashlib.sha256(f"trace:{number}".encode()).digest()[:17]
        return base64.b64encode(digest, altchars=b"Ab").decode().rstrip("=")

    def _draw_transient(self, faults: Faults, *, in_batch: bool) -> str | None:
        """Per-call seeded draw: two numbers per call whatever the outcome, so runs repeat."""
        if faults.transient_error_rate <= 0:
            return None
        kinds = _BATCH_ITEM_FAULTS if in_batch else _HTTP_FAULTS
        with self._lock:
            hit = self._rng.random() < faults.transient_error_rate
            kind = self._rng.choice(kinds)
        return kind if hit else None

    @staticmethod
    def _raise_transient(fault: str | None) -> None:
        if fault == "unknown_error":
            raise errors.unknown_error()
        if fault == "service_error":
            raise errors.service_error()

    @staticmethod
    def _authenticate(call: _Call, config: _Config) -> None:
        if not call.token:
            raise errors.no_token()
        if config.faults.expired_token:
            raise errors.expired_token(config.today)
        if config.app_secret is not None:
            expected = appsecret_proof(config.app_secret, call.token)
            if not call.proof:
                raise GraphError(
                    400,
                    100,
                    "API calls from the server require an appsecret_proof argument",
                    error_type="GraphMethodException",
                )
            if not hmac.compare_digest(call.proof, expected):
                raise errors.bad_appsecret_proof()

    def _throttle_spec(self, faults: Faults, token_page: str | None) -> ThrottleSpec | None:
        return faults.throttle.get(token_page) if token_page else faults.app_throttle

    def _throttle_hit(self, faults: Faults, token_page: str | None) -> ThrottleSpec | None:
        spec = self._throttle_spec(faults, token_page)
        if spec is None:
            return None
        with self._lock:
            state = self._throttle_state.setdefault(token_page or "", [0, 0])
            if state[0] >= spec.after_calls and state[1] < spec.throttled_calls:
                state[1] += 1
                return spec
        return None

    def _throttle_success(self, faults: Faults, token_page: str | None) -> None:
        if self._throttle_spec(faults, token_page) is None:
            return
        with self._lock:
            self._throttle_state.setdefault(token_page or "", [0, 0])[0] += 1

    def _usage_headers(
        self, faults: Faults, token_page: str | None, throttled: ThrottleSpec | None
    ) -> list[tuple[str, str]]:
        """BUC usage for page tokens, app usage for user tokens; one call more each time."""
        with self._lock:
            calls = self._usage.get(token_page or "", 0) + 1
            self._usage[token_page or ""] = calls
        call_count = min(99, int(calls * faults.usage_step))
        time_share = min(99, int(calls * faults.usage_step / 2))
        if throttled is not None:
            call_count = max(100, call_count)
        if token_page is None:
            usage = {
                "call_count": call_count,
                "total_time": time_share,
                "total_cputime": time_share,
            }
            return [("X-App-Usage", json.dumps(usage))]
        regain: int | str = throttled.regain_minutes if throttled is not None else 0
        if faults.usage_garbage:
            regain = "soon"
        buc = {
            token_page: [
                {
                    "type": "pages",
                    "call_count": call_count,
                    "total_cputime": time_share,
                    "total_time": time_share,
                    "estimated_time_to_regain_access": regain,
                }
            ]
        }
        return [("X-Business-Use-Case-Usage", json.dumps(buc))]

    def _bad_gateway(self, call: _Call, trace: str, *, envelope: bool = False) -> _Result:
        self._record(call, status=502, page_id=None, fault="bad_gateway", envelope=envelope)
        headers = [("Content-Type", "text/html; charset=utf-8"), ("x-fb-trace-id", trace)]
        return _Result(502, headers, _BAD_GATEWAY_PAGE)

    def _finish(
        self,
        call: _Call,
        config: _Config,
        trace: str,
        outcome: _Outcome,
        *,
        envelope: bool = False,
        record: bool = True,
    ) -> _Result:
        token_page = page_id_for_token(call.token) if call.token else None
        headers = [
            ("facebook-api-version", call.version or graph.DEFAULT_VERSION),
            ("x-fb-trace-id", trace),
            ("Content-Type", JSON_CONTENT_TYPE),
        ]
        spike = config.faults.app_usage_spike
        if outcome.spike == "spike" and spike is not None:
            usage = {"call_count": spike.call_count, "total_cputime": 30, "total_time": 40}
            headers.append(("X-App-Usage", json.dumps(usage, separators=(",", ":"))))
        elif call.token and not envelope and outcome.spike is None:
            headers += self._usage_headers(config.faults, token_page, outcome.throttled)
        body = outcome.body
        if outcome.error is not None:
            headers.append(("WWW-Authenticate", outcome.error.www_authenticate))
            body = outcome.error.body(trace)
        if outcome.payload is not None and outcome.error is None:
            payload = outcome.payload
        else:
            payload = json.dumps(body, separators=(",", ":")).encode()
            if outcome.cache_key is not None and outcome.error is None:
                with self._lock:
                    if len(self._payloads) >= _PAYLOAD_CACHE_SIZE:
                        self._payloads.clear()
                    self._payloads[outcome.cache_key] = payload
        if outcome.fault == "truncated" and outcome.status == 200:
            payload = payload[: max(1, len(payload) // 2)]
        if record:
            self._record(
                call,
                status=outcome.status,
                page_id=outcome.page_id,
                fault=outcome.fault,
                envelope=envelope,
            )
        return _Result(outcome.status, headers, payload, outcome.page_id)

    def _spike_state(self, faults: Faults) -> str | None:
        """Count one Graph call for ``app_usage_spike``: "spike" for call N+1, "after" later."""
        spike = faults.app_usage_spike
        if spike is None:
            return None
        with self._lock:
            self._spike_calls += 1
            number = self._spike_calls
        if number == spike.after_calls + 1:
            return "spike"
        return "after" if number > spike.after_calls + 1 else None

    def _redirect(self, call: _Call, trace: str, status: int, *, envelope: bool) -> _Result:
        self._record(call, status=status, page_id=None, fault="redirect", envelope=envelope)
        headers = [("Location", REDIRECT_LOCATION), ("x-fb-trace-id", trace)]
        return _Result(status, headers, b"")

    def _spurious_invalid_metric(self, route: graph.Route, call: _Call) -> bool:
        """True while ``spurious_invalid_metric`` has calls left and this one names 2+ metrics."""
        if len(route.requested_metrics(call.params)) < 2:
            return False
        with self._lock:
            if self._spurious_left <= 0:
                return False
            self._spurious_left -= 1
            return True

    def _execute(self, call: _Call, *, in_batch: bool = False) -> _Result:
        config = self._config()
        trace = self._trace_id()
        token_page = page_id_for_token(call.token) if call.token else None
        spike = self._spike_state(config.faults)
        if spike == "spike":
            outcome = _Outcome(status=403, error=errors.app_limit_spike(), spike=spike)
            outcome.fault = "app_usage_spike"
            outcome.page_id = token_page
            return self._finish(call, config, trace, outcome)
        if (
            config.faults.redirect == "get"
            and not in_batch
            and call.method == "GET"
            and len(call.segments) in (2, 3)
            and call.segments[1] in ("insights", "video_insights")
        ):
            return self._redirect(call, trace, 302, envelope=False)
        outcome = _Outcome(fault=self._draw_transient(config.faults, in_batch=in_batch))
        outcome.spike = spike
        if outcome.fault == "bad_gateway":
            return self._bad_gateway(call, trace)
        try:
            self._raise_transient(outcome.fault)
            self._authenticate(call, config)
            route = graph.resolve(call.method, call.segments, token_page, config.today)
            outcome.page_id = route.page_id
            if route.page_id in config.faults.failing_pages:
                raise errors.service_error()
            if route.page_id in config.faults.revoked_pages:
                raise errors.permissions_error()
            if route.page_id in config.faults.page_permission_pages and route.kind in (
                "page_node",
                "page_insights",
            ):
                raise errors.page_permission()
            outcome.throttled = self._throttle_hit(config.faults, token_page)
            if outcome.throttled is not None:
                code = outcome.throttled.code
                raise errors.buc_throttled() if token_page else errors.app_throttled(code)
            if route.kind in graph.INSIGHTS_KINDS and self._spurious_invalid_metric(route, call):
                outcome.fault = outcome.fault or "spurious_invalid_metric"
                raise errors.invalid_metric()
            context = graph.Context(
                today=config.today,
                revision=config.revision,
                faults=config.faults,
                base_url=self.url,
                version=call.version,
                token=str(call.token),
                token_page=token_page,
                params=call.params,
                fleet=config.fleet,
            )
            key = self._payload_key(call, config, token_page)
            cached = self._payloads.get(key) if key is not None else None
            malformed = config.faults.malformed.get(route.page_id or "")
            if route.kind != "page_insights":
                malformed = None
            if malformed is not None and outcome.fault is None:
                outcome.fault = "malformed"
            if cached is not None:
                outcome.payload = cached
            else:
                outcome.body = route.handler(context)
                outcome.cache_key = key
                if malformed is not None:
                    outcome.body = malform(malformed, outcome.body)
            self._throttle_success(config.faults, token_page)
        except GraphError as error:
            outcome.status, outcome.error = error.status, error
        if outcome.page_id is None:
            outcome.page_id = token_page
        return self._finish(call, config, trace, outcome)

    def _payload_key(
        self, call: _Call, config: _Config, token_page: str | None
    ) -> tuple[Any, ...] | None:
        """Cache key of an insights answer: everything its body depends on (the data are a
        pure function of these), or None for calls that are not cached."""
        if call.method != "GET" or not call.segments or call.segments[-1] != "insights":
            return None
        params = tuple(sorted((k, v) for k, v in call.params.items() if k not in _SECRET_PARAMS))
        return (
            call.segments,
            call.version,
            params,
            token_page,
            config.today,
            config.revision,
            config.fleet,
            repr(config.faults),
            self.url,
        )

    # ------------------------------------------------------------------ batch

    def _batch(self, call: _Call) -> _Result:
        config = self._config()
        trace = self._trace_id()
        if config.faults.redirect == "batch":
            return self._redirect(call, trace, 307, envelope=True)
        outcome = _Outcome(fault=self._draw_transient(config.faults, in_batch=False))
        if outcome.fault == "bad_gateway":
            return self._bad_gateway(call, trace, envelope=True)
        try:
            self._raise_transient(outcome.fault)
            self._authenticate(call, config)
            items = _parse_batch(call.params.get("batch"))
        except GraphError as error:
            outcome.status, outcome.error = error.status, error
            return self._finish(call, config, trace, outcome, envelope=True)
        include_headers = call.params.get("include_headers", "true").lower() != "false"
        # The envelope is logged before its items, so it is recorded here and not by _finish.
        self._record(call, status=200, page_id=None, fault=outcome.fault, envelope=True)
        results = [self._batch_item(call, item, config, include_headers) for item in items]
        outcome.body = results
        return self._finish(call, config, trace, outcome, envelope=True, record=False)

    def _first_attempt(self, relative_url: str) -> bool:
        with self._lock:
            first = relative_url not in self._attempted_batch_urls
            self._attempted_batch_urls.add(relative_url)
        return first

    def _batch_item(
        self, envelope: _Call, item: Mapping[str, Any], config: _Config, include_headers: bool
    ) -> Any:
        relative_url = str(item.get("relative_url") or "")
        parts = urlsplit("/" + relative_url.lstrip("/"))
        version, segments = _split_path(parts.path)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        call = _Call(
            method=str(item.get("method") or "GET").upper(),
            segments=segments,
            version=version or envelope.version,
            params=params,
            token=params.get("access_token") or envelope.token,
            proof=params.get("appsecret_proof") or envelope.proof,
            batch=True,
        )
        rate = config.faults.null_batch_item_rate
        first = rate > 0 and self._first_attempt(relative_url)
        if first and config.faults.is_null_batch_item(relative_url):
            self._record(call, status=None, page_id=None, fault="null_batch_item")
            return None
        result = self._execute(call, in_batch=True)
        garbage = config.faults.batch_item_garbage.get(result.page_id or "")
        if garbage == "not_object":
            return 7
        answer: dict[str, Any] = {"code": result.status}
        if include_headers:
            answer["headers"] = [{"name": name, "value": value} for name, value in result.headers]
        answer["body"] = result.payload.decode()
        if garbage == "body_object":
            try:
                answer["body"] = json.loads(answer["body"])
            except ValueError:
                answer["body"] = {"unparsable": answer["body"]}
        return answer


def _parse_batch(raw: str | None) -> list[Mapping[str, Any]]:
    if not raw:
        raise errors.invalid_parameter("(#100) The parameter batch is required")
    try:
        items = json.loads(raw)
    except ValueError:
        items = None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise errors.invalid_parameter("(#100) The parameter batch must be a JSON array of objects")
    if len(items) > MAX_BATCH_SIZE:
        raise errors.too_many_batch_requests()
    return items
