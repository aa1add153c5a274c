"""V-cycle preconditioner: restriction, one cycle against a dense recursion, PyMatting, CG."""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg
from reference import loop_full_weighting, loop_vcycle

from vecmatte import make_scene
from vecmatte.alpha import solve_alpha
from vecmatte.laplacians.closed_form import matting_laplacian
from vecmatte.linalg.cg import conjugate_gradient
from vecmatte.preconditioners import PRECONDITIONERS, build_preconditioner
from vecmatte.preconditioners.vcycle import full_weighting, vcycle_operator
from vecmatte.systems import hard_constraint_system, soft_constraint_system


def soft_system(rng, shape):
    image = rng.random((*shape, 3))
    is_fg = np.zeros(shape, dtype=bool)
    is_bg = np.zeros(shape, dtype=bool)
    is_bg[:, :3] = True
    is_fg[:, -3:] = True
    return soft_constraint_system(matting_laplacian(image), is_fg, is_bg)


@pytest.mark.parametrize("shape", [(9, 7), (10, 12), (1, 5), (3, 2)])
def test_full_weighting_matches_loop(shape):
    np.testing.assert_allclose(full_weighting(shape).toarray(), loop_full_weighting(shape))


@pytest.mark.parametrize("shape", [(12, 11), (17, 20)])
@pytest.mark.parametrize(("pre", "post", "omega"), [(1, 1, 0.8), (2, 1, 0.6), (0, 2, 1.0)])
def test_one_cycle_matches_dense_recursion(rng, shape, pre, post, omega):
    system = soft_system(rng, shape)
    rhs = rng.random(len(system.rhs))
    operator = vcycle_operator(
        system.matrix,
        shape,
        num_pre_iter=pre,
        num_post_iter=post,
        omega=omega,
        direct_solve_size=20,
    )
    expected = loop_vcycle(system.matrix.toarray(), shape, rhs, omega, pre, post, 20)
    np.testing.assert_allclose(operator @ rhs, expected, rtol=1e-9, atol=1e-12)


def test_symmetric_with_equal_smoothing(rng):
    system = soft_system(rng, (16, 18))
    operator = vcycle_operator(system.matrix, (16, 18))
    dense = np.column_stack([operator @ column for column in np.eye(16 * 18)])
    np.testing.assert_allclose(dense, dense.T, atol=1e-9 * abs(dense).max())


def test_small_grid_is_solved_directly():
    matrix = np.array([[2.0, 3.0], [3.0, 5.0]])
    np.testing.assert_allclose(vcycle_operator(matrix, (2, 2)) @ np.array([1.0, 2.0]), [-1, 1])


def test_hard_constraint_system_on_part_of_the_grid(rng):
    scene = make_scene((40, 44), seed=2, band=3)
    known = (scene.trimap == 0) | (scene.trimap == 1)
    system = hard_constraint_system(
        matting_laplacian(scene.image), scene.trimap == 1, scene.trimap == 0, reach=2
    )
    preconditioner = build_preconditioner(system, "vcycle")
    result = conjugate_gradient(
        system.matrix, system.rhs, preconditioner=preconditioner, rtol=1e-10
    )
    expected = scipy.sparse.linalg.spsolve(system.matrix.tocsc(), system.rhs)
    assert result.converged
    np.testing.assert_allclose(result.x, expected, atol=1e-6)
    assert len(system.unknown) == (~known).sum()


def test_registered_and_used_by_the_pipeline(scene):
    assert PRECONDITIONERS["vcycle"].needs == ("matrix",)
    options = dict(method="rw", sigma=0.3, rtol=1e-10)
    result = solve_alpha(scene.image, scene.trimap, preconditioner="vcycle", **options)
    reference = solve_alpha(scene.image, scene.trimap, preconditioner="direct", **options)
    assert result.converged
    np.testing.assert_allclose(result.alpha, reference.alpha, atol=1e-7)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"num_pre_iter": -1}, "num_pre_iter must be an integer >= 0"),
        ({"omega": 0.0}, "omega must be a positive number"),
    ],
)
def test_options_are_checked(rng, options, message):
    system = soft_system(rng, (10, 10))
    with pytest.raises(ValueError, match=message):
        vcycle_operator(system.matrix, (10, 10), **options)


def test_partial_system_needs_its_pixels(rng):
    system = soft_system(rng, (10, 10))
    matrix = system.matrix[:90][:, :90]
    with pytest.raises(ValueError, match="pass unknown="):
        vcycle_operator(matrix, (10, 10))


@pytest.mark.skipif(importlib.util.find_spec("pymatting") is None, reason="PyMatting not installed")
@pytest.mark.parametrize("shape", [(37, 41), (64, 50)])
def test_equals_pymatting(rng, shape):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pymatting import vcycle as pymatting_vcycle
    matrix = scipy.sparse.csr_matrix(soft_system(rng, shape).matrix)
    rhs = rng.random(matrix.shape[0])
    expected = pymatting_vcycle(matrix, shape)(rhs)
    np.testing.assert_allclose(vcycle_operator(matrix, shape) @ rhs, expected, rtol=1e-10)
