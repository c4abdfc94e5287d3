"""Keep tokens and the app secret out of every log line, error text and followed URL."""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
_PREFIX = 4  # characters of a secret used to group secrets for a quick first test
_SECRET_PARAMS = frozenset({"access_token", "appsecret_proof", "client_secret", "input_token"})
# Belt and braces for strings we did not build ourselves (exceptions from requests, API text):
# any access_token=/appsecret_proof= query value, and Bearer headers.
_PARAM_RE = re.compile(
    r"((?:access_token|appsecret_proof|client_secret|input_token|fb_exchange_token)=)[^&\s\"'#]+",
    re.IGNORECASE,
)
_BEARER_RE = re.compile(r"(Bearer\s+)[A-Za-z0-9._|\-]+", re.IGNORECASE)


def strip_secret_params(url: str) -> str:
    """Drop ``access_token`` (and other secret params) from a URL handed back by the API."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in _SECRET_PARAMS
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


class Redactor:
    """Replaces every registered secret (tokens, page tokens, app secret) in text."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()
        # Secrets grouped by their first characters (Facebook tokens share a prefix), longest
        # first within a group so that no secret masks only part of another.
        # None: secrets were added since the groups were built (they are built again when a
        # text is next redacted, so a fleet's page tokens, added one by one during discovery,
        # are sorted once instead of once per token).
        self._groups: tuple[tuple[str, tuple[str, ...]], ...] | None = ()

    def add(self, *secrets: str | None) -> None:
        """Register secrets to mask (short strings are ignored: they would mask ordinary text)."""
        with self._lock:
            fresh = {s for s in secrets if s and len(s) >= 8 and s not in self._secrets}
            if not fresh:
                return
            self._secrets |= fresh
            self._groups = None

    def _current_groups(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        groups = self._groups
        if groups is not None:
            return groups
        with self._lock:
            if self._groups is None:
                grouped: dict[str, list[str]] = {}
                for secret in sorted(self._secrets, key=len, reverse=True):
                    grouped.setdefault(secret[:_PREFIX], []).append(secret)
                self._groups = tuple((prefix, tuple(group)) for prefix, group in grouped.items())
            return self._groups

    def redact(self, text: str) -> str:
        """The text with every known secret and secret-looking URL parameter masked.

        Substring tests only (C speed): one per group of secrets sharing a prefix, then one per
        secret of a group whose prefix occurs. A regex alternation of a fleet's page tokens was
        far slower per log line, and had to be recompiled whenever a page token was learned.
        """
        if not text:
            return text
        for prefix, group in self._current_groups():
            if prefix in text:
                for secret in group:
                    if secret in text:
                        text = text.replace(secret, MASK)
        if "=" in text:
            text = _PARAM_RE.sub(r"\1" + MASK, text)
        return _BEARER_RE.sub(r"\1" + MASK, text)


class RedactingFilter(logging.Filter):
    """A logging filter that renders each record once and masks secrets in the result.

    Installed on the handlers of the root logger, so it sees the SDK's lines, ours and
    those of requests/urllib3 alike.
    """

    def __init__(self, redactor: Redactor) -> None:
        super().__init__("redact")
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the message (args merged in) and any exception text of ``record``."""
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not kill logging
            message = str(record.msg)
        record.msg = self.redactor.redact(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            record.exc_text = self.redactor.redact(
                logging.Formatter().formatException(record.exc_info)
            )
            exc.args = tuple(self.redactor.redact(str(a)) for a in exc.args)
        return True


REDACTOR = Redactor()
"""The process-wide redactor: every token the tap learns is registered here."""


def install_redaction(redactor: Redactor = REDACTOR) -> None:
    """Attach one redacting filter to every handler of the root logger (idempotent)."""
    root = logging.getLogger()
    handlers = list(root.handlers)
    for handler in handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter(redactor))
