"""``vecmatte serve`` behind a TLS-terminating reverse proxy (session 10): a page's Origin is
compared by host and port, not scheme.

nginx (https) -> vecmatte serve (http), Host kept: the page's origin is
``https://matting.example.com`` while the server speaks http. Since 7acf1b8 compared the
scheme too, every post of the real page was refused 403.
"""

from __future__ import annotations

import json

import pytest
from test_web import png_bytes
from test_web_s10_requests import _post

import vecmatte
from vecmatte.web import create_app


@pytest.fixture(scope="module")
def fields():
    scene = vecmatte.make_scene((30, 40), seed=7)
    return {"image": png_bytes(scene.image), "trimap": png_bytes(scene.trimap)}


@pytest.fixture(scope="module")
def app():
    return create_app(workers=1, allowed_hosts=["matting.example.com"])


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        # nginx: proxy_set_header Host $host (no port), https to the browser.
        ("matting.example.com", "https://matting.example.com"),
        ("MATTING.example.com", "https://matting.example.com"),
        ("matting.example.com", "https://matting.example.com:443"),
        # proxy_set_header Host $host:$server_port, or $http_host on another port.
        ("matting.example.com:443", "https://matting.example.com"),
        ("matting.example.com:8443", "https://matting.example.com:8443"),
        # Plain http on the default port, as before.
        ("matting.example.com", "http://matting.example.com"),
    ],
)
def test_the_page_behind_a_tls_proxy_may_post(fields, app, host, origin):
    status, content, log = _post(app, fields, HTTP_HOST=host, HTTP_ORIGIN=origin)
    assert status.startswith("200"), content  # 7acf1b8: 403 for the https origins
    assert log == ""


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        ("127.0.0.1:8000", "https://127.0.0.1:8000"),
        ("localhost:8000", "https://localhost:8000"),
        ("[::1]:8000", "https://[::1]:8000"),
    ],
)
def test_an_origin_with_the_hosts_explicit_port_may_post_whatever_its_scheme(
    fields, app, host, origin
):
    # No page can be served on the port this server holds under the other scheme.
    status, content, _ = _post(app, fields, HTTP_HOST=host, HTTP_ORIGIN=origin)
    assert status.startswith("200"), content


@pytest.mark.parametrize(
    ("host", "origin", "scheme"),
    [
        # Another web application of this machine (the attack 7acf1b8 closed) stays out.
        ("127.0.0.1:8000", "http://127.0.0.1:3000", "http"),
        ("127.0.0.1:8000", "https://127.0.0.1:3000", "http"),
        ("127.0.0.1:8000", "http://127.0.0.1", "http"),
        ("127.0.0.1:8000", "https://127.0.0.1", "http"),
        ("127.0.0.1", "http://127.0.0.1:3000", "http"),
        ("127.0.0.1", "https://127.0.0.1:8443", "http"),
        # (A page of a name given with --allow-host posts from any port and scheme, as a
        # proxy may rewrite Host: tests/test_review_b_s10.py.)
        # Another host, or a scheme without ports.
        ("matting.example.com", "https://evil.example", "http"),
        ("localhost", "ws://localhost", "http"),
        ("localhost", "chrome-extension://localhost", "http"),
        ("localhost", "null", "http"),
    ],
)
def test_a_page_of_another_port_or_host_is_refused(fields, app, host, origin, scheme):
    status, content, log = _post(
        app, fields, HTTP_HOST=host, HTTP_ORIGIN=origin, **{"wsgi.url_scheme": scheme}
    )
    assert status.startswith("403"), content
    (line,) = json.loads(content)["error"].splitlines()
    assert line == (
        f"requests from pages of {origin!r} are not allowed: only this server's own page "
        f"({scheme}://{host}) may post"
    )
    assert log == ""


def test_an_https_server_takes_its_own_https_page(fields, app):
    extra = {"HTTP_HOST": "matting.example.com", "wsgi.url_scheme": "https"}
    status, content, _ = _post(app, fields, HTTP_ORIGIN="https://matting.example.com", **extra)
    assert status.startswith("200"), content
