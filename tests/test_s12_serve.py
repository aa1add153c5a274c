"""``vecmatte serve`` (session 12): input a client sends beyond what the server reads, Ctrl-C
after the address line, and Host names ending in a dot."""

from __future__ import annotations

import http.client
import io
import socket
import time
from wsgiref.util import setup_testing_defaults

import numpy as np
import pytest
from test_web import multipart, png_bytes
from test_web_clients import _rest, _serving

from vecmatte.web import create_app

# Well over what the sockets' buffers hold: a client still sends it when the answer comes.
_MUCH = 20_000_000


@pytest.fixture(scope="module")
def port():
    with _serving(create_app(workers=1)) as port:
        yield port


def _exchange(port, method, path, body, headers=None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


# --- (a) input the server does not read ---------------------------------------------------------
@pytest.mark.parametrize("path", ["/", "/api/methods", "/static/app.js"])
def test_a_get_with_a_body_gets_its_answer(port, path):
    # The answer was written without reading the body, and the connection closed with the
    # body unread: the reset broke the client's upload (BrokenPipeError), never its answer.
    status, body = _exchange(port, "GET", path, b"x" * _MUCH)
    assert status == 200 and body


def test_bytes_after_a_post_body_do_not_lose_its_answer(port):
    mask = np.zeros((24, 32))
    mask[6:18, 8:24] = 1
    form, content_type = multipart({"mask": png_bytes(mask), "band": "2"})
    # Content-Length says the form; more bytes follow (a client's framing error, pipelining).
    headers = {"Content-Type": content_type, "Content-Length": str(len(form))}
    status, body = _exchange(port, "POST", "/api/trimap", form + b"y" * _MUCH, headers)
    assert status == 200 and body.startswith(b"\x89PNG")


def test_a_get_announcing_a_body_it_never_sends_is_answered_at_once(port):
    # The answer is not held back for a body that never comes (nor the connection reset).
    with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
        start = time.monotonic()
        client.sendall(
            b"GET /api/methods HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n"
        )
        head = client.recv(12)
        assert head == b"HTTP/1.0 200"
        assert time.monotonic() - start < 10  # the idle timeout is 30 s
        _rest(client)  # the server's end of the answer comes (half-close), then its close


# --- (c) Ctrl-C once the address is said -------------------------------------------------------
class _InterruptedOnFlush(io.StringIO):
    """Standard output on which Ctrl-C comes as the address line is flushed."""

    def flush(self):
        if "Ctrl-C stops" in self.getvalue():
            raise KeyboardInterrupt


def test_ctrl_c_right_after_the_address_line_stops_the_server_as_ctrl_c_does(monkeypatch, capsys):
    # Between the address line and the serving, Ctrl-C was an interruption of the command:
    # exit 130 and "vecmatte: interrupted", where a moment later it is a clean stop (0).
    from vecmatte.cli import main

    stdout = _InterruptedOnFlush()
    monkeypatch.setattr("sys.stdout", stdout)
    assert main(["serve", "--port", "0", "--quiet"]) == 0
    assert "Ctrl-C stops" in stdout.getvalue()
    assert capsys.readouterr().err == ""


# --- (b), (e) the Host header ------------------------------------------------------------------
def _status(app, host: str) -> tuple[str, bytes]:
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/api/methods"}
    setup_testing_defaults(environ)
    environ["HTTP_HOST"] = host
    answer = {}
    body = b"".join(app(environ, lambda status, _: answer.update(status=status)))
    return answer["status"], body


@pytest.mark.parametrize(
    ("allowed", "host"),
    [
        ((), "localhost."),
        ((), "LocalHost.:8000"),
        ((), "127.0.0.1.:8000"),
        (("matting.lan",), "matting.lan.:8000"),
        (("matting.lan.",), "matting.lan:8000"),
    ],
)
def test_a_host_name_ending_in_a_dot_is_the_same_host(allowed, host):
    # A fully qualified name ("localhost.", as some resolvers and tools write it) was refused
    # (421) as another host.
    status, _ = _status(create_app(workers=1, allowed_hosts=allowed), host)
    assert status.startswith("200")


@pytest.mark.parametrize("host", ["localhost..", "other.", "matting.lan.evil"])
def test_other_hosts_stay_refused_and_the_refusal_names_the_option(host):
    status, body = _status(create_app(workers=1, allowed_hosts=["matting.lan"]), host)
    assert status.startswith("421")
    if host != "localhost..":  # no host name: the hint says NAME
        assert f"--allow-host {host}" in body.decode()


def test_a_page_of_the_dotted_name_may_post_to_it():
    # The Origin of a page opened at http://localhost.:8000 names the same host as its Host.
    from vecmatte.web._hosts import allowed_host_names, check_host

    environ = {
        "REQUEST_METHOD": "POST",
        "HTTP_HOST": "localhost.:8000",
        "HTTP_ORIGIN": "http://localhost.:8000",
        "wsgi.url_scheme": "http",
    }
    check_host(environ, allowed_host_names([]))  # old code: 421
