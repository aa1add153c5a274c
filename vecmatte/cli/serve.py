"""``vecmatte serve``: the page to paint trimaps and watch the matte, and the HTTP API."""

from __future__ import annotations

import argparse

NAME = "serve"


def register(commands) -> None:
    """Add the parser of ``vecmatte serve`` to the subcommands ``commands``.

    Parameters
    ----------
    commands : argparse._SubParsersAction
        What ``ArgumentParser.add_subparsers`` returned.
    """
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
    """Run ``vecmatte serve``; return the exit code (errors raise, ``main`` reports them).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    int
        The exit code.
    """
    from vecmatte.web.server import run as serve

    _check_host(args.host)
    return serve(args)


# What to suggest instead of a host that cannot be listened on.
_HOSTS_HINT = "give an address of this machine: 127.0.0.1 (this machine only) or 0.0.0.0 (all)"


def _check_host(host: str) -> None:
    """Refuse a ``--host`` that does not resolve, or is not an address of this machine.

    The server reports any failure to listen as a port problem ("choose another --port"),
    which misleads when the host is wrong. A bind to port 0 (any free port, released at
    once) tells the two apart before the server starts; a port in use is still the
    server's to report.
    """
    import errno
    import socket

    # The server's own choice of family: IPv6 for an address with a colon.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        socket.getaddrinfo(host, None, family, socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise ValueError(
            f"--host {host}: cannot resolve this name ({error.strerror}); {_HOSTS_HINT}"
        ) from None
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, 0))
        except OSError as error:
            if error.errno == errno.EADDRNOTAVAIL:
                raise ValueError(
                    f"--host {host}: not an address of this machine, cannot listen there "
                    f"({error.strerror}); {_HOSTS_HINT}"
                ) from None
