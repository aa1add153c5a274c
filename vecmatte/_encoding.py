"""Encoding an array as an image file's bytes, in memory: :mod:`vecmatte._writing` writes them.

The checks of what a format holds (a side's length, 16 bits, an alpha channel), the values
kept exact where a lossy-by-default format can, the PNG text that says vecmatte wrote a
file, and the colour profile of a colour image (:mod:`vecmatte._profiles`).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from vecmatte._levels import levels_to_write
from vecmatte._opening import source_label
from vecmatte._output_guard import ALPHA_FORMATS, check_writable, check_writable_format
from vecmatte._profiles import profile_keywords

__all__ = ["SOFTWARE_KEY", "check_text", "encoded", "encoded_for_stream"]

# File formats Pillow can write 16-bit gray to (mode "I;16").
_SIXTEEN_BIT_GRAY_FORMATS = ("PNG", "TIFF")
# The largest width or height each format's header or encoder takes (PNG, TIFF, BMP: 2**31).
_LARGEST_SIDE = {
    "JPEG": 65500,
    "MPO": 65500,
    "WEBP": 16383,
    "AVIF": 65536,
    "GIF": 65535,
    "TGA": 65535,
    "SGI": 65535,
    "PCX": 65534,  # its row of bytes is rounded up to an even count
}


def _check_shape(array: np.ndarray) -> np.ndarray:
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))) or not array.size:
        raise ValueError(
            f"cannot save an array of shape {array.shape}; expected (h, w), (h, w, 3) or "
            "(h, w, 4) with h, w > 0"
        )
    return array


def _encode(
    handle,
    array: np.ndarray,
    file_format: str,
    label: str,
    *,
    from_floats: bool = False,
    text: dict[str, str] | None = None,
    icc_profile: bytes | None = None,
) -> None:
    """Write ``array`` (uint8, or uint16) to the open binary ``handle`` in ``file_format``.

    ``from_floats``: the uint16 levels were made from floats for ``bit_depth=16``, so the
    way out of a format that cannot hold them is to leave out ``bit_depth``. ``text``: PNG
    text chunks beside the Software one (PNG only). ``icc_profile``: embedded in a colour
    array's file (a gray one gets none).
    """
    from PIL import Image

    largest = _LARGEST_SIDE.get(file_format)
    if largest is not None and max(array.shape[:2]) > largest:
        # Pillow failed in its encoder: OverflowError "int too big to convert", or libjpeg's
        # own stderr line and "broken data stream when writing image file", no name given.
        raise ValueError(
            f"{label}: a {file_format} file holds at most {largest} pixels a side, the image "
            f"is {array.shape[0]} x {array.shape[1]} (height x width); save it as .png or .tif"
        )
    if from_floats:
        eight_bits = "leave out bit_depth=16"
    else:
        eight_bits = "convert to 8 bits with (array / 65535) first"
    if array.ndim == 2:
        icc_profile = None  # an alpha matte is no colour: an RGB profile does not describe it
    if array.dtype == np.uint16:
        if array.ndim == 3:
            if file_format != "TIFF":
                raise ValueError(
                    f"{label}: a 16-bit colour image can be saved only as .tif (Pillow cannot "
                    f"write 16-bit colour PNG); use .tif, or {eight_bits}"
                )
            import tifffile  # a dependency of ours (and of scikit-image)

            tifffile.imwrite(handle, array, photometric="rgb", iccprofile=icc_profile)
            return
        if file_format not in _SIXTEEN_BIT_GRAY_FORMATS:
            raise ValueError(
                f"{label}: {file_format} cannot hold 16-bit gray; save it as .png or .tif, "
                f"or {eight_bits}"
            )
        # Pillow 13 makes mode "I;16" of a native uint16 array; asking for the mode is deprecated.
        Image.fromarray(np.ascontiguousarray(array, dtype=np.uint16)).save(
            handle, format=file_format, **_signature(file_format, text)
        )
        return
    image = Image.fromarray(array)
    if image.mode == "RGBA" and file_format not in ALPHA_FORMATS:
        raise ValueError(
            f"{label}: {file_format} cannot store an alpha channel; save the cutout as .png or .tif"
        )
    colour = profile_keywords(file_format, icc_profile, label)
    image.save(
        handle,
        format=file_format,
        **_signature(file_format, text),
        **_exact(file_format, image),
        **colour,
    )


def _exact(file_format: str, image) -> dict:
    """Pillow ``save`` keywords that keep the values where a lossy-by-default format can.

    WebP lossless; ``exact`` keeps the colour under alpha 0 too. AVIF at quality 100 keeps
    gray and alpha exactly, colour (through YCbCr: Pillow sets no identity matrix) within 3
    levels at 4:4:4 chroma. Pillow's defaults moved random values by up to 228 levels."""
    if file_format == "WEBP":
        return {"lossless": True, "exact": True}
    if file_format == "AVIF":
        return {"quality": 100} if image.mode == "L" else {"quality": 100, "subsampling": "4:4:4"}
    return {}


# PNG files written here say so in a text chunk: a batch writing into an input folder tells
# its own earlier outputs (to be replaced) from a user's file of the same name (never).
SOFTWARE_KEY = "Software"


def check_text(text) -> dict[str, str] | None:
    """``text`` checked: None, or a dict of PNG text keys (1-79 ASCII characters) to str."""
    if text is None:
        return None
    if not isinstance(text, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in text.items()
    ):
        raise TypeError(f"text must be a dict of str keys to str values, got {text!r}")
    for key in text:
        if not 1 <= len(key) <= 79 or not key.isprintable() or not key.isascii():
            raise ValueError(f"PNG text key {key!r}: use 1 to 79 printable ASCII characters")
        if key == SOFTWARE_KEY:
            raise ValueError(f"PNG text key {key!r} is vecmatte's own mark; choose another key")
    return text


def _signature(file_format: str, text: dict[str, str] | None = None) -> dict:
    """Pillow ``save`` keywords that mark a PNG as written by vecmatte, with ``text``.

    Other formats get none (``text`` is for PNG only).
    """
    if file_format != "PNG":
        return {}
    from PIL.PngImagePlugin import PngInfo

    from vecmatte import __version__

    info = PngInfo()
    info.add_text(SOFTWARE_KEY, f"vecmatte {__version__}")
    for key, value in (text or {}).items():
        # PngInfo writes text before the pixels: a reader of the header gets it.
        info.add_text(key, value)
    return {"pnginfo": info}


def encoded(
    path: Path,
    array,
    bit_depth: int | None = None,
    text: dict[str, str] | None = None,
    icc_profile: bytes | None = None,
) -> io.BytesIO:
    """``array`` encoded in the format of ``path``, in memory (checked: nothing written yet)."""
    pixels = _check_shape(levels_to_write(array, bit_depth))
    file_format = check_writable(path, "output")
    buffer = io.BytesIO()
    floats = _is_float(array) and bit_depth == 16
    _encode(
        buffer,
        pixels,
        file_format,
        str(path),
        from_floats=floats,
        text=text,
        icc_profile=icc_profile,
    )
    return buffer


def encoded_for_stream(
    stream,
    array,
    bit_depth: int | None,
    file_format: str,
    text: dict[str, str] | None = None,
    icc_profile: bytes | None = None,
) -> io.BytesIO:
    """``array`` encoded as ``file_format`` for the binary ``stream``, in memory."""
    label = source_label(stream)
    file_format = check_writable_format(str(file_format), label)
    pixels = _check_shape(levels_to_write(array, bit_depth))
    buffer = io.BytesIO()
    floats = _is_float(array) and bit_depth == 16
    _encode(
        buffer, pixels, file_format, label, from_floats=floats, text=text, icc_profile=icc_profile
    )
    return buffer


def _is_float(array) -> bool:
    return np.issubdtype(np.asarray(array).dtype, np.floating)
