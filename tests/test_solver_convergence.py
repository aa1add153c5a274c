"""A solve that stops short: what it returns, and a warning that says what to change."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import vecmatte
from vecmatte import ConvergenceWarning, estimate_alpha, solve_alpha
from vecmatte._errors import collected_warnings
from vecmatte.alpha import METHODS
from vecmatte.linalg.cg import SolveResult

SYSTEM_METHODS = [name for name, spec in METHODS.items() if spec.preconditioner is not None]


@pytest.fixture(scope="module")
def scene():
    return vecmatte.make_scene((30, 40), seed=1)


@pytest.mark.parametrize("method", SYSTEM_METHODS)
def test_a_solve_stopped_at_maxiter_names_method_residual_and_the_way_out(method, scene):
    with pytest.warns(ConvergenceWarning) as record:
        result = solve_alpha(scene.image, scene.trimap, method=method, maxiter=1)
    assert len(record) == 1 and record[0].filename == __file__
    message = str(record[0].message)
    preconditioner = METHODS[method].preconditioner
    # The message named neither the method nor the preconditioner, and told every method
    # to "leave the preconditioner at the method's default (closed-form's 'direct' ...)",
    # which a knn solve at its default 'jacobi' had done already.
    assert f"method '{method}' (preconditioner '{preconditioner}')" in message
    assert "Raise maxiter above 1" in message
    assert "closed-form" not in message
    reported = float(re.search(r"residual ([0-9.eE+-]+)", message).group(1))
    assert reported == pytest.approx(result.residual, rel=1e-2)
    # The matte is still returned, complete and in range: the warning is what says it is rough.
    assert not result.converged and result.iterations == 1
    assert result.alpha.shape == scene.trimap.shape
    assert np.all((result.alpha >= 0) & (result.alpha <= 1))


def test_the_way_out_is_a_preconditioner_the_method_can_take(scene):
    with pytest.warns(ConvergenceWarning, match=r"use the preconditioner 'direct' \(a compl"):
        estimate_alpha(scene.image, scene.trimap, method="knn", maxiter=1)
    with pytest.warns(ConvergenceWarning, match=r"use the preconditioner 'ichol'"):
        estimate_alpha(scene.image, scene.trimap, method="ifm", preconditioner="jacobi", maxiter=1)
    with pytest.warns(ConvergenceWarning, match=r"default 'direct' \(two or three"):
        estimate_alpha(scene.image, scene.trimap, method="cf", preconditioner="none", maxiter=1)
    with pytest.warns(ConvergenceWarning) as record:
        estimate_alpha(scene.image, scene.trimap, method="lkm", maxiter=1)
    assert str(record[0].message).endswith("Raise maxiter above 1.")


def test_a_tight_rtol_is_named_as_a_way_out(scene):
    with pytest.warns(ConvergenceWarning, match=r"larger rtol than 1e-14 \(the default is 1e-06"):
        estimate_alpha(scene.image, scene.trimap, method="rw", rtol=1e-14, maxiter=5)


def test_a_breakdown_names_what_to_change():
    from vecmatte.alpha._pipeline import _convergence_advice

    broken = SolveResult(np.zeros(3), 0, 1.0, False, True)
    assert "'jacobi'" in _convergence_advice("cf", "direct", broken, 1e-6, 30)
    assert "not positive definite" in _convergence_advice("knn", "jacobi", broken, 1e-6, 30)


def test_solves_in_threads_equal_serial_ones_and_keep_their_own_warnings(scene):
    jobs = [(method, maxiter) for method in SYSTEM_METHODS for maxiter in (None, 1)] + [
        ("sm", None)
    ]

    def run(job):
        method, maxiter = job
        keywords = {} if maxiter is None else {"maxiter": maxiter}
        with collected_warnings() as caught:
            alpha = estimate_alpha(scene.image, scene.trimap, method=method, **keywords)
        return alpha, [str(warning.message) for warning in caught]

    serial = [run(job) for job in jobs]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(run, jobs * 2))
    for (method, maxiter), (alpha, notes), (same_alpha, same_notes) in zip(
        jobs * 2, serial * 2, threaded, strict=True
    ):
        np.testing.assert_array_equal(same_alpha, alpha)
        assert same_notes == notes
        assert len(notes) == (maxiter is not None)
        assert all(f"method '{method}'" in note for note in notes)


@pytest.mark.parametrize("method", ["cf", "knn", "ifm"])
def test_ctrl_c_during_conjugate_gradient_leaves_no_half_state(method, scene):
    # KeyboardInterrupt arrives between two iterations (here from the callback): it goes
    # through unchanged, the BLAS thread limit is lifted, and the next solve is as if none
    # had been interrupted.
    from vecmatte import _blas

    def interrupt(iteration, residual):
        if iteration == 2:
            raise KeyboardInterrupt

    before = estimate_alpha(scene.image, scene.trimap, method=method, preconditioner="jacobi")
    with pytest.raises(KeyboardInterrupt):
        estimate_alpha(
            scene.image, scene.trimap, method=method, preconditioner="jacobi", callback=interrupt
        )
    assert _blas._depth == 0
    after = estimate_alpha(scene.image, scene.trimap, method=method, preconditioner="jacobi")
    np.testing.assert_array_equal(after, before)
