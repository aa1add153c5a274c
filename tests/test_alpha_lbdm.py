"""LBDM method: its systems against the plain-loop Laplacian, solved directly."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg
from reference import loop_lbdm_laplacian

from vecmatte.alpha import METHODS, estimate_alpha, solve_alpha
from vecmatte.alpha.lbdm import build_system


def small_problem(rng, shape=(8, 9)):
    image = rng.random((*shape, 3))
    is_fg = np.zeros(shape, dtype=bool)
    is_bg = np.zeros(shape, dtype=bool)
    is_bg[:, :2] = True
    is_fg[:, -2:] = True
    is_fg[0, 4] = True
    return image, is_fg, is_bg


@pytest.mark.parametrize("radius", [1, 2])
def test_hard_system_is_the_reduction_of_the_loop_laplacian(rng, radius):
    image, is_fg, is_bg = small_problem(rng)
    laplacian = loop_lbdm_laplacian(image, 1e-7, radius)
    system = build_system(image, is_fg, is_bg, radius=radius)
    known = (is_fg | is_bg).ravel()
    unknown = np.flatnonzero(~known)
    scale = abs(laplacian).max()
    np.testing.assert_allclose(
        system.matrix.toarray(), laplacian[np.ix_(unknown, unknown)], atol=1e-7 * scale
    )
    expected_rhs = -laplacian[np.ix_(unknown, np.flatnonzero(known))] @ is_fg.ravel()[known]
    np.testing.assert_allclose(system.rhs, expected_rhs, atol=1e-7 * scale)
    assert system.reach == 2 * radius


def test_soft_system_has_pymatting_solution(rng):
    image, is_fg, is_bg = small_problem(rng)
    known = (is_fg | is_bg).ravel()
    matrix = loop_lbdm_laplacian(image) + 100.0 * np.diag(known * 1.0)
    expected = np.linalg.solve(matrix, 100.0 * is_fg.ravel())
    system = build_system(image, is_fg, is_bg, constraints="soft")
    x = scipy.sparse.linalg.spsolve(system.matrix.tocsc(), system.rhs)
    np.testing.assert_allclose(x, expected, atol=1e-6)


def test_estimate_alpha_matches_a_direct_solve(scene):
    result = solve_alpha(scene.image, scene.trimap, method="lbdm", rtol=1e-10)
    assert result.converged
    system = build_system(scene.image, scene.trimap == 1, scene.trimap == 0)
    x = scipy.sparse.linalg.spsolve(system.matrix.tocsc(), system.rhs)
    np.testing.assert_allclose(result.alpha.ravel()[system.unknown], np.clip(x, 0, 1), atol=1e-6)
    unknown = (scene.trimap > 0) & (scene.trimap < 1)
    assert np.abs(result.alpha - scene.alpha)[unknown].mean() < 0.05


def test_registered_with_direct():
    assert METHODS["lbdm"].preconditioner == "direct"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"eps": -1.0}, "eps must be a positive finite number"),
        ({"radius": 30}, "smaller than one"),
        ({"constraints": "both"}, "constraints must be 'hard' or 'soft'"),
    ],
)
def test_options_are_checked(scene, options, message):
    with pytest.raises(ValueError, match=message):
        estimate_alpha(scene.image, scene.trimap, method="lbdm", **options)


@pytest.mark.parametrize("constraints", ["hard", "soft"])
def test_an_image_of_two_colours_is_solved(constraints):
    """The synthetic scene thresholded to 0/1 colours: conjugate gradient broke down after
    one iteration (a ConvergenceWarning, an error under the suite's filters) on the
    indefinite system that rounding made of the Laplacian's expanded window blocks."""
    from vecmatte.synthetic import make_scene

    scene = make_scene((30, 40), seed=1)
    image = (scene.image > 0.5).astype(np.float64)
    result = solve_alpha(image, scene.trimap, method="lbdm", constraints=constraints, rtol=1e-10)
    assert result.converged
    system = build_system(image, scene.trimap == 1, scene.trimap == 0, constraints=constraints)
    x = scipy.sparse.linalg.spsolve(system.matrix.tocsc(), system.rhs)
    # Two flat colours leave the system's condition number at about 1e14: the iterative and
    # the direct solution agree to what that allows, not to rtol.
    np.testing.assert_allclose(result.alpha.ravel()[system.unknown], np.clip(x, 0, 1), atol=0.01)
