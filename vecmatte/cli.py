"""The ``vecmatte`` command: a thin layer of argparse over the library.

Exit codes: 0 success, 1 the input or the computation failed (one-line message on stderr),
2 wrong command-line usage (argparse's own).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import vecmatte

EXIT_OK = 0
EXIT_FAILURE = 1


class _Reporter:
    """Progress on stderr; silent with ``--quiet``."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.start = time.perf_counter()

    def stage(self, message: str) -> None:
        if not self.quiet:
            print(f"[{time.perf_counter() - self.start:7.2f}s] {message}", file=sys.stderr, flush=True)

    def iteration(self, iteration: int, residual: float) -> None:
        if not self.quiet and (iteration == 1 or iteration % 10 == 0):
            self.stage(f"  CG iteration {iteration}: relative residual {residual:.3e}")


def _check_output_path(path: str | Path) -> Path:
    """Refuse before any computation if an output cannot be written where asked."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(f"{path}: output directory {directory} does not exist")
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a directory; give a file name")
    return path


def _add_solver_options(parser: argparse.ArgumentParser) -> None:
    from vecmatte.alpha import DEFAULT_PRECONDITIONER, DEFAULT_RTOL

    parser.add_argument("--eps", type=float, default=1e-7, help="regularisation (default 1e-7)")
    parser.add_argument("--radius", type=int, default=1, help="window radius (default 1)")
    parser.add_argument(
        "--preconditioner",
        default=DEFAULT_PRECONDITIONER,
        choices=["ichol", "jacobi", "none"],
        help=f"CG preconditioner (default {DEFAULT_PRECONDITIONER})",
    )
    parser.add_argument("--rtol", type=float, default=DEFAULT_RTOL,
                        help=f"CG relative tolerance (default {DEFAULT_RTOL:g})")
    parser.add_argument("--maxiter", type=int, default=None, help="CG iteration limit")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")


def _solve_and_write(image, trimap, args, reporter: _Reporter, alpha_path: Path,
                     cutout_path: Path | None) -> None:
    from vecmatte.alpha import solve_alpha
    from vecmatte.compose import cutout
    from vecmatte.io import save_image

    preconditioner = None if args.preconditioner == "none" else args.preconditioner
    reporter.stage(f"solving for alpha ({image.shape[1]} x {image.shape[0]} pixels, "
                   f"preconditioner {args.preconditioner})")
    result = solve_alpha(
        image, trimap, eps=args.eps, radius=args.radius, preconditioner=preconditioner,
        rtol=args.rtol, maxiter=args.maxiter, callback=reporter.iteration,
    )
    reporter.stage(
        f"solved {result.n_unknown} unknown pixels in {result.iterations} CG iterations, "
        f"relative residual {result.residual:.2e}"
    )
    save_image(alpha_path, result.alpha)
    reporter.stage(f"wrote {alpha_path}")
    if cutout_path is not None:
        save_image(cutout_path, cutout(image, result.alpha))
        reporter.stage(f"wrote {cutout_path}")


def _run_alpha(args) -> int:
    from vecmatte.io import load_image, load_trimap

    reporter = _Reporter(args.quiet)
    alpha_path = _check_output_path(args.output)
    cutout_path = None if args.cutout is None else _check_output_path(args.cutout)
    reporter.stage(f"reading {args.image} and {args.trimap}")
    image = load_image(args.image)
    trimap = load_trimap(args.trimap)
    _solve_and_write(image, trimap, args, reporter, alpha_path, cutout_path)
    return EXIT_OK


def _run_demo(args) -> int:
    from vecmatte.io import load_image, load_trimap

    reporter = _Reporter(args.quiet)
    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    data = Path(__file__).parent / "data"
    image = load_image(data / "demo_image.png")
    trimap = load_trimap(data / "demo_trimap.png")
    reporter.stage(f"demo: bundled synthetic composite {data / 'demo_image.png'}")
    alpha_path, cutout_path = output_dir / "demo_alpha.png", output_dir / "demo_cutout.png"
    _solve_and_write(image, trimap, args, reporter, alpha_path, cutout_path)
    print(f"wrote {alpha_path} and {cutout_path}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``vecmatte`` command."""
    parser = argparse.ArgumentParser(
        prog="vecmatte",
        description="Closed-form alpha matting in vectorized NumPy/SciPy.",
    )
    parser.add_argument("--version", action="version", version=f"vecmatte {vecmatte.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    alpha = commands.add_parser(
        "alpha", help="compute the alpha matte of an image from a trimap",
        description="Compute the alpha matte of IMAGE from TRIMAP (white = foreground, "
                    "black = background, gray = unknown).",
    )
    alpha.add_argument("image", help="the photograph (PNG, JPEG, TIFF ...)")
    alpha.add_argument("trimap", help="the trimap, same size as the image")
    alpha.add_argument("-o", "--output", required=True, help="where to write the alpha matte")
    alpha.add_argument("--cutout", help="also write an RGBA cutout here")
    _add_solver_options(alpha)
    alpha.set_defaults(run=_run_alpha)

    demo = commands.add_parser("demo", help="run on the bundled example image and trimap")
    demo.add_argument("--output-dir", default="vecmatte-demo",
                      help="directory for demo_alpha.png and demo_cutout.png (default vecmatte-demo)")
    _add_solver_options(demo)
    demo.set_defaults(run=_run_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``vecmatte`` command with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("vecmatte: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, MemoryError) as error:
        print(f"vecmatte: error: {error}", file=sys.stderr)
        return EXIT_FAILURE


def console_entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    console_entry()
