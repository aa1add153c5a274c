"""Per-image table of the core solver on the alphamatting.com low-resolution set.

For each of GT01..GT20 (the "trimap" folder, the narrow Trimap1) it runs
``vecmatte.solve_alpha`` with its defaults and reports the wall time of that call (Laplacian,
preconditioner and conjugate gradient; file reading excluded), the CG iterations, the final
relative residual and the SAD over the unknown pixels (sum |alpha - gt| / 1000).

    python bench/core_table.py [--data DIR] [--trimap trimap|trimap2] [--output FILE]

Prints a markdown table and writes it to bench/results/core_table.md (appended to
bench/RESULTS.md by bench/compare.py). The data are read in place, never copied.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import provenance  # bench/provenance.py: the header and the write every bench script shares

import vecmatte
from vecmatte._defaults import PRECONDITIONER as DEFAULT_PRECONDITIONER
from vecmatte._defaults import RTOL as DEFAULT_RTOL

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[1] / "shared" / "data" / "alphamatting-lowres"


def measure(image_path: Path, trimap_path: Path, gt_path: Path) -> dict:
    image = vecmatte.load_image(image_path)
    trimap = vecmatte.load_trimap(trimap_path)
    gt = vecmatte.load_trimap(gt_path)  # stored as RGB with equal channels
    start = time.perf_counter()
    result = vecmatte.solve_alpha(image, trimap)
    seconds = time.perf_counter() - start
    _, _, unknown = vecmatte.trimap_split(trimap)
    sad = float(np.abs(result.alpha - gt)[unknown].sum()) / 1000.0
    return {
        "size": f"{image.shape[1]} x {image.shape[0]}",
        "unknown": result.n_unknown,
        "seconds": seconds,
        "iterations": result.iterations,
        "residual": result.residual,
        "converged": result.converged,
        "sad": sad,
    }


def table(rows: dict[str, dict], command: str, trimap_kind: str) -> str:
    lines = [
        f"## Core solver on alphamatting-lowres ({trimap_kind})",
        "",
        f"`vecmatte.solve_alpha` with defaults (preconditioner={DEFAULT_PRECONDITIONER!r}, "
        f"rtol={DEFAULT_RTOL:g}, eps=1e-7, radius=1). Time: wall clock of the call, file "
        "reading excluded. SAD: sum |alpha - gt| over the trimap's unknown pixels / 1000.",
        "",
        f"Command: `{command}`  ",
        f"Machine: {provenance.machine_line()}",
        "",
        "| image | size | unknown px | time (s) | CG iterations | rel. residual | SAD |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in rows.items():
        flag = "" if r["converged"] else " (not converged)"
        lines.append(
            f"| {name} | {r['size']} | {r['unknown']} | {r['seconds']:.2f} | "
            f"{r['iterations']}{flag} | {r['residual']:.1e} | {r['sad']:.2f} |"
        )
    values = list(rows.values())
    lines.append(
        f"| **total / mean** | | {sum(r['unknown'] for r in values)} | "
        f"{sum(r['seconds'] for r in values):.2f} | "
        f"{np.mean([r['iterations'] for r in values]):.1f} | | "
        f"{np.mean([r['sad'] for r in values]):.2f} |"
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--trimap", default="trimap", choices=["trimap", "trimap2"])
    parser.add_argument("--output", type=Path, default=HERE / "results" / "core_table.md")
    parser.add_argument("--images", nargs="*", default=[f"GT{i:02d}" for i in range(1, 21)])
    args = parser.parse_args(argv)
    if not (args.data / "image").is_dir():
        print(f"core_table: no data at {args.data}", file=sys.stderr)
        return 1
    rows = {}
    for name in args.images:
        rows[name] = measure(
            args.data / "image" / f"{name}.png",
            args.data / args.trimap / f"{name}.png",
            args.data / "alpha" / f"{name}.png",
        )
        r = rows[name]
        print(
            f"{name}: {r['seconds']:.2f} s, {r['iterations']} it, SAD {r['sad']:.2f}",
            file=sys.stderr,
            flush=True,
        )
    command = "python bench/core_table.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = table(rows, command.strip(), args.trimap)
    print(text)
    if args.output:
        provenance.write_markdown(args.output, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
