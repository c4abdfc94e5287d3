"""The Hub definition end to end: a fresh Meltano project adds the tap with ``--from-ref``.

``meltano add --plugin-type extractor tap-facebook-pages --from-ref <the definition>``
(meltano-hub/tap-facebook-pages.yml, pip_url pointed at this checkout) and target-postgres (the
repository's custom definition, also ``--from-ref``: no Hub lookup) in a project in a temporary
directory; the Graph API sandbox runs as a process with a fleet of 50 pages and the tap reads it
through ``api_base_url``. Checked:
``meltano config`` shows the definition's defaults and stores ``stream_maps`` as an object; two
``meltano run``s load the whole fleet into ONE ``page_insights`` table (the default alias map),
every expected key once, the second run incremental; posts/reels stay out unless selected; a
flattening run keeps posts' and reels' ``metadata`` (as ``metadata_json``).

PostgreSQL and Meltano come from scripts/e2e_env.sh, as in tests/test_meltano_e2e.py.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from tap_facebook_pages.sandbox import data as sbx
from tests.helpers import run_meltano
from tests.test_meltano_e2e import (
    NULL,
    TODAY,
    Sandbox,
    _expected,
    e2e_env,  # noqa: F401  (fixture)
)
from tests.test_meltano_hub import ALIAS_MAP

ROOT = Path(__file__).resolve().parents[1]
HUB_YML = ROOT / "meltano-hub" / "tap-facebook-pages.yml"
PAGES = 50
FLEET = PAGES - len(sbx.ACCOUNT_PAGE_IDS)  # generated pages on top of the fixed ones
START = dt.date(2026, 11, 6)
END = dt.date(2026, 11, 19)
LOOKBACK_DAYS = 3
REREAD_FIRST = END + dt.timedelta(days=1 - LOOKBACK_DAYS)
SCHEMA = "hub_e2e"
FLAT_SCHEMA = "hub_e2e_flat"
STATE_ID = "dev:tap-facebook-pages-to-target-postgres"


def _page_ids() -> list[str]:
    return [*sbx.ACCOUNT_PAGE_IDS, *(sbx.fleet_page_id(i) for i in range(FLEET))]


class HubProject:
    """A fresh Meltano project in a temporary directory, driven by the real ``meltano`` CLI."""

    def __init__(self, env: dict[str, str], sandbox: Sandbox, root: Path) -> None:
        self.root = root
        self.bin = env["MELTANO_BIN"]
        self.pg = env
        self.psql_bin = str(Path(env.get("PG_BIN", "")) / "psql")
        if not Path(self.psql_bin).exists():
            self.psql_bin = shutil.which("psql") or "psql"
        clean = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TAP_FACEBOOK_PAGES", "TARGET_", "MELTANO_", "PG", "VIRTUAL_ENV"))
        }
        self.env = {
            **clean,
            "MELTANO_PROJECT_ROOT": str(root),
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            # The loader's connection; the extractor's run settings (not secrets) likewise.
            "TARGET_POSTGRES_HOST": env["PG_HOST"],
            "TARGET_POSTGRES_PORT": env["PG_PORT"],
            "TARGET_POSTGRES_USER": env["PG_USER"],
            "TARGET_POSTGRES_PASSWORD": env["PG_PASSWORD"],
            "TARGET_POSTGRES_DATABASE": env["PG_DATABASE"],
            "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": SCHEMA,
            "TAP_FACEBOOK_PAGES_API_BASE_URL": sandbox.url,
            "TAP_FACEBOOK_PAGES_START_DATE": START.isoformat(),
            "TAP_FACEBOOK_PAGES_END_DATE": END.isoformat(),
            "TAP_FACEBOOK_PAGES_LOOKBACK_DAYS": str(LOOKBACK_DAYS),
        }

    def __call__(
        self, *args: str, timeout: float = 300, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run_meltano(
            [self.bin, "--log-format=uncolored", *args],
            cwd=self.root,
            env={**self.env, **(env or {})},
            timeout=timeout,
        )

    def project(self) -> dict[str, Any]:
        return yaml.safe_load((self.root / "meltano.yml").read_text())

    def extractor(self) -> dict[str, Any]:
        return next(p for p in self.project()["plugins"]["extractors"])

    def psql(self, sql: str) -> list[list[str]]:
        proc = subprocess.run(
            [self.psql_bin, "-X", "-A", "-t", "-q", "-F", "\t", "-P", f"null={NULL}",
             "-v", "ON_ERROR_STOP=1", "-h", self.pg["PG_HOST"], "-p", self.pg["PG_PORT"],
             "-U", self.pg["PG_USER"], "-d", self.pg["PG_DATABASE"], "-c", sql],
            env={**os.environ, "PGPASSWORD": self.pg["PG_PASSWORD"], "PGTZ": "UTC"},
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, f"psql failed: {proc.stderr}\n{sql}"
        return [line.split("\t") for line in proc.stdout.splitlines() if line]

    def tables(self, schema: str) -> set[str]:
        rows = self.psql(
            f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{schema}'"
        )
        return {r[0] for r in rows}


@pytest.fixture(scope="module")
def fleet_sandbox() -> Iterator[Sandbox]:
    server = Sandbox()
    try:
        server.configure(fleet=FLEET, revision=0)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def hub_project(e2e_env: dict[str, str], fleet_sandbox: Sandbox) -> Iterator[HubProject]:  # noqa: F811
    """``meltano add … --from-ref`` of both plugins into an empty project, then install."""
    root = Path(tempfile.mkdtemp(prefix="tfp-hub-project-"))
    try:
        (root / "meltano.yml").write_text(
            "requires_meltano: '>=4.0'\nproject_id: tfp-hub-e2e\ndefault_environment: dev\n"
            "send_anonymous_usage_stats: false\nenvironments:\n- name: dev\n"
        )
        tap_def = yaml.safe_load(HUB_YML.read_text())
        tap_def["pip_url"] = f"-e {ROOT}"  # this checkout instead of the published package
        (root / "tap.yml").write_text(yaml.safe_dump(tap_def, sort_keys=False))
        repo = yaml.safe_load((ROOT / "meltano.yml").read_text())
        loader = next(p for p in repo["plugins"]["loaders"] if p["name"] == "target-postgres")
        loader = {k: v for k, v in loader.items() if k != "config"}
        (root / "target.yml").write_text(yaml.safe_dump(loader, sort_keys=False))

        project = HubProject(e2e_env, fleet_sandbox, root)
        add = ("add", "--no-install", "--plugin-type")
        project(*add, "extractor", "tap-facebook-pages", "--from-ref", str(root / "tap.yml"))
        project(*add, "loader", "target-postgres", "--from-ref", str(root / "target.yml"))
        project("install", timeout=900)
        yield project
    finally:
        shutil.rmtree(root, ignore_errors=True)


# ------------------------------------------------------------------------------------ e2e tests


@pytest.mark.e2e
def test_config_list_shows_the_definitions_defaults(hub_project: HubProject) -> None:
    plugin = hub_project.extractor()
    assert plugin["pip_url"] == f"-e {ROOT}"
    assert "config" not in plugin  # nothing written by `add`: every default below is the file's

    listing = hub_project("config", "list", "tap-facebook-pages", "--all").stdout
    lines = {line.split(" ", 1)[0]: line for line in listing.splitlines() if " [env: " in line}
    for name, shown in {
        "window_days": "90",
        "max_retries": "5",
        "api_version": "'v25.0'",
        "batch_api": "True",
        "periods": "['day']",
        "flattening_enabled": "False",
        "flattening_separator": "'__'",
        "stream_maps": "{'page_insights_*': {'__alias__': 'page_insights'}}",
    }.items():
        assert f"current value: {shown} (default)" in lines[name], lines[name]
    # The metric lists show the catalog's defaults, not None (issue 14).
    for name, metric in (
        ("page_metrics", "page_post_engagements"),
        ("post_metrics", "post_clicks"),
        ("reel_metrics", "blue_reels_play_count"),
    ):
        assert metric in lines[name], lines[name]
        assert "(default)" in lines[name], lines[name]
    # Set by this test's environment: the default is still shown.
    assert "(default: 3) current value: 3 (from the" in lines["lookback_days"]
    assert "current value: None (default)" in lines["access_token"]

    config = json.loads(hub_project("config", "print", "tap-facebook-pages").stdout)
    assert config["stream_maps"] == ALIAS_MAP
    assert config["max_retries"] == 5
    assert config["flattening_enabled"] is False
    assert config.get("access_token") is None


@pytest.mark.e2e
def test_config_set_stores_stream_maps_as_an_object(hub_project: HubProject) -> None:
    hub_project("config", "set", "tap-facebook-pages", "stream_maps", json.dumps(ALIAS_MAP))
    config = hub_project.extractor()["config"]
    assert config["stream_maps"] == ALIAS_MAP  # a YAML mapping in meltano.yml, not a string
    assert isinstance(config["stream_maps"], dict)

    # The sensitive token goes to .env, never into meltano.yml.
    hub_project("config", "set", "tap-facebook-pages", "access_token", "e2e-hub-user-token")
    assert "e2e-hub-user-token" not in (hub_project.root / "meltano.yml").read_text()
    dotenv = (hub_project.root / ".env").read_text()
    assert "TAP_FACEBOOK_PAGES_ACCESS_TOKEN=" in dotenv
    assert "e2e-hub-user-token" in dotenv


@pytest.fixture(scope="module")
def two_runs(hub_project: HubProject, fleet_sandbox: Sandbox) -> dict[str, Any]:
    """The definition's default selection (``meltano select``, as the README says), then
    ``meltano run tap-facebook-pages target-postgres`` twice; late data changes in between."""
    hub_project("config", "set", "tap-facebook-pages", "stream_maps", json.dumps(ALIAS_MAP))
    hub_project("config", "set", "tap-facebook-pages", "access_token", "e2e-hub-user-token")
    for stream in ("pages", "page_insights_*"):
        hub_project("select", "tap-facebook-pages", stream, "*")
    assert hub_project.extractor()["select"] == yaml.safe_load(HUB_YML.read_text())["select"]
    hub_project.psql(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    hub_project("state", "clear", "--force", STATE_ID)

    fleet_sandbox.configure(revision=0)
    fleet_sandbox.reset_log()
    hub_project("run", "tap-facebook-pages", "target-postgres", timeout=600)
    first_windows = fleet_sandbox.insight_windows()
    last_batch = hub_project.psql(f"SELECT max(_sdc_batched_at)::text FROM {SCHEMA}.page_insights")

    fleet_sandbox.configure(revision=1)
    fleet_sandbox.reset_log()
    hub_project("run", "tap-facebook-pages", "target-postgres", timeout=600)
    return {
        "first_windows": first_windows,
        "second_windows": fleet_sandbox.insight_windows(),
        "last_batch_of_first_run": last_batch[0][0],
    }


def _expected_rows(revision_of: dict[dt.date, int]) -> dict[tuple[str, ...], Any]:
    rows: dict[tuple[str, ...], Any] = {}
    for page_id in _page_ids():
        for key, value in _expected(page_id, revision_of).items():
            rows[(page_id, *key)] = value
    return rows


@pytest.mark.e2e
def test_the_fleet_lands_in_one_page_insights_table(
    hub_project: HubProject, two_runs: dict[str, Any]
) -> None:
    tables = hub_project.tables(SCHEMA)
    assert tables == {"pages", "page_insights"}  # no page_insights_<id>, no posts/reels
    assert not [t for t in tables if t.startswith("page_insights_")]
    pages = hub_project.psql(f"SELECT id FROM {SCHEMA}.pages")
    assert sorted(r[0] for r in pages) == sorted(_page_ids())
    assert len(pages) == PAGES

    rows = hub_project.psql(
        "SELECT page_id, metric, period, date::text, breakdown_key, value::text"
        f" FROM {SCHEMA}.page_insights"
    )
    days = [START + dt.timedelta(days=i) for i in range((END - START).days + 1)]
    expected = _expected_rows({d: 1 if d >= REREAD_FIRST else 0 for d in days})
    table = {tuple(r[:5]): None if r[5] == NULL else Decimal(r[5]) for r in rows}
    assert len(rows) == len(table) == len(expected)  # every key once
    assert table.keys() == expected.keys()
    assert {k[0] for k in table} == set(_page_ids())
    duplicates = hub_project.psql(
        "SELECT page_id, metric, period, end_time, breakdown_key FROM"
        f" {SCHEMA}.page_insights GROUP BY 1, 2, 3, 4, 5 HAVING count(*) > 1"
    )
    assert duplicates == []
    assert table == expected


@pytest.mark.e2e
def test_the_second_run_is_incremental(hub_project: HubProject, two_runs: dict[str, Any]) -> None:
    """One bookmark per page stream (the catalog keeps one stream per page): the second run
    requests only the lookback days of each page, and only those rows are written again."""
    until = (END + dt.timedelta(days=1)).isoformat()
    assert two_runs["first_windows"] == {p: [(START.isoformat(), until)] for p in _page_ids()}
    assert two_runs["second_windows"] == {
        p: [(REREAD_FIRST.isoformat(), until)] for p in _page_ids()
    }
    rewritten = hub_project.psql(
        f"SELECT count(*) FROM {SCHEMA}.page_insights"
        f" WHERE _sdc_batched_at > '{two_runs['last_batch_of_first_run']}'"
    )
    reread = _expected_rows(dict.fromkeys((REREAD_FIRST, END - dt.timedelta(days=1), END), 1))
    total = int(hub_project.psql(f"SELECT count(*) FROM {SCHEMA}.page_insights")[0][0])
    assert int(rewritten[0][0]) == len(reread) < total

    state = json.loads(hub_project("state", "get", STATE_ID).stdout)["singer_state"]
    assert {s for s in state["bookmarks"] if s.startswith("page_insights_")} == {
        f"page_insights_{p}" for p in _page_ids()
    }


@pytest.mark.e2e
def test_flattening_keeps_posts_and_reels_metadata(hub_project: HubProject) -> None:
    """posts and reels selected (only for this run), flattening on: ``metadata`` has no declared
    properties, so flattening drops it; ``metadata_json`` carries it into PostgreSQL."""
    page_id = sbx.ACCOUNT_PAGE_IDS[0]
    hub_project.psql(f"DROP SCHEMA IF EXISTS {FLAT_SCHEMA} CASCADE")
    hub_project(
        "run", "--state-id-suffix", "flattening", "tap-facebook-pages", "target-postgres",
        env={
            "TAP_FACEBOOK_PAGES__SELECT": json.dumps(["posts.*", "reels.*"]),
            "TAP_FACEBOOK_PAGES_PAGE_IDS": json.dumps([page_id]),
            "TAP_FACEBOOK_PAGES_FLATTENING_ENABLED": "true",
            "TAP_FACEBOOK_PAGES_FLATTENING_MAX_DEPTH": "1",
            "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": FLAT_SCHEMA,
        },
        timeout=600,
    )  # fmt: skip
    assert hub_project.tables(FLAT_SCHEMA) == {"posts", "reels"}
    for table, id_of in (("posts", "id"), ("reels", "id")):
        rows = hub_project.psql(f"SELECT {id_of}, metadata_json FROM {FLAT_SCHEMA}.{table}")
        assert rows, table
        for row_id, raw in rows:
            metadata = json.loads(raw)
            assert metadata["id"] == row_id
            assert metadata["created_time"]
    posts = {p.id: p for p in sbx.posts_for(page_id, TODAY)}
    stored = dict(hub_project.psql(f"SELECT id, metadata_json FROM {FLAT_SCHEMA}.posts"))
    with_message = [i for i in stored if posts[i].message]
    assert with_message
    for post_id in with_message:
        assert json.loads(stored[post_id])["message"] == posts[post_id].message
