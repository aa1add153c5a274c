"""Information-flow matting against closed-form matting on the alphamatting.com low-res set.

For each of GT01..GT20 and both trimap sets ("trimap", "trimap2") it runs
``vecmatte.solve_alpha(image, trimap, method=M)`` for M in ("cf", "ifm"), each in a fresh
child process, and reports per image and in total: SAD (sum |alpha - gt| over the trimap's
unknown pixels / 1000), MSE (mean squared error over the same pixels), the wall time of the
call (file reading excluded), CG iterations and the child's peak resident memory (VmHWM)
with the part added by the call (VmHWM minus the resident size just before it). A profile of
one ifm run (cumulative time of its phases) follows the tables.

    taskset -c 0 python bench/ifm.py [--data DIR] [--images GT01,GT02] [--trimaps trimap2]
                                     [--output FILE] [--profile-image ""]

Writes bench/results/ifm.md (and the raw numbers to bench/results/ifm.json) and replaces its
section in bench/RESULTS.md; with ``--output`` elsewhere (a scratch run, a subset) only that
file is written. The photographs are read in place, never copied.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import provenance

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[1] / "shared" / "data" / "alphamatting-lowres"
DEFAULT_OUTPUT = HERE / "results" / "ifm.md"
METHODS = ("cf", "ifm")
TRIMAPS = ("trimap", "trimap2")
# Functions whose cumulative time makes up an ifm run, in the order they run.
PHASES = {
    "detect_highly_transparent": "transparency test",
    "edge_trimming": "edge trimming",
    "patch_trimming": "patch trimming",
    "known_to_unknown_flow": "known-to-unknown flow",
    "color_mixture_weights": "colour-mixture flow",
    "row_coefficients": "local flow",
    "intra_unknown_weights": "intra-unknown flow",
    "nonlocal_neighbors": "(all cKDTree searches)",
    # The pixels' LLE weights (gathers and solves); lle_weights is no longer on this path.
    "_pixel_lle_weights": "(all LLE weights)",
    "build_system": "build_system, total",
    "conjugate_gradient": "conjugate gradient",
}


def _vm_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _load(data: Path, name: str, trimap_set: str):
    import vecmatte

    image = vecmatte.load_image(data / "image" / f"{name}.png")
    trimap = vecmatte.load_trimap(data / trimap_set / f"{name}.png")
    truth = vecmatte.load_trimap(data / "alpha" / f"{name}.png")
    return image, trimap, truth


def child(data: Path, method: str, name: str, trimap_set: str) -> dict:
    """One solve in this process: errors, time, iterations, memory."""
    import vecmatte

    # Warm up on a small scene first, so that neither method is timed importing SciPy.
    scene = vecmatte.make_scene((40, 50), seed=0)
    vecmatte.solve_alpha(scene.image, scene.trimap, method=method)
    image, trimap, truth = _load(data, name, trimap_set)
    before = _vm_kib("VmRSS")
    start, cpu_start = time.perf_counter(), time.process_time()
    result = vecmatte.solve_alpha(image, trimap, method=method)
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    peak = _vm_kib("VmHWM")
    _, _, unknown = vecmatte.trimap_split(trimap)
    error = (result.alpha - truth)[unknown]
    return {
        "method": method,
        "image": name,
        "trimap": trimap_set,
        "pixels": int(trimap.size),
        "unknown": int(unknown.sum()),
        "sad": float(np.abs(error).sum()) / 1000.0,
        "mse": float(np.mean(error**2)),
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "iterations": result.iterations,
        "converged": bool(result.converged),
        "peak_mib": peak / 1024,
        "added_mib": (peak - before) / 1024,
    }


def profile(data: Path, name: str, trimap_set: str) -> dict[str, float]:
    """Cumulative CPU seconds of each phase of one ifm solve, under cProfile."""
    import vecmatte

    scene = vecmatte.make_scene((40, 50), seed=0)
    vecmatte.solve_alpha(scene.image, scene.trimap, method="ifm")
    image, trimap, _ = _load(data, name, trimap_set)
    profiler = cProfile.Profile(time.process_time)
    start = time.process_time()
    profiler.runcall(vecmatte.solve_alpha, image, trimap, method="ifm")
    total = time.process_time() - start
    stats = pstats.Stats(profiler).stats
    phases = {}
    for (filename, _, function), row in stats.items():
        if function in PHASES and "vecmatte" in filename:
            phases[function] = phases.get(function, 0.0) + row[3]
    phases["total"] = total
    return phases


def run_child(arguments: list[str]) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), *arguments]
    # One BLAS/OpenMP thread, so that CPU time measures the work, not threads spinning.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    out = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _ifm_preconditioner() -> str:
    """The preconditioner an ifm solve uses by default (named in the report)."""
    from vecmatte.alpha import METHODS

    return str(METHODS["ifm"].preconditioner)


def _total(rows: list[dict], key: str) -> float:
    return float(sum(r[key] for r in rows))


def report(records: list[dict], phases: dict, profiled: str, command: str, load: str) -> str:
    lines = [
        "## Information-flow matting against closed-form (alphamatting-lowres)",
        "",
        provenance.generated_line(command),
        "",
        f"Machine: {provenance.machine_line()}. Load average at the start: {load}.",
        "",
        "`vecmatte.solve_alpha(image, trimap, method=M)` with each method's defaults (cf: "
        "direct preconditioner, eps 1e-7; ifm: the toolbox's parameters, lambda 100, "
        f"preconditioner {_ifm_preconditioner()!r}), one fresh process per solve (warmed up "
        "on a small synthetic scene, so that imports are not timed), pinned to one core. SAD: sum "
        "|alpha - gt| over the trimap's unknown pixels / 1000; MSE: mean squared error over "
        "the same pixels. Time: wall clock of the call, file reading excluded. Memory: the "
        "process's peak resident size (VmHWM), and in brackets what the call added to it.",
        "",
    ]
    summary = [
        "| trimap set | mean SAD cf | mean SAD ifm | ratio | mean MSE cf | mean MSE ifm | "
        "time cf (s) | time ifm (s) | ratio | CPU cf (s) | CPU ifm (s) | ratio | "
        "CPU ratio median (max) | peak MiB cf | peak MiB ifm |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for trimap_set in (*TRIMAPS, "both"):
        chosen = [r for r in records if trimap_set in ("both", r["trimap"])]
        cf = [r for r in chosen if r["method"] == "cf"]
        ifm = [r for r in chosen if r["method"] == "ifm"]
        if not cf or not ifm:
            continue
        sad_cf, sad_ifm = np.mean([r["sad"] for r in cf]), np.mean([r["sad"] for r in ifm])
        mse_cf, mse_ifm = np.mean([r["mse"] for r in cf]), np.mean([r["mse"] for r in ifm])
        t_cf, t_ifm = _total(cf, "seconds"), _total(ifm, "seconds")
        c_cf, c_ifm = _total(cf, "cpu_seconds"), _total(ifm, "cpu_seconds")
        cpu_of = {(r["trimap"], r["image"]): r["cpu_seconds"] for r in cf}
        per_case = [r["cpu_seconds"] / cpu_of[r["trimap"], r["image"]] for r in ifm]
        summary.append(
            f"| {trimap_set} | {sad_cf:.2f} | {sad_ifm:.2f} | {sad_ifm / sad_cf:.2f} | "
            f"{mse_cf:.4f} | {mse_ifm:.4f} | {t_cf:.1f} | {t_ifm:.1f} | {t_ifm / t_cf:.2f} | "
            f"{c_cf:.1f} | {c_ifm:.1f} | {c_ifm / c_cf:.2f} | "
            f"{np.median(per_case):.2f} ({max(per_case):.2f}) | "
            f"{max(r['peak_mib'] for r in cf):.0f} | {max(r['peak_mib'] for r in ifm):.0f} |"
        )
    lines += ["### Summary", "", *summary, ""]
    lines.append(
        "Ratios are ifm / cf. Time columns are totals over the images (wall clock, and CPU "
        "time, which the machine's load inflates less), then the median and largest of the "
        "per-image CPU ratios; peak columns the largest over the images."
    )
    lines.append("")
    pairs = {}
    for r in records:
        pairs.setdefault((r["trimap"], r["image"]), {})[r["method"]] = r
    pairs = [p for p in pairs.values() if set(p) == set(METHODS)]
    if pairs:
        sad_ratio = [p["ifm"]["sad"] / p["cf"]["sad"] for p in pairs]
        time_ratio = [p["ifm"]["seconds"] / p["cf"]["seconds"] for p in pairs]
        better = sum(p["ifm"]["sad"] < p["cf"]["sad"] for p in pairs)
        lines.append(
            f"Per case ({len(pairs)} image-trimap pairs): ifm has the lower SAD on {better}; "
            f"median SAD ratio {np.median(sad_ratio):.2f} (range {min(sad_ratio):.2f} to "
            f"{max(sad_ratio):.2f}); median time ratio {np.median(time_ratio):.1f} (range "
            f"{min(time_ratio):.1f} to {max(time_ratio):.1f})."
        )
        lines.append("")
    for trimap_set in TRIMAPS:
        lines += [
            f"### Per image ({trimap_set})",
            "",
            "| image | unknown px | SAD cf | SAD ifm | MSE cf | MSE ifm | time cf (s) | "
            "time ifm (s) | CG it. ifm | peak MiB cf (+call) | peak MiB ifm (+call) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        by_image = {}
        for r in records:
            if r["trimap"] == trimap_set:
                by_image.setdefault(r["image"], {})[r["method"]] = r
        for name in sorted(by_image):
            pair = by_image[name]
            if set(pair) != set(METHODS):
                continue
            cf, ifm = pair["cf"], pair["ifm"]
            flag = "" if ifm["converged"] else " (not converged)"
            lines.append(
                f"| {name} | {cf['unknown']} | {cf['sad']:.2f} | {ifm['sad']:.2f} | "
                f"{cf['mse']:.4f} | {ifm['mse']:.4f} | {cf['seconds']:.2f} | "
                f"{ifm['seconds']:.2f} | {ifm['iterations']}{flag} | "
                f"{cf['peak_mib']:.0f} (+{cf['added_mib']:.0f}) | "
                f"{ifm['peak_mib']:.0f} (+{ifm['added_mib']:.0f}) |"
            )
        lines.append("")
    if phases:
        lines += [
            f"### Where an ifm solve spends its time ({profiled}, CPU seconds under cProfile)",
            "",
            "| phase | seconds | share |",
            "|---|---:|---:|",
        ]
        total = phases["total"]
        for function, label in PHASES.items():
            if function in phases:
                seconds = phases[function]
                lines.append(f"| {label} | {seconds:.2f} | {100 * seconds / total:.0f}% |")
        lines.append(f"| whole solve | {total:.2f} | 100% |")
        lines.append("")
    return "\n".join(lines)


def splice_section(path: Path, text: str) -> None:
    """Replace the section of ``path`` headed by ``text``'s first line (to the next ``## ``)."""
    heading = text.splitlines()[0]
    lines = path.read_text().splitlines()
    if heading not in lines:
        path.write_text("\n".join([*lines, "", text.rstrip("\n")]) + "\n")
        return
    start = lines.index(heading)
    stop = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    body = text.rstrip("\n").splitlines()
    path.write_text("\n".join([*lines[:start], *body, "", *lines[stop:]]) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--images", default=",".join(f"GT{i:02d}" for i in range(1, 21)))
    parser.add_argument("--trimaps", default=",".join(TRIMAPS), help="trimap sets to run")
    parser.add_argument("--profile-image", default="GT04", help="image profiled (trimap set 1)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--child", nargs=3, metavar=("METHOD", "IMAGE", "TRIMAPS"))
    parser.add_argument("--profile", metavar="IMAGE")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.data, *args.child)))
        return 0
    if args.profile:
        print(json.dumps(profile(args.data, args.profile, "trimap")))
        return 0
    load = provenance.load_average()
    records = []
    for trimap_set in args.trimaps.split(","):
        for name in args.images.split(","):
            for method in METHODS:  # interleaved, so both see the same machine load
                record = run_child(["--data", str(args.data), "--child", method, name, trimap_set])
                records.append(record)
                print(
                    f"{trimap_set} {name} {method}: SAD {record['sad']:.2f} "
                    f"MSE {record['mse']:.4f} {record['seconds']:.2f} s "
                    f"{record['peak_mib']:.0f} MiB",
                    file=sys.stderr,
                    flush=True,
                )
    phases = {}
    if args.profile_image:
        phases = run_child(["--data", str(args.data), "--profile", args.profile_image])
    # The cores this run was pinned to, as the command that reproduces it names them.
    cores = ",".join(map(str, sorted(os.sched_getaffinity(0))))
    command = " ".join(
        [f"taskset -c {cores} python bench/ifm.py", *(sys.argv[1:] if argv is None else argv)]
    )
    text = report(records, phases, f"{args.profile_image}, trimap", command, load)
    provenance.write_markdown(args.output, text)
    if args.output.resolve() == DEFAULT_OUTPUT.resolve():
        splice_section(HERE / "RESULTS.md", args.output.read_text())
    args.output.with_suffix(".json").write_text(json.dumps(records, indent=1) + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
