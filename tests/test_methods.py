"""Every registered alpha method on a synthetic scene with known alpha: one line per method.

A new method is registered in ``vecmatte/alpha/_registry.py``; this test then runs it and fails
until its error bound is recorded in ``MEAN_ERROR_BOUND`` below (measure it, round up by
about 1.5x, add the line).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import vecmatte
from vecmatte.alpha import METHODS

# Mean absolute error of alpha on the unknown pixels of make_scene((48, 60), seed=3), with the
# method's defaults. Measured values in the comments (commit 7030160 and later); the scene
# follows the colour-line model, which closed-form, large-kernel and learning-based matting
# reproduce exactly.
MEAN_ERROR_BOUND = {
    "cf": 1e-4,  # 7.0e-6
    "sm": 0.02,  # 0.0127
    "knn": 0.07,  # 0.0473 (hard constraints)
    "lkm": 1e-4,  # 2.5e-7
    "lbdm": 1e-4,  # 1.5e-6
    "rw": 0.07,  # 0.0431 (hard constraints, min_weight 1e-4, Jacobi)
    "ifm": 0.001,  # 6.9e-4
}


@pytest.fixture(scope="module")
def scene() -> vecmatte.Scene:
    return vecmatte.make_scene((48, 60), seed=3)


@pytest.mark.parametrize("name", list(METHODS))
def test_method_on_a_synthetic_scene(name, scene):
    if name not in MEAN_ERROR_BOUND:
        pytest.fail(
            f"alpha method {name!r} has no recorded error bound: measure its mean absolute "
            f"error on the unknown pixels and add a line {name!r}: <bound> to MEAN_ERROR_BOUND "
            "in tests/test_methods.py"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning, no slow-radius warning
        alpha = vecmatte.estimate_alpha(scene.image, scene.trimap, method=name)
    assert alpha.shape == scene.trimap.shape and alpha.dtype == np.float64
    assert np.all(np.isfinite(alpha))
    assert alpha.min() >= 0.0 and alpha.max() <= 1.0
    fg, bg = scene.trimap > 0.9, scene.trimap < 0.1
    assert np.all(alpha[fg] == 1.0) and np.all(alpha[bg] == 0.0)
    unknown = ~(fg | bg)
    error = float(np.abs(alpha - scene.alpha)[unknown].mean())
    assert error <= MEAN_ERROR_BOUND[name], f"{name}: mean abs error {error:.3g}"


@pytest.mark.parametrize("name", list(METHODS))
def test_method_spec_is_complete(name):
    spec = METHODS[name]
    assert spec.summary and spec.module.startswith("vecmatte.alpha.")
    module = spec.load()
    assert hasattr(module, "build_system") != hasattr(module, "estimate"), (
        f"{spec.module} must define exactly one of build_system and estimate"
    )
    # A method solved as a system names its default preconditioner; an estimate names none.
    assert (spec.preconditioner is None) == hasattr(module, "estimate")
    if spec.preconditioner is not None:
        assert spec.preconditioner in vecmatte.PRECONDITIONERS
