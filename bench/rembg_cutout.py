"""rembg's own ``alpha_matting_cutout`` on PyMatting and on vecmatte's PyMatting shim.

rembg (``rembg.bg.alpha_matting_cutout(img, mask, foreground_threshold, background_threshold,
erode_structure_size)``) turns its network's mask into a trimap (thresholds, erosion), then calls
``estimate_alpha_cf``, ``estimate_foreground_ml`` and ``stack_images`` from ``pymatting``. Here
the mask is the alphamatting.com image's ground-truth alpha as an 8-bit grey image (what the
network would give at best), with rembg's default thresholds 240 / 10 and erosion 10.

Each library runs in its own child process (the shim replaces ``pymatting`` for the whole
process): one with the real PyMatting (numba), one after ``vecmatte.compat.install_pymatting()``.
The children alternate (PyMatting, vecmatte, PyMatting, ...) for ``--rounds`` rounds; in each,
every image is cut out once untimed (numba compilation, caches), then ``--repeat`` times timed.
The time of an image is the best over all its timed runs, with the split of that run: the three
PyMatting functions rembg calls are wrapped with timers inside ``rembg.bg`` (rembg's function
itself runs unchanged); "rest" is rembg's own work (trimap, erosion, uint8 conversion).

Writes bench/results/rembg_cutout.md (a generated file)::

    python bench/rembg_cutout.py [--images 7] [--rounds 2] [--repeat 3]
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


def _child(library: str, data: Path, names: list[str], repeat: int) -> dict:
    """Runs in the child process: time rembg's cutout on every image; return the records."""
    import numpy as np
    from PIL import Image

    if library == "vecmatte":
        from vecmatte.compat import install_pymatting

        install_pymatting()
    import rembg.bg

    spent: dict[str, float] = {}

    def timed(name, function):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - start

        return wrapper

    origin = {step: getattr(rembg.bg, step).__module__ for step in STEPS}
    for step in STEPS:
        setattr(rembg.bg, step, timed(step, getattr(rembg.bg, step)))
    records = {}
    for name in names:
        image = Image.open(data / "image" / f"{name}.png").convert("RGB")
        mask = Image.open(data / "alpha" / f"{name}.png").convert("L")
        rembg.bg.alpha_matting_cutout(image, mask, 240, 10, 10)  # warm
        runs = []
        for _ in range(repeat):
            spent.clear()
            start = time.perf_counter()
            cutout = rembg.bg.alpha_matting_cutout(image, mask, 240, 10, 10)
            total = time.perf_counter() - start
            runs.append({"total": total, **spent})
        best = min(runs, key=lambda run: run["total"])
        truth = np.asarray(mask, dtype=np.float64) / 255.0
        alpha = np.asarray(cutout, dtype=np.float64)[:, :, 3] / 255.0
        best["alpha_error"] = float(np.abs(alpha - truth).mean())
        best["size"] = f"{image.width}x{image.height}"
        records[name] = best
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


def _median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else 0.5 * (ordered[middle - 1] + ordered[middle])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--images", type=int, default=7, help="the first N images")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
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
    machine = provenance.machine_line(("numpy", "scipy", "vecmatte", "pymatting", "numba"))
    best: dict[str, dict] = {library: {} for library in LIBRARIES}
    origins = {}
    for round_ in range(args.rounds):
        for library in LIBRARIES:
            records = _run_child(library, args)
            origins[library] = records["_modules"]
            for name in args.names:
                record = records[name]
                if name not in best[library] or record["total"] < best[library][name]["total"]:
                    best[library][name] = record
                print(
                    f"round {round_ + 1} {library:9s} {name} {record['total']:.3f} s",
                    file=sys.stderr,
                )

    command = "python bench/rembg_cutout.py" + (" " + " ".join(argv) if argv else "")
    lines = [
        "## rembg's alpha_matting_cutout: PyMatting against vecmatte's shim",
        "",
        provenance.generated_line(command),
        "",
        f"- machine: {machine}",
        f"- data: the first {len(args.names)} alphamatting.com low-resolution images; the mask "
        "is the ground-truth alpha (8-bit), thresholds 240 / 10, erosion 10 (rembg's defaults)",
        f"- method: each library in its own child process, {args.rounds} alternating rounds, "
        f"warm, best of {args.rounds * args.repeat} runs per image; split from the best run",
        "- functions rembg called: "
        + "; ".join(
            f"{library}: " + ", ".join(f"{step} from {module}" for step, module in found.items())
            for library, found in origins.items()
        ),
        "",
        "Seconds per image. alpha = `estimate_alpha_cf`, foreground = `estimate_foreground_ml`, "
        "stack = `stack_images`, rest = rembg's own code (trimap, erosion, uint8 conversion); "
        "ratio = vecmatte / PyMatting total. |alpha - mask| is the cutout's mean alpha error "
        "against the mask it was made from.",
        "",
        "| image | size | PyMatting total | alpha | foreground | stack | rest "
        "| vecmatte total | alpha | foreground | stack | rest | ratio "
        "| PyMatting abs alpha - mask | vecmatte abs alpha - mask |",
        "|---|---|" + "---:|" * 13,
    ]
    ratios = []
    sums = {library: dict.fromkeys(("total", *STEPS, "rest"), 0.0) for library in LIBRARIES}
    for name in args.names:
        cells = []
        for library in LIBRARIES:
            record = best[library][name]
            rest = record["total"] - sum(record.get(step, 0.0) for step in STEPS)
            values = [record["total"], *(record.get(step, 0.0) for step in STEPS), rest]
            for key, value in zip(("total", *STEPS, "rest"), values, strict=True):
                sums[library][key] += value
            cells.append(" | ".join(f"{v:.3f}" for v in values))
        ratio = best["vecmatte"][name]["total"] / best["pymatting"][name]["total"]
        ratios.append(ratio)
        errors = " | ".join(f"{best[lib][name]['alpha_error']:.4f}" for lib in LIBRARIES)
        size = best["pymatting"][name]["size"]
        lines.append(f"| {name} | {size} | {cells[0]} | {cells[1]} | {ratio:.2f} | {errors} |")
    sum_cells = [
        " | ".join(f"**{sums[lib][key]:.3f}**" for key in ("total", *STEPS, "rest"))
        for lib in LIBRARIES
    ]
    total_ratio = sums["vecmatte"]["total"] / sums["pymatting"]["total"]
    lines.append(f"| sum | | {sum_cells[0]} | {sum_cells[1]} | **{total_ratio:.2f}** | | |")
    lines += [
        "",
        f"Ratio vecmatte / PyMatting: median {_median(ratios):.2f}, worst {max(ratios):.2f}, "
        f"total time {total_ratio:.2f}.",
        "",
    ]
    provenance.write_markdown(args.output, "\n".join(lines))
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
