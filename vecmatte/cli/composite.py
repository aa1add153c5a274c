"""``vecmatte composite``: the foreground of an image over a new background."""

from __future__ import annotations

import argparse

from vecmatte.cli import _common, _messages, _outputs

NAME = "composite"

# Bytes a pixel of compose.composite beyond its inputs: alpha F, (1 - alpha), (1 - alpha) B
# and their float64 sum (8 + 3 x 24), a background fitted to the image's size (24), and the
# 8-bit file (3): an over-estimate.
_COMPOSITE_BYTES = 8 + 3 * 24 + 24 + 3
# Bytes a pixel of a background image of another size beyond the loaded one, when resized
# (fit resize or cover): skimage's anti-aliasing filter output, float64 RGB. A 24 MP
# photograph under a 1 MP image took 632 MB beyond the inputs (tracemalloc; 600 MB with
# fit resize) while the estimate said 107 MB; with this term it says 683 MB.
_RESIZED_BACKGROUND_BYTES = 24


def register(commands) -> None:
    """Add the parser of ``vecmatte composite`` to the subcommands ``commands``.

    Parameters
    ----------
    commands : argparse._SubParsersAction
        What ``ArgumentParser.add_subparsers`` returned.
    """
    from vecmatte.compose import FITS

    parser = commands.add_parser(
        NAME,
        help="place the foreground of an image over a new background",
        description="Estimate the foreground colours of IMAGE behind ALPHA and composite them "
        "over BACKGROUND (an image) or a --color. '-' as an input reads standard input, "
        "as the output writes PNG to standard output.",
    )
    parser.add_argument("image", help="the photograph")
    parser.add_argument("alpha", help="its alpha matte (for example from `vecmatte alpha`)")
    parser.add_argument("background", nargs="?", help="the new background image")
    parser.add_argument("--color", help='a plain background colour instead: "#00ff00", "green" ...')
    parser.add_argument(
        "-o", "--output", required=True, help="where to write the composite (- for stdout)"
    )
    parser.add_argument(
        "--fit",
        default=None,  # None: not given (refused with --color, where it means nothing)
        choices=FITS,
        help="a background of another size is stretched (resize), scaled and centre-cropped "
        "keeping its aspect ratio (cover), or centre-cropped (crop) (default resize)",
    )
    parser.add_argument(
        "--foreground",
        metavar="F.png",
        help="use these foreground colours (from `vecmatte alpha --foreground`) "
        "instead of estimating them",
    )
    _common.foreground_method_option(parser)
    _common.read_options(parser)
    _common.quiet_option(parser)
    parser.set_defaults(run=run, usage_error=parser.error, late_positionals=("background",))


def _same_size(path: str, what: str, shape, image_path: str, image_shape) -> None:
    if tuple(shape[:2]) != tuple(image_shape[:2]):
        raise ValueError(
            f"{path}: {what} has shape {tuple(shape[:2])} but the image {image_path} has shape "
            f"{tuple(image_shape[:2])}; they must have the same height and width"
        )


def _check_crop(args, shape, image_shape) -> None:
    """``--fit crop`` of a background smaller than the image: refused before any work.

    The library refuses it only when compositing, after the foreground estimate, in its
    own words (``fit='cover'``) and without the file's name.
    """
    (bh, bw), (h, w) = shape[:2], image_shape[:2]
    if args.fit == "crop" and (bh < h or bw < w):
        raise ValueError(
            f"{args.background}: the background is {bh} x {bw} pixels (height x width), smaller "
            f"than the image's {h} x {w}; it cannot be cropped to fit: use --fit cover or "
            "--fit resize"
        )


def run(args: argparse.Namespace) -> int:
    """Run ``vecmatte composite``; return the exit code (errors raise, ``main`` reports them).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    int
        The exit code.
    """
    from vecmatte.compose import composite, composite_profile, parse_color
    from vecmatte.foreground import estimate_foreground
    from vecmatte.io import colour_profile, load_gray, load_image

    if (args.background is None) == (args.color is None):
        args.usage_error("give either BACKGROUND or --color COLOR (exactly one of them)")
    if args.fit is not None and args.color is not None:
        args.usage_error("--fit applies to a BACKGROUND image, not to --color; leave it out")
    args.fit = args.fit or "resize"
    _common.check_foreground_method(
        args,
        args.foreground is None,
        "only when the foreground is estimated, not with --foreground",
    )
    # Read the colour first: a typo is a usage error, said before any file is read.
    with _common.usage_errors():
        new = parse_color(args.color) if args.color is not None else None
    _outputs.guard(
        {"composite (-o)": args.output},
        {
            "image": args.image,
            "alpha": args.alpha,
            "background": args.background,
            "--foreground": args.foreground,
        },
    )
    reporter = _messages.Reporter(args.quiet)
    source = _outputs.source(args.image, args.max_pixels)
    image = load_image(source, max_pixels=args.max_pixels)
    # The composite carries the photograph's colour space (a Display P3 photo's composite
    # showed paler than its cutout from vecmatte alpha), unless the background's differs.
    profile = colour_profile(source)
    alpha = load_gray(
        _outputs.source(args.alpha, args.max_pixels), name="alpha", max_pixels=args.max_pixels
    )
    _same_size(args.alpha, "alpha", alpha.shape, args.image, image.shape)
    if new is None:
        source = _outputs.source(args.background, args.max_pixels)
        new = load_image(source, max_pixels=args.max_pixels)
        _check_crop(args, new.shape, image.shape)
        profile = composite_profile(profile, colour_profile(source))
    if args.foreground is not None:
        foreground = load_image(
            _outputs.source(args.foreground, args.max_pixels), max_pixels=args.max_pixels
        )
        _same_size(args.foreground, "foreground", foreground.shape, args.image, image.shape)
        needed, what, hint = _COMPOSITE_BYTES * alpha.size, "the composite", ""
    else:
        needed, hint = _common.foreground_memory(
            image.shape, args.foreground_method, _COMPOSITE_BYTES
        )
        what = f"the foreground (method {args.foreground_method}) with the composite"
    if new.ndim == 3 and new.shape[:2] != image.shape[:2] and args.fit != "crop":
        needed += _RESIZED_BACKGROUND_BYTES * new.shape[0] * new.shape[1]
        hint = f"give a background smaller than {new.shape[0]} x {new.shape[1]} pixels, {hint}"
    _common.check_step_memory(image.shape, what, needed, reporter, hint=hint)
    if args.foreground is None:
        reporter.stage(f"estimating the foreground colours (method {args.foreground_method})")
        foreground = estimate_foreground(
            image,
            alpha,
            method=args.foreground_method,
            progress=reporter.progress("foreground"),
        )
    _outputs.write(args.output, composite(foreground, alpha, new, fit=args.fit), profile)
    reporter.stage(f"wrote {_messages.shown(args.output)}")
    return _common.EXIT_OK
