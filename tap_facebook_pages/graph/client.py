"""The one Graph API client: every HTTP concern of the tap lives here.

Versioned base URL, the token in the ``Authorization`` header (never in a URL), a per-token
``appsecret_proof``, error classification (``errors.py``), retries with full jitter, pacing from
usage headers (``usage.py``), paging-link hygiene and redaction (``redact.py``), and call
statistics per scope. Streams ask it for data; they never touch ``requests`` themselves.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from tap_facebook_pages.graph.errors import (
    RETRY,
    THROTTLE,
    BadRequestError,
    GraphError,
    MalformedAnswerError,
    TransientError,
    interpret_response,
)
from tap_facebook_pages.graph.redact import Redactor, strip_secret_params
from tap_facebook_pages.graph.usage import UsagePacer
from tap_facebook_pages.stopping import interruptible_sleep

USER_AGENT = "tap-facebook-pages"
_TRANSPORT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


@dataclass
class Attempts:
    """How often one call has been retried so far (see :meth:`GraphClient.next_try`)."""

    retries: int = 0
    throttles: int = 0
    delay: float = 0.0  # the backoff before the next attempt


@dataclass
class ScopeStats:
    """What the client did for one scope (a page id, or ``"app"`` for user-token calls)."""

    requests: int = 0
    retries: int = 0
    throttle_wait_s: float = 0.0
    failures: int = 0


class GraphClient:
    """A thread-safe Graph API client.

    ``scope`` arguments name whose quota a call spends (the page id for page-token calls), so
    pacing and statistics are kept per page.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_version: str,
        access_token: str,
        app_secret: str | None = None,
        max_retries: int = 5,
        backoff_base_seconds: float = 1.0,
        max_throttle_wait_seconds: float = 900.0,
        timeout_seconds: float = 120.0,
        max_connections: int = 8,
        redactor: Redactor | None = None,
        logger: logging.Logger | None = None,
        sleep: Callable[[float], None] = interruptible_sleep,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version
        self.root = f"{self.base_url}/{api_version}"
        self.access_token = access_token
        self.app_secret = app_secret
        self.max_retries = max(1, max_retries)
        self.backoff_base_seconds = max(0.0, backoff_base_seconds)
        self.max_throttle_wait_seconds = max(0.0, max_throttle_wait_seconds)
        self.timeout_seconds = timeout_seconds
        self.redactor = redactor or Redactor()
        self.redactor.add(access_token, app_secret)
        self.logger = logger or logging.getLogger("tap-facebook-pages.graph")
        self.pacer = UsagePacer(max_wait_seconds=self.max_throttle_wait_seconds, clock=clock)
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._stats: dict[str, ScopeStats] = {}
        self._stats_lock = threading.Lock()
        self.round_trips = 0
        # Errors that are final for this client however they are classified (the metric probe:
        # a single metric's "reduce the amount of data" answer is a fact about the period).
        self.final_error: Callable[[GraphError], bool] = lambda error: False
        self.session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(
            pool_connections=max_connections, pool_maxsize=max_connections
        )
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = USER_AGENT

    # -- tokens ---------------------------------------------------------------------------

    def register_token(self, token: str | None) -> None:
        """Make a token known to redaction (page tokens discovered at run time)."""
        self.redactor.add(token)

    def proof(self, token: str) -> str | None:
        """``appsecret_proof`` for ``token``: hex HMAC-SHA256(app_secret, token)."""
        if not self.app_secret:
            return None
        return hmac.new(
            self.app_secret.encode("utf-8"), token.encode("utf-8"), hashlib.sha256
        ).hexdigest()

    # -- statistics -----------------------------------------------------------------------

    def stats(self, scope: str | None) -> ScopeStats:
        """The (live) statistics of ``scope``."""
        key = scope or "app"
        with self._stats_lock:
            return self._stats.setdefault(key, ScopeStats())

    def bump(
        self,
        scope: str | None,
        *,
        requests: int = 0,
        retries: int = 0,
        failures: int = 0,
        throttle_wait_s: float = 0.0,
    ) -> None:
        """Add to the statistics of ``scope`` (thread-safe)."""
        with self._stats_lock:
            stats = self._stats.setdefault(scope or "app", ScopeStats())
            stats.requests += requests
            stats.retries += retries
            stats.failures += failures
            stats.throttle_wait_s += throttle_wait_s

    def total_calls(self) -> int:
        """Graph calls made so far (a batch's sub-requests count one each; envelopes do not)."""
        with self._stats_lock:
            return sum(s.requests for s in self._stats.values())

    # -- requests -------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return f"{self.root}/{path.lstrip('/')}"

    def backoff_delay(self, attempt: int) -> float:
        """Full jitter: uniform(0, base * 2**(attempt-1))."""
        return self._rng.uniform(0.0, self.backoff_base_seconds * (2 ** max(0, attempt - 1)))

    def note_wait(self, seconds: float, scope: str | None, reason: str) -> None:
        """Log and count a wait imposed on ``scope`` (the caller does the waiting)."""
        self.logger.warning(
            "Waiting %.1f s before calling page %s: %s", seconds, scope or "(app)", reason
        )
        self.bump(scope, throttle_wait_s=seconds)

    def pacing_wait(self, scope: str | None) -> float:
        """Seconds to hold the next call to ``scope`` (usage pacing, throttle pauses); a pause
        is logged and counted the first time any caller is told about it."""
        seconds, reason, announce = self.pacer.wait(scope)
        if seconds > 0 and announce:
            self.note_wait(seconds, scope, reason)
        return seconds

    def next_try(self, error: GraphError, attempts: Attempts, scope: str | None, path: str) -> bool:
        """The one retry policy of every Graph call, single or batch item: True when ``error``
        is worth another attempt (its wait is then imposed through the pacer or returned by
        :meth:`retry_delay`), False when the caller must give up and raise it.

        Transient errors: up to ``max_retries`` attempts with full-jitter backoff. Throttles:
        up to ``max_retries`` waits, each pausing the whole scope for the API's regain
        estimate (or a backoff of minutes' scale), capped at ``max_throttle_wait_seconds``.
        Errors ``final_error`` accepts are never retried.
        """
        if self.final_error(error):
            return False
        if error.kind == RETRY:
            attempts.retries += 1
            if attempts.retries >= self.max_retries:
                self.bump(scope, failures=1)
                return False
            self.bump(scope, retries=1)
            attempts.delay = self.backoff_delay(attempts.retries)
            self.logger.info(
                "Retrying %s for page %s in %.2f s (attempt %d of %d): %s",
                path,
                scope or "(app)",
                attempts.delay,
                attempts.retries + 1,
                self.max_retries,
                self.redactor.redact(error.describe()),
            )
            return True
        if error.kind == THROTTLE:
            attempts.throttles += 1
            if attempts.throttles >= self.max_retries:
                self.bump(scope, failures=1)
                return False
            self.bump(scope, retries=1)
            wait = error.regain_seconds or self.backoff_delay(attempts.throttles + 2)
            self.pacer.pause(scope, wait, f"throttled ({self.redactor.redact(error.describe())})")
            attempts.delay = 0.0  # the pause holds every call to the scope, this one included
            return True
        return False

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        token: str | None = None,
        scope: str | None = None,
        envelope: bool = False,
        parse: Callable[[Any], Any] | None = None,
    ) -> Any:
        """One Graph call with retries, throttle waits and pacing. Returns the parsed JSON, or
        ``parse(parsed JSON)``: a ``MalformedAnswerError`` raised by ``parse`` (an answer of an
        unexpected shape) is retried like any transient error, then raised.

        ``path_or_url`` is a path below the versioned root, or an absolute URL the API handed
        back (a ``paging.next`` link): its secret parameters are dropped and it is rebased on
        our own base URL before it is followed.
        """
        token = token or self.access_token
        if path_or_url.startswith(("http://", "https://")):
            parts = urlsplit(strip_secret_params(path_or_url))
            base = urlsplit(self.base_url)
            url = urlunsplit(parts._replace(scheme=base.scheme, netloc=base.netloc))
            log_path = parts.path
        else:
            url = self._url(path_or_url)
            log_path = "/" + path_or_url.lstrip("/")
        query = dict(params or {})
        proof = self.proof(token)
        if proof:
            query["appsecret_proof"] = proof
        headers = {"Authorization": f"Bearer {token}"}
        attempts = Attempts()
        while True:
            wait = self.pacing_wait(scope)
            if wait > 0:
                self._sleep(wait)
            parsed, error = self._send(
                method=method,
                url=url,
                query=query,
                data=data,
                headers=headers,
                scope=scope,
                log_path=log_path,
                envelope=envelope,
            )
            if error is None and parse is not None:
                try:
                    return parse(parsed)
                except MalformedAnswerError as malformed:
                    malformed.path = malformed.path or log_path
                    error = malformed
            elif error is None:
                return parsed
            if not self.next_try(error, attempts, scope, log_path):
                raise error
            if attempts.delay > 0:
                self._sleep(attempts.delay)

    def _send(
        self,
        *,
        method: str,
        url: str,
        query: Mapping[str, Any],
        data: Mapping[str, Any] | None,
        headers: Mapping[str, str],
        scope: str | None,
        log_path: str,
        envelope: bool = False,
    ) -> tuple[Any, GraphError | None]:
        """One HTTP round trip: the parsed body, or the classified error.

        A batch ``envelope`` is a round trip but not a Graph call: its items count instead.
        """
        if not envelope:
            self.bump(scope, requests=1)
        with self._stats_lock:
            self.round_trips += 1
        try:
            response = self.session.request(
                method,
                url,
                params=query or None,
                data=data,
                headers=headers,
                timeout=self.timeout_seconds,
                stream=True,
                allow_redirects=False,  # Graph never redirects an API call; never re-send a body
            )
            # The body in one read where the server sent its length (requests would gather
            # 10 kB chunks and join them: twice a batch answer's size in memory at once).
            try:
                content = b"".join(response.iter_content(chunk_size=None))
            finally:
                response.close()
        except _TRANSPORT_ERRORS as exc:
            return None, TransientError(f"network error ({type(exc).__name__})", path=log_path)
        if response.is_redirect:
            target = urlsplit(response.headers.get("Location") or "").netloc or "another place"
            return None, BadRequestError(
                f"the API answered HTTP {response.status_code}, a redirect to {target}; "
                "Graph API calls are never redirected, so it was not followed (check "
                "api_base_url and any proxy in between)",
                status=response.status_code,
                path=log_path,
            )
        self.pacer.observe(response.headers)
        usage = self.pacer.usage(scope) if scope else None
        return interpret_response(
            response.status_code,
            content,
            path=log_path,
            regain_seconds=usage.regain_seconds if usage else None,
        )

    def get(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        token: str | None = None,
        scope: str | None = None,
        parse: Callable[[Any], Any] | None = None,
    ) -> Any:
        """GET one object or edge page (``parse``: see :meth:`request`)."""
        return self.request("GET", path, params=params, token=token, scope=scope, parse=parse)

    def iterate(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        token: str | None = None,
        scope: str | None = None,
        max_pages: int = 10_000,
    ) -> Iterator[dict[str, Any]]:
        """Every page of a cursor-paged edge, following ``paging.next`` until it is absent.

        (Never use this for insights: their ``paging.next`` walks into the future.)
        """
        body = self.get(path, params, token=token, scope=scope)
        seen: set[str] = set()
        for _ in range(max_pages):
            if not isinstance(body, dict):
                msg = f"expected a JSON object, got {type(body).__name__}"
                raise MalformedAnswerError(msg, path="/" + path.lstrip("/"))
            yield body
            paging = body.get("paging")
            next_url = paging.get("next") if isinstance(paging, dict) else None
            if not next_url or not isinstance(next_url, str):
                return
            clean = strip_secret_params(next_url)
            if clean in seen:  # a cursor that repeats would loop forever
                return
            seen.add(clean)
            body = self.request("GET", clean, token=token, scope=scope)
        msg = f"more than {max_pages} pages of results; stopped following paging.next"
        raise MalformedAnswerError(msg, path="/" + path.lstrip("/"))

    def for_page(self, token: str, scope: str) -> PageClient:
        """This client bound to one page: its token and its pacing/statistics scope."""
        return PageClient(self, token, scope)

    def close(self) -> None:
        """Close pooled connections."""
        self.session.close()


@dataclass(frozen=True)
class PageClient:
    """The Graph client bound to one page: every call carries the page's token and spends (and
    is paced by) the page's own quota scope."""

    client: GraphClient
    token: str
    scope: str

    def get(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        parse: Callable[[Any], Any] | None = None,
    ) -> Any:
        """GET one object or edge page for this page (see :meth:`GraphClient.request`)."""
        return self.client.get(path, params, token=self.token, scope=self.scope, parse=parse)

    def iterate(
        self, path: str, params: Mapping[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every page of a cursor-paged edge of this page (see :meth:`GraphClient.iterate`)."""
        return self.client.iterate(path, params, token=self.token, scope=self.scope)
