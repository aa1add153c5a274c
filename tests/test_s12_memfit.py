"""ifm's memory estimate bounds the solve's peak on a large image with a thin unknown band.

Many pixels and few unknowns: the trimmings' per-pixel arrays set the peak, during the
build. Before session 12 patch trimming held a (9, h, w) stack of window statistics beside
its (h*w, 10) rows and six full-size Cholesky planes: reader-1 measured resident peaks
1.19-1.26 times vecmatte's estimate on 2-3x upsamples of GT04 with a 1-pixel band.
"""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np

import vecmatte
from vecmatte.memory import estimate_solve_memory
from vecmatte.synthetic import make_scene
from vecmatte.trimap import trimap_split


def test_estimate_bounds_traced_peak_of_thin_band_solve():
    scene = make_scene((700, 1000), seed=3, band=1)
    unknown = trimap_split(scene.trimap)[2]
    n_unknown = int(np.count_nonzero(unknown))
    assert n_unknown < 0.02 * unknown.size  # the case in question: few unknowns per pixel
    options = {"method": "ifm", "preconditioner": "jacobi", "known_to_unknown": True}
    # Jacobi: the preconditioner whose share of the estimate is the smallest.
    estimate = estimate_solve_memory(scene.trimap.shape, n_unknown, **options)
    gc.collect()
    tracemalloc.start()
    try:
        held = tracemalloc.get_traced_memory()[0]
        alpha = vecmatte.estimate_alpha(scene.image, scene.trimap, **options)
        peak = tracemalloc.get_traced_memory()[1] - held
    finally:
        tracemalloc.stop()
    assert np.isfinite(alpha).all()
    assert peak <= estimate, (peak, estimate, peak / estimate)
