"""Every line serve writes about a request escapes the request's control characters.

A decoded %0A in a path forged a second log line, and an ESC sequence recoloured the
terminal, through the three lines written outside vecmatte.web.server (a client that left,
a body cut short, an internal error): they now go through request_label as the server's own
lines do.
"""

from __future__ import annotations

import io
from wsgiref.util import setup_testing_defaults

import pytest

from vecmatte.web._clients import client_left
from vecmatte.web._fields import read_form
from vecmatte.web._limits import HTTPError
from vecmatte.web.app import create_app

FORGED = "/api/alpha\nvecmatte serve: 10.0.0.1 GET /forged: \x1b[31mred"


def _environ(errors: io.StringIO, body: io.RawIOBase | None = None) -> dict:
    environ = {"PATH_INFO": FORGED, "REQUEST_METHOD": "POST", "wsgi.errors": errors}
    if body is not None:
        environ["wsgi.input"] = body
        environ["CONTENT_TYPE"] = "multipart/form-data; boundary=x"
    setup_testing_defaults(environ)
    return environ


def _assert_one_escaped_line(text: str) -> None:
    first = text.splitlines()[0]
    assert "\x1b" not in text
    assert "\\x0a" in first and "\\x1b" in first
    assert "/forged" in first  # the forged text stays on the request's own line


def test_the_line_of_a_client_that_left_escapes_its_path():
    errors = io.StringIO()
    client_left(_environ(errors), "after 3 iterations")
    assert len(errors.getvalue().splitlines()) == 1
    _assert_one_escaped_line(errors.getvalue())


def test_the_line_of_a_body_cut_short_escapes_its_path():
    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def read1(self, size: int = -1) -> bytes:
            raise ConnectionResetError(104, "Connection reset by peer")

    errors = io.StringIO()
    with pytest.raises(HTTPError):
        read_form(_environ(errors, Broken()), 100)
    assert len(errors.getvalue().splitlines()) == 1
    _assert_one_escaped_line(errors.getvalue())


def test_the_internal_error_line_escapes_its_path(monkeypatch):
    app = create_app()

    def broken(environ):
        raise RuntimeError("a bug")

    monkeypatch.setattr(app, "_dispatch", broken)
    errors = io.StringIO()
    environ = _environ(errors)
    environ["HTTP_HOST"] = "127.0.0.1:8000"
    environ["REQUEST_METHOD"] = "GET"
    app(environ, lambda status, headers, exc_info=None: None)
    assert "internal error" in errors.getvalue().splitlines()[0]
    _assert_one_escaped_line(errors.getvalue())
