"""The panel helpers shared by the envelope and multifrontal factors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse

from vecmatte.linalg._panel import (
    PanelFactor,
    factor_dtype,
    factor_panel,
    gather_rows,
    inverse_permutation,
)


def test_inverse_permutation(rng):
    order = rng.permutation(50)
    position = inverse_permutation(order)
    np.testing.assert_array_equal(position[order], np.arange(50))
    np.testing.assert_array_equal(order[position], np.arange(50))


def test_gather_rows_matches_a_loop(rng):
    matrix = scipy.sparse.random(30, 30, density=0.2, random_state=1, format="csr")
    rows = np.array([3, 0, 17, 29, 17])
    which, columns, values = gather_rows(matrix, rows)
    expected = [(i, c, matrix[r, c]) for i, r in enumerate(rows) for c in matrix[r].indices]
    assert list(zip(which, columns, values, strict=True)) == expected


@pytest.mark.parametrize("dtype", [np.int32, np.float16, np.complex128])
def test_factor_dtype_refuses_others(dtype):
    with pytest.raises(ValueError, match="float32 or float64"):
        factor_dtype(dtype)


def _dense_spd(rng, n):
    a = rng.random((n, n))
    return a @ a.T + n * np.eye(n)


@pytest.mark.parametrize("contiguous", [True, False])
def test_two_node_factor_solves_exactly(rng, contiguous):
    # Node 0 = columns 0:3 reaching rows 3:5 (a slice, as an envelope) or [3, 4] (an index
    # array, as a multifrontal front); node 1 = columns 3:5, the Schur complement.
    a = _dense_spd(rng, 5)
    first = a[:, :3].copy()
    factor_panel(first, 3, "node 0")
    schur = a[3:, 3:] - first[3:] @ first[3:].T
    second = schur.copy()
    factor_panel(second, 2, "node 1")
    boundary = slice(3, 5) if contiguous else np.array([3, 4])
    order = rng.permutation(5)
    factor = PanelFactor(order, np.array([0, 3, 5]), [boundary, np.zeros(0, int)], [first, second])
    assert factor.nnz == first.size + second.size
    # P A P^T = L L^T with P the permutation by order: A = the matrix a in the new order.
    original = np.empty_like(a)
    original[np.ix_(order, order)] = a
    rhs = rng.random(5)
    np.testing.assert_allclose(factor.solve(rhs), np.linalg.solve(original, rhs), rtol=1e-10)


def test_factor_panel_names_the_node_that_breaks_down():
    panel = np.array([[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(np.linalg.LinAlgError, match="front 7 is not positive definite"):
        factor_panel(panel, 2, "front 7")
