"""The metric catalog: every page/post/reel insights metric, its lifecycle and shape.

The canonical source is ``catalog.json`` next to this file (data, not code). This module only
loads it and answers questions about it; streams and config validation read the same file, so a
retirement is recorded in exactly one place. The sandbox deliberately does NOT read it: it keeps
its own description of the API (``sandbox/api_model.json``), so a wrong belief here fails a test.
"""

from __future__ import annotations

import datetime
import difflib
import functools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

import msgspec

LEVELS = ("PAGE", "POST", "REEL")
STATUSES = ("ACTIVE", "DEPRECATED", "INVALID")
VALUE_TYPES = ("number", "object")
PERIODS = ("day", "week", "days_28", "month", "lifetime", "total_over_range")


@dataclass(frozen=True)
class Metric:
    """One insights metric as the catalog describes it.

    ``requires`` names an access the metric needs beyond the page token's insights permission
    (``"monetization"``: the API answers ``(#200)`` for this one metric otherwise); ``evidence``
    says where the entry's status and periods were last confirmed; ``keys`` lists every key of
    an object value whose key set is fixed (absent when the keys vary, e.g. countries). All three
    are optional.
    """

    metric_key: str
    level: str
    supported_periods: tuple[str, ...]
    value_type: str
    supports_breakdowns: tuple[str, ...]
    status: str
    retired_on: datetime.date | None
    replacement_metric_key: str | None
    title: str
    description: str
    is_default: bool
    requires: str | None = None
    evidence: str | None = None
    keys: tuple[str, ...] | None = None  # an object's known, fixed key set; None: not compared

    @property
    def is_live(self) -> bool:
        """True when the API still answers for this metric."""
        return self.status == "ACTIVE"

    @property
    def is_object(self) -> bool:
        """True when the API returns an object (key -> number) as the value."""
        return self.value_type == "object"

    def to_dict(self) -> dict[str, Any]:
        """This metric as an entry of ``catalog.json`` (the inverse of :meth:`from_dict`;
        ``evidence`` is left out: it is the catalog's note, not the metric's behaviour)."""
        entry: dict[str, Any] = {
            "metric_key": self.metric_key,
            "level": self.level,
            "supported_periods": list(self.supported_periods),
            "value_type": self.value_type,
            "supports_breakdowns": list(self.supports_breakdowns),
            "status": self.status,
            "retired_on": self.retired_on.isoformat() if self.retired_on else None,
            "replacement_metric_key": self.replacement_metric_key,
            "title": self.title,
            "description": self.description,
            "is_default": self.is_default,
        }
        if self.requires:
            entry["requires"] = self.requires
        if self.keys:
            entry["keys"] = list(self.keys)
        return entry

    @classmethod
    def from_dict(cls, raw: dict) -> Metric:
        """Build a metric from one entry of ``catalog.json``."""
        retired = raw.get("retired_on")
        return cls(
            metric_key=raw["metric_key"],
            level=raw["level"],
            supported_periods=tuple(raw.get("supported_periods") or ()),
            value_type=raw.get("value_type", "number"),
            supports_breakdowns=tuple(raw.get("supports_breakdowns") or ()),
            status=raw["status"],
            retired_on=datetime.date.fromisoformat(retired) if retired else None,
            replacement_metric_key=raw.get("replacement_metric_key"),
            title=raw.get("title", ""),
            description=raw.get("description", ""),
            is_default=bool(raw.get("is_default", False)),
            requires=raw.get("requires"),
            evidence=raw.get("evidence"),
            keys=tuple(raw["keys"]) if raw.get("keys") else None,
        )


class MetricCatalog:
    """Lookups over the loaded catalog."""

    def __init__(self, metrics: Iterable[Metric]) -> None:
        self._by_key: dict[tuple[str, str], Metric] = {}
        for metric in metrics:
            self._by_key[(metric.level, metric.metric_key)] = metric

    def __iter__(self) -> Iterator[Metric]:
        return iter(self._by_key.values())

    def __len__(self) -> int:
        return len(self._by_key)

    def get(self, key: str, level: str = "PAGE") -> Metric | None:
        """The metric named ``key`` at ``level``, or None when the catalog does not know it."""
        return self._by_key.get((level, key))

    def at_level(self, level: str) -> list[Metric]:
        """All metrics of one level, in catalog order."""
        return [m for m in self._by_key.values() if m.level == level]

    def defaults(self, level: str) -> list[str]:
        """Names of the live default metrics of ``level``, in catalog order."""
        return [m.metric_key for m in self.at_level(level) if m.is_default and m.is_live]

    def is_live(self, key: str, level: str = "PAGE") -> bool:
        """True when ``key`` is a known, active metric at ``level``."""
        metric = self.get(key, level)
        return metric is not None and metric.is_live

    def live_replacement(self, key: str, level: str = "PAGE") -> str | None:
        """The live metric Meta named as the replacement of ``key``, following chains."""
        seen: set[str] = set()
        metric = self.get(key, level)
        while (
            metric is not None and metric.replacement_metric_key and metric.metric_key not in seen
        ):
            seen.add(metric.metric_key)
            candidate = self.get(metric.replacement_metric_key, level)
            if candidate is None:
                return None
            if candidate.is_live:
                return candidate.metric_key
            metric = candidate
        return None

    def closest(self, key: str, level: str = "PAGE", n: int = 3) -> list[str]:
        """Up to ``n`` known live metric names that look like ``key`` (for error messages)."""
        names = [m.metric_key for m in self.at_level(level) if m.is_live]
        return difflib.get_close_matches(key, names, n=n, cutoff=0.5)


def _catalog_text() -> str:
    return resources.files(__package__).joinpath("catalog.json").read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def load_catalog() -> MetricCatalog:
    """Load the packaged catalog (cached: the file is read once per process)."""
    # msgspec decodes the 160 KB file in about a fifth of json's time (every start reads it).
    raw = msgspec.json.decode(resources.files(__package__).joinpath("catalog.json").read_bytes())
    return MetricCatalog(Metric.from_dict(entry) for entry in raw["metrics"])


class CatalogOverrideError(ValueError):
    """An override file (``metric_catalog_path``) that cannot be used; the text names why."""


@functools.lru_cache(maxsize=1)
def _override_schema() -> dict:
    """The catalog's JSON schema, as an override file is checked against it: ``version`` and
    ``metrics`` (at least one entry) are required, ``as_of`` is optional (a local correction
    need not claim a date), and every entry is a full metric of the same schema."""
    schema = json.loads(
        resources.files(__package__).joinpath("schema.json").read_text(encoding="utf-8")
    )
    schema["required"] = ["version", "metrics"]
    return schema


def _schema_problem(raw: object) -> str | None:
    from jsonschema import Draft202012Validator  # noqa: PLC0415 - only when an override is set

    validator = Draft202012Validator(
        _override_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    errors = sorted(
        validator.iter_errors(raw),
        key=lambda e: (len(e.absolute_path), [str(p) for p in e.absolute_path]),
    )
    if not errors:
        return None
    error = errors[0]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    if error.absolute_path and error.absolute_path[0] == "metrics" and len(error.path) > 1:
        entry = raw["metrics"][error.absolute_path[1]]  # type: ignore[index]
        name = entry.get("metric_key") if isinstance(entry, dict) else None
        if isinstance(name, str):
            where += f" ({name[:60]})"
    message = error.message if len(error.message) <= 160 else error.message[:157] + "..."
    if error.validator in {"oneOf", "anyOf", "if", "allOf"} and error.context:
        message = error.context[0].message[:160]
    return f"{where.lstrip('.') or 'the file'}: {message}"


def read_override(path: str) -> list[Metric]:
    """The metrics of the override file ``path`` (raises ``CatalogOverrideError``)."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise CatalogOverrideError("not found") from None
    except IsADirectoryError:
        raise CatalogOverrideError("is a directory, expected a JSON file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise CatalogOverrideError(f"cannot be read ({type(error).__name__})") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        msg = f"not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        raise CatalogOverrideError(msg) from None
    problem = _schema_problem(raw)
    if problem:
        raise CatalogOverrideError(f"not a metric catalog: {problem}")
    metrics = [Metric.from_dict(entry) for entry in raw["metrics"]]
    seen: set[tuple[str, str]] = set()
    for metric in metrics:
        key = (metric.level, metric.metric_key)
        if key in seen:
            msg = f"{metric.level} metric '{metric.metric_key}' is listed more than once"
            raise CatalogOverrideError(msg)
        seen.add(key)
    return metrics


def merged_catalog(path: str | None) -> MetricCatalog:
    """The packaged catalog with the override file ``path`` merged over it by (level,
    metric_key): an override entry replaces the packaged one (in its place) or adds a metric.
    Without ``path``, the packaged catalog itself. Never cached or installed globally: the
    result belongs to the run whose settings named the file."""
    base = load_catalog()
    if not path:
        return base
    return MetricCatalog([*base, *read_override(path)])
