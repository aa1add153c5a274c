"""Nested dissection of grid points against a plain recursion and the coupling it must cut."""

import numpy as np
import pytest

import vecmatte.linalg.dissection as dissection_module


def _grid_points(shape, keep_fraction, seed):
    """Coordinates of a random subset of a grid (each cell kept with ``keep_fraction``)."""
    rng = np.random.default_rng(seed)
    keep = np.flatnonzero(rng.random(shape[0] * shape[1]) < keep_fraction)
    return np.divmod(keep, shape[1])


def _node_of(dissection):
    node = np.empty(len(dissection.order), dtype=np.intp)
    for k in range(len(dissection.parent)):
        node[dissection.order[dissection.starts[k] : dissection.starts[k + 1]]] = k
    return node


def _ancestors(parent, k):
    chain = {k}
    while parent[k] >= 0:
        k = parent[k]
        chain.add(k)
    return chain


# Dissection on the grid of prefix counts (any box) or point by point (any point set).
_DISSECTIONS = pytest.mark.parametrize("grid_cells", [10**9, 0], ids=["grid", "points"])


@_DISSECTIONS
@pytest.mark.parametrize("merge", [0, 60], ids=["plain", "merged"])
@pytest.mark.parametrize(("shape", "keep", "leaf"), [((23, 31), 1.0, 8), ((40, 17), 0.6, 5)])
def test_dissection_separates_every_coupled_pair(monkeypatch, grid_cells, merge, shape, keep, leaf):
    monkeypatch.setattr(dissection_module, "_GRID_CELLS_PER_POINT", grid_cells)
    ys, xs = _grid_points(shape, keep, seed=2)
    dissection = dissection_module.dissection_order(
        ys, xs, reach=2, leaf_size=leaf, merge_entries=merge
    )
    order, parent = dissection.order, dissection.parent
    np.testing.assert_array_equal(np.sort(order), np.arange(len(ys)))
    assert dissection.starts[-1] == len(ys)
    assert np.sum(parent < 0) == 1 and parent[-1] == -1  # one root, eliminated last
    children = np.flatnonzero(parent >= 0)
    assert np.all(parent[children] > children)  # children are eliminated before parents
    # Points within reach of each other: one's node is an ancestor of the other's (or the
    # same), so eliminating them creates no fill outside the tree's fronts.
    node = _node_of(dissection)
    near = (np.abs(ys[:, None] - ys) <= 2) & (np.abs(xs[:, None] - xs) <= 2)
    for i, j in zip(*np.nonzero(np.triu(near, 1)), strict=True):
        a, b = node[i], node[j]
        assert a in _ancestors(parent, b) or b in _ancestors(parent, a)
    # The cuts keep the leaves small: more than one node, no leaf above the leaf size
    # unless no cut fits in it (it spans no more than reach + 1 = 3 rows and columns).
    assert len(parent) > 1
    if merge:
        return
    sizes = np.diff(dissection.starts)
    for k in np.setdiff1d(np.arange(len(parent)), parent):
        own = dissection.order[dissection.starts[k] : dissection.starts[k + 1]]
        spans = np.ptp(ys[own]), np.ptp(xs[own])
        assert sizes[k] <= leaf or max(spans) <= 2


def test_best_cut_weighs_thinness_against_balance():
    # 12 points at coordinates 0..7: counts 3 1 0 0 2 1 2 3 (from coordinate 0). Strips
    # [low, low + 2), score (points in it + 1/2) * 12**2 / (before * after): low=1 9.0,
    # low=2 2.25 (empty, 4 before, 8 after), low=3 15.0, low=4 25.2, low=5 28.0.
    coordinate = np.repeat(np.arange(8), [3, 1, 0, 0, 2, 1, 2, 3])
    assert dissection_module._best_cut(coordinate, reach=2) == (2.25, 2)
    assert dissection_module._best_cut(np.array([5, 6, 7, 5]), reach=2) == (float("inf"), None)


@_DISSECTIONS
def test_full_rectangle_is_cut_across_its_longer_side_in_the_middle(monkeypatch, grid_cells):
    monkeypatch.setattr(dissection_module, "_GRID_CELLS_PER_POINT", grid_cells)
    ys, xs = np.divmod(np.arange(12 * 30), 30)
    dissection = dissection_module.dissection_order(ys, xs, reach=2, leaf_size=40, merge_entries=0)
    root = dissection.order[dissection.starts[-2] :]
    # Columns 14 and 15: 14 columns on either side.
    np.testing.assert_array_equal(np.unique(xs[root]), [14, 15])
    assert len(root) == 24


def _reference_best_cut(coordinate, reach):
    """The best cut by a loop over the candidate strips: ``(score, low)``.

    Score: points in the strip plus a half, times the squared number of points, over the
    product of the points on either side; the lowest score wins, the first of equals.
    """
    lowest, highest = coordinate.min(), coordinate.max()
    total = len(coordinate)
    best = (float("inf"), None)
    for low in range(lowest + 1, highest - reach + 1):
        before = int(np.sum(coordinate < low))
        after = int(np.sum(coordinate >= low + reach))
        size = total - before - after
        score = (size + 0.5) * total * total / (before * after)
        if score < best[0]:
            best = (score, low)
    return best


def _reference_dissection(ys, xs, reach, leaf):
    """Nested dissection by plain recursion: ``(order, starts, parent)``."""
    pieces, parents = [], []

    def dissect(subset):
        children, cut = [], subset
        if len(subset) > leaf:
            (score_y, low_y), (score_x, low_x) = (
                _reference_best_cut(ys[subset], reach),
                _reference_best_cut(xs[subset], reach),
            )
            low, coordinate = (low_y, ys) if score_y <= score_x else (low_x, xs)
            if low is not None:
                before = coordinate[subset] < low
                after = coordinate[subset] >= low + reach
                cut = subset[~(before | after)]
                children = [dissect(part) for part in (subset[before], subset[after]) if len(part)]
        pieces.append(cut)
        parents.append(-1)
        for child in children:
            parents[child] = len(pieces) - 1
        return len(pieces) - 1

    dissect(np.arange(len(ys)))
    starts = np.concatenate([[0], np.cumsum([len(p) for p in pieces])])
    return np.concatenate(pieces), starts, np.array(parents)


@_DISSECTIONS
@pytest.mark.parametrize(
    ("shape", "keep", "leaf", "seed"),
    [
        ((23, 31), 1.0, 8, 0),
        ((40, 17), 0.6, 5, 1),
        ((1, 90), 1.0, 4, 2),
        ((70, 3), 0.5, 3, 3),
        ((45, 52), 0.3, 6, 4),
        ((9, 9), 1.0, 1, 5),
    ],
)
def test_dissection_matches_plain_recursion(monkeypatch, grid_cells, shape, keep, leaf, seed):
    monkeypatch.setattr(dissection_module, "_GRID_CELLS_PER_POINT", grid_cells)
    ys, xs = _grid_points(shape, keep, seed=seed)
    ys, xs = ys + 7, xs + 3  # coordinates need not start at 0
    dissection = dissection_module.dissection_order(
        ys, xs, reach=2, leaf_size=leaf, merge_entries=0
    )
    order, starts, parent = _reference_dissection(ys, xs, 2, leaf)
    np.testing.assert_array_equal(dissection.order, order)
    np.testing.assert_array_equal(dissection.starts, starts)
    np.testing.assert_array_equal(dissection.parent, parent)


@pytest.mark.parametrize("seed", range(5))
def test_best_cut_matches_a_loop(seed):
    rng = np.random.default_rng(seed)
    coordinate = rng.integers(0, 12, size=rng.integers(1, 40)) + 100
    assert dissection_module._best_cut(coordinate, reach=2) == _reference_best_cut(coordinate, 2)


def _reference_rings(dissection, ys, xs, reach):
    """Points within ``reach`` around the bounding box of each subtree's points, by loops."""
    node = _node_of(dissection)
    rings = []
    for k in range(len(dissection.parent)):
        inside = np.array([any(a == k for a in _ancestors(dissection.parent, m)) for m in node])
        y0, y1, x0, x1 = ys[inside].min(), ys[inside].max(), xs[inside].min(), xs[inside].max()
        rings.append(
            sum(
                (y0 - reach <= y <= y1 + reach and x0 - reach <= x <= x1 + reach)
                and not (y0 <= y <= y1 and x0 <= x <= x1)
                for y, x in zip(ys.tolist(), xs.tolist(), strict=True)
            )
        )
    return np.array(rings)


def _reference_merges(dissection, rings, budget):
    """Greedy amalgamation by a plain loop: the node each node's points end in."""
    parent = dissection.parent.tolist()
    size = np.diff(dissection.starts).tolist()
    children = {k: [c for c in range(len(parent)) if parent[c] == k] for k in range(len(parent))}
    into = list(range(len(parent)))
    for k in range(len(parent)):
        while children[k]:
            costs = [size[c] * (size[k] + rings[k] - rings[c]) for c in children[k]]
            cheapest = costs.index(min(costs))
            if costs[cheapest] > budget:
                break
            child = children[k].pop(cheapest)
            children[k] += children[child]
            size[k] += size[child]
            into[child] = k
    for k in reversed(range(len(parent))):
        into[k] = into[into[k]]
    return np.array(into)


@_DISSECTIONS
@pytest.mark.parametrize(
    ("shape", "keep", "leaf", "seed"),
    [((23, 31), 1.0, 8, 0), ((40, 17), 0.6, 5, 1), ((30, 33), 0.3, 6, 4), ((9, 9), 1.0, 1, 5)],
)
def test_ring_points_match_a_loop(monkeypatch, grid_cells, shape, keep, leaf, seed):
    monkeypatch.setattr(dissection_module, "_GRID_CELLS_PER_POINT", grid_cells)
    ys, xs = _grid_points(shape, keep, seed=seed)
    ys, xs = ys + 7, xs + 3
    plain = dissection_module.dissection_order(ys, xs, reach=2, leaf_size=leaf, merge_entries=0)
    rings = dissection_module._ring_points(plain, ys, xs, 2)
    np.testing.assert_array_equal(rings, _reference_rings(plain, ys, xs, 2))


@pytest.mark.parametrize("budget", [1, 40, 150, 10**6])
@pytest.mark.parametrize(
    ("shape", "keep", "leaf", "seed"), [((23, 31), 1.0, 8, 0), ((40, 17), 0.6, 5, 1)]
)
def test_merged_dissection_matches_plain_merges(shape, keep, leaf, seed, budget):
    ys, xs = _grid_points(shape, keep, seed=seed)
    plain = dissection_module.dissection_order(ys, xs, reach=2, leaf_size=leaf, merge_entries=0)
    into = _reference_merges(plain, _reference_rings(plain, ys, xs, 2), budget)
    merged = dissection_module.dissection_order(
        ys, xs, reach=2, leaf_size=leaf, merge_entries=budget
    )
    # Each merged node holds exactly the points of the plain nodes merged into it, and its
    # parent is the node its plain parent was merged into.
    kept = np.unique(into)
    assert len(merged.parent) == len(kept) < len(plain.parent)
    plain_node = _node_of(plain)
    merged_node = _node_of(merged)
    number = np.searchsorted(kept, into)
    np.testing.assert_array_equal(merged_node, number[plain_node])
    expected_parent = [number[into[plain.parent[k]]] if plain.parent[k] >= 0 else -1 for k in kept]
    np.testing.assert_array_equal(merged.parent, expected_parent)
