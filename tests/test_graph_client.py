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
    INVALID_METRIC,
    PERMISSION,
    RETRY,
    THROTTLE,
    AuthError,
    BadRequestError,
    TransientError,
    classify_error_body,
    interpret_response,
)
from tap_facebook_pages.graph.redact import RedactingFilter, Redactor, strip_secret_params

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
        (403, {"code": 200}, PERMISSION),
        (403, {"code": 299}, PERMISSION),
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
    assert slept == [30]  # 2 minutes, capped at 30 s
    assert client.stats("42").throttle_wait_s == 30


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
