"""Session 12: information-flow matting's CG with the "twolevel" preconditioner (its default).

Jacobi plus a coarse correction on pixel blocks: the references are spsolve of the assembled
system, dense products of the aggregation matrix built by a plain loop, and the formula
``D^-1 + P (P^T A P)^-1 P^T`` in dense form.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg

from vecmatte import estimate_solve_memory, solve_alpha
from vecmatte.alpha import METHODS, ifm
from vecmatte.linalg.cg import conjugate_gradient
from vecmatte.preconditioners import build_preconditioner, resolve_preconditioner
from vecmatte.preconditioners.twolevel import aggregate_product, block_aggregates
from vecmatte.synthetic import make_scene
from vecmatte.trimap import trimap_split


def _system(shape, seed):
    scene = make_scene(shape, seed=seed)
    is_fg, is_bg, _ = trimap_split(scene.trimap)
    return scene, is_fg, is_bg, ifm.build_system(scene.image, is_fg, is_bg)


def _dense(system):
    m = len(system.unknown)
    return system.matrix @ np.eye(m)


def _loop_prolongation(system, block, pinned):
    """The aggregation matrix by a plain loop: blocks numbered in (row, column) order."""
    w = system.shape[1]
    keys = {}
    for i, pixel in enumerate(system.unknown):
        if pinned is not None and pinned[i]:
            continue
        y, x = divmod(int(pixel), w)
        keys.setdefault((y // block, x // block), None)
    order = {key: j for j, key in enumerate(sorted(keys))}
    p = np.zeros((len(system.unknown), len(order)))
    for i, pixel in enumerate(system.unknown):
        if pinned is not None and pinned[i]:
            continue
        y, x = divmod(int(pixel), w)
        p[i, order[(y // block, x // block)]] = 1.0
    return p


def test_ifm_defaults_to_twolevel():
    # Before: "jacobi" (79-306 iterations on alphamatting-lowres; 0.5-0.8 times as many now).
    assert METHODS["ifm"].preconditioner == "twolevel"


@pytest.mark.parametrize(("shape", "seed"), [((36, 44), 3), ((50, 40), 8)])
def test_default_solve_matches_spsolve(shape, seed):
    scene, is_fg, is_bg, system = _system(shape, seed)
    expected = scipy.sparse.linalg.spsolve(scipy.sparse.csc_matrix(_dense(system)), system.rhs)
    result = solve_alpha(scene.image, scene.trimap, method="ifm", rtol=1e-10)
    assert result.converged
    alpha = is_fg.astype(float)
    alpha.ravel()[system.unknown] = np.clip(expected, 0, 1)
    alpha[is_fg | is_bg] = is_fg[is_fg | is_bg]  # known pixels keep their trimap value
    np.testing.assert_allclose(result.alpha, alpha, atol=1e-7)
    # At the default rtol (1e-6) the error is what that tolerance leaves on these
    # ill-conditioned systems (6e-4 to 1e-3 with Jacobi too): no larger than Jacobi's.
    errors = {}
    for name in ("jacobi", None):
        default = solve_alpha(scene.image, scene.trimap, method="ifm", preconditioner=name)
        assert default.converged
        errors[name] = np.abs(default.alpha - alpha).max()
    assert errors[None] < min(1.5 * errors["jacobi"], 2e-3), errors


@pytest.mark.parametrize("block", [1, 3, 7])
def test_block_aggregates_match_a_loop(block):
    _, _, _, system = _system((30, 37), 4)
    pinned = system.matrix.pinned
    ys, xs = system.coordinates()
    aggregate, count = block_aggregates(ys, xs, block, pinned)
    expected = _loop_prolongation(system, block, pinned)
    assert count == expected.shape[1]
    got = np.zeros_like(expected)
    free = aggregate >= 0
    got[np.flatnonzero(free), aggregate[free]] = 1.0
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("block", [2, 5])
def test_ifm_galerkin_is_the_dense_product(block):
    _, _, _, system = _system((32, 40), 6)
    pinned = system.matrix.pinned
    assert pinned.any() and not pinned.all()
    ys, xs = system.coordinates()
    aggregate, count = block_aggregates(ys, xs, block, pinned)
    p = _loop_prolongation(system, block, pinned)
    expected = p.T @ _dense(system) @ p
    got = system.matrix.galerkin(aggregate, count).toarray()
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12 * abs(expected).max())
    # The generic sparse path (A P and P^T A P) on an explicit matrix.
    matrix = scipy.sparse.csr_matrix(_dense(system))
    np.testing.assert_allclose(
        aggregate_product(matrix, aggregate, count).toarray(), expected, atol=1e-10
    )
    np.testing.assert_allclose(
        aggregate_product(matrix, aggregate, count, left=False).toarray(),
        _dense(system) @ p,
        atol=1e-10,
    )


def test_operator_is_the_two_level_formula_and_positive_definite():
    _, _, _, system = _system((28, 34), 2)
    block = 4
    operator = build_preconditioner(system, "twolevel", {"block": block})
    p = _loop_prolongation(system, block, system.matrix.pinned)
    dense = _dense(system)
    expected = np.diag(1.0 / system.diagonal) + p @ np.linalg.solve(p.T @ dense @ p, p.T)
    m = len(system.unknown)
    got = np.column_stack([operator @ column for column in np.eye(m)])
    np.testing.assert_allclose(got, expected, atol=1e-9 * abs(expected).max())
    assert np.linalg.eigvalsh((got + got.T) / 2).min() > 0


def test_fewer_iterations_than_jacobi_to_the_same_solution():
    _, _, _, system = _system((90, 110), 11)
    expected = scipy.sparse.linalg.spsolve(scipy.sparse.csc_matrix(_dense(system)), system.rhs)
    counts = {}
    for name in ("jacobi", "twolevel"):
        result = conjugate_gradient(
            system.matrix,
            system.rhs,
            preconditioner=build_preconditioner(system, name),
            x0=system.x0,
            rtol=1e-10,
        )
        assert result.converged
        np.testing.assert_allclose(result.x, expected, atol=1e-6)
        counts[name] = result.iterations
    assert counts["twolevel"] < counts["jacobi"], counts


def test_without_a_galerkin_product_it_is_jacobi():
    _, _, _, system = _system((20, 24), 1)
    from scipy.sparse.linalg import LinearOperator

    bare = LinearOperator(system.matrix.shape, matvec=system.matrix.matvec, dtype=np.float64)
    plain = type(system)(
        bare, system.rhs, system.unknown, system.shape, diagonal=system.diagonal, x0=system.x0
    )
    x = np.random.default_rng(0).random(len(system.rhs))
    np.testing.assert_allclose(
        build_preconditioner(plain, "twolevel") @ x, x / system.diagonal, rtol=1e-15
    )


def test_memory_estimate_counts_the_coarse_level():
    # The default's model is counted, and is above Jacobi's (it holds the aggregation and
    # the coarse factor besides the diagonal).
    shape, unknown = (400, 600), 50000
    default = estimate_solve_memory(shape, unknown, method="ifm")
    jacobi = estimate_solve_memory(shape, unknown, method="ifm", preconditioner="jacobi")
    twolevel = estimate_solve_memory(shape, unknown, method="ifm", preconditioner="twolevel")
    assert default == twolevel > jacobi


@pytest.mark.parametrize("block", [0, -2, 1.5, True, float("inf"), "4", 1001])
def test_bad_block_is_refused(block):
    with pytest.raises(ValueError, match="block"):
        resolve_preconditioner(("twolevel", {"block": block}))


def test_block_option_reaches_the_preconditioner():
    assert resolve_preconditioner("twolevel:block=6") == ("twolevel", {"block": 6})
    scene = make_scene((40, 50), seed=5)
    counts = {
        block: solve_alpha(
            scene.image, scene.trimap, method="ifm", preconditioner=("twolevel", {"block": block})
        ).iterations
        for block in (2, 40)
    }
    assert counts[2] != counts[40], counts
