"""The lean record path under a pure alias map writes what the SDK's path writes.

A fleet runs with ``{"page_insights_*": {"__alias__": "page_insights"}}`` so that every page
lands in one table. That map only renames the stream, so the lean path keeps serving it and
writes the alias as the stream name; any map that changes, drops or filters records takes the
SDK's path. The reference is the SDK's own path (``fast_path: false``), compared on the raw
lines of stdout: RECORD lines byte for byte once ``time_extracted`` is removed, SCHEMA and STATE
lines as they are.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from singer_sdk.mapper import CustomStreamMap, PluginMapper, SameRecordTransform

from tap_facebook_pages.catalog_file import parse_catalog
from tap_facebook_pages.sandbox import SandboxServer
from tap_facebook_pages.sdk_fastpath import alias_only
from tap_facebook_pages.streams.base import GraphStream
from tap_facebook_pages.tap import TapFacebookPages
from tests.helpers import insights_only, sandbox_config, select_catalog

TODAY = dt.date(2026, 11, 20)
# Two windows per page, and a breakdown so object values and is_from_ads rows are included.
RANGE = {
    "start_date": "2026-05-01",
    "end_date": "2026-08-31",
    "window_days": 90,
    "breakdowns": ["is_from_ads"],
}
ALIAS = {"page_insights_*": {"__alias__": "page_insights"}}
TIME_EXTRACTED = re.compile(rb',"time_extracted":"[^"]*"')


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(today=TODAY, fleet=2) as srv:
        yield srv


def _raw_run(sandbox: SandboxServer, **extra: Any) -> list[bytes]:
    """Sync in-process, the catalog read as the CLI reads a --catalog file (one Schema object
    for the fleet's equal entries); the stdout lines as written."""
    config = sandbox_config(sandbox.url, **RANGE, **extra)
    catalog = parse_catalog(json.dumps(select_catalog(config, insights_only)))
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        tap = TapFacebookPages(config=config, catalog=catalog)
        tap.sync_all()
        tap.finish_run()
    return buffer.getvalue().encode().splitlines()


def _spy(monkeypatch: pytest.MonkeyPatch) -> dict[str, bool]:
    """Record the lean-path decision of every stream that asks."""
    decisions: dict[str, bool] = {}
    decide = GraphStream._lean_path

    def spy(self: GraphStream, write_messages: bool) -> bool:
        decisions[self.name] = decide(self, write_messages)
        return decisions[self.name]

    monkeypatch.setattr(GraphStream, "_lean_path", spy)
    return decisions


def _kind(line: bytes) -> str:
    return str(json.loads(line)["type"])


def test_alias_map_lean_path_writes_what_the_sdk_path_writes(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    decisions = _spy(monkeypatch)
    lean = _raw_run(sandbox, stream_maps=ALIAS)
    monkeypatch.undo()
    reference = _raw_run(sandbox, stream_maps=ALIAS, fast_path=False)

    insights = sorted(n for n in decisions if n.startswith("page_insights_"))
    assert len(insights) == 5  # 3 fixed pages + a fleet of 2
    assert {n: decisions[n] for n in insights} == dict.fromkeys(insights, True)

    # RECORD lines: byte-identical once time_extracted is removed (each line has one).
    assert all(TIME_EXTRACTED.search(line) for line in lean if _kind(line) == "RECORD")
    assert [TIME_EXTRACTED.sub(b"", line) for line in lean] == [
        TIME_EXTRACTED.sub(b"", line) for line in reference
    ]
    # SCHEMA and STATE lines: identical as written.
    for kind in ("SCHEMA", "STATE"):
        assert [x for x in lean if _kind(x) == kind] == [x for x in reference if _kind(x) == kind]

    messages = [json.loads(line) for line in lean]
    streams = {m["stream"] for m in messages if m["type"] == "RECORD"}
    assert streams == {"pages", "page_insights"}
    schemas = {m["stream"] for m in messages if m["type"] == "SCHEMA"}
    assert schemas == {"pages", "page_insights"}
    rows = [m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] != "pages"]
    assert len({r["page_id"] for r in rows}) == 5
    assert len(rows) > 5 * 2 * 120  # several metrics x 123 days per page
    # A STATE between the two windows of every page; bookmarks stay per source stream.
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    assert len(states) >= 5 * 2
    assert set(insights) <= set(states[-1]["bookmarks"])


def test_the_alias_map_is_built_once_for_a_fleet_and_copied_per_page(
    sandbox: SandboxServer,
) -> None:
    """The SDK builds the same alias map (two deep copies of the schema) for every page; the
    fast path builds it for the first page and gives each other page a copy under its own
    stream name. Without the fast path every page gets its own map."""

    def maps(**extra: Any) -> dict[str, Any]:
        config = sandbox_config(sandbox.url, **RANGE, stream_maps=ALIAS, **extra)
        catalog = parse_catalog(json.dumps(select_catalog(config, insights_only)))
        tap = TapFacebookPages(config=config, catalog=catalog)
        return {
            name: found
            for name, (found,) in tap.mapper.stream_maps.items()
            if name.startswith("page_insights_")
        }

    fast = maps()
    assert len(fast) == 5
    assert all(type(m) is CustomStreamMap for m in fast.values())
    assert len({id(m) for m in fast.values()}) == 5
    assert len({id(m.raw_schema) for m in fast.values()}) == 1  # built once
    assert {name: m.stream_name for name, m in fast.items()} == {n: n for n in fast}
    assert {name: alias_only(m, name) for name, m in fast.items()} == dict.fromkeys(
        fast, "page_insights"
    )
    sdk = maps(fast_path=False)
    assert len({id(m.raw_schema) for m in sdk.values()}) == 5
    assert all(
        (s.stream_alias, s.transformed_schema, s.transformed_key_properties)
        == (f.stream_alias, f.transformed_schema, f.transformed_key_properties)
        for s, f in zip(sdk.values(), fast.values(), strict=True)
    )


@pytest.mark.parametrize(
    "page_map",
    [
        {"__alias__": "page_insights", "title": "__NULL__"},
        {"__alias__": "page_insights", "title": "metric + ' (renamed)'"},
        {"__alias__": "page_insights", "__filter__": "period == 'day' and value != 0"},
    ],
    ids=["drop", "expression", "filter"],
)
def test_alias_maps_that_change_records_take_the_sdk_path(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, page_map: dict[str, str]
) -> None:
    decisions = _spy(monkeypatch)
    lines = _raw_run(sandbox, stream_maps={"page_insights_*": page_map})
    monkeypatch.undo()

    insights = [n for n in decisions if n.startswith("page_insights_")]
    assert insights
    assert {n: decisions[n] for n in insights} == dict.fromkeys(insights, False)
    messages = [json.loads(line) for line in lines]
    rows = [m["record"] for m in messages if m["type"] == "RECORD"]
    assert {m["stream"] for m in messages if m["type"] == "RECORD"} == {"pages", "page_insights"}
    mapped = [r for r in rows if "metric" in r]
    assert mapped
    if "title" in page_map and page_map["title"] == "__NULL__":
        assert all("title" not in r for r in mapped)
    elif "title" in page_map:
        assert all(r["title"] == r["metric"] + " (renamed)" for r in mapped)
    else:
        assert all(r["period"] == "day" and r["value"] != 0 for r in mapped)
        unfiltered = _raw_run(sandbox, stream_maps=ALIAS)
        assert len(mapped) < sum(b'"stream":"page_insights"' in x for x in unfiltered)


# -- which maps count as a pure alias (the SDK's own map objects) ---------------------------

SCHEMA = {
    "type": "object",
    "properties": {
        "page_id": {"type": "string"},
        "title": {"type": ["string", "null"]},
        "value": {"type": ["integer", "null"]},
    },
    "required": ["page_id"],
}


def _maps(stream_maps: dict[str, Any], **config: Any) -> list[Any]:
    mapper = PluginMapper({"stream_maps": stream_maps, **config}, logging.getLogger("test"))
    mapper.register_raw_stream_schema("page_insights_1", SCHEMA, ["page_id"])
    return mapper.stream_maps["page_insights_1"]


@pytest.mark.parametrize(
    ("stream_maps", "config", "expected"),
    [
        ({}, {}, "page_insights_1"),
        (ALIAS, {}, "page_insights"),
        ({"page_insights_1": {"__alias__": "page_insights"}}, {}, "page_insights"),
        ({"page_insights_*": {"__alias__": "__stream_name__[:13]"}}, {}, "page_insights"),
        ({"page_insights_*": {}}, {}, "page_insights_1"),
        ({"page_insights_*": {"__alias__": "page_insights", "title": "__NULL__"}}, {}, None),
        ({"page_insights_*": {"__alias__": "page_insights", "title": None}}, {}, None),
        ({"page_insights_*": {"__alias__": "page_insights", "value": "value * 2"}}, {}, None),
        ({"page_insights_*": {"__alias__": "page_insights", "__filter__": "True"}}, {}, None),
        (
            {"page_insights_*": {"__alias__": "page_insights", "__key_properties__": []}},
            {},
            None,
        ),
        (
            {
                "page_insights_*": {
                    "__alias__": "page_insights",
                    "__else__": None,
                    "page_id": "page_id",
                }
            },
            {},
            None,
        ),
        ({"page_insights_*": "__NULL__"}, {}, None),
        (ALIAS, {"flattening_enabled": True, "flattening_max_depth": 1}, None),
        ({}, {"flattening_enabled": True, "flattening_max_depth": 1}, None),
    ],
    ids=[
        "no map",
        "wildcard alias",
        "exact alias",
        "alias expression",
        "empty map",
        "drop",
        "drop none",
        "expression",
        "filter",
        "key properties",
        "else null",
        "removed",
        "alias flattened",
        "flattened",
    ],
)
def test_alias_only_recognises_exactly_the_pure_alias(
    stream_maps: dict[str, Any], config: dict[str, Any], expected: str | None
) -> None:
    maps = _maps(stream_maps, **config)
    assert len(maps) == 1
    assert alias_only(maps[0], "page_insights_1") == expected
    if expected is not None:  # and it does pass records through unchanged, under that name
        record = {"page_id": "1", "title": "t", "value": 3}
        assert maps[0].transform(dict(record)) == record
        assert maps[0].stream_alias == expected


def test_the_sdk_represents_an_alias_map_as_a_custom_map() -> None:
    """What the detection is written against: ``__alias__`` alone gives a ``CustomStreamMap``
    in place of the default ``SameRecordTransform`` (no second map)."""
    (default,) = _maps({})
    (alias,) = _maps(ALIAS)
    assert type(default) is SameRecordTransform
    assert type(alias) is CustomStreamMap
    assert alias.stream_alias == "page_insights"
    # A projection (``__source__``) adds a second map: not a lean stream.
    assert len(_maps({"copy": {"__source__": "page_insights_1"}})) == 2
