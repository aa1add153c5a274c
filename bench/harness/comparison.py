"""The closed-form comparison run of ``bench/compare.py``: its plan and its cells.

Every (method, image, trimap set, scale) runs in a child of its own, on whatever cores the
invocation has (``taskset -c 1 python bench/compare.py ...``: one core per child). With
``--timing both``, vecmatte's default and PyMatting cf are also measured in one child per input,
alternating, on the same cores (issue 14's second mode); ``--timing same-process`` measures
only those pairs (the one-child cells then come from the cache).
"""

from __future__ import annotations

import datetime
import os
import time
from pathlib import Path

import provenance

from harness.cache import Code, commit_code, working_tree_code
from harness.data import find_dataset
from harness.methods import Method, default_method_key, peer_available, select_methods
from harness.plan import Group, Runner, plan_images


def code_under_test(options) -> Code:
    """The vecmatte the children import (``--vecmatte-commit``) and its fingerprint.

    With a commit, this process imports it too (the registry is read from it).
    """
    if not getattr(options, "vecmatte_commit", None):
        return working_tree_code()
    code = commit_code(options.vecmatte_commit)
    import sys

    sys.path.insert(0, str(code.path))
    return code


def not_planned(options, seed_names, default_key: str):
    """Why a cell is left out of this run by the subset options ("" if it is not)."""

    def why(method: Method, cell) -> str:
        if method.family == "seed":
            if cell.image not in seed_names:
                return "not in the seed's image subset"
            if cell.trimap != options.trimap[0]:
                return "the seed runs with the first trimap set only (it solves every pixel)"
        if method.family == "vecmatte" and method.key != default_key:
            if options.secondary_images and cell.image not in options.secondary_images:
                return "not in the image subset of the non-default preconditioners"
            if options.secondary_scales and cell.scale not in options.secondary_scales:
                return "not at a scale of the non-default preconditioners"
        return ""

    return why


def _pairs(methods: list[Method], default_key: str, options) -> list[tuple[Method, Method]]:
    """vecmatte's default against PyMatting cf in one process, if the timing mode asks."""
    if options.timing == "child":
        return []
    by_key = {m.key: m for m in methods}
    if default_key in by_key and "pymatting:cf" in by_key:
        return [(by_key[default_key], by_key["pymatting:cf"])]
    return []


def run(options) -> dict:
    code = code_under_test(options)
    methods = select_methods(options.methods)
    unavailable = {m.key: why for m in methods if (why := peer_available(m))}
    dataset = find_dataset(Path(options.data), options.trimap)
    names, per_scale, seed_names = plan_images(dataset, options)
    default_key = default_method_key()
    package_versions = (
        provenance.versions()
    )  # the code measured is the code at the start of the run
    if code.path is not None:
        package_versions["vecmatte"] = (
            f"{package_versions['vecmatte'].split()[0]} ({code.description})"
        )
    load_at_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
    runner = Runner(options, dataset, code, unavailable)
    skip = not_planned(options, seed_names, default_key)
    pairs = _pairs(methods, default_key, options)
    pair_scales = options.same_process_scales or options.scales
    # --timing same-process measures only the pairs: the one-child cells can come from another
    # invocation (pinned to one core) through the cache
    singles = [] if options.timing == "same-process" else methods
    groups = [
        Group(name, trimap_set, scale, singles, pairs if scale in pair_scales else [])
        for scale in sorted(options.scales)
        for trimap_set in options.trimap
        for name in per_scale[scale]
    ]
    cells, pair_cells, cold = [], [], []
    for number, group in enumerate(groups, 1):
        if options.cold and not cold and group.scale != 1:
            cold = runner.cold_starts(methods, names, seed_names, cells, default_key)
        pixels, unknown = runner.describe(group, number, len(groups))
        group_cells, group_pairs = runner.measure_group(group, pixels, unknown, skip)
        runner.compare_to(default_key, group_cells)
        cells += group_cells
        pair_cells += group_pairs
    if options.cold and not cold:
        cold = runner.cold_starts(methods, names, seed_names, cells, default_key)
    return {
        "versions": package_versions,
        "load_at_start": load_at_start,
        "load_during": runner.load_summary(),
        "started": datetime.datetime.now().astimezone()
        - datetime.timedelta(seconds=time.perf_counter() - runner.started),
        "cells": cells,
        "pair_cells": pair_cells,
        "cold": cold,
        "methods": methods,
        "by_key": {m.key: m for m in methods},
        "unavailable": unavailable,
        "names": names,
        "per_scale": per_scale,
        "seed_names": seed_names,
        "dataset": dataset,
        "default": default_key,
        "reused": runner.reused,
        "measured": runner.measured,
        "code": code.description,
    }
