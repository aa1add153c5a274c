"""Every method's memory model is at least the peak its solve allocates (small synthetic scenes).

The peak is the tracemalloc peak of ``estimate_alpha`` (what Python and NumPy allocate) after a
warm-up solve, in this process; ``bench/memory_models.py`` measures the resident peaks on
photographs in fresh child processes (``bench/results/memory_models.md``).
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import vecmatte
from vecmatte.alpha import METHODS
from vecmatte.memory import estimate_solve_memory
from vecmatte.synthetic import make_scene
from vecmatte.trimap import trimap_split

SCENES = {"narrow": ((48, 64), 3, 0), "wide": ((72, 88), 7, 1)}

# Options other than the defaults that change a model's terms (radius, constraints,
# preconditioner, kernel), for the methods whose model takes them.
VARIANTS = [
    ("rw", {"radius": 2}),
    ("rw", {"constraints": "soft"}),
    ("rw", {"preconditioner": "direct"}),
    ("rw", {"preconditioner": "ichol"}),
    ("knn", {"kernel": "soft"}),
    ("knn", {"constraints": "soft"}),
    ("knn", {"n_neighbors": (30, 15), "distance_weights": (2.0, 0.1)}),
    ("lbdm", {"radius": 2}),
    ("lbdm", {"constraints": "soft"}),
    ("lbdm", {"preconditioner": "jacobi"}),
    ("lkm", {"radius": 4}),
    ("lkm", {"constraints": "soft"}),
]


def traced_peak(image, trimap, method: str, options: dict) -> int:
    """Bytes allocated at the peak of one solve, after a warm-up solve (imports, caches)."""
    vecmatte.estimate_alpha(image, trimap, method=method, **options)
    tracemalloc.start()
    try:
        held = tracemalloc.get_traced_memory()[0]
        vecmatte.estimate_alpha(image, trimap, method=method, **options)
        return tracemalloc.get_traced_memory()[1] - held
    finally:
        tracemalloc.stop()


def check(method: str, scene_name: str, options: dict) -> None:
    shape, band, seed = SCENES[scene_name]
    scene = make_scene(shape, seed=seed, band=band)
    n_unknown = int(trimap_split(scene.trimap)[2].sum())
    estimate = estimate_solve_memory(scene.image.shape, n_unknown, method=method, **options)
    peak = traced_peak(scene.image, scene.trimap, method, options)
    assert estimate >= peak, f"{method} {options}: estimate {estimate} < peak {peak} bytes"


@pytest.mark.parametrize("scene_name", sorted(SCENES))
@pytest.mark.parametrize("method", sorted(METHODS))
def test_estimate_covers_the_traced_peak(method: str, scene_name: str) -> None:
    check(method, scene_name, {})


@pytest.mark.parametrize(("method", "options"), VARIANTS, ids=lambda v: str(v))
def test_estimate_covers_the_traced_peak_with_options(method: str, options: dict) -> None:
    check(method, "wide", options)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_estimate_covers_the_traced_peak_of_a_compact_region(method: str) -> None:
    # The scenes above have bands of unknowns; a solid disk of them (as in GT16's trimap)
    # gives the direct factors their widest fronts and envelopes per unknown.
    scene = make_scene((72, 88), seed=2)
    ys, xs = np.mgrid[:72, :88]
    trimap = np.zeros((72, 88))
    trimap[:6, :6] = 1.0
    trimap[(ys - 40) ** 2 + (xs - 48) ** 2 < 28**2] = 0.5
    n_unknown = int(trimap_split(trimap)[2].sum())
    estimate = estimate_solve_memory(scene.image.shape, n_unknown, method=method)
    peak = traced_peak(scene.image, trimap, method, {})
    assert estimate >= peak, f"{method}: estimate {estimate} < peak {peak} bytes"


@pytest.mark.parametrize("method", sorted(METHODS))
def test_estimate_covers_the_traced_peak_of_scribbles(method: str) -> None:
    # Scribbles leave nearly every pixel unknown: the "direct" factors are nested-dissection
    # factors of a whole-image grid (the largest per unknown), the flows and searches run
    # over the whole image.
    scene = make_scene((96, 128), seed=3)
    trimap = np.full((96, 128), 0.5)
    trimap[20:23, 10:118] = np.where(scene.alpha[20:23, 10:118] > 0.5, 1.0, 0.0)
    trimap[70:73, 10:118] = np.where(scene.alpha[70:73, 10:118] > 0.5, 1.0, 0.0)
    trimap[:2, :2], trimap[-2:, -2:] = 0.0, 1.0
    n_unknown = int(trimap_split(trimap)[2].sum())
    assert n_unknown > 0.9 * trimap.size
    estimate = estimate_solve_memory(scene.image.shape, n_unknown, method=method)
    peak = traced_peak(scene.image, trimap, method, {})
    assert estimate >= peak, f"{method}: estimate {estimate} < peak {peak} bytes"


def test_model_grows_with_the_unknown_pixels() -> None:
    for method in METHODS:
        small = estimate_solve_memory((400, 600), 10_000, method=method)
        large = estimate_solve_memory((400, 600), 100_000, method=method)
        assert large >= small > 0, method
