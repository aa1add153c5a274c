"""Large images: time and peak memory of one solve at 16 and 32 megapixels.

An alphamatting photograph (GT02, 800 x 524, its trimap 13.7% unknown) is upscaled to a
target pixel count (bicubic for the image, nearest for the trimap, so the unknown fraction
stays the same) and solved by ``solve_alpha`` in a child process, whose peak resident memory
(``ru_maxrss``) is read when it exits. Before each solve ``vecmatte.memory.check_memory``
decides, as the CLI does, whether it fits in the memory available.

    python bench/large.py                  # 16 and 32 MP, writes bench/results/large.md
    python bench/large.py --sizes 16       # measure (again) some sizes only, in megapixels
    python bench/large.py --sizes 32 --force  # solve even if the memory check refuses
    python bench/large.py --render         # rewrite large.md from bench/results/large.json
    python bench/large.py --calibrate      # fit the constants of vecmatte/memory.py

Run it alone (``nice``, nothing else heavy on the machine): time and memory are measured.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import provenance  # bench/provenance.py: the header and the write every bench script shares

DATA = Path(
    os.environ.get(
        "VECMATTE_DATA",
        Path(__file__).resolve().parents[2] / "shared" / "data" / "alphamatting-lowres",
    )
)
RESULTS = Path(__file__).resolve().parent / "results" / "large.md"
# Every measurement, so that sizes measured at different times can be shown together.
CACHE = RESULTS.with_suffix(".json")
NAME = "GT02"


def _rss_bytes() -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def _inputs(name: str, trimap_kind: str, megapixels: float):
    """The photograph and its trimap upscaled to ``megapixels`` (float64 image, float trimap)."""
    import numpy as np
    from PIL import Image

    with Image.open(DATA / "image" / f"{name}.png") as image:
        image = image.convert("RGB")
    with Image.open(DATA / trimap_kind / f"{name}.png") as trimap:
        trimap = trimap.convert("L")
    w, h = image.size
    scale = (megapixels * 1e6 / (w * h)) ** 0.5
    size = (round(w * scale), round(h * scale))
    image = np.asarray(image.resize(size, Image.Resampling.BICUBIC), dtype=np.float64) / 255.0
    trimap = np.asarray(trimap.resize(size, Image.Resampling.NEAREST), dtype=np.float64) / 255.0
    return image, trimap, scale


def _child(spec: dict) -> dict:
    """Runs in a fresh process: make the inputs, solve, report time and memory."""
    import resource

    import numpy as np

    from vecmatte.alpha import solve_alpha
    from vecmatte.memory import available_memory, check_memory, estimate_solve_memory

    # A small solve first, so that the modules it imports are not counted in its peak.
    from vecmatte.synthetic import make_scene
    from vecmatte.trimap import trimap_split

    warm = make_scene((40, 40), seed=0)
    solve_alpha(warm.image, warm.trimap)
    image, trimap, scale = _inputs(spec["name"], spec["trimap"], spec["megapixels"])
    n_unknown = int(trimap_split(trimap)[2].sum())
    from vecmatte._defaults import PRECONDITIONER as DEFAULT_PRECONDITIONER

    report = {
        "preconditioner": spec.get("preconditioner", DEFAULT_PRECONDITIONER),
        "shape": list(image.shape[:2]),
        "scale": scale,
        "n_unknown": n_unknown,
        "estimate": estimate_solve_memory(
            image.shape,
            n_unknown,
            preconditioner=spec.get("preconditioner", DEFAULT_PRECONDITIONER),
        ),
        "available": available_memory(),
    }
    if spec.get("check", True):
        try:
            check_memory(image.shape, n_unknown, preconditioner=report["preconditioner"])
        except MemoryError as error:
            report["refused"] = str(error)
            return report
    before = _rss_bytes()
    start = time.perf_counter()
    result = solve_alpha(image, trimap, preconditioner=report["preconditioner"])
    report.update(
        seconds=time.perf_counter() - start,
        iterations=result.iterations,
        residual=result.residual,
        converged=bool(result.converged),
        rss_before=before,
        peak=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        alpha_mean=float(np.mean(result.alpha)),
    )
    return report


def _peak_of(pid: int) -> int | None:
    """Peak resident memory so far (VmHWM) of a running process, in bytes."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def run_child(spec: dict, timeout: float) -> dict:
    """Run :func:`_child` in a new interpreter (so ``ru_maxrss`` is this solve's alone).

    While it runs its peak memory is polled, so that a solve stopped at ``timeout`` (or
    killed) still tells how much memory it had reached.
    """
    import tempfile

    command = [sys.executable, __file__, "--child", json.dumps(spec)]
    start = time.perf_counter()
    peak = None
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, text=True)
        while process.poll() is None:
            peak = _peak_of(process.pid) or peak
            if time.perf_counter() - start > timeout:
                process.kill()
                process.wait()
                return {
                    "error": f"stopped after {timeout:.0f} s without a result; peak memory "
                    f"so far {_gib(peak)} GiB"
                }
            time.sleep(1.0)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if process.returncode != 0:
        tail = stderr.strip().splitlines()[-3:]
        how = f"killed by signal {-process.returncode}" if process.returncode < 0 else "failed"
        return {
            "error": f"child {how} after {wall:.0f} s (peak memory {_gib(peak)} GiB): "
            f"{' / '.join(tail)}"
        }
    report = json.loads(stdout.strip().splitlines()[-1])
    report["wall"] = wall
    return report


def _gib(value) -> str:
    return "-" if value is None else f"{value / 2**30:.2f}"


def _load_cache() -> dict:
    return json.loads(CACHE.read_text()) if CACHE.is_file() else {"solves": {}, "calibration": {}}


def _save_cache(cache: dict) -> None:
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    CACHE.write_text(json.dumps(cache, indent=1, sort_keys=True) + "\n")


def _stamp(report: dict) -> dict:
    """Add when and on which code a measurement was made (the solver changes over time)."""
    commit = provenance.git_revision()
    return {**report, "when": time.strftime("%Y-%m-%d %H:%M"), "commit": commit}


def calibrate(points: list[tuple], timeout: float) -> None:
    """Measure the extra peak of solve_alpha at a few sizes and fit the memory model."""
    import numpy as np

    cache = _load_cache()
    for name, megapixels, *preconditioner in points:
        key = f"{name}@{megapixels:g}" + "".join(f"/{p}" for p in preconditioner)
        if key in cache["calibration"]:
            continue
        spec = {"name": name, "trimap": "trimap", "megapixels": megapixels, "check": False}
        if preconditioner:
            spec["preconditioner"] = preconditioner[0]
        report = run_child(spec, timeout)
        if "error" in report:
            print(key, report["error"], file=sys.stderr)
            continue
        cache["calibration"][key] = _stamp(report)
        _save_cache(cache)
    from scipy.optimize import nnls

    # One fit per kind of preconditioner: "direct" keeps a factor whose fill grows faster
    # than the unknowns, the iterative ones do not. Least squares of the relative error.
    for kind, columns in (("direct", 3), ("ichol", 2)):
        design, measured = [], []
        for key, report in sorted(cache["calibration"].items()):
            if report["preconditioner"] != kind:
                continue
            pixels = report["shape"][0] * report["shape"][1]
            extra = report["peak"] - report["rss_before"]
            n_unknown = report["n_unknown"]
            design.append([pixels, n_unknown, n_unknown**1.25][:columns])
            measured.append(extra)
            print(
                f"{key:14s} unknown {n_unknown:>9,}  extra peak {extra / 2**20:8.1f} MiB  "
                f"estimate {report['estimate'] / 2**20:8.1f} MiB  {report['seconds']:6.1f} s  "
                f"({report['when']}, {report['commit']})"
            )
        if not measured:
            continue
        design, measured = np.array(design, dtype=float), np.array(measured, dtype=float)
        coef, _ = nnls(design / measured[:, None], np.ones(len(measured)))
        terms = ["bytes/pixel", "bytes/unknown", "bytes * unknown**1.25"]
        print(
            f"{kind} fit: "
            + " + ".join(f"{c:.2f} {t}" for c, t in zip(coef, terms[:columns], strict=True))
        )
        ratios = measured / (design @ coef)
        print("measured / fitted:", " ".join(f"{r:.2f}" for r in ratios), f"max {ratios.max():.3f}")


def _row(report: dict) -> str:
    megapixels = f"{report['megapixels']:g}" + (" (check skipped)" if report.get("forced") else "")
    if report.get("label"):
        megapixels += f" ({report['label']})"
    if "error" in report:
        return f"| {megapixels} | - | - | - | - | - | - | {report['error']} | {report['when']} |"
    h, w = report["shape"]
    unknown = f"{report['n_unknown']:,} ({100 * report['n_unknown'] / (h * w):.1f}%)"
    common = f"| {megapixels} | {w} x {h} | {unknown} | {_gib(report['estimate'])} |"
    when = f"{report['when']} ({report['commit']})"
    if "refused" in report:
        return f"{common} - | - | - | refused up front: {report['refused']} | {when} |"
    status = "converged" if report["converged"] else "NOT converged"
    return (
        f"{common} {_gib(report['peak'] - report['rss_before'])} | {_gib(report['peak'])} | "
        f"{report['seconds']:.0f} | {report.get('preconditioner', '?')}: "
        f"{report['iterations']} CG iterations, residual "
        f"{report['residual']:.1e}, {status} | {when} |"
    )


def _verdict(report: dict) -> str:
    """One generated sentence on what happened at this size."""
    size = f"At {report['megapixels']:g} MP" + (
        " with the memory check skipped (--force)" if report.get("forced") else ""
    )
    if report.get("label"):
        size += f" ({report['label']}, {report['when']})"
    if "error" in report:
        return f"{size} the solve did not finish: {report['error']}."
    if "refused" in report:
        return f"{size} the solve is refused before allocating anything: {report['refused']}."
    extra, estimate = report["peak"] - report["rss_before"], report["estimate"]
    verdict = "covers" if estimate >= extra else "UNDERESTIMATES"
    return (
        f"{size} the solve takes {report['seconds']:.0f} s and a peak of "
        f"{_gib(report['peak'])} GiB for the whole process, with {_gib(report['available'])} "
        f"GiB available before it started; the estimate ({_gib(estimate)} GiB) {verdict} the "
        f"extra peak ({_gib(extra)} GiB, ratio {extra / estimate:.2f})."
    )


def _calibration(cache: dict) -> list[str]:
    """The calibration points of the memory model, with today's estimate for each."""
    from vecmatte.memory import estimate_solve_memory

    points = sorted(cache["calibration"].items())
    if not points:
        return []
    lines = [
        "",
        "### Memory model",
        "",
        "The constants of `vecmatte/memory.py` were fitted to these points, measured in the "
        "same way on smaller images by `python bench/large.py --calibrate`; the estimate is "
        "the current model's, and a ratio below 1 means that it covers the measured peak.",
        "",
        "| image @ MP / preconditioner | unknown pixels | extra peak (GiB) | estimate (GiB) "
        "| ratio | measured |",
        "|---|---|---|---|---|---|",
    ]
    for key, report in points:
        extra = report["peak"] - report["rss_before"]
        estimate = estimate_solve_memory(
            report["shape"], report["n_unknown"], preconditioner=report["preconditioner"]
        )
        lines.append(
            f"| {key} | {report['n_unknown']:,} | {_gib(extra)} | {_gib(estimate)} | "
            f"{extra / estimate:.2f} | {report['when']} ({report['commit']}) |"
        )
    return lines


def render(cache: dict) -> str:
    solves = sorted(cache["solves"].values(), key=lambda r: (r["megapixels"], r["when"]))
    lines = [
        "## Large images",
        "",
        f"Generated by `python bench/large.py` ({provenance.machine_line()}); each row says "
        "when and on which commit it was "
        f"measured (`-dirty`: with uncommitted changes). {NAME} of alphamatting.com "
        "(800 x 524) upscaled bicubic, its trimap nearest (13.7% unknown, kept by the "
        "upscaling), solved by `solve_alpha` with the default options (the preconditioner is "
        "named in the *solver* column) in a fresh process per size, under `nice` on a "
        "machine shared with other jobs (so the times are upper bounds). *Extra peak* is "
        "the peak resident memory (`ru_maxrss`) minus the memory held just before the solve "
        "(interpreter and inputs), *peak* the whole process's. *Estimate* is "
        "`vecmatte.memory.estimate_solve_memory`, which `check_memory` (called by the CLI "
        "and the batch before solving) compares with the available memory.",
        "",
        "| MP | size | unknown pixels | estimate (GiB) | extra peak (GiB) | peak (GiB) "
        "| solve (s) | solver | measured |",
        "|---|---|---|---|---|---|---|---|---|",
        *[_row(report) for report in solves],
        "",
        *[f"- {_verdict(report)}" for report in solves],
    ]
    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    lines += ["", f"The machine has {_gib(total)} GiB of memory in all.", *_calibration(cache)]
    return "\n".join(lines) + "\n"


def measure(sizes: list[float], timeout: float, *, force: bool = False) -> None:
    """Solve at each size (without the memory check with ``force``) and cache the reports."""
    cache = _load_cache()
    for megapixels in sizes:
        print(f"solving at {megapixels:g} MP ...", file=sys.stderr, flush=True)
        spec = {"name": NAME, "trimap": "trimap", "megapixels": megapixels, "check": not force}
        report = _stamp({**run_child(spec, timeout), "megapixels": megapixels, "forced": force})
        print(json.dumps(report), file=sys.stderr, flush=True)
        cache["solves"][f"{megapixels:g}" + (" forced" if force else "")] = report
        _save_cache(cache)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[16, 32], help="megapixels")
    parser.add_argument("--calibrate", action="store_true", help="fit the memory model")
    parser.add_argument("--render", action="store_true", help="only rewrite large.md")
    parser.add_argument(
        "--force", action="store_true", help="solve even when the memory check refuses"
    )
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per solve")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(_child(json.loads(args.child))))
        return 0
    if not (DATA / "image" / f"{NAME}.png").is_file():
        print(f"no alphamatting data at {DATA}; set VECMATTE_DATA", file=sys.stderr)
        return 1
    if args.calibrate:
        points = [
            *[(NAME, mp) for mp in (0.25, 1, 4, 8)],
            *[("GT04", mp) for mp in (0.25, 1, 4)],
            *[("GT19", mp) for mp in (1, 4, 8)],
            *[(name, mp, "ichol") for name in (NAME, "GT04") for mp in (0.25, 1, 2)],
        ]
        calibrate(points, args.timeout)
        return 0
    if not args.render:
        measure(args.sizes, args.timeout, force=args.force)
    text = render(_load_cache())
    provenance.write_markdown(RESULTS, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
