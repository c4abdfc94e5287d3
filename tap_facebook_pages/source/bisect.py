"""Survive a metric the API refuses inside a multi-metric request.

The Graph API fails a whole insights call when any one metric in it is refused: ``(#100) … valid
insights metric`` for a retired metric, ``(#200) …`` for a metric the token may not see (Meta's
monetization metrics), while the page's other metrics answer normally (shared/graph-api.md
§11). We find the culprit(s) by splitting the set: probe one half; a half that answers keeps its
data, a failing half is split again; halves never probed while chasing a culprit are sent
together at the end.

Never convict on one answer: a metric is declared refused only when the API refused a request
naming **it alone**. A culprit found by elimination (its set failed, its sibling answered) is
asked alone before it is convicted, so one spurious failure of the whole set costs calls, never
a live metric. One refused metric among ``n`` costs at most ``ceil(log2(n)) + 2`` extra calls
(``+ 1`` when it is caught by a probe of its own, which is the usual case for the first half).

Tell metric from page by what failed: when *every* metric of a request of two or more was
denied (#200-#299) alone and nothing answered, the condition is the page's, not a metric's, and
:class:`PageDeniedError` is raised instead. An empty metric list is never sent (error 3001).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from tap_facebook_pages.graph.errors import (
    DeniedError,
    GraphError,
    PagePermissionError,
    rejection_reason,
)

T = TypeVar("T")


class PageDeniedError(PagePermissionError):
    """Every metric of an insights request was denied alone: the page's permission is gone."""


@dataclass
class Isolation(Generic[T]):
    """What isolating a refused request produced."""

    results: list[T] = field(default_factory=list)
    rejected: dict[str, GraphError] = field(default_factory=dict)  # metric -> its own refusal
    calls: int = 0


def isolate_rejected(
    call: Callable[[list[str]], T],
    metrics: Sequence[str],
    *,
    failed: GraphError | None = None,
    fetch_untested: bool = True,
) -> Isolation[T]:
    """Results of ``call`` over subsets covering every metric the API accepts, and the refused
    metrics with the error each got alone.

    ``call(subset)`` performs one request; it raises a ``GraphError`` whose
    :func:`rejection_reason` is not None when the subset holds a refused metric (any other
    error propagates). ``failed`` is the refusal the whole set already got (it is then not
    sent again). With ``fetch_untested=False`` metrics never suspected are not requested at the
    end (the caller asks for them itself, e.g. a listing re-read without the culprits).
    """
    out: Isolation[T] = Isolation()
    names = list(dict.fromkeys(metrics))
    if names:
        _isolate(call, names, failed, out, fetch_untested=fetch_untested)
    if (
        len(names) >= 2
        and not out.results
        and set(out.rejected) == set(names)
        and all(isinstance(e, DeniedError) for e in out.rejected.values())
    ):
        first = next(iter(out.rejected.values()))
        msg = (
            f"every metric was denied, each alone ({first.message}): the token lacks access "
            "to this page's insights, not to one metric"
        )
        raise PageDeniedError(msg, status=first.status, code=first.code, path=first.path)
    return out


def _attempt(
    call: Callable[[list[str]], T], subset: list[str], out: Isolation[T]
) -> GraphError | None:
    """One request: its refusal, or None when it answered (its result is kept)."""
    out.calls += 1
    try:
        out.results.append(call(subset))
    except GraphError as error:
        if rejection_reason(error) is None:
            raise
        return error
    return None


def _isolate(
    call: Callable[[list[str]], T],
    names: list[str],
    failed: GraphError | None,
    out: Isolation[T],
    *,
    fetch_untested: bool,
) -> None:
    if failed is None:
        failed = _attempt(call, names, out)
        if failed is None:
            return
    untested: list[str] = []
    error: GraphError | None = failed
    current, alone = names, True  # ``alone``: ``current`` itself was refused
    while len(current) > 1:
        half = len(current) // 2
        probe, rest = current[:half], current[half:]
        refusal = _attempt(call, probe, out)
        if refusal is not None:
            untested.extend(rest)
            current, error, alone = probe, refusal, True
        else:
            current, alone = rest, False  # suspected by elimination only
    if not alone:
        error = _attempt(call, current, out)  # never convict on one answer: ask it alone
    if error is not None:
        out.rejected[current[0]] = error
    if untested and fetch_untested:
        _isolate(call, untested, None, out, fetch_untested=True)
