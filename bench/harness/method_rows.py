"""Method by method against PyMatting: errors, time and memory ratios (``results/methods.md``).

Every method in vecmatte's registry at run time is paired with PyMatting's estimator of the
same name (or, without one, with vecmatte's closed-form) and both are measured on the same
inputs in the same run, each cell in a child of its own (``harness.cells``), with the cache of
``bench/compare.py`` (closed-form's cells are shared with it).
"""

from __future__ import annotations

import statistics
from pathlib import Path

import provenance

from harness.cells import Cell
from harness.comparison import code_under_test
from harness.data import as_scale, find_dataset, scale_label
from harness.method_report import error_columns, row_start, section, unmeasured_row, verdict
from harness.methods import Method, method_pairs, peer_available
from harness.plan import Group, Runner
from harness.ratios import fmt_ratio, median_ratio, ratio_values, table


def plan(pairs, dataset, options, scales: dict[str, float]) -> list[Group]:
    """One group per (scale, trimap set, image) with the methods of the pairs at that scale."""
    groups = []
    for scale in sorted(set(scales.values())):
        members: list[Method] = []
        for ours, peer in pairs:
            if scales[ours.key] == scale:
                members += [m for m in (ours, peer) if m not in members]
        # image by image (both trimap sets together), so that a run cut short by
        # --max-minutes still covers both sets on the images it reached
        for name in options.images or list(dataset.files):
            for trimap_set in options.trimap:
                groups.append(Group(name, trimap_set, scale, members))
    return groups


def run(options) -> dict:
    code = code_under_test(options)
    family = getattr(options, "family", None)
    pairs = method_pairs(options.methods, registered_only=family != "pymatting")
    scales = {ours.key: options.method_scale.get(ours.name, options.scale) for ours, _ in pairs}
    everything = [m for pair in pairs for m in pair]
    unavailable = {m.key: why for m in everything if (why := peer_available(m))}
    dataset = find_dataset(Path(options.data), options.trimap)
    missing = [n for n in options.images or [] if n not in dataset.files]
    if missing:
        raise SystemExit(f"method_table.py: error: no image named {missing[0]}")
    runner = Runner(options, dataset, code, unavailable, family)
    load_at_start = provenance.load_average()
    groups = plan(pairs, dataset, options, scales)
    cells: list[Cell] = []
    for number, group in enumerate(groups, 1):
        pixels, unknown = runner.describe(group, number, len(groups))
        cells += runner.measure_group(group, pixels, unknown)[0]
    return {
        "pairs": pairs,
        "scales": scales,
        "cells": cells,
        "unavailable": unavailable,
        "dataset": dataset,
        "code": code.description,
        "reused": runner.reused,
        "measured": runner.measured,
        "load_at_start": load_at_start,
        "load_during": runner.load_summary(),
    }


def _mean(cells: list[Cell], error: str) -> float:
    return statistics.fmean(c.errors[error] for c in cells)


def _pair_row(ours: Method, peer: Method, trimap_set: str, result: dict, options) -> list[str]:
    scale = result["scales"][ours.key]
    here = [c for c in result["cells"] if c.trimap == trimap_set and c.scale == scale]
    mine = {c.image: c for c in here if c.method == ours.key}
    theirs = {c.image: c for c in here if c.method == peer.key}
    both = [n for n in mine if mine[n].status == "ok" and n in theirs and theirs[n].status == "ok"]
    failed = sum(1 for c in mine.values() if c.status not in ("ok", "skipped"))
    row = row_start(ours, peer, scale, trimap_set, len(both))
    if not both:
        return unmeasured_row(row, result, ours, peer, 8, failed, bool(mine))
    sad = [_mean([mine[n] for n in both], "sad"), _mean([theirs[n] for n in both], "sad")]
    mse = [_mean([mine[n] for n in both], "mse"), _mean([theirs[n] for n in both], "mse")]
    time_values = ratio_values(here, ours.key, peer.key, "time", options)
    memory_values = ratio_values(here, ours.key, peer.key, "memory", options)
    time_ratio, memory_ratio = median_ratio(time_values), median_ratio(memory_values)
    return [
        *row,
        *error_columns(sad, mse),
        fmt_ratio(time_values),
        fmt_ratio(memory_values),
        f"{statistics.median(mine[n].warm for n in both):.3f}",
        verdict(ours.name, sad, mse, time_ratio, memory_ratio, failed),
    ]


def _per_image(result: dict) -> list[str]:
    labels = {m.key: m.label for pair in result["pairs"] for m in pair}
    rows = []
    for cell in result["cells"]:
        if cell.status == "skipped":
            continue
        if cell.status == "ok":
            numbers = [f"{cell.errors['sad']:.3f}", f"{cell.errors['mse']:.5f}", f"{cell.warm:.3f}"]
            numbers.append(f"{cell.peak_mb:.0f}" if cell.peak_mb is not None else "-")
        else:
            numbers = ["-", "-", f"{cell.status}: {cell.note[:60]}", "-"]
        row = [cell.image, cell.trimap, scale_label(cell.scale), labels[cell.method], *numbers]
        rows.append(row)
    header = ["image", "trimap", "scale", "method", "SAD", "MSE", "warm s", "peak MB"]
    return table(header, rows)


def render(result: dict, options, argv: list[str]) -> str:
    """The section's markdown."""
    columns = ["time ratio (own children)", "memory ratio (own children)"]
    columns += ["time s", "targets met"]
    bullets = [
        f"- Data: `{result['dataset'].root}`, trimap sets {', '.join(options.trimap)}; "
        f"{len(options.images or result['dataset'].files)} images. Timing `--timing child`: "
        "every column from one child process per (method, image, trimap, scale), the two "
        "libraries at different times (the invocation's cores; pin it with taskset), "
        f"address space capped at {options.memory_cap:g} GB, {options.time_limit:g} s per solve.",
        "- SAD (/1000) and MSE over the trimap's unknown pixels against the ground truth, "
        "averaged over the images where both methods succeeded; *SAD ratio* is the ratio of "
        "those means. *time ratio* and *memory ratio*: median over images of vecmatte's warm "
        f"time (median of up to {options.repeats} solves) and peak memory above the memory "
        "held before the solve, over the peer's (max and n in brackets); *time s*: vecmatte's "
        "median warm time.",
        "- Targets: SAD ratio <= 1.01 (1.05 for sm), time and memory ratios <= 0.5 against "
        "PyMatting (issue 13); ifm against vecmatte's closed-form: SAD ratio <= 0.85, a lower "
        "MSE, time ratio <= 3 (issue 15). A method without a PyMatting counterpart is compared "
        "with vecmatte's closed-form.",
    ]
    return section(
        "## Methods against PyMatting (issues 13 and 15)",
        result,
        options,
        argv,
        during=result["load_during"],
        bullets=bullets,
        pair_row=_pair_row,
        columns=columns,
        reused="Cells",
        per_image=_per_image(result),
    )


def scale_option(text: str) -> tuple[str, float]:
    """``NAME=SCALE`` of ``--method-scale``."""
    import argparse

    name, _, value = text.partition("=")
    try:
        return name, as_scale(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: use NAME=SCALE, e.g. sm=0.5") from None
