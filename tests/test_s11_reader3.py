"""Session 11, diff reader 3: run_method(checked=True) refuses arrays that are not what
check_image and check_trimap return, in one line, instead of solving them as if checked."""

import numpy as np
import pytest

import vecmatte
from vecmatte.alpha import run_method


def _scene():
    return vecmatte.make_scene((40, 48), seed=1)


@pytest.mark.parametrize(
    "kind",
    ["uint8 image", "uint8 trimap", "gray image", "turned trimap", "list image"],
)
def test_checked_refuses_unchecked_arrays(kind):
    # Before: a uint8 image or trimap and a gray image were solved (a wrong matte, or
    # "no unknown pixels"), a turned trimap failed deep in NumPy broadcasting.
    scene = _scene()
    image, trimap = scene.image, scene.trimap
    if kind == "uint8 image":
        image = (image * 255).astype(np.uint8)
    elif kind == "uint8 trimap":
        trimap = (trimap * 255).astype(np.uint8)
    elif kind == "gray image":
        image = image[:, :, 0].copy()
    elif kind == "turned trimap":
        trimap = trimap.T.copy()
    else:
        image = image.tolist()
    with pytest.raises(ValueError, match=r"^run_method\(checked=True\) takes") as caught:
        run_method(image, trimap, method="cf", checked=True)
    assert "\n" not in str(caught.value)


def test_checked_gives_the_checked_matte():
    scene = _scene()
    image = vecmatte._arrays.check_image(scene.image)
    trimap = vecmatte.trimap.check_trimap(scene.trimap, image.shape)
    fast = run_method(image, trimap, method="cf", checked=True)
    full = run_method(scene.image, scene.trimap, method="cf")
    assert np.array_equal(fast.alpha, full.alpha)
