"""The PyMatting shim's random-walk Laplacian of images with more than three channels (RGBA):
its radius checked as for RGB, and its weights from vecmatte's window stencil (session 11).

References: plain per-pixel loops (tests/reference.py), which are PyMatting's own loop.
"""

from __future__ import annotations

import numpy as np
import pytest
from reference import loop_random_walk_laplacian, loop_window_weights

from vecmatte.compat import pymatting as pm
from vecmatte.laplacians.random_walk import SIGMA, window_stencil


def _image(shape, depth, seed=0):
    return np.random.default_rng(seed).random((*shape, depth))


@pytest.mark.parametrize("depth", [3, 4, 5])
@pytest.mark.parametrize(("shape", "radius"), [((5, 5), 6), ((5, 5), 5), ((1, 1), 1), ((3, 7), 7)])
def test_a_radius_not_smaller_than_the_image_is_refused_whatever_the_channels(shape, radius, depth):
    # Old code: RGB refused, RGBA accepted (r = 300 on 5 x 5 took 22 s, 10**6 never ended).
    # PyMatting gives a matrix of clamped border copies for r = 6 and a MemoryError for 10**6.
    with pytest.raises(ValueError) as refused:
        pm.rw_laplacian(_image(shape, depth), radius=radius)
    assert str(refused.value) == (
        f"radius must be smaller than the image ({shape[0]} x {shape[1]} pixels), got {radius}"
    )


@pytest.mark.parametrize("depth", [4, 5])
def test_the_largest_radius_that_fits_is_accepted(depth):
    image = _image((5, 5), depth, seed=1)
    expected = loop_random_walk_laplacian(loop_window_weights(image, radius=4), 1e-8)
    got = pm.rw_laplacian(image, radius=4).toarray()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-15)


@pytest.mark.parametrize(
    ("shape", "depth", "radius", "regularization"),
    [((6, 7), 4, 1, 1e-8), ((6, 7), 4, 2, 0.0), ((5, 8), 5, 3, 1e-4), ((1, 6), 4, 2, 1e-8)],
)
def test_rgba_laplacian_is_pymattings_loop(shape, depth, radius, regularization):
    # Colours in [0, 0.1]: the weights exp(-900 d^2) are not all underflowed to zero.
    image = 0.1 * _image(shape, depth, seed=2)
    weights = loop_window_weights(image, radius=radius)
    expected = loop_random_walk_laplacian(weights, regularization)
    got = pm.rw_laplacian(image, 0.5, radius, regularization)  # sigma ignored, as PyMatting
    np.testing.assert_allclose(got.toarray(), expected, rtol=0, atol=1e-15)


@pytest.mark.parametrize("depth", [1, 4, 6])
def test_window_stencil_takes_any_number_of_channels(depth):
    image = 0.2 * _image((4, 6), depth, seed=3)
    rows = np.array([0, 5, 7, 23])
    columns, weights = window_stencil(image, rows, 2, SIGMA)
    dense = np.zeros((len(rows), 24))
    for s in range(columns.shape[0]):
        inside = columns[s] >= 0
        np.add.at(dense, (np.flatnonzero(inside), columns[s][inside]), weights[s][inside])
    expected = loop_window_weights(image, radius=2)[rows]
    # relative: exp(-x) of an x rounded differently, x up to ~100 here
    np.testing.assert_allclose(dense, expected, rtol=1e-12, atol=0)
