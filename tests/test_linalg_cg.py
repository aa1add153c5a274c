"""Conjugate gradient against direct sparse solves."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg

from vecmatte.linalg.cg import ConvergenceWarning, conjugate_gradient, warn_not_converged


def _spd_matrix(rng, n=60):
    """A sparse, symmetric positive definite matrix (a 1-D Laplacian plus a random diagonal)."""
    main = 2.0 + rng.random(n)
    off = -np.ones(n - 1)
    return scipy.sparse.diags([off, main, off], [-1, 0, 1], format="csr")


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


def test_starting_guess_is_used(rng):
    matrix = _spd_matrix(rng)
    rhs = rng.random(matrix.shape[0])
    exact = scipy.sparse.linalg.spsolve(matrix.tocsc(), rhs)
    result = conjugate_gradient(matrix, rhs, x0=exact, rtol=1e-8)
    assert result.iterations == 0 and result.converged


def test_warning_names_the_residual_and_rtol(rng):
    matrix = _spd_matrix(rng, n=200)
    result = conjugate_gradient(matrix, rng.random(200), rtol=1e-12, maxiter=2)
    with pytest.warns(ConvergenceWarning, match=r"2 iterations .* above rtol=1e-12"):
        warn_not_converged(result, 1e-12)


def _operator(shape, function):
    return scipy.sparse.linalg.LinearOperator(shape, matvec=function, dtype=float)


@pytest.mark.parametrize(
    "case",
    ["preconditioner that maps the residual to zero", "indefinite preconditioner", "NaN"],
)
def test_breakdown_is_reported_not_raised(case, rng):
    # A float32 factor of a nearly singular system can act like these: CG must stop with a
    # diagnosis instead of dividing by zero (ZeroDivisionError) or iterating on NaN.
    matrix = _spd_matrix(rng)
    n = matrix.shape[0]
    rhs = rng.random(n)
    functions = {
        "preconditioner that maps the residual to zero": lambda x: np.zeros(n),
        "indefinite preconditioner": lambda x: -x.ravel(),
        "NaN": lambda x: np.full(n, np.nan),
    }
    preconditioner = _operator(matrix.shape, functions[case])
    result = conjugate_gradient(matrix, rhs, preconditioner=preconditioner, maxiter=50)
    assert result.breakdown and not result.converged
    assert result.iterations == 0
    with pytest.warns(ConvergenceWarning, match="broke down"):
        warn_not_converged(result, 1e-6)


def test_indefinite_matrix_breaks_down_after_the_curvature_turns_negative(rng):
    matrix = scipy.sparse.diags(np.r_[np.ones(5), -np.ones(5)], format="csr")
    rhs = np.ones(10)
    result = conjugate_gradient(matrix, rhs, maxiter=50)
    assert result.breakdown and not result.converged
    # The exact solution is +-1; CG's first curvature p^T A p = 0 here, so nothing was taken.
    assert result.iterations == 0
    np.testing.assert_array_equal(result.x, np.zeros(10))


def test_no_breakdown_on_positive_definite_systems(rng):
    matrix = _spd_matrix(rng)
    rhs = rng.random(matrix.shape[0])
    result = conjugate_gradient(matrix, rhs, maxiter=3)
    assert not result.breakdown and not result.converged
    with pytest.warns(ConvergenceWarning, match="stopped after 3 iterations"):
        warn_not_converged(result, 1e-6)


@pytest.mark.parametrize(
    ("keywords", "match"),
    [
        ({"x0": np.zeros(11)}, r"x0 must have shape \(10,\), as rhs, got shape \(11,\)"),
        ({"x0": 0.0}, r"x0 must have shape \(10,\)"),
        ({"x0": np.zeros((10, 2))}, r"x0 must have shape \(10,\)"),
        ({"x0": np.full(10, np.nan)}, "x0 has NaN or infinite entries"),
        ({"x0": np.r_[np.zeros(9), np.inf]}, "x0 has NaN or infinite entries"),
        ({"rhs": np.full(10, np.nan)}, "rhs has NaN or infinite entries"),
        ({"rhs": np.full(10, 1e300)}, "too large to square"),
        ({"rhs": np.ones((2, 5))}, r"rhs must have shape \(n,\)"),
        ({"rtol": float("nan")}, "rtol must be a number of at least 0"),
        ({"rtol": -1e-6}, "rtol must be a number of at least 0"),
        ({"maxiter": -1}, "maxiter must be None or at least 0"),
    ],
)
def test_inputs_that_cannot_be_solved_are_refused_in_one_line(keywords, match):
    # They ran into NaN residuals reported as a breakdown ("not positive definite"), or
    # NumPy's matmul dimension errors.
    matrix = scipy.sparse.diags(np.full(10, 2.0), format="csr")
    rhs = keywords.pop("rhs", np.ones(10))
    with pytest.raises(ValueError, match=match) as caught:
        conjugate_gradient(matrix, rhs, **keywords)
    assert "\n" not in str(caught.value)


def test_a_column_rhs_and_x0_are_read_as_vectors(rng):
    # As SciPy's cg reads them.
    matrix = _spd_matrix(rng)
    rhs = rng.random(matrix.shape[0])
    flat = conjugate_gradient(matrix, rhs, x0=np.zeros(len(rhs)), rtol=1e-10)
    column = conjugate_gradient(matrix, rhs[:, None], x0=np.zeros((len(rhs), 1)), rtol=1e-10)
    assert column.x.shape == rhs.shape
    np.testing.assert_array_equal(column.x, flat.x)
    assert column.iterations == flat.iterations


def test_maxiter_zero_returns_the_start():
    matrix = scipy.sparse.diags(np.full(10, 2.0), format="csr")
    result = conjugate_gradient(matrix, np.ones(10), x0=np.full(10, 0.25), maxiter=0)
    assert result.iterations == 0 and not result.converged
    np.testing.assert_array_equal(result.x, np.full(10, 0.25))
