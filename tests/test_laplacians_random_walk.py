"""Random-walk Laplacian and the weight-graph forms: against plain loops and PyMatting."""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest
import scipy.sparse
from reference import loop_random_walk_laplacian, loop_window_weights

from vecmatte.laplacians import get_laplacian
from vecmatte.laplacians.random_walk import rw_laplacian, rw_weights, weights_to_laplacian

needs_pymatting = pytest.mark.skipif(
    importlib.util.find_spec("pymatting") is None, reason="PyMatting not installed"
)


def pymatting_function(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba may warn on import; not ours
        import pymatting
    return getattr(pymatting, name)


@pytest.mark.parametrize("shape", [(5, 7), (1, 4), (6, 3)])
@pytest.mark.parametrize("radius", [1, 2])
@pytest.mark.parametrize("sigma", [1 / 30, 0.2])
def test_weights_and_laplacian_match_loops(rng, shape, radius, sigma):
    image = rng.random((*shape, 3))
    expected_weights = loop_window_weights(image, radius, sigma)
    weights = rw_weights(image, sigma=sigma, radius=radius)
    np.testing.assert_allclose(weights.toarray(), expected_weights, rtol=1e-12, atol=1e-300)
    laplacian = rw_laplacian(image, sigma=sigma, radius=radius, regularization=1e-3)
    expected = loop_random_walk_laplacian(expected_weights, 1e-3)
    np.testing.assert_allclose(laplacian.toarray(), expected, rtol=1e-12, atol=1e-15)
    assert laplacian.has_canonical_format


def test_symmetric_form_is_degrees_times_random_walk_form(rng):
    image = rng.random((6, 8, 3))
    walk = rw_laplacian(image, regularization=1e-2)
    symmetric = rw_laplacian(image, regularization=1e-2, form="symmetric")
    degrees = np.asarray(rw_weights(image).sum(axis=1)).ravel()
    np.testing.assert_allclose(symmetric.toarray(), degrees[:, None] * walk.toarray(), atol=1e-12)
    assert abs(symmetric - symmetric.T).max() < 1e-12


def test_weights_to_laplacian_without_diagonal_entries():
    weights = scipy.sparse.csr_matrix(np.array([[0.0, 2.0, 1.0], [2.0, 0.0, 0.0], [1.0, 0.0, 0.0]]))
    walk = weights_to_laplacian(weights, regularization=0.5)
    expected = loop_random_walk_laplacian(weights.toarray(), 0.5)
    np.testing.assert_allclose(walk.toarray(), expected, atol=1e-15)
    symmetric = weights_to_laplacian(weights, form="symmetric")
    np.testing.assert_allclose(symmetric.toarray(), np.diag([3.0, 2.0, 1.0]) - weights.toarray())


def test_registered():
    assert get_laplacian("random_walk") is rw_laplacian


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"radius": 0}, "radius must be a positive integer"),
        ({"sigma": -1.0}, "sigma must be a positive finite number"),
        ({"regularization": -1.0}, "regularization must be"),
        ({"form": "normalized"}, "form must be 'random_walk' or 'symmetric'"),
    ],
)
def test_options_are_checked(options, message):
    with pytest.raises(ValueError, match=message):
        rw_laplacian(np.zeros((4, 4, 3)), **options)


@needs_pymatting
@pytest.mark.parametrize("radius", [1, 2])
def test_equals_pymatting(rng, radius):
    image = rng.random((9, 11, 3))
    expected = pymatting_function("rw_laplacian")(image, radius=radius)
    assert abs(rw_laplacian(image, radius=radius) - expected).max() < 1e-12


@pytest.mark.parametrize(
    ("options", "message"),
    [
        # Before: float() took True, "0.1" and np.bool_ as numbers, said "could not convert
        # string to float" of "x" or "float() argument must be ..." of None without naming
        # the option, 1e-300 raised ZeroDivisionError and 10**400 OverflowError.
        ({"sigma": True}, "sigma must be a positive finite number, not True"),
        ({"sigma": "0.1"}, "sigma must be a positive finite number, got '0.1'"),
        ({"sigma": None}, "sigma must be a positive finite number, got None"),
        ({"sigma": 1e-300}, "sigma must be at least 1e-06"),
        ({"sigma": 10**400}, "sigma must be a positive finite number, got 1000"),
        ({"regularization": True}, "regularization must be a finite number >= 0, not True"),
        ({"regularization": "x"}, "regularization must be a finite number >= 0, got 'x'"),
        ({"regularization": 10**400}, "regularization must be a finite number >= 0, got 1000"),
        # Before: MemoryError (29.1 TiB of offsets) and "Maximum allowed size exceeded".
        ({"radius": 10**6}, r"radius must be smaller than the image \(4 x 5 pixels\)"),
        ({"radius": 10**300}, r"radius must be smaller than the image \(4 x 5 pixels\)"),
        ({"form": ["symmetric"]}, "form must be 'random_walk' or 'symmetric'"),
    ],
)
def test_odd_options_are_refused_naming_them(rng, options, message):
    with pytest.raises(ValueError, match=message) as error:
        rw_laplacian(rng.random((4, 5, 3)), **options)
    assert "\n" not in str(error.value)
