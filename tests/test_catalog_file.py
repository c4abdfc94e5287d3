"""The --catalog file read with shared parts (catalog_file.py, issue 15): the same catalog as
the SDK's parse, one Schema and one set of property metadata objects for equal entries, and
the same Singer output whether the catalog comes as a file (the CLI) or as a dict."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from singer_sdk.singerlib import Catalog
from singer_sdk.singerlib.json import deserialize_json

from tap_facebook_pages.catalog_file import parse_catalog, read_catalog
from tap_facebook_pages.sandbox import SandboxServer
from tests.helpers import insights_only, run_tap, sandbox_config, select_catalog

TODAY = dt.date(2026, 11, 20)
DAYS = {"start_date": "2026-11-10", "end_date": "2026-11-19"}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(today=TODAY, fleet=5) as srv:
        yield srv


def _catalog(sandbox: SandboxServer) -> dict:
    catalog = select_catalog(sandbox_config(sandbox.url, **DAYS), insights_only)
    entries = {s["tap_stream_id"]: s for s in catalog["streams"]}
    # A deselected property on one page, and a number with a fraction in a schema.
    page = entries["page_insights_100000000000002"]
    for item in page["metadata"]:
        if item["breadcrumb"] == ["properties", "title"]:
            item["metadata"]["selected"] = False
    entries["pages"]["schema"]["properties"]["fan_count"]["maximum"] = 1e12 + 0.5
    return catalog


def test_the_same_catalog_as_the_sdk_parse_with_equal_parts_shared(
    sandbox: SandboxServer,
) -> None:
    text = json.dumps(_catalog(sandbox))
    ours, sdk = parse_catalog(text), Catalog.from_dict(deserialize_json(text))
    assert list(ours) == list(sdk)
    assert ours == sdk
    assert ours.to_dict() == sdk.to_dict()
    pages = [e for name, e in ours.items() if name.startswith("page_insights_")]
    assert len(pages) == 8
    assert all(e.schema is pages[0].schema for e in pages)
    metric = ("properties", "metric")
    assert all(e.metadata[metric] is pages[0].metadata[metric] for e in pages)
    # The stream's own metadata is never shared: the SDK sets `selected` on it.
    assert len({id(e.metadata[()]) for e in pages}) == len(pages)
    title = ("properties", "title")
    assert pages[1].metadata[title].selected is False
    assert pages[0].metadata[title].selected is not False


def test_a_file_and_a_dict_give_the_same_output(sandbox: SandboxServer, tmp_path: Path) -> None:
    catalog = _catalog(sandbox)
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog), encoding="utf-8")
    assert read_catalog(path) == parse_catalog(path.read_bytes())
    config = sandbox_config(sandbox.url, **DAYS)
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")

    def lines(messages: list[dict]) -> list[str]:
        kept = [{k: v for k, v in m.items() if k != "time_extracted"} for m in messages]
        return [json.dumps(m, sort_keys=True) for m in kept]

    sandbox.reset_usage()
    from_dict = lines(run_tap(config, catalog=catalog).messages)
    sandbox.reset_usage()
    argv = [sys.executable, "-m", "tap_facebook_pages", "--config", str(config_path)]
    cli = subprocess.run(
        [*argv, "--catalog", str(path)],
        capture_output=True,
        check=True,
        timeout=120,
    )
    from_file = lines([json.loads(line) for line in cli.stdout.splitlines()])
    assert len(from_dict) > 100
    assert from_file == from_dict
    assert re.search(rb"run summary", cli.stderr)


CATALOG_TEXTS = [
    '{"streams": [{"tap_stream_id": "a", "schema": {"properties": {}}, "metadata": []}]}',
    "{}",
    '{"streams": {"a": 1}}',
    '{"streams": "x"}',
    '{"streams": [1]}',
    '{"streams": [{"schema": {}}]}',
    '{"streams": [{"tap_stream_id": 7}]}',
    '{"streams": [{"tap_stream_id": "a", "schema": [1, 2]}]}',
    '{"streams": [{"tap_stream_id": "a", "schema": 1.5}]}',
    '{"streams": [{"tap_stream_id": "a", "metadata": {"x": 1}}]}',
    '{"streams": [{"tap_stream_id": "a", "metadata": [{"breadcrumb": []}, 3]}]}',
    '{"streams": [{"tap_stream_id": "a", "metadata": [[1]]}]}',
    '{"streams": [{"tap_stream_id": "a", "schema": {}}, null]}',
]


@pytest.mark.parametrize("text", CATALOG_TEXTS)
def test_the_catalog_check_reads_an_outline_with_the_same_verdict(
    text: str, tmp_path: Path
) -> None:
    """The CLI checks the --catalog file on an outline (schemas and metadata items as ``{}``):
    the same verdict and message as on the whole file."""
    from tap_facebook_pages import validation  # noqa: PLC0415

    path = tmp_path / "k.json"
    path.write_text(text, encoding="utf-8")

    def verdict(value: object) -> str:
        try:
            validation.check_catalog(value, source="catalog file k.json")
        except validation.ConfigError as error:
            return str(error)
        return "ok"

    outline = validation._catalog_outline(str(path))
    assert outline is not None
    assert verdict(outline) == verdict(validation.load_json_file(str(path), "catalog file k.json"))


def test_streams_set_up_from_shared_parts_equal_the_sdks_own_set_up(
    sandbox: SandboxServer,
) -> None:
    """Each stream's catalog settings, input schema and selection mask, with the fast path's
    set-up (one ``to_dict`` per shared Schema, one resolution per equal metadata), equal the
    SDK's own (``fast_path: false``), stream by stream; including one page with a deselected
    property and one with catalog overrides of its keys and replication method."""
    from tap_facebook_pages.tap import TapFacebookPages  # noqa: PLC0415

    catalog = _catalog(sandbox)
    entries = {s["tap_stream_id"]: s for s in catalog["streams"]}
    odd = entries["page_insights_100000000000003"]
    odd["replication_method"] = "FULL_TABLE"
    for item in odd["metadata"]:
        if not item["breadcrumb"]:
            item["metadata"]["table-key-properties"] = ["page_id", "metric", "end_time"]
    text = json.dumps(catalog)

    def set_up(fast: bool) -> dict[str, tuple]:
        config = sandbox_config(sandbox.url, **DAYS, fast_path=fast)
        tap = TapFacebookPages(config=config, catalog=parse_catalog(text), state={})
        return {
            name: (
                stream.primary_keys,
                stream.replication_key,
                stream.forced_replication_method,
                stream._input_schema,  # what the SDK's apply_catalog sets
                dict(stream.mask),
                stream.selected,
            )
            for name, stream in tap.streams.items()
        }

    fast, sdk = set_up(True), set_up(False)
    assert len(fast) == len(sdk) > 8
    assert fast == sdk
    assert fast["page_insights_100000000000003"][2] == "FULL_TABLE"
    assert fast["page_insights_100000000000002"][4][("properties", "title")] is False
    assert fast["page_insights_100000000000001"][4][("properties", "title")] is True
