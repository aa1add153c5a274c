"""PyMatting's ``pymatting.util.util``: trimaps, images, files and small array helpers."""

from __future__ import annotations

import functools
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from vecmatte._arrays import as_float, check_same_size
from vecmatte.compat.pymatting._common import (
    PyMattingAssertionError,
    PyMattingKeyError,
    PyMattingOSError,
)
from vecmatte.trimap import check_trimap

__all__ = [
    "Timer",
    "apply_to_channels",
    "blend",
    "div_round_up",
    "fix_trimap",
    "grid_coordinates",
    "isiterable",
    "load_image",
    "mat_vec_dot",
    "normalize",
    "normalize_rows",
    "remove_background_bicolor",
    "row_sum",
    "sanity_check_image",
    "save_image",
    "sparse_conv_matrix",
    "sparse_conv_matrix_with_offsets",
    "stack_images",
    "trimap_split",
    "vec_vec_dot",
    "vec_vec_outer",
    "weights_to_laplacian",
]

_PIL_FILTERS = ("bicubic", "bilinear", "box", "hamming", "lanczos", "nearest", "none")


def trimap_split(
    trimap: ArrayLike,
    flatten: bool = True,
    bg_threshold: float = 0.1,
    fg_threshold: float = 0.9,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split a trimap like PyMatting: ``(is_fg, is_bg, is_known, is_unknown)``.

    Foreground is ``trimap >= fg_threshold`` and background ``trimap <= bg_threshold``
    (PyMatting's inclusive thresholds; vecmatte's own :func:`vecmatte.trimap_split` is strict).
    uint8/uint16 trimaps are scaled to [0, 1] first.

    Returns
    -------
    is_fg, is_bg, is_known, is_unknown : ndarray of bool
        Flat ``(h * w,)`` arrays with ``flatten=True`` (the default), else in the trimap's
        shape (``(h, w)``, ``(h, w, 1)`` or flat) and memory order, as PyMatting.

    Raises
    ------
    ValueError
        If no pixel is background, or none is foreground (checked in that order, as PyMatting).
    """
    array = trimap if isinstance(trimap, np.ndarray) else None
    if np.ndim(trimap) == 1:  # a flat trimap, as PyMatting splits it
        values = check_trimap(np.asarray(trimap)[np.newaxis]).ravel()
    else:
        values = check_trimap(trimap)
    if flatten:
        values = values.ravel()
    elif array is not None and array.size == values.size:  # not an RGB trimap, averaged
        values = values.reshape(array.shape)
        if array.flags.f_contiguous and not array.flags.c_contiguous:
            values = np.asfortranarray(values)  # comparisons keep the order of their input
    is_fg = values >= fg_threshold
    is_bg = values <= bg_threshold
    if not is_bg.any():
        raise ValueError(
            f"Trimap did not contain background values (values <= {bg_threshold:f}); "
            "mark some background pixels in black"
        )
    if not is_fg.any():
        raise ValueError(
            f"Trimap did not contain foreground values (values >= {fg_threshold:f}); "
            "mark some foreground pixels in white"
        )
    is_known = is_fg | is_bg
    return is_fg, is_bg, is_known, ~is_known


def _to_floats_if_mixed(arrays: list[np.ndarray], name: str) -> list[np.ndarray]:
    """Scale integer arrays to [0, 1] when they are combined with float arrays, in the float
    arrays' type: NumPy's concatenation (PyMatting's) keeps float32 beside booleans and
    uint8 (float32 with float64 is float64)."""
    if all(array.dtype.kind == "f" for array in arrays) or len({a.dtype for a in arrays}) <= 1:
        return arrays  # floats of any widths: the concatenation converts them exactly
    floats = [array.dtype for array in arrays if array.dtype.kind == "f"]
    dtype = np.result_type(*floats) if floats else np.float64
    # Float arrays are left as they are: the concatenation converts them (exactly) to
    # ``dtype``; through as_float a float32 image was copied to float64 and back.
    return [
        array if array.dtype.kind == "f" else as_float(array, name).astype(dtype, copy=False)
        for array in arrays
    ]


def stack_images(*images: ArrayLike) -> np.ndarray:
    """Concatenate images along the channel axis; ``(h, w)`` arrays become one channel.

    Same as PyMatting's, except that integer images stacked with float images are first
    scaled to [0, 1] (uint8 by 255), so ``stack_images(foreground, uint8_alpha)`` is a valid
    RGBA image instead of one with alpha in [0, 255].
    """
    arrays = [np.asarray(image) for image in images]
    # The names and the checks' calls only when something is wrong: on a 32 x 32 RGBA stack
    # they took a quarter of PyMatting's time for the whole call.
    if any(array.ndim not in (2, 3) for array in arrays) or len({a.shape[:2] for a in arrays}) > 1:
        names = [f"images[{i}]" for i in range(len(arrays))]
        for array, name in zip(arrays, names, strict=True):
            if array.ndim not in (2, 3):
                raise ValueError(f"{name} has shape {array.shape}; expected (h, w) or (h, w, c)")
        _check_same_size(arrays, names)
    arrays = [array if array.ndim == 3 else array[:, :, np.newaxis] for array in arrays]
    return _concatenated(_to_floats_if_mixed(arrays, "image"))


# Pixels from which stack_images copies channel by channel (64 x 64: 0.63-0.79x PyMatting's
# time, against 1.12-1.14x for np.concatenate).
_CHANNELWISE_PIXELS = 2048


def _concatenated(arrays: list[np.ndarray]) -> np.ndarray:
    """``np.concatenate(arrays, axis=2)`` of ``(h, w, c)`` arrays of one height and width,
    channel by channel in blocks of rows: one long strided loop per channel instead of
    NumPy's loops of ``c`` values (0.45x the time of a (128, 128, 3) and a (128, 128)
    concatenation, 0.6x at 512 x 512), each block's output still in cache for the next
    channel."""
    if (
        len(arrays) < 2
        or arrays[0].shape[0] * arrays[0].shape[1] < _CHANNELWISE_PIXELS
        or not all(array.flags.c_contiguous for array in arrays)
    ):
        # NumPy's own result: its error for no image, its memory order for Fortran-ordered
        # images (the order of the inputs), which a program may rely on; and on small images
        # its one call beats the copies' Python (1.4x PyMatting's time against 1.5x at 32 x 32).
        return np.concatenate(arrays, axis=2)
    h, w = arrays[0].shape[:2]
    channels = sum(array.shape[2] for array in arrays)
    stacked = np.empty((h, w, channels), np.result_type(*arrays))
    rows = max(1, 2**18 // (stacked.itemsize * channels * w))
    for top in range(0, h, rows):
        block, first = slice(top, top + rows), 0
        for array in arrays:
            for channel in range(array.shape[2]):
                stacked[block, :, first + channel] = array[block, :, channel]
            first += array.shape[2]
    return stacked


def _check_same_size(arrays: list[np.ndarray], names: list[str]) -> None:
    """One line naming the images whose height and width differ, instead of NumPy's
    concatenation or broadcasting error. Arrays of fewer than 2 dimensions (a colour, a
    number) are left to broadcasting."""
    images = [(a, n) for a, n in zip(arrays, names, strict=True) if a.ndim >= 2]
    if not images:
        return
    first, first_name = images[0]
    for array, name in images[1:]:
        check_same_size(first, array, name, first_name)


def blend(foreground: ArrayLike, background: ArrayLike, alpha: ArrayLike) -> np.ndarray:
    """Composite ``alpha * foreground + (1 - alpha) * background`` (PyMatting's ``blend``).

    Integer inputs are scaled to [0, 1] first (PyMatting would mix 0-255 values with alpha
    fractions); ``(h, w)`` and ``(h, w, 1)`` alphas are both accepted.
    """
    arrays = [np.asarray(foreground), np.asarray(background), np.asarray(alpha)]
    if any(np.issubdtype(array.dtype, np.integer) for array in arrays):
        arrays = [
            as_float(array, name)
            for array, name in zip(arrays, ("foreground", "background", "alpha"), strict=True)
        ]
    foreground, background, alpha = arrays
    _check_same_size(arrays, ["foreground", "background", "alpha"])
    if alpha.ndim == 2:
        alpha = alpha[:, :, np.newaxis]
    return alpha * foreground + (1 - alpha) * background


def load_image(
    path: str | os.PathLike,
    mode: str | None = None,
    size: float | tuple[int, int] | None = None,
    resample: str = "box",
) -> np.ndarray:
    """Load an image file as floats in [0, 1] (PyMatting's ``load_image``).

    Parameters
    ----------
    path : str or path-like
    mode : str, optional
        ``"GRAY"`` (or ``"L"``), ``"RGB"``, or any Pillow mode to convert to; None keeps the
        file's channels (``(h, w)`` for gray, ``(h, w, 4)`` for RGBA).
    size : float or (int, int), optional
        Scale factor, or ``(width, height)`` to resize to.
    resample : str, optional
        Pillow filter name for resizing: box (default), bicubic, bilinear, hamming, lanczos,
        nearest.

    Returns
    -------
    ndarray
        Float64 in [0, 1] (float32 for Pillow's mode ``"F"``, as PyMatting); 16-bit files
        are scaled by 65535, and files of floats are kept as they are (PyMatting divides
        every file by 255).

    Raises
    ------
    FileNotFoundError, PIL.UnidentifiedImageError
        As PyMatting (both through Pillow).
    PyMattingKeyError
        (a ``KeyError``, as PyMatting, and a ``ValueError``) for an unknown ``resample``.
    """
    from PIL import Image

    if size is not None and str(resample).lower() not in _PIL_FILTERS:
        raise PyMattingKeyError(
            f"unknown resample filter {resample!r}; use one of {', '.join(_PIL_FILTERS)}"
        )
    with Image.open(path) as image:
        # The file's samples set the scale, also when converted to "F" or "I" below.
        scale = _scale(image)
        if mode is not None:
            mode = mode.upper()
            image = image.convert("L" if mode == "GRAY" else mode)
        if size is not None:
            if np.ndim(size) == 0:
                size = (int(image.width * size), int(image.height * size))
            name = str(resample).upper()
            filter_ = getattr(Image.Resampling, "NEAREST" if name == "NONE" else name)
            image = image.resize(tuple(size), filter_)
        array = np.asarray(image)
        if image.mode in ("F", "I") or image.mode.startswith("I;16"):
            # Converted to floats or wide integers: the values are the file's samples.
            return array / np.float32(scale) if image.mode == "F" else array / float(scale)
        return array / 255.0  # 8-bit modes (Pillow brought 16-bit samples to 0-255)


def _scale(image) -> float:
    """Largest sample value of a Pillow image's mode: 255, 65535 (16 bits), 1 (floats)."""
    if image.mode == "F":
        return 1.0
    if image.mode.startswith("I;16"):
        return 65535.0
    if image.mode == "I":
        # 32-bit integers: Pillow reads 16-bit PNGs so; 8-bit values are kept at 255
        return 65535.0 if np.asarray(image).max(initial=0) > 255 else 255.0
    return 255.0


# Formats whose Pillow writer raises OSError for an RGBA image (PyMatting's save then does).
_NO_RGBA = frozenset({"JPEG", "MPO"})


def _pillow_format(path) -> str | None:
    from PIL import Image

    return Image.registered_extensions().get(os.path.splitext(os.fspath(path))[1].lower())


def save_image(path: str | os.PathLike, image: ArrayLike, make_directory: bool = True) -> None:
    """Save a float [0, 1] or uint8 image (PyMatting's ``save_image``).

    Written atomically by :func:`vecmatte.save_image` (a temporary file renamed into place),
    with float values rounded to the nearest 8-bit level (PyMatting truncates). The parent
    directories are created when ``make_directory`` is true, as in PyMatting.

    Raises
    ------
    PyMattingAssertionError
        (an ``AssertionError`` as PyMatting's ``assert`` on the dtype, and a ``ValueError``)
        for dtypes other than float, uint8, uint16 and bool, before any folder is made.
    PyMattingOSError
        (an ``OSError`` as Pillow's "cannot write mode RGBA as JPEG", and a ``ValueError``)
        for four channels in a JPEG file.
    ValueError
        For shapes that are not an image, and for formats that would lose an alpha channel
        (BMP ...) or that vecmatte does not write.
    """
    from vecmatte.io import save_image as save

    image = np.asarray(image)
    if image.dtype not in (bool, np.uint8, np.uint16) and not np.issubdtype(
        image.dtype, np.floating
    ):
        raise PyMattingAssertionError(
            f"cannot save an array of dtype {image.dtype}; use floats in [0, 1], uint8 or "
            "uint16 (e.g. array.astype(np.uint8) if it holds 0 ... 255)"
        )
    if image.ndim == 3 and image.shape[2] == 4 and _pillow_format(path) in _NO_RGBA:
        raise PyMattingOSError(
            f"{os.fspath(path)}: {_pillow_format(path)} cannot store an alpha channel; save the "
            "cutout as .png or .tif"
        )
    if np.issubdtype(image.dtype, np.floating):
        image = np.clip(image, 0.0, 1.0)  # as PyMatting; vecmatte.save_image refuses instead
    if make_directory:
        directory = os.path.dirname(os.fspath(path))
        if directory:
            os.makedirs(directory, exist_ok=True)
    save(Path(path), image)


# --------------------------------------------------------------------------------------------
# array helpers


def apply_to_channels(single_channel_func: Callable) -> Callable:
    """Turn a function of one ``(h, w)`` channel into one of ``(h, w, ...)`` images.

    The wrapped function is called on a copy of each channel (trailing axes flattened) and
    the results are stacked along the third axis, then reshaped to the trailing axes;
    ``(h, w)`` inputs go straight through. As PyMatting's ``apply_to_channels``.
    """

    @functools.wraps(single_channel_func)
    def multi_channel_func(image, *args, **kwargs):
        if image.ndim == 2:
            return single_channel_func(image, *args, **kwargs)
        shape = image.shape
        channels = image.reshape(shape[0], shape[1], -1)
        result = np.stack(
            [
                single_channel_func(channels[:, :, c].copy(), *args, **kwargs)
                for c in range(channels.shape[2])
            ],
            axis=2,
        )
        return result.reshape(*result.shape[:2], *shape[2:])

    return multi_channel_func


def vec_vec_dot(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Dot products over the last axis: ``sum_i a[..., i] b[..., i]``."""
    return np.einsum("...i,...i->...", a, b)


def mat_vec_dot(A: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Matrix-vector products over the last axes: ``sum_j A[..., i, j] b[..., j]``."""
    return np.einsum("...ij,...j->...i", A, b)


def vec_vec_outer(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Outer products over the last axis: ``a[..., i] b[..., j]``."""
    return np.einsum("...i,...j", a, b)


def normalize(values: ArrayLike) -> np.ndarray:
    """Scale ``values`` linearly onto [0, 1] (minimum to 0, maximum to 1)."""
    values = np.asarray(values)
    low, high = values.min(), values.max()
    return (values - low) / (high - low)


def fix_trimap(
    trimap: ArrayLike, lower_threshold: float = 0.1, upper_threshold: float = 0.9
) -> np.ndarray:
    """Trimap with values 0 (below ``lower_threshold``), 1 (above ``upper_threshold``), 0.5.

    Returns
    -------
    ndarray
        The trimap's shape and memory order; float32 for float32 trimaps, else float64
        (integer and bool trimaps too, as PyMatting).

    Raises
    ------
    ValueError
        If a threshold is outside [0, 1] or ``lower_threshold > upper_threshold`` (as PyMatting).
    """
    for name, value in (("lower", lower_threshold), ("upper", upper_threshold)):
        if not 0 <= value <= 1:
            raise ValueError(f"Invalid {name} threshold {value!r}: it must be in [0, 1]")
    if lower_threshold > upper_threshold:
        raise ValueError(
            f"Lower threshold must be smaller than upper threshold, got {lower_threshold!r} > "
            f"{upper_threshold!r}"
        )
    trimap = np.asarray(trimap)
    # 0.5 * ones_like, as PyMatting: floats for integer and bool trimaps (full_like(uint8, 0.5)
    # would make every unknown pixel 0, background), float32 for float32.
    fixed = 0.5 * np.ones_like(trimap)
    fixed[trimap > upper_threshold] = 1
    fixed[trimap < lower_threshold] = 0
    return fixed


def remove_background_bicolor(
    image: ArrayLike, fg_color: ArrayLike, bg_color: ArrayLike
) -> np.ndarray:
    """RGBA cutout of an image made of two colours (a logo on a plain background).

    Alpha is the projection of each colour onto the segment from ``bg_color`` to
    ``fg_color``, clipped to [0, 1]; the foreground colour solves
    ``I = alpha F + (1 - alpha) B`` (0 where alpha is 0), clipped to [0, 1].

    Returns
    -------
    ndarray, shape (h, w, 4)
        Of the inputs' float dtype (float64 for integer inputs, which PyMatting refuses).
    """
    image, fg_color, bg_color = (np.asarray(a) for a in (image, fg_color, bg_color))
    # float32 inputs give float32, as PyMatting; integers are computed in float64
    dtype = np.result_type(image, fg_color, bg_color)
    if not np.issubdtype(dtype, np.floating):
        dtype = np.float64
    image, fg_color, bg_color = (a.astype(dtype, copy=False) for a in (image, fg_color, bg_color))
    direction = fg_color - bg_color
    alpha = np.clip((image - bg_color) @ direction / (direction @ direction), 0.0, 1.0)
    a = alpha[:, :, np.newaxis]
    foreground = np.zeros_like(image)
    np.divide(image - (1.0 - a) * bg_color, a, out=foreground, where=a != 0.0)
    if image.ndim != 3:
        return np.dstack([np.clip(foreground, 0.0, 1.0), alpha])  # as before: fails as PyMatting
    # In the image's memory order, as PyMatting's np.dstack of arrays shaped like it.
    output = np.empty_like(image, shape=(*image.shape[:2], image.shape[2] + 1))
    np.clip(foreground, 0.0, 1.0, out=output[:, :, :-1])
    output[:, :, -1] = alpha
    return output


def isiterable(obj) -> bool:
    """Whether ``iter(obj)`` works."""
    try:
        iter(obj)
    except TypeError:
        return False
    return True


def div_round_up(x: int, n: int) -> int:
    """``ceil(x / n)`` for integers."""
    return -(-x // n)


def sanity_check_image(image: np.ndarray) -> None:
    """Warn (``UserWarning``) if ``image`` is not a float ``(h, w, 3)`` array in [0, 1]."""
    image = np.asarray(image)
    problems = []
    if image.ndim != 3 or image.shape[2] != 3:
        problems.append(f"expected an RGB image of shape (h, w, 3), got shape {image.shape}")
    if image.size and (image.min() < 0.0 or image.max() > 1.0):
        problems.append(f"values should be in [0, 1], got [{image.min()}, {image.max()}]")
    if image.dtype not in (np.float32, np.float64):
        problems.append(f"dtype should be float32 or float64, got {image.dtype}")
    for problem in problems:
        warnings.warn(f"image: {problem}", UserWarning, stacklevel=3)


def row_sum(A) -> np.ndarray:
    """Sum of each row of a dense or sparse matrix."""
    return A.dot(np.ones(A.shape[1], A.dtype))


def normalize_rows(A, threshold: float = 0.0):
    """Divide each row by its sum (rows summing below ``threshold`` are left as they are)."""
    import scipy.sparse

    sums = row_sum(A)
    sums[sums < threshold] = 1.0
    return scipy.sparse.diags(1.0 / sums).dot(A)


def weights_to_laplacian(W, normalize: bool = True, regularization: float = 0.0):
    """Graph Laplacian ``diag(reg + rowsum(W')) - W'`` of weights ``W``.

    ``W' = D^-1 W`` (rows normalized) with ``normalize=True``, giving PyMatting's random-walk
    Laplacian ``(1 + reg) I - D^-1 W``, which is not symmetric; else ``W' = W``.
    For a sparse ``W`` with ``normalize=True`` this is
    :func:`vecmatte.laplacians.random_walk.weights_to_laplacian`.
    """
    import scipy.sparse

    # (vecmatte's function needs an entry to normalize; without any, PyMatting's formula)
    if normalize and scipy.sparse.issparse(W) and W.nnz:
        from vecmatte.laplacians.random_walk import weights_to_laplacian as to_laplacian

        L = to_laplacian(W, regularization=regularization, form="random_walk")
        # float32 weights give a float32 Laplacian, as PyMatting's (vecmatte's is float64)
        return L.astype(np.float32) if W.dtype == np.float32 else L
    if normalize:
        W = normalize_rows(W)
    return scipy.sparse.diags(regularization + row_sum(W)) - W


def grid_coordinates(
    width: int, height: int, flatten: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates ``x, y`` of a ``height x width`` grid, ``(h, w)`` or flat row-major."""
    x, y = np.meshgrid(np.arange(width), np.arange(height))
    if flatten:
        return x.ravel(), y.ravel()
    return x, y


def sparse_conv_matrix_with_offsets(
    width: int, height: int, kernel: ArrayLike, dx: ArrayLike, dy: ArrayLike
):
    """Matrix of ``sum_k kernel_k I[y + dy_k, x + dx_k]`` on flat images (borders clamped).

    Returns
    -------
    scipy.sparse.csr_matrix, shape (h*w, h*w)
    """
    import scipy.sparse

    weights = np.asarray(kernel, dtype=np.float64).ravel()
    x, y = grid_coordinates(width, height, flatten=True)
    # as many offsets as the shortest of the three lists gives, as PyMatting's zip
    count = min(len(weights), len(dx), len(dy))
    weights = weights[:count]
    dx = np.asarray(dx)[:count, np.newaxis]
    dy = np.asarray(dy)[:count, np.newaxis]
    columns = np.clip(x + dx, 0, width - 1) + np.clip(y + dy, 0, height - 1) * width
    rows = np.broadcast_to(x + y * width, columns.shape)
    values = np.broadcast_to(weights[: len(columns), np.newaxis], columns.shape)
    n = width * height
    return scipy.sparse.csr_matrix((values.ravel(), (rows.ravel(), columns.ravel())), (n, n))


def sparse_conv_matrix(width: int, height: int, kernel: np.ndarray):
    """Matrix of the correlation with ``kernel`` centred on each pixel (borders clamped)."""
    kernel_height, kernel_width = kernel.shape
    x, y = grid_coordinates(kernel_width, kernel_height, flatten=True)
    return sparse_conv_matrix_with_offsets(
        width, height, kernel, x - kernel_width // 2, y - kernel_height // 2
    )


class Timer:
    """Stopwatch: ``stop(message)`` returns (and, with a message, reports on stderr) the time."""

    def __init__(self) -> None:
        self.t = time.perf_counter()

    def stop(self, message: str | None = None) -> float:
        delta_time = time.perf_counter() - self.t
        if message is not None:
            print(message, f" - {delta_time:f} seconds", file=sys.stderr)
        self.t = time.perf_counter()
        return delta_time
