"""Reading and writing images: conversion from files happens here, at the edge.

Whatever the file holds — 8- or 16-bit PNG or TIFF, JPEG, gray, palette, RGBA, a float TIFF,
a phone photo with an EXIF orientation — :func:`load_image` returns a float64 ``(h, w, 3)``
RGB array in [0, 1] as it is displayed, and :func:`load_trimap` a float64 ``(h, w)`` array.
:func:`check_output_paths` (from :mod:`vecmatte._output_guard`) is the one guard every writer
goes through: an output may not be an input, two outputs may not be the same file, and an
output must be writable.
"""

from __future__ import annotations

import io
import os
import stat
import tempfile
import threading
import warnings
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from vecmatte._output_guard import (
    ALPHA_FORMATS,
    STDIO,
    check_output_paths,
    check_writable,
    same_file,
)

__all__ = [
    "IMAGE_EXTENSIONS",
    "STDIO",
    "AlphaChannelIgnoredWarning",
    "AlphaChannelUsedWarning",
    "ImageTooLargeError",
    "check_max_pixels",
    "check_output_paths",
    "floats_to_uint8",
    "image_size",
    "is_complete_image",
    "load_gray",
    "load_image",
    "load_trimap",
    "same_file",
    "save_image",
    "save_images",
    "written_by_vecmatte",
]

# Extensions recognised as images when folders are read (batch, eval) and when a string
# names a file rather than a colour (lower case).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")

# Pillow's pixel modes that hold one channel of 16-bit, 32-bit integer or float samples.
_GRAY_WIDE_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
# Modes with an alpha channel (after conversion of palettes with transparency to RGBA).
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
# File formats Pillow can write 16-bit gray to (mode "I;16").
_SIXTEEN_BIT_GRAY_FORMATS = ("PNG", "TIFF")
_TIFF_ORIENTATION = 274

# Pillow's decompression-bomb limit is a module global; we swap it for our own check while a
# file is opened, under a lock so that threads do not see each other's value.
_PILLOW_LIMIT_LOCK = threading.Lock()
# os.umask can only be read by setting it; serialise that among our own threads.
_UMASK_LOCK = threading.Lock()


class AlphaChannelIgnoredWarning(UserWarning):
    """The image file has a (not fully opaque) alpha channel; matting ignores it."""


class AlphaChannelUsedWarning(UserWarning):
    """An alpha matte or mask is read from the file's alpha channel (an RGBA cutout)."""


class ImageTooLargeError(ValueError):
    """The file declares more pixels than the decompression-bomb limit allows."""


@contextmanager
def _without_pillow_limit():
    """Pillow's own decompression-bomb check off (ours runs instead); yields Pillow's limit."""
    from PIL import Image

    with _PILLOW_LIMIT_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            yield saved
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _label(source) -> str:
    """How to call ``source`` (a path, or a binary stream such as standard input) in messages."""
    if hasattr(source, "read") or hasattr(source, "write"):
        name = getattr(source, "name", None)
        return name if isinstance(name, str) else "<stream>"
    return str(source)


def _check_pixel_limit(label: str, size: tuple[int, int], limit: int | None) -> None:
    width, height = size
    if limit is not None and width * height > limit:
        raise ImageTooLargeError(
            f"{label}: image has {width * height:,} pixels ({width} x {height}), more than the "
            f"limit of {limit:,} that protects against decompression bombs; if you trust this "
            f"file, raise the limit (command line: --max-pixels {width * height}; library: "
            f"max_pixels={width * height})"
        )


def check_max_pixels(max_pixels) -> None:
    """Refuse a pixel limit that is not None or a positive integer (one line, ValueError)."""
    if max_pixels is not None and not (
        not isinstance(max_pixels, bool) and float(max_pixels).is_integer() and max_pixels > 0
    ):
        raise ValueError(f"max_pixels must be a positive integer, got {max_pixels!r}")


def _open(source, max_pixels: int | None = None):
    """Open, check the size against the limit, decode fully, close; apply EXIF orientation.

    ``source`` is a path or a readable binary stream. The EXIF orientation found in the file
    is kept in ``image.info["vecmatte_orientation"]`` (for the 16-bit colour TIFF path).
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    stream = hasattr(source, "read")
    label = _label(source)
    check_max_pixels(max_pixels)
    if not stream:
        source = Path(source)
        if not source.exists():
            raise FileNotFoundError(f"{label}: no such file")
        if source.is_dir():
            raise IsADirectoryError(f"{label}: is a directory, not an image file")
    # Our own check replaces Pillow's (which warns above its limit and refuses above twice
    # it) so that a file over the limit is refused with one message, and a raised limit is
    # honoured; the limit is Pillow's own unless the caller gives another.
    with _without_pillow_limit() as pillow_limit:
        try:
            with Image.open(source) as image:
                limit = pillow_limit if max_pixels is None else max_pixels
                _check_pixel_limit(label, image.size, limit)
                # Which unpacker Pillow chose tells a 16-bit colour PNG (read at 8 bits).
                tile = image.tile[0] if len(image.tile) == 1 else None
                image.info["vecmatte_rawmode"] = tile[3] if tile is not None else None
                image.load()
                orientation = image.getexif().get(_TIFF_ORIENTATION, 1)
                ImageOps.exif_transpose(image, in_place=True)
                image.info["vecmatte_orientation"] = orientation
        except UnidentifiedImageError:
            kind = "" if stream else Path(label).suffix.lstrip(".").upper()
            raise ValueError(
                f"{label}: not an image file Pillow can read (is it really a "
                f"{kind or 'image'} file?)"
            ) from None
        except Image.DecompressionBombError as error:
            raise ImageTooLargeError(
                f"{label}: {error}; if you trust this file, raise the limit with --max-pixels"
            ) from None
        except PermissionError:
            raise PermissionError(f"{label}: cannot read the file (permission denied)") from None
        except (OSError, SyntaxError, EOFError) as error:
            raise ValueError(
                f"{label}: cannot read image, the file is damaged or truncated ({error})"
            ) from None
    return image


def image_size(path) -> tuple[int, int]:
    """``(height, width)`` of an image file from its header, without decoding the pixels.

    The EXIF orientation is not applied (the pixel count is the same either way), and no
    pixel limit is checked: this only reads the header.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    with _without_pillow_limit():
        try:
            with Image.open(path) as image:
                width, height = image.size
        except (UnidentifiedImageError, OSError, SyntaxError) as error:
            raise ValueError(f"{path}: cannot read image header ({error})") from None
    return height, width


def _wide_gray(image, label: str) -> np.ndarray:
    """One channel of 16-bit, 32-bit integer or float samples as float64 in [0, 1]."""
    array = np.asarray(image, dtype=np.float64)
    if image.mode == "F":
        if not np.isfinite(array).all():
            raise ValueError(f"{label}: float image contains NaN or infinite values")
        low, high = float(array.min()), float(array.max())
        if not (low >= 0.0 and high <= 1.0):
            raise ValueError(
                f"{label}: float image has values in [{low:.4g}, {high:.4g}]; a float image "
                "must hold values in [0, 1]"
            )
        return array
    # "I;16*" are 16-bit; "I" is what older Pillow makes of 16-bit PNGs, or a 32-bit TIFF.
    high = float(array.max(initial=0))
    if array.min(initial=0) < 0 or high > 65535:
        raise ValueError(
            f"{label}: 32-bit integer image with values in [{array.min():.0f}, {high:.0f}]; "
            "save it as 8- or 16-bit"
        )
    return array / 65535.0


def _note_alpha(image, label: str) -> None:
    """Warn that a not fully opaque alpha channel is ignored."""
    alpha = np.asarray(image.getchannel("A"))
    _warn_alpha(alpha, label, stacklevel=5)


def _warn_alpha(alpha: np.ndarray, label: str, *, stacklevel: int) -> None:
    """Warn if ``alpha`` (uint8 or uint16 samples) is not fully opaque; it is ignored."""
    transparent = np.count_nonzero(alpha < np.iinfo(alpha.dtype).max)
    if transparent:
        warnings.warn(
            f"{label}: the image has an alpha channel ({100 * transparent / alpha.size:.1f}% "
            "of its pixels not opaque); it is ignored and the colours are matted as stored",
            AlphaChannelIgnoredWarning,
            stacklevel=stacklevel,
        )


def _colour_image(image, label: str) -> np.ndarray:
    """An ``(h, w, 3)`` uint8 array of any Pillow image that is not one wide gray channel."""
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in _ALPHA_MODES:
        _note_alpha(image, label)
    if image.mode != "RGB":
        try:
            image = image.convert("RGB")
        except ValueError as error:
            raise ValueError(
                f"{label}: cannot convert {image.mode} pixels to RGB ({error})"
            ) from None
    return np.asarray(image)


def _is_16bit_colour_tiff(image) -> bool:
    if image.format != "TIFF" or image.mode not in ("RGB", "RGBA"):
        return False
    bits = image.tag_v2.get(258, (8,))
    bits = bits if isinstance(bits, tuple) else (bits,)
    return all(b == 16 for b in bits)


def _orient(array: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1-8) to an ``(h, w, c)`` array, as Pillow's exif_transpose."""
    swap = (1, 0, 2)
    return {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(swap),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: a[::-1, ::-1].transpose(swap),
        8: lambda a: np.rot90(a, 1),
    }.get(orientation, lambda a: a)(array)


def _read_16bit_colour_tiff(source, image, label: str) -> np.ndarray:
    """A 16-bit RGB(A) TIFF's samples, uint16 ``(h, w, 3 or 4)``, read with tifffile."""
    import tifffile  # comes with scikit-image

    if hasattr(source, "seek"):
        source.seek(0)
    try:
        array = np.asarray(tifffile.imread(source, key=0))
    except Exception as error:  # tifffile raises many types; the message says which file
        raise ValueError(f"{label}: cannot read the 16-bit colour TIFF ({error})") from None
    if array.ndim == 3 and array.shape[0] in (3, 4) and array.shape[2] not in (3, 4):
        array = np.moveaxis(array, 0, -1)  # planar configuration: channels first
    if array.ndim != 3 or array.shape[2] not in (3, 4) or array.dtype != np.uint16:
        raise ValueError(f"{label}: unexpected 16-bit TIFF layout {array.shape} {array.dtype}")
    return _orient(array, image.info.get("vecmatte_orientation", 1))


# Pillow decodes 16-bit colour and gray+alpha PNG at 8 bits, keeping the high byte of each
# big-endian sample. Its unpackers for little-endian samples take the other byte of each
# pair, so a second decode of the same file with them yields the low bytes: two decodes in
# Pillow's C code give the full samples. Gray+alpha (4 bytes a pixel) is decoded once, its
# bytes unpacked unchanged as if they were RGBA.
_PNG16_SECOND_RAWMODE = {"RGB;16B": "RGB;16L", "RGBA;16B": "RGBA;16L", "LA;16B": "RGBA"}


def _read_16bit_colour_png(source, image, label: str) -> np.ndarray:
    """A 16-bit RGB, RGBA or gray+alpha PNG's samples, uint16 ``(h, w, 3, 4 or 2)``."""
    from PIL import Image, ImageOps

    rawmode = image.info["vecmatte_rawmode"]
    if hasattr(source, "seek"):
        source.seek(0)
    with _without_pillow_limit():  # the size was checked when the file was first opened
        try:
            with Image.open(source) as again:
                if len(again.tile) != 1 or again.tile[0][3] != rawmode:
                    raise ValueError(f"unexpected PNG layout {again.tile}")
                again.tile = [again.tile[0]._replace(args=_PNG16_SECOND_RAWMODE[rawmode])]
                again.load()
                ImageOps.exif_transpose(again, in_place=True)
                second = np.asarray(again, dtype=np.uint16)
        except (OSError, SyntaxError, EOFError, ValueError) as error:
            raise ValueError(
                f"{label}: cannot read the 16-bit PNG, the file is damaged or truncated ({error})"
            ) from None
    if rawmode == "LA;16B":
        return np.stack(
            [(second[:, :, 0] << 8) | second[:, :, 1], (second[:, :, 2] << 8) | second[:, :, 3]],
            axis=2,
        )
    first = np.asarray(image, dtype=np.uint16)
    first <<= 8
    first |= second
    return first


def _wide_samples(source, image, label: str) -> np.ndarray | None:
    """The 16-bit samples of a colour or gray+alpha PNG or TIFF, which Pillow reads at 8 bits.

    uint16 ``(h, w, c)``, oriented, with c = 2 (gray, alpha), 3 (RGB) or 4 (RGBA); None for
    every other kind of file.
    """
    if _is_16bit_colour_tiff(image):
        return _read_16bit_colour_tiff(source, image, label)
    if image.format == "PNG" and image.info.get("vecmatte_rawmode") in _PNG16_SECOND_RAWMODE:
        return _read_16bit_colour_png(source, image, label)
    return None


def load_image(path, *, max_pixels: int | None = None) -> np.ndarray:
    """Load an image file as a float64 ``(h, w, 3)`` RGB array in [0, 1].

    Parameters
    ----------
    path : str, Path or binary file object
        Any format Pillow reads: PNG and TIFF (8 or 16 bits), JPEG, BMP, WebP ...; or an
        open binary stream (such as ``sys.stdin.buffer`` read into ``io.BytesIO``).
    max_pixels : int, optional
        Refuse files with more pixels than this (decompression-bomb protection). By default
        Pillow's limit, ``PIL.Image.MAX_IMAGE_PIXELS`` (about 89 MP).

    Returns
    -------
    ndarray, shape (h, w, 3)
        As the image is displayed: the EXIF orientation is applied. Gray, palette and CMYK
        images are converted to RGB; 16-bit PNG and TIFF (gray, gray+alpha, RGB, RGBA)
        keep their full precision (``value / 65535``).

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If the file is not an image, is truncated or damaged, or is too large
        (:class:`ImageTooLargeError`, a subclass).

    Warns
    -----
    AlphaChannelIgnoredWarning
        If the file has an alpha channel that is not fully opaque: the colours are used as
        stored and the old alpha is ignored.
    """
    label = _label(path)
    image = _open(path, max_pixels)
    if image.mode in _GRAY_WIDE_MODES:
        gray = _wide_gray(image, label)
        return np.repeat(gray[:, :, None], 3, axis=2)
    samples = _wide_samples(path, image, label)
    if samples is None:
        return _colour_image(image, label) / 255.0
    if samples.shape[2] in (2, 4):
        _warn_alpha(samples[:, :, -1], label, stacklevel=3)
    if samples.shape[2] == 2:
        return np.repeat(samples[:, :, :1] / 65535.0, 3, axis=2)
    return samples[:, :, :3] / 65535.0


def load_gray(path, *, name: str = "trimap", max_pixels: int | None = None) -> np.ndarray:
    """Load a one-channel map (trimap, alpha matte, mask) as a float64 ``(h, w)`` array.

    Like :func:`load_trimap`, but ``name`` says what the file is in messages ("alpha",
    "mask" ...), so that a colour photograph given as an alpha matte is called an alpha
    matte, not a trimap.

    A file with a (not fully opaque) alpha channel: for a trimap the alpha channel is
    ignored, with a note (:class:`AlphaChannelIgnoredWarning`). For any other map (an alpha
    matte, a mask) it is the map when the colour channels cannot be (a photograph's colours,
    as in an RGBA cutout, or one uniform colour), with a note
    (:class:`AlphaChannelUsedWarning`); else it is ignored with a note.
    """
    from vecmatte.trimap import check_trimap

    label = _label(path)
    image = _open(path, max_pixels)
    samples = None if image.mode in _GRAY_WIDE_MODES else _wide_samples(path, image, label)
    opacity = None
    if image.mode in _GRAY_WIDE_MODES:
        array = _wide_gray(image, label)
    elif samples is not None:  # 16 bits kept
        if samples.shape[2] in (2, 4):
            opacity = samples[:, :, -1]
        array = samples[:, :, 0] if samples.shape[2] == 2 else samples[:, :, :3]
    elif image.mode in ("L", "1", "P") and "transparency" not in image.info:
        array = np.asarray(image.convert("L"))
    else:
        if image.mode == "P":
            image = image.convert("RGBA")
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if image.mode in _ALPHA_MODES else "RGB")
        array = np.asarray(image)
        if array.shape[2] == 4:
            array, opacity = array[:, :, :3], array[:, :, 3]
    if opacity is not None and np.any(opacity < np.iinfo(opacity.dtype).max):
        array = _map_or_its_alpha(array, opacity, name, label)
    try:
        return check_trimap(array, name=name)
    except ValueError as error:
        raise ValueError(f"{label}: {error}") from None


def _map_or_its_alpha(array: np.ndarray, opacity: np.ndarray, name: str, label: str):
    """The samples that hold the map ``name`` of a file with a translucent alpha channel."""
    from vecmatte.trimap import coloured_fraction

    same = opacity if array.ndim == 2 else opacity[:, :, None]
    if np.array_equal(array, np.broadcast_to(same, array.shape)):
        return array  # gray and alpha agree (a matte saved with itself as alpha)
    if name != "trimap":
        uniform = array.min() == array.max()
        coloured = array.ndim == 3 and coloured_fraction(array) > 0
        if uniform or coloured:
            warnings.warn(
                f"{label}: the {name} is read from the file's alpha channel (its colours are "
                + ("a picture's: an RGBA cutout" if coloured else "all the same")
                + ")",
                AlphaChannelUsedWarning,
                stacklevel=3,
            )
            return opacity
    share = 100 * np.count_nonzero(opacity < np.iinfo(opacity.dtype).max) / opacity.size
    warnings.warn(
        f"{label}: the file has an alpha channel ({share:.1f}% of its pixels not opaque); it "
        f"is ignored and the gray values are the {name}",
        AlphaChannelIgnoredWarning,
        stacklevel=3,
    )
    return array


def load_trimap(path, *, max_pixels: int | None = None) -> np.ndarray:
    """Load a trimap (or a mask) as a float64 ``(h, w)`` array in [0, 1].

    Gray, RGB and RGBA files, 8 or 16 bits or float, are accepted. Colour files must be gray
    up to compression noise (see :func:`vecmatte.trimap.check_trimap`); an alpha channel is
    ignored (with a note if it is not fully opaque). Values are not snapped here:
    :func:`vecmatte.trimap.trimap_split` reads ``> 0.9`` as foreground and ``< 0.1`` as
    background, which absorbs JPEG noise.
    """
    return load_gray(path, name="trimap", max_pixels=max_pixels)


def is_complete_image(path) -> bool:
    """Whether ``path`` is an image file that decodes completely (not empty or truncated)."""
    from PIL import Image

    try:
        with _without_pillow_limit(), Image.open(path) as image:
            image.load()
    except Exception:  # any failure to decode means: not complete
        return False
    return True


# ---------------------------------------------------------------------------------- writing


# Floats may leave [0, 1] by this much (arithmetic rounding, such as a F + (1 - a) B with
# F = B = 1): far below half an 8-bit level, so the file is the same as for the exact values.
_ROUNDING = 1e-6


def _range_message(low: float, high: float) -> str:
    if low >= 0.0 and high <= 255.0:
        hint = "divide by 255 first (or pass uint8)"
    elif low >= 0.0 and high <= 65535.0:
        hint = "divide by 65535 first (or pass uint16)"
    else:
        hint = "rescale it, or clip it yourself with np.clip(array, 0, 1)"
    return (
        f"cannot save a float array with values in [{low:.4g}, {high:.4g}]: floats must lie "
        f"in [0, 1]; {hint}"
    )


def _pixels(array) -> np.ndarray:
    """The array to write: uint8 (from floats in [0, 1], bool or uint8) or uint16."""
    array = np.asarray(array)
    if array.dtype == bool:
        return array.astype(np.uint8) * np.uint8(255)
    if array.dtype in (np.uint8, np.uint16):
        return array
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(
            f"cannot save an array of dtype {array.dtype}; use floats in [0, 1], uint8 or "
            "uint16 (e.g. array.astype(np.uint8) if it holds 0 ... 255)"
        )
    return floats_to_uint8(array)


# Rows converted at a time: about 2**20 values (8 MB of float64 scratch), so a 10 MP RGBA
# costs its uint8 result and one small block instead of three full-size float temporaries.
_CHUNK_VALUES = 1 << 20


def floats_to_uint8(array, *, out: np.ndarray | None = None) -> np.ndarray:
    """Floats in [0, 1] as uint8 levels ``round(255 x)``, converted a block of rows at a time.

    Parameters
    ----------
    array : array_like of floats, shape (h, ...)
        Values in [0, 1]; values outside by less than 1e-6 (rounding) are clipped.
    out : ndarray of uint8, shape (h, ...), optional
        Where to write the levels (a view, such as three channels of an RGBA array, works).

    Returns
    -------
    ndarray of uint8
        ``out``, or a new array of ``array``'s shape.

    Raises
    ------
    ValueError
        For NaN or infinite values, or values outside [0, 1] (never clipped silently).
    """
    array = np.atleast_1d(np.asarray(array))
    rows = max(1, _CHUNK_VALUES // max(1, array[:1].size))
    blocks = range(0, len(array), rows)
    if array.size:
        # min and max propagate NaN and need no temporary the size of the array.
        low, high = float(array.min()), float(array.max())
        if not (np.isfinite(low) and np.isfinite(high)):
            bad = sum(int(np.count_nonzero(~np.isfinite(array[i : i + rows]))) for i in blocks)
            raise ValueError(
                f"cannot save an array with {bad} NaN or infinite values of {array.size}; "
                "fix them first (e.g. np.nan_to_num)"
            )
        if low < -_ROUNDING or high > 1.0 + _ROUNDING:
            raise ValueError(_range_message(low, high))
    if out is None:
        out = np.empty(array.shape, dtype=np.uint8)
    for start in blocks:
        block = np.multiply(array[start : start + rows], 255.0)
        np.clip(block, 0.0, 255.0, out=block)
        np.rint(block, out=block)
        out[start : start + rows] = block
    return out


def _check_shape(array: np.ndarray) -> np.ndarray:
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))) or not array.size:
        raise ValueError(
            f"cannot save an array of shape {array.shape}; expected (h, w), (h, w, 3) or "
            "(h, w, 4) with h, w > 0"
        )
    return array


def _encode(handle, array: np.ndarray, file_format: str, label: str) -> None:
    """Write ``array`` (uint8, or uint16) to the open binary ``handle`` in ``file_format``."""
    from PIL import Image

    if array.dtype == np.uint16:
        if array.ndim == 3:
            if file_format != "TIFF":
                raise ValueError(
                    f"{label}: a 16-bit colour image can be saved only as .tif (Pillow cannot "
                    "write 16-bit colour PNG); use .tif, or convert to 8 bits with "
                    "(array / 65535) first"
                )
            import tifffile  # comes with scikit-image

            tifffile.imwrite(handle, array, photometric="rgb")
            return
        if file_format not in _SIXTEEN_BIT_GRAY_FORMATS:
            raise ValueError(
                f"{label}: {file_format} cannot hold 16-bit gray; save it as .png or .tif, "
                "or convert to 8 bits with (array / 65535) first"
            )
        # Pillow 13 makes mode "I;16" of a native uint16 array; asking for the mode is deprecated.
        Image.fromarray(np.ascontiguousarray(array, dtype=np.uint16)).save(
            handle, format=file_format, **_signature(file_format)
        )
        return
    image = Image.fromarray(array)
    if image.mode == "RGBA" and file_format not in ALPHA_FORMATS:
        raise ValueError(
            f"{label}: {file_format} cannot store an alpha channel; save the cutout as .png or .tif"
        )
    image.save(handle, format=file_format, **_signature(file_format))


# PNG files written here say so in a text chunk: a batch writing into an input folder tells
# its own earlier outputs (to be replaced) from a user's file of the same name (never).
_SOFTWARE_KEY = "Software"


def _signature(file_format: str) -> dict:
    """Pillow ``save`` keywords that mark a PNG as written by vecmatte (none for others)."""
    if file_format != "PNG":
        return {}
    from PIL.PngImagePlugin import PngInfo

    from vecmatte import __version__

    info = PngInfo()
    info.add_text(_SOFTWARE_KEY, f"vecmatte {__version__}")
    return {"pnginfo": info}


def written_by_vecmatte(path) -> bool:
    """Whether ``path`` is a PNG file that :func:`save_image` wrote (its Software text).

    Reads the header only; a missing or unreadable file is not.
    """
    from PIL import Image

    try:
        with _without_pillow_limit(), Image.open(path) as image:
            software = image.info.get(_SOFTWARE_KEY, "") if image.format == "PNG" else ""
    except Exception:  # not a readable image: not one of ours
        return False
    return isinstance(software, str) and software.startswith("vecmatte ")


def _new_file_mode(path: Path) -> int:
    """Permissions for ``path``: those of the file it replaces, else 0666 minus the umask."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        with _UMASK_LOCK:
            umask = os.umask(0o022)
            os.umask(umask)
        return 0o666 & ~umask


def save_image(path, array, *, format: str | None = None) -> None:
    """Save an array as an image file, atomically, without changing its values.

    Parameters
    ----------
    path : str, Path or binary file object
        The file; its extension chooses the format (``.png`` when it has none). A binary
        stream (``sys.stdout.buffer``) is written directly, as ``format`` (default PNG).
    array : array_like, shape (h, w), (h, w, 3) or (h, w, 4)
        Gray, RGB or RGBA. Floats must lie in [0, 1] (saved at 8 bits, rounded to the
        nearest level); bool is saved as 0 and 255; uint8 as it is; uint16 at 16 bits: gray
        as a 16-bit PNG or TIFF, colour only as a 16-bit TIFF (Pillow cannot write 16-bit
        colour PNG, so other extensions are refused).
    format : str, optional
        Pillow format name for streams (``"PNG"``, ``"TIFF"`` ...).

    Raises
    ------
    ValueError
        For float values outside [0, 1], NaN or infinite values (never clipped silently),
        other dtypes, shapes that are not an image, an unknown extension, an alpha channel
        in a format that would drop it (JPEG, BMP), or 16-bit data in a format that cannot
        hold it.
    FileNotFoundError, PermissionError
        If the directory is missing or not writable.

    Notes
    -----
    The file is written to a temporary name ``.NAME.XXXX.tmp`` in the same directory and
    renamed, so an error or an interruption never leaves a partial file at ``path``.
    """
    if hasattr(path, "write"):
        _encode(path, _check_shape(_pixels(array)), (format or "PNG").upper(), _label(path))
        path.flush()
        return
    save_images([(path, array)])


def save_images(outputs: Iterable[tuple[str | os.PathLike, np.ndarray]]) -> None:
    """Save several arrays as image files, all of them or none.

    Parameters
    ----------
    outputs : iterable of (path, array)
        As :func:`save_image` takes them. It may be a generator: each array is then made
        only once the previous file is written (a cutout after the alpha matte's file, so
        that both are never in memory as 8-bit pixels and encoded PNG at once).

    Raises
    ------
    ValueError, OSError
        As :func:`save_image`; nothing is written then.

    Notes
    -----
    Each array is written to a temporary file ``.NAME.XXXX.tmp`` beside its path; the
    temporary files are renamed into place only when every one of them is complete. An
    error, or Ctrl-C, before that leaves none of the outputs (the files they would replace
    are untouched), not an alpha matte without the cutout asked for with it.
    """
    written: list[tuple[str, Path]] = []
    try:
        for path, array in outputs:
            path = Path(path)
            written.append((_write_temporary(path, array), path))
        for temporary, path in written:
            os.replace(temporary, path)
    except BaseException:
        for temporary, _ in written:
            Path(temporary).unlink(missing_ok=True)
        raise


def _write_temporary(path: Path, array) -> str:
    """Encode ``array`` for ``path`` into a new temporary file beside it; return its name."""
    pixels = _check_shape(_pixels(array))
    file_format = check_writable(path, "output")
    # Encode in memory first: a refusal (16 bits in a JPEG ...) then creates no file at all.
    buffer = io.BytesIO()
    _encode(buffer, pixels, file_format, str(path))
    del pixels
    directory = path.parent if str(path.parent) else Path(".")
    try:
        descriptor, temporary = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=".tmp", dir=directory
        )
    except PermissionError:
        raise PermissionError(
            f"{path}: cannot write to directory {directory} (permission denied)"
        ) from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(buffer.getbuffer())
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        os.chmod(temporary, _new_file_mode(path))
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return temporary
