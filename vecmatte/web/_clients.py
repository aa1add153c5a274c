"""A client that left: its solve stopped between two iterations, said once in the log.

:mod:`vecmatte.web.server` tells the application how to ask whether the client is still
connected (``environ["vecmatte.client_gone"]``); another WSGI server gives no way to ask.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from vecmatte.web._limits import HTTPError

__all__ = ["LOG_ESCAPES", "client_left", "request_label", "solve_watcher"]

# Control characters a request brings into the log (an ESC sequence recolouring the terminal,
# a CR or a decoded %0A forging a line) written as escapes, as the standard library's
# log_message (which vecmatte.web.server's replaces) writes them.
LOG_ESCAPES = {code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0))}


def request_label(environ: dict) -> str:
    """``"METHOD PATH"`` of a request for the server's log, control characters as escapes."""
    method, path = environ.get("REQUEST_METHOD", "-"), environ.get("PATH_INFO", "-")
    return f"{method} {path}".translate(LOG_ESCAPES)


def client_left(environ: dict, when: str) -> HTTPError:
    """The error that ends a request whose client left, said once in the server's log."""
    connection = environ.setdefault("vecmatte.connection", {})
    if not connection.get("reported"):
        connection["reported"] = True  # vecmatte.web.server says nothing more
        print(
            f"vecmatte serve: {environ.get('REMOTE_ADDR', '-')} {request_label(environ)}: "
            f"the client went away; its solve was stopped {when} "
            "and its answer was not sent",
            file=environ.get("wsgi.errors", sys.stderr),
        )
    # Read only by a client that half-closed its side of the connection.
    return HTTPError(
        400,
        f"the connection was closed by the client; the solve was stopped {when}: keep it "
        "open until the answer comes",
    )


def solve_watcher(
    environ: dict, every: float, steps: str = "iterations"
) -> Callable[[int, float], None] | None:
    """The solve's ``callback`` (or the foreground's ``progress``), which raises
    :func:`client_left`'s error once the client has gone, asking at most once every
    ``every`` seconds; ``steps`` names what its first argument counts. None when the server
    gives no way to ask (only :mod:`vecmatte.web.server` does)."""
    gone = environ.get("vecmatte.client_gone")
    if gone is None:
        return None
    checked = [time.monotonic()]

    def stop_if_gone(done: int, _: float) -> None:
        # A solve ran on for a client that had left (the page aborts a stroke's request
        # when the next stroke comes), holding its slot. Asked at most 4 times a second.
        now = time.monotonic()
        if now - checked[0] >= every:
            checked[0] = now
            if gone():
                raise client_left(environ, f"after {done} {steps}")

    return stop_if_gone
