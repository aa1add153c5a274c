"""``vecmatte serve`` (session 11): a 'cf' foreground whose client left stops inside its
first conjugate gradient solve, not after a whole colour channel."""

from __future__ import annotations

import io
import json

import pytest
from test_web import multipart, png_bytes

import vecmatte
from vecmatte.web import create_app


@pytest.fixture(scope="module")
def scene():
    return vecmatte.make_scene((40, 50), seed=5)


def test_a_cf_foreground_stops_inside_a_channel_when_its_client_leaves(scene, monkeypatch):
    # cf called progress once per colour channel (a whole CG solve each: 19 s at 4 MP), so
    # the server kept solving for a client that had left until the channel's end.
    from wsgiref.util import setup_testing_defaults

    import vecmatte.linalg.cg as cg_module
    import vecmatte.web.app as web_app

    monkeypatch.setattr(web_app, "_CLIENT_CHECK_SECONDS", 0.0)
    solve, started, returned = cg_module.conjugate_gradient, [], []

    def counted(*args, **kwargs):
        started.append(1)
        result = solve(*args, **kwargs)
        returned.append(result.iterations)
        return result

    monkeypatch.setattr(cg_module, "conjugate_gradient", counted)
    asked = []

    def gone() -> bool:
        asked.append(1)
        return len(asked) > 1  # there when its slot came; gone once the estimate runs

    body, content_type = multipart(
        {
            "image": png_bytes(scene.image),
            "alpha": png_bytes(scene.alpha),
            "foreground_method": "cf",
        }
    )
    log = io.StringIO()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/cutout",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": "127.0.0.1:8000",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": log,
        "vecmatte.client_gone": gone,
    }
    setup_testing_defaults(environ)
    answer = {}
    content = b"".join(
        create_app(workers=1)(environ, lambda status, _: answer.update(status=status))
    )
    assert answer["status"].startswith("400"), content[:200]
    assert "the connection was closed by the client" in json.loads(content)["error"]
    assert started == [1]  # one solve began ...
    assert returned == []  # ... and was stopped inside (old code: it ran to its end)
    assert len(log.getvalue().splitlines()) == 1
