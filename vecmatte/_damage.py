"""Why Pillow could not read a file: its bytes looked at directly, for one clear line.

Empty, a TIFF whose directory lies past its end, a TIFF of a layout Pillow lacks, a HEIF
photo: :func:`vecmatte._opening.open_image` says which, from what is told here.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

__all__ = [
    "HEIF_BOXES",
    "TIFF_SIGNATURES",
    "bytes_at",
    "directory_cut_off",
    "is_empty",
    "starts_with",
    "tiff_directory_cut_off",
]

# A HEIF file's first box: "ftyp" and its major brand (HEVC-coded HEIC, the generic HEIF
# brands). AVIF is HEIF too, but Pillow reads it.
HEIF_BOXES = tuple(
    b"ftyp" + brand
    for brand in (
        b"heic",
        b"heix",
        b"hevc",
        b"hevx",
        b"heim",
        b"heis",
        b"hevm",
        b"hevs",
        b"mif1",
        b"msf1",
    )
)

# Classic TIFF and BigTIFF, either byte order.
TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def starts_with(source, signatures: tuple[bytes, ...]) -> bool:
    """Whether the path or seekable stream ``source`` begins with one of ``signatures``."""
    try:
        head = bytes_at(source, 0, 8)
    except (OSError, ValueError):
        return False
    return head.startswith(signatures)


def directory_cut_off(label: str) -> str:
    """The line for a TIFF whose first directory is not all in the file."""
    return (
        f"{label}: cannot read image, the file is damaged or truncated (its TIFF directory "
        "lies past its end)"
    )


def tiff_directory_cut_off(source) -> bool:
    """Whether the path or seekable stream ``source`` is a TIFF whose first directory (the
    list of its tags) is not all in the file: a truncated TIFF whose writer put it after the
    pixels, as libtiff does for compressed ones, which Pillow then calls no image at all."""
    try:
        head = bytes_at(source, 0, 16)
        order = {b"II": "<", b"MM": ">"}.get(head[:2])
        if order is None or len(head) < 16:
            return False
        (version,) = struct.unpack_from(order + "H", head, 2)
        if version == 42:  # classic TIFF: 4-byte offset, 2-byte count, 12-byte entries
            (offset,) = struct.unpack_from(order + "I", head, 4)
            count_format, entry_size = "H", 12
        elif version == 43:  # BigTIFF: 8-byte offset, 8-byte count, 20-byte entries
            (offset,) = struct.unpack_from(order + "Q", head, 8)
            count_format, entry_size = "Q", 20
        else:
            return False
        count_size = struct.calcsize(count_format)
        count_bytes = bytes_at(source, offset, count_size)
        if len(count_bytes) < count_size:
            return True
        (count,) = struct.unpack(order + count_format, count_bytes)
        last = offset + count_size + count * entry_size - 1
        return count > 0 and not bytes_at(source, last, 1)
    except (OSError, ValueError, OverflowError):
        return False


def bytes_at(source, offset: int, count: int) -> bytes:
    """Up to ``count`` bytes at ``offset`` of the path or seekable stream ``source``."""
    if hasattr(source, "seek"):
        source.seek(offset)
        return source.read(count)
    with open(source, "rb") as handle:
        handle.seek(offset)
        return handle.read(count)


def is_empty(source) -> bool:
    """Whether the path or seekable stream ``source`` holds no bytes at all."""
    try:
        if hasattr(source, "seek"):
            return source.seek(0, os.SEEK_END) == 0
        return Path(source).stat().st_size == 0
    except (OSError, ValueError):
        return False
