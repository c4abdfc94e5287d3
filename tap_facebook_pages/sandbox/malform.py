"""Malformed insights answers for the ``malformed`` fault (hostile-input tests).

:func:`malform` takes a successful insights body ``{"data": [entry, ...], "paging": {...}}`` and
returns it perturbed in exactly one documented way. Words used below: the *first entry* is
``data[0]``, the *last entry* ``data[-1]``; an entry's *rows* are its ``values`` list, and a
*day* of an entry is all its rows sharing one ``end_time`` (with a breakdown a day has two rows);
the *first day* is the day of the entry's first row, i.e. the first day of the window.

Kinds (an entry-level kind does nothing when ``data`` is empty, a row-level kind nothing when the
entry it names has no rows):

- ``end_time_garbage``: the first entry's first row gets ``"end_time": "not-a-time"``.
- ``end_time_missing``: the first entry's first row loses its ``end_time`` key.
- ``data_not_list``: ``"data"`` is ``{}`` (``paging`` kept).
- ``values_not_list``: the first entry's ``values`` is its first row itself (an object, not a
  list); ``{}`` when it had no rows.
- ``item_not_object``: the first entry's first row is the string ``"not-an-object"``.
- ``body_is_list``: the whole body is ``[]``.
- ``duplicate_day``: the first entry's first row appears twice: right after it comes a copy
  whose value is 1 higher (an object value: every key 1 higher), same ``end_time``.
- ``missing_day``: the first entry loses every row of its second day (of its only day when it
  has one), leaving a gap in that metric's series.
- ``missing_metric_day``: the last entry loses every row of its first day, while every other
  entry keeps that day.
- ``period_differs``: the first entry whose ``period`` is ``day`` answers ``"period": "week"``
  (name, id, title and rows unchanged).
- ``renamed_metric``: every entry of the first entry's metric carries ``name`` with an ``s``
  after its first word (``page_post_engagements`` -> ``pages_post_engagements``, as Meta's doc
  sample answers ``page_daily_video_ad_breaks_…``); ``id`` unchanged.
- ``string_values``: the first entry's first row has ``"value": "1_000"`` and its second row
  (when there is one) ``"value": "1e999"``.
- ``bool_value``: the first entry's first row has ``"value": true``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

MALFORMED_KINDS = (
    "end_time_garbage",
    "end_time_missing",
    "data_not_list",
    "values_not_list",
    "item_not_object",
    "body_is_list",
    "duplicate_day",
    "missing_day",
    "missing_metric_day",
    "period_differs",
    "renamed_metric",
    "string_values",
    "bool_value",
)
NOT_A_TIME = "not-a-time"
NOT_AN_OBJECT = "not-an-object"
STRING_VALUES = ("1_000", "1e999")


def malform(kind: str, body: Any) -> Any:
    """``body`` (an insights answer) perturbed as ``kind`` says; other bodies are returned as is."""
    if kind not in MALFORMED_KINDS:
        raise ValueError(f"unknown malformed kind {kind!r}")
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        return body
    if kind == "body_is_list":
        return []
    body = copy.deepcopy(body)
    if kind == "data_not_list":
        body["data"] = {}
        return body
    data: list[dict[str, Any]] = body["data"]
    if data:
        _ENTRY_KINDS[kind](data)
    return body


def _first_row(data: list[dict[str, Any]]) -> dict[str, Any] | None:
    rows = data[0]["values"]
    return rows[0] if rows else None


def _end_time_garbage(data: list[dict[str, Any]]) -> None:
    row = _first_row(data)
    if row is not None:
        row["end_time"] = NOT_A_TIME


def _end_time_missing(data: list[dict[str, Any]]) -> None:
    row = _first_row(data)
    if row is not None:
        row.pop("end_time", None)


def _values_not_list(data: list[dict[str, Any]]) -> None:
    row = _first_row(data)
    data[0]["values"] = row if row is not None else {}


def _item_not_object(data: list[dict[str, Any]]) -> None:
    if data[0]["values"]:
        data[0]["values"][0] = NOT_AN_OBJECT


def _bumped(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: amount + 1 for key, amount in value.items()}
    return value + 1


def _duplicate_day(data: list[dict[str, Any]]) -> None:
    row = _first_row(data)
    if row is not None:
        twin = dict(row, value=_bumped(row["value"]))
        data[0]["values"].insert(1, twin)


def _days(rows: list[dict[str, Any]]) -> list[Any]:
    seen: list[Any] = []
    for row in rows:
        if row.get("end_time") not in seen:
            seen.append(row.get("end_time"))
    return seen


def _drop_day(entry: dict[str, Any], index: int) -> None:
    days = _days(entry["values"])
    if not days:
        return
    gone = days[min(index, len(days) - 1)]
    entry["values"] = [row for row in entry["values"] if row.get("end_time") != gone]


def _missing_day(data: list[dict[str, Any]]) -> None:
    _drop_day(data[0], 1)


def _missing_metric_day(data: list[dict[str, Any]]) -> None:
    _drop_day(data[-1], 0)


def _period_differs(data: list[dict[str, Any]]) -> None:
    for entry in data:
        if entry.get("period") == "day":
            entry["period"] = "week"
            return


def renamed(name: str) -> str:
    """``name`` with an ``s`` after its first word (``page_x`` -> ``pages_x``)."""
    first, sep, rest = name.partition("_")
    return f"{first}s{sep}{rest}"


def _renamed_metric(data: list[dict[str, Any]]) -> None:
    original = data[0]["name"]
    for entry in data:
        if entry.get("name") == original:
            entry["name"] = renamed(original)


def _string_values(data: list[dict[str, Any]]) -> None:
    for row, text in zip(data[0]["values"], STRING_VALUES, strict=False):
        row["value"] = text


def _bool_value(data: list[dict[str, Any]]) -> None:
    row = _first_row(data)
    if row is not None:
        row["value"] = True


_ENTRY_KINDS: dict[str, Callable[[list[dict[str, Any]]], None]] = {
    "end_time_garbage": _end_time_garbage,
    "end_time_missing": _end_time_missing,
    "values_not_list": _values_not_list,
    "item_not_object": _item_not_object,
    "duplicate_day": _duplicate_day,
    "missing_day": _missing_day,
    "missing_metric_day": _missing_metric_day,
    "period_differs": _period_differs,
    "renamed_metric": _renamed_metric,
    "string_values": _string_values,
    "bool_value": _bool_value,
}
