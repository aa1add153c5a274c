"""The figure of ``bench/compare.py``: warm time and peak memory against image size."""

from __future__ import annotations

import statistics
from pathlib import Path

from harness.cells import Cell
from harness.methods import Method


def write_plot(cells: list[Cell], methods: list[Method], path: Path) -> Path | None:
    """Log-log scatter of warm time and peak memory per cell, with a median line per method.

    Returns the path written, or ``None`` when matplotlib is not installed.
    """
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    for number, method in enumerate(methods):
        ok = [c for c in cells if c.method == method.key and c.status == "ok"]
        if not ok:
            continue
        colour = f"C{number}"
        for axis, value in ((left, lambda c: c.warm), (right, lambda c: c.peak_mb)):
            points = [(c.megapixels, value(c)) for c in ok if value(c)]
            if not points:
                continue
            axis.scatter(*zip(*points, strict=True), s=8, alpha=0.35, color=colour)
            medians = []
            for scale in sorted({c.scale for c in ok}):
                at = [(c.megapixels, value(c)) for c in ok if c.scale == scale and value(c)]
                if at:
                    medians.append(
                        (statistics.median(m for m, _ in at), statistics.median(v for _, v in at))
                    )
            axis.plot(*zip(*medians, strict=True), "-o", color=colour, label=method.label)
        failed = [c for c in cells if c.method == method.key and c.status in ("time", "memory")]
        # One label per scale, not one per image: they would overlap.
        for scale in sorted({c.scale for c in failed}):
            here = [c for c in failed if c.scale == scale]
            what = "memory cap" if all(c.status == "memory" for c in here) else "limit"
            left.annotate(
                f"{method.key}: > {what} ({len(here)} at x{scale})",
                (statistics.median(c.megapixels for c in here), left.get_ylim()[1]),
                fontsize=7,
                color=colour,
                rotation=90,
                va="top",
            )
    for axis, ylabel in ((left, "warm time (s)"), (right, "peak memory of the solve (MB)")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        axis.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        axis.set_xlabel("image size (megapixels)")
        axis.set_ylabel(ylabel)
        axis.grid(True, which="both", alpha=0.3)
    if left.get_legend_handles_labels()[0]:
        left.legend(fontsize=7)
    figure.suptitle("vecmatte vs peers: median per scale (points: single images)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
