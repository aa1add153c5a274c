"""The HTTP API of ``vecmatte serve``: answers, every bad input, limits, concurrency."""

from __future__ import annotations

import http.client
import io
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

import vecmatte
from vecmatte.alpha import METHODS
from vecmatte.web import HTTPError, Limits, create_app, make_server
from vecmatte.web._limits import Gate, PhotoCache
from vecmatte.web._multipart import MultipartError, parse_multipart

MAX_UPLOAD = 1_000_000
MAX_PIXELS = 200_000


# --- helpers ----------------------------------------------------------------------------------
def png_bytes(array) -> bytes:
    """PNG file bytes of a float [0, 1] array, written with Pillow (not vecmatte's I/O)."""
    array = np.round(np.clip(np.asarray(array), 0, 1) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def multipart(fields: dict, boundary: str = "vecmatteTestBoundary") -> tuple[bytes, str]:
    """A multipart/form-data body: bytes values are files, str values text fields."""
    chunks = []
    for name, value in fields.items():
        if isinstance(value, bytes):
            head = f'Content-Disposition: form-data; name="{name}"; filename="{name}.png"\r\n'
            head += "Content-Type: image/png\r\n"
            data = value
        else:
            head = f'Content-Disposition: form-data; name="{name}"\r\n'
            data = str(value).encode()
        chunks.append(f"--{boundary}\r\n{head}\r\n".encode() + data + b"\r\n")
    body = b"".join(chunks) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def request(port, method, path, body=b"", headers=None, timeout=60):
    """(status, headers, body) of one request over a fresh connection (no proxy)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def post_form(port, path, fields, **kwargs):
    body, content_type = multipart(fields)
    return request(port, "POST", path, body, {"Content-Type": content_type}, **kwargs)


def decode_png(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image)


def expected_alpha_png(image: np.ndarray, trimap: np.ndarray) -> np.ndarray:
    return np.round(vecmatte.estimate_alpha(image, trimap) * 255).astype(np.uint8)


def bomb_png(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` pixels, with almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def inputs():
    scene = vecmatte.make_scene((60, 80), seed=1)
    # What the server decodes: the 8-bit files, read back.
    image = decode_png(png_bytes(scene.image)) / 255.0
    trimap = decode_png(png_bytes(scene.trimap)) / 255.0
    return {
        "scene": scene,
        "image": png_bytes(scene.image),
        "trimap": png_bytes(scene.trimap),
        "mask": png_bytes(scene.alpha > 0.5),
        "expected": expected_alpha_png(image, trimap),
        "decoded_image": image,
    }


@pytest.fixture(scope="module")
def server():
    """An in-process server with small limits, shared by the tests of this module."""
    app = create_app(max_upload_bytes=MAX_UPLOAD, max_pixels=MAX_PIXELS, workers=2, wait_seconds=20)
    httpd = make_server(app, "127.0.0.1", 0, quiet=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_port
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


def assert_json_error(status, headers, body, expected_status, fragment):
    assert status == expected_status, body
    assert headers["Content-Type"] == "application/json"
    message = json.loads(body)["error"]
    assert fragment in message
    assert "Traceback" not in message and "/tmp" not in message
    return message


def assert_still_serving(port, inputs):
    status, headers, body = post_form(
        port, "/api/alpha", {"image": inputs["image"], "trimap": inputs["trimap"]}
    )
    assert status == 200 and headers["Content-Type"] == "image/png"
    np.testing.assert_array_equal(decode_png(body), inputs["expected"])


# --- good requests ----------------------------------------------------------------------------
def test_alpha_equals_estimate_alpha(server, inputs):
    status, headers, body = post_form(
        server, "/api/alpha", {"image": inputs["image"], "trimap": inputs["trimap"]}
    )
    assert status == 200
    assert headers["X-Vecmatte-Method"] == "cf"
    np.testing.assert_array_equal(decode_png(body), inputs["expected"])


def test_alpha_from_a_mask_and_band_with_options(server, inputs):
    status, _, body = post_form(
        server,
        "/api/alpha",
        {"image": inputs["image"], "mask": inputs["mask"], "band": "4", "eps": "1e-5"},
    )
    assert status == 200
    mask = decode_png(inputs["mask"]) / 255.0
    trimap = vecmatte.trimap_from_mask(mask, band=4)
    expected = vecmatte.estimate_alpha(inputs["decoded_image"], trimap, eps=1e-5)
    np.testing.assert_array_equal(decode_png(body), np.round(expected * 255).astype(np.uint8))


def test_alpha_from_scribbles(server, inputs):
    scribbles = np.full((60, 80), 0.5)
    scribbles[25:35, 35:45] = 1.0
    scribbles[:5, :] = 0.0
    status, _, body = post_form(
        server, "/api/alpha", {"image": inputs["image"], "scribbles": png_bytes(scribbles)}
    )
    assert status == 200
    trimap = vecmatte.scribbles_to_trimap(inputs["decoded_image"], scribbles)
    expected = expected_alpha_png(inputs["decoded_image"], trimap)
    np.testing.assert_array_equal(decode_png(body), expected)


def test_every_method_is_offered_and_answers(server, inputs):
    status, _, body = request(server, "GET", "/api/methods")
    document = json.loads(body)
    assert status == 200
    assert [m["name"] for m in document["methods"]] == list(METHODS)
    assert document["default"] in METHODS
    assert document["limits"]["max_pixels"] == MAX_PIXELS
    status, headers, _ = post_form(
        server,
        "/api/alpha",
        {"image": inputs["image"], "trimap": inputs["trimap"], "method": document["default"]},
    )
    assert status == 200 and headers["X-Vecmatte-Method"] == document["default"]


@pytest.mark.parametrize("method", list(METHODS))
def test_each_method_answers_its_own_matte(server, inputs, method):
    fields = {"image": inputs["image"], "trimap": inputs["trimap"], "method": method}
    status, headers, body = post_form(server, "/api/alpha", fields)
    assert status == 200, body
    assert headers["X-Vecmatte-Method"] == method
    trimap = decode_png(inputs["trimap"]) / 255.0
    expected = vecmatte.estimate_alpha(inputs["decoded_image"], trimap, method=method)
    got = decode_png(body).astype(int)
    assert np.abs(got - np.round(expected * 255)).max() <= 1


@pytest.mark.parametrize("preconditioner", ["none", "jacobi", "ichol"])
def test_preconditioner_option_is_passed_as_text(server, inputs, preconditioner):
    fields = {"image": inputs["image"], "trimap": inputs["trimap"]}
    status, _, body = post_form(
        server, "/api/alpha", {**fields, "preconditioner": preconditioner, "rtol": "1e-9"}
    )
    assert status == 200, body
    expected = vecmatte.estimate_alpha(
        inputs["decoded_image"],
        decode_png(inputs["trimap"]) / 255.0,
        preconditioner=preconditioner,
        rtol=1e-9,
    )
    got = decode_png(body).astype(int)
    assert np.abs(got - np.round(expected * 255)).max() <= 1


@pytest.mark.parametrize(
    ("path", "channels", "colours"),
    [("/api/cutout", 4, "ml"), ("/api/foreground", 3, "ml"), ("/api/cutout", 4, "blur_fusion")],
)
def test_cutout_and_foreground_from_an_alpha(server, inputs, path, channels, colours):
    alpha_png = png_bytes(inputs["expected"] / 255.0)
    status, _, body = post_form(
        server, path, {"image": inputs["image"], "alpha": alpha_png, "foreground_method": colours}
    )
    assert status == 200
    output = decode_png(body)
    assert output.shape == (60, 80, channels)
    alpha = inputs["expected"] / 255.0
    foreground = vecmatte.estimate_foreground(inputs["decoded_image"], alpha, method=colours)
    np.testing.assert_array_equal(output[:, :, :3], np.round(foreground * 255).astype(np.uint8))
    if channels == 4:
        np.testing.assert_array_equal(output[:, :, 3], inputs["expected"])


def test_cutout_solves_when_given_a_trimap(server, inputs):
    fields = {"image": inputs["image"], "trimap": inputs["trimap"], "foreground_method": "none"}
    status, _, body = post_form(server, "/api/cutout", fields)
    assert status == 200
    output = decode_png(body)
    np.testing.assert_array_equal(output[:, :, 3], inputs["expected"])
    np.testing.assert_array_equal(output[:, :, :3], decode_png(inputs["image"]))


def test_unknown_foreground_method(server, inputs):
    fields = {"image": inputs["image"], "trimap": inputs["trimap"], "foreground_method": "x"}
    assert_json_error(*post_form(server, "/api/cutout", fields), 422, "blur_fusion")


def test_trimap_from_a_mask(server, inputs):
    status, _, body = post_form(server, "/api/trimap", {"mask": inputs["mask"], "band": "3"})
    assert status == 200
    expected = vecmatte.trimap_from_mask(decode_png(inputs["mask"]) / 255.0, band=3)
    np.testing.assert_array_equal(decode_png(body), np.round(expected * 255).astype(np.uint8))


def test_page_and_static_files(server):
    status, headers, body = request(server, "GET", "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    # No CDN: everything the page loads is its own.
    assert b"http://" not in body and b"https://" not in body
    for name, kind in [("app.js", "text/javascript"), ("style.css", "text/css")]:
        status, headers, body = request(server, "GET", f"/static/{name}")
        assert status == 200 and headers["Content-Type"].startswith(kind)
        assert b"http://" not in body and b"https://" not in body


# --- bad requests: each gets its 4xx, and the server goes on serving -----------------------------
def _truncated(inputs):
    return {"image": inputs["image"][: len(inputs["image"]) // 2], "trimap": inputs["trimap"]}


BAD_FORMS = {
    "truncated image": (_truncated, 422, "truncated"),
    "not an image": (
        lambda i: {"image": b"GIF89a? no, plain text", "trimap": i["trimap"]},
        422,
        "not an image",
    ),
    "empty file": (lambda i: {"image": b"", "trimap": i["trimap"]}, 422, "empty"),
    "sizes differ": (
        lambda i: {"image": i["image"], "trimap": png_bytes(np.full((40, 80), 0.5))},
        422,
        "is 40 x 80 pixels (height x width) but the image is 60 x 80; they must be the same size",
    ),
    "trimap turned by 90 degrees": (
        lambda i: {"image": i["image"], "trimap": png_bytes(np.full((80, 60), 0.5))},
        422,
        "must be the same size (one is turned by 90 degrees",
    ),
    "decompression bomb": (
        lambda i: {"image": bomb_png(40_000, 40_000), "trimap": i["trimap"]},
        413,
        "1,600,000,000 pixels",
    ),
    "too many pixels": (
        lambda i: {"image": png_bytes(np.zeros((500, 500, 3))), "trimap": i["trimap"]},
        413,
        "250,000 pixels",
    ),
    "no image field": (lambda i: {"trimap": i["trimap"]}, 400, "no 'image'"),
    "no trimap": (lambda i: {"image": i["image"]}, 400, "exactly one of"),
    "trimap and mask": (
        lambda i: {"image": i["image"], "trimap": i["trimap"], "mask": i["mask"]},
        400,
        "not trimap and mask",
    ),
    "image as text field": (lambda i: {"image": "photo", "trimap": i["trimap"]}, 400, "file"),
    "colour trimap": (lambda i: {"image": i["image"], "trimap": i["image"]}, 422, "colour"),
    "no foreground": (
        lambda i: {"image": i["image"], "trimap": png_bytes(np.full((60, 80), 0.5))},
        422,
        "no foreground",
    ),
    "unknown method": (
        lambda i: {"image": i["image"], "trimap": i["trimap"], "method": "magic"},
        422,
        "unknown method",
    ),
    "unknown option": (
        lambda i: {"image": i["image"], "trimap": i["trimap"], "colour": "3"},
        422,
        "colour",
    ),
    "bad option value": (
        lambda i: {"image": i["image"], "trimap": i["trimap"], "eps": "-1"},
        422,
        "eps",
    ),
    "callback option": (
        lambda i: {"image": i["image"], "trimap": i["trimap"], "callback": "print"},
        422,
        "callback",
    ),
    "band not a number": (
        lambda i: {"image": i["image"], "mask": i["mask"], "band": "wide"},
        422,
        "band",
    ),
    "band too wide": (
        lambda i: {"image": i["image"], "mask": i["mask"], "band": "10000"},
        422,
        "band must be a whole number of pixels from 1 to 9999, got '10000'",
    ),
}


@pytest.mark.parametrize("case", list(BAD_FORMS))
def test_bad_form_gets_its_4xx_and_the_server_keeps_serving(server, inputs, case):
    make_fields, expected_status, fragment = BAD_FORMS[case]
    status, headers, body = post_form(server, "/api/alpha", make_fields(inputs))
    assert_json_error(status, headers, body, expected_status, fragment)
    assert_still_serving(server, inputs)


BAD_REQUESTS = {
    "empty body": (
        "POST",
        "/api/alpha",
        b"",
        {"Content-Type": "multipart/form-data; boundary=x"},
        400,
        "empty",
    ),
    "wrong content type": (
        "POST",
        "/api/alpha",
        b'{"image": "photo.png"}',
        {"Content-Type": "application/json"},
        415,
        "multipart/form-data",
    ),
    "no boundary": (
        "POST",
        "/api/alpha",
        b"--x\r\n",
        {"Content-Type": "multipart/form-data"},
        400,
        "boundary",
    ),
    "unterminated form": (
        "POST",
        "/api/alpha",
        b'--x\r\nContent-Disposition: form-data; name="image"\r\n\r\nabc',
        {"Content-Type": "multipart/form-data; boundary=x"},
        400,
        "truncated",
    ),
    "oversize body": (
        "POST",
        "/api/alpha",
        b"x" * (MAX_UPLOAD + 1),
        {"Content-Type": "multipart/form-data; boundary=x"},
        413,
        "limit",
    ),
    "server path requested": ("GET", "/static/../app.py", b"", {}, 404, "no such"),
    "absolute path": ("GET", "/static//etc/passwd", b"", {}, 404, "no such"),
    "unknown route": ("GET", "/api/nothing", b"", {}, 404, "no such"),
    "GET on the API": ("GET", "/api/alpha", b"", {}, 405, "POST"),
    "foreign host (DNS rebinding)": (
        "GET",
        "/",
        b"",
        {"Host": "attacker.example:8000"},
        421,
        "attacker.example",
    ),
    "foreign origin": (
        "POST",
        "/api/alpha",
        b"x",
        {"Origin": "http://attacker.example", "Content-Type": "multipart/form-data"},
        403,
        "attacker.example",
    ),
    # What a sandboxed iframe of any site sends (old code: let through, solved).
    "null origin": (
        "POST",
        "/api/alpha",
        b"x",
        {"Origin": "null", "Content-Type": "multipart/form-data"},
        403,
        "'null'",
    ),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_bad_request_gets_its_4xx_and_the_server_keeps_serving(server, inputs, case):
    method, path, body, headers, expected_status, fragment = BAD_REQUESTS[case]
    status, response_headers, response = request(server, method, path, body, headers)
    assert_json_error(status, response_headers, response, expected_status, fragment)
    assert_still_serving(server, inputs)


def test_no_content_length_and_a_short_body(server, inputs):
    # Written on a raw socket: HTTP clients always send Content-Length or chunks.
    for head, expected in [
        (
            b"POST /api/alpha HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: multipart/form-data; boundary=x\r\n\r\n",
            b"411",
        ),
        (
            b"POST /api/alpha HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 500\r\n"
            b"Content-Type: multipart/form-data; boundary=x\r\n\r\n--x\r\n",
            b"400",
        ),
        (b"GET / HTTP/1.0\r\n\r\n", b"400"),  # no Host header at all
    ]:
        with socket.create_connection(("127.0.0.1", server), timeout=30) as connection:
            connection.sendall(head)
            connection.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        assert answer.split(b" ", 2)[1] == expected, answer
        assert b'{"error": ' in answer
    assert_still_serving(server, inputs)


def test_serve_subcommand_options():
    from vecmatte.cli import build_parser

    args = build_parser().parse_args(
        ["serve", "--port", "0", "--workers", "3", "--max-pixels", "1_000", "--allow-host", "a"]
    )
    assert (args.host, args.port, args.workers, args.max_pixels) == ("127.0.0.1", 0, 3, 1000)
    assert args.allow_host == ["a"] and callable(args.run)


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_serve_refuses_a_port_out_of_range(capsys, port):
    # Before: an OverflowError traceback from socket.bind.
    from vecmatte.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--port", port])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.splitlines()[0].startswith("vecmatte: error: argument --port: ")


def test_serve_reports_a_host_it_cannot_bind(capsys):
    from vecmatte.cli import main

    assert main(["serve", "--host", "203.0.113.7", "--port", "8123", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "--host 203.0.113.7: not an address of this machine" in err
    assert "--port" not in err  # the port is not what is wrong


def test_serves_on_ipv6_loopback():
    try:
        httpd = make_server(create_app(), "::1", 0, quiet=True)
    except OSError as error:  # a machine without IPv6
        pytest.skip(f"no IPv6 loopback: {error}")
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        connection = http.client.HTTPConnection("::1", httpd.server_port, timeout=30)
        connection.request("GET", "/api/methods")
        assert connection.getresponse().status == 200
        connection.close()
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_head_request(server):
    status, headers, body = request(server, "HEAD", "/")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0


# --- limits -----------------------------------------------------------------------------------
def call_app(app, fields: dict, path: str = "/api/alpha") -> tuple[str, list, bytes]:
    """POST ``fields`` to the WSGI application directly (no server).

    Returns ``(status line, headers as a list of pairs, body)``.
    """
    from wsgiref.util import setup_testing_defaults

    body, content_type = multipart(fields)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": "localhost:8000",
        "QUERY_STRING": "",
        "SCRIPT_NAME": "",
        "wsgi.input": io.BytesIO(body),
    }
    setup_testing_defaults(environ)
    answer = {}

    def start_response(status, headers):
        answer.update(status=status, headers=headers)

    chunks = app(environ, start_response)
    try:
        content = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    return answer["status"], answer["headers"], content


def test_memory_estimate_over_the_budget_is_413(inputs):
    app = create_app(memory_bytes=1_000_000)
    status, _, body = call_app(app, {"image": inputs["image"], "trimap": inputs["trimap"]})
    assert status.startswith("413")
    assert "memory budget" in json.loads(body)["error"]


@pytest.mark.parametrize(
    ("raised", "said"),
    [
        (ValueError("eps is wrong;\n  give 1e-6"), "eps is wrong; give 1e-6"),
        (ValueError("\nthe hint"), "the hint"),  # its first line was empty
        (TypeError(), "TypeError"),
    ],
)
def test_a_refusal_of_the_library_is_said_whole_in_one_line(inputs, monkeypatch, raised, said):
    # The answer took the message's first line only (the rest dropped, or nothing at all
    # when it began with a line break); it says it as the command line's error line does.
    import vecmatte

    def refuse(*args, **kwargs):
        raise raised

    monkeypatch.setattr(vecmatte, "estimate_alpha", refuse)
    status, _, body = call_app(create_app(), {"image": inputs["image"], "trimap": inputs["trimap"]})
    assert status.startswith("422")
    assert json.loads(body)["error"] == said


def test_the_application_under_wsgiref_validator(inputs):
    # PEP 3333 conformance, checked by the standard library's validator.
    from wsgiref.validate import validator

    app = validator(create_app())
    status, _, body = call_app(app, {"image": inputs["image"], "trimap": inputs["trimap"]})
    assert status.startswith("200")
    np.testing.assert_array_equal(decode_png(body), inputs["expected"])


def test_allowed_hosts_extend_the_local_ones():
    app = create_app(allowed_hosts=["matting.lan"])
    assert {"127.0.0.1", "localhost", "::1", "matting.lan"} <= app.allowed_hosts


def test_gate_waits_then_refuses():
    gate = Gate(Limits(workers=1, queue=1, wait_seconds=0.2), budget=10_000)
    with gate.slot():
        start = time.monotonic()
        with pytest.raises(HTTPError) as refused, gate.slot():
            pass
        assert refused.value.status == 503 and time.monotonic() - start >= 0.2
    with gate.slot():  # the slot is free again
        pass


def test_gate_lets_a_waiting_request_in_when_a_slot_frees():
    gate = Gate(Limits(workers=1, queue=1, wait_seconds=10), budget=10_000)
    entered = threading.Event()
    release = threading.Event()

    def hold():
        with gate.slot():
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    entered.wait(10)
    threading.Timer(0.1, release.set).start()
    with gate.slot():
        pass
    thread.join()


def test_gate_admits_workers_plus_queue():
    gate = Gate(Limits(workers=1, queue=1), budget=10_000)
    with gate.admitted(), gate.admitted():
        with pytest.raises(HTTPError) as refused, gate.admitted():
            pass
        assert refused.value.status == 503


def test_gate_memory_budget():
    # Three quarters of the budget hold the solves, a quarter the bodies (_limits.BODY_SHARE).
    gate = Gate(Limits(workers=4, wait_seconds=0.1), budget=1000)
    assert (gate.body_budget, gate.solve_budget) == (250, 750)
    with pytest.raises(HTTPError) as too_big, gate.memory(751):
        pass
    assert too_big.value.status == 413
    with gate.memory(400) as first:
        first.settle()  # the next request may size its reservation
        with pytest.raises(HTTPError) as busy, gate.memory(400):
            pass
        assert busy.value.status == 503
        with gate.memory(350):  # what is left of the solves' part
            pass
        first.resize(100)  # a reservation shrinks at once, and gives back the rest
        with gate.memory(650):
            pass
    assert gate._reserved == 0


def test_a_request_waits_for_a_slot_then_gets_503(inputs, monkeypatch):
    # One slot, held by a solve that waits for the test: the next request waits
    # wait_seconds, gets 503, and the held one then finishes with its PNG.
    release, entered = threading.Event(), threading.Event()
    solve = vecmatte.estimate_alpha

    def held_solve(*args, **kwargs):
        entered.set()
        assert release.wait(30)
        return solve(*args, **kwargs)

    monkeypatch.setattr(vecmatte, "estimate_alpha", held_solve)
    app = create_app(workers=1, queue=4, wait_seconds=0.3)
    httpd = make_server(app, "127.0.0.1", 0, quiet=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    fields = {"image": inputs["image"], "trimap": inputs["trimap"]}
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            held = pool.submit(post_form, httpd.server_port, "/api/alpha", fields)
            assert entered.wait(30)
            status, headers, body = post_form(httpd.server_port, "/api/alpha", fields)
            assert_json_error(status, headers, body, 503, "every solver slot stayed taken")
            release.set()
            status, _, body = held.result(timeout=60)
        assert status == 200
        np.testing.assert_array_equal(decode_png(body), inputs["expected"])
    finally:
        release.set()
        httpd.shutdown()
        httpd.server_close()


def test_photo_cache_keeps_the_latest_within_its_bytes():
    cache = PhotoCache(max_bytes=3 * 800)
    arrays = {key: np.full(100, float(k)) for k, key in enumerate([b"a", b"b", b"c", b"d"])}
    for key in (b"a", b"b", b"c"):
        cache.put(key, arrays[key])
    assert cache.entry(b"a")[0] is arrays[b"a"]  # now the most recent
    cache.put(b"d", arrays[b"d"])  # evicts the least recent: b
    assert cache.entry(b"b") is None
    assert all(cache.entry(key)[0] is arrays[key] for key in (b"a", b"c", b"d"))
    cache.put(b"e", np.zeros(1000))  # larger than the whole cache: not kept
    assert cache.entry(b"e") is None and cache.entry(b"a") is not None


def test_cached_photo_is_a_copy(server, inputs):
    # Two requests with the same photograph: the second is decoded from the cache, and a
    # method that wrote into its input could not change what the third one gets.
    for _ in range(3):
        assert_still_serving(server, inputs)


@pytest.mark.parametrize(
    "limits",
    [
        {"workers": 0},
        {"max_pixels": -1},
        {"queue": -1},
        {"wait_seconds": -1},
        {"memory_bytes": 0},
        {"max_upload_bytes": 1.5},
    ],
)
def test_limits_are_checked(limits):
    with pytest.raises(ValueError, match=next(iter(limits))):
        Limits(**limits)


# --- multipart parser -------------------------------------------------------------------------
def test_multipart_round_trip():
    body, content_type = multipart({"image": b"\x89PNG\r\n--x\r\n", "band": "7"})
    parts = parse_multipart(body, content_type)
    assert parts["image"].data == b"\x89PNG\r\n--x\r\n"
    assert parts["image"].filename == "image.png"
    assert parts["band"].data == b"7" and parts["band"].filename is None


@given(
    st.dictionaries(
        st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True),
        st.binary(max_size=200) | st.text(max_size=50),
        max_size=6,
    )
)
def test_multipart_round_trip_of_any_fields(fields):
    # Any bytes (CR, LF, dashes, bytes of the boundary) come back as they were sent.
    body, content_type = multipart(fields, boundary="b0undary-7f3a")
    parts = parse_multipart(body, content_type) if fields else {}
    assert set(parts) == set(fields)
    for name, value in fields.items():
        expected = value if isinstance(value, bytes) else value.encode()
        assert parts[name].data == expected
        assert (parts[name].filename is not None) == isinstance(value, bytes)


@pytest.mark.parametrize(
    ("body", "content_type", "fragment"),
    [
        (b"", "application/json", "expected multipart"),
        (b"--x--\r\n", "multipart/form-data", "boundary"),
        (b"nothing here", "multipart/form-data; boundary=x", "does not contain"),
        (
            b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1",
            "multipart/form-data; boundary=x",
            "truncated",
        ),
        (b"--x\r\nno separator\r\n--x--", "multipart/form-data; boundary=x", "separator"),
        (
            b"--x\r\nContent-Type: text/plain\r\n\r\n1\r\n--x--",
            "multipart/form-data; boundary=x",
            "Content-Disposition",
        ),
        (
            b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n"
            b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\n2\r\n--x--",
            "multipart/form-data; boundary=x",
            "more than once",
        ),
        (
            b"".join(
                b"--x\r\nContent-Disposition: form-data; name=f%d\r\n\r\n1\r\n" % k
                for k in range(40)
            )
            + b"--x--",
            "multipart/form-data; boundary=x",
            "too many",
        ),
    ],
)
def test_multipart_errors(body, content_type, fragment):
    with pytest.raises(MultipartError, match=fragment):
        parse_multipart(body, content_type)


def _reference_parser(body: bytes, content_type: str) -> dict:
    """RFC 2046 5.1.1 written with regular expressions over the body: a reference."""
    import re

    from vecmatte.web._multipart import MAX_PARTS, Part, _boundary, parse_header_value

    def part(raw: bytes) -> Part:
        head, separator, data = raw.partition(b"\r\n\r\n")
        if not separator or len(head) > 8192:
            raise MultipartError("a form part has no header/body separator")
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, colon, value = line.partition(":")
            if not colon:
                raise MultipartError(f"malformed header line in a form part: {line[:60]!r}")
            headers[key.strip().lower()] = value.strip()
        disposition, params = parse_header_value(headers.get("content-disposition", ""))
        if disposition != "form-data" or not params.get("name"):
            raise MultipartError("a form part has no Content-Disposition: form-data; name=...")
        return Part(params["name"], params.get("filename"), headers.get("content-type"), data)

    boundary = re.escape(b"--" + _boundary(content_type))
    # The shortest preamble (none, or up to a CRLF) before the first boundary.
    first = re.match(rb"(?s)(?:.*?\r\n)??" + boundary, body)
    if first is None:
        raise MultipartError("the body does not contain the multipart boundary")
    encapsulation = re.compile(rb"[ \t]*\r\n((?s:.*?))\r\n" + boundary)
    parts, at = {}, first.end()
    while body[at : at + 2] != b"--":
        found = encapsulation.match(body, at)
        if found is None:
            rest = body[at:]
            if re.match(rb"[ \t]*\r\n", rest) or re.fullmatch(rb"[ \t]*\r?|-", rest):
                raise MultipartError("the multipart body is truncated (no closing boundary)")
            raise MultipartError("malformed multipart boundary line")
        if len(parts) == MAX_PARTS:
            raise MultipartError(f"too many form parts (more than {MAX_PARTS})")
        parsed = part(found.group(1))
        if parsed.name in parts:
            raise MultipartError(f"form field {parsed.name!r} is given more than once")
        parts[parsed.name] = parsed
        at = found.end()
    return parts


_TOKENS = [b"--x", b"\r\n", b"--", b"\r\n\r\n", b"Content-Disposition: form-data; name="]
_TOKENS += [b"a", b"b", b"1", b"--x--", b"\r\n--x\r\n", b"-", b"pre", b" ", b"\t", b"\r"]


def _parsed(body: bytes):
    content_type = "multipart/form-data; boundary=x"
    try:
        expected = _reference_parser(body, content_type)
    except MultipartError as error:
        with pytest.raises(MultipartError) as raised:
            parse_multipart(bytearray(body), content_type)
        return str(error), str(raised.value)
    return expected, parse_multipart(bytearray(body), content_type)


@given(st.lists(st.sampled_from(_TOKENS), max_size=40), st.integers(0, 40))
def test_multipart_cut_by_offsets_parses_as_the_grammar_says(tokens, count):
    # Bodies of boundary-like pieces (padding, preambles, epilogues, cut-off lines), and
    # well-formed ones of up to 40 parts (MAX_PARTS 32): the same parts as the regular
    # expressions of RFC 2046 give, or the same error.
    fields = "".join(
        f"--x\r\nContent-Disposition: form-data; name=f{k}\r\n\r\n{k}\r\n" for k in range(count)
    )
    for body in (b"".join(tokens), fields.encode() + b"--x--\r\n"):
        expected, got = _parsed(body)
        assert got == expected


def test_a_form_is_read_with_one_copy_of_its_body(tmp_path):
    # read_form joined the chunks received and the parser split the body and sliced each
    # piece: six copies of it at once (a 32 MiB upload peaked at 192 MiB); now the body is
    # read into one buffer and only the parts' data are copied out of it (65 MiB).
    import io
    import tracemalloc

    from vecmatte.web._fields import body_length, read_form

    data = bytes(range(256)) * (4 * 2**20 // 256)  # 4 MiB
    body, content_type = multipart({"image": data, "trimap": b"t" * 100})
    environ = {
        "wsgi.input": io.BufferedReader(io.BytesIO(body)),
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": content_type,
    }
    tracemalloc.start()
    try:
        parts = read_form(environ, body_length(environ, Limits()))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert parts["image"].data == data and parts["trimap"].data == b"t" * 100
    assert peak < 2.25 * len(body), peak / len(body)


# --- load: 50 concurrent requests on a server of its own --------------------------------------
def _vm_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc for the memory")
def test_fifty_concurrent_requests(tmp_path):
    workers, queue = 2, 8
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vecmatte.cli",
            "serve",
            "--port",
            "0",
            "--quiet",
            "--workers",
            str(workers),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        port = int(line.rsplit(":", 1)[1].split("/")[0])
        scenes = [vecmatte.make_scene((150, 200), seed=seed) for seed in range(5)]
        forms = [{"image": png_bytes(s.image), "trimap": png_bytes(s.trimap)} for s in scenes]
        expected = [
            expected_alpha_png(decode_png(f["image"]) / 255.0, decode_png(f["trimap"]) / 255.0)
            for f in forms
        ]
        # Warm the server up (imports, first solve), then note its resident memory.
        assert post_form(port, "/api/alpha", forms[0])[0] == 200
        baseline_kib = _vm_kib(process.pid, "VmRSS")

        barrier = threading.Barrier(50)

        def one(k: int):
            barrier.wait(30)
            status, headers, body = post_form(port, "/api/alpha", forms[k % 5], timeout=120)
            return k, status, headers, body

        with ThreadPoolExecutor(max_workers=50) as pool:
            answers = list(pool.map(one, range(50)))

        statuses = [status for _, status, _, _ in answers]
        assert set(statuses) <= {200, 503}, statuses
        assert statuses.count(200) >= workers
        for k, status, headers, body in answers:
            if status == 200:
                assert headers["Content-Type"] == "image/png"
                # Another process, the same code and inputs: equal up to one 8-bit level.
                difference = np.abs(decode_png(body).astype(int) - expected[k % 5])
                assert difference.max() <= 1
            else:
                assert "busy" in json.loads(body)["error"]
                assert headers.get("Retry-After") == "2"
        # Memory stays bounded: what the admitted requests may hold (their bodies, parsed
        # parts and decoded images) and the running solves' estimates, over the warm server.
        peak_kib = _vm_kib(process.pid, "VmHWM")
        body_bytes = max(len(multipart(f)[0]) for f in forms)
        per_request = 4 * body_bytes + 110 * 150 * 200
        solve = vecmatte.estimate_solve_memory((150, 200), 150 * 200)
        bound = baseline_kib * 1024 + (workers + queue) * per_request + workers * solve
        assert peak_kib * 1024 < bound, (peak_kib, baseline_kib, bound // 1024)
        # and it still serves
        assert post_form(port, "/api/alpha", forms[1])[0] == 200
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stdout.close()
        process.stderr.close()
