"""KNN method: its systems against brute-force weights and PyMatting's system, solved directly."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg
from reference import loop_knn_weights, loop_random_walk_laplacian

from vecmatte.alpha import METHODS, estimate_alpha, solve_alpha
from vecmatte.alpha.knn import build_system
from vecmatte.synthetic import make_scene

OPTIONS = {"n_neighbors": (6, 3), "distance_weights": (2.0, 0.1)}


def small_problem(rng, shape=(6, 7)):
    image = rng.random((*shape, 3))
    is_fg = np.zeros(shape, dtype=bool)
    is_bg = np.zeros(shape, dtype=bool)
    is_bg[:, :2] = True
    is_fg[:, -2:] = True
    return image, is_fg, is_bg


@pytest.mark.parametrize("kernel", ["binary", "soft"])
def test_soft_system_has_pymatting_solution(rng, kernel):
    image, is_fg, is_bg = small_problem(rng)
    weights = loop_knn_weights(image, kernel=kernel, **OPTIONS)
    known = (is_fg | is_bg).ravel()
    # PyMatting: (I - D^-1 W + 100 C) x = 100 fg, not symmetric.
    pymatting_matrix = loop_random_walk_laplacian(weights) + 100.0 * np.diag(known * 1.0)
    expected = np.linalg.solve(pymatting_matrix, 100.0 * is_fg.ravel())
    system = build_system(image, is_fg, is_bg, kernel=kernel, constraints="soft", **OPTIONS)
    assert abs(system.matrix - system.matrix.T).max() < 1e-12
    assert system.reach is None
    x = scipy.sparse.linalg.spsolve(system.matrix.tocsc(), system.rhs)
    np.testing.assert_allclose(x, expected, atol=1e-6)


def test_hard_system_is_the_reduction_of_d_minus_w(rng):
    image, is_fg, is_bg = small_problem(rng)
    weights = loop_knn_weights(image, **OPTIONS)
    laplacian = np.diag(weights.sum(axis=1)) - weights
    system = build_system(image, is_fg, is_bg, **OPTIONS)
    known = (is_fg | is_bg).ravel()
    unknown = np.flatnonzero(~known)
    np.testing.assert_allclose(system.matrix.toarray(), laplacian[np.ix_(unknown, unknown)])
    expected_rhs = -laplacian[np.ix_(unknown, np.flatnonzero(known))] @ is_fg.ravel()[known]
    np.testing.assert_allclose(system.rhs, expected_rhs)


def test_estimate_alpha_matches_a_direct_solve(scene):
    unknown = (scene.trimap > 0) & (scene.trimap < 1)
    for constraints in ("hard", "soft"):
        options = dict(method="knn", constraints=constraints, rtol=1e-10)
        result = solve_alpha(scene.image, scene.trimap, **options)
        assert result.converged
        system = build_system(
            scene.image, scene.trimap == 1, scene.trimap == 0, **options_of(options)
        )
        x = np.zeros(scene.trimap.size)
        x[system.unknown] = scipy.sparse.linalg.spsolve(system.matrix.tocsc(), system.rhs)
        expected = np.clip(x.reshape(scene.trimap.shape)[unknown], 0, 1)
        np.testing.assert_allclose(result.alpha[unknown], expected, atol=1e-6)
    # A composite whose colours separate foreground from background: a good matte.
    assert np.abs(result.alpha - scene.alpha)[unknown].mean() < 0.1


def options_of(options):
    return {key: value for key, value in options.items() if key == "constraints"}


def test_registered_with_jacobi():
    assert METHODS["knn"].preconditioner == "jacobi"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"n_neighbors": (5, 3), "distance_weights": (1.0,)}, "same, non-zero length"),
        ({"kernel": "gaussian"}, "kernel must be 'binary' or 'soft'"),
        ({"constraints": "both"}, "constraints must be 'hard' or 'soft'"),
    ],
)
def test_options_are_checked(scene, options, message):
    with pytest.raises(ValueError, match=message):
        estimate_alpha(scene.image, scene.trimap, method="knn", **options)


@pytest.mark.parametrize("constraints", ["hard", "soft"])
def test_a_soft_kernel_with_negative_weights_is_refused_before_the_solve(constraints):
    # Before: 1 - d/5 < 0 for neighbours more than 5 apart in the features, and conjugate
    # gradient broke down (ConvergenceWarning, an error here) on this scene at 150.
    scene = make_scene((60, 80), seed=0)
    options = dict(kernel="soft", constraints=constraints)
    with pytest.raises(ValueError, match=r"distance_weights entry 150\.0 is too large") as error:
        estimate_alpha(
            scene.image, scene.trimap, method="knn", distance_weights=(150, 0.1), **options
        )
    assert "\n" not in str(error.value) and "at most 1" in str(error.value)
    alpha = estimate_alpha(
        scene.image, scene.trimap, method="knn", distance_weights=(1, 0.1), **options
    )
    assert np.abs(alpha - scene.alpha).mean() < 0.01


@pytest.mark.parametrize("kernel", ["binary", "soft"])
@pytest.mark.parametrize("flat", [False, True], ids=["random", "flat image, no position"])
def test_hard_system_equals_the_one_from_the_full_weights(rng, kernel, flat):
    # The hard system is formed from the searches without W_uk; it must equal the system
    # graph_system forms from the whole matrix W, also when pixels share their features
    # (a flat image without position: some pixels are not their own neighbours).
    from vecmatte.alpha.rw import graph_system
    from vecmatte.laplacians.knn import knn_weights

    image, is_fg, is_bg = small_problem(rng, shape=(9, 10))
    options = dict(OPTIONS, kernel=kernel)
    if flat:
        image[...] = 0.25
        options["distance_weights"] = (0.0, 0.0)
    system = build_system(image, is_fg, is_bg, **options)
    expected = graph_system(knn_weights(image, **options), is_fg, is_bg, constraints="hard")
    np.testing.assert_array_equal(system.unknown, expected.unknown)
    assert abs(system.matrix - expected.matrix).max() <= 1e-12
    np.testing.assert_allclose(system.rhs, expected.rhs, rtol=0, atol=1e-12)
    if kernel == "binary" and not flat:
        assert (system.matrix != expected.matrix).nnz == 0


def test_more_than_33_neighbours_are_searched_with_pruning():
    # Before: with hard constraints and up to 45 % unknown pixels (the known pixels' searches
    # pruned), n_neighbors of 34 or more raised NumPy's "kth(=32) out of bounds (32)".
    from vecmatte.alpha.rw import graph_system
    from vecmatte.laplacians.knn import knn_weights

    scene = make_scene((60, 80), seed=0)  # 28 % unknown pixels
    is_fg, is_bg = scene.trimap > 0.9, scene.trimap < 0.1
    options = {"n_neighbors": (40, 10), "distance_weights": (2.0, 0.1)}
    system = build_system(scene.image, is_fg, is_bg, **options)
    expected = graph_system(knn_weights(scene.image, **options), is_fg, is_bg, constraints="hard")
    assert (system.matrix != expected.matrix).nnz == 0
    np.testing.assert_array_equal(system.rhs, expected.rhs)
