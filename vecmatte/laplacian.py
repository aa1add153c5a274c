"""The matting Laplacian of Levin, Lischinski and Weiss, built from array operations.

The Laplacian couples every pair of pixels that share a ``(2r+1) x (2r+1)`` window, so for
``radius=r`` each pixel is coupled to the ``(4r+1)**2`` pixels of a fixed stencil around it.
It is stored here first as *stencil coefficients*: for each stencil offset ``(dy, dx)`` an
``(h, w)`` array whose entry at pixel ``i`` is ``L[i, i + (dy, dx)]``. That layout is filled
with slice additions (no sort, no duplicate summing) and turns into CSR rows directly, either
for the whole image (:func:`matting_laplacian`) or only for the unknown pixels of a trimap
(:mod:`vecmatte.solve`).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from vecmatte._validation import check_image, check_mask, check_radius_eps

__all__ = ["matting_laplacian"]

# Windows are processed in chunks of rows so that the (windows, n, n) value arrays stay small
# (about 64 MB per chunk at radius 1) whatever the image size.
_WINDOW_VALUES_BUDGET = 8_000_000


def _stencil_offsets(radius: int) -> np.ndarray:
    """Offsets ``(dy, dx)`` of the Laplacian's stencil, sorted by their row-major flat order."""
    span = np.arange(-2 * radius, 2 * radius + 1)
    dy, dx = np.meshgrid(span, span, indexing="ij")
    return np.stack([dy.ravel(), dx.ravel()], axis=1)


def _inverse_3x3_symmetric(m: np.ndarray) -> np.ndarray:
    """Invert a stack of symmetric 3x3 matrices with the adjugate formula.

    ``numpy.linalg.inv`` pays a LAPACK call per matrix; the closed form is one pass of
    array arithmetic over the whole stack.
    """
    a, b, c = m[:, 0, 0], m[:, 0, 1], m[:, 0, 2]
    d, e, f = m[:, 1, 1], m[:, 1, 2], m[:, 2, 2]
    inv = np.empty_like(m)
    inv[:, 0, 0] = d * f - e * e
    inv[:, 0, 1] = inv[:, 1, 0] = c * e - b * f
    inv[:, 0, 2] = inv[:, 2, 0] = b * e - c * d
    inv[:, 1, 1] = a * f - c * c
    inv[:, 1, 2] = inv[:, 2, 1] = b * c - a * e
    inv[:, 2, 2] = a * d - b * b
    det = a * inv[:, 0, 0] + b * inv[:, 0, 1] + c * inv[:, 0, 2]
    inv /= det[:, None, None]
    return inv


def _window_values(
    image: np.ndarray, rows: slice, *, eps: float, radius: int
) -> np.ndarray:
    """Laplacian contributions of the windows whose top-left corners lie in ``rows``.

    Returns an array ``(n_rows, w - 2r, n, n)`` with ``n = (2r+1)**2``: entry ``[y, x, a, b]``
    is ``delta_ab - (1 + (I_a - mu)^T (Sigma + eps/n Id)^-1 (I_b - mu)) / n`` for the window
    whose top-left pixel is ``(y, x)``, ``a`` and ``b`` indexing its pixels in row-major order.
    """
    size = 2 * radius + 1
    n = size * size
    band = image[rows.start : rows.stop + 2 * radius]
    # (rows, cols, 3, size, size) view -> (windows, 3, n) copy of each window's colours.
    windows = sliding_window_view(band, (size, size), axis=(0, 1))
    n_rows, n_cols = windows.shape[:2]
    colors = windows.reshape(n_rows * n_cols, 3, n)
    mean = colors.mean(axis=2)
    centered = colors - mean[:, :, None]
    covariance = np.einsum("wcn,wdn->wcd", centered, centered) / n
    covariance[:, [0, 1, 2], [0, 1, 2]] += eps / n
    inverse = _inverse_3x3_symmetric(covariance)
    weighted = np.einsum("wcd,wdn->wcn", inverse, centered)
    values = np.einsum("wcn,wcm->wnm", centered, weighted)
    values += 1.0
    values /= -n
    values[:, np.arange(n), np.arange(n)] += 1.0
    return values.reshape(n_rows, n_cols, n, n)


def _active_windows(known: np.ndarray | None, shape: tuple[int, int], radius: int) -> np.ndarray:
    """Boolean ``(h - 2r, w - 2r)`` map of the windows that hold at least one unknown pixel."""
    size = 2 * radius + 1
    h, w = shape
    if known is None:
        return np.ones((h - 2 * radius, w - 2 * radius), dtype=bool)
    unknown = ~known
    return sliding_window_view(unknown, (size, size)).any(axis=(2, 3))


def stencil_coefficients(
    image: np.ndarray, *, eps: float, radius: int, known: np.ndarray | None = None
) -> np.ndarray:
    """Laplacian entries of every pixel for every stencil offset.

    Parameters
    ----------
    image : ndarray, shape (h, w, 3)
        Float image, already validated.
    eps, radius : float, int
        Regularisation and window radius.
    known : ndarray of bool, shape (h, w), optional
        Windows whose pixels are all known are skipped.

    Returns
    -------
    ndarray, shape (k, h, w)
        ``coef[s, y, x] = L[(y, x), (y, x) + offsets[s]]`` with the offsets of
        ``_stencil_offsets(radius)``; ``k = (4r + 1)**2``.
    """
    h, w = image.shape[:2]
    size = 2 * radius + 1
    n = size * size
    offsets = _stencil_offsets(radius)
    span = 4 * radius + 1
    offset_index = (offsets[:, 0] + 2 * radius) * span + (offsets[:, 1] + 2 * radius)
    coef = np.zeros((len(offsets), h, w))
    active = _active_windows(known, (h, w), radius)
    # Position (row, col) of each window pixel a, and the stencil slot of each pair (a, b).
    pos = np.stack(np.divmod(np.arange(n), size), axis=1)
    pair_slot = np.empty((n, n), dtype=np.intp)
    for a in range(n):
        for b in range(n):
            dy, dx = pos[b] - pos[a]
            pair_slot[a, b] = np.searchsorted(
                offset_index, (dy + 2 * radius) * span + (dx + 2 * radius)
            )
    n_cols = w - 2 * radius
    chunk_rows = max(1, _WINDOW_VALUES_BUDGET // (n * n * n_cols))
    for top in range(0, h - 2 * radius, chunk_rows):
        rows_active = active[top : top + chunk_rows]
        if not rows_active.any():
            continue
        rows = slice(top, top + rows_active.shape[0])
        values = _window_values(image, rows, eps=eps, radius=radius)
        values[~rows_active] = 0.0
        n_rows = rows_active.shape[0]
        for a in range(n):
            ya, xa = pos[a]
            target = (slice(top + ya, top + ya + n_rows), slice(xa, xa + n_cols))
            for b in range(n):
                coef[pair_slot[a, b]][target] += values[:, :, a, b]
    return coef


def gather_rows(
    coef: np.ndarray, offsets: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Column pixels and values of the Laplacian rows of the pixels ``rows`` (flat indices).

    Returns ``(columns, values)``, both ``(k, len(rows))``: the flat index of the neighbour at
    each stencil offset (``-1`` outside the image) and the matching Laplacian entry.
    """
    _, h, w = coef.shape
    ry, rx = np.divmod(rows, w)
    columns = np.empty((len(offsets), len(rows)), dtype=np.intp)
    values = np.empty((len(offsets), len(rows)))
    flat_coef = coef.reshape(len(offsets), h * w)
    for s, (dy, dx) in enumerate(offsets):
        ny, nx = ry + dy, rx + dx
        inside = (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)
        columns[s] = np.where(inside, ny * w + nx, -1)
        values[s] = flat_coef[s, rows]
    return columns, values


def rows_to_csr(columns: np.ndarray, values: np.ndarray, n_columns: int):
    """CSR matrix from per-offset ``(k, n_rows)`` column/value arrays; ``-1`` columns dropped.

    Offsets are sorted by flat order, so each row's columns come out ascending and the
    matrix is built without sorting or summing duplicates.
    """
    import scipy.sparse

    keep = (columns >= 0).T
    indptr = np.zeros(columns.shape[1] + 1, dtype=np.int64)
    np.cumsum(keep.sum(axis=1), out=indptr[1:])
    indices = columns.T[keep]
    data = values.T[keep]
    index_dtype = np.int32 if max(n_columns, len(data)) < 2**31 else np.int64
    return scipy.sparse.csr_matrix(
        (data, indices.astype(index_dtype), indptr.astype(index_dtype)),
        shape=(columns.shape[1], n_columns),
    )


def _coefficients_to_csr(coef: np.ndarray, offsets: np.ndarray):
    _, h, w = coef.shape
    columns, values = gather_rows(coef, offsets, np.arange(h * w))
    return rows_to_csr(columns, values, h * w)


def matting_laplacian(
    image: np.ndarray,
    *,
    eps: float = 1e-7,
    radius: int = 1,
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
    IEEE TPAMI 30(2), 2008, eq. 12). All windows' statistics are computed at once with
    ``sliding_window_view`` and ``einsum``.

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
    coef = stencil_coefficients(image, eps=eps, radius=radius, known=known)
    return _coefficients_to_csr(coef, _stencil_offsets(radius))
