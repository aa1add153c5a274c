"""``vecmatte serve`` (session 11): request lines with a full URL, a negative Content-Length,
names that are no host, and the hint for a proxy that rewrites Host."""

from __future__ import annotations

import io
import json
import socket

import pytest
from test_web import multipart, png_bytes
from test_web_clients import _rest, _serving
from test_web_http import _raw

import vecmatte
from vecmatte.cli import main
from vecmatte.web import create_app


@pytest.fixture(scope="module")
def scene():
    return vecmatte.make_scene((30, 40), seed=11)


@pytest.fixture(scope="module")
def fields(scene):
    return {"image": png_bytes(scene.image), "trimap": png_bytes(scene.trimap)}


def _open_raw(port: int, request: bytes) -> bytes:
    """The answer to ``request``, the connection kept open (a half-close is a client gone)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
        client.sendall(request)
        return _rest(client)


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def _error(answer: bytes) -> str:
    return json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]


def _post(app, fields: dict, **headers) -> tuple[str, bytes, str]:
    """(status, body, log) of a POST to /api/alpha of the application, CGI-style headers."""
    from wsgiref.util import setup_testing_defaults

    body, content_type = multipart(fields)
    log = io.StringIO()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/alpha",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": "127.0.0.1:8000",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": log,
        **headers,
    }
    setup_testing_defaults(environ)
    answer = {}
    content = b"".join(app(environ, lambda status, _: answer.update(status=status)))
    return answer["status"], content, log.getvalue()


# --- 1. a request line with a full URL (absolute form, RFC 9112 3.2.2) ---------------------------
@pytest.fixture(scope="module")
def port():
    with _serving(create_app(workers=1, allowed_hosts=["matting.lan"])) as number:
        yield number


@pytest.mark.parametrize(
    ("target", "host"),
    [
        ("http://127.0.0.1:{port}/api/methods", "127.0.0.1:{port}"),
        ("http://127.0.0.1/api/methods", "127.0.0.1"),
        ("HTTP://localhost:{port}/api/methods?x=1", "localhost"),
        ("https://matting.lan/api/methods", "matting.lan"),
        # The request line's host wins over Host's (RFC 9112 3.2.2), both ways.
        ("http://127.0.0.1:{port}/api/methods", "evil.example"),
    ],
)
def test_a_request_line_with_a_full_url_is_answered(port, target, host):
    request = f"GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n".format(port=port)
    answer = _raw(port, request.encode())
    assert _status(answer) == 200, answer[:300]  # old code: 404 "no such page"
    assert b'"methods"' in answer


def test_a_full_url_without_a_path_is_the_page(port):
    answer = _raw(port, f"GET http://127.0.0.1:{port} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert _status(answer) == 200 and b"<html" in answer.lower()  # old code: 404


def test_the_host_of_a_full_url_is_checked_as_host_is(port):
    # Host names an allowed host, the request line another: the request line's is the one.
    request = b"GET http://evil.example/api/methods HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    answer = _raw(port, request)
    assert _status(answer) == 421, answer[:300]  # old code: 404
    assert "'evil.example'" in _error(answer)


@pytest.mark.parametrize(
    "target",
    [
        "ftp://127.0.0.1/api/methods",
        "http://user:secret@127.0.0.1/api/methods",
        "http:///api/methods",
        "http://[::1/api/methods",  # urlsplit's ValueError was a traceback and no answer
        "http://[::1]x/api/methods",
        "http://127.0.0.1,evil/api/methods",
    ],
)
def test_a_full_url_that_names_no_http_host_is_refused(port, target):
    answer = _raw(port, f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    assert _status(answer) == 400, answer[:300]  # old code: 404
    assert _error(answer).startswith("the request line's target is not an http URL of a host")


def test_an_http_1_1_request_with_a_full_url_still_needs_a_host_header(port):
    # RFC 9112 3.2: a server MUST answer 400 to an HTTP/1.1 request without Host.
    answer = _raw(port, b"GET http://127.0.0.1/api/methods HTTP/1.1\r\n\r\n")
    assert _status(answer) == 400 and "no Host header" in _error(answer)
    answer = _raw(port, b"GET http://127.0.0.1/api/methods HTTP/1.0\r\n\r\n")
    assert _status(answer) == 200  # HTTP/1.0 has no Host: the URL's is the host


def test_a_post_with_a_full_url_is_solved(port, fields):
    body, content_type = multipart(fields)
    head = (
        f"POST http://127.0.0.1:{port}/api/alpha HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Origin: http://127.0.0.1:{port}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    answer = _open_raw(port, head.encode() + body)
    assert _status(answer) == 200, answer[:300]  # old code: 404
    assert b"image/png" in answer.split(b"\r\n\r\n", 1)[0]
    # Its query string is read as one (and refused on a POST) as with a path.
    head = head.replace("/api/alpha", "/api/alpha?method=knn", 1)
    answer = _raw(port, head.encode() + body)
    assert _status(answer) == 400 and "'method=knn'" in _error(answer)


# --- 2. a negative Content-Length --------------------------------------------------------------
@pytest.mark.parametrize("text", ["-1", "-0", "-65"])
def test_a_negative_content_length_is_called_negative(fields, text):
    status, content, _ = _post(create_app(workers=1), fields, CONTENT_LENGTH=text)
    assert status.startswith("400")
    assert json.loads(content)["error"] == (  # old code: "Content-Length is not a number"
        f"Content-Length is negative: {text!r}; it is the body's size in bytes, digits 0-9 only"
    )


def test_a_negative_content_length_on_the_wire_is_called_negative(port):
    answer = _raw(
        port,
        b"POST /api/alpha HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; "
        b"boundary=x\r\nContent-Length: -1\r\n\r\n",
    )
    assert _status(answer) == 400 and _error(answer).startswith("Content-Length is negative")


# --- 3. names that are no host -----------------------------------------------------------------
@pytest.mark.parametrize("name", [".", "..", "a..b", ".lan", "1.2.3", "256.1.1.1", "a" * 64])
def test_a_name_no_host_has_is_a_usage_error(name, capsys, monkeypatch):
    from vecmatte.web import server as web_server

    def served(*args, **kwargs):  # the old code got this far, and served for ever
        raise AssertionError("the server was started")

    monkeypatch.setattr(web_server, "serve", served)
    with pytest.raises(SystemExit) as stopped:
        main(["serve", "--allow-host", name, "--port", "0", "--quiet"])
    assert stopped.value.code == 2  # old code: accepted, and never matched
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith(f"vecmatte: error: argument --allow-host: not a host name: {name!r}")
    assert len(lines) == 2
    with pytest.raises(ValueError, match="not a host name"):
        create_app(allowed_hosts=[name])


def test_an_international_name_is_refused_with_the_spelling_browsers_send():
    # A browser sends xn--bcher-kva.de in Host: the name as typed could never match.
    with pytest.raises(ValueError) as refused:
        create_app(allowed_hosts=["bücher.de"])
    assert str(refused.value) == (
        "not a host name: 'bücher.de'; browsers send it as 'xn--bcher-kva.de': give that"
    )
    create_app(allowed_hosts=["xn--bcher-kva.de"])


@pytest.mark.parametrize(
    "name", ["matting.lan", "matting.lan.", "my_box", "a-b", "10.0.0.1", "0.0.0.0", "::", "a" * 63]
)
def test_host_names_are_still_accepted(name):
    from vecmatte.web._hosts import check_host_name

    assert check_host_name(name) == name


# --- 4. behind a proxy that rewrites Host, without --allow-host ---------------------------------
def test_a_post_refused_for_its_origin_names_the_allow_host_to_give(fields):
    # nginx's default proxy_pass sends Host: 127.0.0.1:8000; the page is on the proxy's
    # name. The refusal said only "not allowed", neither to the page nor in the log.
    status, content, log = _post(
        create_app(workers=1), fields, HTTP_ORIGIN="https://matting.example.com"
    )
    assert status.startswith("403")  # refused still: the check is not weakened
    hint = (
        "if that page is this server's, behind a proxy that rewrites Host, start the server "
        "with --allow-host matting.example.com"
    )
    assert json.loads(content)["error"].endswith(f"may post; {hint}")  # old code: no hint
    assert log.splitlines() == [
        "vecmatte serve: 127.0.0.1 POST /api/alpha: refused (403) a post from a page of "
        f"'https://matting.example.com'; {hint}"
    ]
    # Given as the hint says, the same post is answered.
    app = create_app(workers=1, allowed_hosts=["matting.example.com"])
    status, content, log = _post(app, fields, HTTP_ORIGIN="https://matting.example.com")
    assert status.startswith("200") and not log


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        ("127.0.0.1:8000", "http://127.0.0.1:3000"),  # another app here: no option helps
        ("127.0.0.1:8000", "http://localhost:8000"),
        ("127.0.0.1:8000", "null"),
        ("127.0.0.1:8000", "ftp://matting.example.com"),
        ("127.0.0.1:8000", "https://bad..name"),
        # A Host of a name was kept (or set) by the proxy: a page on another name is not its.
        ("matting.lan", "https://other.example"),
    ],
)
def test_no_allow_host_hint_where_it_would_not_help(fields, host, origin):
    app = create_app(workers=1, allowed_hosts=["matting.lan"])
    status, content, log = _post(app, fields, HTTP_HOST=host, HTTP_ORIGIN=origin)
    assert status.startswith("403")
    assert "--allow-host" not in json.loads(content)["error"] and not log


@pytest.mark.parametrize("host", ["localhost:8000", "[::1]:8000", "192.168.1.5"])
def test_the_hint_comes_for_any_address_a_proxy_sends_as_host(fields, host):
    app = create_app(workers=1, allowed_hosts=["192.168.1.5"])
    status, content, log = _post(app, fields, HTTP_HOST=host, HTTP_ORIGIN="http://m.example")
    assert status.startswith("403") and "--allow-host m.example" in json.loads(content)["error"]
    assert "--allow-host m.example" in log


@pytest.mark.parametrize(
    ("host", "option"),
    [
        ("matting.example.com", "matting.example.com"),
        ("10.0.0.7:8000", "10.0.0.7"),
        ("a..b", "NAME"),
    ],
)
def test_a_host_not_served_names_the_allow_host_to_give(fields, host, option):
    # A proxy that keeps Host (nginx "proxy_set_header Host $host"): the refusal said
    # "--allow-host NAME", not which name.
    status, content, _ = _post(create_app(workers=1), fields, HTTP_HOST=host)
    assert status.startswith("421")
    assert json.loads(content)["error"].endswith(
        f"(to serve under it: vecmatte serve --allow-host {option})"
    )
