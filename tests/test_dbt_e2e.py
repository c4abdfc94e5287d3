"""The dbt project (transform/) end to end: two nightly ``analytics`` job runs, then the models.

The real ``meltano run analytics`` (both loads, then ``dbt-postgres:build``) twice against the
sandbox, PostgreSQL and Meltano from tests/test_meltano_e2e.py's fixtures, the tap's default
one-table layout, the ``is_from_ads`` breakdown on:

- run 1 on 2026-11-20: 3 pages x 60 days (2026-09-21..11-19), every post and reel observed;
- run 2 "the next day" (sandbox today 2026-11-21, late data revised, end_date 11-20):
  incremental, re-reads the lookback days (11-18..11-20) at their revised values and re-observes
  the posts and reels created within ``posts_lookback_days``;
- then ``meltano invoke dbt-postgres:build`` over the same rows split into per-page tables
  (``insights_layout`` per_page) gives the same ``facebook_pages__page_daily``.

The tap dates lifetime observations with the real Pacific day; a ``sitecustomize`` on the tap's
``PYTHONPATH`` (this test only) moves it to the simulated day, as the unit tests do with
``monkeypatch``. Expected values come from the sandbox's data functions, never from the tap.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from tap_facebook_pages.config import DEFAULT_POSTS_LOOKBACK_DAYS
from tap_facebook_pages.sandbox import data as sbx
from tests import test_meltano_e2e as base
from tests.test_dbt_project import GRAINS as MODEL_GRAINS
from tests.test_meltano_e2e import MELTANO_YML, NULL, TODAY, Meltano, Sandbox, _planned_metrics

# The PostgreSQL cluster, Meltano (installed, in a temporary .meltano) and the sandbox process
# of tests/test_meltano_e2e.py, one of each for this module.
e2e_env = base.e2e_env
sandbox = base.sandbox
meltano = base.meltano

TRANSFORM = Path(__file__).resolve().parents[1] / "transform"
START = dt.date(2026, 9, 21)
END = TODAY - dt.timedelta(days=1)  # 2026-11-19: 60 days
NEXT_DAY = TODAY + dt.timedelta(days=1)  # the second run's today
LOOKBACK_DAYS = 3
REREAD_FIRST = END + dt.timedelta(days=1 - LOOKBACK_DAYS)  # 2026-11-17: run 2 re-reads from here
SOURCE = "dbt_e2e_src"
ANALYTICS = "dbt_e2e"
BREAKDOWN = "is_from_ads"

# Imported at start-up (a .pth line) by the tap's interpreter in this test's Meltano venv only:
# Meltano gives plugins no PYTHONPATH. A no-op unless TFP_E2E_OBSERVATION_DAY is set.
HOOK_MODULE = "tfp_e2e_observation_day"
HOOK = """# Test-only (tests/test_dbt_e2e.py): the tap observes lifetime totals on a given day.
import datetime
import os

_day = os.environ.get("TFP_E2E_OBSERVATION_DAY")
if _day:
    import tap_facebook_pages.source.content as _content

    _content.observation_day = lambda: datetime.date.fromisoformat(_day)
"""

# The marts' grains (tests/test_dbt_project.py holds every model's).
GRAINS = {m: grain for m, grain in MODEL_GRAINS.items() if m.startswith("facebook_pages__")}


def _default_stream_maps() -> str:
    """The tap's default stream_maps in meltano.yml (one page_insights table)."""
    tap = next(
        p
        for p in yaml.safe_load(MELTANO_YML.read_text())["plugins"]["extractors"]
        if p["name"] == "tap-facebook-pages"
    )
    setting = next(s for s in tap["settings"] if s["name"] == "stream_maps")
    return json.dumps(setting["value"])


def _dbt_results(target: Path) -> dict[str, str]:
    """unique_id -> status of the last dbt build."""
    results = json.loads((target / "run_results.json").read_text())["results"]
    return {r["unique_id"]: r["status"] for r in results}


def _assert_build_passed(results: dict[str, str]) -> None:
    failed = {k: v for k, v in results.items() if v not in {"success", "pass"}}
    assert failed == {}
    tests = [k for k in results if k.startswith("test.")]
    models = [k for k in results if k.startswith("model.")]
    assert len(models) == len(list(TRANSFORM.glob("models/**/*.sql")))
    assert any("assert_page_daily_matches_page_insights" in k for k in tests)
    assert any("assert_lifetime_increments_add_up" in k for k in tests)
    assert len(tests) >= 50


@pytest.fixture(scope="module")
def two_days(meltano: Meltano, sandbox: Sandbox) -> Iterator[dict[str, Any]]:
    """``meltano run analytics`` on 2026-11-20, then on 2026-11-21 with late data revised."""
    work = Path(tempfile.mkdtemp(prefix="tfp-dbt-e2e-"))
    venv = Path(meltano.env["MELTANO_SYS_DIR_ROOT"]) / "extractors" / "tap-facebook-pages" / "venv"
    (site_packages,) = venv.glob("lib/python3*/site-packages")
    hook = [site_packages / f"{HOOK_MODULE}.py", site_packages / f"zz_{HOOK_MODULE}.pth"]
    hook[0].write_text(HOOK)
    hook[1].write_text(f"import {HOOK_MODULE}\n")  # after the editable install's .pth
    env = {
        "TAP_FACEBOOK_PAGES_STREAM_MAPS": _default_stream_maps(),
        "TAP_FACEBOOK_PAGES_START_DATE": START.isoformat(),
        "TAP_FACEBOOK_PAGES_LOOKBACK_DAYS": str(LOOKBACK_DAYS),
        "TAP_FACEBOOK_PAGES_BREAKDOWNS": json.dumps([BREAKDOWN]),
        "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": SOURCE,
        "DBT_POSTGRES_SOURCE_SCHEMA": SOURCE,
        "DBT_POSTGRES_SCHEMA": ANALYTICS,
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
    }
    for state_id in ("insights", "posts"):
        meltano(
            "state", "clear", "--force", f"dev:tap-facebook-pages--{state_id}-to-target-postgres"
        )
    meltano.psql(
        f"DROP SCHEMA IF EXISTS {SOURCE} CASCADE; DROP SCHEMA IF EXISTS {ANALYTICS} CASCADE"
    )
    try:
        sandbox.configure(today=TODAY.isoformat(), revision=0)
        meltano(
            "run", "analytics", timeout=900,
            env={**env, "TAP_FACEBOOK_PAGES_END_DATE": END.isoformat(),
                 "TFP_E2E_OBSERVATION_DAY": TODAY.isoformat()},
        )  # fmt: skip
        first = _dbt_results(work / "target")

        sandbox.configure(today=NEXT_DAY.isoformat(), revision=1)
        sandbox.reset_log()
        meltano(
            "run", "analytics", timeout=900,
            env={**env, "TAP_FACEBOOK_PAGES_END_DATE": TODAY.isoformat(),
                 "TFP_E2E_OBSERVATION_DAY": NEXT_DAY.isoformat()},
        )  # fmt: skip
        yield {
            "first": first,
            "second": _dbt_results(work / "target"),
            "second_windows": sandbox.insight_windows(),
            "env": env,
            "target": work / "target",
        }
    finally:
        sandbox.configure(today=TODAY.isoformat(), revision=0)
        for path in hook:
            path.unlink()
        shutil.rmtree(work, ignore_errors=True)


def _rows(meltano: Meltano, sql: str) -> list[list[str]]:
    return meltano.psql(sql)


def _number(text: str) -> Decimal | None:
    return None if text == NULL else Decimal(text)


@pytest.mark.e2e
def test_every_dbt_model_and_test_passes_after_both_runs(
    meltano: Meltano, two_days: dict[str, Any]
) -> None:
    _assert_build_passed(two_days["first"])
    _assert_build_passed(two_days["second"])
    # Run 2 was incremental: page insights from bookmark day (11-19) + 1 - lookback_days to the
    # new end_date (11-20; until is exclusive), nothing older (the breakdown has its own call).
    windows = two_days["second_windows"]
    assert windows.keys() == set(sbx.ACCOUNT_PAGE_IDS)
    for calls in windows.values():
        assert set(calls) == {(REREAD_FIRST.isoformat(), NEXT_DAY.isoformat())}


@pytest.mark.e2e
def test_no_model_has_duplicate_grain_rows(meltano: Meltano, two_days: dict[str, Any]) -> None:
    assert two_days["second"]
    counts: dict[str, int] = {}
    for model, grain in GRAINS.items():
        columns = ", ".join(grain)
        duplicates = _rows(
            meltano,
            f"SELECT {columns}, count(*) FROM {ANALYTICS}.{model}"
            f" GROUP BY {columns} HAVING count(*) > 1",
        )
        assert duplicates == [], model
        counts[model] = int(_rows(meltano, f"SELECT count(*) FROM {ANALYTICS}.{model}")[0][0])
    print(f"dbt e2e row counts: {counts}")  # shown with -s
    posts = _sandbox_posts()
    assert counts["facebook_pages__posts"] == len(posts)
    assert counts["facebook_pages__post_daily"] == len(posts) + sum(
        _observed_twice(p.created_date) for p in posts
    )
    assert counts["facebook_pages__page_daily"] == 3 * 61


def _sandbox_posts() -> list[Any]:
    """The posts both runs listed: created 2026-09-21..11-20 (as of 11-21)."""
    return [
        post
        for page_id in sbx.ACCOUNT_PAGE_IDS
        for post in sbx.posts_for(page_id, NEXT_DAY)
        if START <= post.created_date <= TODAY
    ]


def _observed_twice(created: dt.date) -> bool:
    """Run 2 lists posts from end_date (11-20) - posts_lookback_days (28): 10-23 on; run 1
    listed up to 11-19."""
    return TODAY - dt.timedelta(days=DEFAULT_POSTS_LOOKBACK_DAYS) <= created <= END


def _expected_day(page_id: str, metric: str, day: dt.date) -> tuple[Decimal, dict[str, int]]:
    """(value, is_from_ads split) the table should hold: days the second run re-read (11-17..
    11-20) at their values as of 11-21 (revision 1), older days as first loaded (11-20, rev 0)."""
    revision, today = (1, NEXT_DAY) if day >= REREAD_FIRST else (0, TODAY)
    value = sbx.metric_value(page_id, metric, "day", day, revision, today)
    if isinstance(value, dict):
        return Decimal(sum(value.values())), {}
    split: dict[str, int] = {}
    if metric in {"page_media_view"}:
        split = sbx.breakdown_values(page_id, metric, "day", day, BREAKDOWN, revision, today)
    return Decimal(value), split


@pytest.mark.e2e
def test_page_daily_holds_the_sandbox_values(meltano: Meltano, two_days: dict[str, Any]) -> None:
    """Every page, day and default day metric, the revised days included; the breakdown rows
    give the paid/organic columns and are not added to the total."""
    assert two_days["second"]
    metrics = sorted(_planned_metrics())
    rows = _rows(
        meltano,
        f"SELECT page_id, page_name, date::text, {', '.join(metrics)},"
        " page_media_view_paid, page_media_view_organic"
        f" FROM {ANALYTICS}.facebook_pages__page_daily ORDER BY page_id, date",
    )
    days = [START + dt.timedelta(days=i) for i in range((TODAY - START).days + 1)]
    assert len(rows) == len(sbx.ACCOUNT_PAGE_IDS) * len(days) == 3 * 61
    revised_checked = 0
    for page_id, name, day_text, *values in rows:
        page = sbx.page_by_id(page_id)
        assert page is not None
        assert name == page.name
        day = dt.date.fromisoformat(day_text)
        assert START <= day <= TODAY
        *numbers, paid, organic = (_number(v) for v in values)
        for metric, number in zip(metrics, numbers, strict=True):
            expected, split = _expected_day(page_id, metric, day)
            assert number == expected, (page_id, day, metric)
            if split:
                assert (paid, organic) == (Decimal(split["1"]), Decimal(split["0"]))
                assert paid + organic == number  # type: ignore[operator]
        first_load = sbx.metric_value(page_id, "page_media_view", "day", day, 0, TODAY)
        if REREAD_FIRST <= day < TODAY:
            # Not vacuous: the re-read days changed between the two loads.
            assert numbers[metrics.index("page_media_view")] != first_load
            revised_checked += 1
    assert revised_checked == 3 * len(sbx.ACCOUNT_PAGE_IDS)


@pytest.mark.e2e
def test_post_increments_add_up_to_the_lifetime_growth(
    meltano: Meltano, two_days: dict[str, Any]
) -> None:
    """Posts re-observed on 11-21 have two observations: the increment is the sandbox's growth
    of the lifetime total, and increments sum to latest minus first observation."""
    assert two_days["second"]
    rows = _rows(
        meltano,
        "SELECT post_id, date::text, observation_number, days_since_previous_observation,"
        " post_clicks, post_clicks_increment, post_reactions_by_type_total,"
        " post_reactions_by_type_total_increment"
        f" FROM {ANALYTICS}.facebook_pages__post_daily ORDER BY post_id, date",
    )
    series: dict[str, list[list[str]]] = {}
    for row in rows:
        series.setdefault(row[0], []).append(row[1:])
    twice = {p: obs for p, obs in series.items() if len(obs) == 2}
    assert twice, "no post was observed on both days"
    assert set(series) == {p.id for p in _sandbox_posts()}
    assert set(twice) == {p.id for p in _sandbox_posts() if _observed_twice(p.created_date)}
    grew = 0
    for post_id, observations in series.items():
        post = sbx.post_by_id(post_id, NEXT_DAY)
        assert post is not None
        first_day = dt.date.fromisoformat(observations[0][0])
        assert observations[0][1:3] == ["1", NULL]
        assert observations[0][4] == observations[0][6] == NULL  # no increment on the first
        clicks = sbx.post_lifetime_value(post_id, "post_clicks", post.created_date, first_day)
        assert _number(observations[0][3]) == clicks
        if len(observations) == 1:
            continue
        assert [o[0] for o in observations] == [TODAY.isoformat(), NEXT_DAY.isoformat()]
        latest = sbx.post_lifetime_value(post_id, "post_clicks", post.created_date, NEXT_DAY)
        reactions = [
            sum(sbx.post_lifetime_value(post_id, "post_reactions_by_type_total",
                                        post.created_date, d).values())  # type: ignore[union-attr]
            for d in (TODAY, NEXT_DAY)
        ]  # fmt: skip
        second = observations[1]
        assert second[1:3] == ["2", "1"]
        assert _number(second[3]) == latest
        assert _number(second[4]) == latest - clicks
        assert _number(second[5]) == reactions[1]
        assert _number(second[6]) == reactions[1] - reactions[0]
        grew += latest > clicks
    assert grew  # not vacuous: some lifetime totals grew between the observations
    # The per-post rollup: increments summed over the series == latest - first.
    sums = _rows(
        meltano,
        "SELECT d.post_id, sum(d.post_clicks_increment), p.post_clicks,"
        " (array_agg(d.post_clicks ORDER BY d.date))[1]"
        f" FROM {ANALYTICS}.facebook_pages__post_daily d"
        f" JOIN {ANALYTICS}.facebook_pages__posts p USING (post_id)"
        " GROUP BY d.post_id, p.post_clicks HAVING count(*) > 1",
    )
    assert len(sums) == len(twice)
    for _post_id, increments, latest_text, first_text in sums:
        assert Decimal(increments) == Decimal(latest_text) - Decimal(first_text)


@pytest.mark.e2e
def test_reel_daily_holds_the_sandbox_lifetime_values(
    meltano: Meltano, two_days: dict[str, Any]
) -> None:
    """Each observation holds the sandbox's lifetime values of that day (object metrics summed
    over their keys), the increment is the difference, and the average has no increment."""
    assert two_days["second"]
    rows = _rows(
        meltano,
        "SELECT reel_id, date::text, blue_reels_play_count, blue_reels_play_count_increment,"
        " post_video_social_actions, post_video_avg_time_watched"
        f" FROM {ANALYTICS}.facebook_pages__reel_daily ORDER BY reel_id, date",
    )
    assert rows
    previous: dict[str, Decimal] = {}
    increments = 0
    for reel_id, day_text, plays, plays_increment, social, average in rows:
        reel = sbx.reel_by_id(reel_id, NEXT_DAY)
        assert reel is not None
        day = dt.date.fromisoformat(day_text)
        assert day in {TODAY, NEXT_DAY}
        created = reel.created_date
        assert _number(plays) == sbx.post_lifetime_value(
            reel_id, "blue_reels_play_count", created, day
        )
        keys = sbx.post_lifetime_value(reel_id, "post_video_social_actions", created, day)
        assert isinstance(keys, dict)
        assert _number(social) == sum(keys.values())
        assert _number(average) == sbx.post_lifetime_value(
            reel_id, "post_video_avg_time_watched", created, day
        )
        if reel_id in previous:
            assert _number(plays_increment) == _number(plays) - previous[reel_id]  # type: ignore[operator]
            increments += 1
        else:
            assert plays_increment == NULL
        previous[reel_id] = Decimal(plays)
    assert increments


@pytest.mark.e2e
def test_the_per_page_layout_builds_the_same_page_daily(
    meltano: Meltano, two_days: dict[str, Any]
) -> None:
    """insights_layout per_page unions page_insights_<page_id> tables (stream_maps {}): split
    the loaded table per page, build from those, get the same facebook_pages__page_daily."""
    layout, out = "dbt_e2e_per_page_src", "dbt_e2e_per_page"
    statements = [f"DROP SCHEMA IF EXISTS {s} CASCADE" for s in (layout, out)]
    statements.append(f"CREATE SCHEMA {layout}")
    for table in ("pages", "posts", "post_insights", "reels", "reel_insights"):
        statements.append(f"CREATE VIEW {layout}.{table} AS SELECT * FROM {SOURCE}.{table}")
    for page_id in sbx.ACCOUNT_PAGE_IDS:
        statements.append(
            f'CREATE TABLE {layout}."page_insights_{page_id}" AS'
            f" SELECT * FROM {SOURCE}.page_insights WHERE page_id = '{page_id}'"
        )
    meltano.psql("; ".join(statements))
    env = {
        **two_days["env"],
        "DBT_POSTGRES_SOURCE_SCHEMA": layout,
        "DBT_POSTGRES_SCHEMA": out,
        "DBT_POSTGRES_INSIGHTS_LAYOUT": "per_page",
    }
    meltano("invoke", "dbt-postgres:build", timeout=600, env=env)
    _assert_build_passed(_dbt_results(two_days["target"]))
    model = "facebook_pages__page_daily"
    count = f"SELECT count(*) FROM {out}.{model}"
    difference = (
        f"SELECT count(*) FROM ((SELECT * FROM {out}.{model} EXCEPT SELECT * FROM"
        f" {ANALYTICS}.{model}) UNION ALL (SELECT * FROM {ANALYTICS}.{model} EXCEPT"
        f" SELECT * FROM {out}.{model})) AS d"
    )
    assert _rows(meltano, count) == [["183"]]
    assert _rows(meltano, difference) == [["0"]]
