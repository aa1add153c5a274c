"""The small levels of :mod:`vecmatte.foreground.ml` (and its first big level if it has at
most ``ml.FLAT`` pixels), relaxed with one-dimensional calls.

On images up to a few hundred pixels a side the multi-level method's time is the fixed cost
of its NumPy calls, not arithmetic: the coarse levels (1 x 1 to 32 x 32 pixels, ten sweeps
each) are 110 half-sweeps in sequence, and packing each level's tile, its neighbour weights
and 2 x 2 inverses cost as many calls again. A ufunc over contiguous one-dimensional arrays
of one shape takes NumPy's fast path (0.27 us a call for a few hundred values, on the
machine of the notes); over a strided or broadcast view it builds an iterator (1.2 to 2
us). So here:

- Each level is laid out as :class:`vecmatte.foreground._red_black.Grid` lays out a tile
  (red and black cells, a frame, neighbours at constant offsets), but channels first over
  the *whole* arrays, frame cells included: ``[pad | red (6, size) | black (6, size) | pad]``
  in one float32 buffer. Then every operand of a half-sweep is a contiguous slice of
  ``6 size`` values (a neighbour: the source colour shifted by its offset) and every call
  takes the fast path. The frame cells compute junk that nothing reads: before each
  half-sweep the target's border values are copied into the source's frame (as the packed
  tiles do), and all junk stays finite (the pads are zeros, frame cells start from pixels).
- The weights, the diagonal ``(ff, bb)`` and off-diagonal ``fb`` of the inverses and the
  constant parts come already repeated over the six channels (one copy per level), from a
  few calls over all levels' cells at once (they depend on alpha and the image only).
- The indices depend on the shapes only and are made once per image size (:func:`plan`).

The arithmetic is that of ``_red_black.relax``, operation for operation in float32
(products summed up, down, left, right; the solve ``(ff S_F + fb S_B) + c_F``; clipped), so
the colours are bit for bit those of the packed tiles.
"""

from __future__ import annotations

import functools
import threading

import numpy as np

from vecmatte.foreground._red_black import clip_ufunc, solve_parts, tile_grid

__all__ = ["Plan", "plan", "relax_levels"]

_F32 = np.float32
_ONE, _ZERO = np.ones((), _F32), np.zeros((), _F32)
# Rows of a level's coefficients per colour (:func:`_coefficients`), each ``size`` values:
# the weights up, down, left, right (4 x 6 channels), the diagonal ``(ff, ff, ff, bb, bb,
# bb)``, the off-diagonal ``fb`` (6) and the constant parts (6). :func:`_sweeps` slices them
# as ``coefficient[k * 6 size : ...]``, so their order is the half-sweep's.
_WEIGHTS, _DIAGONAL = slice(0, 24), slice(24, 30)
_OFF_DIAGONAL, _CONSTANT = slice(30, 36), slice(36, 42)
# Plans whose arrays a thread keeps (:func:`_kept`): about 200 bytes a cell, 0.4 MB for a
# 32 x 32 image's levels, 1.2 MB for a 128 x 128 image's (its 64 x 64 level joins them) ...
_KEPT_PLANS = 8
# ... and at most this many bytes of them: eight sizes of images of 128 pixels and more kept
# 10 MB in every thread that had run them, for as long as the thread lived. Four such
# plans fit (tiles and their edge tiles: 2.7 ms a 128 x 128 call with its plan kept, 3.7 ms
# with its arrays made anew).
_KEPT_BYTES = 6 << 20
_LOCAL = threading.local()


@functools.lru_cache(maxsize=128)
def nearest(n_out: int, n_in: int) -> np.ndarray:
    """Nearest-neighbour source index of each of ``n_out`` samples of ``n_in`` (Germer et al.),
    read-only: made once per pair of sizes (five per level of ml's; a tenth of a small
    level's time when made anew at each call). ``intp``: the flat pixel indices ``rows w0 +
    columns`` made from it pass 2^31 (``3 h0 w0``) from 716 megapixels, where NumPy 1's
    default integer is 32 bits on Windows."""
    index = np.minimum(np.arange(n_out, dtype=np.intp) * n_in // n_out, n_in - 1)
    index.flags.writeable = False
    return index


class _Level:
    """One level's layout: its grid, buffer offsets and per-colour cell geometry."""

    def __init__(self, h: int, w: int, first: int):
        self.shape = (h, w)
        self.grid = grid = tile_grid(h, (w,))
        self.size = size = grid.size
        self.pad = pad = (grid.width + 1) // 2 + 2
        self.length = 12 * size + 2 * pad  # the buffer: pad, red, black, pad
        self.first = first  # the level's first cell among all levels' cells
        # Every cell's pixel, clamped into the level (frame cells take a border pixel's).
        p = np.arange(2 * size)
        p = 2 * (p % size) + p // size  # red cells 0..size-1, then black
        y, x = p // grid.width - 1, p % grid.width - 1
        self.y, self.x = np.clip(y, 0, h - 1), np.clip(x, 0, w - 1)

    def cells(self, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Buffer index (channel 0) of pixels ``(y, x)``."""
        p = (y + 1) * self.grid.width + x + 1
        return self.pad + (p % 2) * 6 * self.size + p // 2


class Plan:
    """The indices of :func:`relax_levels` for the levels ``shapes`` of an ``h0 x w0`` image.

    ``pixels`` (every cell's full-resolution flat pixel, all levels' red then black cells
    one level after the other), ``pixels3`` (its channels' flat indices), ``neighbours``
    (``(4, L)`` full-resolution pixels up, down, left, right, clamped), ``levels``
    (:class:`_Level`), ``starts`` (per level after the first, the buffer indices of its red
    and black cells' starting colours in the previous level's buffer) and ``natural`` (the
    last two levels' pixels, ``(6, h, w)`` buffer indices, raster order).
    """

    def __init__(self, h0: int, w0: int, shapes: tuple[tuple[int, int], ...]):
        self.levels, first = [], 0
        pixels, neighbours, self.starts = [], [], []
        for h, w in shapes:
            level = _Level(h, w, first)
            rows, columns = nearest(h, h0), nearest(w, w0)
            y, x = level.y, level.x
            pixels.append(rows[y] * w0 + columns[x])
            near = (
                (np.maximum(y - 1, 0), x),
                (np.minimum(y + 1, h - 1), x),
                (y, np.maximum(x - 1, 0)),
                (y, np.minimum(x + 1, w - 1)),
            )
            neighbours.append(np.stack([rows[a] * w0 + columns[b] for a, b in near]))
            if self.levels:
                previous = self.levels[-1]
                ph, pw = previous.shape
                source = previous.cells(nearest(h, ph)[y], nearest(w, pw)[x])
                # Every cell of the level's red and black planes (no pads), channels first.
                index = np.empty(12 * level.size, np.intp)
                channels = np.arange(6)[:, None] * previous.size
                index.reshape(2, 6, level.size)[...] = source.reshape(2, 1, -1) + channels
                self.starts.append(index)
            self.levels.append(level)
            first += 2 * level.size
        self.size = first
        self.pixels = np.concatenate(pixels)
        self.pixels3 = 3 * self.pixels + np.arange(3)[:, None]
        self.neighbours = np.concatenate(neighbours, axis=1)
        self.natural = [self._natural(level) for level in self.levels[-2:]]
        # Shared by every thread through plan()'s cache: read-only, as the other cached
        # index arrays (nearest's).
        shared = [self.pixels, self.pixels3, self.neighbours, *self.starts, *self.natural]
        for array in shared + [a for level in self.levels for a in (level.y, level.x)]:
            array.flags.writeable = False

    @staticmethod
    def _natural(level: _Level) -> np.ndarray:
        """Buffer indices of the level's pixels, ``(6, h, w)``, raster order."""
        h, w = level.shape
        y, x = np.divmod(np.arange(h * w), w)
        channels = np.arange(6)[:, None] * level.size
        return (level.cells(y, x) + channels).reshape(6, h, w)


@functools.lru_cache(maxsize=8)
def plan(h0: int, w0: int, shapes: tuple[tuple[int, int], ...]) -> Plan:
    """The :class:`Plan` of the levels ``shapes`` of an ``h0 x w0`` image, made once per
    size (about 170 bytes a cell: 0.28 MB for a 32 x 32 image's levels, 1 MB from 64 x 64
    on; at most eight kept, for all threads)."""
    return Plan(h0, w0, shapes)


def _operators(layout: Plan, image, alpha, regularization, weight):
    """Neighbour weights ``(4, L)``, inverse 2x2 matrices ``(ff, fb, bb)`` ``(3, L)`` and
    constant parts ``(6, L)`` of every cell of every level (the weights as ``_red_black``'s
    ``_edge_weights`` computes them, operation for operation; the rest by its
    :func:`~vecmatte.foreground._red_black.solve_parts`)."""
    alpha = alpha.reshape(-1)
    a0 = alpha.take(layout.pixels).astype(_F32)
    weights = alpha.take(layout.neighbours).astype(_F32)
    photo = image.reshape(-1).take(layout.pixels3).astype(_F32)
    np.subtract(a0, weights, out=weights)
    np.abs(weights, out=weights)
    if weight != 1:
        weights *= weight
    weights += regularization
    # Up, down, left, right added in turn (a reduction over the first axis adds whole rows
    # in order), as _red_black's sums are.
    total = np.add.reduce(weights, axis=0)
    inverse = np.empty((3, layout.size), _F32)
    constant = np.empty((6, layout.size), _F32)
    solve_parts(a0, total, photo, inverse, constant)
    return weights, inverse, constant


def _coefficients(level: _Level, operators, out: np.ndarray) -> None:
    """Fill the level's ``(2, 42, size)`` coefficients ``out``, per colour: the weights
    repeated over the six channels (up, down, left, right), the diagonal ``(ff, ff, ff, bb,
    bb, bb)``, the off-diagonal ``fb`` six times and the constant parts."""
    weights, inverse, constant = operators
    size, cells = level.size, slice(level.first, level.first + 2 * level.size)
    np.copyto(
        out[:, _WEIGHTS].reshape(2, 4, 6, size),
        weights[:, cells].reshape(4, 2, 1, size).transpose(1, 0, 2, 3),
    )
    np.copyto(
        out[:, _DIAGONAL].reshape(2, 2, 3, size),
        inverse[0::2, cells].reshape(2, 2, 1, size).transpose(1, 0, 2, 3),
    )
    np.copyto(out[:, _OFF_DIAGONAL], inverse[1, cells].reshape(2, 1, size))
    np.copyto(out[:, _CONSTANT], constant[:, cells].reshape(6, 2, size).transpose(1, 0, 2))


def _sweeps(level: _Level, buffer: np.ndarray, coefficients: np.ndarray, scratch):
    """Per colour to relax (red, then black unless the level is 1 x 1), the operands of
    :func:`relax_levels`' half-sweep, every one a contiguous slice: ``(mirror, up, down,
    left, right, repeat, solve, swapped, constant, cells)``, with ``mirror`` the
    ``(destination, origin)`` frame copies; ``up`` to ``right`` ``(weight, neighbour, out)``
    (up's out the sums ``S`` of rows 0-5 of ``sums``, the others' a scratch row);
    ``repeat`` ``(rows 6-8, rows 0-2)`` of ``sums``, so that rows 3-8 are ``(S_B, S_F)``;
    ``solve`` ``(diagonal, S, cells)`` and ``swapped`` ``(fb, (S_B, S_F), scratch)``; the
    constant parts and the target cells."""
    grid, size, pad = level.grid, level.size, level.pad
    n = 6 * size
    sums, other = scratch
    sums, other = sums[: 9 * size], other[:n]
    colours = (0,) if level.shape == (1, 1) else (0, 1)
    planes = [buffer[pad + c * n : pad + (c + 1) * n].reshape(6, size) for c in (0, 1)]
    sweeps = []
    for c in colours:
        target, start = buffer[pad + c * n : pad + (c + 1) * n], pad + (1 - c) * n
        source = [buffer[start + d : start + d + n] for d in grid.offsets(c)]
        coefficient = coefficients[c].reshape(-1)
        weights = [coefficient[k * n : (k + 1) * n] for k in range(4)]
        mirror = tuple(
            (planes[1 - c][:, frame], planes[c][:, cells]) for frame, cells in grid.mirrors[c]
        )
        sweeps.append(
            (
                mirror,
                (weights[0], source[0], sums[:n]),
                (weights[1], source[1], other),
                (weights[2], source[2], other),
                (weights[3], source[3], other),
                (sums[6 * size :], sums[: 3 * size]),
                (coefficient[4 * n : 5 * n], sums[:n], target),
                (coefficient[5 * n : 6 * n], sums[3 * size :], other),
                coefficient[6 * n :],
                target,
            )
        )
    return sweeps


def _kept(layout: Plan) -> list:
    """This thread's buffers, coefficient arrays and half-sweep operands for ``layout``, per
    level: ``(buffer, coefficients, sweeps)``. Kept from one call to the next (making them
    was a fifth of a 32 x 32 call); per thread, so that two threads never share them; at
    most :data:`_KEPT_PLANS` plans and :data:`_KEPT_BYTES` bytes of them (a plan over that
    alone has its arrays made for the call, not kept). The pads of a buffer stay zero
    (nothing writes them); everything else is written before it is read at every call."""
    kept = getattr(_LOCAL, "plans", None)
    if kept is None:
        kept = _LOCAL.plans = {}
    entry = kept.get(layout)
    if entry is not None:
        return entry
    held, needed = sum(map(_kept_bytes, kept)), _kept_bytes(layout)
    if len(kept) >= _KEPT_PLANS or held + needed > _KEPT_BYTES:
        kept.clear()
    largest = max(level.size for level in layout.levels)
    scratch = (np.empty(9 * largest, _F32), np.empty(6 * largest, _F32))
    entry = []
    for level in layout.levels:
        buffer = np.zeros(level.length, _F32)
        coefficients = np.empty((2, 42, level.size), _F32)
        entry.append((buffer, coefficients, _sweeps(level, buffer, coefficients, scratch)))
    # Stored once complete (a MemoryError above leaves no partial entry for the next call
    # to find), and only if it fits alone (a 1 x 4096 image's levels need 6.8 MB: made
    # anew at each call).
    if needed <= _KEPT_BYTES:
        kept[layout] = entry
    return entry


def _kept_bytes(layout: Plan) -> int:
    """Bytes of the arrays :func:`_kept` keeps for ``layout``: per level a buffer and the
    coefficients, and two scratch arrays for the largest level (see :data:`_KEPT_BYTES`)."""
    largest = max(level.size for level in layout.levels)
    levels = sum(level.length + 84 * level.size for level in layout.levels)
    return 4 * (levels + 15 * largest)


def relax_levels(layout: Plan, image, alpha, start, iterations, regularization, weight):
    """Relax the levels of ``layout`` coarse to fine from the ``(6, 1, 1)`` colours ``start``,
    ``iterations[i]`` sweeps on level ``i``; return the last level's colours ``(6, h, w)``,
    float32, and the level's before it (``start`` if there is one level)."""
    operators = _operators(layout, image, alpha, regularization, weight)
    multiply, add, clip, low, high = np.multiply, np.add, clip_ufunc, _ZERO, _ONE
    previous = None
    kept = _kept(layout)
    for index, (level, count) in enumerate(zip(layout.levels, iterations, strict=True)):
        buffer, coefficients, sweeps = kept[index]
        inside = buffer[level.pad : level.pad + 12 * level.size]
        if previous is None:
            inside.reshape(12, level.size)[...] = np.tile(start.reshape(6, 1), (2, 1))
        else:
            previous.take(layout.starts[index - 1], out=inside, mode="clip")
        _coefficients(level, operators, coefficients)
        for _ in range(count):
            for mirror, up, down, left, right, repeat, solve, swapped, constant, cells in sweeps:
                for destination, origin in mirror:
                    destination[...] = origin
                total, other = up[2], down[2]
                multiply(*up)
                multiply(*down)
                add(total, other, total)
                multiply(*left)
                add(total, other, total)
                multiply(*right)
                add(total, other, total)
                repeat[0][...] = repeat[1]
                multiply(*solve)
                multiply(*swapped)
                add(cells, other, cells)
                add(cells, constant, cells)
                clip(cells, low, high, cells)
        if index == len(layout.levels) - 2:
            before = buffer.take(layout.natural[0])
        previous = buffer
    if len(layout.levels) == 1:
        before = start
    return previous.take(layout.natural[-1]), before
