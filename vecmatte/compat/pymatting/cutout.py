"""PyMatting's ``cutout`` (``pymatting.cutout``): image file + trimap file -> RGBA file."""

from __future__ import annotations

import os

from vecmatte.compat.pymatting.alpha import estimate_alpha_cf
from vecmatte.compat.pymatting.foreground import estimate_foreground_ml
from vecmatte.compat.pymatting.util import load_image, save_image, stack_images

__all__ = ["cutout"]


def cutout(
    image_path: str | os.PathLike, trimap_path: str | os.PathLike, cutout_path: str | os.PathLike
) -> None:
    """Image file + trimap file -> RGBA cutout file (PyMatting's ``cutout``).

    Closed-form alpha, multi-level foreground, then ``stack_images`` and ``save_image``, as in
    PyMatting. vecmatte's own :func:`vecmatte.cutout` works on arrays instead.

    Raises
    ------
    ValueError
        If the image and the trimap differ in size, the trimap has no foreground or
        background, or ``cutout_path`` names one of the inputs (PyMatting would overwrite it).
    """
    from vecmatte.io import check_output_paths

    check_output_paths(
        {"cutout_path": cutout_path},
        {"image_path": image_path, "trimap_path": trimap_path},
        writable=False,
    )
    image = load_image(image_path, "RGB")
    trimap = load_image(trimap_path, "GRAY")
    if image.shape[:2] != trimap.shape[:2]:
        raise ValueError(
            f"Input image and trimap must have same size: image is {image.shape[:2]}, "
            f"trimap is {trimap.shape[:2]}"
        )
    alpha = estimate_alpha_cf(image, trimap)
    foreground = estimate_foreground_ml(image, alpha)
    save_image(cutout_path, stack_images(foreground, alpha))
