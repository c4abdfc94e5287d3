"""Large STATE messages are paced by the RECORD bytes written since the last one.

With one stream per page every STATE holds every page's bookmark and every stream writes one:
N pages made N STATE lines of O(N) bytes (1,000 pages: 343 MB of STATE for 27 MB of records).
A state of ``STATE_PACING_BYTES`` or more is now written only once as many RECORD bytes followed
the last STATE; the one held back is written at the end of the run. The tests lower the
threshold so that an 80-page sandbox fleet read for one day is "large".
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tap_facebook_pages import sdk_fastpath
from tap_facebook_pages.sandbox import SandboxServer
from tests.helpers import RunOutput, insights_only, run_tap, sandbox_config, select_catalog

TODAY = dt.date(2026, 11, 20)
FLEET = 80


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(today=TODAY, fleet=FLEET, faults={"usage_step": 0}) as srv:
        yield srv


def _run(sandbox: SandboxServer, state: dict[str, Any] | None = None) -> RunOutput:
    config = sandbox_config(sandbox.url, start_date="2026-11-19", end_date="2026-11-19")
    return run_tap(config, catalog=select_catalog(config, insights_only), state=state)


def _sizes(out: RunOutput) -> tuple[int, int]:
    """(STATE bytes, RECORD bytes) as the writer encodes them (compact JSON lines)."""
    state = sum(
        len(json.dumps(m, separators=(",", ":"))) + 1 for m in out.messages if m["type"] == "STATE"
    )
    record = sum(
        len(json.dumps(m, separators=(",", ":"))) + 1 for m in out.messages if m["type"] == "RECORD"
    )
    return state, record


def test_large_states_are_paced_and_the_final_state_is_the_same(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = _run(sandbox)
    monkeypatch.setattr(sdk_fastpath, "STATE_PACING_BYTES", 1024)
    paced = _run(sandbox)
    records = [m for m in plain.messages if m["type"] == "RECORD"]
    assert len(records) > 500
    # Same records in the same order (time_extracted aside), and the same final state.
    strip = [
        {k: v for k, v in m.items() if k != "time_extracted"}
        for m in paced.messages
        if m["type"] == "RECORD"
    ]
    assert strip == [{k: v for k, v in m.items() if k != "time_extracted"} for m in records]
    assert paced.last_state == plain.last_state
    # The held-back state went out at the end: after the last record of a stream with a
    # bookmark (the full-table pages stream, last here, changes no state).
    kinds = [(m["type"], m.get("stream", "")) for m in paced.messages]
    last_state = max(i for i, (kind, _) in enumerate(kinds) if kind == "STATE")
    last_insight = max(
        i for i, (kind, name) in enumerate(kinds) if name.startswith("page_insights_")
    )
    assert last_state > last_insight
    # Fewer STATE lines, and their bytes bounded by the records' plus one state.
    assert len(paced.states) < len(plain.states) // 2
    state_bytes, record_bytes = _sizes(paced)
    final = len(json.dumps(paced.last_state, separators=(",", ":")))
    assert state_bytes <= record_bytes + 2 * final
    plain_state_bytes, _ = _sizes(plain)
    assert plain_state_bytes > state_bytes


def test_a_paced_run_resumes_like_an_unpaced_one(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rerun from the paced run's final state asks and emits what a rerun from the unpaced
    run's does (the lookback window only)."""
    plain = _run(sandbox)
    again_plain = _run(sandbox, plain.last_state)
    monkeypatch.setattr(sdk_fastpath, "STATE_PACING_BYTES", 1024)
    paced = _run(sandbox)
    again_paced = _run(sandbox, paced.last_state)
    key = ("stream", "record")
    assert [tuple(m[k] for k in key) for m in again_paced.messages if m["type"] == "RECORD"] == [
        tuple(m[k] for k in key) for m in again_plain.messages if m["type"] == "RECORD"
    ]
    assert again_paced.last_state == again_plain.last_state


def test_small_states_are_written_every_time(sandbox: SandboxServer) -> None:
    """Below the threshold (the default 64 KiB) nothing changes: one STATE per stream at least."""
    out = _run(sandbox)
    streams = {m["stream"] for m in out.messages if m["type"] == "SCHEMA"}
    assert len(json.dumps(out.last_state)) < sdk_fastpath.STATE_PACING_BYTES
    assert len(out.states) >= len(streams)
