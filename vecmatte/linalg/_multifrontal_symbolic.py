"""Symbolic side of the multifrontal Cholesky factor: what each front holds and where.

Everything a node of the dissection tree needs before the numerical loop of
:func:`vecmatte.linalg.multifrontal.multifrontal_cholesky` that is not numerical: its children,
its boundary (the later positions its columns of ``L`` reach), the front row of any position,
where its matrix entries go in its panel and where its children's Schur complements land in
its front. Found for all nodes at once: the loops run over the tree's depths, not its nodes
(on GT01's scribbles, 5426 nodes, a loop over nodes cost about 10 us a node).
"""

from __future__ import annotations

import itertools

import numpy as np

from vecmatte.linalg._panel import ReorderedUpper

__all__ = [
    "Boundaries",
    "ExtendAddPlan",
    "FrontRows",
    "children_of",
    "front_boundaries",
    "upper_in_order",
]


def children_of(parent: np.ndarray) -> list[list[int]]:
    """Children of each node, in increasing order."""
    children: list[list[int]] = [[] for _ in range(len(parent))]
    for node, up in enumerate(parent.tolist()):
        if up >= 0:
            children[up].append(node)
    return children


class Boundaries(list):
    """Each node's boundary (increasing index arrays, views of one array), as a list.

    ``child_rows``: for the nodes that have a parent, in node order, the row of each of their
    boundary positions in the parent's front (found with the boundaries for a few array
    operations more). :class:`ExtendAddPlan` takes it and sets it to ``None``, so that the
    factor, which keeps the boundaries, does not keep it.
    """

    child_rows: np.ndarray | None = None


def front_boundaries(
    upper, starts: np.ndarray, children: list[list[int]], ranks: list | None = None
) -> Boundaries:
    """Symbolic factorisation: the later positions each node's columns of ``L`` reach.

    A node's boundary is the union of its matrix entries' later columns and its children's
    boundaries beyond its own columns (increasing index arrays). If ``ranks`` is a list,
    what :meth:`FrontRows.entry_places` needs to place the entries in later columns without
    a search is appended to it (where they are among ``upper``'s entries, their index in
    their node's boundary, and their count per node).

    Notes
    -----
    No loop over nodes (a sort per node cost about 10 us a node, 55 ms for the 5426 nodes
    of GT01's scribbles). The entries in later columns of all nodes are the rows of one
    sparse matrix; its transpose (a compiled counting sort) lists each column's nodes in
    increasing order, so repeats are neighbours, and a stable sort by node (16-bit radix)
    gives each node's distinct columns in increasing order: the whole boundary of a node
    without children. Nodes with children are then done a depth at a time, the deepest
    first, the same way: row ``2 i`` of the matrix holds node ``i``'s distinct columns, row
    ``2 i + 1`` its children's boundary positions beyond its own columns.
    """
    n_nodes = len(starts) - 1
    columns = upper.columns
    index = columns.dtype
    sizes = np.diff(starts)
    # The entries in later columns of all nodes, found at once: each node's are one slice.
    later = _later_entries(upper, np.repeat(starts[1:].astype(index), sizes))
    later_columns = columns[later]
    n_later = np.diff(np.searchsorted(later, upper.indptr[starts]))
    # Each node's distinct later columns (``own``, node after node) and, for each entry,
    # the index of its column in ``own``.
    own, own_count, entry_in_own = _distinct_by_row(later_columns, n_later)
    own_first = np.cumsum(own_count) - own_count
    lengths = np.fromiter(map(len, children), dtype=np.intp, count=n_nodes)
    below = np.fromiter(itertools.chain.from_iterable(children), np.intp, int(lengths.sum()))
    parent = np.full(n_nodes, -1, dtype=np.intp)
    parent[below] = np.repeat(np.arange(n_nodes), lengths)
    # Every boundary is a slice of ``found.values``: a childless node's is its distinct
    # columns, the others' are appended a depth at a time. ``found.rows`` holds the row of
    # each position in the parent's front (written when the parent's depth is done), and
    # ``own_rank`` the index of each distinct column in its node's boundary.
    found = _Positions(own, 2 * len(own) + 16)
    offset, width = own_first.copy(), own_count.copy()
    own_rank = np.arange(len(own)) - np.repeat(own_first, own_count)
    by_depth, depth_bounds = _by_depth(parent)
    local = np.zeros(n_nodes, dtype=np.intp)
    deeper = np.zeros(0, dtype=np.intp)  # the nodes one depth below (all have parents)
    for d0, d1 in itertools.pairwise(depth_bounds.tolist()):
        nodes = by_depth[d0:d1]
        kids, deeper = deeper, nodes
        nodes = nodes[lengths[nodes] > 0]
        if not len(nodes):
            continue
        m = len(nodes)
        local[nodes] = np.arange(m)
        mine = _segments(own_first[nodes], own_count[nodes])
        # The children's boundary positions, grouped by parent: those before the parent's
        # end are rows of its own columns, the others (``beyond``) join its boundary.
        kids = kids[np.argsort(local[parent[kids]], kind="stable")]
        kid_entries = _segments(offset[kids], width[kids])
        kid_values = found.values[kid_entries]
        kid_owner = np.repeat(local[parent[kids]], width[kids])
        kid_rows = kid_values - starts[nodes].astype(index)[kid_owner]
        beyond = np.flatnonzero(kid_values >= starts[nodes + 1][kid_owner])
        beyond_owner = kid_owner[beyond]
        # Node i's distinct columns are row 2 i of the matrix, its children's positions
        # beyond its own columns row 2 i + 1.
        counts = np.empty(2 * m, dtype=np.intp)
        counts[0::2] = own_count[nodes]
        counts[1::2] = np.bincount(beyond_owner, minlength=m)
        heads = np.cumsum(counts) - counts
        place = np.concatenate(
            [_segments(heads[0::2], counts[0::2]), _segments(heads[1::2], counts[1::2])]
        )
        values = np.concatenate([own[mine], kid_values[beyond]])
        boundary, node_width, position = _distinct_by_row(values, counts, place, pairs=True)
        node_first = np.cumsum(node_width) - node_width
        n_mine = len(mine)
        own_rank[mine] = position[:n_mine] - np.repeat(node_first, own_count[nodes])
        kid_rows[beyond] = sizes[nodes][beyond_owner] + position[n_mine:]
        kid_rows[beyond] -= node_first[beyond_owner].astype(index)
        found.rows[kid_entries] = kid_rows
        offset[nodes] = found.size + node_first
        width[nodes] = node_width
        found.append(boundary)
    if ranks is not None:
        ranks.append((later, own_rank[entry_in_own].astype(index), n_later))
    # The boundaries in node order, one array; each node's is a view of it.
    gather = _segments(offset, width)
    flat = found.values[gather].astype(np.intp)
    bounds = np.zeros(n_nodes + 1, dtype=np.intp)
    np.cumsum(width, out=bounds[1:])
    boundaries = Boundaries(flat[a:b] for a, b in itertools.pairwise(bounds.tolist()))
    boundaries.child_rows = found.rows[gather[np.repeat(parent >= 0, width)]]
    return boundaries


def _later_entries(upper, row_end: np.ndarray) -> np.ndarray:
    """Indices of ``upper``'s entries whose column is at or after ``row_end`` of their row.

    Found in chunks of rows (about ``_CHUNK`` entries each): a per-entry array of the rows'
    ends would be fresh memory the size of the matrix's indices.
    """
    indptr, columns = upper.indptr, upper.columns
    n, total = len(row_end), int(indptr[-1])
    found = []
    cuts = np.unique(np.searchsorted(indptr, np.arange(0, total, _CHUNK)).clip(0, n)).tolist()
    for r0, r1 in itertools.pairwise([*cuts, n] if cuts else [0, n]):
        e0, e1 = int(indptr[r0]), int(indptr[r1])
        ends = np.repeat(row_end[r0:r1], np.diff(indptr[r0 : r1 + 1]))
        chunk = np.flatnonzero(columns[e0:e1] >= ends)
        chunk += e0
        found.append(chunk)
    return np.concatenate([*found, np.empty(0, np.intp)])


class _Positions:
    """Boundary positions (``values``) and their rows in the parents' fronts, growing."""

    def __init__(self, values: np.ndarray, capacity: int):
        self.size = len(values)
        self.values = np.empty(max(capacity, self.size), dtype=values.dtype)
        self.values[: self.size] = values
        self.rows = np.zeros(len(self.values), dtype=values.dtype)

    def append(self, values: np.ndarray) -> None:
        end = self.size + len(values)
        if end > len(self.values):
            capacity = max(end, 2 * len(self.values))
            for name in ("values", "rows"):
                grown = np.zeros(capacity, dtype=self.values.dtype)
                grown[: self.size] = getattr(self, name)[: self.size]
                setattr(self, name, grown)
        self.values[self.size : end] = values
        self.size = end


def _distinct_by_row(
    values: np.ndarray, counts: np.ndarray, place: np.ndarray | None = None, pairs: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct values of each row (or of each pair of rows), in increasing order.

    Row ``r`` holds ``counts[r]`` of ``values``: the values in row order, or ``values[j]``
    at ``place[j]`` of the row-order layout. Returns the distinct values of each group
    (a row, or rows ``2 i`` and ``2 i + 1`` with ``pairs``), group after group, the number
    in each group, and for each value its index among them all.
    """
    from scipy.sparse import csr_matrix

    index = values.dtype
    indptr = np.zeros(len(counts) + 1, dtype=np.intp)
    np.cumsum(counts, out=indptr[1:])
    laid, number = values, np.arange(len(values), dtype=index)
    if place is not None:
        laid = np.empty_like(values)
        laid[place] = values
        number = np.empty_like(number)
        number[place] = np.arange(len(values), dtype=index)
    span = int(values.max()) + 1 if len(values) else 1
    # The transpose lists each column's rows in increasing order: repeats are neighbours.
    by_column = csr_matrix((number, laid, indptr), shape=(len(counts), span)).tocsc()
    which, group = by_column.data, by_column.indices
    del by_column
    if pairs:
        group >>= 1
    # ``number``'s memory holds the values in that order, then their distinct numbers
    # (fresh memory costs page faults).
    in_order = np.take(values, which, out=number, mode="clip")
    fresh = np.ones(len(which), dtype=bool)
    np.not_equal(group[1:], group[:-1], out=fresh[1:])
    fresh[1:] |= in_order[1:] != in_order[:-1]
    n_groups = len(counts) // 2 if pairs else len(counts)
    group = group[fresh]
    # Group after group (a stable 16-bit radix sort when the groups are few enough).
    regroup = np.argsort(group.astype(np.uint16) if n_groups <= 2**16 else group, kind="stable")
    distinct = in_order[fresh][regroup]
    placed = np.empty(len(regroup), dtype=index)
    placed[regroup] = np.arange(len(regroup), dtype=index)
    unique = np.cumsum(fresh, dtype=index, out=in_order)
    unique -= 1
    position = np.empty(len(values), dtype=index)
    position[which] = placed[unique]
    return distinct, np.bincount(group, minlength=n_groups), position


def _by_depth(parent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nodes by decreasing depth (in node order within one), and where each depth starts."""
    depth = np.zeros(len(parent), dtype=np.intp)
    above = parent.copy()
    while True:  # a loop over depths
        up = above >= 0
        if not up.any():
            break
        depth += up
        above = np.where(up, parent[np.maximum(above, 0)], -1)
    by_depth = np.argsort(-depth, kind="stable")
    bounds = np.searchsorted(-depth[by_depth], np.arange(-int(depth.max(initial=0)), 2))
    return by_depth, bounds


def _segments(first: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``first[s] + i`` for ``0 <= i < lengths[s]``, segment after segment (intp)."""
    total = int(lengths.sum())
    step = np.ones(total, dtype=np.intp)
    nonempty = lengths > 0
    if total:
        first, lengths = first[nonempty], lengths[nonempty]
        heads = np.cumsum(lengths) - lengths
        # Each segment's first index jumps from the previous segment's last.
        step[heads[0]] = first[0]
        step[heads[1:]] = first[1:] - (first[:-1] + lengths[:-1] - 1)
    return np.cumsum(step)


# Values below this fit in 32-bit per-entry arrays (a name, so that tests can lower it).
_INT32_LIMIT = 2**31


class FrontRows:
    """Row of a position in a node's front, for many (node, position) pairs at once.

    Front rows are the node's own positions, then its boundary. One search of all pairs in
    the sorted keys ``node * n + boundary position`` replaces a few NumPy calls per node.
    """

    def __init__(self, starts: np.ndarray, boundaries: list[np.ndarray]):
        self.n = int(starts[-1])
        self.starts = starts
        self.sizes = np.diff(starts)
        self.widths = np.fromiter(map(len, boundaries), dtype=np.intp, count=len(boundaries))
        self.boundaries = boundaries
        # 32-bit per-entry arrays when they fit: half the memory traffic, and temporaries
        # small enough for malloc to reuse instead of mapping afresh.
        self.index = np.int32 if self.n < 2**31 else np.intp
        self._keys: tuple[np.ndarray, np.ndarray] | None = None

    def _search_keys(self) -> tuple[np.ndarray, np.ndarray]:
        """The sorted keys and each node's first, made when a search first needs them."""
        if self._keys is None:
            keys = np.concatenate([*self.boundaries, np.empty(0, np.intp)])
            keys += np.repeat(np.arange(len(self.sizes)) * self.n, self.widths)
            first_key = np.zeros(len(self.sizes), dtype=np.intp)
            np.cumsum(self.widths[:-1], out=first_key[1:])
            self._keys = keys, first_key
        return self._keys

    def rows(self, node: np.ndarray, position: np.ndarray) -> np.ndarray:
        """Front rows of ``position`` (each in its ``node``'s front)."""
        size = self.sizes.astype(self.index)[node]
        row = position - self.starts.astype(self.index)[node]
        later = np.flatnonzero(row >= size)
        if len(later):
            keys, first_key = self._search_keys()
            wanted = node[later].astype(np.intp)
            place = np.searchsorted(keys, wanted * self.n + position[later])
            place -= first_key[wanted]
            place += size[later]
            row[later] = place
        return row

    def entry_places(self, upper, ranks: list | None = None) -> np.ndarray:
        """Flat index in its node's panel of each entry of ``upper``.

        In 32 bits when every index fits (the factor converts them piece by piece), intp
        otherwise.

        ``ranks``, if given, is the list :func:`front_boundaries` filled: where the entries
        in later columns are and their index in their node's boundary (the same rows,
        without a search in all boundaries).

        Entry (row r, column c >= r) of node k is L's entry (c, r): panel element
        ``(front row of c, r - k0)``, at ``(c - k0) * size + r - k0`` when c is one of the
        node's own columns. Per-entry values are repeated from per-row ones (sequential
        writes) rather than gathered from per-node ones.
        """
        counts = np.diff(upper.indptr)
        sizes, first = self.sizes, self.starts[:-1]
        if ranks:
            later, rank, per_node = ranks[0]
        else:
            later = _later_entries(upper, np.repeat(self.starts[1:], sizes))
            per_node = np.diff(np.searchsorted(later, upper.indptr[self.starts]))
            node = np.repeat(np.arange(len(sizes)), per_node)
            rank = self.rows(node, upper.columns[later]) - sizes[node]
        # (c - k0) * size + r - k0 = c * size + (r - k0 - k0 * size) for every entry first,
        # then the entries in later columns moved to front row size + rank instead of c - k0.
        # In 32 bits when no intermediate value can reach 2**31 (any of them is at most
        # n (size + 2) in magnitude): half the memory traffic, and fresh memory costs page
        # faults.
        largest = int(sizes.max()) if len(sizes) else 0
        kind = np.int32 if self.n * (largest + 2) < _INT32_LIMIT else np.intp
        row_size = np.repeat(sizes, sizes)
        place = np.repeat(row_size.astype(kind), counts)
        np.multiply(place, upper.columns, out=place)
        shift = np.arange(self.n) - np.repeat(first, sizes) * (row_size + 1)
        place += np.repeat(shift.astype(kind), counts)
        size = np.repeat(sizes.astype(kind), per_node)
        shift = size + rank.astype(kind, copy=False)
        shift += np.repeat(first.astype(kind), per_node)
        shift -= upper.columns[later]
        shift *= size
        place[later] += shift
        return place


class ExtendAddPlan:
    """How each child's Schur complement is added into its parent's front.

    A child's boundary rows land in its parent's front in a few runs of consecutive rows
    (pieces of the separators around the child: 3-4 runs on average on a pixel grid), so the
    lower triangle of its update is a few rectangles of the front, one per pair of runs:
    ``run_ptr``, ``run_edge`` and ``run_at`` describe them for the factor's rectangle
    additions (:mod:`vecmatte.linalg.multifrontal`). Children with many runs and little
    data (``by_slices`` false) are added through flat indices instead (:meth:`add`: one
    gather and scatter), whichever costs less. All runs are found for all children at once
    before the numerical loop.
    """

    # Measured cost of one slice addition (Python and NumPy call overhead) in array entries
    # added through flat indices, and the relative cost of an entry added through slices.
    _SLICE_CALL = 500
    _SLICE_ENTRY = 0.3

    def __init__(self, fronts: FrontRows, parent: np.ndarray, boundaries: list[np.ndarray]):
        widths = fronts.widths.copy()
        widths[parent < 0] = 0
        offsets = np.zeros(len(widths) + 1, dtype=np.intp)
        np.cumsum(widths, out=offsets[1:])
        owner = np.repeat(parent.astype(fronts.index), widths)
        at = getattr(boundaries, "child_rows", None)
        if at is not None:
            boundaries.child_rows = None  # found by front_boundaries; the factor keeps boundaries
        else:
            rows = np.concatenate(
                [np.empty(0, np.intp)]
                + [b for b, w in zip(boundaries, widths.tolist(), strict=True) if w]
            )
            at = fronts.rows(owner, rows)
        at = at.astype(np.intp)
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
        pairs = n_runs * (n_runs + 1) // 2
        entries = widths * (widths + 1) // 2
        self.by_slices = (
            pairs * self._SLICE_CALL + self._SLICE_ENTRY * entries < 2 * widths**2
        ).tolist()

    def add(self, child: int, update: np.ndarray, panel, block, size: int) -> None:
        """Add ``update`` (the child's Schur complement, lower triangle) through flat indices.

        For the children the plan does not add by slices (``by_slices[child]`` false); the
        others go through the factor's rectangle additions.
        """
        at = self.at[self.offsets[child] : self.offsets[child + 1]]
        split = int(np.searchsorted(at, size))
        if split:
            target = at[:, None] * size + at[:split]
            panel.reshape(-1)[target.reshape(-1)] += update[:, :split].reshape(-1)
        if split < len(update):
            later = at[split:] - size
            target = later[:, None] * block.shape[0] + later
            block.reshape(-1)[target.reshape(-1)] += update[split:, split:].reshape(-1)


def upper_in_order(matrix, order: np.ndarray, dtype) -> ReorderedUpper:
    """The upper triangle of ``P A P^T`` by rows in the new order (symmetric CSR ``matrix``).

    The same arrays as :func:`~vecmatte.linalg._panel.reordered_upper`, at about half its cost
    (measured on GT01's scribbles): the triangle is chosen in the original order, so scipy's
    compiled row permutation moves half the entries, their values already in ``dtype``.
    The triangle is chosen in chunks of rows (about ``_CHUNK`` entries each), written into
    arrays sized for all the entries of which only the kept half is ever touched: whole-matrix
    per-entry temporaries (the entries' new columns, their rows' positions, their values in
    double precision) were 120 MB of fresh memory on GT01's scribbles, paid in page faults.
    """
    from scipy.sparse import csr_matrix

    matrix = matrix.tocsr()
    n, indptr, total = len(order), matrix.indptr, matrix.nnz
    index = np.int32 if max(n, total) < 2**31 else np.intp
    position = np.empty(n, dtype=index)
    position[order] = np.arange(n, dtype=index)
    columns = np.empty(total, dtype=index)
    values = np.empty(total, dtype=dtype)
    original = np.zeros(n + 1, dtype=index)  # kept entries per original row, then their sum
    cuts = np.unique(np.searchsorted(indptr, np.arange(0, total, _CHUNK)).clip(0, n))
    written = 0
    for r0, r1 in itertools.pairwise([*cuts.tolist(), n] if len(cuts) else [0, n]):
        e0, e1 = int(indptr[r0]), int(indptr[r1])
        new = position[matrix.indices[e0:e1]]
        keep = new >= np.repeat(position[r0:r1], np.diff(indptr[r0 : r1 + 1]))
        count = int(np.count_nonzero(keep))
        np.compress(keep, new, out=columns[written : written + count])
        values[written : written + count] = matrix.data[e0:e1][keep]
        written += count
        before = np.zeros(e1 - e0 + 1, dtype=index)
        np.cumsum(keep, out=before[1:])
        original[r0 + 1 : r1 + 1] = np.diff(before[indptr[r0 : r1 + 1] - e0])
    del position
    np.cumsum(original, out=original)
    upper = csr_matrix((values[:written], columns[:written], original), shape=(n, n))[order]
    return ReorderedUpper(upper.indptr.astype(np.intp), upper.indices, upper.data)


# Entries per chunk of rows in :func:`upper_in_order`: temporaries of 512 KiB that stay in
# cache and that malloc reuses chunk after chunk (measured on GT01's scribbles, one process:
# 0.88x the whole-matrix version's CPU time with 2**16 to 2**18 entries a chunk).
_CHUNK = 2**17
