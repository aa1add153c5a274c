"""Uniform Laplacian: against a plain loop and PyMatting."""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest
from reference import loop_random_walk_laplacian, loop_window_weights

from vecmatte.laplacians import get_laplacian
from vecmatte.laplacians.uniform import uniform_laplacian


@pytest.mark.parametrize("shape", [(5, 7), (3, 3), (2, 2), (1, 3)])
@pytest.mark.parametrize("radius", [1, 2])
def test_matches_loop(rng, shape, radius):
    if radius >= max(shape):
        return  # refused, see test_refuses_a_radius_not_smaller_than_the_image
    image = rng.random((*shape, 3))
    expected = loop_random_walk_laplacian(loop_window_weights(image, radius, None))
    np.testing.assert_allclose(
        uniform_laplacian(image, radius=radius).toarray(), expected, atol=1e-15
    )


def test_ignores_colours_and_rows_sum_to_zero(rng):
    a = uniform_laplacian(rng.random((6, 5, 3)))
    b = uniform_laplacian(np.zeros((6, 5, 3)))
    assert abs(a - b).max() == 0
    assert abs(a.sum(axis=1)).max() < 1e-12


@pytest.mark.parametrize("radius", [1, 2])
def test_symmetric_form_matches_loop(rng, radius):
    # D - W with the loop's clamped window counts: at radius 1 the counts are symmetric,
    # at radius 2 they are not near the border (a pixel one from the edge sees it twice).
    image = rng.random((5, 6, 3))
    weights = loop_window_weights(image, radius, None)
    expected = np.diag(weights.sum(axis=1)) - weights
    laplacian = uniform_laplacian(image, radius=radius, form="symmetric")
    np.testing.assert_allclose(laplacian.toarray(), expected, rtol=0, atol=1e-15)
    if radius == 1:
        assert abs(laplacian - laplacian.T).max() == 0


@pytest.mark.parametrize(("shape", "radius"), [((2, 2), 2), ((8, 9), 9), ((8, 9), 10**9)])
def test_refuses_a_radius_not_smaller_than_the_image(rng, shape, radius):
    # As the random walk's Laplacian: 10**9 reached NumPy as 'array is too big', and a radius
    # of 1000 on a tiny image asked for gigabytes of clamped window offsets.
    message = rf"^radius must be smaller than the image \({shape[0]} x {shape[1]} pixels\)"
    with pytest.raises(ValueError, match=message):
        uniform_laplacian(rng.random((*shape, 3)), radius=radius)


def test_registered():
    assert get_laplacian("uniform") is uniform_laplacian


@pytest.mark.skipif(importlib.util.find_spec("pymatting") is None, reason="PyMatting not installed")
@pytest.mark.parametrize("radius", [1, 2])
def test_equals_pymatting(rng, radius):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pymatting import uniform_laplacian as pymatting_uniform
    image = rng.random((7, 10, 3))
    assert (
        abs(uniform_laplacian(image, radius=radius) - pymatting_uniform(image, radius)).max()
        < 1e-15
    )
