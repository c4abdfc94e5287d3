"""Run the tap in-process and collect its Singer messages."""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import os
import subprocess
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tap_facebook_pages.tap import TapFacebookPages

TEST_TOKEN = "EAAB-test-user-token-DO-NOT-LEAK-0123456789"
CLOCK_HOOK = Path(__file__).parent / "clock"


def pinned_clock_env(now: datetime.datetime) -> dict[str, str]:
    """The environment of a tap subprocess whose clock reads ``now`` (``tests/clock``)."""
    path = os.pathsep.join(p for p in (str(CLOCK_HOOK), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, "TFP_TEST_NOW": now.isoformat()}


@dataclass
class RunOutput:
    """Messages of one tap run, by kind."""

    messages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def records(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for msg in self.messages:
            if msg["type"] == "RECORD":
                out[msg["stream"]].append(msg["record"])
        return out

    @property
    def states(self) -> list[dict[str, Any]]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def last_state(self) -> dict[str, Any] | None:
        states = self.states
        return states[-1] if states else None


def parse_messages(text: str) -> RunOutput:
    return RunOutput([json.loads(line) for line in text.splitlines() if line.strip()])


def run_tap(
    config: dict[str, Any],
    *,
    state: dict[str, Any] | None = None,
    catalog: dict[str, Any] | None = None,
) -> RunOutput:
    """Sync in-process; returns the parsed stdout messages."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        tap = TapFacebookPages(config=config, state=state, catalog=catalog)
        tap.sync_all()
        tap.finish_run()
    return parse_messages(buffer.getvalue())


def select_catalog(config: dict[str, Any], wanted: Callable[[str], bool]) -> dict[str, Any]:
    """The discovered catalog with only the streams ``wanted(name)`` selected."""
    tap = TapFacebookPages(config=config)
    catalog = tap.catalog_dict
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            if not entry["breadcrumb"]:
                entry["metadata"]["selected"] = wanted(stream["tap_stream_id"])
    return catalog


def insights_only(name: str) -> bool:
    """Stream filter: ``pages`` and the ``page_insights_*`` streams."""
    return name == "pages" or name.startswith("page_insights_")


def sandbox_config(url: str, **extra: Any) -> dict[str, Any]:
    """A config that reads from a running sandbox."""
    config: dict[str, Any] = {
        "access_token": TEST_TOKEN,
        "api_base_url": url,
        "backoff_base_seconds": 0.001,
        "max_throttle_wait_seconds": 0.05,
    }
    config.update(extra)
    return config


def run_meltano(
    argv: list[str], *, cwd: Any, env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run the ``meltano`` CLI (``argv`` starts with its executable); a non-zero exit fails
    the test with the end of its output."""
    import pytest  # noqa: PLC0415 - only the e2e tests run Meltano

    proc = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        pytest.fail(
            f"meltano {' '.join(argv[1:])} exited {proc.returncode}:\n"
            f"{proc.stderr[-6000:]}\n{proc.stdout[-2000:]}"
        )
    return proc
