"""Locally linear embedding (LLE) weights, the solves of information-flow matting's flows.

The colour-mixture and known-to-unknown flows of :mod:`vecmatte.laplacians.information_flow`
express each pixel's colour as an affine combination of its neighbours' colours; these
functions compute those weights for many pixels at once, block by block.
"""

from __future__ import annotations

import numpy as np

__all__ = ["lle_weights", "pixel_lle_weights"]

# Pixels per block of LLE solves: bounds the (block, K, K) Gram array to about 25 MB.
_BLOCK = 8192


def lle_weights(points: np.ndarray, neighbors: np.ndarray, *, reg: float = 1e-10) -> np.ndarray:
    """Locally linear embedding weights of each point in terms of its neighbours.

    Parameters
    ----------
    points : ndarray, shape (m, d)
    neighbors : ndarray, shape (m, k, d)
    reg : float, optional
        Multiple of the identity added to each neighbourhood's Gram matrix.

    Returns
    -------
    ndarray, shape (m, k)
        Weights summing to one on each row.

    Raises
    ------
    ValueError
        One line: shapes that do not match as above (``k`` at least 1), or ``reg`` not a
        finite number > 0 (at 0 a point with duplicate or collinear neighbours has a
        singular Gram matrix, and NaN gave NaN weights).

    Notes
    -----
    The weights minimise :math:`|x - N w|^2 + \\rho |w|^2` subject to :math:`1^T w = 1`
    (Roweis and Saul, Science 2000). On that constraint :math:`x - N w = (x 1^T - N) w`, so
    with the centred Gram matrix :math:`G = (N - x 1^T)^T (N - x 1^T)`,
    :math:`w \\propto (G + \\rho I)^{-1} 1`. When the feature dimension ``d`` is below ``k``
    (colour: 3 against 20) the ``k x k`` solve is replaced by a ``d x d`` one through
    :math:`(\\rho I + D^T D)^{-1} 1 = (1 - D^T (\\rho I + D D^T)^{-1} D 1) / \\rho` with
    :math:`D = N^T - x 1^T`; the factor :math:`1 / \\rho` cancels in the normalisation.
    """
    from vecmatte._numbers import finite_number

    points, neighbors = np.asarray(points), np.asarray(neighbors)
    if points.ndim != 2 or neighbors.shape[:1] + neighbors.shape[2:] != points.shape:
        raise ValueError(
            f"points has shape {points.shape} and neighbors {neighbors.shape}; expected "
            "(m, d) and (m, k, d)"
        )
    m, k, d = neighbors.shape
    if k < 1:
        raise ValueError("neighbors has no neighbour per point (shape (m, 0, d)); give k >= 1")
    reg = finite_number(reg, "reg", "a finite number > 0", minimum=0.0, above_minimum=True)
    weights = np.empty((m, k))
    for start in range(0, m, _BLOCK):
        block = slice(start, start + _BLOCK)
        diff = neighbors[block] - points[block, None, :]  # (b, k, d)
        if d == 3 < k:
            _colour_lle(np.ascontiguousarray(diff.transpose(2, 1, 0)), reg, weights[block])
            continue
        if d < k:
            gram = _small_gram(np.ascontiguousarray(diff.transpose(2, 1, 0)), reg)
            y = np.linalg.solve(gram, diff.sum(axis=1)[:, :, None])[:, :, 0]
            w = 1.0 - np.einsum("bki,bi->bk", diff, y)
        else:
            gram = np.einsum("bki,bli->bkl", diff, diff)
            gram[:, np.arange(k), np.arange(k)] += reg
            w = np.linalg.solve(gram, np.ones((gram.shape[0], k, 1)))[:, :, 0]
        weights[block] = w / w.sum(axis=1, keepdims=True)
    return weights


def pixel_lle_weights(
    planes: np.ndarray, rows: np.ndarray, neighbors: np.ndarray, *, reg: float = 1e-10
) -> np.ndarray:
    """:func:`lle_weights` of the colours of pixels ``rows`` from those of ``neighbors``.

    ``planes`` holds the ``(3, n)`` colour planes, of any strides; the result is
    ``lle_weights(colours[rows], colours[neighbors])`` bit for bit. Each block gathers its
    colours straight into the ``(3, k, b)`` layout of the Gram sums: the whole-region
    gather ``colours[neighbors]`` (85 MB for the colour-mixture flow of GT04, scattered
    rows of 3 from a 5-column array) took as long as the solves and was transposed again.
    The flows pass strided views of the image (``information_flow._colour_planes``): no
    copy, and 0.91x the CPU of gathers from contiguous planes on GT04 (a pixel's colours
    share a cache line); indexing, as ``take`` would copy a strided plane whole for every
    block.
    """
    m, k = neighbors.shape
    weights = np.empty((m, k))
    for start in range(0, m, _BLOCK):
        block = slice(start, start + _BLOCK)
        index = neighbors[block].T
        diff = np.empty((len(planes), k, index.shape[1]))
        for channel, plane in enumerate(planes):
            np.subtract(plane[index], plane[rows[block]], out=diff[channel])
        _colour_lle(diff, reg, weights[block])
    return weights


def _colour_lle(diff: np.ndarray, reg: float, out: np.ndarray) -> None:
    """LLE weights ``(b, k)`` into ``out`` from the differences ``diff`` ``(3, k, b)``.

    ``diff[c, j]`` is colour ``c`` of neighbour ``j`` minus the pixel's, for ``b`` pixels.
    """
    # Neighbour by neighbour, as diff.sum(axis=1) over the (b, k, 3) layout adds them (on
    # this layout it adds pairwise when b is 1).
    total = diff[:, 0].copy()
    for neighbor in range(1, diff.shape[1]):
        total += diff[:, neighbor]
    y = np.linalg.solve(_small_gram(diff, reg), total.T[:, :, None])[:, :, 0]
    # Summed as einsum("bki,bi->bk") did: (0 + 2) + 1.
    w = diff[0] * y[:, 0] + diff[2] * y[:, 2]
    w += diff[1] * y[:, 1]
    # Back to (b, k) rows before the normalising sum, which must add along contiguous
    # memory in numpy's pairwise order, as it did on the original layout.
    w = np.subtract(1.0, w.T, order="C")
    np.divide(w, w.sum(axis=1, keepdims=True), out=out)


def _small_gram(diff: np.ndarray, reg: float) -> np.ndarray:
    """``(b, d, d)`` Gram matrices ``diff_b^T diff_b + reg I``; ``diff`` is ``(d, k, b)``.

    ``diff`` holds the ``(b, k, d)`` differences transposed to contiguous rows of ``b``
    values. Each distinct entry is summed over the ``k`` neighbours in order, one row at a
    time: the same sums as ``einsum("bki,bkj->bij")`` bit for bit, several times faster
    than its ``(k, d)`` products per pixel.
    """
    d, k, b = diff.shape
    gram = np.empty((b, d, d))
    for i in range(d):
        for j in range(i, d):
            entry = diff[i, 0] * diff[j, 0]
            for neighbor in range(1, k):
                entry += diff[i, neighbor] * diff[j, neighbor]
            gram[:, i, j] = entry
            gram[:, j, i] = entry
        gram[:, i, i] += reg
    return gram
