"""The fake's answers are the live API's shapes: the helper rebuilds §1.2 Example A exactly and
Example B's structure, and its batch items are §8.1's."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import parse_qsl, urlsplit

from tests.contract import bodies as b


def _paging_window(url: str) -> tuple[int, int]:
    query = dict(parse_qsl(urlsplit(url).query))
    return int(query["since"]), int(query["until"])


def test_the_helper_rebuilds_example_a_exactly() -> None:
    """§1.2 Example A is the default window of 2026-09-05: days 09-03 and 09-04."""
    body = b.insights_body(
        b.P1,
        "{PAGE_TOKEN}",
        ["page_post_engagements"],
        dt.date(2026, 9, 3),
        dt.date(2026, 9, 5),
        lambda metric, period, day: 0,
        period="day",
    )
    assert body == b.EXAMPLE_A


def test_the_helper_has_example_b_structure_across_dst() -> None:
    """§1.2 Example B: no period -> day, week and days_28 entries; its paging spans the DST
    switch of 2020-03-08 (08:00Z before it, 07:00Z after)."""
    values = {
        entry["period"]: [v["value"] for v in entry["values"]] for entry in b.EXAMPLE_B["data"]
    }
    body = b.insights_body(
        "{page-id}",
        "{page-access-token}",
        ["page_impressions_unique"],
        dt.date(2020, 3, 9),
        dt.date(2020, 3, 11),
        lambda metric, period, day: values[period][(day - dt.date(2020, 3, 9)).days],
        period=None,
    )
    for ours, theirs in zip(body["data"], b.EXAMPLE_B["data"], strict=True):
        assert ours.keys() == theirs.keys()
        for key in ("name", "period", "values", "id"):
            assert ours[key] == theirs[key]
        assert ours["title"].split()[0] == theirs["title"].split()[0]
        assert ours["description"].split(":")[0] == theirs["description"].split(":")[0]
    for link in ("previous", "next"):
        assert _paging_window(body["paging"][link]) == _paging_window(b.EXAMPLE_B["paging"][link])
        assert "access_token={page-access-token}" in body["paging"][link]


def test_end_times_are_pacific_midnights() -> None:
    """§1.3: 07:00Z in PDT, 08:00Z in PST; §1.2 Example B's DST switch."""
    assert b.end_time(dt.date(2026, 3, 7)) == "2026-03-08T08:00:00+0000"
    assert b.end_time(dt.date(2026, 3, 8)) == "2026-03-09T07:00:00+0000"
    assert b.end_time(dt.date(2026, 11, 10)) == "2026-11-11T08:00:00+0000"
    assert b.pacific_unix(dt.date(2020, 3, 7)) == 1583568000
    assert b.pacific_unix(dt.date(2020, 3, 9)) == 1583737200


def test_batch_items_are_shaped_like_8_1() -> None:
    ok = b.batch_item(200, {"data": []}, {h["name"]: h["value"] for h in b.BATCH_OK_HEADERS})
    error = b.batch_item(
        400,
        json.loads(b.BATCH_EXAMPLE[1]["body"]),
        {h["name"]: h["value"] for h in b.BATCH_EXAMPLE[1]["headers"]},
    )
    for ours, theirs in ((ok, b.BATCH_EXAMPLE[0]), (error, b.BATCH_EXAMPLE[1])):
        assert ours.keys() == theirs.keys()
        assert isinstance(ours["body"], str)
        assert ours["headers"] == theirs["headers"]
    assert error == b.BATCH_EXAMPLE[1]
    assert b.www_authenticate(b.INVALID_METRIC_100) == b.BATCH_EXAMPLE[1]["headers"][0]["value"]


def test_paging_links_carry_the_parameters_of_the_real_ones() -> None:
    """§1.2 Example A and §2.2: ``access_token, metric, period, since, until``, in that order."""
    ours = b.insights_body(
        b.P1,
        b.PAGE_TOKENS[b.P1],
        ["page_post_engagements"],
        dt.date(2026, 6, 1),
        dt.date(2026, 6, 4),
        lambda metric, period, day: 1,
        period="day",
    )["paging"]
    for real in (b.EXAMPLE_A["paging"], b.POST_INSIGHTS_LIFETIME["paging"]):
        for link in ("previous", "next"):
            names = [k for k, _ in parse_qsl(urlsplit(real[link]).query)]
            assert names == [k for k, _ in parse_qsl(urlsplit(ours[link]).query)]
