"""The four steps of shared matting, each as array operations over all unknown pixels.

Gastal and Oliveira, "Shared Sampling for Real-Time Alpha Matting", Eurographics 2010. The
steps follow the paper as PyMatting implements it (its constants, defaults and tie-breaking),
so that the two can be compared; :mod:`vecmatte.alpha.sm` strings them together.

Every function takes the image as ``colors``: ``(n, 3)``, pixels in row-major order (the
caller's ``(h, w, 3)`` image reshaped: no copy is made), and the trimap as
``label``: uint8 ``(n,)`` with :data:`UNKNOWN`, :data:`FOREGROUND` or :data:`BACKGROUND`.
Loops run over window offsets, march steps, bands of rows and chunks of pixels, never over
pixels. Chunks bound the temporary arrays to about :data:`CHUNK_ELEMENTS` entries each, and
the colour pairs of the known pixels exist only a band of rows at a time
(:class:`PairPlanes`), so that the peak memory stays a fraction of the image's.
"""

from __future__ import annotations

import itertools

import numpy as np

UNKNOWN, FOREGROUND, BACKGROUND = 0, 1, 2
KINDS = (FOREGROUND, BACKGROUND)

# Entries per temporary array in the chunked loops (256 KB in float32: they stay in cache).
CHUNK_ELEMENTS = 1 << 16
# Offsets of the trimap expansion looked at together.
EXPANSION_GROUP = 16
# Rays marched together (each carries a few 8-byte numbers of state).
RAY_CHUNK = 1 << 16

_SQRT_EPS = np.float32(1e-5)  # the 1e-5 that PyMatting adds to denominators


def _chunks(count: int, per_item: int):
    """Slices of ``range(count)`` holding about CHUNK_ELEMENTS / per_item items each."""
    size = max(1, CHUNK_ELEMENTS // max(1, per_item))
    for start in range(0, count, size):
        yield slice(start, min(count, start + size))


def disk_offsets(radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Offsets ``(dy, dx)`` with ``0 < dy**2 + dx**2 <= radius**2``, nearest first.

    Ties keep the scan order (``dy``, then ``dx``), the order in which a per-pixel loop
    meets them.
    """
    dy, dx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    dy, dx = dy.ravel(), dx.ravel()
    d2 = dy * dy + dx * dx
    keep = (d2 > 0) & (d2 <= radius * radius)
    order = np.lexsort((dx[keep], dy[keep], d2[keep]))
    return dy[keep][order], dx[keep][order]


def square_offsets(radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Offsets ``(dy, dx)`` of the ``(2 radius + 1)**2`` window in scan order."""
    dy, dx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    return dy.ravel(), dx.ravel()


def estimate_alpha_from_pair(color: np.ndarray, fg: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """Alpha of ``color`` between the colours ``fg`` and ``bg`` (all ``(3, ...)``), in [0, 1].

    The projection of ``color - bg`` on ``fg - bg`` (Gastal and Oliveira, eq. 12), with the
    1e-5 that keeps equal colours from dividing by zero.
    """
    d = fg - bg
    v = color - bg
    alpha = (v * d).sum(axis=0) / ((d * d).sum(axis=0) + _SQRT_EPS)
    return np.clip(alpha, 0.0, 1.0, out=alpha)


def chromatic_distortion(color: np.ndarray, fg: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """Squared distance between ``color`` and its composite from ``fg`` and ``bg`` (eq. 4)."""
    alpha = estimate_alpha_from_pair(color, fg, bg)
    r = alpha * fg + (1.0 - alpha) * bg - color
    return (r * r).sum(axis=0)


# --- step 1: trimap expansion --------------------------------------------------------------


def _maybe_close(
    colors, label: np.ndarray, shape: tuple[int, int], radius: int, threshold: float
) -> np.ndarray:
    """Unknown pixels that might have a known pixel of about their colour within ``radius``.

    Per block of about ``radius / 2`` pixels square, the range of each channel over each kind
    of known pixel; a pixel's window lies in the 5 x 5 blocks around its own, so a colour
    outside their ranges (widened by ``threshold``) in some channel rules that kind out.
    """
    h, w = shape
    # Blocks of half the radius: a window then lies in the 5 x 5 blocks around its pixel's.
    b = -(-radius // 2)
    reach = -(-radius // b)
    span = 2 * reach + 1
    hb, wb = -(-h // b), -(-w // b)
    pad = ((0, hb * b - h), (0, wb * b - w))
    unknown = np.flatnonzero(label == UNKNOWN)
    by, bx = np.divmod(unknown, w)
    block = (by // b) * wb + bx // b
    del by, bx

    def extreme(plane, reduce, empty):
        """``reduce`` over the blocks around the block of each unknown pixel."""
        blocks = reduce(plane.reshape(hb, b, wb * b), axis=1)
        blocks = reduce(blocks.reshape(hb, wb, b), axis=2)
        blocks = np.pad(blocks, reach, constant_values=empty)
        blocks = reduce([blocks[i : i + hb] for i in range(span)], axis=0)
        blocks = reduce([blocks[:, j : j + wb] for j in range(span)], axis=0)
        return blocks.ravel()[block]

    # +inf off each kind of pixel, so that it drops out of minima (and -inf of maxima).
    kinds = np.pad(label.reshape(h, w), pad)
    off = [np.where(kinds == kind, np.float32(0), np.float32(np.inf)) for kind in KINDS]
    del kinds
    fits = np.ones((len(KINDS), unknown.size), dtype=bool)
    for channel in colors.T:
        plane = np.pad(channel.reshape(h, w).astype(np.float32), pad)
        colour = channel[unknown]
        for i in range(len(KINDS)):
            fits[i] &= colour >= extreme(plane + off[i], np.min, np.inf) - threshold
            fits[i] &= colour <= extreme(plane - off[i], np.max, -np.inf) + threshold
    possible = fits.any(axis=0)
    return unknown[possible]


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
    from scipy import ndimage

    active = _maybe_close(colors, label, shape, radius, threshold)
    if active.size == 0:
        return expanded
    # Offset o can only reach a known pixel from pixels at most |o| (chessboard) from one:
    # sorted by that distance, the pixels worth looking at are a prefix.
    reach = ndimage.distance_transform_cdt((label == UNKNOWN).reshape(h, w), metric="chessboard")
    reach = reach.ravel()[active]
    order = np.argsort(reach, kind="stable")
    active, reach = active[order], reach[order]
    del order
    # Labels with a margin: below the image twice the radius, so that a pixel once labelled
    # can be parked at ``parked``, whose whole disk is margin, instead of being removed.
    padded_width = w + 2 * radius
    padded = np.zeros((h + 3 * radius + 1, padded_width), dtype=np.uint8)
    padded[radius : radius + h, radius : radius + w] = label.reshape(h, w)
    padded = padded.ravel()
    parked = (h + 2 * radius) * padded_width + radius
    ys, xs = np.divmod(active, w)
    position = (ys + radius) * padded_width + (xs + radius)
    del ys, xs
    threshold_sq = float(threshold) ** 2
    dy, dx = disk_offsets(radius)
    cuts = np.searchsorted(reach, np.arange(radius + 1), side="right")
    labelled = 0
    # Offsets go in groups of EXPANSION_GROUP, nearest first: within a group, the first
    # qualifying offset of each pixel (in that order) is the one a sequential scan finds.
    for start in range(0, dy.size, EXPANSION_GROUP):
        gy, gx = dy[start : start + EXPANSION_GROUP], dx[start : start + EXPANSION_GROUP]
        near = cuts[max(np.abs(gy).max(), np.abs(gx).max())]
        donor = padded[position[:near, None] + (gy * padded_width + gx)[None, :]]
        close = np.flatnonzero(donor)
        if close.size == 0:
            continue
        p = active[close // donor.shape[1]]
        q = p + (gy * w + gx)[close % donor.shape[1]]
        # Channel by channel, dropping the pairs already too far apart.
        distance_sq = np.zeros(close.size)
        for channel in colors.T:
            diff = channel[p] - channel[q]
            diff *= diff
            distance_sq += diff
            near_enough = np.flatnonzero(distance_sq <= threshold_sq)
            if near_enough.size < close.size:
                close, p, q = close[near_enough], p[near_enough], q[near_enough]
                distance_sq = distance_sq[near_enough]
        if close.size == 0:
            continue
        row, col = np.divmod(close, donor.shape[1])
        # Hits are in row order, then offset order: keep each row's first.
        first = np.flatnonzero(np.diff(row, prepend=-1))
        row, col = row[first], col[first]
        expanded[p[first]] = donor[row, col]
        position[row] = parked
        labelled += first.size
        if labelled > active.size // 2:
            keep = position != parked
            active, position, reach = active[keep], position[keep], reach[keep]
            cuts = np.searchsorted(reach, np.arange(radius + 1), side="right")
            labelled = 0
            if active.size == 0:
                break
    return expanded


# --- step 2: sample gathering --------------------------------------------------------------


def _step_table(is_not_target: np.ndarray) -> np.ndarray:
    """Steps a ray may take from each pixel without skipping a target pixel (flat).

    Between ray samples ``k`` steps apart, ``trunc(p + s u)`` moves by at most ``k`` pixels
    in x and in y (``|u| = 1``; truncation and flooring differ only on the way out of the
    image, where truncation stays nearer). A target at chessboard distance ``D`` from the
    current sample cannot be met before ``D`` more steps: that is the step to take.
    """
    from scipy import ndimage

    return ndimage.distance_transform_cdt(is_not_target, metric="chessboard").ravel()


def ray_angles(xs: np.ndarray, ys: np.ndarray, rays: int) -> np.ndarray:
    """Angle id (0 ... 63) of each pixel's first ray: a shuffled 8 x 8 tile, as in PyMatting."""
    tile = (xs % 8) + (ys % 8) * 8
    return (tile * 99991) % 64


def _angle_table(rays: int) -> tuple[np.ndarray, np.ndarray]:
    """``cos`` and ``sin`` of ray ``a`` of a pixel with angle id ``i``: tables ``(64, rays)``."""
    start = 2.0 * np.pi / 64 * np.arange(64)
    angle = 2.0 * np.pi / rays * np.arange(rays)[None, :] + start[:, None]
    return np.cos(angle), np.sin(angle)


def march_rays(
    label: np.ndarray, shape: tuple[int, int], unknown: np.ndarray, rays: int
) -> tuple[np.ndarray, np.ndarray]:
    """First foreground and first background pixel along each of ``rays`` rays per pixel.

    Ray ``a`` of pixel ``p = (x, y)`` visits ``(trunc(x + s cos t), trunc(y + s sin t))`` for
    ``s = 0, 1, ...`` with ``t = 2 pi a / rays + t_p`` (``t_p`` from :func:`ray_angles`, so
    that neighbouring pixels look in different directions), until it has met both a
    foreground and a background pixel, leaves the image, or has made ``2 max(h, w)`` steps
    (which no ray inside the image reaches). All rays march together; each skips the steps
    that provably cannot meet what it still looks for (:func:`_step_table`), which is exact
    and much faster across large regions.

    Returns
    -------
    foreground, background : ndarray, int32, shape (m, rays)
        Flat index of the sample each ray found, -1 where it found none.
    """
    h, w = shape
    n, m = h * w, unknown.size
    # What a ray still needs is a bit set, as the labels are: 1 foreground, 2 background.
    # Row ``need`` of ``skip`` holds the steps it may skip from each pixel (row 0: done).
    skip = np.zeros((4, n), dtype=np.int16)
    skip[FOREGROUND] = np.minimum(_step_table((label != FOREGROUND).reshape(h, w)), 32767)
    skip[BACKGROUND] = np.minimum(_step_table((label != BACKGROUND).reshape(h, w)), 32767)
    np.minimum(skip[FOREGROUND], skip[BACKGROUND], out=skip[FOREGROUND | BACKGROUND])
    skip = skip.ravel()
    cos_table, sin_table = _angle_table(rays)
    found_fg = np.full(m * rays, -1, dtype=np.int32)
    found_bg = np.full(m * rays, -1, dtype=np.int32)
    for start in range(0, m * rays, RAY_CHUNK):
        ray = np.arange(start, min(m * rays, start + RAY_CHUNK))
        y0, x0 = np.divmod(unknown[ray // rays], w)
        angle_id = ray_angles(x0, y0, rays)
        cos = cos_table[angle_id, ray % rays]
        sin = sin_table[angle_id, ray % rays]
        x0, y0 = x0.astype(np.float64), y0.astype(np.float64)
        step = np.zeros(ray.size)
        need = np.full(ray.size, FOREGROUND | BACKGROUND, dtype=np.uint8)
        while ray.size:
            x = (x0 + step * cos).astype(np.int64)
            y = (y0 + step * sin).astype(np.int64)
            # Negative coordinates wrap to huge unsigned ones: one comparison per axis.
            inside = (x.view(np.uint64) < w) & (y.view(np.uint64) < h)
            q = y * w
            q += x
            q *= inside
            need *= inside
            hit = label[q]
            hit &= need
            if hit.any():
                got = np.flatnonzero(hit & FOREGROUND)
                found_fg[ray[got]] = q[got]
                got = np.flatnonzero(hit & BACKGROUND)
                found_bg[ray[got]] = q[got]
                need ^= hit
            alive = need != 0
            count = np.count_nonzero(alive)
            if count < 0.8 * ray.size:
                ray, x0, y0, cos, sin = ray[alive], x0[alive], y0[alive], cos[alive], sin[alive]
                step, need, q = step[alive], need[alive], q[alive]
            step += skip[need.astype(np.int64) * n + q]
    return found_fg.reshape(m, rays), found_bg.reshape(m, rays)


def gradient_tensor(colors: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Per pixel ``(|I_x|^2, I_x . I_y, |I_y|^2)``: float32 ``(3, n)``.

    Central differences with the border pixel repeated; ``|v . grad I|^2`` for a step ``v``
    is then a quadratic form in ``v``, three numbers per pixel instead of six.
    """
    h, w = shape
    tensor = np.zeros((3, h, w), dtype=np.float32)
    ix = np.zeros((h, w), dtype=np.float32)
    iy = np.zeros((h, w), dtype=np.float32)
    product = np.empty((h, w), dtype=np.float32)
    for channel in colors.T:
        image = channel.reshape(h, w)
        if w > 1:
            np.subtract(image[:, 2:], image[:, :-2], out=ix[:, 1:-1])
            ix[:, 0] = image[:, 1] - image[:, 0]
            ix[:, -1] = image[:, -1] - image[:, -2]
        if h > 1:
            np.subtract(image[2:], image[:-2], out=iy[1:-1])
            iy[0] = image[1] - image[0]
            iy[-1] = image[-1] - image[-2]
        for out, a, b in ((tensor[0], ix, ix), (tensor[1], ix, iy), (tensor[2], iy, iy)):
            np.multiply(a, b, out=product)
            out += product
    tensor *= 0.25  # the differences are twice the central derivatives
    return tensor.reshape(3, h * w)


def path_energy(
    tensor: np.ndarray,
    shape: tuple[int, int],
    x0: np.ndarray,
    y0: np.ndarray,
    x1: np.ndarray,
    y1: np.ndarray,
    *,
    pymatting_path: bool = False,
) -> np.ndarray:
    """Energy of the straight path from ``(x0, y0)`` to ``(x1, y1)`` (eq. 5), float32.

    The path is cut into ``clip(ceil(length), 1, 10)`` equal steps ``v``; at each of the
    points ``trunc(p0 + i v)``, ``i = 0 ... steps``, ``|v . grad I|`` is summed (0 for a path
    of length 0). ``pymatting_path`` reproduces PyMatting's points, whose y coordinate
    advances by the x step (a typo there). The arguments broadcast together.
    """
    h, w = shape
    x0, y0, x1, y1 = np.broadcast_arrays(x0, y0, x1, y1)
    dx = (x1 - x0).astype(np.float64)
    dy = (y1 - y0).astype(np.float64)
    length = np.hypot(dx, dy)
    steps = np.clip(np.ceil(length), 1, 10)
    sx = dx / steps
    sy = dy / steps
    # |v . grad I|^2 = sx^2 |I_x|^2 + 2 sx sy I_x . I_y + sy^2 |I_y|^2
    txx = (sx * sx).astype(np.float32)
    txy = (2 * sx * sy).astype(np.float32)
    tyy = (sy * sy).astype(np.float32)
    last = np.where(length > 0, steps, -1)  # the last point of the path
    x0 = x0.astype(np.float64)
    y0 = y0.astype(np.float64)
    y_step = sx if pymatting_path else sy
    gxx, gxy, gyy = tensor
    energy = np.zeros(dx.shape, dtype=np.float32)
    for i in range(11):
        # Paths shorter than i steps stay at their end (inside the image), then masked.
        at = np.minimum(float(i), steps)
        qx = (x0 + at * sx).astype(np.int64)
        qy = (y0 + at * y_step).astype(np.int64)
        if pymatting_path:
            # Off the image the clamped y differences vanish; the point is clamped.
            y_in = (qy >= 0) & (qy < h)
            np.clip(qx, 0, w - 1, out=qx)
            np.clip(qy, 0, h - 1, out=qy)
        q = qy * w
        q += qx
        v2 = txx * gxx[q]
        if pymatting_path:
            v2 += (txy * gxy[q] + tyy * gyy[q]) * y_in
        else:
            v2 += txy * gxy[q]
            v2 += tyy * gyy[q]
        np.maximum(v2, 0, out=v2)
        np.sqrt(v2, out=v2)
        v2 *= i <= last
        energy += v2
    return energy


def least_path_energy(
    tensor: np.ndarray,
    shape: tuple[int, int],
    unknown: np.ndarray,
    index: np.ndarray,
    pymatting_path: bool = False,
) -> np.ndarray:
    """Least path energy from each unknown pixel to its samples ``index`` (m, rays).

    Missing samples (-1) are left out; a pixel without any gets 0, the energy of the path
    to itself (where its fallback sample, the mean colour, sits).
    """
    w = shape[1]
    rays = index.shape[1]
    least = np.zeros(unknown.size, dtype=np.float32)
    for part in _chunks(unknown.size, rays):
        found = index[part]
        pixel, slot = np.nonzero(found >= 0)  # by pixel, then ray
        if pixel.size == 0:
            continue
        y0, x0 = np.divmod(unknown[part][pixel], w)
        y1, x1 = np.divmod(found[pixel, slot], w)
        energy = path_energy(tensor, shape, x0, y0, x1, y1, pymatting_path=pymatting_path)
        starts = np.flatnonzero(np.diff(pixel, prepend=-1))
        least[part][pixel[starts]] = np.minimum.reduceat(energy, starts)
    return least


def _log(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(x)


def select_pairs(
    colors: np.ndarray,
    shape: tuple[int, int],
    unknown: np.ndarray,
    fg_index: np.ndarray,
    bg_index: np.ndarray,
    fg_energy: np.ndarray,
    bg_energy: np.ndarray,
    mean_fg: np.ndarray,
    mean_bg: np.ndarray,
    exponents: tuple[float, float, float, float],
    distortion_radius: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The best foreground/background pair of each unknown pixel (eq. 7 to 10).

    The cost of pair ``(F_i, B_j)`` at ``p`` is ``N_p^eN A_p^eA D_F^ef D_B^eb``: ``N_p`` the
    chromatic distortion summed over the window of radius ``distortion_radius`` (image border
    repeated), ``A_p = PF_p + (1 - 2 PF_p) alpha_p`` with the probability of foreground
    ``PF_p = E_B / (E_F + E_B)`` from the least path energies to the samples (``fg_energy``,
    ``bg_energy``: :func:`least_path_energy`), and ``D`` the distances to the samples.
    Missing samples are not paired; a pixel without foreground (background) samples gets the
    mean foreground (background) colour at its own position.
    The first pair of least cost wins, in (foreground ray, background ray) order.

    Returns
    -------
    fg, bg : ndarray, float32, shape (3, m)
        The chosen colours.
    alpha : ndarray, float32, shape (m,)
        Alpha of the pixel from the chosen pair.
    """
    m, rays = fg_index.shape
    fg_out = np.empty((3, m), dtype=np.float32)
    bg_out = np.empty((3, m), dtype=np.float32)
    alpha_out = np.empty(m, dtype=np.float32)
    prob_fg = (bg_energy / (fg_energy + bg_energy + 1e-5)).astype(np.float32)
    # Found samples first (in ray order), then pixels grouped by how many they have, so that
    # no pair with a missing sample is ever evaluated.
    fg_ok, bg_ok = fg_index >= 0, bg_index >= 0
    fg_index = np.take_along_axis(fg_index, np.argsort(~fg_ok, axis=1, kind="stable"), axis=1)
    bg_index = np.take_along_axis(bg_index, np.argsort(~bg_ok, axis=1, kind="stable"), axis=1)
    fg_count, bg_count = fg_ok.sum(axis=1), bg_ok.sum(axis=1)
    del fg_ok, bg_ok
    group = np.maximum(fg_count, 1) * (rays + 1) + np.maximum(bg_count, 1)
    order = np.argsort(group, kind="stable")
    bounds = np.flatnonzero(np.diff(group[order], prepend=-1, append=-1))
    for first, stop in itertools.pairwise(bounds):
        members = order[first:stop]
        n_f, n_b = divmod(int(group[members[0]]), rays + 1)
        for part in _chunks(members.size, 2 * n_f * n_b):
            chosen = members[part]
            fg, bg, alpha = _best_pairs(
                colors,
                shape,
                unknown[chosen],
                fg_index[chosen, :n_f],
                bg_index[chosen, :n_b],
                prob_fg[chosen],
                mean_fg,
                mean_bg,
                exponents,
                distortion_radius,
            )
            fg_out[:, chosen] = fg
            bg_out[:, chosen] = bg
            alpha_out[chosen] = alpha
    return fg_out, bg_out, alpha_out


def _best_pairs(
    colors, shape, p, f_i, b_j, prob_fg, mean_fg, mean_bg, exponents, distortion_radius
):
    """:func:`select_pairs` for pixels ``p`` with samples ``f_i`` (k, n_f), ``b_j`` (k, n_b):
    all found, or -1 in the only slot (the mean colour at the pixel then)."""
    h, w = shape
    k, n_f = f_i.shape
    n_b = b_j.shape[1]
    e_n, e_a, e_f, e_b = (np.float32(e) for e in exponents)
    py, px = np.divmod(p, w)
    f_none, b_none = f_i[:, 0] < 0, b_j[:, 0] < 0
    f_i = np.where(f_i >= 0, f_i, p[:, None])
    b_j = np.where(b_j >= 0, b_j, p[:, None])
    fc = [channel[f_i].astype(np.float32) for channel in colors.T]  # 3 x (k, n_f)
    bc = [channel[b_j].astype(np.float32) for channel in colors.T]
    for c in range(3):
        fc[c][f_none, 0] = mean_fg[c]
        bc[c][b_none, 0] = mean_bg[c]

    # Pair quantities, (k, n_f, n_b).
    d = [f[:, :, None] - b[:, None, :] for f, b in zip(fc, bc, strict=True)]
    dd = d[0] * d[0] + d[1] * d[1] + d[2] * d[2]
    inv = 1.0 / (dd + _SQRT_EPS)
    b_dot_d = bc[0][:, None, :] * d[0] + bc[1][:, None, :] * d[1] + bc[2][:, None, :] * d[2]
    b_sq = bc[0] * bc[0] + bc[1] * bc[1] + bc[2] * bc[2]
    del d
    # N_p: the chromatic distortion summed over the window, expanded in dot products so that
    # a neighbour costs a few operations per pair.
    wy, wx = square_offsets(distortion_radius)
    distortion = np.zeros((k, n_f, n_b), dtype=np.float32)
    center_alpha = None
    for oy, ox in zip(wy, wx, strict=True):
        q = np.clip(py + oy, 0, h - 1) * w + np.clip(px + ox, 0, w - 1)
        n0, n1, n2 = (channel[q].astype(np.float32)[:, None] for channel in colors.T)
        n_fg = n0 * fc[0] + n1 * fc[1] + n2 * fc[2]
        n_bg = n0 * bc[0] + n1 * bc[1] + n2 * bc[2]
        t = n_fg[:, :, None] - n_bg[:, None, :]
        t -= b_dot_d  # (I - B) . (F - B)
        a = t * inv
        np.clip(a, 0.0, 1.0, out=a)
        if oy == 0 and ox == 0:
            center_alpha = a.copy()
        # |a d - (I - B)|^2 = a (a |d|^2 - 2 t) + |I - B|^2
        r = a * dd
        t *= 2
        r -= t
        r *= a
        n_bg *= -2
        n_bg += b_sq
        n_bg += n0 * n0 + n1 * n1 + n2 * n2
        r += n_bg[:, None, :]
        distortion += r
    np.maximum(distortion, 0.0, out=distortion)

    a_term = prob_fg[:, None, None] + (1.0 - 2.0 * prob_fg)[:, None, None] * center_alpha
    np.maximum(a_term, 0.0, out=a_term)
    fy, fx = np.divmod(f_i, w)
    by, bx = np.divmod(b_j, w)
    dist_f = np.hypot(fx - px[:, None], fy - py[:, None]).astype(np.float32)
    dist_b = np.hypot(bx - px[:, None], by - py[:, None]).astype(np.float32)
    # Logarithms of the cost: no overflow or underflow of the powers, the same order.
    cost = np.zeros((k, n_f, n_b), dtype=np.float32)
    if e_n:
        cost += e_n * _log(distortion)
    if e_a:
        cost += e_a * _log(a_term)
    if e_f:
        cost += (e_f * _log(dist_f))[:, :, None]
    if e_b:
        cost += (e_b * _log(dist_b))[:, None, :]
    best = np.argmin(cost.reshape(k, n_f * n_b), axis=1)
    bi, bj = np.divmod(best, n_b)
    rows = np.arange(k)
    fg = np.array([f[rows, bi] for f in fc])
    bg = np.array([b[rows, bj] for b in bc])
    return fg, bg, center_alpha[rows, bi, bj]


def gather_samples(
    colors: np.ndarray,
    label: np.ndarray,
    shape: tuple[int, int],
    unknown: np.ndarray,
    *,
    rays: int,
    exponents: tuple[float, float, float, float],
    distortion_radius: int,
    pymatting_path: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sample gathering: rays, path energies and the best pair of each unknown pixel.

    Returns
    -------
    fg, bg : ndarray, float32, shape (3, m)
        The chosen pair of each pixel of ``unknown``.
    alpha : ndarray, float32, shape (m,)
        Alpha from that pair.
    mean_fg, mean_bg : ndarray, float32, shape (3,)
        Mean colour of the foreground and of the background.
    """
    mean_fg = np.array(
        [np.sum(c, where=label == FOREGROUND, dtype=np.float64) for c in colors.T]
    ) / np.count_nonzero(label == FOREGROUND)
    mean_bg = np.array(
        [np.sum(c, where=label == BACKGROUND, dtype=np.float64) for c in colors.T]
    ) / np.count_nonzero(label == BACKGROUND)
    mean_fg, mean_bg = mean_fg.astype(np.float32), mean_bg.astype(np.float32)
    fg_index, bg_index = march_rays(label, shape, unknown, rays)
    tensor = gradient_tensor(colors, shape)
    fg_energy = least_path_energy(tensor, shape, unknown, fg_index, pymatting_path)
    bg_energy = least_path_energy(tensor, shape, unknown, bg_index, pymatting_path)
    del tensor
    fg, bg, alpha = select_pairs(
        colors,
        shape,
        unknown,
        fg_index,
        bg_index,
        fg_energy,
        bg_energy,
        mean_fg,
        mean_bg,
        exponents,
        distortion_radius,
    )
    return fg, bg, alpha, mean_fg, mean_bg


# --- step 3: sample refinement -------------------------------------------------------------


def _in_box(targets, shape, top, bottom, left, right):
    """Positions (in ``targets``) and box-local flat indices of the targets in a box."""
    w = shape[1]
    i0, i1 = np.searchsorted(targets, (top * w, bottom * w))
    y, x = np.divmod(targets[i0:i1], w)
    inside = np.flatnonzero((x >= left) & (x < right))
    local = (y[inside] - top) * (right - left) + (x[inside] - left)
    return i0 + inside, local


class PairPlanes:
    """The colour pair (and alpha) of every pixel, made a box of pixels at a time.

    Pixels of ``unknown`` (sorted flat indices) have the pairs ``fg``, ``bg`` (float32
    ``(3, m)``) and alphas ``alpha`` (``(m,)``, optional); known pixels have their own colour
    and the mean colour of the other side, and alpha 1 or 0. Building these planes for the
    box around a band of pixels only, rather than for the whole image, keeps three float32
    images' worth of memory out of the peak and skips the pixels far from any unknown one.
    """

    def __init__(self, colors, label, shape, unknown, fg, bg, mean_fg, mean_bg, alpha=None):
        self.colors, self.label, self.shape, self.unknown = colors, label, shape, unknown
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
            fg[c] = self.colors[:, c].reshape(h, w)[top:bottom, left:right]
            bg[c] = fg[c]
            np.copyto(fg[c], self.mean_fg[c], where=is_bg)
            np.copyto(bg[c], self.mean_bg[c], where=is_fg)
        fg, bg = fg.reshape(3, -1), bg.reshape(3, -1)
        at, local = _in_box(self.unknown, self.shape, top, bottom, left, right)
        fg[:, local] = self.fg[:, at]
        bg[:, local] = self.bg[:, at]
        alpha = None
        if self.alpha is not None:
            alpha = is_fg.astype(np.float32).ravel()
            alpha[local] = self.alpha[at]
        return fg, bg, alpha


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


def _bands(targets: np.ndarray, shape: tuple[int, int], radius: int):
    """Bands of rows over ``targets``: ``(order, (top, bottom, left, right))``.

    ``order`` indexes the band's targets, those whose window lies inside the image first
    (they need no mask); the box holds every pixel within ``radius`` of them.
    """
    h, w = shape
    rows = max(1, CHUNK_ELEMENTS // w)
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


def refine_samples(
    colors_targets: np.ndarray,
    planes: PairPlanes,
    targets: np.ndarray,
    radius: int,
    samples: int = 3,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Average the ``samples`` pairs of the window that best explain each pixel (sec. 4.3).

    Every pixel ``q`` of the window of radius ``radius`` around ``p`` (each of ``targets``,
    sorted flat indices, with colours ``colors_targets``, float32 ``(3, k)``) inside the image
    offers its pair ``(F_q, B_q)`` of ``planes``; the ``samples`` pairs of least chromatic
    distortion of ``I_p`` win, ties going to the first in scan order, and their mean is the
    refined pair. With fewer pairs in the window than ``samples``, the missing ones count as
    black (as in PyMatting).

    Returns
    -------
    fg, bg : ndarray, float32, shape (3, k)
    alpha : ndarray, float32, shape (k,)
    """
    shape = planes.shape
    dy, dx = square_offsets(radius)
    fg_out = np.empty((3, targets.size), dtype=np.float32)
    bg_out = np.empty((3, targets.size), dtype=np.float32)
    for order, (top, bottom, left, right) in _bands(targets, shape, radius):
        fg_plane, bg_plane, _ = planes.box(top, bottom, left, right)
        for part in _chunks(order.size, dy.size):
            chosen = order[part]
            index, inside = _window_index(targets[chosen], shape, dy, dx, top, left, right - left)
            # v = I_p - B_q and d = F_q - B_q, channel by channel, (k, window) each.
            for c in range(3):
                b = bg_plane[c][index]
                d = fg_plane[c][index]
                d -= b
                np.subtract(colors_targets[c, chosen][:, None], b, out=b)
                if c == 0:
                    dd, t, vv = d * d, b * d, b * b
                else:
                    dd += d * d
                    t += b * d
                    vv += b * b
            del b, d
            # |a d - v|^2 = a (a |d|^2 - 2 t) + |v|^2 with a = clip(t / |d|^2)
            cost = dd + _SQRT_EPS
            np.divide(t, cost, out=cost)
            np.clip(cost, 0.0, 1.0, out=cost)
            dd *= cost
            t *= 2
            dd -= t
            cost *= dd
            cost += vv
            del dd, t, vv
            if inside is not None:
                cost[~inside] = np.inf
            rows = np.arange(chosen.size)
            pick = np.empty((samples, chosen.size), dtype=np.int64)
            found = np.empty((samples, chosen.size), dtype=np.float32)
            for i in range(samples):
                best = np.argmin(cost, axis=1)
                found[i] = cost[rows, best] < np.inf
                pick[i] = index[rows, best]
                cost[rows, best] = np.inf
            for c in range(3):
                fg_out[c, chosen] = np.einsum("sk,sk->k", fg_plane[c][pick], found) / samples
                bg_out[c, chosen] = np.einsum("sk,sk->k", bg_plane[c][pick], found) / samples
    alpha = estimate_alpha_from_pair(colors_targets, fg_out, bg_out)
    return fg_out, bg_out, alpha


# --- step 4: local smoothing ---------------------------------------------------------------


def _gaussian_weights(dy: np.ndarray, dx: np.ndarray, sigma_sq: float) -> np.ndarray:
    """``exp(-(dy^2 + dx^2) / sigma_sq)``, not normalised (as in PyMatting)."""
    return np.exp(-(dy * dy + dx * dx) / sigma_sq).astype(np.float32)


def smooth_pairs(
    planes: PairPlanes, targets: np.ndarray, radius: int, sigma_sq: float
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted means of the neighbours' pairs (sec. 4.4, eq. 13 and 14).

    The weight of ``q`` in the window of ``p`` (each of ``targets``) is
    ``G(q - p) |alpha_p - alpha_q|`` (``G`` the unnormalised Gaussian of variance
    ``sigma_sq``; 1 for ``q = p``), times ``alpha_q`` for the foreground and ``1 - alpha_q``
    for the background, at least 1e-5 (PyMatting leaves out the paper's confidence factor;
    so does this). Pairs and alphas come from ``planes``.

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
    for order, (top, bottom, left, right) in _bands(targets, shape, radius):
        fg_plane, bg_plane, alpha_plane = planes.box(top, bottom, left, right)
        for part in _chunks(order.size, dy.size):
            chosen = order[part]
            index, inside = _window_index(targets[chosen], shape, dy, dx, top, left, right - left)
            a_q = alpha_plane[index]
            w_bg = a_q[:, center][:, None] - a_q
            np.abs(w_bg, out=w_bg)
            w_bg *= gauss
            w_bg[:, center] = 1.0
            w_fg = w_bg * a_q
            w_bg -= w_fg
            np.maximum(w_fg, floor, out=w_fg)
            np.maximum(w_bg, floor, out=w_bg)
            if inside is not None:
                w_fg[~inside] = 0.0
                w_bg[~inside] = 0.0
            sum_fg = w_fg.sum(axis=1)
            sum_bg = w_bg.sum(axis=1)
            for c in range(3):
                fg_out[c, chosen] = np.einsum("kn,kn->k", fg_plane[c][index], w_fg) / sum_fg
                bg_out[c, chosen] = np.einsum("kn,kn->k", bg_plane[c][index], w_bg) / sum_bg
    return fg_out, bg_out


def _window_sum(plane: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Separable windowed sum of the 2-D ``plane`` with 1-D ``weights``, zero outside."""
    from scipy import ndimage

    out = ndimage.correlate1d(plane, weights, axis=0, mode="constant", cval=0.0)
    ndimage.correlate1d(out, weights, axis=1, output=out, mode="constant", cval=0.0)
    return out.ravel()


def _box_sums(targets, shape, radius, weights, planes_of_box):
    """Windowed sums (separable ``weights``) of planes made box by box, at ``targets``.

    ``planes_of_box(top, bottom, left, right)`` returns the 2-D float32 planes of a box; a
    box holds every pixel within ``radius`` of its targets, so zero beyond it is exact.
    """
    w = shape[1]
    sums = None
    for order, (top, bottom, left, right) in _bands(targets, shape, radius):
        y, x = np.divmod(targets[order], w)
        local = (y - top) * (right - left) + (x - left)
        planes = planes_of_box(top, bottom, left, right)
        if sums is None:
            sums = [np.empty(targets.size, dtype=np.float32) for _ in planes]
        for total, plane in zip(sums, planes, strict=True):
            total[order] = _window_sum(plane, weights)[local]
    return sums


def _inside_weight_sum(p, shape, radius, weights_1d) -> np.ndarray:
    """``sum`` of ``weights_1d[dy] * weights_1d[dx]`` over the window offsets inside the image."""
    h, w = shape
    y, x = np.divmod(p, w)
    offsets = np.arange(-radius, radius + 1)
    cum = np.concatenate([[0.0], np.cumsum(weights_1d, dtype=np.float64)])

    def along(coord, size):
        lo = np.maximum(0, radius - coord)  # first offset index inside
        hi = np.minimum(offsets.size, radius + size - coord)  # one past the last
        return cum[hi] - cum[lo]

    return (along(y, h) * along(x, w)).astype(np.float32)


def confidence(
    colors_unknown: np.ndarray,
    fg: np.ndarray,
    bg: np.ndarray,
    refined_alpha: np.ndarray,
    shape: tuple[int, int],
    unknown: np.ndarray,
    radius: int,
    sigma_sq: float,
) -> np.ndarray:
    """Confidence of the smoothed pairs (eq. 15 and 16): float32 ``(m,)``.

    ``min(1, |F_p - B_p| / D_FB) exp(-sqrt(M_p) / sigma_sq)``, where ``D_FB`` is the mean of
    ``|F_q - B_q|`` over the window weighted by ``alpha_q (1 - alpha_q)`` (refined alphas;
    known pixels weigh nothing).
    """
    w_fb = refined_alpha * (1.0 - refined_alpha)
    spread = np.sqrt(((fg - bg) ** 2).sum(axis=0))
    weighted_spread = w_fb * spread
    ones = np.ones(2 * radius + 1, dtype=np.float32)

    def planes(top, bottom, left, right):
        at, local = _in_box(unknown, shape, top, bottom, left, right)
        weight = np.zeros((bottom - top, right - left), dtype=np.float32)
        weighted = np.zeros((bottom - top, right - left), dtype=np.float32)
        weight.ravel()[local] = w_fb[at]
        weighted.ravel()[local] = weighted_spread[at]
        return weighted, weight

    weighted, total = _box_sums(unknown, shape, radius, ones, planes)
    mean_spread = weighted / (total + _SQRT_EPS) + _SQRT_EPS
    distortion = chromatic_distortion(colors_unknown, fg, bg)
    return np.minimum(1.0, spread / mean_spread) * np.exp(-np.sqrt(distortion) / sigma_sq)


def low_frequency_alpha(
    refined_alpha: np.ndarray,
    label: np.ndarray,
    shape: tuple[int, int],
    unknown: np.ndarray,
    radius: int,
    sigma_sq: float,
) -> np.ndarray:
    """Mean of the refined alphas over the window (eq. 17): float32 ``(m,)``.

    Weights ``G(q - p) + [q known]`` (``G`` unnormalised, variance ``sigma_sq``), over the
    window pixels inside the image; the Gaussian part is separable, the known part a box.
    Known pixels have alpha 1 (foreground) or 0.
    """
    h, w = shape
    offsets = np.arange(-radius, radius + 1)
    gauss = np.exp(-(offsets * offsets) / sigma_sq).astype(np.float32)
    ones = np.ones(offsets.size, dtype=np.float32)
    label = label.reshape(h, w)

    def alpha_planes(top, bottom, left, right):
        at, local = _in_box(unknown, shape, top, bottom, left, right)
        alpha = (label[top:bottom, left:right] == FOREGROUND).astype(np.float32)
        alpha.ravel()[local] = refined_alpha[at]
        return (alpha,)

    def known_planes(top, bottom, left, right):
        box = label[top:bottom, left:right]
        return (box == FOREGROUND).astype(np.float32), (box != UNKNOWN).astype(np.float32)

    (numerator,) = _box_sums(unknown, shape, radius, gauss, alpha_planes)
    known_fg, known = _box_sums(unknown, shape, radius, ones, known_planes)
    numerator += known_fg
    denominator = _inside_weight_sum(unknown, shape, radius, gauss)
    denominator += known
    return numerator / denominator
