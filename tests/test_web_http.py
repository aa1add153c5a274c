"""``vecmatte serve`` and what HTTP allows a client to send: the headers, the query string."""

from __future__ import annotations

import io
import json
import socket

import pytest
from test_web import multipart, png_bytes
from test_web_clients import _rest

import vecmatte
from vecmatte.web import create_app


@pytest.fixture(scope="module")
def scene():
    return vecmatte.make_scene((30, 40), seed=5)


@pytest.fixture(scope="module")
def fields(scene):
    return {"image": png_bytes(scene.image), "trimap": png_bytes(scene.trimap)}


def _environ(body: bytes, content_type: str, **extra) -> dict:
    from wsgiref.util import setup_testing_defaults

    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/alpha",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": "localhost",
        "wsgi.input": io.BytesIO(body),
        **extra,
    }
    setup_testing_defaults(environ)
    return environ


def _answer(app, environ) -> tuple[str, bytes]:
    answer = {}
    content = b"".join(app(environ, lambda status, headers: answer.update(status=status)))
    return answer["status"], content


def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
        client.sendall(request)
        client.shutdown(socket.SHUT_WR)
        return _rest(client)


@pytest.mark.parametrize("path", ["/api/alpha", "/api/cutout", "/api/foreground", "/api/trimap"])
def test_a_query_string_on_the_api_is_refused_not_ignored(fields, path):
    # curl -F image=@a.png -F trimap=@t.png 'localhost:8000/api/alpha?method=knn' was
    # answered with the closed-form matte (the query string was never looked at).
    body, content_type = multipart(fields)
    app = create_app(workers=1)
    status, content = _answer(
        app, _environ(body, content_type, PATH_INFO=path, QUERY_STRING="method=knn")
    )
    assert status.startswith("400"), content  # old code: 200
    message = json.loads(content)["error"]
    assert "'method=knn'" in message and "form field" in message
    # the page and its files take a query string as ever (a cache-busting ?v=2)
    for page in ("/", "/static/app.js", "/api/methods"):
        environ = _environ(b"", "", REQUEST_METHOD="GET", PATH_INFO=page, QUERY_STRING="v=2")
        assert _answer(app, environ)[0].startswith("200")
