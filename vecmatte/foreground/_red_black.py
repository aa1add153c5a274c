"""Red-black relaxation of a packed tile: the inner loop of :mod:`vecmatte.foreground.ml`.

How it is vectorised: in red-black (checkerboard) order no pixel of one colour neighbours
another, so relaxing all red pixels at once and then all black ones is a Gauss-Seidel sweep.
A tile of pixels with a one-cell frame is laid out row-major with an odd row length (one
spare frame column if needed): then flat cell ``p``'s checkerboard colour is ``p mod 2``, the
red cells are ``p = 2k`` and the black ones ``p = 2k + 1``, each colour one flat float32 array
per channel (``F_r, F_g, F_b, B_r, B_g, B_b``), and the up, down, left and right neighbours of
every cell ``k`` of one colour are cells ``k + const`` of the other (:class:`Grid`). So each
neighbour is one contiguous slice, and a half-sweep is a dozen ufuncs over whole arrays: 0.45x
the time of packing each row apart (half-width rows, whose fourth neighbour alternated between
``k - 1`` and ``k + 1``, so every ufunc ran a short inner loop per row; 19 instead of 37 ns per
pixel and half-sweep on GT04). Before a half-sweep the border pixels' own values are copied
into the other colour's frame, which reproduces the clamped neighbours exactly. The per-pixel
inverse of the 2x2 matrix and its constant part are computed once per tile, not per
half-sweep. Neighbours are summed up, down, left, right (the reference loop's order).
"""

from __future__ import annotations

import functools
import importlib
import threading
import types

import numpy as np

__all__ = ["Grid", "clip_ufunc", "pack", "relax", "solve_parts", "tile_grid", "unpack"]

_F32 = np.float32
# Clipping to [0, 1] with 0-d bounds by NumPy's clip ufunc itself: ndarray.clip and np.clip
# reach the same ufunc through Python wrappers (0.54 against 0.98 us for the method at 6 x 300
# values, the small levels clip 120 times a call), np.minimum then np.maximum are two calls.
# The same ufunc, so the same bits (numpy.core before NumPy 2, where _core is new; chosen by
# version, since NumPy 1.26 may hold a numpy._core stub without umath).
_ONE_ARRAY, _ZERO_ARRAY = np.ones((), _F32), np.zeros((), _F32)
_CLIP = importlib.import_module(
    "numpy._core.umath" if np.lib.NumpyVersion(np.__version__) >= "2.0.0" else "numpy.core.umath"
).clip
#: NumPy's clip ufunc (above), for :mod:`vecmatte.foreground._flat`.
clip_ufunc = _CLIP
# Cells per colour up to which a tile is relaxed by :func:`_fused_sweeps` (the six small
# levels' tiles, up to about 44 x 44 pixels): 25% less time than :func:`_half_sweep` on the
# small levels, where the calls' fixed cost dominates; on bigger tiles its (4, 6, m) and
# (3, 6, m) arrays outgrow the cache and it is the slower (1.06x at 64 x 64, 1.22x at 104 x
# 128).
_FUSED_CELLS = 1024
# Values of a packed array up to which :func:`pack` zeroes it whole rather than its frame
# (small tiles: fewer calls; big ones: no pass over memory the packing overwrites).
_ZEROED_CELLS = 1 << 14
# Small tiles (relaxed by :func:`_fused_sweeps`, at most :data:`_ZEROED_CELLS` values packed)
# keep their packed arrays, working arrays and views from one call to the next, per thread
# and tile grid (:func:`_kept`): on images of one size the six small levels have the same
# grids at every call, and making the views and arrays anew cost a fifth of a small level's
# time (3-5% of a 32 x 32 call, same-process A/B on a loaded machine). At most this many
# grids per thread, at most 0.6 MB each (60 kB to 0.3 MB for the levels up to 32 x 32).
_KEPT_GRIDS = 8


class _Local(threading.local):
    """Per-thread kept arrays: ``grids`` maps a grid to its arrays and views; read-only and
    empty until :func:`_kept` makes the thread's own (ml's small levels go by ``_flat``, so
    only direct :func:`relax` calls on small tiles keep any)."""

    grids = types.MappingProxyType({})


_LOCAL = _Local()


class Grid:
    """Where the cells of a tile of ``rows`` pixels by blocks of ``widths`` columns sit in
    its two packed arrays.

    The blocks are set side by side, ``n`` columns in all with the frame columns between them
    (:attr:`starts`). The tile with a one-cell frame is laid out row-major with an odd row
    length ``W`` (one more frame column if ``n`` is even) and an even number of rows ``2 P``.
    With ``W`` odd, flat cell ``p`` has the checkerboard colour of its pixel, ``p mod 2`` (pixel
    ``(y, x)`` is cell ``(y + 1) W + x + 1``), so the red cells are ``p = 2 k`` and the black
    ones ``p = 2 k + 1``: each colour is one array of ``P W`` cells, ``(c, P, W)`` seen as pairs
    of rows. A neighbour ``p + d`` (``d = -W, W, -1, 1``) of a colour-``c`` cell ``k`` is cell
    ``k + (c + d) // 2`` of the other colour for every ``k``: each neighbour is one contiguous
    slice, and a half-sweep is a dozen ufuncs over whole contiguous arrays.
    """

    def __init__(self, rows: int, widths: list[int]):
        # Several blocks of columns side by side, each starting at an even column (so that
        # its pixels keep their checkerboard colours), two or three frame columns apart.
        self.starts = [0]
        for n in widths[:-1]:
            self.starts.append((self.starts[-1] + n + 3) & ~1)
        self.rows, self.widths = rows, widths
        self.n = n = self.starts[-1] + widths[-1]
        self.width = (n + 2) | 1
        self.pairs = (rows + 3) // 2
        self.size = self.pairs * self.width
        w, last = self.width, (rows + 1) * self.width
        # Made once: the slices are asked for about ten times per tile.
        self._interior = tuple(slice((w - c + 1) // 2, (last - c + 1) // 2) for c in (0, 1))
        self._borders = tuple(self._border_cells(c) for c in (0, 1))
        # (source, target) slices of the mirror copies, made once per grid (a tile asks for
        # them four times).
        self.mirrors = tuple(
            tuple(
                (slice(cells.start + d, cells.stop + d, cells.step), cells)
                for cells, d in self._borders[c]
            )
            for c in (0, 1)
        )
        self.frames = tuple(self.frame(c) for c in (0, 1))

    def interior(self, colour: int) -> slice:
        """Cells of the tile's rows (pixels and the left and right frame cells)."""
        return self._interior[colour]

    def offset(self, colour: int, d: int) -> int:
        return (colour + d) // 2

    def offsets(self, colour: int) -> tuple[int, ...]:
        """Up, down, left and right neighbours' offsets (the reference loop's order)."""
        w = self.width
        return tuple((colour + d) // 2 for d in (-w, w, -1, 1))

    def column(self, colour: int, x: int) -> slice:
        """Cells of colour ``colour`` in column ``x`` (frame included, 0 to ``W - 1``) of
        the tile's rows."""
        w, c = self.width, colour
        first = 1 if (1 + x) % 2 == c else 2
        return slice((first * w + x - c) // 2, self.interior(c).stop, w)

    def row(self, colour: int, y: int) -> slice:
        """Cells of colour ``colour`` in flat row ``y`` (0 to ``2 P - 1``)."""
        w, c = self.width, colour
        return slice((y * w - c + 1) // 2, ((y + 1) * w - c + 1) // 2)

    def _border_cells(self, colour: int) -> list[tuple[slice, int]]:
        """The colour's cells on the tile's border, each with the offset of its clamped
        neighbour (a frame cell of the other colour): top, bottom, left, right."""
        w, c = self.width, colour
        cells = [(self.row(c, 1), self.offset(c, -w)), (self.row(c, self.rows), self.offset(c, w))]
        for start, n in zip(self.starts, self.widths, strict=True):
            cells.append((self.column(c, start + 1), self.offset(c, -1)))
            cells.append((self.column(c, start + n), self.offset(c, 1)))
        return cells

    def frame(self, colour: int) -> list[slice]:
        """The colour's frame cells (and the unused last row and columns, if any)."""
        last = (self.rows + 1) * self.width
        cells = [slice(0, self.row(colour, 0).stop), slice((last - colour + 1) // 2, None)]
        ends = [start + n + 1 for start, n in zip(self.starts, self.widths, strict=True)]
        columns = [0]
        for end, start in zip(ends, [*self.starts[1:], self.width - 1], strict=True):
            columns.extend(range(end, start + 1))
        return cells + [self.column(colour, x) for x in columns]


@functools.lru_cache(maxsize=256)
def tile_grid(rows: int, widths: tuple[int, ...]) -> Grid:
    """The :class:`Grid` of a tile, made once per shape: the small levels' tiles have the
    same shapes at every call on images of one size, and making a grid's slices cost about
    as much as a small level's packing."""
    return Grid(rows, list(widths))


def _fused(grid: Grid) -> bool:
    """Whether :func:`relax` relaxes the tile by :func:`_fused_sweeps`."""
    return max(cells.stop - cells.start for cells in map(grid.interior, (0, 1))) <= _FUSED_CELLS


def _kept(grid: Grid) -> dict:
    """This thread's arrays and views kept for the small tile ``grid`` (see
    :data:`_KEPT_GRIDS`). Per thread, so that two threads never share working arrays; a
    tile's are used up (unpacked) before the next tile is packed."""
    kept = _LOCAL.__dict__.get("grids")
    if kept is None:
        kept = _LOCAL.grids = {}
    entry = kept.get(grid)
    if entry is None:
        if len(kept) >= _KEPT_GRIDS:
            kept.clear()
        entry = kept[grid] = {}
    return entry


def pack(band: np.ndarray, blocks: list[tuple[int, int]], grid: Grid) -> list[np.ndarray]:
    """Red and black cells of the blocks of columns ``[left, right)`` of ``band`` (``(c,
    rows, w)``, first row and every ``left`` even), as two ``(c, P W)`` arrays, frames zeroed
    (see :class:`Grid`). A small tile's arrays are this thread's kept ones (:func:`_kept`),
    valid until the next tile of the same grid is packed."""
    channels, rows = band.shape[0], grid.rows
    half = (grid.width + 1) // 2
    small = channels * grid.size <= _ZEROED_CELLS
    if small and _fused(grid):
        entry = _kept(grid)
        red, black = entry.get(channels) or entry.setdefault(
            channels, [np.empty((channels, grid.size), _F32) for _ in range(2)]
        )
        red.fill(0)
        black.fill(0)
    elif small:  # one call instead of a few per frame
        red, black = (np.zeros((channels, grid.size), _F32) for _ in range(2))
    else:
        red, black = (np.empty((channels, grid.size), _F32) for _ in range(2))
        for colour, array in enumerate((red, black)):
            for cells in grid.frames[colour]:
                array[:, cells] = 0
    r, b = (a.reshape(channels, grid.pairs, grid.width) for a in (red, black))
    even, odd = (rows + 1) // 2, rows // 2
    for (left, right), start in zip(blocks, grid.starts, strict=True):
        k, n = start // 2, right - left
        wide, narrow = (n + 1) // 2, n // 2
        # Even tile rows are odd flat rows (second of a pair), odd tile rows even flat rows.
        r[:, :even, half + k : half + k + wide] = band[:, 0::2, left:right:2]
        b[:, :even, half + k : half + k + narrow] = band[:, 0::2, left + 1 : right : 2]
        r[:, 1 : 1 + odd, 1 + k : 1 + k + narrow] = band[:, 1::2, left + 1 : right : 2]
        b[:, 1 : 1 + odd, k : k + wide] = band[:, 1::2, left:right:2]
    return [red, black]


def unpack(colours, grid: Grid, keep_rows, keep_columns, out) -> None:
    """Write the tile's rows ``keep_rows = (first, last)`` and packed columns ``keep_columns
    = (left, right)`` (half-open, ``first`` and ``left`` even) of the packed ``colours`` into
    ``out``, ``(c, rows, columns)``."""
    channels = out.shape[0]
    r, b = (a[:channels].reshape(channels, grid.pairs, grid.width) for a in colours)
    (first, last), (left, right) = keep_rows, keep_columns
    half = (grid.width + 1) // 2
    j, k = first // 2, left // 2
    even, odd = (last - first + 1) // 2, (last - first) // 2
    wide, narrow = (right - left + 1) // 2, (right - left) // 2
    out[:, 0::2, 0::2] = r[:, j : j + even, half + k : half + k + wide]
    out[:, 0::2, 1::2] = b[:, j : j + even, half + k : half + k + narrow]
    out[:, 1::2, 1::2] = r[:, j + 1 : j + 1 + odd, k + 1 : k + 1 + narrow]
    out[:, 1::2, 0::2] = b[:, j + 1 : j + 1 + odd, k : k + wide]


def _mirror_views(target: np.ndarray, source: np.ndarray, grid: Grid, colour: int):
    """``(destination, origin)`` views of the copies of the target colour's border cells
    into the source colour's frame.

    A border pixel's clamped neighbour is the pixel itself; with its value (and alpha) in the
    frame cell it reads, the neighbour weight is ``epsilon`` and the term is the pixel's own
    previous value, as in the unpacked formulation.
    """
    return [(source[:, frame], target[:, cells]) for frame, cells in grid.mirrors[colour]]


def _edge_weights(alphas, grid: Grid, regularization, weight) -> list[list[np.ndarray]]:
    """Neighbour weights ``epsilon + omega |alpha - alpha_j|`` of each colour's interior
    cells, up, down, left and right: ``[red, black]``, four ``(m,)`` views each.

    Every edge joins a red and a black cell, so the weights are computed once, as the red
    cells' (over the cells either colour needs), and black cell ``k``'s weight towards
    ``d`` is its neighbour's towards ``-d``: bit for bit the same (``|a - b| = |b - a|`` in
    floating point), half the passes.
    """
    red, black = alphas[0][0], alphas[1][0]
    inner = [grid.interior(colour) for colour in (0, 1)]
    steps = (-grid.width, grid.width, -1, 1)
    rows = {}
    for d in steps:
        ahead, back = grid.offset(0, d), grid.offset(1, -d)
        lo = min(inner[0].start, inner[1].start + back)
        hi = max(inner[0].stop, inner[1].stop + back)
        row = np.empty(grid.size, _F32)
        part = row[lo:hi]
        np.subtract(red[lo:hi], black[lo + ahead : hi + ahead], out=part)
        np.abs(part, out=part)
        if weight != 1:  # PyMatting's default is 1
            part *= weight
        part += regularization
        rows[d] = row
    views = [[rows[d][inner[0]] for d in steps], []]
    for d in steps:
        shift = grid.offset(1, d)
        views[1].append(rows[-d][inner[1].start + shift : inner[1].stop + shift])
    return views


def _level_operator(alphas, images, grid: Grid, colour: int, weights):
    """Inverse 2x2 matrices and constant parts for one colour, given its neighbour weights."""
    inner = grid.interior(colour)
    a0 = alphas[colour][0, inner]
    m = len(a0)
    total = np.add(weights[0], weights[1])
    total += weights[2]
    total += weights[3]
    inverse = np.empty((3, m), _F32)
    constant = np.empty((6, m), _F32)
    solve_parts(a0, total, images[colour][:, inner], inverse, constant)
    return inverse, constant


def solve_parts(a0, total, image, inverse, constant) -> None:
    """Fill ``inverse`` ``(3, m)`` with the rows ``(ff, fb, bb)`` of the pixels' inverse 2x2
    matrices and ``constant`` ``(6, m)`` with their constant parts ``(c_F, c_B)``, from alpha
    ``a0``, the sum ``total`` of the neighbour weights and the photograph ``image`` ``(3, m)``
    (float32). Shared by :func:`relax` and :mod:`vecmatte.foreground._flat`, whose colours
    are bit for bit the same only while both compute these operation for operation alike.
    """
    # With T = sum w and m = (a0^2 + T, a0 a1, a1^2 + T), det = T (a0^2 + a1^2 + T): no
    # cancellation, and M^-1 (a0 I, a1 I) = (a0 I, a1 I) / (a0^2 + a1^2 + T).
    a1 = 1 - a0
    square0, square1 = a0 * a0, a1 * a1
    scale = np.add(square0, square1)
    scale += total
    det = scale * total
    np.add(square1, total, out=inverse[0])
    inverse[0] /= det
    np.add(square0, total, out=inverse[2])
    inverse[2] /= det
    np.multiply(a0, a1, out=inverse[1])
    inverse[1] /= det
    np.negative(inverse[1], out=inverse[1])
    np.divide(a0, scale, out=square0)
    np.divide(a1, scale, out=square1)
    np.multiply(image, square0, out=constant[:3])
    np.multiply(image, square1, out=constant[3:])


def _pairs(array: np.ndarray, start: int, step: int, m: int) -> np.ndarray:
    """The view ``(2, c, m)`` of cells ``start + k`` and ``start + step + k`` of every channel
    of ``array`` ``(c, n)`` (rows of a C-contiguous array, as :func:`pack` makes them): two
    neighbours' slices in one operand, so that one ufunc call multiplies both."""
    size = array.itemsize
    return np.ndarray(
        (2, array.shape[0], m),
        array.dtype,
        buffer=array,
        offset=start * size,
        strides=(step * size, array.strides[0], size),
    )


def _sweep_views(target, source, operator, grid, colour, total, scratch):
    """The views :func:`_half_sweep` reads and writes, made once per tile: on the small
    levels, slicing them anew for each of the 20 half-sweeps cost as much as the arithmetic."""
    weights, inverse, constant = operator
    inner = grid.interior(colour)
    neighbours = [source[:, inner.start + d : inner.stop + d] for d in grid.offsets(colour)]
    cells = target[:, inner]
    m = cells.shape[1]
    # The 2x2 solve F = ff sum_F + fb sum_B, B = bb sum_B + fb sum_F as three ufuncs over
    # (F, B) x channel x pixel views (the diagonal (ff, bb) broadcast over the channels, the
    # sums' halves swapped by a reversed view): the same products added in the same order as
    # six calls on the halves, bit for bit, in half the calls that bound the small levels.
    # Splitting the first axis of a (6, m) view never copies, so the reshapes are views.
    swapped = total.reshape(2, 3, m)[::-1]
    return (
        _mirror_views(target, source, grid, colour),
        tuple(zip(weights, neighbours, strict=True)),
        (total, scratch),
        (
            cells,
            cells.reshape(2, 3, m),
            inverse[0::2, None, :],
            inverse[1],
            total.reshape(2, 3, m),
            swapped,
            scratch.reshape(2, 3, m),
            constant,
        ),
    )


def _half_sweep(views) -> None:
    """Relax every pixel of the target colour given the source colour's current values."""
    mirror, products, (total, scratch), targets = views
    inner, halves, diagonal, inverse_fb, sums, swapped, part, constant = targets
    for destination, origin in mirror:
        destination[...] = origin
    (weight, neighbour), *rest = products
    np.multiply(weight, neighbour, out=total)
    for weight, neighbour in rest:
        np.multiply(weight, neighbour, out=scratch)
        total += scratch
    np.multiply(diagonal, sums, out=halves)
    np.multiply(inverse_fb, swapped, out=part)
    halves += part
    inner += constant
    _CLIP(inner, _ZERO_ARRAY, _ONE_ARRAY, inner)


def _fused_views(target, source, grid, colour):
    """The operands :func:`_fused_sweeps` reads and writes, and the arrays
    :func:`_load_operator` fills, made once per tile grid and thread (small tiles: see
    :data:`_FUSED_CELLS`).

    Fewer, larger calls than one per term, bit for bit the same sums: NumPy's reduction over
    the first axis of a C-contiguous array adds its rows one after the other, elementwise,
    rounding at each step, as in-place additions do.

    - The products ``w_j x_j`` of the four neighbours (up, down, left, right) fill one
      ``(4, 6, m)`` array, summed by one reduction: ``((up + down) + left) + right``. Up and
      down are ``W`` cells apart, left and right one, so each pair is one strided view of
      the source and one multiplication.
    - The 2x2 solve ``F = (ff S_F + fb S_B) + c_F``, ``B = (bb S_B + fb S_F) + c_B``: the
      sums land in rows 0-5 of a ``(9, m)`` array whose rows 6-8 repeat rows 0-2, so that
      ``(S_F, S_B)`` and ``(S_B, S_F)`` are one strided view; one multiplication by ``((ff,
      bb), (fb, fb))`` and one reduction over ``(products, constant)``.
    """
    inner = grid.interior(colour)
    up, down, left, right = (inner.start + d for d in grid.offsets(colour))
    m = inner.stop - inner.start
    factors = np.empty((4, 1, m), _F32)
    products = np.empty((4, 6, m), _F32)
    sums = np.empty((9, m), _F32)
    solve = np.empty((2, 2, 1, m), _F32)
    terms = np.empty((3, 6, m), _F32)
    rows = sums.strides[0]
    strides = (3 * rows, 3 * rows, rows, sums.itemsize)
    both = np.ndarray((2, 2, 3, m), _F32, buffer=sums, strides=strides)
    # One flat tuple, ufuncs' outputs positional, 0-d bounds: the small levels' 120
    # half-sweeps spend as much in Python as in NumPy (10% less time than nested tuples).
    cells = target[:, inner]
    views = (
        tuple(_mirror_views(target, source, grid, colour)),
        (factors[:2], _pairs(source, up, down - up, m), products[:2]),
        (factors[2:], _pairs(source, left, right - left, m), products[2:]),
        (products, 0, None, sums[:6]),
        sums[6:],
        sums[:3],
        (solve, both, terms[:2].reshape(2, 2, 3, m)),
        (terms, 0, None, cells),
        cells,
    )
    return views, (factors[:, 0], solve[0, :, 0], solve[1, :, 0], terms[2])


def _load_operator(loads, operator) -> None:
    """Copy a tile's neighbour weights, inverse 2x2 matrices and constant parts into the
    arrays of :func:`_fused_views`."""
    factors, diagonal, off_diagonal, constant_part = loads
    weights, inverse, constant = operator
    for row, weight in enumerate(weights):
        factors[row] = weight
    diagonal[...] = inverse[0::2]
    off_diagonal[...] = inverse[1]
    constant_part[...] = constant


def _fused_sweeps(sweeps, iterations: int) -> None:
    """``iterations`` red-black sweeps on :func:`_fused_views`' operands (red's, then
    black's): :func:`_half_sweep` in 7 ufunc calls instead of 13, the loop inlined and the
    functions bound once (the small levels' 120 half-sweeps spend as much time in Python as
    in NumPy)."""
    multiply, add, clip, low, high = np.multiply, np.add.reduce, _CLIP, _ZERO_ARRAY, _ONE_ARRAY
    for _ in range(iterations):
        for mirror, vertical, horizontal, sums, repeat, first, solve, terms, cells in sweeps:
            for destination, origin in mirror:
                destination[...] = origin
            multiply(*vertical)
            multiply(*horizontal)
            add(*sums)
            repeat[...] = first
            multiply(*solve)
            add(*terms)
            clip(cells, low, high, cells)


def relax(packed, grid, iterations, regularization, weight):
    """Run ``iterations`` red-black sweeps on a packed tile; return the packed colours."""
    colours, alphas, images = packed
    for colour in (0, 1):
        for destination, origin in _mirror_views(alphas[colour], alphas[1 - colour], grid, colour):
            destination[...] = origin
    weights = _edge_weights(alphas, grid, regularization, weight)
    # A 1 x 1 tile (the coarsest level) has no black pixel: its black cells are frame cells,
    # which the mirror copies overwrite before the red pixel reads them, so black's
    # half-sweeps change nothing the result reads; they are left out (10 of the small levels'
    # 120 half-sweeps, bit for bit the same result).
    relaxed = (0,) if grid.rows == 1 and grid.widths == [1] else (0, 1)
    operators = [
        (weights[colour], *_level_operator(alphas, images, grid, colour, weights[colour]))
        for colour in relaxed
    ]
    if _fused(grid):
        # Kept per thread and grid while the colours are the same arrays (pack's kept ones):
        # the key holds the arrays' addresses and the entry the arrays themselves, so that
        # no other array can have those addresses while the entry lives.
        key = (relaxed, colours[0].shape, *(c.__array_interface__["data"][0] for c in colours))
        entry = _kept(grid)
        prepared = entry.get("fused")
        if prepared is None or prepared[0] != key:  # one set per grid: memory stays bounded
            tiles = [_fused_views(colours[c], colours[1 - c], grid, c) for c in relaxed]
            prepared = entry["fused"] = (key, list(colours), tiles)
        tiles = prepared[2]
        for (_, loads), operator in zip(tiles, operators, strict=True):
            _load_operator(loads, operator)
        _fused_sweeps([views for views, _ in tiles], iterations)
        return colours
    sizes = [grid.interior(colour).stop - grid.interior(colour).start for colour in (0, 1)]
    total = np.empty((6, max(sizes)), _F32)
    scratch = np.empty((6, max(sizes)), _F32)
    sweeps = [
        _sweep_views(
            colours[colour],
            colours[1 - colour],
            operators[colour],
            grid,
            colour,
            total[:, : sizes[colour]],
            scratch[:, : sizes[colour]],
        )
        for colour in relaxed
    ]
    for _ in range(iterations):
        for views in sweeps:
            _half_sweep(views)
    return colours
