"""The multifrontal factor's symbolic analysis against plain per-node loops."""

import numpy as np
import pytest
import scipy.sparse

import vecmatte.linalg._multifrontal_symbolic as symbolic
import vecmatte.linalg.dissection as dissection_module


def _grid_matrix(shape, keep_fraction, seed):
    """Random symmetric pattern on a subset of a grid (pixels at most 2 apart may couple)."""
    rng = np.random.default_rng(seed)
    h, w = shape
    keep = np.flatnonzero(rng.random(h * w) < keep_fraction)
    ys, xs = np.divmod(keep, w)
    near = (np.abs(ys[:, None] - ys) <= 2) & (np.abs(xs[:, None] - xs) <= 2)
    # Drop some couplings (symmetrically): the symbolic side must follow the matrix, not
    # the grid.
    drop = np.triu(rng.random(near.shape) < 0.3, 1)
    near &= ~(drop | drop.T)
    dense = np.where(near, 1.0, 0.0) + np.eye(len(ys)) * 30
    return scipy.sparse.csr_matrix(dense), ys, xs


def _plain_boundaries(upper, starts, parent):
    """Each node's later positions reached: its entries' and its subtree's, by loops."""
    n_nodes = len(starts) - 1
    reached = []
    for k in range(n_nodes):
        k1 = starts[k + 1]
        later = set()
        for row in range(starts[k], k1):
            for column in upper.columns[upper.indptr[row] : upper.indptr[row + 1]]:
                if column >= k1:
                    later.add(int(column))
        for child in range(k):
            if parent[child] == k:
                later |= {p for p in reached[child] if p >= k1}
        reached.append(later)
    return [np.array(sorted(b), dtype=np.intp) for b in reached]


_CASES = pytest.mark.parametrize(
    ("shape", "keep", "leaf", "merge", "seed"),
    [
        ((13, 17), 1.0, 6, 0, 1),
        ((21, 16), 0.7, 5, 60, 2),
        ((30, 9), 0.85, 9, 0, 3),
        ((26, 28), 0.9, 7, 200, 4),
    ],
)


@_CASES
@pytest.mark.parametrize("chunk", [3, 2**17])
def test_front_boundaries_ranks_and_child_rows_match_plain_loops(
    monkeypatch, shape, keep, leaf, merge, seed, chunk
):
    # Per-entry passes in chunks of a few entries (whole rows, empty ones too) or all
    # at once.
    monkeypatch.setattr(symbolic, "_CHUNK", chunk)
    matrix, ys, xs = _grid_matrix(shape, keep, seed)
    tree = dissection_module.dissection_order(ys, xs, 2, leaf_size=leaf, merge_entries=merge)
    upper = symbolic.upper_in_order(matrix, tree.order, np.float64)
    children = symbolic.children_of(tree.parent)
    ranks: list = []
    boundaries = symbolic.front_boundaries(upper, tree.starts, children, ranks)
    expected = _plain_boundaries(upper, tree.starts, tree.parent)
    assert len(boundaries) == len(expected)
    for ours, theirs in zip(boundaries, expected, strict=True):
        np.testing.assert_array_equal(ours, theirs)
        assert ours.dtype == np.intp
    # Rows of the children's boundaries in their parents' fronts (own columns, then the
    # parent's boundary), node after node.
    rows = []
    for k, up in enumerate(tree.parent):
        if up < 0:
            continue
        front = np.concatenate([np.arange(tree.starts[up], tree.starts[up + 1]), expected[up]])
        rows += [int(np.flatnonzero(front == p)[0]) for p in expected[k]]
    np.testing.assert_array_equal(boundaries.child_rows, rows)
    # Every entry's place in its node's panel, with and without the ranks, and with
    # platform-size temporaries (large problems) instead of 32-bit ones.
    fronts = symbolic.FrontRows(tree.starts, boundaries)
    places = fronts.entry_places(upper, ranks)
    assert places.dtype == np.int32  # small enough: the factor converts them piece by piece
    np.testing.assert_array_equal(places, fronts.entry_places(upper))
    monkeypatch.setattr(symbolic, "_INT32_LIMIT", 0)
    wide = fronts.entry_places(upper, ranks)
    assert wide.dtype == np.intp
    np.testing.assert_array_equal(places, wide)
    node_of_row = np.repeat(np.arange(len(tree.parent)), np.diff(tree.starts))
    for row in range(len(ys)):
        k = node_of_row[row]
        k0, size = tree.starts[k], tree.starts[k + 1] - tree.starts[k]
        front = np.concatenate([np.arange(k0, k0 + size), expected[k]])
        for e in range(upper.indptr[row], upper.indptr[row + 1]):
            at = int(np.flatnonzero(front == upper.columns[e])[0])
            assert places[e] == at * size + row - k0


@_CASES
def test_extend_add_plan_is_the_same_with_the_rows_found_by_search(shape, keep, leaf, merge, seed):
    matrix, ys, xs = _grid_matrix(shape, keep, seed)
    tree = dissection_module.dissection_order(ys, xs, 2, leaf_size=leaf, merge_entries=merge)
    upper = symbolic.upper_in_order(matrix, tree.order, np.float64)
    boundaries = symbolic.front_boundaries(upper, tree.starts, symbolic.children_of(tree.parent))
    fronts = symbolic.FrontRows(tree.starts, boundaries)
    found = symbolic.ExtendAddPlan(fronts, tree.parent, boundaries)
    assert boundaries.child_rows is None  # taken by the plan, not kept with the factor
    searched = symbolic.ExtendAddPlan(fronts, tree.parent, list(boundaries))
    np.testing.assert_array_equal(found.at, searched.at)
    for name in ("run_ptr", "run_edge", "run_at", "offsets", "by_slices"):
        assert getattr(found, name) == getattr(searched, name)


def test_front_boundaries_of_a_forest_and_of_empty_nodes():
    # Two uncoupled blocks (two trees), nodes without positions.
    block = scipy.sparse.csr_matrix(np.array([[4.0, 1, 0], [1, 4, 1], [0, 1, 4]]))
    matrix = scipy.sparse.block_diag([block, block]).tocsr()
    starts = np.array([0, 1, 1, 3, 4, 6])
    parent = np.array([2, 2, -1, 4, -1])
    upper = symbolic.upper_in_order(matrix, np.arange(6), np.float64)
    boundaries = symbolic.front_boundaries(upper, starts, symbolic.children_of(parent))
    expected = _plain_boundaries(upper, starts, parent)
    for ours, theirs in zip(boundaries, expected, strict=True):
        np.testing.assert_array_equal(ours, theirs)
