"""Shared matting's common pieces: labels, chunking, window offsets and the pair formulas.

Gastal and Oliveira, "Shared Sampling for Real-Time Alpha Matting", Eurographics 2010. The
steps follow the paper as PyMatting implements it (its constants, defaults and tie-breaking),
so that the two can be compared, one module per step:

- :mod:`vecmatte.alpha._trimap_expansion`: step 1;
- :mod:`vecmatte.alpha._sample_gathering`: step 2 (rays, path energies, pair selection);
- :mod:`vecmatte.alpha._sample_refinement`: steps 3 and 4 (refinement, local smoothing);

:mod:`vecmatte.alpha.sm` strings them together. Every step takes the image as ``colors``:
``(n, 3)``, pixels in row-major order (the caller's ``(h, w, 3)`` image reshaped: no copy is
made), and the trimap as ``label``: uint8 ``(n,)`` with :data:`UNKNOWN`, :data:`FOREGROUND` or
:data:`BACKGROUND`. Loops run over window offsets, march steps, bands of rows and chunks of
pixels, never over pixels. Chunks bound the temporary arrays to about :data:`CHUNK_ELEMENTS`
entries each, and the colour pairs of the known pixels exist only a band of rows at a time,
so that the peak memory stays a fraction of the image's.
"""

from __future__ import annotations

import functools

import numpy as np

UNKNOWN, FOREGROUND, BACKGROUND = 0, 1, 2
KINDS = (FOREGROUND, BACKGROUND)

# Entries per temporary array in the chunked loops (128 KB in float32: they stay in cache).
CHUNK_ELEMENTS = 1 << 16
# Pixels per band of rows whose colour pairs exist at once (refinement and smoothing): the
# planes of a band, not the chunks, set the peak memory of those steps.
BAND_ELEMENTS = 1 << 15
# Offsets of the trimap expansion looked at together.
EXPANSION_GROUP = 32
# Rays marched together (each carries a few 8-byte numbers of state).
RAY_CHUNK = 1 << 15

PAIR_EPS = np.float32(1e-5)  # the 1e-5 that PyMatting adds to denominators of pair formulas


def take(values: np.ndarray, index: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``values[index]`` for a 1-D ``values`` and indices in ``[-n, n)``, about twice as fast.

    ``np.take`` with ``mode="wrap"`` runs NumPy's plain copy loop, where indexing with ``[]``
    (or ``take``'s default mode) checks every index in a slower path; indices in range never
    wrap, and negative ones count from the end as with ``[]``. Every gather of the ray
    marching and of the windows goes through here: gathers, not arithmetic, are the cost.
    """
    # The method, not np.take: two Python-level calls fewer on the thousands of small gathers.
    return values.take(index, mode="wrap", out=out)


# The ufunc behind ``np.clip``: the function adds a few microseconds of Python dispatch per
# call (its checks for integer bounds), which the thousands of small clips of a small image
# pay many times over; the values are the ufunc's either way.
try:
    from numpy._core.umath import clip as _clip
except ImportError:  # pragma: no cover - NumPy 1.x
    from numpy.core.umath import clip as _clip


#: NumPy's clip ufunc, ``np.clip`` without its Python dispatch (same values).
clip_ufunc = _clip


def clip01(x: np.ndarray) -> np.ndarray:
    """``x`` clamped to [0, 1] in place.

    ``np.clip`` with both bounds has a vectorised loop; ``np.maximum`` and ``np.minimum``
    against a scalar do not (about four times slower on float32 in NumPy 2.x). The values
    are the same, up to the sign of a zero (``np.clip`` keeps ``-0.0``, which no later step
    divides by).
    """
    return _clip(x, 0.0, 1.0, out=x)


def clamp_below(x: np.ndarray, floor: float) -> np.ndarray:
    """``np.maximum(x, floor, out=x)`` by :func:`np.clip` with an infinite upper bound: the
    same values (up to the sign of a zero), in a vectorised loop (see :func:`clip01`)."""
    return _clip(x, floor, np.inf, out=x)


def chunks(count: int, per_item: int):
    """Slices of ``range(count)`` holding about CHUNK_ELEMENTS / per_item items each."""
    size = max(1, CHUNK_ELEMENTS // max(1, per_item))
    for start in range(0, count, size):
        yield slice(start, min(count, start + size))


def _read_only(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """The arrays, made read-only: a cached table shared by every call must not change."""
    for array in arrays:
        array.flags.writeable = False
    return arrays


# Offset tables are cached (read-only): making one took a dozen NumPy calls, a visible share
# of a small image's matte, and a few radii serve every call. Radii past 64 (windows of more
# than 16641 offsets) are rare and made afresh, so that the cache stays small.
@functools.lru_cache(maxsize=16)
def _disk_offsets(radius: int) -> tuple[np.ndarray, np.ndarray]:
    dy, dx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    dy, dx = dy.ravel(), dx.ravel()
    d2 = dy * dy + dx * dx
    keep = (d2 > 0) & (d2 <= radius * radius)
    order = np.lexsort((dx[keep], dy[keep], d2[keep]))
    return _read_only(dy[keep][order], dx[keep][order])


def disk_offsets(radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Offsets ``(dy, dx)`` with ``0 < dy**2 + dx**2 <= radius**2``, nearest first.

    Ties keep the scan order (``dy``, then ``dx``), the order in which a per-pixel loop
    meets them. The arrays are read-only (shared between calls).
    """
    if radius > 64:
        return _disk_offsets.__wrapped__(radius)
    return _disk_offsets(radius)


@functools.lru_cache(maxsize=16)
def _square_offsets(radius: int) -> tuple[np.ndarray, np.ndarray]:
    dy, dx = np.divmod(np.arange((2 * radius + 1) ** 2), 2 * radius + 1)
    return _read_only(dy - radius, dx - radius)


def square_offsets(radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Offsets ``(dy, dx)`` of the ``(2 radius + 1)**2`` window in scan order (read-only)."""
    if radius > 64:
        return _square_offsets.__wrapped__(radius)
    return _square_offsets(radius)


def channel_sum(x: np.ndarray) -> np.ndarray:
    """``x[0] + x[1] + x[2]``, in that order (the sum of a loop over the channels)."""
    total = x[0] + x[1]
    total += x[2]
    return total


def distance32(dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """``np.hypot(dx, dy)`` of whole-number offsets as float32, in half its time.

    ``dx^2 + dy^2`` is exact and its float64 square root correctly rounded; ``np.hypot`` is
    within an ulp of it, and the square root of a whole number below 2^48 lies at least four
    float64 ulps from any float32 rounding boundary, so both round to the same float32.
    """
    dx = dx.astype(np.float64)
    dy = dy.astype(np.float64)
    dx *= dx
    dy *= dy
    dx += dy
    return np.sqrt(dx, out=dx).astype(np.float32)


def estimate_alpha_from_pair(color: np.ndarray, fg: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """Alpha of ``color`` between the colours ``fg`` and ``bg`` (all ``(3, ...)``), in [0, 1].

    The projection of ``color - bg`` on ``fg - bg`` (Gastal and Oliveira, eq. 12), with the
    1e-5 that keeps equal colours from dividing by zero.
    """
    d = fg - bg
    v = color - bg
    v *= d
    # Sums over the channels from 0 in channel order (reductions over the first axis add
    # whole rows in turn): the sums, and the signs of their zeros, of a loop over channels.
    numerator = np.add.reduce(v, axis=0, initial=0.0)
    d *= d
    denominator = np.add.reduce(d, axis=0, initial=0.0)
    denominator += PAIR_EPS
    numerator /= denominator
    return clip01(numerator)


def chromatic_distortion(color: np.ndarray, fg: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """Squared distance between ``color`` and its composite from ``fg`` and ``bg`` (eq. 4)."""
    alpha = estimate_alpha_from_pair(color, fg, bg)
    r = fg - bg
    # In place unless alpha is the wider type (float64 colours, float32 pairs): then the
    # products are float64, as a loop over the channels makes them.
    r = np.multiply(r, alpha, out=r if np.can_cast(alpha.dtype, r.dtype) else None)
    r += bg - color
    r *= r
    return np.add.reduce(r, axis=0, initial=0.0)
