"""``python -m vecmatte.web``: the same as ``vecmatte serve``."""

from __future__ import annotations

import argparse
import sys

from vecmatte.web.server import add_arguments, run


def main(argv: list[str] | None = None) -> int:
    """Parse the options of ``vecmatte serve`` and serve until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m vecmatte.web", description="Serve the matting page and API."
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
