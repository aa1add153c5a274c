"""The default closed-form solve against a direct sparse solve of the same system."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse.linalg

from vecmatte import _defaults, make_scene, solve_alpha
from vecmatte.alpha._pipeline import default_rtol
from vecmatte.alpha.cf import build_system
from vecmatte.trimap import trimap_split


def _exact(scene) -> tuple[np.ndarray, np.ndarray]:
    """SuperLU's float64 solution of the closed-form system, clipped, and its pixel indices."""
    is_fg, is_bg, _ = trimap_split(scene.trimap)
    system = build_system(scene.image, is_fg, is_bg)
    exact = scipy.sparse.linalg.spsolve(system.matrix.tocsc(), system.rhs)
    return np.clip(exact, 0.0, 1.0), system.unknown


@pytest.mark.parametrize("shape", [(60, 80), (120, 160)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_default_solve_is_within_1e_8_of_the_exact_solution(shape, seed):
    # At rtol 1e-6 the direct path stopped after one iteration, 2e-6 to 1e-5 away here (and
    # up to 1.7e-2 on photographs, bench/results/accuracy.md); at its default 1e-7, 1e-10.
    scene = make_scene(shape, seed=seed)
    exact, unknown = _exact(scene)
    result = solve_alpha(scene.image, scene.trimap)
    assert result.converged and result.residual <= _defaults.DIRECT_RTOL
    assert np.abs(result.alpha.ravel()[unknown] - exact).max() < 1e-8


def test_an_explicit_rtol_overrides_the_direct_default():
    # 2,257 unknowns: conjugate gradient (a smaller system is solved whole by its band
    # Cholesky factor, in one step whatever the rtol).
    scene = make_scene((100, 120), seed=0)
    default = solve_alpha(scene.image, scene.trimap)
    loose = solve_alpha(scene.image, scene.trimap, rtol=1e-6)
    assert loose.residual <= 1e-6 and loose.iterations < default.iterations


@pytest.mark.parametrize("preconditioner", ["jacobi", "ichol"])
def test_iterative_preconditioners_keep_rtol_1e_6(preconditioner):
    scene = make_scene((60, 80), seed=0)
    residuals = []
    result = solve_alpha(
        scene.image,
        scene.trimap,
        preconditioner=preconditioner,
        callback=lambda _, residual: residuals.append(residual),
    )
    # Stopped at the first iteration below 1e-6, not later.
    assert result.residual <= _defaults.RTOL < residuals[-2]


def test_default_rtol_per_preconditioner():
    assert default_rtol("direct") == _defaults.DIRECT_RTOL == 1e-7
    for name in ("ichol", "jacobi", "vcycle", "none", None):
        assert default_rtol(name) == _defaults.RTOL == 1e-6
