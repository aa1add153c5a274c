"""Reading and writing images: conversion from files happens here, at the edge."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["load_image", "load_trimap", "save_image"]


def _open(path):
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a directory, not an image file")
    try:
        image = Image.open(path)
        image.load()
    except UnidentifiedImageError:
        raise ValueError(f"{path}: not an image file Pillow can read") from None
    except Image.DecompressionBombError as error:
        raise ValueError(f"{path}: {error}") from None
    except (OSError, SyntaxError) as error:
        raise ValueError(f"{path}: cannot read image ({error})") from None
    return image


def _to_array(image) -> np.ndarray:
    """Pixel array of a Pillow image, float64 in [0, 1], keeping 16-bit precision."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        scale = 65535.0 if array.max(initial=0) > 255 or image.mode.startswith("I;16") else 255.0
        return np.clip(array / scale, 0.0, 1.0)
    if image.mode == "F":
        return np.asarray(image, dtype=np.float64)
    array = np.asarray(image)
    if array.dtype == np.uint16:
        return array / 65535.0
    return array / 255.0


def load_image(path) -> np.ndarray:
    """Load an image file as a float64 ``(h, w, 3)`` RGB array in [0, 1].

    Gray and palette images are converted to RGB; an alpha channel is dropped.

    Raises
    ------
    FileNotFoundError, ValueError
        If the file does not exist or is not a readable image.
    """
    image = _open(path)
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        gray = _to_array(image)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if image.mode != "RGB":
        image = image.convert("RGB")
    return _to_array(image)


def load_trimap(path) -> np.ndarray:
    """Load a trimap (or any single-channel map) as a float64 ``(h, w)`` array in [0, 1]."""
    image = _open(path)
    if image.mode not in ("L", "I;16", "I;16B", "I;16L", "I", "F"):
        image = image.convert("L")
    return _to_array(image)


def _to_uint8(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array)
    if array.dtype == np.uint8:
        return array
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"cannot save array of dtype {array.dtype}; use float in [0, 1] or uint8")
    return np.round(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8)


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
        raise ValueError(f"cannot save array of shape {array.shape}; expected (h, w), (h, w, 3) or (h, w, 4)")
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(f"{path}: output directory {directory} does not exist")
    image = Image.fromarray(array)
    suffix = path.suffix or ".png"
    file_format = Image.registered_extensions().get(suffix.lower())
    if file_format is None:
        raise ValueError(f"{path}: unknown image file extension {suffix!r}; use .png, .tif, .jpg ...")
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            image.save(handle, format=file_format)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
