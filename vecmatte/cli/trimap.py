"""``vecmatte trimap``: a trimap from a rough mask (white foreground, black background)."""

from __future__ import annotations

import argparse

from vecmatte.cli import _common, _messages, _outputs

NAME = "trimap"


def register(commands) -> None:
    """Add the parser of ``vecmatte trimap`` to the subcommands ``commands``.

    Parameters
    ----------
    commands : argparse._SubParsersAction
        What ``ArgumentParser.add_subparsers`` returned.
    """
    parser = commands.add_parser(
        NAME,
        help="turn a rough mask into a trimap with an unknown band along its edge",
        description="Make a trimap from MASK (white = foreground, e.g. from a segmentation "
        "model): pixels farther than --band from the mask's edge stay foreground (white) or "
        "background (black), the band between is unknown (gray, 128). '-' reads standard "
        "input or writes PNG to standard output.",
    )
    parser.add_argument("mask", help="the mask (gray, > 50%% is foreground), or - for stdin")
    parser.add_argument(
        "-o", "--output", required=True, help="where to write the trimap (- for stdout)"
    )
    parser.add_argument(
        "--band",
        type=_common.positive_int,
        default=10,
        metavar="PIXELS",
        help="unknown pixels on each side of the mask's edge, at least 1 (default 10)",
    )
    _common.read_options(parser)
    _common.quiet_option(parser)
    parser.set_defaults(run=run, usage_error=parser.error)


def run(args: argparse.Namespace) -> int:
    """Run ``vecmatte trimap``; return the exit code (errors raise, ``main`` reports them).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    int
        The exit code.
    """
    import numpy as np

    from vecmatte.io import load_gray
    from vecmatte.trimap import trimap_from_mask

    _outputs.guard({"trimap (-o)": args.output}, {"mask": args.mask})
    _messages.note_lossy(args.output, "trimap")
    reporter = _messages.Reporter(args.quiet)
    mask = load_gray(
        _outputs.source(args.mask, args.max_pixels), name="mask", max_pixels=args.max_pixels
    )
    try:
        trimap = trimap_from_mask(mask, band=args.band)
    except ValueError as error:
        raise ValueError(f"{args.mask}: {error}") from None
    # 0, 128 and 255: the unknown gray that every trimap reader (and ours) takes as unknown.
    pixels = np.select([trimap == 1.0, trimap == 0.0], [255, 0], 128).astype(np.uint8)
    _outputs.write(args.output, pixels)
    unknown = np.count_nonzero(pixels == 128)
    reporter.stage(
        f"wrote {_messages.shown(args.output)}: {100 * unknown / pixels.size:.1f}% of the pixels "
        f"unknown (band {args.band})"
    )
    return _common.EXIT_OK
