"""NumPy masked arrays as inputs: refused while they hide values, taken as they are otherwise.

Before: ``np.asarray`` dropped the mask, and the hidden values under it were matted
silently (a trimap masked where it is unreliable gave the matte of the values beneath).
"""

from __future__ import annotations

import numpy as np
import pytest

from vecmatte import composite, estimate_alpha, estimate_foreground, make_scene, trimap_split


@pytest.fixture(scope="module")
def scene():
    return make_scene((30, 40), seed=0)


def _masked(array: np.ndarray, where: np.ndarray) -> np.ma.MaskedArray:
    return np.ma.masked_array(array, mask=np.broadcast_to(where, array.shape))


@pytest.mark.parametrize("argument", ["image", "trimap"])
def test_a_masked_input_with_masked_values_is_refused_in_one_line(scene, argument):
    arrays = {"image": scene.image, "trimap": scene.trimap}
    where = np.zeros(scene.trimap.shape, dtype=bool)
    where[2:4, 5] = True  # two pixels: 6 values of an RGB image, 2 of a trimap
    if argument == "image":
        where = where[:, :, None]
    count = 6 if argument == "image" else 2
    with pytest.raises(ValueError) as caught:
        estimate_alpha(**{**arrays, argument: _masked(arrays[argument], where)})
    assert str(caught.value) == (
        f"{argument} is a masked array with {count} masked values; fill it first "
        f"({argument}.filled(value))"
    )


def test_other_arguments_are_refused_too(scene):
    hidden = np.ma.masked_greater(scene.alpha, 0.5)
    with pytest.raises(ValueError, match=r"^trimap is a masked array with \d+ masked values"):
        trimap_split(np.ma.masked_less(scene.trimap, 0.1))
    with pytest.raises(ValueError, match=r"^alpha is a masked array with \d+ masked values"):
        estimate_foreground(scene.image, hidden)
    with pytest.raises(ValueError, match=r"^alpha is a masked array with \d+ masked values"):
        composite(scene.image, hidden, scene.background)


@pytest.mark.parametrize("mask", [np.ma.nomask, False])
def test_a_masked_array_hiding_nothing_gives_the_same_matte(scene, mask):
    expected = estimate_alpha(scene.image, scene.trimap)
    image = np.ma.masked_array(scene.image, mask=mask)
    trimap = np.ma.masked_array(scene.trimap, mask=mask)
    np.testing.assert_array_equal(estimate_alpha(image, trimap), expected)
