"""Permission regressions: what the token could do last run, compared with this run.

Each run remembers the scopes ``/me/permissions`` granted and each page's tasks from
``/me/accounts`` in STATE, under the ``pages`` stream's bookmark (``bookmarks.pages.permissions``:
the SDK reads back only ``bookmarks`` from an input state, and ``pages`` is full-table, so the
entry holds nothing else). The next run compares: a scope granted before and not now, or a task a
page had before and not now, is a regression (one WARNING ``permission_regression {json}`` each,
from the run report). The remembered values then become this run's, so a regression is reported
once, on the run that first sees it.

What a run cannot see is left as remembered: scopes when ``/me/permissions`` is not readable (a
page token), a page's tasks when they are unknown (page token, direct lookup) or the page is not
in this run (another shard, left out of ``page_ids``, vanished).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

STATE_STREAM = "pages"
STATE_KEY = "permissions"


@dataclass(frozen=True)
class Regression:
    """Something the token could do last run and cannot now."""

    what: str  # "scope" or "page_tasks"
    lost: tuple[str, ...]
    page_id: str | None = None


def _names(value: Any) -> set[str] | None:
    if not isinstance(value, list):
        return None
    return {str(item) for item in value}


def compare(
    remembered: Any,
    *,
    scopes: Iterable[str] | None,
    page_tasks: Mapping[str, Iterable[str] | None],
) -> tuple[dict[str, Any], list[Regression]]:
    """This run's memory (to store) and the regressions since ``remembered`` (the previous
    run's memory, anything when there is none or it is malformed)."""
    before = remembered if isinstance(remembered, Mapping) else {}
    regressions: list[Regression] = []

    old_scopes = _names(before.get("scopes"))
    new_scopes = sorted(set(scopes)) if scopes is not None else None
    if old_scopes is not None and new_scopes is not None:
        lost = sorted(old_scopes - set(new_scopes))
        if lost:
            regressions.append(Regression("scope", tuple(lost)))
    memory_scopes = new_scopes if new_scopes is not None else before.get("scopes")

    old_pages = before.get("page_tasks")
    memory_pages: dict[str, Any] = dict(old_pages) if isinstance(old_pages, Mapping) else {}
    for page_id, tasks in page_tasks.items():
        if tasks is None:
            continue
        current = sorted(set(tasks))
        previous = _names(memory_pages.get(page_id))
        if previous is not None:
            lost = sorted(previous - set(current))
            if lost:
                regressions.append(Regression("page_tasks", tuple(lost), page_id))
        memory_pages[page_id] = current

    memory: dict[str, Any] = {}
    if memory_scopes is not None:
        memory["scopes"] = memory_scopes
    memory["page_tasks"] = dict(sorted(memory_pages.items()))
    return memory, regressions
