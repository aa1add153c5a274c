"""Session 11 (second round), the fixed cost of a small closed-form solve: same bits.

The small-strip path of the matting Laplacian (all window products in one call, every row's
blocks in one gather) must give exactly the coefficients of the per-position loop, and both
must match the Laplacian's definition window by window.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_s11_speed_cf import definition_row

import vecmatte
import vecmatte.laplacians.closed_form as closed_form
from vecmatte.laplacians.closed_form import row_coefficients
from vecmatte.synthetic import make_scene


def _scene(shape, seed, band):
    """A scene whose unknown region is ``band`` of its pixels, around a random mask's edge."""
    scene = make_scene(shape, seed=seed)
    rng = np.random.default_rng(seed)
    trimap = np.where(scene.alpha > 0.5, 1.0, 0.0)
    unknown = rng.random(shape) < band
    trimap[unknown] = 0.5
    trimap[0, 0], trimap[-1, -1] = 0.0, 1.0
    return scene.image, trimap


@pytest.mark.parametrize("radius", [1, 2])
@pytest.mark.parametrize(("shape", "band", "seed"), [((12, 14), 0.05, 0), ((20, 17), 0.3, 1)])
def test_the_small_strip_path_gives_the_loops_bits(monkeypatch, radius, shape, band, seed):
    monkeypatch.setattr(closed_form, "available_cpus", lambda: 1)
    image, trimap = _scene(shape, seed, band)
    known = (trimap < 0.1) | (trimap > 0.9)
    rows = np.flatnonzero(~known)
    coefficients = {}
    for threshold in (0, 2**40):  # the loop everywhere, the one-call path everywhere
        monkeypatch.setattr(closed_form, "_ONE_GATHER_VALUES", threshold)
        coefficients[threshold] = row_coefficients(
            image, rows, eps=1e-6, radius=radius, known=known
        )
    np.testing.assert_array_equal(coefficients[0], coefficients[2**40])


def test_the_small_strip_path_matches_the_laplacians_definition(monkeypatch):
    # Window by window, as the paper's eq. 12, on a strip small enough for the one-call path.
    monkeypatch.setattr(closed_form, "available_cpus", lambda: 1)
    image, trimap = _scene((9, 11), 2, 0.1)
    known = (trimap < 0.1) | (trimap > 0.9)
    rows = np.flatnonzero(~known)
    assert 81 * len(rows) <= closed_form._ONE_GATHER_VALUES
    eps, radius = 1e-5, 1
    coef = row_coefficients(image, rows, eps=eps, radius=radius, known=known)
    for q in range(len(rows)):
        expected = definition_row(image, int(rows[q]), eps, radius)
        np.testing.assert_allclose(coef[:, q], expected, atol=1e-9)


@pytest.mark.parametrize("radius", [1, 2])
def test_a_small_closed_form_matte_has_the_loops_bits(monkeypatch, radius):
    image, trimap = _scene((24, 26), 3, 0.08)
    mattes = []
    for threshold in (0, 2**40):
        monkeypatch.setattr(closed_form, "_ONE_GATHER_VALUES", threshold)
        mattes.append(vecmatte.estimate_alpha(image, trimap, method="cf", radius=radius))
    np.testing.assert_array_equal(mattes[0], mattes[1])


def _random_spd(n, seed):
    """A sparse symmetric positive definite matrix with a thin random pattern, in CSR."""
    import scipy.sparse

    rng = np.random.default_rng(seed)
    pattern = scipy.sparse.random(n, n, density=min(1.0, 4.0 / n), random_state=rng)
    pattern = pattern + pattern.T
    return (pattern @ pattern.T + scipy.sparse.identity(n)).tocsr()


@pytest.mark.parametrize(("n", "seed"), [(1, 0), (7, 1), (20, 2), (83, 3), (300, 4)])
def test_the_one_band_scatter_writes_the_general_scatters_entries(monkeypatch, n, seed):
    import scipy.sparse.linalg

    import vecmatte.linalg.envelope as envelope

    matrix = _random_spd(n, seed)
    shape = envelope.rcm_envelope(matrix)
    factors = []
    for rows in (0, 2**40):  # the general scatter, then the one-band one where it applies
        monkeypatch.setattr(envelope, "_ONE_BAND_ROWS", rows)
        factors.append(envelope.envelope_cholesky(shape, dtype=np.float64))
    assert len(factors[0].bands) == len(factors[1].bands)
    for general, one in zip(factors[0].bands, factors[1].bands, strict=True):
        np.testing.assert_array_equal(general, one)
    rhs = np.random.default_rng(seed).standard_normal(n)
    expected = scipy.sparse.linalg.spsolve(matrix.tocsc(), rhs)
    np.testing.assert_allclose(factors[1].solve(rhs), expected, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("radius", [1, 2])
@pytest.mark.parametrize(("band", "seed"), [(0.03, 5), (0.4, 6)])
def test_row_lengths_and_foreground_rows_from_the_table_are_the_image_passes(
    monkeypatch, radius, band, seed
):
    # Unknowns on the border too (the stencil reaches outside the image there).
    import vecmatte.alpha.cf as cf
    from vecmatte.trimap import trimap_split

    image, trimap = _scene((15, 19), seed, band)
    trimap[0, 3], trimap[7, 0], trimap[-1, 5] = 0.5, 0.5, 0.5
    is_fg, is_bg, _ = trimap_split(trimap)
    systems = []
    for entries in (-(2**40), 2**40):  # the whole-image passes, then the table
        monkeypatch.setattr(cf, "_SMALL_TABLE", entries)
        systems.append(cf.build_system(image, is_fg, is_bg, radius=radius))
    passes, table = systems
    for name in ("indptr", "indices", "data"):
        np.testing.assert_array_equal(getattr(passes.matrix, name), getattr(table.matrix, name))
    np.testing.assert_array_equal(passes.rhs, table.rhs)
    dense = table.matrix.toarray()
    np.testing.assert_array_equal(dense != 0, (dense != 0).T)  # the symmetric pattern


@pytest.mark.parametrize(("windows", "seed"), [(1, 0), (7, 1), (40, 2), (500, 3)])
@pytest.mark.parametrize("radius", [1, 2])
def test_the_full_window_values_are_the_upper_triangles_bits(windows, seed, radius):
    # One einsum for the nine covariance sums and one for all n x n products must sum the
    # same products in the same order as the per-row calls; V[b, a] must be V[a, b].
    rng = np.random.default_rng(seed)
    h, w = 12, 13
    image_flat = rng.random(h * w * 3) ** 3  # uneven colours, some nearly flat windows
    size = 2 * radius + 1
    n = size * size
    within = np.arange(size)
    shifts = (within[:, None] * w + within[None, :]).ravel()
    # Any pixels will do for the arithmetic (a window may wrap to the next row).
    corners = rng.integers(0, (h - size) * w, windows)
    halves = closed_form._window_values(
        image_flat, corners, shifts, eps=1e-7, scratch=closed_form._Scratch()
    )
    full = closed_form._window_values(
        image_flat, corners, shifts, eps=1e-7, scratch=closed_form._Scratch(), full=True
    )
    assert full.shape == (n * n + 1, windows + 1)
    assert not full[n * n].any() and not full[:, windows].any()
    square = full[: n * n].reshape(n, n, windows + 1)
    upper = np.triu_indices(n)
    np.testing.assert_array_equal(square[upper], halves[upper])
    np.testing.assert_array_equal(square, square.transpose(1, 0, 2))
