"""``vecmatte serve``: the page to paint trimaps and watch the matte, and the HTTP API."""

from __future__ import annotations

import argparse

NAME = "serve"


def register(commands) -> None:
    from vecmatte.web.server import add_arguments

    parser = commands.add_parser(
        NAME,
        help="serve a page to paint a trimap and see the matte, and an HTTP API",
        description="Serve the matting page (open http://127.0.0.1:8000/ in a browser) and "
        "the API (POST /api/alpha, /api/cutout, /api/foreground, /api/trimap) until Ctrl-C. "
        "Standard library server; the application is vecmatte.web.create_app (PEP 3333).",
    )
    add_arguments(parser)
    parser.set_defaults(run=run, usage_error=parser.error)


def run(args: argparse.Namespace) -> int:
    from vecmatte.web.server import run as serve

    return serve(args)
