"""Files with an orientation read as they are displayed, whatever their layout.

Pillow turns a TIFF by its orientation as it loads it, and drops the tag. Two readings went
wrong with it: an uncompressed TIFF turned sideways (orientations 5-8) came scrambled in the
modes Pillow memory-maps (its map takes the turned size for the stored one), and a 16-bit
colour TIFF, read by tifffile, was not turned at all (the tag was gone when it was asked).
The references are the stored pixels turned with NumPy, as the EXIF orientation says.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import tifffile
from PIL import Image

from vecmatte.io import load_image, load_trimap

# What each EXIF orientation asks of the stored pixels to show them upright.
TURNS = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: np.swapaxes(a, 0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.swapaxes(a[::-1, ::-1], 0, 1),
    8: lambda a: np.rot90(a, 1),
}


def _levels(h: int = 6, w: int = 10) -> np.ndarray:
    """A map of trimap levels with no symmetry: every turn of it is told apart."""
    levels = np.zeros((h, w), np.uint8)
    levels[:, w // 3 :] = 128
    levels[:, 2 * w // 3 :] = 255
    levels[0, 0], levels[h - 1, 1] = 255, 128
    return levels


def _tiff(path, image: Image.Image, orientation: int) -> None:
    exif = Image.Exif()
    exif[274] = orientation
    image.save(path, "TIFF", exif=exif)  # uncompressed


@pytest.mark.parametrize("orientation", [5, 6, 7, 8, 3])
@pytest.mark.parametrize("mode", ["L", "P", "I;16", "RGBA"])
def test_an_uncompressed_tiff_turned_sideways_reads_upright(tmp_path, mode, orientation):
    # Fails on the old code for 5-8 in every mode here (scrambled pixels, and for 'L'
    # even the unturned shape with its values out of place).
    levels = _levels()
    if mode == "I;16":
        image, expected = Image.fromarray(levels.astype(np.uint16) * 257), levels
    elif mode == "RGBA":
        rgba = np.dstack([levels, levels, levels, np.full_like(levels, 255)])
        image, expected = Image.fromarray(rgba), levels
    else:
        image, expected = Image.fromarray(levels).convert(mode), levels
    path = tmp_path / "turned.tif"
    _tiff(path, image, orientation)
    upright = TURNS[orientation](expected) / 255.0
    np.testing.assert_array_equal(load_trimap(path), upright)
    np.testing.assert_array_equal(load_image(path)[:, :, 1], upright)
    # A stream of the same bytes, which Pillow never mapped, reads alike.
    np.testing.assert_array_equal(load_trimap(io.BytesIO(path.read_bytes())), upright)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_a_16bit_colour_tiff_with_an_orientation_reads_upright(tmp_path, orientation):
    # Fails on the old code: tifffile's samples were not turned (orientation read as 1).
    rng = np.random.default_rng(orientation)
    samples = rng.integers(0, 65536, (5, 9, 3), dtype=np.uint16)
    path = tmp_path / "wide.tif"
    tifffile.imwrite(path, samples, photometric="rgb", extratags=[(274, 3, 1, orientation, True)])
    np.testing.assert_array_equal(load_image(path), TURNS[orientation](samples) / 65535.0)
