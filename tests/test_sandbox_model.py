"""The sandbox's own API model and its hostile-answer faults, through real HTTP.

Expectations here are written from the shared graph-api.md (section numbers in comments), not
from the sandbox's model file, so a wrong entry in the model fails a test.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tap_facebook_pages.sandbox import SandboxServer
from tap_facebook_pages.sandbox.api_model import load_model
from tap_facebook_pages.sandbox.data import ALL_PAGE_IDS, page_token, posts_for, reels_for
from tests.live_probe import PROBE_ANSWERED, PROBE_INVALID, PROBE_MONETIZATION

TODAY = dt.date(2026, 11, 20)
USER = "sandboxusertoken"
P1, P2, P3, P4 = ALL_PAGE_IDS
PT1 = page_token(P1, USER)
PT2 = page_token(P2, USER)

INVALID_METRIC = "(#100) The value must be a valid insights metric"
MONETIZATION_BODY = {
    "error": {
        "message": "(#200) Monetization metrics are only visible for Page admins with access to "
        "monetization insights.",
        "code": 200,
    }
}
PAGE_PERMISSION_MESSAGE = (
    "(#100) Object does not exist, cannot be loaded due to missing permission or reviewable "
    "feature, or does not support this operation. This endpoint requires the "
    "'pages_read_engagement' permission or the 'Page Public Content Access' feature or the "
    "'Page Public Metadata Access' feature. Refer to "
    "https://developers.facebook.com/docs/apps/review/login-permissions#manage-pages and "
    "https://developers.facebook.com/docs/apps/review/feature#reference-PAGES_ACCESS for details."
)

# §11.1, verbatim.
ANSWERED_PAGE = list(PROBE_ANSWERED)
INVALID_PAGE = list(PROBE_INVALID)
MONETIZATION = PROBE_MONETIZATION
# §2.3 "Metric names in real use", minus post_impressions_unique (reach, removed).
REEL_METRICS = [
    "blue_reels_play_count",
    "fb_reels_total_plays",
    "fb_reels_replay_count",
    "post_video_avg_time_watched",
    "post_video_view_time",
    "post_video_social_actions",
    "post_video_likes_by_reaction_type",
    "post_video_followers",
    "post_video_retention_graph",
]
# The tap's default metrics (live per the shared notes).
TAP_DEFAULTS = {
    "PAGE": [
        "page_actions_post_reactions_total",
        "page_daily_follows_unique",
        "page_daily_unfollows_unique",
        "page_follows",
        "page_media_view",
        "page_post_engagements",
        "page_total_actions",
        "page_total_media_view_unique",
        "page_video_views",
        "page_views_total",
    ],
    "POST": [
        "post_clicks",
        "post_clicks_by_type",
        "post_media_view",
        "post_reactions_by_type_total",
        "post_total_media_view_unique",
    ],
    "REEL": [
        "blue_reels_play_count",
        "post_video_avg_time_watched",
        "post_video_likes_by_reaction_type",
        "post_video_social_actions",
        "post_video_view_time",
    ],
}
WINDOW = {"since": "2026-09-01", "until": "2026-09-04"}  # three Pacific days
DAYS = ["2026-09-02T07:00:00+0000", "2026-09-03T07:00:00+0000", "2026-09-04T07:00:00+0000"]


def call(
    server: SandboxServer, path: str, token: str | None = USER, **params: Any
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(
        f"{server.url}/v25.0{path}",
        params=params,
        headers=headers,
        timeout=10,
        allow_redirects=False,
    )


def batch(server: SandboxServer, items: list[dict[str, str]], token: str = USER) -> Any:
    response = requests.post(
        f"{server.url}/v25.0/",
        data={"batch": json.dumps(items)},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
        allow_redirects=False,
    )
    assert response.status_code == 200
    return response.json()


def without_trace(body: dict[str, Any]) -> dict[str, Any]:
    error = dict(body["error"])
    error.pop("fbtrace_id", None)
    return {"error": error}


@pytest.fixture(scope="module")
def shared() -> Iterator[SandboxServer]:
    with SandboxServer(today=TODAY) as server:
        yield server


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer(today=TODAY) as fresh:
        yield fresh


def page_insights(server: SandboxServer, metric: str, token: str = PT1, page: str = P1, **extra):
    return call(server, f"/{page}/insights", token, metric=metric, **extra)


# --------------------------------------------------------------------------- the model vs §11.1


def test_model_lists_exactly_the_recorded_page_metrics() -> None:
    model = load_model()
    assert [m.name for m in model.answered("PAGE")] == ANSWERED_PAGE
    assert list(model.recorded_invalid("PAGE")) == INVALID_PAGE
    assert model.monetization_gated("PAGE") == frozenset(MONETIZATION)
    assert len(ANSWERED_PAGE) == 37
    assert len(INVALID_PAGE) == 39


@pytest.mark.parametrize("metric", INVALID_PAGE)
def test_recorded_invalid_page_metric(shared: SandboxServer, metric: str) -> None:
    response = page_insights(shared, metric, period="day")
    assert response.status_code == 400
    assert without_trace(response.json()) == {
        "error": {"message": INVALID_METRIC, "type": "OAuthException", "code": 100}
    }
    assert response.json()["error"]["fbtrace_id"]
    # One invalid name fails the whole call (§1.1).
    mixed = page_insights(shared, f"page_post_engagements,{metric}")
    assert mixed.status_code == 400
    assert mixed.json()["error"]["message"] == INVALID_METRIC


@pytest.mark.parametrize("metric", MONETIZATION)
def test_monetization_metric_fails_the_whole_call(shared: SandboxServer, metric: str) -> None:
    for asked in (metric, f"page_post_engagements,{metric},page_media_view"):
        response = page_insights(shared, asked, period="day")
        assert response.status_code == 403
        assert response.json() == MONETIZATION_BODY
    (item,) = batch(
        shared,
        [{"method": "GET", "relative_url": f"{P1}/insights?metric={metric}&period=day"}],
        token=PT1,
    )
    assert item["code"] == 403
    assert json.loads(item["body"]) == MONETIZATION_BODY


def test_every_answered_page_metric_answers_day_week_days_28(shared: SandboxServer) -> None:
    names = ",".join(ANSWERED_PAGE)
    body = page_insights(shared, names, **WINDOW).json()
    seen: dict[str, list[str]] = {}
    for entry in body["data"]:
        seen.setdefault(entry["name"], []).append(entry["period"])
        assert [v["end_time"] for v in entry["values"]] == DAYS
        assert entry["id"] == f"{P1}/insights/{entry['name']}/{entry['period']}"
    assert list(seen) == ANSWERED_PAGE
    for name, periods in seen.items():
        # §11.1: page_daily_follows answered no week/days_28 values.
        expected = ["day"] if name == "page_daily_follows" else ["day", "week", "days_28"]
        assert periods == expected, name


def test_period_rules(shared: SandboxServer) -> None:
    # No period: one entry per period the metric answers (§1.2 Example B).
    body = page_insights(shared, "page_follows,page_daily_follows").json()
    assert [(e["name"], e["period"]) for e in body["data"]] == [
        ("page_follows", "day"),
        ("page_follows", "week"),
        ("page_follows", "days_28"),
        ("page_daily_follows", "day"),
    ]
    # period=x: only that period; a metric that does not answer it gets no entry.
    week = page_insights(shared, "page_follows,page_daily_follows", period="week").json()
    assert [(e["name"], e["period"]) for e in week["data"]] == [("page_follows", "week")]
    assert page_insights(shared, "page_post_engagements", period="lifetime").json()["data"] == []
    # §11.1: lifetime of page_media_view answers code 1 subcode 99; two others answer code 100.
    media = page_insights(shared, "page_media_view", period="lifetime")
    assert media.status_code == 500
    assert (media.json()["error"]["code"], media.json()["error"]["error_subcode"]) == (1, 99)
    for metric in ("page_video_views_by_uploaded_hosted", "content_monetization_earnings"):
        refused = page_insights(shared, metric, period="lifetime")
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == 100
        assert refused.json()["error"]["message"] != INVALID_METRIC


def test_titles_descriptions_and_shapes(shared: SandboxServer) -> None:
    body = page_insights(
        shared,
        "page_post_engagements,page_follows,page_fan_adds_by_paid_non_paid_unique,"
        "page_actions_post_reactions_total",
        **WINDOW,
    ).json()
    entries = {(e["name"], e["period"]): e for e in body["data"]}
    engagements = entries[("page_post_engagements", "day")]
    # §1.2 Example A.
    assert engagements["title"] == "Daily Post Engagements"
    assert engagements["description"] == (
        "Daily: The number of times people have engaged with your posts through like, comments "
        "and shares and more."
    )
    assert entries[("page_post_engagements", "week")]["title"] == "Weekly Post Engagements"
    assert entries[("page_post_engagements", "days_28")]["title"] == "28 Days Post Engagements"
    assert entries[("page_post_engagements", "days_28")]["description"].startswith("28 Days: ")
    # §3.1: page_follows is titled "Lifetime Total Follows".
    assert entries[("page_follows", "day")]["title"] == "Lifetime Total Follows"
    for period in ("day", "week", "days_28"):
        # §11.1: {"paid", "unpaid", "total"}.
        for row in entries[("page_fan_adds_by_paid_non_paid_unique", period)]["values"]:
            value = row["value"]
            assert set(value) == {"paid", "unpaid", "total"}
            assert value["total"] == value["paid"] + value["unpaid"]
        # §3.1 / §1.4: an object keyed by lowercase reaction type.
        for row in entries[("page_actions_post_reactions_total", period)]["values"]:
            assert set(row["value"]) <= {"like", "love", "wow", "haha", "sorry", "anger"}


def test_breakdowns_only_where_the_notes_say(shared: SandboxServer) -> None:
    body = page_insights(
        shared, "page_media_view,page_video_views", period="day", breakdown="is_from_followers"
    ).json()
    media, video = body["data"]
    assert [v["is_from_followers"] for v in media["values"]] == ["0", "1", "0", "1"]
    assert all("is_from_followers" not in v for v in video["values"])


def test_tap_defaults_are_answered(shared: SandboxServer) -> None:
    page = page_insights(shared, ",".join(TAP_DEFAULTS["PAGE"]), period="day").json()
    assert [e["name"] for e in page["data"]] == TAP_DEFAULTS["PAGE"]
    post = posts_for(P1, TODAY)[0]
    rows = call(
        shared,
        f"/{post.id}/insights",
        PT1,
        metric=",".join(TAP_DEFAULTS["POST"]),
        period="lifetime",
    ).json()["data"]
    assert [r["name"] for r in rows if r["period"] == "lifetime"] == TAP_DEFAULTS["POST"]
    reel = reels_for(P1, TODAY)[0]
    rows = call(
        shared, f"/{reel.id}/video_insights", PT1, metric=",".join(TAP_DEFAULTS["REEL"])
    ).json()["data"]
    assert [(r["name"], r["period"]) for r in rows] == [
        (name, "lifetime") for name in TAP_DEFAULTS["REEL"]
    ]


def test_reel_metrics_without_a_metric_and_reel_oddities(shared: SandboxServer) -> None:
    reel = reels_for(P1, TODAY)[0]
    rows = call(shared, f"/{reel.id}/video_insights", PT1).json()["data"]
    assert [row["name"] for row in rows] == REEL_METRICS
    assert all(row["title"].startswith("Lifetime ") for row in rows)
    # §2.3: these answered an empty 200 on reels.
    empty = call(shared, f"/{reel.id}/video_insights", PT1, metric="total_video_views")
    assert (empty.status_code, empty.json()) == (200, {"data": []})
    # §2.2: post_media_view on video_insights answers #1.
    wrong_node = call(shared, f"/{reel.id}/video_insights", PT1, metric="post_media_view")
    assert (wrong_node.status_code, wrong_node.json()["error"]["code"]) == (500, 1)
    gone = call(shared, f"/{reel.id}/video_insights", PT1, metric="post_impressions_unique")
    assert gone.json()["error"]["message"] == INVALID_METRIC


def test_post_engagements_answers_an_empty_200(shared: SandboxServer) -> None:
    post = posts_for(P1, TODAY)[0]
    body = call(
        shared,
        f"/{post.id}/insights",
        PT1,
        metric="post_engagements,post_clicks",
        period="lifetime",
    ).json()
    assert [row["name"] for row in body["data"]] == ["post_clicks"]


# --------------------------------------------------------------------------- malformed answers

MALFORMED_QUERY = {"metric": "page_post_engagements,page_views_total", "period": "day", **WINDOW}


def _clean(shared: SandboxServer) -> dict[str, Any]:
    return page_insights(shared, **MALFORMED_QUERY).json()  # type: ignore[arg-type]


def _expected(kind: str, clean: dict[str, Any]) -> Any:
    """The documented perturbation of each kind, written out by hand."""
    body = copy.deepcopy(clean)
    first, last = body["data"][0], body["data"][-1]
    rows = first["values"]
    if kind == "end_time_garbage":
        rows[0]["end_time"] = "not-a-time"
    elif kind == "end_time_missing":
        del rows[0]["end_time"]
    elif kind == "data_not_list":
        body["data"] = {}
    elif kind == "values_not_list":
        first["values"] = rows[0]
    elif kind == "item_not_object":
        rows[0] = "not-an-object"
    elif kind == "body_is_list":
        return []
    elif kind == "duplicate_day":
        rows.insert(1, {"value": rows[0]["value"] + 1, "end_time": DAYS[0]})
    elif kind == "missing_day":
        first["values"] = [rows[0], rows[2]]
    elif kind == "missing_metric_day":
        last["values"] = last["values"][1:]
    elif kind == "period_differs":
        first["period"] = "week"
    elif kind == "renamed_metric":
        first["name"] = "pages_post_engagements"
    elif kind == "string_values":
        rows[0]["value"] = "1_000"
        rows[1]["value"] = "1e999"
    elif kind == "bool_value":
        rows[0]["value"] = True
    return body


MALFORMED_KINDS = [
    "end_time_garbage",
    "end_time_missing",
    "data_not_list",
    "values_not_list",
    "item_not_object",
    "body_is_list",
    "duplicate_day",
    "missing_day",
    "missing_metric_day",
    "period_differs",
    "renamed_metric",
    "string_values",
    "bool_value",
]


@pytest.mark.parametrize("kind", MALFORMED_KINDS)
def test_malformed_insights_answer(shared: SandboxServer, server: SandboxServer, kind: str) -> None:
    clean = _clean(shared)
    server.configure(faults={"malformed": {P1: kind}})
    response = page_insights(server, **MALFORMED_QUERY)  # type: ignore[arg-type]
    assert response.status_code == 200
    expected = _expected(kind, clean)
    got = response.json()
    if isinstance(expected, dict):  # paging links name the serving sandbox's own port
        assert got["paging"].keys() == clean["paging"].keys()
        got = dict(got, paging=expected["paging"])
    assert got == expected
    query = "&".join(f"{key}={value}" for key, value in MALFORMED_QUERY.items())
    items = batch(
        server,
        [
            {"method": "GET", "relative_url": f"{P1}/insights?{query}"},
            {"method": "GET", "relative_url": f"{P2}/insights?{query}&access_token={PT2}"},
        ],
        token=PT1,
    )
    in_batch = json.loads(items[0]["body"])
    if isinstance(expected, dict):
        in_batch = dict(in_batch, paging=expected["paging"])
    assert in_batch == expected
    other = json.loads(items[1]["body"])
    assert isinstance(other["data"], list)
    assert [e["name"] for e in other["data"]] == ["page_post_engagements", "page_views_total"]
    # Node reads and posts of the page are untouched.
    assert call(server, f"/{P1}", PT1, fields="id").json() == {"id": P1}


def test_malformed_duplicate_day_of_an_object_metric(server: SandboxServer) -> None:
    server.configure(faults={"malformed": {P1: "duplicate_day"}})
    rows = page_insights(
        server, "page_actions_post_reactions_total", period="day", **WINDOW
    ).json()["data"][0]["values"]
    assert len(rows) == 4
    assert rows[0]["end_time"] == rows[1]["end_time"] == DAYS[0]
    assert rows[1]["value"] == {key: n + 1 for key, n in rows[0]["value"].items()}


# --------------------------------------------------------------------------- other faults


def test_batch_item_garbage(server: SandboxServer) -> None:
    items = [
        {"method": "GET", "relative_url": f"{P1}?fields=id&access_token={PT1}"},
        {"method": "GET", "relative_url": f"{P2}?fields=id&access_token={PT2}"},
        {"method": "GET", "relative_url": f"{P3}?fields=id"},
    ]
    server.configure(faults={"batch_item_garbage": {P1: "not_object", P2: "body_object"}})
    first, second, third = batch(server, items)
    assert first == 7
    assert second["code"] == 200
    assert second["body"] == {"id": P2}
    assert {h["name"] for h in second["headers"]} >= {"Content-Type", "x-fb-trace-id"}
    assert json.loads(third["body"]) == {"id": P3}
    # Plain requests are not affected.
    assert call(server, f"/{P1}", PT1, fields="id").json() == {"id": P1}


def test_usage_garbage(server: SandboxServer) -> None:
    server.configure(faults={"usage_garbage": True})
    response = page_insights(server, "page_media_view")
    (usage,) = json.loads(response.headers["X-Business-Use-Case-Usage"])[P1]
    assert usage["estimated_time_to_regain_access"] == "soon"
    assert usage["call_count"] == 1


def test_app_usage_spike(server: SandboxServer) -> None:
    server.configure(faults={"app_usage_spike": {"after_calls": 2, "call_count": 724}})
    before = [page_insights(server, "page_media_view"), call(server, "/me/accounts")]
    assert [r.status_code for r in before] == [200, 200]
    assert "X-Business-Use-Case-Usage" in before[0].headers
    assert "X-App-Usage" in before[1].headers
    spike = page_insights(server, "page_media_view")
    assert spike.status_code == 403
    assert without_trace(spike.json()) == {
        "error": {
            "message": "(#4) Application request limit reached",
            "type": "OAuthException",
            "is_transient": True,
            "code": 4,
        }
    }
    assert list(spike.json()["error"]) == [
        "message",
        "type",
        "is_transient",
        "code",
        "fbtrace_id",
    ]
    assert spike.headers["X-App-Usage"] == '{"call_count":724,"total_cputime":30,"total_time":40}'
    assert "X-Business-Use-Case-Usage" not in spike.headers
    after = [page_insights(server, "page_media_view"), call(server, "/me/accounts")]
    assert [r.status_code for r in after] == [200, 200]
    for response in after:
        assert "X-App-Usage" not in response.headers
        assert "X-Business-Use-Case-Usage" not in response.headers
    (item,) = batch(server, [{"method": "GET", "relative_url": "me"}])
    assert {h["name"] for h in item["headers"]}.isdisjoint(
        {"X-App-Usage", "X-Business-Use-Case-Usage"}
    )


def test_app_usage_spike_counts_batch_items(server: SandboxServer) -> None:
    server.configure(faults={"app_usage_spike": {"after_calls": 1}})
    items = [{"method": "GET", "relative_url": "me"}] * 3
    answers = batch(server, items)
    assert [item["code"] for item in answers] == [200, 403, 200]
    headers = {h["name"]: h["value"] for h in answers[1]["headers"]}
    assert json.loads(headers["X-App-Usage"]) == {
        "call_count": 724,
        "total_cputime": 30,
        "total_time": 40,
    }


def test_page_permission_pages(server: SandboxServer) -> None:
    server.configure(faults={"page_permission_pages": [P2]})
    for response in (
        call(server, f"/{P2}", USER, fields="id,name,access_token"),
        call(server, f"/{P2}", PT2, fields="id"),
        page_insights(server, "page_media_view", token=PT2, page=P2),
        call(server, f"/{P2}/insights/page_media_view", PT2),
    ):
        assert response.status_code == 400
        assert without_trace(response.json()) == {
            "error": {"message": PAGE_PERMISSION_MESSAGE, "type": "OAuthException", "code": 100}
        }
        assert response.json()["error"]["fbtrace_id"]
    assert call(server, f"/{P1}", PT1, fields="id").status_code == 200
    assert P2 in {page["id"] for page in call(server, "/me/accounts").json()["data"]}


def test_redirect_get(server: SandboxServer) -> None:
    server.configure(faults={"redirect": "get"})
    post = posts_for(P1, TODAY)[0]
    reel = reels_for(P1, TODAY)[0]
    for response in (
        page_insights(server, "page_media_view"),
        call(server, f"/{P1}/insights/page_media_view", PT1),
        call(server, f"/{post.id}/insights", PT1, metric="post_clicks"),
        call(server, f"/{reel.id}/video_insights", PT1),
    ):
        assert response.status_code == 302
        assert response.headers["Location"] == "http://127.0.0.2:9/elsewhere"
        assert response.content == b""
    assert call(server, f"/{P1}", PT1, fields="id").status_code == 200
    (item,) = batch(
        server,
        [{"method": "GET", "relative_url": f"{P1}/insights?metric=page_media_view"}],
        token=PT1,
    )
    assert item["code"] == 200


def test_redirect_batch(server: SandboxServer) -> None:
    server.configure(faults={"redirect": "batch"})
    response = requests.post(
        f"{server.url}/v25.0/",
        data={"batch": json.dumps([{"method": "GET", "relative_url": "me"}])},
        headers={"Authorization": f"Bearer {USER}"},
        timeout=10,
        allow_redirects=False,
    )
    assert response.status_code == 307
    assert response.headers["Location"] == "http://127.0.0.2:9/elsewhere"
    assert page_insights(server, "page_media_view").status_code == 200


def test_spurious_invalid_metric(server: SandboxServer) -> None:
    server.configure(faults={"spurious_invalid_metric": 2})
    two = "page_media_view,page_post_engagements"
    assert page_insights(server, "page_media_view").status_code == 200  # one metric: not counted
    statuses = [page_insights(server, two).status_code for _ in range(3)]
    assert statuses == [400, 400, 200]
    server.configure(faults={"spurious_invalid_metric": 1})
    wrong = page_insights(server, two)
    assert wrong.json()["error"]["message"] == INVALID_METRIC
    assert page_insights(server, two).status_code == 200


def test_vanished_pages(server: SandboxServer) -> None:
    server.configure(faults={"vanished_pages": [P2]})
    listed = [page["id"] for page in call(server, "/me/accounts").json()["data"]]
    assert listed == [P1, P3]
    node = call(server, f"/{P2}", USER, fields="id,access_token").json()
    assert node == {"id": P2, "access_token": PT2}
    assert page_insights(server, "page_media_view", token=PT2, page=P2).status_code == 200


def test_bad_created_time(server: SandboxServer) -> None:
    server.configure(faults={"bad_created_time": [P1]})
    expected = posts_for(P1, TODAY)
    listed = call(server, f"/{P1}/posts", PT1, fields="id,created_time", limit=3).json()["data"]
    assert [post["id"] for post in listed] == [post.id for post in expected[:3]]
    assert listed[0]["created_time"] == "yesterday-ish"
    assert [p["created_time"] for p in listed[1:]] == [p.created_time for p in expected[1:3]]
    node = call(server, f"/{expected[0].id}", PT1, fields="id,created_time").json()
    assert node["created_time"] == "yesterday-ish"
    other = call(server, f"/{P2}/posts", PT2, fields="created_time", limit=1).json()["data"]
    assert other[0]["created_time"] != "yesterday-ish"


@pytest.mark.parametrize(
    "faults",
    [
        {"malformed": {P1: "sideways"}},
        {"malformed": [P1]},
        {"batch_item_garbage": {P1: "garbage"}},
        {"usage_garbage": "yes"},
        {"app_usage_spike": {"after": 3}},
        {"app_usage_spike": {"after_calls": -1}},
        {"redirect": "post"},
        {"spurious_invalid_metric": -1},
        {"vanished_pages": P1},
    ],
)
def test_bad_fault_settings_are_rejected(faults: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the messages vary by key
        SandboxServer(faults=faults)
