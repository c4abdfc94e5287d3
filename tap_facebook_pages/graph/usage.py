"""Read the Graph usage headers and pace calls per scope (one page, or the app/user).

Meta cannot tell a client its quota in advance: the only signal is the percentage it reports in
``X-Business-Use-Case-Usage`` (page and system-user tokens, keyed by the business object id),
``X-App-Usage`` (user tokens) and the legacy ``X-Page-Usage``. A reading describes a rolling
hour, can be far above 100 (a real ``(#4)`` answer carried ``call_count: 724``), and later
answers may carry no header at all. So a reading ages out:

- below ``SLOW_AT``: nothing;
- ``SLOW_AT``..``PAUSE_AT``: calls spaced by a short delay counted from the reading (so asking
  again never postpones a call), while the reading is younger than ``reading_ttl_seconds``;
- at or above ``PAUSE_AT``: **one** pause of that scope, of the API's regain estimate (or
  ``pause_seconds``), capped at ``max_wait_seconds``, reported once. Readings that arrive while
  a pause is in force do not extend it; once it has been served the reading is spent.

Throttle errors pause their scope through the same mechanism (:meth:`UsagePacer.pause`), so the
single-call path and the batch dispatcher follow one policy and log one line per pause.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

SLOW_AT = 75.0
PAUSE_AT = 95.0
APP_SCOPE = "app"


@dataclass
class _Pause:
    until: float
    reason: str
    announced: bool = False


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


def _number(value: Any) -> float:
    """A usage figure as a finite, non-negative float; anything else (text, NaN) is 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0.0
    number = float(value)
    return number if math.isfinite(number) and number > 0 else 0.0


def _pct(entry: Mapping[str, Any]) -> float:
    return max(_number(entry.get(k)) for k in ("call_count", "total_cputime", "total_time"))


def parse_usage_headers(
    headers: Mapping[str, str], *, now: float | None = None
) -> dict[str, Usage]:
    """Usage readings by scope from one response's headers (page ids, or ``app``).

    Headers are looked up case-insensitively (requests gives a case-insensitive dict; batch
    sub-responses give plain dicts we normalise before calling).
    """
    lower = {k.lower(): v for k, v in headers.items()}
    readings: dict[str, Usage] = {}
    now = time.monotonic() if now is None else now
    buc = _load(lower.get("x-business-use-case-usage"))
    if isinstance(buc, dict):
        for object_id, entries in buc.items():
            if not isinstance(entries, list):
                continue
            percent = max((_pct(e) for e in entries if isinstance(e, dict)), default=0.0)
            regain = max(
                (
                    _number(e.get("estimated_time_to_regain_access"))
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
    """Per-scope pacing from usage readings and throttles (thread-safe).

    ``wait(scope)`` says how long to wait before the next call to that scope (and whether this
    is the first time that wait is reported, so it is logged once). Waiting is the caller's
    business, so other pages keep going meanwhile when calls run concurrently.
    """

    def __init__(
        self,
        *,
        slow_max_seconds: float = 2.0,
        pause_seconds: float = 60.0,
        max_wait_seconds: float = 900.0,
        reading_ttl_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.slow_max_seconds = slow_max_seconds
        self.pause_seconds = pause_seconds
        self.max_wait_seconds = max(0.0, max_wait_seconds)
        self.reading_ttl_seconds = reading_ttl_seconds
        self._clock = clock
        self._usage: dict[str, Usage] = {}
        self._pauses: dict[str, _Pause] = {}
        self._lock = threading.Lock()

    def observe(self, headers: Mapping[str, str]) -> None:
        """Record the usage headers of one response (a high reading pauses its scope once)."""
        readings = parse_usage_headers(headers, now=self._clock())
        if not readings:
            return
        with self._lock:
            for scope, reading in readings.items():
                if reading.percent >= PAUSE_AT or reading.regain_seconds > 0:
                    seconds = reading.regain_seconds or self.pause_seconds
                    reason = f"usage {reading.percent:.0f}% of {scope} quota: pause"
                    self._pause_locked(scope, seconds, reason, since=reading.seen_at)
                    self._usage.pop(scope, None)  # spent by the pause
                else:
                    self._usage[scope] = reading

    def usage(self, scope: str) -> Usage | None:
        """The latest reading of ``scope`` (a page id or ``app``) below the pause level, if any."""
        with self._lock:
            return self._usage.get(scope)

    def pause(self, scope: str | None, seconds: float, reason: str) -> None:
        """Stop calling ``scope`` for ``seconds`` (a throttle answer); extends, never shortens."""
        with self._lock:
            self._pause_locked(scope or APP_SCOPE, seconds, reason, since=self._clock())

    def _pause_locked(self, scope: str, seconds: float, reason: str, *, since: float) -> None:
        now = self._clock()
        until = since + min(max(0.0, seconds), self.max_wait_seconds)
        current = self._pauses.get(scope)
        if current is not None and current.until > now:
            # A pause is in force: once announced, nothing extends it (one pause, one line);
            # before that, the throttle answer that came with the reading explains it best.
            if not current.announced:
                current.until = max(current.until, until)
                current.reason = reason
            return
        if until > now:
            self._pauses[scope] = _Pause(until, reason)

    def wait(self, scope: str | None) -> tuple[float, str, bool]:
        """``(seconds, reason, announce)`` before calling ``scope``; ``announce`` is True the
        first time a pause is reported (log it then, once)."""
        now = self._clock()
        best: tuple[float, str, bool] = (0.0, "", False)
        with self._lock:
            for name in (scope, APP_SCOPE) if scope else (APP_SCOPE,):
                pause = self._pauses.get(name)
                if pause is not None:
                    if pause.until <= now:
                        del self._pauses[name]  # served
                    elif pause.until - now > best[0]:
                        announce = not pause.announced
                        pause.announced = True
                        best = (pause.until - now, pause.reason, announce)
                        continue
                usage = self._usage.get(name)
                if usage is None or usage.percent < SLOW_AT:
                    continue
                if now - usage.seen_at > self.reading_ttl_seconds:
                    del self._usage[name]  # aged out: it says nothing about the quota now
                    continue
                share = (usage.percent - SLOW_AT) / (PAUSE_AT - SLOW_AT)
                # Spacing counted from the reading, not from now: asked again and again (the
                # batch dispatcher re-checks on every wake-up) it runs out, never postpones.
                spacing = min(self.slow_max_seconds * share, self.max_wait_seconds)
                wait = usage.seen_at + spacing - now
                if wait > best[0]:
                    best = (wait, f"usage {usage.percent:.0f}% of {name} quota: slow down", False)
        return best

    def delay_for(self, scope: str | None) -> tuple[float, str]:
        """Seconds to wait before calling ``scope`` and why (``""`` when no wait)."""
        seconds, reason, _ = self.wait(scope)
        return seconds, reason
