"""Formats whose header or encoder takes only so many pixels a side: refused in one line
naming the file, before anything is written. Before: OverflowError 'int too big to convert'
(GIF, TGA, PCX), struct.error (SGI), RuntimeError 'Failed to encode image: Invalid argument'
(AVIF), ValueError 'encoding error 5' (WebP), or libjpeg's own stderr line and OSError
'broken data stream when writing image file' (JPEG), none naming the file."""

import warnings

import numpy as np
import pytest
from PIL import features

from vecmatte.io import load_image, save_image

_LIMITS = [
    ("jpg", 65500),
    ("webp", 16383),
    ("gif", 65535),
    ("tga", 65535),
    ("sgi", 65535),
    ("pcx", 65534),
]
with warnings.catch_warnings():  # Pillow before 11.2 warns "Unknown feature 'avif'"
    warnings.simplefilter("ignore", UserWarning)
    if features.check("avif"):
        _LIMITS.append(("avif", 65536))


@pytest.mark.parametrize(("extension", "largest"), _LIMITS)
def test_a_side_beyond_the_format_is_refused_in_one_line(tmp_path, extension, largest):
    path = tmp_path / f"wide.{extension}"
    with pytest.raises(ValueError) as caught:
        save_image(path, np.zeros((1, largest + 1, 3)))
    assert str(caught.value) == (
        f"{path}: a {'JPEG' if extension == 'jpg' else extension.upper()} file holds at most "
        f"{largest} pixels a side, the image is 1 x {largest + 1} (height x width); save it "
        "as .png or .tif"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("extension", "largest"), [("gif", 65535), ("pcx", 65534), ("jpg", 65500)])
def test_the_largest_side_is_written(tmp_path, extension, largest):
    path = tmp_path / f"wide.{extension}"
    save_image(path, np.zeros((1, largest, 3)))
    assert load_image(path).shape == (1, largest, 3)


def test_the_height_counts_too(tmp_path):
    with pytest.raises(ValueError, match=r"holds at most 16383 pixels a side.*16384 x 1"):
        save_image(tmp_path / "tall.webp", np.zeros((16384, 1)))
