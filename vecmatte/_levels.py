"""Float arrays as the 8- or 16-bit levels a file holds, checked, never clipped silently."""

from __future__ import annotations

import numpy as np

from vecmatte._arrays import check_not_masked

__all__ = ["floats_to_uint8", "floats_to_uint16", "levels_to_write"]


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


def levels_to_write(array, bit_depth: int | None = None) -> np.ndarray:
    """The array to write: uint8 (from floats in [0, 1], bool or uint8) or uint16.

    Floats become ``bit_depth`` levels (8 when None); integer arrays keep their own depth.
    A masked array with masked values is refused (``np.asarray`` drops the mask).
    """
    check_not_masked(array, "array")
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
    if bit_depth == 16:
        return floats_to_uint16(array)
    return floats_to_uint8(array)


# Rows converted at a time: about 2**20 values (8 MB of float64 scratch), so a 10 MP RGBA
# costs its uint8 result and one small block instead of three full-size float temporaries.
_CHUNK_VALUES = 1 << 20


def floats_to_uint16(array) -> np.ndarray:
    """Floats in [0, 1] as uint16 levels ``round(65535 x)``, a block of rows at a time.

    Checked and converted as :func:`floats_to_uint8` does (NaN, infinity and values outside
    [0, 1] are refused, never clipped); each value is read back within ``0.5 / 65535``.

    Parameters
    ----------
    array : array_like
        Floats in [0, 1].

    Returns
    -------
    ndarray of uint16
        The levels, same shape.
    """
    return _to_levels(array, np.uint16, None)


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
    return _to_levels(array, np.uint8, out)


def _to_levels(array, dtype, out: np.ndarray | None) -> np.ndarray:
    """Floats in [0, 1] as levels of the unsigned integer ``dtype``, checked, in row blocks."""
    top = float(np.iinfo(dtype).max)
    check_not_masked(array, "array")
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
        out = np.empty(array.shape, dtype=dtype)
    for start in blocks:
        block = np.multiply(array[start : start + rows], top)
        np.clip(block, 0.0, top, out=block)
        np.rint(block, out=block)
        out[start : start + rows] = block
    return out
