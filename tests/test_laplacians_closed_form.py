"""The matting Laplacian against a plain loop over windows written from the paper (eq. 12)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given
from hypothesis import strategies as st
from reference import direct_alpha, naive_laplacian

import vecmatte
from vecmatte import matting_laplacian

SHAPES = [(5, 7), (7, 5), (9, 11), (11, 6)]


def _random_known(rng, shape, fraction=0.6):
    known = rng.random(shape) < fraction
    known[0, 0] = False  # at least one window stays active
    return known


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("radius", [1, 2])
@pytest.mark.parametrize("with_known", [False, True])
def test_matches_naive_loop(shape, radius, with_known, rng):
    image = rng.random((*shape, 3))
    known = _random_known(rng, shape) if with_known else None
    laplacian = matting_laplacian(image, eps=1e-7, radius=radius, known=known)
    expected = naive_laplacian(image, eps=1e-7, radius=radius, known=known)
    assert isinstance(laplacian, scipy.sparse.csr_matrix)
    assert laplacian.shape == (shape[0] * shape[1],) * 2
    assert abs(laplacian - expected).max() < 1e-10


@given(
    height=st.integers(3, 10),
    width=st.integers(3, 10),
    radius=st.sampled_from([1, 2]),
    eps=st.sampled_from([1e-7, 1e-4, 1e-2]),
    seed=st.integers(0, 2**32 - 1),
    known_fraction=st.sampled_from([0.0, 0.5, 0.9]),
)
def test_matches_naive_loop_random_shapes(height, width, radius, eps, seed, known_fraction):
    size = 2 * radius + 1
    if height < size or width < size:
        return
    rng = np.random.default_rng(seed)
    image = rng.random((height, width, 3))
    known = rng.random((height, width)) < known_fraction if known_fraction else None
    laplacian = matting_laplacian(image, eps=eps, radius=radius, known=known)
    expected = naive_laplacian(image, eps=eps, radius=radius, known=known)
    assert abs(laplacian - expected).max() < 1e-10


def test_matches_naive_loop_on_colour_line_image():
    # Locally two-coloured images (the model closed-form matting is built on) give window
    # covariances of rank one plus eps/n: condition numbers ~1e7, the hard case for accuracy.
    image = vecmatte.make_scene((16, 19), seed=2, band=2).image
    laplacian = matting_laplacian(image, eps=1e-7)
    expected = naive_laplacian(image, eps=1e-7)
    assert abs(laplacian - expected).max() < 1e-10 * abs(expected).max()


def test_all_known_gives_zero_matrix(rng):
    image = rng.random((6, 7, 3))
    laplacian = matting_laplacian(image, known=np.ones((6, 7), dtype=bool))
    assert abs(laplacian).max() == 0


def test_constant_image_is_window_count_laplacian():
    # Zero covariance: (I_i - mu) = 0, so each window adds delta_ij - 1/n, whatever eps is.
    image = np.full((5, 6, 3), 0.3)
    laplacian = matting_laplacian(image, eps=1e-3).toarray()
    expected = np.zeros((30, 30))
    for y in range(3):
        for x in range(4):
            idx = [(y + a) * 6 + (x + b) for a in range(3) for b in range(3)]
            expected[np.ix_(idx, idx)] += np.eye(9) - 1 / 9
    np.testing.assert_allclose(laplacian, expected, atol=1e-12)


@pytest.mark.parametrize("radius", [1, 2])
def test_symmetric_rows_sum_to_zero(radius, rng):
    image = rng.random((13, 10, 3))
    laplacian = matting_laplacian(image, radius=radius)
    assert abs(laplacian - laplacian.T).max() < 1e-12
    assert np.abs(np.asarray(laplacian.sum(axis=1))).max() < 1e-9
    assert np.abs(np.asarray(laplacian.sum(axis=0))).max() < 1e-9


@pytest.mark.parametrize("radius", [1, 2])
def test_positive_semidefinite(radius, rng):
    image = rng.random((12, 11, 3))
    dense = matting_laplacian(image, radius=radius).toarray()
    eigenvalues = np.linalg.eigvalsh(dense)
    assert eigenvalues.min() >= -1e-9
    # Constant vectors are in the null space (rows sum to zero) ...
    assert abs(eigenvalues).min() < 1e-9
    # ... and the matrix is not trivially zero.
    assert eigenvalues.max() > 1.0


def test_positive_semidefinite_with_known(rng):
    image = rng.random((10, 9, 3))
    dense = matting_laplacian(image, known=_random_known(rng, (10, 9))).toarray()
    assert np.linalg.eigvalsh(dense).min() >= -1e-9


def test_colour_line_alpha_in_null_space(rng):
    # Levin et al., Theorem 2: if every window's colours lie on a line and alpha is an affine
    # function of colour (here alpha = the line parameter), alpha^T L alpha = O(eps).
    h, w = 9, 10
    t = rng.random((h, w))
    start, end = np.array([0.1, 0.2, 0.7]), np.array([0.9, 0.6, 0.1])
    image = start + t[:, :, None] * (end - start)
    laplacian = matting_laplacian(image, eps=1e-7)
    alpha = t.ravel()
    assert alpha @ (laplacian @ alpha) < 1e-5
    noise = rng.random(h * w)
    assert noise @ (laplacian @ noise) > 1e-2  # a random alpha is not in the null space


def test_known_windows_do_not_change_constrained_solution(rng):
    # Leaving out all-known windows only removes entries in known rows/columns.
    shape = (11, 12)
    image = rng.random((*shape, 3))
    trimap = np.zeros(shape)
    trimap[:, 6:] = 1.0
    trimap[:, 4:8] = 0.5
    known = (trimap < 0.1) | (trimap > 0.9)
    full = direct_alpha(matting_laplacian(image), trimap)
    reduced = direct_alpha(matting_laplacian(image, known=known), trimap)
    np.testing.assert_allclose(reduced, full, atol=1e-10)


def test_integer_images_scaled(rng):
    image = rng.integers(0, 256, size=(6, 7, 3)).astype(np.uint8)
    expected = matting_laplacian(image / 255.0)
    assert abs(matting_laplacian(image) - expected).max() < 1e-12
    image16 = rng.integers(0, 65536, size=(6, 7, 3)).astype(np.uint16)
    assert abs(matting_laplacian(image16) - matting_laplacian(image16 / 65535.0)).max() < 1e-12


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"radius": 0}, "radius must be a positive integer"),
        ({"radius": 1.5}, "radius must be a positive integer"),
        ({"eps": 0.0}, "eps must be a positive"),
        ({"eps": float("nan")}, "eps must be a positive"),
        ({"radius": 3}, "smaller than one 7 x 7 window"),
        ({"known": np.zeros((4, 6), dtype=bool)}, "known has shape"),
    ],
)
def test_bad_arguments(kwargs, message, rng):
    image = rng.random((5, 6, 3))
    with pytest.raises(ValueError, match=message):
        matting_laplacian(image, **kwargs)


def test_bad_images():
    with pytest.raises(ValueError, match="smaller than one 3 x 3 window"):
        matting_laplacian(np.zeros((2, 2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        matting_laplacian(np.full((4, 4, 3), np.nan))
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        matting_laplacian(np.full((4, 4, 3), 1.5))
    with pytest.raises(ValueError, match="expected"):
        matting_laplacian(np.zeros((4, 4, 2)))


@pytest.mark.parametrize("radius", [1, 2])
def test_row_coefficients_of_chosen_rows_in_both_layouts(radius, rng):
    from vecmatte.laplacians._stencil import stencil_offsets
    from vecmatte.laplacians.closed_form import row_coefficients

    shape = (13, 17)
    image = rng.random((*shape, 3))
    known = _random_known(rng, shape, fraction=0.5)
    rows = np.flatnonzero(rng.random(shape[0] * shape[1]) < 0.4)
    expected = naive_laplacian(image, eps=1e-6, radius=radius, known=known).toarray()
    coef = row_coefficients(image, rows, eps=1e-6, radius=radius, known=known)
    rows_first = row_coefficients(
        image, rows, eps=1e-6, radius=radius, known=known, rows_first=True
    )
    np.testing.assert_array_equal(rows_first, coef.T)
    ys, xs = np.divmod(rows, shape[1])
    for s, (dy, dx) in enumerate(stencil_offsets(2 * radius)):
        ny, nx = ys + dy, xs + dx
        inside = (ny >= 0) & (ny < shape[0]) & (nx >= 0) & (nx < shape[1])
        want = expected[rows[inside], (ny * shape[1] + nx)[inside]]
        np.testing.assert_allclose(coef[s, inside], want, rtol=0, atol=1e-10)


def test_rows_to_csr_reads_both_layouts(rng):
    from vecmatte.laplacians._stencil import rows_to_csr

    n_rows, k, n_columns = 40, 9, 60
    columns = np.sort(rng.integers(-1, n_columns, (n_rows, k)), axis=1)
    columns[:, 1:][columns[:, 1:] == columns[:, :-1]] = -1  # no duplicate columns in a row
    values = rng.random((n_rows, k))
    dense = np.zeros((n_rows, n_columns))
    for row in range(n_rows):  # plain loop reference
        for column, value in zip(columns[row], values[row], strict=True):
            if column >= 0:
                dense[row, column] = value
    by_offsets = rows_to_csr(np.ascontiguousarray(columns.T), np.ascontiguousarray(values.T), 60)
    by_rows = rows_to_csr(columns.T, values.T, n_columns)
    for matrix in (by_offsets, by_rows):
        assert matrix.has_sorted_indices
        np.testing.assert_array_equal(matrix.toarray(), dense)
        assert matrix.nnz == np.count_nonzero(columns >= 0)


@pytest.mark.parametrize("radius", [1, 2])
@pytest.mark.parametrize("threads", [1, 3])
def test_many_strips_and_threads_match_naive_loop(radius, threads, rng, monkeypatch):
    # A tiny window budget cuts the image into strips of one or two rows, so that windows
    # are looked up across strip boundaries and missing (all-known) windows are clipped to
    # the strip's zero window; with threads the strips run at once on pooled work arrays.
    import vecmatte.laplacians.closed_form as closed_form

    monkeypatch.setattr(closed_form, "_WINDOW_VALUES_BUDGET", 1)
    monkeypatch.setattr(closed_form, "available_cpus", lambda: threads)
    shape = (14, 11)
    image = rng.random((*shape, 3))
    known = _random_known(rng, shape, fraction=0.7)
    expected = naive_laplacian(image, eps=1e-6, radius=radius, known=known)
    for _ in range(2):  # the second call reuses the pooled work arrays
        laplacian = matting_laplacian(image, eps=1e-6, radius=radius, known=known)
        assert abs(laplacian - expected).max() < 1e-10


@pytest.mark.parametrize(
    ("name", "keyword"),
    [("closed_form", "known"), ("lbdm", "known"), ("information_flow", "unknown")],
)
def test_a_trimap_given_as_a_mask_is_refused_and_0_1_numbers_are_taken(name, keyword):
    # The mask was read with astype(bool): a trimap's 0.5 (or a NaN) counted as True, so a
    # trimap passed as known= marked every unknown pixel known.
    from vecmatte.laplacians import get_laplacian

    laplacian = get_laplacian(name)
    image = np.random.default_rng(3).random((8, 9, 3))
    trimap = np.full((8, 9), 0.5)
    trimap[:, :3], trimap[:, -3:] = 1.0, 0.0
    mask = trimap != 0.5 if keyword == "known" else trimap == 0.5
    for wrong in (trimap, np.where(mask, np.nan, 0.0)):
        with pytest.raises(ValueError, match=rf"^{keyword} must be a boolean mask .* values other"):
            laplacian(image, **{keyword: wrong})
    with pytest.raises(ValueError, match=rf"^{keyword} must be a boolean mask .*, got <U1$"):
        laplacian(image, **{keyword: np.full((8, 9), "1")})
    expected = laplacian(image, **{keyword: mask}).toarray()
    for numbers in (mask.astype(np.uint8), mask.astype(np.float32)):
        np.testing.assert_array_equal(laplacian(image, **{keyword: numbers}).toarray(), expected)
