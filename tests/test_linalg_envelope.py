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


@pytest.fixture
def short_segments(monkeypatch):
    """Cut the envelope every few rows, so that small matrices have many segments and couplings.

    The matrix is also scattered into the factor a few rows at a time.
    """
    monkeypatch.setattr(cholesky, "_SCATTER_ROWS", 7)
    monkeypatch.setattr(cholesky, "_MIN_REACH", 12)
    monkeypatch.setattr(cholesky, "_REACH", 1)
    monkeypatch.setattr(cholesky, "_STEP", 1)


def _solve_like_spsolve(shape, dtype, rtol):
    a = _random_spd_grid_matrix(shape, seed=sum(shape))
    rhs = np.random.default_rng(1).standard_normal(a.shape[0])
    factor = cholesky.envelope_cholesky(cholesky.rcm_envelope(a), dtype=dtype)
    assert all(band.dtype == dtype for band in factor.bands)
    x = factor.solve(rhs)
    assert x.dtype == np.float64
    expected = scipy.sparse.linalg.spsolve(a.tocsc(), rhs)
    assert np.linalg.norm(x - expected) <= rtol * np.linalg.norm(expected)
    return factor


@pytest.mark.parametrize("shape", [(5, 7), (13, 9), (30, 11), (40, 33)])
@pytest.mark.parametrize(("dtype", "rtol"), [(np.float64, 1e-9), (np.float32, 1e-3)])
def test_envelope_cholesky_solves_like_spsolve(shape, dtype, rtol):
    _solve_like_spsolve(shape, dtype, rtol)


@pytest.mark.parametrize("shape", [(5, 7), (13, 9), (30, 11), (40, 33)])
@pytest.mark.parametrize(("dtype", "rtol"), [(np.float64, 1e-9), (np.float32, 1e-3)])
def test_segments_and_couplings_solve_like_spsolve(short_segments, shape, dtype, rtol):
    factor = _solve_like_spsolve(shape, dtype, rtol)
    assert len(factor.bands) > 1
    if shape[0] * shape[1] > 100:
        assert any(coupling is not None for coupling in factor.couplings)


def _dense_lower_factor(factor) -> np.ndarray:
    """The factor's L as a dense array, read plainly from its bands and couplings."""
    n = len(factor.order)
    lower = np.zeros((n, n))
    for s, band in enumerate(factor.bands):
        start = factor.starts[s]
        for j in range(band.shape[1]):
            for d in range(band.shape[0]):
                if j + d < band.shape[1]:
                    lower[start + j + d, start + j] = band[d, j]
        if factor.couplings[s] is not None:
            first, stop, block = factor.couplings[s]
            lower[factor.starts[s + 1] : stop, first : factor.starts[s + 1]] = block
    return lower


def test_bands_and_couplings_hold_the_cholesky_factor(short_segments):
    a = _random_spd_grid_matrix((13, 9), seed=2)
    envelope = cholesky.rcm_envelope(a)
    factor = cholesky.envelope_cholesky(envelope, dtype=np.float64)
    assert len(factor.bands) > 2
    reordered = a.toarray()[np.ix_(envelope.order, envelope.order)]
    np.testing.assert_allclose(
        _dense_lower_factor(factor), np.linalg.cholesky(reordered), atol=1e-10
    )


def test_disconnected_parts_and_diagonal_matrices(short_segments):
    # Two separate grids (rows of width zero between them) and a diagonal matrix (bandwidth 0).
    a = scipy.sparse.block_diag(
        [_random_spd_grid_matrix((6, 5), seed=7), _random_spd_grid_matrix((4, 8), seed=8)]
    ).tocsr()
    for matrix in (a, scipy.sparse.diags(np.arange(1.0, 40.0)).tocsr()):
        rhs = np.random.default_rng(3).standard_normal(matrix.shape[0])
        factor = cholesky.envelope_cholesky(cholesky.rcm_envelope(matrix), dtype=np.float64)
        expected = scipy.sparse.linalg.spsolve(matrix.tocsc(), rhs)
        np.testing.assert_allclose(factor.solve(rhs), expected, rtol=1e-10, atol=1e-12)


def test_bands_between_the_unblocked_and_blocked_lapack_are_stored_wider():
    # A band 50 wide is factored 65 wide (LAPACK's blocked pbtrf), with the same solution.
    n = 400
    rng = np.random.default_rng(4)
    b = scipy.sparse.diags([rng.uniform(-1, 1, n - abs(k)) for k in range(-25, 26)], range(-25, 26))
    a = (b @ b.T + scipy.sparse.eye(n)).tocsr()
    envelope = cholesky.rcm_envelope(a)
    width = np.arange(n) - envelope.first
    assert 44 < width.max() < 65
    factor = cholesky.envelope_cholesky(envelope, dtype=np.float64)
    assert factor.bandwidths == [65]
    rhs = rng.standard_normal(n)
    expected = scipy.sparse.linalg.spsolve(a.tocsc(), rhs)
    np.testing.assert_allclose(factor.solve(rhs), expected, rtol=1e-9)


@pytest.mark.parametrize("segments", ["default", "short"])
def test_envelope_size_counts_the_stored_entries(monkeypatch, segments):
    if segments == "short":
        monkeypatch.setattr(cholesky, "_MIN_REACH", 12)
        monkeypatch.setattr(cholesky, "_REACH", 1)
    a = _random_spd_grid_matrix((40, 33), seed=5)
    envelope = cholesky.rcm_envelope(a)
    factor = cholesky.envelope_cholesky(envelope)
    assert cholesky.envelope_size(envelope.first) == factor.nnz
    stored = sum(b.size for b in factor.bands)
    stored += sum(c[2].size for c in factor.couplings if c is not None)
    assert factor.nnz == stored


def test_segment_ends_keep_couplings_between_neighbours(short_segments):
    a = _random_spd_grid_matrix((30, 11), seed=6)
    envelope = cholesky.rcm_envelope(a)
    factor = cholesky.envelope_cholesky(envelope)
    starts = factor.starts
    for s, coupling in enumerate(factor.couplings):
        if coupling is not None:
            first, stop, block = coupling
            assert starts[s] <= first < starts[s + 1] < stop <= starts[s + 2]
            assert block.shape == (stop - starts[s + 1], starts[s + 1] - first)
            # Every row the segment's columns reach is in its band or its coupling.
            reached = np.searchsorted(envelope.first, starts[s + 1], side="left")
            assert stop == reached


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
