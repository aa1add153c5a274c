"""A gray or RGB PNG naming one colour transparent (tRNS) is noted as a palette one is.

The note comes, as for an alpha channel, only when some pixels are not opaque: here, when
the transparent colour is among the pixels. The values read stay those stored.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image

import vecmatte
from vecmatte.io import AlphaChannelIgnoredWarning, load_gray


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def raw_png(rows: np.ndarray, bits: int, colour_type: int, key: bytes | None) -> bytes:
    """A PNG written by hand: ``rows`` already packed (uint8, one row a line), filter 0."""
    height = rows.shape[0]
    width = {0: rows.shape[1] * 8 // bits, 2: rows.shape[1] * 8 // (3 * bits)}[colour_type]
    header = struct.pack(">IIBBBBB", width, height, bits, colour_type, 0, 0, 0)
    data = b"".join(b"\0" + row.tobytes() for row in rows)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + (_chunk(b"tRNS", key) if key is not None else b"")
        + _chunk(b"IDAT", zlib.compress(data))
        + _chunk(b"IEND", b"")
    )


def pillow_png(array: np.ndarray, transparency) -> io.BytesIO:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", transparency=transparency)
    buffer.seek(0)
    return buffer


@pytest.fixture
def gray() -> np.ndarray:
    array = np.zeros((8, 10), np.uint8)
    array[:2, :5] = 200  # 10 of 80 pixels: 12.5%
    array[4:, :] = 255
    return array


def test_a_gray_png_whose_transparent_colour_is_used_is_noted(gray):
    # Palette files with tRNS were noted; gray ones (Pillow's info['transparency']) were not.
    with pytest.warns(AlphaChannelIgnoredWarning, match=r"a transparent colour .*12\.5% of"):
        image = vecmatte.load_image(pillow_png(gray, 200))
    np.testing.assert_array_equal(image, np.repeat(gray[:, :, None], 3, axis=2) / 255.0)


def test_an_rgb_png_whose_transparent_colour_is_used_is_noted(gray):
    rgb = np.stack([gray, gray, gray // 2], axis=2)
    with pytest.warns(AlphaChannelIgnoredWarning, match=r"12\.5% of its pixels not opaque"):
        image = vecmatte.load_image(pillow_png(rgb, (200, 200, 100)))
    np.testing.assert_array_equal(image, rgb / 255.0)


@pytest.mark.parametrize("key", [(200, 200, 200), (0, 0, 1), 7])
def test_a_transparent_colour_no_pixel_has_is_not_noted(gray, key):
    # Like an opaque alpha channel: nothing is transparent, nothing to say. (200, 200, 200)
    # matches two channels of the corner only.
    rgb = np.stack([gray, gray, gray // 2], axis=2)
    array = gray if isinstance(key, int) else rgb
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert vecmatte.load_image(pillow_png(array, key)).shape == (8, 10, 3)


def test_a_16_bit_gray_png_compares_its_16_bit_key(gray):
    wide = gray.astype(np.uint16) * 257
    with pytest.warns(AlphaChannelIgnoredWarning, match=r"12\.5%"):
        image = vecmatte.load_image(pillow_png(wide, 200 * 257))
    np.testing.assert_array_equal(image[:, :, 0], wide / 65535.0)


def test_a_16_bit_rgb_png_compares_its_16_bit_key(gray):
    wide = np.stack([gray, gray, gray], axis=2).astype(">u2") * 257
    key = struct.pack(">HHH", 200 * 257, 200 * 257, 200 * 257)
    rows = wide.reshape(8, -1).view(np.uint8)
    data = io.BytesIO(raw_png(rows, 16, 2, key))
    with pytest.warns(AlphaChannelIgnoredWarning, match=r"12\.5%"):
        image = vecmatte.load_image(data)
    np.testing.assert_array_equal(image, wide / 65535.0)


def test_a_2_bit_gray_png_scales_its_key_as_its_pixels():
    # Pillow gives the key unscaled (2 for the level read as 170), and its own conversion to
    # RGBA leaves every pixel opaque.
    levels = np.array([[0, 1, 2, 3]] * 2, np.uint8)
    packed = (
        (levels[:, 0::4] << 6) | (levels[:, 1::4] << 4) | (levels[:, 2::4] << 2) | levels[:, 3::4]
    )
    data = io.BytesIO(raw_png(packed, 2, 0, struct.pack(">H", 2)))
    with pytest.warns(AlphaChannelIgnoredWarning, match=r"25\.0%"):
        image = vecmatte.load_image(data)
    np.testing.assert_array_equal(image[0, :, 0], [0.0, 85 / 255, 170 / 255, 1.0])


def test_a_trimap_with_a_used_transparent_colour_keeps_its_gray_values(gray):
    trimap = np.where(gray == 200, 128, gray).astype(np.uint8)
    with pytest.warns(AlphaChannelIgnoredWarning, match=r"gray values are the trimap$"):
        read = vecmatte.load_trimap(pillow_png(trimap, 128))
    np.testing.assert_array_equal(read, trimap / 255.0)
    with pytest.warns(AlphaChannelIgnoredWarning, match=r"gray values are the alpha"):
        load_gray(pillow_png(trimap, 128), name="alpha")
