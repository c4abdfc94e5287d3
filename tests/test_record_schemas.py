"""Every record of a sandbox run validates against its own stream's SCHEMA (issue 12: post
fields of the wrong type broke their own schema), with odd values in the answers too."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import jsonschema
import pytest

from tap_facebook_pages.sandbox import SandboxServer
from tests.helpers import run_tap, sandbox_config, select_catalog

TODAY = dt.date(2026, 11, 20)
P1, P2 = "100000000000001", "100000000000002"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(today=TODAY) as srv:
        yield srv


@pytest.mark.parametrize(
    "faults",
    [
        {},
        {"malformed": {P1: "string_values", P2: "bool_value"}},
        {"bad_created_time": [P1]},
    ],
)
def test_every_record_validates_against_its_schema(sandbox: SandboxServer, faults: dict) -> None:
    sandbox.configure(faults=faults)
    config = sandbox_config(
        sandbox.url, start_date="2026-10-01", end_date="2026-11-19", breakdowns=["is_from_ads"]
    )
    out = run_tap(config, catalog=select_catalog(config, lambda name: True))
    schemas = {m["stream"]: m["schema"] for m in out.messages if m["type"] == "SCHEMA"}
    counts: dict[str, int] = {}
    for message in out.messages:
        if message["type"] != "RECORD":
            continue
        validator = jsonschema.Draft7Validator(schemas[message["stream"]])
        errors = [e.message for e in validator.iter_errors(message["record"])]
        assert not errors, (message["stream"], errors, json.dumps(message["record"])[:300])
        counts[message["stream"]] = counts.get(message["stream"], 0) + 1
    assert {"posts", "post_insights", "reels", "reel_insights", "pages"} <= set(counts)
