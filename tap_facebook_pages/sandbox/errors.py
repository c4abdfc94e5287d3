"""Graph API errors as the sandbox returns them (bodies and statuses of ``graph-api.md`` §6)."""

from __future__ import annotations

import datetime
from typing import Any

from tap_facebook_pages.sandbox.data import pacific_midnight

UNSUPPORTED_SUFFIX = (
    "does not exist, cannot be loaded due to missing permissions, or does not support this "
    "operation. Please read the Graph API documentation at "
    "https://developers.facebook.com/docs/graph-api"
)
APP_THROTTLE_MESSAGES = {
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    613: "(#613) Calls to this api have exceeded the rate limit.",
}
BUC_THROTTLE_MESSAGE = (
    "(#80001) There have been too many calls to this Page account. Wait a bit and try again. "
    "For more info, please refer to "
    "https://developers.facebook.com/docs/graph-api/overview/rate-limiting."
)
PAGE_PERMISSION_MESSAGE = (
    "(#100) Object does not exist, cannot be loaded due to missing permission or reviewable "
    "feature, or does not support this operation. This endpoint requires the "
    "'pages_read_engagement' permission or the 'Page Public Content Access' feature or the "
    "'Page Public Metadata Access' feature. Refer to "
    "https://developers.facebook.com/docs/apps/review/login-permissions#manage-pages and "
    "https://developers.facebook.com/docs/apps/review/feature#reference-PAGES_ACCESS for details."
)
_TOKEN_CODES = frozenset({102, 190})


class GraphError(Exception):
    """An error the sandbox answers with: HTTP status plus the Graph ``{"error": {...}}`` body."""

    def __init__(
        self,
        status: int,
        code: int | None,
        message: str,
        *,
        error_type: str = "OAuthException",
        subcode: int | None = None,
        is_transient: bool = False,
        bare: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.error_type = error_type
        self.subcode = subcode
        self.is_transient = is_transient
        self.bare = bare

    def body(self, trace_id: str) -> dict[str, Any]:
        """The JSON body, with ``fbtrace_id`` set to ``trace_id``.

        A ``bare`` error carries only ``message`` and ``code`` (some #200 bodies, §11.2)."""
        if self.bare:
            return {"error": {"message": self.message, "code": self.code}}
        error: dict[str, Any] = {"message": self.message, "type": self.error_type}
        if self.is_transient:
            error["is_transient"] = True
        if self.code is not None:
            error["code"] = self.code
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        error["fbtrace_id"] = trace_id
        return {"error": error}

    @property
    def www_authenticate(self) -> str:
        """The ``WWW-Authenticate`` header value real Graph errors carry."""
        kind = "invalid_token" if self.code in _TOKEN_CODES else "invalid_request"
        message = self.message.replace('"', "'")
        return f'OAuth "Facebook Platform" "{kind}" "{message}"'


def invalid_parameter(message: str) -> GraphError:
    """A generic ``(#100)`` invalid-parameter error; ``message`` must carry the prefix."""
    return GraphError(400, 100, message)


def invalid_metric() -> GraphError:
    """One unknown or retired metric fails the whole insights call."""
    return invalid_parameter("(#100) The value must be a valid insights metric")


def monetization_permission() -> GraphError:
    """A monetization metric asked by a token without monetization insights (§11.1): HTTP 403,
    a body with only ``message`` and ``code``; the whole call fails."""
    return GraphError(
        403,
        200,
        "(#200) Monetization metrics are only visible for Page admins with access to "
        "monetization insights.",
        bare=True,
    )


def page_permission() -> GraphError:
    """The page-level permission condition of §11.2 (code 100, no subcode)."""
    return invalid_parameter(PAGE_PERMISSION_MESSAGE)


def reduce_data() -> GraphError:
    """Code 1 subcode 99 "Please reduce the amount of data..." (HTTP 500, §11.2)."""
    return GraphError(
        500,
        1,
        "Please reduce the amount of data you're asking for, then retry your request",
        subcode=99,
    )


def invalid_period(period: str) -> GraphError:
    """A period a metric refuses with code 100 (§11.1: ``lifetime`` of some page metrics).

    The shared notes record only the code; the message text is the sandbox's own."""
    return invalid_parameter(f"(#100) The metric does not support period {period}")


def app_limit_spike() -> GraphError:
    """``(#4)`` with ``is_transient`` as seen with usage far above 100% (§11.2, HTTP 403)."""
    return GraphError(403, 4, APP_THROTTLE_MESSAGES[4], is_transient=True)


def nonexisting_field(field: str, node_type: str) -> GraphError:
    """A field the node type does not have."""
    return invalid_parameter(
        f"(#100) Tried accessing nonexisting field ({field}) on node type ({node_type})"
    )


def unsupported_get(object_id: str) -> GraphError:
    """Unknown or inaccessible object (code 100, subcode 33)."""
    return GraphError(
        400,
        100,
        f"Unsupported get request. Object with ID '{object_id}' {UNSUPPORTED_SUFFIX}",
        error_type="GraphMethodException",
        subcode=33,
    )


def unsupported_post(object_id: str) -> GraphError:
    """Writes are not supported by the sandbox."""
    return GraphError(
        400,
        100,
        f"Unsupported post request. Object with ID '{object_id}' {UNSUPPORTED_SUFFIX}",
        error_type="GraphMethodException",
        subcode=33,
    )


def unknown_path(components: str) -> GraphError:
    """A path the Graph API does not know."""
    return GraphError(400, 2500, f"Unknown path components: {components}")


def syntax_error(detail: str) -> GraphError:
    """A malformed ``fields`` expression."""
    return GraphError(400, 2500, f"Syntax error {detail}")


def missing_metric() -> GraphError:
    """``metric`` missing on an insights call (3001 / 1504028)."""
    return GraphError(
        400,
        3001,
        "No metric was specified to be fetched. Please specify one or more metrics to be "
        "fetched and try again.",
        subcode=1504028,
    )


def span_too_long() -> GraphError:
    """``until - since`` above 93 days."""
    return invalid_parameter(
        "(#100) There cannot be more than 93 days (8035200 s) between since and until"
    )


def page_token_required() -> GraphError:
    """A Page-token-only edge called with a User token."""
    return GraphError(400, 190, "(#190) This method must be called with a Page Access Token")


def permissions_error() -> GraphError:
    """Permission revoked (403, code 200)."""
    return GraphError(403, 200, "(#200) Permissions error")


def missing_user_content_permission() -> GraphError:
    """Reactions or comments requested without ``pages_read_user_content``."""
    return GraphError(
        400,
        10,
        "(#10) This endpoint requires the 'pages_read_user_content' permission or the "
        "'Page Public Content Access' feature.",
    )


def unknown_error() -> GraphError:
    """Transient code 1 (HTTP 500)."""
    return GraphError(500, 1, "An unknown error occurred", subcode=99)


def service_error() -> GraphError:
    """Transient code 2 (HTTP 500, ``is_transient``)."""
    return GraphError(
        500,
        2,
        "An unexpected error has occurred. Please retry your request later.",
        is_transient=True,
    )


def no_token() -> GraphError:
    """No access token on the request (code 2500)."""
    return GraphError(
        400,
        2500,
        "An active access token must be used to query information about the current user.",
    )


def expired_token(today: datetime.date) -> GraphError:
    """Code 190 / 463: the session expired yesterday at 10:00 Pacific."""
    expired = pacific_midnight(today - datetime.timedelta(days=1)).add(hours=10)
    current = pacific_midnight(today).add(hours=6, minutes=41, seconds=7)
    fmt = "%A, %d-%b-%y %H:%M:%S %Z"
    return GraphError(
        400,
        190,
        f"Error validating access token: Session has expired on {expired.strftime(fmt)}. "
        f"The current time is {current.strftime(fmt)}.",
        subcode=463,
    )


def bad_app_token() -> GraphError:
    """Code 190: an app token ``{app-id}|{app-secret}`` with a wrong id or secret."""
    return GraphError(400, 190, "Invalid OAuth access token signature.")


def bad_appsecret_proof() -> GraphError:
    """``appsecret_proof`` missing or not the HMAC of the token used."""
    return GraphError(
        400,
        100,
        "Invalid appsecret_proof provided in the API argument",
        error_type="GraphMethodException",
    )


def too_many_batch_requests() -> GraphError:
    """A batch of more than 50 requests."""
    return GraphError(
        400,
        None,
        "Too many requests in batch message. Maximum batch size is 50",
        error_type="GraphBatchException",
    )


def buc_throttled() -> GraphError:
    """Pages Business Use Case limit reached (code 80001)."""
    return GraphError(400, 80001, BUC_THROTTLE_MESSAGE)


def app_throttled(code: int) -> GraphError:
    """App / user / page-with-user-token limit (codes 4, 17, 32, 613)."""
    return GraphError(400, code, APP_THROTTLE_MESSAGES[code])
