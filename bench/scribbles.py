"""Does closed-form matting still converge when the input is a few scribbles, not a trimap?

With scribbles nearly every pixel is unknown, so the reduced system is as large as the image.
Strokes are drawn programmatically: a few horizontal and vertical lines (3 pixels thick) through
the parts of the ground-truth alpha that are 1 (white strokes) or 0 (black strokes), at least
``--margin`` pixels away from the soft edge. They go through :func:`scribbles_to_trimap` (on
the photograph with the strokes painted in, Levin's convention), then :func:`solve_alpha` with
each preconditioner. Also run on a synthetic :func:`make_scene` composite. With
``--pymatting``, PyMatting's ``estimate_alpha_cf`` solves the same scribbles in the same process
(after a warm-up of numba's compilation), for the ratio of CPU times. Each solve runs
``--repeat`` times (alternating with PyMatting's) and the best wall and CPU times are kept: the
first call of a process also pays the page faults of memory it has not used yet (about 0.6 s
of system time for GT01's 0.4 GB on a loaded machine); ``--first-solves N`` measures that
first call in N fresh processes.

The default path's steps (building the system, the preconditioner's factor, conjugate
gradient) are timed separately on each photograph's scribbles, wall and CPU, with the threads
the machine gives (``--threads default``) and on one CPU with one BLAS thread (``--threads
1``): the second is the CPU time the scribbles target is measured in.

Writes bench/results/scribbles.md (a generated file). Run with ``nice``::

    nice python bench/scribbles.py [--images GT01 GT02 ...] [--pymatting]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import provenance  # bench/provenance.py: the header and the write every bench script shares

from vecmatte import make_scene, scribbles_to_trimap, solve_alpha
from vecmatte._defaults import PRECONDITIONER as DEFAULT_PRECONDITIONER
from vecmatte.io import load_image, load_trimap
from vecmatte.metrics import mse, sad

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "alphamatting-lowres"


def draw_strokes(alpha: np.ndarray, *, lines: int = 4, margin: int = 15, width: int = 3):
    """Boolean masks of white and black strokes: lines through the sure parts of ``alpha``."""
    from skimage.morphology import isotropic_erosion

    h, w = alpha.shape
    sure_fg = isotropic_erosion(alpha >= 1.0, margin)
    sure_bg = isotropic_erosion(alpha <= 0.0, margin)
    lines_mask = np.zeros((h, w), bool)
    for k in range(1, lines + 1):
        row, col = k * h // (lines + 1), k * w // (lines + 1)
        lines_mask[row - width // 2 : row + width // 2 + 1, :] = True
        lines_mask[:, col - width // 2 : col + width // 2 + 1] = True
    return lines_mask & sure_fg, lines_mask & sure_bg


def paint(image: np.ndarray, white: np.ndarray, black: np.ndarray) -> np.ndarray:
    scribbled = image.copy()
    scribbled[white] = 1.0
    scribbled[black] = 0.0
    return scribbled


def timed(function, *args, **kwargs):
    """``(result, wall s, cpu s)`` of one call."""
    start, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start, time.process_time() - cpu


STEPS = ("build", "factor", "cg")


@contextlib.contextmanager
def step_clock(spent: dict):
    """Add each step's ``(wall s, cpu s)`` of the solves run inside to ``spent``.

    Wraps the three functions the pipeline calls (looked up by it at call time): the method's
    ``build_system``, ``build_preconditioner`` (the factor) and ``conjugate_gradient``.
    """
    import vecmatte.alpha.cf as cf
    import vecmatte.linalg.cg as cg
    import vecmatte.preconditioners as preconditioners

    targets = [(cf, "build_system", "build"), (preconditioners, "build_preconditioner", "factor")]
    targets.append((cg, "conjugate_gradient", "cg"))
    originals = [getattr(module, name) for module, name, _ in targets]

    def clocked(function, step):
        def call(*args, **kwargs):
            result, wall, cpu = timed(function, *args, **kwargs)
            before = spent.get(step, (0.0, 0.0))
            spent[step] = (before[0] + wall, before[1] + cpu)
            return result

        return call

    for (module, name, step), original in zip(targets, originals, strict=True):
        setattr(module, name, clocked(original, step))
    try:
        yield spent
    finally:
        for (module, name, _), original in zip(targets, originals, strict=True):
            setattr(module, name, original)


@contextlib.contextmanager
def threads(setting: str):
    """``"default"``: as the machine is; ``"1"``: one CPU of this process's, one BLAS thread."""
    if setting == "default":
        yield
        return
    from vecmatte._blas import single_threaded_blas

    mask = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {max(mask)})
    try:
        with single_threaded_blas():
            yield
    finally:
        os.sched_setaffinity(0, mask)


def time_steps(image, trimap, *, repeat: int, setting: str) -> dict:
    """Best wall and CPU time of each step and of the whole solve over ``repeat`` solves."""
    best: dict = {}
    with threads(setting):
        for _ in range(repeat):
            with step_clock({}) as spent:
                _, wall, cpu = timed(solve_alpha, image, trimap)
            spent["total"] = (wall, cpu)
            for step, (w, c) in spent.items():
                old = best.get(step, (np.inf, np.inf))
                best[step] = (min(old[0], w), min(old[1], c))
    return best


FIRST_SOLVE_CHILD = """
import json, resource, sys, time
sys.path.insert(0, {bench!r})
from scribbles import draw_strokes, paint
from vecmatte import make_scene, scribbles_to_trimap, solve_alpha
from vecmatte.io import load_image, load_trimap
image, truth = load_image({image!r}), load_trimap({truth!r})
white, black = draw_strokes(truth, margin={margin})
trimap = scribbles_to_trimap(image, paint(image, white, black))
warm = make_scene((40, 40), seed=1)
solve_alpha(warm.image, warm.trimap)  # imports and first calls are not what is timed
before, cpu = resource.getrusage(resource.RUSAGE_SELF), time.process_time()
solve_alpha(image, trimap)
cpu, after = time.process_time() - cpu, resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({{"cpu": cpu, "sys": after.ru_stime - before.ru_stime,
                  "faults": after.ru_minflt - before.ru_minflt}}))
"""


def first_solves(image_path: Path, truth_path: Path, *, margin: int, count: int) -> list[dict]:
    """CPU time of the first scribbles solve in each of ``count`` fresh processes.

    Each child is pinned to one CPU of this process's with one BLAS thread, warms up on a
    40 x 40 scene, then solves the scribbles once: the first touch of the solve's memory (page
    faults, counted in ``faults``; their kernel time in ``sys``) is inside the timed call, as
    it is for a user's one-off ``vecmatte alpha``.
    """
    import json
    import subprocess

    code = FIRST_SOLVE_CHILD.format(
        bench=str(HERE), image=str(image_path), truth=str(truth_path), margin=margin
    )
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    cpu = str(max(os.sched_getaffinity(0)))
    runs = []
    for _ in range(count):
        done = subprocess.run(
            ["taskset", "-c", cpu, sys.executable, "-c", code],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return runs


def run_pymatting(image, trimap):
    """PyMatting's closed-form alpha on the same input: ``(alpha, wall s, cpu s)``."""
    from pymatting import estimate_alpha_cf

    return timed(estimate_alpha_cf, image, trimap)


def run_case(
    name,
    image,
    true_alpha,
    preconditioners,
    *,
    margin,
    trimap=None,
    pymatting=False,
    repeat=1,
    thread_settings=(),
    steps=None,
):
    """Solve from scribbles with each preconditioner (and from ``trimap`` with the default).

    Every solve runs ``repeat`` times, PyMatting's alternating with the first preconditioner's;
    the best wall and CPU times are kept. The default path's steps on the scribbles are timed
    with each of ``thread_settings`` and appended to ``steps``.
    """
    white, black = draw_strokes(true_alpha, margin=margin)
    scribbled = scribbles_to_trimap(image, paint(image, white, black))
    for setting in thread_settings:
        best = time_steps(image, scribbled, repeat=repeat, setting=setting)
        steps.append({"name": name, "threads": setting, **best})
        print(f"{name} scribbles steps, threads {setting}: {best}", file=sys.stderr)
    inputs = [("scribbles", p, scribbled) for p in preconditioners]
    if trimap is not None:
        inputs.append(("trimap", DEFAULT_PRECONDITIONER, trimap))
    rows, theirs = [], []
    for number, (source, preconditioner, trimap) in enumerate(inputs):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            times = []
            for _ in range(repeat):
                result, wall, cpu = timed(solve_alpha, image, trimap, preconditioner=preconditioner)
                times.append((wall, cpu))
                if pymatting and number == 0:
                    theirs.append(run_pymatting(image, scribbled))
            wall, cpu = min(t[0] for t in times), min(t[1] for t in times)
        rows.append(
            {
                "name": name,
                "source": source,
                "size": f"{image.shape[1]}x{image.shape[0]}",
                "unknown": result.n_unknown / true_alpha.size,
                "preconditioner": preconditioner,
                "iterations": result.iterations,
                "residual": result.residual,
                "converged": result.converged and not caught,
                "wall": wall,
                "cpu": cpu,
                "sad": sad(result.alpha, true_alpha),
                "mse": mse(result.alpha, true_alpha),
            }
        )
        print(
            f"{name} {source} {preconditioner}: {result.iterations} it, {wall:.1f} s",
            file=sys.stderr,
        )
    if pymatting:
        alpha = theirs[-1][0]
        wall, cpu = min(t[1] for t in theirs), min(t[2] for t in theirs)
        rows.append(
            {
                **rows[0],
                "preconditioner": "PyMatting estimate_alpha_cf",
                "iterations": None,
                "residual": None,
                "converged": True,
                "wall": wall,
                "cpu": cpu,
                "sad": sad(alpha, true_alpha),
                "mse": mse(alpha, true_alpha),
                "versus": rows[0]["cpu"] / cpu,
            }
        )
        print(f"{name} scribbles PyMatting: {wall:.1f} s", file=sys.stderr)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--images", nargs="*", default=["GT01", "GT04"])
    parser.add_argument("--preconditioners", nargs="*", default=[DEFAULT_PRECONDITIONER])
    parser.add_argument(
        "--synthetic-preconditioners",
        nargs="*",
        default=[DEFAULT_PRECONDITIONER, "ichol", "jacobi"],
        help="preconditioners for the synthetic scene (jacobi is too slow on the photographs)",
    )
    parser.add_argument("--margin", type=int, default=15)
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="solves of each photograph case (best time kept; PyMatting's alternate)",
    )
    parser.add_argument(
        "--pymatting",
        action="store_true",
        help="also time PyMatting's estimate_alpha_cf on the photographs' scribbles",
    )
    parser.add_argument(
        "--threads",
        nargs="*",
        choices=["default", "1"],
        default=["default", "1"],
        help="thread settings of the step timings: as the machine is, and one CPU + one BLAS "
        "thread (the CPU time the 1.5 s target is measured in)",
    )
    parser.add_argument(
        "--first-solves",
        type=int,
        default=0,
        metavar="N",
        help="also time the first scribbles solve of N fresh processes per photograph "
        "(one CPU, one BLAS thread): what a one-off command pays, page faults included",
    )
    parser.add_argument("--output", type=Path, default=HERE / "results" / "scribbles.md")
    args = parser.parse_args(argv)
    if args.first_solves < 0:
        parser.error(f"--first-solves must be 0 or more, got {args.first_solves}")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())

    if args.pymatting:
        from pymatting import estimate_alpha_cf

        warm = make_scene((40, 40), seed=1)
        estimate_alpha_cf(warm.image, warm.trimap)  # numba compiles on the first call
    rows, steps, firsts = [], [], []
    scene = make_scene((240, 320), seed=0)
    rows += run_case(
        "make_scene",
        scene.image,
        scene.alpha,
        args.synthetic_preconditioners,
        margin=8,
        trimap=scene.trimap,
    )
    for name in args.images:
        path = args.data / "image" / f"{name}.png"
        if not path.exists():
            print(f"skipping {name}: {path} not found", file=sys.stderr)
            continue
        rows += run_case(
            name,
            load_image(path),
            load_trimap(args.data / "alpha" / f"{name}.png"),
            args.preconditioners,
            margin=args.margin,
            trimap=load_trimap(args.data / "trimap" / f"{name}.png"),
            pymatting=args.pymatting,
            repeat=args.repeat,
            thread_settings=args.threads,
            steps=steps,
        )
        if args.first_solves:
            runs = first_solves(
                path,
                args.data / "alpha" / f"{name}.png",
                margin=args.margin,
                count=args.first_solves,
            )
            firsts.append((name, runs))

    lines = [
        "## Alpha from scribbles: convergence",
        "",
        "Generated by `bench/scribbles.py`; do not edit by hand.",
        "",
        f"- date: {provenance.utc_now()}",
        f"- machine: {provenance.machine_line()}; load average at start {load} "
        "(shared with other jobs: times are indicative)",
        f"- command: `nice python bench/scribbles.py{' ' + ' '.join(argv) if argv else ''}`",
        "- strokes: 4 horizontal and 4 vertical 3-pixel lines, kept where the ground-truth alpha "
        f"is 1 (white) or 0 (black) at least {args.margin} pixels from the soft edge "
        "(8 for make_scene); default eps, radius, rtol. For scale, the same image solved from "
        "its trimap (make_scene's own, alphamatting's `trimap`) with the default preconditioner. "
        "SAD (/1000) and MSE over the whole image against the ground truth. CPU seconds are "
        f"`time.process_time()` of a `solve_alpha` call, the best of {args.repeat} on the "
        "photographs (one on make_scene; BLAS threads as the environment sets them); with "
        "`--pymatting`, PyMatting's `estimate_alpha_cf` on the same scribbles in the "
        "same process, and the ratio vecmatte/PyMatting of CPU times.",
        "",
        "| image | size | input | unknown | preconditioner | CG iterations | residual "
        "| converged | wall s | cpu s | vecmatte/PyMatting cpu | SAD | MSE |",
        "|---|---|---|---:|---|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        iterations = "" if r["iterations"] is None else r["iterations"]
        residual = "" if r["residual"] is None else f"{r['residual']:.1e}"
        versus = f"{r['versus']:.2f}" if "versus" in r else ""
        lines.append(
            f"| {r['name']} | {r['size']} | {r['source']} | {100 * r['unknown']:.1f}% | "
            f"{r['preconditioner']} | "
            f"{iterations} | {residual} | {'yes' if r['converged'] else 'NO'} | "
            f"{r['wall']:.1f} | {r['cpu']:.2f} | {versus} | {r['sad']:.1f} | {r['mse']:.4f} |"
        )
    if steps:
        lines += [
            "",
            "### Steps of the default path on the scribbles",
            "",
            f"Best of {args.repeat} solves for each step and for the whole `solve_alpha` call "
            "(so the steps need not add up to the total); wall / CPU seconds. Threads "
            "`default`: as the machine gives them (the build runs strips in threads, the "
            "factor and CG use one BLAS thread); `1`: the process pinned to one CPU with one "
            "BLAS thread, the CPU time the 1.5 s scribbles target is measured in.",
            "",
            "| image | threads | build wall / cpu s | factor wall / cpu s | CG wall / cpu s "
            "| solve_alpha wall / cpu s |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for r in steps:
            cells = [f"{r[step][0]:.2f} / {r[step][1]:.2f}" for step in (*STEPS, "total")]
            lines.append(f"| {r['name']} | {r['threads']} | {' | '.join(cells)} |")
    if firsts:
        lines += [
            "",
            "### First solve in a fresh process",
            "",
            f"`--first-solves {args.first_solves}`: each of {args.first_solves} fresh "
            "processes (one CPU, one BLAS thread, warmed up on a 40 x 40 scene) solves the "
            "scribbles once; CPU seconds include the kernel's time for the page faults of "
            "memory the process touches for the first time. Median (range).",
            "",
            "| image | solve_alpha cpu s | of which system s | minor page faults |",
            "|---|---:|---:|---:|",
        ]
        for name, runs in firsts:
            cells = []
            for key, fmt in (("cpu", "{:.2f}"), ("sys", "{:.2f}"), ("faults", "{:.0f}")):
                values = [run[key] for run in runs]
                low, mid, high = min(values), float(np.median(values)), max(values)
                cells.append(f"{fmt.format(mid)} ({fmt.format(low)}-{fmt.format(high)})")
            lines.append(f"| {name} | {' | '.join(cells)} |")
    lines.append("")
    provenance.write_markdown(args.output, "\n".join(lines))
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
