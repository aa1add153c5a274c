"""rembg's own ``alpha_matting_cutout`` on PyMatting and on vecmatte's PyMatting shim.

rembg (``rembg.bg.alpha_matting_cutout(img, mask, foreground_threshold, background_threshold,
erode_structure_size)``) turns its network's mask into a trimap (thresholds, erosion), then calls
``estimate_alpha_cf``, ``estimate_foreground_ml`` and ``stack_images``, which ``rembg.bg``
imported from ``pymatting``. Here the mask is the alphamatting.com image's ground-truth alpha as
an 8-bit grey image (what the network would give at best), with rembg's default thresholds
240 / 10 and erosion 10.

``--timing same-process`` (the default): one process imports rembg with the real PyMatting
(numba), and rembg's function runs unchanged with the three names in ``rembg.bg`` pointing either
at PyMatting's functions or at the shim's (the same function objects that
``vecmatte.compat.install_pymatting()`` gives rembg). Per image, each library cuts out once
untimed (numba compilation, caches), then the two alternate (A B, B A, ...) for ``--rounds`` x
``--repeat`` timed runs, so both run under the same load on the same cores; pin the process
(``taskset -c 1``) and set ``OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1`` for
one core each. ``--timing child``: each library in a child process of its own (the shim
installed with ``install_pymatting()``, numba never imported), children alternating.

The time of an image is the best over its timed runs (CPU time, ``time.process_time``, which
the load of other processes inflates least; wall time of the same run beside it), with the
split of that run: the three functions rembg calls are wrapped with timers inside ``rembg.bg``;
"rest" is rembg's own work (trimap, erosion, uint8 conversion).

Writes bench/results/rembg_cutout.md (a generated file)::

    taskset -c 1 python bench/rembg_cutout.py [--images 7] [--rounds 2] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import provenance

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "alphamatting-lowres"
STEPS = ("estimate_alpha_cf", "estimate_foreground_ml", "stack_images")
LIBRARIES = ("pymatting", "vecmatte")
# rembg.bg's names of the three functions and where the shim defines each.
SHIM = {
    "estimate_alpha_cf": "vecmatte.compat.pymatting.alpha",
    "estimate_foreground_ml": "vecmatte.compat.pymatting.foreground",
    "stack_images": "vecmatte.compat.pymatting.util",
}


class Timers:
    """Wraps the functions rembg calls; adds their wall and CPU seconds to ``spent``."""

    def __init__(self) -> None:
        self.spent: dict[str, list[float]] = {}

    def wrap(self, name: str, function):
        def timed(*args, **kwargs):
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent = self.spent.setdefault(name, [0.0, 0.0])
                spent[0] += time.perf_counter() - wall
                spent[1] += time.process_time() - cpu

        timed.__module__ = function.__module__
        return timed


def _load(data: Path, name: str):
    from PIL import Image

    image = Image.open(data / "image" / f"{name}.png").convert("RGB")
    mask = Image.open(data / "alpha" / f"{name}.png").convert("L")
    return image, mask


def _run(cutout_function, image, mask, timers: Timers) -> tuple[dict, object]:
    """One timed cutout: ``{"wall", "cpu", step: [wall, cpu], ...}`` and the cutout."""
    timers.spent.clear()
    wall, cpu = time.perf_counter(), time.process_time()
    cutout = cutout_function(image, mask, 240, 10, 10)
    record = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}
    record.update({step: list(value) for step, value in timers.spent.items()})
    return record, cutout


def _finish(record: dict, cutout, image, mask) -> dict:
    import numpy as np

    truth = np.asarray(mask, dtype=np.float64) / 255.0
    alpha = np.asarray(cutout, dtype=np.float64)[:, :, 3] / 255.0
    record["alpha_error"] = float(np.abs(alpha - truth).mean())
    record["size"] = f"{image.width}x{image.height}"
    return record


def _same_process(data: Path, names: list[str], rounds: int, repeat: int, log) -> tuple:
    """Both libraries in this process, alternating; best record per library and image."""
    import importlib

    import rembg.bg

    timers = Timers()
    functions = {
        "pymatting": {step: getattr(rembg.bg, step) for step in STEPS},
        "vecmatte": {
            step: getattr(importlib.import_module(module), step) for step, module in SHIM.items()
        },
    }
    origins = {
        library: {step: function.__module__ for step, function in found.items()}
        for library, found in functions.items()
    }
    wrapped = {
        library: {step: timers.wrap(step, function) for step, function in found.items()}
        for library, found in functions.items()
    }

    def use(library: str) -> None:
        for step, function in wrapped[library].items():
            setattr(rembg.bg, step, function)

    best: dict[str, dict] = {library: {} for library in LIBRARIES}
    try:
        for name in names:
            image, mask = _load(data, name)
            cutouts = {}
            for library in LIBRARIES:  # warm: numba compilation, caches
                use(library)
                rembg.bg.alpha_matting_cutout(image, mask, 240, 10, 10)
            for run in range(rounds * repeat):
                order = LIBRARIES if run % 2 == 0 else LIBRARIES[::-1]
                for library in order:
                    use(library)
                    record, cutouts[library] = _run(
                        rembg.bg.alpha_matting_cutout, image, mask, timers
                    )
                    if name not in best[library] or record["cpu"] < best[library][name]["cpu"]:
                        best[library][name] = record
            for library in LIBRARIES:
                _finish(best[library][name], cutouts[library], image, mask)
            log(
                f"{name}: PyMatting {best['pymatting'][name]['cpu']:.3f} s CPU, vecmatte "
                f"{best['vecmatte'][name]['cpu']:.3f} s CPU"
            )
    finally:
        use("pymatting")
    return best, origins


def _child(library: str, data: Path, names: list[str], repeat: int) -> dict:
    """Runs in the child process: time rembg's cutout on every image; return the records."""
    if library == "vecmatte":
        from vecmatte.compat import install_pymatting

        install_pymatting()
    import rembg.bg

    timers = Timers()
    origin = {step: getattr(rembg.bg, step).__module__ for step in STEPS}
    for step in STEPS:
        setattr(rembg.bg, step, timers.wrap(step, getattr(rembg.bg, step)))
    records = {}
    for name in names:
        image, mask = _load(data, name)
        rembg.bg.alpha_matting_cutout(image, mask, 240, 10, 10)  # warm
        runs = [_run(rembg.bg.alpha_matting_cutout, image, mask, timers) for _ in range(repeat)]
        record, cutout = min(runs, key=lambda run: run[0]["cpu"])
        records[name] = _finish(record, cutout, image, mask)
    records["_modules"] = origin
    return records


def _run_child(library: str, args) -> dict:
    command = [
        sys.executable,
        __file__,
        "--child",
        library,
        "--data",
        str(args.data),
        "--repeat",
        str(args.repeat),
        "--names",
        *args.names,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{library} child failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _children(args, log) -> tuple:
    best: dict[str, dict] = {library: {} for library in LIBRARIES}
    origins = {}
    for round_ in range(args.rounds):
        for library in LIBRARIES:
            records = _run_child(library, args)
            origins[library] = records.pop("_modules")
            for name, record in records.items():
                if name not in best[library] or record["cpu"] < best[library][name]["cpu"]:
                    best[library][name] = record
                log(f"round {round_ + 1} {library:9s} {name} {record['cpu']:.3f} s CPU")
    return best, origins


def _median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else 0.5 * (ordered[middle - 1] + ordered[middle])


def _report(args, argv, best: dict, origins: dict, load_at_start: str) -> list[str]:
    machine = provenance.machine_line(("numpy", "scipy", "vecmatte", "pymatting", "numba"))
    command = "python bench/rembg_cutout.py" + (" " + " ".join(argv) if argv else "")
    if args.timing == "same-process":
        method = (
            "both libraries in one process (rembg imported once; the three names in rembg.bg "
            "switched between PyMatting's and the shim's functions), alternating A B, B A, on "
            f"the same cores; per image one untimed warm cutout each, then "
            f"{args.rounds * args.repeat} timed cutouts each; best by CPU time"
        )
    else:
        method = (
            f"each library in its own child process, {args.rounds} alternating rounds, warm, "
            f"best of {args.rounds * args.repeat} runs per image by CPU time"
        )
    lines = [
        "## rembg's alpha_matting_cutout: PyMatting against vecmatte's shim",
        "",
        provenance.generated_line(command),
        "",
        f"- machine: {machine}; at the start {load_at_start}",
        f"- data: the first {len(args.names)} alphamatting.com low-resolution images; the mask "
        "is the ground-truth alpha (8-bit), thresholds 240 / 10, erosion 10 (rembg's defaults)",
        f"- method: {method}",
        "- functions rembg called: "
        + "; ".join(
            f"{library}: " + ", ".join(f"{step} from {module}" for step, module in found.items())
            for library, found in origins.items()
        ),
        "",
        "CPU seconds per image (time.process_time) of the best run, split: alpha = "
        "`estimate_alpha_cf`, foreground = `estimate_foreground_ml`, stack = `stack_images`, "
        "rest = rembg's own code (trimap, erosion, uint8 conversion); wall = the same run's wall "
        "time; ratio = vecmatte / PyMatting (CPU total, and wall). |alpha - mask| is the "
        "cutout's mean alpha error against the mask it was made from.",
        "",
        "| image | size | PyMatting CPU | alpha | foreground | stack | rest | wall "
        "| vecmatte CPU | alpha | foreground | stack | rest | wall | ratio CPU | ratio wall "
        "| alpha ratio | foreground ratio | PyMatting abs alpha - mask "
        "| vecmatte abs alpha - mask |",
        "|---|---|" + "---:|" * 18,
    ]
    keys = ("cpu", *STEPS, "rest", "wall")
    sums = {library: dict.fromkeys(keys, 0.0) for library in LIBRARIES}
    ratios, wall_ratios = [], []
    for name in args.names:
        cells = []
        for library in LIBRARIES:
            record = best[library][name]
            steps = [record.get(step, [0.0, 0.0])[1] for step in STEPS]
            values = [record["cpu"], *steps, record["cpu"] - sum(steps), record["wall"]]
            for key, value in zip(keys, values, strict=True):
                sums[library][key] += value
            cells.append(" | ".join(f"{v:.3f}" for v in values))
        one, other = best["vecmatte"][name], best["pymatting"][name]
        ratio, wall_ratio = one["cpu"] / other["cpu"], one["wall"] / other["wall"]
        ratios.append(ratio)
        wall_ratios.append(wall_ratio)
        step_ratios = " | ".join(
            f"{one.get(step, [0, 0])[1] / max(other.get(step, [0, 1e-12])[1], 1e-12):.2f}"
            for step in STEPS[:2]
        )
        errors = " | ".join(f"{best[lib][name]['alpha_error']:.4f}" for lib in LIBRARIES)
        lines.append(
            f"| {name} | {other['size']} | {cells[0]} | {cells[1]} | {ratio:.2f} "
            f"| {wall_ratio:.2f} | {step_ratios} | {errors} |"
        )
    sum_cells = [" | ".join(f"**{sums[lib][key]:.3f}**" for key in keys) for lib in LIBRARIES]
    total = sums["vecmatte"]["cpu"] / sums["pymatting"]["cpu"]
    total_wall = sums["vecmatte"]["wall"] / sums["pymatting"]["wall"]
    step_totals = [
        sums["vecmatte"][step] / max(sums["pymatting"][step], 1e-12) for step in STEPS[:2]
    ]
    lines.append(
        f"| sum | | {sum_cells[0]} | {sum_cells[1]} | **{total:.2f}** | **{total_wall:.2f}** "
        f"| **{step_totals[0]:.2f}** | **{step_totals[1]:.2f}** | | |"
    )
    lines += [
        "",
        f"Ratio vecmatte / PyMatting, CPU time: median {_median(ratios):.2f}, worst "
        f"{max(ratios):.2f}, total {total:.2f} (alpha {step_totals[0]:.2f}, foreground "
        f"{step_totals[1]:.2f}); wall time: median {_median(wall_ratios):.2f}, total "
        f"{total_wall:.2f}.",
        "",
    ]
    return lines


def main(argv=None) -> int:
    import os

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--images", type=int, default=7, help="the first N images")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument(
        "--timing",
        choices=("same-process", "child"),
        default="same-process",
        help="both libraries alternating in this process (default), or a child process each",
    )
    parser.add_argument("--output", type=Path, default=HERE / "results" / "rembg_cutout.md")
    parser.add_argument("--child", choices=LIBRARIES, help=argparse.SUPPRESS)
    parser.add_argument("--names", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args.data, args.names, args.repeat)))
        return 0

    args.names = sorted(p.stem for p in (args.data / "image").glob("GT*.png"))[: args.images]
    if not args.names:
        print(f"no images in {args.data / 'image'}", file=sys.stderr)
        return 1
    load_at_start = " ".join(f"{x:.2f}" for x in os.getloadavg())

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    if args.timing == "same-process":
        best, origins = _same_process(args.data, args.names, args.rounds, args.repeat, log)
    else:
        best, origins = _children(args, log)
    lines = _report(args, argv, best, origins, load_at_start)
    provenance.write_markdown(args.output, "\n".join(lines))
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
