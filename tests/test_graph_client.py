"""The Graph client against requests-mock: auth, proof, taxonomy, retries, throttling, hygiene."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

import pytest
import requests
import requests_mock

from tap_facebook_pages.graph.client import GraphClient
from tap_facebook_pages.graph.errors import (
    AUTH,
    BAD_REQUEST,
    DENIED,
    INVALID_METRIC,
    PERMISSION,
    RETRY,
    THROTTLE,
    AuthError,
    BadRequestError,
    GraphError,
    TransientError,
    classify_error_body,
    interpret_response,
)
from tap_facebook_pages.graph.redact import RedactingFilter, Redactor, strip_secret_params
from tap_facebook_pages.graph.usage import UsagePacer, parse_usage_headers

BASE = "https://graph.test"
TOKEN = "EAAB-user-token-SECRET-1234567890"
PAGE_TOKEN = "EAAB-page-token-SECRET-abcdefghij"
SECRET = "app-secret-SECRET-0987654321"


def _client(**kw) -> tuple[GraphClient, list[float]]:
    slept: list[float] = []
    client = GraphClient(
        base_url=BASE,
        api_version="v25.0",
        access_token=TOKEN,
        backoff_base_seconds=0.5,
        sleep=slept.append,
        **kw,
    )
    return client, slept


def _err(code: int, message: str = "x", **extra) -> dict:
    return {"error": {"message": message, "type": "OAuthException", "code": code, **extra}}


@pytest.mark.parametrize(
    ("status", "error", "kind"),
    [
        (500, {"code": 1, "message": "An unknown error occurred"}, RETRY),
        (500, {"code": 2, "is_transient": True}, RETRY),
        (400, {"code": 190, "error_subcode": 463}, AUTH),
        (400, {"code": 190}, AUTH),
        (400, {"code": 102}, AUTH),
        (400, {"code": 4}, THROTTLE),
        (400, {"code": 17}, THROTTLE),
        (400, {"code": 32}, THROTTLE),
        (400, {"code": 613}, THROTTLE),
        (400, {"code": 80001}, THROTTLE),
        (
            400,
            {"code": 100, "message": "(#100) The value must be a valid insights metric"},
            INVALID_METRIC,
        ),
        (
            400,
            {"code": 100, "message": "(#100) Tried accessing nonexisting field (x)"},
            BAD_REQUEST,
        ),
        (400, {"code": 3001, "error_subcode": 1504028}, BAD_REQUEST),
        (400, {"code": 10}, PERMISSION),
        (403, {"code": 200}, DENIED),
        (403, {"code": 299}, DENIED),
        # shared/graph-api.md §11.2: the page-level #100 permission family, and subcode 33.
        (
            400,
            {
                "code": 100,
                "type": "OAuthException",
                "message": "(#100) Object does not exist, cannot be loaded due to missing "
                "permission or reviewable feature, or does not support this operation. This "
                "endpoint requires the 'pages_read_engagement' permission …",
            },
            PERMISSION,
        ),
        (
            400,
            {"code": 100, "error_subcode": 33, "message": "Unsupported get request."},
            PERMISSION,
        ),
        (400, {"code": 17, "is_transient": True}, THROTTLE),
    ],
)
def test_taxonomy(status: int, error: dict, kind: str) -> None:
    assert classify_error_body(status, error) == kind


@pytest.mark.parametrize(
    ("status", "body"),
    [(200, b'{"data": [1, 2'), (502, b"<html>Bad Gateway</html>"), (200, b""), (429, b"{}")],
)
def test_broken_bodies_are_transient(status: int, body: bytes) -> None:
    parsed, error = interpret_response(status, body, path="/x")
    assert parsed is None
    assert isinstance(error, TransientError)


def test_token_in_header_and_proof_per_token() -> None:
    client, _ = _client(app_secret=SECRET)
    with requests_mock.Mocker() as m:
        m.get(f"{BASE}/v25.0/me", json={"id": "1"})
        m.get(f"{BASE}/v25.0/42/insights", json={"data": []})
        client.get("me")
        client.get("42/insights", {"metric": "a"}, token=PAGE_TOKEN, scope="42")
    first, second = m.request_history
    assert first.headers["Authorization"] == f"Bearer {TOKEN}"
    assert "access_token" not in first.qs
    expected = hmac.new(SECRET.encode(), TOKEN.encode(), hashlib.sha256).hexdigest()
    assert first.qs["appsecret_proof"] == [expected]
    assert second.headers["Authorization"] == f"Bearer {PAGE_TOKEN}"
    page_proof = hmac.new(SECRET.encode(), PAGE_TOKEN.encode(), hashlib.sha256).hexdigest()
    assert second.qs["appsecret_proof"] == [page_proof]


def test_retries_transient_then_succeeds_with_jittered_backoff() -> None:
    client, slept = _client()
    with requests_mock.Mocker() as m:
        m.get(
            f"{BASE}/v25.0/me",
            [
                {"status_code": 500, "json": _err(2, is_transient=True)},
                {"status_code": 502, "text": "<html>oops</html>"},
                {"exc": requests.ConnectionError("boom")},
                {"status_code": 200, "json": {"id": "1"}},
            ],
        )
        assert client.get("me") == {"id": "1"}
    assert len(slept) == 3
    assert all(0 <= s <= 0.5 * 2**i for i, s in enumerate(slept))
    assert client.stats(None).retries == 3


def test_gives_up_after_max_retries() -> None:
    client, slept = _client(max_retries=5)
    with requests_mock.Mocker() as m:
        m.get(f"{BASE}/v25.0/me", status_code=500, json=_err(1))
        with pytest.raises(TransientError):
            client.get("me")
        assert m.call_count == 5
    assert len(slept) == 4


def test_throttle_waits_regain_time_capped() -> None:
    client, slept = _client(max_throttle_wait_seconds=30)
    buc = json.dumps(
        {
            "42": [
                {
                    "type": "pages",
                    "call_count": 100,
                    "total_cputime": 5,
                    "total_time": 5,
                    "estimated_time_to_regain_access": 2,
                }
            ]
        }
    )
    with requests_mock.Mocker() as m:
        m.get(
            f"{BASE}/v25.0/42/insights",
            [
                {
                    "status_code": 400,
                    "json": _err(80001),
                    "headers": {"X-Business-Use-Case-Usage": buc},
                },
                {"status_code": 200, "json": {"data": []}},
            ],
        )
        assert client.get("42/insights", token=PAGE_TOKEN, scope="42") == {"data": []}
    assert slept == [pytest.approx(30, abs=0.01)]  # 2 minutes, capped at 30 s
    assert client.stats("42").throttle_wait_s == pytest.approx(30, abs=0.01)


def test_pacing_slows_down_past_75_percent() -> None:
    client, slept = _client()
    buc = json.dumps(
        {"42": [{"type": "pages", "call_count": 85, "total_cputime": 1, "total_time": 1}]}
    )
    with requests_mock.Mocker() as m:
        m.get(f"{BASE}/v25.0/42", json={"id": "42"}, headers={"X-Business-Use-Case-Usage": buc})
        client.get("42", scope="42")
        client.get("42", scope="42")
    assert len(slept) == 1
    assert 0 < slept[0] <= client.pacer.slow_max_seconds


@pytest.mark.parametrize(("code", "exc"), [(190, AuthError), (100, BadRequestError)])
def test_terminal_errors_are_not_retried(code: int, exc: type) -> None:
    client, slept = _client()
    with requests_mock.Mocker() as m:
        m.get(f"{BASE}/v25.0/me", status_code=400, json=_err(code, "Invalid OAuth access token."))
        with pytest.raises(exc):
            client.get("me")
        assert m.call_count == 1
    assert slept == []


def test_paging_next_drops_token_and_is_rebased() -> None:
    client, _ = _client()
    next_url = (
        f"https://graph.facebook.com/v25.0/me/accounts?access_token={TOKEN}&limit=2&after=CUR"
    )
    with requests_mock.Mocker() as m:
        m.get(
            f"{BASE}/v25.0/me/accounts",
            [
                {"json": {"data": [{"id": "1"}], "paging": {"next": next_url}}},
                {"json": {"data": [{"id": "2"}], "paging": {"cursors": {"after": "X"}}}},
            ],
        )
        pages = list(client.iterate("me/accounts", {"limit": 2}))
    assert [p["data"][0]["id"] for p in pages] == ["1", "2"]
    second = m.request_history[1]
    assert second.url.startswith(BASE)
    assert TOKEN not in second.url
    assert second.qs["after"] == ["cur"] or second.qs["after"] == ["CUR"]


def test_strip_secret_params() -> None:
    url = f"https://x/v1/a?access_token={TOKEN}&metric=m&appsecret_proof=abc&until=2"
    assert strip_secret_params(url) == "https://x/v1/a?metric=m&until=2"


def test_redacting_filter_masks_tokens_in_messages_and_exceptions() -> None:
    redactor = Redactor()
    redactor.add(TOKEN, SECRET)
    record = logging.LogRecord(
        "x",
        logging.ERROR,
        __file__,
        1,
        "url %s secret %s",
        (f"?access_token={PAGE_TOKEN}", SECRET),
        None,
    )
    try:
        raise ValueError(f"failed with Bearer {TOKEN}")
    except ValueError as exc:
        record.exc_info = (ValueError, exc, exc.__traceback__)
    RedactingFilter(redactor).filter(record)
    text = record.getMessage() + (record.exc_text or "")
    assert TOKEN not in text
    assert SECRET not in text
    assert PAGE_TOKEN not in text
    assert "***" in text


def test_redactor_masks_every_token_of_a_fleet_and_nested_tokens_whole() -> None:
    """Hundreds of page tokens sharing a prefix, one a prefix of another, plus other shapes."""
    redactor = Redactor()
    tokens = [f"EAAPAGE{n:04d}x{'k' * (n % 7)}" for n in range(300)]
    nested_short, nested_long = "EAAnested1234", "EAAnested1234-and-more"
    redactor.add(*tokens, nested_short, nested_long, "SBXPAGE0001abcdef", "tiny")
    text = " | ".join(
        [*tokens[::37], nested_long, nested_short, "SBXPAGE0001abcdef!", "tiny", "EAA plain"]
    )
    masked = redactor.redact(text)
    assert not any(token in masked for token in tokens)
    assert "and-more" not in masked  # the longer token is masked whole, not cut by the shorter
    assert nested_short not in masked
    assert "SBXPAGE" not in masked
    assert masked.endswith("*** | ***! | tiny | EAA plain")  # short strings are not secrets


class _Clock:
    """A fake monotonic clock that the fake sleep advances."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_an_over_quota_reading_costs_one_bounded_pause_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """shared §11.2: a real ``(#4)`` answer carried ``X-App-Usage`` call_count 724 with
    ``is_transient: true``, and later answers carried no usage header at all. The reading ages
    out: one pause (capped by max_throttle_wait_seconds), logged once, then no more waiting.
    (Before: the reading was never dropped and every later call of a sequential run paused.)"""
    clock = _Clock()
    client = GraphClient(
        base_url=BASE,
        api_version="v25.0",
        access_token=TOKEN,
        max_throttle_wait_seconds=3,
        sleep=clock.sleep,
        clock=clock,
    )
    throttled = {
        "error": {
            "message": "(#4) Application request limit reached",
            "type": "OAuthException",
            "is_transient": True,
            "code": 4,
            "fbtrace_id": "A2xYz",
        }
    }
    usage = json.dumps({"call_count": 724, "total_cputime": 30, "total_time": 40})
    with requests_mock.Mocker() as m:
        m.get(
            f"{BASE}/v25.0/me/accounts",
            [
                {"status_code": 403, "json": throttled, "headers": {"X-App-Usage": usage}},
                *({"status_code": 200, "json": {"data": [], "n": n}} for n in range(14)),
            ],
        )
        with caplog.at_level(logging.WARNING, logger="tap-facebook-pages.graph"):
            answers = [client.get("me/accounts") for _ in range(14)]
    assert [a["n"] for a in answers] == list(range(14))
    assert clock.slept == [pytest.approx(3)]  # one pause, bounded by the cap
    waits = [r.getMessage() for r in caplog.records if "Waiting" in r.getMessage()]
    assert len(waits) == 1
    assert "(#4) Application request limit reached" in waits[0]


def test_a_high_reading_on_a_normal_answer_pauses_once_then_ages_out() -> None:
    clock = _Clock()
    client = GraphClient(
        base_url=BASE,
        api_version="v25.0",
        access_token=TOKEN,
        max_throttle_wait_seconds=5,
        sleep=clock.sleep,
        clock=clock,
    )
    high = json.dumps({"call_count": 724, "total_cputime": 1, "total_time": 1})
    with requests_mock.Mocker() as m:
        m.get(
            f"{BASE}/v25.0/me",
            [
                {"status_code": 200, "json": {"id": "1"}, "headers": {"X-App-Usage": high}},
                *({"status_code": 200, "json": {"id": "1"}} for _ in range(9)),
            ],
        )
        for _ in range(10):
            client.get("me")
    assert clock.slept == [pytest.approx(5)]


def test_malformed_usage_values_are_ignored_not_raised() -> None:
    """issue 12: a non-numeric ``estimated_time_to_regain_access`` raised in a worker thread."""
    buc = json.dumps(
        {
            "42": [
                {
                    "type": "pages",
                    "call_count": "lots",
                    "total_cputime": None,
                    "total_time": float("nan"),
                    "estimated_time_to_regain_access": "soon",
                }
            ]
        }
    )
    readings = parse_usage_headers({"X-Business-Use-Case-Usage": buc, "X-App-Usage": "[1,2]"})
    assert readings["42"].percent == 0
    assert readings["42"].regain_seconds == 0


def test_a_redirect_is_never_followed_and_names_the_host() -> None:
    """issue 12: a 302 made the tap accept another host's answer; a 307 on the batch POST
    re-sent every page token to it. Graph never redirects API calls."""
    client, _ = _client()
    with requests_mock.Mocker() as m:
        m.get(
            f"{BASE}/v25.0/42/insights",
            status_code=302,
            headers={"Location": "https://evil.example/steal"},
        )
        evil = m.get("https://evil.example/steal", json={"data": [{"name": "x"}]})
        m.post(f"{BASE}/v25.0/", status_code=307, headers={"Location": "https://evil.example/b"})
        evil_post = m.post("https://evil.example/b", json=[])
        with pytest.raises(GraphError, match=r"redirect to evil\.example"):
            client.get("42/insights", token=PAGE_TOKEN, scope="42")
        with pytest.raises(GraphError, match="redirect"):
            client.request("POST", "", data={"batch": "[]"}, envelope=True)
    assert not evil.called
    assert not evil_post.called


def test_a_slow_down_reading_spaces_calls_and_never_postpones_them() -> None:
    """The batch dispatcher asks the pacer again on every wake-up: the spacing must be counted
    from the reading, or a page in the 75-95 % band is postponed forever (a hang seen with a
    failing page whose usage kept rising)."""
    clock = _Clock()
    pacer = UsagePacer(max_wait_seconds=0.05, clock=clock)
    pacer.observe({"X-App-Usage": json.dumps({"call_count": 90})})
    first, _, _ = pacer.wait("42")
    assert 0 < first <= 0.05
    for _ in range(10):  # asked again and again while time passes
        clock.now += 0.01
        pacer.wait("42")
    assert pacer.wait("42")[0] == 0


def test_api_error_text_is_one_clean_line() -> None:
    """Issue 12 (low): API error text was printed raw (newlines, ANSI escapes)."""
    body = json.dumps(
        {"error": {"message": "bad\n\x1b[31mred\x1b[0m\r\nthing", "code": 100, "type": "x"}}
    )
    _, error = interpret_response(400, body, path="/1/insights")
    assert error is not None
    assert "\n" not in error.describe()
    assert "\x1b" not in error.describe()
    assert error.message.startswith("bad")
