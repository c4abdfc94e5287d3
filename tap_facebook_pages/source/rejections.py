"""Metrics the API refused for one page: remembered in state with why and when, re-asked later.

One policy for page, post and reel insights:

- A metric refused alone (see ``bisect.py``) is skipped for that page with one WARNING naming
  page, metric and the API's reason, and remembered in the stream's (or partition's) state:
  ``rejected_metrics: {name: {"reason", "message", "since", "checked"}}``, plus the older
  ``invalid_metrics`` list of names, kept for readers of earlier states.
- It is asked again, alone, ``REPROBE_DAYS[reason]`` days after it was last checked: a retired
  metric rarely (one wrong answer must never blacklist a live metric forever), a denied one
  sooner (permissions can be granted later). A metric that answers is dropped from the list.
  Names found only in the older list carry no date and are asked again on the next run.
- Every skip taken from state is warned once per run.
- The metrics to request are the configured ones minus those refused, plus the live replacement
  the catalog names for a *retired* one.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from tap_facebook_pages.graph.errors import PERMISSION_DENIED, RETIRED, GraphError, rejection_reason
from tap_facebook_pages.metrics import MetricCatalog

REPROBE_DAYS = {RETIRED: 30, PERMISSION_DENIED: 7}
STATE_KEY = "rejected_metrics"
LEGACY_KEY = "invalid_metrics"


@dataclass(frozen=True)
class Rejection:
    """Why and when the API refused one metric for one page."""

    reason: str
    message: str
    since: str | None
    checked: str | None

    def due(self, today: datetime.date) -> bool:
        """True when the metric should be asked again (alone) in this run."""
        if not self.checked:
            return True
        try:
            checked = datetime.date.fromisoformat(self.checked)
        except ValueError:
            return True
        return (today - checked).days >= REPROBE_DAYS.get(self.reason, 7)

    def next_check(self) -> str:
        """The day the metric will be asked again."""
        try:
            checked = datetime.date.fromisoformat(self.checked or "")
        except ValueError:
            return "the next run"
        return (checked + datetime.timedelta(days=REPROBE_DAYS.get(self.reason, 7))).isoformat()


class RejectedMetrics:
    """The refused metrics of one page, read from and written to its state dict."""

    def __init__(self, state: MutableMapping[str, Any], today: datetime.date) -> None:
        self.state = state
        self.today = today
        self._items: dict[str, Rejection] = {}
        legacy = state.get(LEGACY_KEY)
        for name in legacy if isinstance(legacy, list) else ():
            if isinstance(name, str):
                self._items[name] = Rejection(RETIRED, "remembered from an earlier run", None, None)
        stored = state.get(STATE_KEY)
        for name, raw in (stored if isinstance(stored, dict) else {}).items():
            if isinstance(raw, Mapping):
                self._items[str(name)] = Rejection(
                    reason=str(raw.get("reason") or RETIRED),
                    message=str(raw.get("message") or ""),
                    since=raw.get("since") if isinstance(raw.get("since"), str) else None,
                    checked=raw.get("checked") if isinstance(raw.get("checked"), str) else None,
                )

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def get(self, name: str) -> Rejection | None:
        """The rejection of ``name``, if any."""
        return self._items.get(name)

    def names(self) -> set[str]:
        """Every refused metric."""
        return set(self._items)

    def skipped(self) -> dict[str, Rejection]:
        """Refused metrics not to be asked this run."""
        return {n: r for n, r in self._items.items() if not r.due(self.today)}

    def due(self) -> list[str]:
        """Refused metrics to ask again, alone, in this run."""
        return sorted(n for n, r in self._items.items() if r.due(self.today))

    def reject(self, name: str, error: GraphError) -> Rejection:
        """Remember that the API refused ``name`` alone today."""
        previous = self._items.get(name)
        rejection = Rejection(
            reason=rejection_reason(error) or RETIRED,
            message=error.message,
            since=(previous.since if previous and previous.since else self.today.isoformat()),
            checked=self.today.isoformat(),
        )
        self._items[name] = rejection
        self._save()
        return rejection

    def accept(self, name: str) -> None:
        """``name`` answered: it is no longer refused."""
        if self._items.pop(name, None) is not None:
            self._save()

    def _save(self) -> None:
        self.state[LEGACY_KEY] = sorted(self._items)
        self.state[STATE_KEY] = {
            name: {"reason": r.reason, "message": r.message, "since": r.since, "checked": r.checked}
            for name, r in sorted(self._items.items())
        }


def requested_metrics(
    configured: Mapping[str, tuple[str, ...]],
    rejected: RejectedMetrics,
    catalog: MetricCatalog,
    level: str,
) -> dict[str, tuple[str, ...]]:
    """Metric -> periods to request: configured minus refused (a due one included: it is asked
    again), plus the catalog's live replacement of a retired one."""
    due = set(rejected.due())
    requested: dict[str, tuple[str, ...]] = {}
    for metric, periods in configured.items():
        rejection = rejected.get(metric)
        if rejection is None or metric in due:
            requested.setdefault(metric, periods)
            continue
        if rejection.reason != RETIRED:
            continue
        replacement = catalog.live_replacement(metric, level)
        meta = catalog.get(replacement, level) if replacement else None
        if replacement and meta and replacement not in rejected:
            usable = tuple(p for p in periods if p in meta.supported_periods) or periods
            requested.setdefault(replacement, usable)
    return requested


def warn_rejected(
    logger: logging.Logger,
    *,
    page_id: str,
    level: str,
    name: str,
    rejection: Rejection,
    replacement: str | None,
) -> None:
    """The one WARNING for a metric refused in this run."""
    what = (
        "as not a valid insights metric (retired by Meta)"
        if rejection.reason == RETIRED
        else "for lack of permission"
    )
    then = (
        f"requesting its replacement '{replacement}'"
        if replacement and rejection.reason == RETIRED
        else "continuing without it; the page's other metrics are kept"
    )
    logger.warning(
        "Page %s: %s metric '%s' was refused by the API %s: %s; %s. Remembered in state and "
        "asked again on %s.",
        page_id,
        level.lower(),
        name,
        what,
        rejection.message,
        then,
        rejection.next_check(),
    )


def warn_skipped(
    logger: logging.Logger, *, page_id: str, level: str, skipped: Mapping[str, Rejection]
) -> None:
    """One WARNING per metric skipped because state says the API refused it."""
    for name, rejection in sorted(skipped.items()):
        logger.warning(
            "Page %s: skipping %s metric '%s': the API refused it (%s, since %s, last checked "
            "%s: %s); it is asked again on %s.",
            page_id,
            level.lower(),
            name,
            rejection.reason,
            rejection.since or "an earlier run",
            rejection.checked or "never",
            rejection.message,
            rejection.next_check(),
        )
