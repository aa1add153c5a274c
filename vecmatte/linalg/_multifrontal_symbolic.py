"""Symbolic side of the multifrontal Cholesky factor: what each front holds and where.

Everything a node of the dissection tree needs before the numerical loop of
:func:`vecmatte.linalg.multifrontal.multifrontal_cholesky` that is not numerical: its children,
its boundary (the later positions its columns of ``L`` reach), the front row of any position,
where its matrix entries go in its panel and where its children's Schur complements land in
its front. Found for all nodes at once where it can be (a few NumPy calls per node elsewhere).
"""

from __future__ import annotations

import numpy as np

from vecmatte.linalg._panel import ReorderedUpper

__all__ = ["ExtendAddPlan", "FrontRows", "children_of", "front_boundaries", "upper_in_order"]


def children_of(parent: np.ndarray) -> list[list[int]]:
    """Children of each node, in increasing order."""
    children: list[list[int]] = [[] for _ in range(len(parent))]
    for node, up in enumerate(parent.tolist()):
        if up >= 0:
            children[up].append(node)
    return children


def front_boundaries(
    upper, starts: np.ndarray, children: list[list[int]], ranks: list | None = None
) -> list[np.ndarray]:
    """Symbolic factorisation: the later positions each node's columns of ``L`` reach.

    A node's boundary is the union of its matrix entries' later columns and its children's
    boundaries beyond its own columns (increasing index arrays). If ``ranks`` is a list, each
    node's entries in later columns (in ``upper``'s order) get their index in the node's
    boundary appended to it, one array per node: searched in the small boundary while it is
    in cache, for :meth:`FrontRows.entry_places`, instead of in all boundaries at once.
    """
    # The entries in later columns of all nodes, found at once: each node's are one slice.
    bounds = starts.tolist()
    node_end = np.repeat(np.repeat(starts[1:], np.diff(starts)), np.diff(upper.indptr))
    is_later = upper.columns >= node_end
    del node_end
    later_columns = upper.columns[is_later]
    counted = np.zeros(len(is_later) + 1, dtype=np.intp)
    np.cumsum(is_later, out=counted[1:])
    del is_later
    first_later = counted[upper.indptr[starts]].tolist()
    del counted
    boundaries: list[np.ndarray] = []
    for k, below in enumerate(children):
        k1 = bounds[k + 1]
        parts = [later_columns[first_later[k] : first_later[k + 1]]]
        for child in below:
            rows = boundaries[child]
            parts.append(rows[rows.searchsorted(k1) :])
        later = np.concatenate(parts)
        # Sorted, repeats dropped: several times faster than np.unique on these small arrays.
        later.sort()
        if len(later) > 1:
            keep = np.empty(len(later), dtype=bool)
            keep[0] = True
            np.not_equal(later[1:], later[:-1], out=keep[1:])
            later = later[keep]
        if ranks is not None:
            ranks.append(later.searchsorted(parts[0]))
        boundaries.append(later.astype(np.intp, copy=False))
    return boundaries


class FrontRows:
    """Row of a position in a node's front, for many (node, position) pairs at once.

    Front rows are the node's own positions, then its boundary. One search of all pairs in
    the sorted keys ``node * n + boundary position`` replaces a few NumPy calls per node.
    """

    def __init__(self, starts: np.ndarray, boundaries: list[np.ndarray]):
        self.n = int(starts[-1])
        self.starts = starts
        self.sizes = np.diff(starts)
        self.widths = np.array([len(b) for b in boundaries], dtype=np.intp)
        self.keys = np.concatenate([*boundaries, np.empty(0, np.intp)])
        self.keys += np.repeat(np.arange(len(self.sizes)) * self.n, self.widths)
        self.first_key = np.zeros(len(self.sizes), dtype=np.intp)
        np.cumsum(self.widths[:-1], out=self.first_key[1:])
        # 32-bit per-entry arrays when they fit: half the memory traffic, and temporaries
        # small enough for malloc to reuse instead of mapping afresh.
        self.index = np.int32 if self.n < 2**31 else np.intp

    def rows(
        self, node: np.ndarray | None, position: np.ndarray, size=None, first=None, ranks=None
    ) -> np.ndarray:
        """Front rows of ``position`` (each in its ``node``'s front).

        ``size`` and ``first`` (the nodes' sizes and first positions, one per pair) may be
        given when they are cheaper to make than to gather; with ``ranks`` (the boundary
        index of each pair beyond its node's own positions, in order) ``node`` is not read.
        """
        if size is None:
            size = self.sizes.astype(self.index)[node]
            first = self.starts.astype(self.index)[node]
        row = position - first
        later = np.flatnonzero(row >= size)
        if ranks is not None:
            place = np.concatenate([np.empty(0, np.intp), *ranks])
            place += size[later]
            row[later] = place
        elif len(later):
            wanted = node[later].astype(np.intp)
            place = np.searchsorted(self.keys, wanted * self.n + position[later])
            place -= self.first_key[wanted]
            place += size[later]
            row[later] = place
        return row

    def entry_places(self, upper, ranks: list | None = None) -> np.ndarray:
        """Flat index in its node's panel of each entry of ``upper``.

        ``ranks``, if given, are the boundary indices of the entries in later columns, from
        :func:`front_boundaries` (the same rows, without the search in all boundaries).

        Entry (row r, column c >= r) of node k is L's entry (c, r): panel element
        ``(front row of c, r - k0)``. Per-entry values are repeated from per-row ones
        (sequential writes) rather than gathered from per-node ones.
        """
        counts = np.diff(upper.indptr)
        node_sizes = self.sizes.astype(self.index)
        row_node = np.repeat(np.arange(len(self.sizes), dtype=self.index), self.sizes)
        size = np.repeat(np.repeat(node_sizes, self.sizes), counts)
        first = np.repeat(np.repeat(self.starts[:-1].astype(self.index), self.sizes), counts)
        node = None if ranks is not None else np.repeat(row_node, counts)
        place = self.rows(node, upper.columns, size, first, ranks)
        place *= size
        del size, first
        column = np.arange(self.n, dtype=self.index)
        column -= np.repeat(self.starts[:-1].astype(self.index), self.sizes)
        place += np.repeat(column, counts)
        return place


class ExtendAddPlan:
    """How each child's Schur complement is added into its parent's front.

    A child's boundary rows land in its parent's front in a few runs of consecutive rows
    (pieces of the separators around the child: 3-4 runs on average on a pixel grid), so the
    lower triangle of its update is added column run by column run: the rows from that run
    on as rectangular slices, one per row run, or, when there are many row runs, as one
    addition through an index array of rows (a slice of columns on each). Children with
    many runs and little data are added through flat indices instead (one gather and
    scatter), whichever costs less. All runs are found for all children at once before the
    numerical loop.
    """

    # Measured cost of one slice addition (Python and NumPy call overhead) in array entries
    # added through flat indices, and the relative cost of an entry added through slices.
    _SLICE_CALL = 500
    _SLICE_ENTRY = 0.3
    # An addition through an index array of rows costs about as much as three slice
    # additions, plus about one slice addition per 1200 entries more than slices would take
    # (measured on GT01's scribbles: below that, more of its columns go through slices).
    _ROWS_CALLS = 3.0
    _ROWS_ENTRY = 1 / 1200

    def __init__(self, fronts: FrontRows, parent: np.ndarray, boundaries: list[np.ndarray]):
        widths = fronts.widths.copy()
        widths[parent < 0] = 0
        offsets = np.zeros(len(widths) + 1, dtype=np.intp)
        np.cumsum(widths, out=offsets[1:])
        rows = np.concatenate(
            [np.empty(0, np.intp)]
            + [b for b, w in zip(boundaries, widths.tolist(), strict=True) if w]
        )
        owner = np.repeat(parent.astype(fronts.index), widths)
        at = fronts.rows(owner, rows).astype(np.intp)
        own = at < fronts.sizes[owner]
        # A run starts at each child's first row, where rows stop being consecutive, and
        # where they pass from the parent's own columns to its boundary.
        start = np.ones(len(at), dtype=bool)
        start[1:] = (at[1:] != at[:-1] + 1) | (own[1:] != own[:-1])
        start[offsets[:-1][widths > 0]] = True
        run_first = np.flatnonzero(start)
        n_runs = np.bincount(
            np.repeat(np.arange(len(widths)), widths)[run_first], minlength=len(widths)
        )
        self.run_ptr = np.concatenate([[0], np.cumsum(n_runs)]).tolist()
        self.run_edge = (run_first - np.repeat(offsets[:-1], n_runs)).tolist()
        self.run_at = at[run_first].tolist()
        self.at, self.offsets = at, offsets.tolist()
        # The same rows counted from the parent's boundary (for additions into its block).
        self.block_at = at - np.repeat(fronts.sizes[np.maximum(parent, 0)], widths)
        self.sizes = fronts.sizes
        pairs = n_runs * (n_runs + 1) // 2
        entries = widths * (widths + 1) // 2
        self.by_slices = (
            pairs * self._SLICE_CALL + self._SLICE_ENTRY * entries < 2 * widths**2
        ).tolist()

    def add(self, child: int, update: np.ndarray, panel, block, size: int) -> None:
        """Add ``update`` (the child's Schur complement, lower triangle) into the front."""
        width = len(update)
        if not self.by_slices[child]:
            at = self.at[self.offsets[child] : self.offsets[child + 1]]
            split = int(np.searchsorted(at, size))
            if split:
                target = at[:, None] * size + at[:split]
                panel.reshape(-1)[target.reshape(-1)] += update[:, :split].reshape(-1)
            if split < width:
                later = at[split:] - size
                target = later[:, None] * block.shape[0] + later
                block.reshape(-1)[target.reshape(-1)] += update[split:, split:].reshape(-1)
            return
        r0, r1 = self.run_ptr[child], self.run_ptr[child + 1]
        edges = self.run_edge[r0:r1]
        edges.append(width)
        places = self.run_at[r0:r1]
        offset, runs = self.offsets[child], r1 - r0
        for j in range(runs):
            b0, b1, q = edges[j], edges[j + 1], places[j]
            below = runs - j
            if below > 1 and below > self._ROWS_CALLS + self._ROWS_ENTRY * (width - b0) * (b1 - b0):
                # One addition through the rows of all runs from this one on.
                if q < size:
                    rows = self.at[offset + b0 : offset + width]
                    panel[rows, q : q + b1 - b0] += update[b0:, b0:b1]
                else:
                    rows = self.block_at[offset + b0 : offset + width]
                    block[rows, q - size : q - size + b1 - b0] += update[b0:, b0:b1]
                continue
            # One slice per row run; in-place on views (``a[...] += b`` would also copy the
            # result back into ``a[...]``).
            columns = update[:, b0:b1]
            target, shift = (panel, 0) if q < size else (block, size)
            q -= shift
            for i in range(j, runs):
                a0, a1 = edges[i], edges[i + 1]
                p = places[i] - shift
                view = target[p : p + a1 - a0, q : q + b1 - b0]
                view += columns[a0:a1]


def upper_in_order(matrix, order: np.ndarray, dtype) -> ReorderedUpper:
    """The upper triangle of ``P A P^T`` by rows in the new order (symmetric CSR ``matrix``).

    The same arrays as :func:`~vecmatte.linalg._panel.reordered_upper`, at about half its cost
    (measured on GT01's scribbles): the triangle is chosen in the original order, so scipy's
    compiled row permutation moves half the entries, their values already in ``dtype``.
    """
    from scipy.sparse import csr_matrix

    matrix = matrix.tocsr()
    n = len(order)
    index = np.int32 if max(n, matrix.nnz) < 2**31 else np.intp
    position = np.empty(n, dtype=index)
    position[order] = np.arange(n, dtype=index)
    columns = position[matrix.indices]
    counts = np.diff(matrix.indptr)
    keep = columns >= np.repeat(position, counts)
    del position
    columns = columns[keep]
    values = matrix.data[keep].astype(dtype, copy=False)
    # Kept entries per original row. reduceat reads one entry for an empty row (hence the
    # zeroing) and needs every start inside the array (hence one padding entry, for empty
    # rows at the end).
    padded = np.zeros(len(keep) + 1, dtype=np.uint8)
    padded[:-1] = keep
    kept = np.add.reduceat(padded, matrix.indptr[:-1], dtype=index)
    kept[counts == 0] = 0
    del keep
    original = np.zeros(n + 1, dtype=index)
    np.cumsum(kept, out=original[1:])
    upper = csr_matrix((values, columns, original), shape=(n, n))[order]
    return ReorderedUpper(upper.indptr.astype(np.intp), upper.indices, upper.data)
