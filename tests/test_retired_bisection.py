"""Finding retired metrics by splitting the set, and what it costs."""

from __future__ import annotations

import math

import pytest

from tap_facebook_pages.graph.errors import InvalidMetricError
from tap_facebook_pages.retired import isolate_invalid

METRICS = [f"m{i}" for i in range(10)]


def _caller(bad: set[str]):
    calls: list[list[str]] = []

    def call(subset: list[str]) -> list[str]:
        assert subset, "an empty metric list must never be sent"
        calls.append(list(subset))
        if bad & set(subset):
            raise InvalidMetricError("(#100) The value must be a valid insights metric")
        return list(subset)

    return call, calls


def test_no_invalid_metric_costs_one_call() -> None:
    call, calls = _caller(set())
    results, invalid = isolate_invalid(call, METRICS)
    assert invalid == []
    assert len(calls) == 1
    assert sorted(m for r in results for m in r) == sorted(METRICS)


@pytest.mark.parametrize("culprit", METRICS)
def test_one_retired_metric_among_ten(culprit: str) -> None:
    call, calls = _caller({culprit})
    results, invalid = isolate_invalid(call, METRICS)
    assert invalid == [culprit]
    assert sorted(m for r in results for m in r) == sorted(set(METRICS) - {culprit})
    extra = len(calls) - 1
    assert extra <= math.ceil(math.log2(10)) + 2


def test_several_retired_metrics() -> None:
    call, _ = _caller({"m1", "m7", "m8"})
    results, invalid = isolate_invalid(call, METRICS)
    assert sorted(invalid) == ["m1", "m7", "m8"]
    assert sorted(m for r in results for m in r) == sorted(set(METRICS) - {"m1", "m7", "m8"})


def test_all_retired() -> None:
    call, _ = _caller(set(METRICS[:3]))
    results, invalid = isolate_invalid(call, METRICS[:3])
    assert results == []
    assert sorted(invalid) == METRICS[:3]
