"""Small closed-form systems solved whole by a band Cholesky factor (vecmatte.alpha.cf.solve_small).

The reference is SciPy's sparse direct solve (``spsolve``) of the system that
:func:`vecmatte.alpha.cf.build_system` assembles, and the conjugate gradient path of the same
pipeline (``maxiter=2`` keeps a solve on it).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse.linalg

import vecmatte
from vecmatte import ConvergenceWarning
from vecmatte._validation import check_radius_eps
from vecmatte.alpha import cf
from vecmatte.compat import pymatting as shim
from vecmatte.synthetic import make_scene


def _masks(trimap):
    return trimap > 0.9, trimap < 0.1


def _spsolve(image, trimap, **options):
    """The assembled system's exact solution, with its unknowns' flat indices."""
    is_fg, is_bg = _masks(trimap)
    system = cf.build_system(image, is_fg, is_bg, **options)
    return scipy.sparse.linalg.spsolve(system.matrix.tocsc(), system.rhs), system.unknown


def _scenes():
    """Small synthetic scenes (make_scene, narrow bands so that they hold foreground) and odd
    trimaps: name -> (image, trimap, options)."""
    cases = {}
    for shape in ((20, 24), (24, 32), (30, 40), (12, 60)):
        for seed in (0, 1):
            scene = make_scene(shape, seed=seed, softness=1.5, band=1)
            cases[f"scene {shape} seed {seed}"] = (scene.image, scene.trimap, {})
    scene = make_scene((24, 32), seed=2, softness=1.5, band=1)
    cases["radius 2"] = (scene.image, scene.trimap, {"radius": 2})
    cases["eps 1e-3"] = (scene.image, scene.trimap, {"eps": 1e-3})
    image = make_scene((20, 30), seed=1).image
    column = np.zeros((20, 30))
    column[:, :15] = 1.0
    column[:, 15] = 0.5  # an unknown band one pixel wide, across the image
    cases["one-pixel column"] = (image, column, {})
    row = np.zeros((20, 30))
    row[:10] = 1.0
    row[10] = 0.5
    cases["one-pixel row"] = (image, row, {})
    single = np.zeros((20, 30))
    single[:, :15] = 1.0
    single[7, 15] = 0.5  # one unknown pixel
    cases["one unknown pixel"] = (image, single, {})
    lone = np.full((12, 16), 0.5)  # all unknown but one foreground and one background pixel
    lone[0, 0], lone[-1, -1] = 1.0, 0.0
    cases["one known pixel each"] = (make_scene((12, 16), seed=3).image, lone, {})
    noise = np.random.default_rng(4).random((12, 16, 3))
    cases["one known pixel each, noise"] = (noise, lone, {})
    thin = np.zeros((3, 40))  # the thinnest image a 3 x 3 window fits in
    thin[:, :20] = 1.0
    thin[:, 20] = 0.5
    thin[1, 5:35] = 0.5
    cases["3 x 40"] = (np.random.default_rng(5).random((3, 40, 3)), thin, {})
    return cases


SCENES = _scenes()


@pytest.mark.parametrize("name", sorted(SCENES))
def test_the_band_solve_is_the_assembled_systems_solution(name):
    image, trimap, options = SCENES[name]
    reference, unknown = _spsolve(image, trimap, **options)
    assert np.abs(reference).max() > 0  # a system with a right-hand side
    is_fg, is_bg = _masks(trimap)
    solved = cf.solve_small(image, is_fg, is_bg, rtol=1e-7, **options)
    assert solved is not None
    x, residual = solved
    np.testing.assert_array_equal(unknown, np.flatnonzero(~(is_fg | is_bg)))
    assert np.abs(x - reference).max() <= 1e-9 * max(1.0, np.abs(reference).max())
    assert residual <= 1e-12


@pytest.mark.parametrize("name", sorted(SCENES))
def test_estimate_alpha_takes_it_and_agrees_with_conjugate_gradient(name, taken):
    image, trimap, options = SCENES[name]
    reference, unknown = _spsolve(image, trimap, **options)
    calls = []
    result = vecmatte.solve_alpha(image, trimap, callback=lambda *a: calls.append(a), **options)
    # Taken: conjugate gradient preconditioned by the exact factor, one iteration.
    assert taken == [True]
    assert result.iterations == 1 and result.converged and result.residual <= 1e-12
    assert calls == [(1, result.residual)]
    expected = (trimap > 0.9).astype(float)
    expected.ravel()[unknown] = np.clip(reference, 0.0, 1.0)
    assert np.abs(result.alpha - expected).max() <= 1e-9
    # maxiter=2 (below the 'direct' preconditioner's two or three iterations) keeps the
    # solve on conjugate gradient: its matte differs only by its own error (up to 8e-6
    # here where it converges, with one known pixel of each kind).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # the noise: 3 iterations
        iterative = vecmatte.solve_alpha(image, trimap, maxiter=2, **options)
    assert taken == [True]
    error = np.abs(iterative.alpha - expected).max()
    assert np.abs(iterative.alpha - result.alpha).max() <= error + 1e-9
    assert error <= 1e-5 or not iterative.converged


def test_the_pymatting_shim_takes_it_too(taken):
    image, trimap, _ = SCENES["scene (24, 32) seed 0"]
    reference, unknown = _spsolve(image, trimap)
    alpha = shim.estimate_alpha_cf(image, trimap)
    assert taken == [True]
    np.testing.assert_allclose(alpha.ravel()[unknown], np.clip(reference, 0, 1), atol=1e-9)


def test_a_one_pixel_high_image_is_refused_as_before():
    image = np.random.default_rng(0).random((1, 30, 3))
    trimap = np.zeros((1, 30))
    trimap[0, :10], trimap[0, 15] = 1.0, 0.5
    with pytest.raises(ValueError, match=r"image of 1 x 30 pixels .* smaller than one 3 x 3"):
        vecmatte.estimate_alpha(image, trimap)
    with pytest.raises(ValueError, match=r"image of 30 x 1 pixels"):
        vecmatte.estimate_alpha(image.transpose(1, 0, 2), trimap.T)


@pytest.fixture
def taken(monkeypatch):
    """The answers of cf.solve_small in this test: True where it solved the system."""
    answers = []
    solve = cf.solve_small

    def recorded(*args, **kwargs):
        solved = solve(*args, **kwargs)
        answers.append(solved is not None)
        return solved

    monkeypatch.setattr(cf, "solve_small", recorded)
    return answers


def _band_width(trimap, radius=1):
    unknown = np.flatnonzero((trimap > 0.1) & (trimap < 0.9))
    last = np.searchsorted(unknown, unknown + 2 * radius * (trimap.shape[1] + 1), side="right")
    return len(unknown), int((last - np.arange(len(unknown))).max())


def _strip(n_unknown):
    """A tall 12-pixel-wide image whose unknown band (5 columns) holds ``n_unknown`` pixels:
    a narrow band (within the flops' bound) of as many unknowns as asked."""
    rows = -(-n_unknown // 5)
    trimap = np.zeros((rows + 2, 12))
    trimap[:, :4] = 1.0
    trimap[1 : rows + 1, 4:9] = 0.5
    trimap.reshape(-1)[np.flatnonzero(trimap == 0.5)[n_unknown:]] = 0.0
    image = np.random.default_rng(n_unknown).random((*trimap.shape, 3))
    return image, trimap


def test_it_is_not_taken_above_the_bounds(taken):
    # More unknowns than the bound: conjugate gradient, as before.
    scene = make_scene((100, 120), seed=1)
    m, width = _band_width(scene.trimap)
    assert m > cf._DIRECT_MAX_UNKNOWN
    vecmatte.estimate_alpha(scene.image, scene.trimap)
    assert taken == [False]
    # One unknown more than the bound, in a band narrow enough for the flops' bound.
    image, trimap = _strip(cf._DIRECT_MAX_UNKNOWN + 1)
    m, width = _band_width(trimap)
    assert m == cf._DIRECT_MAX_UNKNOWN + 1 and m * width**2 <= cf._DIRECT_MAX_FLOPS
    result = vecmatte.solve_alpha(image, trimap)
    assert taken == [False, False] and result.iterations > 1
    taken.clear()
    # Few unknowns but a band too wide: two unknown runs of k pixels two rows apart, coupled
    # at a distance of about k in row-major order.
    k = cf._DIRECT_MAX_UNKNOWN // 2 - 10
    trimap = np.zeros((6, k + 100))
    trimap[:2] = 1.0
    trimap[2, :k] = trimap[4, :k] = 0.5
    m, width = _band_width(trimap)
    assert m <= cf._DIRECT_MAX_UNKNOWN and m * width**2 > cf._DIRECT_MAX_FLOPS
    image = np.random.default_rng(1).random((*trimap.shape, 3))
    vecmatte.estimate_alpha(image, trimap)
    assert taken == [False]


def test_a_large_radius_is_left_to_the_build(taken):
    # Blocks of (2r + 1)**4 entries: past the pairs' bound at radius 3 on this scene, whose
    # unknowns and band are within the other bounds.
    scene = make_scene((30, 40), seed=0, softness=1.5, band=1)
    m, width = _band_width(scene.trimap, radius=3)
    assert m <= cf._DIRECT_MAX_UNKNOWN and m * width**2 <= cf._DIRECT_MAX_FLOPS
    result = vecmatte.solve_alpha(scene.image, scene.trimap, radius=3)
    assert taken == [False] and result.iterations > 1
    reference, unknown = _spsolve(scene.image, scene.trimap, radius=3)
    assert np.abs(result.alpha.ravel()[unknown] - np.clip(reference, 0, 1)).max() <= 1e-5


def test_it_is_taken_up_to_the_bounds_and_only_with_the_direct_preconditioner(taken):
    scene = make_scene((30, 40), seed=0, softness=1.5, band=1)
    m, width = _band_width(scene.trimap)
    assert m <= cf._DIRECT_MAX_UNKNOWN and m * width**2 <= cf._DIRECT_MAX_FLOPS
    vecmatte.estimate_alpha(scene.image, scene.trimap)
    vecmatte.estimate_alpha(scene.image, scene.trimap, preconditioner="direct", maxiter=3)
    assert taken == [True, True]
    for other in ("ichol", "jacobi"):
        assert vecmatte.solve_alpha(scene.image, scene.trimap, preconditioner=other).iterations > 1
    vecmatte.estimate_alpha(scene.image, scene.trimap, maxiter=2)
    assert taken == [True, True]  # not even asked
    # An rtol the solution's residual cannot meet hands the system to conjugate gradient.
    is_fg, is_bg = _masks(scene.trimap)
    assert cf.solve_small(scene.image, is_fg, is_bg, rtol=1e-300) is None


@pytest.mark.parametrize("scene", ["strip", "make_scene"])
def test_it_is_taken_up_to_the_unknowns_bound(taken, scene):
    # Exactly the bound's unknowns in a narrow band, and a make_scene of 1,698 (past 640,
    # the bound before), each against the assembled system's spsolve.
    if scene == "strip":
        image, trimap = _strip(cf._DIRECT_MAX_UNKNOWN)
    else:
        made = make_scene((80, 75), seed=0)
        image, trimap = made.image, made.trimap
    m, width = _band_width(trimap)
    assert 640 < m <= cf._DIRECT_MAX_UNKNOWN and m * width**2 <= cf._DIRECT_MAX_FLOPS
    result = vecmatte.solve_alpha(image, trimap)
    assert taken == [True] and result.iterations == 1 and result.residual <= 1e-12
    reference, unknown = _spsolve(image, trimap)
    assert np.abs(result.alpha.ravel()[unknown] - np.clip(reference, 0, 1)).max() <= 1e-9


def test_the_radius_and_eps_fast_check_returns_what_the_full_check_returns():
    # Plain int and float in range take the short way; everything else the full checks.
    assert check_radius_eps(1, 1e-7, (5, 5)) == (1, 1e-7)
    assert check_radius_eps(2, 1e6, (5, 9)) == (2, 1e6)
    assert check_radius_eps(np.int64(1), np.float32(1e-12), (3, 3)) == (1, 1e-12)
    for radius, eps, shape, match in [
        (1, 1e-13, (9, 9), "eps must be at least 1e-12"),
        (1, 2e6, (9, 9), "eps must be at most"),
        (0, 1e-7, (9, 9), "radius must be a positive integer"),
        (True, 1e-7, (9, 9), "radius must be a positive integer"),
        (2, 1e-7, (4, 9), "smaller than one 5 x 5 window"),
        (1, float("nan"), (9, 9), "eps must be a positive finite number"),
    ]:
        with pytest.raises(ValueError, match=match):
            check_radius_eps(radius, eps, shape)
