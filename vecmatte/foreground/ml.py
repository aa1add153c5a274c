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

How it is vectorised: in red-black (checkerboard) order no pixel of one colour neighbours
another, so relaxing all red pixels at once and then all black ones is a Gauss-Seidel sweep.
The red and black pixels are kept packed as two half-width arrays, float32, channels first
``(F_r, F_g, F_b, B_r, B_g, B_b)``: in row ``y`` red pixel ``k`` sits at column
``2k + (y mod 2)`` and black pixel ``k`` at ``2k + 1 - (y mod 2)``. Then a red pixel's up, down
and same-column neighbours are black pixel ``k`` in rows ``y - 1``, ``y + 1``, ``y`` and its
fourth neighbour is black pixel ``k - 1`` (even rows) or ``k + 1`` (odd rows): every neighbour
is a shifted slice, so a half-sweep is a dozen in-place ufuncs on contiguous rows. Each packed
array has a one-cell frame; before a half-sweep the border pixels' own values are copied into
the other colour's frame, which reproduces the clamped neighbours exactly. The per-pixel
inverse of the 2x2 matrix and its constant part are computed once per level.

Big levels run in bands of rows, and within a band in blocks of columns, each with a halo of
``2 * iterations`` pixels: a half-sweep moves information by one pixel, so the wrong clamping
at a block's cut edge reaches ``2 * iterations - 1`` pixels in, and the pixels a block keeps
are exactly those of a whole-grid sweep (the tests compare blocks down to 2 x 2 with a plain
loop over the whole grid), while the working arrays stay small and the memory stays bounded
(:data:`TILE`). Each band's image, alpha and starting colours (the previous level's,
nearest-neighbour upsampled) are gathered once, float32 and channels first; blocks are packed
from them by slicing, and results are written to a float32 band that the final level converts
to the output type in one copy. Only the runs of columns within the halo of a mixed pixel
(``0 < alpha < 1``) are relaxed; the rest of a band is filled with where the relaxation goes:
the photograph as foreground where alpha is 1 (there ``F = (I + epsilon sum F_j) / (1 + 4
epsilon)``, within ``4 epsilon`` of the photograph's local variation: 2% with Germer et al.'s
weights, 0.004% with PyMatting's) and the previous level's estimate where alpha is 0; the
background likewise. On the alphamatting.com images (their true alpha) 24% to 71% of the
finest level's pixels are relaxed, halos included (mean 39%).

Where the time goes (CPU, GT04, the image with the most mixed pixels, PyMatting's weights):
about 60% in the half-sweeps and the 2x2 inverses of the relaxed blocks (some 150 float32
array passes per relaxed pixel and level, near NumPy's floor), 15% in gathering and packing,
10% in filling, the rest in the eight small levels (Python call overhead) and the outputs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

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
# Runs of columns to relax closer than this are relaxed as one block.
_MERGE_GAP = 64
# Below this many values np.clip's Python overhead exceeds a second pass (np.minimum, then
# np.maximum).
_CLIP_SIZE = 1 << 14


def _nearest(n_out: int, n_in: int) -> np.ndarray:
    """Nearest-neighbour source index of each of ``n_out`` samples of ``n_in`` (Germer et al.)."""
    return np.minimum(np.arange(n_out) * n_in // n_out, n_in - 1)


def _pack(band: np.ndarray, left: int, right: int, frame: bool) -> list[np.ndarray]:
    """Red and black cells of columns ``[left, right)`` of ``band`` (``(..., rows, w)``, first
    row and ``left`` even), as two packed arrays ``(..., rows, ceil(n / 2))``, with a one-cell
    frame if ``frame``.

    With an odd number of columns, the extra cell at the end of every other row repeats the
    last real column (it is never kept; :func:`_mirror` overwrites its colours and alpha).
    """
    rows, n = band.shape[-2], right - left
    wide, narrow, f = (n + 1) // 2, n // 2, int(frame)
    shape = (*band.shape[:-2], rows + 2 * f, wide + 2 * f)
    red, black = np.empty(shape, _F32), np.empty(shape, _F32)
    if frame:  # read only where _mirror has written it; zeros keep the rest finite
        for array in (red, black):
            array[..., 0, :] = array[..., -1, :] = array[..., :, 0] = array[..., :, -1] = 0
    even, odd = slice(f, rows + f, 2), slice(f + 1, rows + f, 2)
    red[..., even, f : f + wide] = band[..., 0::2, left:right:2]
    black[..., even, f : f + narrow] = band[..., 0::2, left + 1 : right : 2]
    red[..., odd, f : f + narrow] = band[..., 1::2, left + 1 : right : 2]
    black[..., odd, f : f + wide] = band[..., 1::2, left:right:2]
    if n % 2:
        black[..., even, f + wide - 1] = band[..., 0::2, right - 1]
        red[..., odd, f + wide - 1] = band[..., 1::2, right - 1]
    return [red, black]


def _mirror_views(target: np.ndarray, source: np.ndarray, h: int, w: int, red: bool):
    """``(destination, origin)`` views of the copies of the target colour's border cells
    into the source colour's frame.

    A border pixel's clamped neighbour is the pixel itself; with its value (and alpha) in the
    frame cell it reads, the neighbour weight is ``epsilon`` and the term is the pixel's own
    previous value, as in the unpacked formulation.
    """
    wp = (w + 1) // 2
    # Red pixels of even rows and black pixels of odd rows start at column 0.
    starts = slice(1, h + 1, 2) if red else slice(2, h + 1, 2)
    ends = slice(2, h + 1, 2) if red else slice(1, h + 1, 2)
    views = [
        (source[..., 0, 1 : wp + 1], target[..., 1, 1 : wp + 1]),
        (source[..., h + 1, 1 : wp + 1], target[..., h, 1 : wp + 1]),
        (source[..., starts, 0], target[..., starts, 1]),
    ]
    if w % 2 == 0:
        views.append((source[..., ends, wp + 1], target[..., ends, wp]))
    else:
        # The last column is the target's in the rows where it starts at column 0; its right
        # neighbour is the extra packed cell of the source colour.
        views.append((source[..., starts, wp], target[..., starts, wp]))
    return views


def _mirror(target: np.ndarray, source: np.ndarray, h: int, w: int, red: bool) -> None:
    """Copy the target colour's border cells into the source colour's frame (see
    :func:`_mirror_views`)."""
    for destination, origin in _mirror_views(target, source, h, w, red):
        destination[...] = origin


def _neighbours(source: np.ndarray, h: int, w: int, red: bool) -> tuple[np.ndarray, ...]:
    """Views of the source colour: up, down, same column, then the fourth neighbour split
    into even rows and odd rows."""
    wp = (w + 1) // 2
    even, odd = (-1, 1) if red else (1, -1)
    return (
        source[..., 0:h, 1 : wp + 1],
        source[..., 2 : h + 2, 1 : wp + 1],
        source[..., 1 : h + 1, 1 : wp + 1],
        source[..., 1 : h + 1 : 2, 1 + even : wp + 1 + even],
        source[..., 2 : h + 1 : 2, 1 + odd : wp + 1 + odd],
    )


def _level_operator(alphas, images, colour: int, h: int, w: int, regularization, weight):
    """Neighbour weights, inverse 2x2 matrices and constant parts for one colour."""
    wp = (w + 1) // 2
    a0 = alphas[colour][1 : h + 1, 1 : wp + 1]
    up, down, same, even, odd = _neighbours(alphas[1 - colour], h, w, colour == 0)
    weights = np.empty((4, h, wp), _F32)
    np.subtract(a0, up, out=weights[0])
    np.subtract(a0, down, out=weights[1])
    np.subtract(a0, same, out=weights[2])
    np.subtract(a0[0::2], even, out=weights[3, 0::2])
    np.subtract(a0[1::2], odd, out=weights[3, 1::2])
    np.abs(weights, out=weights)
    if weight != 1:  # PyMatting's default is 1
        weights *= weight
    weights += regularization
    total = np.add(weights[0], weights[1])
    total += weights[2]
    total += weights[3]
    # With T = sum w and m = (a0^2 + T, a0 a1, a1^2 + T), det = T (a0^2 + a1^2 + T): no
    # cancellation, and M^-1 (a0 I, a1 I) = (a0 I, a1 I) / (a0^2 + a1^2 + T).
    a1 = 1 - a0
    square0, square1 = a0 * a0, a1 * a1
    scale = np.add(square0, square1)
    scale += total
    det = scale * total
    inverse = np.empty((3, h, wp), _F32)
    np.add(square1, total, out=inverse[0])
    inverse[0] /= det
    np.add(square0, total, out=inverse[2])
    inverse[2] /= det
    np.multiply(a0, a1, out=inverse[1])
    inverse[1] /= det
    np.negative(inverse[1], out=inverse[1])
    constant = np.empty((6, h, wp), _F32)
    np.divide(a0, scale, out=square0)
    np.divide(a1, scale, out=square1)
    np.multiply(images[colour], square0, out=constant[:3])
    np.multiply(images[colour], square1, out=constant[3:])
    return weights, inverse, constant


def _sweep_views(target, source, operator, h, w, red, total, scratch):
    """The views :func:`_half_sweep` reads and writes, made once per tile: on the small
    levels, slicing them anew for each of the 20 half-sweeps cost as much as the arithmetic."""
    weights, inverse, constant = operator
    wp = (w + 1) // 2
    up, down, same, even, odd = _neighbours(source, h, w, red)
    inner = target[:, 1 : h + 1, 1 : wp + 1]
    return (
        _mirror_views(target, source, h, w, red),
        ((weights[0], up), (weights[1], down), (weights[2], same)),
        ((weights[3, 0::2], even, scratch[:, 0::2]), (weights[3, 1::2], odd, scratch[:, 1::2])),
        (total, scratch, total[:3], total[3:], scratch[:3]),
        (inner, inner[:3], inner[3:], *inverse, constant),
    )


def _half_sweep(views) -> None:
    """Relax every pixel of the target colour given the source colour's current values."""
    mirror, products, sides, (total, scratch, sum_f, sum_b, part), targets = views
    inner, inner_f, inner_b, inverse_ff, inverse_fb, inverse_bb, constant = targets
    for destination, origin in mirror:
        destination[...] = origin
    (weight_up, up), (weight_down, down), (weight_same, same) = products
    np.multiply(weight_up, up, out=total)
    np.multiply(weight_down, down, out=scratch)
    total += scratch
    np.multiply(weight_same, same, out=scratch)
    total += scratch
    for weight_side, side, out in sides:
        np.multiply(weight_side, side, out=out)
    total += scratch
    np.multiply(inverse_ff, sum_f, out=inner_f)
    np.multiply(inverse_fb, sum_b, out=part)
    inner_f += part
    np.multiply(inverse_bb, sum_b, out=inner_b)
    np.multiply(inverse_fb, sum_f, out=part)
    inner_b += part
    inner += constant
    if inner.size > _CLIP_SIZE:
        np.clip(inner, 0.0, 1.0, out=inner)
    else:  # two ufunc calls cost less than np.clip's Python wrapper on small tiles
        np.minimum(inner, 1.0, out=inner)
        np.maximum(inner, 0.0, out=inner)


def _band(inputs, level, top: int, bottom: int):
    """Image ``(3, r, w)``, alpha ``(r, w)`` and starting colours ``(6, r, w)`` (the previous
    level's, nearest-neighbour upsampled), float32, of rows ``[top, bottom)`` of a level.

    ``inputs`` is ``(image, alpha)`` at full resolution; ``level`` is ``(rows, columns,
    colours_before, previous_rows, previous_columns)``, ``rows`` None at full resolution.
    """
    image, alpha = inputs
    rows, columns, colours_before, previous_rows, previous_columns = level
    if rows is None:
        photo, band_alpha = image[top:bottom], alpha[top:bottom]
    else:
        # One gather by flat pixel index: about half the time of a row and a column gather.
        index = rows[top:bottom, None] * alpha.shape[1] + columns
        photo = image.reshape(-1, 3).take(index, axis=0)
        band_alpha = alpha.reshape(-1).take(index)
    band_image = np.empty((3, bottom - top, len(columns)), _F32)
    np.copyto(band_image, np.moveaxis(photo, 2, 0))
    # Columns first, on the previous level's fewer rows; then whole rows are copied.
    needed = previous_rows[top:bottom]
    colours = colours_before[:, needed[0] : needed[-1] + 1].take(previous_columns, axis=2)
    colours = colours.take(needed - needed[0], axis=1)
    return band_image, band_alpha.astype(_F32), colours


def _relax(packed, w, iterations, regularization, weight):
    """Run ``iterations`` red-black sweeps on a packed tile; return the packed colours."""
    colours, alphas, images = packed
    h = colours[0].shape[1] - 2
    _mirror(alphas[0], alphas[1], h, w, True)
    _mirror(alphas[1], alphas[0], h, w, False)
    operators = [
        _level_operator(alphas, images, colour, h, w, regularization, weight) for colour in (0, 1)
    ]
    wp = (w + 1) // 2
    total = np.empty((6, h, wp), _F32)
    scratch = np.empty((6, h, wp), _F32)
    red = _sweep_views(colours[0], colours[1], operators[0], h, w, True, total, scratch)
    black = _sweep_views(colours[1], colours[0], operators[1], h, w, False, total, scratch)
    for _ in range(iterations):
        _half_sweep(red)
        _half_sweep(black)
    return colours


def _unpack(colours, keep_rows, keep_columns, out, channels: slice) -> None:
    """Write the packed cells of tile rows and columns ``[first, last)`` (``first`` even)
    into ``out``, ``(c, rows, columns)``."""
    red, black = (colour[channels] for colour in colours)
    (first, last), (left, right) = keep_rows, keep_columns
    n, k = right - left, left // 2
    wide, narrow = slice(1 + k, 1 + k + (n + 1) // 2), slice(1 + k, 1 + k + n // 2)
    even, odd = slice(1 + first, 1 + last, 2), slice(2 + first, 1 + last, 2)
    out[:, 0::2, 0::2] = red[:, even, wide]
    out[:, 0::2, 1::2] = black[:, even, narrow]
    out[:, 1::2, 1::2] = red[:, odd, narrow]
    out[:, 1::2, 0::2] = black[:, odd, wide]


def _fill(band, keep: slice, left: int, right: int, out: np.ndarray, background: bool) -> None:
    """Fill columns ``[left, right)`` of the kept rows as if no pixel were mixed: F = I where
    alpha is 1, B = I where it is 0, the other colour the starting one (the previous level's).

    ``band`` is :func:`_band`'s; ``out`` is ``(6, rows, w)`` float32, its last three channels
    left alone unless ``background``. As ``start + alpha (I - start)``: plain array
    arithmetic, no masked copies.
    """
    image, alpha, colours = band
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
    """Column ranges ``[start, end)`` (``start`` even) within ``halo`` of a mixed pixel."""
    near = np.concatenate([[0], np.cumsum(mixed.any(axis=0), dtype=np.int64)])
    w = len(near) - 1
    index = np.arange(w)
    count = near[np.minimum(index + halo + 1, w)] - near[np.maximum(index - halo, 0)]
    edges = np.diff(np.concatenate([[0], (count > 0).view(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    runs = []
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        if runs and start - runs[-1][1] < _MERGE_GAP:
            # Relaxing a short gap costs less than another block's calls and halo.
            runs[-1] = (runs[-1][0], end)
        else:
            runs.append((start & ~1, end))
    return runs


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


def _starting_colours(image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Mean colours of the definite foreground and background (the image's if there are
    none), ``(6, 1, 1)``, as the 1 x 1 coarsest level; in chunks of rows."""
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
    means = [sums[i] / counts[i] if counts[i] else sums[2] / counts[2] for i in (0, 1)]
    return np.concatenate(means).astype(_F32).reshape(6, 1, 1)


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
) -> tuple[np.ndarray, np.ndarray | None]:
    """Foreground (and background) colours by the multi-level method; see the module notes.

    ``image`` (h, w, 3) and ``alpha`` (h, w) are validated floats. Returns ``(F, B)`` of
    ``dtype`` (float32 for PyMatting's shim), ``B`` None unless ``background``.
    ``skip_definite``: columns of the big levels' bands farther than the halo from any mixed
    pixel are filled instead of relaxed (see
    :func:`_fill`). ``progress(done, total)`` is called after each band of the big levels.
    """
    h0, w0 = alpha.shape
    inputs = (image, alpha)
    regularization, weight = _F32(regularization), _F32(gradient_weight)
    colours_before = _starting_colours(image, alpha)

    schedule = list(_schedule(h0, w0, small_size, small_iterations, big_iterations))
    total = sum(-(-h // _tiles(h, w, s)[0]) for h, w, s, _ in schedule if not s)
    done = 0
    foreground = background_out = None
    for index, (h, w, small, iterations) in enumerate(schedule):
        final = index == len(schedule) - 1
        level = (
            None if final else _nearest(h, h0),
            _nearest(w, w0),
            colours_before,
            _nearest(h, colours_before.shape[1]),
            _nearest(w, colours_before.shape[2]),
        )
        step_rows, step_columns = _tiles(h, w, small)
        halo = 0 if small else 2 * iterations
        if final:
            # Bands are assembled in float32, channels first, then converted in one copy.
            foreground = np.empty((h, w, 3), dtype)
            background_out = np.empty((h, w, 3), dtype) if background else None
            buffer = np.empty((6, min(h, step_rows), w), _F32)
        else:
            colours_after = np.empty((6, h, w), _F32)
        need_b = background or not final
        skip = skip_definite and not small
        for first in range(0, h, step_rows):
            last = min(h, first + step_rows)
            top, bottom = max(0, first - halo), min(h, last + halo)
            band = _band(inputs, level, top, bottom)
            keep = slice(first - top, last - top)
            out = buffer[:, : last - first] if final else colours_after[:, first:last]
            runs = [(0, w)]
            if skip:
                band_alpha = band[1]
                runs = _active_runs((band_alpha > 0) & (band_alpha < 1), halo)
                for left, right in _gaps(runs, w):
                    _fill(band, keep, left, right, out, need_b)
            for start, end in runs:
                for left_keep in range(start, end, step_columns):
                    right_keep = min(end, left_keep + step_columns)
                    left, right = max(0, left_keep - halo), min(w, right_keep + halo)
                    packed = (
                        _pack(band[2], left, right, frame=True),
                        _pack(band[1], left, right, frame=True),
                        _pack(band[0], left, right, frame=False),
                    )
                    colours = _relax(packed, right - left, iterations, regularization, weight)
                    tile_keep = ((keep.start, keep.stop), (left_keep - left, right_keep - left))
                    channels = slice(0, 6 if need_b else 3)
                    view = out[channels, :, left_keep:right_keep]
                    _unpack(colours, *tile_keep, view, channels)
            if final:
                np.copyto(np.moveaxis(foreground[first:last], 2, 0), out[:3])
                if background:
                    np.copyto(np.moveaxis(background_out[first:last], 2, 0), out[3:])
            if not small:
                done += 1
                if progress is not None:
                    progress(done, total)
        if not final:
            colours_before = colours_after
    return foreground, background_out


def memory_bytes(shape: tuple[int, int], *, background: bool = True) -> int:
    """Peak extra bytes of :func:`estimate` on an image of ``shape`` (an over-estimate).

    The float64 outputs (24 bytes a pixel each) plus the working set.
    """
    pixels = int(shape[0]) * int(shape[1])
    outputs = 24 * pixels * (2 if background else 1)
    band = _BAND_BYTES_PER_COLUMN * int(shape[1])
    return outputs + _BYTES_PER_PIXEL * pixels + _TILE_BYTES + band
