"""Cold start of a rembg-style call: vecmatte's PyMatting shim against PyMatting itself.

Each run is a fresh Python process that imports the matting functions exactly as rembg does
(``from pymatting.alpha.estimate_alpha_cf import estimate_alpha_cf`` ...) and makes rembg's
call sequence once: ``estimate_alpha_cf(image, trimap)``, ``estimate_foreground_ml(image,
alpha)``, ``stack_images(foreground, alpha)``, on one alphamatting.com low-resolution image
(GT01, 0.4 MP; a synthetic 0.4 MP scene when the data is absent). Three set-ups:

- ``vecmatte shim``: ``vecmatte.compat.install_pymatting()`` first, so the imports resolve to
  vecmatte (no numba);
- ``PyMatting, empty numba cache``: ``NUMBA_CACHE_DIR`` set to a new empty directory for every
  run. With it set, numba reads and writes only there (its user-provided cache locator comes
  before the one next to PyMatting's sources in ``__pycache__``), so a cache already filled
  in site-packages is not used; this is a first start on a fresh machine or container;
- ``PyMatting, filled numba cache``: one untimed run fills a ``NUMBA_CACHE_DIR``, the timed
  runs then load the compiled kernels from it.

Writes ``bench/results/coldstart.md`` (median of ``--repeats`` runs each).

Usage::

    nice python bench/coldstart.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import provenance  # bench/provenance.py: the header and the write every bench script shares

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data" / "alphamatting-lowres"
RESULT = HERE / "results" / "coldstart.md"
PHOTO = "GT01.png"
PACKAGES = ("numpy", "scipy", "numba", "pymatting", "vecmatte")

# The child: everything it prints is one JSON line; times are from the start of the script.
CHILD = """
import time
start = time.perf_counter()
import json, resource, sys
import numpy as np
from PIL import Image

shim, image_path, trimap_path, alpha_out = sys.argv[1] == "shim", *sys.argv[2:5]
image = np.asarray(Image.open(image_path).convert("RGB")) / 255.0
trimap = np.asarray(Image.open(trimap_path).convert("L")) / 255.0
loaded = time.perf_counter()

if shim:
    from vecmatte.compat import install_pymatting
    install_pymatting()
# rembg 2.0.x, bg.py:
from pymatting.alpha.estimate_alpha_cf import estimate_alpha_cf
from pymatting.foreground.estimate_foreground_ml import estimate_foreground_ml
from pymatting.util.util import stack_images
imported = time.perf_counter()

alpha = estimate_alpha_cf(image, trimap)
foreground = estimate_foreground_ml(image, alpha)
cutout = stack_images(foreground, alpha)
called = time.perf_counter()

np.save(alpha_out, alpha)
print(json.dumps({
    "import": imported - loaded,
    "call": called - imported,
    "numba": "numba" in sys.modules,
    "shape": list(cutout.shape),
    "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def _inputs(workdir: Path) -> tuple[Path, Path, str]:
    """Image and trimap files: GT01 when the data is there, else a synthetic scene."""
    image, trimap = DATA / "image" / PHOTO, DATA / "trimap" / PHOTO
    if image.is_file() and trimap.is_file():
        from PIL import Image

        with Image.open(image) as opened:
            width, height = opened.size
        return image, trimap, f"alphamatting.com low-resolution {PHOTO} ({width} x {height})"
    from vecmatte.io import save_image
    from vecmatte.synthetic import make_scene

    scene = make_scene((500, 800), seed=0, band=8)
    image, trimap = workdir / "scene.png", workdir / "scene_trimap.png"
    save_image(image, scene.image)
    save_image(trimap, scene.trimap)
    return image, trimap, "synthetic scene 800 x 500 (alphamatting data absent)"


def _run(kind: str, image: Path, trimap: Path, alpha_out: Path, cache_dir: Path | None) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith("NUMBA_")}
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(cache_dir)
    command = [sys.executable, "-c", CHILD, kind, str(image), str(trimap), str(alpha_out)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{kind} run failed:\n{done.stderr}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    report["wall"] = wall
    return report


def _setups(workdir: Path):
    """(label, child kind, function giving the NUMBA_CACHE_DIR of each run)."""
    filled = workdir / "numba-filled"
    counter = iter(range(1000))
    return [
        ("vecmatte shim", "shim", lambda: None),
        (
            "PyMatting, empty numba cache",
            "pymatting",
            lambda: workdir / f"numba-empty-{next(counter)}",
        ),
        ("PyMatting, filled numba cache", "pymatting", lambda: filled),
    ], filled


def _table(rows: list[tuple[str, list[dict]]]) -> list[str]:
    lines = [
        "| set-up | total wall (s) | import (s) | call (s) | peak RSS (MB) | numba imported |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for label, runs in rows:
        median = {
            key: statistics.median(run[key] for run in runs)
            for key in ("wall", "import", "call", "max_rss_mb")
        }
        lines.append(
            f"| {label} | {median['wall']:.2f} | {median['import']:.2f} | {median['call']:.2f} "
            f"| {median['max_rss_mb']:.0f} | {'yes' if runs[0]['numba'] else 'no'} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per set-up (median)")
    parser.add_argument("--output", type=Path, default=RESULT, help="markdown file to write")
    args = parser.parse_args(argv)

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="vecmatte-coldstart-") as tmp:
        workdir = Path(tmp)
        image, trimap, description = _inputs(workdir)
        setups, filled = _setups(workdir)
        print("filling the numba cache (untimed run)", file=sys.stderr)
        _run("pymatting", image, trimap, workdir / "warm.npy", filled)
        rows, alphas = [], {}
        for repeat in range(args.repeats):
            # Interleave the set-ups so that load from other processes spreads over all of them.
            for index, (label, kind, cache) in enumerate(setups):
                alpha_out = workdir / f"alpha-{index}.npy"
                report = _run(kind, image, trimap, alpha_out, cache())
                if repeat == 0:
                    rows.append((label, []))
                    alphas[label] = np.load(alpha_out)
                rows[index][1].append(report)
                print(f"{label}: {report['wall']:.2f} s", file=sys.stderr)
        cached = sorted(path.name for path in filled.rglob("*.nbi"))
        empty_dirs = sorted(workdir.glob("numba-empty-*"))
        empty_filled = bool(empty_dirs) and any(empty_dirs[0].rglob("*.nbi"))

    shim_alpha, real_alpha = alphas["vecmatte shim"], alphas["PyMatting, filled numba cache"]
    command = "nice python bench/coldstart.py" + (
        f" --repeats {args.repeats}" if args.repeats != 3 else ""
    )
    lines = [
        "## Cold start: import + one rembg-style call in a fresh process",
        "",
        provenance.generated_line(command),
        f"Machine: {provenance.machine_line(PACKAGES)}. Load average (1 min) "
        f"{load_before:.1f} before the runs and "
        f"{os.getloadavg()[0]:.1f} after: the machine is shared, so times are wall-clock times "
        "under that load.",
        "",
        f"Input: {description}. Each run is a new `python` process that imports "
        "`estimate_alpha_cf`, `estimate_foreground_ml` and `stack_images` from the module "
        "paths rembg uses and calls them once. *total wall* is the whole process as seen "
        "by the parent (interpreter start, image loading, import, call, exit); *import* "
        "and *call* are timed inside it. Median of "
        f"{args.repeats} run(s) per set-up.",
        "",
        *_table(rows),
        "",
        "- *vecmatte shim*: `vecmatte.compat.install_pymatting()` before the imports.",
        "- *empty numba cache*: `NUMBA_CACHE_DIR` is a new empty directory per run, so numba "
        "compiles PyMatting's kernels (numba then ignores the cache next to PyMatting's "
        f"sources; the directory was filled afterwards: {'yes' if empty_filled else 'no'}).",
        f"- *filled numba cache*: `NUMBA_CACHE_DIR` filled by one untimed run "
        f"({len(cached)} cached kernels).",
        f"- The shim's alpha and PyMatting's differ by at most "
        f"{np.abs(shim_alpha - real_alpha).max():.1e} (both solve to PyMatting's rtol 1e-7).",
        "",
    ]
    provenance.write_markdown(args.output, "\n".join(lines))
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
