"""Where vecmatte is not faster than PyMatting: every step, image size x unknown fraction.

The standard comparisons (``method_table.py``, ``foreground.py``, ``rembg_cutout.py``) measure
the alphamatting.com images at their own size and trimaps. This sweep looks for the regimes
they miss: tiny images (where fixed costs dominate), thin and wide unknown bands, 2 MP.

Inputs are made from one alphamatting.com image and its ground truth (never copied): sizes up
to 512 x 512 are crops at native resolution centred on the transition; larger sizes resize the
whole photograph to the pixel count. The trimap of a fraction f marks unknown the f of all
pixels nearest the ground truth's 0.5 contour (a band of even width), the rest foreground or
background by the ground truth. Foreground steps get the ground truth inside that band, 0 or 1
outside it, so that a thin band also means few fractional pixels.

Steps (vecmatte / PyMatting, each with its defaults):

- ``alpha <m>``: ``vecmatte.estimate_alpha(method=m)`` / ``pymatting.estimate_alpha_<m>``;
- ``fg ml``, ``fg cf``: ``vecmatte.estimate_foreground(method=...)`` / ``estimate_foreground_*``;
- ``cutout``: ``vecmatte.cutout(image, alpha, foreground)`` / ``stack_images(foreground, alpha)``;
- ``shim <name>``: ``vecmatte.compat.pymatting.<name>`` / ``pymatting.<name>`` (what rembg
  users call), ``shim cutout`` on files in a temporary folder;
- ``rembg``: ``rembg.bg.alpha_matting_cutout`` (ground truth as the mask, thresholds 240 / 10,
  erosion 10: rembg makes its own trimap, so no fraction) with the names ``rembg.bg`` imported
  from PyMatting pointing at PyMatting's or at the shim's functions.

One child process per size (address space capped with ``resource.setrlimit``, one thread
each: the variables of ``harness.interleave.THREAD_VARIABLES`` set to 1) imports both
libraries, warms every PyMatting function and vecmatte's on a small scene (numba compiled,
lazy imports done), then per (fraction, step) alternates the two (A B, B A, A B) for
``--rounds`` rounds after one untimed call each (left out above 0.3 MP, where the small-scene
warm-up suffices); a timed sample of a call faster than 50 ms repeats it to about 50 ms (at
most 100 calls), the untimed call telling how often. The ratio is median(vecmatte CPU) /
median(PyMatting CPU) per call, CPU time from ``time.process_time``; > 1 means vecmatte is
slower. A pair whose first call takes more than
``--long`` seconds is timed once. Run pinned::

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 taskset -c 1 \\
        python bench/speed_sweep.py [--sizes 32 64 ...] [--rounds 3]

Writes bench/results/speed_sweep.md (a generated file).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import provenance
from harness.cells import child_env
from harness.child import emit, failure
from harness.interleave import thread_env, thread_report

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "alphamatting-lowres"
OUT = HERE / "results" / "speed_sweep.md"
ALPHA_METHODS = ("cf", "knn", "lbdm", "lkm", "rw", "sm")
FRACTIONS = (0.02, 0.10, 0.30, 0.60)
# Sizes: side of a square crop, or megapixels of the whole photograph resized ("1mp").
SIZES = ("32", "64", "128", "256", "512", "1mp", "2mp")
# The pairs each size measures, by name prefix; the shim repeats the main API's solves, so
# above 256 x 256 it is left to the rembg row (the shim's cf + ml + stack as rembg calls them).
SHIM_UP_TO = 256 * 256
# Fractions measured at the large sizes (the sweep must fit ~20 min of one core).
# Wide bands at these sizes are the standard cases of bench/RESULTS.md; thin ones are not.
LARGE_FRACTIONS = {"1mp": (0.02, 0.10), "2mp": (0.02,)}


def step_names(pixels: int) -> list[str]:
    names = [f"alpha {m}" for m in ALPHA_METHODS] + ["fg ml", "fg cf", "cutout"]
    if pixels <= SHIM_UP_TO:
        names += [f"shim alpha {m}" for m in ALPHA_METHODS]
        names += ["shim fg ml", "shim fg cf", "shim stack_images", "shim cutout"]
    return names


# ---------------------------------------------------------------------------------------------
# Inputs


def load_inputs(data: Path, name: str, size: str):
    """``(image, alpha)``: float64 arrays of the size (a crop, or the photograph resized)."""
    import numpy as np
    from PIL import Image

    photo = Image.open(data / "image" / f"{name}.png").convert("RGB")
    truth = Image.open(data / "alpha" / f"{name}.png").convert("L")
    if size.endswith("mp"):
        scale = (float(size[:-2]) * 1e6 / (photo.width * photo.height)) ** 0.5
        shape = (round(photo.width * scale), round(photo.height * scale))
        photo = photo.resize(shape, Image.BICUBIC)
        truth = truth.resize(shape, Image.BICUBIC)
        return np.asarray(photo) / 255.0, np.asarray(truth) / 255.0
    side = int(size)
    image, alpha = np.asarray(photo) / 255.0, np.asarray(truth) / 255.0
    # The crop whose foreground share is nearest one half: both sides known at every fraction.
    from scipy.ndimage import uniform_filter

    share = uniform_filter((alpha > 0.5).astype(np.float64), side, mode="constant")
    half = side // 2
    share = share[half : alpha.shape[0] - side + half + 1, half : alpha.shape[1] - side + half + 1]
    top, left = np.unravel_index(np.argmin(np.abs(share - 0.5)), share.shape)
    crop = (slice(top, top + side), slice(left, left + side))
    # Contiguous, as a loaded image is: a strided view would make vecmatte copy it.
    return np.ascontiguousarray(image[crop]), np.ascontiguousarray(alpha[crop])


def band_trimap(truth, fraction: float):
    """The trimap whose unknown region is the ``fraction`` of pixels nearest the 0.5 contour,
    and the alpha the foreground steps get (truth inside the band, 0 or 1 outside)."""
    import numpy as np
    from scipy.ndimage import distance_transform_edt

    inside = truth > 0.5
    distance = np.where(inside, distance_transform_edt(inside), distance_transform_edt(~inside))
    order = np.argsort(distance, axis=None, kind="stable")
    unknown = np.zeros(truth.size, bool)
    unknown[order[: max(1, round(fraction * truth.size))]] = True
    unknown = unknown.reshape(truth.shape)
    trimap = np.where(unknown, 0.5, inside.astype(np.float64))
    alpha = np.where(unknown, truth, inside.astype(np.float64))
    return trimap, alpha


# ---------------------------------------------------------------------------------------------
# The pairs: (vecmatte's call, PyMatting's call), each taking the prepared inputs


def make_pairs(names: list[str], image, trimap, alpha, foreground, folder: Path) -> dict:
    import pymatting

    import vecmatte
    import vecmatte.compat.pymatting as shim

    pairs = {}
    for name in names:
        kind, _, rest = name.partition(" ")
        if kind == "alpha":
            pairs[name] = (
                lambda m=rest: vecmatte.estimate_alpha(image, trimap, method=m),
                lambda m=rest: getattr(pymatting, f"estimate_alpha_{m}")(image, trimap),
            )
        elif kind == "fg":
            pairs[name] = (
                lambda m=rest: vecmatte.estimate_foreground(image, alpha, method=m),
                lambda m=rest: getattr(pymatting, f"estimate_foreground_{m}")(image, alpha),
            )
        elif name == "cutout":
            pairs[name] = (
                lambda: vecmatte.cutout(image, alpha, foreground),
                lambda: pymatting.stack_images(foreground, alpha),
            )
        elif name == "shim cutout":
            paths = _write_files(folder, image, trimap)
            pairs[name] = (
                lambda paths=paths: shim.cutout(*paths, folder / "v.png"),
                lambda paths=paths: pymatting.cutout(*paths, folder / "p.png"),
            )
        elif name == "shim stack_images":
            pairs[name] = (
                lambda: shim.stack_images(foreground, alpha),
                lambda: pymatting.stack_images(foreground, alpha),
            )
        elif kind == "shim":
            function = rest.replace("alpha ", "estimate_alpha_").replace(
                "fg ", "estimate_foreground_"
            )
            second = alpha if function.startswith("estimate_foreground") else trimap
            pairs[name] = (
                lambda f=function, s=second: getattr(shim, f)(image, s),
                lambda f=function, s=second: getattr(pymatting, f)(image, s),
            )
    return pairs


def _write_files(folder: Path, image, trimap) -> tuple[Path, Path]:
    import numpy as np
    from PIL import Image

    paths = folder / "image.png", folder / "trimap.png"
    Image.fromarray(np.round(image * 255).astype(np.uint8)).save(paths[0])
    Image.fromarray(np.round(trimap * 255).astype(np.uint8)).save(paths[1])
    return paths


def rembg_pair(image, truth):
    """rembg's cutout with its PyMatting names pointed at PyMatting's or at the shim's."""
    import numpy as np
    import rembg.bg
    from PIL import Image

    import vecmatte.compat.pymatting as shim

    photo = Image.fromarray(np.round(image * 255).astype(np.uint8))
    mask = Image.fromarray(np.round(truth * 255).astype(np.uint8))
    steps = ("estimate_alpha_cf", "estimate_foreground_ml", "stack_images")
    functions = {
        "pymatting": {step: getattr(rembg.bg, step) for step in steps},
        "vecmatte": {step: getattr(shim, step) for step in steps},
    }

    def call(library):
        def run():
            for step, function in functions[library].items():
                setattr(rembg.bg, step, function)
            try:
                return rembg.bg.alpha_matting_cutout(photo, mask, 240, 10, 10)
            finally:
                for step, function in functions["pymatting"].items():
                    setattr(rembg.bg, step, function)

        return run

    return call("vecmatte"), call("pymatting")


# ---------------------------------------------------------------------------------------------
# The child


def warm_up() -> None:
    """Every function of both libraries once on a small scene: numba compiles, imports load."""
    from vecmatte.synthetic import make_scene

    scene = make_scene((64, 64), seed=1)  # PyMatting's lkm needs 41 x 41 at its radius 10
    foreground = scene.image.copy()
    with tempfile.TemporaryDirectory() as folder:
        pairs = make_pairs(
            step_names(0), scene.image, scene.trimap, scene.alpha, foreground, Path(folder)
        )
        pairs["rembg"] = rembg_pair(scene.image, scene.alpha)
        for pair in pairs.values():
            for call in pair:
                try:
                    call()
                except Exception:  # measure() reports it where it matters
                    pass


def cpu_per_call(call, repeat: int = 1) -> float:
    """CPU seconds per call, over ``repeat`` calls."""
    cpu = time.process_time()
    for _ in range(repeat):
        call()
    return (time.process_time() - cpu) / repeat


# A timed sample of a fast call repeats it to at least this many CPU seconds: single calls
# of a millisecond on a shared machine are at the mercy of every interruption.
SAMPLE_SECONDS = 0.05


def measure(out, step: str, fraction, pair, rounds: int, warm: bool, long: float) -> None:
    """Alternate the pair (A B, B A, ...) and emit each library's CPU seconds per call."""
    ours, theirs = pair
    samples = {"vecmatte": [], "pymatting": []}
    calls = {"vecmatte": ours, "pymatting": theirs}
    repeats = {"vecmatte": 1, "pymatting": 1}
    try:
        if warm:
            first = {}
            for library, call in calls.items():
                first[library] = cpu_per_call(call)
                repeats[library] = min(100, max(1, int(SAMPLE_SECONDS / max(first[library], 1e-6))))
            if max(first.values()) > long:
                rounds = 1
        for number in range(rounds):
            order = list(calls) if number % 2 == 0 else list(calls)[::-1]
            for library in order:
                samples[library].append(cpu_per_call(calls[library], repeats[library]))
            if number == 0 and max(s[0] for s in samples.values()) > long:
                break
    except Exception as error:  # a failure is a result of this regime, not the sweep's end
        failed = library if "library" in locals() else "?"
        other = "pymatting" if failed == "vecmatte" else "vecmatte"
        try:
            calls[other]()
        except Exception:
            failed = "both"
        text = f"{failed}: {failure(error)[1]}"
        emit(out, event="error", step=step, fraction=fraction, message=text)
        return
    emit(out, event="sample", step=step, fraction=fraction, repeats=repeats, **samples)


def child(job: dict) -> None:
    import resource
    import warnings

    cap = int(job["memory_cap_gb"] * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    warnings.simplefilter("ignore")  # both libraries warn about slow or non-converged solves
    with open(job["out"], "a") as out:
        try:
            warm_up()
            emit(out, event="threads", **thread_report())
            image, truth = load_inputs(Path(job["data"]), job["image"], job["size"])
            pixels = truth.size
            emit(out, event="shape", shape=list(truth.shape))
            warm = pixels <= 0.3e6
            with tempfile.TemporaryDirectory() as folder:
                for fraction in job["fractions"]:
                    trimap, alpha = band_trimap(truth, fraction)
                    import vecmatte

                    foreground = vecmatte.estimate_foreground(image, alpha)
                    names = [n for n in step_names(pixels) if n in job["steps"]]
                    pairs = make_pairs(names, image, trimap, alpha, foreground, Path(folder))
                    for step, pair in pairs.items():
                        measure(out, step, fraction, pair, job["rounds"], warm, job["long"])
                if "rembg" in job["steps"]:
                    pair = rembg_pair(image, truth)
                    measure(out, "rembg", None, pair, job["rounds"], warm, job["long"])
        except MemoryError as error:
            emit(out, event="error", step="*", fraction=None, message=f"MemoryError: {error}")
        emit(out, event="done")


# ---------------------------------------------------------------------------------------------
# The parent


def run_size(size: str, options, log) -> list[dict]:
    """One child for one size; its JSON records."""
    fractions = LARGE_FRACTIONS.get(size, options.fractions)
    with tempfile.NamedTemporaryFile("r", suffix=".jsonl", delete=False) as handle:
        path = Path(handle.name)
    job = {
        "out": str(path),
        "data": str(options.data),
        "image": options.image,
        "size": size,
        "fractions": list(fractions),
        "steps": options.steps,
        "rounds": options.rounds,
        "long": options.long,
        "memory_cap_gb": options.memory_cap,
    }
    env = thread_env(child_env(), 1)
    command = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(job)]
    start = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)
    records = [json.loads(line) for line in path.read_text().splitlines() if line]
    path.unlink(missing_ok=True)
    if result.returncode != 0 or not any(r["event"] == "done" for r in records):
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:]
        records.append({"event": "error", "step": "*", "fraction": None, "message": str(tail)})
    log(f"{size}: {time.perf_counter() - start:.0f} s")
    for record in records:
        record["size"] = size
    return records


def ratio(record: dict) -> float:
    return statistics.median(record["vecmatte"]) / statistics.median(record["pymatting"])


def cell_text(record: dict | None) -> str:
    if record is None:
        return ""
    if record["event"] == "error":  # which library failed: "pymatting fails" is a win
        failed = record["message"].split(":")[0]
        return "both fail" if failed == "both" else f"{failed} fails"
    text = f"{ratio(record):.2f}"
    if len(record["vecmatte"]) < 3:
        text += "¹"
    return f"**{text}**" if ratio(record) > 1 else text


# Regimes listed with their times (all are in the table).
SHOWN = 15


def _seconds(value: float) -> str:
    if value >= 1:
        return f"{value:.2f} s"
    return f"{value * 1e3:.1f} ms" if value >= 1e-3 else f"{value * 1e6:.0f} µs"


def report(records: list[dict], options, argv: list[str]) -> str:
    samples = [r for r in records if r["event"] in ("sample", "error") and r["step"] != "*"]
    # Merged runs: a later record of a (size, step, fraction) replaces an earlier one.
    latest = {(r["size"], r["step"], r["fraction"]): r for r in samples}
    samples = list(latest.values())
    shapes = {r["size"]: r["shape"] for r in records if r["event"] == "shape"}
    threads = next((r for r in records if r["event"] == "threads"), {})
    steps = list(dict.fromkeys(r["step"] for r in samples))
    fractions = sorted({r["fraction"] for r in samples if r["fraction"] is not None})
    lines = [
        "## Speed sweep: where vecmatte is not faster than PyMatting",
        "",
        provenance.generated_line("python bench/speed_sweep.py " + " ".join(argv)),
        "",
        *(
            [
                "Rendered from the records of runs of this script with `--records FILE` "
                "(pinned as in its docstring); nothing re-measured. Where the files measured "
                "the same step, size and fraction, the later file's record is shown.",
                "",
            ]
            if options.merge
            else []
        ),
        f"Image {options.image} (crops up to 512 x 512, whole photograph resized above), "
        f"{options.rounds} interleaved rounds, one thread (BLAS {threads.get('blas')}, numba "
        f"{threads.get('numba')}, {threads.get('affinity')} core(s) allowed). Cell: median "
        "vecmatte CPU / median PyMatting CPU; **bold** > 1 (vecmatte slower); ¹ one timed run "
        f"(a call over {options.long:g} s). Blank: not measured at that size.",
        "",
    ]
    sizes = [s for s in SIZES if s in shapes]
    header = "| step | fraction | " + " | ".join(
        f"{s} ({shapes[s][0]}x{shapes[s][1]})" for s in sizes
    )
    lines += [header + " |", "|---|---|" + "---|" * len(sizes)]
    for step in steps:
        for fraction in fractions if step != "rembg" else [None]:
            found = {
                r["size"]: r for r in samples if r["step"] == step and r["fraction"] == fraction
            }
            label = "rembg's own" if fraction is None else f"{fraction:.0%}"
            cells = " | ".join(cell_text(found.get(s)) for s in sizes)
            lines.append(f"| {step} | {label} | {cells} |")
    lines += [
        "",
        "### Per step: the worst ratio, and the largest size where vecmatte is slower",
        "",
        "| step | worst ratio (size, unknown) | slower up to | faster from |",
        "|---|---|---|---|",
    ]
    order = {size: number for number, size in enumerate(SIZES)}
    for step in steps:
        found = [r for r in samples if r["step"] == step and r["event"] == "sample"]
        if not found:
            continue
        worst = max(found, key=ratio)
        where = "rembg's" if worst["fraction"] is None else f"{worst['fraction']:.0%}"
        slow = [r["size"] for r in found if ratio(r) > 1]
        last = max(slow, key=order.get) if slow else "-"
        # The smallest measured size from which on every measured regime is faster.
        measured = sorted({r["size"] for r in found}, key=order.get)
        fast = [
            size
            for size in measured
            if all(ratio(r) <= 1 for r in found if order[r["size"]] >= order[size])
        ]
        lines.append(
            f"| {step} | {ratio(worst):.2f} ({worst['size']}, {where}) | {last} | "
            f"{fast[0] if fast else '-'} |"
        )
    slower = sorted(
        (r for r in samples if r["event"] == "sample" and ratio(r) > 1), key=ratio, reverse=True
    )
    lines += ["", f"### The {min(len(slower), SHOWN)} slowest of {len(slower)} slower regimes", ""]
    if not slower:
        lines.append("None.")
    for r in slower[:SHOWN]:
        fraction = "rembg's trimap" if r["fraction"] is None else f"{r['fraction']:.0%} unknown"
        lines.append(
            f"- {r['step']}, {r['size']}, {fraction}: {ratio(r):.2f} "
            f"({_seconds(statistics.median(r['vecmatte']))} vs "
            f"{_seconds(statistics.median(r['pymatting']))} CPU)"
        )
    # A size whose child process failed (step "*") is not among the samples: listed too.
    crashed = [r for r in records if r["event"] == "error" and r["step"] == "*"]
    errors = [r for r in samples if r["event"] == "error"] + crashed
    if errors:
        lines += ["", "### Errors", ""]
        lines += [f"- {r['size']} {r['step']} {r['fraction']}: {r['message']}" for r in errors]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        child(json.loads(argv[1]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--image", default="GT04")
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=SIZES)
    parser.add_argument("--fractions", nargs="+", type=float, default=list(FRACTIONS))
    all_steps = [*step_names(0), "rembg"]
    parser.add_argument("--steps", nargs="+", default=all_steps, choices=all_steps)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--long", type=float, default=20.0, help="time once above (s)")
    parser.add_argument("--memory-cap", type=float, default=8.0, help="GiB per child")
    parser.add_argument("--records", type=Path, help="also save the raw records (JSON)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--merge", nargs="+", type=Path, help="report these saved records")
    options = parser.parse_args(argv)
    if options.merge:  # the report of earlier runs' --records, nothing measured
        records = [r for path in options.merge for r in json.loads(path.read_text())]
        provenance.write_markdown(options.out, report(records, options, argv))
        return 0
    records = []
    for size in options.sizes:
        records += run_size(size, options, lambda text: print(text, file=sys.stderr))
        if options.records:
            options.records.write_text(json.dumps(records))
    provenance.write_markdown(options.out, report(records, options, argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
