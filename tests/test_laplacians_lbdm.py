"""LBDM Laplacian: against a plain loop over windows and PyMatting."""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest
from reference import loop_lbdm_laplacian

from vecmatte.laplacians import get_laplacian
from vecmatte.laplacians.lbdm import lbdm_laplacian


@pytest.mark.parametrize(
    ("shape", "radius"), [((5, 7), 1), ((3, 3), 1), ((8, 6), 1), ((5, 7), 2), ((8, 6), 2)]
)
@pytest.mark.parametrize("eps", [1e-7, 1e-2])
def test_matches_loop(rng, shape, radius, eps):
    image = rng.random((*shape, 3))
    expected = loop_lbdm_laplacian(image, eps, radius)
    laplacian = lbdm_laplacian(image, eps=eps, radius=radius).toarray()
    np.testing.assert_allclose(laplacian, expected, atol=1e-7 * abs(expected).max())


def test_symmetric_positive_semidefinite(rng):
    laplacian = lbdm_laplacian(rng.random((6, 7, 3))).toarray()
    np.testing.assert_allclose(laplacian, laplacian.T, atol=1e-12)
    assert np.linalg.eigvalsh(laplacian).min() > -1e-9


def test_known_windows_are_left_out_of_unknown_rows(rng):
    image = rng.random((9, 10, 3))
    known = np.ones((9, 10), dtype=bool)
    known[3:6, 4:7] = False
    full = lbdm_laplacian(image).toarray()
    partial = lbdm_laplacian(image, known=known).toarray()
    unknown = np.flatnonzero(~known.ravel())
    np.testing.assert_allclose(partial[unknown], full[unknown], atol=1e-12)


def test_registered():
    assert get_laplacian("lbdm") is lbdm_laplacian


def test_options_are_checked():
    with pytest.raises(ValueError, match="smaller than one 5 x 5 window"):
        lbdm_laplacian(np.zeros((4, 4, 3)), radius=2)
    with pytest.raises(ValueError, match="eps must be a positive"):
        lbdm_laplacian(np.zeros((4, 4, 3)), eps=0.0)


@pytest.mark.skipif(importlib.util.find_spec("pymatting") is None, reason="PyMatting not installed")
@pytest.mark.parametrize("radius", [1, 2])
def test_equals_pymatting(rng, radius):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pymatting import lbdm_laplacian as pymatting_lbdm
    image = rng.random((10, 13, 3))
    expected = pymatting_lbdm(image, radius=radius)
    # PyMatting solves (X X^T + eps I_n) per window, vecmatte the 4 x 4 form: equal up to
    # the conditioning of the windows' colour models.
    assert abs(lbdm_laplacian(image, radius=radius) - expected).max() < 1e-6 * abs(expected).max()


@pytest.mark.parametrize("levels", [2, 5])
def test_images_of_a_few_flat_colours_give_a_positive_semidefinite_laplacian(levels):
    """Where the colour model fits a window almost exactly, the blocks' expansion
    I - X (G^-1 + eps G^-2) X^T left eigenvalues of -6e-10 |L| under rounding (an indefinite
    system, on which conjugate gradient broke down); the product (I - F)(I - F)^T does not."""
    worst = 0.0
    for seed in range(20):
        image = np.round(np.random.default_rng(seed).random((8, 9, 3)) * (levels - 1))
        laplacian = lbdm_laplacian(image / (levels - 1)).toarray()
        worst = min(worst, np.linalg.eigvalsh(laplacian).min() / abs(laplacian).max())
        assert laplacian.diagonal().min() >= 0.0
    assert worst > -1e-14
