"""The multifrontal Cholesky factor against direct sparse solves (dissection: own test file)."""

import dataclasses

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg

import vecmatte.linalg._multifrontal_symbolic as symbolic
import vecmatte.linalg.dissection as dissection_module
import vecmatte.linalg.multifrontal as multifrontal
import vecmatte.preconditioners.direct as preconditioners
from vecmatte.alpha import solve_alpha
from vecmatte.alpha.cf import build_system
from vecmatte.linalg._panel import reordered_upper
from vecmatte.synthetic import make_scene
from vecmatte.trimap import trimap_split


def _stencil_spd_matrix(shape, seed):
    """Random SPD matrix coupling grid pixels at most 2 apart (the 5x5 stencil of radius 1).

    Symmetric with random off-diagonal entries and a diagonal that dominates them.
    """
    rng = np.random.default_rng(seed)
    h, w = shape
    index = np.arange(h * w).reshape(shape)
    rows, cols = [], []
    for dy in range(-2, 3):
        for dx in range(-2, 3):
            if (dy, dx) <= (0, 0):
                continue
            src = index[max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)]
            dst = index[max(0, dy) : h + min(0, dy), max(0, dx) : w + min(0, dx)]
            rows.append(src.ravel())
            cols.append(dst.ravel())
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    upper = scipy.sparse.coo_matrix((rng.uniform(-1, 1, len(rows)), (rows, cols)), (h * w,) * 2)
    off = (upper + upper.T).tocsr()
    diagonal = np.asarray(abs(off).sum(axis=1)).ravel() + rng.uniform(0.01, 0.1, h * w)
    return (off + scipy.sparse.diags(diagonal)).tocsr()


def _grid_system(shape, keep_fraction, seed):
    """SPD matrix on a random subset of a grid (5x5 coupling), with the subset's coordinates."""
    full = _stencil_spd_matrix(shape, seed=seed)
    rng = np.random.default_rng(seed)
    keep = np.flatnonzero(rng.random(shape[0] * shape[1]) < keep_fraction)
    ys, xs = np.divmod(keep, shape[1])
    return full[keep][:, keep].tocsr(), ys, xs


@pytest.mark.parametrize(("shape", "keep"), [((12, 9), 1.0), ((30, 41), 1.0), ((50, 37), 0.7)])
@pytest.mark.parametrize(("dtype", "rtol"), [(np.float64, 1e-9), (np.float32, 1e-3)])
def test_multifrontal_cholesky_solves_like_spsolve(shape, keep, dtype, rtol):
    matrix, ys, xs = _grid_system(shape, keep, seed=sum(shape))
    dissection = dissection_module.dissection_order(ys, xs, reach=2, leaf_size=16)
    factor = multifrontal.multifrontal_cholesky(matrix, dissection, dtype=dtype)
    assert all(panel.dtype == dtype for panel in factor.panels)
    rhs = np.random.default_rng(0).standard_normal(matrix.shape[0])
    x = factor.solve(rhs)
    assert x.dtype == np.float64
    expected = scipy.sparse.linalg.spsolve(matrix.tocsc(), rhs)
    assert np.linalg.norm(x - expected) <= rtol * np.linalg.norm(expected)


def test_multifrontal_factor_is_sparser_than_dense():
    matrix, ys, xs = _grid_system((60, 60), 1.0, seed=1)
    dissection = dissection_module.dissection_order(ys, xs, reach=2, leaf_size=32)
    factor = multifrontal.multifrontal_cholesky(matrix, dissection)
    n = matrix.shape[0]
    assert factor.nnz < 0.1 * n * (n + 1) / 2


def test_indefinite_front_raises_linalg_error():
    matrix, ys, xs = _grid_system((6, 6), 1.0, seed=3)
    matrix = (matrix - 50 * scipy.sparse.eye(matrix.shape[0])).tocsr()
    dissection = dissection_module.dissection_order(ys, xs, reach=2, leaf_size=4)
    with pytest.raises(np.linalg.LinAlgError, match="not positive definite"):
        multifrontal.multifrontal_cholesky(matrix, dissection)


def test_multifrontal_rejects_other_dtypes():
    matrix, ys, xs = _grid_system((5, 5), 1.0, seed=0)
    dissection = dissection_module.dissection_order(ys, xs, reach=2)
    with pytest.raises(ValueError, match="float32 or float64"):
        multifrontal.multifrontal_cholesky(matrix, dissection, dtype=np.int32)


def _matting_system():
    # 2,388 unknowns: solve_alpha factors it for conjugate gradient (a smaller system is
    # solved whole by cf.solve_small's band Cholesky factor, without these factors).
    scene = make_scene((64, 80), seed=4, band=6)
    is_fg, is_bg, _ = trimap_split(scene.trimap)
    return scene, build_system(scene.image, is_fg, is_bg, eps=1e-7, radius=1)


def test_nested_preconditioner_inverts_the_matting_system():
    _, system = _matting_system()
    inverse = preconditioners.build(system, factor="nested")
    expected = scipy.sparse.linalg.spsolve(system.matrix.tocsc(), system.rhs)
    got = inverse @ system.rhs
    assert np.abs(got - expected).max() <= 1e-3 * np.abs(expected).max()


def test_nested_needs_the_grid():
    _, system = _matting_system()
    with pytest.raises(ValueError, match="needs a grid-local system"):
        preconditioners.build(dataclasses.replace(system, reach=None), factor="nested")


@pytest.mark.parametrize(("threshold", "expected"), [(0.0, "nested"), (1e12, "envelope")])
def test_auto_picks_by_the_envelope_flops(monkeypatch, threshold, expected):
    scene, system = _matting_system()
    monkeypatch.setattr(preconditioners, "ENVELOPE_FLOPS_PER_UNKNOWN", threshold)
    calls = []
    for module, name in (
        ("vecmatte.linalg.multifrontal", "multifrontal_cholesky"),
        ("vecmatte.linalg.envelope", "envelope_cholesky"),
    ):
        original = getattr(__import__(module, fromlist=[name]), name)

        def spy(*args, _original=original, _name=name, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(f"{module}.{name}", spy)
    result = solve_alpha(scene.image, scene.trimap)
    assert calls == [f"{expected}_cholesky" if expected == "envelope" else "multifrontal_cholesky"]
    assert result.converged and result.iterations <= 3
    reference = scipy.sparse.linalg.spsolve(system.matrix.tocsc(), system.rhs)
    got = result.alpha.ravel()[system.unknown]
    np.testing.assert_allclose(got, np.clip(reference, 0, 1), atol=1e-5)


@pytest.mark.parametrize(
    ("threshold", "factor", "method"),
    [
        (0.0, "vecmatte.linalg.multifrontal.multifrontal_cholesky", "nested"),
        (1e12, "vecmatte.linalg.envelope.envelope_cholesky", "envelope"),
    ],
)
def test_auto_falls_back_to_superlu_when_a_float32_factor_breaks_down(
    monkeypatch, threshold, factor, method
):
    scene, system = _matting_system()
    monkeypatch.setattr(preconditioners, "ENVELOPE_FLOPS_PER_UNKNOWN", threshold)

    def breaks_down(*args, **kwargs):
        raise np.linalg.LinAlgError("front 0 is not positive definite")

    monkeypatch.setattr(factor, breaks_down)
    superlu_calls = []
    original = preconditioners._superlu_solver

    def counted(*args, **kwargs):
        superlu_calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(preconditioners, "_superlu_solver", counted)
    result = solve_alpha(scene.image, scene.trimap)
    assert superlu_calls == [1]
    assert result.converged and result.iterations <= 3
    reference = scipy.sparse.linalg.spsolve(system.matrix.tocsc(), system.rhs)
    np.testing.assert_allclose(
        result.alpha.ravel()[system.unknown], np.clip(reference, 0, 1), atol=1e-5
    )
    # Asked for explicitly, the breakdown is not hidden.
    with pytest.raises(np.linalg.LinAlgError):
        preconditioners.build(system, factor=method)


def _dense_factor(factor, n):
    """The factor's ``L`` as a dense array (rows and columns in the elimination order)."""
    lower = np.zeros((n, n))
    for k, panel in enumerate(factor.panels):
        k0, k1 = factor.starts[k], factor.starts[k + 1]
        rows = np.concatenate([np.arange(k0, k1), np.arange(n)[factor.boundaries[k]]])
        lower[np.ix_(rows, np.arange(k0, k1))] = panel
        lower[k0:k1, k0:k1] = np.tril(panel[: k1 - k0])
    return lower


@pytest.mark.parametrize(("shape", "keep", "leaf"), [((14, 19), 1.0, 6), ((25, 22), 0.8, 12)])
@pytest.mark.parametrize("slice_call", [0, 10**9], ids=["slices", "flat-indices"])
def test_multifrontal_factor_is_the_dense_cholesky_factor(
    monkeypatch, shape, keep, leaf, slice_call
):
    # Every front (extend-add of several children, boundaries reaching into the parent's own
    # columns and past them) must give exactly the Cholesky factor of P A P^T, whether the
    # children's updates are added as rectangular runs or through flat indices.
    monkeypatch.setattr(symbolic.ExtendAddPlan, "_SLICE_CALL", slice_call)
    matrix, ys, xs = _grid_system(shape, keep, seed=5)
    dissection = dissection_module.dissection_order(ys, xs, reach=2, leaf_size=leaf)
    factor = multifrontal.multifrontal_cholesky(matrix, dissection, dtype=np.float64)
    n = matrix.shape[0]
    order = dissection.order
    expected = np.linalg.cholesky(matrix.toarray()[np.ix_(order, order)])
    np.testing.assert_allclose(_dense_factor(factor, n), expected, atol=1e-12)


@pytest.mark.parametrize(("shape", "keep", "leaf"), [((30, 26), 1.0, 8), ((41, 35), 0.7, 15)])
def test_extend_add_by_rectangles_is_bit_for_bit_the_flat_addition(monkeypatch, shape, keep, leaf):
    # The rectangles copied out, added in one go and copied back (or copied straight into a
    # boundary block no child has touched yet) are the same float32 additions as adding each
    # update entry at its place in the front through flat indices.
    matrix, ys, xs = _grid_system(shape, keep, seed=11)
    dissection = dissection_module.dissection_order(ys, xs, reach=2, leaf_size=leaf)
    monkeypatch.setattr(symbolic.ExtendAddPlan, "_SLICE_CALL", 0)
    by_rectangles = multifrontal.multifrontal_cholesky(matrix, dissection)
    monkeypatch.setattr(symbolic.ExtendAddPlan, "_SLICE_CALL", 10**9)
    flat = multifrontal.multifrontal_cholesky(matrix, dissection)
    n = matrix.shape[0]
    np.testing.assert_array_equal(_dense_factor(by_rectangles, n), _dense_factor(flat, n))


@pytest.mark.parametrize("pieces", [1, 3, 10**6])
def test_entries_in_pieces_freed_along_the_loop_give_the_same_factor(monkeypatch, pieces):
    # The matrix entries are kept in pieces of consecutive nodes, freed once the loop has
    # passed them (a parent's entries are added when its first child is done): one piece,
    # a few, or more pieces than nodes all place every entry before its piece is freed.
    matrix, ys, xs = _grid_system((37, 31), 0.8, seed=5)
    dissection = dissection_module.dissection_order(ys, xs, reach=2, leaf_size=10)
    factor = multifrontal.multifrontal_cholesky(matrix, dissection, dtype=np.float64)
    monkeypatch.setattr(multifrontal, "_PIECES", pieces)
    pieced = multifrontal.multifrontal_cholesky(matrix, dissection, dtype=np.float64)
    for a, b in zip(factor.panels, pieced.panels, strict=True):
        np.testing.assert_array_equal(a, b)
    n = matrix.shape[0]
    order = dissection.order
    expected = np.linalg.cholesky(matrix.toarray()[np.ix_(order, order)])
    np.testing.assert_allclose(_dense_factor(pieced, n), expected, atol=1e-12)


def test_extend_add_runs_are_consecutive_rows_of_the_parents_front():
    # The runs found for all children at once: inside a run, a child's rows land on
    # consecutive rows of its parent's front, all own columns or all boundary.
    matrix, ys, xs = _grid_system((31, 27), 0.9, seed=3)
    dissection = dissection_module.dissection_order(ys, xs, reach=2, leaf_size=7)
    upper = symbolic.upper_in_order(matrix, dissection.order, np.float64)
    children = symbolic.children_of(dissection.parent)
    boundaries = symbolic.front_boundaries(upper, dissection.starts, children)
    fronts = symbolic.FrontRows(dissection.starts, boundaries)
    plan = symbolic.ExtendAddPlan(fronts, dissection.parent, boundaries)
    for child, up in enumerate(dissection.parent):
        if up < 0 or not len(boundaries[child]):
            continue
        k0, size = dissection.starts[up], dissection.starts[up + 1] - dissection.starts[up]
        front_rows = np.concatenate([np.arange(k0, k0 + size), boundaries[up]])
        r0, r1 = plan.run_ptr[child], plan.run_ptr[child + 1]
        edges = [*plan.run_edge[r0:r1], len(boundaries[child])]
        for first, stop, at in zip(edges[:-1], edges[1:], plan.run_at[r0:r1], strict=True):
            rows = boundaries[child][first:stop]
            np.testing.assert_array_equal(front_rows[at : at + len(rows)], rows)
            assert at >= size or at + len(rows) <= size


@pytest.mark.parametrize("chunk", [1, 7, 2**17])
@pytest.mark.parametrize("seed", range(4))
def test_upper_in_order_matches_the_panel_reordering(monkeypatch, seed, chunk):
    # Empty rows (also the last ones) included; rows chosen in chunks of one entry (chunks
    # of one row, empty rows skipped), of a few rows, or all at once.
    monkeypatch.setattr(symbolic, "_CHUNK", chunk)
    rng = np.random.default_rng(seed)
    n = 40
    dense = np.where(rng.random((n, n)) < 0.1, rng.standard_normal((n, n)), 0.0)
    dense[:, -3:] = dense[-3:] = 0.0
    dense[5] = dense[:, 5] = 0.0
    matrix = scipy.sparse.csr_matrix(dense + dense.T)
    order = rng.permutation(n)
    ours = symbolic.upper_in_order(matrix, order, np.float32)
    theirs = reordered_upper(matrix, order, np.float32)
    np.testing.assert_array_equal(ours.indptr, theirs.indptr)
    np.testing.assert_array_equal(ours.columns, theirs.columns)
    np.testing.assert_array_equal(ours.values, theirs.values)


def test_entry_places_from_boundary_ranks_match_the_global_search():
    matrix, ys, xs = _grid_system((29, 33), 0.8, seed=5)
    dissection = dissection_module.dissection_order(ys, xs, reach=2, leaf_size=9)
    upper = symbolic.upper_in_order(matrix, dissection.order, np.float64)
    children = symbolic.children_of(dissection.parent)
    ranks: list = []
    boundaries = symbolic.front_boundaries(upper, dissection.starts, children, ranks)
    fronts = symbolic.FrontRows(dissection.starts, boundaries)
    np.testing.assert_array_equal(fronts.entry_places(upper, ranks), fronts.entry_places(upper))


@pytest.mark.parametrize(("shape", "keep"), [((40, 33), 1.0), ((45, 38), 0.8)])
def test_two_threads_give_the_same_factor_bit_for_bit(shape, keep):
    matrix, ys, xs = _grid_system(shape, keep, seed=7)
    dissection = dissection_module.dissection_order(ys, xs, reach=2, leaf_size=12)
    one = multifrontal.multifrontal_cholesky(matrix, dissection)
    two = multifrontal.multifrontal_cholesky(matrix, dissection, threads=2)
    upper = symbolic.upper_in_order(matrix, dissection.order, np.float32)
    children = symbolic.children_of(dissection.parent)
    boundaries = symbolic.front_boundaries(upper, dissection.starts, children)
    plan = symbolic.ExtendAddPlan(
        symbolic.FrontRows(dissection.starts, boundaries), dissection.parent, boundaries
    )
    split = multifrontal._two_subtrees(
        children, dissection.parent.tolist(), np.diff(dissection.starts).tolist(), plan
    )
    assert split is not None  # the threaded path is taken
    first, second, rest = split
    assert len(first) + len(second) + len(rest) == len(dissection.parent)
    for a, b in zip(one.panels, two.panels, strict=True):
        np.testing.assert_array_equal(a, b)


def test_two_threads_raise_the_breakdown_of_either_subtree():
    matrix, ys, xs = _grid_system((30, 30), 1.0, seed=3)
    matrix = (matrix - 50 * scipy.sparse.eye(matrix.shape[0])).tocsr()
    dissection = dissection_module.dissection_order(ys, xs, reach=2, leaf_size=8)
    with pytest.raises(np.linalg.LinAlgError, match="not positive definite"):
        multifrontal.multifrontal_cholesky(matrix, dissection, threads=2)
