"""Reading and writing images: conversion from files happens here, at the edge.

Whatever the file holds — 8- or 16-bit PNG or TIFF, JPEG, gray, palette, RGBA, a float TIFF,
a phone photo with an EXIF orientation — :func:`load_image` returns a float64 ``(h, w, 3)``
RGB array in [0, 1] as it is displayed, and :func:`load_trimap` a float64 ``(h, w)`` array.
"""

from __future__ import annotations

import os
import stat
import tempfile
import threading
import warnings
from pathlib import Path

import numpy as np

__all__ = [
    "AlphaChannelIgnoredWarning",
    "ImageTooLargeError",
    "image_size",
    "load_image",
    "load_trimap",
    "save_image",
]

# Pillow's pixel modes that hold one channel of 16-bit, 32-bit integer or float samples.
_GRAY_WIDE_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
# Modes with an alpha channel (after conversion of palettes with transparency to RGBA).
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")

# Pillow's decompression-bomb limit is a module global; we swap it for our own check while a
# file is opened, under a lock so that threads do not see each other's value.
_PILLOW_LIMIT_LOCK = threading.Lock()
# os.umask can only be read by setting it; serialise that among our own threads.
_UMASK_LOCK = threading.Lock()


class AlphaChannelIgnoredWarning(UserWarning):
    """The image file has a (not fully opaque) alpha channel; matting ignores it."""


class ImageTooLargeError(ValueError):
    """The file declares more pixels than the decompression-bomb limit allows."""


def _check_pixel_limit(path: Path, size: tuple[int, int], limit: int | None) -> None:
    width, height = size
    if limit is not None and width * height > limit:
        raise ImageTooLargeError(
            f"{path}: image has {width * height:,} pixels ({width} x {height}), more than the "
            f"limit of {limit:,} that protects against decompression bombs; if you trust this "
            f"file, raise the limit (command line: --max-pixels {width * height}; library: "
            f"max_pixels={width * height})"
        )


def _open(path, max_pixels: int | None = None):
    """Open, check the size against the limit, decode fully, close; apply EXIF orientation."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if max_pixels is not None and not (float(max_pixels).is_integer() and max_pixels > 0):
        raise ValueError(f"max_pixels must be a positive integer, got {max_pixels!r}")
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a directory, not an image file")
    with _PILLOW_LIMIT_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        # Our own check replaces Pillow's (which warns above its limit and refuses above twice
        # it) so that a file over the limit is refused with one message, and a raised limit
        # is honoured; the limit is Pillow's own unless the caller gives another.
        Image.MAX_IMAGE_PIXELS = None
        try:
            with Image.open(path) as image:
                _check_pixel_limit(path, image.size, saved if max_pixels is None else max_pixels)
                image.load()
                ImageOps.exif_transpose(image, in_place=True)
        except UnidentifiedImageError:
            raise ValueError(
                f"{path}: not an image file Pillow can read (is it really a "
                f"{path.suffix.lstrip('.').upper() or 'image'} file?)"
            ) from None
        except Image.DecompressionBombError as error:
            raise ImageTooLargeError(
                f"{path}: {error}; if you trust this file, raise the limit with --max-pixels"
            ) from None
        except (OSError, SyntaxError, EOFError) as error:
            raise ValueError(
                f"{path}: cannot read image, the file is damaged or truncated ({error})"
            ) from None
        finally:
            Image.MAX_IMAGE_PIXELS = saved
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
    with _PILLOW_LIMIT_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            with Image.open(path) as image:
                width, height = image.size
        except (UnidentifiedImageError, OSError, SyntaxError) as error:
            raise ValueError(f"{path}: cannot read image header ({error})") from None
        finally:
            Image.MAX_IMAGE_PIXELS = saved
    return height, width


def _wide_gray(image, path: Path) -> np.ndarray:
    """One channel of 16-bit, 32-bit integer or float samples as float64 in [0, 1]."""
    array = np.asarray(image, dtype=np.float64)
    if image.mode == "F":
        if not np.isfinite(array).all():
            raise ValueError(f"{path}: float image contains NaN or infinite values")
        low, high = float(array.min()), float(array.max())
        if not (low >= 0.0 and high <= 1.0):
            raise ValueError(
                f"{path}: float image has values in [{low:.4g}, {high:.4g}]; a float image "
                "must hold values in [0, 1]"
            )
        return array
    # "I;16*" are 16-bit; "I" is what older Pillow makes of 16-bit PNGs, or a 32-bit TIFF.
    high = float(array.max(initial=0))
    if array.min(initial=0) < 0 or high > 65535:
        raise ValueError(
            f"{path}: 32-bit integer image with values in [{array.min():.0f}, {high:.0f}]; "
            "save it as 8- or 16-bit"
        )
    return array / 65535.0


def _note_alpha(image, path: Path) -> None:
    """Warn that a not fully opaque alpha channel is ignored."""
    alpha = np.asarray(image.getchannel("A"))
    transparent = np.count_nonzero(alpha < alpha.dtype.type(255))
    if transparent:
        warnings.warn(
            f"{path}: the image has an alpha channel ({100 * transparent / alpha.size:.1f}% of "
            "its pixels not opaque); it is ignored and the colours are matted as stored",
            AlphaChannelIgnoredWarning,
            stacklevel=3,
        )


def _colour_image(image, path: Path) -> np.ndarray:
    """An ``(h, w, 3)`` uint8 array of any Pillow image that is not one wide gray channel."""
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in _ALPHA_MODES:
        _note_alpha(image, path)
    if image.mode != "RGB":
        try:
            image = image.convert("RGB")
        except ValueError as error:
            raise ValueError(
                f"{path}: cannot convert {image.mode} pixels to RGB ({error})"
            ) from None
    return np.asarray(image)


def load_image(path, *, max_pixels: int | None = None) -> np.ndarray:
    """Load an image file as a float64 ``(h, w, 3)`` RGB array in [0, 1].

    Parameters
    ----------
    path : str or Path
        Any format Pillow reads: PNG and TIFF (8 or 16 bits), JPEG, BMP, WebP ...
    max_pixels : int, optional
        Refuse files with more pixels than this (decompression-bomb protection). By default
        Pillow's limit, ``PIL.Image.MAX_IMAGE_PIXELS`` (about 89 MP).

    Returns
    -------
    ndarray, shape (h, w, 3)
        As the image is displayed: the EXIF orientation is applied. Gray, palette and CMYK
        images are converted to RGB; 16-bit gray keeps its precision, 16-bit colour is
        decoded by Pillow at 8 bits per channel.

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
    path = Path(path)
    image = _open(path, max_pixels)
    if image.mode in _GRAY_WIDE_MODES:
        gray = _wide_gray(image, path)
        return np.repeat(gray[:, :, None], 3, axis=2)
    return _colour_image(image, path) / 255.0


def load_trimap(path, *, max_pixels: int | None = None) -> np.ndarray:
    """Load a trimap (or a mask) as a float64 ``(h, w)`` array in [0, 1].

    Gray, RGB and RGBA files, 8 or 16 bits or float, are accepted. Colour files must be gray
    up to compression noise (see :func:`vecmatte.trimap.check_trimap`); an alpha channel is
    ignored. Values are not snapped here: :func:`vecmatte.trimap.trimap_split` reads
    ``> 0.9`` as foreground and ``< 0.1`` as background, which absorbs JPEG noise.
    """
    from vecmatte.trimap import check_trimap

    path = Path(path)
    image = _open(path, max_pixels)
    if image.mode in _GRAY_WIDE_MODES:
        array = _wide_gray(image, path)
    elif image.mode in ("L", "1", "P") and "transparency" not in image.info:
        array = np.asarray(image.convert("L"))
    else:
        if image.mode == "P":
            image = image.convert("RGBA")
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if image.mode in _ALPHA_MODES else "RGB")
        array = np.asarray(image)
    try:
        return check_trimap(array)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def _to_uint8(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array)
    if array.dtype == np.uint8:
        return array
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"cannot save array of dtype {array.dtype}; use float in [0, 1] or uint8")
    return np.round(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8)


def _new_file_mode(path: Path) -> int:
    """Permissions for ``path``: those of the file it replaces, else 0666 minus the umask."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        with _UMASK_LOCK:
            umask = os.umask(0o022)
            os.umask(umask)
        return 0o666 & ~umask


def save_image(path, array) -> None:
    """Save a float ``[0, 1]`` (or uint8) array as an image file, atomically.

    ``(h, w)`` is saved as gray, ``(h, w, 3)`` as RGB and ``(h, w, 4)`` as RGBA. The file is
    written to a temporary name in the same directory and renamed, so an error or an
    interruption never leaves a partial file at ``path``.
    """
    from PIL import Image

    path = Path(path)
    array = _to_uint8(array)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))):
        raise ValueError(
            f"cannot save array of shape {array.shape}; expected (h, w), (h, w, 3) or (h, w, 4)"
        )
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(f"{path}: output directory {directory} does not exist")
    image = Image.fromarray(array)
    suffix = path.suffix or ".png"
    file_format = Image.registered_extensions().get(suffix.lower())
    if file_format is None:
        raise ValueError(
            f"{path}: unknown image file extension {suffix!r}; use .png, .tif, .jpg ..."
        )
    if file_format == "JPEG" and image.mode == "RGBA":
        raise ValueError(
            f"{path}: JPEG cannot store an alpha channel; save the cutout as .png or .tif"
        )
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
            image.save(handle, format=file_format)
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        os.chmod(temporary, _new_file_mode(path))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
