"""Issue 16: ``tap-facebook-pages-probe`` against the offline sandbox. The expected answers come
from the sandbox's own model (``sandbox/api_model.json``), never from the tap's catalog."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tap_facebook_pages import probe
from tap_facebook_pages.config import Settings
from tap_facebook_pages.metrics import load_catalog, read_override
from tap_facebook_pages.sandbox import SandboxServer
from tap_facebook_pages.sandbox.api_model import Verdict, load_model
from tests.helpers import run_tap, sandbox_config

TODAY = dt.date(2026, 11, 20)
P1 = "100000000000001"


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(today=TODAY) as srv:
        yield srv


@pytest.fixture
def sandbox(server: SandboxServer) -> SandboxServer:
    server.configure(faults={"usage_step": 0}, revision=0)
    server.reset_log()
    server.reset_usage()
    return server


def _config(tmp_path: Path, sandbox: SandboxServer, **extra: Any) -> str:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(sandbox_config(sandbox.url, **extra)), encoding="utf-8")
    return str(path)


def _probe(argv: list[str]) -> tuple[probe.ProbeResult, str]:
    out = io.StringIO()
    result = probe.run(argv, out=out, today=TODAY)
    return result, out.getvalue()


def _insights_calls(sandbox: SandboxServer) -> list[dict[str, Any]]:
    return [
        r
        for r in sandbox.requests
        if not r["batch_envelope"] and r["path"].endswith(("/insights", "/video_insights"))
    ]


def _entry(key: str, **changes: Any) -> dict[str, Any]:
    """The packaged catalog entry of PAGE ``key``, with ``changes``."""
    metric = load_catalog().get(key)
    assert metric is not None
    assert metric.level == "PAGE"
    return metric.to_dict() | changes


def _catalog_file(tmp_path: Path, entries: list[dict[str, Any]]) -> str:
    path = tmp_path / "wrong-catalog.json"
    path.write_text(json.dumps({"version": 2, "metrics": entries}), encoding="utf-8")
    return str(path)


def test_the_table_matches_the_sandbox_model(sandbox: SandboxServer, tmp_path: Path) -> None:
    result, text = _probe(["--config", _config(tmp_path, sandbox)])
    model = load_model()
    by_key = {r.metric.metric_key: r for r in result.results}
    assert result.page_id == P1
    assert set(by_key) == {m.metric_key for m in load_catalog().at_level("PAGE")}
    for key, observed in by_key.items():
        verdict = model.verdict("PAGE", key)
        if verdict is Verdict.ANSWERED:
            api = model.metric("PAGE", key)
            assert api is not None
            expected = [p for p in observed.asked if p in api.periods]
            assert (observed.status, observed.answered) == ("answered", expected), key
            assert observed.value_type == ("object" if api.is_object else "number"), key
        elif verdict is Verdict.MONETIZATION:
            assert (observed.status, observed.answered) == ("permission #200", []), key
        else:
            assert verdict is Verdict.INVALID
            assert (observed.status, observed.answered) == ("retired #100", []), key
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines()[2:]}
    assert rows["page_follows"] == ["answered", "day,week,days_28", "number"]
    assert rows["page_daily_follows"] == ["answered", "day", "number"]
    assert rows["page_impressions"] == ["retired", "#100", "-", "none"]
    assert rows["page_daily_video_ad_break_cpm_by_crosspost_status"] == [
        "permission",
        "#200",
        "-",
        "none",
    ]
    assert rows["page_fan_adds_by_paid_non_paid_unique"][-1] == "object"


def test_one_call_per_metric_and_period_and_no_retry_when_a_period_is_not_answered(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    # lifetime of page_media_view answers code 1 subcode 99 (transient for a run), that of
    # page_video_views_by_uploaded_hosted a code 100: both are "period not answered".
    wrong = _catalog_file(
        tmp_path,
        [
            _entry("page_media_view", supported_periods=["day", "week", "days_28", "lifetime"]),
            _entry(
                "page_video_views_by_uploaded_hosted",
                supported_periods=["day", "week", "days_28", "lifetime"],
            ),
        ],
    )
    config = _config(tmp_path, sandbox, max_retries=5, metric_catalog_path=wrong)
    result, text = _probe(["--config", config])
    calls = _insights_calls(sandbox)
    asked = sum(len(r.asked) for r in result.results)
    assert asked == 3 * len(result.results) + 3  # + lifetime of the two and the catalog's one
    assert len(calls) == asked == result.calls
    pairs = [(c["params"]["metric"], c["params"]["period"]) for c in calls]
    assert len(set(pairs)) == len(pairs)
    assert pairs.count(("page_media_view", "lifetime")) == 1
    by_key = {r.metric.metric_key: r for r in result.results}
    for key in ("page_media_view", "page_video_views_by_uploaded_hosted"):
        observed = by_key[key]
        assert observed.status == "answered"
        assert observed.answered == ["day", "week", "days_28"]
        assert list(observed.not_answered) == ["lifetime"]
    assert "page_media_view" in text
    assert "answered (not lifetime)" in text


def test_write_gives_an_override_file_a_run_accepts(sandbox: SandboxServer, tmp_path: Path) -> None:
    wrong = _catalog_file(
        tmp_path,
        [
            _entry("page_daily_follows", supported_periods=["day", "week", "days_28"]),
            _entry(
                "page_impressions",
                status="ACTIVE",
                retired_on=None,
                replacement_metric_key=None,
                description="Impressions.",
            ),
            _entry("page_media_view", supported_periods=["day", "week", "days_28", "lifetime"]),
        ],
    )
    written = tmp_path / "override.json"
    _probe(
        ["--config", _config(tmp_path, sandbox, metric_catalog_path=wrong), "--write", str(written)]
    )
    document = json.loads(written.read_text(encoding="utf-8"))
    entries = {e["metric_key"]: e for e in document["metrics"]}
    assert set(entries) == {"page_daily_follows", "page_impressions", "page_media_view"}
    assert entries["page_daily_follows"]["supported_periods"] == ["day"]
    assert entries["page_impressions"]["status"] == "INVALID"
    assert entries["page_media_view"]["supported_periods"] == ["day", "week", "days_28"]
    assert all(e["evidence"].startswith("probe 2026-11-20: ") for e in entries.values())
    assert "lifetime not answered" in entries["page_media_view"]["evidence"]
    assert len(read_override(str(written))) == 3

    # A run with the written file as metric_catalog_path succeeds and asks no retired metric.
    config = sandbox_config(
        sandbox.url,
        page_ids=[P1],
        page_metrics=["page_daily_follows", "page_follows"],
        metric_catalog_path=str(written),
        start_date="2026-11-10",
        end_date="2026-11-12",
    )
    settings = Settings.from_config(config, probe.logging.getLogger("test"), today=TODAY)
    assert not settings.catalog.is_live("page_impressions")
    sandbox.reset_log()
    output = run_tap(config)
    rows = [
        r for name, rs in output.records.items() if name.startswith("page_insights") for r in rs
    ]
    assert {r["metric"] for r in rows} == {"page_daily_follows", "page_follows"}
    assert {r["period"] for r in rows if r["metric"] == "page_daily_follows"} == {"day"}


def test_no_file_when_nothing_differs(sandbox: SandboxServer, tmp_path: Path) -> None:
    written = tmp_path / "override.json"
    _, text = _probe(["--config", _config(tmp_path, sandbox), "--write", str(written)])
    assert not written.exists()
    assert "no differences from the catalog" in text


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        ([], "--config"),
        (["--config", "/nonexistent/config.json"], "not found"),
        (["--config", "CONFIG", "--level", "STORY"], "--level STORY"),
        (["--config", "CONFIG", "--page", "999"], "--page 999"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    sandbox: SandboxServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    needle: str,
) -> None:
    config = _config(tmp_path, sandbox)
    with pytest.raises(SystemExit) as raised:
        probe.main([config if a == "CONFIG" else a for a in argv])
    assert raised.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{probe.PROG}: error: ")
    assert needle in err
    assert err.count("\n") == 1
    assert not _insights_calls(sandbox)


@pytest.mark.parametrize("level", ["POST", "REEL"])
def test_post_and_reel_levels_match_the_sandbox_model(
    sandbox: SandboxServer, tmp_path: Path, level: str
) -> None:
    result, _ = _probe(["--config", _config(tmp_path, sandbox), "--level", level])
    model = load_model()
    for observed in result.results:
        key = observed.metric.metric_key
        verdict = model.verdict(level, key)
        if verdict is Verdict.ANSWERED:
            api = model.metric(level, key)
            assert api is not None
            expected = [p for p in observed.asked if p in api.periods]
            assert (observed.status, observed.answered) == ("answered", expected), key
        elif verdict is Verdict.INVALID:
            assert observed.status == "retired #100", key
        elif verdict is Verdict.EMPTY:
            assert (observed.status, observed.answered) == ("answered", []), key
        else:
            assert observed.status.startswith("other: "), key
    assert len(_insights_calls(sandbox)) == sum(len(r.asked) for r in result.results)


def test_write_adds_object_keys_the_catalog_does_not_list(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    """A catalog that knows only the "like" reaction: the probe sees the sandbox's other
    reaction keys and writes them into the entry's keys, so a run with the file reports no
    object_keys drift (the keys expected come from the sandbox's model)."""
    name = "page_actions_post_reactions_total"
    wrong = _catalog_file(tmp_path, [_entry(name, keys=["like"])])
    written = tmp_path / "override.json"
    _probe(
        ["--config", _config(tmp_path, sandbox, metric_catalog_path=wrong), "--write", str(written)]
    )
    (entry,) = json.loads(written.read_text(encoding="utf-8"))["metrics"]
    model_keys = load_model().value_keys(name)
    assert model_keys is not None
    assert entry["keys"][0] == "like"
    assert set(entry["keys"]) <= set(model_keys)
    assert len(entry["keys"]) > 1
    assert entry["supported_periods"] == ["day", "week", "days_28"]
    (metric,) = read_override(str(written))
    assert metric.keys == tuple(entry["keys"])


def test_the_readme_offline_probe_is_not_throttled_by_the_sandbox_quota(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """README: ``tap-facebook-pages-probe --config sandbox.json`` with ``{"sandbox": true}``. The
    page level is about 570 calls; the built-in sandbox's simulated quota must not make the tap
    pause (it used to reach 99 % after 99 calls and wait 60 s, again and again)."""
    path = tmp_path / "sandbox.json"
    path.write_text('{"sandbox": true}', encoding="utf-8")
    with caplog.at_level(logging.INFO):
        result, text = _probe(["--config", str(path)])
    assert result.calls > 500
    assert not [r for r in caplog.records if "Waiting" in r.getMessage()]
    assert text.splitlines()[0].endswith(f"{len(result.results)} metrics, {result.calls} calls")


def test_the_probe_dates_its_result_on_the_pacific_day_of_its_window(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 05:00 UTC it is still the previous day in California: the probe's date and its window
    (the three days before it) are both Pacific. The date used to be the machine's day."""
    monkeypatch.setattr(
        "tap_facebook_pages.windows.utc_now",
        lambda: dt.datetime(2026, 11, 21, 5, 0, tzinfo=dt.timezone.utc),
    )
    out = io.StringIO()
    result = probe.run(["--config", _config(tmp_path, sandbox)], out=out)
    assert result.probed_on == dt.date(2026, 11, 20)
    assert (result.since, result.until) == (dt.date(2026, 11, 17), dt.date(2026, 11, 20))
