"""Schema drift: an insights answer that does not look like the run's metric catalog says.

Four kinds, compared per answer entry (one metric, one period) against the run's catalog
(``Settings.catalog``, with ``metric_catalog_path`` merged in):

- ``value_type``: the catalog calls the metric ``number`` and a value is an object, or the reverse;
- ``period``: the entry's period is not among the catalog's ``supported_periods``;
- ``retired``: the catalog calls the metric retired (DEPRECATED or INVALID) and it answers values;
- ``object_keys``: an object value carries a key outside the catalog's ``keys`` for the metric
  (only metrics whose key set is fixed list ``keys``; countries, regions or audiences vary and are
  not compared). "Never seen before" means: not in the catalog, the user's override included;
  adding the key with ``metric_catalog_path`` acknowledges it.

Page fields are compared too (``page_fields``): a field the answer carries that the ``pages``
schema has not (``page_field_added``: its value cannot land, so it is named), and a field a page
answered on the previous run and not on this one (``page_field_missing``; the API leaves out a
field without a value, so only a field a page *had* is compared, from the pages stream's state).

Each (page, level, metric, kind) is reported once per run by the run report (one WARNING
``schema_drift {json}`` and the ``schema_drift`` count of the run summary). Drift never changes
the rows: an object value where a number was expected still lands in ``value_json``. Metrics the
catalog does not know are not compared (the sources warn about them already).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import logging

    from tap_facebook_pages.metrics import Metric, MetricCatalog
    from tap_facebook_pages.report import RunReport

KINDS = ("value_type", "period", "retired", "object_keys")
PAGE_FIELD_KINDS = ("page_field_added", "page_field_missing")
PAGE_FIELDS_STATE_KEY = "page_fields"  # under bookmarks.pages, beside "permissions"


def _answered_types(entry: dict[str, Any]) -> list[str]:
    """The value types of an entry's values, in order of first appearance (null, text and
    booleans are neither a number nor an object and are not compared). Runs once per answer
    entry over every value: one type lookup per value, and it stops once both types are seen."""
    seen: list[str] = []
    for item in entry.get("values") or ():
        kind = _KIND.get(type(item.get("value"))) if type(item) is dict else None
        if kind is not None and kind not in seen:
            seen.append(kind)
            if len(seen) == len(_KINDS_SEEN):
                break
    return seen


_KIND = {dict: "object", int: "number", float: "number"}
_KINDS_SEEN = ("object", "number")


def _new_keys(entry: dict[str, Any], known: tuple[str, ...]) -> list[str]:
    """Keys of the entry's object values that are not in ``known``, sorted."""
    allowed = set(known)
    found: set[str] = set()
    for item in entry.get("values") or ():
        value = item.get("value") if isinstance(item, dict) else None
        if isinstance(value, dict):
            found.update(str(key) for key in value if str(key) not in allowed)
    return sorted(found)


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
    if metric.keys is not None:
        new = _new_keys(entry, metric.keys)
        if new:
            shown = ", ".join(new[:10]) + (f" and {len(new) - 10} more" if len(new) > 10 else "")
            out.append(
                (
                    "object_keys",
                    f"answered key(s) {shown}, catalog lists {','.join(metric.keys)}",
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


def page_fields(
    remembered: Any,
    answered: Mapping[str, Iterable[str]],
    *,
    schema_fields: Iterable[str],
) -> tuple[dict[str, Any], dict[tuple[str, str], list[str]]]:
    """Page-field drift between the previous run and this one.

    ``remembered``: the previous run's memory, ``{"compared": [fields], "absent": {page_id:
    [fields it did not answer]}}`` (anything else when there is none: nothing is missing then).
    ``answered``: the fields each page of this run answered. Returns this run's memory (pages
    not in this run keep theirs: another shard, left out of ``page_ids``) and ``{(kind, field):
    [page ids]}`` for ``page_field_added`` (a field outside ``schema_fields``) and
    ``page_field_missing`` (compared and answered by that page on the previous run, not now).
    Only what a page did *not* answer is stored, so the state grows by a few bytes a page.
    """
    schema = sorted(set(schema_fields))
    before = remembered if isinstance(remembered, Mapping) else {}
    compared_before = before.get("compared")
    compared = set(compared_before) & set(schema) if isinstance(compared_before, list) else set()
    stored = before.get("absent")
    absent_before: Mapping[str, Any] = stored if isinstance(stored, Mapping) else {}
    absent: dict[str, list[str]] = {
        str(page_id): [str(f) for f in fields]
        for page_id, fields in absent_before.items()
        if isinstance(fields, list)
    }
    found: dict[tuple[str, str], list[str]] = {}
    for page_id, fields in answered.items():
        now = {str(f) for f in fields}
        for name in sorted(now - set(schema)):
            found.setdefault(("page_field_added", name), []).append(page_id)
        if page_id in absent:
            had = compared - set(absent[page_id])
            for name in sorted(had - now):
                found.setdefault(("page_field_missing", name), []).append(page_id)
        absent[page_id] = [name for name in schema if name not in now]
    memory = {"compared": schema, "absent": dict(sorted(absent.items()))}
    return memory, dict(sorted(found.items()))
