"""Solver options at their bounds and just outside: refused in one line, before any work."""

from __future__ import annotations

import numpy as np
import pytest

import vecmatte
from vecmatte import ConvergenceWarning
from vecmatte.alpha._pipeline import check_solve_options
from vecmatte.preconditioners import resolve_preconditioner, vcycle
from vecmatte.synthetic import make_scene


@pytest.fixture(scope="module")
def scene():
    return make_scene((40, 50), seed=0)


@pytest.mark.parametrize("omega", [1.0001, 1.5, 1.999999, 1e-300, 0.5 * vcycle.MIN_OMEGA])
def test_an_omega_that_breaks_the_v_cycle_is_refused_in_one_line(omega):
    # Above 1, CG broke down on cf, rw and lbdm at radius 1; at 1e-300 the sweep vanishes.
    with pytest.raises(ValueError, match=r"omega must lie in \[2\.2e-16, 1\]") as caught:
        resolve_preconditioner(("vcycle", {"omega": omega}))
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("omega", [vcycle.MIN_OMEGA, 0.8, vcycle.MAX_OMEGA])
def test_omega_at_its_bounds_solves(scene, omega):
    result = vecmatte.solve_alpha(
        scene.image, scene.trimap, preconditioner=("vcycle", {"omega": omega})
    )
    assert result.converged


def test_a_v_cycle_breakdown_names_omega(scene):
    # Random walks' graph Laplacian: omega 1 is at the edge where the sweep converges.
    with pytest.warns(ConvergenceWarning, match="smaller omega") as caught:
        vecmatte.solve_alpha(
            scene.image, scene.trimap, method="rw", preconditioner=("vcycle", {"omega": 1.0})
        )
    assert "broke down" in str(caught[0].message)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"factor": "bogus"}, "factor must be one of auto, envelope, nested, superlu"),
        ({"factor": ["auto"]}, "factor must be one of"),
        ({"single_precision": 0}, "single_precision must be True or False"),
        ({"single_precision": "true"}, "single_precision must be True or False"),
    ],
)
def test_direct_options_are_refused_before_any_system(options, match):
    with pytest.raises(ValueError, match=match):
        resolve_preconditioner(("direct", options))
    # The command line's check, before any image is read.
    with pytest.raises(ValueError, match=match):
        check_solve_options({"method": "cf", "preconditioner": ("direct", options)})


def test_a_nested_factor_of_knn_is_refused_before_the_searches():
    with pytest.raises(ValueError, match=r"factor 'nested' needs a grid-local system.*'knn'"):
        check_solve_options({"method": "knn", "preconditioner": "direct:factor=nested"})
    scene = make_scene((30, 40), seed=0)
    with pytest.raises(ValueError, match="'knn' couples pixels far apart"):
        vecmatte.solve_alpha(
            scene.image, scene.trimap, method="knn", preconditioner="direct:factor=nested"
        )


@pytest.mark.parametrize("factor", ["auto", "envelope", "nested", "superlu"])
@pytest.mark.parametrize("single_precision", [True, False, np.True_])
def test_every_direct_factor_solves_to_the_same_matte(scene, factor, single_precision):
    options = {"factor": factor, "single_precision": single_precision}
    result = vecmatte.solve_alpha(scene.image, scene.trimap, preconditioner=("direct", options))
    reference = vecmatte.solve_alpha(scene.image, scene.trimap, preconditioner="jacobi", rtol=1e-12)
    assert result.converged
    assert np.abs(result.alpha - reference.alpha).max() < 1e-5


def test_maxiter_one_returns_the_first_iterate_with_a_warning(scene):
    with pytest.warns(ConvergenceWarning, match="stopped after 1 iterations"):
        result = vecmatte.solve_alpha(scene.image, scene.trimap, preconditioner="jacobi", maxiter=1)
    assert result.iterations == 1
    assert np.isfinite(result.alpha).all()


@pytest.mark.parametrize("rtol", [1e-15, np.float32(1e-15), float(np.nextafter(1.0, 0.0))])
def test_rtol_at_its_bounds_solves(scene, rtol):
    assert vecmatte.solve_alpha(scene.image, scene.trimap, rtol=rtol).converged


@pytest.mark.parametrize("rtol", [1.0, 1e-16, 5e-324, float("nan"), -1e-6])
def test_rtol_just_outside_is_refused_in_one_line(scene, rtol):
    with pytest.raises(ValueError, match="rtol must") as caught:
        vecmatte.solve_alpha(scene.image, scene.trimap, rtol=rtol)
    assert "\n" not in str(caught.value)


def test_a_callback_that_raises_stops_the_solve_with_its_own_error(scene):
    def callback(iteration, residual):
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        vecmatte.solve_alpha(scene.image, scene.trimap, preconditioner="jacobi", callback=callback)


def test_the_memory_estimate_refuses_a_nested_factor_of_knn_as_the_solve_does():
    from vecmatte.memory import estimate_solve_memory

    with pytest.raises(ValueError, match="factor 'nested' needs a grid-local system"):
        estimate_solve_memory(
            (300, 400), 10_000, method="knn", preconditioner="direct:factor=nested"
        )
