"""Hard- and soft-constraint systems from a Laplacian, against direct sparse solves."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg
from reference import direct_alpha

import vecmatte
from vecmatte.laplacians.closed_form import matting_laplacian
from vecmatte.systems import hard_constraint_system, soft_constraint_system
from vecmatte.trimap import trimap_split


@pytest.fixture(scope="module")
def problem():
    scene = vecmatte.make_scene((20, 23), seed=3, band=2)
    is_fg, is_bg, _ = trimap_split(scene.trimap)
    return scene, is_fg, is_bg, matting_laplacian(scene.image, eps=1e-6)


def test_hard_constraints_solve_to_the_reference(problem):
    scene, is_fg, is_bg, laplacian = problem
    system = hard_constraint_system(laplacian, is_fg, is_bg)
    alpha = is_fg.astype(float)
    alpha.ravel()[system.unknown] = scipy.sparse.linalg.spsolve(system.matrix.tocsc(), system.rhs)
    np.testing.assert_allclose(alpha, direct_alpha(laplacian, scene.trimap), atol=1e-9)
    assert system.shape == is_fg.shape and system.reach is None


def test_matrix_free_hard_constraints_match_the_sparse_ones(problem):
    _, is_fg, is_bg, laplacian = problem
    sparse = hard_constraint_system(laplacian, is_fg, is_bg)
    operator = scipy.sparse.linalg.aslinearoperator(laplacian)
    free = hard_constraint_system(operator, is_fg, is_bg)
    x = np.random.default_rng(0).random(len(sparse.unknown))
    np.testing.assert_allclose(free.matrix @ x, sparse.matrix @ x, atol=1e-12)
    np.testing.assert_allclose(free.rhs, sparse.rhs, atol=1e-12)
    assert free.diagonal is None  # aslinearoperator has no diagonal()


def test_soft_constraints_are_the_penalty_system(problem):
    _, is_fg, is_bg, laplacian = problem
    lam = 50.0
    system = soft_constraint_system(laplacian, is_fg, is_bg, lam=lam)
    n = is_fg.size
    known = (is_fg | is_bg).ravel()
    expected = laplacian + lam * scipy.sparse.diags(known.astype(float))
    assert abs(system.matrix - expected).max() == 0.0
    np.testing.assert_array_equal(system.rhs, lam * is_fg.ravel())
    np.testing.assert_array_equal(system.unknown, np.arange(n))
    # A plain loop: minimise a^T L a + lam sum_known (a_i - fg_i)^2 by its normal equations.
    dense = laplacian.toarray()
    for i in np.flatnonzero(known):
        dense[i, i] += lam
    alpha = np.linalg.solve(dense, lam * is_fg.ravel().astype(float))
    got = scipy.sparse.linalg.spsolve(system.matrix.tocsc(), system.rhs)
    np.testing.assert_allclose(got, alpha, atol=1e-8)


def test_soft_constraints_approach_hard_ones_as_lambda_grows(problem):
    scene, is_fg, is_bg, laplacian = problem
    hard = direct_alpha(laplacian, scene.trimap).ravel()
    errors = []
    for lam in (1e2, 1e6):
        system = soft_constraint_system(laplacian, is_fg, is_bg, lam=lam)
        errors.append(
            np.abs(scipy.sparse.linalg.spsolve(system.matrix.tocsc(), system.rhs) - hard).max()
        )
    assert errors[1] < errors[0] / 100


def test_matrix_free_soft_constraints_keep_the_diagonal(problem):
    _, is_fg, is_bg, laplacian = problem

    class Operator(scipy.sparse.linalg.LinearOperator):
        def __init__(self, matrix):
            super().__init__(np.float64, matrix.shape)
            self.inner = matrix

        def _matvec(self, x):
            return self.inner @ x

        def diagonal(self):
            return self.inner.diagonal()

    sparse = soft_constraint_system(laplacian, is_fg, is_bg)
    free = soft_constraint_system(Operator(laplacian), is_fg, is_bg)
    x = np.random.default_rng(1).random(is_fg.size)
    np.testing.assert_allclose(free.matrix @ x, sparse.matrix @ x, atol=1e-10)
    np.testing.assert_allclose(free.diagonal, sparse.matrix.diagonal())


@pytest.mark.parametrize("lam", [0.0, -1.0, float("nan")])
def test_soft_constraints_refuse_a_bad_lambda(problem, lam):
    _, is_fg, is_bg, laplacian = problem
    with pytest.raises(ValueError, match="lam must be a positive finite number"):
        soft_constraint_system(laplacian, is_fg, is_bg, lam=lam)


def test_coordinates_are_the_pixels(problem):
    _, is_fg, is_bg, laplacian = problem
    system = hard_constraint_system(laplacian, is_fg, is_bg)
    ys, xs = system.coordinates()
    np.testing.assert_array_equal(ys * is_fg.shape[1] + xs, system.unknown)
    assert scipy.sparse.issparse(system.matrix)
