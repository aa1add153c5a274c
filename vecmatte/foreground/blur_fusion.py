"""Blur-fusion foreground estimation (Forte and Pitie, ICIP 2021).

"Approximate Fast Foreground Colour Estimation" (Marco Forte and Francois Pitie, IEEE ICIP
2021). One pass, given estimates ``F`` and ``B`` and a box filter ``blur`` of width ``r``:

.. math:: \\hat F = \\frac{\\mathrm{blur}(\\alpha F)}{\\mathrm{blur}(\\alpha) + 10^{-5}}, \\quad
          \\hat B = \\frac{\\mathrm{blur}((1 - \\alpha) B)}{1 - \\mathrm{blur}(\\alpha) + 10^{-5}},

.. math:: F' = \\hat F + \\alpha \\left(I - \\alpha \\hat F - (1 - \\alpha) \\hat B\\right)

(clipped to [0, 1]): the local mean foreground and background colours, then the compositing
residual given back to the foreground in proportion to alpha. The authors' code runs two
passes, ``F = B = I`` with ``r = 90`` and then the result with ``r = 6`` (its ``cv2.blur``
kernel widths), passing ``B = hat B`` of the first pass on. The authors return ``F`` only;
the background returned here is the last pass's ``hat B + (1 + alpha) residual``, the
correction that makes ``alpha F + (1 - alpha) B`` reproduce the photograph wherever neither
is clipped (``B = I`` where alpha is 0).

Box filters are :func:`scipy.ndimage.uniform_filter` (mirrored borders like ``cv2.blur``), in
float32, whose cost does not depend on the width.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

_F32 = np.float32
_EPSILON = _F32(1e-5)
DEFAULT_SIZES = (90, 6)
# float32 arrays of a pass, in pixels x channels: image, alpha and its complement (5), two
# estimates in and out (4 x 3), the blurred products (2 x 3), scipy's filter buffer (3).
_BYTES_PER_PIXEL = 4 * 26


def _box(array: np.ndarray, size: int, out: np.ndarray) -> np.ndarray:
    from scipy.ndimage import uniform_filter

    sizes = (size, size) + (1,) * (array.ndim - 2)
    return uniform_filter(array, size=sizes, mode="mirror", output=out)


def _fuse(image, alpha, rest, foreground, background, size, final):
    """One pass; returns the new foreground and the (final: corrected) background."""
    a = alpha[:, :, None]
    r = rest[:, :, None]
    mean_alpha = _box(alpha, size, np.empty_like(alpha))
    weighted = np.multiply(foreground, a)
    mean_f = _box(weighted, size, np.empty_like(weighted))
    mean_alpha += _EPSILON
    mean_f /= mean_alpha[:, :, None]
    np.multiply(background, r, out=weighted)
    mean_b = _box(weighted, size, weighted)
    np.subtract(1 + 2 * _EPSILON, mean_alpha, out=mean_alpha)  # 1 - blur(alpha) + 1e-5
    mean_b /= mean_alpha[:, :, None]
    del mean_alpha
    # residual = I - alpha hat F - (1 - alpha) hat B
    residual = np.multiply(a, mean_f)
    np.subtract(image, residual, out=residual)
    residual -= r * mean_b
    new_f = mean_f
    new_f += a * residual
    np.clip(new_f, 0.0, 1.0, out=new_f)
    if final:
        residual *= 1 + a
        mean_b += residual
        np.clip(mean_b, 0.0, 1.0, out=mean_b)
    return new_f, mean_b


def estimate(
    image: np.ndarray,
    alpha: np.ndarray,
    *,
    blur_sizes: tuple[int, ...] = DEFAULT_SIZES,
    background: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Foreground (and background) colours by blur-fusion; see the module notes.

    ``image`` (h, w, 3) and ``alpha`` (h, w) are validated floats; ``blur_sizes`` the box
    widths of the passes. Returns float64 ``(F, B)``, ``B`` None unless ``background``.
    """
    image32 = image.astype(_F32)
    alpha32 = alpha.astype(_F32)
    rest = 1 - alpha32
    foreground = background_estimate = image32
    for index, size in enumerate(blur_sizes):
        final = index == len(blur_sizes) - 1
        foreground, background_estimate = _fuse(
            image32, alpha32, rest, foreground, background_estimate, size, final
        )
        if progress is not None:
            progress(index + 1, len(blur_sizes))
    del image32, alpha32, rest
    result_f = foreground.astype(np.float64)
    del foreground
    result_b = background_estimate.astype(np.float64) if background else None
    return result_f, result_b


def memory_bytes(shape: tuple[int, int], *, background: bool = True) -> int:
    """Peak extra bytes of :func:`estimate` on an image of ``shape`` (an over-estimate)."""
    pixels = int(shape[0]) * int(shape[1])
    return pixels * (_BYTES_PER_PIXEL + 24 * (2 if background else 1))
