"""Side-by-side benchmark of vecmatte against the seed's numba program and PyMatting.

Usage (see bench/README.md)::

    python bench/compare.py --data ../shared/data/alphamatting-lowres --trimap trimap trimap2 \\
        --scales 1 2 4

Every measurement runs in a fresh child process (this same file with ``--worker``) under an
address-space cap (``RLIMIT_AS``) and a per-solve time limit, so that a method which runs out
of memory or time is reported as "> memory cap" / "> limit" instead of taking the benchmark
down. The child warms the method up on a small synthetic scene, measures the peak resident
memory of the first solve on the real image, then repeats the solve for the warm time. Cold
start is a separate child that imports the method and solves one image. Results are written to
``bench/RESULTS.md`` and ``bench/time_vs_megapixels.png``; every ``bench/results/*.md`` written
by other bench scripts is appended to the report. The steps live in ``bench/harness/``.

Peers (numba, pymatting) are imported only by the children that run them.
"""

from __future__ import annotations

import time

_PROCESS_START = time.perf_counter()  # a cold start is timed from here

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
if str(BENCH_DIR) not in sys.path:  # when imported by the tests rather than run
    sys.path.insert(0, str(BENCH_DIR))

from harness.data import TRIMAP_ALIASES, as_scale  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        default=str(ROOT.parent / "shared" / "data" / "alphamatting-lowres"),
        help="folder with image/, trimap/ (trimap2/), alpha/ or the alphamatting.com names",
    )
    parser.add_argument(
        "--trimap",
        nargs="+",
        default=["trimap"],
        help="trimap sets to run: trimap (Trimap1) and/or trimap2 (Trimap2)",
    )
    parser.add_argument(
        "--scales",
        nargs="+",
        type=as_scale,
        default=[1],
        help="scaling factors (2: twice the size)",
    )
    parser.add_argument("--images", nargs="+", help="image names (default: all)")
    parser.add_argument(
        "--scale-images",
        nargs="+",
        help="images to use at the --subset-scales (default: the same as --images)",
    )
    parser.add_argument(
        "--subset-scales",
        nargs="+",
        type=as_scale,
        help="scales that use --scale-images (default: every scale above 1)",
    )
    parser.add_argument(
        "--seed-images",
        nargs="+",
        help="images the seed's program runs on, or all (default: the smallest one)",
    )
    parser.add_argument(
        "--methods", nargs="+", help="method keys (vecmatte:NAME, pymatting:cf, seed) or families"
    )
    parser.add_argument("--repeats", type=int, default=3, help="warm solves per cell (default 3)")
    parser.add_argument(
        "--budget",
        type=float,
        default=15.0,
        help="stop repeating once the warm solves of a cell would exceed this many "
        "seconds (default 15; at least one solve always runs)",
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=300.0,
        help="per-solve time limit in seconds (default 300)",
    )
    parser.add_argument(
        "--memory-cap",
        type=float,
        default=12.0,
        help="address-space cap of each child in GB (default 12)",
    )
    parser.add_argument(
        "--secondary-images",
        nargs="+",
        help="images on which vecmatte's non-default preconditioners run (default: all)",
    )
    parser.add_argument(
        "--secondary-scales",
        nargs="+",
        type=as_scale,
        help="scales at which vecmatte's non-default preconditioners run (default: all)",
    )
    parser.add_argument(
        "--max-minutes",
        type=float,
        help="stop starting new measurements after this many minutes; the rest is reported "
        "as not run and the report is still written",
    )
    parser.add_argument("--no-cold", dest="cold", action="store_false", help="skip cold starts")
    parser.add_argument(
        "--cold-image", help="image for the cold starts (default: the seed's first)"
    )
    parser.add_argument(
        "--numba-cache", help="NUMBA_CACHE_DIR for warm runs (default: numba's own)"
    )
    parser.add_argument("--output", default=str(BENCH_DIR / "RESULTS.md"), help="report path")
    parser.add_argument(
        "--plot", default=None, help="plot path (default: time_vs_megapixels.png beside the report)"
    )
    parser.add_argument(
        "--no-append",
        dest="append_results",
        action="store_false",
        help="do not append bench/results/*.md to the report",
    )
    parser.add_argument(
        "--cache",
        default=str(BENCH_DIR / ".cache" / "compare.jsonl"),
        help="where every finished measurement is recorded (for --resume)",
    )
    parser.add_argument("--note", help="a sentence on how the run was made, printed in the report")
    parser.add_argument(
        "--timing",
        choices=("child", "same-process", "both"),
        default="child",
        help="child: every cell in a process of its own (pin the invocation to one core with "
        "taskset); both: vecmatte's default and PyMatting cf also measured together in one "
        "process per input, alternating, on the invocation's cores, and both reported; "
        "same-process: only those pairs (default child)",
    )
    parser.add_argument(
        "--same-process-scales",
        nargs="+",
        type=as_scale,
        help="scales at which the same-process pairs run (default: every scale)",
    )
    parser.add_argument(
        "--vecmatte-commit",
        metavar="REV",
        help="measure vecmatte as committed at REV (exported with git archive into "
        "bench/.cache/trees/) instead of the working tree, and key the cache by that tree",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="reuse measurements in --cache made with the same code and options",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        from harness.child import worker

        return worker(json.loads(argv[1]), _PROCESS_START)
    parser = build_parser()
    options = parser.parse_args(argv)
    options.trimap = [TRIMAP_ALIASES.get(t, t) for t in options.trimap]
    if options.repeats < 1:
        parser.error("--repeats must be at least 1")
    from harness.comparison import run
    from harness.plan import log
    from harness.plot import write_plot
    from harness.report import write_report

    result = run(options)
    output = Path(options.output)
    plot = write_plot(
        result["cells"],
        result["methods"],
        Path(options.plot) if options.plot else output.parent / "time_vs_megapixels.png",
    )
    command = ["python", "bench/compare.py", *argv]
    write_report(result, options, command, output, plot)
    log(f"wrote {output}" + (f" and {plot}" if plot else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
