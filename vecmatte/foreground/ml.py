"""Multi-level foreground estimation (Germer, Uelwer, Conrad and Harmeling, ICPR 2020).

Coarse to fine, at each of about ``log2 max(h, w)`` levels, every pixel's 2x2 system

.. math:: \\begin{pmatrix} \\alpha^2 + W & \\alpha (1 - \\alpha) \\\\
          \\alpha (1 - \\alpha) & (1 - \\alpha)^2 + W \\end{pmatrix}
          \\begin{pmatrix} F \\\\ B \\end{pmatrix} =
          \\begin{pmatrix} \\alpha I + \\sum_j w_j F_j \\\\
          (1 - \\alpha) I + \\sum_j w_j B_j \\end{pmatrix},
          \\quad w_j = \\epsilon + \\omega |\\alpha - \\alpha_j|, \\quad W = \\sum_j w_j

(``j`` over the 4 neighbours, clamped at the border) is relaxed given the neighbours' current
colours, then clipped to [0, 1].

The relaxation of a tile is vectorised in red-black order
(:mod:`vecmatte.foreground._red_black`). The small levels (both sides up to ``small_size``)
are relaxed all together by :mod:`vecmatte.foreground._flat`: the same arithmetic in
one-dimensional NumPy calls, the small levels' time being that of their calls (a 32 x 32
call: 2.6 ms in packed tiles, 0.9 ms so).

Big levels run in bands of rows, and within a band in blocks of columns, each with a halo of
``2 * iterations`` pixels: a half-sweep moves information by one pixel, so the wrong clamping
at a block's cut edge reaches ``2 * iterations - 1`` pixels in, and the pixels a block keeps
are exactly those of a whole-grid sweep (the tests compare blocks down to 2 x 2 with a plain
loop over the whole grid), while the working arrays stay small and the memory stays bounded
(:data:`TILE`); a band's blocks share one packed tile, side by side with frame columns between
them (fewer NumPy calls: 20 tiles instead of 31 on GT04). Each band's image, alpha and starting
colours (the previous level's, nearest-neighbour upsampled) are gathered once into one float32
array, channels first; blocks are packed from it by slicing (one set of copies for the ten
channels), and results are written to a float32 band that the final level converts to the
output type channel by channel. Only the runs of columns within the halo of a mixed pixel
(``0 < alpha < 1``) are relaxed; the rest of a band is filled with where the relaxation goes:
the photograph as foreground where alpha is 1 (there ``F = (I + epsilon sum F_j) / (1 + 4
epsilon)``, within ``4 epsilon`` of the photograph's local variation: 2% with Germer et al.'s
weights, 0.004% with PyMatting's) and the previous level's estimate where alpha is 0; the
background likewise. On the alphamatting.com images (their true alpha) 24% to 71% of the finest
level's pixels are relaxed, halos included (mean 39%). Big levels of at most
:data:`WHOLE_LEVEL` pixels gather their band once, and are relaxed as one tile (no halo
rows twice, one tile's fixed cost) unless their bands' blocks relax far fewer pixels
(:func:`_level_at_once`; the same colours).

Where the time goes (CPU, GT04, the image with the most mixed pixels, Germer et al.'s
weights, foreground only; each stage's calls timed with ``time.process_time`` after the
blocks of a band came to share a tile, on a loaded machine, so shares only): about 28% in
the relaxed tiles' half-sweeps (12 float32 passes over six channels each, 144 per relaxed
pixel and level, NumPy's floor for this update; 8.4 ns a packed cell on a lone 104 x 800
tile), 12% in the neighbour weights and 2x2 inverses, 18% gathering the bands (the previous
level's colours upsampled column by column: 0.56 ns a value with ``take``), 12% packing, 6%
filling, 7% writing out, the rest in the six small levels' calls (about 500 NumPy calls
each, 20 half-sweeps), finding the runs to relax and the starting means.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from vecmatte.foreground._flat import nearest as _nearest
from vecmatte.foreground._flat import plan, relax_levels
from vecmatte.foreground._red_black import pack, relax, tile_grid, unpack

_F32 = np.float32

# Rows and at most columns of a tile of a big level (before its halo): at most 40 MB of
# working arrays. Bands of 96 rows were the fastest on the alphamatting.com images (against
# 32, 48, 64, 128, 160: the share of pixels relaxed, the halo's overhead and the calls per
# block balance there).
TILE = (96, 1024)
# Bytes per pixel of the working set beyond the outputs: the previous level's float32 colours
# (24 bytes at a quarter to a half of the pixels) and a row of tiles. Measured with
# tracemalloc on a 4000 x 2620 photograph: 310 MiB for the foreground alone (estimate 385).
_BYTES_PER_PIXEL = 14
_TILE_BYTES = 400 * TILE[0] * TILE[1] + (1 << 20)
# A band's gathered image, alpha and starting colours (40 bytes a pixel), the temporaries of
# the gathers and the final level's float32 band of results, per column of a band.
_BAND_BYTES_PER_COLUMN = 100 * (TILE[0] + 8)
# Small levels of up to this many pixels, and the first big level if it has as few, are
# relaxed by vecmatte.foreground._flat (all the small levels with the default small_size; a
# larger small_size's bigger levels go by tiles: _flat keeps about 400 bytes a pixel of its
# levels per thread).
FLAT = 64 * 64
# Big levels of up to this many pixels gather their band once (:func:`_level_at_once`).
WHOLE_LEVEL = 128 * 128
# Pixels a tile's fixed cost is worth (its packing, weights and calls: about 100 us, the
# time to relax some 2000 pixels): a level is relaxed as one tile when that relaxes at most
# this many more pixels per tile saved.
_TILE_PIXELS = 2000
# Runs of columns to relax closer than this are relaxed as one block.
_MERGE_GAP = 64
# Channels of a band (and of a packed tile): image, alpha, starting colours (F then B).
_IMAGE, _ALPHA, _COLOURS = slice(0, 3), 3, slice(4, 10)
_PARTS = (_COLOURS, slice(3, 4), _IMAGE)  # colours, alpha, image: as relax takes them


def _groups(blocks: list[tuple[int, int]], halo: int, w: int, limit: int):
    """The blocks to keep, ``(left_keep, right_keep)``, gathered into tiles of at most
    ``limit`` packed columns (a block alone may be wider): ``[(left, right, left_keep,
    right_keep), ...]`` per tile, ``[left, right)`` the block with its halo."""
    group, width = [], 0
    for left_keep, right_keep in blocks:
        left, right = max(0, left_keep - halo), min(w, right_keep + halo)
        if group and width + 3 + right - left > limit:
            yield group
            group, width = [], 0
        width += (3 if group else 0) + right - left
        group.append((left, right, left_keep, right_keep))
    if group:
        yield group


def _band(inputs, level, top: int, bottom: int) -> np.ndarray:
    """Rows ``[top, bottom)`` of a level, float32, channels first ``(10, r, w)``: the image
    (channels 0-2, :data:`_IMAGE`), alpha (3, :data:`_ALPHA`) and the starting colours (4-9,
    :data:`_COLOURS`: the previous level's, nearest-neighbour upsampled).

    One array, so that a tile is packed in one set of copies. ``inputs`` is ``(image,
    alpha)`` at full resolution; ``level`` is ``(rows, columns, colours_before,
    previous_rows, previous_columns)``, ``rows`` None at full resolution.
    """
    image, alpha = inputs
    rows, columns, colours_before, previous_rows, previous_columns = level
    band = np.empty((10, bottom - top, len(columns)), _F32)
    if rows is None:
        photo, band_alpha = image[top:bottom], alpha[top:bottom]
    else:
        # One gather by flat pixel index: about half the time of a row and a column gather.
        index = rows[top:bottom, None] * alpha.shape[1] + columns
        photo = image.reshape(-1, 3).take(index, axis=0)
        band_alpha = alpha.reshape(-1).take(index)
    # Channel by channel: a transposing copy through np.moveaxis iterates 3-value inner loops
    # (0.6 instead of 0.25 ms for a 299 x 410 level's image).
    for channel in range(3):
        np.copyto(band[channel], photo[:, :, channel])
    np.copyto(band[_ALPHA], band_alpha)
    # Columns first, on the previous level's fewer rows; then whole rows are copied.
    needed = previous_rows[top:bottom]
    before = colours_before[:, needed[0] : needed[-1] + 1]
    factor, rest = divmod(len(previous_columns), before.shape[2])
    if rest == 0:
        # Each column ``factor`` times (_nearest(k n, n) is arange(k n) // k): ``factor``
        # strided copies, 2.2x faster than a take value by value on 64 to 128 columns.
        colours = np.empty((*before.shape[:2], len(previous_columns)), _F32)
        for offset in range(factor):
            colours[:, :, offset::factor] = before
    else:
        colours = before.take(previous_columns, axis=2)
    colours.take(needed - needed[0], axis=1, out=band[_COLOURS], mode="clip")
    return band


def _interleave(planes: np.ndarray, out: np.ndarray) -> None:
    """Copy channels-first ``planes`` ``(3, rows, w)`` into ``out`` ``(rows, w, 3)``.

    One channel at a time: 0.5 ms instead of 1.7 ms for a whole 800 x 563 float32 to float64
    conversion through ``np.moveaxis`` (NumPy iterates the transposed copy with 3-element inner
    loops; per channel it is a strided loop over a whole plane).
    """
    for channel in range(3):
        np.copyto(out[:, :, channel], planes[channel])


def _fill(band, keep: slice, left: int, right: int, out: np.ndarray, background: bool) -> None:
    """Fill columns ``[left, right)`` of the kept rows as if no pixel were mixed: F = I where
    alpha is 1, B = I where it is 0, the other colour the starting one (the previous level's).

    ``band`` is :func:`_band`'s; ``out`` is ``(6, rows, w)`` float32, its last three channels
    left alone unless ``background``. As ``start + alpha (I - start)``: plain array
    arithmetic, no masked copies.
    """
    image, alpha, colours = band[_IMAGE], band[_ALPHA], band[_COLOURS]
    photo, a = image[:, keep, left:right], alpha[keep, left:right]
    start, part = colours[:3, keep, left:right], out[:3, :, left:right]
    np.subtract(photo, start, out=part)
    part *= a
    part += start
    if background:  # B = I + alpha (start - I)
        start, part = colours[3:, keep, left:right], out[3:, :, left:right]
        np.subtract(start, photo, out=part)
        part *= a
        part += photo


def _gaps(runs: list[tuple[int, int]], w: int) -> list[tuple[int, int]]:
    """Column ranges of ``[0, w)`` outside the sorted, disjoint ``runs``."""
    edges = [0, *(edge for run in runs for edge in run), w]
    return [(a, b) for a, b in zip(edges[0::2], edges[1::2], strict=True) if a < b]


def _active_runs(mixed: np.ndarray, halo: int) -> list[tuple[int, int]]:
    """Column ranges ``[start, end)`` (``start`` even) within ``halo`` of a mixed pixel.

    The columns with a mixed pixel, each widened by ``halo`` on both sides; ranges that
    touch or overlap are one run, and runs less than :data:`_MERGE_GAP` apart are one
    range (relaxing a short gap costs less than another block's calls and halo). From the
    mixed columns' positions: a few calls, not a pass per step over every column.
    """
    w = mixed.shape[1]
    columns = np.flatnonzero(mixed.any(axis=0))
    if not len(columns):
        return []
    starts = np.maximum(columns - halo, 0)
    ends = np.minimum(columns + halo + 1, w)
    cuts = np.flatnonzero(starts[1:] - ends[:-1] >= _MERGE_GAP)
    firsts = [0, *(cuts + 1).tolist()]
    lasts = [*cuts.tolist(), len(columns) - 1]
    return [
        (start & ~1, end)
        for start, end in zip(starts[firsts].tolist(), ends[lasts].tolist(), strict=True)
    ]


def _relax_blocks(band, blocks, rows, halo: int, relaxing, out, need_b: bool) -> None:
    """Relax the ``blocks`` (``(left_keep, right_keep)``) of the ``band`` of rows ``rows =
    (top, bottom)`` in tiles of blocks side by side; unpack the kept rows into ``out``.
    ``relaxing`` is ``(keep, iterations, weights, step_columns)``."""
    (top, bottom), (keep, iterations, weights, limit) = rows, relaxing
    w = band.shape[2]
    # Blocks of a band are relaxed side by side in one tile: fewer NumPy calls.
    for group in _groups(blocks, halo, w, limit + 2 * halo):
        grid = tile_grid(bottom - top, tuple(right - left for left, right, _, _ in group))
        red, black = pack(band, [(left, right) for left, right, _, _ in group], grid)
        packed = tuple([red[part], black[part]] for part in _PARTS)
        colours = relax(packed, grid, iterations, *weights)
        for (left, _, left_keep, right_keep), start in zip(group, grid.starts, strict=True):
            columns = (start + left_keep - left, start + right_keep - left)
            view = out[: 6 if need_b else 3, :, left_keep:right_keep]
            unpack(colours, grid, (keep.start, keep.stop), columns, view)


def _blocks(runs, step_columns: int) -> list[tuple[int, int]]:
    """The runs cut into blocks of at most ``step_columns`` columns."""
    return [
        (left_keep, min(end, left_keep + step_columns))
        for start, end in runs
        for left_keep in range(start, end, step_columns)
    ]


def _fill_bands(inputs, level, step_rows: int, halo: int, out, need_b: bool) -> None:
    """Fill, band by band as :func:`estimate` finds them, the columns outside the runs to
    relax of a level relaxed whole (``out``, ``(6, h, w)``; ``inputs`` and ``level`` as
    :func:`_band` takes them). The runs need alpha only: the level's band (its image and
    starting colours) is gathered only if there is something to fill."""
    h, w = out.shape[1:]
    alpha = inputs[1]
    rows, columns = level[:2]
    if rows is None:
        alpha = alpha[:, columns]
    else:
        alpha = alpha.reshape(-1).take(rows[:, None] * alpha.shape[1] + columns)
    alpha = alpha.astype(_F32)
    fills = []
    for first in range(0, h, step_rows):
        last = min(h, first + step_rows)
        top, bottom = max(0, first - halo), min(h, last + halo)
        part = alpha[top:bottom]
        runs = _active_runs((part > 0) & (part < 1), halo)
        fills.extend((first, last, top, bottom, gap) for gap in _gaps(runs, w))
    if fills:
        band = _band(inputs, level, 0, h)
    for first, last, top, bottom, (left, right) in fills:
        keep = slice(first - top, last - top)
        _fill(band[:, top:bottom], keep, left, right, out[:, first:last], need_b)


def _level_at_once(inputs, level, steps, relaxing, out, need_b: bool, skip: bool) -> None:
    """A big level of at most :data:`WHOLE_LEVEL` pixels: its band gathered once, and
    relaxed as one tile when that relaxes few more pixels than its bands' blocks would
    (:data:`_TILE_PIXELS` a tile more), else band by band from views of it; ``out`` is
    ``(6, h, w)`` float32.

    The colours are the same either way: a kept pixel's relaxed colour is the whole grid's
    (see the module notes), and the runs to relax are found band by band as in
    :func:`estimate`, so the same pixels are filled. One tile instead of two or three on
    the levels of images up to a few hundred pixels whose soft edges span them.
    """
    h, w = out.shape[1:]
    (step_rows, step_columns), halo = steps
    iterations, weights = relaxing
    band = _band(inputs, level, 0, h)
    bands, relaxed, tiles = [], 0, 0
    for first in range(0, h, step_rows):
        last = min(h, first + step_rows)
        top, bottom = max(0, first - halo), min(h, last + halo)
        part = band[:, top:bottom]
        runs = _active_runs((part[_ALPHA] > 0) & (part[_ALPHA] < 1), halo) if skip else [(0, w)]
        groups = list(_groups(_blocks(runs, step_columns), halo, w, step_columns + 2 * halo))
        relaxed += (bottom - top) * sum(b - a for group in groups for a, b, _, _ in group)
        tiles += len(groups)
        bands.append((first, last, top, bottom, runs))
    whole = h * w <= relaxed + _TILE_PIXELS * (tiles - 1)
    if whole:
        relax_args = (slice(0, h), iterations, weights, w)
        _relax_blocks(band, [(0, w)], (0, h), 0, relax_args, out, need_b)
    for first, last, top, bottom, runs in bands:
        part, keep, rows = band[:, top:bottom], slice(first - top, last - top), out[:, first:last]
        if skip:
            for left, right in _gaps(runs, w):
                _fill(part, keep, left, right, rows, need_b)
        if not whole:
            relax_args = (keep, iterations, weights, step_columns)
            _relax_blocks(
                part, _blocks(runs, step_columns), (top, bottom), halo, relax_args, rows, need_b
            )


def _schedule(h0: int, w0: int, small_size: int, small_iterations: int, big_iterations: int):
    """Shape and iteration count of every level, coarse to fine (PyMatting's schedule)."""
    levels = max(1, int(np.ceil(np.log2(max(h0, w0)))))
    for level in range(levels + 1):
        h, w = round(h0 ** (level / levels)), round(w0 ** (level / levels))
        small = h <= small_size and w <= small_size
        yield h, w, small, small_iterations if small else big_iterations


def _tiles(h: int, w: int, small: bool):
    """Rows and columns per tile (even) of a level; small levels are one tile."""
    return (h, w) if small else TILE


def _starting_colours(image: np.ndarray, alpha: np.ndarray, black: bool = False) -> np.ndarray:
    """Mean colours of the definite foreground and background (the image's if there are
    none, or black with ``black``), ``(6, 1, 1)``, as the 1 x 1 coarsest level; in chunks
    of rows."""
    sums = np.zeros((3, 3))  # rows: definite foreground, definite background, all pixels
    counts = np.zeros(3)
    chunk = max(1, (1 << 18) // alpha.shape[1])
    mask = np.empty(chunk * alpha.shape[1])
    for first in range(0, alpha.shape[0], chunk):
        a = alpha[first : first + chunk].reshape(-1)
        pixels = image[first : first + chunk].reshape(-1, 3)
        m = mask[: len(a)]
        # A float64 mask times the pixels is one BLAS matrix-vector product: 10x faster than
        # a masked sum or pixels.sum(axis=0) (a reduction across the short axis).
        for row, compare, bound in ((0, np.greater, 0.9), (1, np.less, 0.1), (2, None, None)):
            if compare is None:
                if counts[0] and counts[1]:
                    continue  # the image's mean is not needed
                m.fill(1.0)
            else:
                compare(a, bound, out=m)
            sums[row] += m @ pixels
            counts[row] += m.sum()
    empty = np.zeros(3) if black else sums[2] / max(counts[2], 1)
    means = [sums[i] / counts[i] if counts[i] else empty for i in (0, 1)]
    return np.concatenate(means).astype(_F32).reshape(6, 1, 1)


def _level(h: int, w: int, full: tuple[int, int], before: np.ndarray, final: bool):
    """The ``level`` of :func:`_band` for an ``h x w`` level of an image of shape ``full``
    whose previous level's colours are ``before`` (``(6, h', w')``)."""
    h0, w0 = full
    return (
        None if final else _nearest(h, h0),
        _nearest(w, w0),
        before,
        _nearest(h, before.shape[1]),
        _nearest(w, before.shape[2]),
    )


def _report_bands(progress, done: int, total: int, bands: int) -> int:
    """Count ``bands`` more bands done, calling ``progress(done, total)`` after each (as the
    band loop does); return the new count."""
    for _ in range(bands):
        done += 1
        if progress is not None:
            progress(done, total)
    return done


def estimate(
    image: np.ndarray,
    alpha: np.ndarray,
    *,
    regularization: float,
    gradient_weight: float,
    small_size: int = 32,
    small_iterations: int = 10,
    big_iterations: int = 2,
    skip_definite: bool = True,
    background: bool = True,
    progress: Callable[[int, int], None] | None = None,
    dtype: type = np.float64,
    black_start: bool = False,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Foreground (and background) colours by the multi-level method; see the module notes.

    Parameters
    ----------
    image : ndarray, shape (h, w, 3)
        The photograph, validated floats in [0, 1].
    alpha : ndarray, shape (h, w)
        The matte, validated floats in [0, 1].
    regularization, gradient_weight : float
        As in :func:`vecmatte.foreground.estimate_foreground_background`.
    small_size : int, optional
        Levels with both sides up to this size are relaxed as one tile.
    small_iterations, big_iterations : int, optional
        Sweeps per level on the small and the big levels.
    skip_definite : bool, optional
        Columns of the big levels' bands farther than the halo from any mixed pixel are
        filled instead of relaxed (see :func:`_fill`).
    background : bool, optional
        Also estimate the background colours (default True).
    progress : callable, optional
        ``progress(done, total)``, called after each band of the big levels.
    dtype : type, optional
        Float type of the work and the results (float32 for PyMatting's shim).
    black_start : bool, optional
        A layer without definite pixels starts black (PyMatting's start, for its shim)
        instead of at the image's mean colour.

    Returns
    -------
    foreground : ndarray, shape (h, w, 3)
        The foreground colours, of ``dtype``.
    background : ndarray, shape (h, w, 3) or None
        The background colours, None unless ``background``.
    """
    h0, w0 = alpha.shape
    inputs = (image, alpha)
    regularization, weight = _F32(regularization), _F32(gradient_weight)
    colours_before = _starting_colours(image, alpha, black_start)

    schedule = list(_schedule(h0, w0, small_size, small_iterations, big_iterations))
    total = sum(-(-h // _tiles(h, w, s)[0]) for h, w, s, _ in schedule if not s)
    done = 0
    foreground = background_out = None
    # The small levels all at once (vecmatte.foreground._flat), and the first big level if
    # it has at most FLAT pixels: the same colours in fewer calls.
    flat = sum(1 for _ in itertools.takewhile(lambda s: s[2] and s[0] * s[1] <= FLAT, schedule))
    if 0 < flat < len(schedule) and schedule[flat][0] * schedule[flat][1] <= FLAT:
        flat += 1
    if flat:
        shapes = tuple((h, w) for h, w, _, _ in schedule[:flat])
        counts = [iterations for _, _, _, iterations in schedule[:flat]]
        colours, before = relax_levels(
            plan(h0, w0, shapes), image, alpha, colours_before, counts, regularization, weight
        )
        h, w, small, iterations = schedule[flat - 1]
        final = flat == len(schedule)
        if not small:  # filled as the bands would be (the relaxed colours are the same)
            level = _level(h, w, (h0, w0), before, final)
            step_rows, halo = _tiles(h, w, small)[0], 2 * iterations
            if skip_definite:
                _fill_bands(inputs, level, step_rows, halo, colours, background or not final)
            done = _report_bands(progress, done, total, len(range(0, h, step_rows)))
        colours_before = colours
        if final:
            foreground = np.empty((h0, w0, 3), dtype)
            _interleave(colours[:3], foreground)
            if background:
                background_out = np.empty((h0, w0, 3), dtype)
                _interleave(colours[3:], background_out)
            return foreground, background_out
    for index, (h, w, small, iterations) in enumerate(schedule):
        if index < flat:
            continue
        final = index == len(schedule) - 1
        level = _level(h, w, (h0, w0), colours_before, final)
        step_rows, step_columns = _tiles(h, w, small)
        halo = 0 if small else 2 * iterations
        at_once = not small and h * w <= WHOLE_LEVEL
        if final:
            # Bands are assembled in float32, channels first, then converted channel by
            # channel (_interleave).
            foreground = np.empty((h, w, 3), dtype)
            background_out = np.empty((h, w, 3), dtype) if background else None
            buffer = np.empty((6, h if at_once else min(h, step_rows), w), _F32)
        else:
            colours_after = np.empty((6, h, w), _F32)
        need_b = background or not final
        skip = skip_definite and not small
        if at_once:
            out = buffer if final else colours_after
            steps = ((step_rows, step_columns), halo)
            relaxing = (iterations, (regularization, weight))
            _level_at_once(inputs, level, steps, relaxing, out, need_b, skip)
            if final:
                _interleave(out[:3], foreground)
                if background:
                    _interleave(out[3:], background_out)
            done = _report_bands(progress, done, total, len(range(0, h, step_rows)))
            if not final:
                colours_before = colours_after
            continue
        for first in range(0, h, step_rows):
            last = min(h, first + step_rows)
            top, bottom = max(0, first - halo), min(h, last + halo)
            band = _band(inputs, level, top, bottom)
            keep = slice(first - top, last - top)
            out = buffer[:, : last - first] if final else colours_after[:, first:last]
            runs = [(0, w)]
            if skip:
                band_alpha = band[_ALPHA]
                runs = _active_runs((band_alpha > 0) & (band_alpha < 1), halo)
                for left, right in _gaps(runs, w):
                    _fill(band, keep, left, right, out, need_b)
            relaxing = (keep, iterations, (regularization, weight), step_columns)
            blocks = _blocks(runs, step_columns)
            _relax_blocks(band, blocks, (top, bottom), halo, relaxing, out, need_b)
            if final:
                _interleave(out[:3], foreground[first:last])
                if background:
                    _interleave(out[3:], background_out[first:last])
            if not small:
                done = _report_bands(progress, done, total, 1)
        if not final:
            colours_before = colours_after
    return foreground, background_out


def memory_bytes(shape: tuple[int, int], *, background: bool = True) -> int:
    """Peak extra bytes of :func:`estimate` on an image of ``shape`` (an over-estimate).

    The float64 outputs (24 bytes a pixel each) plus the working set.

    Parameters
    ----------
    shape : (int, int)
        The image's height and width.
    background : bool, optional
        Also estimate the background colours (default True).

    Returns
    -------
    int
        Estimated peak bytes.
    """
    pixels = int(shape[0]) * int(shape[1])
    outputs = 24 * pixels * (2 if background else 1)
    band = _BAND_BYTES_PER_COLUMN * int(shape[1])
    return outputs + _BYTES_PER_PIXEL * pixels + _TILE_BYTES + band
