"""The matting Laplacian of Levin, Lischinski and Weiss, built from array operations.

The Laplacian couples every pair of pixels that share a ``(2r+1) x (2r+1)`` window, so for
``radius=r`` each pixel is coupled to the ``(4r+1)**2`` pixels of a fixed stencil around it.
It is built as *stencil coefficients* of chosen pixel rows: for each stencil offset
``(dy, dx)`` and each row pixel ``i``, the entry ``L[i, i + (dy, dx)]``. Each row gathers the
``n x n`` blocks (``n = (2r+1)**2``, 9 x 9 at radius 1) of the windows it lies in (no
scatter, no sort, no duplicate summing), and the result turns into CSR rows directly, either
for the whole image (:func:`matting_laplacian`) or only for the unknown pixels of a trimap
(:func:`vecmatte.alpha.cf.build_system`).
"""

from __future__ import annotations

import itertools

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from vecmatte import _defaults
from vecmatte._validation import check_image, check_mask, check_radius_eps
from vecmatte.laplacians._stencil import (
    available_cpus,
    rows_to_csr,
    stencil_columns,
    stencil_offsets,
)

__all__ = ["matting_laplacian", "row_coefficients"]

# Windows are processed in strips of image rows so that each strip's (windows, n, n) value
# array holds about this many floats (2 MB): small enough to stay in cache, whatever the image
# size, and its temporaries are reused from the heap instead of being fresh mmaps that fault
# every page in again. Measured (one core, alphamatting GT01/GT02/GT04): 250k floats took
# 0.55-0.8x the time of 1M, and 100k was slower again.
_WINDOW_VALUES_BUDGET = 250_000


def _inverse_cholesky_3x3(m: np.ndarray) -> np.ndarray:
    """``K = L^-1`` for the Cholesky factors ``m = L L^T`` of a stack of SPD 3x3 matrices.

    Then ``m^-1 = K^T K`` and ``x^T m^-1 y = (K x) . (K y)``. Window covariances of images
    that follow the colour-line model are nearly rank one (condition ~1e7 at eps=1e-7); the
    adjugate formula loses about six digits there, this closed-form Cholesky keeps ~1e-11.
    It is one pass of array arithmetic over the whole stack, unlike a LAPACK call per matrix.
    """
    a, b, c = m[:, 0, 0], m[:, 0, 1], m[:, 0, 2]
    d, e, f = m[:, 1, 1], m[:, 1, 2], m[:, 2, 2]
    l11 = np.sqrt(a)
    l21 = b / l11
    l31 = c / l11
    l22 = np.sqrt(d - l21 * l21)
    l32 = (e - l21 * l31) / l22
    l33 = np.sqrt(f - l31 * l31 - l32 * l32)
    inverse = np.zeros_like(m)
    inverse[:, 0, 0] = 1.0 / l11
    inverse[:, 1, 1] = 1.0 / l22
    inverse[:, 2, 2] = 1.0 / l33
    inverse[:, 1, 0] = -l21 * inverse[:, 0, 0] * inverse[:, 1, 1]
    inverse[:, 2, 1] = -l32 * inverse[:, 1, 1] * inverse[:, 2, 2]
    inverse[:, 2, 0] = -(l31 * inverse[:, 0, 0] + l32 * inverse[:, 1, 0]) * inverse[:, 2, 2]
    return inverse


def _window_values(
    image: np.ndarray, wy: np.ndarray, wx: np.ndarray, *, eps: float, radius: int
) -> np.ndarray:
    """Laplacian contributions of the windows with top-left pixels ``(wy, wx)``.

    Returns an array ``(m + 1, n, n)`` with ``n = (2r+1)**2`` whose entry ``[k, a, b]`` is
    ``delta_ab - (1 + (I_a - mu)^T (Sigma + eps/n Id)^-1 (I_b - mu)) / n`` for window ``k``,
    ``a`` and ``b`` indexing its pixels in row-major order. The extra last window is all
    zeros, so that gathers through a missing window contribute nothing.
    """
    size = 2 * radius + 1
    n = size * size
    m = len(wy)
    # (m, 3, size, size) gather of each window's colours from a strided view of the image.
    colors = sliding_window_view(image, (size, size), axis=(0, 1))[wy, wx].reshape(m, 3, n)
    # A matmul with a ones vector sums a window's n pixels far faster than a reduction over
    # the last axis.
    centered = colors - np.matmul(colors, np.full((n, 1), 1.0 / n))
    covariance = np.matmul(centered, centered.transpose(0, 2, 1))
    covariance /= n
    covariance[:, [0, 1, 2], [0, 1, 2]] += eps / n
    # c_a^T Sigma^-1 c_b = (K c_a) . (K c_b): whiten the colours, then one Gram product.
    whitened = np.matmul(_inverse_cholesky_3x3(covariance), centered)
    values = np.empty((m + 1, n, n))
    # Batched matmul is several times faster than the equivalent einsum for (3, n) blocks.
    np.matmul(whitened.transpose(0, 2, 1), whitened, out=values[:m])
    values[:m] += 1.0
    values[:m] /= -n
    values[:m, np.arange(n), np.arange(n)] += 1.0
    values[m] = 0.0
    return values


def _active_windows(known: np.ndarray | None, shape: tuple[int, int], radius: int) -> np.ndarray:
    """Boolean ``(h - 2r, w - 2r)`` map of the windows that hold at least one unknown pixel."""
    size = 2 * radius + 1
    h, w = shape
    if known is None:
        return np.ones((h - 2 * radius, w - 2 * radius), dtype=bool)
    # Separable "any" over the window: first along rows, then along columns.
    unknown = ~known
    rows_any = sliding_window_view(unknown, size, axis=0).any(axis=-1)
    return sliding_window_view(rows_any, size, axis=1).any(axis=-1)


def _strip_coefficients(
    image: np.ndarray,
    active: np.ndarray,
    rows_y: np.ndarray,
    rows_x: np.ndarray,
    *,
    eps: float,
    radius: int,
    out: np.ndarray,
) -> None:
    """Fill ``out[s, p]`` with ``L[(rows_y[p], rows_x[p]), + offsets[s]]`` from active windows.

    Windows not marked in ``active`` (an ``(h - 2r, w - 2r)`` boolean map) are left out. Each
    row pixel gathers, for each of its positions ``a`` inside a window and each partner
    position ``b``, the value of that window: ``n * n`` gathers, no scatter, no sort.
    """
    size = 2 * radius + 1
    n = size * size
    span = 4 * radius + 1
    n_wy, n_wx = active.shape
    y_low = max(int(rows_y.min()) - 2 * radius, 0)
    y_high = min(int(rows_y.max()) + 1, n_wy)
    wy, wx = np.nonzero(active[y_low:y_high])
    wy += y_low
    values = _window_values(image, wy, wx, eps=eps, radius=radius)
    m = len(wy)
    # Window number of each top-left corner, padded by 2r with the zero window m so that a
    # corner outside the strip or the image needs no bounds check: one gather per position a.
    pad = 2 * radius
    window_index = np.full((y_high - y_low + 2 * pad, n_wx + 2 * pad), m, dtype=np.intp)
    window_index[wy - y_low + pad, wx + pad] = np.arange(m)
    padded_w = window_index.shape[1]
    base = (rows_y - y_low + pad) * padded_w + (rows_x + pad)
    flat_index = window_index.reshape(-1)
    out[:] = 0.0
    # The (span, span, p) view of the stencil slots: pixel a's partners b form the size x size
    # block of slots at (2r - ya, 2r - xa), so each a adds one gathered block to a strided view.
    grid = out.reshape(span, span, -1)
    for a in range(n):
        ya, xa = divmod(a, size)
        window = flat_index.take(base - (ya * padded_w + xa))
        # Row a of each window's block holds the entries of pixel a with all n partners b.
        block = values[window, a, :].T.reshape(size, size, -1)
        top, left = 2 * radius - ya, 2 * radius - xa
        grid[top : top + size, left : left + size] += block


def row_coefficients(
    image: np.ndarray,
    rows: np.ndarray,
    *,
    eps: float,
    radius: int,
    known: np.ndarray | None = None,
) -> np.ndarray:
    """Laplacian entries of the pixel rows ``rows`` (flat, ascending) at every stencil offset.

    Parameters
    ----------
    image : ndarray, shape (h, w, 3)
        Float image, already validated.
    rows : ndarray of int, shape (p,)
        Flat row-major indices of the pixels whose rows are wanted, ascending.
    eps, radius : float, int
        Regularisation and window radius.
    known : ndarray of bool, shape (h, w), optional
        Windows whose pixels are all known are skipped.

    Returns
    -------
    ndarray, shape (k, p)
        ``coef[s, q] = L[rows[q], rows[q] + offsets[s]]`` with the offsets of
        ``stencil_offsets(2 * radius)``, ``k = (4r + 1)**2``.
    """
    h, w = image.shape[:2]
    n = (2 * radius + 1) ** 2
    active = _active_windows(known, (h, w), radius)
    coef = np.empty(((4 * radius + 1) ** 2, len(rows)))
    if len(rows) == 0:
        return coef
    rows_y, rows_x = np.divmod(rows, w)
    # Strips of image rows keep each strip's window values near _WINDOW_VALUES_BUDGET floats.
    windows_per_row = max(1, int(active.sum()) // active.shape[0])
    strip_height = max(1, _WINDOW_VALUES_BUDGET // (n * n * windows_per_row))
    bounds = np.searchsorted(rows_y, np.arange(0, h + strip_height, strip_height))
    strips = [(start, stop) for start, stop in itertools.pairwise(bounds) if stop > start]

    def fill(strip):
        start, stop = strip
        _strip_coefficients(
            image,
            active,
            rows_y[start:stop],
            rows_x[start:stop],
            eps=eps,
            radius=radius,
            out=coef[:, start:stop],
        )

    # Strips write disjoint columns of coef and NumPy releases the GIL in its array loops,
    # so threads overlap most of the work on a multi-core machine.
    workers = min(len(strips), available_cpus(), 4)
    if workers > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(fill, strips))
    else:
        for strip in strips:
            fill(strip)
    return coef


def matting_laplacian(
    image: np.ndarray,
    *,
    eps: float = _defaults.EPS,
    radius: int = _defaults.RADIUS,
    known: np.ndarray | None = None,
):
    """Matting Laplacian of an image.

    Parameters
    ----------
    image : ndarray, shape (h, w, 3)
        RGB image with values in [0, 1].
    eps : float, optional
        Regularisation of each window's colour covariance (``epsilon`` in the paper).
    radius : int, optional
        Window radius ``r``; windows are ``(2r+1) x (2r+1)``.
    known : ndarray of bool, shape (h, w), optional
        Pixels whose alpha is fixed. Windows made only of known pixels are left out: they
        only touch rows and columns that the constrained solve does not use.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (h*w, h*w)
        Symmetric positive semi-definite matrix, pixels in row-major order.

    Raises
    ------
    ValueError
        If the image is not ``(h, w, 3)`` with finite values, is smaller than one window,
        or ``known`` has another shape.

    Notes
    -----
    For windows :math:`w_k` of :math:`n = (2r+1)^2` pixels with mean colour
    :math:`\\mu_k` and covariance :math:`\\Sigma_k`,

    .. math::

        L_{ij} = \\sum_{k \\mid (i,j) \\in w_k} \\left(\\delta_{ij} - \\frac{1}{n}
        \\left(1 + (I_i - \\mu_k)^T \\left(\\Sigma_k + \\frac{\\epsilon}{n} I_3\\right)^{-1}
        (I_j - \\mu_k)\\right)\\right)

    (Levin, Lischinski and Weiss, "A Closed-Form Solution to Natural Image Matting",
    IEEE TPAMI 30(2), 2008, eq. 12). The windows' statistics are computed with batched
    ``matmul`` over ``sliding_window_view`` gathers, in strips of image rows that keep the
    working arrays small.

    Examples
    --------
    >>> import numpy as np
    >>> from vecmatte import matting_laplacian
    >>> L = matting_laplacian(np.random.default_rng(0).random((5, 6, 3)))
    >>> L.shape
    (30, 30)
    >>> bool(abs(L.sum(axis=1)).max() < 1e-9)
    True
    """
    image = check_image(image)
    radius, eps = check_radius_eps(radius, eps, image.shape)
    if known is not None:
        known = check_mask(known, image.shape[:2], "known")
    h, w = image.shape[:2]
    rows = np.arange(h * w)
    coef = row_coefficients(image, rows, eps=eps, radius=radius, known=known)
    return rows_to_csr(stencil_columns(stencil_offsets(2 * radius), rows, (h, w)), coef, h * w)
