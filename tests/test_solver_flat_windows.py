"""An iterative solve of LBDM on flat colours is warned about: its residual bounds no error.

LBDM's blocks over windows of one flat colour are of the order of eps: on a thresholded
scene the system's condition is ~1e13, and jacobi or ichol stop at rtol 1e-6 with mattes up
to 1 away from the system's solution (what 'direct', LBDM's default, finds).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import vecmatte
from vecmatte import ConvergenceWarning
from vecmatte.synthetic import make_scene
from vecmatte.systems import flat_window_fraction
from vecmatte.trimap import trimap_split


def _thresholded(seed: int = 3):
    scene = make_scene((60, 80), seed=seed)
    return (scene.image > 0.5).astype(float), scene.trimap


@pytest.mark.parametrize("preconditioner", ["jacobi", "ichol"])
def test_an_iterative_solve_on_flat_colours_is_warned_about(preconditioner):
    image, trimap = _thresholded()
    with pytest.warns(ConvergenceWarning, match="flat colour.*'direct'") as caught:
        result = vecmatte.solve_alpha(image, trimap, method="lbdm", preconditioner=preconditioner)
    assert len(caught) == 1
    # What the warning is about: the residual stop was reached far from the solution.
    assert result.converged
    exact = vecmatte.solve_alpha(image, trimap, method="lbdm").alpha
    assert np.abs(result.alpha - exact).max() > 0.3


def test_the_default_direct_solve_of_flat_colours_is_not_warned_about():
    image, trimap = _thresholded()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vecmatte.estimate_alpha(image, trimap, method="lbdm")


def test_an_iterative_solve_of_a_natural_scene_is_not_warned_about():
    scene = make_scene((60, 80), seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vecmatte.estimate_alpha(scene.image, scene.trimap, method="lbdm", preconditioner="jacobi")


def test_flat_window_fraction_against_a_loop():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 2, size=(9, 11, 3)).astype(float)
    image[2:7, 3:9] = 0.25
    unknown = rng.random((9, 11)) < 0.6
    for radius in (1, 2):
        flat = 0
        for y, x in zip(*np.nonzero(unknown), strict=True):
            window = image[
                max(y - radius, 0) : y + radius + 1, max(x - radius, 0) : x + radius + 1
            ].reshape(-1, 3)
            flat += bool((window == window[0]).all())
        expected = flat / unknown.sum()
        assert flat_window_fraction(image, unknown, radius) == pytest.approx(expected)
    assert flat_window_fraction(image, np.zeros((9, 11), bool)) == 0.0


def test_photograph_like_noise_has_no_flat_window():
    scene = make_scene((60, 80), seed=1)
    unknown = trimap_split(scene.trimap)[2]
    assert flat_window_fraction(scene.image, unknown) == 0.0
