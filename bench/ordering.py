"""Nested dissection orderings compared on whole closed-form solves, in one process.

For each case (an image with its trimap, or GT-derived scribbles as in bench/scribbles.py) the
reduced closed-form system is built once; then the dissection of the working tree and that of a
baseline commit alternate, ``--rounds`` times: the ordering alone, the multifrontal factor on
it, and a whole :func:`vecmatte.solve_alpha` with the default preconditioner (``direct``,
factor ``auto``) using that ordering. Reported per case and ordering: tree nodes, entries of
``L`` and flops from the symbolic structure (a node with ``p`` own positions and ``b`` boundary
positions holds ``p (p + 1) / 2 + p b`` entries and costs ``sum (b + j)**2, j = 1..p`` flops),
the best CPU times, CG iterations, and the max |alpha - exact| against SuperLU's float64 solve of
the same system. Run pinned, one BLAS thread::

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 taskset -c 1 python bench/ordering.py \\
        --baseline e02cc87 --cases GT01:scribbles GT04:trimap2:2
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import numpy as np
import scribbles  # bench/scribbles.py: the strokes drawn from the ground truth
from harness.data import load_scaled

import vecmatte.linalg.multifrontal as multifrontal
from vecmatte import scribbles_to_trimap, solve_alpha
from vecmatte.alpha.cf import build_system
from vecmatte.linalg import dissection
from vecmatte.linalg._multifrontal_symbolic import children_of, front_boundaries, upper_in_order
from vecmatte.trimap import trimap_split

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "alphamatting-lowres"
DEFAULT_CASES = ["GT01:scribbles", "GT04:trimap2", "GT13:trimap2", "GT16:trimap2:2"]


def baseline_module(commit: str):
    """``vecmatte/linalg/dissection.py`` of ``commit``, imported under another name."""
    source = subprocess.run(
        ["git", "show", f"{commit}:vecmatte/linalg/dissection.py"],
        cwd=HERE.parent,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / f"dissection_{commit}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_case(data: Path, case: str):
    """``(label, image, trimap)`` from ``NAME:SOURCE[:SCALE]`` (a trimap set or scribbles)."""
    name, source, *rest = case.split(":")
    scale = float(rest[0]) if rest else 1
    image = load_scaled(str(data / "image" / f"{name}.png"), scale, "image")
    if source == "scribbles":
        alpha = load_scaled(str(data / "alpha" / f"{name}.png"), scale, "alpha")
        white, black = scribbles.draw_strokes(alpha)
        trimap = scribbles_to_trimap(image, scribbles.paint(image, white, black))
    else:
        trimap = load_scaled(str(data / source / f"{name}.png"), scale, "trimap")
    return case, image, trimap


def structure(matrix, tree) -> tuple[int, float, float]:
    """``(nodes, entries of L, flops)`` of the multifrontal factor along ``tree``."""
    upper = upper_in_order(matrix, tree.order, np.float32)
    fronts = front_boundaries(upper, tree.starts, children_of(tree.parent))
    b = np.array([len(f) for f in fronts], dtype=np.float64)
    p = np.diff(tree.starts).astype(np.float64)

    def squares(m):
        return m * (m + 1) * (2 * m + 1) / 6

    return (
        len(p),
        float((p * (p + 1) / 2 + p * b).sum()),
        float((squares(b + p) - squares(b)).sum()),
    )


def exact_alpha(system) -> np.ndarray:
    """Unknown pixels' alpha from SuperLU's float64 solve, clipped like the pipeline's."""
    from scipy.sparse.linalg import spsolve

    return np.clip(spsolve(system.matrix.tocsc(), system.rhs), 0, 1)


def run_case(case, orderings, rounds):
    label, image, trimap = case
    is_fg, is_bg, _ = trimap_split(trimap)
    system = build_system(image, is_fg, is_bg)
    ys, xs = system.coordinates()
    exact = exact_alpha(system)
    rows = {name: {"order": [], "factor": [], "solve": []} for name in orderings}
    for _ in range(rounds):
        for name, order_of in orderings.items():
            start = time.process_time()
            tree = order_of(ys, xs, system.reach)
            ordered = time.process_time()
            multifrontal.multifrontal_cholesky(system.matrix, tree)
            factored = time.process_time()
            with mock.patch.object(multifrontal, "dissection_order", order_of):
                result = solve_alpha(image, trimap)
            solved = time.process_time()
            row = rows[name]
            row["order"].append(ordered - start)
            row["factor"].append(factored - ordered)
            row["solve"].append(solved - factored)
            row["iterations"] = result.iterations
            row["error"] = float(np.abs(result.alpha.reshape(-1)[system.unknown] - exact).max())
            row["structure"] = row.get("structure") or structure(system.matrix, tree)
    lines = []
    for name, row in rows.items():
        nodes, entries, flops = row["structure"]
        lines.append(
            f"| {label} | {len(ys)} | {name} | {nodes} | {entries / 1e6:.2f} | {flops / 1e9:.2f} "
            f"| {min(row['order']):.3f} | {min(row['factor']):.3f} | {min(row['solve']):.3f} "
            f"| {np.median(row['solve']):.3f} | {row['iterations']} | {row['error']:.1e} |"
        )
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--cases", nargs="*", default=DEFAULT_CASES)
    parser.add_argument("--baseline", default="e02cc87", help="commit of the other ordering")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    old = baseline_module(args.baseline)
    orderings = {args.baseline: old.dissection_order, "tree": dissection.dissection_order}
    print(
        "| case | unknowns | ordering | nodes | L entries (M) | flops (G) | order s | factor s "
        "| solve s (best) | solve s (median) | CG it | max abs(alpha - exact) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for case in args.cases:
        for line in run_case(load_case(args.data, case), orderings, args.rounds):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
