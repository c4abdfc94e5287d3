"""The run report: what each page/stream did, what failed, and the end-of-run verdict."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from tap_facebook_pages.graph.errors import clean_text


def describe_error(error: BaseException) -> str:
    """One line naming what went wrong (a Graph error's own description; never a traceback)."""
    describe = getattr(error, "describe", None)
    if callable(describe):
        return str(describe())
    text = clean_text(str(error), 300)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


@dataclass
class Failure:
    """One unit of work that could not be completed."""

    page_id: str
    stream: str
    detail: str
    metrics: tuple[str, ...] = ()
    date_range: str = ""

    def line(self) -> str:
        """One human line naming page, stream, metric set and date range."""
        parts = [f"page {self.page_id}", f"stream {self.stream}"]
        if self.metrics:
            parts.append(f"metrics {','.join(self.metrics)}")
        if self.date_range:
            parts.append(f"dates {self.date_range}")
        return f"{'; '.join(parts)}: {self.detail}"


class StreamMeter:
    """What one page's stream cost in this run (Graph calls, retries, waits, time), from the
    Graph client's statistics of that page, for the stream's summary line."""

    def __init__(self, stats: Any) -> None:
        self._stats = stats
        self._before = (stats.requests, stats.retries, stats.throttle_wait_s)
        self._started = time.monotonic()

    def costs(self) -> dict[str, Any]:
        """``requests``, ``retries`` and ``throttle_wait_s`` since the stream started."""
        stats, before = self._stats, self._before
        return {
            "requests": stats.requests - before[0],
            "retries": stats.retries - before[1],
            "throttle_wait_s": round(stats.throttle_wait_s - before[2], 3),
        }

    def duration_s(self) -> float:
        """Seconds since the stream started."""
        return round(time.monotonic() - self._started, 3)


@dataclass
class RunReport:
    """Collects failures, skips and per-stream summaries of one run (thread-safe)."""

    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    started: float = field(default_factory=time.monotonic)
    failures: list[Failure] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    rows: int = 0
    missing_values: int = 0
    schema_drift: int = 0
    permission_regressions: int = 0
    _drift_seen: set[tuple[str, str, str, str]] = field(default_factory=set, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def fail(self, failure: Failure) -> None:
        """Record a failed unit of work."""
        with self._lock:
            self.failures.append(failure)

    def skip(self, page_id: str, reason: str) -> None:
        """Record a page skipped on purpose (revoked access, missing ANALYZE task)."""
        with self._lock:
            self.skipped.append((page_id, reason))

    def page_denied(
        self, logger: logging.Logger, *, page_id: str, what: str, error: BaseException
    ) -> None:
        """The one policy for a page-level permission answer: WARNING, skip, exit 0."""
        detail = describe_error(error)
        logger.warning(
            "Page %s: access lost (%s); skipping the page's %s. Re-grant the token's user a role "
            "with the ANALYZE task on the page (and pages_read_engagement, read_insights).",
            page_id,
            detail,
            what,
        )
        with self._lock:
            if page_id not in {p for p, _ in self.skipped}:
                self.skipped.append((page_id, detail))

    def window_failed(
        self,
        logger: logging.Logger,
        *,
        page_id: str,
        stream: str,
        what: str,
        metrics: tuple[str, ...],
        dates: tuple[Any, Any],
        error: BaseException,
    ) -> None:
        """The one policy for a unit of work (page x stream x window) that failed: a named
        failure (exit 1) and one ERROR line; the caller stops that page's stream there."""
        detail = describe_error(error)
        since, last = dates
        self.fail(
            Failure(
                page_id=page_id,
                stream=stream,
                detail=detail,
                metrics=metrics,
                date_range=f"{since}..{last}",
            )
        )
        logger.error(
            "Page %s: could not read %s for %s..%s: %s. The page's later days are read on the "
            "next run.",
            page_id,
            what,
            since,
            last,
            detail,
        )

    def count_missing(self, count: int) -> None:
        """Add requested values the API answered without (named in a WARNING already)."""
        with self._lock:
            self.missing_values += count

    def schema_drift_found(
        self,
        logger: logging.Logger,
        *,
        page_id: str,
        level: str,
        metric: str,
        kind: str,
        detail: str,
    ) -> None:
        """One WARNING ``schema_drift {json}`` per (page, level, metric, kind) per run, counted
        in the run summary (source/drift.py finds them; the rows are not changed)."""
        key = (page_id, level, metric, kind)
        with self._lock:
            if key in self._drift_seen:
                return
            self._drift_seen.add(key)
            self.schema_drift += 1
        line = {
            "run_id": self.run_id,
            "page_id": page_id,
            "level": level,
            "metric": metric,
            "kind": kind,
            "detail": detail,
        }
        logger.warning("schema_drift %s", json.dumps(line))

    def page_field_drift(
        self,
        logger: logging.Logger,
        *,
        field: str,
        kind: str,
        page_ids: list[str],
    ) -> None:
        """One WARNING ``schema_drift {json}`` per page field and kind per run, naming every page
        it concerns (a field Meta adds or drops usually changes on every page at once), counted
        in the run summary's ``schema_drift``."""
        key = ("*", "PAGE_FIELD", field, kind)
        with self._lock:
            if key in self._drift_seen:
                return
            self._drift_seen.add(key)
            self.schema_drift += 1
        detail = (
            "the API answered a field the pages stream has no column for; its value is not loaded"
            if kind == "page_field_added"
            else "answered on the previous run, not on this one"
        )
        line = {
            "run_id": self.run_id,
            "page_ids": page_ids,
            "level": "PAGE",
            "field": field,
            "kind": kind,
            "detail": detail,
        }
        logger.warning("schema_drift %s", json.dumps(line))

    def permission_regression(
        self,
        logger: logging.Logger,
        *,
        what: str,
        lost: list[str],
        page_id: str | None = None,
    ) -> None:
        """One WARNING ``permission_regression {json}`` for a scope or a page's tasks the token
        had on the previous run and lacks now (source/permissions.py), counted in the run
        summary."""
        with self._lock:
            self.permission_regressions += 1
        line: dict[str, Any] = {"run_id": self.run_id, "what": what, "lost": lost}
        if page_id is not None:
            line["page_id"] = page_id
        logger.warning("permission_regression %s", json.dumps(line))

    def stream_done(
        self,
        logger: logging.Logger,
        meter: StreamMeter,
        *,
        page_id: str,
        stream: str,
        rows: int,
        **fields: Any,
    ) -> None:
        """The one structured line for a page's stream at the end of its sync: page, stream,
        rows, what it cost (``meter``), the stream's own ``fields``, and its duration."""
        with self._lock:
            self.rows += rows
        line = {
            "run_id": self.run_id,
            "page_id": page_id,
            "stream": stream,
            "rows": rows,
            **meter.costs(),
            **fields,
            "duration_s": meter.duration_s(),
        }
        logger.info("sync summary %s", json.dumps(line, default=str))

    def summary(self) -> dict[str, Any]:
        """The run summary as a dict (logged as one JSON line)."""
        return {
            "run_id": self.run_id,
            "rows": self.rows,
            "failed": len(self.failures),
            "missing_values": self.missing_values,
            "schema_drift": self.schema_drift,
            "permission_regressions": self.permission_regressions,
            "skipped_pages": sorted({p for p, _ in self.skipped}),
            "duration_s": round(time.monotonic() - self.started, 3),
        }
