"""Shards run as the tasks of an orchestrator's indexed job: the index comes from its variable.

Rules (tap_facebook_pages/config.py ``resolve_shard_index``): a configured ``shard_index`` wins;
one shard is shard 0; with several, the variable named by ``shard_index_env``, else the first of
JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX, CLOUD_RUN_TASK_INDEX that is set. No index, or
a value outside 0 .. shard_count-1, is one config-error line (exit 2).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tap_facebook_pages.config import (
    SHARD_COUNT_VARIABLES,
    SHARD_INDEX_VARIABLES,
    ConfigError,
    Settings,
    resolve_shard_index,
)
from tap_facebook_pages.sandbox import SandboxServer
from tap_facebook_pages.sandbox import data as sbx
from tap_facebook_pages.tap import TapFacebookPages, shard_of
from tests.helpers import parse_messages, run_tap, sandbox_config

TODAY = dt.date(2026, 11, 20)
FLEET = 12
DAY = {"start_date": "2026-06-01", "end_date": "2026-06-01"}
ALL_PAGES = {*sbx.ACCOUNT_PAGE_IDS, *(sbx.fleet_page_id(i) for i in range(FLEET))}
ORCHESTRATOR_VARIABLES = (*SHARD_INDEX_VARIABLES, *SHARD_COUNT_VARIABLES.values(), "MY_TASK")
LOG = logging.getLogger("test-shards")


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(today=TODAY, fleet=FLEET) as srv:
        yield srv


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No orchestrator variable from the machine running the tests."""
    for name in ORCHESTRATOR_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _index(config: dict, environ: dict[str, str]) -> int:
    return resolve_shard_index(config, int(config.get("shard_count", 1)), environ, LOG)


def _error(config: dict, environ: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as caught:
        _index(config, environ)
    text = str(caught.value)
    assert "\n" not in text
    return text


# -- the rules ---------------------------------------------------------------------------------


def test_a_configured_shard_index_wins_over_the_orchestrator() -> None:
    env = {"JOB_COMPLETION_INDEX": "2", "AWS_BATCH_JOB_ARRAY_INDEX": "1"}
    assert _index({"shard_count": 3, "shard_index": 0}, env) == 0
    assert _index({"shard_count": 3, "shard_index": 1, "shard_index_env": "MY_TASK"}, env) == 1


def test_a_configured_index_other_than_the_orchestrators_is_warned(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger=LOG.name):
        assert _index({"shard_count": 3, "shard_index": 0}, {"JOB_COMPLETION_INDEX": "0"}) == 0
        assert not caplog.records  # the same index: nothing to say
        assert _index({"shard_count": 3, "shard_index": 0}, {"JOB_COMPLETION_INDEX": "2"}) == 0
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "WARNING",
            "shard_index 0 is configured and environment variable JOB_COMPLETION_INDEX is '2': "
            "reading shard 0 (the configured index wins); remove shard_index to use the "
            "orchestrator's index.",
        )
    ]


def test_one_shard_is_shard_zero_whatever_the_environment() -> None:
    assert _index({}, {"JOB_COMPLETION_INDEX": "5"}) == 0
    assert _index({"shard_count": 1}, {}) == 0


@pytest.mark.parametrize("variable", SHARD_INDEX_VARIABLES)
def test_each_known_variable_gives_the_index(
    variable: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger=LOG.name):
        assert _index({"shard_count": 4}, {variable: "3"}) == 3
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [f"Reading shard 3 of 4 (shard_index from environment variable {variable})."]


def test_the_first_known_variable_that_is_set_is_used() -> None:
    env = {
        "CLOUD_RUN_TASK_INDEX": "0",
        "AWS_BATCH_JOB_ARRAY_INDEX": "1",
        "JOB_COMPLETION_INDEX": "2",
    }
    assert _index({"shard_count": 3}, env) == 2
    del env["JOB_COMPLETION_INDEX"]
    assert _index({"shard_count": 3}, env) == 1


def test_shard_index_env_names_the_only_variable_read() -> None:
    config = {"shard_count": 3, "shard_index_env": "MY_TASK"}
    assert _index(config, {"MY_TASK": "2", "JOB_COMPLETION_INDEX": "0"}) == 2
    text = _error(config, {"JOB_COMPLETION_INDEX": "0"})
    assert text.startswith("shard_index: shard_count is 3 but no shard index is configured")
    assert "environment variable MY_TASK (shard_index_env) is not set" in text


def test_several_shards_and_no_index_is_one_error_line() -> None:
    text = _error({"shard_count": 3}, {"OTHER": "1"})
    assert text.startswith("shard_index: shard_count is 3 but no shard index is configured and ")
    for variable in SHARD_INDEX_VARIABLES:
        assert variable in text
    assert "set shard_index (0 .. 2)" in text


@pytest.mark.parametrize("value", ["3", "-1", "x", "", "1.0", "9999999999"])
def test_an_index_outside_the_shards_names_the_variable(value: str) -> None:
    text = _error({"shard_count": 3}, {"AWS_BATCH_JOB_ARRAY_INDEX": value})
    assert text == (
        "environment variable AWS_BATCH_JOB_ARRAY_INDEX: expected a shard index 0 .. 2 "
        f"(shard_count is 3), got {value!r}"
    )


def test_a_cloud_run_task_count_other_than_shard_count_is_an_error() -> None:
    env = {"CLOUD_RUN_TASK_INDEX": "1", "CLOUD_RUN_TASK_COUNT": "2"}
    assert _error({"shard_count": 3}, env) == (
        "shard_count is 3 but environment variable CLOUD_RUN_TASK_COUNT is '2': make the job's "
        "task count equal shard_count, so that every shard runs once"
    )
    assert _index({"shard_count": 2}, env) == 1


def test_shard_index_env_must_be_a_variable_name() -> None:
    text = _error({"shard_count": 2, "shard_index_env": "$MY TASK"}, {})
    assert text.startswith("shard_index_env: expected an environment variable name")


def test_settings_resolve_the_index_from_the_environment() -> None:
    settings = Settings.from_config(
        {"shard_count": 5}, LOG, today=TODAY, environ={"JOB_COMPLETION_INDEX": "4"}
    )
    assert (settings.shard_count, settings.shard_index) == (5, 4)


# -- through the command line: one line, exit 2 -----------------------------------------------


def _cli(config: dict, tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(config))
    environ = {k: v for k, v in os.environ.items() if k not in ORCHESTRATOR_VARIABLES}
    return subprocess.run(
        [sys.executable, "-m", "tap_facebook_pages", "--config", str(cfg), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=environ | env,
    )


def _error_lines(proc: subprocess.CompletedProcess) -> list[str]:
    return [line for line in proc.stderr.splitlines() if line.strip()]


def test_cli_several_shards_without_an_index_exits_2_with_one_line(tmp_path: Path) -> None:
    proc = _cli({"sandbox": True, "shard_count": 3}, tmp_path)
    assert proc.returncode == 2
    lines = _error_lines(proc)
    assert len(lines) == 1, proc.stderr
    assert "shard_index: shard_count is 3 but no shard index is configured" in lines[0]
    assert proc.stdout == ""


def test_cli_a_bad_index_variable_exits_2_with_one_line(tmp_path: Path) -> None:
    proc = _cli({"sandbox": True, "shard_count": 3}, tmp_path, JOB_COMPLETION_INDEX="3")
    assert proc.returncode == 2
    lines = _error_lines(proc)
    assert len(lines) == 1, proc.stderr
    assert "environment variable JOB_COMPLETION_INDEX: expected a shard index 0 .. 2" in lines[0]
    assert proc.stdout == ""


# -- N shards read every page exactly once ------------------------------------------------------


def _shard_pages(records: dict[str, list[dict]]) -> tuple[set[str], set[str]]:
    """The page ids of the ``pages`` records and of the page-insights records of one run."""
    pages = [r["id"] for r in records.get("pages", [])]
    assert len(pages) == len(set(pages))  # one pages record per page
    insights = {
        r["page_id"]
        for name, recs in records.items()
        if name.startswith("page_insights")
        for r in recs
    }
    return set(pages), insights


def _assert_partition(shards: list[tuple[set[str], set[str]]], count: int) -> None:
    seen: list[str] = []
    for index, (pages, insights) in enumerate(shards):
        assert pages, f"shard {index} read no page"  # 18 pages over 3 shards: none is empty
        assert insights == pages
        assert {shard_of(p, count) for p in pages} == {index}
        seen.extend(pages)
    assert len(seen) == len(set(seen))  # disjoint
    assert set(seen) == ALL_PAGES  # complete


@pytest.mark.parametrize("count", [2, 3])
def test_kubernetes_indexed_job_shards_read_every_page_once(
    server: SandboxServer, clean_env: pytest.MonkeyPatch, count: int
) -> None:
    shards = []
    for index in range(count):
        clean_env.setenv("JOB_COMPLETION_INDEX", str(index))
        out = run_tap(sandbox_config(server.url, shard_count=count, **DAY))
        shards.append(_shard_pages(out.records))
    _assert_partition(shards, count)


def test_aws_batch_array_shards_read_every_page_once(server: SandboxServer, tmp_path: Path) -> None:
    """The real command, in its own process per array child, as AWS Batch starts it."""
    count = 3
    config = sandbox_config(server.url, shard_count=count, **DAY)
    shards = []
    for index in range(count):
        proc = _cli(config, tmp_path, AWS_BATCH_JOB_ARRAY_INDEX=str(index))
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert (
            f"Reading shard {index} of {count} (shard_index from environment variable "
            "AWS_BATCH_JOB_ARRAY_INDEX)." in proc.stderr
        )
        shards.append(_shard_pages(parse_messages(proc.stdout).records))
    _assert_partition(shards, count)


def test_a_catalog_of_every_page_serves_every_shard_without_warnings(
    server: SandboxServer, clean_env: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A fixed catalog discovered with one shard lists every page; each shard reads its own
    pages from it, and the other shards' page streams are neither warned about nor missing."""
    count = 3
    catalog = TapFacebookPages(config=sandbox_config(server.url, **DAY)).catalog_dict
    assert {s["tap_stream_id"].removeprefix("page_insights_") for s in catalog["streams"]} >= (
        ALL_PAGES
    )
    shards = []
    for index in range(count):
        clean_env.setenv("AWS_BATCH_JOB_ARRAY_INDEX", str(index))
        caplog.clear()
        with caplog.at_level(logging.INFO):
            out = run_tap(sandbox_config(server.url, shard_count=count, **DAY), catalog=catalog)
        assert not [r for r in caplog.records if "did not discover" in r.getMessage()]
        (summary,) = [
            r.getMessage() for r in caplog.records if r.getMessage().startswith("run summary")
        ]
        assert "missing_streams" not in json.loads(summary.removeprefix("run summary "))
        shards.append(_shard_pages(out.records))
    _assert_partition(shards, count)


def test_every_shard_discovers_the_same_catalog_of_every_page(
    server: SandboxServer, tmp_path: Path
) -> None:
    """``--discover`` lists every shard's pages: Meltano's cached catalog (its key is the
    config, the same in every task of an indexed job) is then right for every shard."""
    config = sandbox_config(server.url, shard_count=3, **DAY)
    catalogs = []
    for index in range(3):
        proc = _cli(config, tmp_path, "--discover", JOB_COMPLETION_INDEX=str(index))
        assert proc.returncode == 0, proc.stderr[-2000:]
        catalogs.append(json.loads(proc.stdout))
    # Discovery needs no index (it lists every shard): `meltano select --list` on a laptop.
    proc = _cli(config, tmp_path, "--discover")
    assert proc.returncode == 0, proc.stderr[-2000:]
    catalogs.append(json.loads(proc.stdout))
    assert catalogs[0] == catalogs[1] == catalogs[2] == catalogs[3]
    names = {s["tap_stream_id"] for s in catalogs[0]["streams"]}
    assert {f"page_insights_{p}" for p in ALL_PAGES} <= names
