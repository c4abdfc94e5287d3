"""The dbt project in transform/ as files (no dbt, no database: tests/test_dbt_e2e.py runs it).

Every model is documented and tested on its grain (unique + not_null) and, below pages, related
to pages; the metric lists in dbt_project.yml are the tap's default metrics; the connection
comes from the settings of meltano.yml's dbt-postgres utility, never from a literal.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tap_facebook_pages.metrics import load_catalog

ROOT = Path(__file__).resolve().parents[1]
TRANSFORM = ROOT / "transform"
PAGES_MODEL = "stg_facebook_pages__pages"

# model -> its grain (the columns identifying one row)
GRAINS = {
    "stg_facebook_pages__pages": ("page_id",),
    "stg_facebook_pages__page_insights": ("page_id", "metric", "period", "date", "breakdown_key"),
    "stg_facebook_pages__posts": ("post_id",),
    "stg_facebook_pages__post_insights": ("post_id", "metric", "period", "date", "breakdown_key"),
    "stg_facebook_pages__reels": ("reel_id",),
    "stg_facebook_pages__reel_insights": ("reel_id", "metric", "period", "date", "breakdown_key"),
    "facebook_pages__page_daily": ("page_id", "date"),
    "facebook_pages__page_reactions_daily": ("page_id", "date", "reaction_type"),
    "facebook_pages__post_daily": ("post_id", "date"),
    "facebook_pages__reel_daily": ("reel_id", "date"),
    "facebook_pages__posts": ("post_id",),
    "facebook_pages__reels": ("reel_id",),
}


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _model_docs() -> dict[str, dict[str, Any]]:
    docs: dict[str, dict[str, Any]] = {}
    for path in sorted(TRANSFORM.glob("models/**/*.yml")):
        for model in _yaml(path).get("models") or ():
            assert model["name"] not in docs, f"{model['name']} documented twice"
            docs[model["name"]] = model
    return docs


def _tests(entries: list[Any] | None) -> dict[str, Any]:
    """Test name -> its arguments (None for a bare test)."""
    found: dict[str, Any] = {}
    for entry in entries or ():
        if isinstance(entry, str):
            found[entry] = None
        else:
            ((name, config),) = entry.items()
            found[name] = (config or {}).get("arguments", config)
    return found


def _columns(model: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: _tests(c.get("data_tests")) for c in model.get("columns") or ()}


def _dbt_postgres() -> dict[str, Any]:
    project = _yaml(ROOT / "meltano.yml")
    return next(p for p in project["plugins"]["utilities"] if p["name"] == "dbt-postgres")


def test_every_model_is_documented_once() -> None:
    sql = {p.stem for p in TRANSFORM.glob("models/**/*.sql")}
    docs = _model_docs()
    assert sql == set(docs) == set(GRAINS)
    for name, model in docs.items():
        assert model.get("description"), f"{name} has no description"


@pytest.mark.parametrize("name", sorted(GRAINS))
def test_every_model_is_tested_unique_and_not_null_on_its_grain(name: str) -> None:
    model = _model_docs()[name]
    columns = _columns(model)
    grain = GRAINS[name]
    for column in grain:
        assert "not_null" in columns.get(column, {}), f"{name}.{column} has no not_null test"
    if len(grain) == 1:
        assert "unique" in columns[grain[0]], f"{name}.{grain[0]} has no unique test"
    else:
        combination = _tests(model.get("data_tests"))["unique_combination_of_columns"]
        assert tuple(combination["combination_of_columns"]) == grain


@pytest.mark.parametrize("name", sorted(set(GRAINS) - {PAGES_MODEL}))
def test_every_model_below_pages_relates_to_pages(name: str) -> None:
    columns = _columns(_model_docs()[name])
    if "page_id" in columns:
        relation = columns["page_id"]["relationships"]
        assert relation == {"to": f"ref('{PAGES_MODEL}')", "field": "page_id"}
    # Daily series relate to their object's model, insights to their object's staging model.
    parent = {
        "facebook_pages__post_daily": ("post_id", "facebook_pages__posts"),
        "facebook_pages__reel_daily": ("reel_id", "facebook_pages__reels"),
        "stg_facebook_pages__post_insights": ("post_id", "stg_facebook_pages__posts"),
        "stg_facebook_pages__reel_insights": ("reel_id", "stg_facebook_pages__reels"),
    }.get(name)
    if parent is None:
        assert "page_id" in columns, f"{name} does not relate to pages"
    else:
        column, model = parent
        assert columns[column]["relationships"] == {"to": f"ref('{model}')", "field": column}


def test_the_singular_tests_and_the_generic_grain_test_exist() -> None:
    singular = {p.stem for p in TRANSFORM.glob("tests/*.sql")}
    assert singular == {
        "assert_page_daily_matches_page_insights",
        "assert_lifetime_increments_add_up",
    }
    generic = (TRANSFORM / "tests" / "generic" / "unique_combination_of_columns.sql").read_text()
    assert "{% test unique_combination_of_columns(model, combination_of_columns) %}" in generic


def test_sources_are_the_tables_the_tap_loads() -> None:
    (source,) = _yaml(TRANSFORM / "models" / "staging" / "_facebook_pages__sources.yml")["sources"]
    tables = {t["name"] for t in source["tables"]}
    assert tables == {"pages", "page_insights", "posts", "post_insights", "reels", "reel_insights"}


def test_metric_columns_are_the_tap_default_metrics() -> None:
    """One column per default metric: a metric added to the defaults must be added here too."""
    variables = _yaml(TRANSFORM / "dbt_project.yml")["vars"]
    catalog = load_catalog()

    def split(level: str) -> tuple[set[str], set[str]]:
        metrics = [catalog.get(k, level) for k in catalog.defaults(level)]
        numbers = {m.metric_key for m in metrics if m and m.value_type == "number"}
        objects = {m.metric_key for m in metrics if m and m.value_type == "object"}
        return numbers, objects

    numbers, objects = split("PAGE")
    assert set(variables["facebook_pages_page_day_metrics"]) == numbers
    assert set(variables["facebook_pages_page_day_object_metrics"]) == objects
    assert set(variables["facebook_pages_page_breakdown_metrics"]) == {
        k
        for k in numbers
        if "is_from_ads" in catalog.get(k, "PAGE").supports_breakdowns  # type: ignore[union-attr]
    }
    numbers, objects = split("POST")
    assert set(variables["facebook_pages_post_metrics"]) == numbers
    assert set(variables["facebook_pages_post_object_metrics"]) == objects
    numbers, objects = split("REEL")
    averages = set(variables["facebook_pages_reel_average_metrics"])
    assert averages == {"post_video_avg_time_watched"}  # an increment of an average means nothing
    assert set(variables["facebook_pages_reel_metrics"]) | averages == numbers
    assert set(variables["facebook_pages_reel_object_metrics"]) == objects


def test_the_connection_comes_from_the_meltano_utility_settings() -> None:
    """Every env_var() of profiles.yml and the macros is the env of a dbt-postgres setting; the
    password is a DBT_ENV_SECRET_ variable (dbt scrubs it from logs) and a sensitive setting."""
    used = set()
    for path in [TRANSFORM / "profiles.yml", *TRANSFORM.glob("macros/*.sql")]:
        used |= set(re.findall(r"env_var\('([A-Z_]+)'", path.read_text()))
    settings = {s["env"]: s for s in _dbt_postgres()["settings"]}
    assert used
    assert used <= set(settings)
    password = settings["DBT_ENV_SECRET_POSTGRES_PASSWORD"]
    assert password["name"] == "password"
    assert password["sensitive"] is True
    profile = _yaml(TRANSFORM / "profiles.yml")["facebook_pages"]["outputs"]["postgres"]
    assert profile["password"] == "{{ env_var('DBT_ENV_SECRET_POSTGRES_PASSWORD', '') }}"
    assert profile["type"] == "postgres"


def test_the_meltano_utility_is_custom_pinned_and_offline() -> None:
    dbt = _dbt_postgres()
    assert {"namespace", "pip_url", "executable"} <= set(dbt)
    assert "variant" not in dbt
    assert dbt["executable"] == "dbt"
    pins = dict(re.findall(r"([a-z-]+)==([0-9.]+)", dbt["pip_url"]))
    assert set(pins) == {"dbt-core", "dbt-postgres"}
    assert len(dbt["pip_url"].split()) == len(pins)  # nothing unpinned
    assert {c: dbt["commands"][c]["args"] for c in ("build", "run", "test")} == {
        "build": "build",
        "run": "run",
        "test": "test",
    }
    dirs = {s["env"]: s["value"] for s in dbt["settings"] if s["name"].endswith("_dir")}
    assert dirs == {
        "DBT_PROJECT_DIR": "$MELTANO_PROJECT_ROOT/transform",
        "DBT_PROFILES_DIR": "$MELTANO_PROJECT_ROOT/transform",
    }
    # No dbt Hub packages (they cannot be installed offline).
    assert not (TRANSFORM / "packages.yml").exists()
    assert not (TRANSFORM / "dependencies.yml").exists()
    ignored = (TRANSFORM / ".gitignore").read_text().split()
    assert {"target/", "logs/", ".user.yml"} <= set(ignored)
