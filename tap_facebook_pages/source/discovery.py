"""Page discovery: which pages the token can read, with their page tokens and metadata.

One paginated ``/me/accounts`` call (field expansion, 100 per page of results) returns every
page's metadata, tasks and page token at once; the ``pages`` stream emits the same rows, so no
page costs an extra call. Pages named in ``page_ids`` but absent from ``/me/accounts``
(business-linked pages) are read directly with ``/{page-id}?fields=…,access_token``. When the
configured token is itself a page token, ``/me`` is that page.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tap_facebook_pages.graph.client import GraphClient
from tap_facebook_pages.graph.errors import AuthError, BadRequestError, GraphError

PAGE_FIELDS = (
    "id",
    "name",
    "category",
    "category_list",
    "fan_count",
    "followers_count",
    "verification_status",
    "link",
    "username",
    "about",
    "website",
    "is_published",
)
ANALYZE = "ANALYZE"
# What a page node carries beside its metadata fields (schema drift does not compare them).
_NOT_FIELDS = frozenset({"access_token", "tasks"})


@dataclass
class Page:
    """A page the run will read: its metadata row and the token to read it with."""

    id: str
    token: str
    record: dict[str, Any]
    tasks: tuple[str, ...] | None = None  # None: unknown (page token, or direct lookup)
    answered: tuple[str, ...] = ()  # the fields the API answered (not the token or tasks)

    @property
    def name(self) -> str:
        """The page's display name (may be empty)."""
        return str(self.record.get("name") or "")

    @property
    def can_analyze(self) -> bool:
        """False only when the API told us the token lacks the ANALYZE task on this page."""
        return self.tasks is None or ANALYZE in self.tasks


@dataclass
class Discovery:
    """The result of discovery: readable pages, and what could not be read."""

    pages: list[Page] = field(default_factory=list)
    problems: list[tuple[str, GraphError]] = field(default_factory=list)


def _page_from_node(node: dict[str, Any], fallback_token: str | None) -> Page | None:
    token = node.get("access_token") or fallback_token
    if not node.get("id") or not token:
        return None
    tasks = node.get("tasks")
    record = {k: node.get(k) for k in PAGE_FIELDS}
    record["tasks"] = list(tasks) if isinstance(tasks, list) else None
    return Page(
        id=str(node["id"]),
        token=str(token),
        record=record,
        tasks=tuple(tasks) if isinstance(tasks, list) else None,
        answered=tuple(sorted(str(k) for k in node if k not in _NOT_FIELDS)),
    )


def _is_page_token_error(error: BadRequestError) -> bool:
    return "accounts" in error.message and "node type (Page)" in error.message


def discover_pages(
    client: GraphClient,
    page_ids: Iterable[str] | None,
    logger: logging.Logger,
) -> Discovery:
    """Every page to read, in ``page_ids`` order when given, else in ``/me/accounts`` order."""
    fields = ",".join((*PAGE_FIELDS, "tasks", "access_token"))
    found: dict[str, Page] = {}
    try:
        for body in client.iterate("me/accounts", {"fields": fields, "limit": 100}):
            for node in body.get("data") or ():
                page = _page_from_node(node, None)
                if page is not None:
                    client.register_token(page.token)
                    found[page.id] = page
    except BadRequestError as error:
        if not _is_page_token_error(error):
            raise
        node = client.get("me", {"fields": ",".join(PAGE_FIELDS)})
        page = _page_from_node(node, client.access_token)
        if page is not None:
            found[page.id] = page
    result = Discovery()
    wanted = [str(p) for p in page_ids] if page_ids else list(found)
    for page_id in wanted:
        page = found.get(page_id)
        if page is None:
            try:
                node = client.get(page_id, {"fields": ",".join((*PAGE_FIELDS, "access_token"))})
            except AuthError:
                raise
            except GraphError as error:
                logger.warning(
                    "Page %s is not readable with this token (%s); skipping it. Check that the "
                    "token's user has a role on the page and granted pages_show_list.",
                    page_id,
                    error.describe(),
                )
                result.problems.append((page_id, error))
                continue
            page = _page_from_node(node, None)
            if page is None:
                logger.warning(
                    "Page %s returned no page token: the token's user needs a role on the page; "
                    "skipping it.",
                    page_id,
                )
                continue
            client.register_token(page.token)
        result.pages.append(page)
    return result


REQUIRED_PERMISSIONS = ("pages_show_list", "pages_read_engagement", "read_insights")


def granted_permissions(client: GraphClient, logger: logging.Logger) -> list[str] | None:
    """Every permission the token's user granted, sorted (one ``/me/permissions`` call), or None
    if unknown (a page token has no ``/me/permissions``)."""
    try:
        body = client.get("me/permissions")
    except AuthError:
        raise
    except GraphError as error:
        logger.debug("Could not read the token's permissions: %s", error.describe())
        return None
    return sorted(
        {
            str(p.get("permission"))
            for p in body.get("data") or ()
            if isinstance(p, dict) and p.get("status") == "granted"
        }
    )


def missing_of(granted: Iterable[str] | None) -> list[str] | None:
    """The required permissions absent from ``granted`` (None: unknown)."""
    if granted is None:
        return None
    have = set(granted)
    return [p for p in REQUIRED_PERMISSIONS if p not in have]


def missing_permissions(client: GraphClient, logger: logging.Logger) -> list[str] | None:
    """Required permissions the token lacks (one ``/me/permissions`` call), or None if unknown.

    Without ``read_insights`` the API does not fail: insights come back empty, so this is the
    only way to tell a quiet page from a missing permission. A page token has no
    ``/me/permissions``; then the answer is unknown.
    """
    return missing_of(granted_permissions(client, logger))
