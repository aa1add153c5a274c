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

The image is processed a band of rows at a time (about a million pixels): each band is
computed with as many extra rows above and below as the passes' boxes reach (half of each
width, summed over the passes), which are then dropped, so the result is that of the whole
image (to float32 rounding of the box sums) while the working memory is that of one band,
about 100 bytes a pixel of it, besides the float64 results (24 bytes a pixel each). Measured
on a 1300 x 3872 image (same process, one core): the extra rows notwithstanding, 0.77x the
CPU time of the whole image at once (smaller arrays stay in cache), peak 340 MiB instead of
672 MiB (the results are 230 MiB of it), and the same F and B bit for bit.
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
# Output pixels of a band: its working arrays take ~100-150 MiB; at 2**21 the CPU time was
# 0.89x the whole image's, at 2**20 0.77x (the ~100 extra rows matter less than the cache).
_BAND_PIXELS = 1 << 20


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


def _reach(size: int) -> int:
    """Rows a box of width ``size`` reads on each side of a pixel (with a spare row)."""
    return size // 2 + 1


def _band_rows(shape: tuple[int, int], sizes: tuple[int, ...]) -> int:
    """Output rows of a band: ``_BAND_PIXELS`` of them, but at least 4 x the rows reached."""
    reach = sum(_reach(size) for size in sizes)
    return max(_BAND_PIXELS // max(int(shape[1]), 1), 4 * reach, 1)


def estimate(
    image: np.ndarray,
    alpha: np.ndarray,
    *,
    blur_sizes: tuple[int, ...] = DEFAULT_SIZES,
    background: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Foreground (and background) colours by blur-fusion; see the module notes.

    The work goes a band of rows at a time (module notes).

    Parameters
    ----------
    image : ndarray, shape (h, w, 3)
        The photograph, validated floats in [0, 1].
    alpha : ndarray, shape (h, w)
        The matte, validated floats in [0, 1].
    blur_sizes : tuple of int, optional
        The box widths of the passes.
    background : bool, optional
        Also estimate the background colours (default True).
    progress : callable, optional
        ``progress(done, total)``, called after each pass of each band.

    Returns
    -------
    foreground : ndarray, shape (h, w, 3)
        The foreground colours, float64.
    background : ndarray, shape (h, w, 3) or None
        The background colours, None unless ``background``.
    """
    h = image.shape[0]
    sizes = tuple(blur_sizes)
    # reach[k]: rows beyond a band whose pass-k results the later passes read.
    reach = [sum(_reach(size) for size in sizes[k + 1 :]) for k in range(len(sizes))]
    rows = _band_rows(image.shape, sizes)
    starts = range(0, h, rows)
    result_f = np.empty(image.shape, dtype=np.float64)
    result_b = np.empty(image.shape, dtype=np.float64) if background else None
    steps, done = len(starts) * len(sizes), 0
    for start in starts:
        stop = min(start + rows, h)
        # Rows [low, high) of the image that the first pass reads for this band; each pass
        # then keeps only the rows the next one reads (at the image's edges, the box filter's
        # mirrored border is the image's own, so the band's rows are exact there too).
        low = max(0, start - reach[0] - _reach(sizes[0]))
        high = min(h, stop + reach[0] + _reach(sizes[0]))
        image32 = image[low:high].astype(_F32)
        alpha32 = alpha[low:high].astype(_F32)
        rest = 1 - alpha32
        foreground = background_estimate = image32
        for index, size in enumerate(sizes):
            final = index == len(sizes) - 1
            foreground, background_estimate = _fuse(
                image32, alpha32, rest, foreground, background_estimate, size, final
            )
            keep_low, keep_high = max(0, start - reach[index]), min(h, stop + reach[index])
            cut = slice(keep_low - low, keep_high - low)
            image32, alpha32, rest = image32[cut], alpha32[cut], rest[cut]
            foreground, background_estimate = foreground[cut], background_estimate[cut]
            low = keep_low
            done += 1
            if progress is not None:
                progress(done, steps)
        result_f[start:stop] = foreground
        if result_b is not None:
            result_b[start:stop] = background_estimate
        del image32, alpha32, rest, foreground, background_estimate
    return result_f, result_b


def memory_bytes(
    shape: tuple[int, int],
    *,
    background: bool = True,
    blur_sizes: tuple[int, ...] = DEFAULT_SIZES,
) -> int:
    """Peak extra bytes of :func:`estimate` on an image of ``shape`` (an over-estimate).

    The float64 results (24 bytes a pixel each) and the working arrays of one band of rows
    with the rows its boxes reach (``_BYTES_PER_PIXEL`` a pixel of it).

    Parameters
    ----------
    shape : (int, int)
        The image's height and width.
    background : bool, optional
        Also estimate the background colours (default True).
    blur_sizes : tuple of int, optional
        The box widths of the passes.

    Returns
    -------
    int
        Estimated peak bytes.
    """
    h, w = int(shape[0]), int(shape[1])
    sizes = tuple(blur_sizes)
    band = min(h, _band_rows((h, w), sizes) + 2 * sum(map(_reach, sizes)))
    return h * w * 24 * (2 if background else 1) + band * w * _BYTES_PER_PIXEL
