"""Foreground estimation: speed against PyMatting's numba, quality of every method, big cutouts.

Three parts, all written to bench/results/foreground.md (a generated file):

1. Speed. On every alphamatting.com low-resolution image, with its ground-truth alpha, in ONE
   process, interleaved (numba's time moves with the machine's load, so both are measured in
   the same minute), numba on one thread: PyMatting's ``estimate_foreground_ml`` (numba),
   vecmatte's shim ``vecmatte.compat.pymatting.estimate_foreground_ml`` (same weights, float32
   out) with and without the background, ``vecmatte.estimate_foreground`` and
   ``vecmatte.estimate_foreground_background`` with method "ml" (Germer et al.'s weights) and
   "blur_fusion". Best of ``--repeat`` per image, wall and CPU time; the median ratio to numba
   over the images. The shim's colours are compared with PyMatting's where alpha > 0.1.
2. Quality. Re-composite error ``|alpha F + (1 - alpha) B - I|`` over the mixed pixels of the
   photographs, and, since ``F = B = I`` would score 0 there, the foreground error on
   semi-synthetic composites with known colours (the same alphas over scikit-image's
   ``astronaut`` as foreground and ``coffee`` as background), mean ``|F - F_true|`` where
   ``0.1 < alpha < 1``. Every vecmatte method and PyMatting's "ml" and "cf".
3. Big cutout. A photograph upscaled 5x (about 10 MP) with a mask made from its upscaled
   ground truth: ``vecmatte alpha BIG --mask MASK --band 10 -o a.png`` with and without
   ``--cutout c.png`` in child processes (wall time, peak resident memory), and the steps
   timed one by one in another child (alpha solve, foreground with each method, with its
   memory estimate ``foreground_memory_bytes`` against the measured growth).

Run (pinned, one BLAS thread, as the machine is shared)::

    OPENBLAS_NUM_THREADS=1 taskset -c 1 python bench/foreground.py [--limit N] [--repeat 5]
        [--skip-big] [--speed-only]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import provenance

from vecmatte import estimate_foreground, estimate_foreground_background
from vecmatte.io import load_image, load_trimap

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "alphamatting-lowres"
PYMATTING_WEIGHTS = {"regularization": 1e-5, "gradient_weight": 1.0}
BIG_IMAGE, BIG_SCALE = "GT02", 5


# --------------------------------------------------------------------------------------------
# 1. speed


def _speed_variants():
    import pymatting

    from vecmatte.compat import pymatting as shim

    # Each returns (F,) or (F, B); PyMatting computes both either way.
    return {
        "PyMatting ml (numba)": lambda i, a: pymatting.estimate_foreground_ml(
            i, a, return_background=True
        ),
        "shim estimate_foreground_ml": lambda i, a: (shim.estimate_foreground_ml(i, a),),
        "shim (F, B)": lambda i, a: shim.estimate_foreground_ml(i, a, return_background=True),
        "vecmatte estimate_foreground": lambda i, a: (estimate_foreground(i, a),),
        "vecmatte ml (F, B)": lambda i, a: estimate_foreground_background(i, a, method="ml"),
        "vecmatte blur_fusion (F, B)": lambda i, a: estimate_foreground_background(
            i, a, method="blur_fusion"
        ),
    }


def _numba_threads() -> int:
    """Run PyMatting's numba kernels on one thread, like vecmatte's NumPy, and say so."""
    import numba

    numba.set_num_threads(1)
    return numba.get_num_threads()


def _speed(names, data, repeat):
    variants = _speed_variants()
    threads = _numba_threads()
    _warm_up(variants)
    rows = []
    for name in names:
        image = load_image(data / "image" / f"{name}.png")
        alpha = load_trimap(data / "alpha" / f"{name}.png")
        wall = {label: [] for label in variants}
        cpu = {label: [] for label in variants}
        results = {}
        for _ in range(repeat):
            for label, function in variants.items():
                start, start_cpu = time.perf_counter(), time.process_time()
                results[label] = function(image, alpha)
                cpu[label].append(time.process_time() - start_cpu)
                wall[label].append(time.perf_counter() - start)
        where = alpha > 0.1
        difference = np.abs(results["shim (F, B)"][0] - results["PyMatting ml (numba)"][0])[where]
        row = {
            "name": name,
            "best": {label: min(t) for label, t in wall.items()},
            "cpu": {label: min(t) for label, t in cpu.items()},
        }
        row["max_diff"], row["mean_diff"] = float(difference.max()), float(difference.mean())
        rows.append(row)
        base = row["best"]["PyMatting ml (numba)"]
        print(
            f"speed {name} numba {base * 1e3:.0f} ms, ratios "
            + " ".join(f"{t / base:.2f}" for t in list(row["best"].values())[1:]),
            file=sys.stderr,
        )
    return list(variants), rows, threads


def _ratios(rows, labels, key):
    base = labels[0]
    ratios = {label: [r[key][label] / r[key][base] for r in rows] for label in labels[1:]}
    return {label: (float(np.median(v)), max(v)) for label, v in ratios.items()}


def _speed_lines(labels, rows, repeat, threads):
    base = labels[0]
    lines = [
        "### Speed against PyMatting's numba estimate_foreground_ml",
        "",
        f"Best of {repeat} per image, all in one process with the calls interleaved (numba "
        f"warmed up, {threads} numba thread; vecmatte is single-threaded NumPy). Ratio = "
        "time / PyMatting's, wall clock in the table, CPU time (time.process_time) in the "
        "summary below it. `shim estimate_foreground_ml` and `vecmatte estimate_foreground` "
        "are the default calls (foreground only); the `(F, B)` columns also return the "
        "background, as PyMatting's call here does. The shim uses PyMatting's weights "
        "(epsilon 1e-5, omega 1) and returns float32; vecmatte uses Germer et al.'s (5e-3, 0.1) "
        "and returns float64, at the same cost. Colour difference: |F_shim - F_PyMatting| "
        "where alpha > 0.1 (PyMatting relaxes in raster order, vecmatte in red-black order).",
        "",
        f"| image | {base} ms | "
        + " | ".join(f"{label} ratio" for label in labels[1:])
        + " | max colour difference | mean colour difference |",
        "|---|---:|" + "---:|" * (len(labels) - 1 + 2),
    ]
    for row in rows:
        best = row["best"]
        lines.append(
            f"| {row['name']} | {best[base] * 1e3:.0f} | "
            + " | ".join(f"{best[label] / best[base]:.2f}" for label in labels[1:])
            + f" | {row['max_diff']:.3f} | {row['mean_diff']:.5f} |"
        )
    wall, cpu = _ratios(rows, labels, "best"), _ratios(rows, labels, "cpu")
    lines.append(
        f"| **median** | {np.median([r['best'][base] for r in rows]) * 1e3:.0f} | "
        + " | ".join(f"**{wall[label][0]:.2f}**" for label in labels[1:])
        + f" | {max(r['max_diff'] for r in rows):.3f} (max) "
        + f"| {np.mean([r['mean_diff'] for r in rows]):.5f} (mean) |"
    )
    lines += ["", "Median (worst) ratio to PyMatting's numba:", ""]
    lines += [
        f"- {label}: wall {wall[label][0]:.2f} ({wall[label][1]:.2f}), "
        f"CPU {cpu[label][0]:.2f} ({cpu[label][1]:.2f})"
        for label in labels[1:]
    ]
    lines.append("")
    return lines


# --------------------------------------------------------------------------------------------
# 2. quality


def _quality_methods():
    import pymatting

    return {
        "vecmatte ml": lambda i, a: estimate_foreground_background(i, a, method="ml"),
        # Same method with PyMatting's default weights, to separate parameters from code.
        "vecmatte ml (pm params)": lambda i, a: estimate_foreground_background(
            i, a, method="ml", **PYMATTING_WEIGHTS
        ),
        "vecmatte cf": lambda i, a: estimate_foreground_background(i, a, method="cf"),
        "vecmatte blur_fusion": lambda i, a: estimate_foreground_background(
            i, a, method="blur_fusion"
        ),
        "pymatting ml": lambda i, a: pymatting.estimate_foreground_ml(i, a, return_background=True),
        "pymatting cf": lambda i, a: pymatting.estimate_foreground_cf(i, a, return_background=True),
    }


def _recomposite_error(image, alpha, foreground, background) -> float:
    mixed = (alpha > 0) & (alpha < 1)
    a = alpha[:, :, None]
    return float(np.abs(a * foreground + (1 - a) * background - image)[mixed].mean())


def _foreground_error(alpha, foreground, truth) -> float:
    # Only the soft edge: where alpha is 1 every method returns (nearly) the photograph.
    return float(np.abs(foreground - truth)[(alpha > 0.1) & (alpha < 1)].mean())


def _fit(photo: np.ndarray, shape) -> np.ndarray:
    from skimage.transform import resize

    return np.clip(resize(photo, (*shape, 3), anti_aliasing=True), 0.0, 1.0)


def _warm_up(methods) -> None:
    """Compile PyMatting's numba kernels (and load vecmatte's modules) outside the timings."""
    rng = np.random.default_rng(0)
    image = rng.uniform(size=(40, 40, 3))
    alpha = np.clip(rng.uniform(-0.5, 1.5, size=(40, 40)), 0, 1)
    for method in methods.values():
        method(image, alpha)


def _quality(names, data):
    from skimage import data as skdata

    photo_f = skdata.astronaut() / 255.0
    photo_b = skdata.coffee() / 255.0
    methods = _quality_methods()
    _warm_up(methods)
    rows = []
    for name in names:
        image = load_image(data / "image" / f"{name}.png")
        alpha = load_trimap(data / "alpha" / f"{name}.png")
        true_f = _fit(photo_f, alpha.shape)
        a = alpha[:, :, None]
        synthetic = a * true_f + (1 - a) * _fit(photo_b, alpha.shape)
        row = {
            "name": name,
            "size": f"{image.shape[1]}x{image.shape[0]}",
            "mixed": int(((alpha > 0) & (alpha < 1)).sum()),
            "naive": _foreground_error(alpha, synthetic, true_f),
        }
        for label, method in methods.items():
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                cpu = time.process_time()
                f, b = method(image, alpha)
                cpu = time.process_time() - cpu
                f_syn = method(synthetic, alpha)[0]
            row[label] = {
                "recomposite": _recomposite_error(image, alpha, f, b),
                "cpu": cpu,
                "fg_error": _foreground_error(alpha, f_syn, true_f),
                "warnings": len(caught),
            }
            print(
                f"quality {name} {label:23s} recomposite {row[label]['recomposite']:.5f} "
                f"fg error {row[label]['fg_error']:.4f} {cpu:6.2f} cpu s",
                file=sys.stderr,
            )
        rows.append(row)
    return list(methods), rows


def _quality_lines(columns, rows):
    lines = [
        "### Quality of every method",
        "",
        "vecmatte ml uses Germer et al.'s weights (epsilon 5e-3, omega 0.1); `vecmatte ml (pm "
        "params)` is the same code with PyMatting's defaults (1e-5, 1), as pymatting ml uses. "
        "vecmatte cf starts from the vecmatte ml estimate (its time includes it). blur_fusion: "
        "box widths 90 then 6.",
        "",
        "Re-composite error: mean of |alpha F + (1 - alpha) B - I| over the pixels with "
        "0 < alpha < 1 (lower is better, but F = B = I would score 0: read it with the next "
        "table). Time: process CPU seconds of one call on the photograph.",
        "",
        "| image | size | mixed px | "
        + " | ".join(f"{c} error | {c} cpu s" for c in columns)
        + " |",
        "|---|---|---:|" + "---:|---:|" * len(columns),
    ]
    for row in rows:
        cells = " | ".join(f"{row[c]['recomposite']:.5f} | {row[c]['cpu']:.2f}" for c in columns)
        lines.append(f"| {row['name']} | {row['size']} | {row['mixed']} | {cells} |")
    mean_cells = " | ".join(
        f"**{np.mean([r[c]['recomposite'] for r in rows]):.5f}** | "
        f"**{np.mean([r[c]['cpu'] for r in rows]):.2f}**"
        for c in columns
    )
    lines.append(f"| mean | | | {mean_cells} |")
    lines += [
        "",
        "Foreground error on semi-synthetic composites (each image's ground-truth alpha over "
        "scikit-image's `astronaut` as foreground and `coffee` as background, both resized): "
        "mean |F - F_true| where 0.1 < alpha < 1. The naive cutout (F = I) is given for scale.",
        "",
        "| image | naive F = I | " + " | ".join(columns) + " |",
        "|---|---:|" + "---:|" * len(columns),
    ]
    for row in rows:
        cells = " | ".join(f"{row[c]['fg_error']:.4f}" for c in columns)
        lines.append(f"| {row['name']} | {row['naive']:.4f} | {cells} |")
    mean_cells = " | ".join(f"**{np.mean([r[c]['fg_error'] for r in rows]):.4f}**" for c in columns)
    lines.append(f"| mean | {np.mean([r['naive'] for r in rows]):.4f} | {mean_cells} |")
    wins = {
        c: sum(r[c]["fg_error"] == min(r[k]["fg_error"] for k in columns) for r in rows)
        for c in columns
    }
    lines += [
        "",
        "Lowest foreground error, images won: "
        + ", ".join(f"{c} {n}" for c, n in wins.items())
        + ".",
    ]
    n_warn = {c: sum(r[c]["warnings"] for r in rows) for c in columns}
    if any(n_warn.values()):
        lines += ["", "Warnings raised: " + ", ".join(f"{c}: {n}" for c, n in n_warn.items())]
    lines.append("")
    return lines


# --------------------------------------------------------------------------------------------
# 3. big cutout

_STEPS_CHILD = """
import json, resource, sys, time
import numpy as np
from vecmatte.alpha import solve_alpha
from vecmatte.foreground import estimate_foreground, foreground_memory_bytes
from vecmatte.io import load_image, load_trimap
from vecmatte.trimap import trimap_from_mask

def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

image_path, mask_path, method = sys.argv[1:4]
image = load_image(image_path)
trimap = trimap_from_mask(load_trimap(mask_path), band=10)
report = {}
start, cpu = time.perf_counter(), time.process_time()
alpha = solve_alpha(image, trimap).alpha
report["alpha_wall"], report["alpha_cpu"] = time.perf_counter() - start, time.process_time() - cpu
del trimap
report["rss_before"] = rss()
calls = []
start, cpu = time.perf_counter(), time.process_time()
foreground = estimate_foreground(
    image, alpha, method=method, progress=lambda d, t: calls.append(time.perf_counter() - start)
)
report["fg_wall"], report["fg_cpu"] = time.perf_counter() - start, time.process_time() - cpu
report["rss_after"] = rss()
report["estimate"] = foreground_memory_bytes(alpha.shape, method)
report["progress_calls"] = len(calls)
report["first_progress"] = calls[0] if calls else None
print(json.dumps(report))
"""

_CLI_CHILD = """
import resource, sys, time
from vecmatte.cli import main
start = time.perf_counter()
code = main(sys.argv[1:])
print(code, time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


def _make_big(data: Path, directory: Path) -> tuple[Path, Path, tuple[int, int]]:
    from PIL import Image

    with Image.open(data / "image" / f"{BIG_IMAGE}.png") as file:
        photo = file.convert("RGB")
    with Image.open(data / "alpha" / f"{BIG_IMAGE}.png") as file:
        truth = file.convert("L")
    size = (photo.width * BIG_SCALE, photo.height * BIG_SCALE)
    image_path, mask_path = directory / "big.png", directory / "big_mask.png"
    photo.resize(size, Image.BICUBIC).save(image_path)
    mask = np.asarray(truth.resize(size, Image.BICUBIC)) > 127
    Image.fromarray((mask * 255).astype(np.uint8)).save(mask_path)
    return image_path, mask_path, (size[1], size[0])


def _child(code: str, *arguments: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *arguments], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    return done.stdout.strip().splitlines()[-1]


def _big(data: Path, methods) -> dict:
    with tempfile.TemporaryDirectory() as directory:
        directory = Path(directory)
        image, mask, shape = _make_big(data, directory)
        result = {"shape": shape, "cli": {}, "steps": {}}
        alpha_out, cutout_out = str(directory / "a.png"), str(directory / "c.png")
        base = ["alpha", str(image), "--mask", str(mask), "--band", "10", "-o", alpha_out, "-q"]
        for label, extra in (("alpha", []), ("alpha --cutout", ["--cutout", cutout_out])):
            code, wall, peak = _child(_CLI_CHILD, *base, *extra).split()
            result["cli"][label] = {"code": int(code), "wall": float(wall), "peak": int(peak)}
            print(f"big cli {label}: {wall} s, peak {int(peak) / 2**30:.2f} GiB", file=sys.stderr)
        for method in methods:
            report = json.loads(_child(_STEPS_CHILD, str(image), str(mask), method))
            result["steps"][method] = report
            print(f"big steps {method}: {report}", file=sys.stderr)
    return result


def _big_lines(big) -> list[str]:
    h, w = big["shape"]
    cli = big["cli"]
    ratio = cli["alpha --cutout"]["peak"] / cli["alpha"]["peak"]
    lines = [
        "### A 10 MP cutout",
        "",
        f"{BIG_IMAGE} upscaled {BIG_SCALE}x (bicubic) to {w} x {h} ({h * w / 1e6:.1f} MP); the "
        "mask is its upscaled ground-truth alpha > 0.5, `--band 10`. Each row is one child "
        "process; peak = its peak resident memory (ru_maxrss).",
        "",
        "| command | wall s | peak GiB |",
        "|---|---:|---:|",
    ]
    for label, run in cli.items():
        lines.append(f"| `vecmatte {label} ...` | {run['wall']:.2f} | {run['peak'] / 2**30:.2f} |")
    lines += [
        "",
        f"Peak memory with the cutout / without: **{ratio:.2f}**.",
        "",
        "Steps timed one by one in a child process (library calls: `solve_alpha` on the "
        "mask's trimap, then `estimate_foreground`); memory growth = the peak resident memory "
        "after the foreground minus before it, against `foreground_memory_bytes(shape, method)`.",
        "",
        "| foreground method | alpha solve wall s (cpu) | foreground wall s (cpu) "
        "| foreground / alpha (cpu) | memory growth MiB | estimate MiB | progress calls "
        "| first progress after s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for method, r in big["steps"].items():
        growth = max(0, r["rss_after"] - r["rss_before"])
        first = "" if r["first_progress"] is None else f"{r['first_progress']:.2f}"
        lines.append(
            f"| {method} | {r['alpha_wall']:.2f} ({r['alpha_cpu']:.2f}) | "
            f"{r['fg_wall']:.2f} ({r['fg_cpu']:.2f}) | {r['fg_cpu'] / r['alpha_cpu']:.2f} | "
            f"{growth / 2**20:.0f} | {r['estimate'] / 2**20:.0f} | {r['progress_calls']} | "
            f"{first} |"
        )
    lines.append("")
    return lines


# --------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=None, help="only the first N images")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per image (speed)")
    parser.add_argument("--skip-big", action="store_true", help="leave out the 10 MP cutout")
    parser.add_argument(
        "--speed-only", action="store_true", help="only part 1 (write it with --output)"
    )
    parser.add_argument("--output", type=Path, default=HERE / "results" / "foreground.md")
    args = parser.parse_args(argv)

    names = sorted(p.stem for p in (args.data / "image").glob("GT*.png"))[: args.limit]
    if not names:
        print(f"no images in {args.data / 'image'}", file=sys.stderr)
        return 1
    machine = provenance.machine_line(("numpy", "scipy", "vecmatte", "pymatting", "numba"))
    labels, speed_rows, threads = _speed(names, args.data, args.repeat)
    quality = None if args.speed_only else _quality(names, args.data)
    big = None if args.skip_big or args.speed_only else _big(args.data, ("ml", "blur_fusion"))

    command = "python bench/foreground.py" + (" " + " ".join(argv) if argv else "")
    lines = [
        # A speed-only run is merged beside the full one: its heading says which it is.
        "## Foreground estimation" + (": speed only" if args.speed_only else ""),
        "",
        provenance.generated_line(command),
        "",
        f"- machine: {machine}",
        f"- data: {len(names)} alphamatting.com low-resolution images, ground-truth alpha as input",
        "",
    ]
    lines += _speed_lines(labels, speed_rows, args.repeat, threads)
    if quality is not None:
        lines += _quality_lines(*quality)
    if big is not None:
        lines += _big_lines(big)
    provenance.write_markdown(args.output, "\n".join(lines))
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
