"""``vecmatte alpha``: the alpha matte of one image from a trimap, scribbles or a mask."""

from __future__ import annotations

import argparse

from vecmatte.cli import _common, _messages, _outputs

NAME = "alpha"


def register(commands) -> None:
    """Add the parser of ``vecmatte alpha`` to the subcommands ``commands``.

    Parameters
    ----------
    commands : argparse._SubParsersAction
        What ``ArgumentParser.add_subparsers`` returned.
    """
    parser = commands.add_parser(
        NAME,
        help="compute the alpha matte of an image from a trimap, scribbles or a mask",
        description="Compute the alpha matte of IMAGE from TRIMAP (white = foreground, "
        "black = background, gray = unknown), from --scribbles, or from a rough "
        "--mask. A solve that would not fit in the available memory is refused "
        "before it starts, with the estimate. '-' as IMAGE reads standard input; "
        "'-' as an output writes PNG to standard output. An output may not be an input.",
    )
    parser.add_argument("image", help="the photograph (PNG, JPEG, TIFF ...), or - for stdin")
    parser.add_argument("trimap", nargs="?", help="the trimap, same size as the image")
    parser.add_argument(
        "--scribbles",
        metavar="SCRIBBLED.png",
        help="instead of a trimap: the photograph with white strokes on the foreground and "
        "black strokes on the background (saved losslessly), or a gray image with such "
        "strokes",
    )
    parser.add_argument(
        "--mask",
        metavar="MASK.png",
        help="instead of a trimap: a rough mask (white = foreground, e.g. from a segmentation "
        "model); the trimap is the mask with an unknown band along its edge",
    )
    _common.band_option(parser)
    parser.add_argument(
        "-o", "--output", required=True, help="where to write the alpha matte (- for stdout)"
    )
    _common.bit_depth_option(parser, "the alpha matte (-o), a .png or .tif for 16 (default 8)")
    parser.add_argument(
        "--cutout",
        metavar="CUTOUT.png",
        help="also write an RGBA cutout (estimated foreground colours) here",
    )
    parser.add_argument(
        "--foreground", metavar="F.png", help="also write the estimated foreground colours here"
    )
    _common.foreground_method_option(parser)
    _common.solver_options(parser)
    _common.read_options(parser)
    parser.set_defaults(run=run, usage_error=parser.error, late_positionals=("trimap",))


def run(args: argparse.Namespace) -> int:
    """Run ``vecmatte alpha``; return the exit code (errors raise, ``main`` reports them).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    int
        The exit code.
    """
    from vecmatte.io import colour_profile, load_image

    given = (args.trimap is not None) + (args.scribbles is not None) + (args.mask is not None)
    if given != 1:
        args.usage_error("give exactly one of TRIMAP, --scribbles SCRIBBLED.png or --mask MASK.png")
    _common.check_band(args)
    _common.check_foreground_method(
        args,
        args.cutout is not None or args.foreground is not None,
        "only with --cutout or --foreground",
    )
    keywords = _common.solve_keywords(args)
    with _common.usage_errors():  # -o m.jpg --bit-depth 16: options that do not go together
        _check_bit_depth(args)
    outputs = {"alpha matte (-o)": args.output, "--cutout": args.cutout}
    outputs["--foreground"] = args.foreground
    _outputs.guard(
        outputs,
        {
            "image": args.image,
            "trimap": args.trimap,
            "--scribbles image": args.scribbles,
            "--mask": args.mask,
        },
        alpha_channel=("--cutout",),
    )
    _messages.note_lossy(args.output, "alpha matte")
    _messages.note_lossy(args.cutout, "cutout", colour=True)
    _messages.note_lossy(args.foreground, "foreground", colour=True)  # composite reads it back
    reporter = _messages.Reporter(args.quiet)
    second = args.trimap or args.scribbles or args.mask
    reporter.stage(f"reading {args.image} and {second}")
    source = _outputs.source(args.image, args.max_pixels)
    image = load_image(source, max_pixels=args.max_pixels)
    # The foreground and cutout carry the photograph's colour space (a Display P3 photo's
    # cutout showed paler, taken for sRGB without it).
    args.icc_profile = colour_profile(source)
    trimap = _read_trimap(args, image)
    solve_and_write(
        image, trimap, args, keywords, reporter, args.output, args.cutout, args.foreground
    )
    return _common.EXIT_OK


def _lossy_name(path: str) -> bool:
    """Whether ``path``'s extension is a lossy image format (JPEG, WebP)."""
    from pathlib import Path

    return Path(path).suffix.lower() in (".jpg", ".jpeg", ".jpe", ".webp")


def _check_bit_depth(args) -> None:
    """A 16-bit matte needs a format that holds 16-bit gray: refused before the solve."""
    from pathlib import Path

    from vecmatte._output_guard import STDIO, file_format

    if args.bit_depth == 16 and args.output != STDIO:
        kind = file_format(Path(args.output))
        if kind not in ("PNG", "TIFF"):
            raise ValueError(
                f"{args.output}: {kind} cannot hold a 16-bit alpha matte (--bit-depth 16); "
                "write it as .png or .tif, or leave out --bit-depth"
            )


def _read_trimap(args, image):
    """The trimap from TRIMAP, --scribbles or --mask, checked against the image's size."""
    from vecmatte.io import load_gray, load_image
    from vecmatte.trimap import (
        check_known_pixels,
        check_trimap,
        scribbles_to_trimap,
        trimap_from_mask,
    )

    if args.scribbles is not None:
        scribbled = load_image(
            _outputs.source(args.scribbles, args.max_pixels), max_pixels=args.max_pixels
        )
        try:
            return scribbles_to_trimap(image, scribbled)
        except ValueError as error:
            if "in colour" in str(error) and _lossy_name(args.scribbles):
                # JPEG changes every pixel: the strokes cannot be told from the photograph,
                # and the file is then taken for a stroke mask, "in colour".
                raise ValueError(
                    f"{args.scribbles}: the scribbled photograph is a lossy file, whose "
                    "compression changed nearly every pixel, so the strokes cannot be found; "
                    "save it as PNG (or give a gray image with the strokes only)"
                ) from None
            raise ValueError(f"{args.scribbles}: {error}") from None
    path, name = (args.trimap, "trimap") if args.mask is None else (args.mask, "mask")
    array = load_gray(_outputs.source(path, args.max_pixels), name=name, max_pixels=args.max_pixels)
    try:
        check_trimap(array, image.shape, name=name)
        if args.mask is not None:
            return trimap_from_mask(array, band=args.band)
        check_known_pixels(array)
        return array
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def solve_and_write(
    image, trimap, args, keywords, reporter, alpha_path, cutout_path=None, foreground_path=None
) -> None:
    """Solve for alpha, report, write the matte (and the foreground and cutout if asked).

    The library's stage messages (its INFO log records) are shown among the progress lines
    while it solves: a large image's neighbour searches or factorisation take long before
    the first CG iteration.

    Parameters
    ----------
    image, trimap : ndarray
        The validated image and trimap.
    args : argparse.Namespace
        The parsed command line (``band``, ``foreground_method``, ``bit_depth`` ...).
    keywords : dict
        Keywords of :func:`vecmatte.solve_alpha`.
    reporter
        The command's progress reporter.
    alpha_path : str
        Where to write the matte.
    cutout_path, foreground_path : str, optional
        Where to write the cutout and the foreground colours, if wanted.
    """
    import numpy as np

    from vecmatte.alpha import solve_alpha
    from vecmatte.batch._record import record_text, solve_record
    from vecmatte.compose import cutout
    from vecmatte.foreground import DEFAULT_METHOD, estimate_foreground

    _report_memory(image, trimap, keywords, reporter)
    method = getattr(args, "foreground_method", DEFAULT_METHOD)
    if cutout_path is not None or foreground_path is not None:
        # Checked before the solve: a foreground that cannot fit should not waste it.
        # Written afterwards, as 8-bit levels: the alpha, the cutout's RGBA, the colours.
        outputs = 1 + 4 * (cutout_path is not None) + 3 * (foreground_path is not None)
        needed, hint = _common.foreground_memory(image.shape, method, outputs)
        _common.check_step_memory(
            image.shape, f"the foreground (method {method})", needed, reporter, hint=hint
        )
    # How the matte is made, for each PNG (as a batch records it; see vecmatte.batch._record).
    band = args.band if getattr(args, "mask", None) is not None else None
    text = record_text(solve_record(keywords, band=band))
    colours_text = record_text(solve_record(keywords, band=band, foreground=method))
    reporter.stage(
        f"solving for alpha ({image.shape[0]} x {image.shape[1]} pixels, height x width, method "
        f"{keywords['method']}, preconditioner {_common.preconditioner_label(keywords)})"
    )
    with _common.typed_values(args), reporter.library_stages():
        try:
            result = solve_alpha(image, trimap, callback=reporter.iteration, **keywords)
        except ValueError as error:
            # The library's refusal ("image of 1 x 8 pixels ... is smaller than one 3 x 3
            # window") names no file; demo's bundled image has no name to give.
            name = getattr(args, "image", None)
            if name is None:
                raise
            raise ValueError(f"{'<stdin>' if name == '-' else name}: {error}") from None
    reporter.stage(
        f"solved {result.n_unknown} unknown pixels in {result.iterations} CG iterations, "
        f"relative residual {result.residual:.2e}"
    )
    # Everything is computed before the first file is written, so a failure leaves none.
    foreground = None
    if cutout_path is not None or foreground_path is not None:
        reporter.stage(f"estimating the foreground colours (method {method})")
        foreground = estimate_foreground(
            image, result.alpha, method=method, progress=reporter.progress("foreground")
        )

    def outputs():
        # Made one at a time as they are written: the cutout's pixels after the matte's file.
        if getattr(args, "bit_depth", 8) == 16:
            from vecmatte.io import floats_to_uint16

            yield alpha_path, floats_to_uint16(result.alpha), text
        else:
            yield alpha_path, result.alpha, text
        if foreground_path is not None:
            yield foreground_path, foreground, colours_text
        if cutout_path is not None:
            rgba = cutout(image, result.alpha, foreground, dtype=np.uint8)
            yield cutout_path, rgba, colours_text

    # All files or none: an error or Ctrl-C while writing leaves no matte without its cutout.
    # A batch starting in the output folders meanwhile leaves the temporaries alone.
    with _outputs.output_folders_held((alpha_path, foreground_path, cutout_path)):
        _outputs.write_all(outputs(), icc_profile=getattr(args, "icc_profile", None))
    for path in (alpha_path, foreground_path, cutout_path):
        if path is not None:
            reporter.stage(f"wrote {_messages.shown(path)}")


def _report_memory(image, trimap, keywords, reporter) -> None:
    """Say how much memory the solve will need (solve_alpha refuses if it does not fit)."""
    if reporter.quiet:
        return
    try:
        from vecmatte.memory import estimate_solve_memory, size_text
        from vecmatte.trimap import trimap_split

        unknown = int(trimap_split(trimap)[2].sum())
        needed = estimate_solve_memory(image.shape, unknown, **keywords_for_memory(keywords))
    except (TypeError, ImportError, OverflowError):
        return  # no model for these options here: solve_alpha still checks
    reporter.stage(f"the solve needs about {size_text(needed)} of memory (estimate)")


def keywords_for_memory(keywords: dict) -> dict:
    """The solve's keywords that :func:`vecmatte.memory.estimate_solve_memory` takes.

    Parameters
    ----------
    keywords : dict
        Keywords of :func:`vecmatte.solve_alpha`.

    Returns
    -------
    dict
        The same without ``rtol`` and ``maxiter``.
    """
    return {k: v for k, v in keywords.items() if k not in ("rtol", "maxiter")}
