"""Matting in the browser: the WSGI application and server of ``vecmatte serve``.

:func:`create_app` makes the PEP 3333 application (the painting page and the HTTP API), which
any WSGI server can run; :func:`serve` runs it on the standard library's threading server.
Only the standard library, NumPy and the library itself are used: no new dependency.
"""

from __future__ import annotations

from vecmatte.web._limits import HTTPError, Limits
from vecmatte.web.app import MattingApp, create_app
from vecmatte.web.server import make_server, serve

__all__ = ["HTTPError", "Limits", "MattingApp", "create_app", "make_server", "serve"]
