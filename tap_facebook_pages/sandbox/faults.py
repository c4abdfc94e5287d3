"""Fault-injection settings of the sandbox and their validation.

All faults are deterministic given ``seed``: transient errors come from a seeded
``random.Random`` drawn once per Graph call, null batch items from a hash of the seed and the
item's ``relative_url``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tap_facebook_pages.sandbox.errors import APP_THROTTLE_MESSAGES

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
)


@dataclass(frozen=True)
class ThrottleSpec:
    """After ``after_calls`` successful calls, the next ``throttled_calls`` calls are throttled."""

    after_calls: int
    throttled_calls: int
    regain_minutes: int = 0
    code: int = 80001


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


def _names(raw: Mapping[str, Any], key: str) -> frozenset[str]:
    value = raw.get(key) or ()
    if isinstance(value, str):
        raise ValueError(f"{key} must be a list of strings, got a string")
    return frozenset(str(item) for item in value)


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
