"""The envelope Cholesky factorisation against dense and sparse direct solves."""

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg

from vecmatte.alpha import solve_alpha
from vecmatte.alpha.cf import build_system
from vecmatte.linalg import envelope as cholesky
from vecmatte.preconditioners import direct
from vecmatte.synthetic import make_scene
from vecmatte.systems import MattingSystem
from vecmatte.trimap import trimap_split


def _random_spd_grid_matrix(shape, seed):
    """Sparse SPD matrix with a 5x5-stencil pattern on a grid, like the matting systems."""
    rng = np.random.default_rng(seed)
    h, w = shape
    n = h * w
    index = np.arange(n).reshape(shape)
    rows, cols = [], []
    for dy in range(-2, 3):
        for dx in range(-2, 3):
            src = index[max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)]
            dst = index[max(0, dy) : h + min(0, dy), max(0, dx) : w + min(0, dx)]
            rows.append(src.ravel())
            cols.append(dst.ravel())
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    values = rng.uniform(-1, 1, len(rows))
    b = scipy.sparse.coo_matrix((values, (rows, cols)), shape=(n, n)).tocsr()
    a = b @ b.T + scipy.sparse.eye(n) * 0.1
    return a.tocsr()


@pytest.mark.parametrize("shape", [(5, 7), (13, 9), (30, 11), (40, 33)])
@pytest.mark.parametrize(("dtype", "rtol"), [(np.float64, 1e-9), (np.float32, 1e-3)])
def test_envelope_cholesky_solves_like_spsolve(shape, dtype, rtol):
    a = _random_spd_grid_matrix(shape, seed=sum(shape))
    rhs = np.random.default_rng(1).standard_normal(a.shape[0])
    factor = cholesky.envelope_cholesky(cholesky.rcm_envelope(a), dtype=dtype)
    assert all(panel.dtype == dtype for panel in factor.panels)
    x = factor.solve(rhs)
    assert x.dtype == np.float64
    expected = scipy.sparse.linalg.spsolve(a.tocsc(), rhs)
    assert np.linalg.norm(x - expected) <= rtol * np.linalg.norm(expected)


def test_envelope_size_counts_the_panels():
    a = _random_spd_grid_matrix((40, 33), seed=5)
    envelope = cholesky.rcm_envelope(a)
    factor = cholesky.envelope_cholesky(envelope)
    assert len(factor.panels) > 1  # several blocks, so the count is not trivial
    assert cholesky.envelope_size(envelope.first) == sum(p.size for p in factor.panels)


def test_envelope_cholesky_rejects_other_dtypes():
    a = _random_spd_grid_matrix((5, 5), seed=0)
    with pytest.raises(ValueError, match="float32 or float64"):
        cholesky.envelope_cholesky(cholesky.rcm_envelope(a), dtype=np.int64)


def test_envelope_is_monotone_and_covers_the_matrix():
    a = _random_spd_grid_matrix((17, 8), seed=3)
    envelope = cholesky.rcm_envelope(a)
    order, first = envelope.order, envelope.first
    assert np.all(np.diff(first) >= 0)
    np.testing.assert_array_equal(np.sort(order), np.arange(a.shape[0]))
    position = envelope.position
    np.testing.assert_array_equal(position[order], np.arange(a.shape[0]))
    coo = a.tocoo()
    rows, cols = position[coo.row], position[coo.col]
    lower = rows >= cols
    assert np.all(cols[lower] >= first[rows[lower]])


def test_envelope_flops_counts_squared_widths():
    first = np.array([0, 0, 1, 1])
    # widths 0, 1, 1, 2
    assert cholesky.envelope_flops(first) == 0 + 1 + 1 + 4


def test_indefinite_matrix_raises_linalg_error():
    a = scipy.sparse.csr_matrix(np.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(np.linalg.LinAlgError, match="not positive definite"):
        cholesky.envelope_cholesky(cholesky.rcm_envelope(a))


@pytest.mark.parametrize("method", ["envelope", "superlu", "auto"])
def test_direct_preconditioner_inverts_the_matting_system(method):
    scene = make_scene((50, 64), seed=4)
    is_fg, is_bg, _ = trimap_split(scene.trimap)
    system = build_system(scene.image, is_fg, is_bg, eps=1e-7, radius=1)
    inverse = direct.build(system, factor=method)
    expected = scipy.sparse.linalg.spsolve(system.matrix.tocsc(), system.rhs)
    got = inverse @ system.rhs
    # Both factor in float32: a close preconditioner, not exact.
    assert np.abs(got - expected).max() <= 1e-3 * np.abs(expected).max()


def test_envelope_cholesky_in_double_precision_is_exact_on_the_matting_system():
    scene = make_scene((50, 64), seed=4)
    is_fg, is_bg, _ = trimap_split(scene.trimap)
    system = build_system(scene.image, is_fg, is_bg, eps=1e-7, radius=1)
    factor = cholesky.envelope_cholesky(cholesky.rcm_envelope(system.matrix), dtype=np.float64)
    expected = scipy.sparse.linalg.spsolve(system.matrix.tocsc(), system.rhs)
    got = factor.solve(system.rhs)
    assert np.abs(got - expected).max() <= 1e-8 * np.abs(expected).max()


def test_direct_rejects_unknown_factor():
    system = MattingSystem(scipy.sparse.eye(3).tocsr(), np.ones(3), np.arange(3), (1, 3))
    with pytest.raises(ValueError, match="factor must be one of"):
        direct.build(system, factor="qr")


def test_default_solve_needs_few_iterations():
    scene = make_scene((60, 80), seed=5)
    result = solve_alpha(scene.image, scene.trimap)
    assert result.converged
    assert result.iterations <= 3
