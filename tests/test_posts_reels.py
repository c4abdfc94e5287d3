"""Posts, post insights, reels and reel insights against the offline sandbox.

Values are compared with the sandbox's own data functions (``posts_for``, ``reels_for``,
``post_lifetime_value``); HTTP calls are counted from the sandbox's request log.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import math
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tap_facebook_pages.config import UserError
from tap_facebook_pages.metrics import load_catalog
from tap_facebook_pages.sandbox import SandboxServer
from tap_facebook_pages.sandbox import data as sbx
from tap_facebook_pages.tap import TapFacebookPages
from tap_facebook_pages.windows import iter_windows
from tests.helpers import RunOutput, parse_messages, run_tap, sandbox_config

TODAY = dt.date(2026, 11, 20)
END = TODAY - dt.timedelta(days=1)
PAGE = sbx.ACCOUNT_PAGE_IDS[0]
OTHER_PAGE = sbx.ACCOUNT_PAGE_IDS[1]
POST_METRICS = load_catalog().defaults("POST")
REEL_METRICS = load_catalog().defaults("REEL")
YEAR = {"page_ids": [PAGE], "start_date": "2025-12-01", "end_date": str(END)}
CONTENT_STREAMS = ("posts", "post_insights", "reels", "reel_insights")


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(today=TODAY) as srv:
        yield srv


@pytest.fixture
def sandbox(server: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    server.configure(faults={}, revision=0, today=TODAY)
    server.reset_log()
    monkeypatch.setattr("tap_facebook_pages.source.content.observation_day", lambda: TODAY)
    return server


def _catalog(url: str, streams: tuple[str, ...], **config: Any) -> dict[str, Any]:
    """The discovered catalog with only ``streams`` selected."""
    tap = TapFacebookPages(config=sandbox_config(url, **config))
    catalog = tap.catalog_dict
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return catalog


def _run(
    sandbox: SandboxServer,
    streams: tuple[str, ...] = CONTENT_STREAMS,
    state: dict[str, Any] | None = None,
    **config: Any,
) -> RunOutput:
    catalog = _catalog(sandbox.url, streams, **config)
    sandbox.reset_log()
    return run_tap(sandbox_config(sandbox.url, **config), state=state, catalog=catalog)


def _in_range(created: dt.date, config: dict[str, Any]) -> bool:
    return (
        dt.date.fromisoformat(config["start_date"])
        <= created
        <= dt.date.fromisoformat(config["end_date"])
    )


def _lifetime_rows(
    object_id: str, metrics: list[str], created: dt.date, today: dt.date
) -> dict[tuple[str, str, str, str], Any]:
    """(object id, metric, date, breakdown_key) -> value, from the sandbox's data functions."""
    out: dict[tuple[str, str, str, str], Any] = {}
    for metric in metrics:
        value = sbx.post_lifetime_value(object_id, metric, created, today)
        if isinstance(value, dict):
            out.update({(object_id, metric, str(today), k): v for k, v in value.items()})
            if not value:
                out[(object_id, metric, str(today), "")] = None
        else:
            out[(object_id, metric, str(today), "")] = value
    return out


def _values(rows: list[dict[str, Any]], id_field: str) -> dict[tuple[str, str, str, str], Any]:
    keys = [(r[id_field], r["metric"], r["date"], r["breakdown_key"]) for r in rows]
    assert not [k for k, n in Counter(keys).items() if n > 1], "duplicate keys"
    return {(r[id_field], r["metric"], r["date"], r["breakdown_key"]): r["value"] for r in rows}


def _calls(sandbox: SandboxServer, edge: str, page: str = PAGE) -> list[dict[str, Any]]:
    return [r for r in sandbox.requests if r["path"] == f"/{page}/{edge}"]


def _expanded_metrics(call: dict[str, Any]) -> list[str]:
    found = re.search(r"insights\.metric\(([^)]*)\)", call["params"]["fields"])
    return found.group(1).split(",") if found else []


def _windows(config: dict[str, Any], window_days: int = 90) -> int:
    start = dt.date.fromisoformat(config["start_date"])
    return len(iter_windows(start, dt.date.fromisoformat(config["end_date"]), window_days))


@pytest.fixture(scope="module")
def year_run(server: SandboxServer) -> tuple[RunOutput, list[dict[str, Any]]]:
    """One run of all four streams over a year of one page, and its request log."""
    with pytest.MonkeyPatch.context() as patch:
        server.configure(faults={}, revision=0, today=TODAY)
        patch.setattr("tap_facebook_pages.source.content.observation_day", lambda: TODAY)
        out = _run(server, **YEAR)
        return out, server.requests


def test_every_post_once_with_counts_and_insights_from_the_same_calls(
    year_run: tuple[RunOutput, list[dict[str, Any]]],
) -> None:
    out, requests = year_run
    posts = [p for p in sbx.posts_for(PAGE, TODAY) if _in_range(p.created_date, YEAR)]
    assert len(posts) > 100  # several pages of results' worth
    rows = out.records["posts"]
    assert sorted(r["id"] for r in rows) == sorted(p.id for p in posts)  # each post exactly once
    by_id = {r["id"]: r for r in rows}
    for post in posts:
        row = by_id[post.id]
        assert row["page_id"] == PAGE
        assert row["message"] == post.message
        assert row["status_type"] == post.status_type
        assert row["permalink_url"] == post.permalink_url
        assert row["shares_count"] == post.shares
        assert row["reactions_count"] == post.reactions
        assert row["comments_count"] == post.comments
        assert row["created_time"] == post.created_time.replace("+0000", "+00:00")
        assert row["metadata"]["id"] == post.id
        assert "insights" not in row["metadata"]
        assert json.loads(row["metadata_json"]) == row["metadata"]
    created = [r["created_time"] for r in rows]
    assert created == sorted(created)  # ascending

    # Post insights: the sandbox's lifetime values, keyed by the observation day; no `day` row.
    insight_rows = out.records["post_insights"]
    expected: dict = {}
    for post in posts:
        expected.update(_lifetime_rows(post.id, POST_METRICS, post.created_date, TODAY))
    assert _values(insight_rows, "post_id") == expected
    assert {r["period"] for r in insight_rows} == {"lifetime"}
    assert all(r["end_time"] is None and r["date"] == str(TODAY) for r in insight_rows)
    object_rows = [r for r in insight_rows if r["metric"] == "post_reactions_by_type_total"]
    assert object_rows
    assert all(json.loads(r["value_json"])[r["breakdown_key"]] == r["value"] for r in object_rows)

    # Calls: one listing per page of results per window; never one call per post.
    calls = [r for r in requests if r["path"] == f"/{PAGE}/posts"]
    assert len(calls) <= math.ceil(len(posts) / 100) + _windows(YEAR)
    assert all(c["status"] == 200 for c in calls)
    assert all(c["params"]["limit"] == "100" for c in calls)
    assert all("insights.metric(" in c["params"]["fields"] for c in calls)
    assert not [r for r in requests if r["path"].endswith("/insights") and "_" in r["path"]]


def test_post_with_zero_shares_has_shares_count_zero(
    year_run: tuple[RunOutput, list[dict[str, Any]]],
) -> None:
    out, _ = year_run
    zero = [
        p for p in sbx.posts_for(PAGE, TODAY) if _in_range(p.created_date, YEAR) and not p.shares
    ]
    assert zero
    by_id = {r["id"]: r for r in out.records["posts"]}
    for post in zero:
        assert by_id[post.id]["shares_count"] == 0
        assert "shares" not in by_id[post.id]["metadata"]  # the API omitted it


def test_reels_and_reel_insights_from_the_same_calls(
    year_run: tuple[RunOutput, list[dict[str, Any]]],
) -> None:
    out, requests = year_run
    reels = [r for r in sbx.reels_for(PAGE, TODAY) if _in_range(r.created_date, YEAR)]
    assert reels
    rows = out.records["reels"]
    assert sorted(r["id"] for r in rows) == sorted(r.id for r in reels)
    by_id = {r["id"]: r for r in rows}
    for reel in reels:
        row = by_id[reel.id]
        assert (row["description"], row["title"], row["length"]) == (
            reel.description,
            reel.title,
            reel.length,
        )
        assert row["page_id"] == PAGE
    created = [r["created_time"] for r in rows]
    assert created == sorted(created)
    expected: dict = {}
    for reel in reels:
        expected.update(_lifetime_rows(reel.id, REEL_METRICS, reel.created_date, TODAY))
    assert _values(out.records["reel_insights"], "video_id") == expected
    calls = [r for r in requests if r["path"] == f"/{PAGE}/video_reels"]
    assert len(calls) <= math.ceil(len(reels) / 100) + _windows(YEAR)
    assert all("video_insights.metric(" in c["params"]["fields"] for c in calls)
    assert not [r for r in requests if r["path"].endswith("/video_insights")]


def test_state_per_page_partition_and_per_window(
    year_run: tuple[RunOutput, list[dict[str, Any]]],
) -> None:
    out, _ = year_run
    state = out.last_state
    assert state is not None
    for stream, key in (
        ("posts", "created_time"),
        ("post_insights", "post_created_time"),
        ("reels", "created_time"),
        ("reel_insights", "video_created_time"),
    ):
        (partition,) = state["bookmarks"][stream]["partitions"]
        assert partition["context"] == {"page_id": PAGE}  # ids only, never a token
        assert partition["replication_key"] == key
        assert partition["replication_key_value"] == max(r[key] for r in out.records[stream])
        marks = {
            s["bookmarks"][stream]["partitions"][0].get("replication_key_value")
            for s in out.states
            if stream in s.get("bookmarks", {}) and s["bookmarks"][stream].get("partitions")
        }
        assert len(marks - {None}) >= _windows(YEAR)  # a STATE after every complete window
    assert "SBXPAGE" not in json.dumps(state)


def test_rerun_same_day_upserts_and_next_day_adds_a_date(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = {"page_ids": [PAGE], "start_date": "2026-09-01", "end_date": str(END)}
    streams = ("posts", "post_insights")
    first = _run(sandbox, streams, **config)
    first_values = _values(first.records["post_insights"], "post_id")

    # Same day, from the state: the lookback re-reads the last 28 days, same keys and values.
    second = _run(sandbox, streams, state=first.last_state, **config)
    second_values = _values(second.records["post_insights"], "post_id")
    lookback = END - dt.timedelta(days=28)
    recent = {p.id for p in sbx.posts_for(PAGE, TODAY) if lookback <= p.created_date <= END}
    assert recent
    assert {k[0] for k in second_values} == recent
    assert all(first_values[k] == v for k, v in second_values.items())
    assert {r["id"] for r in second.records["posts"]} == recent
    calls = _calls(sandbox, "posts")
    assert len(calls) <= math.ceil(len(recent) / 100) + 1

    # The next day: a new date, with larger lifetime values (posts keep growing).
    tomorrow = TODAY + dt.timedelta(days=1)
    monkeypatch.setattr("tap_facebook_pages.source.content.observation_day", lambda: tomorrow)
    sandbox.configure(today=tomorrow)
    next_config = {**config, "end_date": str(TODAY)}
    third = _run(sandbox, streams, state=second.last_state, **next_config)
    rows = third.records["post_insights"]
    assert {r["date"] for r in rows} == {str(tomorrow)}
    third_values = _values(rows, "post_id")
    window = {
        p.id: p
        for p in sbx.posts_for(PAGE, tomorrow)
        if TODAY - dt.timedelta(days=28) <= p.created_date <= TODAY
    }
    expected: dict = {}
    for post in window.values():
        expected.update(_lifetime_rows(post.id, POST_METRICS, post.created_date, tomorrow))
    assert third_values == expected
    grew = 0
    for (post_id, metric, _, key), value in third_values.items():
        before = second_values.get((post_id, metric, str(TODAY), key))
        if before is not None and value is not None:
            assert value >= before
            grew += value > before
    assert grew
    # The target's upsert keeps both days: no key of the new run collides with the old ones.
    assert not set(third_values) & set(first_values)


def test_retired_post_metric_is_isolated_and_remembered(
    sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    retired = "post_clicks"
    sandbox.configure(faults={"retired_metrics": [retired]})
    config = {"page_ids": [PAGE], "start_date": "2026-08-01", "end_date": str(END)}
    streams = ("posts", "post_insights")
    with caplog.at_level("WARNING"):
        out = _run(sandbox, streams, window_days=45, **config)
    warnings = [r.getMessage() for r in caplog.records if f"'{retired}'" in r.getMessage()]
    assert len(warnings) == 1  # once per page, not per window
    assert PAGE in warnings[0]
    calls = _calls(sandbox, "posts")
    failed = [c for c in calls if c["status"] != 200]
    probes = [c for c in calls if c["params"]["limit"] == "1"]
    assert len(failed) <= math.ceil(math.log2(len(POST_METRICS))) + 1
    assert len(probes) <= math.ceil(math.log2(len(POST_METRICS))) + 1
    posts = [p for p in sbx.posts_for(PAGE, TODAY) if _in_range(p.created_date, config)]
    live = [m for m in POST_METRICS if m != retired]
    expected: dict = {}
    for post in posts:
        expected.update(_lifetime_rows(post.id, live, post.created_date, TODAY))
    assert _values(out.records["post_insights"], "post_id") == expected
    assert sorted(r["id"] for r in out.records["posts"]) == sorted(p.id for p in posts)
    state = out.last_state
    assert state is not None
    (partition,) = state["bookmarks"]["post_insights"]["partitions"]
    assert partition["invalid_metrics"] == [retired]

    # The next run does not ask for it again: no failing call.
    again = _run(sandbox, streams, state=state, window_days=45, **config)
    calls = _calls(sandbox, "posts")
    assert calls
    assert all(c["status"] == 200 for c in calls)
    assert all(retired not in _expanded_metrics(c) for c in calls)
    assert again.records["post_insights"]


def test_only_posts_selected_requests_no_insights(sandbox: SandboxServer) -> None:
    config = {"page_ids": [PAGE], "start_date": "2026-10-01", "end_date": str(END)}
    out = _run(sandbox, ("posts",), **config)
    assert out.records["posts"]
    assert "post_insights" not in out.records
    calls = _calls(sandbox, "posts")
    assert calls
    assert all("insights" not in c["params"]["fields"] for c in calls)
    assert not _calls(sandbox, "video_reels")


def test_missing_user_content_permission_gives_null_counts(sandbox: SandboxServer) -> None:
    sandbox.configure(faults={"missing_permissions": ["pages_read_user_content"]})
    config = {"page_ids": [PAGE], "start_date": "2026-10-01", "end_date": str(END)}
    out = _run(sandbox, ("posts", "post_insights"), **config)
    rows = out.records["posts"]
    assert rows
    assert all(r["reactions_count"] is None and r["comments_count"] is None for r in rows)
    assert out.records["post_insights"]


def test_failing_page_is_recorded_and_other_pages_continue(sandbox: SandboxServer) -> None:
    sandbox.configure(faults={"failing_pages": [OTHER_PAGE]})
    config = {
        "page_ids": [PAGE, OTHER_PAGE],
        "start_date": "2026-10-01",
        "end_date": str(END),
        "max_retries": 2,
    }
    catalog = _catalog(sandbox.url, ("posts", "post_insights"), **config)
    tap = TapFacebookPages(config=sandbox_config(sandbox.url, **config), catalog=catalog)
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        tap.sync_all()
    with pytest.raises(UserError) as failed:
        tap.finish_run()
    out = parse_messages(buffer.getvalue())
    assert {r["page_id"] for r in out.records["posts"]} == {PAGE}
    assert {r["page_id"] for r in out.records["post_insights"]} == {PAGE}
    message = str(failed.value)
    assert f"page {OTHER_PAGE}" in message
    assert message.count(f"page {OTHER_PAGE}") == 1  # one failure for the pair, not two
    # The failing page was listed once (with retries), not once per stream.
    assert len(_calls(sandbox, "posts", OTHER_PAGE)) == 2


def test_paging_follows_next_and_keeps_every_post_once(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "tap_facebook_pages.source.content.PAGE_SIZE", 10
    )  # sandbox windows hold < 100
    config = {"page_ids": [PAGE], "start_date": "2026-05-01", "end_date": str(END)}
    out = _run(sandbox, ("posts", "post_insights"), **config)
    posts = [p for p in sbx.posts_for(PAGE, TODAY) if _in_range(p.created_date, config)]
    assert sorted(r["id"] for r in out.records["posts"]) == sorted(p.id for p in posts)
    assert {r["post_id"] for r in out.records["post_insights"]} == {p.id for p in posts}
    calls = _calls(sandbox, "posts")
    assert len(calls) <= math.ceil(len(posts) / 10) + _windows(config)
    assert len(calls) > _windows(config)  # paging.next was followed


class _PostsFirstTap(TapFacebookPages):
    """Syncs ``posts`` before ``post_insights`` (the SDK's name order is the reverse)."""

    def load_streams(self) -> list[Any]:
        return sorted(super().load_streams(), key=lambda s: s.name != "posts")


def test_either_stream_of_the_pair_may_sync_first(sandbox: SandboxServer) -> None:
    config = {"page_ids": [PAGE], "start_date": "2026-09-01", "end_date": str(END)}
    streams = ("posts", "post_insights")
    usual = _run(sandbox, streams, **config)
    usual_calls = len(_calls(sandbox, "posts"))
    catalog = _catalog(sandbox.url, streams, **config)
    sandbox.reset_log()
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        tap = _PostsFirstTap(config=sandbox_config(sandbox.url, **config), catalog=catalog)
        tap.sync_all()
        tap.finish_run()
    out = parse_messages(buffer.getvalue())
    assert next(m["stream"] for m in out.messages if m["type"] == "RECORD") == "posts"
    assert out.records["posts"] == usual.records["posts"]
    assert out.records["post_insights"] == usual.records["post_insights"]
    assert len(_calls(sandbox, "posts")) == usual_calls


def test_content_streams_are_opt_in(sandbox: SandboxServer) -> None:
    config = {"page_ids": [PAGE], "start_date": str(END), "end_date": str(END)}
    tap = TapFacebookPages(config=sandbox_config(sandbox.url, **config))
    for entry in tap.catalog_dict["streams"]:
        root = next(m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == [])
        opt_in = entry["tap_stream_id"] in CONTENT_STREAMS
        assert root["selected-by-default"] is not opt_in
    out = run_tap(sandbox_config(sandbox.url, **config))  # no catalog: page streams only
    assert not set(out.records) & set(CONTENT_STREAMS)
    assert not _calls(sandbox, "posts")


def test_breakdowns_apply_to_post_metrics_in_the_same_listing_calls(
    sandbox: SandboxServer,
) -> None:
    """``breakdowns: [is_from_ads]``: post_media_view gets is_from_ads=0/1 rows next to its plain
    row, with the sandbox's values, from an aliased field expansion of the same listing call."""
    config = {**YEAR, "start_date": "2026-09-01", "breakdowns": ["is_from_ads"]}
    out = _run(sandbox, ("posts", "post_insights"), **config)
    posts = [p for p in sbx.posts_for(PAGE, TODAY) if _in_range(p.created_date, config)]
    assert posts
    values = _values(out.records["post_insights"], "post_id")
    expected: dict = {}
    for post in posts:
        expected.update(_lifetime_rows(post.id, POST_METRICS, post.created_date, TODAY))
        split = sbx.post_breakdown_values(
            post.id, "post_media_view", "is_from_ads", post.created_date, TODAY
        )
        for flag in ("0", "1"):
            expected[(post.id, "post_media_view", str(TODAY), f"is_from_ads={flag}")] = split[flag]
    assert values == expected
    # No extra calls: the breakdown rides on the listing (one alias per breakdown).
    calls = _calls(sandbox, "posts")
    assert len(calls) <= math.ceil(len(posts) / 100) + _windows(config)
    assert all(
        ".breakdown(is_from_ads).as(insights_is_from_ads)" in c["params"]["fields"] for c in calls
    )
    assert all("insights_is_from_ads" not in r["metadata"] for r in out.records["posts"])


def test_metadata_survives_schema_flattening(sandbox: SandboxServer) -> None:
    """With ``flattening_enabled`` the free-form ``metadata`` object has no declared properties,
    so its keys are not in the flattened schema and a target drops them; ``metadata_json`` (a
    string column) carries the whole object through."""
    config = {**YEAR, "start_date": str(END - dt.timedelta(days=20))}
    out = _run(
        sandbox, ("posts", "reels"), **config, flattening_enabled=True, flattening_max_depth=3
    )
    expected = {p.id: p for p in sbx.posts_for(PAGE, TODAY) if _in_range(p.created_date, config)}
    for stream in ("posts", "reels"):
        schema = next(
            m["schema"] for m in out.messages if m["type"] == "SCHEMA" and m["stream"] == stream
        )
        assert "metadata" not in schema["properties"]  # what flattening does to it
        assert "string" in schema["properties"]["metadata_json"]["type"]
        rows = out.records[stream]
        assert rows
        for row in rows:
            metadata = json.loads(row["metadata_json"])
            assert metadata["id"] == row["id"]
            assert metadata["created_time"]
            assert not any(k.startswith(("insights", "video_insights")) for k in metadata)
    assert {r["id"] for r in out.records["posts"]} == set(expected)
    post = next(r for r in out.records["posts"] if expected[r["id"]].message)
    assert json.loads(post["metadata_json"])["message"] == expected[post["id"]].message


ALIAS_MAP = {"page_insights_*": {"__alias__": "page_insights"}}  # the Meltano default


def test_alias_map_with_only_content_selected(sandbox: SandboxServer) -> None:
    """The default alias map matches the deselected page_insights_<id> streams; a posts-only
    run (the posts job) must not fail on their empty selected schema, and writes no insights."""
    config = {**YEAR, "start_date": str(END - dt.timedelta(days=10)), "stream_maps": ALIAS_MAP}
    out = _run(sandbox, ("posts",), **config)
    assert set(out.records) == {"posts"}
    assert out.records["posts"]


def test_alias_map_writes_every_page_to_page_insights(sandbox: SandboxServer) -> None:
    config = {
        "page_ids": [PAGE, OTHER_PAGE],
        "start_date": str(END - dt.timedelta(days=2)),
        "end_date": str(END),
        "stream_maps": ALIAS_MAP,
    }
    streams = ("pages", f"page_insights_{PAGE}", f"page_insights_{OTHER_PAGE}")
    out = _run(sandbox, streams, **config)
    assert set(out.records) == {"pages", "page_insights"}
    assert {r["page_id"] for r in out.records["page_insights"]} == {PAGE, OTHER_PAGE}
    schemas = {m["stream"]: m for m in out.messages if m["type"] == "SCHEMA"}
    assert set(schemas) == {"pages", "page_insights"}
    assert schemas["page_insights"]["key_properties"][0] == "page_id"
    bookmarks = out.last_state["bookmarks"]  # type: ignore[index]
    assert {f"page_insights_{PAGE}", f"page_insights_{OTHER_PAGE}"} <= set(bookmarks)
