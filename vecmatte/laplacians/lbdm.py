"""Learning-based digital matting Laplacian (Zheng, Kambhamettu 2009), window by window in
batches: a 4x4 solve and a small matrix product per window, all windows at once."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from vecmatte._arrays import check_image, check_mask
from vecmatte._validation import check_radius_eps
from vecmatte.laplacians._stencil import rows_to_csr, stencil_columns, stencil_offsets

__all__ = ["lbdm_laplacian"]

# Window values are computed in strips of window rows holding about this many floats (8 MB).
_WINDOW_VALUES_BUDGET = 1_000_000


def _window_blocks(colors: np.ndarray, eps: float) -> np.ndarray:
    """``(I - F)(I - F)^T`` for windows of colours ``(m, n, 3)``, ``F = X (X^T X + eps)^-1 X^T``.

    ``X = [colors, 1]`` is the window's ``(n, 4)`` design matrix: ``F`` maps the alphas of
    the window to their ridge-regression fit on the colours, so ``(I - F)`` is the residual
    of predicting each alpha from the colour model.
    """
    m, n, _ = colors.shape
    design = np.empty((m, n, 4))
    design[:, :, :3] = colors
    design[:, :, 3] = 1.0
    design_t = design.transpose(0, 2, 1)
    gram = np.matmul(design_t, design)
    gram[:, [0, 1, 2, 3], [0, 1, 2, 3]] += eps
    residual = np.matmul(np.matmul(design, np.linalg.inv(gram)), design_t)
    np.negative(residual, out=residual)
    residual[:, np.arange(n), np.arange(n)] += 1.0
    # The product itself, not its expansion I - X (G^-1 + eps G^-2) X^T (4 x 4 products):
    # where the colour model fits a window's pixels almost exactly (few distinct colours:
    # flat, saturated or quantised images) the expansion's diagonal is eps^2 under a rounding
    # error of about 1e-9 and came out negative, an indefinite system on which conjugate
    # gradient broke down. A product with its own transpose keeps the blocks positive
    # semi-definite up to a rounding relative to their entries (its diagonal is a sum of
    # squares, never negative), for 0-4% more time on the alphamatting images.
    return np.matmul(residual, residual.transpose(0, 2, 1))


def _active_windows(known: np.ndarray | None, shape: tuple[int, int], radius: int) -> np.ndarray:
    """Boolean ``(h - 2r, w - 2r)`` map of the windows (by top-left pixel) to evaluate."""
    h, w = shape
    size = 2 * radius + 1
    if known is None:
        return np.ones((h - 2 * radius, w - 2 * radius), dtype=bool)
    rows_any = sliding_window_view(~known, size, axis=0).any(axis=-1)
    return sliding_window_view(rows_any, size, axis=1).any(axis=-1)


def lbdm_coefficients(
    image: np.ndarray, *, eps: float, radius: int, known: np.ndarray | None = None
) -> np.ndarray:
    """Entries ``coef[s, y, x] = L[(y, x), (y, x) + offsets[s]]`` on the stencil of reach ``2r``.

    Each window adds its ``n x n`` block to the stencil: for window pixel ``a`` and partner
    ``b``, ``block[a, b]`` lands at pixel ``a`` on the slot of offset ``b - a``. Over all windows
    that is one shifted slice addition per ``(a, b)`` pair, strip by strip.
    """
    h, w = image.shape[:2]
    size = 2 * radius + 1
    n = size * size
    span = 4 * radius + 1
    active = _active_windows(known, (h, w), radius)
    n_wy, n_wx = active.shape
    coef = np.zeros((span * span, h, w))
    centre = span * span // 2
    windows = sliding_window_view(image, (size, size), axis=(0, 1))  # (n_wy, n_wx, 3, s, s)
    strip = max(1, _WINDOW_VALUES_BUDGET // (n * n * n_wx))
    a_y, a_x = np.divmod(np.arange(n), size)
    for top in range(0, n_wy, strip):
        bottom = min(top + strip, n_wy)
        wy, wx = np.nonzero(active[top:bottom])
        if len(wy) == 0:
            continue
        colors = windows[wy + top, wx].reshape(len(wy), 3, n).transpose(0, 2, 1)
        blocks = np.zeros((bottom - top, n_wx, n, n))
        blocks[wy, wx] = _window_blocks(colors, eps)
        for a in range(n):
            rows = slice(top + a_y[a], bottom + a_y[a])
            cols = slice(a_x[a], a_x[a] + n_wx)
            for b in range(n):
                slot = (a_y[b] - a_y[a] + 2 * radius) * span + (a_x[b] - a_x[a] + 2 * radius)
                if slot >= centre:
                    coef[slot, rows, cols] += blocks[:, :, a, b]
    # L is symmetric: L[p, p + e] = L[p + e, p], the slot of -e (filled above) read at p + e.
    offsets = stencil_offsets(2 * radius)
    for slot in range(centre):
        ey, ex = offsets[slot]
        upper = len(offsets) - 1 - slot
        coef[slot, max(-ey, 0) : h - max(ey, 0), max(-ex, 0) : w - max(ex, 0)] = coef[
            upper, max(ey, 0) : h - max(-ey, 0), max(ex, 0) : w - max(-ex, 0)
        ]
    return coef


def lbdm_laplacian(
    image: np.ndarray,
    *,
    eps: float = 1e-7,
    radius: int = 1,
    known: np.ndarray | None = None,
):
    """Learning-based digital matting Laplacian of an image.

    Parameters
    ----------
    image : ndarray, shape (h, w, 3)
        RGB image with values in [0, 1].
    eps : float, optional
        Ridge regularisation of each window's colour model (PyMatting's ``epsilon``, 1e-7).
    radius : int, optional
        Window radius ``r``; windows are ``(2r+1) x (2r+1)``, entirely inside the image.
    known : ndarray of bool, shape (h, w), optional
        Pixels whose alpha is fixed: windows made only of known pixels are left out (they
        only touch the known-known block, which a hard-constraint solve does not use).

    Returns
    -------
    scipy.sparse.csr_matrix, shape (h*w, h*w)
        Symmetric positive semi-definite, pixels in row-major order.

    Raises
    ------
    ValueError
        If the image is not ``(h, w, 3)`` in [0, 1], is smaller than one window, or an
        option is out of range.

    Notes
    -----
    Zheng and Kambhamettu, "Learning Based Digital Matting", ICCV 2009: in each window
    ``w_k`` alpha is predicted from the colours by ridge regression, ``alpha = F_k alpha``
    with ``X_k = [I, 1]`` (``n x 4``) and

    .. math::

        F_k = X_k (X_k^T X_k + \\epsilon I_4)^{-1} X_k^T, \\qquad
        L = \\sum_k (I - F_k)(I - F_k)^T \\text{ on the pixels of } w_k .

    PyMatting evaluates ``F_k`` as ``(X X^T + eps I_n)^-1 X X^T`` (an ``n x n`` solve per
    window); the two are equal, and the ``4 x 4`` form is solved for all windows in one
    batched call. Each window's block is formed as the product ``(I - F_k)(I - F_k)^T``,
    positive semi-definite also in floating point, so that images of a few flat colours
    give a solvable system.

    Examples
    --------
    >>> import numpy as np
    >>> from vecmatte.laplacians.lbdm import lbdm_laplacian
    >>> L = lbdm_laplacian(np.random.default_rng(0).random((5, 6, 3)))
    >>> L.shape
    (30, 30)
    """
    image = check_image(image)
    radius, eps = check_radius_eps(radius, eps, image.shape, model="learning-based")
    if known is not None:
        known = check_mask(known, image.shape[:2], "known")
    h, w = image.shape[:2]
    coef = lbdm_coefficients(image, eps=eps, radius=radius, known=known)
    rows = np.arange(h * w)
    columns = stencil_columns(stencil_offsets(2 * radius), rows, (h, w))
    return rows_to_csr(columns, coef.reshape(len(columns), h * w), h * w)
