"""API insights results -> rows."""

from __future__ import annotations

import json

from tap_facebook_pages.source.rows import insights_rows


def _rows(data: list[dict]) -> list[dict]:
    return list(insights_rows(data, base={"page_id": "1"}))


def test_plain_number() -> None:
    rows = _rows(
        [
            {
                "name": "page_post_engagements",
                "period": "day",
                "title": "Daily Post Engagements",
                "description": "Daily: …",
                "values": [{"value": 12, "end_time": "2026-08-02T07:00:00+0000"}],
            }
        ]
    )
    assert rows == [
        {
            "page_id": "1",
            "metric": "page_post_engagements",
            "period": "day",
            "end_time": "2026-08-02T07:00:00+00:00",
            "date": "2026-08-01",
            "value": 12,
            "value_json": None,
            "breakdown_key": "",
            "title": "Daily Post Engagements",
            "description": "Daily: …",
        }
    ]


def test_object_value_exploded_one_row_per_key() -> None:
    value = {"like": 330, "love": 2}
    rows = _rows(
        [
            {
                "name": "page_actions_post_reactions_total",
                "period": "day",
                "values": [{"value": value, "end_time": "2026-03-09T07:00:00+0000"}],
            }
        ]
    )
    assert [(r["breakdown_key"], r["value"]) for r in rows] == [("like", 330), ("love", 2)]
    assert all(json.loads(r["value_json"]) == value for r in rows)
    assert {r["date"] for r in rows} == {"2026-03-08"}


def test_empty_object_keeps_the_day() -> None:
    rows = _rows(
        [
            {
                "name": "m",
                "period": "day",
                "values": [{"value": {}, "end_time": "2026-03-09T07:00:00+0000"}],
            }
        ]
    )
    assert [(r["breakdown_key"], r["value"], r["value_json"]) for r in rows] == [("", None, "{}")]


def test_flat_breakdown_format() -> None:
    rows = _rows(
        [
            {
                "name": "page_media_view",
                "period": "day",
                "values": [
                    {"value": 25, "end_time": "2026-03-02T08:00:00+0000", "is_from_ads": "0"},
                    {"value": 0, "end_time": "2026-03-02T08:00:00+0000", "is_from_ads": "1"},
                ],
            }
        ]
    )
    assert [(r["breakdown_key"], r["value"]) for r in rows] == [
        ("is_from_ads=0", 25),
        ("is_from_ads=1", 0),
    ]


def test_lifetime_value_has_no_end_time() -> None:
    rows = list(
        insights_rows(
            [{"name": "post_clicks", "period": "lifetime", "values": [{"value": 6}]}],
            base={"post_id": "1_2"},
            lifetime_day="2026-11-19",
        )
    )
    assert rows[0]["end_time"] is None
    assert rows[0]["date"] == "2026-11-19"
    assert rows[0]["value"] == 6
