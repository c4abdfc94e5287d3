"""The Singer SDK's standard tap tests, offline against the in-process Graph API sandbox.

``get_tap_test_class`` discovers the streams when this module is imported (to parametrize the
tests) and syncs once in its class-scoped ``runner`` fixture, so the sandbox is started at import
time, with a fixed simulated ``today``, and stopped when the module's tests are done (or at exit
when none of them ran).
"""

from __future__ import annotations

import atexit
import datetime as dt
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class

from tap_facebook_pages.sandbox import SandboxServer
from tap_facebook_pages.tap import TapFacebookPages

TODAY = dt.date(2026, 11, 20)

_SERVER = SandboxServer(today=TODAY).start()
atexit.register(_SERVER.stop)

SAMPLE_CONFIG = {
    "access_token": "sdk-standard-tests-token",
    "api_base_url": _SERVER.url,
    "start_date": "2026-11-12",
    "end_date": "2026-11-19",
    "backoff_base_seconds": 0.001,
    "max_throttle_wait_seconds": 0.05,
}


def _all_streams_selected() -> dict[str, Any]:
    """The discovered catalog with every stream selected, opt-in ones (posts, reels) included.

    The suite's sync selects every stream anyway, but its per-stream checks read the schemas of
    the streams of a tap built from the catalog, where a deselected stream has none.
    """
    catalog = TapFacebookPages(config=SAMPLE_CONFIG, parse_env_config=False).catalog_dict
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            if not entry["breadcrumb"]:
                entry["metadata"]["selected"] = True
    return catalog


# Not a Test* name, so pytest collects the suite once (through the subclass below).
_StandardSuite = get_tap_test_class(
    TapFacebookPages,
    config=SAMPLE_CONFIG,
    catalog=_all_streams_selected(),
    parse_env_config=False,  # no TAP_FACEBOOK_PAGES_* or .env leaking in
    suite_config=SuiteConfig(max_records_limit=50),
)


class TestTapFacebookPagesStandard(_StandardSuite):  # type: ignore[misc,valid-type]
    """CLI, discovery, connection, final state, per-stream and per-attribute checks."""

    @pytest.fixture(scope="class", autouse=True)
    @classmethod
    def _sandbox(cls) -> Iterator[SandboxServer]:
        yield _SERVER
        _SERVER.stop()


def _render_script() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "scripts" / "render_sample_catalog.py"
    spec = importlib.util.spec_from_file_location("render_sample_catalog", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sample_catalog_is_up_to_date() -> None:
    """catalog/sample_catalog.json is what `--discover` prints on the sandbox (deterministic)."""
    script = _render_script()
    rendered = script.render()
    assert rendered == script.render(), "discovery output is not deterministic"
    committed = script.SAMPLE_CATALOG.read_text(encoding="utf-8")
    assert committed == rendered, (
        "catalog/sample_catalog.json is out of date: run "
        "`.venv/bin/python scripts/render_sample_catalog.py`"
    )
