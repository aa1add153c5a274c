"""Large-kernel method: the matrix-free systems against the explicit closed-form Laplacian."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg
from reference import direct_alpha, naive_laplacian

from vecmatte.alpha import METHODS, estimate_alpha, solve_alpha
from vecmatte.alpha.lkm import build_system
from vecmatte.laplacians.closed_form import matting_laplacian


def problem(rng, shape=(24, 26)):
    """Unknown pixels in a block away from the border, so that the crop is a real crop."""
    image = rng.random((*shape, 3))
    is_fg = np.zeros(shape, dtype=bool)
    is_bg = np.ones(shape, dtype=bool)
    is_bg[8:15, 9:17] = False
    is_fg[10:13, 12:14] = True
    is_bg[10:13, 12:14] = False
    return image, is_fg, is_bg


def dense(operator, m):
    return np.column_stack([operator @ column for column in np.eye(m)])


@pytest.mark.parametrize("radius", [1, 2])
def test_hard_system_on_the_crop_is_the_reduction_of_the_full_laplacian(rng, radius):
    image, is_fg, is_bg = problem(rng)
    # The closed-form Laplacian (tested against naive_laplacian in its own tests).
    laplacian = matting_laplacian(image, radius=radius).toarray()
    system = build_system(image, is_fg, is_bg, radius=radius)
    known = (is_fg | is_bg).ravel()
    unknown = np.flatnonzero(~known)
    np.testing.assert_array_equal(system.unknown, unknown)
    m = len(unknown)
    expected = laplacian[np.ix_(unknown, unknown)]
    np.testing.assert_allclose(dense(system.matrix, m), expected, atol=1e-8 * abs(expected).max())
    np.testing.assert_allclose(system.diagonal, np.diag(expected), rtol=1e-8)
    expected_rhs = -laplacian[np.ix_(unknown, np.flatnonzero(known))] @ is_fg.ravel()[known]
    np.testing.assert_allclose(system.rhs, expected_rhs, atol=1e-8 * abs(expected).max())


def test_soft_system_is_pymatting_s(rng):
    image, is_fg, is_bg = problem(rng, (14, 15))
    known = (is_fg | is_bg).ravel()
    expected = naive_laplacian(image, radius=2).toarray() + 100.0 * np.diag(known * 1.0)
    system = build_system(image, is_fg, is_bg, radius=2, constraints="soft")
    np.testing.assert_allclose(dense(system.matrix, 14 * 15), expected, atol=1e-8 * 100)
    np.testing.assert_allclose(system.diagonal, np.diag(expected), rtol=1e-9)
    np.testing.assert_allclose(system.rhs, 100.0 * is_fg.ravel())


def test_estimate_alpha_matches_a_direct_solve_of_the_closed_form_system(scene):
    result = solve_alpha(scene.image, scene.trimap, method="lkm", radius=2, rtol=1e-10)
    assert result.converged
    laplacian = matting_laplacian(scene.image, radius=2)
    known = ((scene.trimap == 0) | (scene.trimap == 1)).ravel()
    unknown = np.flatnonzero(~known)
    rows = laplacian[unknown]
    x = scipy.sparse.linalg.spsolve(
        rows[:, unknown].tocsc(), -rows[:, np.flatnonzero(known)] @ (scene.trimap.ravel()[known])
    )
    np.testing.assert_allclose(result.alpha.ravel()[unknown], np.clip(x, 0, 1), atol=1e-6)


def test_registered_with_jacobi():
    assert METHODS["lkm"].preconditioner == "jacobi"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"radius": 30}, "smaller than one"),
        ({"eps": 0.0}, "eps must be a positive finite number"),
        ({"lam": 0.0}, "lam must be a positive finite number"),
    ],
)
def test_options_are_checked(scene, options, message):
    with pytest.raises(ValueError, match=message):
        estimate_alpha(scene.image, scene.trimap, method="lkm", **options)


@pytest.mark.parametrize("constraints", ["hard", "soft"])
def test_black_and_white_stripes_are_solved(constraints):
    """Conjugate gradient broke down at iteration 0 on the indefinite operator that the
    cofactor inverse of rank-1 window covariances made (a ConvergenceWarning, an error
    under the suite's filters)."""
    from vecmatte.synthetic import make_scene

    scene = make_scene((30, 40), seed=1)
    columns = (np.arange(40) // 2) % 2
    image = np.broadcast_to(columns[None, :, None], (30, 40, 3)).astype(np.float64)
    result = solve_alpha(image, scene.trimap, method="lkm", constraints=constraints, rtol=1e-10)
    assert result.converged
    if constraints == "hard":  # the closed-form Laplacian of the same windows, solved directly
        laplacian = scipy.sparse.csr_matrix(window_laplacian(image, radius=10))
        expected = np.clip(direct_alpha(laplacian, scene.trimap), 0, 1)
        np.testing.assert_allclose(result.alpha, expected, atol=1e-3)


def test_noise_with_a_constant_channel_and_two_known_pixels_is_solved():
    """One foreground and one background pixel leave eigenvalues of 4e-9 of the scale; the
    operator's rounding on a constant channel at 1 (5e-10 of the scale, asymmetric) was as
    large, and conjugate gradient broke down after 20 iterations at relative residual 0.01
    (a ConvergenceWarning, an error under the suite's filters). Found by a fuzzer."""
    image = np.random.default_rng(3).random((13, 13, 3))
    image[..., 2] = 1.0
    trimap = np.full((13, 13), 0.5)
    trimap[1, 0], trimap[8, 12] = 0.0, 1.0
    result = solve_alpha(image, trimap, method="lkm", radius=5, rtol=1e-10)
    assert result.converged
    expected = np.clip(direct_alpha(matting_laplacian(image, radius=5), trimap), 0, 1)
    np.testing.assert_allclose(result.alpha, expected, atol=1e-6)


def window_laplacian(image, radius, eps=1e-7):
    """Dense matting Laplacian, one window at a time (Levin et al. eq. 12, as naive_laplacian).

    Each window's block is formed with NumPy and added to a dense matrix: at radius 10 this takes
    a second on a 36 x 44 image, where the pair-by-pair naive_laplacian would take hours.
    """
    h, w, _ = image.shape
    size = 2 * radius + 1
    n = size * size
    index = np.arange(h * w).reshape(h, w)
    laplacian = np.zeros((h * w, h * w))
    for y in range(h - 2 * radius):
        for x in range(w - 2 * radius):
            patch = image[y : y + size, x : x + size].reshape(n, 3)
            centred = patch - patch.mean(axis=0)
            inverse = np.linalg.inv(centred.T @ centred / n + eps / n * np.eye(3))
            pixels = index[y : y + size, x : x + size].ravel()
            laplacian[np.ix_(pixels, pixels)] += np.eye(n) - (1 + centred @ inverse @ centred.T) / n
    return laplacian


def test_window_laplacian_is_the_naive_one(rng):
    image = rng.random((7, 8, 3))
    for radius in (1, 2):
        np.testing.assert_allclose(
            window_laplacian(image, radius),
            naive_laplacian(image, radius=radius).toarray(),
            atol=1e-10,
        )


def test_a_weak_soft_constraint_is_solved():
    """lam below 1 was refused for lkm (a weak pull drowned in the operator's rounding, and
    lam=1e-6 broke conjugate gradient down after 83 iterations on this scene); with the
    colours centred it takes the range of every soft-constraint method."""
    from vecmatte.synthetic import make_scene

    scene = make_scene((60, 80), seed=1)
    weak = solve_alpha(scene.image, scene.trimap, method="lkm", constraints="soft", lam=1e-6)
    assert weak.converged
    assert np.isfinite(weak.alpha).all()
    # At lam=0.01 the system is well enough conditioned to compare with a direct solve of
    # (L + lam D) alpha = lam b, with lkm's default radius 10. On a smaller scene: the 60 x 80
    # one's sparse radius-10 Laplacian took 76 s of CPU to build.
    scene = make_scene((36, 44), seed=1)
    result = solve_alpha(
        scene.image, scene.trimap, method="lkm", constraints="soft", lam=0.01, rtol=1e-10
    )
    known = ((scene.trimap == 0) | (scene.trimap == 1)).ravel()
    matrix = window_laplacian(scene.image, radius=10) + np.diag(0.01 * known)
    expected = np.linalg.solve(matrix, 0.01 * (scene.trimap == 1).ravel())
    unknown = ~known
    np.testing.assert_allclose(
        result.alpha.ravel()[unknown], np.clip(expected, 0, 1)[unknown], atol=1e-4
    )
