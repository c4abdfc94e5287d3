"""Issue 16 #1: ``metric_catalog_path`` merges a local catalog file over the packaged one, for
the run whose config names it (planning, replacements and the run's requests follow it)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tap_facebook_pages.config import ConfigError, Settings
from tap_facebook_pages.metrics import load_catalog
from tap_facebook_pages.sandbox import SandboxServer
from tap_facebook_pages.tap import TapFacebookPages
from tests.helpers import insights_only, run_tap, sandbox_config, select_catalog

TODAY = dt.date(2026, 11, 20)
P1 = "100000000000001"
RANGE = {"start_date": "2026-06-01", "end_date": "2026-06-05"}
RETIRED = "page_views_total"
LOG = logging.getLogger("test_catalog_override")


def _entry(key: str, level: str = "PAGE") -> dict[str, Any]:
    raw = json.loads(
        (Path(__file__).parent.parent / "tap_facebook_pages/metrics/catalog.json").read_text()
    )
    return copy.deepcopy(
        next(e for e in raw["metrics"] if e["metric_key"] == key and e["level"] == level)
    )


def _retired(key: str) -> dict[str, Any]:
    entry = _entry(key)
    entry.update(
        status="DEPRECATED",
        retired_on="2026-11-01",
        is_default=False,
        description=f"Retired 2026-11-01: {entry['description']}",
    )
    return entry


def _write(tmp_path: Path, metrics: list[dict[str, Any]], **top: Any) -> str:
    path = tmp_path / "override.json"
    path.write_text(json.dumps({"version": 2, **top, "metrics": metrics}))
    return str(path)


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(today=TODAY) as srv:
        yield srv


def _insights_calls(sandbox: SandboxServer) -> list[dict[str, Any]]:
    return [r for r in sandbox.requests if r["path"].endswith("/insights")]


def _run(config: dict[str, Any]) -> None:
    run_tap(config, catalog=select_catalog(config, insights_only))


def test_a_metric_retired_by_the_override_is_skipped_with_a_warning_and_no_failing_call(
    sandbox: SandboxServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = load_catalog().defaults("PAGE")
    assert RETIRED in metrics
    config = sandbox_config(
        sandbox.url,
        page_ids=[P1],
        page_metrics=metrics,
        metric_catalog_path=_write(tmp_path, [_retired(RETIRED)]),
        **RANGE,
    )
    with caplog.at_level(logging.WARNING):
        _run(config)
    calls = _insights_calls(sandbox)
    assert calls
    assert all(r["status"] == 200 for r in calls)
    assert all(RETIRED not in r["params"].get("metric", "") for r in calls)
    warned = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and f"'{RETIRED}' is retired 2026-11-01" in r.getMessage()
    ]
    assert warned
    assert "skipping it" in warned[0]

    # The same process, the next run without the override: the packaged catalog again.
    sandbox.reset_log()
    config.pop("metric_catalog_path")
    _run(config)
    assert any(RETIRED in r["params"].get("metric", "") for r in _insights_calls(sandbox))
    assert load_catalog().is_live(RETIRED)


def test_an_override_adding_a_period_makes_it_requested(
    sandbox: SandboxServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The packaged catalog lists day only for page_daily_follows: with periods day,week it is
    asked with period=day. An override listing week too makes the run ask for both (no period
    parameter: the API answers every period it has) and expect week values."""
    metric = "page_daily_follows"
    config = sandbox_config(
        sandbox.url, page_ids=[P1], page_metrics=[metric], periods=["day", "week"], **RANGE
    )
    _run(config)
    assert {r["params"].get("period") for r in _insights_calls(sandbox)} == {"day"}

    entry = _entry(metric)
    entry["supported_periods"] = ["day", "week"]
    config["metric_catalog_path"] = _write(tmp_path, [entry], as_of="2026-11-20")
    sandbox.reset_log()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        _run(config)
    calls = _insights_calls(sandbox)
    assert calls
    assert all(r["params"].get("period") in {None, "day,week"} for r in calls)
    assert any(f"{metric}/week" in r.getMessage() for r in caplog.records)
    assert not any("does not answer period(s) week" in r.getMessage() for r in caplog.records)


def test_runs_in_one_process_do_not_share_their_catalog(tmp_path: Path) -> None:
    """Two taps built one after the other, and one after the other again: each plans with the
    catalog of its own config; the process-wide packaged catalog is never changed."""
    path = _write(tmp_path, [_retired(RETIRED)])
    base = {"sandbox": True, "page_metrics": [RETIRED, "page_follows"], **RANGE}
    for _ in range(2):
        with_override = TapFacebookPages(config={**base, "metric_catalog_path": path})
        without = TapFacebookPages(config=base)
        assert with_override.settings.page_metrics.metrics == ["page_follows"]
        assert without.settings.page_metrics.metrics == [RETIRED, "page_follows"]
        assert not with_override.settings.catalog.is_live(RETIRED)
        assert without.settings.catalog is load_catalog()
    assert load_catalog().is_live(RETIRED)


def test_an_override_can_add_a_metric(tmp_path: Path) -> None:
    entry = _entry("page_follows")
    entry.update(metric_key="page_follows_new", title="New follows")
    path = _write(tmp_path, [entry])
    settings = Settings.from_config(
        {"page_metrics": ["page_follows_new"], "metric_catalog_path": path}, LOG, today=TODAY
    )
    assert settings.page_metrics.metrics == ["page_follows_new"]
    assert len(settings.catalog) == len(load_catalog()) + 1


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "not found"),
        ("{", "not valid JSON"),
        ({"metrics": []}, "'version' is a required property"),
        ({"version": 1, "metrics": [{}]}, "version: 2 was expected"),
        ({"version": 2, "metrics": []}, "metrics: [] should be non-empty"),
        ({"version": 2, "metrics": [{"metric_key": "x"}]}, "metrics[0] (x)"),
        ({"version": 2, "metrics": [{**_retired(RETIRED), "retired_on": None}]}, "retired_on"),
        (
            {"version": 2, "metrics": [_retired(RETIRED), _retired(RETIRED)]},
            f"PAGE metric '{RETIRED}' is listed more than once",
        ),
    ],
)
def test_an_unusable_override_is_one_config_error_naming_the_file(
    tmp_path: Path, content: Any, problem: str
) -> None:
    path = tmp_path / "override.json"
    if content is not None:
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(ConfigError) as caught:
        Settings.from_config({"metric_catalog_path": str(path)}, LOG, today=TODAY)
    text = str(caught.value)
    assert text.startswith(f"metric_catalog_path: {path}: ")
    assert problem in text
    assert "\n" not in text


def test_an_unusable_override_exits_2_through_the_cli(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text(json.dumps({"version": 2, "metrics": [{}]}))
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"sandbox": True, "metric_catalog_path": str(tmp_path / "bad.json")}))
    proc = subprocess.run(
        [sys.executable, "-m", "tap_facebook_pages", "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert "metric_catalog_path" in proc.stderr
    assert "bad.json" in proc.stderr
    assert "Traceback" not in proc.stderr
