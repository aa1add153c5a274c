"""Closed-form's system: the fast stencil path against the general hard-constraint reduction."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse.linalg
from reference import naive_laplacian

import vecmatte
from vecmatte.alpha.cf import build_system, check_options, memory_bytes
from vecmatte.laplacians.closed_form import matting_laplacian
from vecmatte.memory import estimate_solve_memory
from vecmatte.systems import hard_constraint_system
from vecmatte.trimap import trimap_split


@pytest.fixture(scope="module")
def system():
    scene = vecmatte.make_scene((24, 30), seed=5, band=2)
    is_fg, is_bg, unknown = trimap_split(scene.trimap)
    reduced = build_system(scene.image, is_fg, is_bg, eps=1e-7, radius=1)
    return scene, is_fg, unknown, reduced


@pytest.mark.parametrize("radius", [1, 2])
def test_reduced_system_is_laplacian_block(radius, rng):
    # A random image (well-conditioned window covariances) with the trimap of a small scene.
    trimap = vecmatte.make_scene((16, 19), seed=2, band=2).trimap
    image = rng.random((16, 19, 3))
    is_fg, is_bg, unknown = trimap_split(trimap)
    reduced = build_system(image, is_fg, is_bg, eps=1e-7, radius=radius)
    full = naive_laplacian(image, eps=1e-7, radius=radius)
    u = unknown.ravel()
    np.testing.assert_array_equal(reduced.unknown, np.flatnonzero(u))
    expected_matrix = full[u][:, u]
    expected_rhs = -(full[u][:, ~u] @ is_fg.ravel()[~u].astype(float))
    assert abs(reduced.matrix - expected_matrix).max() < 1e-10
    np.testing.assert_allclose(reduced.rhs, expected_rhs, atol=1e-10)


def test_reduced_matrix_is_symmetric_positive_definite(system):
    _, _, _, reduced = system
    dense = reduced.matrix.toarray()
    # Colour-line windows have covariances of condition ~1e7 at eps=1e-7: allow rounding.
    assert abs(dense - dense.T).max() < 1e-10 * abs(dense).max()
    np.linalg.cholesky(dense)  # raises LinAlgError unless positive definite


@pytest.mark.parametrize(("radius", "seed"), [(1, 0), (1, 1), (2, 2)])
def test_stencil_path_equals_the_general_reduction(radius, seed):
    # The fast path never forms L; the general path reduces the full Laplacian as
    # scikit-image does. Same matrix, same right-hand side, same solution.
    scene = vecmatte.make_scene((26, 31), seed=seed, band=3)
    is_fg, is_bg, _ = trimap_split(scene.trimap)
    fast = build_system(scene.image, is_fg, is_bg, eps=1e-6, radius=radius)
    laplacian = matting_laplacian(scene.image, eps=1e-6, radius=radius)
    general = hard_constraint_system(laplacian, is_fg, is_bg, reach=2 * radius)
    np.testing.assert_array_equal(fast.unknown, general.unknown)
    assert fast.reach == general.reach == 2 * radius
    assert abs(fast.matrix - general.matrix).max() <= 1e-12
    np.testing.assert_allclose(fast.rhs, general.rhs, rtol=0, atol=1e-12)
    x_fast = scipy.sparse.linalg.spsolve(fast.matrix.tocsc(), fast.rhs)
    x_general = scipy.sparse.linalg.spsolve(general.matrix.tocsc(), general.rhs)
    np.testing.assert_allclose(x_fast, x_general, atol=1e-8)


def test_stencil_holds_the_matrix_entries(system):
    _, _, _, reduced = system
    stencil = reduced.stencil
    rows = np.broadcast_to(np.arange(reduced.matrix.shape[0]), stencil.neighbors.shape)
    inside = stencil.neighbors >= 0
    dense = reduced.matrix.toarray()
    np.testing.assert_array_equal(
        dense[rows[inside], stencil.neighbors[inside]], stencil.values[inside]
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"radius": 0}, "radius must be a positive integer"),
        ({"radius": 1.5}, "radius must be a positive integer"),
        ({"eps": 0.0}, "eps must be a positive finite number"),
        ({"radius": 20}, "smaller than one 41 x 41 window"),
    ],
)
def test_options_are_range_checked(options, message):
    with pytest.raises(ValueError, match=message):
        check_options((30, 40, 3), **options)


def test_memory_model_is_the_calibrated_one():
    # 1.15 * ((48 n + 600 u + max(1518 u, 21 u**1.25)) * k / 25 + 40e6) for "direct", as
    # calibrated (the factor: an envelope's or a nested-dissection factor's, the larger; the
    # rows term was 590 until session 9's solver commit 8a49981: the envelope's bound)
    n, u = 2000 * 1500, 400_000
    for radius in (1, 2):
        k = (4 * radius + 1) ** 2
        factor = max(1518 * u, 21 * u**1.25)
        expected = 1.15 * ((48 * n + 600 * u + factor) * k / 25 + 40e6)
        got = memory_bytes((1500, 2000), u, preconditioner="direct", radius=radius)
        assert got == pytest.approx(expected, rel=1e-9)
    ichol = 1.15 * ((10 * n + 2000 * u) + 40e6)
    assert memory_bytes((1500, 2000), u, preconditioner="ichol") == pytest.approx(ichol, rel=1e-9)
    assert estimate_solve_memory((1500, 2000), u) == memory_bytes((1500, 2000), u)


def test_stencil_marks_unsolved_neighbours(system):
    # -1 and a zero value where the neighbour is known or outside the image.
    _, _, _, reduced = system
    stencil = reduced.stencil
    assert stencil.neighbors.min() == -1
    assert (stencil.values[stencil.neighbors < 0] == 0).all()
    assert stencil.neighbors.shape == stencil.values.shape == (25, reduced.matrix.shape[0])


@pytest.mark.parametrize("threads", [1, 3])
def test_strips_write_the_same_system_as_the_general_reduction(threads, monkeypatch):
    # Strips of one or two rows (a tiny window budget), in threads or not: each strip writes
    # its rows' matrix entries and right-hand side at the right places.
    import vecmatte.laplacians.closed_form as closed_form

    scene = vecmatte.make_scene((21, 26), seed=3, band=3)
    is_fg, is_bg, _ = trimap_split(scene.trimap)
    general = hard_constraint_system(matting_laplacian(scene.image, eps=1e-6), is_fg, is_bg)
    monkeypatch.setattr(closed_form, "_WINDOW_VALUES_BUDGET", 1)
    monkeypatch.setattr(closed_form, "available_cpus", lambda: threads)
    fast = build_system(scene.image, is_fg, is_bg, eps=1e-6, radius=1)
    assert fast.matrix.has_sorted_indices
    np.testing.assert_array_equal(fast.matrix.indptr, general.matrix.indptr)
    np.testing.assert_array_equal(fast.matrix.indices, general.matrix.indices)
    assert abs(fast.matrix - general.matrix).max() <= 1e-12
    np.testing.assert_allclose(fast.rhs, general.rhs, rtol=0, atol=1e-12)
