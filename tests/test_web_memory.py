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
    status, _, content = _call_with_headers(app, body, content_type, stream, path, errors)
    return status, content


def _form(size: int, seed: int) -> tuple[bytes, str]:
    """A form whose image is ``size`` bytes of noise (refused 422 once read: not an image)."""
    noise = np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()
    return multipart({"image": noise, "trimap": b"t" * 10})


def test_a_body_beyond_the_bodies_share_is_503_at_once():
    # The gate counted only the running solves: every admitted request (up to workers +
    # queue = 10) held its body besides, uncounted. Now a body's copies are reserved before
    # it is read, within the quarter of the budget that holds bodies; one that does not fit
    # beside the others is answered 503 with Retry-After at once (it waited for memory,
    # which bodies of requests waiting for a slot may hold until they time out).
    app = create_app(memory_bytes=2_000_000, wait_seconds=20)  # bodies: 500 000
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
        status, headers, content = _call_with_headers(app, second_body, content_type)
        # old code: 422 (both fitted the whole budget: admitted, read, not an image)
        assert status.startswith("503"), content
        message = json.loads(content)["error"]
        assert "request bodies" in message and "try again" in message
        assert ("Retry-After", "2") in headers  # at once: a wait ends in another 503's words
    finally:
        stalled.release.set()
        first.join(30)
    assert answers["first"][0].startswith("422")
    # the first request gave its memory back: the second one is admitted now
    status, content = _call(app, second_body, content_type)
    assert status.startswith("422") and b"not an image" in content
    assert app._gate._reserved == 0 and app._gate._admitted == 0


def test_bodies_waiting_for_a_slot_never_hold_a_solves_memory(monkeypatch):
    # Uploads held by requests that wait (here: stalled mid-body) filled the budget, and an
    # admitted solve waited for their memory until it was answered 503 (old code: 503
    # after wait_seconds). Bodies now have their own part of the budget: the solve runs,
    # the upload beyond that part is refused at once.
    scene = vecmatte.make_scene((40, 60), seed=4)
    fields = {"image": png_bytes(scene.image), "trimap": png_bytes(scene.trimap)}
    body, content_type = multipart(fields)
    solve = _estimate(fields)
    budget = 2 * solve  # bodies: solve / 2; solves: 1.5 x solve
    assert 2 * len(body) < solve // 20
    app = create_app(memory_bytes=budget, wait_seconds=1)
    stalled, threads, answers = [], [], {}
    for seed in range(3):
        upload, upload_type = _form(solve // 5, seed=10 + seed)  # 0.4 x solve while read
        stream = _StalledBody(upload, 1000)
        thread = threading.Thread(
            target=lambda u=upload, t=upload_type, f=stream, k=seed: answers.update(
                {k: _call(app, u, t, f)}
            )
        )
        thread.start()
        stalled.append(stream)
        threads.append(thread)
        assert stream.stalled.wait(5) or seed > 0  # the first is admitted and stalls
    try:
        status, content = _call(app, body, content_type)
        assert status.startswith("200"), content
    finally:
        for stream in stalled:
            stream.release.set()
        for thread in threads:
            thread.join(30)
    assert answers[0][0].startswith("422")  # admitted, read: not an image
    assert all(answers[k][0].startswith("503") for k in (1, 2)), answers
    assert app._gate._reserved == 0 and app._gate._admitted == 0


def _estimate(fields: dict) -> int:
    """What the server reserves for the solve of ``fields`` (image and trimap PNGs)."""
    probe = create_app()
    image = np.asarray(vecmatte.load_image(io.BytesIO(fields["image"])))
    trimap = np.asarray(vecmatte.load_trimap(io.BytesIO(fields["trimap"])))
    return probe._solve_bytes(image, trimap, "cf", {})


def _call_with_headers(
    app, body: bytes, content_type: str, stream=None, path: str = "/api/alpha", errors=None
) -> tuple[str, list, bytes]:
    """``(status line, headers, body)`` of a POST of ``body`` to the WSGI application."""
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
    content = b"".join(
        app(environ, lambda status, headers: answer.update(status=status, headers=headers))
    )
    return answer["status"], answer["headers"], content


def test_a_body_larger_than_the_budget_is_413_before_it_is_read():
    app = create_app(memory_bytes=600_000, wait_seconds=20)
    body, content_type = _form(400_000, seed=3)  # two copies while it is read: 800 KB
    status, content = _call(app, body, content_type)
    assert status.startswith("413"), content  # old code: 422 (read, then not an image)
    message = json.loads(content)["error"]
    assert f"request body of {len(body):,} bytes" in message
    assert "memory budget" in message and "--memory-limit" in message


def test_a_solve_beyond_the_solves_share_is_413_at_once():
    # Three quarters of the budget hold what the requests in a slot decode and solve.
    from vecmatte.web._limits import _budget_for, split_budget

    scene = vecmatte.make_scene((40, 60), seed=4)
    fields = {"image": png_bytes(scene.image), "trimap": png_bytes(scene.trimap)}
    body, content_type = multipart(fields)
    solve = _estimate(fields)
    smallest = _budget_for(solve, 2 * len(body))
    assert split_budget(smallest - 1)[1] < solve
    app = create_app(memory_bytes=smallest - 1, wait_seconds=20)
    start = time.monotonic()
    status, content = _call(app, body, content_type)
    assert status.startswith("413"), content
    message = json.loads(content)["error"]
    assert message.startswith("this solve needs about") and "that holds solves" in message
    assert time.monotonic() - start < 10  # never fits: refused at once, not after 20 s
    # with room for both, it is answered
    app = create_app(memory_bytes=smallest, wait_seconds=20)
    assert _call(app, body, content_type)[0].startswith("200")


def test_the_uploads_are_reserved_before_they_are_decoded(monkeypatch):
    # The images were decoded (and scribbles made into a trimap) in the slot before any of
    # their memory was reserved: up to workers x ~110 bytes a pixel outside the budget.
    # Now the largest file's pixels (from its header) are reserved first.
    import vecmatte.web.app as web_app
    from vecmatte.web._limits import REQUEST_BYTES_PER_PIXEL

    scene = vecmatte.make_scene((40, 60), seed=4)
    fields = {"image": png_bytes(scene.image), "scribbles": png_bytes(scene.image)}
    app = create_app()
    seen = []
    load = web_app.MattingApp._load

    def watched(self, part, loader, **extra):
        seen.append(app._gate._reserved)
        return load(self, part, loader, **extra)

    monkeypatch.setattr(web_app.MattingApp, "_load", watched)
    body, content_type = multipart(fields)
    status, _ = _call(app, body, content_type, path="/api/trimap")
    assert status.startswith("422")  # the scribbles mark nothing
    # besides the body (its parts' data: less than its length)
    assert len(seen) == 2 and min(seen) >= REQUEST_BYTES_PER_PIXEL * 40 * 60, seen
    assert app._gate._reserved == 0


def test_a_file_too_large_for_the_solves_share_is_413_before_it_is_decoded(monkeypatch):
    import vecmatte.web.app as web_app
    from vecmatte.web._limits import smallest_solve_bytes

    smallest, _ = smallest_solve_bytes()
    app = create_app(memory_bytes=smallest)
    decoded = []
    monkeypatch.setattr(
        web_app.MattingApp, "_load", lambda *args, **kwargs: decoded.append(1) or None
    )
    image = np.zeros((300, 300, 3))  # 300 x 300 x 110 bytes: more than the solves' part
    body, content_type = multipart({"image": png_bytes(image), "trimap": png_bytes(image[..., 0])})
    status, content = _call(app, body, content_type)
    assert status.startswith("413"), content  # old code: decoded first, then 413
    assert json.loads(content)["error"].startswith("decoding the uploaded files needs about")
    assert not decoded


def test_two_requests_growing_from_their_decoding_do_not_wait_on_each_other():
    # Each held its decoding's reservation and waited to grow to its solve's estimate:
    # with room for one solve and the other's decoding, neither could grow, and both were
    # answered 503 after wait_seconds (8e2bbc5). One request at a time sizes its
    # reservation now: the second decodes once the first has settled, and both solve.
    from vecmatte.web._limits import Gate, Limits

    gate = Gate(Limits(workers=2, wait_seconds=3), budget=1336)
    assert gate.solve_budget == 1002
    decoded, results = threading.Event(), {}

    def request(name: str, first: bool) -> None:
        try:
            if not first:
                assert decoded.wait(10)
            with gate.memory(400, "decoding") as reserved:
                if first:
                    decoded.set()
                    time.sleep(0.2)  # the other request comes while this one decodes
                reserved.resize(700)
                reserved.settle()
                time.sleep(0.2)  # the solve
            results[name] = "solved"
        except Exception as error:
            results[name] = repr(error)

    threads = [threading.Thread(target=request, args=(name, name == "a")) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    # The old code answered both 503 after wait_seconds: their errors would be the results.
    assert results == {"a": "solved", "b": "solved"}, results
    assert gate._reserved == 0 and not gate._sizing.locked()
