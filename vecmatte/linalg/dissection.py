"""Nested dissection of grid points: the elimination order of the multifrontal factor.

The unknown pixels of a trimap sit on a grid and the matting Laplacian couples pixels at most
``reach = 2 * radius`` apart (in both coordinates). Cutting a set of pixels along a line
``reach`` pixels thick splits it into two sets that do not touch; eliminating both halves
before the cut keeps the factor's fill inside the two halves and the cut (nested dissection,
George 1973). Repeated down to small leaves, the factor holds about ``n log n`` entries
instead of the ``n`` times the band width of an envelope factor. The tree this module returns
is what :func:`vecmatte.linalg.multifrontal.multifrontal_cholesky` factors along.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

__all__ = ["Dissection", "dissection_order"]

# Pixels in a leaf of the dissection. Smaller leaves mean less fill and fewer flops but more
# tree nodes, each costing a few Python-level NumPy calls. Re-measured on GT01's scribbles:
# 64 to 160 within noise of each other (160: 28% more factor memory), 48 and 256 slower.
_LEAF_SIZE = 96
# Point sets filling at least a quarter of their bounding box are dissected on a grid of prefix
# counts (memory: about 20 bytes per cell of the box, 28 at the peak; at most 112 per point,
# under a sixth of the factor's), sparser ones point by point.
_GRID_CELLS_PER_POINT = 4
# A child is merged into its parent's front while that adds at most this many entries (zeros)
# to the factor: a tree node costs about as much time as a few thousand factor entries (Python
# calls in the factor and in every triangular solve).
_MERGE_ENTRIES = 2000


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


def dissection_order(
    ys: np.ndarray,
    xs: np.ndarray,
    reach: int,
    leaf_size: int = _LEAF_SIZE,
    merge_entries: int = _MERGE_ENTRIES,
) -> Dissection:
    """Nested dissection of grid points coupled within ``reach`` pixels.

    Parameters
    ----------
    ys, xs : ndarray of int, shape (n,)
        Coordinates of the points.
    reach : int
        Points farther apart than this (in either coordinate) are not coupled.
    leaf_size : int, optional
        Sets of at most this many points are not cut further.
    merge_entries : int, optional
        Children are merged into their parent's node while each merge adds at most this many
        zeros to the factor's dense fronts (0: the plain dissection, nothing merged).

    Returns
    -------
    Dissection

    Notes
    -----
    When the points fill a good part of their bounding box (pixels of a wide unknown region)
    the sets are cut on a grid of prefix counts: each set is a rectangle of the grid and its
    histograms come from its sides, not its points (3-4 times faster on 0.4 megapixels). Sparse
    point sets are cut point by point. Both give the same dissection.

    Then small fronts are merged (relaxed amalgamation, as in supernodal factors): a child
    with ``p`` own points and ``b`` boundary points merged into a parent with ``P`` and ``B``
    adds ``p (P + B - b)`` zeros to the factor, and saves a tree node. Boundaries are
    estimated as the points within ``reach`` around the bounding box of each subtree's
    points (exact for full rectangles; at least 90% of the nodes exact on GT01's scribbles
    and GT16's trimap2 at twice the size).
    """
    ys = np.asarray(ys)
    xs = np.asarray(xs)
    n = len(ys)
    if n and _box_cells(ys, xs) <= _GRID_CELLS_PER_POINT * n:
        parent, node_of = _dissect_grid(ys, xs, reach, leaf_size)
    else:
        parent, node_of = _dissect_points(ys, xs, reach, leaf_size)
    tree = _in_postorder(parent, node_of)
    if merge_entries > 0 and len(tree.parent) > 1:
        tree = _amalgamated(tree, ys, xs, reach, merge_entries)
    return tree


def _amalgamated(tree: Dissection, ys, xs, reach: int, budget: int) -> Dissection:
    """``tree`` with children merged into parents while each merge adds ``<= budget`` zeros.

    Greedy, children before parents: a node takes its cheapest child while that child's
    cost is within the budget (the child's own children then count as the node's).
    """
    parent = tree.parent
    own = np.diff(tree.starts)
    boundary = _ring_points(tree, ys, xs, reach).tolist()
    size = own.tolist()
    children: list[list[int]] = [[] for _ in size]
    for node, up in enumerate(parent.tolist()):
        if up >= 0:
            children[up].append(node)
    into = np.arange(len(size))  # the node each node's points end in (a parent or itself)
    for node, below in enumerate(children):
        front = size[node] + boundary[node]
        while below:
            least, cheapest = budget + 1, -1
            for place, child in enumerate(below):
                extra = size[child] * (front - boundary[child])
                if extra < least:
                    least, cheapest = extra, place
            if cheapest < 0:
                break
            child = below.pop(cheapest)
            below.extend(children[child])
            size[node] += size[child]
            front += size[child]
            into[child] = node
    # Merged nodes point to their parent, which may itself be merged: follow to the end.
    while True:
        step = into[into]
        if np.array_equal(step, into):
            break
        into = step
    kept = into == np.arange(len(size))
    number = np.cumsum(kept) - 1
    node_of = number[np.repeat(into, own)]
    # A stable radix sort on 16 bits when the nodes are few enough.
    key = node_of.astype(np.uint16) if number[-1] < 2**16 else node_of
    regroup = np.argsort(key, kind="stable")
    counts = np.bincount(node_of, minlength=int(kept.sum()))
    up = parent[kept]
    up = np.where(up >= 0, number[into[np.maximum(up, 0)]], -1)
    return Dissection(tree.order[regroup], np.concatenate([[0], np.cumsum(counts)]), up)


def _ring_points(tree: Dissection, ys, xs, reach: int) -> np.ndarray:
    """Points within ``reach`` (either coordinate) around each subtree's bounding box.

    Points filling a good part of their bounding box are counted by rectangle sums of a
    table of prefix counts; sparse ones in the ring's four strips (``reach`` rows above and
    below, corners included, ``reach`` columns left and right), each strip row (column) by
    two searches in the points' sorted row-major (column-major) keys.
    """
    ys = np.asarray(ys, dtype=np.intp)
    xs = np.asarray(xs, dtype=np.intp)
    # Coordinates from ``reach`` up, so that every strip is at coordinates >= 0.
    ys = ys - (int(ys.min()) - reach)
    xs = xs - (int(xs.min()) - reach)
    height, width = int(ys.max()) + reach + 1, int(xs.max()) + reach + 1
    # Each subtree's bounding box: its nodes' own boxes, children folded into parents one
    # depth at a time from the deepest (a loop over depths, not nodes).
    parent = tree.parent
    n_nodes = len(parent)
    has_points = np.diff(tree.starts) > 0
    first = tree.starts[:-1][has_points]
    # Lowest row, -highest row, lowest column, -highest column (negated: all minima).
    box = np.full((n_nodes, 4), height + width, dtype=np.intp)  # empty nodes: no extent
    for column, coordinate in ((0, ys), (2, xs)):
        ordered = coordinate[tree.order]
        box[has_points, column] = np.minimum.reduceat(ordered, first)
        box[has_points, column + 1] = -np.maximum.reduceat(ordered, first)
    depth = np.zeros(n_nodes, dtype=np.intp)
    above = parent.copy()
    while (above >= 0).any():
        depth += above >= 0
        above = np.where(above >= 0, parent[np.maximum(above, 0)], -1)
    by_depth = np.argsort(-depth, kind="stable")
    bounds = np.searchsorted(-depth[by_depth], np.arange(-int(depth.max()), 1))
    for start, stop in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        nodes = by_depth[start:stop]
        np.minimum.at(box, parent[nodes], box[nodes])
    top, bottom, left, right = box.T
    bottom, right = -bottom, -right
    if height * width <= _GRID_CELLS_PER_POINT * len(ys):
        # Dense points: rectangle sums of a table of prefix counts (the ring is the box
        # grown by ``reach`` less the box).
        cells = np.bincount((ys + 1) * (width + 1) + xs + 1, minlength=(height + 1) * (width + 1))
        inside = cells.reshape(height + 1, width + 1).cumsum(axis=0).cumsum(axis=1).reshape(-1)

        def points_in(y0, y1, x0, x1):  # rows y0..y1, columns x0..x1
            y0, y1 = y0 * (width + 1), (y1 + 1) * (width + 1)
            return inside[y1 + x1 + 1] - inside[y0 + x1 + 1] - inside[y1 + x0] + inside[y0 + x0]

        grown = points_in(top - reach, bottom + reach, left - reach, right + reach)
        return grown - points_in(top, bottom, left, right)
    # Sparse points: each strip row (column) by two searches in the sorted keys.
    ring = np.zeros(n_nodes, dtype=np.intp)
    by_rows = ys * width + xs
    if np.any(by_rows[1:] < by_rows[:-1]):
        by_rows.sort()
    by_columns = np.sort(xs * height + ys)
    for offset in range(1, reach + 1):
        for keys, step, lines, span in (
            (by_rows, width, (top - offset, bottom + offset), (left - reach, right + reach)),
            (by_columns, height, (left - offset, right + offset), (top, bottom)),
        ):
            for line in lines:
                first = np.searchsorted(keys, line * step + span[0], side="left")
                ring += np.searchsorted(keys, line * step + span[1], side="right") - first
    return ring


def _box_cells(ys: np.ndarray, xs: np.ndarray) -> int:
    return (int(ys.max()) - int(ys.min()) + 1) * (int(xs.max()) - int(xs.min()) + 1)


def _dissect_points(ys, xs, reach, leaf_size):
    """Nested dissection point by point: ``(parent of each node, node of each point)``.

    Nodes are numbered in creation order: the root 0, then the parts of each depth, grouped
    by parent in the parents' order (the root's parent is -1).
    """
    n = len(ys)
    # 32-bit point arrays when they fit: the loop is bound by memory traffic.
    index = np.int32 if n < 2**31 else np.intp
    ys = np.asarray(ys).astype(index, copy=False)
    xs = np.asarray(xs).astype(index, copy=False)
    # The tree is built one depth at a time: all sets of one depth are cut together with
    # segmented array operations (the loop runs over depths, not over tree nodes). Each set
    # keeps its points in increasing index order, as its parts do.
    node_of = np.zeros(n, dtype=index)  # the node (in creation order) each point ends in
    parents = [np.full(1, -1, dtype=np.intp)]  # of the nodes made at each depth
    made = 1
    points = np.arange(n, dtype=index)  # points of the sets still to be cut, grouped by set
    point_y, point_x = ys, xs  # their coordinates
    nodes = np.zeros(1, dtype=np.intp)  # the node of each set
    counts = np.array([n], dtype=np.intp)  # its number of points
    lowest, highest = np.iinfo(index).min, np.iinfo(index).max
    while len(points):
        big = counts > leaf_size
        if not big.all():
            keep = np.repeat(big, counts)
            node_of[points[~keep]] = np.repeat(nodes[~big], counts[~big])
            points, point_y, point_x = points[keep], point_y[keep], point_x[keep]
            nodes, counts = nodes[big], counts[big]
        if not len(points):
            break
        segment = np.repeat(np.arange(len(nodes), dtype=index), counts)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        score_y, low_y = _best_cuts(point_y, segment, starts, reach)
        score_x, low_x = _best_cuts(point_x, segment, starts, reach)
        # The better of the best cuts across rows and across columns (rows on a tie); a
        # set too narrow for either is a node of its own (every point in its "cut").
        across_rows = score_y <= score_x
        cuttable = np.isfinite(np.minimum(score_y, score_x))
        low = np.where(across_rows, low_y, low_x)
        first_after = np.where(cuttable, low + reach, highest).astype(index)
        low = np.where(cuttable, low, lowest).astype(index)
        coordinate = np.where(np.repeat(across_rows, counts), point_y, point_x)
        before = coordinate < low[segment]
        after = coordinate >= first_after[segment]
        in_cut = ~(before | after)
        node_of[points[in_cut]] = nodes[segment[in_cut]]
        # The parts become new nodes, the part before the cut first.
        out = ~in_cut
        label = 2 * segment[out] + after[out]
        points, point_y, point_x = points[out], point_y[out], point_x[out]
        sizes = np.bincount(label, minlength=2 * len(nodes))
        labels = np.flatnonzero(sizes)
        parents.append(nodes[labels // 2])
        nodes = made + np.arange(len(labels))
        made += len(labels)
        counts = sizes[labels]
        # Group the points by part, keeping their order (a stable radix sort on 16 bits).
        sort_key = label.astype(np.uint16) if len(sizes) <= 2**16 else label
        regroup = np.argsort(sort_key, kind="stable")
        points, point_y, point_x = points[regroup], point_y[regroup], point_x[regroup]
    return np.concatenate(parents), node_of


def _dissect_grid(ys, xs, reach, leaf_size):
    """:func:`_dissect_points` on a grid of prefix counts over the points' bounding box.

    Every set is the points inside a rectangle; the histograms its cuts are chosen from are
    differences of prefix counts along its sides, and the sizes of its parts are rectangle
    sums, so a depth costs the sets' perimeters instead of their points. At the end each
    node's own rectangle (its cut, or the whole set for a leaf) is painted on the grid (by
    sums of a table of its corners) and each point reads its node there.
    """
    n = len(ys)
    index = np.int32 if n < 2**31 else np.intp
    ys = ys.astype(np.intp) - int(ys.min())
    xs = xs.astype(np.intp) - int(xs.min())
    h, w = int(ys.max()) + 1, int(xs.max()) + 1
    flat_points = ys * w + xs
    occupancy = np.bincount(flat_points, minlength=h * w).astype(index).reshape(h, w)
    # by_row[y, x]: points of row y left of x; by_column[y, x]: points of column x above
    # row y; inside[y, x]: points above row y and left of column x.
    by_row = np.zeros((h, w + 1), dtype=index)
    np.cumsum(occupancy, axis=1, out=by_row[:, 1:])
    by_column = np.zeros((h + 1, w), dtype=index)
    np.cumsum(occupancy, axis=0, out=by_column[1:])
    del occupancy
    inside = np.zeros((h + 1, w + 1), dtype=index)
    np.cumsum(by_row, axis=0, out=inside[1:])
    inside = inside.reshape(-1)

    def points_in(y0, y1, x0, x1):
        top, bottom = y0 * (w + 1), y1 * (w + 1)
        return inside[bottom + x1] - inside[top + x1] - inside[bottom + x0] + inside[top + x0]

    parents = [np.full(1, -1, dtype=np.intp)]  # of the nodes made at each depth
    made = 1
    owned = []  # per depth: (nodes, y0, y1, x0, x1), the rectangle of each node's own points
    nodes = np.zeros(1, dtype=np.intp)
    counts = np.array([n], dtype=np.intp)
    y0, y1 = np.zeros(1, np.intp), np.full(1, h, np.intp)
    x0, x1 = np.zeros(1, np.intp), np.full(1, w, np.intp)
    while len(nodes):
        big = counts > leaf_size
        if not big.all():
            owned.append(tuple(a[~big] for a in (nodes, y0, y1, x0, x1)))
            nodes, counts, y0, y1, x0, x1 = (a[big] for a in (nodes, counts, y0, y1, x0, x1))
        if not len(nodes):
            break
        score_y, low_y = _grid_cuts(by_row.reshape(-1), w + 1, 1, (y0, y1), (x0, x1), counts, reach)
        score_x, low_x = _grid_cuts(by_column.reshape(-1), 1, w, (x0, x1), (y0, y1), counts, reach)
        # The better of the best cuts across rows and across columns (rows on a tie); a
        # set too narrow for either is a node of its own (its rectangle is its own).
        across_rows = score_y <= score_x
        cuttable = np.isfinite(np.minimum(score_y, score_x))
        low = np.where(across_rows, low_y, low_x)
        rows, columns = across_rows & cuttable, ~across_rows & cuttable
        cut_y0, cut_y1 = np.where(rows, low, y0), np.where(rows, low + reach, y1)
        cut_x0, cut_x1 = np.where(columns, low, x0), np.where(columns, low + reach, x1)
        owned.append((nodes, cut_y0, cut_y1, cut_x0, cut_x1))
        # The parts before and after the cut (interleaved: before first), the empty ones
        # and those of sets not cut dropped; they become new nodes in that order.
        parts = [
            np.stack([before, after], axis=1).reshape(-1)
            for before, after in (
                (y0, np.where(rows, low + reach, y0)),
                (np.where(rows, low, y1), y1),
                (x0, np.where(columns, low + reach, x0)),
                (np.where(columns, low, x1), x1),
            )
        ]
        sizes = points_in(*parts)
        sizes[np.repeat(~cuttable, 2)] = 0
        labels = np.flatnonzero(sizes)
        parents.append(nodes[labels // 2])
        nodes = made + np.arange(len(labels))
        made += len(labels)
        counts = sizes[labels].astype(np.intp)
        y0, y1, x0, x1 = (part[labels] for part in parts)
    # The own rectangles are disjoint and hold every point once: each adds its node at its
    # top left and bottom right corners and subtracts it at the other two, and the sums of
    # the table above and left of each cell give the node of the rectangle holding it.
    node, top, bottom, left, right = (np.concatenate(a) for a in zip(*owned, strict=True))
    corners = np.zeros((h + 1) * (w + 1), dtype=np.intp)
    for y, x, sign in ((top, left, 1), (top, right, -1), (bottom, left, -1), (bottom, right, 1)):
        np.add.at(corners, y * (w + 1) + x, sign * node)
    label = corners.reshape(h + 1, w + 1).cumsum(axis=0).cumsum(axis=1)[:h, :w]
    return np.concatenate(parents), label.reshape(-1)[flat_points].astype(index)


def _grid_cuts(prefix, step, other_step, span_of, across_of, total, reach):
    """Best cuts across one coordinate of sets that are rectangles of the grid.

    ``prefix[a * step + b * other_step]`` counts the points at coordinate ``a`` (the one cut
    across) whose other coordinate is below ``b``; set ``s`` covers ``span_of[0][s] <= a <
    span_of[1][s]`` and ``across_of[0][s] <= b < across_of[1][s]``. Returns as
    :func:`_best_cuts`.
    """
    (a0, a1), (b0, b1) = span_of, across_of
    lengths = a1 - a0
    starts = np.zeros(len(lengths), dtype=np.intp)
    np.cumsum(lengths[:-1], out=starts[1:])
    segment = np.repeat(np.arange(len(lengths)), lengths)
    local = np.arange(int(lengths.sum())) - starts[segment]
    at = (a0[segment] + local) * step
    count = (prefix[at + b1[segment] * other_step] - prefix[at + b0[segment] * other_step]).astype(
        np.intp
    )
    # below[starts[s] + i]: points of set s with coordinate < a0[s] + i.
    below = np.cumsum(count)
    below -= count
    below -= below[starts][segment]
    occupied = count > 0
    first = np.minimum.reduceat(np.where(occupied, local, np.iinfo(np.intp).max), starts)
    last = np.maximum.reduceat(np.where(occupied, local, -1), starts)
    return _choose_cuts(below, starts + first, a0 + first, last - first + 1, total, reach)


def _in_postorder(parent: np.ndarray, node_of: np.ndarray) -> Dissection:
    """The dissection with nodes renumbered children first, then their parent's cut.

    ``parent`` in creation order (a parent before its children, siblings in their order).
    A node's number is the first number of its subtree plus its subtree's size less one;
    subtree sizes are summed up the tree and first numbers passed down it, a depth at a
    time (a loop over depths, not nodes).
    """
    n_nodes = len(parent)
    depth = np.zeros(n_nodes, dtype=np.intp)
    above = parent.copy()
    while True:
        up = above >= 0
        if not up.any():
            break
        depth += up
        above = np.where(up, parent[np.maximum(above, 0)], -1)
    # By depth, and by parent within a depth (siblings in creation order).
    by_depth = np.lexsort((parent, depth))
    bounds = np.searchsorted(depth[by_depth], np.arange(int(depth.max(initial=0)) + 2))
    levels = [by_depth[a:b] for a, b in itertools.pairwise(bounds.tolist())]
    size = np.ones(n_nodes, dtype=np.intp)
    for nodes in reversed(levels[1:]):
        np.add.at(size, parent[nodes], size[nodes])
    first = np.zeros(n_nodes, dtype=np.intp)
    roots = levels[0]
    first[roots] = np.cumsum(size[roots]) - size[roots]
    for nodes in levels[1:]:
        # Siblings one after the other from their parent's first number.
        before = np.cumsum(size[nodes]) - size[nodes]
        group = np.ones(len(nodes), dtype=bool)
        group[1:] = parent[nodes[1:]] != parent[nodes[:-1]]
        starts = np.flatnonzero(group)
        before -= np.repeat(before[starts], np.diff(np.append(starts, len(nodes))))
        first[nodes] = first[parent[nodes]] + before
    post = first + size - 1
    renumbered = np.full(n_nodes, -1, dtype=np.intp)
    has_parent = parent >= 0
    renumbered[post[has_parent]] = post[parent[has_parent]]
    final = post[node_of]
    # A stable radix sort on 16 bits when the nodes are few enough.
    order = np.argsort(final.astype(np.uint16) if n_nodes <= 2**16 else final, kind="stable")
    sizes = np.bincount(final, minlength=n_nodes)
    return Dissection(order, np.concatenate([[0], np.cumsum(sizes)]), renumbered)


def _best_cuts(coordinate, segment, starts, reach):
    """:func:`_best_cut` for many sets at once: ``segment`` numbers each point's set.

    Returns
    -------
    score : ndarray of float
        Each set's best cut's :func:`_cut_score` (``inf`` if the set spans no more than
        ``reach`` values).
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
    return _choose_cuts(below, offset[:-1], lowest, span, total, reach)


def _choose_cuts(below, base, lowest, span, total, reach):
    """Each set's best cut from ``below[base[s] + i]``, its points below ``lowest[s] + i``.

    ``i`` runs over ``0 <= i < span[s]``; ``total[s]`` is the set's number of points.
    Returns as :func:`_best_cuts`.
    """
    # Candidate cuts low = lowest + i, 1 <= i < span - reach (both sides keep a coordinate,
    # so both sides hold points: lowest and lowest + span - 1 are occupied).
    n_candidates = np.maximum(span - reach - 1, 0)
    which = np.repeat(np.arange(len(span)), n_candidates)
    first_candidate = np.cumsum(n_candidates) - n_candidates
    i = np.arange(int(n_candidates.sum())) - np.repeat(first_candidate, n_candidates) + 1
    at = base[which] + i
    before = below[at]
    after = total[which] - below[at + reach]
    size = below[at + reach] - below[at]
    score = _cut_score(size, before, after, total[which])
    # The lowest score of each set, the first of equals (the candidates of a set are
    # consecutive, in increasing i).
    has = n_candidates > 0
    best = np.minimum.reduceat(score, first_candidate[has]) if len(score) else score
    hits = np.flatnonzero(score == np.repeat(best, n_candidates[has]))
    new_set = np.ones(len(hits), dtype=bool)
    np.not_equal(which[hits[1:]], which[hits[:-1]], out=new_set[1:])
    first_hit = hits[new_set]
    low = np.zeros(len(span), dtype=np.intp)
    low[has] = lowest[has] + i[first_hit]
    score_of = np.full(len(span), np.inf)
    score_of[has] = best
    return score_of, low


def _cut_score(size, before, after, total):
    """Score of cuts (lower is better): points in the cut over the balance of the parts.

    ``(size + 1/2) * total**2 / (before * after)`` (a ratio cut): an even split costs
    ``4 (size + 1/2)``, a split at a third ``4.5 (size + 1/2)``. Preferring the thinnest
    cut with at least a third of the points on each side (the first such cut, which on a
    full rectangle is the cut at a third) gave a third more tree nodes on GT01's scribbles
    (8159 against 6509, each costing Python time in the factor and in every triangular
    solve) for 5% fewer factor entries; even splits also give 4-14% fewer flops on large
    trimaps. The half point makes empty cuts (parts that do not touch) prefer even parts.
    """
    return (size + 0.5) * total * total / (before * after)


def _best_cut(coordinate: np.ndarray, reach: int) -> tuple[float, int | None]:
    """The best cut ``low <= coordinate < low + reach`` by :func:`_cut_score`: ``(score, low)``.

    ``(inf, None)`` if the points span no more than ``reach`` coordinates.
    """
    coordinate = np.asarray(coordinate, dtype=np.intp)
    score, low = _best_cuts(coordinate, np.zeros(len(coordinate), np.intp), np.array([0]), reach)
    if not np.isfinite(score[0]):
        return float("inf"), None
    return float(score[0]), int(low[0])
