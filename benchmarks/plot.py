"""Draw BENCHMARKS.png from the results benchmarks/run.py saved (run in its own venv, with
matplotlib: the measured tap's venv never holds matplotlib or numpy).

Usage: python benchmarks/plot.py RESULTS.json OUT.png
"""

from __future__ import annotations

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def main() -> int:
    """Whole-process wall and peak RSS of the tap and the floor vs fleet size (nightly)."""
    with open(sys.argv[1], encoding="utf-8") as handle:
        results = json.load(handle)
    rows = results["nightly"]
    pages = [r["pages"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(pages, [r["tap_wall_s"] for r in rows], "o-", label="tap: whole process")
    left.plot(pages, [r["tap_sync_s"] for r in rows], "o:", label="tap: sync only")
    left.plot(pages, [r["floor_wall_s"] for r in rows], "s-", label="floor reference")
    left.plot(pages, [r["network_floor_s"] for r in rows], "k--", label="network floor")
    right.plot(pages, [r["tap_peak_rss_kb"] / 1024 for r in rows], "o-", label="tap")
    right.plot(pages, [r["floor_peak_rss_kb"] / 1024 for r in rows], "s-", label="floor reference")
    latency = rows[0]["latency_ms"] if rows else 0
    for axis, title, unit in (
        (left, f"Nightly run: wall time ({latency:.0f} ms latency)", "seconds"),
        (right, "Nightly run: peak RSS", "MB"),
    ):
        axis.set_xscale("log")
        axis.set_xticks(pages, [str(p) for p in pages])
        axis.minorticks_off()
        axis.set_xlabel("pages")
        axis.set_ylabel(unit)
        axis.set_title(title)
        axis.legend(fontsize=8)
    right.set_ylim(bottom=0)
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=90)
    plt.close(fig)
    return 0


if __name__ == "__main__":
    sys.exit(main())
