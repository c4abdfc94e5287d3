"""``posts``, ``post_insights``, ``reels`` and ``reel_insights``: partitioned by page.

Each stream has one SDK partition per page (context ``{"page_id": …}``, ids only, never tokens),
so each page keeps its own bookmark (``bookmarks.<stream>.partitions[]``) and the insights streams
remember the metrics the API rejected for that page next to it (``invalid_metrics``). The rows
of a pair come from the same listing calls (:mod:`tap_facebook_pages.source.content`). Rows are
emitted ascending by creation time, window by window, with a STATE message after every complete
window.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

from singer_sdk import typing as th

from tap_facebook_pages.report import StreamMeter
from tap_facebook_pages.source.content import POSTS, REELS, ContentKind, content_start
from tap_facebook_pages.source.discovery import Page
from tap_facebook_pages.streams.base import GraphStream
from tap_facebook_pages.streams.schemas import value_properties

POSTS_SCHEMA = th.PropertiesList(
    th.Property("id", th.StringType, required=True, description="Post id ({page-id}_{post-id})"),
    th.Property("page_id", th.StringType, required=True, description="Page id"),
    th.Property("message", th.StringType),
    th.Property("created_time", th.DateTimeType, required=True, description="RFC 3339 UTC"),
    th.Property("updated_time", th.DateTimeType),
    th.Property("permalink_url", th.StringType),
    th.Property("status_type", th.StringType),
    th.Property("is_published", th.BooleanType),
    th.Property("shares_count", th.IntegerType, description="Shares (0 when the API omits it)"),
    th.Property(
        "reactions_count",
        th.IntegerType,
        description="reactions.summary.total_count (null without pages_read_user_content)",
    ),
    th.Property(
        "comments_count",
        th.IntegerType,
        description="comments.summary.total_count (null without pages_read_user_content)",
    ),
    th.Property(
        "metadata", th.ObjectType(), description="The post as returned, without the insights"
    ),
    th.Property(
        "metadata_json",
        th.StringType,
        description="`metadata` as a JSON string (kept whole under schema flattening)",
    ),
).to_dict()

REELS_SCHEMA = th.PropertiesList(
    th.Property("id", th.StringType, required=True, description="Video id of the reel"),
    th.Property("page_id", th.StringType, required=True, description="Page id"),
    th.Property("description", th.StringType),
    th.Property("title", th.StringType),
    th.Property("created_time", th.DateTimeType, required=True, description="RFC 3339 UTC"),
    th.Property("updated_time", th.DateTimeType),
    th.Property("permalink_url", th.StringType),
    th.Property("length", th.NumberType, description="Length in seconds"),
    th.Property(
        "metadata", th.ObjectType(), description="The reel as returned, without the insights"
    ),
    th.Property(
        "metadata_json",
        th.StringType,
        description="`metadata` as a JSON string (kept whole under schema flattening)",
    ),
).to_dict()


def _insights_schema(id_field: str, created_field: str, what: str) -> dict[str, Any]:
    return th.PropertiesList(
        th.Property(id_field, th.StringType, required=True, description=f"{what} id"),
        th.Property("page_id", th.StringType, required=True, description="Page id"),
        th.Property(
            created_field,
            th.DateTimeType,
            required=True,
            description=f"Creation time of the {what.lower()} (the replication key)",
        ),
        th.Property("metric", th.StringType, required=True, description="Metric name"),
        th.Property("period", th.StringType, required=True, description="Always lifetime"),
        th.Property(
            "date",
            th.DateType,
            required=True,
            description="The Pacific day the lifetime total was observed (the extraction day)",
        ),
        th.Property("end_time", th.DateTimeType, description="Null for lifetime values"),
        *value_properties(),
    ).to_dict()


class ContentStream(GraphStream):
    """One stream of a posts/reels pair, partitioned by page."""

    kind: ContentKind = POSTS
    insights = False
    # Opt-in: select these streams in the catalog (Meltano: ``select``). Runs without a catalog,
    # and existing pipelines, keep extracting only pages and page insights.
    selected_by_default = False
    is_sorted = True
    check_sorted = False  # the lookback re-reads objects created before the bookmark, by design
    STATE_MSG_FREQUENCY = 10**12  # state is written per complete window instead

    @property
    def partitions(self) -> list[dict[str, Any]] | None:
        """One partition per page (insights: per page whose token's user can ANALYZE)."""
        pages = self.runtime.pages
        if self.insights:
            pages = [p for p in pages if p.can_analyze]
        return [{"page_id": p.id} for p in pages]

    def _page(self, context: Any) -> Page | None:
        page_id = (context or {}).get("page_id")
        return next((p for p in self.runtime.pages if p.id == page_id), None)

    def listing_start(self, page: Page) -> datetime.date:
        """First day this stream needs for ``page``: start_date, or bookmark/lookback."""
        state = self.get_context_state({"page_id": page.id})
        settings = self.settings
        return content_start(
            state.get("replication_key_value"),
            settings,
            floor=settings.start_date if settings.start_date_explicit else None,
        )

    def get_records(self, context: Any) -> Iterator[dict[str, Any]]:
        """The page's rows window by window, ascending; STATE after each complete window."""
        page = self._page(context)
        if page is None:
            return
        meter = StreamMeter(self.graph.stats(page.id))
        listing = self.runtime.content.listing(self.kind, page, self)
        count = 0
        for window in listing.consume(self.name, self.logger):
            rows = window.insights if self.insights else window.objects
            for row in rows or ():
                count += 1
                yield row
            self.checkpoint()  # every row of this window has been processed
        fields: dict[str, Any] = {}
        if self.insights:
            fields["invalid_metrics"] = sorted(set(listing.invalid_found))
        self.report.stream_done(
            self.logger, meter, page_id=page.id, stream=self.name, rows=count, **fields
        )


class PostsStream(ContentStream):
    """Posts published by each page (``/{page-id}/posts``)."""

    name = "posts"
    kind = POSTS
    primary_keys = ("id",)
    replication_key = "created_time"
    schema = POSTS_SCHEMA


class PostInsightsStream(ContentStream):
    """Lifetime post insights, observed daily (field expansion on the posts listing)."""

    name = "post_insights"
    kind = POSTS
    insights = True
    primary_keys = ("post_id", "metric", "period", "date", "breakdown_key")
    replication_key = "post_created_time"
    schema = _insights_schema("post_id", "post_created_time", "Post")


class ReelsStream(ContentStream):
    """Reels of each page (``/{page-id}/video_reels``)."""

    name = "reels"
    kind = REELS
    primary_keys = ("id",)
    replication_key = "created_time"
    schema = REELS_SCHEMA


class ReelInsightsStream(ContentStream):
    """Lifetime reel insights, observed daily (field expansion on the reels listing)."""

    name = "reel_insights"
    kind = REELS
    insights = True
    primary_keys = ("video_id", "metric", "period", "date", "breakdown_key")
    replication_key = "video_created_time"
    schema = _insights_schema("video_id", "video_created_time", "Video")
