"""The shim's estimate_foreground_ml against PyMatting's own (numba) function, small images.

PyMatting relaxes pixels in raster order, vecmatte in red-black order: the same levels, the same
2x2 systems and weights, a different Gauss-Seidel order, so the colours agree closely but not
bit for bit (on the 20 alphamatting.com images, mean |difference| 1e-4 to 9e-4 where
alpha > 0.1: bench/results/foreground.md).
"""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest

from vecmatte import make_scene
from vecmatte.compat import pymatting as shim

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("pymatting") is None,
        reason="PyMatting not installed (it comes with rembg in the test extra)",
    ),
]


@pytest.fixture(scope="module")
def pymatting_ml():
    with warnings.catch_warnings():
        # numba and PyMatting may warn on import (deprecations); not ours to fix.
        warnings.simplefilter("ignore")
        from pymatting import estimate_foreground_ml
    return estimate_foreground_ml


def _scenes():
    yield "soft scene", make_scene((48, 64), seed=0, softness=6.0)
    yield "odd size", make_scene((37, 51), seed=1, softness=3.0)


@pytest.mark.parametrize(("name", "scene"), list(_scenes()))
def test_shim_matches_pymatting(pymatting_ml, name, scene):
    """Measured mean |F - F_pymatting| where alpha > 0.1: 0.0017 and 0.0019, max 0.027, 0.042."""
    expected_f, expected_b = pymatting_ml(scene.image, scene.alpha, return_background=True)
    got_f, got_b = shim.estimate_foreground_ml(scene.image, scene.alpha, return_background=True)
    assert got_f.dtype == expected_f.dtype == np.float32
    assert got_f.shape == expected_f.shape
    where = scene.alpha > 0.1
    difference = np.abs(got_f - expected_f)[where]
    assert difference.mean() < 5e-3, name
    assert difference.max() < 0.1, name
    # Both are far closer to the truth than the photograph is.
    naive = np.abs(scene.image - scene.foreground)[where].mean()
    for foreground in (got_f, expected_f):
        assert np.abs(foreground - scene.foreground)[where].mean() < 0.5 * naive
    where_b = scene.alpha < 0.9
    assert np.abs(got_b - expected_b)[where_b].mean() < 5e-3


def test_shim_and_pymatting_agree_on_a_two_colour_composite(pymatting_ml):
    """Constant F over constant B: both methods' fixed point is the truth."""
    scene = make_scene((40, 44), seed=2, softness=5.0)
    a = scene.alpha[:, :, None]
    true_f, true_b = np.array([0.9, 0.2, 0.1]), np.array([0.1, 0.3, 0.8])
    image = a * true_f + (1 - a) * true_b
    soft = scene.alpha > 0.05
    for function in (pymatting_ml, shim.estimate_foreground_ml):
        foreground = function(image, scene.alpha)
        np.testing.assert_allclose(
            foreground[soft], np.broadcast_to(true_f, image.shape)[soft], atol=1e-4
        )


def test_shim_foreground_alone_equals_foreground_of_both():
    """return_background=False skips the background's output, not its relaxation."""
    scene = make_scene((37, 51), seed=1, softness=3.0)
    alone = shim.estimate_foreground_ml(scene.image, scene.alpha)
    both = shim.estimate_foreground_ml(scene.image, scene.alpha, return_background=True)
    assert alone.dtype == np.float32
    np.testing.assert_array_equal(alone, both[0])
