"""Damaged and hostile files: refused in one line naming the file, or read as far as is sound."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from vecmatte.io import image_size, load_image, load_trimap


def _png_with_chunk(path, kind: bytes, data: bytes) -> None:
    """A 4 x 4 gray PNG with one more chunk after its header."""
    buffer = io.BytesIO()
    Image.new("L", (4, 4), 128).save(buffer, "PNG")
    png = buffer.getvalue()
    crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    extra = struct.pack(">I", len(data)) + kind + data + crc
    path.write_bytes(png[:33] + extra + png[33:])  # signature (8) + IHDR (25)


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        (b"zTXt", b"Comment\x00\x00" + zlib.compress(b"a" * (2**24), 9)),
        (b"iCCP", b"profile\x00\x00" + zlib.compress(bytes(2**24), 9)),
    ],
)
@pytest.mark.parametrize("reader", [load_image, load_trimap, image_size])
def test_a_png_whose_metadata_inflates_past_pillows_limit_is_named(tmp_path, kind, data, reader):
    # Pillow refuses a text or colour-profile chunk that inflates beyond MAX_TEXT_CHUNK
    # (1 MB; a decompression bomb in the metadata) with a ValueError in its own words,
    # 'Decompressed data too large for PngImagePlugin.MAX_TEXT_CHUNK', naming neither the
    # file nor what to do.
    path = tmp_path / "bomb.png"
    _png_with_chunk(path, kind, data)
    with pytest.raises(ValueError, match=r"bomb\.png: .*metadata.*MAX_TEXT_CHUNK") as caught:
        reader(path)
    assert "\n" not in str(caught.value)
