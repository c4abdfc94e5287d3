"""Faults driven through the sandbox: throttling, transient errors, revoked and failing pages,
expired token, missing read_insights, crash and resume, token hygiene, appsecret_proof."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import io
import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tap_facebook_pages.graph.errors import AuthError
from tap_facebook_pages.sandbox import SandboxServer
from tap_facebook_pages.sandbox import data as sbx
from tap_facebook_pages.tap import TapFacebookPages
from tests.helpers import TEST_TOKEN, RunOutput, parse_messages, run_tap, sandbox_config

TODAY = dt.date(2026, 11, 20)
P1, P2, P3 = sbx.ACCOUNT_PAGE_IDS
APP_SECRET = "app-secret-DO-NOT-LEAK-424242"
KEY = ("page_id", "metric", "period", "end_time", "breakdown_key")
RANGE = {"start_date": "2026-04-01", "end_date": "2026-05-30", "window_days": 10}


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(today=TODAY) as srv:
        yield srv


@pytest.fixture
def sandbox(server: SandboxServer) -> SandboxServer:
    server.configure(faults={}, revision=0, latency_ms=0, app_secret=None)
    server.reset_log()
    return server


@pytest.fixture(scope="module")
def clean_rows(server: SandboxServer) -> dict[tuple, Any]:
    server.configure(faults={}, revision=0)
    return _rows(run_tap(sandbox_config(server.url, **RANGE)))


def _rows(out: RunOutput, page: str | None = None) -> dict[tuple, Any]:
    return {
        tuple(r[k] for k in KEY): r["value"]
        for name, recs in out.records.items()
        if name.startswith("page_insights_") and (page is None or name.endswith(page))
        for r in recs
    }


def _only(rows: dict[tuple, Any], *pages: str) -> dict[tuple, Any]:
    return {k: v for k, v in rows.items() if k[0] in pages}


def _cli(config: dict, tmp_path: Path, state: dict | None = None) -> subprocess.CompletedProcess:
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(config))
    args = [sys.executable, "-m", "tap_facebook_pages", "--config", str(cfg)]
    if state is not None:
        st = tmp_path / "state.json"
        st.write_text(json.dumps(state))
        args += ["--state", str(st)]
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


def _assert_no_secrets(*texts: str) -> None:
    for text in texts:
        assert TEST_TOKEN not in text
        assert APP_SECRET not in text
        assert "SBXPAGE" not in text  # the sandbox's page tokens


def test_throttled_run_completes_with_every_row(
    sandbox: SandboxServer, clean_rows: dict, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.configure(
        faults={
            "throttle": {
                P1: {"after_calls": 1, "throttled_calls": 2, "regain_minutes": 3},
                P3: {"after_calls": 0, "throttled_calls": 1, "regain_minutes": 0},
            },
            "app_throttle": {"after_calls": 0, "throttled_calls": 1, "code": 4},
        }
    )
    with caplog.at_level("WARNING"):
        out = run_tap(sandbox_config(sandbox.url, **RANGE))
    assert _rows(out) == clean_rows
    throttled = [r for r in sandbox.requests if r["status"] == 400]
    assert len(throttled) == 4
    waits = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Waiting")]
    assert any(P1 in w and "80001" in w for w in waits)


def test_twenty_percent_transient_errors_complete_with_every_row(
    sandbox: SandboxServer, clean_rows: dict
) -> None:
    sandbox.configure(faults={"transient_error_rate": 0.2, "seed": 7})
    out = run_tap(sandbox_config(sandbox.url, **RANGE))
    assert _rows(out) == clean_rows
    faults = [r for r in sandbox.requests if r.get("fault")]
    assert len(faults) >= 3  # the faults really happened and were retried


def test_revoked_page_is_skipped_and_others_complete(
    sandbox: SandboxServer, clean_rows: dict, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.configure(faults={"revoked_pages": [P2]})
    with caplog.at_level("WARNING"):
        out = run_tap(sandbox_config(sandbox.url, **RANGE))  # no exception: exit 0
    assert _rows(out) == _only(clean_rows, P1, P3)
    assert any(P2 in r.getMessage() and "ANALYZE" in r.getMessage() for r in caplog.records)


def test_access_revoked_mid_run_skips_the_page(sandbox: SandboxServer, clean_rows: dict) -> None:
    tap = TapFacebookPages(config=sandbox_config(sandbox.url, **RANGE))
    sandbox.configure(faults={"revoked_pages": [P2]})  # after discovery
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        tap.sync_all()
    tap.finish_run()  # a revoked page is a skip, not a failure
    rows = _rows(parse_messages(out.getvalue()))
    assert rows == _only(clean_rows, P1, P3)
    assert [p for p, _ in tap.report.skipped] == [P2]


def test_persistently_failing_page_is_named_and_exit_nonzero(
    sandbox: SandboxServer, clean_rows: dict, tmp_path: Path
) -> None:
    sandbox.configure(faults={"failing_pages": [P2]}, app_secret=APP_SECRET)
    proc = _cli(sandbox_config(sandbox.url, app_secret=APP_SECRET, **RANGE), tmp_path)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("tap-facebook-pages: error: 1 unit(s) of work failed")
    assert f"page {P2}" in last
    assert f"stream page_insights_{P2}" in last
    assert "dates 2026-04-01..2026-04-10" in last
    assert "page_post_engagements" in last
    out = parse_messages(proc.stdout)
    assert _rows(out) == _only(clean_rows, P1, P3)
    state = out.last_state
    assert state is not None
    assert f"page_insights_{P1}" in state["bookmarks"]
    assert f"page_insights_{P3}" in state["bookmarks"]
    _assert_no_secrets(proc.stdout, proc.stderr)


def test_expired_token_gives_one_clear_line(sandbox: SandboxServer, tmp_path: Path) -> None:
    sandbox.configure(faults={"expired_token": True})
    proc = _cli(sandbox_config(sandbox.url, **RANGE), tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1
    assert "access token was rejected" in errors[0]
    assert "190/463" in errors[0]
    assert "long-lived token" in errors[0]
    assert proc.stdout == ""
    _assert_no_secrets(proc.stdout, proc.stderr)


def test_token_expiring_mid_run_is_one_error_without_the_sdk_unhandled_line(
    sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The token dies after discovery: the run stops with AuthError (the CLI turns it into one
    line, exit 2, tested above), and the SDK's generic "unhandled error" line is not added."""
    tap = TapFacebookPages(config=sandbox_config(sandbox.url, max_concurrency=1, **RANGE))
    _ = tap.streams  # discovery done with a valid token
    sandbox.configure(faults={"expired_token": True})
    with (
        caplog.at_level("DEBUG"),  # a page stream's "Beginning sync" line is at DEBUG
        contextlib.redirect_stdout(io.StringIO()),
        pytest.raises(AuthError),
    ):
        tap.sync_all()
    messages = [r.getMessage() for r in caplog.records]
    assert not any("An unhandled error occurred" in m for m in messages)
    assert any("Beginning sync" in m for m in messages)  # other SDK lines still pass


def test_missing_read_insights_is_named_and_silence_is_flagged(
    sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    config = sandbox_config(sandbox.url, page_ids=[P1], **RANGE)
    first = run_tap(config)
    state = first.last_state
    assert state["bookmarks"][f"page_insights_{P1}"]["last_nonzero_rows"] > 0
    sandbox.configure(faults={"missing_permissions": ["read_insights"]})
    with caplog.at_level("WARNING"):
        second = run_tap(config, state=state)
    assert not second.records.get(f"page_insights_{P1}")
    messages = [r.getMessage() for r in caplog.records]
    assert any("missing_required_permissions: read_insights" in m for m in messages)
    assert any(P1 in m and "no insights rows this run" in m for m in messages)


def test_appsecret_proof_is_correct_per_token(sandbox: SandboxServer, tmp_path: Path) -> None:
    sandbox.configure(app_secret=APP_SECRET)
    out = run_tap(sandbox_config(sandbox.url, app_secret=APP_SECRET, page_ids=[P1], **RANGE))
    assert _rows(out)
    assert all(r["status"] == 200 for r in sandbox.requests)
    tokens = {r["token"] for r in sandbox.requests}
    assert len(tokens) == 2  # the user token, and the page token for insights
    for request in sandbox.requests:
        proof = hmac.new(APP_SECRET.encode(), request["token"].encode(), hashlib.sha256)
        assert request["params"]["appsecret_proof"] == proof.hexdigest()
    # A wrong secret: the API refuses; the tap says so in one line.
    proc = _cli(sandbox_config(sandbox.url, app_secret="wrong-secret-123456", **RANGE), tmp_path)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "appsecret_proof" in proc.stderr.strip().splitlines()[-1]
    _assert_no_secrets(proc.stdout, proc.stderr)


@pytest.mark.e2e
def test_sigkill_half_way_then_resume_gives_the_same_rows(
    sandbox: SandboxServer, clean_rows: dict, tmp_path: Path
) -> None:
    sandbox.configure(latency_ms=40, app_secret=APP_SECRET)
    config = sandbox_config(sandbox.url, app_secret=APP_SECRET, lookback_days=0, **RANGE)
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(config))
    lines: list[str] = []
    insight_states = 0
    with subprocess.Popen(
        [sys.executable, "-m", "tap_facebook_pages", "--config", str(cfg)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        assert proc.stderr is not None
        for line in proc.stdout:
            lines.append(line)
            msg = json.loads(line)
            if msg["type"] == "STATE" and any(
                k.startswith("page_insights_") for k in msg["value"].get("bookmarks", {})
            ):
                insight_states += 1
                if insight_states == 8:  # well into the second page
                    proc.send_signal(signal.SIGKILL)
                    break
        proc.wait(timeout=30)
        stderr = proc.stderr.read()
    assert proc.returncode == -signal.SIGKILL
    partial = parse_messages("".join(lines))
    state = partial.last_state
    assert state is not None
    resumed = _cli(config, tmp_path, state=state)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    merged = _rows(partial)
    merged.update(_rows(parse_messages(resumed.stdout)))
    assert merged == clean_rows
    # The resumed run did not redo the finished work.
    assert len(_rows(parse_messages(resumed.stdout))) < len(clean_rows)
    _assert_no_secrets("".join(lines), stderr, resumed.stdout, resumed.stderr)
