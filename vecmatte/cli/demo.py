"""``vecmatte demo``: the bundled example image and trimap, solved and written."""

from __future__ import annotations

import argparse
from pathlib import Path

from vecmatte.cli import _common, _messages, _outputs

NAME = "demo"


def register(commands) -> None:
    """Add the parser of ``vecmatte demo`` to the subcommands ``commands``.

    Parameters
    ----------
    commands : argparse._SubParsersAction
        What ``ArgumentParser.add_subparsers`` returned.
    """
    parser = commands.add_parser(
        NAME,
        help="run on the bundled example image and trimap",
        description="Compute the alpha matte and an RGBA cutout of the bundled example (a "
        "synthetic composite with its trimap) and write demo_alpha.png and demo_cutout.png "
        "to --output-dir, with any solver option of `vecmatte alpha`: a check that "
        "vecmatte works here, and a quick way to try a method.",
    )
    parser.add_argument(
        "--output-dir",
        default="vecmatte-demo",
        help="directory for demo_alpha.png and demo_cutout.png (default vecmatte-demo, in the "
        "current folder; never inside the installed package)",
    )
    _common.solver_options(parser)
    parser.set_defaults(run=run, usage_error=parser.error)


def run(args: argparse.Namespace) -> int:
    """Run ``vecmatte demo``; return the exit code (errors raise, ``main`` reports them).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    int
        The exit code.
    """
    from vecmatte._output_guard import resolved
    from vecmatte.cli.alpha import solve_and_write
    from vecmatte.io import load_image, load_trimap

    _common.refuse_dash(
        args,
        "--output-dir",
        args.output_dir,
        "the demo writes two files into a folder, not to standard output",
    )
    keywords = _common.solve_keywords(args)
    package = Path(__file__).resolve().parents[1]
    data = package / "data"
    output_dir = Path(args.output_dir)
    # The installed package is no place for results (an upgrade or uninstall deletes them,
    # and a file named as a module would shadow it): --output-dir vecmatte/data, or the
    # default vecmatte-demo run from inside the package, wrote there.
    if package in (real := resolved(output_dir)).parents or real == package:
        raise ValueError(
            f"{output_dir}: is inside the vecmatte package ({package}); the demo writes only "
            "outside it: give --output-dir a folder of your own"
        )
    alpha_path, cutout_path = output_dir / "demo_alpha.png", output_dir / "demo_cutout.png"
    image_path, trimap_path = data / "demo_image.png", data / "demo_trimap.png"
    if output_dir.exists() and not output_dir.is_dir():
        raise NotADirectoryError(f"{output_dir}: --output-dir is a file, not a directory")
    if output_dir.is_dir():
        _outputs.guard(
            {"demo alpha": alpha_path, "demo cutout": cutout_path},
            {"demo image": image_path, "demo trimap": trimap_path},
        )
    reporter = _messages.Reporter(args.quiet)
    image = load_image(image_path)
    trimap = load_trimap(trimap_path)
    reporter.stage(f"demo: bundled synthetic composite {image_path}")
    # The folders this run makes (the output folder and any missing parents), deepest first.
    made = _outputs.new_folders(output_dir)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        _outputs.remove_empty(made)
        raise type(error)(
            f"{output_dir}: cannot create the output folder ({error.strerror or error}); "
            "choose another one with --output-dir"
        ) from None
    try:
        solve_and_write(image, trimap, args, keywords, reporter, alpha_path, cutout_path)
    except BaseException:
        _outputs.remove_empty(made)  # a failed or interrupted demo leaves no empty folder behind
        raise
    if not args.quiet:  # --quiet: "print nothing but errors and warnings"
        print(_messages.printable(f"wrote {alpha_path} and {cutout_path}"))
    return _common.EXIT_OK
