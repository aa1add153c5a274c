"""Step 1 of shared matting: trimap expansion (Gastal and Oliveira 2010, sec. 4.1)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vecmatte.alpha._shared_sampling import (
    CHUNK_ELEMENTS,
    EXPANSION_GROUP,
    KINDS,
    UNKNOWN,
    disk_offsets,
    take,
)

__all__ = ["expand_trimap"]


def _maybe_close(
    colors,
    label: np.ndarray,
    shape: tuple[int, int],
    radius: int,
    threshold: float,
    unknown: np.ndarray | None = None,
) -> np.ndarray:
    """Unknown pixels that might have a known pixel of about their colour within ``radius``.

    Per block of about ``radius / 2`` pixels square, the range of each channel over each kind
    of known pixel; a pixel's window lies in the 5 x 5 blocks around its own, so a colour
    outside their ranges (widened by ``threshold``) in some channel rules that kind out.
    ``unknown``: the unknown pixels (flat indices), when the caller has them.
    """
    h, w = shape
    # Blocks of half the radius: a window then lies in the 5 x 5 blocks around its pixel's.
    b = -(-radius // 2)
    reach = -(-radius // b)
    if unknown is None:
        unknown = (label == UNKNOWN).nonzero()[0]
    # Only the blocks around the unknown pixels' blocks matter: a crop on the block grid,
    # ``reach`` blocks beyond their bounding box, gives the same ranges at a fraction of
    # the cost when the unknown region is small.
    ys = unknown[[0, -1]] // w
    y0 = max(0, (int(ys[0]) // b - reach) * b)
    y1 = min(h, (int(ys[1]) // b + reach + 1) * b)
    columns = unknown % w
    x0 = max(0, (int(columns.min()) // b - reach) * b)
    x1 = min(w, (int(columns.max()) // b + reach + 1) * b)
    del columns
    if (y1 - y0, x1 - x0) != (h, w):
        crop = (slice(y0, y1), slice(x0, x1))
        sub = _maybe_close(
            colors.reshape(h, w, 3)[crop].reshape(-1, 3),
            label.reshape(h, w)[crop].ravel(),
            (y1 - y0, x1 - x0),
            radius,
            threshold,
        )
        row, col = np.divmod(sub, x1 - x0)
        return (row + y0) * w + (col + x0)
    span = 2 * reach + 1
    hb, wb = -(-h // b), -(-w // b)
    block = unknown // (w * b)
    block *= wb
    block += (unknown % w) // b

    def extreme(plane, ufunc, empty):
        """``ufunc`` (minimum, maximum) over the blocks around the block of each unknown
        pixel; running in-place reductions over slices, not reductions over short axes."""
        rows = ufunc.reduce(plane.reshape(hb, b, wb * b), axis=1)
        blocks = np.full((hb + 2 * reach, wb + 2 * reach), empty, dtype=np.float32)
        inner = blocks[reach : reach + hb, reach : reach + wb]
        inner[...] = rows[:, 0::b]
        for j in range(1, b):
            ufunc(inner, rows[:, j::b], out=inner)
        around = blocks[:hb].copy()
        for i in range(1, span):
            ufunc(around, blocks[i : i + hb], out=around)
        result = around[:, :wb].copy()
        for j in range(1, span):
            ufunc(result, around[:, j : j + wb], out=result)
        return take(result.ravel(), block)

    # +inf off each kind of pixel, so that it drops out of minima (and -inf of maxima); the
    # margin that makes whole blocks is unknown.
    kinds = np.zeros((hb * b, wb * b), dtype=np.uint8)
    kinds[:h, :w] = label.reshape(h, w)
    off = [np.where(kinds == kind, np.float32(0), np.float32(np.inf)) for kind in KINDS]
    del kinds
    fits = np.ones((len(KINDS), unknown.size), dtype=bool)
    plane = np.zeros((hb * b, wb * b), dtype=np.float32)
    for channel in colors.T:
        plane[:h, :w] = channel.reshape(h, w)
        colour = channel[unknown].astype(np.float32)
        for i in range(len(KINDS)):
            fits[i] &= colour >= extreme(plane + off[i], np.minimum, np.inf) - threshold
            fits[i] &= colour <= extreme(plane - off[i], np.maximum, -np.inf) + threshold
    possible = fits.any(axis=0)
    return unknown[possible]


@dataclass
class _Search:
    """What the offset groups of one expansion share.

    Attributes
    ----------
    colors : ndarray, (n, 3)
        The image.
    expanded : ndarray, uint8, (n,)
        The labels being written.
    padded : ndarray, uint8
        The original labels with a margin, flat (padded width ``w + 2 radius``).
    key : ndarray, float32
        Channel sums of the known pixels in the padded image, +inf elsewhere.
    bound : float32
        Largest channel-sum difference of two colours within the threshold.
    threshold_sq : float
        The squared colour threshold.
    parked : int
        Padded position whose whole disk is margin: labelled pixels move there.
    active, position, key_active : ndarray
        The pixels still searching: flat index, padded position, channel sum (shrunk as
        pixels are labelled).
    """

    colors: np.ndarray
    expanded: np.ndarray
    padded: np.ndarray
    key: np.ndarray
    bound: np.float32
    threshold_sq: float
    parked: int
    active: np.ndarray
    position: np.ndarray
    key_active: np.ndarray


def _label_first_close(
    search: _Search, lo: int, hi: int, shift: np.ndarray, flat_shift: np.ndarray
) -> int:
    """Label the pixels ``search.active[lo:hi]`` whose first qualifying offset is in ``shift``.

    ``shift`` and ``flat_shift`` are the group's offsets in the padded and the flat image;
    a labelled pixel's ``position`` is parked. Returns how many were labelled.
    """
    colors, key, active, position = search.colors, search.key, search.active, search.position
    # One gather of the channel sums both drops unknown pixels (+inf there) and most known
    # pixels of another colour: only the few left are compared in full.
    near = take(key, position[lo:hi, None] + shift[None, :])
    near -= search.key_active[lo:hi, None]
    np.abs(near, out=near)
    close = np.flatnonzero(near <= search.bound)
    if close.size == 0:
        return 0
    row, col = np.divmod(close, shift.size)
    row += lo
    p = take(active, row)
    q = take(flat_shift, col)
    q += p
    # Whole rows of colours: one gather of three channels per pixel.
    diff = np.take(colors, p, axis=0, mode="wrap")
    diff -= np.take(colors, q, axis=0, mode="wrap")
    diff *= diff
    distance_sq = diff[:, 0] + diff[:, 1]
    distance_sq += diff[:, 2]
    near_enough = (distance_sq <= search.threshold_sq).nonzero()[0]
    if near_enough.size == 0:
        return 0
    row, col, p = take(row, near_enough), take(col, near_enough), take(p, near_enough)
    # Hits are in row order, then offset order: keep each row's first.
    first = np.empty(row.size, dtype=bool)
    first[0] = True
    np.not_equal(row[1:], row[:-1], out=first[1:])
    first = first.nonzero()[0]
    row = take(row, first)
    where = take(position, row)
    where += take(shift, take(col, first))
    search.expanded[take(p, first)] = take(search.padded, where)
    position[row] = search.parked
    return first.size


# Pixels x offsets up to which every offset of every unknown pixel is looked at, a chunk of
# pixels at a time, with no filter, distances or groups (see expand_trimap) ...
_AT_ONCE_ELEMENTS = 8 * CHUNK_ELEMENTS
# ... in two passes from this many pixels x offsets: the _FIRST_OFFSETS nearest offsets,
# then the rest for the pixels still unlabelled.
_SPLIT_ELEMENTS = CHUNK_ELEMENTS
_FIRST_OFFSETS = 80


def _shifts(dy, dx, shape, radius):
    """Offsets ``(dy, dx)`` as flat shifts in the padded image and in the image."""
    return dy * (shape[1] + 2 * radius) + dx, dy * shape[1] + dx


def _new_search(colors, label, expanded, shape, radius, threshold, active) -> _Search:
    """The :class:`_Search` of the pixels ``active`` (flat indices, in the order searched)."""
    h, w = shape
    # Labels with a margin: below the image twice the radius, so that a pixel once labelled
    # can be parked at ``parked``, whose whole disk is margin, instead of being removed.
    padded_width = w + 2 * radius
    padded = np.zeros((h + 3 * radius + 1, padded_width), dtype=np.uint8)
    padded[radius : radius + h, radius : radius + w] = label.reshape(h, w)
    padded = padded.ravel()
    # The sum of the channels of each known pixel, +inf elsewhere (margin included): within
    # ``threshold`` in colour, two sums are within ``sqrt(3) threshold`` (Cauchy-Schwarz).
    # float32 is enough for a filter whose bound is widened by far more than its rounding.
    key = np.full(padded.size, np.inf, dtype=np.float32)
    total = colors[:, 0] + colors[:, 1]
    total += colors[:, 2]
    total = total.astype(np.float32).reshape(h, w)
    inner = key.reshape(-1, padded_width)[radius : radius + h, radius : radius + w]
    np.copyto(inner, total, where=label.reshape(h, w) != UNKNOWN)
    ys, xs = np.divmod(active, w)
    return _Search(
        colors=colors,
        expanded=expanded,
        padded=padded,
        key=key,
        bound=np.float32(np.sqrt(3.0) * float(threshold) * (1 + 1e-6) + 1e-5),
        threshold_sq=float(threshold) ** 2,
        parked=(h + 2 * radius) * padded_width + radius,
        active=active,
        position=(ys + radius) * padded_width + (xs + radius),
        key_active=take(total.ravel(), active),
    )


def expand_trimap(
    colors, label: np.ndarray, shape: tuple[int, int], radius: int, threshold: float
) -> np.ndarray:
    """Give each unknown pixel the label of the nearest known pixel of about its colour.

    A known pixel ``q`` qualifies for the unknown pixel ``p`` if ``|p - q| <= radius``
    (Euclidean, in pixels) and ``|I_p - I_q| <= threshold`` (RGB); the nearest one wins, and
    among equally near ones the first in scan order. Only the labels of the original trimap
    are copied (no pixel labelled by this step labels another).

    Returns
    -------
    ndarray, uint8, shape (n,)
        The expanded labels.
    """
    h, w = shape
    expanded = label.copy()
    if radius <= 0 or threshold <= 0:
        return expanded
    dy, dx = disk_offsets(radius)
    unknown = (label == UNKNOWN).nonzero()[0]
    # Few unknown pixels: every offset of every one of them at once, in one gather (the
    # first qualifying offset of each pixel is the one a sequential scan finds). The block
    # filter, the distances and the groups would cost hundreds of NumPy calls more.
    at_once = unknown.size * dy.size <= _AT_ONCE_ELEMENTS
    if at_once:
        active = unknown
    else:
        active = _maybe_close(colors, label, shape, radius, threshold, unknown)
    del unknown
    if active.size == 0:
        return expanded
    if at_once:
        search = _new_search(colors, label, expanded, shape, radius, threshold, active)
        # Enough pixels: the nearest offsets first, then the others for the pixels still
        # unlabelled (about half of those the expansion labels are labelled by then); the
        # first qualifying offset of a pixel is the same, the second pass a fraction.
        split = _FIRST_OFFSETS if active.size * dy.size >= _SPLIT_ELEMENTS else dy.size
        for first, stop in ((0, split), (split, dy.size)):
            if first >= stop or search.active.size == 0:
                break
            if first:
                keep = search.position != search.parked
                search.active = search.active[keep]
                search.position = search.position[keep]
                search.key_active = search.key_active[keep]
            shift, flat_shift = _shifts(dy[first:stop], dx[first:stop], shape, radius)
            piece = max(1, CHUNK_ELEMENTS // (stop - first))
            for lo in range(0, search.active.size, piece):
                hi = min(search.active.size, lo + piece)
                _label_first_close(search, lo, hi, shift, flat_shift)
        return expanded
    from scipy import ndimage

    # Offset o can only reach a known pixel from pixels at most |o| (chessboard) from one:
    # sorted by that distance, the pixels worth looking at are a prefix.
    # Offsets reach at most ``radius``: farther pixels are never looked at, so distances are
    # needed only up to ``radius + 1``, which a crop ``radius + 1`` around the active pixels'
    # bounding box gives exactly (a crop only overestimates distances beyond that).
    ys, xs = np.divmod(active, w)
    y0, y1 = max(0, int(ys[0]) - radius - 1), min(h, int(ys[-1]) + radius + 2)
    x0, x1 = max(0, int(xs.min()) - radius - 1), min(w, int(xs.max()) + radius + 2)
    crop = (label == UNKNOWN).reshape(h, w)[y0:y1, x0:x1]
    reach = ndimage.distance_transform_cdt(crop, metric="chessboard")
    reach = reach[ys - y0, xs - x0]
    del ys, xs
    # No known pixel in the crop at all: -1 from SciPy.
    reach[(reach < 0) | (reach > radius)] = radius + 1
    order = np.argsort(reach, kind="stable")
    active, reach = active[order], reach[order]
    del order
    search = _new_search(colors, label, expanded, shape, radius, threshold, active)
    del active
    cuts = np.searchsorted(reach, np.arange(radius + 1), side="right")
    labelled = 0
    piece = max(1, CHUNK_ELEMENTS // EXPANSION_GROUP)
    # Offsets go in groups of EXPANSION_GROUP, nearest first: within a group, the first
    # qualifying offset of each pixel (in that order) is the one a sequential scan finds.
    for start in range(0, dy.size, EXPANSION_GROUP):
        gy, gx = dy[start : start + EXPANSION_GROUP], dx[start : start + EXPANSION_GROUP]
        near = cuts[max(np.abs(gy).max(), np.abs(gx).max())]
        shift, flat_shift = _shifts(gy, gx, shape, radius)
        # Pixels a piece at a time: the hits and their colours stay a few MB.
        for lo in range(0, near, piece):
            labelled += _label_first_close(search, lo, min(near, lo + piece), shift, flat_shift)
        if labelled > search.active.size // 8:
            keep = search.position != search.parked
            search.active = search.active[keep]
            search.position = search.position[keep]
            search.key_active = search.key_active[keep]
            reach = reach[keep]
            cuts = np.searchsorted(reach, np.arange(radius + 1), side="right")
            labelled = 0
            if search.active.size == 0:
                break
    return expanded
