"""Graph API error taxonomy: every failed response is classified here, and only here.

Kinds (what the caller should do):
- ``retry``: transient (codes 1, 2, 5xx, 429, ``is_transient``, broken bodies, transport errors).
- ``throttle``: a rate limit (4, 17, 32, 341, 613, 80001): wait, then retry that scope.
- ``invalid_metric``: ``(#100) … valid insights metric``: a retired metric in the request.
- ``denied``: a permission error (200-299) whose scope the answer alone does not tell: on an
  insights request it may be about one metric (Meta's monetization metrics answer ``(#200)``
  while the page's other metrics answer normally), so the caller isolates it like a retired
  metric, and only when every part of the request fails the same way is it about the page.
  Anywhere else it is about the page. ``DeniedError`` is a ``PagePermissionError``.
- ``permission``: access to one page is gone (``#10``; the ``(#100) Object does not exist,
  cannot be loaded due to missing permission…`` family; subcode 33): skip that page.
- ``auth``: the token itself is dead (190 any subcode, 102): stop the run.
- ``bad_request``: anything else (other 100s, 2500, 3001…): a bug or a config error.
"""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec

_decode = msgspec.json.decode

RETRY = "retry"
THROTTLE = "throttle"
INVALID_METRIC = "invalid_metric"
PERMISSION = "permission"
DENIED = "denied"
AUTH = "auth"
BAD_REQUEST = "bad_request"

THROTTLE_CODES = frozenset({4, 17, 32, 341, 613, 80001})
TRANSIENT_CODES = frozenset({1, 2})
AUTH_CODES = frozenset({102, 190})
INVALID_METRIC_TEXT = "valid insights metric"
# The page-level family of #100 answers: the object itself cannot be read with this token.
PAGE_LEVEL_TEXTS = ("object does not exist", "missing permission", "cannot be loaded")
UNSUPPORTED_GET_SUBCODE = 33
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def clean_text(text: str, limit: int = 500) -> str:
    """API text made safe for one log line: control characters (newlines, ANSI escapes)
    replaced by a space, and at most ``limit`` characters."""
    cleaned = _CONTROL.sub(" ", text).strip()
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


class GraphError(Exception):
    """A Graph API call that failed after classification.

    The message never contains a token: it is built from the error body's ``message`` (which
    Meta does not fill with tokens) and a path without query string.
    """

    kind = BAD_REQUEST

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        subcode: int | None = None,
        is_transient: bool = False,
        fbtrace_id: str | None = None,
        path: str | None = None,
        regain_seconds: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.subcode = subcode
        self.is_transient = is_transient
        self.fbtrace_id = fbtrace_id
        self.path = path
        self.regain_seconds = regain_seconds

    def describe(self) -> str:
        """One line: what failed and the Graph code, for logs and run summaries."""
        parts = [self.message]
        if self.code is not None:
            code = f"code {self.code}" + (f"/{self.subcode}" if self.subcode else "")
            parts.append(f"({code}, HTTP {self.status})" if self.status else f"({code})")
        elif self.status:
            parts.append(f"(HTTP {self.status})")
        if self.path:
            parts.append(f"on {self.path}")
        return " ".join(parts)

    def __str__(self) -> str:
        return self.describe()


class TransientError(GraphError):
    """Worth retrying: the API or the network failed, not the request."""

    kind = RETRY


class ThrottleError(GraphError):
    """A rate limit: stop calling this scope for a while."""

    kind = THROTTLE


class InvalidMetricError(GraphError):
    """The request named a metric the API no longer accepts."""

    kind = INVALID_METRIC


class PagePermissionError(GraphError):
    """The token lost access to one page (revoked role, missing task or permission)."""

    kind = PERMISSION


class DeniedError(PagePermissionError):
    """A permission error (#200-#299). On an insights request it may concern one metric only
    (see the module docstring); elsewhere it is about the page."""

    kind = DENIED


class AuthError(GraphError):
    """The access token is expired, revoked or invalid: nothing will work until it is replaced."""

    kind = AUTH


class BadRequestError(GraphError):
    """The request itself is wrong: a bug or a config error. Not retried."""

    kind = BAD_REQUEST


_KIND_CLASSES: dict[str, type[GraphError]] = {
    RETRY: TransientError,
    THROTTLE: ThrottleError,
    INVALID_METRIC: InvalidMetricError,
    PERMISSION: PagePermissionError,
    DENIED: DeniedError,
    AUTH: AuthError,
    BAD_REQUEST: BadRequestError,
}


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def classify_error_body(status: int, error: dict[str, Any]) -> str:
    """The kind of a Graph ``error`` object returned with HTTP ``status``."""
    code = _as_int(error.get("code"))
    message = str(error.get("message") or "")
    if code in AUTH_CODES:
        return AUTH
    if code in THROTTLE_CODES:
        return THROTTLE
    if code == 100 and INVALID_METRIC_TEXT in message:
        return INVALID_METRIC
    if code == 10:
        return PERMISSION
    if code == 100 and (
        _as_int(error.get("error_subcode")) == UNSUPPORTED_GET_SUBCODE
        or any(text in message.lower() for text in PAGE_LEVEL_TEXTS)
    ):
        return PERMISSION
    if code is not None and 200 <= code <= 299:
        return DENIED
    if error.get("is_transient") is True or code in TRANSIENT_CODES:
        return RETRY
    if status >= 500 or status == 429:
        return RETRY
    return BAD_REQUEST


def interpret_response(
    status: int,
    body: str | bytes | None,
    *,
    path: str,
    regain_seconds: float | None = None,
) -> tuple[Any, GraphError | None]:
    """Parse and classify one HTTP response: ``(parsed JSON, None)`` or ``(None, error)``.

    The body is parsed exactly once. A 200 whose body is not JSON (truncated, an HTML error
    page) is a transient failure, as is any 5xx or 429 without a Graph error object.
    """
    parsed: Any = None
    if body:
        try:
            parsed = _decode(body)  # msgspec: several times faster than json on big bodies
        except msgspec.DecodeError:
            try:  # what msgspec refuses but json accepts (NaN, Infinity)
                parsed = json.loads(body)
            except ValueError:
                parsed = None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, dict):
        kind = classify_error_body(status, error)
        return None, _KIND_CLASSES[kind](
            clean_text(str(error.get("message") or "Graph API error")),
            status=status,
            code=_as_int(error.get("code")),
            subcode=_as_int(error.get("error_subcode")),
            is_transient=error.get("is_transient") is True,
            fbtrace_id=error.get("fbtrace_id"),
            path=path,
            regain_seconds=regain_seconds if kind == THROTTLE else None,
        )
    if status >= 500 or status == 429:
        return None, TransientError("Graph API server error", status=status, path=path)
    if not isinstance(parsed, (dict, list)):
        return None, TransientError(
            "malformed or truncated response body", status=status, path=path
        )
    if status >= 400:
        return None, BadRequestError("Graph API request failed", status=status, path=path)
    return parsed, None


RETIRED = "retired"
PERMISSION_DENIED = "permission"


def rejection_reason(error: BaseException) -> str | None:
    """Why an insights request was refused because of a metric it names (``retired`` or
    ``permission``), or None when the error is not one a metric can cause."""
    if isinstance(error, InvalidMetricError):
        return RETIRED
    if isinstance(error, DeniedError):
        return PERMISSION_DENIED
    return None


class MalformedAnswerError(TransientError):
    """A 200 answer whose shape is not what the API documents (retried, then a named failure)."""
