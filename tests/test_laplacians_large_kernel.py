"""Large-kernel Laplacian: the matrix-free operator against the closed-form matrix."""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest
import scipy.sparse.linalg
from reference import naive_laplacian

from vecmatte.laplacians import get_laplacian
from vecmatte.laplacians.closed_form import matting_laplacian
from vecmatte.laplacians.large_kernel import box_full, box_valid, lkm_laplacian


def dense(operator) -> np.ndarray:
    n = operator.shape[0]
    return np.column_stack([operator @ column for column in np.eye(n)])


def loop_box_valid(array, radius):
    """Window sums over the last two axes, window by window."""
    size = 2 * radius + 1
    h, w = array.shape[-2:]
    out = np.zeros((*array.shape[:-2], h - 2 * radius, w - 2 * radius))
    for y in range(h - 2 * radius):
        for x in range(w - 2 * radius):
            out[..., y, x] = array[..., y : y + size, x : x + size].sum(axis=(-2, -1))
    return out


# Window sizes 3, 7, 9: one, three and two binary digits of the doubling box sums.
@pytest.mark.parametrize("radius", [1, 3, 4])
def test_box_sums_match_loops(rng, radius):
    array = rng.random((2, 11, 9))
    np.testing.assert_allclose(box_valid(array, radius), loop_box_valid(array, radius))
    windows = rng.random((11 - 2 * radius, 9 - 2 * radius))
    padded = np.pad(windows, 2 * radius)
    np.testing.assert_allclose(box_full(windows, radius), loop_box_valid(padded, radius))


@pytest.mark.parametrize("radius", [1, 2, 3])
@pytest.mark.parametrize("shape", [(7, 9), (12, 10)])
def test_equals_the_closed_form_laplacian(rng, radius, shape):
    image = rng.random((*shape, 3))
    operator = lkm_laplacian(image, radius=radius)
    expected = matting_laplacian(image, radius=radius).toarray()
    np.testing.assert_allclose(dense(operator), expected, atol=1e-9 * abs(expected).max())
    np.testing.assert_allclose(operator.diagonal(), np.diag(expected), rtol=1e-9)
    np.testing.assert_allclose(
        dense(operator), naive_laplacian(image, radius=radius).toarray(), atol=1e-8
    )


def test_window_sums_along_flat_rows_and_columns(rng):
    from vecmatte.laplacians.large_kernel import _window_sums

    values = rng.random(60)
    scratch = (np.empty(60), np.empty(60))
    for size, step in [(1, 1), (5, 1), (21, 1), (3, 10), (5, 12)]:
        count = 60 - (size - 1) * step
        expected = [sum(values[k + t * step] for t in range(size)) for k in range(count)]
        out = _window_sums(values, size, step, np.empty(count), scratch)
        np.testing.assert_allclose(out, expected, rtol=1e-14)


def test_repeated_products_reuse_buffers_and_agree(rng):
    operator = lkm_laplacian(rng.random((25, 23, 3)), radius=3)
    x, y = rng.random(25 * 23), rng.random(25 * 23)
    first = operator @ x
    operator @ y
    np.testing.assert_array_equal(operator @ x, first)


def test_colour_line_image_and_scipy_interface(rng):
    # A flat-ish image makes the window covariances nearly singular: still equal.
    image = 0.5 + 0.01 * rng.random((10, 11, 3))
    operator = lkm_laplacian(image, radius=2)
    expected = matting_laplacian(image, radius=2).toarray()
    np.testing.assert_allclose(dense(operator), expected, atol=1e-6 * abs(expected).max())
    linear = scipy.sparse.linalg.aslinearoperator(operator)
    x = rng.random(110)
    np.testing.assert_allclose(linear @ x, operator.dot(x))


def test_registered_and_checked():
    assert get_laplacian("large_kernel") is lkm_laplacian
    with pytest.raises(ValueError, match="smaller than one 21 x 21 window"):
        lkm_laplacian(np.zeros((20, 30, 3)))


@pytest.mark.skipif(importlib.util.find_spec("pymatting") is None, reason="PyMatting not installed")
def test_equals_pymatting(rng):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pymatting import lkm_laplacian as pymatting_lkm
    image = rng.random((14, 17, 3))
    matvec, diagonal = pymatting_lkm(image, radius=2)
    operator = lkm_laplacian(image, radius=2)
    x = rng.random(14 * 17)
    np.testing.assert_allclose(operator @ x, matvec(x), atol=1e-9)
    np.testing.assert_allclose(operator.diagonal(), diagonal, atol=1e-9)


def _two_colour_stripes(shape):
    """Black and white stripes two pixels wide: every window's covariance has rank 1."""
    columns = (np.arange(shape[1]) // 2) % 2
    return np.broadcast_to(columns[None, :, None], (*shape, 3)).astype(np.float64)


def _one_hue_ramp(shape):
    """Shading of one hue: colours along one line, the covariance again of rank 1."""
    ramp = np.linspace(0.0, 1.0, shape[1])[None, :, None] * np.array([1.0, 0.5, 0.2])
    return np.broadcast_to(ramp, (*shape, 3)).copy()


@pytest.mark.parametrize("make_image", [_two_colour_stripes, _one_hue_ramp])
@pytest.mark.parametrize(("radius", "eps"), [(10, 1e-7), (10, 1e-8), (1, 1e-7)])
def test_windows_whose_colours_lie_on_a_line_equal_the_closed_form_laplacian(
    make_image, radius, eps
):
    """Rank-1 covariances: the cofactor inverse's determinant (3 s (eps/n)^2) drowned in
    its terms' rounding, the operator was off by 0.5% of its scale with eigenvalues of
    -220 (stripes, radius 10); the Cholesky factor is backward stable."""
    image = make_image((24, 26))
    operator = lkm_laplacian(image, radius=radius, eps=eps)
    expected = matting_laplacian(image, radius=radius, eps=eps).toarray()
    scale = abs(expected).max()
    np.testing.assert_allclose(dense(operator), expected, atol=1e-7 * scale)
    np.testing.assert_allclose(operator.diagonal(), np.diag(expected), atol=1e-7 * scale)
    symmetric = dense(operator)
    assert np.linalg.eigvalsh((symmetric + symmetric.T) / 2).min() > -1e-5 * scale


@pytest.mark.parametrize("level", [1.0, 0.5])
def test_a_constant_channel_away_from_zero_equals_the_closed_form_laplacian(level):
    """Noise whose blue channel is one constant: every window's covariance is singular in
    blue, a_k ~ 1/eps there, and the rounding of a_k^T I_i - a_k^T mu_k grew with the
    colour's distance from 0: the operator was off by 5e-10 of its scale and asymmetric by
    as much (conjugate gradient broke down where the trimap leaves eigenvalues that small).
    The colours are now centred on the image's mean."""
    image = np.random.default_rng(3).random((13, 13, 3))
    image[..., 2] = level
    operator = lkm_laplacian(image, radius=5)
    matrix = dense(operator)
    expected = matting_laplacian(image, radius=5).toarray()
    scale = abs(expected).max()
    assert abs(matrix - expected).max() < 1e-13 * scale
    assert abs(matrix - matrix.T).max() < 1e-13 * scale
    np.testing.assert_allclose(operator.diagonal(), np.diag(expected), atol=1e-13 * scale)


def test_the_image_is_not_modified():
    """The operator centres its own copy of the colours, also of a transposed view (which
    ``np.ascontiguousarray`` would return as it is)."""
    planes = np.random.default_rng(4).random((3, 12, 14))
    image = planes.transpose(1, 2, 0)
    before = image.copy()
    operator = lkm_laplacian(image, radius=2)
    operator @ np.ones(12 * 14)
    np.testing.assert_array_equal(image, before)
