"""The sandbox's own model of how the Graph API treats each insights metric.

The facts live in ``api_model.json`` next to this file (data, written from the shared Graph API
notes); this module only loads and queries them. The sandbox never reads the tap's metric catalog:
tests compare the two, so a wrong belief on either side becomes a failing check rather than a
belief confirmed by itself.
"""

from __future__ import annotations

import enum
import functools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

LEVELS = ("PAGE", "POST", "REEL")
PERIOD_ERRORS = ("reduce_data", "invalid_period")
LEVEL_ERRORS = ("unknown_error",)


class Verdict(enum.Enum):
    """How the API treats one metric name at one level."""

    ANSWERED = "answered"  # answers data for its periods
    MONETIZATION = "monetization"  # the whole call fails with the #200 monetization body
    EMPTY = "empty"  # accepted, answers no data entry (an empty 200)
    ERROR = "error"  # the whole call fails with the error of ``ApiModel.level_error``
    INVALID = "invalid"  # (#100) The value must be a valid insights metric


@dataclass(frozen=True)
class ApiMetric:
    """One metric the sandbox answers, as the model describes it."""

    name: str
    level: str
    periods: tuple[str, ...]
    keys: tuple[str, ...] | None  # object value with these keys; None: a number
    breakdowns: tuple[str, ...]
    title: str
    description: str
    label: str | None  # fixed period label of every row (page_follows: "Lifetime")
    period_errors: Mapping[str, str]
    sampled_total: bool
    stray_day_row: bool

    @property
    def is_object(self) -> bool:
        """True when the value is an object (key -> number)."""
        return self.keys is not None


class ApiModel:
    """Queries over the loaded model."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.periods: tuple[str, ...] = tuple(raw["periods"])
        self.period_labels: dict[str, str] = dict(raw["period_labels"])
        self._answered: dict[tuple[str, str], ApiMetric] = {}
        self._order: dict[str, list[str]] = {level: [] for level in LEVELS}
        self._gated: dict[str, frozenset[str]] = {}
        self._empty: dict[str, frozenset[str]] = {}
        self._invalid: dict[str, tuple[str, ...]] = {}
        self._errors: dict[str, dict[str, str]] = {}
        for level in LEVELS:
            spec = raw["levels"][level]
            defaults = tuple(spec["default_periods"])
            for name, entry in spec["answered"].items():
                self._answered[(level, name)] = _metric(name, level, entry, defaults, self)
                self._order[level].append(name)
            self._gated[level] = frozenset(spec.get("monetization_gated") or ())
            self._empty[level] = frozenset(spec.get("empty") or ())
            self._invalid[level] = tuple(spec.get("invalid") or ())
            self._errors[level] = dict(spec.get("errors") or {})
            for name, kind in self._errors[level].items():
                if kind not in LEVEL_ERRORS:
                    raise ValueError(f"{level} {name}: unknown error kind {kind!r}")
        self._sampled = frozenset(m.name for m in self._answered.values() if m.sampled_total)
        self.breakdowns: tuple[str, ...] = tuple(
            sorted({b for metric in self._answered.values() for b in metric.breakdowns})
        )

    def metric(self, level: str, name: str) -> ApiMetric | None:
        """The answered metric ``name`` at ``level``, or None."""
        return self._answered.get((level, name))

    def answered(self, level: str) -> list[ApiMetric]:
        """Every metric that answers data at ``level``, in model order."""
        return [self._answered[(level, name)] for name in self._order[level]]

    def __iter__(self) -> Iterator[ApiMetric]:
        return iter(self._answered.values())

    def monetization_gated(self, level: str) -> frozenset[str]:
        """Names that fail any call including them with the #200 monetization body."""
        return self._gated[level]

    def recorded_invalid(self, level: str) -> tuple[str, ...]:
        """Names recorded as answering #100 (every unknown name answers #100 too)."""
        return self._invalid[level]

    def empty(self, level: str) -> frozenset[str]:
        """Names accepted with no data entry (an empty 200)."""
        return self._empty[level]

    def level_error(self, level: str, name: str) -> str | None:
        """The error kind a call naming ``name`` at ``level`` fails with, if any."""
        return self._errors[level].get(name)

    def verdict(self, level: str, name: str) -> Verdict:
        """How the API treats ``name`` at ``level``."""
        if (level, name) in self._answered:
            return Verdict.ANSWERED
        if name in self._gated[level]:
            return Verdict.MONETIZATION
        if name in self._empty[level]:
            return Verdict.EMPTY
        if name in self._errors[level]:
            return Verdict.ERROR
        return Verdict.INVALID

    def value_keys(self, name: str) -> tuple[str, ...] | None:
        """Keys of ``name``'s object value (any level; shapes agree across levels), or None."""
        for level in LEVELS:
            metric = self._answered.get((level, name))
            if metric is not None:
                return metric.keys
        return None

    def is_sampled_total(self, name: str) -> bool:
        """True when ``name`` is a running total sampled at each end_time (page_follows)."""
        return name in self._sampled

    def label(self, metric: ApiMetric, period: str) -> str:
        """ "Daily", "Weekly", "28 Days", "Lifetime"... for ``metric`` rows of ``period``."""
        return metric.label or self.period_labels[period]

    def title(self, metric: ApiMetric, period: str) -> str:
        """The row title: "Daily Post Engagements", "Lifetime Total Follows"..."""
        return f"{self.label(metric, period)} {metric.title}"

    def description(self, metric: ApiMetric, period: str) -> str:
        """The row description: "Daily: The number of...", "28 Days: ..."."""
        return f"{self.label(metric, period)}: {metric.description}"


def _metric(
    name: str, level: str, entry: Mapping[str, Any], defaults: tuple[str, ...], model: ApiModel
) -> ApiMetric:
    periods = tuple(entry.get("periods") or defaults)
    unknown = [p for p in periods if p not in model.periods]
    errors = dict(entry.get("period_errors") or {})
    if unknown or any(kind not in PERIOD_ERRORS for kind in errors.values()):
        raise ValueError(f"{level} {name}: bad periods {periods} or period errors {errors}")
    keys = entry.get("keys")
    return ApiMetric(
        name=name,
        level=level,
        periods=periods,
        keys=tuple(keys) if keys is not None else None,
        breakdowns=tuple(entry.get("breakdowns") or ()),
        title=entry["title"],
        description=entry["description"],
        label=entry.get("label"),
        period_errors=errors,
        sampled_total=bool(entry.get("sampled_total", False)),
        stray_day_row=bool(entry.get("stray_day_row", False)),
    )


@functools.lru_cache(maxsize=1)
def load_model() -> ApiModel:
    """The packaged model (read once per process)."""
    text = resources.files(__package__).joinpath("api_model.json").read_text(encoding="utf-8")
    return ApiModel(json.loads(text))
