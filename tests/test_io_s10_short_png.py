"""A PNG whose compressed pixel data ends cleanly before its last row is refused.

Pillow decodes such a file without an error (zlib reports a clean end) and leaves the rows
after it black: a cut-short or badly written trimap read as background at its bottom, a
photograph matted with black rows. The files here are written by hand (each chunk's CRC
right, the zlib stream complete), plain and Adam7-interlaced.
"""

import io
import struct
import zlib

import numpy as np
import pytest

from vecmatte.io import is_complete_image, load_image, load_trimap

# Adam7 passes: first row, first column, row step, column step.
_PASSES = (
    (0, 0, 8, 8),
    (0, 4, 8, 8),
    (4, 0, 8, 4),
    (0, 2, 4, 4),
    (2, 0, 4, 2),
    (0, 1, 2, 2),
    (1, 0, 2, 1),
)
_COLOUR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}  # gray, gray+alpha, RGB, RGBA by channel count


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _png(pixels: np.ndarray, *, interlaced: bool = False, keep: float = 1.0) -> bytes:
    """An 8-bit PNG of ``pixels`` (h, w, c) whose data stops after ``keep`` of its scanlines.

    (Cut within a scanline, Pillow says "image file is truncated"; at a scanline's end it
    said nothing.)
    """
    height, width, channels = pixels.shape
    passes = _PASSES if interlaced else ((0, 0, 1, 1),)
    rows = []
    for row0, col0, row_step, col_step in passes:
        part = pixels[row0::row_step, col0::col_step]
        if part.shape[1]:
            rows += [b"\0" + line.tobytes() for line in part]
    raw = b"".join(rows[: int(len(rows) * keep)])
    header = struct.pack(
        ">IIBBBBB", width, height, 8, _COLOUR_TYPE[channels], 0, 0, int(interlaced)
    )
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw))
        + _chunk(b"IEND", b"")
    )


def _photo(channels: int, shape=(23, 17)) -> np.ndarray:
    return np.random.default_rng(channels).integers(1, 256, (*shape, channels), dtype=np.uint8)


@pytest.mark.parametrize("interlaced", [False, True], ids=["plain", "interlaced"])
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("keep", [0.5, 0.99])
def test_pixel_data_ending_early_is_refused(tmp_path, channels, interlaced, keep):
    path = tmp_path / "photo.png"
    path.write_bytes(_png(_photo(channels), interlaced=interlaced, keep=keep))
    with pytest.raises(ValueError, match=r"photo.png: .*truncated.*ends before its last row"):
        load_image(path)
    assert not is_complete_image(path)


@pytest.mark.parametrize("interlaced", [False, True], ids=["plain", "interlaced"])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_complete_files_read_as_written(tmp_path, channels, interlaced):
    pixels = _photo(channels)
    path = tmp_path / "photo.png"
    path.write_bytes(_png(pixels, interlaced=interlaced))
    colours = pixels[:, :, :3] if channels != 1 else np.repeat(pixels, 3, axis=2)
    if channels == 4:
        pixels[:, :, 3] = 255  # opaque: no note of an ignored alpha channel
        path.write_bytes(_png(pixels, interlaced=interlaced))
    assert np.array_equal(load_image(path), colours / 255.0)
    assert is_complete_image(path)


@pytest.mark.parametrize("interlaced", [False, True], ids=["plain", "interlaced"])
@pytest.mark.parametrize("value", [0x5A, 0xA5, 0])
def test_a_last_row_of_the_fill_colour_is_no_false_alarm(tmp_path, interlaced, value):
    # A trimap of one gray level, the value vecmatte fills a gray PNG with before decoding.
    levels = np.zeros((12, 9, 1), np.uint8)
    levels[:6] = 255
    levels[6:] = value
    path = tmp_path / "trimap.png"
    path.write_bytes(_png(levels, interlaced=interlaced))
    assert np.array_equal(load_trimap(path), levels[:, :, 0] / 255.0)


def test_a_stream_is_checked_too():
    data = _png(_photo(3), keep=0.7)
    with pytest.raises(ValueError, match=r"<stream>: .*ends before its last row"):
        load_image(io.BytesIO(data))
