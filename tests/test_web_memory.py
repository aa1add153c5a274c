"""``vecmatte serve``'s memory budget counts the request bodies the admitted requests hold."""

from __future__ import annotations

import io
import json
import threading
import time

import numpy as np
from test_web import multipart, png_bytes

import vecmatte
from vecmatte.web import create_app


class _StalledBody:
    """A request body that stops after ``first`` bytes until ``release`` is set.

    A client uploading slowly: the request is admitted and holds its buffer meanwhile.
    """

    def __init__(self, body: bytes, first: int):
        self._body = io.BytesIO(body)
        self._first = first
        self.stalled = threading.Event()
        self.release = threading.Event()

    def read(self, size: int = -1) -> bytes:
        if self._body.tell() >= self._first and not self.release.is_set():
            self.stalled.set()
            assert self.release.wait(30)
        if self._body.tell() < self._first:
            size = self._first - self._body.tell() if size < 0 else size
            size = min(size, self._first - self._body.tell())
        return self._body.read(size)


def _call(
    app, body: bytes, content_type: str, stream=None, path: str = "/api/alpha", errors=None
) -> tuple[str, bytes]:
    """``(status line, body)`` of a POST of ``body`` to the WSGI application itself."""
    from wsgiref.util import setup_testing_defaults

    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": "localhost",
        "wsgi.input": stream if stream is not None else io.BytesIO(body),
    }
    if errors is not None:
        environ["wsgi.errors"] = errors
    setup_testing_defaults(environ)
    answer = {}
    content = b"".join(app(environ, lambda status, headers: answer.update(status=status)))
    return answer["status"], content


def _form(size: int, seed: int) -> tuple[bytes, str]:
    """A form whose image is ``size`` bytes of noise (refused 422 once read: not an image)."""
    noise = np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()
    return multipart({"image": noise, "trimap": b"t" * 10})


def test_two_uploads_that_do_not_fit_the_budget_together_are_not_both_admitted():
    # The gate counted only the running solves: every admitted request (up to workers +
    # queue = 10) held its body besides, uncounted, so ten 32 MiB uploads took 320 MiB over
    # a budget that promised less. Now a body's copies are reserved before it is read.
    app = create_app(memory_bytes=600_000, wait_seconds=0.3)
    first_body, content_type = _form(200_000, seed=1)
    second_body, _ = _form(200_000, seed=2)
    stalled = _StalledBody(first_body, 100_000)
    answers = {}
    first = threading.Thread(
        target=lambda: answers.update(first=_call(app, first_body, content_type, stalled))
    )
    first.start()
    try:
        assert stalled.stalled.wait(30)
        start = time.monotonic()
        status, content = _call(app, second_body, content_type)
        # old code: 422 (admitted, read, then refused as not an image)
        assert status.startswith("503"), content
        message = json.loads(content)["error"]
        assert "memory budget" in message and "try again" in message
        assert time.monotonic() - start >= 0.3  # it waited for the memory first
    finally:
        stalled.release.set()
        first.join(30)
    assert answers["first"][0].startswith("422")
    # the first request gave its memory back: the second one is admitted now
    status, content = _call(app, second_body, content_type)
    assert status.startswith("422") and b"not an image" in content
    assert app._gate._reserved == 0 and app._gate._admitted == 0


def test_a_body_larger_than_the_budget_is_413_before_it_is_read():
    app = create_app(memory_bytes=600_000, wait_seconds=20)
    body, content_type = _form(400_000, seed=3)  # two copies while it is read: 800 KB
    start = time.monotonic()
    status, content = _call(app, body, content_type)
    assert status.startswith("413"), content  # old code: 422 (read, then not an image)
    message = json.loads(content)["error"]
    assert f"request body of {len(body):,} bytes" in message
    assert "memory budget" in message and "--memory-limit" in message
    assert time.monotonic() - start < 10  # at once, not after waiting for memory


def test_a_solve_that_fits_only_without_its_body_is_413_at_once():
    # The body is held while the request solves: a solve whose estimate fits the budget
    # alone, but not with the body, can never start (old code: counted without the body,
    # answered 200 over the budget).
    scene = vecmatte.make_scene((40, 60), seed=4)
    fields = {"image": png_bytes(scene.image), "trimap": png_bytes(scene.trimap)}
    body, content_type = multipart(fields)
    probe = create_app()
    image = np.asarray(vecmatte.load_image(io.BytesIO(fields["image"])))
    trimap = np.asarray(vecmatte.load_trimap(io.BytesIO(fields["trimap"])))
    solve = probe._solve_bytes(image, trimap, "cf", {})
    assert solve > 4 * len(body)
    app = create_app(memory_bytes=solve + len(body) // 2, wait_seconds=20)
    start = time.monotonic()
    status, content = _call(app, body, content_type)
    assert status.startswith("413"), content
    assert "memory budget" in json.loads(content)["error"]
    assert time.monotonic() - start < 10  # never fits: refused at once, not after 20 s
    # with room for both, it is answered
    app = create_app(memory_bytes=solve + len(body), wait_seconds=20)
    assert _call(app, body, content_type)[0].startswith("200")
