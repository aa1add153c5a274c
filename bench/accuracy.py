"""How far is each library's closed-form alpha from the exact solution of its own system?

For each image and trimap set (scale 1), three mattes are compared with the exact solution of
the linear system their solver iterates on, both clipped to [0, 1] as the libraries clip, over
the unknown pixels (max and mean of ``|alpha - exact|``):

- vecmatte's default solve (:func:`vecmatte.solve_alpha` with no solver option) and the same
  solve at each ``--rtols`` value, against vecmatte's system
  (:func:`vecmatte.alpha.cf.build_system`);
- PyMatting's ``estimate_alpha_cf`` with its defaults, against the system that function
  builds and hands to its ``cg``: ``L = cf_laplacian(image, is_known=is_known)``,
  ``L_U x = -R is_fg_K`` (it splits ``L`` itself rather than call ``make_linear_system``,
  which is the soft-constraint system of its other methods).

"Exact" is SuperLU's float64 LU of the system (minimum-degree ordering) followed by one step of
iterative refinement; the size of that step, at most about 1e-10 on these images, bounds the
reference's own error. Both systems are the same mathematics and should give nearly the same
exact alpha; their difference is reported too.

Each vecmatte setting is also timed against the default in the same process: the settings
alternate (the order rotated every round) for ``--rounds`` rounds, and the ratio of median CPU
times (``time.process_time``) to the default's is reported. Run pinned, one BLAS thread::

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 taskset -c 1 \\
        python bench/accuracy.py

Writes bench/results/accuracy.md (a generated file).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import provenance  # bench/provenance.py: the header and the write every bench script shares
from harness.data import find_dataset, load_scaled

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "alphamatting-lowres"


def exact_solve(matrix, rhs: np.ndarray) -> tuple[np.ndarray, float]:
    """SuperLU float64 solution with one refinement step, and the size of that step."""
    from scipy.sparse.linalg import splu

    matrix = matrix.tocsc()
    # Symmetric mode without pivoting (the matrix is positive definite): a Cholesky-like
    # factor with half the fill of partial pivoting; the refinement step checks it.
    factor = splu(
        matrix,
        permc_spec="MMD_AT_PLUS_A",
        diag_pivot_thresh=0.0,
        options={"SymmetricMode": True},
    )
    x = factor.solve(rhs)
    step = factor.solve(rhs - matrix @ x)
    return x + step, float(np.abs(step).max())


def distance(alpha_u: np.ndarray, exact_u: np.ndarray) -> tuple[float, float]:
    """Max and mean of ``|alpha - clip(exact)|`` over the unknown pixels."""
    d = np.abs(alpha_u - np.clip(exact_u, 0.0, 1.0))
    return float(d.max()), float(d.mean())


def pymatting_system(image: np.ndarray, trimap: np.ndarray):
    """The system PyMatting's ``estimate_alpha_cf`` solves (its own code, step for step)."""
    from pymatting import cf_laplacian, trimap_split

    is_fg, _, is_known, is_unknown = trimap_split(trimap)
    laplacian = cf_laplacian(image, is_known=is_known)
    rows = laplacian[is_unknown, :]
    return rows[:, is_unknown], -rows[:, is_known].dot(is_fg[is_known]), is_unknown


def default_direct_rtol() -> float:
    """The rtol vecmatte's default closed-form solve stops at (its preconditioner: direct)."""
    try:
        from vecmatte.alpha._pipeline import default_rtol
    except ImportError:  # before the per-preconditioner default
        from vecmatte._defaults import RTOL

        return RTOL
    return default_rtol("direct")


def vecmatte_case(image, trimap, rtols: list[float], rounds: int) -> dict:
    """Distances of each setting to the exact solve of vecmatte's system, and CPU times.

    The default is :func:`vecmatte.solve_alpha` itself; every setting (the default's rtol
    included) is then the pipeline's steps written out, so that the system and the factor,
    which the settings share, are built once per round and only conjugate gradient, where
    they differ, runs once per setting: the ratio of (build + factor + CG) CPU times then
    varies with the machine's load far less than whole solves timed one after another.
    """
    from vecmatte import solve_alpha
    from vecmatte._blas import single_threaded_blas
    from vecmatte.alpha.cf import build_system
    from vecmatte.linalg.cg import conjugate_gradient
    from vecmatte.preconditioners import build_preconditioner
    from vecmatte.trimap import trimap_split

    is_fg, is_bg, unknown = trimap_split(trimap)
    flat = unknown.ravel()
    default = solve_alpha(image, trimap)
    system = build_system(image, is_fg, is_bg)
    assert np.array_equal(np.flatnonzero(flat), system.unknown)
    exact, refinement = exact_solve(system.matrix, system.rhs)
    settings = {"default": default_direct_rtol(), **{f"rtol={r:g}": r for r in rtols}}
    rows = {
        label: {"cpu": [], "distance": None, "iterations": None, "residual": None}
        for label in settings
    }
    rows["default"].update(
        distance=distance(default.alpha.ravel()[flat], exact),
        iterations=default.iterations,
        residual=default.residual,
    )
    labels = list(settings)
    for round_ in range(rounds):
        start = time.process_time()
        system = build_system(image, is_fg, is_bg)
        with single_threaded_blas():
            operator = build_preconditioner(system, "direct", {})
        shared = time.process_time() - start
        # Interleaved: each round runs every setting once, the order rotated by one each round.
        shift = round_ % len(labels)
        for label in labels[shift:] + labels[:shift]:
            start = time.process_time()
            with single_threaded_blas():
                result = conjugate_gradient(
                    system.matrix, system.rhs, preconditioner=operator, rtol=settings[label]
                )
            rows[label]["cpu"].append(shared + time.process_time() - start)
            if rows[label]["distance"] is None:
                rows[label].update(
                    distance=distance(np.clip(result.x, 0.0, 1.0), exact),
                    iterations=result.iterations,
                    residual=result.residual,
                )
    return {
        "n_unknown": int(flat.sum()),
        "exact": exact,
        "refinement": refinement,
        "settings": rows,
        "default_rtol": settings["default"],
    }


def pymatting_case(image, trimap) -> dict:
    """Distance of ``estimate_alpha_cf``'s default matte to the exact solve of its system."""
    from pymatting import estimate_alpha_cf

    matrix, rhs, is_unknown = pymatting_system(image, trimap)
    exact, refinement = exact_solve(matrix, rhs)
    start = time.process_time()
    alpha = estimate_alpha_cf(image, trimap)
    cpu = time.process_time() - start
    return {
        "distance": distance(alpha.ravel()[is_unknown], exact),
        "exact": exact,
        "refinement": refinement,
        "cpu": cpu,
    }


def warm_up_pymatting() -> None:
    """Compile PyMatting's numba functions on a small scene, outside any measurement."""
    from pymatting import estimate_alpha_cf

    from vecmatte import make_scene

    scene = make_scene((40, 50), seed=0)
    estimate_alpha_cf(scene.image, scene.trimap)


def fmt(value: float) -> str:
    return f"{value:.1e}"


def cpu_ratio(case: dict, label: str) -> float:
    """Median over rounds of the setting's CPU time over the default's in the same round."""
    rows = case["settings"]
    return statistics.median(
        a / b for a, b in zip(rows[label]["cpu"], rows["default"]["cpu"], strict=True)
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--trimap", nargs="+", default=["trimap", "trimap2"])
    parser.add_argument("--images", nargs="+", help="image names (default: all)")
    parser.add_argument(
        "--rtols",
        nargs="+",
        type=float,
        default=[1e-6, 1e-7, 1e-8],
        help="rtol values of vecmatte's solve besides the default (default 1e-6 1e-7 1e-8)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds (default 3)")
    parser.add_argument(
        "--pymatting-max-unknown",
        type=int,
        default=400_000,
        help="skip PyMatting on cases with more unknown pixels (its ichol solve takes "
        "seconds per 1e5 unknowns; default 400000)",
    )
    parser.add_argument("--no-pymatting", dest="pymatting", action="store_false")
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="cases measured in this many worker processes at once (each case's timings stay "
        "within one process; default 1)",
    )
    parser.add_argument("--output", type=Path, default=HERE / "results" / "accuracy.md")
    args = parser.parse_args(argv)

    dataset = find_dataset(args.data, args.trimap)
    names = args.images or sorted(dataset.files)
    settings = [("default", None)] + [(f"rtol={r:g}", r) for r in args.rtols]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    started = time.perf_counter()
    jobs = [
        (name, trimap_set, *map(str, dataset.paths(name, trimap_set)[:2]), args)
        for trimap_set in args.trimap
        for name in names
    ]
    cases = []
    if args.jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(args.jobs, initializer=_initialize, initargs=(args,)) as pool:
            for case in pool.map(measure_case, jobs):
                cases.append(case)
                print(summary_line(case, settings), file=sys.stderr, flush=True)
    else:
        _initialize(args)
        for job in jobs:
            cases.append(measure_case(job))
            print(summary_line(cases[-1], settings), file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - started
    text = report(cases, settings, args, argv, load, elapsed)
    provenance.write_markdown(args.output, text)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def _initialize(args) -> None:
    if args.pymatting:
        warm_up_pymatting()


def measure_case(job) -> dict:
    """Every measurement of one (image, trimap set): a worker's unit of work."""
    name, trimap_set, image_path, trimap_path, args = job
    image = load_scaled(image_path, 1, "image")
    trimap = load_scaled(trimap_path, 1, "trimap")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        case = vecmatte_case(image, trimap, args.rtols, args.rounds)
    case.update(name=name, trimap=trimap_set)
    exact = case.pop("exact")
    if args.pymatting and case["n_unknown"] <= args.pymatting_max_unknown:
        case["pymatting"] = pymatting_case(image, trimap)
        theirs = case["pymatting"].pop("exact")
        case["systems"] = float(np.abs(np.clip(exact, 0, 1) - np.clip(theirs, 0, 1)).max())
    return case


def summary_line(case: dict, settings) -> str:
    parts = [f"{case['name']} {case['trimap']} {case['n_unknown']}"]
    for label, _ in settings:
        row = case["settings"][label]
        ratio = cpu_ratio(case, label)
        parts.append(
            f"{label}: it {row['iterations']} max {fmt(row['distance'][0])} "
            f"mean {fmt(row['distance'][1])} cpu x{ratio:.3f}"
        )
    if "pymatting" in case:
        d = case["pymatting"]["distance"]
        parts.append(f"pymatting: max {fmt(d[0])} mean {fmt(d[1])}")
    return " | ".join(parts)


def report(cases, settings, args, argv, load, elapsed) -> str:
    labels = [label for label, _ in settings]
    ratios = {label: [cpu_ratio(c, label) for c in cases] for label in labels}
    with_pm = [c for c in cases if "pymatting" in c]
    skipped = [f"{c['name']}/{c['trimap']}" for c in cases if "pymatting" not in c]
    command = "python bench/accuracy.py" + (" " + " ".join(argv) if argv else "")
    lines = [
        "## Closed-form alpha: distance to the exact solution",
        "",
        "Generated by `bench/accuracy.py`; do not edit by hand.",
        "",
        f"- date: {provenance.utc_now()}",
        f"- machine: {provenance.machine_line(('numpy', 'scipy', 'pymatting', 'vecmatte'))}; "
        f"load average at start {load}",
        f"- command: `{command}` (pin it: `OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 "
        f"NUMBA_NUM_THREADS=1 taskset -c 1`; BLAS threads here: "
        f"{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}); {len(cases)} cases at scale 1, "
        f"run time {elapsed / 60:.1f} min",
        "- distance: max and mean of |alpha - clip(exact)| over the unknown pixels, where "
        "exact is the SuperLU float64 solve (plus one refinement step) of the system the "
        "library's own solver iterates on: vecmatte's `vecmatte.alpha.cf.build_system`, "
        "PyMatting's `L_U x = -R is_fg_K` from `cf_laplacian(image, is_known=...)` as "
        "`estimate_alpha_cf` builds it. PyMatting: `estimate_alpha_cf(image, trimap)` "
        "(ichol, CG rtol 1e-7).",
        f"- reference: the refinement step was at most "
        f"{fmt(max(c['refinement'] for c in cases))} (vecmatte's systems)"
        + (
            f" and {fmt(max(c['pymatting']['refinement'] for c in with_pm))} (PyMatting's); "
            f"the two libraries' exact mattes differ by at most "
            f"{fmt(max(c['systems'] for c in with_pm))}"
            if with_pm
            else ""
        ),
        f"- default: `solve_alpha(image, trimap)`, which stops CG at rtol "
        f"{cases[0]['default_rtol']:g} with its default preconditioner (direct); the rtol "
        "rows are the same steps (build_system, direct factor, conjugate_gradient) with that "
        "rtol.",
        "- time: CPU time (`time.process_time`) of build + factor + CG: each round builds "
        "the system and the factor once (the settings share them) and runs CG once per "
        "setting, the order rotated each round; the ratio to the default's time in the same "
        f"round, median of {args.rounds} rounds. All in one process.",
    ]
    if skipped:
        lines.append(
            f"- PyMatting skipped (more than {args.pymatting_max_unknown} unknowns): "
            + ", ".join(skipped)
        )
    lines += ["", "### Summary", ""]
    lines += [
        "| solve | median of max | max of max | median of mean | max of mean "
        "| CG iterations (median, max) | CPU vs default (median, max) |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for label in labels:
        maxes = [c["settings"][label]["distance"][0] for c in cases]
        means = [c["settings"][label]["distance"][1] for c in cases]
        its = [c["settings"][label]["iterations"] for c in cases]
        lines.append(
            f"| vecmatte {label} | {fmt(statistics.median(maxes))} | {fmt(max(maxes))} "
            f"| {fmt(statistics.median(means))} | {fmt(max(means))} "
            f"| {statistics.median(its):g}, {max(its)} "
            f"| {statistics.median(ratios[label]):.3f}, {max(ratios[label]):.3f} |"
        )
    if with_pm:
        maxes = [c["pymatting"]["distance"][0] for c in with_pm]
        means = [c["pymatting"]["distance"][1] for c in with_pm]
        lines.append(
            f"| PyMatting default | {fmt(statistics.median(maxes))} | {fmt(max(maxes))} "
            f"| {fmt(statistics.median(means))} | {fmt(max(means))} | | |"
        )
        lines += [
            "",
            "Cases where vecmatte is farther from its exact solution than PyMatting "
            f"from its own ({len(with_pm)} cases with both):",
            "",
        ]
        for label in labels:
            worse_max = sum(
                c["settings"][label]["distance"][0] > c["pymatting"]["distance"][0] for c in with_pm
            )
            worse_mean = sum(
                c["settings"][label]["distance"][1] > c["pymatting"]["distance"][1] for c in with_pm
            )
            lines.append(f"- vecmatte {label}: {worse_max} by max, {worse_mean} by mean")
    lines += ["", "### Per case (max / mean distance; CG iterations; CPU vs default)", ""]
    header = "| image | trimap | unknown | " + " | ".join(f"vecmatte {x}" for x in labels)
    lines += [
        header + " | PyMatting |",
        "|---|---|---:|" + "---|" * len(labels) + "---|",
    ]
    for c in cases:
        cells = []
        for label in labels:
            row = c["settings"][label]
            ratio = cpu_ratio(c, label)
            cells.append(
                f"{fmt(row['distance'][0])} / {fmt(row['distance'][1])}; "
                f"{row['iterations']}; x{ratio:.2f}"
            )
        if "pymatting" in c:
            d = c["pymatting"]["distance"]
            pm = f"{fmt(d[0])} / {fmt(d[1])}"
        else:
            pm = "skipped"
        lines.append(
            f"| {c['name']} | {c['trimap']} | {c['n_unknown']} | "
            + " | ".join(cells)
            + f" | {pm} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
