"""Session 11, the fixed cost of a small closed-form solve: what was cut is still right.

Each test names the defect it guards against (it failed on the code before the cut), or the
behaviour the cut must keep.
"""

from __future__ import annotations

import numpy as np
import pytest

import vecmatte
import vecmatte.laplacians.closed_form as closed_form
import vecmatte.memory
from vecmatte.laplacians.closed_form import coefficient_strips, row_coefficients
from vecmatte.memory import InsufficientMemoryError, estimate_solve_memory
from vecmatte.synthetic import make_scene


def _top_band_scene():
    """A scene whose unknown pixels reach the image's first row."""
    scene = make_scene((24, 30), seed=3)
    trimap = scene.trimap.copy()
    trimap[:2, 10:20] = 0.5
    return scene.image, trimap


def test_unknowns_in_the_first_row_make_one_strip_on_one_thread(monkeypatch):
    # The strips were cut at window 0 too: the first window row's pixels (row 0 alone where
    # the unknowns touch the top) became a strip of their own, evaluated with their windows
    # twice. Failed before: two strips.
    monkeypatch.setattr(closed_form, "available_cpus", lambda: 1)
    image, trimap = _top_band_scene()
    known = (trimap < 0.1) | (trimap > 0.9)
    rows = np.flatnonzero(~known)
    strips = []
    coefficient_strips(
        image, rows, lambda *strip: strips.append(strip[:2]), eps=1e-7, radius=1, known=known
    )
    assert strips == [(0, len(rows))]


def test_the_strips_still_give_every_row_its_plain_loop_coefficients(monkeypatch):
    # The entries of a few rows against the Laplacian's definition, window by window.
    monkeypatch.setattr(closed_form, "available_cpus", lambda: 1)
    image, trimap = _top_band_scene()
    known = (trimap < 0.1) | (trimap > 0.9)
    rows = np.flatnonzero(~known)
    eps, radius = 1e-5, 1
    coef = row_coefficients(image, rows, eps=eps, radius=radius, known=known)
    for q in (0, len(rows) // 2, len(rows) - 1):
        expected = definition_row(image, int(rows[q]), eps, radius)
        np.testing.assert_allclose(coef[:, q], expected, atol=1e-9)


def definition_row(image, pixel, eps, radius):
    """The Laplacian's entries of the row of flat pixel index ``pixel`` at the 5 x 5
    offsets ``(dy, dx)`` from -2 to 2, by its definition window by window (3 x 3 windows
    whose centres are at least ``radius`` from the border, as eq. 12). Also used by
    tests/test_s11b_speed_cf.py."""
    h, w = image.shape[:2]
    offsets = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)]
    y, x = divmod(pixel, w)
    expected = np.zeros(len(offsets))
    for ty in range(max(y - radius, radius), min(y + radius, h - 1 - radius) + 1):
        for tx in range(max(x - radius, radius), min(x + radius, w - 1 - radius) + 1):
            pixels = [(ty + a, tx + b) for a in (-1, 0, 1) for b in (-1, 0, 1)]
            colors = np.array([image[p] for p in pixels])
            mean = colors.mean(axis=0)
            inverse = np.linalg.inv(np.cov(colors.T, bias=True) + eps / 9 * np.eye(3))
            me = colors[pixels.index((y, x))] - mean
            for s, (dy, dx) in enumerate(offsets):
                if (y + dy, x + dx) in pixels:
                    other = colors[pixels.index((y + dy, x + dx))] - mean
                    delta = float(dy == 0 and dx == 0)
                    expected[s] += delta - (1 + me @ inverse @ other) / 9
    return expected


def test_the_solves_memory_check_counts_the_direct_factors_options(monkeypatch):
    # The solve asked for the estimate with the preconditioner's name alone, so its check
    # left out the float64 factor of direct:single_precision=False, which the estimate
    # counts. Failed before: no refusal.
    scene = make_scene((40, 40), seed=2)
    n_unknown = int(((scene.trimap > 0.1) & (scene.trimap < 0.9)).sum())
    float32 = estimate_solve_memory(scene.image.shape, n_unknown, preconditioner="direct")
    float64 = estimate_solve_memory(
        scene.image.shape, n_unknown, preconditioner=("direct", {"single_precision": False})
    )
    assert float64 > float32
    monkeypatch.setattr(vecmatte.memory, "_memory_readings", lambda: {"machine": float32 + 1})
    vecmatte.estimate_alpha(scene.image, scene.trimap)  # float32: fits
    with pytest.raises(InsufficientMemoryError, match="needs about"):
        vecmatte.estimate_alpha(
            scene.image, scene.trimap, preconditioner=("direct", {"single_precision": False})
        )


def test_the_cgroup_limits_are_read_once_a_second_and_the_usage_every_time(monkeypatch, tmp_path):
    reads = []

    def limits(root, membership):
        reads.append(root)
        return ((tmp_path, 10_000),), None

    (tmp_path / "memory.current").write_text("4000\n")
    monkeypatch.setattr(vecmatte.memory, "_cgroup_limits", limits)
    monkeypatch.setattr(vecmatte.memory, "_limits_cache", None)
    assert vecmatte.memory._cgroup_available() == 6000
    (tmp_path / "memory.current").write_text("7000\n")
    assert vecmatte.memory._cgroup_available() == 3000  # the usage, read again
    assert len(reads) == 1
    # Over a second old: the limits are read again.
    stamp, cached = vecmatte.memory._limits_cache
    monkeypatch.setattr(vecmatte.memory, "_limits_cache", (stamp - 2.0, cached))
    assert vecmatte.memory._cgroup_available() == 3000
    assert len(reads) == 2


def test_another_cgroup_root_is_read_every_time(tmp_path):
    # A root other than this process's own (tests, containers' views) is never cached.
    (tmp_path / "memory.max").write_text("1000\n")
    (tmp_path / "memory.current").write_text("100\n")
    membership = tmp_path / "cgroup"
    membership.write_text("0::/\n")
    assert vecmatte.memory._cgroup_available(tmp_path, membership) == 900
    (tmp_path / "memory.max").write_text("2000\n")
    assert vecmatte.memory._cgroup_available(tmp_path, membership) == 1900


def test_a_method_entry_replaced_is_read_with_its_own_signature(monkeypatch):
    # Signatures are read once per function: a replaced build_system is another function.
    import vecmatte.alpha.cf as cf
    from vecmatte.alpha._registry import get_method

    spec = get_method("cf")
    assert spec.option_names() == ["eps", "radius"]

    def build_system(image, is_fg, is_bg, *, eps=1e-7, radius=1, extra=0):
        raise AssertionError("not called")

    monkeypatch.setattr(cf, "build_system", build_system)
    assert spec.option_names() == ["eps", "radius", "extra"]


def test_knn_searches_start_no_thread_when_the_process_may_use_one_cpu(monkeypatch):
    # SciPy's workers=-1 counts the machine's CPUs and starts a Python thread per worker at
    # every query: pinned to one CPU, threads fought over it (a fifth of a 32 x 32 knn
    # solve). Failed before: threads started.
    assert_one_cpu_starts_no_thread(monkeypatch, "knn")


def assert_one_cpu_starts_no_thread(monkeypatch, method):
    """A 32 x 32 matte by ``method`` starts no thread when the process may use one CPU, and
    is the matte without that limit (also used by tests/test_s11_ifm_threads.py)."""
    import os
    import threading

    scene = make_scene((32, 32), seed=4)
    expected = vecmatte.estimate_alpha(scene.image, scene.trimap, method=method)
    started = []
    start = threading.Thread.start

    def counted(thread):
        started.append(thread)
        return start(thread)

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    monkeypatch.setattr(threading.Thread, "start", counted)
    alpha = vecmatte.estimate_alpha(scene.image, scene.trimap, method=method)
    assert started == []
    np.testing.assert_array_equal(alpha, expected)  # the neighbours do not depend on it


def test_a_small_large_kernel_product_sums_its_boxes_in_one_piece(monkeypatch):
    # The box sums ran in two pieces at any size (half-image scratch arrays): on a 64 x 64
    # image each piece's NumPy calls were a third of a product's time. Failed before: two
    # pieces a sum. The product is still the closed-form Laplacian's.
    import vecmatte.laplacians.large_kernel as large_kernel
    from vecmatte.laplacians.closed_form import matting_laplacian

    image = make_scene((40, 36), seed=6).image
    operator = large_kernel.lkm_laplacian(image, eps=1e-4, radius=3)
    pieces = []
    piece = large_kernel._window_sums_of_piece
    monkeypatch.setattr(
        large_kernel,
        "_window_sums_of_piece",
        lambda array, *rest: pieces.append(len(array)) or piece(array, *rest),
    )
    monkeypatch.setattr(
        large_kernel,
        "_window_sums",
        lambda array, size, step, out, scratch: (
            large_kernel._window_sums_of_piece(array, size, step, out, scratch)
            if len(scratch[0]) >= len(array)
            else pytest.fail("a sum cut into pieces")
        ),
    )
    p = np.random.default_rng(0).random(40 * 36)
    product = operator.matvec(p)
    assert pieces
    expected = matting_laplacian(image, eps=1e-4, radius=3) @ p
    np.testing.assert_allclose(product, expected, atol=1e-9 * np.abs(expected).max())


def test_conjugate_gradient_calls_a_vector_operator_directly_with_the_same_result():
    import scipy.sparse
    from scipy.sparse.linalg import LinearOperator, spsolve

    from vecmatte.linalg.cg import conjugate_gradient, vector_operator

    rng = np.random.default_rng(1)
    n = 60
    a = scipy.sparse.random(n, n, density=0.1, random_state=2)
    matrix = (a @ a.T + scipy.sparse.identity(n) * 2.0).tocsr()
    rhs = rng.random(n)
    inverse = 1.0 / matrix.diagonal()
    calls = []

    def function(x):
        calls.append(x.shape)
        return inverse * x

    direct = conjugate_gradient(
        matrix, rhs, preconditioner=vector_operator(n, function), rtol=1e-12
    )
    assert calls and all(shape == (n,) for shape in calls)
    plain = LinearOperator((n, n), matvec=lambda x: inverse * x.ravel(), dtype=np.float64)
    through_scipy = conjugate_gradient(matrix, rhs, preconditioner=plain, rtol=1e-12)
    as_matrix = conjugate_gradient(
        matrix, rhs, preconditioner=scipy.sparse.diags(inverse).tocsr(), rtol=1e-12
    )
    np.testing.assert_array_equal(direct.x, through_scipy.x)
    np.testing.assert_array_equal(direct.x, as_matrix.x)
    np.testing.assert_allclose(direct.x, spsolve(matrix.tocsc(), rhs), rtol=1e-9)


def test_stencil_offsets_are_a_new_array_each_time():
    from vecmatte.laplacians._stencil import stencil_offsets

    first = stencil_offsets(2)
    first[:] = 0
    again = stencil_offsets(2)
    assert again.shape == (25, 2) and tuple(again[0]) == (-2, -2) and tuple(again[-1]) == (2, 2)


@pytest.mark.parametrize("radius", [0, -1, 1.5, "1", None, True])
def test_flat_window_fraction_refuses_a_radius_in_one_line(radius):
    # radius 0 read every one-pixel window as flat (1.0), 1.5 as 1, -1 failed inside SciPy.
    # Failed before: no ValueError naming the radius.
    from vecmatte.systems import flat_window_fraction

    scene = make_scene((20, 20), seed=1)
    unknown = (scene.trimap > 0.1) & (scene.trimap < 0.9)
    with pytest.raises(ValueError, match=r"^radius must be a whole number of at least 1") as caught:
        flat_window_fraction(scene.image, unknown, radius)
    assert "\n" not in str(caught.value)
    assert flat_window_fraction(scene.image, unknown, 2.0) == flat_window_fraction(
        scene.image, unknown, 2
    )


@pytest.mark.parametrize("gather_entries", [0, 2**62])
def test_the_envelope_factor_is_the_same_whichever_way_its_rows_are_gathered(
    monkeypatch, gather_entries
):
    # _scatter gathers small systems' rows itself and large ones' with SciPy's matrix[rows];
    # both give the factor of the default, and it solves the system (against spsolve).
    from scipy.sparse.linalg import spsolve

    import vecmatte.linalg.envelope as envelope
    from vecmatte.alpha.cf import build_system

    scene = make_scene((30, 34), seed=7)
    is_fg, is_bg = scene.trimap > 0.9, scene.trimap < 0.1
    matrix = build_system(scene.image, is_fg, is_bg, eps=1e-4).matrix
    default = envelope.envelope_cholesky(envelope.rcm_envelope(matrix), dtype=np.float64)
    monkeypatch.setattr(envelope, "_GATHER_ENTRIES", gather_entries)
    factor = envelope.envelope_cholesky(envelope.rcm_envelope(matrix), dtype=np.float64)
    for mine, theirs in zip(factor.bands, default.bands, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    rhs = np.random.default_rng(0).random(matrix.shape[0])
    np.testing.assert_allclose(factor.solve(rhs), spsolve(matrix.tocsc(), rhs), rtol=1e-8)
