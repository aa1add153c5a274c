"""Reading and writing image files: vecmatte against PyMatting, same process, CPU time.

What rembg-style users call: ``vecmatte.load_image``, ``vecmatte.load_trimap`` and
``vecmatte.save_image`` (and the PyMatting shim's ``load_image``/``save_image``, which go
through them) against ``pymatting.load_image(path, "RGB")`` (``"GRAY"`` for the trimap) and
``pymatting.save_image``. Inputs are crops of one alphamatting.com image and its trimap
(never copied: made in a temporary folder), centred, of 32, 128 and 512 pixels a side, and
the whole image: the photograph as PNG and as JPEG (quality 95), the trimap as stored (GT04's
is a gray palette PNG). Saves write a float64 RGB image as PNG into a temporary folder of
``--out-dir`` (default: the system's; tmpfs such as /dev/shm shows the fixed costs best).

One child process per tree (``--baseline REV`` adds vecmatte/ of an older commit, exported as
compare.py's are, measured the same way) imports both libraries, makes one untimed call of
each, then alternates the pair (A B, B A, ...) for ``--rounds`` rounds; each timed sample
repeats the call to about 30 ms (at most 200 calls). The cell is median(vecmatte CPU) /
median(PyMatting CPU) per call (``time.process_time``); > 1 means vecmatte is slower.
Run pinned, one thread::

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 taskset -c 0 \\
        python bench/io_speed.py [--baseline d7870ae] [--rounds 7] [--out-dir /dev/shm]

Writes bench/results/io_speed.md (a generated file).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import provenance
from harness.cache import commit_code
from harness.cells import child_env
from harness.interleave import thread_env, thread_report
from speed_sweep import cpu_per_call

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "alphamatting-lowres"
OUT = HERE / "results" / "io_speed.md"
SIZES = ("32", "128", "512", "full")
CASES = (
    "load_image png",
    "load_image jpg",
    "load_trimap",
    "save_image png",
    "shim load_image",
    "shim save_image",
)
SAMPLE_SECONDS = 0.03


def make_inputs(data: Path, image: str, folder: Path) -> dict[str, str]:
    """Crops of ``image`` and its trimap in ``folder``; ``{size: "WxH"}``."""
    from PIL import Image

    shapes = {}
    with (
        Image.open(data / "image" / f"{image}.png") as photo,
        Image.open(data / "trimap" / f"{image}.png") as trimap,
    ):
        width, height = photo.size
        for size in SIZES:
            side = None if size == "full" else int(size)
            left, top = (0, 0) if side is None else ((width - side) // 2, (height - side) // 2)
            box = (
                (left, top, width, height) if side is None else (left, top, left + side, top + side)
            )
            crop = photo.crop(box)
            crop.save(folder / f"image{size}.png")
            crop.convert("RGB").save(folder / f"image{size}.jpg", quality=95)
            trimap.crop(box).save(folder / f"trimap{size}.png")
            shapes[size] = f"{crop.width}x{crop.height}"
    return shapes


def _pair(ours, theirs, rounds: int) -> tuple[float, float]:
    """Median CPU seconds per call of ``ours`` and ``theirs``, alternated in ``rounds``."""
    ours(), theirs()  # untimed: lazy imports, caches
    count = max(1, min(200, int(SAMPLE_SECONDS / max(cpu_per_call(ours), 1e-6))))
    times: tuple[list[float], list[float]] = ([], [])
    for number in range(rounds):
        order = ((0, ours), (1, theirs)) if number % 2 == 0 else ((1, theirs), (0, ours))
        for index, call in order:
            times[index].append(cpu_per_call(call, count))
    return statistics.median(times[0]), statistics.median(times[1])


def _calls(size: str, inputs: Path, out: Path) -> dict:
    """``{case: (vecmatte's call, PyMatting's call)}`` on the files of ``size``."""
    import pymatting

    import vecmatte
    from vecmatte.compat.pymatting import load_image as shim_load
    from vecmatte.compat.pymatting import save_image as shim_save

    png, jpg = str(inputs / f"image{size}.png"), str(inputs / f"image{size}.jpg")
    trimap = str(inputs / f"trimap{size}.png")
    pixels = vecmatte.load_image(png)
    ours, theirs, shim = (str(out / f"{who}{size}.png") for who in ("v", "p", "s"))
    return {
        "load_image png": (
            lambda: vecmatte.load_image(png),
            lambda: pymatting.load_image(png, "RGB"),
        ),
        "load_image jpg": (
            lambda: vecmatte.load_image(jpg),
            lambda: pymatting.load_image(jpg, "RGB"),
        ),
        "load_trimap": (
            lambda: vecmatte.load_trimap(trimap),
            lambda: pymatting.load_image(trimap, "GRAY"),
        ),
        "save_image png": (
            lambda: vecmatte.save_image(ours, pixels),
            lambda: pymatting.save_image(theirs, pixels),
        ),
        "shim load_image": (
            lambda: shim_load(png, "RGB"),
            lambda: pymatting.load_image(png, "RGB"),
        ),
        "shim save_image": (
            lambda: shim_save(shim, pixels),
            lambda: pymatting.save_image(theirs, pixels),
        ),
    }


def child(inputs: Path, out: Path, rounds: int) -> None:
    """Measure every case at every size; one JSON line each on standard output."""
    import warnings

    warnings.simplefilter("error")  # a warning would be a different path: fail loudly
    calls = {size: _calls(size, inputs, out) for size in SIZES}  # both libraries imported
    print(json.dumps({"event": "threads", **thread_report()}), flush=True)
    for size in SIZES:
        for case, (mine, peer) in calls[size].items():
            seconds = _pair(mine, peer, rounds)
            record = {"event": "sample", "size": size, "case": case, "seconds": seconds}
            print(json.dumps(record), flush=True)


def measure(tree: Path | None, inputs: Path, out_dir: Path, rounds: int) -> list[dict]:
    """The records of one child importing vecmatte from ``tree`` (None: this one)."""
    with tempfile.TemporaryDirectory(dir=out_dir, prefix="io_speed_") as out:
        command = [sys.executable, __file__, "--child", str(inputs), out, "--rounds", str(rounds)]
        env = thread_env(child_env(tree), 1)
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"the child for {tree or 'this tree'} failed:\n{done.stderr}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def _ratios(records: list[dict]) -> dict[tuple[str, str], tuple[float, float, float]]:
    """``{(case, size): (ratio, vecmatte µs, PyMatting µs)}``."""
    found = {}
    for record in records:
        if record["event"] == "sample":
            ours, theirs = record["seconds"]
            found[record["case"], record["size"]] = (ours / theirs, ours * 1e6, theirs * 1e6)
    return found


def _cell(ratio: float) -> str:
    return f"**{ratio:.2f}**" if ratio > 1 else f"{ratio:.2f}"


def report(now: list[dict], before: list[dict] | None, shapes: dict, options, argv) -> str:
    threads = next((r for r in now if r["event"] == "threads"), {})
    current, old = _ratios(now), _ratios(before or [])
    lines = [
        "## Reading and writing files: vecmatte against PyMatting",
        "",
        provenance.generated_line("python bench/io_speed.py " + " ".join(argv)),
        "",
        f"{provenance.machine_line(('numpy', 'pillow', 'pymatting', 'vecmatte'))}.",
        "",
        f"Image {options.image} (centred crops and the whole image), {options.rounds} "
        f"interleaved rounds in one process, one thread (BLAS {threads.get('blas')}, "
        f"{threads.get('affinity')} core(s) allowed), saves into {options.out_dir}. Cell: "
        "median vecmatte CPU / median PyMatting CPU per call; **bold** > 1 (vecmatte slower)"
        + (f"; `before -> now`, before = {options.baseline}" if before else "")
        + ". Below the table: µs per call (vecmatte / PyMatting) of this tree.",
        "",
        "| case | " + " | ".join(f"{s} ({shapes[s]})" for s in SIZES) + " |",
        "|---|" + "---|" * len(SIZES),
    ]
    for case in CASES:
        cells = []
        for size in SIZES:
            ratio = current[case, size][0]
            earlier = old.get((case, size))
            cells.append(_cell(ratio) if earlier is None else f"{earlier[0]:.2f} -> {_cell(ratio)}")
        lines.append(f"| {case} | " + " | ".join(cells) + " |")
    lines += ["", "| case | " + " | ".join(SIZES) + " |", "|---|" + "---|" * len(SIZES)]
    for case in CASES:
        cells = [f"{current[case, s][1]:.0f} / {current[case, s][2]:.0f}" for s in SIZES]
        lines.append(f"| {case} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--image", default="GT04")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--baseline", help="also measure this git revision (before -> now)")
    parser.add_argument("--out-dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--child", nargs=2, metavar=("INPUTS", "OUTPUTS"), help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.child:
        child(Path(options.child[0]), Path(options.child[1]), options.rounds)
        return 0
    with tempfile.TemporaryDirectory(prefix="io_speed_inputs_") as folder:
        shapes = make_inputs(options.data, options.image, Path(folder))
        before = None
        if options.baseline is not None:
            # vecmatte/ of that commit, exported once (and kept) as compare.py's commits are
            tree = commit_code(options.baseline).path
            before = measure(tree, Path(folder), options.out_dir, options.rounds)
        now = measure(None, Path(folder), options.out_dir, options.rounds)
    provenance.write_markdown(options.out, report(now, before, shapes, options, argv))
    print(f"wrote {options.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
