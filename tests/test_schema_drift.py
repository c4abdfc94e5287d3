"""Issue 16 #2: answers compared with the run's catalog (schema drift): one structured WARNING
per (page, metric, kind) per run, counted in the run summary; the rows are never changed."""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tap_facebook_pages.metrics import Metric, load_catalog
from tap_facebook_pages.sandbox import SandboxServer
from tap_facebook_pages.sandbox import data as sbx
from tap_facebook_pages.source.drift import findings, page_fields
from tests.helpers import RunOutput, insights_only, run_tap, sandbox_config, select_catalog

TODAY = dt.date(2026, 11, 20)
P1 = "100000000000001"
DAYS = [dt.date(2026, 6, 1) + dt.timedelta(days=i) for i in range(5)]
RANGE = {"start_date": "2026-06-01", "end_date": "2026-06-05"}
NUMBER = "page_views_total"  # a number in the catalog and in the sandbox
OBJECT = "page_actions_post_reactions_total"  # an object in both


def _entry(key: str, level: str = "PAGE", **changes: Any) -> dict[str, Any]:
    raw = json.loads(
        (Path(__file__).parent.parent / "tap_facebook_pages/metrics/catalog.json").read_text()
    )
    entry = next(e for e in raw["metrics"] if e["metric_key"] == key and e["level"] == level)
    out = {**copy.deepcopy(entry), **changes}
    if out["value_type"] == "number":
        out.pop("keys", None)  # a number has no keys (the catalog's schema insists)
    return out


def _override(tmp_path: Path, *entries: dict[str, Any]) -> str:
    path = tmp_path / "override.json"
    path.write_text(json.dumps({"version": 2, "metrics": list(entries)}))
    return str(path)


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(today=TODAY) as srv:
        yield srv


def _sync(
    config: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    wanted: Any = insights_only,
    state: dict[str, Any] | None = None,
) -> tuple[RunOutput, list[dict[str, Any]], dict[str, Any]]:
    """The run's output, its schema_drift lines and its run summary."""
    catalog = select_catalog(config, wanted)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        out = run_tap(config, catalog=catalog, state=state)
    drift = [
        json.loads(r.getMessage().removeprefix("schema_drift "))
        for r in caplog.records
        if r.getMessage().startswith("schema_drift ")
    ]
    assert all(
        r.levelno == logging.WARNING for r in caplog.records if "schema_drift {" in r.getMessage()
    )
    (summary,) = [
        json.loads(r.getMessage().removeprefix("run summary "))
        for r in caplog.records
        if r.getMessage().startswith("run summary ")
    ]
    return out, drift, summary


def test_no_drift_when_the_catalog_matches_the_answers(
    sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The sandbox answers as the packaged catalog says, for every stream (the stray day row
    of a lifetime post metric is a known habit of the API, not drift)."""
    config = sandbox_config(
        sandbox.url, page_ids=[P1], start_date="2025-12-01", end_date="2026-11-19"
    )
    out, drift, summary = _sync(config, caplog, lambda name: True)
    assert out.records["post_insights"]
    assert out.records["reel_insights"]
    assert drift == []
    assert summary["schema_drift"] == 0


def test_a_flipped_value_type_is_drift_and_the_rows_still_land(
    sandbox: SandboxServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An override calls a number metric an object and an object metric a number: the sandbox's
    answers are drift of kind value_type, one line per (page, metric, kind) although the run
    reads three windows, and every value lands as without the override."""
    path = _override(
        tmp_path, _entry(NUMBER, value_type="object"), _entry(OBJECT, value_type="number")
    )
    base = sandbox_config(sandbox.url, page_ids=[P1], page_metrics=[NUMBER, OBJECT], **RANGE)
    plain, none, _ = _sync({**base, "window_days": 2}, caplog)
    assert none == []
    out, drift, summary = _sync({**base, "window_days": 2, "metric_catalog_path": path}, caplog)
    assert sorted((d["metric"], d["kind"]) for d in drift) == [
        (OBJECT, "value_type"),
        (NUMBER, "value_type"),
    ]
    by_metric = {d["metric"]: d for d in drift}
    assert by_metric[NUMBER]["detail"] == "catalog value_type object, answered a number"
    assert by_metric[OBJECT]["detail"] == "catalog value_type number, answered an object"
    for line in drift:
        assert line["page_id"] == P1
        assert line["run_id"] == summary["run_id"]
        assert set(line) >= {"run_id", "page_id", "metric", "kind", "detail"}
    assert summary["schema_drift"] == 2
    rows = out.records[f"page_insights_{P1}"]
    assert rows == plain.records[f"page_insights_{P1}"]
    numbers = {(r["date"], r["value"]) for r in rows if r["metric"] == NUMBER}
    expected = {(str(d), sbx.metric_value(P1, NUMBER, "day", d, today=TODAY)) for d in DAYS}
    assert numbers == expected
    objects = [r for r in rows if r["metric"] == OBJECT]
    assert objects
    assert all(r["value_json"] for r in objects)


def test_an_answered_period_the_catalog_does_not_list_is_drift(
    sandbox: SandboxServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The metrics want different periods, so no period parameter is sent and the API answers
    every period it has: page_views_total's week and days_28 answers are drift for a catalog
    that lists day only; its day values land."""
    path = _override(tmp_path, _entry(NUMBER, supported_periods=["day"]))
    config = sandbox_config(
        sandbox.url,
        page_ids=[P1],
        page_metrics=[NUMBER, "page_follows"],
        periods=["day", "week"],
        metric_catalog_path=path,
        **RANGE,
    )
    out, drift, summary = _sync(config, caplog)
    assert [(d["metric"], d["kind"]) for d in drift] == [(NUMBER, "period")]
    assert drift[0]["detail"].startswith("answered period week, catalog lists day")
    assert summary["schema_drift"] == 1
    rows = out.records[f"page_insights_{P1}"]
    assert {r["date"] for r in rows if r["metric"] == NUMBER and r["period"] == "day"} == {
        str(d) for d in DAYS
    }
    # week is configured for the run: the values the API answered for it land although the
    # catalog says the metric has none (drift never drops a value), with the sandbox's numbers.
    week = {
        (r["date"], r["value"]) for r in rows if r["metric"] == NUMBER and r["period"] == "week"
    }
    assert week == {(str(d), sbx.metric_value(P1, NUMBER, "week", d, today=TODAY)) for d in DAYS}
    # days_28 was not configured: not a row, whatever the API answers.
    assert not [r for r in rows if r["period"] == "days_28"]


def test_post_and_reel_insights_are_compared_with_the_same_helper(
    sandbox: SandboxServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    post_metric, reel_metric = "post_clicks", "blue_reels_play_count"
    path = _override(
        tmp_path,
        _entry(post_metric, "POST", value_type="object"),
        _entry(reel_metric, "REEL", value_type="object"),
    )
    page = sbx.ACCOUNT_PAGE_IDS[0]
    config = sandbox_config(
        sandbox.url,
        page_ids=[page],
        start_date="2025-12-01",
        end_date=str(TODAY - dt.timedelta(days=1)),
        metric_catalog_path=path,
    )
    out, drift, summary = _sync(
        config, caplog, lambda name: name in {"post_insights", "reel_insights"}
    )
    assert sorted((d["level"], d["metric"], d["kind"]) for d in drift) == [
        ("POST", post_metric, "value_type"),
        ("REEL", reel_metric, "value_type"),
    ]
    assert {d["page_id"] for d in drift} == {page}
    assert summary["schema_drift"] == 2
    assert any(r["metric"] == post_metric for r in out.records["post_insights"])
    assert any(r["metric"] == reel_metric for r in out.records["reel_insights"])


def test_a_retired_metric_answering_is_drift() -> None:
    metric = Metric.from_dict(
        _entry(
            "page_fans",
            supported_periods=["day"],
        )
    )
    assert not metric.is_live
    entry = {"name": "page_fans", "period": "day", "values": [{"value": 3, "end_time": "x"}]}
    assert [kind for kind, _ in findings(entry, metric)] == ["retired"]
    assert findings({**entry, "values": []}, metric) == []
    live = load_catalog().get(NUMBER, "PAGE")
    assert live is not None
    assert findings({**entry, "name": NUMBER}, live) == []
    assert findings({**entry, "values": [{"value": None}, {"value": "1"}]}, live) == []


def test_an_object_key_the_catalog_does_not_list_is_drift_and_the_value_lands(
    sandbox: SandboxServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The catalog lists the reaction types of page_actions_post_reactions_total; an override
    that knows only "like" makes the sandbox's other reaction keys new: one object_keys line
    naming them, and every row (keys and value_json) as without the override."""
    base = sandbox_config(sandbox.url, page_ids=[P1], page_metrics=[OBJECT], **RANGE)
    plain, none, _ = _sync(base, caplog)
    assert none == []
    rows = plain.records[f"page_insights_{P1}"]
    answered = {r["breakdown_key"] for r in rows if r["metric"] == OBJECT} - {""}
    assert "like" in answered
    assert answered - {"like"}, "the sandbox answers more than one reaction type"
    path = _override(tmp_path, _entry(OBJECT, keys=["like"]))
    out, drift, summary = _sync({**base, "metric_catalog_path": path}, caplog)
    assert [(d["page_id"], d["metric"], d["kind"]) for d in drift] == [(P1, OBJECT, "object_keys")]
    new = sorted(answered - {"like"})
    assert drift[0]["detail"] == f"answered key(s) {', '.join(new)}, catalog lists like"
    assert summary["schema_drift"] == 1
    assert out.records[f"page_insights_{P1}"] == rows


def test_object_keys_are_only_compared_where_the_catalog_lists_them() -> None:
    catalog = load_catalog()
    fixed = catalog.get(OBJECT, "PAGE")
    assert fixed is not None
    assert fixed.keys == ("like", "love", "wow", "haha", "sorry", "anger")
    entry = {"name": OBJECT, "period": "day", "values": [{"value": {"like": 1, "care": 2}}]}
    assert findings(entry, fixed) == [
        ("object_keys", "answered key(s) care, catalog lists like,love,wow,haha,sorry,anger")
    ]
    assert findings({**entry, "values": [{"value": {"like": 1, "wow": 2}}]}, fixed) == []
    varying = catalog.get("post_video_view_time_by_country_id", "POST")
    assert varying is not None
    assert varying.keys is None  # countries vary: any key is fine
    anywhere = {**entry, "period": "lifetime", "values": [{"value": {"ZZ": 1}}]}
    assert findings({**anywhere, "name": varying.metric_key}, varying) == []


def test_every_catalog_key_list_is_on_an_object_metric() -> None:
    listed = [m for m in load_catalog() if m.keys is not None]
    assert len(listed) == 12
    assert all(m.is_object for m in listed)
    reactions = load_catalog().get("post_reactions_by_type_total", "POST")
    assert reactions is not None
    assert reactions.keys == ("like", "love", "wow", "haha", "sorry", "anger")


def _pages_drift(
    sandbox: SandboxServer, caplog: pytest.LogCaptureFixture, state: dict[str, Any] | None
) -> tuple[RunOutput, list[dict[str, Any]], dict[str, Any]]:
    config = sandbox_config(sandbox.url, **RANGE)
    return _sync(config, caplog, lambda name: name == "pages", state)


def test_page_fields_dropped_or_added_by_the_api_are_drift(
    sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Run 1 remembers the fields each page answered. The API then stops answering fan_count
    and starts answering a field the stream has no column for: run 2 emits one schema_drift
    line per (field, kind) naming every page, counted in the summary; the pages still load."""
    first, drift, summary = _pages_drift(sandbox, caplog, None)
    assert drift == []
    assert summary["schema_drift"] == 0
    ids = sorted(r["id"] for r in first.records["pages"])
    assert len(ids) == len(sbx.ACCOUNT_PAGE_IDS)
    sandbox.configure(faults={"page_fields": {"drop": ["fan_count"], "add": {"fan_total": 9}}})
    second, drift, summary = _pages_drift(sandbox, caplog, first.last_state)
    by_kind = {(d["kind"], d["field"]): d for d in drift}
    assert sorted(by_kind) == [
        ("page_field_added", "fan_total"),
        ("page_field_missing", "fan_count"),
    ]
    for line in drift:
        assert line["page_ids"] == ids
        assert line["run_id"] == summary["run_id"]
        assert line["level"] == "PAGE"
    assert summary["schema_drift"] == 2
    pages = {r["id"]: r for r in second.records["pages"]}
    assert sorted(pages) == ids
    assert all(r["fan_count"] is None for r in pages.values())
    assert all("fan_total" not in r for r in pages.values())
    # The third run remembers the second's answers: the same change is not news again.
    _, drift, summary = _pages_drift(sandbox, caplog, second.last_state)
    assert [(d["kind"], d["field"]) for d in drift] == [("page_field_added", "fan_total")]


def test_page_field_memory_rules() -> None:
    schema = ("id", "name", "website")
    memory, found = page_fields(None, {"1": ["id", "name"]}, schema_fields=schema)
    assert memory == {"compared": ["id", "name", "website"], "absent": {"1": ["website"]}}
    assert found == {}  # nothing remembered: nothing can be missing
    # Page 2 is not in this run (another shard): it keeps its memory. Page 1 lost name; a
    # field it never answered (website) is not missing.
    before = {"compared": ["id", "name", "website"], "absent": {"1": ["website"], "2": []}}
    memory, found = page_fields(before, {"1": ["id"]}, schema_fields=schema)
    assert found == {("page_field_missing", "name"): ["1"]}
    assert memory["absent"] == {"1": ["name", "website"], "2": []}
    # A field the tap stopped asking for is not reported as missing.
    memory, found = page_fields(before, {"1": ["id"]}, schema_fields=("id", "website"))
    assert found == {}
    # Garbage in the state is as good as no memory.
    assert page_fields({"absent": 3, "compared": "x"}, {"1": ["id"]}, schema_fields=schema)[1] == {}
