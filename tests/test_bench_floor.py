"""The benchmark's floor reference does the tap's work, no more and no less (issue 15).

``benchmarks/floor.py`` is the reference every figure of BENCHMARKS.md is divided by, so it must
make the same Graph calls as the tap and write the same RECORD lines. This runs the benchmark's
own machinery (sandbox process, tap as Meltano runs it, floor) on a tiny fleet, a nightly run and
a two-window backfill, and compares the outputs byte for byte (sorted, ``time_extracted``
aside) and the calls in the sandbox's log.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


run = _load("run")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[object]:
    with run.Sandbox(sys.executable) as server:
        server.configure(fleet=2, latency_ms=0)  # 5 pages: the sandbox's 3 and 2 generated
        yield server


@pytest.mark.parametrize("days", [4, 100])
def test_floor_writes_the_taps_record_lines_with_the_same_calls(
    sandbox: object, tmp_path: Path, days: int
) -> None:
    args = argparse.Namespace(metric_names=run.default_metrics(10), concurrency=4)
    config = run.write_config(tmp_path, sandbox, days, args)
    catalog = run.discover_catalog(sys.executable, sandbox, config, tmp_path, 5)
    tap = run.run_tap(sys.executable, sandbox, config, catalog, tmp_path)
    floor = run.run_floor(sys.executable, sandbox, config, tmp_path)

    assert run.compare_outputs(tap, floor) == []
    tap_lines = run.record_lines(tap["output"])
    streams = {json.loads(line)["stream"] for line in tap_lines}
    assert "pages" in streams
    assert len(streams) == 6  # pages + one page_insights_<id> per page
    # Object-valued metrics (one row per key, value_json) are part of the comparison.
    assert any(b'"value_json":"{' in line for line in tap_lines)
    windows = math.ceil(days / 90)
    calls, round_trips = run.floors(5, windows)
    assert (tap["calls"], tap["round_trips"]) == (calls, round_trips)
    assert (floor["calls"], floor["round_trips"]) == (calls, round_trips)
    assert floor["sandbox_calls"] == tap["sandbox_calls"] == calls
    assert floor["records"] == tap["records"] == len(tap_lines)
    # Whole-process figures are measured: CPU from the child's rusage, start-up from the
    # sandbox's arrival time of the first Graph request.
    for result in (tap, floor):
        assert result["cpu_s"] > 0
        assert 0 < result["startup_s"] < result["wall_s"]
        assert result["peak_rss_kb"] > 0


def test_compare_outputs_names_a_differing_record(sandbox: object, tmp_path: Path) -> None:
    args = argparse.Namespace(metric_names=run.default_metrics(3), concurrency=4)
    config = run.write_config(tmp_path, sandbox, 2, args)
    floor = run.run_floor(sys.executable, sandbox, config, tmp_path)
    lines = floor["output"].read_bytes().splitlines(keepends=True)
    changed = dict(floor, output=tmp_path / "changed.out")
    changed["output"].write_bytes(b"".join([lines[0].replace(b'"id":"', b'"id":"9'), *lines[1:]]))
    problems = run.compare_outputs(floor, changed)
    assert len(problems) == 1
    assert problems[0].startswith("RECORD lines differ")


def test_record_digest_ignores_order_and_time_extracted(tmp_path: Path) -> None:
    lines = [
        b'{"type":"RECORD","stream":"s","record":{"a":%d},"time_extracted":"2026-01-01T00:00:0%dZ"}\n'
        % (n, n)
        for n in range(5)
    ]
    state = b'{"type":"STATE","value":{}}\n'
    first, second, third = tmp_path / "1", tmp_path / "2", tmp_path / "3"
    first.write_bytes(b"".join(lines) + state)
    second.write_bytes(
        b"".join(reversed([line.replace(b"T00:00:0", b"T09:30:0") for line in lines]))
    )
    third.write_bytes(b"".join([*lines[:4], lines[0]]))
    digest = run.record_digest(first)
    assert digest[0] == 5
    assert run.record_digest(second) == digest
    assert run.record_digest(third) != digest
