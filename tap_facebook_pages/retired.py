"""Survive a retired metric inside a multi-metric request.

The Graph API fails the whole call with ``(#100) … valid insights metric`` when any one metric is
retired. We find the culprit(s) by splitting the set: probe one half; a half that succeeds keeps
its data, a failing half is split again. Halves never probed while chasing a culprit are sent
together in one call at the end, so one retired metric among ``n`` costs at most
``ceil(log2(n)) + 1`` extra calls, and every live metric's data arrives. An empty metric list is
never sent (that is error 3001).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from tap_facebook_pages.graph.errors import InvalidMetricError

T = TypeVar("T")


def isolate_invalid(
    call: Callable[[list[str]], T],
    metrics: Sequence[str],
    *,
    known_failing: bool = False,
) -> tuple[list[T], list[str]]:
    """Results of ``call`` over subsets covering every valid metric, and the invalid metrics.

    ``call(subset)`` performs one request and raises ``InvalidMetricError`` when the subset
    holds a retired metric. With ``known_failing`` the full set is not tried first.
    """
    results: list[T] = []
    current = list(metrics)
    if not current:
        return results, []
    if not known_failing:
        try:
            results.append(call(current))
        except InvalidMetricError:
            pass
        else:
            return results, []
    invalid: list[str] = []
    untested: list[str] = []
    while len(current) > 1:
        half = len(current) // 2
        probe, rest = current[:half], current[half:]
        try:
            results.append(call(probe))
        except InvalidMetricError:
            untested.extend(rest)
            current = probe
        else:
            current = rest
    invalid.extend(current)
    if untested:
        more, bad = isolate_invalid(call, untested)
        results.extend(more)
        invalid.extend(bad)
    return results, invalid
