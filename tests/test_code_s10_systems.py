"""vecmatte.systems reads its masks as the Laplacians read known= (session 10)."""

from __future__ import annotations

import numpy as np
import pytest

from vecmatte.laplacians.closed_form import matting_laplacian
from vecmatte.systems import hard_constraint_system, soft_constraint_system


def _case():
    image = np.random.default_rng(0).random((6, 7, 3))
    trimap = np.full((6, 7), 0.5)
    trimap[:, :2] = 1.0
    trimap[:, 5:] = 0.0
    return matting_laplacian(image), trimap


@pytest.mark.parametrize("build", [hard_constraint_system, soft_constraint_system])
def test_a_trimap_given_as_a_mask_is_refused(build):
    # Its 0.5 was read as True: every unknown pixel fixed to 1 (an empty hard system).
    laplacian, trimap = _case()
    with pytest.raises(ValueError, match=r"^is_fg must be a boolean mask .* other than 0 and 1$"):
        build(laplacian, trimap, trimap == 0)
    # Booleans, and 0/1 numbers, as before.
    system = build(laplacian, (trimap == 1).astype(np.uint8), trimap == 0)
    reference = build(laplacian, trimap == 1, trimap == 0)
    assert np.array_equal(system.rhs, reference.rhs)
    assert (
        system.matrix.shape
        == reference.matrix.shape
        == ((18, 18) if build is hard_constraint_system else (42, 42))
    )


@pytest.mark.parametrize("build", [hard_constraint_system, soft_constraint_system])
def test_masks_of_another_size_than_the_laplacian_are_named(build):
    # Were SciPy's "dimension mismatch with signature ..." / "inconsistent shapes".
    laplacian, trimap = _case()
    message = r"^laplacian has shape \(42, 42\) but the masks have 35 pixels \(shape \(5, 7\)\)"
    with pytest.raises(ValueError, match=message):
        build(laplacian, trimap[:5] == 1, trimap[:5] == 0)
    with pytest.raises(ValueError, match=r"^is_bg has shape \(5, 7\)"):
        build(laplacian, trimap == 1, trimap[:5] == 0)


@pytest.mark.parametrize(("lam", "shown"), [("x", "got 'x'"), (True, "not True")])
def test_soft_constraint_lam_is_named(lam, shown):
    # "could not convert string to float: 'x'" named no option; True ran as lam 1.
    laplacian, trimap = _case()
    with pytest.raises(ValueError, match=rf"^lam must be a positive finite number, {shown}$"):
        soft_constraint_system(laplacian, trimap == 1, trimap == 0, lam=lam)
