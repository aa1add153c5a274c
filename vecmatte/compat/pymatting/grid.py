"""PyMatting's image grids (``pymatting.util.util``'s ``make_grid``, ``show_images``,
``to_rgb8``): the functions its example scripts show results with."""

from __future__ import annotations

import numpy as np

from vecmatte.compat.pymatting._common import PyMattingAssertionError
from vecmatte.compat.pymatting.util import stack_images

__all__ = ["make_grid", "show_images", "to_rgb8"]


def to_rgb8(image: np.ndarray) -> np.ndarray:
    """An image as 8-bit RGB, ``(h, w, 3)`` uint8 (PyMatting's ``to_rgb8``).

    Floats are scaled by 255, clipped and truncated, as PyMatting; gray and one-channel images
    are repeated into three channels, RGBA images lose their alpha.

    Raises
    ------
    PyMattingAssertionError
        (an ``AssertionError`` as PyMatting, and a ``ValueError``) for an array that is not 2-D
        or 3-D, or whose dtype is not uint8, float32 or float64.
    ValueError
        For a number of channels other than 1, 3 or 4.
    """
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise PyMattingAssertionError(
            f"image has shape {image.shape}; expected (h, w) or (h, w, c)"
        )
    if image.dtype not in (np.uint8, np.float32, np.float64):
        raise PyMattingAssertionError(
            f"image has dtype {image.dtype}; expected uint8, float32 or float64"
        )
    if image.dtype != np.uint8:
        image = np.clip(image * 255, 0, 255).astype(np.uint8)
    if image.ndim == 2:
        return np.stack([image] * 3, axis=2)
    if image.shape[2] == 1:
        return np.concatenate([image] * 3, axis=2)
    if image.shape[2] == 3:
        return image
    if image.shape[2] == 4:
        return image[:, :, :3]
    raise ValueError(f"image has shape {image.shape}; expected 1, 3 or 4 channels")


def make_grid(
    images: list[np.ndarray | None],
    nx: int | None = None,
    ny: int | None = None,
    dtype: np.dtype | type | None = None,
) -> np.ndarray | None:
    """Images side by side on a grid of ``nx`` columns and ``ny`` rows (PyMatting's).

    Each cell is as large as the largest image; images are placed at its top left, ``None``
    leaves a cell empty (zeros). Gray and one-channel images are repeated to the largest
    number of channels, RGB images get an opaque alpha next to RGBA ones.

    Parameters
    ----------
    images : list of ndarray or None
        Float32 or float64 images ``(h, w)`` or ``(h, w, c)``. Not modified (PyMatting
        replaces the list's entries by their converted images).
    nx, ny : int, optional
        Columns and rows; by default a square grid of ``ceil(sqrt(n))`` columns. Giving one
        of them sets the other (PyMatting fails with ``TypeError`` there).
    dtype : dtype, optional
        Of the result; by default the first image's.

    Returns
    -------
    ndarray or None
        ``(ny * h, nx * w)`` or ``(ny * h, nx * w, c)``; None for an empty list, as PyMatting.

    Raises
    ------
    PyMattingAssertionError
        (an ``AssertionError`` as PyMatting, and a ``ValueError``) for an image whose dtype is
        not float32 or float64.
    """
    for index, image in enumerate(images):
        if image is not None and image.dtype not in (np.float32, np.float64):
            raise PyMattingAssertionError(
                f"images[{index}] has dtype {image.dtype}; make_grid takes float32 or float64"
            )
    images = list(images)
    n = len(images)
    if n == 0:
        return None
    if nx is None and ny is None:
        nx = int(np.ceil(np.sqrt(n)))
        ny = (n + nx - 1) // nx
    elif nx is None:
        nx = (n + ny - 1) // ny
    elif ny is None:
        ny = (n + nx - 1) // nx
    shapes = [image.shape for image in images if image is not None]
    h = max(shape[0] for shape in shapes)
    w = max(shape[1] for shape in shapes)
    d = max((shape[2] for shape in shapes if len(shape) > 2), default=1)
    if d > 1:
        for i, image in enumerate(images):
            if image is None:
                continue
            if image.ndim == 2:
                image = image[:, :, np.newaxis]
            if image.shape[2] == 1:
                image = np.concatenate([image] * d, axis=2)
            if image.shape[2] == 3 and d == 4:
                image = stack_images(image, np.ones(image.shape[:2], dtype=image.dtype))
            images[i] = image
    if dtype is None:
        dtype = next(image.dtype for image in images if image is not None)
    result = np.zeros((h * ny, w * nx, d), dtype=dtype)
    # one cell per image (not per pixel)
    for i, image in enumerate(images[: nx * ny]):
        if image is not None:
            y, x = divmod(i, nx)
            image = image.reshape(image.shape[0], image.shape[1], -1)
            result[y * h : y * h + image.shape[0], x * w : x * w + image.shape[1]] = image
    if result.shape[2] == 1:
        result = result[:, :, 0]
    return result


def show_images(images: list[np.ndarray | None]) -> None:
    """Show :func:`make_grid` of ``images`` in Pillow's image viewer (PyMatting's).

    Floats are scaled by 255, clipped and truncated to 8 bits, as PyMatting.
    """
    from PIL import Image

    grid = make_grid(images)
    grid = np.clip(grid * 255, 0, 255).astype(np.uint8)
    Image.fromarray(grid).show()
