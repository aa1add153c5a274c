"""A PIL image reads as the file it came from, or as the file Pillow would write of it."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image

from vecmatte import cutout
from vecmatte.io import SampleRangeWarning, load_image, load_trimap
from vecmatte.trimap import check_trimap

tifffile = pytest.importorskip("tifffile")


def _as_image(pil) -> np.ndarray:
    """The RGB pixels the library reads of ``pil`` as an image argument (cutout keeps them)."""
    return cutout(pil, np.ones(pil.size[::-1]))[:, :, :3]


def test_a_32_bit_pil_image_above_16_bits_reads_as_the_tiff_pillow_writes_of_it(tmp_path):
    # Image.fromarray of int32 levels above 65535 was refused ("give 8-bit or 16-bit
    # levels"), while the TIFF Pillow writes of the same image (32-bit signed samples)
    # loads, divided by 2**31 - 1 as every 32-bit signed file is.
    levels = np.array([[0, 70000, 2**31 - 1], [12345, 2**30, 65536]], dtype=np.int32)
    pil = Image.fromarray(levels)
    assert pil.mode == "I"
    pil.save(tmp_path / "levels.tif")
    expected = levels / (2.0**31 - 1)
    np.testing.assert_array_equal(load_trimap(tmp_path / "levels.tif"), expected)
    np.testing.assert_array_equal(check_trimap(pil), expected)
    np.testing.assert_array_equal(_as_image(pil), load_image(tmp_path / "levels.tif"))


def test_a_32_bit_pil_image_above_16_bits_is_noted_when_nearly_black(tmp_path):
    levels = np.array([[0, 70000], [300, 65536]], dtype=np.int32)
    with pytest.warns(SampleRangeWarning, match=r"trimap: its largest value, 70000, is far"):
        pixels = check_trimap(Image.fromarray(levels))
    np.testing.assert_array_equal(pixels, levels / (2.0**31 - 1))
    with pytest.raises(ValueError, match=r"trimap is a 32-bit PIL image \(mode 'I'\) with values"):
        check_trimap(Image.fromarray(np.array([[-1, 70000]], dtype=np.int32)))


def _unsigned_32(path):
    tifffile.imwrite(path, np.array([[0, 2**31], [2**32 - 1, 12345]], dtype=np.uint32))


def _signed_8(path):
    tifffile.imwrite(path, np.array([[0, 64, 127, 127], [0, 0, 64, 127]], dtype=np.int8))


def _sixteen_bit_of_8_bit_levels(path):
    Image.fromarray(np.array([[0, 128], [255, 128]], dtype=np.uint16)).save(path)


@pytest.mark.parametrize(
    ("write", "suffix", "noted"),
    [(_unsigned_32, ".tif", False), (_signed_8, ".tif", False)]
    + [(_sixteen_bit_of_8_bit_levels, suffix, True) for suffix in (".png", ".tif")],
)
@pytest.mark.parametrize("as_trimap", [True, False])
def test_a_pil_image_opened_from_a_file_reads_as_the_file_does(
    tmp_path, write, suffix, noted, as_trimap
):
    # A PIL image of a file was read by its mode alone: a 32-bit unsigned TIFF using its
    # range (Pillow's "I" wraps 2**31 to negative) was refused, a signed 8-bit TIFF read
    # its bytes unsigned (127 as half bright), and a 16-bit file of 8-bit levels read
    # nearly black without the note the file's own reading gives. The file's tags say how.
    path = tmp_path / f"samples{suffix}"
    write(path)
    read_file = load_trimap if as_trimap else load_image
    read_pil = check_trimap if as_trimap else _as_image
    with warnings.catch_warnings(record=True) as from_file:
        warnings.simplefilter("always")
        expected = read_file(path)
    with warnings.catch_warnings(record=True) as from_pil:
        warnings.simplefilter("always")
        with Image.open(path) as pil:
            pixels = read_pil(pil)
    np.testing.assert_array_equal(pixels, expected)
    said = [[w.category for w in caught] for caught in (from_file, from_pil)]
    assert said == [[SampleRangeWarning] * noted] * 2
    if noted:
        assert str(path) in str(from_pil[0].message)  # the PIL image's file is named
