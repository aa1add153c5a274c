"""The reduced system, conjugate gradient and the preconditioners, against direct linear algebra."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg
from reference import incomplete_cholesky, naive_laplacian

import vecmatte
from vecmatte.alpha.cf import build_system
from vecmatte.linalg.cg import conjugate_gradient
from vecmatte.preconditioners import (
    PRECONDITIONERS,
    build_preconditioner,
    ichol,
    resolve_preconditioner,
)
from vecmatte.trimap import trimap_split


@pytest.fixture(scope="module")
def system():
    scene = vecmatte.make_scene((24, 30), seed=5, band=2)
    is_fg, is_bg, unknown = trimap_split(scene.trimap)
    reduced = build_system(scene.image, is_fg, is_bg, eps=1e-7, radius=1)
    return scene, is_fg, unknown, reduced


def _spd_matrix(rng, n=60):
    """A sparse, symmetric positive definite matrix (a 1-D Laplacian plus a random diagonal)."""
    main = 2.0 + rng.random(n)
    off = -np.ones(n - 1)
    return scipy.sparse.diags([off, main, off], [-1, 0, 1], format="csr")


@pytest.mark.parametrize("radius", [1, 2])
def test_reduced_system_is_laplacian_block(radius, rng):
    # A random image (well-conditioned window covariances) with the trimap of a small scene.
    trimap = vecmatte.make_scene((16, 19), seed=2, band=2).trimap
    image = rng.random((16, 19, 3))
    is_fg, is_bg, unknown = trimap_split(trimap)
    reduced = build_system(image, is_fg, is_bg, eps=1e-7, radius=radius)
    full = naive_laplacian(image, eps=1e-7, radius=radius)
    u = unknown.ravel()
    np.testing.assert_array_equal(reduced.unknown, np.flatnonzero(u))
    expected_matrix = full[u][:, u]
    expected_rhs = -(full[u][:, ~u] @ is_fg.ravel()[~u].astype(float))
    assert abs(reduced.matrix - expected_matrix).max() < 1e-10
    np.testing.assert_allclose(reduced.rhs, expected_rhs, atol=1e-10)


def test_reduced_matrix_is_symmetric_positive_definite(system):
    _, _, _, reduced = system
    dense = reduced.matrix.toarray()
    # Colour-line windows have covariances of condition ~1e7 at eps=1e-7: allow rounding.
    assert abs(dense - dense.T).max() < 1e-10 * abs(dense).max()
    np.linalg.cholesky(dense)  # raises LinAlgError unless positive definite


@pytest.mark.parametrize("diagonal_preconditioner", [False, True])
def test_cg_matches_spsolve(diagonal_preconditioner, rng):
    matrix = _spd_matrix(rng)
    rhs = rng.random(matrix.shape[0])
    expected = scipy.sparse.linalg.spsolve(matrix.tocsc(), rhs)
    preconditioner = None
    if diagonal_preconditioner:
        inverse = 1.0 / matrix.diagonal()
        preconditioner = scipy.sparse.linalg.LinearOperator(
            matrix.shape, matvec=lambda x: inverse * x.ravel(), dtype=float
        )
    result = conjugate_gradient(matrix, rhs, preconditioner=preconditioner, rtol=1e-12)
    assert result.converged
    assert result.residual <= 1e-12
    np.testing.assert_allclose(result.x, expected, atol=1e-9)


@pytest.mark.parametrize("name", list(PRECONDITIONERS))
def test_cg_on_matting_system_matches_spsolve(name, system):
    _, _, _, reduced = system
    preconditioner = build_preconditioner(reduced, name)
    calls = []
    result = conjugate_gradient(
        reduced.matrix,
        reduced.rhs,
        preconditioner=preconditioner,
        rtol=1e-10,
        callback=lambda i, r: calls.append((i, r)),
    )
    expected = scipy.sparse.linalg.spsolve(reduced.matrix.tocsc(), reduced.rhs)
    assert result.converged
    np.testing.assert_allclose(result.x, expected, atol=1e-6)
    # The callback sees every iteration, and the reported residual is the true one.
    assert [i for i, _ in calls] == list(range(1, result.iterations + 1))
    true_residual = np.linalg.norm(reduced.rhs - reduced.matrix @ result.x) / np.linalg.norm(
        reduced.rhs
    )
    assert true_residual == pytest.approx(result.residual, rel=1e-3, abs=1e-13)


@pytest.mark.parametrize("name", [name for name in PRECONDITIONERS if name != "none"])
def test_preconditioner_is_symmetric_positive_definite(name, system):
    _, _, _, reduced = system
    operator = build_preconditioner(reduced, name)
    n = reduced.matrix.shape[0]
    dense = np.column_stack([operator @ column for column in np.eye(n)])
    assert np.all(np.isfinite(dense))
    # Symmetric up to the precision it is computed in (a float32 factor gives ~1e-7).
    assert abs(dense - dense.T).max() < 1e-5 * abs(dense).max()
    assert np.linalg.eigvalsh((dense + dense.T) / 2).min() > 0


def test_preconditioners_reduce_iterations(system):
    _, _, _, reduced = system
    iterations = {}
    for name in PRECONDITIONERS:
        preconditioner = build_preconditioner(reduced, name)
        result = conjugate_gradient(
            reduced.matrix, reduced.rhs, preconditioner=preconditioner, rtol=1e-8
        )
        iterations[name] = result.iterations
    assert iterations["ichol"] < iterations["none"] / 2, iterations


def test_ichol_converges_to_exact_incomplete_cholesky(system):
    # The fixed-point sweeps converge to the IC(0) factor; with many sweeps the operator must
    # be (L L^T)^-1 for the L of a plain row-by-row IC(0) on the same sparsity pattern.
    _, _, _, reduced = system
    lower = incomplete_cholesky(reduced.matrix)
    x = np.random.default_rng(0).random(reduced.matrix.shape[0])
    expected = np.linalg.solve(lower.T, np.linalg.solve(lower, x))
    operator = ichol.build(reduced, sweeps=200)
    np.testing.assert_allclose(operator @ x, expected, rtol=1e-8, atol=1e-10 * abs(expected).max())


def test_unknown_preconditioner_named():
    with pytest.raises(ValueError, match=r"unknown preconditioner 'multigrid'.*ichol"):
        resolve_preconditioner("multigrid")


def test_zero_rhs_returns_zero(rng):
    matrix = _spd_matrix(rng)
    result = conjugate_gradient(matrix, np.zeros(matrix.shape[0]))
    assert result.converged and result.iterations == 0
    np.testing.assert_array_equal(result.x, 0.0)


def test_not_converged_is_reported(rng):
    matrix = _spd_matrix(rng, n=200)
    rhs = rng.random(200)
    result = conjugate_gradient(matrix, rhs, rtol=1e-12, maxiter=3)
    assert not result.converged
    assert result.iterations == 3
    true_residual = np.linalg.norm(rhs - matrix @ result.x) / np.linalg.norm(rhs)
    assert result.residual == pytest.approx(true_residual, rel=1e-6)
    assert result.residual > 1e-12
