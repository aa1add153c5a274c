"""'twolevel' is offered and taken only where it can make its coarse level.

Large-kernel matting's systems are matrix-free without a Galerkin product, so the coarse
term would be left out and 'twolevel' would silently be Jacobi: it is refused in one line
naming what works, before the system is built, as 'direct' and 'ichol' are. Every method
with an explicit matrix (or, as ifm, a Galerkin product) takes it and solves the same
system as a direct sparse solve.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg

import vecmatte
from vecmatte.alpha import METHODS
from vecmatte.alpha._registry import resolve_method_preconditioner

SCENE = vecmatte.make_scene((30, 36), seed=4)


def test_lkm_refuses_twolevel_in_one_line():
    with pytest.raises(ValueError) as info:
        vecmatte.estimate_alpha(SCENE.image, SCENE.trimap, method="lkm", preconditioner="twolevel")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("preconditioner 'twolevel' needs a coarse level")
    assert message.endswith("alpha method 'lkm' do not have; use 'jacobi'")


def test_the_refusal_of_another_preconditioner_does_not_offer_twolevel_to_lkm():
    with pytest.raises(ValueError, match=r"'lkm' do not have; use 'jacobi'$"):
        resolve_method_preconditioner("lkm", "direct")


@pytest.mark.parametrize("method", ["cf", "knn", "lbdm", "rw"])
def test_methods_with_a_matrix_take_twolevel_and_solve_their_system(method):
    module = METHODS[method].load()
    is_fg, is_bg = SCENE.trimap > 0.9, SCENE.trimap < 0.1
    system = module.build_system(SCENE.image, is_fg, is_bg)
    exact = scipy.sparse.linalg.spsolve(scipy.sparse.csr_matrix(system.matrix), system.rhs)
    alpha = vecmatte.estimate_alpha(
        SCENE.image, SCENE.trimap, method=method, preconditioner="twolevel", rtol=1e-10
    )
    got = alpha.ravel()[system.unknown]
    np.testing.assert_allclose(got, np.clip(exact, 0, 1), atol=1e-6)


def test_ifm_takes_twolevel_through_its_galerkin_product():
    name, _ = resolve_method_preconditioner("ifm", None)
    assert name == "twolevel"
    assert METHODS["ifm"].takes("twolevel")
