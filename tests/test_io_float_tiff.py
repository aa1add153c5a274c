"""One-channel float64 and float16 TIFF, which Pillow cannot open, read with tifffile.

numpy's floats are float64, so ``skimage.io.imsave("alpha.tif", alpha)`` or
``tifffile.imwrite`` of a matte, trimap or mask writes a float64 TIFF: it was refused as 'a
TIFF file of a layout Pillow cannot read (such as 16-bit gray with an alpha channel)', a gray
float file the README says is read. It now reads as Pillow's float32 TIFF does: values in
[0, 1], NaN or values outside refused in one line naming the file.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import tifffile

from vecmatte.io import ExtraFramesWarning, ImageTooLargeError, load_image, load_trimap

LEVELS = np.tile(np.array([0.0, 0.5, 1.0, 0.25, 0.75]), (4, 2))


@pytest.mark.parametrize("dtype", [np.float64, np.float16])
def test_a_float_tiff_reads_as_its_values(tmp_path, dtype):
    # Fails on the old code (refused).
    tifffile.imwrite(tmp_path / "map.tif", LEVELS.astype(dtype))
    np.testing.assert_array_equal(load_trimap(tmp_path / "map.tif"), LEVELS)
    np.testing.assert_array_equal(load_image(tmp_path / "map.tif"), np.dstack([LEVELS] * 3))
    stream = io.BytesIO((tmp_path / "map.tif").read_bytes())
    np.testing.assert_array_equal(load_trimap(stream), LEVELS)


def test_a_float64_alpha_saved_by_scikit_image_reads_back(tmp_path, rng):
    from skimage import io as skimage_io

    alpha = rng.random((9, 11))
    skimage_io.imsave(tmp_path / "alpha.tif", alpha, check_contrast=False)
    # float32's rounding, far below a 16-bit level
    np.testing.assert_allclose(load_trimap(tmp_path / "alpha.tif"), alpha, rtol=0, atol=6e-8)


def test_a_float_tiff_is_turned_by_its_orientation_and_its_pages_are_noted(tmp_path):
    tifffile.imwrite(tmp_path / "turned.tif", LEVELS, extratags=[(274, 3, 1, 6, True)])
    np.testing.assert_array_equal(load_trimap(tmp_path / "turned.tif"), np.rot90(LEVELS, -1))
    tifffile.imwrite(tmp_path / "pages.tif", np.stack([LEVELS, 1 - LEVELS]))
    with pytest.warns(ExtraFramesWarning, match=r"pages\.tif: the file holds 2 pages"):
        np.testing.assert_array_equal(load_trimap(tmp_path / "pages.tif"), LEVELS)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (np.where(LEVELS > 0.9, np.nan, LEVELS), r"bad\.tif: float image contains NaN"),
        (LEVELS * 2, r"bad\.tif: float image has values in \[0, 2\]"),
        (np.dstack([LEVELS] * 3), r"bad\.tif: a TIFF file of a layout Pillow cannot read"),
    ],
)
def test_a_float_tiff_pillow_would_refuse_is_refused_in_one_line(tmp_path, values, message):
    tifffile.imwrite(tmp_path / "bad.tif", values, photometric="rgb" if values.ndim == 3 else None)
    with pytest.raises(ValueError, match=message) as caught:
        load_trimap(tmp_path / "bad.tif")
    assert "\n" not in str(caught.value)


def test_a_float_tiff_over_the_pixel_limit_is_refused_with_its_size(tmp_path):
    tifffile.imwrite(tmp_path / "big.tif", np.zeros((30, 40)))
    with pytest.raises(ImageTooLargeError, match=r"big\.tif: image has 1,200 pixels") as caught:
        load_trimap(tmp_path / "big.tif", max_pixels=1000)
    assert caught.value.__suppress_context__


def test_the_size_of_a_float_tiff_is_read_as_the_batch_reads_it(tmp_path):
    # A batch sizes each image with image_size before its solve: 'cannot read image header'
    # for a file load_image reads.
    from vecmatte.io import image_size

    tifffile.imwrite(tmp_path / "map.tif", LEVELS)
    assert image_size(tmp_path / "map.tif") == LEVELS.shape
    (tmp_path / "not.tif").write_bytes(b"II*\x00" + bytes(30))
    with pytest.raises(ValueError, match=r"not\.tif: cannot read image header"):
        image_size(tmp_path / "not.tif")
