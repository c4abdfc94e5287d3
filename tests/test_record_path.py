"""The lean record path writes exactly what the SDK's own record loop writes.

Page insights rows are encoded a window at a time (``GraphStream._sync_records``); the SDK's
per-record loop is the reference. Both runs read the same sandbox, so every message must match
(apart from ``time_extracted``), in the same order, STATE messages included.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import StateMessage

from tap_facebook_pages.sandbox import SandboxServer
from tap_facebook_pages.sdk_fastpath import EncodedStateWriter
from tap_facebook_pages.streams.base import GraphStream
from tap_facebook_pages.writer import BufferedMsgSpecWriter
from tests.helpers import RunOutput, insights_only, run_tap, sandbox_config, select_catalog

TODAY = dt.date(2026, 11, 20)
# Two windows per page, and a breakdown so object values and is_from_ads rows are included.
RANGE = {
    "start_date": "2026-05-01",
    "end_date": "2026-08-31",
    "window_days": 90,
    "breakdowns": ["is_from_ads"],
}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(today=TODAY, fleet=2) as srv:
        yield srv


def _run(sandbox: SandboxServer, **extra: Any) -> RunOutput:
    config = sandbox_config(sandbox.url, **RANGE, **extra)
    return run_tap(config, catalog=select_catalog(config, insights_only))


def _comparable(out: RunOutput) -> list[dict[str, Any]]:
    return [{k: v for k, v in m.items() if k != "time_extracted"} for m in out.messages]


def test_lean_path_writes_what_the_sdk_loop_writes(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    decisions: dict[str, bool] = {}
    decide = GraphStream._lean_path

    def spy(self: GraphStream, write_messages: bool) -> bool:
        decisions[self.name] = decide(self, write_messages)
        return decisions[self.name]

    monkeypatch.setattr(GraphStream, "_lean_path", spy)
    lean = _run(sandbox)
    monkeypatch.setattr(GraphStream, "_lean_path", lambda self, write_messages: False)
    reference = _run(sandbox)
    monkeypatch.undo()

    insights = [n for n in lean.records if n.startswith("page_insights_")]
    assert {n: decisions.get(n) for n in insights} == dict.fromkeys(insights, True)
    assert _comparable(lean) == _comparable(reference)
    assert len(insights) == 5  # 3 fixed pages + a fleet of 2
    rows = sum(len(lean.records[n]) for n in insights)
    assert rows > 5 * 2 * 120  # several metrics x 123 days per page
    assert any(
        r["breakdown_key"].startswith("is_from_ads=") for n in insights for r in lean.records[n]
    )
    # A STATE message between the two windows of every page, in both runs.
    assert len(lean.states) == len(reference.states) >= 5 * 2
    # Every RECORD carries a time_extracted, as the SDK writes it.
    assert all("time_extracted" in m for m in lean.messages if m["type"] == "RECORD")


def test_stream_maps_take_the_sdk_path(sandbox: SandboxServer) -> None:
    """A user's stream map (here: drop ``title`` and ``description``) must still apply."""
    maps = {
        "stream_maps": {
            "page_insights_100000000000001": {"title": "__NULL__", "description": "__NULL__"}
        }
    }
    out = _run(sandbox, **maps)
    mapped = out.records["page_insights_100000000000001"]
    other = out.records["page_insights_100000000000002"]
    assert mapped
    assert other
    assert all("title" not in r and "description" not in r for r in mapped)
    assert all("title" in r for r in other)


def test_state_writer_encodes_like_the_sdk_and_skips_repeats(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """STATE lines are byte-identical to the SDK's, and an unchanged state is not re-sent."""
    state: dict[str, Any] = {
        "bookmarks": {"page_insights_1": {"replication_key_value": "2026-11-20T08:00:00+00:00"}}
    }
    writer = EncodedStateWriter(BufferedMsgSpecWriter())
    writer.write_state(state)  # type: ignore[arg-type]
    writer.write_state(state)  # type: ignore[arg-type]  # unchanged: no message
    state["bookmarks"]["page_insights_2"] = {"replication_key_value": None, "n": 1.5}
    writer.write_state(state)  # type: ignore[arg-type]
    lines = capsys.readouterr().out.splitlines(keepends=True)
    assert len(lines) == 2
    expected = MsgSpecWriter().format_message(StateMessage(value=state)).decode()
    assert lines[1] == expected
