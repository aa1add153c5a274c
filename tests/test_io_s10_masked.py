"""Masked arrays given to the writers and as a Laplacian's ``known`` mask: refused while
they hide values (``np.asarray`` dropped the mask: the hidden values were written, or the
masked pixels read as known), as every other array entry point refuses them."""

import numpy as np
import pytest

from vecmatte import matting_laplacian
from vecmatte.io import floats_to_uint8, floats_to_uint16, load_image, save_image

_MESSAGE = (
    r"^array is a masked array with 4 masked values; fill it first \(array.filled\(value\)\)$"
)


def _masked(values: np.ndarray) -> np.ma.MaskedArray:
    return np.ma.masked_array(values, mask=np.eye(4, dtype=bool))


@pytest.mark.parametrize(
    "values",
    [np.full((4, 4), 0.5), np.full((4, 4), 128, np.uint8), np.ones((4, 4), bool)],
    ids=["float", "uint8", "bool"],
)
def test_save_image_refuses_a_masked_array_and_writes_nothing(tmp_path, values):
    path = tmp_path / "alpha.png"
    with pytest.raises(ValueError, match=_MESSAGE):
        save_image(path, _masked(values))
    assert not path.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("convert", [floats_to_uint8, floats_to_uint16])
def test_the_level_converters_refuse_a_masked_array(convert):
    with pytest.raises(ValueError, match=_MESSAGE):
        convert(_masked(np.full((4, 4), 0.5)))


def test_a_masked_array_without_masked_values_is_written_as_its_values(tmp_path):
    values = np.linspace(0, 1, 16).reshape(4, 4)
    save_image(tmp_path / "a.png", np.ma.masked_array(values))
    save_image(tmp_path / "b.png", values)
    assert np.array_equal(load_image(tmp_path / "a.png"), load_image(tmp_path / "b.png"))


def test_a_masked_known_mask_is_refused():
    image = np.random.default_rng(0).random((4, 4, 3))
    known = np.ma.masked_array(np.zeros((4, 4), bool), mask=np.eye(4, dtype=bool))
    with pytest.raises(ValueError, match=r"^known is a masked array with 4 masked values"):
        matting_laplacian(image, known=known)
    expected = matting_laplacian(image, known=np.zeros((4, 4), bool))
    unmasked = matting_laplacian(image, known=np.ma.masked_array(np.zeros((4, 4), bool)))
    assert (expected != unmasked).nnz == 0
