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
    # The second solve reuses the first one's plan of views, on another right-hand side.
    rhs = rng.random(5)
    np.testing.assert_allclose(factor.solve(rhs), np.linalg.solve(original, rhs), rtol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_factor_with_empty_and_boundaryless_nodes_solves(rng, dtype):
    # Nodes: 0:2 reaching [4, 5], an empty node, 2:4 with no boundary (a separate block),
    # 4:6 the root; solved against the dense matrix L L^T made from the same panels.
    blocks = [_dense_spd(rng, 2) for _ in range(3)]
    n = 6
    lower = np.zeros((n, n))
    first = np.vstack([np.linalg.cholesky(blocks[0]), rng.random((2, 2))])
    lower[0:2, 0:2], lower[4:6, 0:2] = first[:2], first[2:]
    lower[2:4, 2:4] = np.linalg.cholesky(blocks[1])
    lower[4:6, 4:6] = np.linalg.cholesky(blocks[2])
    panels = [first, np.zeros((0, 0)), lower[2:4, 2:4].copy(), lower[4:6, 4:6].copy()]
    panels = [panel.astype(dtype) for panel in panels]
    boundaries = [np.array([4, 5]), np.zeros(0, int), np.zeros(0, int), np.zeros(0, int)]
    order = rng.permutation(n)
    factor = PanelFactor(order, np.array([0, 2, 2, 4, 6]), boundaries, panels)
    matrix = np.empty((n, n))
    matrix[np.ix_(order, order)] = lower @ lower.T
    rhs = rng.random(n)
    got = factor.solve(rhs)
    assert got.dtype == np.float64
    tolerance = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(got, np.linalg.solve(matrix, rhs), rtol=tolerance)


def test_factor_panel_names_the_node_that_breaks_down():
    panel = np.array([[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(np.linalg.LinAlgError, match="front 7 is not positive definite"):
        factor_panel(panel, 2, "front 7")
