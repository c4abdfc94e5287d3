"""Bad config, state and catalog inputs: one clear line on stderr, exit code 2, no traceback and
no secret, through the real CLI; plus unit tests of validation.py."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import logging
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tap_facebook_pages import validation
from tap_facebook_pages.config import ConfigError, Settings
from tap_facebook_pages.sandbox import data as sbx
from tap_facebook_pages.tap import TapFacebookPages
from tests.helpers import TEST_TOKEN

P1 = sbx.ACCOUNT_PAGE_IDS[0]
APP_SECRET = "app-secret-DO-NOT-LEAK-424242"
LIST_SECRET = "EAAB-secret-in-a-list-DO-NOT-LEAK"
NUMBER_SECRET = 987654321
SECRETS = (TEST_TOKEN, APP_SECRET, LIST_SECRET, str(NUMBER_SECRET))
BASE: dict[str, Any] = {"sandbox": True, "access_token": TEST_TOKEN, "app_secret": APP_SECRET}
DIR = object()  # a file entry that is a directory
SCHEMA = validation.final_schema(TapFacebookPages)
TODAY = dt.date(2026, 11, 20)


def cfg(**settings: Any) -> str:
    """A config file's text: the base config with ``settings`` (None values kept as null)."""
    return json.dumps({**BASE, **settings})


@dataclass
class Case:
    """One CLI run: files written in its own directory, the arguments, what must come out."""

    id: str
    files: dict[str, Any]
    args: list[str]
    expected: tuple[str, ...]
    code: int = 2
    env: dict[str, str] = field(default_factory=dict)
    close_stdout: bool = False


def config_case(id_: str, text: str, *expected: str) -> Case:
    return Case(id_, {"c.json": text}, ["--config", "c.json"], expected)


def state_case(id_: str, state: Any, *expected: str) -> Case:
    text = state if isinstance(state, str) else json.dumps(state)
    return Case(
        id_,
        {"c.json": cfg(), "s.json": text},
        ["--config", "c.json", "--state", "s.json"],
        expected,
    )


def catalog_case(id_: str, text: str, *expected: str) -> Case:
    files = {"c.json": cfg(), "k.json": text}
    return Case(id_, files, ["--config", "c.json", "--catalog", "k.json"], expected)


def bookmark(**values: Any) -> dict[str, Any]:
    return {"bookmarks": {"page_insights_1": values}}


ERROR_CASES = [
    # -- the config file itself
    config_case("config-not-json", "{sandbox: true", "config file c.json", "not valid JSON"),
    config_case("config-empty", "", "config file c.json", "is empty"),
    config_case("config-array", json.dumps([BASE]), "config file c.json", "not a list"),
    config_case(
        "config-nan", '{"sandbox": true, "backoff_base_seconds": NaN}', "c.json", "NaN is not"
    ),
    Case("config-missing", {}, ["--config", "missing.json"], ("missing.json", "not found")),
    Case("config-directory", {"d.json": DIR}, ["--config", "d.json"], ("d.json", "a directory")),
    # -- settings
    config_case("lookback-null", cfg(lookback_days=None), "lookback_days", "got null", "3"),
    config_case(
        "base-url-no-scheme",
        cfg(api_base_url="graph.facebook.com"),
        "api_base_url",
        "no http:// or https:// scheme",
    ),
    config_case(
        "base-url-ftp", cfg(api_base_url="ftp://graph.facebook.com"), "api_base_url", "https://"
    ),
    config_case("api-version", cfg(api_version="25.0"), "api_version", "like v25.0", '"25.0"'),
    config_case("page-id-path", cfg(page_ids=["../../me"]), "page_ids[0]", "digits", "../../me"),
    config_case("page-ids-empty", cfg(page_ids=[]), "page_ids", "empty list", "every page"),
    config_case("page-metrics-empty", cfg(page_metrics=[]), "page_metrics", "empty list"),
    config_case(
        "token-in-a-list",
        cfg(access_token=[LIST_SECRET]),
        "access_token",
        "expected a string",
        "got a list",
        "value not shown",
    ),
    config_case("app-secret-number", cfg(app_secret=NUMBER_SECRET), "app_secret", "got a number"),
    config_case("periods-enum", cfg(periods=["month"]), "periods[0]", "one of day, week, days_28"),
    config_case("retries-type", cfg(max_retries="five"), "max_retries", "from 1 to 20", '"five"'),
    config_case("stream-maps-type", cfg(stream_maps=5), "stream_maps", "an object"),
    config_case("backoff-negative", cfg(backoff_base_seconds=-1), "from 0 to 60", "got -1"),
    config_case("throttle-negative", cfg(max_throttle_wait_seconds=-5), "from 0 to 86400"),
    config_case(
        "lookback-1e9", cfg()[:-1] + ', "lookback_days": 1e9}', "lookback_days", "0 to 730"
    ),
    config_case("shard-index", cfg(shard_count=2, shard_index=2), "shard_index", "0 .. 1"),
    config_case("start-garbage", cfg(start_date="2026-11-01garbage"), "start_date", "YYYY-MM-DD"),
    config_case("end-garbage", cfg(end_date="2026-11-01garbage"), "end_date", "YYYY-MM-DD"),
    config_case(
        "control-characters",
        cfg(api_version="v25.0\n\x1b[31mFAKE\r"),
        "api_version",
        '"v25.0 FAKE "',
    ),
    config_case("no-token", json.dumps({"max_retries": 3}), "access_token is required"),
    Case(
        "later-file-wins",
        {"a.json": cfg(lookback_days=5), "b.json": json.dumps({"lookback_days": None})},
        ["--config", "a.json", "--config", "b.json"],
        ("lookback_days", "config file b.json"),
    ),
    Case(
        "env-not-an-integer",
        {},
        ["--config", "ENV"],
        ("environment variable TAP_FACEBOOK_PAGES_LOOKBACK_DAYS", "an integer"),
        env={"TAP_FACEBOOK_PAGES_SANDBOX": "true", "TAP_FACEBOOK_PAGES_LOOKBACK_DAYS": "abc"},
    ),
    Case(
        "env-out-of-range",
        {"c.json": cfg()},
        ["--config", "c.json", "--config", "ENV"],
        ("lookback_days", "got 999", "environment variable TAP_FACEBOOK_PAGES_LOOKBACK_DAYS"),
        env={"TAP_FACEBOOK_PAGES_LOOKBACK_DAYS": "999"},
    ),
    # -- state
    state_case("state-not-json", "{bookmarks", "state file s.json", "not valid JSON"),
    state_case("state-array", [], "state file s.json", "expected a JSON object"),
    state_case("state-bookmarks-list", {"bookmarks": []}, "state file s.json", "bookmarks"),
    state_case(
        "state-bookmark-number",
        bookmark(replication_key_value=12345),
        'stream "page_insights_1"',
        "RFC 3339",
        "got 12345",
    ),
    state_case(
        "state-bookmark-garbage",
        bookmark(replication_key_value="yesterday"),
        'stream "page_insights_1"',
        '"yesterday"',
    ),
    state_case(
        "state-invalid-metrics",
        bookmark(invalid_metrics=5),
        'stream "page_insights_1"',
        "invalid_metrics",
        "list of metric names",
    ),
    Case(
        "state-missing", {"c.json": cfg()}, ["--config", "c.json", "--state", "s.json"], ("s.json",)
    ),
    # -- catalog
    catalog_case("catalog-not-json", "streams", "catalog file k.json", "not valid JSON"),
    catalog_case("catalog-no-streams", "{}", "catalog file k.json", '"streams" is missing'),
]

WARNING_CASES = [
    Case(
        "unknown-setting",
        {"c.json": cfg(lookbak_days=3, flattening_enabled=False, stream_maps={})},
        ["--config", "c.json", "--discover"],
        ('unknown setting "lookbak_days" is ignored; did you mean lookback_days?',),
        code=0,
    ),
    Case(
        "duplicate-page-ids",
        {"c.json": cfg(page_ids=[P1, P1])},
        ["--config", "c.json", "--discover"],
        (f'page_ids: "{P1}" is listed more than once; reading it once',),
        code=0,
    ),
    Case(
        "start-date-1900",
        {"c.json": cfg(start_date="1900-01-01")},
        ["--config", "c.json", "--discover"],
        ("start_date 1900-01-01 is more than 760 days ago", "starting at"),
        code=0,
    ),
]

STDOUT_CLOSED = Case(
    "stdout-closed",
    {"c.json": cfg()},
    ["--config", "c.json"],
    ("cannot write to stdout",),
    code=1,
    close_stdout=True,
)


def _run(case: Case, root: Path) -> subprocess.CompletedProcess[str]:
    where = root / case.id
    where.mkdir()
    for name, text in case.files.items():
        if text is DIR:
            (where / name).mkdir()
        else:
            (where / name).write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_FACEBOOK_PAGES_")}
    env.update(case.env)
    command = [sys.executable, "-m", "tap_facebook_pages", *case.args]
    if case.close_stdout:  # as `tap-facebook-pages --config c.json >&-`
        command = ["sh", "-c", 'exec "$@" >&-', "sh", *command]
    try:
        return subprocess.run(
            command, cwd=where, env=env, capture_output=True, text=True, timeout=90, check=False
        )
    except subprocess.TimeoutExpired:  # one hung run must not hide the others' results
        return subprocess.CompletedProcess(command, -1, "", "timed out after 90 s")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every case run once, a few at a time (each run is a fresh interpreter)."""
    root = tmp_path_factory.mktemp("cli")
    cases = [*ERROR_CASES, *WARNING_CASES, STDOUT_CLOSED]
    with ThreadPoolExecutor(max_workers=max(2, (os.cpu_count() or 2) * 2)) as pool:
        done = pool.map(lambda case: (case.id, _run(case, root)), cases)
        return dict(done)


def _assert_no_secrets(proc: subprocess.CompletedProcess[str]) -> None:
    for secret in SECRETS:
        assert secret not in proc.stdout + proc.stderr


@pytest.mark.parametrize("case", [*ERROR_CASES, STDOUT_CLOSED], ids=lambda c: c.id)
def test_bad_input_is_one_clear_line(case: Case, runs: dict) -> None:
    proc = runs[case.id]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == case.code, proc.stderr
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("tap-facebook-pages: error: ")
    for text in case.expected:
        assert text in lines[0]
    assert "Traceback" not in proc.stderr
    assert "\x1b" not in proc.stderr
    assert proc.stdout == ""
    _assert_no_secrets(proc)


@pytest.mark.parametrize("case", WARNING_CASES, ids=lambda c: c.id)
def test_doubtful_input_is_one_warning_and_the_run_goes_on(case: Case, runs: dict) -> None:
    proc = runs[case.id]
    assert proc.returncode == case.code, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if "WARNING" in line]
    assert len(warnings) == 1, proc.stderr
    for text in case.expected:
        assert text in warnings[0]
    assert "Traceback" not in proc.stderr
    streams = [s["tap_stream_id"] for s in json.loads(proc.stdout)["streams"]]
    assert streams.count(f"page_insights_{P1}") == 1
    _assert_no_secrets(proc)


# -- unit tests ----------------------------------------------------------------------------------


def check(**settings: Any) -> list[str]:
    return validation.check_config({**BASE, **settings}, schema=SCHEMA, today=TODAY)


def test_a_good_config_passes_without_warnings() -> None:
    assert check(page_ids=[P1], start_date="2026-01-01", end_date="2026-11-19T00:00:00Z") == []
    assert check(flattening_enabled=True, flattening_max_depth=2, stream_maps={}) == []
    assert check(batch_config={"encoding": {"format": "jsonl"}}, faker_config={}) == []
    assert check(backoff_base_seconds=decimal.Decimal("0.5"), request_timeout_seconds=5) == []


def test_sdk_settings_are_known() -> None:
    for name in ("stream_maps", "stream_map_config", "flattening_enabled", "batch_config"):
        assert name in SCHEMA["properties"]


@pytest.mark.parametrize(
    ("key", "closest"),
    [("lookbak_days", "lookback_days"), ("page_id", "page_ids"), ("zzz", None)],
)
def test_unknown_setting_is_a_warning_naming_the_closest(key: str, closest: str | None) -> None:
    [warning] = check(**{key: 1})
    assert f'unknown setting "{key}" is ignored' in warning
    assert (f"did you mean {closest}?" in warning) if closest else ("did you mean" not in warning)


def test_duplicate_page_ids_are_read_once_in_order() -> None:
    config = {**BASE, "page_ids": ["3", "1", "3", "2", "1"]}
    warnings = validation.check_config(config, schema=SCHEMA, today=TODAY)
    assert len(warnings) == 2
    settings = Settings.from_config(config, logging.getLogger("t"), today=TODAY)
    assert settings.page_ids == ("3", "1", "2")


@pytest.mark.parametrize(
    "secret",
    [[LIST_SECRET], {"k": LIST_SECRET}, NUMBER_SECRET, True, 1.5, [[LIST_SECRET]]],
    ids=["list", "object", "int", "bool", "float", "nested"],
)
@pytest.mark.parametrize("setting", ["access_token", "app_secret"])
def test_a_secret_of_the_wrong_type_is_named_but_never_shown(setting: str, secret: Any) -> None:
    with pytest.raises(ConfigError) as failed:
        check(**{setting: secret})
    message = str(failed.value)
    assert message.startswith(f"{setting}: expected a string")
    assert "value not shown" in message
    for text in (LIST_SECRET, str(NUMBER_SECRET), "True", "1.5"):
        assert text not in message


def test_a_secret_pasted_into_another_setting_is_masked() -> None:
    with pytest.raises(ConfigError) as failed:
        check(api_version=TEST_TOKEN)
    assert TEST_TOKEN not in str(failed.value)
    assert '"***"' in str(failed.value)


@pytest.mark.parametrize(
    "settings",
    [
        {"lookback_days": None},
        {"window_days": None},
        {"page_metrics": None},
        {"sandbox": None},
        {"lookback_days": 731},
        {"lookback_days": 1.5},
        {"lookback_days": True},
        {"posts_lookback_days": 10**9},
        {"backoff_base_seconds": float("nan")},
        {"backoff_base_seconds": decimal.Decimal("Infinity")},
        {"max_throttle_wait_seconds": float("inf")},
        {"request_timeout_seconds": 601},
        {"api_base_url": "https://graph.facebook.com/?x=1"},
        {"api_base_url": "https://"},
        {"api_base_url": "https://graph.facebook.com:99999"},
        {"api_base_url": "https://graph.facebook .com"},
        {"api_version": "v25"},
        {"api_version": "V25.0"},
        {"page_ids": ["12 34"]},
        {"page_ids": [""]},
        {"periods": []},
        {"post_metrics": []},
        {"reel_metrics": []},
        {"shard_index": 1},
        {"start_date": "20261101"},
        {"start_date": "2026-02-30"},
        {"start_date": "2026-11-01T25:00:00Z"},
        {"start_date": "2026-11-10", "end_date": "2026-11-01"},
        {"end_date": "2000-01-01"},
        {"batch_api": "yes"},
        {"stream_maps": []},
        {"page_metrics": ["page_post_engagement"]},
    ],
    ids=str,
)
def test_bad_settings_raise_one_config_error(settings: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as failed:
        check(**settings)
    message = str(failed.value)
    assert next(iter(settings)) in message
    assert "\n" not in message


def test_the_error_names_where_the_setting_came_from_and_at_most_three_problems() -> None:
    bad = {"lookback_days": -1, "window_days": 0, "max_retries": 0, "max_concurrency": 0}
    with pytest.raises(ConfigError) as failed:
        validation.check_config(
            {**BASE, **bad}, schema=SCHEMA, sources={"lookback_days": "config file x.json"}
        )
    message = str(failed.value)
    assert message.startswith("lookback_days: expected an integer from 0 to 730, got -1")
    assert "(from config file x.json)" in message
    assert message.endswith("(and 1 more)")


def test_dates_accept_a_day_or_an_iso_timestamp() -> None:
    for value in ("2026-11-01", "2026-11-01T00:00:00Z", "2026-11-01T08:00:00+00:00"):
        assert check(start_date=value, end_date="2026-11-19") == []


def test_an_old_start_date_starts_760_days_ago_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level("WARNING"):
        settings = Settings.from_config(
            {"start_date": "1900-01-01"}, logging.getLogger("t"), today=TODAY
        )
    assert settings.start_date == TODAY - dt.timedelta(days=760)
    assert settings.start_date_explicit
    assert any("starting at 2024-10-21 instead" in r.getMessage() for r in caplog.records)
    assert check(start_date="1900-01-01") == []  # not an error


def test_clean_strips_control_characters_and_shortens() -> None:
    assert validation.clean("a\nb\x1b[31mc\x1b[0m\x07\u202e") == "a bc"
    assert validation.clean("x" * 100, 10) == "x" * 9 + "…"


GOOD_STATE = {
    "bookmarks": {
        f"page_insights_{P1}": {
            "replication_key": "end_time",
            "replication_key_value": "2026-11-19T08:00:00+00:00",
            "last_nonzero_rows": 405,
            "invalid_metrics": ["page_fans"],
        },
        "pages": {},
        "page_insights_2": {"replication_key_value": None},
        "page_insights_3": {"replication_key_value": "2026-09-04T07:00:00+0000"},
        "posts": {
            "partitions": [
                {
                    "context": {"page_id": P1},
                    "replication_key": "created_time",
                    "replication_key_value": "2026-11-26T22:06:32.5Z",
                }
            ]
        },
    }
}


def test_a_good_state_passes() -> None:
    validation.check_state(GOOD_STATE)
    validation.check_state({})


@pytest.mark.parametrize(
    "value", [12345, "garbage", "2026-11-19", "2026-11-19T08:00:00", "2026-13-19T08:00:00Z", []]
)
def test_a_bookmark_must_be_an_rfc3339_timestamp(value: Any) -> None:
    with pytest.raises(ConfigError, match=r'state: stream "page_insights_1": replication_key'):
        validation.check_state(bookmark(replication_key_value=value))


@pytest.mark.parametrize(
    "state",
    [
        bookmark(invalid_metrics=[1]),
        bookmark(last_nonzero_rows="many"),
        {"bookmarks": {"posts": {"partitions": {}}}},
        {"bookmarks": {"posts": {"partitions": ["x"]}}},
        {"bookmarks": {"posts": 5}},
        {"bookmarks": {"posts": {"partitions": [{"replication_key_value": "2026-13-01"}]}}},
    ],
)
def test_bad_bookmark_values_raise(state: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="state: "):
        validation.check_state(state)


def test_a_catalog_needs_a_list_of_stream_objects() -> None:
    stream = {"tap_stream_id": "pages", "schema": {}, "metadata": [{"breadcrumb": []}]}
    validation.check_catalog({"streams": [stream]})
    bad_catalogs = (
        {"streams": [5]},
        {"streams": [{}]},
        {"streams": [{**stream, "metadata": 5}]},
        {"streams": [{**stream, "schema": []}]},
    )
    for bad in bad_catalogs:
        with pytest.raises(ConfigError, match="catalog: streams"):
            validation.check_catalog(bad)


def test_a_tap_built_in_python_checks_its_inputs_before_the_sdk() -> None:
    with pytest.raises(ConfigError, match="lookback_days"):
        TapFacebookPages(config={"sandbox": True, "lookback_days": None})
    with pytest.raises(ConfigError, match="state: bookmarks"):
        TapFacebookPages(config={"sandbox": True}, state={"bookmarks": []})
    with pytest.raises(ConfigError, match='catalog: expected a JSON object with a "streams"'):
        TapFacebookPages(config={"sandbox": True}, catalog={"stream": []})
    with pytest.raises(ConfigError, match=r'catalog: expected .* "streams" is an object'):
        TapFacebookPages(config={"sandbox": True}, catalog={"streams": {}})


def test_request_timeout_seconds_reaches_the_graph_client() -> None:
    for extra, timeout in (({}, 60), ({"request_timeout_seconds": 7.5}, 7.5)):
        tap = TapFacebookPages(config={"sandbox": True, "page_ids": [P1], **extra})
        try:
            assert tap.graph.timeout_seconds == timeout
        finally:
            tap.finish_run()


def test_option_values_reads_both_spellings() -> None:
    argv = ["--config", "a.json", "--config=b.json", "--state", "s.json", "--", "--config", "x"]
    assert validation._option_values(argv, "--config") == ["a.json", "b.json"]
    assert validation._option_values(argv, "--state") == ["s.json"]
