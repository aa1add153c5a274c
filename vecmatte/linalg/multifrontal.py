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
    n = len(ys)
    # The tree is built one depth at a time: all sets of one depth are cut together with
    # segmented array operations (the loop runs over depths, not over tree nodes). Each set
    # keeps its points in increasing index order, as its parts do.
    node_of = np.zeros(n, dtype=np.intp)  # the node (in creation order) each point ends in
    children: list[list[int]] = [[]]
    points = np.arange(n)  # points of the sets still to be cut, grouped by set
    owner = np.zeros(n, dtype=np.intp)  # their set's node (non-decreasing)
    while len(points):
        first = np.flatnonzero(np.concatenate([[True], owner[1:] != owner[:-1]]))
        counts = np.diff(np.append(first, len(owner)))
        big = counts > leaf_size
        keep = np.repeat(big, counts)
        node_of[points[~keep]] = owner[~keep]
        nodes, counts = owner[first[big]], counts[big]
        points = points[keep]
        if not len(points):
            break
        segment = np.repeat(np.arange(len(nodes)), counts)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        size_y, low_y = _best_cuts(ys[points], segment, starts, reach)
        size_x, low_x = _best_cuts(xs[points], segment, starts, reach)
        # The thinner of the best cuts across rows and across columns (rows on a tie); a
        # set too narrow for either is a node of its own.
        across_rows = (size_y <= size_x)[segment]
        coordinate = np.where(across_rows, ys[points], xs[points])
        low = np.where(across_rows, low_y[segment], low_x[segment])
        cuttable = np.isfinite(np.minimum(size_y, size_x))[segment]
        before = (coordinate < low) & cuttable
        after = (coordinate >= low + reach) & cuttable
        in_cut = ~(before | after)
        node_of[points[in_cut]] = nodes[segment[in_cut]]
        # The parts become new nodes, the part before the cut first.
        label = (2 * segment + after)[~in_cut]
        points = points[~in_cut]
        present = np.bincount(label, minlength=2 * len(nodes)) > 0
        labels = np.flatnonzero(present)
        new_nodes = len(children) + np.arange(len(labels))
        for label_of, node in zip(labels.tolist(), new_nodes.tolist(), strict=True):
            children[int(nodes[label_of // 2])].append(node)
            children.append([])
        # Group the points by part, keeping their order (a stable radix sort on 16 bits).
        sort_key = label.astype(np.uint16) if len(present) <= 2**16 else label
        regroup = np.argsort(sort_key, kind="stable")
        points = points[regroup]
        owner = (np.cumsum(present) - 1 + len(children) - len(labels))[label[regroup]]
    # Children first, then their parent's cut: number the nodes in post-order.
    post = np.empty(len(children), dtype=np.intp)
    count, stack = 0, [(0, False)]
    while stack:
        node, done = stack.pop()
        if done:
            post[node] = count
            count += 1
            continue
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(children[node]))
    parent = np.full(len(children), -1, dtype=np.intp)
    for node, below in enumerate(children):
        parent[post[below]] = post[node]
    final = post[node_of]
    order = np.argsort(final, kind="stable")
    sizes = np.bincount(final, minlength=len(children))
    return Dissection(order, np.concatenate([[0], np.cumsum(sizes)]), parent)


def _best_cuts(coordinate, segment, starts, reach):
    """:func:`_best_cut` for many sets at once: ``segment`` numbers each point's set.

    Returns
    -------
    size : ndarray of float
        Points in each set's cut (``inf`` if the set spans no more than ``reach`` values).
    low : ndarray of intp
        Each set's cut starts at this coordinate.
    """
    lowest = np.minimum.reduceat(coordinate, starts)
    span = np.maximum.reduceat(coordinate, starts) - lowest + 1
    offset = np.concatenate([[0], np.cumsum(span + 1)])
    # below[offset[s] + i]: points of set s with coordinate < lowest[s] + i, i = 0..span[s].
    histogram = np.bincount(
        offset[segment] + 1 + coordinate - lowest[segment], minlength=offset[-1]
    )
    below = np.cumsum(histogram)
    below -= np.repeat(below[offset[:-1]], span + 1)
    total = np.diff(np.append(starts, len(coordinate)))
    # Candidate cuts low = lowest + i, 1 <= i < span - reach (both sides keep a coordinate).
    n_candidates = np.maximum(span - reach - 1, 0)
    which = np.repeat(np.arange(len(starts)), n_candidates)
    i = (
        np.arange(int(n_candidates.sum()))
        - np.repeat(np.cumsum(n_candidates) - n_candidates, n_candidates)
        + 1
    )
    at = offset[which] + i
    before = below[at]
    after = total[which] - below[at + reach]
    size = below[at + reach] - below[at]
    balance = np.minimum(before, after)
    balanced = 3 * balance >= total[which]
    # Thinnest balanced cut (the first of equals), else the most even (the first of equals):
    # one key whose minimum over a set is that choice.
    n = len(coordinate) + 1
    score = np.where(balanced, size, n + total[which] - balance)
    width = int(span.max()) + 1 if len(span) else 1
    key = score * width + i
    best = np.full(len(starts), np.iinfo(np.intp).max, dtype=np.intp)
    np.minimum.at(best, which, key)
    has = n_candidates > 0
    chosen = best[has] % width
    low = np.zeros(len(starts), dtype=np.intp)
    low[has] = lowest[has] + chosen
    size_of = np.full(len(starts), np.inf)
    picked = offset[:-1][has] + chosen
    size_of[has] = below[picked + reach] - below[picked]
    return size_of, low


def _best_cut(coordinate: np.ndarray, reach: int) -> tuple[float, int | None]:
    """The thinnest balanced cut ``low <= coordinate < low + reach``: ``(points in it, low)``.

    Balanced: at least a third of the points on each side, or failing that the most even
    cut. ``(inf, None)`` if the points span no more than ``reach`` coordinates.
    """
    coordinate = np.asarray(coordinate, dtype=np.intp)
    size, low = _best_cuts(coordinate, np.zeros(len(coordinate), np.intp), np.array([0]), reach)
    if not np.isfinite(size[0]):
        return float("inf"), None
    return float(size[0]), int(low[0])


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
        width = len(boundary)
        # The front in two arrays, each filled where it is factored: the panel (own columns,
        # all rows) and the boundary block. The block of own rows and boundary columns is the
        # front's upper triangle, never read: not storing it saves its zeros, and factoring
        # the panel and passing the block up need no copies.
        panel = np.zeros((size + width, size), dtype=dtype)
        block = np.zeros((width, width), dtype=dtype)
        panel_flat, block_flat = panel.reshape(-1), block.reshape(-1)
        # All matrix entries of the node's rows are in its own columns.
        local = np.searchsorted(boundary, columns)
        local += size
        own = columns < k1
        local[own] = columns[own] - k0
        local *= size
        local += entry_rows[e0:e1]
        local -= k0
        panel_flat[local] = values
        for rows, update in zip(pending_rows[k], pending_updates[k], strict=True):
            # Extend-add through flat indices (about twice as fast as np.ix_): the child's
            # rows before ``split`` are this node's own columns (into the panel), the others
            # its boundary (into the block, lower right of the child's update only).
            split = int(np.searchsorted(rows, k1))
            at = np.empty(len(rows), dtype=np.intp)
            at[:split] = rows[:split] - k0
            at[split:] = np.searchsorted(boundary, rows[split:]) + size
            if split:
                target = at[:, None] * size + at[:split]
                panel_flat[target.reshape(-1)] += update[:, :split].reshape(-1)
            if split < len(rows):
                later = at[split:] - size
                target = later[:, None] * width + later
                block_flat[target.reshape(-1)] += update[split:, split:].reshape(-1)
        pending_rows[k] = pending_updates[k] = None
        if size:
            factor_panel(panel, size, f"multifrontal Cholesky: front {k}")
        if width and parents[k] >= 0:
            # Schur complement on the boundary, lower triangle only (every front is read
            # through its lower triangle): BLAS syrk on the transposed (Fortran) views,
            # in place, half the flops of the full product.
            if size:
                syrk(-1.0, panel[size:].T, beta=1.0, c=block.T, trans=1, lower=0, overwrite_c=1)
            pending_rows[parents[k]].append(boundary)
            pending_updates[parents[k]].append(block)
        boundaries.append(boundary)
        panels.append(panel)
    return MultifrontalCholesky(order, starts, boundaries, panels)
