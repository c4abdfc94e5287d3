"""Schema fragments shared by the insights streams (page, post and reel insights)."""

from __future__ import annotations

from singer_sdk import typing as th


def value_properties() -> list[th.Property]:
    """The schema of the value part of every insights row (page, post and reel insights)."""
    return [
        th.Property("value", th.NumberType, description="The value (null when not a number)"),
        th.Property(
            "value_json",
            th.StringType,
            description="The original value as JSON when it is not a plain number, else null",
        ),
        th.Property(
            "breakdown_key",
            th.StringType,
            required=True,
            description=(
                "'' for a plain value; the object key for object-valued metrics, or e.g. "
                "'is_from_ads=1' for breakdowns"
            ),
        ),
        th.Property("title", th.StringType),
        th.Property("description", th.StringType),
    ]
