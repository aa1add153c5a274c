"""Trimaps: checking them and splitting them into foreground, background and unknown."""

from __future__ import annotations

import numpy as np

from vecmatte._validation import check_gray

__all__ = ["check_trimap", "trimap_split"]

FOREGROUND_THRESHOLD = 0.9
BACKGROUND_THRESHOLD = 0.1


def check_trimap(trimap, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Return ``trimap`` as a float64 ``(h, w)`` array in [0, 1].

    Integer trimaps are scaled by their dtype's range (uint8 by 255, uint16 by 65535); RGB
    or RGBA trimaps must be gray (their first channel is used after checking the channels
    agree).
    """
    array = np.asarray(trimap)
    if array.ndim == 3 and array.shape[2] in (3, 4):
        rgb = array[:, :, :3]
        if not (np.array_equal(rgb[:, :, 0], rgb[:, :, 1])
                and np.array_equal(rgb[:, :, 0], rgb[:, :, 2])):
            raise ValueError("trimap has colour channels that differ; a trimap must be gray")
        array = rgb[:, :, 0]
    array = check_gray(array, "trimap")
    if shape is not None and array.shape != tuple(shape[:2]):
        raise ValueError(
            f"trimap has shape {array.shape} but image has shape {tuple(shape[:2])}; "
            "they must have the same height and width"
        )
    return array


def trimap_split(trimap: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boolean masks ``(foreground, background, unknown)`` of a [0, 1] trimap.

    Foreground is ``> 0.9``, background ``< 0.1``, everything else unknown; the thresholds
    also absorb JPEG noise around 0 and 1.
    """
    is_fg = trimap > FOREGROUND_THRESHOLD
    is_bg = trimap < BACKGROUND_THRESHOLD
    return is_fg, is_bg, ~(is_fg | is_bg)
