"""What clients of ``vecmatte serve`` run into: connections that break, warnings on a matte."""

from __future__ import annotations

import io
import socket
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import pytest
from PIL import Image
from test_web import call_app, multipart, png_bytes

import vecmatte
from vecmatte.web import create_app, make_server


def _warnings(headers) -> list[str]:
    return [value for name, value in headers if name == "X-Vecmatte-Warning"]


@contextmanager
def _serving(app):
    """The port of a server running ``app`` on a thread, shut down after the block."""
    server = make_server(app, "127.0.0.1", 0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture(scope="module")
def scene():
    return vecmatte.make_scene((40, 60), seed=3)


def test_a_client_that_resets_mid_upload_is_one_line_in_the_log(scene, capsys):
    # read_form caught only the idle timeout: a connection reset by the client (a closed
    # tab, a dropped network) reached the application's catch-all, which logged "internal
    # error" and a 20-line traceback of ConnectionResetError for a server that is fine.
    app = create_app(workers=1)
    with _serving(app) as port:
        client = socket.create_connection(("127.0.0.1", port), timeout=30)
        client.sendall(
            b"POST /api/alpha HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: multipart/form-data; boundary=xx\r\n"
            b"Content-Length: 1000000\r\n\r\n--xx\r\n" + b"a" * 50_000
        )
        time.sleep(0.3)  # the server is reading the body
        # SO_LINGER 0: close() resets the connection (RST) instead of ending it.
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()
        deadline = time.monotonic() + 30
        while app._gate._admitted and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not app._gate._admitted  # the request gave back its place
        time.sleep(0.1)
        log = capsys.readouterr().err
        assert "Traceback" not in log and "internal error" not in log
        (line,) = log.splitlines()
        assert line.startswith("vecmatte serve: 127.0.0.1 POST /api/alpha: the connection broke")
        assert "1,000,000 bytes" in line and "reset" in line
        # and the server goes on serving
        status, _, body = call_app(
            app, {"image": png_bytes(scene.image), "trimap": png_bytes(scene.trimap)}
        )
        assert status.startswith("200"), body


def test_a_matte_that_did_not_converge_says_so_to_the_client(scene):
    # The library's ConvergenceWarning went only to the server's log (and only the first
    # time: Python shows a warning once per place); the page's user got a poor matte
    # without a word. Each answer now carries its own note, however many run at once.
    app = create_app(workers=2)
    stopped = {
        "image": png_bytes(scene.image),
        "trimap": png_bytes(scene.trimap),
        "preconditioner": "jacobi",
        "maxiter": "1",
    }
    fine = {"image": png_bytes(scene.image), "trimap": png_bytes(scene.trimap)}
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda fields: call_app(app, fields), [stopped, fine, stopped]))
    for (status, headers, _), fields in zip(answers, [stopped, fine, stopped], strict=True):
        assert status.startswith("200")
        notes = _warnings(headers)
        if fields is fine:
            assert notes == []
        else:
            (note,) = notes
            assert note.startswith("conjugate gradient stopped after 1 iterations")
            assert "not accurate" in note
    # the same request through the cutout endpoint says it too
    status, headers, _ = call_app(app, {**stopped, "foreground_method": "none"}, "/api/cutout")
    assert status.startswith("200") and len(_warnings(headers)) == 1


def test_a_trimap_with_no_unknown_pixels_says_so_to_the_client(scene):
    app = create_app(workers=1)
    hard = np.where(scene.alpha > 0.5, 1.0, 0.0)
    for _ in range(2):  # every time, not only the first
        status, headers, body = call_app(
            app, {"image": png_bytes(scene.image), "trimap": png_bytes(hard)}
        )
        assert status.startswith("200")
        (note,) = _warnings(headers)
        assert note.startswith("trimap has no unknown pixels; the alpha matte is 1 on its")
        assert "is it a mask?" in note
        np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(body))), hard * 255)


def test_an_upload_whose_alpha_channel_is_ignored_says_so_to_the_client(scene):
    app = create_app(workers=1)
    rgba = png_bytes(np.dstack([scene.image, scene.alpha]))
    for path in ("/api/alpha", "/api/trimap"):
        status, headers, _ = call_app(app, {"image": rgba, "trimap": png_bytes(scene.trimap)}, path)
        assert status.startswith("200")
        (note,) = _warnings(headers)
        assert note.startswith("image (image.png): the image has an alpha channel")


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/no\nsuch"),
        ("GET", "/static/a\r\nb.js"),
        ("POST", "/\u2028x"),
        ("GET", "/api/alpha\x85"),
    ],
)
def test_every_error_message_is_one_line(method, path):
    # wsgiref decodes %0A in a path into PATH_INFO, and the 404 message quoted it as it was:
    # a message of two lines. Control characters are now written as escapes.
    import json
    from wsgiref.util import setup_testing_defaults

    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "HTTP_HOST": "localhost"}
    setup_testing_defaults(environ)
    answer = {}
    body = b"".join(create_app(workers=1)(environ, lambda status, _: answer.update(s=status)))
    assert answer["s"].startswith("404")
    (line,) = json.loads(body)["error"].splitlines()
    assert repr(path.split("/")[-1])[1:-1] in line


@pytest.fixture
def served():
    app = create_app(workers=1, max_upload_bytes=1_000_000)
    with _serving(app) as port:
        yield port


def _head(port: int, body_length: int, content_type: str) -> socket.socket:
    client = socket.create_connection(("127.0.0.1", port), timeout=5)
    client.sendall(
        f"POST /api/alpha HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {body_length}\r\nExpect: 100-continue\r\n\r\n".encode()
    )
    return client


def _rest(client: socket.socket) -> bytes:
    chunks = []
    while chunk := client.recv(1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_client_that_expects_100_continue_is_asked_for_its_body(served, scene):
    # curl sends 'Expect: 100-continue' with bodies over 1 MB and waits up to a second for
    # the answer before sending the body; the server never gave it (the standard library
    # answers it only as an HTTP/1.1 server), so each such upload waited that second.
    body, content_type = multipart(
        {"image": png_bytes(scene.image), "trimap": png_bytes(scene.trimap)}
    )
    with _head(served, len(body), content_type) as client:
        assert client.recv(64) == b"HTTP/1.1 100 Continue\r\n\r\n"  # old code: timed out
        client.sendall(body)
        answer = _rest(client)
    assert answer.startswith(b"HTTP/1.0 200 OK")


def test_a_body_over_the_limit_is_refused_before_it_is_sent(served):
    # Refused by its Content-Length before the body is read: no "100 Continue", so the
    # client never sends the 2 MB, and the 413 comes at once.
    with _head(served, 2_000_000, "multipart/form-data; boundary=xx") as client:
        answer = _rest(client)
    assert answer.startswith(b"HTTP/1.0 413") and b"100 Continue" not in answer


def test_a_body_that_trickles_in_gives_back_its_place(monkeypatch):
    # A client sending a byte every few seconds (each within the 30 s idle timeout) held its
    # place among the admitted requests for as long as it liked; workers + queue of them
    # and every other request was answered 503 "busy". A body now has to come at an average
    # rate after a grace period (made small here).
    import vecmatte.web._fields as fields

    monkeypatch.setattr(fields, "BODY_GRACE_SECONDS", 0.5, raising=False)
    monkeypatch.setattr(fields, "MIN_BODY_BYTES_PER_SECOND", 100, raising=False)
    app = create_app(workers=1, queue=0)
    with _serving(app) as port:
        client = socket.create_connection(("127.0.0.1", port), timeout=30)
        client.sendall(
            b"POST /api/alpha HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: multipart/form-data; boundary=xx\r\nContent-Length: 200\r\n\r\n"
        )
        start = time.monotonic()
        client.settimeout(0.2)
        answer = b""
        while not answer and time.monotonic() - start < 20:
            client.sendall(b"x")  # 5 bytes a second: the whole body would take 40 s
            try:
                answer = client.recv(1 << 16)
            except TimeoutError:
                pass
        client.settimeout(10)
        answer += _rest(client)
        client.close()
        assert answer.startswith(b"HTTP/1.0 408"), answer
        assert b"came too slowly" in answer
        assert time.monotonic() - start < 10
        assert not app._gate._admitted


@pytest.mark.parametrize("text", ["6_5", "+65", "\u0666\u0665", "0x41"])
def test_a_content_length_of_other_characters_than_digits_is_refused(text):
    # int() reads "6_5" as 65, "+65" as 65 and Arabic-Indic digits as 65: vecmatte serve took
    # as the body's length what HTTP (1*DIGIT) and a proxy in front of it do not.
    import io
    from wsgiref.util import setup_testing_defaults

    from vecmatte.web import create_app

    body = b'--XX\r\nContent-Disposition: form-data; name="a"\r\n\r\nhello\r\n--XX--\r\n'
    assert len(body) == 65
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/alpha",
        "CONTENT_TYPE": "multipart/form-data; boundary=XX",
        "CONTENT_LENGTH": text,
        "wsgi.input": io.BytesIO(body),
    }
    setup_testing_defaults(environ)
    answer = {}
    content = b"".join(create_app()(environ, lambda status, headers: answer.update(s=status)))
    assert answer["s"].startswith("400")
    assert b"Content-Length is not a number" in content


def _log_lines(capsys, fragment: str, timeout: float = 30) -> list[str]:
    """The server's log lines holding ``fragment``, once there is one (or ``timeout``)."""
    deadline, lines = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        lines += capsys.readouterr().err.splitlines()
        if any(fragment in line for line in lines):
            time.sleep(0.2)  # and anything logged after it
            lines += capsys.readouterr().err.splitlines()
            break
        time.sleep(0.05)
    return lines


@contextmanager
def _logging_server(app, monkeypatch, send_buffer: int | None = None):
    from vecmatte.web import server as web_server

    if send_buffer is not None:
        # A small send buffer: an answer of a few hundred kB fills it when nobody reads.
        setup = web_server._Handler.setup

        def small_buffer_setup(handler):
            handler.request.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
            setup(handler)

        monkeypatch.setattr(web_server._Handler, "setup", small_buffer_setup)
    with _serving(app) as port:
        yield port


def test_a_client_that_stops_reading_its_answer_is_one_line_in_the_log(capsys, monkeypatch):
    # The answer's write timed out (the connection's idle timeout) and the standard
    # library's handler logged a 12-line traceback of TimeoutError for a client that merely
    # stopped reading (a download put to sleep).
    from vecmatte.web import server as web_server

    monkeypatch.setattr(web_server._Handler, "timeout", 0.5)
    rng = np.random.default_rng(0)
    fields = {
        "image": png_bytes(rng.random((300, 400, 3))),  # noise: a PNG answer of ~470 kB
        "alpha": png_bytes(rng.random((300, 400))),
        "foreground_method": "none",
    }
    body, content_type = multipart(fields)
    with _logging_server(create_app(workers=1), monkeypatch, send_buffer=4096) as port:
        client = socket.socket()
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.connect(("127.0.0.1", port))
        client.sendall(
            f"POST /api/cutout HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        try:
            lines = _log_lines(capsys, "stopped reading")
        finally:
            client.close()
    assert not any("Traceback" in line for line in lines), lines  # old code: a traceback
    (line,) = lines
    assert line.startswith("vecmatte serve: 127.0.0.1 POST /api/cutout: the client stopped")
    assert "its answer was not sent" in line


def test_a_client_gone_before_its_answer_is_one_line_in_the_log(scene, capsys, monkeypatch):
    # A client that went away (a closed tab, a reset) while its matte was computed: the
    # write failed and the standard library dropped the request without a line in the log.
    release, entered = threading.Event(), threading.Event()
    solve = vecmatte.estimate_alpha

    def held_solve(*args, **kwargs):
        entered.set()
        assert release.wait(30)
        return solve(*args, **kwargs)

    monkeypatch.setattr(vecmatte, "estimate_alpha", held_solve)
    body, content_type = multipart(
        {"image": png_bytes(scene.image), "trimap": png_bytes(scene.trimap)}
    )
    app = create_app(workers=1)
    with _logging_server(app, monkeypatch) as port:
        client = socket.create_connection(("127.0.0.1", port), timeout=30)
        client.sendall(
            f"POST /api/alpha HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        assert entered.wait(30)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()  # a reset
        time.sleep(0.3)
        release.set()
        lines = _log_lines(capsys, "went away")
        assert not app._gate._admitted
    (line,) = lines  # old code: no line at all
    assert line.startswith("vecmatte serve: 127.0.0.1 POST /api/alpha: the client went away")
    assert "its answer was not sent" in line
