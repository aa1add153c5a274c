"""Foreground estimation: vecmatte's "ml" and "cf" against PyMatting's, in the same run.

For every alphamatting.com low-resolution image, the ground-truth alpha is given as input
(so the comparison is about foreground estimation, not alpha), and each method's ``F`` and
``B`` are scored by the re-composite error ``|alpha F + (1 - alpha) B - I|`` averaged over the
mixed pixels ``0 < alpha < 1`` and the colour channels.

The alphamatting images have no ground-truth foreground, and ``F = B = I`` would score a
perfect zero there; so a second table scores the foreground itself on semi-synthetic
composites with known colours: the same ground-truth alphas over two scikit-image photographs
(``astronaut`` as foreground, ``coffee`` as background), mean ``|F - F_true|`` where
``0.1 < alpha < 1``.

Writes bench/results/foreground.md (a generated file). Run with ``nice``::

    nice python bench/foreground.py [--data ../shared/data/alphamatting-lowres] [--limit N]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from vecmatte import estimate_foreground_background
from vecmatte.io import load_image, load_trimap

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "alphamatting-lowres"


def _methods():
    import pymatting

    return {
        "vecmatte ml": lambda i, a: estimate_foreground_background(i, a, method="ml"),
        # Same method with PyMatting's default weights, to separate parameters from code.
        "vecmatte ml (pm params)": lambda i, a: estimate_foreground_background(
            i, a, method="ml", regularization=1e-5, gradient_weight=1.0
        ),
        "vecmatte cf": lambda i, a: estimate_foreground_background(i, a, method="cf"),
        "pymatting ml": lambda i, a: pymatting.estimate_foreground_ml(i, a, return_background=True),
        "pymatting cf": lambda i, a: pymatting.estimate_foreground_cf(i, a, return_background=True),
    }


def _recomposite_error(image, alpha, foreground, background) -> float:
    mixed = (alpha > 0) & (alpha < 1)
    a = alpha[:, :, None]
    return float(np.abs(a * foreground + (1 - a) * background - image)[mixed].mean())


def _foreground_error(alpha, foreground, truth) -> float:
    # Only the soft edge: where alpha is 1 every method returns the photograph exactly.
    return float(np.abs(foreground - truth)[(alpha > 0.1) & (alpha < 1)].mean())


def _fit(photo: np.ndarray, shape) -> np.ndarray:
    from skimage.transform import resize

    return np.clip(resize(photo, (*shape, 3), anti_aliasing=True), 0.0, 1.0)


def _timed(function, *args):
    start = time.perf_counter()
    cpu = time.process_time()
    result = function(*args)
    return result, time.perf_counter() - start, time.process_time() - cpu


def _warm_up(methods) -> None:
    """Compile PyMatting's numba kernels (and load vecmatte's modules) outside the timings."""
    rng = np.random.default_rng(0)
    image = rng.uniform(size=(40, 40, 3))
    alpha = np.clip(rng.uniform(-0.5, 1.5, size=(40, 40)), 0, 1)
    for method in methods.values():
        method(image, alpha)


def _machine() -> str:
    import numpy
    import scipy

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return (
        f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, "
        f"NumPy {numpy.__version__}, SciPy {scipy.__version__}; load average at start {load}"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=None, help="only the first N images")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "foreground.md")
    args = parser.parse_args(argv)

    names = sorted(p.stem for p in (args.data / "image").glob("GT*.png"))[: args.limit]
    if not names:
        print(f"no images in {args.data / 'image'}", file=sys.stderr)
        return 1
    from skimage import data as skdata

    photo_f = skdata.astronaut() / 255.0
    photo_b = skdata.coffee() / 255.0
    machine = _machine()
    methods = _methods()
    _warm_up(methods)
    columns = list(methods)
    rows = []
    for name in names:
        image = load_image(args.data / "image" / f"{name}.png")
        alpha = load_trimap(args.data / "alpha" / f"{name}.png")
        true_f = _fit(photo_f, alpha.shape)
        true_b = _fit(photo_b, alpha.shape)
        a = alpha[:, :, None]
        synthetic = a * true_f + (1 - a) * true_b
        row = {
            "name": name,
            "size": f"{image.shape[1]}x{image.shape[0]}",
            "mixed": int(((alpha > 0) & (alpha < 1)).sum()),
        }
        for label, method in methods.items():
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                (f, b), wall, cpu = _timed(method, image, alpha)
                (f_syn, _), _, _ = _timed(method, synthetic, alpha)
            row[label] = {
                "recomposite": _recomposite_error(image, alpha, f, b),
                "wall": wall,
                "cpu": cpu,
                "fg_error": _foreground_error(alpha, f_syn, true_f),
                "warnings": len(caught),
            }
            print(
                f"{name} {label:23s} recomposite {row[label]['recomposite']:.5f} "
                f"fg error {row[label]['fg_error']:.4f} {cpu:6.2f} cpu s {wall:6.2f} s",
                file=sys.stderr,
            )
        rows.append(row)

    naive = []
    for name in names:
        alpha = load_trimap(args.data / "alpha" / f"{name}.png")
        true_f = _fit(photo_f, alpha.shape)
        a = alpha[:, :, None]
        synthetic = a * true_f + (1 - a) * _fit(photo_b, alpha.shape)
        naive.append(_foreground_error(alpha, synthetic, true_f))

    lines = [
        "## Foreground estimation",
        "",
        "Generated by `bench/foreground.py`; do not edit by hand.",
        "",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- machine: {machine}",
        f"- command: `nice python bench/foreground.py{' ' + ' '.join(argv) if argv else ''}`",
        f"- data: {len(names)} alphamatting.com low-resolution images, ground-truth alpha as input",
        "",
        "vecmatte ml uses Germer et al.'s weights (epsilon 5e-3, omega 0.1); `vecmatte ml (pm "
        "params)` is the same code with PyMatting's defaults (1e-5, 1), as pymatting ml uses. "
        "vecmatte cf starts from the vecmatte ml estimate (its time includes it).",
        "",
        "Re-composite error: mean of |alpha F + (1 - alpha) B - I| over the pixels with "
        "0 < alpha < 1 (lower is better, but F = B = I would score 0: read it with the next "
        "table). Time: process CPU seconds (wall-clock seconds in the means, in brackets): the "
        "machine was shared with other jobs, so wall-clock times are inflated and noisy.",
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
        f"**{np.mean([r[c]['cpu'] for r in rows]):.2f}** "
        f"({np.mean([r[c]['wall'] for r in rows]):.2f} wall)"
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
    for row, base in zip(rows, naive, strict=True):
        cells = " | ".join(f"{row[c]['fg_error']:.4f}" for c in columns)
        lines.append(f"| {row['name']} | {base:.4f} | {cells} |")
    mean_cells = " | ".join(f"**{np.mean([r[c]['fg_error'] for r in rows]):.4f}**" for c in columns)
    lines.append(f"| mean | {np.mean(naive):.4f} | {mean_cells} |")
    n_warn = {c: sum(r[c]["warnings"] for r in rows) for c in columns}
    if any(n_warn.values()):
        lines += ["", "Warnings raised: " + ", ".join(f"{c}: {n}" for c, n in n_warn.items())]
    lines.append("")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    temporary = args.output.with_suffix(".md.tmp")
    temporary.write_text("\n".join(lines))
    temporary.replace(args.output)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
