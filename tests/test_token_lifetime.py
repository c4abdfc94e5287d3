"""Issue 16 (token lifetime): one /debug_token call per run, through the sandbox and the CLI.

A lifetime ending within ``token_expiry_warning_days`` days is one WARNING with its date and
what to do; a token that never expires is said so at INFO; a failing /debug_token costs one
INFO line; the run summary and ``--test`` carry the expiry; no token is ever printed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tap_facebook_pages.config import ConfigError, Settings
from tap_facebook_pages.sandbox import SandboxServer
from tap_facebook_pages.sandbox import graph as sbx_graph
from tests.helpers import TEST_TOKEN, sandbox_config

P1 = "100000000000001"
RANGE = {"page_ids": [P1], "start_date": "2026-06-01", "end_date": "2026-06-02"}
APP_SECRET = "app-secret-DO-NOT-LEAK-161616"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(today=dt.date(2026, 11, 20)) as srv:
        yield srv


def _cli(config: dict[str, Any], tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(config))
    args = [sys.executable, "-m", "tap_facebook_pages", "--config", str(cfg), *extra]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    for secret in (TEST_TOKEN, APP_SECRET):
        assert secret not in proc.stdout + proc.stderr
    return proc


def _summary(proc: subprocess.CompletedProcess) -> dict[str, Any]:
    return json.loads(proc.stderr.split("run summary ")[1].splitlines()[0])


def _lines(proc: subprocess.CompletedProcess, level: str, needle: str) -> list[str]:
    return [line for line in proc.stderr.splitlines() if level in line and needle in line]


def _in_days(days: int) -> str:
    """The UTC date ``days`` days from now (what the tap prints for such an expiry)."""
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=days)).date().isoformat()


def _debug_token_calls(sandbox: SandboxServer) -> list[dict[str, Any]]:
    return [r for r in sandbox.requests if r["path"].endswith("/debug_token")]


def test_a_token_expiring_in_5_days_warns_with_the_date(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    sandbox.configure(faults={"token_expires_in_days": 5})
    proc = _cli(sandbox_config(sandbox.url, **RANGE), tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    date = _in_days(5)
    (warning,) = _lines(proc, "WARNING", "The access token expires")
    assert f"expires on {date} (in 5 days)" in warning
    assert "long-lived token" in warning
    assert "system-user token" in warning
    summary = _summary(proc)
    assert summary["token_expires_at"] == date
    assert summary["token_data_access_expires_at"] == _in_days(90)
    (call,) = _debug_token_calls(sandbox)
    assert call["batch"]  # the token went in a POST body, not in a URL
    assert call["params"]["input_token"] == TEST_TOKEN
    assert call["token"] == TEST_TOKEN  # no app_id: the token inspects itself


def test_a_token_expiring_in_30_days_does_not_warn(sandbox: SandboxServer, tmp_path: Path) -> None:
    sandbox.configure(faults={"token_expires_in_days": 30, "data_access_expires_in_days": 30})
    proc = _cli(sandbox_config(sandbox.url, **RANGE), tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not _lines(proc, "WARNING", "access token")
    (info,) = _lines(proc, "INFO", "Access token (/debug_token)")
    assert f"the token expires on {_in_days(30)} (in 30 days)" in info
    assert _summary(proc)["token_expires_at"] == _in_days(30)
    # The same token warns with a longer warning period.
    proc = _cli(sandbox_config(sandbox.url, token_expiry_warning_days=30, **RANGE), tmp_path)
    assert len(_lines(proc, "WARNING", "access token")) == 2


def test_data_access_ending_soon_warns_to_reauthorize(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    sandbox.configure(faults={"data_access_expires_in_days": 3})
    proc = _cli(sandbox_config(sandbox.url, **RANGE), tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (warning,) = _lines(proc, "WARNING", "access token")
    assert f"data access expires on {_in_days(3)} (in 3 days)" in warning
    assert "re-authorize the app" in warning
    assert _summary(proc)["token_data_access_expires_at"] == _in_days(3)


def test_a_token_that_never_expires_says_so(sandbox: SandboxServer, tmp_path: Path) -> None:
    proc = _cli(sandbox_config(sandbox.url, **RANGE), tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (info,) = _lines(proc, "INFO", "Access token (/debug_token)")
    assert "the token never expires" in info
    assert "type USER" in info
    assert "read_insights" in info
    assert not _lines(proc, "WARNING", "access token")
    assert _summary(proc)["token_expires_at"] == "never"


def test_a_failing_debug_token_does_not_fail_the_run(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    sandbox.configure(faults={"debug_token_error": "unsupported"})
    proc = _cli(sandbox_config(sandbox.url, **RANGE), tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    token_lines = [line for line in proc.stderr.splitlines() if "/debug_token" in line]
    assert len(token_lines) == 1
    assert "INFO" in token_lines[0]
    assert "Could not check the access token's lifetime" in token_lines[0]
    assert len(_debug_token_calls(sandbox)) == 1  # a permanent error: asked once
    summary = _summary(proc)
    assert summary["token_expires_at"] is None
    assert summary["token_data_access_expires_at"] is None
    assert summary["rows"] > 0


def test_the_connection_test_shows_the_expiry(sandbox: SandboxServer, tmp_path: Path) -> None:
    sandbox.configure(faults={"token_expires_in_days": 5})
    proc = _cli(sandbox_config(sandbox.url, **RANGE), tmp_path, "--test")
    assert proc.returncode == 0, proc.stderr[-2000:]
    (line,) = _lines(proc, "connection test", "token expires")
    assert f"token expires: {_in_days(5)}; data access expires: {_in_days(90)}" in line
    # One tap for the report and the dry run: the listing and /debug_token are asked once.
    (_debug,) = _debug_token_calls(sandbox)
    assert [r["path"] for r in sandbox.requests].count("/me/accounts") == 1
    sandbox.configure(faults={"debug_token_error": "unsupported"})
    proc = _cli(sandbox_config(sandbox.url, **RANGE), tmp_path, "--test")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _lines(proc, "connection test", "token expiry: unknown")


def test_app_id_and_app_secret_make_the_app_token(tmp_path: Path) -> None:
    with SandboxServer(app_secret=APP_SECRET) as sandbox:
        config = sandbox_config(
            sandbox.url, app_id=sbx_graph.APP_ID, app_secret=APP_SECRET, **RANGE
        )
        proc = _cli(config, tmp_path)
        assert proc.returncode == 0, proc.stderr[-2000:]
        (call,) = _debug_token_calls(sandbox)
    assert call["status"] == 200  # appsecret_proof of the app token was right
    assert call["token"] == f"{sbx_graph.APP_ID}|{APP_SECRET}"
    assert call["params"]["input_token"] == TEST_TOKEN
    assert _summary(proc)["token_expires_at"] == "never"


def test_a_rejected_app_token_is_one_info_line(sandbox: SandboxServer, tmp_path: Path) -> None:
    sandbox.configure(faults={"debug_token_error": "app_token"})
    config = sandbox_config(sandbox.url, app_id="123456789", app_secret=APP_SECRET, **RANGE)
    proc = _cli(config, tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (line,) = [line for line in proc.stderr.splitlines() if "/debug_token" in line]
    assert "INFO" in line
    assert "check app_id and app_secret" in line
    assert "123456789|" not in proc.stderr


def test_sandbox_mode_checks_the_sandbox_token(tmp_path: Path) -> None:
    config = {"sandbox": True, "page_ids": [P1], "start_date": "2026-06-01"}
    config["end_date"] = "2026-06-02"
    proc = _cli(config, tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "sandbox-user-token" not in proc.stderr
    assert _summary(proc)["token_expires_at"] == "never"


@pytest.mark.parametrize("days", [-1, 366])
def test_the_warning_period_is_bounded(days: int) -> None:
    config = {"access_token": TEST_TOKEN, "token_expiry_warning_days": days}
    with pytest.raises(ConfigError, match="token_expiry_warning_days"):
        Settings.from_config(config, logging.getLogger("test"))


def test_an_expired_lifetime_says_expired(caplog: pytest.LogCaptureFixture) -> None:
    from tap_facebook_pages.source.token import TokenInfo, log_token_info  # noqa: PLC0415

    now = time.time()
    info = TokenInfo.from_data({"type": "USER", "expires_at": int(now) - 86400, "is_valid": False})
    with caplog.at_level(logging.INFO):
        log_token_info(info, warning_days=14, logger=logging.getLogger("t"), clock=lambda: now)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "expired on" in warnings[0]
    assert any("NOT VALID" in r.getMessage() for r in caplog.records)
