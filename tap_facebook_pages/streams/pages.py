"""The ``pages`` stream: one row per page, from the discovery call itself (no extra calls)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from singer_sdk import typing as th

from tap_facebook_pages.streams.base import GraphStream

PAGES_SCHEMA = th.PropertiesList(
    th.Property("id", th.StringType, required=True, description="Page id"),
    th.Property("name", th.StringType, description="Page name"),
    th.Property("category", th.StringType),
    th.Property(
        "category_list",
        th.ArrayType(
            th.ObjectType(th.Property("id", th.StringType), th.Property("name", th.StringType))
        ),
    ),
    th.Property("fan_count", th.IntegerType),
    th.Property("followers_count", th.IntegerType),
    th.Property("verification_status", th.StringType),
    th.Property("link", th.StringType),
    th.Property("username", th.StringType),
    th.Property("about", th.StringType),
    th.Property("website", th.StringType),
    th.Property("is_published", th.BooleanType),
    th.Property(
        "tasks",
        th.ArrayType(th.StringType),
        description="Tasks the token's user can perform on the page (null when unknown)",
    ),
).to_dict()


class PagesStream(GraphStream):
    """Page metadata, emitted from the same ``/me/accounts`` call that discovers the pages."""

    name = "pages"
    primary_keys = ("id",)
    replication_key = None
    schema = PAGES_SCHEMA

    def get_records(self, context: Any) -> Iterable[dict[str, Any]]:
        """One row per discovered page."""
        for page in self.runtime.pages:
            yield dict(page.record)
