"""Each vecmatte method against PyMatting's: errors, time and memory; writes results/methods.md.

Usage (see bench/README.md)::

    taskset -c 1 python bench/method_table.py --data ../shared/data/alphamatting-lowres \\
        --trimap trimap trimap2 --method-scale lkm=0.5 sm=0.5 --resume
    taskset -c 1 python bench/method_table.py --timing same-process --rounds 3 --scale 0.5 \\
        --vecmatte-commit HEAD --resume

The methods are those in vecmatte's registry (``vecmatte.alpha.METHODS``) when it runs; each is
measured beside PyMatting's estimator of the same name (information flow, which PyMatting lacks,
beside vecmatte's closed-form) on the same inputs. ``--timing child`` (the default) runs each
cell in a child process of its own; ``--timing same-process`` runs both methods of each pair in
ONE child per (image, trimap, scale), alternating, with wall and CPU time
(``harness.interleave``), and takes memory from one child per cell. The section is appended to
``bench/RESULTS.md`` by ``bench/compare.py``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:  # when imported by the tests rather than run
    sys.path.insert(0, str(BENCH_DIR))

import provenance  # noqa: E402
from harness.data import TRIMAP_ALIASES, as_scale  # noqa: E402
from harness.method_rows import render, run, scale_option  # noqa: E402
from harness.plan import log  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        default=str(BENCH_DIR.parent.parent / "shared" / "data" / "alphamatting-lowres"),
        help="folder with image/, trimap/ (trimap2/), alpha/ or the alphamatting.com names",
    )
    parser.add_argument(
        "--trimap", nargs="+", default=["trimap", "trimap2"], help="trimap sets (default both)"
    )
    parser.add_argument("--images", nargs="+", help="image names (default: all)")
    parser.add_argument(
        "--methods", nargs="+", help="vecmatte method names (default: every registered one)"
    )
    parser.add_argument(
        "--scale", type=as_scale, default=1, help="scale of every input (0.5: half size)"
    )
    parser.add_argument(
        "--method-scale",
        nargs="+",
        type=scale_option,
        default=[],
        metavar="NAME=SCALE",
        help="another scale for some methods (the slow ones), e.g. lkm=0.5 sm=0.5",
    )
    parser.add_argument(
        "--timing",
        choices=("child", "same-process"),
        default="child",
        help="child: every (method, image, trimap, scale) in a process of its own, the two "
        "libraries at different times; same-process: both methods of a pair in ONE process per "
        "(image, trimap, scale), alternating for --rounds rounds, wall and CPU time (memory "
        "still from a child per method and cell, one solve each) (default child)",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="same-process rounds (A B, B A, ...) (default 3)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="NUMBA_NUM_THREADS, OPENBLAS_NUM_THREADS, OMP_NUM_THREADS and MKL_NUM_THREADS of "
        "the same-process children (default 1)",
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="warm solves per cell, child timing (default 3)"
    )
    parser.add_argument(
        "--budget", type=float, default=15.0, help="seconds the warm solves of a cell may take"
    )
    parser.add_argument("--time-limit", type=float, default=300.0, help="seconds per solve")
    parser.add_argument("--memory-cap", type=float, default=12.0, help="GB per child")
    parser.add_argument(
        "--max-minutes", type=float, help="stop starting new measurements after that long"
    )
    parser.add_argument(
        "--family",
        choices=("vecmatte", "pymatting"),
        help="measure only this side of each pair (e.g. PyMatting's cells ahead of time, "
        "even for methods vecmatte does not have yet); the other side's cells are taken from "
        "the cache (--resume) or left out",
    )
    parser.add_argument("--numba-cache", help="NUMBA_CACHE_DIR for the children")
    parser.add_argument("--vecmatte-commit", metavar="REV", help="measure vecmatte at REV")
    parser.add_argument(
        "--cache",
        default=str(BENCH_DIR / ".cache" / "compare.jsonl"),
        help="the cells' cache, shared with compare.py",
    )
    parser.add_argument("--resume", action="store_true", help="reuse cached cells")
    parser.add_argument("--note", help="a sentence on how the run was made")
    parser.add_argument(
        "--output", default=str(BENCH_DIR / "results" / "methods.md"), help="section path"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    options = parser.parse_args(argv)
    options.trimap = [TRIMAP_ALIASES.get(t, t) for t in options.trimap]
    options.method_scale = dict(options.method_scale)
    if options.repeats < 1:
        parser.error("--repeats must be at least 1")
    if options.timing == "same-process":
        if options.rounds < 1 or options.threads < 1:
            parser.error("--rounds and --threads must be at least 1")
        if options.family:
            parser.error("--family measures one side alone: use it with --timing child")
        from harness import interleave, interleave_report

        result = interleave.run(options)
        text = interleave_report.render(result, options, argv)
    else:
        result = run(options)
        text = render(result, options, argv)
    provenance.write_markdown(options.output, text)
    log(f"wrote {options.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
