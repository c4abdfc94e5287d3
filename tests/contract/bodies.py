"""Answers of the live Graph API, copied verbatim from shared/graph-api.md (the section is named
above each one; ``fbtrace_id``s, ``…`` and placeholders are kept as written there), and a helper
that builds insights answers of exactly that shape for the metrics, period and days a request
asks for."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from typing import Any
from zoneinfo import ZoneInfo

GRAPH = "https://graph.facebook.com"
VERSION = "v25.0"
ROOT = f"{GRAPH}/{VERSION}"
PACIFIC = ZoneInfo("America/Los_Angeles")

# The page probed live in §1.2 Example A / §2.2, and the page of the §5.1 /me/accounts answer.
P1 = "723701000827665"
P2 = "659554973897366"

# Fake tokens, shaped like Meta's (EAA…): none of them may ever appear in output or logs.
USER_TOKEN = "EAAGcontractUserTokenSECRETx7Qe0pZr4VbN2sLw9yKd"
PAGE_TOKENS = {
    P1: "EAAGcontractPageTokenSECRETp1Hq3Jm8TcXv5RzA0bWe",
    P2: "EAAGcontractPageTokenSECRETp2Lk6Nf1GyUo7DsQ4hMi",
}

# -- §1.2 Example A: real v25.0 answer, no since/until (the last 2 complete days) -----------------
EXAMPLE_A: dict[str, Any] = {
    "data": [
        {
            "name": "page_post_engagements",
            "period": "day",
            "values": [
                {"value": 0, "end_time": "2026-09-04T07:00:00+0000"},
                {"value": 0, "end_time": "2026-09-05T07:00:00+0000"},
            ],
            "title": "Daily Post Engagements",
            "description": (
                "Daily: The number of times people have engaged with your posts through like, "
                "comments and shares and more."
            ),
            "id": "723701000827665/insights/page_post_engagements/day",
        }
    ],
    "paging": {
        "previous": (
            "https://graph.facebook.com/v25.0/723701000827665/insights?access_token={PAGE_TOKEN}"
            "&metric=page_post_engagements&period=day&since=1788246000&until=1788418800"
        ),
        "next": (
            "https://graph.facebook.com/v25.0/723701000827665/insights?access_token={PAGE_TOKEN}"
            "&metric=page_post_engagements&period=day&since=1788591600&until=1788764400"
        ),
    },
}

# -- §1.2 Example B: official sample, no ``period`` -> one entry per supported period ------------
_B_DAY_DESCRIPTION = (
    "Daily: The number of people who had any content from your Page or about your Page enter "
    "their screen. This includes posts, check-ins, ads, social information from people who "
    "interact with your Page and more. (Unique Users)"
)
EXAMPLE_B: dict[str, Any] = {
    "data": [
        {
            "name": "page_impressions_unique",
            "period": "day",
            "values": [
                {"value": 66226, "end_time": "2020-03-10T07:00:00+0000"},
                {"value": 78037, "end_time": "2020-03-11T07:00:00+0000"},
            ],
            "title": "Daily Total Reach",
            "description": _B_DAY_DESCRIPTION,
            "id": "{page-id}/insights/page_impressions_unique/day",
        },
        {
            "name": "page_impressions_unique",
            "period": "week",
            "values": [
                {"value": 202229, "end_time": "2020-03-10T07:00:00+0000"},
                {"value": 206982, "end_time": "2020-03-11T07:00:00+0000"},
            ],
            "title": "Weekly Total Reach",
            "description": "Weekly: …(Unique Users)",
            "id": "{page-id}/insights/page_impressions_unique/week",
        },
        {
            "name": "page_impressions_unique",
            "period": "days_28",
            "values": [
                {"value": 427380, "end_time": "2020-03-10T07:00:00+0000"},
                {"value": 432909, "end_time": "2020-03-11T07:00:00+0000"},
            ],
            "title": "28 Days Total Reach",
            "description": "28 Days: …(Unique Users)",
            "id": "{page-id}/insights/page_impressions_unique/days_28",
        },
    ],
    "paging": {
        "previous": (
            "https://graph.facebook.com/{page-id}/insights?access_token={page-access-token}"
            "&pretty=0&metric=page_impressions_unique&since=1583568000&until=1583737200"
        ),
        "next": (
            "https://graph.facebook.com/{page-id}/insights?access_token={page-access-token}"
            "&pretty=0&metric=page_impressions_unique&since=1583910000&until=1584082800"
        ),
    },
}

# -- §2.2 Post insights: lifetime values have no end_time, paging is still there ----------------
POST_INSIGHTS_LIFETIME: dict[str, Any] = {
    "data": [
        {
            "name": "post_clicks",
            "period": "lifetime",
            "values": [{"value": 6}],
            "title": "Lifetime Matched Audience Targeting Consumptions on Post",
            "description": (
                "Lifetime: The number of clicks anywhere in your post on News Feed from the user "
                "that matched the audience targeting on it. (Total Count)"
            ),
            "id": "723701000827665_122167637282960180/insights/post_clicks/lifetime",
        }
    ],
    "paging": {
        "previous": (
            "https://graph.facebook.com/v25.0/723701000827665_122167637282960180/insights"
            "?access_token={PAGE_TOKEN}&metric=post_clicks&period=lifetime"
            "&since=1788159600&until=1788332400"
        ),
        "next": (
            "https://graph.facebook.com/v25.0/723701000827665_122167637282960180/insights"
            "?access_token={PAGE_TOKEN}&metric=post_clicks&period=lifetime"
            "&since=1788505200&until=1788678000"
        ),
    },
}

# -- §5.1 /me/accounts, real v25 answer (User token) ---------------------------------------------
ME_ACCOUNTS_EXAMPLE: dict[str, Any] = {
    "data": [
        {
            "access_token": "{PAGE_TOKEN}",
            "category": "Clothing store",
            "category_list": [{"id": "186230924744328", "name": "Clothing Store"}],
            "name": "Paired Socks",
            "id": "659554973897366",
            "tasks": ["MANAGE", "CREATE_CONTENT", "MODERATE", "MESSAGING", "ADVERTISE", "ANALYZE"],
        }
    ],
    "paging": {"cursors": {"before": "QVFIVDFOSE53…Z1Fn", "after": "QVFIVDFOSE53…Z1Fn"}},
}

# /me/permissions: Graph's usual {permission, status} list (§5.1 names the three required ones).
ME_PERMISSIONS: dict[str, Any] = {
    "data": [
        {"permission": "pages_show_list", "status": "granted"},
        {"permission": "pages_read_engagement", "status": "granted"},
        {"permission": "read_insights", "status": "granted"},
        {"permission": "public_profile", "status": "granted"},
    ]
}


# /debug_token (§5.3): the composite example's fields, with lifetimes that warn of nothing (a
# token that never expires, as §5.3 observed for a PAGE token; data access well ahead).
def debug_token_body(now: float) -> dict[str, Any]:
    """The §5.3 answer for a token that never expires, its data access ending in 80 days."""
    return {
        "data": {
            "app_id": "312083254664235",
            "type": "USER",
            "application": "TestOauth",
            "data_access_expires_at": int(now) + 80 * 86400,
            "expires_at": 0,
            "is_valid": True,
            "issued_at": 1688223600,
            "scopes": ["pages_show_list", "pages_read_engagement", "read_insights"],
            "user_id": "6801045783286074",
        }
    }


# -- §11.1: a monetization metric, while the page's other metrics answer (HTTP 403 per §6.2) ------
MONETIZATION_200: dict[str, Any] = {
    "error": {
        "message": (
            "(#200) Monetization metrics are only visible for Page admins with access to "
            "monetization insights."
        ),
        "code": 200,
    }
}

# -- §11.2: page-level permission (no subcode) ---------------------------------------------------
PAGE_LEVEL_100: dict[str, Any] = {
    "error": {
        "message": (
            "(#100) Object does not exist, cannot be loaded due to missing permission or "
            "reviewable feature, or does not support this operation. This endpoint requires the "
            "'pages_read_engagement' permission or the 'Page Public Content Access' feature or "
            "the 'Page Public Metadata Access' feature. Refer to … for details."
        ),
        "type": "OAuthException",
        "code": 100,
        "fbtrace_id": "…",
    }
}

# -- §6.3: retired metric (HTTP 400) -------------------------------------------------------------
INVALID_METRIC_100: dict[str, Any] = {
    "error": {
        "message": "(#100) The value must be a valid insights metric",
        "type": "OAuthException",
        "code": 100,
        "fbtrace_id": "AK5w64sspf_nMUi-7r8eg31",
    }
}

# -- §11.2: throttle (HTTP 403) with X-App-Usage far above 100 % ---------------------------------
THROTTLE_4: dict[str, Any] = {
    "error": {
        "message": "(#4) Application request limit reached",
        "type": "OAuthException",
        "is_transient": True,
        "code": 4,
        "fbtrace_id": "…",
    }
}
X_APP_USAGE_724 = {"X-App-Usage": '{"call_count":724,"total_cputime":30,"total_time":40}'}

# -- §6.3: expired token, 190/463 (HTTP 400, also in WWW-Authenticate per §6.1/§6.2) -------------
EXPIRED_190_463: dict[str, Any] = {
    "error": {
        "message": (
            "Error validating access token: Session has expired on Thursday, 29-Jul-21 10:00:00 "
            "PDT. The current time is Friday, 30-Jul-21 06:41:07 PDT."
        ),
        "type": "OAuthException",
        "code": 190,
        "error_subcode": 463,
        "fbtrace_id": "A_muLgNXB2rhzyBV_3YbJeo",
    }
}

# -- §11.3: the name Meta's doc sample answers for the metric asked ------------------------------
RENAMED_ASKED = "page_daily_video_ad_break_ad_impressions_by_crosspost_status"
RENAMED_ANSWERED = "page_daily_video_ad_breaks_ad_impressions_by_crosspost_status"
# §1.4: that metric's object value in the doc sample.
CROSSPOST_VALUE = {"crossposted": 27584, "owned": 692730}

# -- §8.1: a batch answer (include_headers=true); bodies are JSON strings, a timeout is null ------
BATCH_EXAMPLE: list[Any] = [
    {
        "code": 200,
        "headers": [
            {"name": "Content-Type", "value": "text/javascript; charset=UTF-8"},
            {"name": "ETag", "value": '"…"'},
        ],
        "body": (
            '{"data":[{"name":"page_post_engagements","period":"day","values":[{"value":3,'
            '"end_time":"2026-08-02T07:00:00+0000"}],"title":"Daily Post Engagements",'
            '"description":"…","id":"123/insights/page_post_engagements/day"}],'
            '"paging":{"previous":"…","next":"…"}}'
        ),
    },
    {
        "code": 400,
        "headers": [
            {
                "name": "WWW-Authenticate",
                "value": (
                    'OAuth "Facebook Platform" "invalid_request" '
                    '"(#100) The value must be a valid insights metric"'
                ),
            },
            {"name": "Content-Type", "value": "text/javascript; charset=UTF-8"},
        ],
        "body": (
            '{"error":{"message":"(#100) The value must be a valid insights metric",'
            '"type":"OAuthException","code":100,"fbtrace_id":"…"}}'
        ),
    },
    None,
]
BATCH_OK_HEADERS: list[dict[str, str]] = BATCH_EXAMPLE[0]["headers"]


def www_authenticate(error: dict[str, Any]) -> str:
    """§6.1: every error answer carries ``WWW-Authenticate: OAuth "Facebook Platform" …``."""
    inner = error["error"]
    kind = "invalid_token" if inner.get("code") in (102, 190) else "invalid_request"
    return f'OAuth "Facebook Platform" "{kind}" "{inner["message"]}"'


# -- answers of the §1.2 shape for any request ---------------------------------------------------

PERIOD_WORDS = {
    "day": ("Daily", "Daily"),
    "week": ("Weekly", "Weekly"),
    "days_28": ("28 Days", "28 Days"),
    "lifetime": ("Lifetime", "Lifetime"),
}
# Titles and descriptions seen live (§1.2 Example A); others are built like them.
KNOWN_TEXTS = {
    ("page_post_engagements", "day"): (
        EXAMPLE_A["data"][0]["title"],
        EXAMPLE_A["data"][0]["description"],
    ),
}
# §1.1 / §11.1: with no ``period`` parameter every answered metric answers these three.
DEFAULT_PERIODS = ("day", "week", "days_28")


def end_time(day: dt.date) -> str:
    """§1.3: the end of Pacific ``day``, in UTC, as the API writes it (``…T07:00:00+0000`` in
    PDT, ``…T08:00:00+0000`` in PST)."""
    nxt = day + dt.timedelta(days=1)
    midnight = dt.datetime(nxt.year, nxt.month, nxt.day, tzinfo=PACIFIC)
    return midnight.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+0000")


def pacific_unix(day: dt.date) -> int:
    """§1.2: paging since/until are unix seconds at Pacific midnight."""
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=PACIFIC).timestamp())


def days(since: dt.date, until: dt.date) -> list[dt.date]:
    """§1.3: the days a since/until request answers: ``[since, until)``."""
    return [since + dt.timedelta(days=i) for i in range((until - since).days)]


def _texts(metric: str, period: str) -> tuple[str, str]:
    if (metric, period) in KNOWN_TEXTS:
        return KNOWN_TEXTS[(metric, period)]
    title_word, prefix = PERIOD_WORDS.get(period, (period.title(), period.title()))
    words = metric.removeprefix("page_").replace("_", " ")
    return f"{title_word} {words.title()}", f"{prefix}: The {words} of your Page. (Total Count)"


def insights_body(
    page: str,
    token: str,
    metrics: Iterable[str],
    since: dt.date,
    until: dt.date,
    value: Callable[[str, str, dt.date], Any],
    *,
    period: str | None,
    names: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An insights answer of the §1.2 shape: one ``data`` entry per metric and period (every
    period of §11.1 when ``period`` is None, Example B), values over ``[since, until)`` with
    Pacific ``end_time``s, titles/descriptions/ids as the API writes them, and ``paging`` links
    to the windows before and after, carrying the page token as the real ones do.

    ``names`` maps a metric asked to the name the answer carries (§11.3)."""
    metrics = list(metrics)
    names = names or {}
    data = []
    for metric in metrics:
        for each in (period,) if period else DEFAULT_PERIODS:
            answered = names.get(metric, metric)
            title, description = _texts(answered, each)
            data.append(
                {
                    "name": answered,
                    "period": each,
                    "values": [
                        {"value": value(metric, each, day), "end_time": end_time(day)}
                        for day in days(since, until)
                    ],
                    "title": title,
                    "description": description,
                    "id": f"{page}/insights/{answered}/{each}",
                }
            )
    span = until - since

    def link(start: dt.date, stop: dt.date) -> str:
        query = f"access_token={token}&metric={','.join(metrics)}"
        if period:
            query += f"&period={period}"
        query += f"&since={pacific_unix(start)}&until={pacific_unix(stop)}"
        return f"{ROOT}/{page}/insights?{query}"

    return {
        "data": data,
        "paging": {"previous": link(since - span, since), "next": link(until, until + span)},
    }


def batch_item(status: int, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    """One §8.1 batch element: ``{code, headers, body}`` with the body as a JSON string."""
    listed = [{"name": k, "value": v} for k, v in headers.items()]
    return {"code": status, "headers": listed, "body": compact_json(body)}


def compact_json(body: Any) -> str:
    """JSON as the API writes it: no spaces, non-ASCII as is."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))
