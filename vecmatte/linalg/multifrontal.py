"""Sparse Cholesky factorisation by nested dissection of the pixel grid, on dense BLAS fronts.

The unknown pixels of a trimap sit on a grid and the matting Laplacian couples pixels at most
``reach = 2 * radius`` apart (in both coordinates). Cutting a set of pixels along a line
``reach`` pixels thick splits it into two sets that do not touch; eliminating both halves
before the cut keeps the factor's fill inside the two halves and the cut (nested dissection,
George 1973). Repeated down to small leaves, the factor holds about ``n log n`` entries
instead of the ``n`` times the band width of an envelope factor.

The numerical factorisation is *multifrontal* (Duff and Reid 1983): each node of the
dissection tree gathers its pixels, the pixels of later cuts they touch, its matrix entries
and its children's Schur complements into one dense frontal matrix, and factors it with
LAPACK/BLAS (``potrf``, ``trsm``, a matrix product), passing its own Schur complement up.
The loop runs over tree nodes (a few per hundred unknowns), never over pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vecmatte.linalg._panel import (
    PanelFactor,
    factor_dtype,
    factor_panel,
    reordered_upper,
)

__all__ = ["MultifrontalCholesky", "dissection_order", "multifrontal_cholesky"]

# Pixels in a leaf of the dissection. Smaller leaves mean less fill and fewer flops but more
# tree nodes, each costing a few Python-level NumPy calls.
_LEAF_SIZE = 96


@dataclass(frozen=True)
class Dissection:
    """Nested dissection of a set of grid points, in elimination order.

    Attributes
    ----------
    order : ndarray of intp
        ``order[p]`` is the original index of the point eliminated ``p``-th.
    starts : ndarray of intp
        Node ``k`` eliminates positions ``starts[k]:starts[k + 1]`` (possibly none).
    parent : ndarray of intp
        Parent node of each node (``-1`` for the root). Children come before parents.
    """

    order: np.ndarray
    starts: np.ndarray
    parent: np.ndarray


def dissection_order(ys: np.ndarray, xs: np.ndarray, reach: int, leaf_size: int = _LEAF_SIZE):
    """Nested dissection of grid points coupled within ``reach`` pixels.

    Parameters
    ----------
    ys, xs : ndarray of int, shape (n,)
        Coordinates of the points.
    reach : int
        Points farther apart than this (in either coordinate) are not coupled.
    leaf_size : int, optional
        Sets of at most this many points are not cut further.

    Returns
    -------
    Dissection
    """
    ys = np.asarray(ys, dtype=np.intp)
    xs = np.asarray(xs, dtype=np.intp)
    pieces: list[np.ndarray] = []
    parents: list[int] = []

    def dissect(subset: np.ndarray) -> int:
        """Order ``subset`` (children first, then its cut); return its node's index."""
        children: list[int] = []
        cut = subset
        if len(subset) > leaf_size:
            # The thinner of the best cuts across rows and across columns.
            _, low, axis = min(
                (
                    (*_best_cut(coordinates[subset], reach), axis)
                    for axis, coordinates in enumerate((ys, xs))
                ),
                key=lambda candidate: candidate[0],
            )
            if low is not None:
                coordinate = (ys, xs)[axis][subset]
                before = coordinate < low
                after = coordinate >= low + reach
                cut = subset[~(before | after)]
                for part in (subset[before], subset[after]):
                    if len(part):
                        children.append(dissect(part))
        node = len(pieces)
        pieces.append(cut)
        parents.append(-1)
        for child in children:
            parents[child] = node
        return node

    dissect(np.arange(len(ys)))
    sizes = np.array([len(p) for p in pieces], dtype=np.intp)
    order = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.intp)
    return Dissection(order, np.concatenate([[0], np.cumsum(sizes)]), np.array(parents))


def _best_cut(coordinate: np.ndarray, reach: int) -> tuple[float, int | None]:
    """The thinnest balanced cut ``low <= coordinate < low + reach``: ``(points in it, low)``.

    Balanced: at least a third of the points on each side, or failing that the most even
    cut. ``(inf, None)`` if the points span no more than ``reach`` coordinates.
    """
    lowest = int(coordinate.min())
    counts = np.bincount(coordinate - lowest)
    if len(counts) <= reach + 1:
        return float("inf"), None
    total = len(coordinate)
    below = np.concatenate([[0], np.cumsum(counts)])  # points with coordinate < lowest + i
    low = np.arange(1, len(counts) - reach)  # both sides keep at least one coordinate
    before = below[low]
    after = total - below[low + reach]
    size = below[low + reach] - below[low]
    balance = np.minimum(before, after)
    balanced = balance >= total / 3
    if balanced.any():
        choice = np.flatnonzero(balanced)[np.argmin(size[balanced])]
    else:
        choice = int(np.argmax(balance))
    return float(size[choice]), lowest + int(low[choice])


class MultifrontalCholesky(PanelFactor):
    """``P A P^T = L L^T`` in a nested-dissection order, one dense panel per tree node.

    A :class:`~vecmatte.linalg._panel.PanelFactor` whose ``boundaries[k]`` are the later
    positions node ``k``'s front reaches (index arrays, increasing).
    """


def multifrontal_cholesky(matrix, dissection: Dissection, dtype=np.float32):
    """Factor a symmetric positive definite matrix in a nested-dissection order.

    Parameters
    ----------
    matrix : sparse matrix, shape (n, n)
        Symmetric positive definite, both triangles stored.
    dissection : Dissection
        From :func:`dissection_order` on the points the rows stand for.
    dtype : {numpy.float32, numpy.float64}, optional
        Precision of the factor (single precision halves its memory; conjugate gradient in
        double precision polishes the solution).

    Returns
    -------
    MultifrontalCholesky

    Raises
    ------
    numpy.linalg.LinAlgError
        If a front is not positive definite (in the chosen precision).
    """
    from scipy.linalg.blas import get_blas_funcs

    dtype = factor_dtype(dtype)
    order, starts, parent = dissection.order, dissection.starts, dissection.parent
    # The upper triangle in the elimination order: each node reads its entries as one slice.
    upper = reordered_upper(matrix, order, dtype)
    (syrk,) = get_blas_funcs(("syrk",), dtype=dtype)
    n_nodes = len(parent)
    # Python ints and one array of entry rows: per-node NumPy scalars and index arithmetic
    # were a large part of the loop's time (it runs once per tree node).
    bounds, parents = starts.tolist(), parent.tolist()
    entry_rows = np.repeat(np.arange(len(order)), np.diff(upper.indptr))
    indptr = upper.indptr.tolist()
    # Boundary positions each finished child passes to its parent, with its Schur complement.
    pending_rows: list[list] = [[] for _ in range(n_nodes)]
    pending_updates: list[list] = [[] for _ in range(n_nodes)]
    boundaries: list = []
    panels: list = []
    for k in range(n_nodes):
        k0, k1 = bounds[k], bounds[k + 1]
        size = k1 - k0
        e0, e1 = indptr[k0], indptr[k1]
        columns, values = upper.columns[e0:e1], upper.values[e0:e1]
        later = columns[columns >= k1]
        for rows in pending_rows[k]:
            # Child boundaries inside this node are its own columns.
            later = np.concatenate([later, rows[np.searchsorted(rows, k1) :]])
        # Sorted, repeats dropped: several times faster than np.unique on these small arrays.
        later.sort()
        repeated = np.empty(len(later), dtype=bool)
        repeated[:1] = False
        np.equal(later[1:], later[:-1], out=repeated[1:])
        boundary = later[~repeated].astype(np.intp, copy=False)
        width = size + len(boundary)
        front = np.zeros((width, width), dtype=dtype)
        flat = front.reshape(-1)
        local = np.searchsorted(boundary, columns)
        local += size
        own = columns < k1
        local[own] = columns[own] - k0
        local *= width
        local += entry_rows[e0:e1]
        local -= k0
        flat[local] = values
        for rows, update in zip(pending_rows[k], pending_updates[k], strict=True):
            # Extend-add through flat indices: about twice as fast as front[np.ix_(at, at)].
            split = np.searchsorted(rows, k1)
            at = np.empty(len(rows), dtype=np.intp)
            at[:split] = rows[:split] - k0
            at[split:] = np.searchsorted(boundary, rows[split:]) + size
            at = (at[:, None] * width + at).reshape(-1)
            flat[at] += update.reshape(-1)
        pending_rows[k] = pending_updates[k] = None
        panel = np.ascontiguousarray(front[:, :size])
        if size:
            factor_panel(panel, size, f"multifrontal Cholesky: front {k}")
        if len(boundary) and parents[k] >= 0:
            # Schur complement on the boundary, lower triangle only (every front is read
            # through its lower triangle): BLAS syrk on the transposed (Fortran) views,
            # in place, half the flops of the full product.
            update = np.ascontiguousarray(front[size:, size:])
            if size:
                syrk(-1.0, panel[size:].T, beta=1.0, c=update.T, trans=1, lower=0, overwrite_c=1)
            pending_rows[parents[k]].append(boundary)
            pending_updates[parents[k]].append(update)
        boundaries.append(boundary)
        panels.append(panel)
    return MultifrontalCholesky(order, starts, boundaries, panels)
