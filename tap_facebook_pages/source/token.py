"""The access token's lifetime: one ``/debug_token`` call per run, read alongside discovery.

Meta wants ``/debug_token`` called with the app token ``{app-id}|{app-secret}``; without
``app_id`` and ``app_secret`` the token inspects itself. ``input_token`` is a query parameter of
a GET, and no token may travel in a URL (proxies and server logs keep URLs): the GET goes as the
one item of a Graph batch request, its ``relative_url`` (with ``input_token``, the calling
token and its ``appsecret_proof``) in the POST body, like the insights batches. Redaction masks
``input_token`` and both tokens in any text. The check is advisory: an error answer costs one
INFO line and the run goes on.
"""

from __future__ import annotations

import datetime
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from tap_facebook_pages.graph.client import GraphClient
from tap_facebook_pages.graph.errors import (
    AuthError,
    GraphError,
    MalformedAnswerError,
    interpret_response,
)

NEVER = "never"
DAY_SECONDS = 86400
RENEWAL_ADVICE = (
    "exchange it for a long-lived token (GET /oauth/access_token?grant_type=fb_exchange_token, "
    "see README 'Getting a token'), or use a system-user token, which does not expire"
)
RENEW_DATA_ACCESS = (
    "the token's user must re-authorize the app (log in through it again) before then, or "
    "Facebook stops answering with data"
)


def _timestamp(value: Any) -> int | None:
    """A unix timestamp from the answer (0: never), or None when absent or not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and math.isfinite(value) and value >= 0:
        return int(value)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def expiry_text(timestamp: int | None) -> str | None:
    """``"never"`` for 0, the ISO date (UTC) of a timestamp, None when unknown."""
    if timestamp is None:
        return None
    if timestamp == 0:
        return NEVER
    return datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc).date().isoformat()


@dataclass(frozen=True)
class TokenInfo:
    """What ``/debug_token`` says about the configured token."""

    type: str | None = None
    expires_at: int | None = None  # unix seconds; 0: never expires; None: not answered
    data_access_expires_at: int | None = None  # same
    scopes: tuple[str, ...] = ()
    app_id: str | None = None
    application: str | None = None
    is_valid: bool | None = None
    error: str | None = None

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> TokenInfo:
        """From the ``data`` object of a ``/debug_token`` answer (odd values become unknown)."""
        scopes = data.get("scopes")
        error = data.get("error")
        message = error.get("message") if isinstance(error, dict) else None
        valid = data.get("is_valid")
        return cls(
            type=str(data["type"]) if data.get("type") else None,
            expires_at=_timestamp(data.get("expires_at")),
            data_access_expires_at=_timestamp(data.get("data_access_expires_at")),
            scopes=tuple(str(s) for s in scopes) if isinstance(scopes, list) else (),
            app_id=str(data["app_id"]) if data.get("app_id") else None,
            application=str(data["application"]) if data.get("application") else None,
            is_valid=valid if isinstance(valid, bool) else None,
            error=str(message) if message else None,
        )

    @property
    def expires(self) -> str | None:
        """The token's expiry: ISO date, ``"never"`` or None (unknown)."""
        return expiry_text(self.expires_at)

    @property
    def data_access_expires(self) -> str | None:
        """The end of the token's data access: ISO date, ``"never"`` or None (unknown)."""
        return expiry_text(self.data_access_expires_at)


def _debug_token(client: GraphClient, token: str) -> Any:
    """``GET /debug_token?input_token=<the client's token>``, authenticated with ``token``, as a
    batch of one (no token in a URL); the parsed answer, or the classified error raised."""
    query = {"input_token": client.access_token, "access_token": token}
    proof = client.proof(token)
    if proof:
        query["appsecret_proof"] = proof
    batch = [{"method": "GET", "relative_url": f"debug_token?{urlencode(query)}"}]
    answers = client.request(
        "POST",
        "",
        data={"batch": json.dumps(batch), "include_headers": "true"},
        token=token,
        envelope=True,
    )
    client.bump(None, requests=1)
    answer = answers[0] if isinstance(answers, list) and len(answers) == 1 else None
    if not isinstance(answer, dict):
        raise MalformedAnswerError("the batch answer holds no item", path="/debug_token")
    headers = answer.get("headers")
    if isinstance(headers, list):  # usage readings count like any answer's
        client.pacer.observe(
            {str(h.get("name")): str(h.get("value")) for h in headers if isinstance(h, dict)}
        )
    code, body = answer.get("code"), answer.get("body")
    status = code if isinstance(code, int) and not isinstance(code, bool) else 0
    parsed, error = interpret_response(
        status, body if isinstance(body, str) else "", path="/debug_token"
    )
    if error is not None:
        raise error
    return parsed


def fetch_token_info(
    client: GraphClient,
    *,
    app_token: str | None,
    logger: logging.Logger,
) -> TokenInfo | None:
    """One ``/debug_token`` call about the client's token, or None (one INFO line) when it
    cannot be read. ``app_token`` authenticates the call when given, else the token itself."""
    try:
        body = _debug_token(client, app_token or client.access_token)
    except AuthError as error:
        if app_token is None:  # the token itself was rejected: discovery says so, in one line
            logger.debug("/debug_token rejected the token: %s", error.describe())
            return None
        logger.info(
            "Could not check the access token's lifetime: /debug_token rejected the app token "
            "(%s); check app_id and app_secret. Going on without.",
            error.describe(),
        )
        return None
    except GraphError as error:
        logger.info(
            "Could not check the access token's lifetime (/debug_token: %s); going on without.",
            error.describe(),
        )
        return None
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        logger.info(
            "Could not check the access token's lifetime (/debug_token answered no data "
            "object); going on without."
        )
        return None
    return TokenInfo.from_data(data)


def _days_left(timestamp: int, now: float) -> int:
    return math.ceil((timestamp - now) / DAY_SECONDS)


def _when(timestamp: int, now: float) -> str:
    days = _days_left(timestamp, now)
    date = expiry_text(timestamp)
    if days <= 0:
        return f"expired on {date}"
    return f"expires on {date} (in {days} day{'s' if days != 1 else ''})"


def log_token_info(
    info: TokenInfo,
    *,
    warning_days: int,
    logger: logging.Logger,
    clock: Callable[[], float] = time.time,
) -> None:
    """One INFO line about the token, and one WARNING per lifetime ending within
    ``warning_days`` days (with its date and what to do)."""
    now = clock()
    app = info.application or info.app_id
    parts = [f"type {info.type or 'unknown'}"]
    if app:
        parts.append(
            f"app {app}" + (f" ({info.app_id})" if info.app_id and info.application else "")
        )
    if info.expires_at == 0:
        parts.append("the token never expires")
    elif info.expires_at is not None:
        parts.append(f"the token {_when(info.expires_at, now)}")
    if info.data_access_expires_at == 0:
        parts.append("its data access never expires")
    elif info.data_access_expires_at is not None:
        parts.append(f"its data access {_when(info.data_access_expires_at, now)}")
    if info.scopes:
        parts.append(f"scopes {','.join(info.scopes)}")
    if info.is_valid is False:
        parts.append(f"NOT VALID ({info.error or 'no reason given'})")
    logger.info("Access token (/debug_token): %s.", "; ".join(parts))
    limit = now + warning_days * DAY_SECONDS
    if info.expires_at and info.expires_at <= limit:
        logger.warning("The access token %s: %s.", _when(info.expires_at, now), RENEWAL_ADVICE)
    if info.data_access_expires_at and info.data_access_expires_at <= limit:
        logger.warning(
            "The access token's data access %s: %s.",
            _when(info.data_access_expires_at, now),
            RENEW_DATA_ACCESS,
        )
