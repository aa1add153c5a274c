"""Steps 3 and 4 of shared matting: sample refinement and local smoothing (Gastal and
Oliveira 2010, sec. 4.3 and 4.4), over windows of each unknown pixel, a box of rows at a time.
"""

from __future__ import annotations

import functools

import numpy as np

from vecmatte.alpha._shared_sampling import (
    BACKGROUND,
    BAND_ELEMENTS,
    FOREGROUND,
    PAIR_EPS,
    UNKNOWN,
    chromatic_distortion,
    chunks,
    clamp_below,
    clip01,
    estimate_alpha_from_pair,
    square_offsets,
    take,
)

__all__ = [
    "PairPlanes",
    "band_list",
    "confidence",
    "confidence_and_low_frequency",
    "low_frequency_alpha",
    "refine_samples",
    "smooth_pairs",
]


def _in_box(targets, shape, top, bottom, left, right):
    """Positions (in ``targets``) and box-local flat indices of the targets in a box."""
    w = shape[1]
    i0, i1 = np.searchsorted(targets, (top * w, bottom * w))
    y, x = np.divmod(targets[i0:i1], w)
    inside = ((x >= left) & (x < right)).nonzero()[0]
    local = (y[inside] - top) * (right - left) + (x[inside] - left)
    return i0 + inside, local


class PairPlanes:
    """The colour pair (and alpha) of every pixel, made a box of pixels at a time.

    ``planes`` is the image as channel planes ``(3, n)`` of any float type (``colors.T``,
    a view, or float32 planes): a box copies its rows into float32. Pixels of ``unknown``
    (sorted flat indices) have the pairs ``fg``, ``bg`` (float32 ``(3, m)``) and alphas
    ``alpha`` (``(m,)``, optional); known pixels have their own colour and the mean colour
    of the other side, and alpha 1 or 0. Building these planes for the box around a band
    of pixels only, rather than for the whole image, keeps three float32 images' worth of
    memory out of the peak and skips the pixels far from any unknown one.
    """

    def __init__(self, planes, label, shape, unknown, fg, bg, mean_fg, mean_bg, alpha=None):
        self.planes, self.label, self.shape, self.unknown = planes, label, shape, unknown
        self.fg, self.bg, self.alpha = fg, bg, alpha
        self.mean_fg, self.mean_bg = mean_fg, mean_bg

    def box(self, top: int, bottom: int, left: int, right: int):
        """Planes ``fg``, ``bg`` (float32 ``(3, L)``) and ``alpha`` (``(L,)`` or ``None``) of
        the pixels ``[top:bottom, left:right]``, flattened row by row."""
        h, w = self.shape
        label = self.label.reshape(h, w)[top:bottom, left:right]
        is_fg, is_bg = label == FOREGROUND, label == BACKGROUND
        fg = np.empty((3, *label.shape), dtype=np.float32)
        bg = np.empty((3, *label.shape), dtype=np.float32)
        for c in range(3):
            fg[c] = self.planes[c].reshape(h, w)[top:bottom, left:right]
            bg[c] = fg[c]
            np.copyto(fg[c], self.mean_fg[c], where=is_bg)
            np.copyto(bg[c], self.mean_bg[c], where=is_fg)
        fg, bg = fg.reshape(3, -1), bg.reshape(3, -1)
        at, local = _in_box(self.unknown, self.shape, top, bottom, left, right)
        # Channel by channel with put/take (indices in range: "wrap" never wraps), about
        # three times faster than a 2-D fancy assignment; ``at`` is often one run.
        if at.size and at[-1] - at[0] + 1 == at.size:
            run = slice(int(at[0]), int(at[0]) + at.size)

            def pick(values):
                return values[..., run]
        else:

            def pick(values):
                return values.take(at, axis=-1, mode="wrap")

        for plane, values in ((fg, pick(self.fg)), (bg, pick(self.bg))):
            for c in range(3):
                plane[c].put(local, values[c], mode="wrap")
        alpha = None
        if self.alpha is not None:
            alpha = is_fg.astype(np.float32).ravel()
            alpha.put(local, pick(self.alpha), mode="wrap")
        return fg, bg, alpha


# Window entries (pixels x offsets) up to which the three channels are gathered and worked
# on together, (3, k, window): fewer NumPy calls, and temporaries that still fit in cache.
_FUSED_ELEMENTS = 1 << 13


def _window_index(p, shape, dy, dx, top=0, left=0, width=None):
    """Indices ``(k, window)`` of the window of each pixel in the box whose corner is
    ``(top, left)`` and width ``width``, and which window pixels are in the image.

    Outside pixels get the index of ``p`` and ``False``; ``inside`` is ``None`` when every
    window lies inside the image.
    """
    h, w = shape
    width = w if width is None else width
    y, x = np.divmod(p, w)
    radius_y, radius_x = int(np.abs(dy).max()), int(np.abs(dx).max())
    center = (y - top) * width + (x - left)
    index = center[:, None] + (dy * width + dx)[None, :]
    if (
        y.min() >= radius_y
        and y.max() < h - radius_y
        and x.min() >= radius_x
        and x.max() < w - radius_x
    ):
        return index, None
    yy = y[:, None] + dy[None, :]
    xx = x[:, None] + dx[None, :]
    inside = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
    index[~inside] = np.broadcast_to(center[:, None], index.shape)[~inside]
    return index, inside


def _bands(targets: np.ndarray, shape: tuple[int, int], radius: int, bands=None):
    """Bands of rows over ``targets``: ``(order, (top, bottom, left, right))``.

    ``order`` indexes the band's targets, those whose window lies inside the image first
    (they need no mask); the box holds every pixel within ``radius`` of them. ``bands``:
    these bands already made (:func:`band_list`), returned as they are, so that the steps
    whose windows have the same radius (every step, by default) make them once. Each step
    takes them as its optional last argument ``bands``.
    """
    if bands is not None:
        return bands
    return _make_bands(targets, shape, radius)


def _make_bands(targets, shape, radius):
    """The generator of :func:`_bands`."""
    h, w = shape
    rows = max(1, BAND_ELEMENTS // w)
    for start in range(0, h, rows):
        i0, i1 = np.searchsorted(targets, (start * w, min(h, start + rows) * w))
        if i0 == i1:
            continue
        y, x = np.divmod(targets[i0:i1], w)
        border = (y < radius) | (y >= h - radius) | (x < radius) | (x >= w - radius)
        order = i0 + np.argsort(border, kind="stable")
        box = (
            max(0, int(y[0]) - radius),
            min(h, int(y[-1]) + radius + 1),
            max(0, int(x.min()) - radius),
            min(w, int(x.max()) + radius + 1),
        )
        yield order, box


def band_list(targets: np.ndarray, shape: tuple[int, int], radius: int) -> list:
    """The bands of :func:`_bands` as a list, for the steps that share them."""
    return list(_make_bands(targets, shape, radius))


def _windows(cache, chosen, targets, shape, dy, dx, box):
    """:func:`_window_index` of the pixels ``targets[chosen]`` in ``box``, kept in ``cache``
    (a dict, or ``None``: made afresh) for the next step with the same windows.

    The key tells chunks of one ``targets`` apart (a chunk is a run of one band's pixel
    order, so its first and last pixels and its size name it); the entry holds ``targets``
    itself, so that a dict passed on with other targets is never read for them.
    """
    top, _, left, right = box
    if cache is None:
        return _window_index(targets[chosen], shape, dy, dx, top, left, right - left)
    key = (shape, box, dy.size, chosen.size, int(chosen[0]), int(chosen[-1]))
    entry = cache.get(key)
    if entry is None or entry[0] is not targets:
        cache.clear()  # one entry at most: the windows of one chunk
        index = _window_index(targets[chosen], shape, dy, dx, top, left, right - left)
        entry = cache[key] = (targets, index)
    return entry[1]


def refine_samples(
    colors_targets: np.ndarray,
    planes: PairPlanes,
    targets: np.ndarray,
    radius: int,
    samples: int = 3,
    bands: list | None = None,
    windows: dict | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Average the ``samples`` pairs of the window that best explain each pixel (sec. 4.3).

    Every pixel ``q`` of the window of radius ``radius`` around ``p`` (each of ``targets``,
    sorted flat indices, with colours ``colors_targets``, float32 ``(3, k)``) inside the image
    offers its pair ``(F_q, B_q)`` of ``planes``; the ``samples`` pairs of least chromatic
    distortion of ``I_p`` win, ties going to the first in scan order, and their mean is the
    refined pair. With fewer pairs in the window than ``samples``, the missing ones count as
    black (as in PyMatting). ``windows``: a dict that keeps the window indices of a chunk
    for :func:`smooth_pairs` (same bands and radius); give one only when the targets are
    one chunk (it holds one chunk's indices).

    Returns
    -------
    fg, bg : ndarray, float32, shape (3, k)
    alpha : ndarray, float32, shape (k,)
    """
    shape = planes.shape
    dy, dx = square_offsets(radius)
    fg_out = np.empty((3, targets.size), dtype=np.float32)
    bg_out = np.empty((3, targets.size), dtype=np.float32)
    for order, box in _bands(targets, shape, radius, bands):
        fg_plane, bg_plane, _ = planes.box(*box)
        # d = F_q - B_q and |d|^2 depend on q only: once per box pixel, not per window entry.
        d_plane = fg_plane - bg_plane
        dd_plane = d_plane * d_plane
        dd_plane = dd_plane[0] + dd_plane[1] + dd_plane[2]
        for part in chunks(order.size, dy.size):
            chosen = order[part]
            index, inside = _windows(windows, chosen, targets, shape, dy, dx, box)
            dd = take(dd_plane, index)
            color = colors_targets[:, chosen][:, :, None]
            if index.size <= _FUSED_ELEMENTS:
                # v = I_p - B_q and d, all channels at once: (3, k, window) each (a few calls
                # in all); the sums over the channels go in channel order, as below.
                v = bg_plane.take(index, axis=1, mode="wrap")
                d = d_plane.take(index, axis=1, mode="wrap")
                np.subtract(color, v, out=v)
                d *= v
                t = d[0] + d[1]
                t += d[2]
                v *= v
                vv = v[0] + v[1]
                vv += v[2]
            else:
                # Channel by channel, (k, window) each: temporaries a third the size.
                for c in range(3):
                    v = take(bg_plane[c], index)
                    d = take(d_plane[c], index)
                    np.subtract(color[c], v, out=v)
                    if c == 0:
                        t, vv = v * d, v * v
                    else:
                        t += v * d
                        vv += v * v
            del v, d
            # |a d - v|^2 = a (a |d|^2 - 2 t) + |v|^2 with a = clip(t / |d|^2)
            cost = dd + PAIR_EPS
            np.divide(t, cost, out=cost)
            clip01(cost)
            dd *= cost
            t *= 2
            dd -= t
            cost *= dd
            cost += vv
            del dd, t, vv
            if inside is not None:
                cost[~inside] = np.inf
            # Flat positions of each row's best entry: one take, not a 2-D fancy index.
            row_start = np.arange(0, cost.size, cost.shape[1])
            cost, index = cost.ravel(), index.ravel()
            pick = np.empty((samples, chosen.size), dtype=np.intp)
            found = np.empty((samples, chosen.size), dtype=np.float32)
            for i in range(samples):
                best = cost.reshape(chosen.size, -1).argmin(axis=1)
                best += row_start
                np.less(take(cost, best), np.inf, out=found[i])
                take(index, best, out=pick[i])
                cost[best] = np.inf
            # All channels in one einsum each (the same sums as one per channel).
            fg = np.einsum("csk,sk->ck", fg_plane.take(pick, axis=1, mode="wrap"), found)
            bg = np.einsum("csk,sk->ck", bg_plane.take(pick, axis=1, mode="wrap"), found)
            fg /= samples
            bg /= samples
            fg_out[:, chosen] = fg
            bg_out[:, chosen] = bg
    alpha = estimate_alpha_from_pair(colors_targets, fg_out, bg_out)
    return fg_out, bg_out, alpha


def _gaussian_weights(dy: np.ndarray, dx: np.ndarray, sigma_sq: float) -> np.ndarray:
    """``exp(-(dy^2 + dx^2) / sigma_sq)``, not normalised (as in PyMatting)."""
    return np.exp(-(dy * dy + dx * dx) / sigma_sq).astype(np.float32)


def smooth_pairs(
    planes: PairPlanes,
    targets: np.ndarray,
    radius: int,
    sigma_sq: float,
    bands: list | None = None,
    windows: dict | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted means of the neighbours' pairs (sec. 4.4, eq. 13 and 14).

    The weight of ``q`` in the window of ``p`` (each of ``targets``) is
    ``G(q - p) |alpha_p - alpha_q|`` (``G`` the unnormalised Gaussian of variance
    ``sigma_sq``; 1 for ``q = p``), times ``alpha_q`` for the foreground and ``1 - alpha_q``
    for the background, at least 1e-5 (PyMatting leaves out the paper's confidence factor;
    so does this). Pairs and alphas come from ``planes``; ``windows`` as in
    :func:`refine_samples`.

    Returns
    -------
    fg, bg : ndarray, float32, shape (3, k)
    """
    shape = planes.shape
    dy, dx = square_offsets(radius)
    gauss = _gaussian_weights(dy, dx, sigma_sq)
    center = dy.size // 2
    fg_out = np.empty((3, targets.size), dtype=np.float32)
    bg_out = np.empty((3, targets.size), dtype=np.float32)
    floor = np.float32(1e-5)
    for order, box in _bands(targets, shape, radius, bands):
        fg_plane, bg_plane, alpha_plane = planes.box(*box)
        for part in chunks(order.size, dy.size):
            chosen = order[part]
            index, inside = _windows(windows, chosen, targets, shape, dy, dx, box)
            a_q = take(alpha_plane, index)
            w_bg = a_q[:, center][:, None] - a_q
            np.abs(w_bg, out=w_bg)
            w_bg *= gauss
            w_bg[:, center] = 1.0
            w_fg = w_bg * a_q
            w_bg -= w_fg
            clamp_below(w_fg, floor)
            clamp_below(w_bg, floor)
            if inside is not None:
                outside = ~inside
                w_fg[outside] = 0.0
                w_bg[outside] = 0.0
            sum_fg = w_fg.sum(axis=1)
            sum_bg = w_bg.sum(axis=1)
            if index.size <= _FUSED_ELEMENTS:
                # All channels in one einsum each (the same sums as one per channel).
                fg = np.einsum("ckn,kn->ck", fg_plane.take(index, axis=1, mode="wrap"), w_fg)
                bg = np.einsum("ckn,kn->ck", bg_plane.take(index, axis=1, mode="wrap"), w_bg)
                fg /= sum_fg
                bg /= sum_bg
                fg_out[:, chosen] = fg
                bg_out[:, chosen] = bg
                continue
            for c in range(3):
                fg_out[c, chosen] = np.einsum("kn,kn->k", take(fg_plane[c], index), w_fg) / sum_fg
                bg_out[c, chosen] = np.einsum("kn,kn->k", take(bg_plane[c], index), w_bg) / sum_bg
    return fg_out, bg_out


def _window_sums(planes: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Separable windowed sums of the planes ``(count, h, w)`` with 1-D ``weights``, zero
    outside, as ``(count, h * w)``: each line is filtered as a plane of its own would be."""
    from scipy import ndimage

    # An output array and float64 weights (SciPy's own conversion of them, done once): the
    # call then skips SciPy's output and weight preparation, a third of its time on a
    # small image.
    weights = np.asarray(weights, dtype=np.float64)
    out = np.empty_like(planes)
    ndimage.correlate1d(planes, weights, axis=1, output=out, mode="constant", cval=0.0)
    ndimage.correlate1d(out, weights, axis=2, output=out, mode="constant", cval=0.0)
    return out.reshape(planes.shape[0], -1)


def _box_sums(targets, shape, radius, groups, bands=None):
    """Windowed sums of planes made box by box, at ``targets``: per group, ``(count, k)``.

    ``groups``: ``(weights, count, fill)`` with separable 1-D ``weights``; ``fill(out, at,
    local, box)`` writes the group's ``count`` float32 planes of the box ``(top, bottom,
    left, right)`` into ``out`` (zeros, ``(count, rows, columns)``), ``at`` and ``local``
    being the unknown pixels in the box (:func:`_in_box`). A box holds every pixel within
    ``radius`` of its targets, so zero beyond it is exact. The planes of a group are summed
    together (two window sums for the group, not two per plane).
    """
    w = shape[1]
    sums = [np.empty((count, targets.size), dtype=np.float32) for _, count, _ in groups]
    for order, box in _bands(targets, shape, radius, bands):
        top, bottom, left, right = box
        y, x = np.divmod(targets[order], w)
        local_targets = (y - top) * (right - left) + (x - left)
        at, local = _in_box(targets, shape, *box)
        for total, (weights, count, fill) in zip(sums, groups, strict=True):
            planes = np.zeros((count, bottom - top, right - left), dtype=np.float32)
            fill(planes, at, local, box)
            total[:, order] = _window_sums(planes, weights).take(local_targets, axis=1)
    return sums


@functools.lru_cache(maxsize=32)
def _inside_weights_along(size: int, radius: int, weights: bytes) -> np.ndarray:
    """The sum of the weights over the offsets inside ``range(size)``, for each coordinate in
    it (``weights``: the float32 bytes of the 1-D weights); read-only, cached per image side."""
    cum = np.concatenate([[0.0], np.cumsum(np.frombuffer(weights, np.float32), dtype=np.float64)])
    coord = np.arange(size)
    lo = np.maximum(0, radius - coord)  # first offset index inside
    hi = np.minimum(2 * radius + 1, radius + size - coord)  # one past the last
    along = (cum[hi] - cum[lo]).astype(np.float32)
    along.flags.writeable = False
    return along


def _inside_weight_sum(p, shape, radius, weights_1d) -> np.ndarray:
    """``sum`` of ``weights_1d[dy] * weights_1d[dx]`` over the window offsets inside the image."""
    h, w = shape
    key = np.asarray(weights_1d, dtype=np.float32).tobytes()
    y, x = np.divmod(p, w)
    total = _inside_weights_along(h, radius, key).take(y, mode="wrap")
    total *= _inside_weights_along(w, radius, key).take(x, mode="wrap")
    return total


def _confidence_planes(refined_alpha, fg, bg):
    """The spread ``|F_p - B_p|`` and the group (:func:`_box_sums`) of the confidence's window
    sums: ``alpha (1 - alpha) |F - B|`` and ``alpha (1 - alpha)``, box weights."""
    w_fb = refined_alpha * (1.0 - refined_alpha)
    spread = np.sqrt(((fg - bg) ** 2).sum(axis=0))
    weighted_spread = w_fb * spread

    def fill(out, at, local, box):
        flat = out.reshape(2, -1)
        flat[0, local] = weighted_spread[at]
        flat[1, local] = w_fb[at]

    return spread, fill


def _confidence(colors_unknown, fg, bg, spread, sums, sigma_sq):
    """Eq. 15 and 16 from the window sums of :func:`_confidence_planes`."""
    weighted, total = sums
    mean_spread = weighted / (total + PAIR_EPS) + PAIR_EPS
    distortion = chromatic_distortion(colors_unknown, fg, bg)
    return np.minimum(1.0, spread / mean_spread) * np.exp(-np.sqrt(distortion) / sigma_sq)


def confidence(
    colors_unknown: np.ndarray,
    fg: np.ndarray,
    bg: np.ndarray,
    refined_alpha: np.ndarray,
    shape: tuple[int, int],
    unknown: np.ndarray,
    radius: int,
    sigma_sq: float,
    bands: list | None = None,
) -> np.ndarray:
    """Confidence of the smoothed pairs (eq. 15 and 16): float32 ``(m,)``.

    ``min(1, |F_p - B_p| / D_FB) exp(-sqrt(M_p) / sigma_sq)``, where ``D_FB`` is the mean of
    ``|F_q - B_q|`` over the window weighted by ``alpha_q (1 - alpha_q)`` (refined alphas;
    known pixels weigh nothing).
    """
    spread, fill = _confidence_planes(refined_alpha, fg, bg)
    ones = np.ones(2 * radius + 1, dtype=np.float32)
    (sums,) = _box_sums(unknown, shape, radius, [(ones, 2, fill)], bands)
    return _confidence(colors_unknown, fg, bg, spread, sums, sigma_sq)


class _LowFrequency:
    """The window sums of :func:`low_frequency_alpha`: the refined alphas with Gaussian
    weights (``alpha_group``), the known and known-foreground pixels with box weights
    (``known_group``), and the alpha from their sums (``alpha``)."""

    def __init__(self, refined_alpha, label, shape, radius, sigma_sq):
        h, w = shape
        offsets = np.arange(-radius, radius + 1)
        self.gauss = np.exp(-(offsets * offsets) / sigma_sq).astype(np.float32)
        self.shape, self.radius = shape, radius
        label = label.reshape(h, w)
        # Both counts in one plane, ``known + 256 foreground``, when a window holds fewer
        # than 256 pixels: every partial sum is then a whole number below 2^24, exact in
        # float32, and one plane does the work of two.
        self.packed = (2 * radius + 1) ** 2 < 256

        def alpha_fill(out, at, local, box):
            top, bottom, left, right = box
            out[0] = label[top:bottom, left:right] == FOREGROUND
            out[0].ravel()[local] = refined_alpha[at]

        def known_fill(out, at, local, box):
            top, bottom, left, right = box
            part = label[top:bottom, left:right]
            out[0] = part == FOREGROUND
            if self.packed:
                out[0] *= 256
                out[0] += part != UNKNOWN
            else:
                out[1] = part != UNKNOWN

        self.alpha_group = (self.gauss, 1, alpha_fill)
        self.known_group = (np.ones(offsets.size, dtype=np.float32), 2 - self.packed, known_fill)

    def alpha(self, unknown, numerator, known_sums):
        """Eq. 17 from the window sums ``numerator`` ``(m,)`` and ``known_sums``."""
        if self.packed:
            known_fg = np.floor(known_sums[0] / np.float32(256))
            known = known_sums[0] - known_fg * np.float32(256)
        else:
            known_fg, known = known_sums
        numerator = numerator + known_fg
        denominator = _inside_weight_sum(unknown, self.shape, self.radius, self.gauss)
        denominator += known
        return numerator / denominator


def low_frequency_alpha(
    refined_alpha: np.ndarray,
    label: np.ndarray,
    shape: tuple[int, int],
    unknown: np.ndarray,
    radius: int,
    sigma_sq: float,
    bands: list | None = None,
) -> np.ndarray:
    """Mean of the refined alphas over the window (eq. 17): float32 ``(m,)``.

    Weights ``G(q - p) + [q known]`` (``G`` unnormalised, variance ``sigma_sq``), over the
    window pixels inside the image; the Gaussian part is separable, the known part a box.
    Known pixels have alpha 1 (foreground) or 0.
    """
    low = _LowFrequency(refined_alpha, label, shape, radius, sigma_sq)
    numerator, known = _box_sums(unknown, shape, radius, [low.alpha_group, low.known_group], bands)
    return low.alpha(unknown, numerator[0], known)


def confidence_and_low_frequency(
    colors_unknown: np.ndarray,
    fg: np.ndarray,
    bg: np.ndarray,
    refined_alpha: np.ndarray,
    label: np.ndarray,
    shape: tuple[int, int],
    unknown: np.ndarray,
    radius: int,
    confidence_sigma_sq: float,
    low_frequency_sigma_sq: float,
    bands: list | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`confidence` and :func:`low_frequency_alpha` with the same window radius, their
    box-weighted window sums taken together (one pass over the bands, fewer calls).

    Parameters
    ----------
    colors_unknown, fg, bg, refined_alpha, shape, unknown, radius, bands
        As in :func:`confidence`.
    label : ndarray, uint8, shape (n,)
        As in :func:`low_frequency_alpha`.
    confidence_sigma_sq, low_frequency_sigma_sq : float
        The ``sigma_sq`` of each.

    Returns
    -------
    trust, low : ndarray, float32, shape (m,)
        The confidence and the low-frequency alpha, the values of the two functions.
    """
    spread, confidence_fill = _confidence_planes(refined_alpha, fg, bg)
    low = _LowFrequency(refined_alpha, label, shape, radius, low_frequency_sigma_sq)
    ones, count, known_fill = low.known_group

    def fill(out, at, local, box):
        confidence_fill(out[:2], at, local, box)
        known_fill(out[2:], at, local, box)

    box_sums, numerator = _box_sums(
        unknown, shape, radius, [(ones, 2 + count, fill), low.alpha_group], bands
    )
    trust = _confidence(colors_unknown, fg, bg, spread, box_sums[:2], confidence_sigma_sq)
    return trust, low.alpha(unknown, numerator[0], box_sums[2:])
