"""The ``vecmatte`` command: a thin layer of argparse over the library.

Exit codes: 0 success, 1 the input or the computation failed (one-line message on stderr),
2 wrong command-line usage (argparse's own).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
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
            print(
                f"[{time.perf_counter() - self.start:7.2f}s] {message}", file=sys.stderr, flush=True
            )

    def iteration(self, iteration: int, residual: float) -> None:
        if not self.quiet and (iteration == 1 or iteration % 10 == 0):
            self.stage(f"  CG iteration {iteration}: relative residual {residual:.3e}")


def _check_output_path(path: str | Path, *, rgba: bool = False) -> Path:
    """Refuse before any computation if an output cannot be written where asked.

    Checking every output first means that a run which fails leaves no file behind, not
    an alpha matte without the cutout that was asked for with it.
    """
    from PIL import Image

    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(f"{path}: output directory {directory} does not exist")
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a directory; give a file name")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise PermissionError(f"{path}: cannot write to directory {directory} (permission denied)")
    file_format = Image.registered_extensions().get(path.suffix.lower() or ".png")
    if file_format is None:
        raise ValueError(
            f"{path}: unknown image file extension {path.suffix!r}; use .png, .tif ..."
        )
    if rgba and file_format == "JPEG":
        raise ValueError(
            f"{path}: JPEG cannot store an alpha channel; save the cutout as .png or .tif"
        )
    return path


def _add_solver_options(parser: argparse.ArgumentParser) -> None:
    from vecmatte import _defaults
    from vecmatte.preconditioners import PRECONDITIONERS

    parser.add_argument(
        "--eps",
        type=float,
        default=_defaults.EPS,
        help=f"regularisation (default {_defaults.EPS:g})",
    )
    parser.add_argument(
        "--radius",
        type=int,
        default=_defaults.RADIUS,
        help=f"window radius (default {_defaults.RADIUS})",
    )
    parser.add_argument(
        "--preconditioner",
        default=_defaults.PRECONDITIONER,
        choices=list(PRECONDITIONERS),
        help=f"CG preconditioner (default {_defaults.PRECONDITIONER})",
    )
    parser.add_argument(
        "--rtol",
        type=float,
        default=_defaults.RTOL,
        help=f"CG relative tolerance (default {_defaults.RTOL:g})",
    )
    parser.add_argument("--maxiter", type=int, default=None, help="CG iteration limit")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")


def _add_foreground_method(parser: argparse.ArgumentParser) -> None:
    from vecmatte.foreground import DEFAULT_METHOD, FOREGROUND_METHODS

    parser.add_argument(
        "--foreground-method",
        default=DEFAULT_METHOD,
        choices=FOREGROUND_METHODS,
        help="foreground estimation: ml = fast multi-level, cf = closed-form "
        f"(default {DEFAULT_METHOD})",
    )


def _solve_and_write(
    image,
    trimap,
    args,
    reporter: _Reporter,
    alpha_path: Path,
    cutout_path: Path | None,
    foreground_path: Path | None = None,
) -> None:
    from vecmatte.alpha import solve_alpha
    from vecmatte.compose import cutout
    from vecmatte.foreground import DEFAULT_METHOD, estimate_foreground
    from vecmatte.io import save_image

    preconditioner = args.preconditioner
    reporter.stage(
        f"solving for alpha ({image.shape[1]} x {image.shape[0]} pixels, "
        f"preconditioner {args.preconditioner})"
    )
    result = solve_alpha(
        image,
        trimap,
        eps=args.eps,
        radius=args.radius,
        preconditioner=preconditioner,
        rtol=args.rtol,
        maxiter=args.maxiter,
        callback=reporter.iteration,
    )
    reporter.stage(
        f"solved {result.n_unknown} unknown pixels in {result.iterations} CG iterations, "
        f"relative residual {result.residual:.2e}"
    )
    save_image(alpha_path, result.alpha)
    reporter.stage(f"wrote {alpha_path}")
    if cutout_path is None and foreground_path is None:
        return
    method = getattr(args, "foreground_method", DEFAULT_METHOD)
    reporter.stage(f"estimating the foreground colours (method {method})")
    foreground = estimate_foreground(image, result.alpha, method=method)
    if foreground_path is not None:
        save_image(foreground_path, foreground)
        reporter.stage(f"wrote {foreground_path}")
    if cutout_path is not None:
        save_image(cutout_path, cutout(image, result.alpha, foreground))
        reporter.stage(f"wrote {cutout_path}")


def _run_alpha(args) -> int:
    from vecmatte.io import load_image, load_trimap

    if (args.trimap is not None) + (args.scribbles is not None) + (args.mask is not None) != 1:
        args.usage_error("give exactly one of TRIMAP, --scribbles SCRIBBLED.png or --mask MASK.png")
    reporter = _Reporter(args.quiet)
    alpha_path = _check_output_path(args.output)
    cutout_path = None if args.cutout is None else _check_output_path(args.cutout, rgba=True)
    foreground_path = None if args.foreground is None else _check_output_path(args.foreground)
    if args.mask is not None:
        reporter.stage(f"reading {args.image} and mask {args.mask}")
        image = load_image(args.image, max_pixels=args.max_pixels)
        trimap = _trimap_from_mask_file(args.mask, image.shape, args)
    elif args.scribbles is None:
        reporter.stage(f"reading {args.image} and {args.trimap}")
        image = load_image(args.image, max_pixels=args.max_pixels)
        trimap = load_trimap(args.trimap, max_pixels=args.max_pixels)
    else:
        from vecmatte.trimap import scribbles_to_trimap

        reporter.stage(f"reading {args.image} and scribbles {args.scribbles}")
        image = load_image(args.image, max_pixels=args.max_pixels)
        scribbled = load_image(args.scribbles, max_pixels=args.max_pixels)
        try:
            trimap = scribbles_to_trimap(image, scribbled)
        except ValueError as error:
            raise ValueError(f"{args.scribbles}: {error}") from None
    _report_memory(image, trimap, args, reporter)
    _solve_and_write(image, trimap, args, reporter, alpha_path, cutout_path, foreground_path)
    return EXIT_OK


def _trimap_from_mask_file(path: str, shape: tuple[int, ...], args):
    """The trimap made from the mask file at ``path`` (``--mask``, ``--band``)."""
    from vecmatte.io import load_trimap
    from vecmatte.trimap import trimap_from_mask

    mask = load_trimap(path, max_pixels=args.max_pixels)
    try:
        if mask.shape != tuple(shape[:2]):
            raise ValueError(
                f"mask has shape {mask.shape} but image has shape {tuple(shape[:2])}; "
                "they must have the same height and width"
            )
        return trimap_from_mask(mask, band=args.band)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def _report_memory(image, trimap, args, reporter: _Reporter) -> None:
    """Say how much memory the solve will need (solve_alpha refuses if it does not fit)."""
    from vecmatte.memory import estimate_solve_memory
    from vecmatte.trimap import check_trimap, trimap_split

    unknown = trimap_split(check_trimap(trimap, image.shape))[2]
    preconditioner = args.preconditioner
    needed = estimate_solve_memory(
        image.shape, int(unknown.sum()), radius=args.radius, preconditioner=preconditioner
    )
    reporter.stage(f"the solve needs about {needed / 2**30:.2f} GiB of memory (estimate)")


def _add_read_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-pixels",
        type=int,
        default=None,
        metavar="N",
        help="refuse image files with more than N pixels (decompression-bomb protection; "
        "default Pillow's limit, about 89 million)",
    )


def _run_composite(args) -> int:
    from vecmatte.compose import composite, parse_color
    from vecmatte.foreground import estimate_foreground
    from vecmatte.io import load_image, load_trimap, save_image

    if (args.background is None) == (args.color is None):
        args.usage_error("give either BACKGROUND or --color COLOR (exactly one of them)")
    reporter = _Reporter(args.quiet)
    output = _check_output_path(args.output)
    # Read the colour first: a typo should fail before any computation.
    new = parse_color(args.color) if args.color is not None else None
    image = load_image(args.image, max_pixels=args.max_pixels)
    alpha = load_trimap(args.alpha, max_pixels=args.max_pixels)
    if new is None:
        new = load_image(args.background, max_pixels=args.max_pixels)
    if alpha.shape != image.shape[:2]:
        raise ValueError(
            f"{args.alpha}: alpha has shape {alpha.shape} but {args.image} has shape "
            f"{image.shape[:2]}; they must have the same height and width"
        )
    if args.foreground is not None:
        foreground = load_image(args.foreground, max_pixels=args.max_pixels)
    else:
        reporter.stage(f"estimating the foreground colours (method {args.foreground_method})")
        foreground = estimate_foreground(image, alpha, method=args.foreground_method)
    save_image(output, composite(foreground, alpha, new, fit=args.fit))
    reporter.stage(f"wrote {output}")
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


def _clock(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class BatchProgress:
    """Progress bar of a batch on stderr, and its summary at the end.

    Runner-agnostic: pass the object as ``progress`` to :func:`vecmatte.batch.run_batch` (or
    any runner that calls ``progress(done, total, record)`` as tasks complete), then return
    ``summary(records)`` as the exit code. On a terminal the bar is redrawn in place; in a
    log, one line is written per image.
    """

    BAR_WIDTH = 24

    def __init__(self, total: int, *, quiet: bool = False, stream=None):
        self.total = total
        self.quiet = quiet
        self.stream = sys.stderr if stream is None else stream
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.perf_counter()
        self.skipped = 0
        self._bar_shown = False

    def _write(self, text: str) -> None:
        print(text, file=self.stream, end="", flush=True)

    def close(self) -> None:
        """End the bar's line (before another message, an error or an interruption)."""
        if self._bar_shown:
            self._write("\n")
            self._bar_shown = False

    def __call__(self, done: int, total: int, record) -> None:
        if record.status == "skipped":
            self.skipped += 1
        if record.status == "failed":
            self.close()
            self._write(f"vecmatte: {record.name} failed: {record.error}\n")
        if self.quiet:
            return
        elapsed = time.perf_counter() - self.start
        worked = done - self.skipped
        eta = _clock(elapsed / worked * (total - done)) if worked else "-:--:--"
        filled = self.BAR_WIDTH * done // max(total, 1)
        bar = "#" * filled + "-" * (self.BAR_WIDTH - filled)
        line = (
            f"[{bar}] {done}/{total} images  elapsed {_clock(elapsed)}  ETA {eta}  "
            f"{record.name} {record.status}"
        )
        if self.tty:
            self._write(f"\r{line[:200]}\033[K")
            self._bar_shown = True
        else:
            self._write(line + "\n")

    def summary(self, records) -> int:
        """Print the counts, the failures and the notes; return the exit code."""
        self.close()
        counts = {
            status: sum(r.status == status for r in records)
            for status in ("done", "skipped", "failed")
        }
        failed = [r for r in records if r.status == "failed"]
        if not self.quiet:
            parts = [f"{counts['done']} done"]
            if counts["skipped"]:
                parts.append(f"{counts['skipped']} skipped (outputs already there)")
            parts.append(f"{counts['failed']} failed")
            self._write(
                f"batch: {len(records)} images in "
                f"{_clock(time.perf_counter() - self.start)}: {', '.join(parts)}\n"
            )
            for record in records:
                if record.status == "done" and getattr(record, "note", None):
                    self._write(f"  note: {record.name}: {record.note}\n")
        if failed:
            self._write(f"vecmatte: {len(failed)} of {len(records)} images failed:\n")
            for record in failed:
                self._write(f"  {record.name}: {record.error}\n")
        return EXIT_FAILURE if failed else EXIT_OK


def _batch_solver_options(args) -> dict:
    return {
        "eps": args.eps,
        "radius": args.radius,
        "rtol": args.rtol,
        "maxiter": args.maxiter,
        "preconditioner": args.preconditioner,
        "max_pixels": args.max_pixels,
    }


def _run_batch(args) -> int:
    from vecmatte.batch import find_tasks, run_batch

    if args.jobs < 1:
        args.usage_error(f"--jobs must be at least 1, got {args.jobs}")
    if args.scheduler is not None and args.jobs != 1:
        args.usage_error(
            "--jobs is for local batches; with --scheduler the Dask workers "
            "decide how many images run at once"
        )
    tasks = find_tasks(
        args.images_dir,
        args.trimaps_dir,
        args.output,
        cutout=args.cutout,
        **_batch_solver_options(args),
    )
    progress = BatchProgress(len(tasks), quiet=args.quiet)
    try:
        records = run_batch(
            tasks, jobs=args.jobs, resume=args.resume, progress=progress, scheduler=args.scheduler
        )
    finally:
        progress.close()
    return progress.summary(records)


_EVAL_COLUMNS = (("sad", "SAD"), ("mse", "MSE"), ("gradient", "Grad"), ("connectivity", "Conn"))


def _eval_triples(pred: Path, truth: Path, trimap: Path) -> list[tuple[str, Path, Path, Path]]:
    """``(name, pred, truth, trimap)``: the three files, or same-named files in three folders."""
    kinds = [path.is_dir() for path in (pred, truth, trimap)]
    if not any(kinds):
        return [(pred.name, pred, truth, trimap)]
    if not all(kinds):
        raise ValueError("PRED, GT and TRIMAP must be three files or three folders, not a mix")
    names = sorted(p.name for p in pred.iterdir() if p.is_file() and not p.name.startswith("."))
    if not names:
        raise FileNotFoundError(f"{pred}: folder has no files to evaluate")
    for folder in (truth, trimap):
        missing = [name for name in names if not (folder / name).is_file()]
        if missing:
            raise FileNotFoundError(
                f"{folder}: no file named {missing[0]} to match {pred / missing[0]}"
                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
            )
    return [(name, pred / name, truth / name, trimap / name) for name in names]


def _run_eval(args) -> int:
    import json

    from vecmatte.io import load_trimap
    from vecmatte.metrics import matting_errors

    rows = []
    triples = _eval_triples(Path(args.pred), Path(args.gt), Path(args.trimap))
    for name, pred, truth, trimap in triples:
        errors = matting_errors(load_trimap(pred), load_trimap(truth), load_trimap(trimap))
        rows.append({"name": name, **errors})
    mean = {key: sum(row[key] for row in rows) / len(rows) for key, _ in _EVAL_COLUMNS}
    if args.json:
        print(json.dumps({"images": rows, "mean": mean}, indent=2))
        return EXIT_OK
    width = max(len("mean"), *(len(row["name"]) for row in rows))
    print(f"{'image':<{width}}" + "".join(f" {title:>10}" for _, title in _EVAL_COLUMNS))
    for row in [*rows, {"name": "mean", **mean}]:
        print(f"{row['name']:<{width}}" + "".join(f" {row[key]:10.4f}" for key, _ in _EVAL_COLUMNS))
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
        "alpha",
        help="compute the alpha matte of an image from a trimap, scribbles or a mask",
        description="Compute the alpha matte of IMAGE from TRIMAP (white = foreground, "
        "black = background, gray = unknown), from --scribbles, or from a rough "
        "--mask. A solve that would not fit in the available memory is refused "
        "before it starts, with the estimate.",
    )
    alpha.add_argument("image", help="the photograph (PNG, JPEG, TIFF ...)")
    alpha.add_argument("trimap", nargs="?", help="the trimap, same size as the image")
    alpha.add_argument(
        "--scribbles",
        metavar="SCRIBBLED.png",
        help="instead of a trimap: the photograph with white strokes on the foreground and "
        "black strokes on the background (saved losslessly), or a gray image with such "
        "strokes",
    )
    alpha.add_argument(
        "--mask",
        metavar="MASK.png",
        help="instead of a trimap: a rough mask (white = foreground, e.g. from a segmentation "
        "model); the trimap is the mask with an unknown band along its edge",
    )
    alpha.add_argument(
        "--band",
        type=int,
        default=10,
        metavar="PIXELS",
        help="with --mask: unknown pixels on each side of the mask's edge (default 10)",
    )
    alpha.add_argument("-o", "--output", required=True, help="where to write the alpha matte")
    alpha.add_argument("--cutout", help="also write an RGBA cutout (estimated foreground colours)")
    alpha.add_argument(
        "--foreground", metavar="F.png", help="also write the estimated foreground colours here"
    )
    _add_foreground_method(alpha)
    _add_solver_options(alpha)
    _add_read_options(alpha)
    alpha.set_defaults(run=_run_alpha, usage_error=alpha.error, late_positionals=("trimap",))

    compose = commands.add_parser(
        "composite",
        help="place the foreground of an image over a new background",
        description="Estimate the foreground colours of IMAGE behind ALPHA and composite them "
        "over BACKGROUND (an image) or a --color.",
    )
    compose.add_argument("image", help="the photograph")
    compose.add_argument("alpha", help="its alpha matte (for example from `vecmatte alpha`)")
    compose.add_argument("background", nargs="?", help="the new background image")
    compose.add_argument(
        "--color", help='a plain background colour instead: "#00ff00", "green" ...'
    )
    compose.add_argument("-o", "--output", required=True, help="where to write the composite")
    compose.add_argument(
        "--fit",
        default="resize",
        choices=["resize", "cover", "crop"],
        help="a background of another size is stretched (resize), scaled and centre-cropped "
        "keeping its aspect ratio (cover), or centre-cropped (crop) (default resize)",
    )
    compose.add_argument(
        "--foreground",
        metavar="F.png",
        help="use these foreground colours (from `vecmatte alpha --foreground`) "
        "instead of estimating them",
    )
    _add_foreground_method(compose)
    _add_read_options(compose)
    compose.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    compose.set_defaults(
        run=_run_composite, usage_error=compose.error, late_positionals=("background",)
    )

    batch = commands.add_parser(
        "batch",
        help="alpha mattes of a folder of images, with trimaps matched by name",
        description="Compute the alpha matte of every image of IMAGES_DIR with the trimap of "
        "the same name (any image extension) in TRIMAPS_DIR; write NAME_alpha.png "
        "(and NAME_cutout.png) to OUT_DIR. A failed image is listed and the others "
        "go on; the exit code is 1 if any failed. Outputs are written atomically, "
        "so an interrupted batch can be continued with --resume.",
    )
    batch.add_argument("images_dir", help="folder of images")
    batch.add_argument("trimaps_dir", help="folder of trimaps, named like the images")
    batch.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT_DIR",
        help="folder for the outputs (created if missing)",
    )
    batch.add_argument(
        "--cutout",
        action="store_true",
        help="also write NAME_cutout.png (RGBA, estimated foreground colours)",
    )
    batch.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="images solved at the same time, in N processes (default 1); "
        "each needs its own memory",
    )
    batch.add_argument(
        "--resume", action="store_true", help="skip the images whose outputs already exist"
    )
    batch.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on the Dask cluster whose scheduler is at ADDRESS "
        "(tcp://HOST:PORT) instead of locally; the workers must see the "
        "same files at the same paths; needs vecmatte[distributed]",
    )
    _add_solver_options(batch)
    _add_read_options(batch)
    batch.set_defaults(run=_run_batch, usage_error=batch.error)

    demo = commands.add_parser("demo", help="run on the bundled example image and trimap")
    demo.add_argument(
        "--output-dir",
        default="vecmatte-demo",
        help="directory for demo_alpha.png and demo_cutout.png (default vecmatte-demo)",
    )
    _add_solver_options(demo)
    demo.set_defaults(run=_run_demo)

    evaluate = commands.add_parser(
        "eval",
        help="errors of alpha mattes against ground truth (SAD, MSE, Grad, Conn)",
        description="Compare predicted alpha mattes with ground truth over the trimap's unknown "
        "pixels (alphamatting.com conventions: alpha in [0, 1]; SAD, gradient and "
        "connectivity errors / 1000). Give three files, or three folders whose "
        "files are matched by name.",
    )
    evaluate.add_argument("pred", help="predicted alpha matte, or a folder of them")
    evaluate.add_argument("gt", help="ground-truth alpha matte, or a folder of them")
    evaluate.add_argument("trimap", help="trimap, or a folder of them")
    evaluate.add_argument("--json", action="store_true", help="print JSON instead of a table")
    evaluate.set_defaults(run=_run_eval)
    return parser


def _parse(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse, accepting an optional positional after options (``alpha IMAGE -o OUT TRIMAP``).

    argparse fills an optional positional (``nargs="?"``) with the positionals before the
    first option and then rejects a later one; the subcommand's ``late_positionals`` take
    what is left, in order.
    """
    args, extra = parser.parse_known_args(argv)
    for name in getattr(args, "late_positionals", ()):
        if extra and getattr(args, name) is None and not extra[0].startswith("-"):
            setattr(args, name, extra.pop(0))
    if extra:
        report = getattr(args, "usage_error", parser.error)
        report(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the ``vecmatte`` command on ``argv`` (default ``sys.argv[1:]``); return its exit code."""
    parser = build_parser()
    args = _parse(parser, argv)
    with warnings.catch_warnings():
        _show_warnings_as_messages()
        try:
            return args.run(args)
        except KeyboardInterrupt:
            print("vecmatte: interrupted", file=sys.stderr)
            return 130
        except (ValueError, OSError, MemoryError, ImportError) as error:
            print(f"vecmatte: error: {error}", file=sys.stderr)
            return EXIT_FAILURE


def _show_warnings_as_messages() -> None:
    """Inside ``catch_warnings``: print each warning as one line ``vecmatte: warning: ...``.

    The library warns (non-convergence with the residual, a trimap without unknown pixels,
    an ignored alpha channel); the command reports those as messages, not as Python source
    lines, with the same filters whatever the caller (a shell, or pytest's "error").
    """
    warnings.resetwarnings()
    warnings.simplefilter("default")
    for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
        warnings.simplefilter("ignore", category)

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"vecmatte: warning: {message}", file=sys.stderr, flush=True)

    warnings.showwarning = show


def console_entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    console_entry()
