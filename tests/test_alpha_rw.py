"""Random walk method: its systems against plain-loop Laplacians and direct solves."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg
from reference import loop_random_walk_laplacian, loop_window_weights

from vecmatte.alpha import METHODS, estimate_alpha, solve_alpha
from vecmatte.alpha.rw import build_system


def small_problem(rng, shape=(7, 9)):
    image = rng.random((*shape, 3))
    is_fg = np.zeros(shape, dtype=bool)
    is_bg = np.zeros(shape, dtype=bool)
    is_bg[:, :2] = True
    is_fg[:, -2:] = True
    is_fg[0, 4] = True
    return image, is_fg, is_bg


def pymatting_solution(laplacian, is_fg, is_bg, lam=100.0):
    """PyMatting's make_linear_system + a direct solve: (L + lam C) x = lam fg."""
    known = (is_fg | is_bg).ravel()
    matrix = scipy.sparse.csr_matrix(laplacian) + lam * scipy.sparse.diags(known * 1.0)
    return scipy.sparse.linalg.spsolve(matrix.tocsc(), lam * is_fg.ravel())


@pytest.mark.parametrize("radius", [1, 2])
@pytest.mark.parametrize("sigma", [1 / 30, 0.3])
def test_soft_system_has_pymatting_solution(rng, radius, sigma):
    image, is_fg, is_bg = small_problem(rng)
    weights = loop_window_weights(image, radius, sigma)
    # PyMatting's clamped weights are not symmetric near the border for radius >= 2;
    # vecmatte averages W and W^T there (the same weights for radius 1).
    weights = (weights + weights.T) / 2
    expected = pymatting_solution(loop_random_walk_laplacian(weights, 1e-8), is_fg, is_bg)
    system = build_system(
        image, is_fg, is_bg, sigma=sigma, radius=radius, constraints="soft", min_weight=0.0
    )
    assert abs(system.matrix - system.matrix.T).max() < 1e-12
    x = scipy.sparse.linalg.spsolve(system.matrix.tocsc(), system.rhs)
    np.testing.assert_allclose(x, expected, atol=1e-8)


@pytest.mark.parametrize("radius", [1, 2])
@pytest.mark.parametrize("min_weight", [0.0, 1e-4, 0.05])
def test_hard_system_is_the_reduction_of_the_symmetric_laplacian(rng, radius, min_weight):
    image, is_fg, is_bg = small_problem(rng)
    weights = loop_window_weights(image, radius, 0.3)
    weights = (weights + weights.T) / 2
    # The floor applies to every pair inside a window (where the clamped weight is > 0).
    weights = np.where(weights > 0, np.maximum(weights, min_weight), 0.0)
    laplacian = weights.sum(axis=1)[:, None] * loop_random_walk_laplacian(weights, 1e-8)
    system = build_system(image, is_fg, is_bg, sigma=0.3, radius=radius, min_weight=min_weight)
    known = (is_fg | is_bg).ravel()
    unknown = np.flatnonzero(~known)
    np.testing.assert_array_equal(system.unknown, unknown)
    np.testing.assert_allclose(
        system.matrix.toarray(), laplacian[np.ix_(unknown, unknown)], atol=1e-12
    )
    alpha_known = is_fg.ravel()[known].astype(float)
    np.testing.assert_allclose(
        system.rhs, -laplacian[np.ix_(unknown, np.flatnonzero(known))] @ alpha_known, atol=1e-12
    )
    # The stencil holds the same entries, for ichol.
    rows = np.broadcast_to(np.arange(len(unknown)), system.stencil.neighbors.shape)
    inside = system.stencil.neighbors >= 0
    dense = np.zeros((len(unknown),) * 2)
    np.add.at(
        dense, (rows[inside], system.stencil.neighbors[inside]), system.stencil.values[inside]
    )
    np.testing.assert_allclose(dense, system.matrix.toarray(), atol=1e-12)


def test_radius_one_weights_are_pymatting_s(rng):
    image, is_fg, is_bg = small_problem(rng)
    weights = loop_window_weights(image, 1, 0.3)
    np.testing.assert_allclose(weights, weights.T, atol=1e-15)
    expected = pymatting_solution(loop_random_walk_laplacian(weights, 1e-8), is_fg, is_bg)
    system = build_system(image, is_fg, is_bg, sigma=0.3, constraints="soft", min_weight=0.0)
    x = scipy.sparse.linalg.spsolve(system.matrix.tocsc(), system.rhs)
    np.testing.assert_allclose(x, expected, atol=1e-8)


def test_min_weight_keeps_cut_off_regions_solvable(rng):
    # A dark square inside a white image: exp(-900 * 3) underflows to 0, so without the
    # floor the square's pixels are cut off from every constraint (singular system).
    image = np.ones((12, 12, 3))
    image[4:8, 4:8] = 0.0
    is_fg = np.zeros((12, 12), dtype=bool)
    is_bg = np.zeros((12, 12), dtype=bool)
    is_fg[:, :2] = True
    is_bg[:, -2:] = True
    system = build_system(image, is_fg, is_bg, regularization=0.0)
    assert np.linalg.cond(system.matrix.toarray()) < 1e7
    cut = build_system(image, is_fg, is_bg, regularization=0.0, min_weight=0.0)
    assert np.linalg.matrix_rank(cut.matrix.toarray()) < cut.matrix.shape[0]


def test_sigma_is_honoured(rng):
    image, is_fg, is_bg = small_problem(rng)
    a = build_system(image, is_fg, is_bg, sigma=0.1).matrix
    b = build_system(image, is_fg, is_bg, sigma=0.2).matrix
    assert abs(a - b).max() > 1e-3


def test_estimate_alpha_matches_a_direct_solve(scene):
    result = solve_alpha(scene.image, scene.trimap, method="rw", sigma=0.3, rtol=1e-10)
    assert result.converged
    known = (scene.trimap == 0) | (scene.trimap == 1)
    system = build_system(scene.image, scene.trimap == 1, scene.trimap == 0, sigma=0.3)
    x = scipy.sparse.linalg.spsolve(system.matrix.tocsc(), system.rhs)
    np.testing.assert_array_equal(system.unknown, np.flatnonzero(~known.ravel()))
    np.testing.assert_allclose(result.alpha.ravel()[system.unknown], np.clip(x, 0, 1), atol=1e-7)
    np.testing.assert_array_equal(result.alpha[known], scene.trimap[known])


def test_registered_with_jacobi():
    assert METHODS["rw"].preconditioner == "jacobi"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"sigma": 0.0}, "sigma must be a positive finite number"),
        ({"radius": 0}, "radius must be a positive integer"),
        ({"radius": 1e300}, "radius must be smaller than the image"),
        ({"regularization": -1.0}, "regularization must be"),
        ({"constraints": "both"}, "constraints must be 'hard' or 'soft'"),
        ({"lam": -1.0}, "lam must be a positive finite number"),
        ({"min_weight": 2.0}, "min_weight must be a number in"),
    ],
)
def test_options_are_checked(scene, options, message):
    with pytest.raises(ValueError, match=message):
        estimate_alpha(scene.image, scene.trimap, method="rw", **options)


def test_a_float32_sigma_at_its_bound_is_taken(scene):
    # np.float32(1e-6) is 9.99999997e-07: it was refused as below the 1e-6 the message asks
    # for; it now reads as the bound itself.
    from vecmatte.alpha.rw import check_options

    assert check_options((40, 50, 3), sigma=np.float32(1e-6))["sigma"] == 1e-6
    with pytest.raises(ValueError, match="sigma must be at least 1e-06"):
        check_options((40, 50, 3), sigma=np.float32(9e-7))
