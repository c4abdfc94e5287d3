"""Finding refused metrics by splitting the set, what it costs, and never convicting on one
answer (issue 12 #3) or mistaking a page's permission for a metric's (issue 11 #1)."""

from __future__ import annotations

import math

import pytest

from tap_facebook_pages.graph.errors import DeniedError, InvalidMetricError, TransientError
from tap_facebook_pages.source.bisect import PageDeniedError, isolate_rejected

METRICS = [f"m{i}" for i in range(10)]
MONETIZATION = (
    "(#200) Monetization metrics are only visible for Page admins with access to monetization "
    "insights."
)


def _caller(bad: set[str], *, denied: set[str] = frozenset(), spurious: int = 0):
    calls: list[list[str]] = []
    state = {"spurious": spurious}

    def call(subset: list[str]) -> list[str]:
        assert subset, "an empty metric list must never be sent"
        calls.append(list(subset))
        if state["spurious"] and len(subset) > 1:
            state["spurious"] -= 1
            raise InvalidMetricError("(#100) The value must be a valid insights metric")
        if bad & set(subset):
            raise InvalidMetricError("(#100) The value must be a valid insights metric")
        if denied & set(subset):
            raise DeniedError(MONETIZATION, status=403, code=200)
        return list(subset)

    return call, calls


def _answered(results: list[list[str]]) -> list[str]:
    return sorted(m for r in results for m in r)


def test_no_refused_metric_costs_one_call() -> None:
    call, calls = _caller(set())
    out = isolate_rejected(call, METRICS)
    assert out.rejected == {}
    assert len(calls) == 1
    assert _answered(out.results) == sorted(METRICS)


@pytest.mark.parametrize("culprit", METRICS)
def test_one_retired_metric_among_ten(culprit: str) -> None:
    call, calls = _caller({culprit})
    out = isolate_rejected(call, METRICS)
    assert list(out.rejected) == [culprit]
    assert _answered(out.results) == sorted(set(METRICS) - {culprit})
    assert [culprit] in calls  # convicted only after the API refused it alone
    assert len(calls) - 1 <= math.ceil(math.log2(10)) + 2


@pytest.mark.parametrize("culprit", METRICS[:8])
def test_one_refused_reel_metric_among_eight_costs_at_most_log2_plus_2(culprit: str) -> None:
    call, calls = _caller({culprit})
    out = isolate_rejected(call, METRICS[:8])
    assert list(out.rejected) == [culprit]
    assert len(calls) - 1 <= 3 + 2


def test_several_retired_metrics() -> None:
    call, calls = _caller({"m1", "m7", "m8"})
    out = isolate_rejected(call, METRICS)
    assert sorted(out.rejected) == ["m1", "m7", "m8"]
    assert _answered(out.results) == sorted(set(METRICS) - {"m1", "m7", "m8"})
    assert all([m] in calls for m in out.rejected)


def test_all_retired() -> None:
    call, _ = _caller(set(METRICS[:3]))
    out = isolate_rejected(call, METRICS[:3])
    assert out.results == []
    assert sorted(out.rejected) == METRICS[:3]


def test_one_spurious_refusal_convicts_nothing() -> None:
    """A one-off ``(#100)`` for a live set (the prefetched answer) must not blacklist the last
    metric left by elimination: it is asked alone, answers, and every value arrives."""
    call, calls = _caller(set())
    spurious = InvalidMetricError("(#100) The value must be a valid insights metric")
    out = isolate_rejected(call, METRICS, failed=spurious)
    assert out.rejected == {}
    assert _answered(out.results) == sorted(METRICS)
    assert len(calls) <= math.ceil(math.log2(10)) + 1


def test_a_monetization_denial_is_about_the_metric() -> None:
    """shared §11.1: the four monetization metrics answer #200 while the page's other metrics
    answer normally: the other nine metrics' values arrive."""
    call, _ = _caller(set(), denied={"m4"})
    out = isolate_rejected(call, METRICS)
    assert list(out.rejected) == ["m4"]
    assert isinstance(out.rejected["m4"], DeniedError)
    assert _answered(out.results) == sorted(set(METRICS) - {"m4"})


def test_every_metric_denied_alone_is_about_the_page() -> None:
    call, _ = _caller(set(), denied=set(METRICS[:4]))
    with pytest.raises(PageDeniedError, match="every metric was denied"):
        isolate_rejected(call, METRICS[:4])


def test_other_errors_propagate() -> None:
    def call(subset: list[str]) -> list[str]:
        raise TransientError("down")

    with pytest.raises(TransientError):
        isolate_rejected(call, METRICS)
