"""Read the Graph usage headers and pace calls per scope (one page, or the app/user).

Meta cannot tell a client its quota in advance: the only signal is the percentage it reports in
``X-Business-Use-Case-Usage`` (page and system-user tokens, keyed by the business object id),
``X-App-Usage`` (user tokens) and the legacy ``X-Page-Usage``. We keep the latest reading per
scope, slow down past ``SLOW_AT`` percent and pause past ``PAUSE_AT`` percent.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SLOW_AT = 75.0
PAUSE_AT = 95.0
APP_SCOPE = "app"


@dataclass
class Usage:
    """The latest usage reading of one scope."""

    percent: float = 0.0
    regain_seconds: float = 0.0
    seen_at: float = 0.0


def _load(value: str | None) -> Any:
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def _pct(entry: Mapping[str, Any]) -> float:
    values = [entry.get(k) for k in ("call_count", "total_cputime", "total_time")]
    numbers = [float(v) for v in values if isinstance(v, (int, float))]
    return max(numbers, default=0.0)


def parse_usage_headers(headers: Mapping[str, str]) -> dict[str, Usage]:
    """Usage readings by scope from one response's headers (page ids, or ``app``).

    Headers are looked up case-insensitively (requests gives a case-insensitive dict; batch
    sub-responses give plain dicts we normalise before calling).
    """
    lower = {k.lower(): v for k, v in headers.items()}
    readings: dict[str, Usage] = {}
    now = time.monotonic()
    buc = _load(lower.get("x-business-use-case-usage"))
    if isinstance(buc, dict):
        for object_id, entries in buc.items():
            if not isinstance(entries, list):
                continue
            percent = max((_pct(e) for e in entries if isinstance(e, dict)), default=0.0)
            regain = max(
                (
                    float(e.get("estimated_time_to_regain_access") or 0)
                    for e in entries
                    if isinstance(e, dict)
                ),
                default=0.0,
            )
            readings[str(object_id)] = Usage(percent, regain * 60.0, now)
    for header in ("x-app-usage", "x-page-usage"):
        app = _load(lower.get(header))
        if isinstance(app, dict):
            current = readings.get(APP_SCOPE, Usage(seen_at=now))
            current.percent = max(current.percent, _pct(app))
            readings[APP_SCOPE] = current
    return readings


class UsagePacer:
    """Per-scope pacing from the latest usage headers.

    ``delay_for(scope)`` is how long to wait before the next call to that scope: nothing below
    ``SLOW_AT``; a delay growing linearly up to ``slow_max_seconds`` between ``SLOW_AT`` and
    ``PAUSE_AT``; at or past ``PAUSE_AT`` a pause of the API's regain estimate (or
    ``pause_seconds``), capped at ``max_wait_seconds``. Waiting is the caller's business, so
    other pages keep going meanwhile when calls run concurrently.
    """

    def __init__(
        self,
        *,
        slow_max_seconds: float = 2.0,
        pause_seconds: float = 60.0,
        max_wait_seconds: float = 900.0,
    ) -> None:
        self.slow_max_seconds = slow_max_seconds
        self.pause_seconds = pause_seconds
        self.max_wait_seconds = max_wait_seconds
        self._usage: dict[str, Usage] = {}
        self._lock = threading.Lock()

    def observe(self, headers: Mapping[str, str]) -> None:
        """Record the usage headers of one response."""
        readings = parse_usage_headers(headers)
        if readings:
            with self._lock:
                self._usage.update(readings)

    def usage(self, scope: str) -> Usage | None:
        """The latest reading of ``scope`` (a page id or ``app``), if any."""
        with self._lock:
            return self._usage.get(scope)

    def delay_for(self, scope: str | None) -> tuple[float, str]:
        """Seconds to wait before calling ``scope`` and why (``""`` when no wait)."""
        scopes = [s for s in (scope, APP_SCOPE) if s]
        best = (0.0, "")
        with self._lock:
            for name in scopes:
                usage = self._usage.get(name)
                if usage is None or usage.percent < SLOW_AT:
                    continue
                if usage.percent >= PAUSE_AT:
                    wait = usage.regain_seconds or self.pause_seconds
                    reason = f"usage {usage.percent:.0f}% of {name} quota: pause"
                else:
                    share = (usage.percent - SLOW_AT) / (PAUSE_AT - SLOW_AT)
                    wait = self.slow_max_seconds * share
                    reason = f"usage {usage.percent:.0f}% of {name} quota: slow down"
                wait = min(wait, self.max_wait_seconds)
                if wait > best[0]:
                    best = (wait, reason)
        return best

    def forget(self, scope: str) -> None:
        """Drop the reading of ``scope`` after waiting out a throttle; the next response
        brings a fresh one."""
        with self._lock:
            self._usage.pop(scope, None)
