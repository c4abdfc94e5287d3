"""A fleet's page streams (issue 15): one INFO line per page stream, and the parts equal
across pages (schemas, selections, stream maps) held once."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator

import pytest
from singer_sdk.mapper import SameRecordTransform

from tap_facebook_pages.catalog_file import parse_catalog
from tap_facebook_pages.sandbox import SandboxServer
from tap_facebook_pages.tap import TapFacebookPages
from tests.helpers import insights_only, run_tap, sandbox_config, select_catalog

TODAY = dt.date(2026, 11, 20)
DAYS = {"start_date": "2026-11-10", "end_date": "2026-11-19"}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(today=TODAY, fleet=4) as srv:
        yield srv


def test_one_info_line_per_page_stream(
    sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    config = sandbox_config(sandbox.url, **DAYS)
    catalog = select_catalog(config, insights_only)
    sandbox.reset_usage()
    with caplog.at_level(logging.INFO):
        run_tap(config, catalog=catalog)
    info = [r for r in caplog.records if r.levelno == logging.INFO]
    pages = sorted({r.name.rsplit(".", 1)[1] for r in info if ".page_insights_" in r.name})
    assert len(pages) == 7
    for page in pages:
        lines = [r.getMessage() for r in info if page in r.getMessage() or r.name.endswith(page)]
        assert len(lines) == 1, lines
        assert lines[0].startswith("sync summary {")
        assert '"starting_replication_value": "2026-11-10"' in lines[0]
    # The pages stream keeps the SDK's lines, METRIC ones included.
    metrics = [r.getMessage() for r in info if r.name == "singer_sdk.metrics"]
    assert any('"stream":"pages"' in m for m in metrics)
    assert not any("page_insights_" in m for m in metrics)


def test_equal_page_streams_share_schema_selection_and_map(sandbox: SandboxServer) -> None:
    config = sandbox_config(sandbox.url, **DAYS)
    catalog = select_catalog(config, insights_only)
    # As the CLI reads a --catalog file (catalog_file.py).
    tap = TapFacebookPages(config=config, catalog=parse_catalog(json.dumps(catalog)))
    streams = [s for name, s in tap.streams.items() if name.startswith("page_insights_")]
    assert len(streams) == 7
    first = streams[0]
    for stream in streams[1:]:
        assert stream.mask is first.mask
        assert stream.effective_schema is first.effective_schema
        (own,) = stream.stream_maps
        assert type(own) is SameRecordTransform
        assert own.stream_alias == stream.name
        assert own.transformed_schema is first.stream_maps[0].transformed_schema
        assert own.raw_schema is first.stream_maps[0].raw_schema
    # With a stream map configured, every stream gets the SDK's own registration.
    mapped = TapFacebookPages(
        config={**config, "stream_maps": {"page_insights_*": {"__alias__": "page_insights"}}},
        catalog=catalog,
    )
    mapped_streams = [s for n, s in mapped.streams.items() if n.startswith("page_insights_")]
    schemas = {id(s.stream_maps[0].raw_schema) for s in mapped_streams}
    assert len(schemas) == len(mapped_streams)
