"""Cutouts and composites from an alpha matte."""

from __future__ import annotations

import numpy as np

from vecmatte._validation import check_gray, check_image, check_same_size

__all__ = ["cutout"]


def cutout(image, alpha, foreground=None) -> np.ndarray:
    """RGBA cutout: the foreground colours with alpha as the fourth channel.

    Parameters
    ----------
    image : array_like, shape (h, w, 3)
        The photograph, floats in [0, 1] or uint8/uint16.
    alpha : array_like, shape (h, w)
        Alpha matte in [0, 1].
    foreground : array_like, shape (h, w, 3), optional
        Estimated foreground colours; without it the photograph's colours are used, which
        keep some of the old background in semi-transparent pixels.

    Returns
    -------
    ndarray, shape (h, w, 4)
        Float64 RGBA in [0, 1] (straight, not premultiplied, alpha).
    """
    image = check_image(image)
    alpha = check_gray(alpha, "alpha")
    check_same_size(image, alpha, "alpha")
    colours = image if foreground is None else check_image(foreground, "foreground")
    check_same_size(image, colours, "foreground")
    return np.concatenate([colours, alpha[:, :, None]], axis=2)
