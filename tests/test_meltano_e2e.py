"""The Meltano project (meltano.yml): settings kept in sync with the tap, and end to end.

Unmarked tests only read meltano.yml. The ``e2e`` tests provision PostgreSQL and Meltano with
``scripts/e2e_env.sh`` (nothing is provisioned under ``-m "not e2e"``), start the Graph API
sandbox as a process with a fixed ``today``, then drive the real ``meltano`` CLI against the
repository's own meltano.yml: install, discover, select, ``meltano run tap-facebook-pages
target-postgres`` twice (late data changes in between) and the scheduled jobs, and check the
tables in PostgreSQL against the sandbox's own data functions.

Meltano runs in the repository (``MELTANO_PROJECT_ROOT``) with its ``.meltano`` directory
(plugin venvs, system database holding the state) in a temporary directory
(``MELTANO_SYS_DIR_ROOT``), so every test session starts without state and leaves no trace.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import select
import shlex
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from tap_facebook_pages.config import plan_metrics
from tap_facebook_pages.metrics import load_catalog
from tap_facebook_pages.sandbox import data as sbx
from tap_facebook_pages.tap import TapFacebookPages
from tap_facebook_pages.windows import end_time_for
from tests.helpers import run_meltano

ROOT = Path(__file__).resolve().parents[1]
MELTANO_YML = ROOT / "meltano.yml"

TODAY = dt.date(2026, 11, 20)  # the sandbox's simulated today
START = dt.date(2026, 10, 1)
END = dt.date(2026, 11, 19)
LOOKBACK_DAYS = 3
STATE_ID = "dev:tap-facebook-pages-to-target-postgres"
SCHEMA = "facebook_pages"  # default_target_schema in meltano.yml
NULL = "<NULL>"


def _project() -> dict[str, Any]:
    return yaml.safe_load(MELTANO_YML.read_text())


def _plugin(kind: str, name: str) -> dict[str, Any]:
    return next(p for p in _project()["plugins"][kind] if p["name"] == name)


# ------------------------------------------------------------------ meltano.yml (no Meltano needed)


def test_meltano_project_shape() -> None:
    """Meltano 4 idioms, custom (Hub-free) plugins, the runbook's jobs and schedules."""
    project = _project()
    assert "version" not in project
    assert project["requires_meltano"] == ">=4.0"
    assert project["default_environment"] == "dev"
    envs = {e["name"]: e for e in project["environments"]}
    dev_tap = next(
        p
        for p in envs["dev"]["config"]["plugins"]["extractors"]
        if p["name"] == "tap-facebook-pages"
    )
    assert dev_tap["config"]["sandbox"] is True

    tap = _plugin("extractors", "tap-facebook-pages")
    assert tap["namespace"] == "tap_facebook_pages"
    assert tap["pip_url"] == "-e ."
    assert tap["executable"] == "tap-facebook-pages"
    assert set(tap["capabilities"]) >= {
        "catalog", "discover", "state", "about", "stream-maps", "schema-flattening",
    }  # fmt: skip
    about = set(TapFacebookPages.capabilities)
    assert set(tap["capabilities"]) <= {str(c) for c in about}

    for name in ("target-jsonl", "target-postgres"):
        loader = _plugin("loaders", name)
        assert {"namespace", "pip_url", "executable"} <= set(loader), f"{name} must be custom"
        assert "variant" not in loader
    postgres = _plugin("loaders", "target-postgres")
    assert postgres["pip_url"] == "meltanolabs-target-postgres==0.8.1"
    password = next(s for s in postgres["settings"] if s["name"] == "password")
    assert password.get("sensitive") is True

    insights = _plugin("extractors", "tap-facebook-pages--insights")
    posts = _plugin("extractors", "tap-facebook-pages--posts")
    assert insights["inherit_from"] == posts["inherit_from"] == "tap-facebook-pages"
    assert insights["select"] == ["pages.*", "page_insights_*.*"]
    assert posts["select"] == ["posts.*", "post_insights.*", "reels.*", "reel_insights.*"]
    jobs = {j["name"]: j["tasks"] for j in project["jobs"]}
    assert jobs == {
        "page-insights": ["tap-facebook-pages--insights target-postgres"],
        "posts": ["tap-facebook-pages--posts target-postgres"],
        # Both loads, then the dbt models in transform/ (tests/test_dbt_project.py).
        "analytics": [
            "tap-facebook-pages--insights target-postgres",
            "tap-facebook-pages--posts target-postgres",
            "dbt-postgres:build",
        ],
    }
    schedules = {s["job"]: s["interval"] for s in project["schedules"]}
    assert schedules == {"page-insights": "10 3 * * *", "posts": "20 3 * * *"}


# --------------------------------------------------------------------------- expected table rows


def _planned_metrics() -> dict[str, tuple[str, ...]]:
    """Metric -> periods the tap requests with the default page_metrics and periods."""
    catalog = load_catalog()
    plan = plan_metrics(
        catalog.defaults("PAGE"),
        ["day"],
        level="PAGE",
        catalog=catalog,
        logger=logging.getLogger("e2e"),
        setting="page_metrics",
    )
    return plan.requests


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def _expected(page_id: str, revision_of: dict[dt.date, int]) -> dict[tuple[str, ...], Any]:
    """(metric, period, date, breakdown_key) -> value, from the sandbox's data functions.

    ``revision_of`` gives the late-data revision the table should hold for each day.
    """
    expected: dict[tuple[str, ...], Any] = {}
    for metric, periods in _planned_metrics().items():
        for period in periods:
            for day, revision in revision_of.items():
                value = sbx.metric_value(page_id, metric, period, day, revision, TODAY)
                base = (metric, period, day.isoformat())
                if isinstance(value, dict):
                    if not value:
                        expected[(*base, "")] = None
                    for key, number in value.items():
                        expected[(*base, key)] = Decimal(number)
                else:
                    expected[(*base, "")] = Decimal(value)
    return expected


# ------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def e2e_env() -> Iterator[dict[str, str]]:
    """PostgreSQL cluster + Meltano from scripts/e2e_env.sh (stopped and deleted afterwards)."""
    # Under /tmp (not pytest's private tmp dir) so the cluster's `postgres` user can reach it.
    state_dir = tempfile.mkdtemp(prefix="tfp-e2e-")
    script = ROOT / "scripts" / "e2e_env.sh"
    proc = subprocess.run(
        ["bash", str(script), "start", state_dir],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if proc.returncode != 0:
        subprocess.run(["bash", str(script), "stop", state_dir], capture_output=True, check=False)
        pytest.fail(f"scripts/e2e_env.sh failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    env: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export ") :].partition("=")
            env[key] = shlex.split(value)[0] if value else ""
    try:
        yield env
    finally:
        subprocess.run(
            ["bash", str(script), "stop", state_dir], capture_output=True, timeout=120, check=False
        )


class Sandbox:
    """A standalone sandbox process and its control endpoints."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tap_facebook_pages.sandbox", "--port", "0",
             "--today", TODAY.isoformat()],
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 60)
        line = self.proc.stdout.readline() if ready else ""
        if "sandbox listening on " not in line:
            self.stop()
            pytest.fail(f"sandbox did not start: {line!r}")
        self.url = line.split("sandbox listening on ", 1)[1].strip()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.url}/__sandbox__/{path}", data=data, method=method,
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def configure(self, **changes: Any) -> None:
        self._call("POST", "config", changes)

    def reset_log(self) -> None:
        self._call("POST", "reset_log", {})

    def insight_windows(self) -> dict[str, list[tuple[str, str]]]:
        """page id -> (since, until) of every insights call since the last reset."""
        windows: dict[str, list[tuple[str, str]]] = {}
        for entry in self._call("GET", "log")["requests"]:
            if entry["path"].endswith("/insights"):
                params = entry["params"]
                windows.setdefault(entry["page_id"], []).append((params["since"], params["until"]))
        return windows

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    server = Sandbox()
    try:
        yield server
    finally:
        server.stop()


class Meltano:
    """The real ``meltano`` CLI on this repository's meltano.yml, isolated from the machine."""

    def __init__(self, env: dict[str, str], sandbox: Sandbox, sys_dir: Path) -> None:
        self.bin = env["MELTANO_BIN"]
        self.pg = env
        self.psql_bin = str(Path(env["PG_BIN"]) / "psql") if env.get("PG_BIN") else "psql"
        if not Path(self.psql_bin).exists():
            self.psql_bin = shutil.which("psql") or "psql"
        empty_env_file = sys_dir / "empty.env"
        empty_env_file.parent.mkdir(parents=True, exist_ok=True)
        empty_env_file.write_text("")
        self.env_file = str(empty_env_file)
        clean = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(
                ("TAP_FACEBOOK_PAGES", "TARGET_", "MELTANO_", "PG", "VIRTUAL_ENV", "DBT_")
            )
        }
        self.env = {
            **clean,
            "MELTANO_PROJECT_ROOT": str(ROOT),
            "MELTANO_SYS_DIR_ROOT": str(sys_dir / ".meltano"),
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "PG_HOST": env["PG_HOST"],
            "PG_PORT": env["PG_PORT"],
            "PG_USER": env["PG_USER"],
            "PG_PASSWORD": env["PG_PASSWORD"],
            "PG_DATABASE": env["PG_DATABASE"],
            "TAP_FACEBOOK_PAGES_SANDBOX": "false",
            "TAP_FACEBOOK_PAGES_API_BASE_URL": sandbox.url,
            "TAP_FACEBOOK_PAGES_ACCESS_TOKEN": "e2e-test-user-token",
            "TAP_FACEBOOK_PAGES_START_DATE": START.isoformat(),
            "TAP_FACEBOOK_PAGES_END_DATE": END.isoformat(),
            "TAP_FACEBOOK_PAGES_LOOKBACK_DAYS": str(LOOKBACK_DAYS),
            # The per-page layout (one page_insights_<id> table per page): these tests check
            # each page's table; tests/test_meltano_hub_e2e.py checks the default one-table
            # layout (stream_maps' alias map).
            "TAP_FACEBOOK_PAGES_STREAM_MAPS": "{}",
        }

    def __call__(
        self, *args: str, timeout: float = 300, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run_meltano(
            [self.bin, "--env-file", self.env_file, "--log-format=uncolored", *args],
            cwd=ROOT,
            env={**self.env, **(env or {})},
            timeout=timeout,
        )

    def psql(self, sql: str) -> list[list[str]]:
        proc = subprocess.run(
            [self.psql_bin, "-X", "-A", "-t", "-q", "-F", "\t", "-P", f"null={NULL}",
             "-v", "ON_ERROR_STOP=1", "-h", self.pg["PG_HOST"], "-p", self.pg["PG_PORT"],
             "-U", self.pg["PG_USER"], "-d", self.pg["PG_DATABASE"], "-c", sql],
            env={**os.environ, "PGPASSWORD": self.pg["PG_PASSWORD"], "PGTZ": "UTC"},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )  # fmt: skip
        assert proc.returncode == 0, f"psql failed: {proc.stderr}\n{sql}"
        return [line.split("\t") for line in proc.stdout.splitlines() if line]


@pytest.fixture(scope="module")
def meltano(e2e_env: dict[str, str], sandbox: Sandbox) -> Iterator[Meltano]:
    """Meltano with plugins installed in a fresh temporary .meltano directory.

    Set ``TFP_E2E_MELTANO_DIR`` to keep and reuse one between local runs (faster installs; the
    tests clear their state IDs and schemas themselves).
    """
    reuse = os.environ.get("TFP_E2E_MELTANO_DIR")
    sys_dir = Path(reuse) if reuse else Path(tempfile.mkdtemp(prefix="tfp-meltano-"))
    try:
        runner = Meltano(e2e_env, sandbox, sys_dir)
        runner("install", timeout=900)
        yield runner
    finally:
        if not reuse:
            shutil.rmtree(sys_dir, ignore_errors=True)


# ------------------------------------------------------------------------------------ e2e tests


def _insights_table(page_id: str, schema: str = SCHEMA) -> str:
    return f'{schema}."page_insights_{page_id}"'


def _table_rows(meltano: Meltano, page_id: str, schema: str = SCHEMA) -> dict[tuple[str, ...], Any]:
    rows = meltano.psql(
        "SELECT page_id, metric, period, date::text, breakdown_key, value::text,"
        " to_char(end_time, 'YYYY-MM-DD\"T\"HH24:MI:SS')"
        f" FROM {_insights_table(page_id, schema)}"
    )
    table: dict[tuple[str, ...], Any] = {}
    for page, metric, period, day, key, value, end_time in rows:
        assert page == page_id
        assert end_time == end_time_for(dt.date.fromisoformat(day))[:19], (day, end_time)
        table[(metric, period, day, key)] = None if value == NULL else Decimal(value)
    return table


@pytest.mark.e2e
def test_discover_and_select_list_the_page_streams(meltano: Meltano) -> None:
    proc = meltano("invoke", "tap-facebook-pages", "--discover")
    catalog = json.loads(proc.stdout)
    names = {s["tap_stream_id"] for s in catalog["streams"]}
    assert {"pages"} | {f"page_insights_{p}" for p in sbx.ACCOUNT_PAGE_IDS} <= names

    listing = meltano("select", "tap-facebook-pages", "--list", "--all").stdout
    for page_id in sbx.ACCOUNT_PAGE_IDS:
        assert f"page_insights_{page_id}.end_time" in listing
        assert f"page_insights_{page_id}.value" in listing
    assert "pages.id" in listing


REREAD_FIRST = END + dt.timedelta(days=1) - dt.timedelta(days=LOOKBACK_DAYS)  # 2026-11-17


@pytest.fixture(scope="module")
def two_runs(meltano: Meltano, sandbox: Sandbox) -> dict[str, Any]:
    """`meltano run tap-facebook-pages target-postgres` twice from no state; the sandbox's late
    data changes (revision 0 -> 1) in between. Returns what the API saw and the state."""
    sandbox.configure(revision=0)
    meltano("state", "clear", "--force", STATE_ID)
    meltano.psql(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")

    sandbox.reset_log()
    meltano("run", "tap-facebook-pages", "target-postgres")
    first_windows = sandbox.insight_windows()
    first_state = json.loads(meltano("state", "get", STATE_ID).stdout)

    # Late data: the sandbox changes the values of the 5 days before today.
    sandbox.configure(revision=1)
    sandbox.reset_log()
    meltano("run", "tap-facebook-pages", "target-postgres")
    second_windows = sandbox.insight_windows()
    return {
        "first_windows": first_windows,
        "first_state": first_state,
        "second_windows": second_windows,
        "second_state": json.loads(meltano("state", "get", STATE_ID).stdout),
    }


def _one_window_per_page(first: dt.date) -> dict[str, list[tuple[str, str]]]:
    until = (END + dt.timedelta(days=1)).isoformat()  # exclusive
    return {p: [(first.isoformat(), until)] for p in sbx.ACCOUNT_PAGE_IDS}


@pytest.mark.e2e
def test_first_run_reads_the_configured_range_and_bookmarks_the_last_day(
    two_runs: dict[str, Any],
) -> None:
    assert two_runs["first_windows"] == _one_window_per_page(START)
    for state in (two_runs["first_state"], two_runs["second_state"]):
        bookmarks = state["singer_state"]["bookmarks"]
        for page_id in sbx.ACCOUNT_PAGE_IDS:
            bookmark = bookmarks[f"page_insights_{page_id}"]["replication_key_value"]
            assert bookmark == end_time_for(END)


@pytest.mark.e2e
def test_tables_hold_every_row_once_with_the_lookback_days_revised(
    meltano: Meltano, two_runs: dict[str, Any]
) -> None:
    """Row set == the expected (page, metric, period, day, key) set, no duplicate keys, the
    re-read days (11-17..11-19) at revision 1 and every older day at revision 0."""
    assert two_runs["second_state"]
    assert dt.date(2026, 11, 17) == REREAD_FIRST
    late_days = {d for d in _days(START, END) if (TODAY - d).days <= sbx.LATE_DATA_DAYS}
    assert late_days == set(_days(dt.date(2026, 11, 15), END))
    revision_of = {d: 1 if d >= REREAD_FIRST else 0 for d in _days(START, END)}

    for page_id in sbx.ACCOUNT_PAGE_IDS:
        table = _table_rows(meltano, page_id)
        expected = _expected(page_id, revision_of)
        assert len(table) == len(expected)
        assert table.keys() == expected.keys()
        duplicates = meltano.psql(
            "SELECT page_id, metric, period, end_time, breakdown_key, count(*)"
            f" FROM {_insights_table(page_id)}"
            " GROUP BY page_id, metric, period, end_time, breakdown_key HAVING count(*) > 1"
        )
        assert duplicates == []
        assert table == expected
        # Not vacuous: the re-read days really changed, and the late days the lookback did not
        # reach (11-15, 11-16) still hold revision-0 values although the API now serves others.
        old = _expected(page_id, dict.fromkeys(late_days, 0))
        new = _expected(page_id, dict.fromkeys(late_days, 1))
        changed = [k for k in old if old[k] != new[k]]
        assert any(k[2] >= REREAD_FIRST.isoformat() for k in changed)
        stale = [k for k in changed if k[2] < REREAD_FIRST.isoformat()]
        assert stale
        assert all(table[k] == old[k] != new[k] for k in stale)

    pages = meltano.psql(f"SELECT id FROM {SCHEMA}.pages ORDER BY id")
    assert [r[0] for r in pages] == sorted(sbx.ACCOUNT_PAGE_IDS)


@pytest.mark.e2e
def test_second_run_requests_only_the_lookback_days(two_runs: dict[str, Any]) -> None:
    """bookmark day (11-19) + 1 - lookback_days (3): one insights call per page with
    since=2026-11-17, until=2026-11-20, and no request for older days."""
    assert two_runs["second_windows"] == _one_window_per_page(REREAD_FIRST)


@pytest.mark.e2e
def test_scheduled_jobs_run_with_their_own_state(meltano: Meltano, sandbox: Sandbox) -> None:
    schedules = json.loads(meltano("schedule", "list", "--format=json").stdout)
    intervals = {s["name"]: s["interval"] for s in schedules["schedules"]["job"]}
    assert intervals == {"page-insights-nightly": "10 3 * * *", "posts-nightly": "20 3 * * *"}

    sandbox.configure(revision=1)
    schema = "e2e_jobs"
    insights_state = "dev:tap-facebook-pages--insights-to-target-postgres"
    posts_state = "dev:tap-facebook-pages--posts-to-target-postgres"
    meltano.psql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    meltano("state", "clear", "--force", insights_state)
    meltano("state", "clear", "--force", posts_state)
    job_env = {"TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": schema}

    def tables() -> set[str]:
        rows = meltano.psql(
            f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{schema}'"
        )
        return {r[0] for r in rows}

    meltano("run", "page-insights", env=job_env)
    # Its selection: pages and page insights only.
    assert tables() == {"pages"} | {f"page_insights_{p}" for p in sbx.ACCOUNT_PAGE_IDS}
    # Its own state ID: a first run over the whole range, all late days at revision 1.
    page_id = sbx.ACCOUNT_PAGE_IDS[0]
    assert _table_rows(meltano, page_id, schema) == _expected(
        page_id, dict.fromkeys(_days(START, END), 1)
    )

    # The posts job selects posts, post_insights, reels and reel_insights, and only those (a
    # pattern matching no stream only makes Meltano log a warning).
    before = tables()
    meltano("run", "posts", env=job_env)
    assert tables() - before <= {"posts", "post_insights", "reels", "reel_insights"}

    state_ids = meltano("state", "list").stdout.split()
    assert insights_state in state_ids
