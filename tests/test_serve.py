"""``vecmatte serve``: a ``--host`` it cannot listen on, a connection that goes silent."""

from __future__ import annotations

import pytest

from vecmatte.cli import main


@pytest.mark.parametrize(
    ("host", "message"),
    [
        # .invalid never resolves (RFC 2606), whatever the network.
        ("nosuchhost.invalid", "--host nosuchhost.invalid: cannot resolve this name"),
        # TEST-NET-1 (RFC 5737): never an address of this machine.
        ("192.0.2.1", "--host 192.0.2.1: not an address of this machine"),
    ],
)
def test_serve_names_the_host_not_the_port(host, message, capsys):
    assert main(["serve", "--host", host, "--port", "0", "--quiet"]) == 1
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"vecmatte: error: {message}"), err
    assert "--port" not in err and "127.0.0.1" in err


def test_an_upload_gone_silent_gives_back_its_place_on_the_server(monkeypatch, scene):
    # A client silent mid-upload (a laptop put to sleep) held its admission for ever: with
    # workers + queue of them, every later request was answered 503 until a restart.
    import socket
    import threading

    from vecmatte.web import create_app, make_server
    from vecmatte.web import server as web_server

    # The connections of `vecmatte serve` time out (the default had none) ...
    assert web_server._Handler.timeout == web_server.IDLE_SECONDS <= 60
    # ... and a request whose body stops coming is answered 408 (shortened here).
    monkeypatch.setattr(web_server._Handler, "timeout", 0.5)
    httpd = make_server(create_app(workers=1, queue=0), "127.0.0.1", 0, quiet=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    port = httpd.server_port
    head = (
        f"POST /api/alpha HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n--b\r\n"
    )
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=20) as silent:
            silent.sendall(head.encode())
            answer = b""
            while chunk := silent.recv(4096):
                answer += chunk
        assert answer.startswith(b"HTTP/1.0 408"), answer[:200]
        assert b"the body of 100,000 bytes stopped coming before its end" in answer
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize("option", ["--workers", "--max-pixels", "--max-upload-bytes"])
@pytest.mark.parametrize("text", ["1__0", "_1", "1_", "0", "-3", "x"])
def test_serve_reads_a_positive_integer_as_the_other_commands_do(option, text, capsys):
    # serve had its own reader, which dropped every "_" (so "1__0" was 10 and "_1" was 1)
    # and said "expected a whole number" where vecmatte alpha says "must be a whole number
    # of at least 1".
    with pytest.raises(SystemExit) as stopped:
        main(["serve", option, text, "--port", "0", "--quiet"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    expected = f"argument {option}: must be a whole number of at least 1, got {text!r}"
    assert expected in err.splitlines()[0], err
    with pytest.raises(SystemExit):
        main(["alpha", "a.png", "t.png", "--max-pixels", text])
    assert expected.replace(option, "--max-pixels") in capsys.readouterr().err
