"""The preconditioner registry and each preconditioner, against direct linear algebra."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg
from reference import incomplete_cholesky

import vecmatte
from vecmatte.alpha._registry import _NEED_WORDS
from vecmatte.alpha.cf import build_system
from vecmatte.linalg.cg import conjugate_gradient
from vecmatte.preconditioners import (
    PRECONDITIONERS,
    build_preconditioner,
    format_preconditioner,
    ichol,
    resolve_preconditioner,
)
from vecmatte.trimap import trimap_split


@pytest.fixture(scope="module")
def system():
    scene = vecmatte.make_scene((24, 30), seed=5, band=2)
    is_fg, is_bg, unknown = trimap_split(scene.trimap)
    reduced = build_system(scene.image, is_fg, is_bg, eps=1e-7, radius=1)
    return scene, is_fg, unknown, reduced


@pytest.mark.parametrize("name", list(PRECONDITIONERS))
def test_cg_on_matting_system_matches_spsolve(name, system):
    _, _, _, reduced = system
    preconditioner = build_preconditioner(reduced, name)
    calls = []
    result = conjugate_gradient(
        reduced.matrix,
        reduced.rhs,
        preconditioner=preconditioner,
        rtol=1e-10,
        callback=lambda i, r: calls.append((i, r)),
    )
    expected = scipy.sparse.linalg.spsolve(reduced.matrix.tocsc(), reduced.rhs)
    assert result.converged
    np.testing.assert_allclose(result.x, expected, atol=1e-6)
    # The callback sees every iteration, and the reported residual is the true one.
    assert [i for i, _ in calls] == list(range(1, result.iterations + 1))
    true_residual = np.linalg.norm(reduced.rhs - reduced.matrix @ result.x) / np.linalg.norm(
        reduced.rhs
    )
    assert true_residual == pytest.approx(result.residual, rel=1e-3, abs=1e-13)


@pytest.mark.parametrize("name", [name for name in PRECONDITIONERS if name != "none"])
def test_preconditioner_is_symmetric_positive_definite(name, system):
    _, _, _, reduced = system
    operator = build_preconditioner(reduced, name)
    n = reduced.matrix.shape[0]
    dense = np.column_stack([operator @ column for column in np.eye(n)])
    assert np.all(np.isfinite(dense))
    # Symmetric up to the precision it is computed in (a float32 factor gives ~1e-7).
    assert abs(dense - dense.T).max() < 1e-5 * abs(dense).max()
    assert np.linalg.eigvalsh((dense + dense.T) / 2).min() > 0


def test_preconditioners_reduce_iterations(system):
    _, _, _, reduced = system
    iterations = {}
    for name in PRECONDITIONERS:
        preconditioner = build_preconditioner(reduced, name)
        result = conjugate_gradient(
            reduced.matrix, reduced.rhs, preconditioner=preconditioner, rtol=1e-8
        )
        iterations[name] = result.iterations
    assert iterations["ichol"] < iterations["none"] / 2, iterations


def test_ichol_converges_to_exact_incomplete_cholesky(system):
    # The fixed-point sweeps converge to the IC(0) factor; with many sweeps the operator must
    # be (L L^T)^-1 for the L of a plain row-by-row IC(0) on the same sparsity pattern.
    _, _, _, reduced = system
    lower = incomplete_cholesky(reduced.matrix)
    x = np.random.default_rng(0).random(reduced.matrix.shape[0])
    expected = np.linalg.solve(lower.T, np.linalg.solve(lower, x))
    operator = ichol.build(reduced, sweeps=200)
    np.testing.assert_allclose(operator @ x, expected, rtol=1e-8, atol=1e-10 * abs(expected).max())


def test_unknown_preconditioner_named():
    with pytest.raises(ValueError, match=r"unknown preconditioner 'multigrid'.*ichol"):
        resolve_preconditioner("multigrid")


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        (None, ("direct", {})),
        ("ichol", ("ichol", {})),
        ("ichol:sweeps=5", ("ichol", {"sweeps": 5})),
        ("ichol: sweeps=5, shift=0.01", ("ichol", {"sweeps": 5, "shift": 0.01})),
        (("ichol", {"sweeps": 2}), ("ichol", {"sweeps": 2})),
        ("direct:factor=nested", ("direct", {"factor": "nested"})),
        (("direct", {"factor": "envelope"}), ("direct", {"factor": "envelope"})),
        ("none", ("none", {})),
    ],
)
def test_resolve_reads_every_form(request_, expected):
    assert resolve_preconditioner(request_) == expected


def test_none_means_the_given_default():
    assert resolve_preconditioner(None, default="jacobi") == ("jacobi", {})


def test_format_is_the_inverse_of_the_string_form():
    name, options = "ichol", {"sweeps": 5, "shift": 0.25}
    assert resolve_preconditioner(format_preconditioner(name, options)) == (name, options)


@pytest.mark.parametrize(
    ("request_", "error", "message"),
    [
        ("multigrid", ValueError, r"unknown preconditioner 'multigrid'; choose one of direct"),
        (("ichol", {"sweep": 5}), TypeError, r"no option 'sweep'; its options are 'sweeps'"),
        ("jacobi:omega=1", TypeError, r"'jacobi' has no option 'omega'; its options are none"),
        ("ichol:sweeps", ValueError, r"written 'name:option=value"),
        (3, TypeError, r"must be None, a name or \(name, \{options\}\)"),
    ],
)
def test_resolve_refuses_with_one_line(request_, error, message):
    with pytest.raises(error, match=message):
        resolve_preconditioner(request_)


def test_every_spec_names_a_module_with_build_and_a_memory_model():
    for name, spec in PRECONDITIONERS.items():
        assert spec.summary, name
        # Every need is one the refusals can name (vecmatte.alpha._registry's words).
        assert set(spec.needs) <= set(_NEED_WORDS), name
        assert spec.memory_bytes(1000, 100) >= 0, name
        assert (spec.load() is None) == (name == "none")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"sweeps": -1}, "sweeps"),
        ({"shift": -1}, "shift"),
        # Before: sweeps=100000000 ran for minutes on a 64 x 64 image, shift=1e300 made CG
        # break down after 0 iterations.
        ({"sweeps": ichol.MAX_SWEEPS + 1}, "sweeps must be a whole number from 1 to 1000"),
        ({"shift": 1e300}, "shift must be a number from 0 to 10"),
    ],
)
def test_ichol_options_are_range_checked(options, message, system):
    _, _, _, reduced = system
    with pytest.raises(ValueError, match=message):
        build_preconditioner(reduced, "ichol", options)


def test_ichol_options_reach_the_factor(system):
    # More sweeps give a closer IC(0) factor: fewer or as many iterations, never an error.
    _, _, _, reduced = system
    counts = []
    for sweeps in (1, 8):
        operator = build_preconditioner(reduced, "ichol", {"sweeps": sweeps})
        result = conjugate_gradient(reduced.matrix, reduced.rhs, preconditioner=operator, rtol=1e-8)
        counts.append(result.iterations)
    assert counts[1] <= counts[0]


def test_ichol_sweeps_that_diverge_stop_before_the_factor_overflows():
    # On closed-form systems the fixed-point sweeps do not converge: here 30 sweeps gave a
    # factor of NaN and CG broke down at once (alpha written as 0/255 with a warning). The
    # sweeps now stop before the growth, so many sweeps still precondition CG.
    scene = vecmatte.make_scene((120, 150), seed=3)
    is_fg, is_bg, _ = trimap_split(scene.trimap)
    reduced = build_system(scene.image, is_fg, is_bg, eps=1e-7, radius=1)
    lower, _ = ichol.ichol_factor(reduced.stencil, 60, 0.0)
    assert np.all(np.isfinite(lower))
    operator = build_preconditioner(reduced, "ichol", {"sweeps": 60})
    result = conjugate_gradient(reduced.matrix, reduced.rhs, preconditioner=operator, rtol=1e-8)
    expected = scipy.sparse.linalg.spsolve(reduced.matrix.tocsc(), reduced.rhs)
    assert result.converged
    np.testing.assert_allclose(result.x, expected, atol=1e-5)


def test_needs_are_checked_before_building(system):
    import dataclasses

    _, _, _, reduced = system
    with pytest.raises(ValueError, match="'ichol' needs a pixel stencil"):
        build_preconditioner(dataclasses.replace(reduced, stencil=None), "ichol")
    matrix_free = dataclasses.replace(
        reduced, matrix=scipy.sparse.linalg.aslinearoperator(reduced.matrix)
    )
    with pytest.raises(ValueError, match="'direct' needs an explicit sparse matrix"):
        build_preconditioner(matrix_free, "direct")
    with pytest.raises(ValueError, match="'jacobi' needs the system's diagonal"):
        build_preconditioner(matrix_free, "jacobi")
    diagonal = dataclasses.replace(matrix_free, diagonal=reduced.matrix.diagonal())
    x = np.arange(reduced.matrix.shape[0], dtype=float)
    np.testing.assert_allclose(
        build_preconditioner(diagonal, "jacobi") @ x, x / reduced.matrix.diagonal()
    )


def _filled_box_system(shape=(40, 50)):
    """A closed-form system whose unknowns fill their box: a few strokes, as with scribbles."""
    rng = np.random.default_rng(3)
    trimap = np.full(shape, 0.5)
    trimap[5, 5:-5] = 1.0
    trimap[-6, 5:-5] = 0.0
    is_fg, is_bg, _ = trimap_split(trimap)
    return build_system(rng.random((*shape, 3)), is_fg, is_bg)


def test_direct_auto_decides_a_filled_box_without_the_envelope(monkeypatch):
    from vecmatte.linalg.envelope import envelope_flops, rcm_envelope
    from vecmatte.preconditioners import direct

    system = _filled_box_system()
    n = system.matrix.shape[0]
    # The box test settles it at thresholds up to 0.12 (reach * shorter side)**2 = 768 ...
    threshold = 0.12 * (2 * 40) ** 2
    monkeypatch.setattr(direct, "ENVELOPE_FLOPS_PER_UNKNOWN", threshold)
    # ... and the envelope it skips would have been rejected there too.
    assert envelope_flops(rcm_envelope(system.matrix).first) >= threshold * n

    def refuse(matrix):
        raise AssertionError("the envelope was built")

    monkeypatch.setattr("vecmatte.linalg.envelope.rcm_envelope", refuse)
    inverse = direct.build(system)
    expected = scipy.sparse.linalg.spsolve(system.matrix.tocsc(), system.rhs)
    assert np.abs(inverse @ system.rhs - expected).max() <= 1e-3 * np.abs(expected).max()
    # Above what the box can settle, the envelope decides (and is built).
    monkeypatch.setattr(direct, "ENVELOPE_FLOPS_PER_UNKNOWN", threshold * 1.01)
    with pytest.raises(AssertionError, match="envelope was built"):
        direct.build(system)


def _one_known_pixel_of_each_kind(shape, background, foreground):
    trimap = np.full(shape, 0.5)
    trimap[background] = 0.0
    trimap[foreground] = 1.0
    return trimap


def _direct_solution(method, image, trimap, **options):
    """The method's own system solved by SuperLU in float64, as a full alpha matte."""
    from vecmatte.alpha import get_method

    module = get_method(method).load()
    is_fg, is_bg, _ = trimap_split(trimap)
    system = module.build_system(image, is_fg, is_bg, **options)
    alpha = is_fg.astype(np.float64)
    x = scipy.sparse.linalg.spsolve(system.matrix.tocsc(), system.rhs)
    alpha.ravel()[system.unknown] = np.clip(x, 0, 1)
    return alpha


@pytest.mark.parametrize(
    "case",
    ["lbdm, the image is its trimap", "lbdm soft, 3 x 9", "cf, eps 1e-9", "cf at eps 1e-12, 0/1"],
)
def test_systems_beyond_float32_are_solved_with_a_float64_factor(case):
    """Smallest eigenvalues of 1e-9 to 1e-15 of the largest, which a float32 factor does not
    hold: conjugate gradient broke down at iteration 0-2 (a ConvergenceWarning, an error under
    the suite's filters), or SuperLU raised 'RuntimeError: Factor is exactly singular'."""
    if case == "lbdm, the image is its trimap":
        trimap = vecmatte.make_scene((24, 32), seed=3).trimap
        image, method, options = np.repeat(trimap[..., None], 3, axis=2), "lbdm", {}
    elif case == "lbdm soft, 3 x 9":
        image = np.random.default_rng(0).random((3, 9, 3))
        trimap = _one_known_pixel_of_each_kind((3, 9), (0, 0), (2, 8))
        method, options = "lbdm", {"constraints": "soft"}
    elif case == "cf, eps 1e-9":
        image = np.random.default_rng(1).random((8, 5, 3))
        trimap = _one_known_pixel_of_each_kind((8, 5), (5, 1), (6, 3))
        method, options = "cf", {"eps": 1e-9}
    else:
        scene = vecmatte.make_scene((40, 50), seed=5)
        image, trimap = (scene.image > 0.5).astype(np.float64), scene.trimap
        method, options = "cf", {"eps": 1e-12}
    result = vecmatte.solve_alpha(image, trimap, method=method, **options)
    assert result.converged and result.iterations <= 3
    if case == "lbdm soft, 3 x 9":
        return  # singular and consistent (one window, a 2-d null space): any solution is one
    expected = _direct_solution(method, image, trimap, **options)
    # Agreement to what a condition number of up to 1e12 leaves of a residual of 1e-15.
    np.testing.assert_allclose(result.alpha, expected, atol=2e-3)


def test_a_float64_factor_can_be_asked_for_and_a_non_boolean_is_refused(scene):
    double = vecmatte.solve_alpha(
        scene.image, scene.trimap, preconditioner=("direct", {"single_precision": False})
    )
    single = vecmatte.solve_alpha(scene.image, scene.trimap, preconditioner="direct")
    assert double.converged and double.iterations <= single.iterations
    np.testing.assert_allclose(double.alpha, single.alpha, atol=1e-6)
    with pytest.raises(ValueError, match="single_precision must be True or False, got 0"):
        vecmatte.solve_alpha(
            scene.image, scene.trimap, preconditioner=("direct", {"single_precision": 0})
        )
