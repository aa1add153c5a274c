"""The matting Laplacian of Levin, Lischinski and Weiss, built from array operations.

The Laplacian couples every pair of pixels that share a ``(2r+1) x (2r+1)`` window, so for
``radius=r`` each pixel is coupled to the ``(4r+1)**2`` pixels of a fixed stencil around it.
It is built as *stencil coefficients* of chosen pixel rows: for each stencil offset
``(dy, dx)`` and each row pixel ``i``, the entry ``L[i, i + (dy, dx)]``. Each row gathers the
``n x n`` blocks (``n = (2r+1)**2``, 9 x 9 at radius 1) of the windows it lies in (no
scatter, no sort, no duplicate summing), and the result turns into CSR rows directly, either
for the whole image (:func:`matting_laplacian`) or only for the unknown pixels of a trimap
(:func:`vecmatte.alpha.cf.build_system`).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
import threading

import numpy as np

from vecmatte import _defaults
from vecmatte._arrays import check_image, check_mask
from vecmatte._typing import CsrMatrix
from vecmatte._validation import check_radius_eps
from vecmatte.laplacians._stencil import (
    available_cpus,
    rows_to_csr,
    stencil_columns,
    stencil_offsets,
)

__all__ = ["coefficient_strips", "matting_laplacian", "row_coefficients", "window_blocks"]

# Windows are processed in strips of image rows so that each strip's (n, n, windows) value
# array holds about this many floats (4 MB), whatever the image size. Measured (one core,
# alphamatting GT01/GT02/GT04): 250k floats took 0.55-0.8x the time of 1M, and 100k was slower
# again; re-measured with the windows-last layout and the work arrays kept between strips
# (same process, interleaved, 9 rounds, GT01 scribbles, GT04/GT05 trimap, GT13 trimap2, GT08
# trimap2 at scale 2): 500k took 0.88-0.94x the build time of 250k (fewer strips, fewer NumPy
# calls), 1M 0.85-0.9x, 2M 1.08-1.15x the time of 1M. 500k keeps the work arrays near 10 MiB
# (20 MiB at 1M, 6.5 at 250k: one set per thread).
_WINDOW_VALUES_BUDGET = 500_000
# With several threads, at least this many strips per thread (when there are windows enough),
# so that the threads finish together.
_STRIPS_PER_THREAD = 4


class _Scratch:
    """Work arrays reused from strip to strip (and call to call), one set per running strip.

    A fresh multi-megabyte array is a new ``mmap`` whenever glibc has just handed the freed
    top of its heap back, and each of its pages faults in again: with two such arrays per
    strip, that was most of the time of the window values (measured: 1.1 ms against 0.1 ms).
    """

    def __init__(self) -> None:
        self._buffers: dict[tuple[str, np.dtype], np.ndarray] = {}

    def nbytes(self) -> int:
        return sum(buffer.nbytes for buffer in self._buffers.values())

    def array(self, name: str, shape: tuple[int, ...], dtype=np.float64) -> np.ndarray:
        size = math.prod(shape)
        key = (name, np.dtype(dtype))
        buffer = self._buffers.get(key)
        if buffer is None or buffer.size < size:
            buffer = self._buffers[key] = np.empty(size, dtype=dtype)
        return buffer[:size].reshape(shape)


# Work arrays kept from call to call, one set per strip running at once: fresh ones are
# page-faulted in by every solve (measured: ~1,600 faults, a sixth of a thin band's build,
# on this project's virtual machine), while a kept set is a few megabytes.
_SCRATCH_POOL: list[_Scratch] = []
_SCRATCH_KEPT_BYTES = 32 * 2**20
_SCRATCH_LOCK = threading.Lock()


@contextlib.contextmanager
def _scratch():
    """A :class:`_Scratch` from the pool, returned to it afterwards."""
    with _SCRATCH_LOCK:
        scratch = _SCRATCH_POOL.pop() if _SCRATCH_POOL else _Scratch()
    try:
        yield scratch
    finally:
        # One set is enough for a single-threaded solve; larger ones (wide images, many
        # threads) go back to the allocator.
        with _SCRATCH_LOCK:
            if not _SCRATCH_POOL and scratch.nbytes() <= _SCRATCH_KEPT_BYTES:
                _SCRATCH_POOL.append(scratch)


def _window_values(
    image_flat: np.ndarray,
    corners: np.ndarray,
    shifts: np.ndarray,
    *,
    eps: float,
    scratch: _Scratch,
    full: bool = False,
) -> np.ndarray:
    """Laplacian contributions ``V[a, b, k]`` of the windows with top-left pixels ``corners``.

    ``image_flat`` is the image as one contiguous run of ``h * w * 3`` values, ``corners``
    the flat pixel index of each window's top-left pixel and ``shifts`` the flat offsets of
    its ``n`` pixels (row-major), so that pixel ``a`` of window ``k`` is ``corners[k] +
    shifts[a]``. The entry for pixels ``a`` and ``b`` is ``delta_ab - 1/n - c_a^T S_k^-1 c_b``
    with ``c_a = I_a - mu_k`` and ``S_k = sum_a c_a c_a^T + eps Id``: ``n`` times the window's
    covariance plus ``eps / n``, so this is the paper's ``delta_ab - (1 + c_a^T (Sigma_k +
    eps/n Id)^-1 c_b) / n``. Returns an array ``(n, n, m + 1)``, windows last: every step is
    a loop over contiguous runs of windows (half the time of batched 3 x 9 matrix products).
    Only the upper triangle ``b >= a`` is set (``V`` is symmetric). The extra last window is
    all zeros, so that gathers through a missing window add nothing. With ``full``, both
    triangles are set and the array is ``(n * n + 1, m + 1)``: ``V[a, b]`` is its row
    ``a * n + b`` and its last row is all zeros too.
    """
    n, m = len(shifts), len(corners)
    # Each colour plane is gathered straight from the interleaved image (a view starting at
    # the channel, read at three times the pixel index): no strided centring afterwards, and
    # no buffered copy (mode="clip" on indices that are all valid).
    colors = scratch.array("colors", (3, n, m))
    if full:  # few windows: the three planes in one gather (channel c of pixel i: 3 i + c)
        index = scratch.array("index", (3, n, m), np.intp)
        np.add((3 * shifts + np.arange(3)[:, None])[:, :, None], 3 * corners, out=index)
        np.take(image_flat, index, out=colors, mode="clip")
    else:
        index = scratch.array("index", (n, m), np.intp)
        np.add(3 * shifts[:, None], 3 * corners, out=index)
        for c in range(3):
            np.take(image_flat[c:], index, out=colors[c], mode="clip")
    mean = colors.sum(axis=1, out=scratch.array("mean", (3, m)))
    mean /= n
    colors -= mean[:, None, :]
    # Only the upper triangle d >= c of the covariances is read: one product per row c
    # (0.7x the time of all nine in one einsum, the same sums).
    s = scratch.array("inner", (3, 3, m))
    if full:  # few windows: one call for all nine (each sum the same bits, tested)
        np.einsum("cjm,djm->cdm", colors, colors, out=s)
    else:
        for c in range(3):
            np.einsum("jm,djm->dm", colors[c], colors[c:], out=s[c, c:])
    # Cholesky factor S = L L^T in closed form, one pass of array arithmetic over all windows.
    # Window covariances of images that follow the colour-line model are nearly rank one
    # (condition ~1e7 at eps=1e-7): Cholesky keeps ~1e-11 where the adjugate loses six digits.
    l11 = np.sqrt(s[0, 0] + eps)
    l21 = s[0, 1] / l11
    l31 = s[0, 2] / l11
    l22 = np.sqrt(s[1, 1] + eps - l21 * l21)
    l32 = (s[1, 2] - l21 * l31) / l22
    l33 = np.sqrt(s[2, 2] + eps - l31 * l31 - l32 * l32)
    # Whiten in place, w = L^-1 c by forward substitution: c_a^T S^-1 c_b = w_a . w_b.
    w0, w1, w2 = colors
    work = scratch.array("work", (n, m))
    w0 /= l11
    w1 -= np.multiply(w0, l21, out=work)
    w1 /= l22
    w2 -= np.multiply(w0, l31, out=work)
    w2 -= np.multiply(w1, l32, out=work)
    w2 /= l33
    constant = np.eye(n) - 1.0 / n
    if full:
        # Few windows: one product for all n * n entries costs less than n calls. Each entry
        # is the same three products summed in the same order (c = 0, 1, 2) as below, and
        # V[b, a] the same bits as V[a, b] (tested).
        rows = scratch.array("values", (n * n + 1, m + 1))
        inside = rows[: n * n].reshape(n, n, m + 1)[:, :, :m]
        np.einsum("cam,cbm->abm", colors, colors, out=inside)
        np.subtract(constant[:, :, None], inside, out=inside)
        rows[:, m] = 0.0
        rows[n * n] = 0.0
        return rows
    values = scratch.array("values", (n, n, m + 1))
    # V is symmetric: only the entries b >= a of each row a are formed (a fifth less time
    # than all n * n products in one einsum); readers take V[b, a] for b < a.
    for a in range(n):
        inside = values[a, a:, :m]
        np.einsum("cm,cbm->bm", colors[:, a], colors[:, a:], out=inside)
        np.subtract(constant[a, a:, None], inside, out=inside)
    values[:, :, m] = 0.0
    return values


def _active_windows(known: np.ndarray | None, shape: tuple[int, int], radius: int) -> np.ndarray:
    """Boolean ``(h - 2r, w - 2r)`` map of the windows that hold at least one unknown pixel."""
    size = 2 * radius + 1
    h, w = shape
    if known is None:
        return np.ones((h - 2 * radius, w - 2 * radius), dtype=bool)
    # Separable "any" over the window as ORs of shifted slices (a reduction over a length-3
    # strided axis is several times slower): first along rows, then along columns.
    unknown = ~known
    rows_any = unknown[: h - size + 1].copy()
    for d in range(1, size):
        rows_any |= unknown[d : h - size + 1 + d]
    active = rows_any[:, : w - size + 1].copy()
    for d in range(1, size):
        active |= rows_any[:, d : w - size + 1 + d]
    return active


# A strip of p rows takes the few-windows path when n * n * p (its rows' n x n window values)
# is at most this: the window values formed whole (_window_values' full) and every position's
# blocks gathered in one call (_add_blocks_at_once). Below it, NumPy's per-call cost of n
# separate gathers and adds is most of their time (32 x 32 at 2% unknown: 18 calls on 20
# rows). Above, the one call's (n, (4r + 1)**2, p) index and value arrays would be extra
# passes over memory.
_ONE_GATHER_VALUES = 2**14


class _Windows:
    """The windows that hold an unknown pixel, numbered in row-major order.

    ``corners[g]`` is the flat pixel index of window ``g``'s top-left pixel,
    ``row_starts[y]`` the number of the first window whose top row is ``y`` and
    ``positions[g]`` the window's place on the window grid padded by ``2r`` on every side
    (``padded_width`` wide), where the windows of any pixel are found without bounds checks.
    """

    def __init__(self, known: np.ndarray | None, shape: tuple[int, int], radius: int) -> None:
        w = shape[1]
        active = _active_windows(known, shape, radius)
        n_wy, n_wx = active.shape
        flat = np.flatnonzero(active)
        del active
        wy, wx = np.divmod(flat, n_wx)
        self.corners = wy * w + wx
        self.row_starts = np.searchsorted(flat, np.arange(n_wy + 1) * n_wx)
        self.pad, self.padded_width = 2 * radius, n_wx + 4 * radius
        self.positions = (wy + self.pad) * self.padded_width + (wx + self.pad)


def _strip_coefficients(
    image_flat: np.ndarray,
    windows: _Windows,
    rows_y: np.ndarray,
    base: np.ndarray,
    *,
    eps: float,
    radius: int,
    width: int,
    out: np.ndarray,
    scratch: _Scratch,
) -> None:
    """Fill ``out[s, p]`` with ``L[row p, + offsets[s]]`` for one strip of pixel rows.

    ``rows_y`` is the image row of each pixel row and ``base`` the position of the window
    whose top-left corner it is on the padded window grid. The strip's windows are evaluated
    once; each row pixel then gathers, for each of its positions ``a`` inside a window, the
    values of that window with all partner positions ``b``: ``n`` gathers of ``n`` values,
    no scatter, no sort.
    """
    size = 2 * radius + 1
    n = size * size
    span = 4 * radius + 1
    p = len(base)
    n_wy = len(windows.row_starts) - 1
    top_row, bottom_row = int(rows_y[0]), int(rows_y[-1])
    first = windows.row_starts[max(top_row - 2 * radius, 0)]
    last = windows.row_starts[min(bottom_row + 1, n_wy)]
    within = np.arange(size)
    shifts = (within[:, None] * width + within[None, :]).ravel()
    at_once = n * n * p <= _ONE_GATHER_VALUES
    values = _window_values(
        image_flat, windows.corners[first:last], shifts, eps=eps, scratch=scratch, full=at_once
    )
    # The strip's part of the padded window grid (window rows top_row - 2r to bottom_row),
    # holding each window's number within the strip: a strip-sized map in the reused work
    # arrays rather than one of the whole image, whose pages every solve would fault in.
    pad_w = windows.padded_width
    origin = top_row * pad_w
    numbers = scratch.array("numbers", ((bottom_row - top_row + 2 * radius + 1) * pad_w,), np.intp)
    # Missing (all-known or outside) windows are numbered as the strip's all-zero extra one.
    numbers.fill(last - first)
    numbers[windows.positions[first:last] - origin] = np.arange(last - first)
    # Window of each row pixel at each of its positions a.
    lookup = scratch.array("lookup", (n, p), np.intp)
    window = scratch.array("window", (n, p), np.intp)
    np.subtract(
        base - origin, (within[:, None] * pad_w + within[None, :]).reshape(-1, 1), out=lookup
    )
    np.take(numbers, lookup, out=window, mode="clip")
    # The (span, span, p) view of the stencil slots: pixel a's partners b form the size x size
    # block of slots at (2r - ya, 2r - xa), so each a adds one gathered block.
    if at_once:
        _add_blocks_at_once(values, window, out, radius, scratch)
        return
    grid = out.reshape(span, span, p)
    grid[...] = 0.0
    block = scratch.array("block", (n, p))
    for a in range(n):
        ya, xa = divmod(a, size)
        # Each window's entries of pixel a with all n partners b: column a of the upper
        # triangle for b < a, then row a from b = a on.
        np.take(values[:a, a], window[a], axis=1, out=block[:a], mode="clip")
        np.take(values[a, a:], window[a], axis=1, out=block[a:], mode="clip")
        top, left = 2 * radius - ya, 2 * radius - xa
        grid[top : top + size, left : left + size] += block.reshape(size, size, p)


def coefficient_strips(
    image: np.ndarray,
    rows: np.ndarray,
    emit,
    *,
    eps: float,
    radius: int,
    known: np.ndarray | None = None,
) -> None:
    """Laplacian entries of the pixel rows ``rows`` (flat, ascending), one strip at a time.

    Calls ``emit(start, stop, coef)`` for consecutive runs ``rows[start:stop]`` that cover
    all rows, with ``coef`` a ``(k, stop - start)`` array (offsets first) of
    ``coef[s, q] = L[rows[start + q], rows[start + q] + offsets[s]]`` for the offsets of
    ``stencil_offsets(2 * radius)``. ``coef`` is a work array reused by the next call:
    ``emit`` copies what it keeps. Strips may run in parallel threads; each ``emit`` should
    write only its own rows' part of its outputs. ``known`` pixels' all-known windows are
    left out, as in :func:`row_coefficients`.

    Parameters
    ----------
    image : ndarray, shape (h, w, 3)
        RGB image with values in [0, 1].
    rows : ndarray of int
        Flat indices of the pixel rows wanted, ascending.
    emit : callable
        ``emit(start, stop, coef)``, called once per strip.
    eps : float
        Regularisation of the window colour covariances.
    radius : int
        Window radius.
    known : ndarray of bool, shape (h*w,), optional
        Known pixels, whose all-known windows are left out.
    """
    h, w = image.shape[:2]
    n = (2 * radius + 1) ** 2
    k = (4 * radius + 1) ** 2
    if len(rows) == 0:
        return
    windows = _Windows(known, (h, w), radius)
    rows_y, rows_x = np.divmod(rows, w)
    base = (rows_y + windows.pad) * windows.padded_width + (rows_x + windows.pad)
    image_flat = np.ascontiguousarray(image, dtype=np.float64).reshape(-1)
    # Strips of whole image rows, each with about _WINDOW_VALUES_BUDGET floats of window
    # values, so that a band of unknowns of any width is cut into strips of similar work.
    per_strip = max(1, _WINDOW_VALUES_BUDGET // (n * n))
    threads = min(available_cpus(), 4)
    if threads > 1:
        per_strip = min(
            per_strip, max(1, -(-len(windows.corners) // (_STRIPS_PER_THREAD * threads)))
        )
    n_wy = len(windows.row_starts) - 1
    # A strip ends after the window row holding window per_strip, 2 per_strip ... (from 0,
    # it cut off the first window row's pixels, row 0 alone where the unknowns touch the
    # top: a second strip, whose fixed cost was a fifth of a small image's solve).
    cut_rows = np.searchsorted(
        windows.row_starts[:n_wy],
        np.arange(per_strip, len(windows.corners), per_strip),
        side="right",
    )
    cut_rows = np.unique(np.append(cut_rows, h))
    bounds = np.unique(np.append(np.searchsorted(rows_y, cut_rows), [0, len(rows)]))
    strips = [(start, stop) for start, stop in itertools.pairwise(bounds) if stop > start]

    def fill(strip):
        start, stop = strip
        with _scratch() as scratch:
            out = scratch.array("strip", (k, stop - start))
            _strip_coefficients(
                image_flat,
                windows,
                rows_y[start:stop],
                base[start:stop],
                eps=eps,
                radius=radius,
                width=w,
                out=out,
                scratch=scratch,
            )
            emit(start, stop, out)

    # Strips write disjoint parts of the outputs and NumPy releases the GIL in its array
    # loops, so threads overlap most of the work on a multi-core machine.
    workers = min(len(strips), threads)
    if workers > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(fill, strips))
    else:
        for strip in strips:
            fill(strip)


def row_coefficients(
    image: np.ndarray,
    rows: np.ndarray,
    *,
    eps: float,
    radius: int,
    known: np.ndarray | None = None,
    rows_first: bool = False,
) -> np.ndarray:
    """Laplacian entries of the pixel rows ``rows`` (flat, ascending) at every stencil offset.

    Parameters
    ----------
    image : ndarray, shape (h, w, 3)
        Float image, already validated.
    rows : ndarray of int, shape (p,)
        Flat row-major indices of the pixels whose rows are wanted, ascending.
    eps, radius : float, int
        Regularisation and window radius.
    known : ndarray of bool, shape (h, w), optional
        Windows whose pixels are all known are skipped.
    rows_first : bool, optional
        Return the transpose, ``(p, k)``: each row's entries side by side, in CSR order.

    Returns
    -------
    ndarray, shape (k, p)
        ``coef[s, q] = L[rows[q], rows[q] + offsets[s]]`` with the offsets of
        ``stencil_offsets(2 * radius)``, ``k = (4r + 1)**2``.
    """
    k = (4 * radius + 1) ** 2
    coef = np.empty((len(rows), k) if rows_first else (k, len(rows)))

    def emit(start, stop, strip):
        # Rows first: each strip is transposed while it is in cache (a transpose of the
        # whole array runs at a third of the speed).
        if rows_first:
            coef[start:stop] = strip.T
        else:
            coef[:, start:stop] = strip

    coefficient_strips(image, rows, emit, eps=eps, radius=radius, known=known)
    return coef


def matting_laplacian(
    image: np.ndarray,
    *,
    eps: float = _defaults.EPS,
    radius: int = _defaults.RADIUS,
    known: np.ndarray | None = None,
) -> CsrMatrix:
    """Matting Laplacian of an image.

    Parameters
    ----------
    image : ndarray, shape (h, w, 3)
        RGB image with values in [0, 1].
    eps : float, optional
        Regularisation of each window's colour covariance (``epsilon`` in the paper).
    radius : int, optional
        Window radius ``r``; windows are ``(2r+1) x (2r+1)``.
    known : ndarray of bool, shape (h, w), optional
        Pixels whose alpha is fixed. Windows made only of known pixels are left out: they
        only touch rows and columns that the constrained solve does not use.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (h*w, h*w)
        Symmetric positive semi-definite matrix, pixels in row-major order.

    Raises
    ------
    ValueError
        If the image is not ``(h, w, 3)`` with finite values, is smaller than one window,
        or ``known`` has another shape.

    Notes
    -----
    For windows :math:`w_k` of :math:`n = (2r+1)^2` pixels with mean colour
    :math:`\\mu_k` and covariance :math:`\\Sigma_k`,

    .. math::

        L_{ij} = \\sum_{k \\mid (i,j) \\in w_k} \\left(\\delta_{ij} - \\frac{1}{n}
        \\left(1 + (I_i - \\mu_k)^T \\left(\\Sigma_k + \\frac{\\epsilon}{n} I_3\\right)^{-1}
        (I_j - \\mu_k)\\right)\\right)

    (Levin, Lischinski and Weiss, "A Closed-Form Solution to Natural Image Matting",
    IEEE TPAMI 30(2), 2008, eq. 12). The windows' statistics are computed with batched
    ``matmul`` over ``sliding_window_view`` gathers, in strips of image rows that keep the
    working arrays small.

    Examples
    --------
    >>> import numpy as np
    >>> from vecmatte import matting_laplacian
    >>> L = matting_laplacian(np.random.default_rng(0).random((5, 6, 3)))
    >>> L.shape
    (30, 30)
    >>> bool(abs(L.sum(axis=1)).max() < 1e-9)
    True
    """
    image = check_image(image)
    radius, eps = check_radius_eps(radius, eps, image.shape)
    if known is not None:
        known = check_mask(known, image.shape[:2], "known")
    h, w = image.shape[:2]
    rows = np.arange(h * w)
    coef = row_coefficients(image, rows, eps=eps, radius=radius, known=known, rows_first=True)
    columns = stencil_columns(stencil_offsets(2 * radius), rows, (h, w))
    return rows_to_csr(columns, coef.T, h * w)


@functools.lru_cache(maxsize=8)
def _slot_rows(radius: int) -> np.ndarray:
    """``(n, k)`` table: the row ``a * n + b`` of the full window values that position ``a``
    adds to stencil slot ``s`` (``b``: the slot's place in ``a``'s block), or ``n * n`` (the
    all-zero row) where ``a``'s block does not cover the slot."""
    size, span = 2 * radius + 1, 4 * radius + 1
    n = size * size
    rows = np.full((n, span, span), n * n, dtype=np.intp)
    for a in range(n):
        ya, xa = divmod(a, size)
        top, left = 2 * radius - ya, 2 * radius - xa
        rows[a, top : top + size, left : left + size] = a * n + np.arange(n).reshape(size, size)
    rows = rows.reshape(n, span * span)
    rows.flags.writeable = False
    return rows


def _add_blocks_at_once(
    values: np.ndarray, window: np.ndarray, out: np.ndarray, radius: int, scratch: _Scratch
) -> None:
    """:func:`_strip_coefficients`' gathers and sums of the blocks in three calls, for small
    strips.

    ``values`` is :func:`_window_values`' ``full`` array. Every position ``a``'s
    contribution to every stencil slot (zero where its block does not cover the slot) is one
    gather; summing them over ``a`` (an outer axis, added in order) adds each slot's values
    in the loop's order, so the coefficients are the same to the last bit (tested).
    """
    n, p = window.shape
    columns = values.shape[1]
    slots = _slot_rows(radius)
    index = scratch.array("blocks_index", (n, slots.shape[1], p), np.intp)
    np.add((slots * columns)[:, :, None], window[:, None, :], out=index)
    parts = scratch.array("blocks", index.shape)
    np.take(values.reshape(-1), index, out=parts, mode="clip")
    np.add.reduce(parts, axis=0, out=out)


def window_blocks(
    image: np.ndarray, known: np.ndarray, *, eps: float, radius: int, limit: int | None = None
) -> tuple[np.ndarray, np.ndarray] | None:
    """The windows holding an unknown pixel, each with its ``n x n`` Laplacian block.

    For few windows (a small system solved whole): the blocks are those that
    :func:`coefficient_strips` sums into each row, as one array.

    Parameters
    ----------
    image : ndarray, shape (h, w, 3)
        Float image, already validated.
    known : ndarray of bool, shape (h, w)
        Known pixels: windows of known pixels only are left out.
    eps, radius : float, int
        Regularisation and window radius.
    limit : int, optional
        Largest number of pixel pairs ``a <= b`` (``n (n + 1) / 2`` per window) to compute:
        more windows give None, before any block is formed.

    Returns
    -------
    pixels : ndarray of int, shape (n, K)
        Flat index of each window's pixel ``a`` (row-major within the window), for the
        ``K`` windows, ``n = (2r + 1)**2``.
    values : ndarray, shape (n, n, K)
        ``values[a, b, k]``: window ``k``'s term of ``L[pixels[a, k], pixels[b, k]]``, for
        ``b >= a`` (the block is symmetric; entries ``b < a`` may hold anything).

        None (instead of both) if the windows hold more than ``limit`` pairs.
    """
    h, w = known.shape
    size = 2 * radius + 1
    n = size * size
    n_wx = w - size + 1
    flat = np.flatnonzero(_active_windows(known, (h, w), radius))
    if limit is not None and n * (n + 1) // 2 * len(flat) > limit:
        return None
    corners = flat + (flat // n_wx) * (size - 1)  # window row y starts at pixel y * w
    within = np.arange(size)
    shifts = (within[:, None] * w + within[None, :]).ravel()
    image_flat = np.ascontiguousarray(image, dtype=np.float64).reshape(-1)
    # All n * n entries in one product for few windows, the upper triangle row by row for
    # more (as coefficient_strips chooses).
    full = n * n * len(corners) <= _ONE_GATHER_VALUES
    values = _window_values(image_flat, corners, shifts, eps=eps, scratch=_Scratch(), full=full)
    if full:
        values = values[: n * n].reshape(n, n, -1)
    return corners + shifts[:, None], values[:, :, : len(corners)]
