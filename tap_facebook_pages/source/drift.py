"""Schema drift: an insights answer that does not look like the run's metric catalog says.

Three kinds, compared per answer entry (one metric, one period) against the run's catalog
(``Settings.catalog``, with ``metric_catalog_path`` merged in):

- ``value_type``: the catalog calls the metric ``number`` and a value is an object, or the reverse;
- ``period``: the entry's period is not among the catalog's ``supported_periods``;
- ``retired``: the catalog calls the metric retired (DEPRECATED or INVALID) and it answers values.

Each (page, level, metric, kind) is reported once per run by the run report (one WARNING
``schema_drift {json}`` and the ``schema_drift`` count of the run summary). Drift never changes
the rows: an object value where a number was expected still lands in ``value_json``. Metrics the
catalog does not know are not compared (the sources warn about them already).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import logging

    from tap_facebook_pages.metrics import Metric, MetricCatalog
    from tap_facebook_pages.report import RunReport

KINDS = ("value_type", "period", "retired")


def _answered_types(entry: dict[str, Any]) -> list[str]:
    """The value types of an entry's values, in order of first appearance (null, text and
    booleans are neither a number nor an object and are not compared)."""
    seen: list[str] = []
    for item in entry.get("values") or ():
        value = item.get("value") if isinstance(item, dict) else None
        if isinstance(value, dict):
            kind = "object"
        elif type(value) in {int, float}:
            kind = "number"
        else:
            continue
        if kind not in seen:
            seen.append(kind)
    return seen


def findings(
    entry: dict[str, Any], metric: Metric, known_periods: Iterable[str] = ()
) -> list[tuple[str, str]]:
    """``(kind, detail)`` for each way ``entry`` differs from the catalog's ``metric``;
    ``known_periods`` are answered periods that are not drift (a known API habit)."""
    out: list[tuple[str, str]] = []
    if not metric.is_live and entry.get("values"):
        retired = f" (retired {metric.retired_on})" if metric.retired_on else ""
        out.append(("retired", f"catalog status {metric.status}{retired}, but the API answered"))
    other = [t for t in _answered_types(entry) if t != metric.value_type]
    if other:
        article = "an" if other[0] == "object" else "a"
        out.append(
            (
                "value_type",
                f"catalog value_type {metric.value_type}, answered {article} {other[0]}",
            )
        )
    period = entry.get("period")
    known = (*metric.supported_periods, *known_periods)
    if isinstance(period, str) and period not in known:
        out.append(
            (
                "period",
                f"answered period {period}, catalog lists {','.join(metric.supported_periods)}",
            )
        )
    return out


def check_drift(
    entries: Iterable[dict[str, Any]],
    *,
    catalog: MetricCatalog,
    level: str,
    page_id: str,
    report: RunReport,
    logger: logging.Logger,
    known_periods: Iterable[str] = (),
) -> None:
    """Compare the answer ``entries`` (each named by the metric the tap asked for) with
    ``catalog`` and report every drift found (once per page, level, metric and kind per run).
    ``known_periods``: periods the level's answers carry next to the catalog's (see
    ``findings``)."""
    known = tuple(known_periods)
    for entry in entries:
        name = entry.get("name")
        metric = catalog.get(name, level) if isinstance(name, str) else None
        if metric is None:
            continue
        for kind, detail in findings(entry, metric, known):
            report.schema_drift_found(
                logger,
                page_id=page_id,
                level=level,
                metric=metric.metric_key,
                kind=kind,
                detail=detail,
            )
