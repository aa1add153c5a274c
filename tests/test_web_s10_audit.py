"""``vecmatte serve`` as users hit it at once (session 10's audit): requests of different
routes and methods in parallel are answered as each is alone, byte for byte."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from test_web import png_bytes, post_form, request
from test_web_clients import _serving

import vecmatte
from vecmatte.web import create_app


def _forms() -> list[tuple[str, dict]]:
    scene = vecmatte.make_scene((40, 50), seed=11)
    image, trimap = png_bytes(scene.image), png_bytes(scene.trimap)
    scribbles = np.full((40, 50), 0.5)  # a stroke mask: white foreground, black background
    scribbles[scene.alpha > 0.99] = 1.0
    scribbles[scene.alpha < 0.01] = 0.0
    forms = [
        ("/api/alpha", {"image": image, "trimap": trimap, "method": method})
        for method in ("cf", "knn", "lkm", "lbdm", "rw", "sm", "ifm")
    ]
    forms += [
        (
            "/api/alpha",
            {
                "image": image,
                "trimap": trimap,
                "method": "cf",
                "maxiter": "3",
                "preconditioner": "jacobi",
            },
        ),
        ("/api/cutout", {"image": image, "trimap": trimap, "foreground_method": "ml"}),
        (
            "/api/cutout",
            {"image": image, "alpha": png_bytes(scene.alpha), "foreground_method": "cf"},
        ),
        (
            "/api/foreground",
            {"image": image, "alpha": png_bytes(scene.alpha), "foreground_method": "blur_fusion"},
        ),
        ("/api/trimap", {"mask": png_bytes(scene.alpha > 0.5), "band": "3"}),
        ("/api/trimap", {"image": image, "scribbles": png_bytes(scribbles)}),
    ]
    return forms


def _answer(port: int, path: str, form: dict | None):
    if form is None:
        status, headers, body = request(port, "GET", path)
    else:
        status, headers, body = post_form(port, path, form, timeout=120)
    # What the server says of the result (not its timings).
    said = sorted(
        (name, value)
        for name, value in headers.items()
        if name.startswith("X-Vecmatte") and "Seconds" not in name
    )
    return status, said, body


def test_requests_of_every_route_and_method_at_once_are_answered_as_alone():
    forms = [*_forms(), ("/api/methods", None), ("/", None)]
    app = create_app(workers=2, queue=2 * len(forms), wait_seconds=120)
    with _serving(app) as port:
        alone = [_answer(port, path, form) for path, form in forms]
        assert all(status == 200 for status, _, _ in alone), [
            (a[:2], a[2][:200]) for a in alone if a[0] != 200
        ]
        # Twice each, all at once, in an order that mixes the routes.
        order = list(range(len(forms))) * 2
        np.random.default_rng(0).shuffle(order)
        barrier = threading.Barrier(len(order))

        def one(k: int):
            barrier.wait(60)
            return k, _answer(port, *forms[k])

        with ThreadPoolExecutor(len(order)) as pool:
            together = list(pool.map(one, order))
    for k, answer in together:
        assert answer == alone[k], (forms[k][0], answer[:2], alone[k][:2])
