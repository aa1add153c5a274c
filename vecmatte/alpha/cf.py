"""Closed-form matting (Levin, Lischinski and Weiss 2008): the hard-constrained system.

The system is :func:`vecmatte.systems.hard_constraint_system` of the matting Laplacian
(:func:`vecmatte.laplacians.closed_form.matting_laplacian`), built here without forming the
Laplacian: only the rows of unknown pixels are computed, as stencil coefficients, and the
columns of known pixels are folded into the right-hand side as they are gathered.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from vecmatte import _defaults
from vecmatte._radius_cost import check_radius_cost
from vecmatte._validation import check_radius_eps
from vecmatte.laplacians._stencil import stencil_offsets
from vecmatte.laplacians.closed_form import coefficient_strips, window_blocks
from vecmatte.systems import LazyStencil, MattingSystem

__all__ = ["build_system", "check_options", "memory_bytes", "solve_small"]

# The closed-form system's own share of a solve's peak memory, in bytes per pixel and per
# unknown at radius 1 (the preconditioner's share is in its PreconditionerSpec); together they
# give the fitted totals quoted in vecmatte.memory (bench/large.py --calibrate for "ichol",
# bench/memory_models.py for "direct").
_SYSTEM_BYTES = (10.0, 600.0)
# Up to this many stencil entries (unknowns times offsets) plus half the pixel count, the row
# lengths and the rows near the foreground are read from the unknowns' neighbour table, not
# from whole-image passes (measured, one core: the table's time grows with its entries, the
# passes' with the pixels, equal at about this bound on 32 x 32 to 128 x 128 crops).
_SMALL_TABLE = 4096
# Systems solved whole by solve_small: up to this many unknowns, and this many multiply-adds
# (unknowns times the squared band width) of their band Cholesky factor. Measured against the
# build and the 'direct' preconditioner's conjugate gradient (estimate_alpha, one core, crops
# of GT01/GT04/GT13 at 32 to 256 and make_scene): 0.4-0.75x their time up to 24M flops and
# 2,500 unknowns, 0.6-1.0x from 24M to 50M, 1.0-2.8x above 60M (the band outgrows the
# caches). With the unknowns' bound at 2,000 rather than 640: 0.48-0.68x at 1,229 and 1,638
# unknowns on 64 x 64 crops of GT01/GT04/GT13 (30% and 40% unknown), 1.02-1.03x where the
# flops' bound then refuses (48%: the refusal's cost). Tests of conjugate gradient's
# behaviour (stages logged, rtol, the float64 retry, the factors) use larger scenes or maxiter=2.
_DIRECT_MAX_UNKNOWN = 2000
_DIRECT_MAX_FLOPS = 24_000_000
# And this many pixel pairs of the windows holding an unknown (45 per window at radius 1, up
# to nine windows per unknown; a 64 x 64 image has 3,844 windows, 173k pairs): larger radii's
# blocks grow like (2r + 1)**4, which the build's strips keep to a budget.
_DIRECT_MAX_PAIRS = 300_000


def check_options(shape: tuple[int, ...], **options) -> dict:
    """``eps`` and ``radius``, if given, checked against their ranges and the image size.

    Parameters
    ----------
    shape : tuple of int
        The image's shape, for the ranges that depend on its size.
    **options
        The method's options, as given.

    Returns
    -------
    dict
        ``options`` with the checked ones in the form the solve uses.
    """
    radius, eps = check_radius_eps(
        options.get("radius", _defaults.RADIUS), options.get("eps", _defaults.EPS), shape
    )
    checked = dict(options)
    if "radius" in options:
        checked["radius"] = radius
    if "eps" in options:
        checked["eps"] = eps
    return checked


class _Neighbors:
    """Each unknown's stencil neighbours, gathered for any run of rows when asked for.

    The entry for a row and an offset is the neighbour's solution index, or ``-2`` for a
    foreground pixel and ``-1`` for a background pixel or one outside the image. It is
    gathered from an image of these codes padded by the stencil's reach, so that each entry
    is one gather at a fixed flat shift, with no bounds checks. Gathering per strip keeps the
    ``(m, k)`` table out of memory: its pages were a quarter of the build's page faults.
    """

    def __init__(self, offsets: np.ndarray, unknown: np.ndarray, is_fg: np.ndarray, dtype):
        h, w = is_fg.shape
        reach = int(np.abs(offsets).max())
        padded_w = w + 2 * reach
        ys, xs = np.divmod(unknown, w)
        self.base = (ys + reach) * padded_w + (xs + reach)
        # Written straight into the padded image (np.pad's Python was a tenth of the build
        # of a small image's system).
        code = np.full((h + 2 * reach, padded_w), -1, dtype=dtype)
        code[reach : reach + h, reach : reach + w][is_fg] = -2
        self.code = code.reshape(-1)
        self.code[self.base] = np.arange(len(unknown), dtype=dtype)
        self.shifts = offsets[:, 0] * padded_w + offsets[:, 1]

    def rows(self, start: int, stop: int) -> np.ndarray:
        """``(stop - start, k)`` table of the rows ``start:stop``, in CSR order."""
        return self.code.take(self.base[start:stop, None] + self.shifts, mode="clip")

    def counts(self, is_unknown: np.ndarray, unknown: np.ndarray) -> np.ndarray:
        """Number of unknown neighbours of each unknown pixel: box sums of the unknown map."""
        reach = (int(np.sqrt(len(self.shifts))) - 1) // 2
        h, w = is_unknown.shape
        dtype = np.uint8 if len(self.shifts) < 256 else np.int32
        padded = np.zeros((h + 2 * reach, w + 2 * reach), dtype=dtype)
        padded[reach : reach + h, reach : reach + w] = is_unknown
        across = padded[:, :w].copy()
        for d in range(1, 2 * reach + 1):
            across += padded[:, d : d + w]
        box = across[:h].copy()
        for d in range(1, 2 * reach + 1):
            box += across[d : d + h]
        return box.reshape(-1)[unknown]


def _stencil_arrays(neighbors: _Neighbors, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The system's stencil ``(neighbors, values)``, from the neighbour table and the matrix."""
    table = neighbors.rows(0, len(neighbors.base))
    # -1 and a zero where the neighbour is not solved for; the matrix holds the others in
    # CSR (rows first) order.
    kept = table >= 0
    values = np.zeros(table.shape)
    values[kept] = data
    return np.maximum(table, -1).T, values.T


def _dilate(mask: np.ndarray, reach: int) -> np.ndarray:
    """``mask`` grown by ``reach`` pixels in x and y (a square neighbourhood), by slice ORs."""
    rows = mask.copy()
    for d in range(1, reach + 1):
        rows[:, d:] |= mask[:, :-d]
        rows[:, :-d] |= mask[:, d:]
    grown = rows.copy()
    for d in range(1, reach + 1):
        grown[d:] |= rows[:-d]
        grown[:-d] |= rows[d:]
    return grown


def build_system(
    image: np.ndarray,
    is_fg: np.ndarray,
    is_bg: np.ndarray,
    *,
    eps: float = _defaults.EPS,
    radius: int = _defaults.RADIUS,
) -> MattingSystem:
    """``L_uu x = -L_uk alpha_k`` for the matting Laplacian, straight from its stencil.

    Parameters
    ----------
    image : ndarray, shape (h, w, 3)
        Float image in [0, 1], already validated.
    is_fg, is_bg : ndarray of bool, shape (h, w)
        Known foreground and background pixels.
    eps : float, optional
        Regularisation of the window colour covariances (larger gives smoother mattes),
        from 1e-12 (below: the covariances' rounding error) to 1e6 (above: no change).
    radius : int, optional
        Window radius of the Laplacian (windows are ``(2r+1) x (2r+1)``).

    Returns
    -------
    MattingSystem
        Over the unknown pixels, with its ``stencil`` and ``reach = 2 * radius``.

    Raises
    ------
    ValueError
        If ``eps`` or ``radius`` is out of range, or the image is smaller than one window.

    Warns
    -----
    vecmatte.SlowSolveWarning
        If ``radius`` would make the solve take more than a minute (an estimate: the cost
        grows like ``(2 radius + 1)**4`` per unknown pixel).

    Notes
    -----
    Only windows touching an unknown pixel are evaluated and only the rows of unknown pixels
    become a sparse matrix. Equal to ``hard_constraint_system(matting_laplacian(image))``
    (tested to 1e-12), in a fraction of the time and memory.
    """
    import scipy.sparse

    radius, eps = check_radius_eps(radius, eps, image.shape)
    h, w = is_fg.shape
    known = is_fg | is_bg
    offsets = stencil_offsets(2 * radius)
    unknown = np.flatnonzero(~known)
    m = len(unknown)
    # Before the work; the warning names the first line outside vecmatte (estimate_alpha's
    # caller, or the PyMatting shim's, which is one frame deeper).
    check_radius_cost(m, radius)
    index_dtype = np.int32 if m * len(offsets) < 2**31 else np.int64
    neighbors = _Neighbors(offsets, unknown, is_fg, index_dtype)
    # The CSR structure is known before any value: the entries of each row are its unknown
    # neighbours, in stencil (= column) order.
    indptr = np.zeros(m + 1, dtype=index_dtype)
    # -L_uk alpha_k is the sum of each row's entries at its foreground neighbours: only the
    # rows within reach of the foreground have one.
    if m * len(offsets) <= _SMALL_TABLE + h * w // 2:
        # Few unknowns: both from their neighbour table (the stencil is the square of reach
        # 2r that the box sums and the dilation cover), not from passes over the whole image.
        whole = neighbors.rows(0, m)  # small: kept for a strip of all rows
        np.cumsum(np.count_nonzero(whole >= 0, axis=1), out=indptr[1:])
        near_fg = np.flatnonzero((whole == -2).any(axis=1))
    else:
        whole = None
        np.cumsum(neighbors.counts(~known, unknown), out=indptr[1:])
        near_fg = np.flatnonzero(_dilate(is_fg, 2 * radius).reshape(-1)[unknown])
    indices = np.empty(int(indptr[-1]), dtype=index_dtype)
    data = np.empty(len(indices))
    rhs = np.zeros(m)

    def emit(start, stop, coef):
        # Each strip's rows go straight into the matrix and the right-hand side while they
        # are in cache: no (m, k) table of coefficients or neighbours is formed (but the
        # small one above).
        table = whole if whole is not None and stop - start == m else neighbors.rows(start, stop)
        kept = table >= 0
        entries = slice(indptr[start], indptr[stop])
        data[entries] = coef.T[kept]
        indices[entries] = table[kept]
        low, high = np.searchsorted(near_fg, (start, stop))
        near = near_fg[low:high] - start
        rhs[near + start] = np.einsum("sp,ps->p", coef[:, near], table[near] == -2)

    coefficient_strips(image, unknown, emit, eps=eps, radius=radius, known=known)
    np.negative(rhs, out=rhs)
    matrix = scipy.sparse.csr_matrix((data, indices, indptr), shape=(m, m))
    return MattingSystem(
        matrix,
        rhs,
        unknown,
        (h, w),
        stencil=LazyStencil(offsets, lambda: _stencil_arrays(neighbors, data)),
        reach=2 * radius,
    )


def memory_bytes(
    shape: tuple[int, ...],
    n_unknown: int,
    *,
    preconditioner: str = _defaults.PRECONDITIONER,
    eps: float = _defaults.EPS,
    radius: int = _defaults.RADIUS,
) -> int:
    """Peak extra bytes of a closed-form solve with ``preconditioner`` (an over-estimate).

    ``(10 n + 600 u) k / 25`` for the system (``n`` pixels, ``u`` unknowns, ``k = (4r+1)**2``
    stencil entries per row) plus the preconditioner's model
    (:attr:`vecmatte.preconditioners.PreconditionerSpec.memory`, fitted on closed-form
    solves), times the safety margin of :mod:`vecmatte.memory`.

    Parameters
    ----------
    shape : tuple of int
        The image's shape.
    n_unknown : int
        Number of unknown (solved) pixels.
    preconditioner : str, optional
        The solve's preconditioner.
    eps, radius : optional
        The closed-form options.

    Returns
    -------
    int
        Estimated peak bytes.
    """
    from vecmatte.memory import BASE_BYTES, SAFETY
    from vecmatte.preconditioners import PRECONDITIONERS

    radius, _ = check_radius_eps(radius, eps, shape)
    entries = (4 * radius + 1) ** 2
    n_pixels = int(shape[0]) * int(shape[1])
    per_pixel, per_unknown = _SYSTEM_BYTES
    system = (per_pixel * n_pixels + per_unknown * n_unknown) * entries / 25.0
    extra = PRECONDITIONERS[preconditioner].memory_bytes(n_pixels, n_unknown, entries)
    return int(SAFETY * (system + extra + BASE_BYTES))


@functools.lru_cache(maxsize=4)
def _upper_pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The pairs ``a <= b`` of ``n`` window positions (``np.triu_indices(n)``, read-only)."""
    pairs = np.triu_indices(n)
    for index in pairs:
        index.flags.writeable = False
    return pairs


def _pair_codes(m: int, width: int) -> tuple[int, int, int]:
    """Pixel codes that send each pixel pair of a window to its place in one array.

    Unknowns are coded ``0 .. m - 1``, a foreground pixel ``-f`` and a background one
    ``-g``. A pair with codes ``low <= high`` goes to ``low * (width - 1) + high + shift``
    (``width >= 2``, ``shift = f * (width - 1) + 1``), or to 0 if that is negative:

    - two unknowns ``j <= i``: ``shift + j * width + (i - j)``, LAPACK's lower band storage
      ``ab[i - j, j]`` in Fortran order from ``shift`` on (``f * (width - 1) >= m``, so
      after the entries below);
    - a foreground pixel and unknown ``i``: ``i + 1``, the entries ``1 .. m`` (of
      ``-L_uk alpha_k``);
    - two foreground pixels: ``1 - f <= 0``; a background pixel with anything:
      ``-g * (width - 1) + high + shift < 0`` (``g - f > m``): entry 0, never read.

    Returns ``(-f, -g, shift)``.
    """
    f = -(-m // (width - 1)) + 1
    g = f + m + 1
    return -f, -g, f * (width - 1) + 1


def solve_small(
    image: np.ndarray,
    is_fg: np.ndarray,
    is_bg: np.ndarray,
    *,
    rtol: float,
    eps: float = _defaults.EPS,
    radius: int = _defaults.RADIUS,
) -> tuple[np.ndarray, float] | None:
    """The system of :func:`build_system` solved by a band Cholesky factor, if it is small.

    A small system's build, factor and conjugate gradient are mostly NumPy's and SciPy's
    per-call cost. Here the blocks of the windows holding an unknown pixel are summed straight
    into the band of ``L_uu`` (unknowns in row-major order) and into ``-L_uk alpha_k``, and
    LAPACK's ``dpbsv`` solves it: the solution of the same system, exact to rounding rather
    than to conjugate gradient's ``rtol``.

    Parameters
    ----------
    image : ndarray, shape (h, w, 3)
        Float image in [0, 1], already validated.
    is_fg, is_bg : ndarray of bool, shape (h, w)
        Known foreground and background pixels.
    rtol : float
        The relative residual the solution must reach (else None).
    eps, radius : optional
        The closed-form options, already checked.

    Returns
    -------
    tuple or None
        ``(x, residual)``: alpha of the unknown pixels in row-major order and the relative
        residual ``||b - L_uu x|| / ||b||``; None if the system is too large for this path
        (more than ``_DIRECT_MAX_UNKNOWN`` unknowns, ``_DIRECT_MAX_FLOPS`` for its
        factor or ``_DIRECT_MAX_PAIRS`` pixel pairs in its windows), is not positive
        definite in floating point, or the residual is above
        ``rtol``: then :func:`build_system` and conjugate gradient solve it.
    """
    known = is_fg | is_bg
    unknown = np.flatnonzero(~known)
    m = len(unknown)
    if not 0 < m <= _DIRECT_MAX_UNKNOWN:
        return None
    # In row-major order an unknown couples only to pixels at most 2r rows and columns on:
    # the unknowns up to that flat index bound the band's width (below the diagonal, with it).
    reach = 2 * radius * (is_fg.shape[1] + 1)
    last = np.searchsorted(unknown, unknown + reach, side="right")
    width = int((last - np.arange(m)).max())
    if m * width**2 > _DIRECT_MAX_FLOPS:
        return None
    blocks = window_blocks(image, known, eps=eps, radius=radius, limit=_DIRECT_MAX_PAIRS)
    if blocks is None:
        return None
    # Within the pairs' bound it never warns (4e8 unknown-window pairs m n**2 warn): one
    # window of n <= 729 pixels holds m <= n unknowns, m n**2 <= 729**3 < 3.9e8; K >= 2 have
    # n <= 529 and K n (n + 1) / 2 <= 3e5, so m n**2 <= K n**3 < 3.2e8. Kept for larger bounds.
    check_radius_cost(m, radius)
    pixels, values = blocks
    # Each pair a <= b of a window's pixels once (its block is symmetric), summed by one
    # bincount into -L_uk alpha_k and the band of L_uu: see _pair_codes.
    width = max(width, 2)
    fg_code, bg_code, band_at = _pair_codes(m, width)
    codes = np.where(is_fg.reshape(-1), np.int32(fg_code), np.int32(bg_code))
    codes[unknown] = np.arange(m, dtype=np.int32)
    codes = codes[pixels]
    a, b = _upper_pairs(len(codes))
    first, second = codes[a], codes[b]
    slot = np.minimum(first, second)
    slot *= width - 1
    slot += np.maximum(first, second)
    slot += band_at
    np.maximum(slot, 0, out=slot)
    sums = np.bincount(slot.reshape(-1), values[a, b].reshape(-1), minlength=band_at + m * width)
    band = sums[band_at:].reshape(m, width).T
    rhs = -sums[1 : m + 1]
    import scipy.linalg.blas
    import scipy.linalg.lapack

    from vecmatte._blas import single_threaded_blas

    with single_threaded_blas():
        _, x, info = scipy.linalg.lapack.dpbsv(band, rhs, lower=1)
        if info != 0:
            return None
        product = scipy.linalg.blas.dsbmv(width - 1, 1.0, band, x, lower=1)
    b_norm = math.sqrt(rhs @ rhs)
    product -= rhs
    residual = math.sqrt(product @ product) / b_norm if b_norm > 0 else 0.0
    if not residual <= rtol:
        return None
    return x, residual
