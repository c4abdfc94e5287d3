"""Tests of the offline Graph API sandbox (real HTTP against a started ``SandboxServer``)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tap_facebook_pages.sandbox import SandboxServer, appsecret_proof
from tap_facebook_pages.sandbox import graph as sbx_graph
from tap_facebook_pages.sandbox.data import (
    ACCOUNT_PAGE_IDS,
    ALL_PAGE_IDS,
    PAGES,
    breakdown_values,
    end_time_for,
    metric_value,
    pacific_midnight_timestamp,
    page_token,
    post_lifetime_value,
    posts_for,
    reels_for,
)
from tap_facebook_pages.sandbox.fields import parse_fields

TODAY = dt.date(2026, 11, 20)
USER = "sandboxusertoken"
P1, P2, P3, P4 = ALL_PAGE_IDS
PT1 = page_token(P1, USER)
PT2 = page_token(P2, USER)


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def call(
    server: SandboxServer, path: str, token: str | None = USER, **params: Any
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(f"{server.url}/v25.0{path}", params=params, headers=headers, timeout=10)


def batch(
    server: SandboxServer, items: list[dict[str, str]], token: str = USER, **form: str
) -> requests.Response:
    return requests.post(
        f"{server.url}/v25.0/",
        data={"batch": json.dumps(items), **form},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def error_of(response: requests.Response) -> dict[str, Any]:
    return response.json()["error"]


@pytest.fixture(scope="module")
def shared() -> Iterator[SandboxServer]:
    """A fault-free sandbox shared by read-only tests."""
    with SandboxServer(today=TODAY) as server:
        yield server


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    """A fresh sandbox per test, for faults, usage counters and the request log."""
    with SandboxServer(today=TODAY) as fresh:
        yield fresh


# --------------------------------------------------------------------------- pure data


@pytest.mark.parametrize(
    ("pacific_day", "expected"),
    [
        ("2026-03-07", "2026-03-08T08:00:00+0000"),
        ("2026-03-08", "2026-03-09T07:00:00+0000"),
        ("2026-03-09", "2026-03-10T07:00:00+0000"),
        ("2026-10-31", "2026-11-01T07:00:00+0000"),
        ("2026-11-01", "2026-11-02T08:00:00+0000"),
        ("2026-11-02", "2026-11-03T08:00:00+0000"),
    ],
)
def test_end_time_is_next_pacific_midnight_in_utc(pacific_day: str, expected: str) -> None:
    assert end_time_for(day(pacific_day)) == expected


def test_pages_are_labelled_fake_and_shaped() -> None:
    assert len(PAGES) == 4
    assert ACCOUNT_PAGE_IDS == (P1, P2, P3)
    assert all(page.name.startswith("[SANDBOX fake data]") for page in PAGES)
    assert all("ANALYZE" in page.tasks for page in PAGES if page.in_accounts)
    assert not PAGES[3].in_accounts
    assert PAGES[2].username is None
    assert PAGES[2].website is None


def test_metric_values_are_deterministic_and_plausible() -> None:
    some_day = day("2026-06-01")
    value = metric_value(P1, "page_media_view", "day", some_day, 0, TODAY)
    assert value == metric_value(P1, "page_media_view", "day", some_day, 0, TODAY)
    assert isinstance(value, int)
    assert 0 <= value <= 5000
    week = metric_value(P1, "page_media_view", "week", some_day, 0, TODAY)
    days = [
        metric_value(P1, "page_media_view", "day", some_day - dt.timedelta(days=i), 0, TODAY)
        for i in range(7)
    ]
    assert week == sum(d for d in days if isinstance(d, int))
    follows = []
    for offset in range(30):
        total = metric_value(P1, "page_follows", "day", some_day + dt.timedelta(offset), 0, TODAY)
        assert isinstance(total, int)
        follows.append(total)
    assert follows == sorted(follows)
    assert all(1000 <= total < 10000 for total in follows)
    reactions = metric_value(P1, "page_actions_post_reactions_total", "day", some_day, 0, TODAY)
    assert isinstance(reactions, dict)
    assert reactions
    assert set(reactions) <= {"like", "love", "wow", "haha", "sorry", "anger"}
    assert all(isinstance(v, int) and v > 0 for v in reactions.values())


def test_revision_changes_only_the_last_five_days() -> None:
    recent = TODAY - dt.timedelta(days=2)
    old = TODAY - dt.timedelta(days=6)
    for metric in ("page_media_view", "page_follows"):
        assert metric_value(P1, metric, "day", recent, 0, TODAY) != metric_value(
            P1, metric, "day", recent, 1, TODAY
        )
        assert metric_value(P1, metric, "day", old, 0, TODAY) == metric_value(
            P1, metric, "day", old, 3, TODAY
        )


def test_breakdown_values_split_the_total() -> None:
    some_day = day("2026-09-01")
    parts = breakdown_values(P1, "page_media_view", "day", some_day, "is_from_ads", 0, TODAY)
    assert set(parts) == {"0", "1"}
    assert sum(parts.values()) == metric_value(P1, "page_media_view", "day", some_day, 0, TODAY)


def test_posts_and_lifetime_growth() -> None:
    posts = posts_for(P1, TODAY)
    assert 250 <= len(posts) <= 420
    assert [p.created_timestamp for p in posts] == sorted(
        (p.created_timestamp for p in posts), reverse=True
    )
    assert all(p.id.startswith(f"{P1}_") for p in posts)
    assert any(p.shares == 0 for p in posts)
    assert any(p.shares > 0 for p in posts)
    post = posts[0]
    seen: list[int] = []
    for offset in range(40):
        later = TODAY + dt.timedelta(days=offset)
        value = post_lifetime_value(post.id, "post_media_view", post.created_date, later)
        assert isinstance(value, int)
        seen.append(value)
    assert seen == sorted(seen)
    assert seen[1] > seen[0]
    assert seen[30] == seen[39]
    # The same posts exist the next day; only counts move.
    assert {p.id for p in posts_for(P1, TODAY + dt.timedelta(days=1))} >= {p.id for p in posts[:50]}


def test_parse_fields_with_nested_modifiers() -> None:
    specs = parse_fields(
        "id,reactions.summary(total_count).limit(0),insights.metric(a,b).period(lifetime),"
        "from{name,id}"
    )
    assert [spec.name for spec in specs] == ["id", "reactions", "insights", "from"]
    assert specs[1].modifier("summary") == "total_count"
    assert specs[1].modifier("limit") == "0"
    assert specs[2].modifier("metric") == "a,b"
    assert specs[3].subfields is not None
    assert [sub.name for sub in specs[3].subfields] == ["name", "id"]


# --------------------------------------------------------------------------- page insights


@pytest.mark.parametrize(
    ("since", "until", "end_times"),
    [
        (
            "2026-03-06",
            "2026-03-10",
            [
                "2026-03-07T08:00:00+0000",
                "2026-03-08T08:00:00+0000",
                "2026-03-09T07:00:00+0000",
                "2026-03-10T07:00:00+0000",
            ],
        ),
        (
            "2026-10-30",
            "2026-11-03",
            [
                "2026-10-31T07:00:00+0000",
                "2026-11-01T07:00:00+0000",
                "2026-11-02T08:00:00+0000",
                "2026-11-03T08:00:00+0000",
            ],
        ),
    ],
)
def test_insights_across_dst(
    shared: SandboxServer, since: str, until: str, end_times: list[str]
) -> None:
    response = call(
        shared,
        f"/{P1}/insights",
        PT1,
        metric="page_post_engagements",
        period="day",
        since=since,
        until=until,
    )
    assert response.status_code == 200
    (entry,) = response.json()["data"]
    assert [v["end_time"] for v in entry["values"]] == end_times
    days = [day(since) + dt.timedelta(days=i) for i in range(4)]
    expected = [metric_value(P1, "page_post_engagements", "day", d, 0, TODAY) for d in days]
    assert [v["value"] for v in entry["values"]] == expected
    assert entry["id"] == f"{P1}/insights/page_post_engagements/day"
    assert entry["title"].startswith("Daily ")
    assert entry["description"].startswith("Daily: ")


def test_unix_since_until_and_time_paging(shared: SandboxServer) -> None:
    since, until = day("2026-10-30"), day("2026-11-03")
    by_date = call(
        shared,
        f"/{P1}/insights",
        PT1,
        metric="page_views_total",
        period="day",
        since=since.isoformat(),
        until=until.isoformat(),
    ).json()
    by_unix = call(
        shared,
        f"/{P1}/insights",
        PT1,
        metric="page_views_total",
        period="day",
        since=pacific_midnight_timestamp(since),
        until=pacific_midnight_timestamp(until),
    ).json()
    assert by_date["data"] == by_unix["data"]
    paging = by_date["paging"]
    previous = f"since={pacific_midnight_timestamp(day('2026-10-26'))}"
    previous += f"&until={pacific_midnight_timestamp(since)}"
    following = f"since={pacific_midnight_timestamp(until)}"
    following += f"&until={pacific_midnight_timestamp(day('2026-11-07'))}"
    assert previous in paging["previous"]
    assert following in paging["next"]
    for link in paging.values():
        assert link.startswith(f"{shared.url}/v25.0/{P1}/insights?")
        assert f"access_token={PT1}" in link
        assert "metric=page_views_total" in link
        assert "period=day" in link


def test_default_window_and_all_periods(shared: SandboxServer) -> None:
    body = call(shared, f"/{P2}/insights", PT2, metric="page_media_view").json()
    periods = [entry["period"] for entry in body["data"]]
    assert periods == ["day", "week", "days_28"]
    titles = [entry["title"].split(" ")[0] for entry in body["data"]]
    assert titles == ["Daily", "Weekly", "28"]
    assert body["data"][2]["description"].startswith("28 Days: ")
    last_two = [TODAY - dt.timedelta(days=2), TODAY - dt.timedelta(days=1)]
    for entry in body["data"]:
        assert [v["end_time"] for v in entry["values"]] == [end_time_for(d) for d in last_two]
        assert [v["value"] for v in entry["values"]] == [
            metric_value(P2, "page_media_view", entry["period"], d, 0, TODAY) for d in last_two
        ]


def test_single_metric_path_and_object_values(shared: SandboxServer) -> None:
    # graph-api.md §11.1: page_actions_post_reactions_total answers day, week and days_28.
    body = call(shared, f"/{P1}/insights/page_actions_post_reactions_total", PT1).json()
    # No period= asked: one entry per supported period (live v25: day, week and days_28).
    assert [entry["period"] for entry in body["data"]] == ["day", "week", "days_28"]
    for entry in body["data"]:
        assert entry["name"] == "page_actions_post_reactions_total"
        for value in entry["values"]:
            assert isinstance(value["value"], dict)
            assert all(isinstance(n, int) and n > 0 for n in value["value"].values())


def test_breakdown_flat_format(shared: SandboxServer) -> None:
    since, until = "2026-09-01", "2026-09-04"
    body = call(
        shared,
        f"/{P1}/insights",
        PT1,
        metric="page_media_view,page_post_engagements",
        period="day",
        since=since,
        until=until,
        breakdown="is_from_ads",
    ).json()
    media, engagements = body["data"]
    assert len(media["values"]) == 6
    for index, pacific_day in enumerate(day(since) + dt.timedelta(days=i) for i in range(3)):
        pair = media["values"][2 * index : 2 * index + 2]
        assert [v["is_from_ads"] for v in pair] == ["0", "1"]
        assert {v["end_time"] for v in pair} == {end_time_for(pacific_day)}
        parts = breakdown_values(P1, "page_media_view", "day", pacific_day, "is_from_ads", 0, TODAY)
        assert [v["value"] for v in pair] == [parts["0"], parts["1"]]
    assert len(engagements["values"]) == 3
    assert all("is_from_ads" not in v for v in engagements["values"])
    assert "breakdown=is_from_ads" in body["paging"]["next"]


def test_93_day_limit(shared: SandboxServer) -> None:
    too_long = call(
        shared,
        f"/{P1}/insights",
        PT1,
        metric="page_media_view",
        period="day",
        since="2026-05-01",
        until="2026-08-03",
    )
    assert too_long.status_code == 400
    assert error_of(too_long)["code"] == 100
    assert error_of(too_long)["message"] == (
        "(#100) There cannot be more than 93 days (8035200 s) between since and until"
    )
    ninety = call(
        shared,
        f"/{P1}/insights",
        PT1,
        metric="page_media_view",
        period="day",
        since="2026-05-01",
        until="2026-07-30",
    )
    assert ninety.status_code == 200
    assert len(ninety.json()["data"][0]["values"]) == 90


def test_days_outside_retention_have_no_values(shared: SandboxServer) -> None:
    body = call(
        shared,
        f"/{P1}/insights",
        PT1,
        metric="page_media_view",
        period="day",
        since="2024-10-01",
        until="2024-10-10",
    ).json()
    assert body["data"][0]["values"] == []
    future = call(
        shared,
        f"/{P1}/insights",
        PT1,
        metric="page_media_view",
        period="day",
        since=(TODAY - dt.timedelta(days=1)).isoformat(),
        until=(TODAY + dt.timedelta(days=3)).isoformat(),
    ).json()
    assert len(future["data"][0]["values"]) == 1


@pytest.mark.parametrize("metric", ["page_impressions", "page_fans", "not_a_metric"])
def test_invalid_metric_fails_whole_call(shared: SandboxServer, metric: str) -> None:
    response = call(shared, f"/{P1}/insights", PT1, metric=f"page_media_view,{metric}")
    assert response.status_code == 400
    assert error_of(response)["code"] == 100
    assert error_of(response)["message"] == "(#100) The value must be a valid insights metric"
    assert "invalid_request" in response.headers["WWW-Authenticate"]


def test_missing_metric(shared: SandboxServer) -> None:
    response = call(shared, f"/{P1}/insights", PT1, period="day")
    assert response.status_code == 400
    assert (error_of(response)["code"], error_of(response)["error_subcode"]) == (3001, 1504028)


def test_insights_need_the_page_token(shared: SandboxServer) -> None:
    response = call(shared, f"/{P1}/insights", USER, metric="page_media_view")
    assert response.status_code == 400
    assert error_of(response)["code"] == 190
    assert error_of(response)["message"] == (
        "(#190) This method must be called with a Page Access Token"
    )
    other_page = call(shared, f"/{P1}/insights", PT2, metric="page_media_view")
    assert other_page.status_code == 400
    assert error_of(other_page)["error_subcode"] == 33


def test_revision_is_visible_through_http() -> None:
    with SandboxServer(today=TODAY) as first, SandboxServer(today=TODAY, revision=1) as second:
        params = {"metric": "page_media_view", "period": "day", "since": "2026-11-10"}
        before = call(first, f"/{P1}/insights", PT1, **params).json()["data"][0]["values"]
        after = call(second, f"/{P1}/insights", PT1, **params).json()["data"][0]["values"]
    assert len(before) == len(after) == 10
    assert before[:5] == after[:5]
    assert all(a["value"] != b["value"] for a, b in zip(before[5:], after[5:], strict=True))


def test_cached_insights_answers_follow_revision_and_permissions() -> None:
    """Rendered insights answers are cached, but never across a change that alters them."""
    params = {"metric": "page_media_view", "period": "day", "since": "2026-11-10"}
    with SandboxServer(today=TODAY) as server:
        first = call(server, f"/{P1}/insights", PT1, **params).content
        assert call(server, f"/{P1}/insights", PT1, **params).content == first
        server.configure(revision=1)
        revised = call(server, f"/{P1}/insights", PT1, **params).content
        assert revised != first
        server.configure(faults={"missing_permissions": ["read_insights"]})
        assert call(server, f"/{P1}/insights", PT1, **params).json() == {"data": []}
        server.configure(faults={}, revision=0)
        assert call(server, f"/{P1}/insights", PT1, **params).content == first


# --------------------------------------------------------------------------- accounts and nodes


def test_me_accounts_paging(shared: SandboxServer) -> None:
    first = call(shared, "/me/accounts", fields="id,name,access_token,tasks", limit=2).json()
    assert [page["id"] for page in first["data"]] == [P1, P2]
    assert first["data"][0]["access_token"] == PT1
    assert "ANALYZE" in first["data"][0]["tasks"]
    next_url = first["paging"]["next"]
    assert next_url.startswith(shared.url)
    assert f"access_token={USER}" in next_url
    assert set(first["paging"]["cursors"]) == {"before", "after"}
    second = requests.get(next_url, timeout=10).json()
    assert [page["id"] for page in second["data"]] == [P3]
    assert "next" not in second["paging"]
    everything = call(shared, "/me/accounts").json()
    assert [page["id"] for page in everything["data"]] == list(ACCOUNT_PAGE_IDS)
    assert P4 not in json.dumps(everything)
    assert set(everything["data"][0]) == {
        "access_token",
        "category",
        "category_list",
        "name",
        "id",
        "tasks",
    }


def test_me_accounts_errors(shared: SandboxServer) -> None:
    too_many = call(shared, "/me/accounts", limit=101)
    assert too_many.status_code == 400
    assert error_of(too_many)["code"] == 100
    with_page_token = call(shared, "/me/accounts", PT1)
    assert error_of(with_page_token)["message"] == (
        "(#100) Tried accessing nonexisting field (accounts) on node type (Page)"
    )


def test_page_nodes(shared: SandboxServer) -> None:
    business = call(shared, f"/{P4}", fields="id,name,access_token,fan_count").json()
    assert business["access_token"] == page_token(P4, USER)
    assert business["name"].startswith("[SANDBOX fake data]")
    assert business["fan_count"] == PAGES[3].fan_count
    third = call(shared, f"/{P3}", fields="id,name,username,website,about").json()
    assert "username" not in third
    assert "website" not in third
    assert third["about"]
    own = call(shared, f"/{P1}", PT1, fields="id,access_token").json()
    assert own == {"id": P1, "access_token": PT1}
    unknown_field = call(shared, f"/{P1}", fields="id,bogus")
    assert error_of(unknown_field)["message"] == (
        "(#100) Tried accessing nonexisting field (bogus) on node type (Page)"
    )
    unknown_id = call(shared, "/123456789")
    assert unknown_id.status_code == 400
    error = error_of(unknown_id)
    assert (error["code"], error["error_subcode"], error["type"]) == (
        100,
        33,
        "GraphMethodException",
    )
    assert error["message"].startswith("Unsupported get request.")


def test_page_insights_field_expansion(shared: SandboxServer) -> None:
    body = call(
        shared,
        f"/{P1}",
        PT1,
        fields="id,insights.metric(page_post_engagements).period(day)"
        ".since(2026-09-01).until(2026-09-03)",
    ).json()
    values = body["insights"]["data"][0]["values"]
    assert [v["end_time"] for v in values] == [
        end_time_for(day("2026-09-01")),
        end_time_for(day("2026-09-02")),
    ]
    assert f"access_token={PT1}" in body["insights"]["paging"]["next"]


def test_me_permissions_and_debug_token(shared: SandboxServer) -> None:
    assert call(shared, "/me").json() == {"id": "100000000000900", "name": "[SANDBOX] Test User"}
    assert call(shared, "/me", PT1, fields="id,name").json()["id"] == P1
    permissions = call(shared, "/me/permissions").json()["data"]
    assert {p["permission"] for p in permissions} >= {"pages_show_list", "read_insights"}
    assert {p["status"] for p in permissions} == {"granted"}
    user = call(shared, "/debug_token", input_token=USER).json()["data"]
    assert (user["type"], user["is_valid"], user["expires_at"]) == ("USER", True, 0)
    assert "read_insights" in user["scopes"]
    assert any(s.get("target_ids") for s in user["granular_scopes"])
    page = call(shared, "/debug_token", input_token=PT2).json()["data"]
    assert (page["type"], page["profile_id"]) == ("PAGE", P2)


def test_debug_token_lifetime_faults(server: SandboxServer) -> None:
    """Token lifetimes follow the wall clock; faults set them, or make /debug_token fail."""
    now = time.time()
    data = call(server, "/debug_token", input_token=USER).json()["data"]
    assert data["expires_at"] == 0
    assert abs(data["data_access_expires_at"] - (now + 90 * 86400)) < 60
    server.configure(faults={"token_expires_in_days": 5, "data_access_expires_in_days": 30})
    data = call(server, "/debug_token", input_token=USER).json()["data"]
    assert abs(data["expires_at"] - (now + 5 * 86400)) < 60
    assert abs(data["data_access_expires_at"] - (now + 30 * 86400)) < 60
    app_token = f"{sbx_graph.APP_ID}|some-app-secret"
    assert call(server, "/debug_token", app_token, input_token=USER).status_code == 200
    wrong_app = call(server, "/debug_token", "1|some-app-secret", input_token=USER)
    assert (wrong_app.status_code, error_of(wrong_app)["code"]) == (400, 190)
    server.configure(faults={"debug_token_error": "app_token"})
    failed = call(server, "/debug_token", input_token=USER)
    assert (failed.status_code, error_of(failed)["code"]) == (400, 190)
    server.configure(faults={"debug_token_error": "unsupported"})
    failed = call(server, "/debug_token", input_token=USER)
    assert (failed.status_code, error_of(failed)["code"]) == (400, 100)
    assert call(server, "/me").status_code == 200
    with pytest.raises(ValueError, match="token_expires_in_days"):
        server.configure(faults={"token_expires_in_days": -1})


def test_no_token(shared: SandboxServer) -> None:
    response = call(shared, "/me", token=None)
    assert response.status_code == 400
    assert error_of(response)["code"] == 2500
    query_token = requests.get(f"{shared.url}/me", params={"access_token": USER}, timeout=10)
    assert query_token.status_code == 200


# --------------------------------------------------------------------------- headers and usage


def test_headers_and_rising_usage(server: SandboxServer) -> None:
    counts = []
    for _ in range(3):
        response = call(server, f"/{P1}/insights", PT1, metric="page_media_view")
        assert response.headers["facebook-api-version"] == "v25.0"
        assert response.headers["x-fb-trace-id"]
        assert response.headers["Content-Type"] == "application/json; charset=UTF-8"
        usage = json.loads(response.headers["X-Business-Use-Case-Usage"])
        (entry,) = usage[P1]
        assert entry["type"] == "pages"
        assert entry["estimated_time_to_regain_access"] == 0
        counts.append(entry["call_count"])
    assert counts == [1, 2, 3]
    app = call(server, "/me/accounts")
    assert json.loads(app.headers["X-App-Usage"])["call_count"] == 1
    assert "X-Business-Use-Case-Usage" not in app.headers
    failed = call(server, f"/{P1}/insights", PT1)
    assert failed.headers["WWW-Authenticate"].startswith('OAuth "Facebook Platform" ')
    assert error_of(failed)["fbtrace_id"] == failed.headers["x-fb-trace-id"]


def test_usage_step_is_configurable(server: SandboxServer) -> None:
    server.configure(faults={"usage_step": 10})
    counts = [
        json.loads(call(server, f"/{P2}", PT2).headers["X-Business-Use-Case-Usage"])[P2][0][
            "call_count"
        ]
        for _ in range(12)
    ]
    assert counts[:3] == [10, 20, 30]
    assert counts[-1] == 99  # capped below 100 unless actually throttled


# --------------------------------------------------------------------------- faults


def test_page_throttle_then_clears(server: SandboxServer) -> None:
    server.configure(
        faults={"throttle": {P1: {"after_calls": 2, "throttled_calls": 2, "regain_minutes": 7}}}
    )
    statuses, regains, counts = [], [], []
    for _ in range(5):
        response = call(server, f"/{P1}/insights", PT1, metric="page_media_view")
        statuses.append(response.status_code)
        usage = json.loads(response.headers["X-Business-Use-Case-Usage"])[P1][0]
        regains.append(usage["estimated_time_to_regain_access"])
        counts.append(usage["call_count"])
        if response.status_code == 400:
            assert error_of(response)["code"] == 80001
    assert statuses == [200, 200, 400, 400, 200]
    assert regains == [0, 0, 7, 7, 0]
    assert counts[2] >= 100
    assert counts[3] >= 100
    assert call(server, f"/{P2}/insights", PT2, metric="page_media_view").status_code == 200


def test_app_throttle(server: SandboxServer) -> None:
    server.configure(faults={"app_throttle": {"after_calls": 1, "throttled_calls": 1, "code": 17}})
    assert call(server, "/me").status_code == 200
    throttled = call(server, "/me")
    assert error_of(throttled)["code"] == 17
    assert json.loads(throttled.headers["X-App-Usage"])["call_count"] >= 100
    assert call(server, "/me").status_code == 200


def _statuses(server: SandboxServer, count: int) -> list[tuple[int, str]]:
    outcomes = []
    for _ in range(count):
        response = call(server, f"/{P1}/insights", PT1, metric="page_media_view")
        try:
            body = response.json()
        except ValueError:
            body = {"error": {"code": "not json"}}
        code = body.get("error", {}).get("code", "ok") if isinstance(body, dict) else "?"
        outcomes.append((response.status_code, str(code)))
    return outcomes


def test_transient_errors_are_deterministic() -> None:
    faults = {"transient_error_rate": 0.4, "seed": 7}
    with (
        SandboxServer(today=TODAY, faults=faults) as one,
        SandboxServer(today=TODAY, faults=faults) as two,
    ):
        first, second = _statuses(one, 40), _statuses(two, 40)
    assert first == second
    failures = [outcome for outcome in first if outcome != (200, "ok")]
    assert 5 <= len(failures) <= 30
    assert set(failures) <= {(500, "1"), (500, "2"), (502, "not json"), (200, "not json")}


def test_every_transient_kind(server: SandboxServer) -> None:
    server.configure(faults={"transient_error_rate": 1.0, "seed": 1})
    seen: dict[str, requests.Response] = {}
    for _ in range(40):
        response = call(server, f"/{P1}/insights", PT1, metric="page_media_view")
        fault = server.requests[-1]["fault"]
        seen.setdefault(fault, response)
    assert set(seen) == {"unknown_error", "service_error", "bad_gateway", "truncated"}
    unknown = error_of(seen["unknown_error"])
    assert seen["unknown_error"].status_code == 500
    assert (unknown["code"], unknown["error_subcode"]) == (1, 99)
    service = error_of(seen["service_error"])
    assert seen["service_error"].status_code == 500
    assert (service["code"], service["is_transient"]) == (2, True)
    assert seen["bad_gateway"].status_code == 502
    assert "<html>" in seen["bad_gateway"].text
    assert seen["truncated"].status_code == 200
    with pytest.raises(ValueError, match=r"(?i)expecting|unterminated|delimiter"):
        seen["truncated"].json()


def test_revoked_page(server: SandboxServer) -> None:
    server.configure(faults={"revoked_pages": [P2]})
    for token in (PT2, USER):
        response = call(server, f"/{P2}", token, fields="id,name")
        assert response.status_code == 403
        assert error_of(response)["code"] == 200
        assert error_of(response)["message"] == "(#200) Permissions error"
    assert call(server, f"/{P2}/insights", PT2, metric="page_media_view").status_code == 403
    accounts = {page["id"]: page for page in call(server, "/me/accounts").json()["data"]}
    assert P2 in accounts
    assert "ANALYZE" not in accounts[P2]["tasks"]
    assert "ANALYZE" in accounts[P1]["tasks"]


def test_failing_page(server: SandboxServer) -> None:
    server.configure(faults={"failing_pages": [P3]})
    for _ in range(3):
        response = call(server, f"/{P3}", fields="id")
        assert response.status_code == 500
        assert error_of(response)["is_transient"] is True
    assert call(server, f"/{P1}", fields="id").status_code == 200


def test_expired_token(server: SandboxServer) -> None:
    server.configure(faults={"expired_token": True})
    response = call(server, "/me/accounts")
    assert response.status_code == 400
    error = error_of(response)
    assert (error["code"], error["error_subcode"]) == (190, 463)
    assert error["message"].startswith("Error validating access token: Session has expired on ")
    assert '"invalid_token"' in response.headers["WWW-Authenticate"]


def test_missing_read_insights(server: SandboxServer) -> None:
    server.configure(faults={"missing_permissions": ["read_insights"]})
    response = call(server, f"/{P1}/insights", PT1, metric="page_media_view")
    assert response.status_code == 200
    assert response.json() == {"data": []}
    statuses = {
        p["permission"]: p["status"] for p in call(server, "/me/permissions").json()["data"]
    }
    assert statuses["read_insights"] == "declined"
    assert statuses["pages_show_list"] == "granted"


def test_retired_metric_at_runtime(server: SandboxServer) -> None:
    assert call(server, f"/{P1}/insights", PT1, metric="page_video_views").status_code == 200
    server.configure(faults={"retired_metrics": ["page_video_views"]})
    response = call(server, f"/{P1}/insights", PT1, metric="page_media_view,page_video_views")
    assert error_of(response)["message"] == "(#100) The value must be a valid insights metric"


def test_latency() -> None:
    with SandboxServer(today=TODAY, latency_ms=120) as slow:
        started = time.perf_counter()
        assert call(slow, "/me").status_code == 200
        assert time.perf_counter() - started >= 0.12


def test_invalid_fault_keys_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown fault keys"):
        SandboxServer(faults={"throtle": {}})


def test_control_endpoints(server: SandboxServer) -> None:
    response = requests.post(
        f"{server.url}/__sandbox__/config",
        json={"faults": {"expired_token": True}, "revision": 2},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.json()["settings"]["revision"] == 2
    assert error_of(call(server, "/me"))["code"] == 190
    log = requests.get(f"{server.url}/__sandbox__/log", timeout=10).json()
    assert log["http_round_trips"] == 1
    assert [entry["path"] for entry in log["requests"]] == ["/me"]
    bad = requests.post(f"{server.url}/__sandbox__/config", json={"faults": 3}, timeout=10)
    assert bad.status_code == 400


# --------------------------------------------------------------------------- appsecret_proof


def test_appsecret_proof() -> None:
    with SandboxServer(today=TODAY, app_secret="s3cret") as secured:
        missing = call(secured, "/me")
        assert error_of(missing)["code"] == 100
        assert "appsecret_proof" in error_of(missing)["message"]
        wrong = call(secured, "/me", appsecret_proof="00" * 32)
        assert error_of(wrong) | {"fbtrace_id": ""} == {
            "message": "Invalid appsecret_proof provided in the API argument",
            "type": "GraphMethodException",
            "code": 100,
            "fbtrace_id": "",
        }
        good = call(secured, "/me", appsecret_proof=appsecret_proof("s3cret", USER))
        assert good.status_code == 200
        proof_for_page = appsecret_proof("s3cret", PT1)
        items = [
            {
                "method": "GET",
                "relative_url": f"{P1}?fields=id&access_token={PT1}"
                f"&appsecret_proof={proof_for_page}",
            },
            {"method": "GET", "relative_url": f"{P1}?fields=id&access_token={PT1}"},
        ]
        answer = batch(secured, items, appsecret_proof=appsecret_proof("s3cret", USER)).json()
        assert [item["code"] for item in answer] == [200, 400]


# --------------------------------------------------------------------------- batch


def test_batch_items_and_log(server: SandboxServer) -> None:
    items = [
        {"method": "GET", "relative_url": f"{P1}/insights?metric=page_media_view&period=day"},
        {"method": "GET", "relative_url": f"{P1}/insights?metric=page_impressions"},
        {"method": "GET", "relative_url": f"v25.0/{P2}?fields=id,name&access_token={PT2}"},
        {"method": "GET", "relative_url": "me/accounts?limit=1"},
    ]
    response = batch(server, items, token=PT1)
    assert response.status_code == 200
    answers = response.json()
    assert [answer["code"] for answer in answers] == [200, 400, 200, 400]
    first = json.loads(answers[0]["body"])
    assert first["data"][0]["name"] == "page_media_view"
    headers = {h["name"]: h["value"] for h in answers[0]["headers"]}
    assert json.loads(headers["X-Business-Use-Case-Usage"])[P1][0]["call_count"] == 1
    headers = {h["name"]: h["value"] for h in answers[1]["headers"]}
    assert json.loads(headers["X-Business-Use-Case-Usage"])[P1][0]["call_count"] == 2
    assert "WWW-Authenticate" in headers
    assert json.loads(answers[1]["body"])["error"]["code"] == 100
    assert json.loads(answers[2]["body"])["id"] == P2
    assert server.http_round_trips == 1
    log = server.requests
    assert log[0]["batch_envelope"] is True
    assert log[0]["path"] == "/"
    assert [entry["batch"] for entry in log[1:]] == [True] * 4
    assert [entry["token"] for entry in log[1:]] == [PT1, PT1, PT2, PT1]
    assert log[1]["params"] == {"metric": "page_media_view", "period": "day"}
    assert [entry["status"] for entry in log[1:]] == [200, 400, 200, 400]
    assert log[3]["page_id"] == P2
    no_headers = batch(server, items[:1], token=PT1, include_headers="false").json()
    assert set(no_headers[0]) == {"code", "body"}


def test_batch_too_large(server: SandboxServer) -> None:
    items = [{"method": "GET", "relative_url": "me"}] * 51
    response = batch(server, items)
    assert response.status_code == 400
    error = error_of(response)
    assert error["type"] == "GraphBatchException"
    assert error["message"] == "Too many requests in batch message. Maximum batch size is 50"
    assert len(batch(server, items[:50]).json()) == 50


def test_null_batch_items_then_retry(server: SandboxServer) -> None:
    server.configure(faults={"null_batch_item_rate": 1.0})
    items = [
        {"method": "GET", "relative_url": f"{P1}/insights?metric=page_media_view"},
        {"method": "GET", "relative_url": f"{P1}/insights?metric=page_views_total"},
    ]
    assert batch(server, items, token=PT1).json() == [None, None]
    retried = batch(server, items, token=PT1).json()
    assert [answer["code"] for answer in retried] == [200, 200]
    server.configure(faults={"null_batch_item_rate": 0.5, "seed": 3})
    many = [{"method": "GET", "relative_url": f"{P1}?fields=id&n={n}"} for n in range(40)]
    first = batch(server, many, token=PT1).json()
    assert 5 < sum(answer is None for answer in first) < 35
    assert all(answer is not None for answer in batch(server, many, token=PT1).json())


# --------------------------------------------------------------------------- posts and reels

POST_FIELDS = (
    "id,message,created_time,updated_time,permalink_url,status_type,is_published,shares,"
    "reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0),"
    "insights.metric(post_media_view,post_total_media_view_unique,post_clicks).period(lifetime)"
)


def test_posts_paging_and_expansions(shared: SandboxServer) -> None:
    expected = posts_for(P1, TODAY)
    seen: list[dict[str, Any]] = []
    body = call(shared, f"/{P1}/posts", PT1, fields=POST_FIELDS, limit=100).json()
    pages = 1
    while True:
        seen += body["data"]
        if "next" not in body["paging"]:
            break
        assert f"access_token={PT1}" in body["paging"]["next"]
        body = requests.get(body["paging"]["next"], timeout=10).json()
        pages += 1
    assert pages == -(-len(expected) // 100)
    assert [post["id"] for post in seen] == [post.id for post in expected]
    for record, post in zip(seen[:30], expected[:30], strict=True):
        assert record["created_time"] == post.created_time
        assert ("shares" in record) == (post.shares > 0)
        assert record["reactions"] == {
            "data": [],
            "summary": {"total_count": post.reactions, "viewer_reaction": "NONE"},
        }
        assert record["comments"]["summary"] == {
            "order": "ranked",
            "total_count": post.comments,
            "can_comment": True,
        }
        rows = record["insights"]["data"]
        assert [(row["name"], row["period"]) for row in rows] == [
            ("post_media_view", "lifetime"),
            ("post_total_media_view_unique", "lifetime"),
            ("post_total_media_view_unique", "day"),
            ("post_clicks", "lifetime"),
        ]
        assert rows[0]["values"] == [
            {"value": post_lifetime_value(post.id, "post_media_view", post.created_date, TODAY)}
        ]
        assert rows[2]["values"][0]["value"] == 0
        assert "end_time" in rows[2]["values"][0]


def test_posts_default_limit_since_until(shared: SandboxServer) -> None:
    body = call(shared, f"/{P2}/posts", PT2).json()
    assert len(body["data"]) == 25
    assert set(body["data"][0]) == {"created_time", "message", "id"}
    assert "limit=25" in body["paging"]["next"]
    window = call(
        shared,
        f"/{P2}/posts",
        PT2,
        fields="id,created_time",
        since="2026-10-01",
        until="2026-10-15",
    ).json()["data"]
    start, end = (
        pacific_midnight_timestamp(day("2026-10-01")),
        pacific_midnight_timestamp(day("2026-10-15")),
    )
    assert [p["id"] for p in window] == [
        p.id for p in posts_for(P2, TODAY) if start <= p.created_timestamp < end
    ]
    assert call(shared, f"/{P2}/posts", PT2, limit=101).status_code == 400


def test_posts_errors(shared: SandboxServer) -> None:
    bad_metric = call(
        shared, f"/{P1}/posts", PT1, fields="id,insights.metric(post_media_view,post_impressions)"
    )
    assert bad_metric.status_code == 400
    assert error_of(bad_metric)["message"] == "(#100) The value must be a valid insights metric"
    assert error_of(call(shared, f"/{P1}/posts", USER))["code"] == 190


def test_post_insights_endpoint(shared: SandboxServer) -> None:
    post = posts_for(P1, TODAY)[3]
    body = call(
        shared,
        f"/{post.id}/insights",
        PT1,
        metric="post_media_view,post_reactions_by_type_total",
        period="lifetime",
        breakdown="is_from_ads",
    ).json()
    media, reactions = body["data"]
    assert [v["is_from_ads"] for v in media["values"]] == ["0", "1"]
    total = post_lifetime_value(post.id, "post_media_view", post.created_date, TODAY)
    assert sum(v["value"] for v in media["values"]) == total
    assert all("end_time" not in v for v in media["values"])
    assert reactions["values"][0]["value"] == post_lifetime_value(
        post.id, "post_reactions_by_type_total", post.created_date, TODAY
    )
    assert f"access_token={PT1}" in body["paging"]["next"]
    node = call(shared, f"/{post.id}", PT1, fields="id,shares,reactions.summary(true).limit(0)")
    assert node.json()["reactions"]["summary"]["total_count"] == post.reactions


def test_reels(shared: SandboxServer) -> None:
    reels = reels_for(P1, TODAY)
    body = call(
        shared,
        f"/{P1}/video_reels",
        PT1,
        limit=5,
        fields="id,description,title,created_time,length,"
        "video_insights.metric(blue_reels_play_count,post_video_social_actions)",
    ).json()
    assert [reel["id"] for reel in body["data"]] == [reel.id for reel in reels[:5]]
    first = body["data"][0]
    rows = first["video_insights"]["data"]
    assert rows[0]["id"] == f"{reels[0].id}/video_insights/blue_reels_play_count/lifetime"
    assert rows[0]["values"] == [
        {
            "value": post_lifetime_value(
                reels[0].id, "blue_reels_play_count", reels[0].created_date, TODAY
            )
        }
    ]
    assert isinstance(rows[1]["values"][0]["value"], dict)
    direct = call(shared, f"/{reels[0].id}/video_insights", PT1, metric="post_video_view_time")
    assert direct.json()["data"][0]["name"] == "post_video_view_time"


# --------------------------------------------------------------------------- CLI


def test_cli_serves_until_terminated() -> None:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tap_facebook_pages.sandbox",
            "--port",
            "0",
            "--today",
            TODAY.isoformat(),
            "--faults",
            '{"usage_step": 2}',
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("sandbox listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1]
        response = requests.get(
            f"{url}/v25.0/me/accounts", params={"access_token": USER}, timeout=10
        )
        assert response.status_code == 200
        assert json.loads(response.headers["X-App-Usage"])["call_count"] == 2
    finally:
        process.terminate()
        exit_code = process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
    assert exit_code == 0
