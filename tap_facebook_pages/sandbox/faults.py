"""Fault-injection settings of the sandbox and their validation.

All faults are deterministic given ``seed``: transient errors come from a seeded
``random.Random`` drawn once per Graph call, null batch items from a hash of the seed and the
item's ``relative_url``; the others follow call counts or fixed rules.

Hostile-answer faults (each off by default):

- ``malformed``: ``{page_id: kind}``; that page's ``/insights`` answers (plain GETs and batch
  items alike) are perturbed as :mod:`tap_facebook_pages.sandbox.malform` documents for each
  kind of :data:`~tap_facebook_pages.sandbox.malform.MALFORMED_KINDS`.
- ``batch_item_garbage``: ``{page_id: "not_object" | "body_object"}``; every batch item whose
  call touches that page is the JSON number ``7`` (``not_object``), or keeps its ``code`` and
  ``headers`` but carries ``body`` as a JSON object instead of a string (``body_object``).
- ``usage_garbage``: ``true``: the BUC usage header's ``estimated_time_to_regain_access`` is the
  string ``"soon"``.
- ``app_usage_spike``: ``{"after_calls": N, "call_count": C}`` (C defaults to 724): Graph call
  N+1 (plain requests and batch items, counted from the fault being set) answers HTTP 403
  ``(#4) Application request limit reached`` with ``is_transient`` and only the header
  ``X-App-Usage: {"call_count":C,"total_cputime":30,"total_time":40}``; every later answer
  carries no ``X-App-Usage`` and no ``X-Business-Use-Case-Usage`` header at all.
- ``page_permission_pages``: page ids whose node reads (``/{page}``, with any fields) and
  ``/{page}/insights`` answer the §11.2 page-level permission body (HTTP 400, code 100, type
  ``OAuthException``, no subcode).
- ``redirect``: ``"get"``: every plain insights GET (page, post or reel) answers 302 with
  ``Location: http://127.0.0.2:9/elsewhere`` and an empty body; ``"batch"``: the batch POST
  answers 307 with that ``Location``. The sandbox never follows them.
- ``spurious_invalid_metric``: K: the first K insights calls that reach their handler and name
  2 or more metrics answer ``(#100) The value must be a valid insights metric`` although every
  metric is live (later identical calls succeed).
- ``vanished_pages``: page ids left out of ``/me/accounts`` (still readable by id).
- ``token_expires_in_days``: N: ``/debug_token`` answers ``expires_at`` N days from now (the
  wall clock, which the tap compares it with; default 0, a token that never expires).
- ``data_access_expires_in_days``: N: ``/debug_token`` answers ``data_access_expires_at`` N days
  from now (wall clock; default 90).
- ``debug_token_error``: ``"app_token"``: ``/debug_token`` answers HTTP 400, code 190
  ``Invalid OAuth access token signature.`` (what a wrong app token gets); ``"unsupported"``:
  HTTP 400, code 100, subcode 33 ``Unsupported get request``. Every other call is unaffected.
- ``page_fields``: ``{"drop": [field, ...], "add": {field: value}}``: every page node (in
  ``/me/accounts``, ``/me`` and ``/{page}`` reads) leaves the ``drop`` fields out although they
  were asked for, and carries the ``add`` fields although they were not (as an API change would).
- ``bad_created_time``: page ids whose newest post (the first its listings show) has
  ``created_time`` ``"yesterday-ish"`` in listings and node reads (``since``/``until``
  filtering still uses the real time).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tap_facebook_pages.sandbox.errors import APP_THROTTLE_MESSAGES
from tap_facebook_pages.sandbox.malform import MALFORMED_KINDS

FAULT_KEYS = (
    "seed",
    "transient_error_rate",
    "throttle",
    "app_throttle",
    "revoked_pages",
    "failing_pages",
    "expired_token",
    "missing_permissions",
    "retired_metrics",
    "null_batch_item_rate",
    "usage_step",
    "latency_ms",
    "malformed",
    "batch_item_garbage",
    "usage_garbage",
    "app_usage_spike",
    "page_permission_pages",
    "redirect",
    "spurious_invalid_metric",
    "vanished_pages",
    "bad_created_time",
    "token_expires_in_days",
    "data_access_expires_in_days",
    "debug_token_error",
    "page_fields",
)
BATCH_ITEM_GARBAGE_KINDS = ("not_object", "body_object")
REDIRECT_KINDS = ("get", "batch")
DEBUG_TOKEN_ERRORS = ("app_token", "unsupported")
REDIRECT_LOCATION = "http://127.0.0.2:9/elsewhere"


@dataclass(frozen=True)
class ThrottleSpec:
    """After ``after_calls`` successful calls, the next ``throttled_calls`` calls are throttled."""

    after_calls: int
    throttled_calls: int
    regain_minutes: int = 0
    code: int = 80001


@dataclass(frozen=True)
class AppUsageSpike:
    """Call ``after_calls + 1`` answers #4 with ``X-App-Usage`` ``call_count``; later calls carry
    no usage headers."""

    after_calls: int
    call_count: int = 724


@dataclass(frozen=True)
class Faults:
    """Validated fault settings (see ``FAULT_KEYS``); the default injects nothing."""

    seed: int = 0
    transient_error_rate: float = 0.0
    throttle: Mapping[str, ThrottleSpec] = field(default_factory=dict, hash=False)
    app_throttle: ThrottleSpec | None = None
    revoked_pages: frozenset[str] = frozenset()
    failing_pages: frozenset[str] = frozenset()
    expired_token: bool = False
    missing_permissions: frozenset[str] = frozenset()
    retired_metrics: frozenset[str] = frozenset()
    null_batch_item_rate: float = 0.0
    usage_step: float = 1.0
    latency_ms: float | None = None
    malformed: Mapping[str, str] = field(default_factory=dict, hash=False)
    batch_item_garbage: Mapping[str, str] = field(default_factory=dict, hash=False)
    usage_garbage: bool = False
    app_usage_spike: AppUsageSpike | None = None
    page_permission_pages: frozenset[str] = frozenset()
    redirect: str | None = None
    spurious_invalid_metric: int = 0
    vanished_pages: frozenset[str] = frozenset()
    bad_created_time: frozenset[str] = frozenset()
    token_expires_in_days: int | None = None
    data_access_expires_in_days: int | None = None
    debug_token_error: str | None = None
    drop_page_fields: frozenset[str] = frozenset()
    add_page_fields: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> Faults:
        """Validate a user-supplied fault dict; unknown keys or bad values raise ``ValueError``."""
        raw = dict(raw or {})
        unknown = sorted(set(raw) - set(FAULT_KEYS))
        if unknown:
            raise ValueError(f"unknown fault keys {unknown}; known: {', '.join(FAULT_KEYS)}")
        latency = raw.get("latency_ms")
        return cls(
            seed=int(raw.get("seed", 0)),
            transient_error_rate=_rate(raw, "transient_error_rate"),
            throttle={
                str(page): _throttle(spec, f"throttle[{page}]", app=False)
                for page, spec in dict(raw.get("throttle") or {}).items()
            },
            app_throttle=(
                _throttle(raw["app_throttle"], "app_throttle", app=True)
                if raw.get("app_throttle")
                else None
            ),
            revoked_pages=_names(raw, "revoked_pages"),
            failing_pages=_names(raw, "failing_pages"),
            expired_token=bool(raw.get("expired_token", False)),
            missing_permissions=_names(raw, "missing_permissions"),
            retired_metrics=_names(raw, "retired_metrics"),
            null_batch_item_rate=_rate(raw, "null_batch_item_rate"),
            usage_step=_non_negative(float(raw.get("usage_step", 1.0)), "usage_step"),
            latency_ms=None if latency is None else _non_negative(float(latency), "latency_ms"),
            malformed=_kinds(raw, "malformed", MALFORMED_KINDS),
            batch_item_garbage=_kinds(raw, "batch_item_garbage", BATCH_ITEM_GARBAGE_KINDS),
            usage_garbage=_flag(raw, "usage_garbage"),
            app_usage_spike=_spike(raw.get("app_usage_spike")),
            page_permission_pages=_names(raw, "page_permission_pages"),
            redirect=_choice(raw, "redirect", REDIRECT_KINDS),
            spurious_invalid_metric=_count(raw, "spurious_invalid_metric"),
            vanished_pages=_names(raw, "vanished_pages"),
            bad_created_time=_names(raw, "bad_created_time"),
            token_expires_in_days=_optional_count(raw, "token_expires_in_days"),
            data_access_expires_in_days=_optional_count(raw, "data_access_expires_in_days"),
            debug_token_error=_choice(raw, "debug_token_error", DEBUG_TOKEN_ERRORS),
            drop_page_fields=_names(dict(raw.get("page_fields") or {}), "drop"),
            add_page_fields=_added_fields(raw.get("page_fields")),
        )

    def is_null_batch_item(self, relative_url: str) -> bool:
        """Whether the first attempt of the batch item ``relative_url`` times out (``null``)."""
        return stable_fraction(self.seed, "null-batch-item", relative_url) < (
            self.null_batch_item_rate
        )


def stable_fraction(*parts: object) -> float:
    """A deterministic number in ``[0, 1)`` derived from ``parts``."""
    digest = hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _rate(raw: Mapping[str, Any], key: str) -> float:
    value = float(raw.get(key, 0.0))
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{key} must be between 0 and 1, got {value}")
    return value


def _non_negative(value: float, key: str) -> float:
    if value < 0:
        raise ValueError(f"{key} must not be negative, got {value}")
    return value


def _added_fields(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or set(raw) - {"drop", "add"}:
        raise ValueError('page_fields must be {"drop": [fields], "add": {field: value}}')
    added = raw.get("add") or {}
    if not isinstance(added, Mapping):
        raise ValueError("page_fields.add must be an object of field: value")
    return {str(name): value for name, value in added.items()}


def _names(raw: Mapping[str, Any], key: str) -> frozenset[str]:
    value = raw.get(key) or ()
    if isinstance(value, str):
        raise ValueError(f"{key} must be a list of strings, got a string")
    return frozenset(str(item) for item in value)


def _kinds(raw: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> dict[str, str]:
    value = raw.get(key) or {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{key} must be an object mapping page ids to one of {list(allowed)}")
    kinds = {str(page): str(kind) for page, kind in value.items()}
    bad = sorted({kind for kind in kinds.values() if kind not in allowed})
    if bad:
        raise ValueError(f"{key}: unknown kinds {bad}; known: {', '.join(allowed)}")
    return kinds


def _flag(raw: Mapping[str, Any], key: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false, got {value!r}")
    return value


def _choice(raw: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if value not in allowed:
        raise ValueError(f"{key} must be one of {list(allowed)} or null, got {value!r}")
    return str(value)


def _count(raw: Mapping[str, Any], key: str) -> int:
    value = raw.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{key} must be a non-negative integer, got {value!r}")
    return value


def _optional_count(raw: Mapping[str, Any], key: str) -> int | None:
    return None if raw.get(key) is None else _count(raw, key)


def _spike(spec: Any) -> AppUsageSpike | None:
    if spec is None:
        return None
    if not isinstance(spec, Mapping):
        raise ValueError("app_usage_spike must be an object")
    unknown = sorted(set(spec) - {"after_calls", "call_count"})
    if unknown:
        raise ValueError(f"app_usage_spike: unknown keys {unknown}")
    if "after_calls" not in spec:
        raise ValueError("app_usage_spike.after_calls is required")
    after = _count(spec, "after_calls")
    call_count = _count(spec, "call_count") if "call_count" in spec else 724
    return AppUsageSpike(after_calls=after, call_count=call_count)


def _throttle(spec: Any, key: str, *, app: bool) -> ThrottleSpec:
    if not isinstance(spec, Mapping):
        raise ValueError(f"{key} must be an object")
    allowed = {"after_calls", "throttled_calls", "code" if app else "regain_minutes"}
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise ValueError(f"{key}: unknown keys {unknown}")
    code = int(spec.get("code", 4 if app else 80001))
    if app and code not in APP_THROTTLE_MESSAGES:
        raise ValueError(f"{key}.code must be one of {sorted(APP_THROTTLE_MESSAGES)}")
    return ThrottleSpec(
        after_calls=int(spec.get("after_calls", 0)),
        throttled_calls=int(spec.get("throttled_calls", 1)),
        regain_minutes=int(spec.get("regain_minutes", 0)),
        code=code,
    )
