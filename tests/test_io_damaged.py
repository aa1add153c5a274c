"""Damaged and hostile files: refused in one line naming the file, or read as far as is sound."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from vecmatte.io import ExtraFramesWarning, image_size, load_image, load_trimap


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


def _second_page_without_width(path, first: np.ndarray) -> None:
    """A two-page TIFF of ``first`` and its negative, whose second page lost its ImageWidth."""
    pages = [Image.fromarray(first), Image.fromarray(255 - first)]
    buffer = io.BytesIO()
    pages[0].save(buffer, "TIFF", save_all=True, append_images=pages[1:])
    data = bytearray(buffer.getvalue())
    assert data[:2] == b"II"
    (offset,) = struct.unpack_from("<I", data, 4)
    (count,) = struct.unpack_from("<H", data, offset)
    (offset,) = struct.unpack_from("<I", data, offset + 2 + 12 * count)  # the second page
    (count,) = struct.unpack_from("<H", data, offset)
    for entry in range(offset + 2, offset + 2 + 12 * count, 12):
        if struct.unpack_from("<H", data, entry)[0] == 256:  # ImageWidth -> a private tag
            struct.pack_into("<H", data, entry, 65000)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("reader", [load_image, load_trimap])
def test_a_multi_page_tiff_with_a_damaged_later_page_reads_its_first(tmp_path, reader):
    # Counting the pages (for the note that only the first is read) raised Pillow's
    # TypeError('Missing dimensions') from the damaged second page, a traceback although
    # the first page was read whole.
    if reader is load_image:
        first = np.arange(12 * 10 * 3, dtype=np.uint8).reshape(12, 10, 3)
    else:
        first = np.tile(np.array([0, 128, 255], np.uint8), (12, 4))[:, :10]
    _second_page_without_width(tmp_path / "pages.tif", first)
    with pytest.warns(ExtraFramesWarning, match=r"pages\.tif: .*only the first is read"):
        pixels = reader(tmp_path / "pages.tif")
    np.testing.assert_array_equal(pixels, first / 255.0)


@pytest.mark.parametrize("compression", ["tiff_lzw", "tiff_adobe_deflate", "packbits"])
@pytest.mark.parametrize("stream", [False, True])
def test_a_truncated_compressed_tiff_is_called_truncated(tmp_path, compression, stream):
    # libtiff writes a compressed TIFF's directory after its pixels, so a file cut short
    # (an interrupted download or copy) has none: Pillow calls it no image, and the line
    # said 'a TIFF file of a layout Pillow cannot read (such as 16-bit gray with an alpha
    # channel)', sending the user to convert a file that is only incomplete.
    pixels = np.arange(40 * 30 * 3, dtype=np.uint8).reshape(40, 30, 3)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "TIFF", compression=compression)
    data = buffer.getvalue()
    path = tmp_path / "cut.tif"
    path.write_bytes(data[: len(data) - 20])  # the directory's last entries are gone
    source = io.BytesIO(path.read_bytes()) if stream else path
    with pytest.raises(ValueError, match=r"damaged or truncated \(its TIFF directory") as caught:
        load_image(source)
    assert ("cut.tif: " in str(caught.value)) is not stream
    path.write_bytes(data[: len(data) // 2])  # also the count of its entries
    with pytest.raises(ValueError, match=r"cut\.tif: cannot read image, the file is damaged"):
        load_image(path)


@pytest.mark.parametrize("head", [b"II*\x00" + struct.pack("<I", 4000), b"MM\x00*\x00\x00\x0f\xa0"])
def test_a_tiff_whose_directory_lies_past_its_end_is_called_truncated(tmp_path, head):
    for data in (head + bytes(100), head.replace(b"*", b"+", 1)[:4] + _big_offset(head)):
        (tmp_path / "cut.tif").write_bytes(data)
        with pytest.raises(ValueError, match=r"cut\.tif: .*damaged or truncated \(its TIFF"):
            load_trimap(tmp_path / "cut.tif")


def _big_offset(head: bytes) -> bytes:
    """A BigTIFF header's rest (offset size 8, zero, first directory at 4000) and 100 bytes."""
    order = "<" if head[:2] == b"II" else ">"
    return struct.pack(order + "HHQ", 8, 0, 4000) + bytes(100)
