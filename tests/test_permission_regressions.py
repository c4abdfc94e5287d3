"""Permission regressions (issue 16): each run remembers the granted scopes and each page's
tasks in STATE (``bookmarks.pages.permissions``); the next run warns what it lost, through the
sandbox's ``missing_permissions`` and ``revoked_pages`` faults."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from tap_facebook_pages.sandbox import SandboxServer
from tap_facebook_pages.source.permissions import Regression, compare
from tests.helpers import RunOutput, run_tap, sandbox_config

P1, P2 = "100000000000001", "100000000000002"
RANGE = {"start_date": "2026-06-01", "end_date": "2026-06-03", "page_ids": [P1, P2]}


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as srv:
        yield srv


def _run(
    sandbox: SandboxServer,
    caplog: pytest.LogCaptureFixture,
    state: dict[str, Any] | None = None,
) -> tuple[RunOutput, list[dict[str, Any]], dict[str, Any]]:
    """One run: its messages, its ``permission_regression`` lines and its run summary."""
    caplog.clear()
    with caplog.at_level(logging.INFO):
        out = run_tap(sandbox_config(sandbox.url, **RANGE), state=state)
    regressions = [
        json.loads(r.getMessage().removeprefix("permission_regression "))
        for r in caplog.records
        if r.getMessage().startswith("permission_regression ")
    ]
    assert all(
        r.levelno == logging.WARNING
        for r in caplog.records
        if r.getMessage().startswith("permission_regression ")
    )
    summaries = [
        json.loads(r.getMessage().removeprefix("run summary "))
        for r in caplog.records
        if r.getMessage().startswith("run summary ")
    ]
    assert len(summaries) == 1
    return out, regressions, summaries[0]


def _remembered(out: RunOutput) -> dict[str, Any]:
    assert out.last_state is not None
    return out.last_state["bookmarks"]["pages"]["permissions"]


def test_the_first_run_remembers_scopes_and_page_tasks_in_state(
    sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    out, regressions, summary = _run(sandbox, caplog)
    memory = _remembered(out)
    assert "read_insights" in memory["scopes"]
    assert "ANALYZE" in memory["page_tasks"][P1]
    assert "ANALYZE" in memory["page_tasks"][P2]
    assert regressions == []
    assert summary["permission_regressions"] == 0


def test_a_scope_lost_between_two_runs_is_a_permission_regression(
    sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    first, _, _ = _run(sandbox, caplog)
    sandbox.configure(faults={"missing_permissions": ["read_insights"]})
    second, regressions, summary = _run(sandbox, caplog, state=first.last_state)
    assert regressions == [
        {"run_id": summary["run_id"], "what": "scope", "lost": ["read_insights"]}
    ]
    assert summary["permission_regressions"] == 1
    assert any("missing_required_permissions: read_insights" in m for m in caplog.messages)
    assert "read_insights" not in _remembered(second)["scopes"]

    # The regression is reported once: the next run compares with the reduced scopes.
    _, again, summary = _run(sandbox, caplog, state=second.last_state)
    assert again == []
    assert summary["permission_regressions"] == 0


def test_a_page_losing_analyze_between_two_runs_is_a_permission_regression(
    sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    first, _, _ = _run(sandbox, caplog)
    sandbox.configure(faults={"revoked_pages": [P2]})
    second, regressions, summary = _run(sandbox, caplog, state=first.last_state)
    assert regressions == [
        {"run_id": summary["run_id"], "what": "page_tasks", "lost": ["ANALYZE"], "page_id": P2}
    ]
    assert summary["permission_regressions"] == 1
    assert "ANALYZE" not in _remembered(second)["page_tasks"][P2]
    assert "ANALYZE" in _remembered(second)["page_tasks"][P1]


def test_an_unchanged_second_run_has_no_regression(
    sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    first, _, _ = _run(sandbox, caplog)
    second, regressions, summary = _run(sandbox, caplog, state=first.last_state)
    assert regressions == []
    assert summary["permission_regressions"] == 0
    assert _remembered(second) == _remembered(first)


def test_both_regressions_in_one_run_are_counted(
    sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    first, _, _ = _run(sandbox, caplog)
    sandbox.configure(faults={"missing_permissions": ["read_insights"], "revoked_pages": [P1]})
    _, regressions, summary = _run(sandbox, caplog, state=first.last_state)
    assert sorted(r["what"] for r in regressions) == ["page_tasks", "scope"]
    assert summary["permission_regressions"] == 2


def test_what_a_run_cannot_see_stays_remembered() -> None:
    """Unknown scopes (a page token) or tasks, and pages not in this run, keep the previous
    memory; a gained task or scope is no regression."""
    before = {"scopes": ["a", "b"], "page_tasks": {"1": ["ANALYZE"], "2": ["ANALYZE"]}}
    memory, regressions = compare(before, scopes=None, page_tasks={"1": None})
    assert memory == before
    assert regressions == []
    memory, regressions = compare(
        before, scopes=["a", "b", "c"], page_tasks={"1": ["ANALYZE", "MODERATE"]}
    )
    assert regressions == []
    assert memory["page_tasks"] == {"1": ["ANALYZE", "MODERATE"], "2": ["ANALYZE"]}
    _, regressions = compare(before, scopes=["a"], page_tasks={"2": []})
    assert regressions == [Regression("scope", ("b",)), Regression("page_tasks", ("ANALYZE",), "2")]
    memory, regressions = compare("garbage", scopes=["a"], page_tasks={"1": ["ANALYZE"]})
    assert regressions == []
    assert memory == {"scopes": ["a"], "page_tasks": {"1": ["ANALYZE"]}}
