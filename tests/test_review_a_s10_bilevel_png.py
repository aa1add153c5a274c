"""A bilevel (mode "1") PNG is checked for pixel data ending early in one decode.

The check fills the pixels with a colour before decoding and decodes again only if the last
row is all that colour. A bilevel image's colour was black (0x5A & 1), so every mask whose
last row is black (most masks) was decoded twice; its stored bytes are 0 or 255 once
decoded, so a fill of any other byte tells a row never written in one decode.
"""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from vecmatte import _pillow
from vecmatte.io import load_gray


def _bilevel_png(mask: np.ndarray, *, keep_rows: int | None = None) -> bytes:
    """A mode "1" PNG of ``mask``, its zlib stream ending cleanly after ``keep_rows`` rows."""
    buffer = io.BytesIO()
    Image.fromarray(mask).save(buffer, format="PNG")
    data = buffer.getvalue()
    chunks, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        chunks.append((data[at + 4 : at + 8], data[at + 8 : at + 8 + length]))
        at += 12 + length
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    if keep_rows is not None:
        raw = raw[: keep_rows * (1 + (mask.shape[1] + 7) // 8)]
    out = b"\x89PNG\r\n\x1a\n"
    for kind, body in [chunks[0], (b"IDAT", zlib.compress(raw)), (b"IEND", b"")]:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        out += struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)
    return out


def _mask(last_row: bool) -> np.ndarray:
    mask = np.random.default_rng(0).random((9, 13)) > 0.5
    mask[-1] = last_row
    return mask


@pytest.mark.parametrize("last_row", [False, True])
def test_a_mask_whose_last_row_is_uniform_is_decoded_once(tmp_path, monkeypatch, last_row):
    path = tmp_path / "mask.png"
    path.write_bytes(_bilevel_png(_mask(last_row)))
    with Image.open(path) as image:
        assert image.mode == "1"
    decodes = []
    row_unwritten = _pillow._row_unwritten

    def counted(image, colour):
        decodes.append(colour)
        return row_unwritten(image, colour)

    monkeypatch.setattr(_pillow, "_row_unwritten", counted)
    np.testing.assert_array_equal(load_gray(path, name="alpha"), _mask(last_row))
    assert len(decodes) == 1


@pytest.mark.parametrize("last_row", [False, True])
def test_a_mask_ending_early_is_still_refused(tmp_path, last_row):
    path = tmp_path / "mask.png"
    path.write_bytes(_bilevel_png(_mask(last_row), keep_rows=5))
    with pytest.raises(ValueError, match="ends before its last row"):
        load_gray(path, name="alpha")
