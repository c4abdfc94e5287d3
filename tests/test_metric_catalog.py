"""The metric catalog (catalog.json): schema, integrity, known facts, rendered docs."""

from __future__ import annotations

import datetime
import importlib.util
import json
import logging
import re
from collections import Counter
from pathlib import Path

import jsonschema
import pytest

from tap_facebook_pages.config import plan_metrics
from tap_facebook_pages.metrics import LEVELS, STATUSES, Metric, load_catalog
from tests.live_probe import PROBE_ANSWERED, PROBE_INVALID, PROBE_MONETIZATION

ROOT = Path(__file__).resolve().parent.parent
METRICS_DIR = ROOT / "tap_facebook_pages" / "metrics"
RENDER_SCRIPT = ROOT / "scripts" / "render_metrics_catalog.py"
METRICS_MD = ROOT / "catalog" / "METRICS.md"
OPTIONAL_FIELDS = ("requires", "evidence")

# graph-api.md §11.1's lists (tests/live_probe.py) are shared with the sandbox's tests.

EXPECTED_DEFAULTS = {
    "PAGE": {
        "page_post_engagements",
        "page_daily_follows_unique",
        "page_total_media_view_unique",
        "page_total_actions",
        "page_media_view",
        "page_views_total",
        "page_follows",
        "page_daily_unfollows_unique",
        "page_video_views",
        "page_actions_post_reactions_total",
    },
    "POST": {
        "post_media_view",
        "post_total_media_view_unique",
        "post_clicks",
        "post_reactions_by_type_total",
        "post_clicks_by_type",
    },
    "REEL": {
        "blue_reels_play_count",
        "post_video_avg_time_watched",
        "post_video_view_time",
        "post_video_social_actions",
        "post_video_likes_by_reaction_type",
    },
}


@pytest.fixture(scope="module")
def raw() -> dict:
    return json.loads((METRICS_DIR / "catalog.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def entries(raw: dict) -> list[dict]:
    return raw["metrics"]


@pytest.fixture(scope="module")
def by_key(entries: list[dict]) -> dict[tuple[str, str], dict]:
    return {(e["level"], e["metric_key"]): e for e in entries}


@pytest.fixture(scope="module")
def renderer():
    spec = importlib.util.spec_from_file_location("render_metrics_catalog", RENDER_SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- structure


def test_catalog_validates_against_schema(raw: dict) -> None:
    schema = json.loads((METRICS_DIR / "schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(raw)]
    assert errors == []


def test_schema_rejects_unknown_fields_and_bad_enums(raw: dict) -> None:
    schema = json.loads((METRICS_DIR / "schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    first = raw["metrics"][0]
    for broken in (
        {**first, "extra": 1},
        {**first, "level": "STORY"},
        {**first, "status": "RETIRED"},
        {**first, "supported_periods": ["daily"]},
        {**first, "value_type": "dict"},
        {**first, "retired_on": "14/03/2024"},
        {**first, "requires": "admin"},
        {**first, "evidence": ""},
        {**first, "evidence": 20260713},
    ):
        assert not validator.is_valid({**raw, "metrics": [broken]}), broken


def test_no_duplicate_level_and_key(entries: list[dict]) -> None:
    counts = Counter((e["level"], e["metric_key"]) for e in entries)
    assert [key for key, n in counts.items() if n > 1] == []


def test_stable_order_level_status_key(entries: list[dict]) -> None:
    def order(e: dict) -> tuple:
        return (LEVELS.index(e["level"]), STATUSES.index(e["status"]), e["metric_key"])

    assert [order(e) for e in entries] == sorted(order(e) for e in entries)


def test_loader_sees_every_entry(entries: list[dict]) -> None:
    assert len(load_catalog()) == len(entries)


def test_loader_reads_optional_requires_and_evidence(entries: list[dict]) -> None:
    catalog = load_catalog()
    for e in entries:
        metric = catalog.get(e["metric_key"], e["level"])
        assert metric is not None
        assert metric.requires == e.get("requires")
        assert metric.evidence == e.get("evidence")
    bare = Metric.from_dict({k: v for k, v in entries[0].items() if k not in OPTIONAL_FIELDS})
    assert bare.requires is None
    assert bare.evidence is None


# --------------------------------------------------------------------------- integrity


def test_replacements_exist_and_are_active_at_same_level(
    entries: list[dict], by_key: dict[tuple[str, str], dict]
) -> None:
    for e in entries:
        target = e["replacement_metric_key"]
        if target is None:
            continue
        replacement = by_key.get((e["level"], target))
        assert replacement is not None, f"{e['metric_key']} -> unknown {target}"
        assert replacement["status"] == "ACTIVE", f"{e['metric_key']} -> non-live {target}"


def test_deprecated_entries_have_retired_on(entries: list[dict]) -> None:
    missing = [
        e["metric_key"] for e in entries if e["status"] == "DEPRECATED" and not e["retired_on"]
    ]
    assert missing == []


def test_active_entries_are_not_retired(entries: list[dict]) -> None:
    bad = [
        e["metric_key"]
        for e in entries
        if e["status"] == "ACTIVE" and (e["retired_on"] or e["replacement_metric_key"])
    ]
    assert bad == []


def test_retired_descriptions_start_with_their_date(entries: list[dict]) -> None:
    for e in entries:
        if e["retired_on"]:
            assert e["description"].startswith(f"Retired {e['retired_on']}: "), e["metric_key"]


def test_retired_dates_are_known_deprecation_dates(entries: list[dict]) -> None:
    known = {"2024-03-14", "2024-09-16", "2025-11-15", "2026-01-26", "2026-06-15"}
    dates = {e["retired_on"] for e in entries if e["retired_on"]}
    assert dates <= known
    for date in dates:
        assert datetime.date.fromisoformat(date) <= datetime.date(2026, 11, 20)


def test_object_suffixes_are_object_valued(entries: list[dict]) -> None:
    for e in entries:
        if "_by_" in e["metric_key"] or e["metric_key"].endswith("_source"):
            assert e["value_type"] == "object", e["metric_key"]


@pytest.mark.parametrize("level", sorted(EXPECTED_DEFAULTS))
def test_default_sets_are_exactly_the_current_defaults(entries: list[dict], level: str) -> None:
    flagged = {e["metric_key"] for e in entries if e["level"] == level and e["is_default"]}
    assert flagged == EXPECTED_DEFAULTS[level]
    assert set(load_catalog().defaults(level)) == EXPECTED_DEFAULTS[level]


def test_only_live_metrics_are_defaults(entries: list[dict]) -> None:
    assert all(e["status"] == "ACTIVE" for e in entries if e["is_default"])


# --------------------------------------------------------------------------- known facts


def test_page_impressions_unique_retired_for_total_media_view_unique() -> None:
    metric = load_catalog().get("page_impressions_unique", "PAGE")
    assert metric is not None
    assert metric.status == "DEPRECATED"
    assert metric.retired_on == datetime.date(2026, 6, 15)
    assert metric.replacement_metric_key == "page_total_media_view_unique"


def test_page_fans_retired_for_page_follows() -> None:
    metric = load_catalog().get("page_fans", "PAGE")
    assert metric is not None
    assert metric.status == "DEPRECATED"
    assert metric.retired_on == datetime.date(2025, 11, 15)
    assert metric.replacement_metric_key == "page_follows"
    assert load_catalog().live_replacement("page_fans") == "page_follows"


def test_page_engaged_users_retired_without_replacement() -> None:
    metric = load_catalog().get("page_engaged_users", "PAGE")
    assert metric is not None
    assert metric.status == "DEPRECATED"
    assert metric.retired_on == datetime.date(2024, 3, 14)
    assert metric.replacement_metric_key is None


def test_page_fans_city_has_no_live_replacement() -> None:
    catalog = load_catalog()
    metric = catalog.get("page_fans_city", "PAGE")
    assert metric is not None
    assert metric.retired_on == datetime.date(2025, 11, 15)
    assert metric.replacement_metric_key is None
    assert "page_follows_city" in metric.description
    follows_city = catalog.get("page_follows_city", "PAGE")
    assert follows_city is not None
    assert follows_city.retired_on == datetime.date(2024, 3, 14)


def test_reprieved_reaction_metrics_are_active() -> None:
    catalog = load_catalog()
    assert catalog.is_live("page_actions_post_reactions_like_total", "PAGE")
    assert catalog.is_live("page_actions_post_reactions_total", "PAGE")
    assert catalog.is_live("post_activity_by_action_type", "POST")


def test_asymmetric_post_names_are_invalid() -> None:
    catalog = load_catalog()
    for key in ("post_media_view_unique", "post_total_media_view", "post_views", "post_reach"):
        metric = catalog.get(key, "POST")
        assert metric is not None, key
        assert metric.status == "INVALID", key
        assert metric.replacement_metric_key is None, key
    assert catalog.is_live("post_media_view", "POST")
    assert catalog.is_live("post_total_media_view_unique", "POST")


def test_ten_second_video_views_are_invalid_since_v18_expiry() -> None:
    catalog = load_catalog()
    for key, level in (("page_video_views_10s", "PAGE"), ("post_video_views_10s_unique", "POST")):
        metric = catalog.get(key, level)
        assert metric is not None, key
        assert metric.status == "INVALID"
        assert metric.retired_on == datetime.date(2026, 1, 26)


def test_reel_metrics_are_all_listed() -> None:
    reels = {
        "blue_reels_play_count",
        "fb_reels_total_plays",
        "fb_reels_replay_count",
        "post_video_avg_time_watched",
        "post_video_view_time",
        "post_video_social_actions",
        "post_video_likes_by_reaction_type",
        "post_video_followers",
        "post_video_retention_graph",
    }
    live = {m.metric_key for m in load_catalog().at_level("REEL") if m.is_live}
    assert live == reels


def test_breakdowns() -> None:
    catalog = load_catalog()
    for key, level in (("page_media_view", "PAGE"), ("post_media_view", "POST")):
        metric = catalog.get(key, level)
        assert metric is not None
        assert set(metric.supports_breakdowns) == {"is_from_ads", "is_from_followers"}
    earnings = catalog.get("content_monetization_earnings", "PAGE")
    assert earnings is not None
    assert earnings.supports_breakdowns == ("earning_source",)


def test_closest_suggests_the_real_name() -> None:
    assert "page_post_engagements" in load_catalog().closest("page_post_engagement")


# --------------------------------------------------------------------------- live v25 probe (§11.1)

PROBE_DATE = "2026-07-13"
DAY_WEEK_DAYS_28 = ("day", "week", "days_28")
# Exceptions to "answered day, week and days_28": week/days_28 answered empty, and a period the
# probe did not ask that the reference (§3.1) lists.
PROBE_PERIODS = {
    "page_daily_follows": ("day",),
    "monetization_approximate_earnings": (*DAY_WEEK_DAYS_28, "month"),
}


def test_probe_lists_are_the_80_metrics_of_section_11_1() -> None:
    assert (len(PROBE_ANSWERED), len(PROBE_INVALID), len(PROBE_MONETIZATION)) == (37, 39, 4)
    assert len({*PROBE_ANSWERED, *PROBE_INVALID, *PROBE_MONETIZATION}) == 80
    catalog = load_catalog()
    unknown = [
        key
        for key in (*PROBE_ANSWERED, *PROBE_INVALID, *PROBE_MONETIZATION)
        if catalog.get(key, "PAGE") is None
    ]
    assert unknown == []


@pytest.mark.parametrize("key", PROBE_ANSWERED)
def test_probe_answered_metrics_are_active_with_their_periods(key: str) -> None:
    metric = load_catalog().get(key, "PAGE")
    assert metric is not None
    assert metric.status == "ACTIVE"
    assert metric.is_live
    assert metric.retired_on is None
    assert metric.replacement_metric_key is None
    assert metric.requires is None
    assert metric.supported_periods == PROBE_PERIODS.get(key, DAY_WEEK_DAYS_28)


@pytest.mark.parametrize("key", PROBE_INVALID)
def test_probe_invalid_metrics_are_not_live(key: str) -> None:
    metric = load_catalog().get(key, "PAGE")
    assert metric is not None
    assert not metric.is_live
    assert metric.status in {"DEPRECATED", "INVALID"}
    assert not metric.is_default
    if metric.status == "DEPRECATED":
        assert metric.retired_on is not None
    if metric.retired_on is not None:
        assert metric.retired_on <= datetime.date.fromisoformat(PROBE_DATE)


def test_uploaded_video_metrics_are_invalid_without_a_retirement_date() -> None:
    uploaded = [key for key in PROBE_INVALID if key.startswith("page_uploaded_")]
    assert len(uploaded) == 3
    for key in uploaded:
        metric = load_catalog().get(key, "PAGE")
        assert metric is not None
        assert metric.status == "INVALID"
        assert metric.retired_on is None


@pytest.mark.parametrize("key", PROBE_MONETIZATION)
def test_probe_monetization_metrics_are_active_but_need_monetization_access(key: str) -> None:
    metric = load_catalog().get(key, "PAGE")
    assert metric is not None
    assert metric.status == "ACTIVE"
    assert metric.requires == "monetization"


def test_only_the_gated_metrics_require_monetization() -> None:
    gated = {m.metric_key for m in load_catalog() if m.requires is not None}
    assert gated == set(PROBE_MONETIZATION)


def test_every_probed_entry_cites_the_probe() -> None:
    catalog = load_catalog()
    for key in (*PROBE_ANSWERED, *PROBE_INVALID, *PROBE_MONETIZATION):
        metric = catalog.get(key, "PAGE")
        assert metric is not None
        assert metric.evidence is not None, key
        assert PROBE_DATE in metric.evidence, key
        assert "§11.1" in metric.evidence, key


def test_evidence_matches_the_probe_outcome() -> None:
    catalog = load_catalog()
    for keys, outcome in (
        (PROBE_ANSWERED, "answered"),
        (PROBE_INVALID, "(#100)"),
        (PROBE_MONETIZATION, "(#200)"),
    ):
        for key in keys:
            metric = catalog.get(key, "PAGE")
            assert metric is not None
            assert metric.evidence is not None
            assert outcome in metric.evidence, key


def test_page_video_views_unique_answers_but_may_go_with_v26() -> None:
    metric = load_catalog().get("page_video_views_unique", "PAGE")
    assert metric is not None
    assert metric.is_live
    assert "v26" in metric.description
    assert metric.evidence is not None
    assert "v26" in metric.evidence


def test_fan_adds_by_paid_non_paid_is_a_paid_unpaid_total_object() -> None:
    metric = load_catalog().get("page_fan_adds_by_paid_non_paid_unique", "PAGE")
    assert metric is not None
    assert metric.is_object
    assert "{paid, unpaid, total}" in metric.description


def test_catalog_is_checked_after_the_probe(raw: dict) -> None:
    assert raw["version"] == 2
    assert raw["as_of"] >= PROBE_DATE


def test_plan_requests_the_probed_periods() -> None:
    names = [
        "page_follows",
        "page_lifetime_engaged_followers_unique",
        "page_daily_follows",
        "page_uploaded_views_15s_count",
    ]
    plan = plan_metrics(
        names,
        DAY_WEEK_DAYS_28,
        level="PAGE",
        catalog=load_catalog(),
        logger=logging.getLogger("test"),
        setting="page_metrics",
    )
    assert plan.requests == {
        "page_follows": DAY_WEEK_DAYS_28,
        "page_lifetime_engaged_followers_unique": DAY_WEEK_DAYS_28,
        "page_daily_follows": ("day",),
    }
    assert plan.skipped == ("page_uploaded_views_15s_count",)


# --------------------------------------------------------------------------- rendered docs


def test_rendered_metrics_md_is_up_to_date(renderer) -> None:
    expected = renderer.render()
    current = METRICS_MD.read_text(encoding="utf-8") if METRICS_MD.exists() else ""
    assert current == expected, (
        "catalog/METRICS.md is stale; run: python scripts/render_metrics_catalog.py"
    )


def test_render_is_deterministic_and_complete(renderer, entries: list[dict]) -> None:
    text = renderer.render()
    assert text == renderer.render()
    assert not re.search(r"\d{2}:\d{2}:\d{2}", text)
    for e in entries:
        assert f"`{e['metric_key']}`" in text, e["metric_key"]


def test_check_flag_reports_a_stale_file(renderer, tmp_path: Path, monkeypatch, capsys) -> None:
    stale = tmp_path / "METRICS.md"
    stale.write_text("# stale\n", encoding="utf-8")
    monkeypatch.setattr(renderer, "METRICS_MD", stale)
    monkeypatch.setattr(renderer, "ROOT", tmp_path)
    assert renderer.main(["--check"]) == 1
    assert "python scripts/render_metrics_catalog.py" in capsys.readouterr().err
    assert renderer.main([]) == 0
    assert renderer.main(["--check"]) == 0


def test_render_shows_requires_and_evidence(renderer, raw: dict) -> None:
    first = {**raw["metrics"][0], "requires": "monetization", "evidence": "probe 2026-07-13"}
    second = {k: v for k, v in raw["metrics"][1].items() if k not in OPTIONAL_FIELDS}
    text = renderer.render({**raw, "metrics": [first, second]})
    header = next(line for line in text.splitlines() if line.startswith("| Metric | Periods"))
    assert "| Requires |" in header
    assert f"| `{first['metric_key']}` |" in text
    assert "| monetization |" in text
    evidence = text.split("## Evidence", 1)[1]
    assert f"`{first['metric_key']}` | {first['status']} | probe 2026-07-13 |" in evidence
    assert f"`{second['metric_key']}`" not in evidence
    plain = renderer.render({**raw, "metrics": [second]})
    assert "| Requires |" not in plain
    assert "## Evidence" not in plain


def test_a_metric_written_as_a_catalog_entry_reads_back_the_same() -> None:
    """``Metric.to_dict`` (the probe's override entries) is a valid catalog entry and the
    inverse of ``from_dict`` for every packaged metric (``evidence`` aside)."""
    import dataclasses  # noqa: PLC0415

    schema = json.loads((METRICS_DIR / "schema.json").read_text(encoding="utf-8"))
    metrics = [m for level in LEVELS for m in load_catalog().at_level(level)]
    entries = [m.to_dict() for m in metrics]
    jsonschema.validate({"version": 2, "as_of": "2026-11-30", "metrics": entries}, schema)
    assert [Metric.from_dict(e) for e in entries] == [
        dataclasses.replace(m, evidence=None) for m in metrics
    ]
    keyed = next(e for e in entries if e["metric_key"] == "page_actions_post_reactions_total")
    assert "like" in keyed["keys"]
