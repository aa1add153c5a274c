"""Each alpha method's memory model against its measured peak; writes results/memory_models.md.

Usage (see bench/README.md)::

    OPENBLAS_NUM_THREADS=1 taskset -c 1 python bench/memory_models.py --resume

``vecmatte.memory.estimate_solve_memory`` (the number ``check_memory``, the CLI and
``vecmatte batch`` compare with the available memory before a solve) is set beside the peak
that ``estimate_alpha`` reaches with the method's default preconditioner, on alphamatting.com
photographs (half and full size, both trimap sets) and on synthetic scenes
(``vecmatte.synthetic.make_scene``) of several sizes. Every (method, case) runs in a fresh
child process that loads its inputs, warms the method up on a 40 x 40 scene (imports, BLAS
buffers), then solves twice:

- first for the resident memory: the kernel's high-water mark (``VmHWM``, reset through
  ``/proc/self/clear_refs``) and ``ru_maxrss``, each minus the resident memory just before the
  solve;
- then under ``tracemalloc``: the peak of the bytes Python and NumPy allocated during the solve
  (not what C++ or Fortran libraries allocate themselves: cKDTree, SuperLU, OpenBLAS).

An estimate must never be under either peak (a batch would run out of memory); the report
gives the ratio estimate / max(peaks). Measurements are cached (``--cache``) and the estimates
are recomputed from the working tree each time the report is written, so that a model can be
refitted without measuring again (``--resume``).

Beyond 0.4 MP: photographs upscaled 2x to 5.6x (``--scaled``, 1.8 to 13 MP: ``SCALED``,
bicubic in memory, nothing written to disk) and scribbles inputs as bench/scribbles.py draws them
(``--scribbles``: nearly every pixel unknown). Cases over ``--big`` pixels are measured for
the resident peak only (tracemalloc would double their time) and with conjugate gradient
stopped after ``BIG_MAXITER`` iterations: its vectors are allocated before the first one,
so the peak is the same and Jacobi's thousands of iterations are not waited for. Each child
runs under ``--memory-limit`` of address space (``RLIMIT_AS``): a model far under its peak
ends in a recorded MemoryError rather than in the machine swapping.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:  # when imported by the tests rather than run
    sys.path.insert(0, str(BENCH_DIR))

import provenance  # noqa: E402

# Ten photographs spanning the unknown share (5% to 49% of the pixels, both trimap sets),
# at half size; five of them at full size too.
IMAGES = ("GT01", "GT02", "GT03", "GT04", "GT05", "GT08", "GT09", "GT13", "GT16", "GT19")
FULL_IMAGES = ("GT01", "GT04", "GT05", "GT13", "GT16")
# Synthetic scenes: (height, width), band of unknown pixels around the edge.
SCENES = (
    ((60, 80), 3),
    ((150, 200), 6),
    ((300, 400), 25),
    ((600, 800), 10),
    ((900, 1200), 30),
)
# Larger inputs: (image, trimap set, scale); about 1.8, 1.9, 3.5, 4, 6.7 and 13 MP. With
# --cached-only the report shows the ones measured (session 6: GT13 x2 for closed-form only,
# GT02 x5.6 for all but knn and ifm, whose solves there take 15 min or 6 GiB).
SCALED = (
    ("GT04", "trimap", 2),
    ("GT13", "trimap2", 2),
    ("GT04", "trimap2", 2.8),
    ("GT05", "trimap", 3),
    ("GT02", "trimap", 4),
    ("GT02", "trimap", 5.6),
)
# Scribbles drawn on the ground truth (bench/scribbles.py, margin 15): (image, scale).
SCRIBBLES = (("GT01", 1), ("GT04", 1), ("GT01", 2))
BIG_PIXELS = 1.5e6
BIG_MAXITER = 30
THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


# ---------------------------------------------------------------------------------------------
# The child


def _release_free_heap() -> None:
    """Give freed heap memory back to the kernel (glibc ``malloc_trim``).

    Without it, what loading the inputs freed stays resident and the solve reuses it
    unseen: its resident peak would be understated.
    """
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def load_case(case: dict, data: str):
    """The case's image and trimap as the pipeline takes them (float64, [0, 1])."""
    if case["kind"] == "scene":
        from vecmatte.synthetic import make_scene

        scene = make_scene(tuple(case["shape"]), seed=case.get("seed", 0), band=case["band"])
        return scene.image, scene.trimap
    from harness.data import find_dataset, load_scaled

    if case["kind"] == "scribbles":
        from scribbles import draw_strokes, paint

        from vecmatte import scribbles_to_trimap

        dataset = find_dataset(Path(data), ["trimap"])
        image_path, _, truth_path = dataset.paths(case["image"], "trimap")
        image = load_scaled(image_path, case["scale"], "image")
        truth = load_scaled(truth_path, case["scale"], "alpha")
        white, black = draw_strokes(truth, margin=case["margin"])
        return image, scribbles_to_trimap(image, paint(image, white, black))
    dataset = find_dataset(Path(data), [case["trimap"]])
    image_path, trimap_path, _ = dataset.paths(case["image"], case["trimap"])
    return load_scaled(image_path, case["scale"], "image"), load_scaled(
        trimap_path, case["scale"], "trimap"
    )


def child(job: dict) -> dict:
    """Measure one (method, case): the resident and the tracemalloc peak of one solve each."""
    import gc
    import resource
    import tracemalloc
    import warnings

    from harness.child import _proc_status_kb, _reset_peak_rss

    import vecmatte
    from vecmatte.synthetic import make_scene
    from vecmatte.trimap import trimap_split

    method = job["method"]
    if job.get("memory_limit"):
        limit = int(job["memory_limit"] * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    image, trimap = load_case(job["case"], job["data"])
    big = trimap.size > job.get("big", BIG_PIXELS)
    solver = {"maxiter": BIG_MAXITER} if big and job["case"]["kind"] != "scene" else {}
    warm = make_scene((40, 40), seed=1)
    vecmatte.estimate_alpha(warm.image, warm.trimap, method=method)
    del warm
    gc.collect()
    _release_free_heap()
    before = _proc_status_kb("VmRSS") or 0
    reset = _reset_peak_rss()
    started = time.perf_counter()
    with warnings.catch_warnings():
        # a big case's conjugate gradient is stopped early on purpose
        warnings.simplefilter("ignore")
        alpha = vecmatte.estimate_alpha(image, trimap, method=method, **solver)
    seconds = time.perf_counter() - started
    high_water = _proc_status_kb("VmHWM") if reset else None
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    del alpha
    gc.collect()
    traced = 0
    if not big:
        tracemalloc.start()
        held = tracemalloc.get_traced_memory()[0]
        vecmatte.estimate_alpha(image, trimap, method=method)
        traced = tracemalloc.get_traced_memory()[1] - held
        tracemalloc.stop()
    return {
        "shape": list(trimap.shape),
        "unknown": int(trimap_split(trimap)[2].sum()),
        "hwm": (high_water - before) * 1024 if high_water is not None else None,
        "maxrss": (maxrss - before) * 1024,
        "traced": traced,
        "seconds": seconds,
    }


# ---------------------------------------------------------------------------------------------
# The parent


def cases(options) -> list[dict]:
    """Photographs at each scale and trimap set, then the synthetic scenes."""
    found = [
        {"kind": "image", "image": name, "trimap": trimap_set, "scale": scale}
        for scale, names in ((0.5, options.images), (1.0, options.full_images))
        for name in names
        for trimap_set in options.trimap
    ]
    found += [
        {"kind": "image", "image": name, "trimap": trimap_set, "scale": as_scale(scale)}
        for name, trimap_set, scale in (spec.split(":") for spec in options.scaled)
    ]
    found += [
        {"kind": "scribbles", "image": name, "scale": as_scale(scale), "margin": 15}
        for name, scale in (spec.split(":") for spec in options.scribbles)
    ]
    if not options.no_scenes:
        found += [{"kind": "scene", "shape": list(shape), "band": band} for shape, band in SCENES]
    return found


def as_scale(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() else value


def case_label(case: dict) -> str:
    if case["kind"] == "scene":
        h, w = case["shape"]
        return f"scene {h}x{w} band {case['band']}"
    if case["kind"] == "scribbles":
        return f"{case['image']} scribbles x{case['scale']:g}"
    return f"{case['image']} {case['trimap']} x{case['scale']:g}"


def job_key(method: str, case: dict) -> str:
    return json.dumps({"method": method, "case": case}, sort_keys=True)


def run_child(job: dict, timeout: float) -> dict:
    env = {**os.environ, **{name: "1" for name in THREADS}}
    command = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(job)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"more than {timeout:g} s"}
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1][:200]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(options) -> list[dict]:
    """Every (method, case) from the cache (``--resume``) or a fresh child."""
    cache = Path(options.cache)
    known = {}
    if options.resume and cache.is_file():
        for line in cache.read_text().splitlines():
            record = json.loads(line)
            known[job_key(record["method"], record["case"])] = record
    commit = provenance.git_revision()
    todo, records = [], []
    for method in options.methods:
        for case in cases(options):
            key = job_key(method, case)
            if key in known:
                records.append(known[key])
            elif not options.cached_only:
                todo.append(
                    {
                        "method": method,
                        "case": case,
                        "data": options.data,
                        "memory_limit": options.memory_limit,
                        "big": options.big,
                    }
                )

    def one(job: dict) -> dict:
        record = {"method": job["method"], "case": job["case"], "commit": commit}
        record.update(run_child(job, options.timeout))
        return record

    with concurrent.futures.ThreadPoolExecutor(options.jobs) as pool:
        for number, record in enumerate(pool.map(one, todo), 1):
            print(
                f"[{number}/{len(todo)}] {record['method']} {case_label(record['case'])}: "
                + (record.get("error") or f"{peak_of(record) / 2**20:.1f} MB"),
                file=sys.stderr,
                flush=True,
            )
            cache.parent.mkdir(parents=True, exist_ok=True)
            with cache.open("a") as handle:
                handle.write(json.dumps(record) + "\n")
            records.append(record)
    return records


def peak_of(record: dict) -> int:
    """The larger of the resident peak and the tracemalloc peak."""
    resident = record["hwm"] if record.get("hwm") is not None else record["maxrss"]
    return max(resident, record["traced"])


def estimate_of(record: dict) -> int:
    from vecmatte.memory import estimate_solve_memory

    return estimate_solve_memory(tuple(record["shape"]), record["unknown"], method=record["method"])


def fit(records: list[dict], margin: float) -> list[str]:
    """Per method, the smallest model ``a n + b u (+ d u**1.25) + c`` over ``margin`` peaks.

    Linear programme: minimise the sum of estimate / peak over the cases, with every
    estimate at least ``margin`` times its peak and every coefficient >= 0; the ``u**1.25``
    term (a factor's fill, as in :mod:`vecmatte.memory`) is tried as well.
    """
    import numpy as np
    from scipy.optimize import linprog

    lines = []
    for method in dict.fromkeys(r["method"] for r in records):
        ok = [r for r in records if r["method"] == method and "error" not in r]
        if not ok:
            continue
        n = np.array([r["shape"][0] * r["shape"][1] for r in ok], dtype=float)
        u = np.array([r["unknown"] for r in ok], dtype=float)
        peak = np.array([peak_of(r) for r in ok], dtype=float) / 2**20
        for names, columns in (
            ("n u 1", [n, u, np.full_like(n, 2**20)]),
            ("n u u^1.25 1", [n, u, u**1.25, np.full_like(n, 2**20)]),
        ):
            features = np.stack(columns, axis=1) / 2**20
            found = linprog(
                (features / peak[:, None]).sum(axis=0),
                A_ub=-features,
                b_ub=-margin * peak,
                bounds=(0, None),
            )
            if not found.success:
                lines.append(f"{method} [{names}]: {found.message}")
                continue
            ratio = features @ found.x / peak
            coefficients = ", ".join(f"{x:.4g}" for x in found.x)
            lines.append(
                f"{method} [{names}] = ({coefficients}) (constant in MiB): ratio "
                f"{ratio.min():.3f} to {ratio.max():.3f}, median {np.median(ratio):.3f}"
            )
    return lines


# ---------------------------------------------------------------------------------------------
# The report


def _mb(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:.1f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def summary_rows(records: list[dict]) -> list[list[str]]:
    rows = []
    for method in dict.fromkeys(r["method"] for r in records):
        ok = [r for r in records if r["method"] == method and "error" not in r]
        if not ok:
            continue
        ratios = [estimate_of(r) / peak_of(r) for r in ok]
        traced = [estimate_of(r) / max(r["traced"], 1) for r in ok]
        worst = min(range(len(ok)), key=ratios.__getitem__)
        highest = max(range(len(ok)), key=ratios.__getitem__)
        rows.append(
            [
                method,
                str(len(ok)),
                f"{min(ratios):.2f} ({case_label(ok[worst]['case'])})",
                f"{statistics.median(ratios):.2f}",
                f"{max(ratios):.2f} ({case_label(ok[highest]['case'])})",
                f"{min(traced):.2f}",
                str(sum(r < 1 for r in ratios)),
            ]
        )
    return rows


def render(records: list[dict], options, argv: list[str]) -> str:
    import shlex

    command = " ".join(shlex.quote(a) for a in ["python", "bench/memory_models.py", *argv])
    commits = sorted({r.get("commit", "?") for r in records})
    errors = [r for r in records if "error" in r]
    header = ["method", "cases", "lowest ratio (case)", "median ratio", "highest ratio (case)"]
    header += ["lowest estimate / tracemalloc", "cases under"]
    columns = ["method", "case", "shape", "unknown", "estimate", "VmHWM", "maxrss"]
    columns += ["tracemalloc", "ratio", "solve s"]
    per_case = [
        [
            r["method"],
            case_label(r["case"]),
            f"{r['shape'][0]}x{r['shape'][1]}",
            str(r["unknown"]),
            _mb(estimate_of(r)),
            _mb(r["hwm"]) if r.get("hwm") is not None else "-",
            _mb(r["maxrss"]),
            _mb(r["traced"]),
            f"{estimate_of(r) / peak_of(r):.2f}",
            f"{r['seconds']:.2f}",
        ]
        for r in records
        if "error" not in r
    ]
    lines = [
        "## Memory models against measured peaks",
        "",
        provenance.generated_line(command),
        "",
        f"- Machine: {provenance.machine_line(('numpy', 'scipy', 'vecmatte'))}.",
        f"- Peaks measured at commit(s) {', '.join(commits)}; estimates from "
        f"{provenance.git_revision()} (`vecmatte.memory.estimate_solve_memory`, the method's "
        "default preconditioner).",
        f"- Data: `{options.data}`, {len(options.images)} photographs at half size and "
        f"{len(options.full_images)} at full size, trimap sets {', '.join(options.trimap)}; "
        f"upscaled (bicubic, in memory) {', '.join(options.scaled) or 'none'}; scribbles "
        f"(bench/scribbles.py strokes, margin 15) {', '.join(options.scribbles) or 'none'}; "
        "synthetic scenes `make_scene(shape, band=...)`. Where a method has no row for a "
        "case, it was not measured.",
        f"- Cases over {options.big:.3g} pixels: the resident peak only (no tracemalloc "
        f"solve), conjugate gradient stopped after {BIG_MAXITER} iterations (its vectors exist "
        "from the first: same peak); every child under "
        f"{options.memory_limit:g} GiB of address space (`RLIMIT_AS`).",
        "- Each (method, case): a fresh child with one BLAS thread, warmed up on a 40 x 40 "
        "scene, then `estimate_alpha` twice: the resident peak (*VmHWM*, reset through "
        "`/proc/self/clear_refs`, and *maxrss*, `ru_maxrss`, each minus the resident memory "
        "just before the solve) and the *tracemalloc* peak (what Python and NumPy allocated). "
        "*ratio* = estimate / the larger of VmHWM (maxrss where the reset failed) and "
        "tracemalloc; below 1 the estimate is under the peak. Memory in MiB.",
        "",
        *_table(header, summary_rows(records)),
        "",
        "### Per case",
        "",
        *_table(columns, per_case),
    ]
    if errors:
        lines += ["", "### Failed", ""]
        lines += [f"- {r['method']} {case_label(r['case'])}: {r['error']}" for r in errors]
    return "\n".join(lines) + "\n"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        default=str(BENCH_DIR.parent.parent / "shared" / "data" / "alphamatting-lowres"),
        help="folder with image/, trimap/ (trimap2/), or the alphamatting.com names",
    )
    parser.add_argument(
        "--images", nargs="*", default=list(IMAGES), help="image names at half size"
    )
    parser.add_argument(
        "--full-images", nargs="*", default=list(FULL_IMAGES), help="image names at full size"
    )
    parser.add_argument(
        "--scaled",
        nargs="*",
        default=[f"{n}:{t}:{s:g}" for n, t, s in SCALED],
        metavar="IMAGE:TRIMAP:SCALE",
        help="larger photographs (upscaled in memory)",
    )
    parser.add_argument(
        "--scribbles",
        nargs="*",
        default=[f"{n}:{s:g}" for n, s in SCRIBBLES],
        metavar="IMAGE:SCALE",
        help="scribbles inputs drawn on the ground truth (bench/scribbles.py)",
    )
    parser.add_argument(
        "--big",
        type=float,
        default=BIG_PIXELS,
        help="pixels above which a case is measured resident-only, CG stopped early",
    )
    parser.add_argument(
        "--memory-limit", type=float, default=6.0, help="GiB of address space per child"
    )
    parser.add_argument("--trimap", nargs="+", default=["trimap", "trimap2"], help="trimap sets")
    parser.add_argument("--methods", nargs="+", help="methods (default: every registered one)")
    parser.add_argument("--no-scenes", action="store_true", help="leave out synthetic scenes")
    parser.add_argument("--jobs", type=int, default=1, help="children at once (default 1)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per child")
    parser.add_argument(
        "--cache", default=str(BENCH_DIR / ".cache" / "memory_models.jsonl"), help="measurements"
    )
    parser.add_argument("--resume", action="store_true", help="reuse cached measurements")
    parser.add_argument(
        "--cached-only",
        action="store_true",
        help="with --resume: report the cached cases only, measure nothing",
    )
    parser.add_argument(
        "--output", default=str(BENCH_DIR / "results" / "memory_models.md"), help="report path"
    )
    parser.add_argument(
        "--fit",
        type=float,
        metavar="MARGIN",
        help="print the smallest models over MARGIN times the cached peaks (no report)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    options = build_parser().parse_args(argv)
    if options.child:
        print(json.dumps(child(json.loads(options.child))))
        return 0
    if options.methods is None:
        from vecmatte.alpha import METHODS

        options.methods = list(METHODS)
    if options.fit:
        options.resume = options.cached_only = True
        print("\n".join(fit(measure(options), options.fit)))
        return 0
    records = measure(options)
    provenance.write_markdown(options.output, render(records, options, argv))
    print(f"wrote {options.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
