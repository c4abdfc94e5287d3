"""Turn Graph insights results into rows: one row per (metric, period, end_time, breakdown key).

- A plain number gives one row with ``breakdown_key`` ``""``.
- An object value (``{"like": 3, "love": 1}``) gives one row per key, ``breakdown_key`` = the key,
  and keeps the whole object (JSON) in ``value_json``; an empty object gives a single ``""`` row
  with a null value, so the day is still present.
- The flat breakdown format (``breakdown=is_from_ads``: several values per end_time, each with
  ``"is_from_ads": "0"|"1"``) gives ``breakdown_key`` ``is_from_ads=0`` / ``is_from_ads=1``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from typing import Any

from tap_facebook_pages.graph.errors import MalformedAnswerError
from tap_facebook_pages.windows import end_time_and_day

BREAKDOWN_FIELDS = ("is_from_ads", "is_from_followers")


def _number(value: Any) -> int | float | None:
    """A value as the API sent it: only a real JSON number is a number. Text ("1_000"),
    booleans and non-finite floats are not coerced (their raw JSON stays in ``value_json``)."""
    if type(value) is int:
        return value
    if type(value) is float and math.isfinite(value):
        return value
    return None


def _breakdown_prefix(entry: dict[str, Any], breakdowns: Iterable[str]) -> str:
    for field in breakdowns:
        if field in entry:
            raw = entry[field]
            flag = {"true": "1", "false": "0", True: "1", False: "0"}.get(raw, str(raw))
            return f"{field}={flag}"
    return ""


def value_rows(
    value: Any, prefix: str = ""
) -> Iterator[tuple[str, int | float | None, str | None]]:
    """``(breakdown_key, value, value_json)`` for one API value."""
    if isinstance(value, dict):
        value_json = _json(value)
        if not value:
            yield prefix, None, value_json
            return
        for key in sorted(value, key=str):
            full = f"{prefix};{key}" if prefix else str(key)
            yield full, _number(value[key]), value_json
        return
    number = _number(value)
    if number is None and value is not None:
        yield prefix, None, _json(value)
    else:
        yield prefix, number, None


def _json(value: Any) -> str:
    """The value's JSON text, as close to what the API sent as Python can write it."""
    try:
        return json.dumps(value, sort_keys=True, default=str, allow_nan=True)
    except (TypeError, ValueError):  # pragma: no cover - keys of mixed types
        return json.dumps(str(value))


def _malformed(what: str) -> MalformedAnswerError:
    return MalformedAnswerError(f"unexpected insights answer: {what}")


def answer_entries(body: Any) -> list[dict[str, Any]]:
    """The ``data`` entries of an insights answer, checked for the documented shape (raises
    ``MalformedAnswerError`` otherwise, which is retried, then a named failure)."""
    if not isinstance(body, dict):
        raise _malformed(f"the body is a {type(body).__name__}, not an object")
    data = body.get("data", [])
    if not isinstance(data, list):
        raise _malformed(f"'data' is a {type(data).__name__}, not a list")
    for entry in data:
        if not isinstance(entry, dict):
            raise _malformed(f"a 'data' entry is a {type(entry).__name__}, not an object")
        values = entry.get("values", [])
        if not isinstance(values, list):
            raise _malformed(f"'values' of {entry.get('name')!r} is not a list")
        for item in values:
            if not isinstance(item, dict):
                raise _malformed(f"a value of {entry.get('name')!r} is not an object")
    return data


def insights_rows(
    data: Iterable[dict[str, Any]],
    *,
    base: dict[str, Any],
    breakdowns: Iterable[str] = BREAKDOWN_FIELDS,
    lifetime_day: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Rows for the ``data`` array of an insights response.

    ``base`` holds the identifying fields copied into every row (``page_id``, or ``post_id``
    and friends). For time-series metrics ``end_time`` and ``date`` come from each value; for
    ``lifetime`` values (no ``end_time``) ``date`` is ``lifetime_day`` (the observation day)
    and ``end_time`` is null.

    This is the per-record hot path of a backfill: the common case (an integer value, no
    breakdown field) builds its row directly; everything else goes through ``value_rows``.
    """
    breakdowns = tuple(breakdowns)
    for entry in data:
        metric = entry.get("name")
        # Every row of the entry is a copy of this template with its own values filled in (a
        # dict copy is cheaper than building the row; the key order is the schema's).
        template = {
            **base,
            "metric": metric,
            "period": entry.get("period"),
            "end_time": None,
            "date": None,
            "value": None,
            "value_json": None,
            "breakdown_key": "",
            "title": entry.get("title"),
            "description": entry.get("description"),
        }
        for item in entry.get("values") or ():
            raw_end = item.get("end_time")
            end_time: str | None
            day: str | None
            if raw_end is not None:
                try:
                    end_time, day = end_time_and_day(raw_end)
                except (TypeError, ValueError, OverflowError):
                    raise _malformed(f"end_time {str(raw_end)[:40]!r} is not a timestamp") from None
            elif lifetime_day is None:
                raise _malformed(f"a value of {metric!r} has no end_time")
            else:
                end_time, day = None, lifetime_day
            value = item.get("value")
            # An item holding only "value" (and "end_time") has no breakdown field.
            extra = len(item) - ("end_time" in item) > 1
            prefix = _breakdown_prefix(item, breakdowns) if extra else ""
            if type(value) is int and not prefix:
                row = template.copy()
                row["end_time"] = end_time
                row["date"] = day
                row["value"] = value
                yield row
                continue
            for key, number, value_json in value_rows(value, prefix):
                row = template.copy()
                row["end_time"] = end_time
                row["date"] = day
                row["value"] = number
                row["value_json"] = value_json
                row["breakdown_key"] = key
                yield row
