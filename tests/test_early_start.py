"""A sync's first Graph calls leave before singer-sdk is imported (early.py, issue 15): the
run is the one the tap makes without the early start, call for call, line for line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tap_facebook_pages import early
from tap_facebook_pages.sandbox import SandboxServer
from tests.helpers import TEST_TOKEN, sandbox_config

P1, P2 = "100000000000001", "100000000000002"
UNKNOWN = "100000000000099"  # named in page_ids, not readable with the token
RANGE = {"start_date": "2026-06-01", "end_date": "2026-06-03", "page_metrics": ["page_media_view"]}
# `python -c` programs: the tap's CLI as installed, and the same CLI with the early start off.
CLI = (
    "import sys; from tap_facebook_pages.cli import main; "
    "sys.argv[0] = 'tap-facebook-pages'; main()"
)
NO_EARLY = (
    "import sys; from tap_facebook_pages import cli, early; early.begin = lambda argv: None; "
    "sys.argv[0] = 'tap-facebook-pages'; cli.main()"
)


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer() as srv:
        yield srv


def _run(
    server: SandboxServer,
    program: str,
    config: dict[str, Any],
    tmp_path: Path,
    *args: str,
    env: dict[str, str] | None = None,
) -> tuple[subprocess.CompletedProcess[str], Counter[tuple[str, str]]]:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    server.reset_log()
    server.reset_usage()
    proc = subprocess.run(
        [sys.executable, "-c", program, "--config", str(path), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=None if env is None else {**os.environ, **env},
    )
    assert TEST_TOKEN not in proc.stdout + proc.stderr
    calls = Counter(
        (r["path"], json.dumps(r["params"], sort_keys=True))
        for r in server.requests
        if not r["batch_envelope"]
    )
    return proc, calls


def _lines(stderr: str) -> list[str]:
    """stderr without what differs between two runs of the same work (time, ids, durations)."""
    out = []
    for raw in stderr.splitlines():
        line = re.sub(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \| ", "", raw)
        line = re.sub(r'"run_id": "[0-9a-f]+"', '"run_id": "-"', line)
        line = re.sub(r'"(duration_s|throttle_wait_s)": [0-9.e-]+', r'"\1": 0', line)
        line = re.sub(r'"(value|pid)":[0-9.e-]+', r'"\1":0', line)
        out.append(line)
    return out


def _records(stdout: str) -> list[str]:
    rows = []
    for line in stdout.splitlines():
        message = json.loads(line)
        message.pop("time_extracted", None)
        rows.append(json.dumps(message, sort_keys=True))
    return rows


@pytest.mark.parametrize(
    ("faults", "extra", "code"),
    [
        pytest.param({}, {}, 0, id="plain"),
        pytest.param(
            {"missing_permissions": ["read_insights"], "token_expires_in_days": 5},
            {"page_ids": [P1, P2, UNKNOWN], "backoff_base_seconds": 0.001},
            1,
            id="discovery-warnings-and-a-failed-page",
        ),
        pytest.param({"debug_token_error": "unsupported"}, {}, 0, id="debug-token-error"),
        pytest.param(
            {},
            # The settings warn (a retired metric replaced, a start beyond the API's history).
            {"page_metrics": ["page_impressions", "page_media_view"], "start_date": "2020-01-01"},
            0,
            id="settings-warnings",
        ),
    ],
)
def test_the_early_start_makes_the_same_calls_and_the_same_lines(
    server: SandboxServer,
    tmp_path: Path,
    faults: dict[str, Any],
    extra: dict[str, Any],
    code: int,
) -> None:
    server.configure(faults=faults)
    config = sandbox_config(server.url, **{**RANGE, **extra})
    with_early, early_calls = _run(server, CLI, config, tmp_path)
    without, calls = _run(server, NO_EARLY, config, tmp_path)
    assert without.returncode == code, without.stderr[-2000:]
    assert with_early.returncode == code, with_early.stderr[-2000:]
    assert early_calls == calls
    assert _records(with_early.stdout) == _records(without.stdout)
    assert _lines(with_early.stderr) == _lines(without.stderr)
    # One run, one run_id, on every structured line (the discovery's included).
    ids = set(re.findall(r'"run_id": "([0-9a-f]+)"', with_early.stderr))
    assert len(ids) == 1, ids


LOG_CONFIG = """version: 1
disable_existing_loggers: false
formatters:
  plain:
    format: "%(levelname)s %(name)s %(message)s"
handlers:
  stderr:
    class: logging.StreamHandler
    formatter: plain
    stream: ext://sys.stderr
root:
  level: INFO
  handlers: [stderr]
"""


def test_a_logging_config_gets_every_line_once(server: SandboxServer, tmp_path: Path) -> None:
    """With ``SINGER_SDK_LOG_CONFIG`` (a dictConfig that keeps existing loggers) each warning
    is written once, with and without the head start. The settings are checked with a logger
    that must write nothing; a disabled named logger was re-enabled by such a config, and the
    retired-metric warning came out two and three times."""
    server.configure(faults={})
    (tmp_path / "logging.yaml").write_text(LOG_CONFIG, encoding="utf-8")
    env = {"SINGER_SDK_LOG_CONFIG": str(tmp_path / "logging.yaml")}
    config = sandbox_config(server.url, **{**RANGE, "page_metrics": ["page_impressions"]})
    with_early, _ = _run(server, CLI, config, tmp_path, env=env)
    without, _ = _run(server, NO_EARLY, config, tmp_path, env=env)
    for proc in (with_early, without):
        assert proc.returncode == 0, proc.stderr[-2000:]
        retired = [line for line in proc.stderr.splitlines() if "is retired" in line]
        assert len(retired) == 1, retired
        assert retired[0].startswith("WARNING tap-facebook-pages page_metrics: metric")
    assert _lines(with_early.stderr) == _lines(without.stderr)


def test_a_permission_regression_is_found_with_the_early_start(
    server: SandboxServer, tmp_path: Path
) -> None:
    """The state's memory of the granted scopes is compared with the early discovery's."""
    server.configure(faults={})
    config = sandbox_config(server.url, **RANGE)
    first, _ = _run(server, CLI, config, tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    states = [json.loads(line)["value"] for line in first.stdout.splitlines() if '"STATE"' in line]
    (tmp_path / "state.json").write_text(json.dumps(states[-1]), encoding="utf-8")
    server.configure(faults={"missing_permissions": ["pages_read_user_content"]})
    state = str(tmp_path / "state.json")
    with_early, early_calls = _run(server, CLI, config, tmp_path, "--state", state)
    without, calls = _run(server, NO_EARLY, config, tmp_path, "--state", state)
    assert early_calls == calls
    regressions = [
        line for line in with_early.stderr.splitlines() if "permission_regression {" in line
    ]
    assert len(regressions) == 1, with_early.stderr[-3000:]
    assert "pages_read_user_content" in regressions[0]
    assert _lines(with_early.stderr) == _lines(without.stderr)
    assert _records(with_early.stdout) == _records(without.stdout)


def test_each_discovery_call_is_made_once(server: SandboxServer, tmp_path: Path) -> None:
    server.configure(faults={})
    config = sandbox_config(server.url, **RANGE)
    proc, calls = _run(server, CLI, config, tmp_path, "--state", _empty_state(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert {path: n for (path, _), n in calls.items() if not path.endswith("/insights")} == {
        "/me/accounts": 1,
        "/me/permissions": 1,
        "/debug_token": 1,
    }


def _empty_state(tmp_path: Path) -> str:
    path = tmp_path / "state.json"
    path.write_text("{}", encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    "argv",
    [
        ["--config", "c.json", "--discover"],
        ["--config", "c.json", "--test"],
        ["--about"],
        ["--config", "ENV"],
        ["--config", "c.json", "--config", "ENV"],
        ["--config"],
        ["--config", "c.json", "--catalog"],
        ["--catalog", "k.json"],
        [],
    ],
)
def test_nothing_starts_early_but_a_plain_sync(argv: list[str], tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text(json.dumps({"access_token": "x"}), encoding="utf-8")
    argv = [str(tmp_path / a) if a.endswith(".json") else a for a in argv]
    assert early._config_paths(argv) is None


def test_a_plain_sync_reads_every_config_file_in_order(tmp_path: Path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text('{"access_token": "x", "window_days": 5, "backoff_base_seconds": 0.5}')
    second.write_text('{"window_days": 7}')
    argv = ["--config", str(first), f"--config={second}", "--state", "s.json"]
    paths = early._config_paths(argv)
    assert paths == [str(first), str(second)]
    config = early._read_config(paths)
    assert config is not None
    assert config["window_days"] == 7
    assert str(config["backoff_base_seconds"]) == "0.5"  # a Decimal, as the SDK reads it


@pytest.mark.parametrize(
    "config",
    [
        {"sandbox": True},  # the sandbox starts inside the tap
        {"window_days": 5},  # no token: the tap's own line
        {"access_token": "x", "start_date": "not a date"},  # refused: the tap's own line
        {"access_token": "x", "page_metrics": ["no_such_metric"]},
    ],
)
def test_a_config_the_early_start_cannot_serve_starts_nothing(
    config: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    assert early.begin(["--config", str(path)]) is None
