"""Keep tokens and the app secret out of every log line, error text and followed URL."""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
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
        self._pattern: re.Pattern[str] | None = None

    def add(self, *secrets: str | None) -> None:
        """Register secrets to mask (short strings are ignored: they would mask ordinary text)."""
        with self._lock:
            for secret in secrets:
                if secret and len(secret) >= 8 and secret not in self._secrets:
                    self._secrets.add(secret)
                    self._pattern = None

    def redact(self, text: str) -> str:
        """The text with every known secret and secret-looking URL parameter masked."""
        if not text:
            return text
        pattern = self._pattern
        if pattern is None and self._secrets:
            with self._lock:
                ordered = sorted(self._secrets, key=len, reverse=True)
                pattern = self._pattern = re.compile("|".join(re.escape(s) for s in ordered))
        if pattern is not None:
            text = pattern.sub(MASK, text)
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
