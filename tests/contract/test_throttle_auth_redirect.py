"""A throttle, a dead token and a redirect, answered as the live API (or a stray proxy) does."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from tap_facebook_pages import cli
from tap_facebook_pages.tap import AuthFailedError, TapFacebookPages
from tests.contract import bodies as b
from tests.contract.conftest import (
    Answer,
    FakeGraph,
    assert_no_secret,
    default_value,
    error_answer,
    run,
)
from tests.contract.conftest import config as make_config

JUNE = [dt.date(2026, 6, 1), dt.date(2026, 6, 2), dt.date(2026, 6, 3)]
METRICS = ["page_post_engagements", "page_daily_follows_unique"]
EXPIRED = b.EXPIRED_190_463["error"]["message"]


def _values(rows: list[dict[str, Any]]) -> dict[tuple[str, str], Any]:
    return {(r["metric"], r["date"]): r["value"] for r in rows}


def _expected(page: str) -> dict[tuple[str, str], Any]:
    return {
        (m, day.isoformat()): default_value(page, m, "day", day) for m in METRICS for day in JUNE
    }


def test_an_application_limit_with_724_percent_usage_costs_one_wait(
    graph: FakeGraph, caplog: pytest.LogCaptureFixture
) -> None:
    """§11.2: ``(#4) Application request limit reached`` with ``is_transient: true``, HTTP 403
    and ``X-App-Usage`` call_count 724, once; then answers without any usage header."""
    graph.once.append((lambda call: True, error_answer(403, b.THROTTLE_4, **b.X_APP_USAGE_724)))
    with caplog.at_level(logging.WARNING):
        result = run(graph, make_config(page_ids=[b.P1, b.P2], page_metrics=METRICS))

    waits = [r for r in caplog.records if r.getMessage().startswith("Waiting")]
    assert len(waits) == 1, [r.getMessage() for r in waits]
    assert waits[0].levelno == logging.WARNING
    for page in (b.P1, b.P2):
        assert _values(result.rows(page)) == _expected(page)
    assert len(graph.insights_calls()) == 3  # the throttled call, asked again once, and the other
    assert result.failed is None


def _run_cli(
    graph: FakeGraph, cfg: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str, str]:
    """The console entry point in-process: exit status, stdout, stderr (the SDK's CLI adds a
    root log handler and level, which are put back afterwards)."""
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    args = ["tap-facebook-pages", "--config", str(tmp_path / "config.json")]
    if cfg.get("page_ids"):
        (tmp_path / "catalog.json").write_text(json.dumps(graph.catalog(cfg)))
        args += ["--catalog", str(tmp_path / "catalog.json")]
    monkeypatch.setattr("sys.argv", args)
    monkeypatch.setattr(cli, "limit_malloc_arenas", lambda: False)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stdout, stderr = io.StringIO(), io.StringIO()
    try:
        with (
            contextlib.redirect_stdout(stdout),
            contextlib.redirect_stderr(stderr),
            pytest.raises(SystemExit) as exit_info,
        ):
            cli.main()
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert_no_secret(graph, stdout.getvalue(), stderr.getvalue())
    code = exit_info.value.code
    return code if isinstance(code, int) else 1, stdout.getvalue(), stderr.getvalue()


def test_an_expired_user_token_stops_the_run_at_discovery(
    graph: FakeGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """§6.3 190/463 with ``WWW-Authenticate … invalid_token`` on /me/accounts: the tap's
    AuthFailedError, one line naming 190/463, exit 2, no insights call."""
    graph.accounts_answer = error_answer(400, b.EXPIRED_190_463)
    cfg = make_config()
    cfg.pop("page_ids", None)  # every page the token lists
    with (
        contextlib.redirect_stdout(io.StringIO()),
        pytest.raises(AuthFailedError, match="code 190/463") as raised,
    ):
        TapFacebookPages(config=cfg).sync_all()
    assert_no_secret(graph, str(raised.value))

    status, stdout, stderr = _run_cli(graph, cfg, tmp_path, monkeypatch)
    assert status == AuthFailedError.exit_code == 2
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("tap-facebook-pages: error: The access token was rejected by Facebook")
    assert "code 190/463" in last
    assert EXPIRED in last
    assert "Traceback" not in stderr
    assert graph.insights_calls() == []
    assert '"type":"RECORD"' not in stdout.replace(" ", "")


def test_an_expired_page_token_stops_the_run(
    graph: FakeGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """§6.3 190/463 on the first page's insights: the run stops (the other page is never
    asked) with AuthFailedError, exit 2, one line naming 190/463 and no token."""
    cfg = make_config(page_ids=[b.P1, b.P2], page_metrics=METRICS)
    graph.catalog(cfg)  # discovery for the catalog, before the token dies
    first, second = sorted([b.P1, b.P2])  # streams sync in name order
    graph.page_answer[first] = error_answer(400, b.EXPIRED_190_463)
    status, _stdout, stderr = _run_cli(graph, cfg, tmp_path, monkeypatch)

    assert status == AuthFailedError.exit_code == 2
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("tap-facebook-pages: error: The access token was rejected by Facebook")
    assert "code 190/463" in last
    assert f"/{first}/insights" in last
    assert "Traceback" not in stderr
    assert len(graph.insights_calls(first)) == 1  # never retried
    assert graph.insights_calls(second) == []


def test_a_redirect_to_another_host_is_never_followed(graph: FakeGraph) -> None:
    """A 302 on an insights GET pointing elsewhere: not followed, the page's window is a
    named failure, the other page loads, the run fails (RunFailedError)."""
    elsewhere = "https://graph.facebook.example.net"
    followed = graph.mocker.get(f"{elsewhere}/v25.0/{b.P1}/insights", json={"data": []})
    location = f"{elsewhere}/v25.0/{b.P1}/insights?metric={','.join(METRICS)}"
    graph.page_answer[b.P1] = Answer(302, None, {"Location": location})
    result = run(graph, make_config(page_ids=[b.P1, b.P2], page_metrics=METRICS))

    assert not followed.called
    assert len(graph.insights_calls(b.P1)) == 1
    assert result.rows(b.P1) == []
    assert _values(result.rows(b.P2)) == _expected(b.P2)
    assert result.failed is not None
    message = str(result.failed)
    assert message.startswith("1 unit(s) of work failed")
    for part in (
        f"page {b.P1}",
        f"stream page_insights_{b.P1}",
        f"metrics {','.join(sorted(METRICS))}",
        "dates 2026-06-01..2026-06-03",
        "HTTP 302, a redirect to graph.facebook.example.net",
    ):
        assert part in message
    assert "replication_key_value" not in result.state(b.P1)
