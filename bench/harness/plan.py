"""Which cells a run measures, in which order, what it skips, and running them.

A run is a list of groups (one image, trimap set and scale, with the methods to measure on it
and the pairs to measure in one process); ``Runner`` measures each group's cells (or reuses
them from the cache), skips a method on inputs no smaller than one it already failed on, and
stops starting new measurements when ``--max-minutes`` runs out.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness.cache import CellCache, Code, cell_key, cold_key, pair_key
from harness.cells import Cell, ColdRecord, measure_cell, measure_cold, measure_pair
from harness.data import (
    Dataset,
    count_unknown,
    fail,
    image_size,
    load_scaled,
    scale_label,
)
from harness.methods import Method


@dataclass
class Group:
    """The cells of one image, trimap set and scale."""

    image: str
    trimap: str
    scale: float
    methods: list[Method]
    pairs: list[tuple[Method, Method]] = field(default_factory=list)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def plan_images(dataset: Dataset, options) -> tuple[list[str], dict, list[str]]:
    """Images overall, per scale (``--scale-images``/``--subset-scales``) and for the seed."""
    names = list(dataset.files)
    if options.images:
        missing = [n for n in options.images if n not in dataset.files]
        if missing:
            raise fail(f"no image named {missing[0]} in {dataset.image_dir}")
        names = list(options.images)
    per_scale = {}
    subset_scales = options.subset_scales or [x for x in options.scales if x != 1]
    for scale in options.scales:
        if scale not in subset_scales or not options.scale_images:
            per_scale[scale] = names
        else:
            per_scale[scale] = [n for n in options.scale_images if n in names] or names
    sizes = {n: image_size(dataset.image_dir / dataset.files[n]) for n in names}
    if options.seed_images == ["all"]:
        seed_names = names
    elif options.seed_images:
        seed_names = [n for n in options.seed_images if n in names]
    else:
        seed_names = sorted(names, key=lambda n: sizes[n][0] * sizes[n][1])[:1]
    return names, per_scale, seed_names


def skip_reason(cell: Cell, failures: list[Cell], pixels: int) -> str | None:
    """A cell is skipped if the same method already ran out of time or memory on no more work."""
    for failed in failures:
        if failed.method != cell.method or failed.scale > cell.scale:
            continue
        failed_pixels = round(failed.megapixels * 1e6)
        # The seed solves for every pixel, so its work does not depend on the unknown count.
        unknown_ok = failed.method == "seed" or (failed.unknown or 0) <= (cell.unknown or 0)
        if failed_pixels <= pixels and unknown_ok:
            what = "> memory cap" if failed.status == "memory" else "> limit"
            return (
                f"{what}: skipped, the method already failed on {failed.image} "
                f"{failed.trimap} {scale_label(failed.scale)} ({failed.megapixels:.2f} MP, "
                "no more work)"
            )
    return None


def cell_summary(cell: Cell) -> str:
    if cell.status != "ok":
        return f"{cell.status}: {cell.note}"
    return (
        f"warm {cell.warm:.3f} s (n={len(cell.samples)}), peak {cell.peak_mb:.0f} MB, "
        f"iters {cell.iterations}, SAD {cell.errors.get('sad', float('nan')):.3f}"
    )


class Runner:
    """Measures groups of cells, with the cache, the failure skips and the time budget."""

    def __init__(
        self,
        options,
        dataset: Dataset,
        code: Code,
        unavailable: dict[str, str],
        measured_family: str | None = None,
    ):
        self.options = options
        # only this family's cells are measured; the others' are taken from the cache or left
        self.measured_family = measured_family
        self.dataset = dataset
        self.code = code
        self.unavailable = unavailable
        self.cache = CellCache(Path(options.cache), read=options.resume)
        self.alpha_dir = self.cache.path.parent / "alphas"
        self.alpha_dir.mkdir(exist_ok=True)
        self.failures: list[Cell] = []
        self.reused = self.measured = 0
        self.started = time.perf_counter()
        minutes = options.max_minutes
        self.deadline = self.started + minutes * 60 if minutes else None
        self.loads: list[float] = []

    def out_of_time(self) -> bool:
        return self.deadline is not None and time.perf_counter() > self.deadline

    def describe(self, group: Group, number: int, total: int) -> tuple[float, int]:
        image_path, trimap_path, _ = self.dataset.paths(group.image, group.trimap)
        width, height = image_size(image_path)
        pixels = round(width * group.scale) * round(height * group.scale)
        unknown = count_unknown(trimap_path, group.scale)
        log(
            f"[{time.perf_counter() - self.started:7.0f}s] {number}/{total} {group.image} "
            f"{group.trimap} {scale_label(group.scale)} ({pixels / 1e6:.2f} MP, "
            f"{unknown} unknown)"
        )
        return pixels, unknown

    def measure_group(
        self, group: Group, pixels: int, unknown: int, not_planned: Callable | None = None
    ) -> tuple[list[Cell], list[Cell]]:
        """The group's cells (one child each) and its pair cells (two per pair)."""
        cells = []
        for method in group.methods:
            cell = Cell(method.key, group.image, group.trimap, group.scale, pixels / 1e6, unknown)
            cells.append(self._one(cell, method, pixels, not_planned))
        pair_cells = []
        for pair in group.pairs:
            pair_cells += self._pair(group, pair, pixels, unknown)
        return cells, pair_cells

    def _one(self, cell: Cell, method: Method, pixels: int, not_planned) -> Cell:
        why_not = not_planned(method, cell) if not_planned else ""
        if method.key in self.unavailable:
            cell.status, cell.note = "unavailable", self.unavailable[method.key]
            return cell
        if why_not:
            cell.status, cell.note = "skipped", why_not
            return cell
        if reason := skip_reason(cell, self.failures, pixels):
            cell.status = "memory" if "memory" in reason else "time"
            cell.note = reason
            return cell
        key = cell_key(cell, method, self.code, self.options)
        if key in self.cache:
            cell = self.cache.cell(key)
            self.reused += 1
        elif self.measured_family and method.family != self.measured_family:
            cell.status = "skipped"
            cell.note = f"not measured by this invocation (--family {self.measured_family})"
            return cell
        elif self.out_of_time():
            cell.status = "skipped"
            cell.note = f"not run: the run's --max-minutes {self.options.max_minutes:g} ran out"
            return cell
        else:
            save = self.alpha_path(method.key, cell.image, cell.trimap, cell.scale)
            cell = measure_cell(cell, method, self.dataset, self.options, save, self.code.path)
            self.cache.add_cell(key, cell)
            self.measured += 1
            self.loads.append(cell.load)
        if cell.status in ("time", "memory"):
            self.failures.append(cell)
        log(f"    {method.key:<18} {cell_summary(cell)}")
        return cell

    def _pair(self, group: Group, pair: tuple[Method, Method], pixels: int, unknown: int):
        cells = tuple(
            Cell(m.key, group.image, group.trimap, group.scale, pixels / 1e6, unknown, mode="pair")
            for m in pair
        )
        if any(m.key in self.unavailable for m in pair):
            return []
        key = pair_key(cells, pair, self.code, self.options)
        if key in self.cache:
            cells = self.cache.pair(key)
            self.reused += 1
        elif self.out_of_time():
            return []
        else:
            cells = measure_pair(cells, pair, self.dataset, self.options, self.code.path)
            self.cache.add_pair(key, cells)
            self.measured += 1
            self.loads.append(cells[0].load)
        for cell in cells:
            log(f"    {cell.method:<18} same process: {cell_summary(cell)}")
        return list(cells)

    def alpha_path(self, key: str, image: str, trimap: str, scale: float) -> Path:
        return self.alpha_dir / f"{key.replace(':', '-')}_{image}_{trimap}_x{scale:g}.png"

    def compare_to(self, reference: str, cells: list[Cell]) -> None:
        """SAD of each cell's matte against the ``reference`` method's (where both ran)."""
        ok = {c.method: c for c in cells if c.status == "ok"}
        if reference not in ok:
            return
        import numpy as np
        from PIL import Image

        from vecmatte.metrics import sad

        first = cells[0]

        def load(key):
            path = self.alpha_path(key, first.image, first.trimap, first.scale)
            if not path.is_file():
                return None
            return np.asarray(Image.open(path), dtype=np.float64) / 65535.0

        expected = load(reference)
        if expected is None:
            return
        trimap_path = self.dataset.paths(first.image, first.trimap)[1]
        trimap = load_scaled(str(trimap_path), first.scale, "trimap")
        for key, cell in ok.items():
            other = load(key)
            if other is not None and other.shape == expected.shape:
                cell.to_default_sad = sad(other, expected, trimap)

    def cold_starts(self, methods, names, seed_names, cells, default_key: str) -> list[ColdRecord]:
        """Cold starts on one image; the seed's is read from its warm child (it never caches)."""
        options = self.options
        cold_image = options.cold_image or (seed_names[0] if seed_names else names[0])
        workdir = Path(tempfile.mkdtemp(prefix="vecmatte-cold-"))
        records = []
        for method in methods:
            if method.key in self.unavailable or (
                method.family == "vecmatte" and method.key != default_key
            ):
                continue
            if method.family == "seed":
                records += _seed_cold(method, cold_image, options.trimap[0], cells)
                continue
            key = cold_key(method, cold_image, options.trimap[0], self.code, options)
            if options.resume and key in self.cache:
                records += self.cache.cold(key)
                continue
            measured = measure_cold(
                method,
                self.dataset,
                cold_image,
                options.trimap[0],
                options,
                workdir,
                self.code.path,
            )
            self.cache.add_cold(key, measured)
            records += measured
        for record in records:
            seconds = f"{record.seconds:.2f} s" if record.seconds is not None else record.note
            log(f"    cold {record.method:<18} cache {record.cache:<6} {seconds}")
        return records

    def load_summary(self) -> str:
        """The 1-minute load average over the cells this invocation measured."""
        loads = sorted(x for x in self.loads if x is not None)
        if not loads:
            return ""
        return (
            f"1-minute load average while this invocation measured: median "
            f"{loads[len(loads) // 2]:.2f}, from {loads[0]:.2f} to {loads[-1]:.2f} "
            f"({os.cpu_count()} cores)"
        )


def _seed_cold(method: Method, cold_image: str, trimap: str, cells: list[Cell]):
    """Every start of the seed compiles (no cache=True): its warm child, timed from process
    start to the end of the first solve of the image, is a cold start plus the milliseconds
    of the small warm-up scene."""
    warm = [
        c
        for c in cells
        if c.method == method.key and c.image == cold_image and c.trimap == trimap and c.scale == 1
    ]
    mode = "none (no cache=True)"
    if warm and warm[0].since_start is not None:
        return [ColdRecord(method.key, cold_image, mode, warm[0].since_start)]
    if warm and warm[0].status in ("time", "memory", "crash", "error"):
        return [ColdRecord(method.key, cold_image, mode, None, warm[0].status, warm[0].note)]
    return []
