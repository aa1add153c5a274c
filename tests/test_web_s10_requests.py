"""``vecmatte serve`` (session 10): origins with ports, malformed header lines, allowed host
names, and a foreground whose client left."""

from __future__ import annotations

import io
import json
import socket
import threading

import pytest
from test_web import multipart, png_bytes
from test_web_clients import _rest, _serving
from test_web_http import _raw

import vecmatte
from vecmatte.cli import main
from vecmatte.web import create_app


@pytest.fixture(scope="module")
def scene():
    return vecmatte.make_scene((30, 40), seed=7)


@pytest.fixture(scope="module")
def fields(scene):
    return {"image": png_bytes(scene.image), "trimap": png_bytes(scene.trimap)}


def _open_raw(port: int, request: bytes) -> bytes:
    """The answer to ``request``, the connection kept open (a half-close is a client gone)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
        client.sendall(request)
        return _rest(client)


def _post(app, fields: dict, *, path: str = "/api/alpha", **headers) -> tuple[str, bytes, str]:
    """(status, body, log) of a POST to the application itself, with CGI-style headers."""
    from wsgiref.util import setup_testing_defaults

    body, content_type = multipart(fields)
    log = io.StringIO()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": "127.0.0.1:8000",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": log,
        **headers,
    }
    setup_testing_defaults(environ)
    answer = {}
    content = b"".join(app(environ, lambda status, _: answer.update(status=status)))
    return answer["status"], content, log.getvalue()


# --- 1. an Origin is the server's own only with its scheme, host and port ----------------------
@pytest.mark.parametrize(
    ("host", "origin"),
    [
        # Another web application on this machine (a dev server, a notebook): the old code
        # compared the host only, so its pages could make this server solve.
        ("127.0.0.1:8000", "http://127.0.0.1:3000"),
        ("localhost:8000", "http://localhost:8888"),
        ("127.0.0.1:8000", "http://127.0.0.1"),  # port 80
        ("[::1]:8000", "http://[::1]:9000"),
        # (The scheme alone refuses nothing: an https page of the Host's port, or of a Host
        # without a port behind a TLS proxy, posts; see tests/test_web_s10_proxy.py.)
        # Allowed names, but not the page the request is sent to.
        ("127.0.0.1:8000", "http://localhost:8000"),
        ("127.0.0.1:8000", "http://127.0.0.1:8000/page"),  # no browser sends a path
        ("127.0.0.1:8000", "http://127.0.0.1:99999"),
    ],
)
def test_a_post_from_a_page_of_another_port_or_scheme_is_refused(fields, host, origin):
    status, content, log = _post(create_app(workers=1), fields, HTTP_HOST=host, HTTP_ORIGIN=origin)
    assert status.startswith("403"), content  # old code: 200 (only the host was compared)
    (line,) = json.loads(content)["error"].splitlines()
    assert line.startswith(f"requests from pages of {origin!r} are not allowed")
    assert f"only this server's own page (http://{host}) may post" in line
    assert log == ""


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        ("127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("LOCALHOST:8000", "http://localhost:8000"),  # names are case-insensitive
        ("[::1]:8000", "http://[::1]:8000"),
        ("localhost", "http://localhost"),
        ("localhost:80", "http://localhost"),  # the default port, given or not
        ("matting.lan:8000", "http://matting.lan:8000"),  # an --allow-host name
        ("127.0.0.1:8000", "http://127.0.0.1:8000/"),  # as some non-browser clients send it
    ],
)
def test_a_post_from_the_servers_own_page_is_answered(fields, host, origin):
    app = create_app(workers=1, allowed_hosts=["matting.lan"])
    status, content, _ = _post(app, fields, HTTP_HOST=host, HTTP_ORIGIN=origin)
    assert status.startswith("200"), content


def test_behind_an_https_server_the_origin_is_https(fields):
    # A WSGI server that terminates TLS (or trusts a proxy's X-Forwarded-Proto) says so in
    # wsgi.url_scheme: the page's origin is then https.
    app = create_app(workers=1, allowed_hosts=["matting.lan"])
    extra = {"HTTP_HOST": "matting.lan", "wsgi.url_scheme": "https"}
    status, _, _ = _post(app, fields, HTTP_ORIGIN="https://matting.lan", **extra)
    assert status.startswith("200")


def test_the_served_page_posts_with_its_own_origin(scene, fields):
    # As a browser sends it, over a real connection: Origin is the address the page came from.
    with _serving(create_app(workers=1)) as port:
        body, content_type = multipart(fields)
        head = (
            f"POST /api/alpha HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Origin: {{origin}}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        own = _open_raw(port, head.format(origin=f"http://127.0.0.1:{port}").encode() + body)
        other = _open_raw(port, head.format(origin=f"http://127.0.0.1:{port + 1}").encode() + body)
    assert own.startswith(b"HTTP/1.0 200"), own[:300]
    assert other.startswith(b"HTTP/1.0 403"), other[:300]


# --- 2. header lines the standard library read leniently ---------------------------------------
@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        # The rest of the headers became the "body" of the parsed message: this
        # Content-Length was dropped, where a proxy in front would have read it.
        (b"NoColon\r\nContent-Length: 5", "a header line is not 'Name: value' on one line"),
        (b"X-A : 1", "a header line is not 'Name: value' on one line: 'X-A : 1'"),
        (b": 1", "a header line is not 'Name: value'"),
        (b"X-A: 1\r\n folded", "a header line continues the one before (obs-fold): ' folded'"),
        (b"X-A: 1\r\n\tfolded", "(obs-fold)"),
        (b"X-A: 1\x002", "a header line has a NUL byte"),
        (b"X\x00A: 1", "a header line has a NUL byte"),
        (b"X-A: a\rX-B: b", "a header line is not 'Name: value' on one line"),  # a bare CR
    ],
)
def test_a_malformed_header_line_is_refused_400_in_one_line(line, fragment):
    with _serving(create_app(workers=1)) as port:
        answer = _raw(
            port, b"GET /api/methods HTTP/1.1\r\nHost: 127.0.0.1\r\n" + line + b"\r\n\r\n"
        )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 400 "), answer[:300]  # old code: 200
    assert b"Content-Type: application/json" in head
    (message,) = json.loads(body)["error"].splitlines()
    assert fragment in message and len(message) < 160


def test_a_nul_byte_in_the_request_line_is_refused():
    with _serving(create_app(workers=1)) as port:
        answer = _raw(port, b"GET /static/app.js\x00.png HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.0 400 "), answer[:300]  # old code: 404
    assert json.loads(answer.partition(b"\r\n\r\n")[2]) == {
        "error": "the request line has a NUL byte"
    }


@pytest.mark.parametrize(
    "headers",
    [
        b"Host: 127.0.0.1\r\n",
        b"Host: 127.0.0.1\r\nX-Empty:\r\nX-Tab:\tv\t\r\nX-Latin: caf\xe9\r\n",
        b"Host: 127.0.0.1\nAccept: */*\n",  # bare LF line ends (RFC 9112 allows them)
    ],
)
def test_well_formed_header_lines_are_answered(headers):
    with _serving(create_app(workers=1)) as port:
        answer = _raw(port, b"GET /api/methods HTTP/1.1\r\n" + headers + b"\r\n")
    assert answer.startswith(b"HTTP/1.0 200 OK"), answer[:300]


# --- 4. --allow-host names a Host header can carry ---------------------------------------------
@pytest.mark.parametrize("name", [",", "", " ", "a,b", "matting.lan:8000", "[::1]:80", "a b"])
def test_an_allowed_host_that_can_never_match_is_a_usage_error(name, capsys, monkeypatch):
    from vecmatte.web import server as web_server

    def served(*args, **kwargs):  # the old code got this far, and served for ever
        raise AssertionError("the server was started")

    monkeypatch.setattr(web_server, "serve", served)
    with pytest.raises(SystemExit) as stopped:
        main(["serve", "--allow-host", name, "--port", "0", "--quiet"])
    assert stopped.value.code == 2  # old code: accepted, served, never matched (421)
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        f"vecmatte: error: argument --allow-host: not a host name: {name!r}; give one name "
        "or address per option, without a port (every port is answered), e.g. --allow-host "
        "matting.lan",
        "see vecmatte serve --help",
    ]
    with pytest.raises(ValueError, match="not a host name"):
        create_app(allowed_hosts=[name])


@pytest.mark.parametrize("name", ["matting.lan", "MyBox", "192.168.1.5", "::1", "[fe80::1]"])
def test_an_allowed_host_is_answered_on_any_port(fields, name):
    from vecmatte.cli import build_parser

    (allowed,) = build_parser().parse_args(["serve", "--allow-host", name]).allow_host
    app = create_app(workers=1, allowed_hosts=[allowed])
    shown = f"[{name.strip('[]')}]" if ":" in name else name
    for port in ("", ":80", ":8000", ":65535"):
        status, content, _ = _post(app, fields, HTTP_HOST=shown + port)
        assert status.startswith("200"), content


# --- 3. a foreground whose client left ---------------------------------------------------------
@pytest.mark.parametrize("method", ["ml", "blur_fusion", "cf"])
def test_a_foreground_stops_when_its_client_leaves(scene, monkeypatch, method):
    # estimate_foreground ran to its end for a client that had left (alpha solves stopped
    # between CG iterations, foregrounds never): its progress calls are where it stops now.
    import vecmatte.web.app as web_app

    monkeypatch.setattr(web_app, "_CLIENT_CHECK_SECONDS", 0.0)
    asked = []

    def gone() -> bool:
        asked.append(1)
        return len(asked) > 1  # there when its slot came; gone once the estimate runs

    fields = {
        "image": png_bytes(scene.image),
        "alpha": png_bytes(scene.alpha),
        "foreground_method": method,
    }
    status, content, log = _post(
        create_app(workers=1), fields, path="/api/cutout", **{"vecmatte.client_gone": gone}
    )
    assert status.startswith("400"), content[:200]  # old code: 200, the cutout
    # cf reports after each CG iteration the channels done so far: it stops inside the first
    steps = 0 if method == "cf" else 1
    error = json.loads(content)["error"]
    assert f"the solve was stopped after {steps} steps of the foreground" in error
    (line,) = log.splitlines()
    assert line.endswith(
        f"the client went away; its solve was stopped after {steps} steps of the foreground "
        "and its answer was not sent"
    )


def test_a_foreground_whose_client_stays_is_answered_as_before(scene, monkeypatch):
    import vecmatte.web.app as web_app

    monkeypatch.setattr(web_app, "_CLIENT_CHECK_SECONDS", 0.0)
    fields = {"image": png_bytes(scene.image), "alpha": png_bytes(scene.alpha)}
    watched = _post(
        create_app(workers=1), fields, path="/api/foreground", **{"vecmatte.client_gone": bool}
    )
    plain = _post(create_app(workers=1), fields, path="/api/foreground")
    assert watched[0].startswith("200") and watched[1] == plain[1]


# --- the server's log: what a request brings into it --------------------------------------------
def test_control_characters_of_a_request_are_escapes_in_the_log(capsys):
    # The handler's log_message (replacing the standard library's, which escapes them) wrote
    # an ESC sequence or a CR of the request line into the terminal as it came: a client
    # could recolour the log, or overwrite a line of it.
    from vecmatte.web import make_server

    server = make_server(create_app(workers=1), "127.0.0.1", 0)  # not quiet: it logs
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_port
        _raw(port, b"GET /\x1b[31mred\x1b[0m HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        _raw(port, b"GET /a\rforged HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
    log = capsys.readouterr().err
    assert "\x1b" not in log and "\r" not in log  # old code: both, as they came
    assert '"GET /\\x1b[31mred\\x1b[0m HTTP/1.1" 404' in log
    assert '"GET /a\\x0dforged HTTP/1.1" 400' in log


def test_a_decoded_newline_of_a_path_is_an_escape_in_the_log(capsys):
    # The line of an answer that could not be written named the path decoded: %0A made a
    # second line, which could pass for one of the server's own.
    from vecmatte.web import server as web_server

    handler = web_server._Handler.__new__(web_server._Handler)
    handler.client_address = ("127.0.0.1", 50000)
    handler._environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/x\nvecmatte serve: forged"}
    handler.answer_failed(ConnectionResetError(104, "Connection reset by peer"))
    (line,) = capsys.readouterr().err.splitlines()  # old code: two lines
    assert line == (
        "vecmatte serve: 127.0.0.1 GET /x\\x0avecmatte serve: forged: the client went away "
        "(connection reset by peer); its answer was not sent"
    )


# --- the library's entry points ----------------------------------------------------------------
def test_allowed_hosts_given_as_one_string_is_refused():
    # Its letters were taken for host names ("m", "a", "t" ...) and the name itself was never
    # answered (421), without a word.
    with pytest.raises(TypeError) as refused:
        create_app(allowed_hosts="matting.lan")
    assert str(refused.value) == (
        "allowed_hosts must be a list of host names, got the string 'matting.lan': "
        "give ['matting.lan']"
    )
    assert "matting.lan" in create_app(allowed_hosts=["matting.lan"]).allowed_hosts


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (0, ValueError, "max_connections must be at least 1, got 0"),
        (-1, ValueError, "max_connections must be at least 1, got -1"),
        (2.5, TypeError, "max_connections must be an int, got 2.5"),
        (True, TypeError, "max_connections must be an int, got True"),
    ],
)
def test_a_connection_cap_below_one_is_refused(value, error, message):
    # 0 answered every connection 503; -1 made each fail with a traceback (BoundedSemaphore).
    from vecmatte.web import make_server

    with pytest.raises(error) as refused:
        make_server(create_app(workers=1), "127.0.0.1", 0, max_connections=value)
    assert str(refused.value) == message
