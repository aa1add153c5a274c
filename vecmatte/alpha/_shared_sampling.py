"""The four steps of shared matting, each as array operations over all unknown pixels.

Gastal and Oliveira, "Shared Sampling for Real-Time Alpha Matting", Eurographics 2010. The
steps follow the paper as PyMatting implements it (its constants, defaults and tie-breaking),
so that the two can be compared; :mod:`vecmatte.alpha.sm` strings them together.

Every function takes the image as ``colors``: float32 ``(3, n)``, one row per channel, pixels
in row-major order, and the trimap as ``label``: uint8 ``(n,)`` with :data:`UNKNOWN`,
:data:`FOREGROUND` or :data:`BACKGROUND`. Loops run over window offsets, march steps and
chunks of pixels, never over pixels. Chunks bound the temporary arrays to about
:data:`CHUNK_ELEMENTS` entries each, so that the peak memory does not grow with the number of
unknown pixels times the window size.
"""

from __future__ import annotations

import numpy as np

UNKNOWN, FOREGROUND, BACKGROUND = 0, 1, 2

# Entries per temporary array in the chunked loops (256 KB in float32: they stay in cache).
CHUNK_ELEMENTS = 1 << 16
# Rays marched together (each carries a few 8-byte numbers of state).
RAY_CHUNK = 1 << 15

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


def expand_trimap(
    colors: np.ndarray, label: np.ndarray, shape: tuple[int, int], radius: int, threshold: float
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
    from scipy import ndimage

    h, w = shape
    expanded = label.copy()
    if radius <= 0 or threshold <= 0:
        return expanded
    known = (label != UNKNOWN).reshape(h, w)
    # Unknown pixels without a known pixel in their window keep their label: skip them.
    near = ndimage.maximum_filter(known, size=2 * radius + 1, mode="constant", cval=False)
    active = np.flatnonzero(near.ravel() & ~known.ravel())
    del near, known
    if active.size == 0:
        return expanded
    padded_width = w + 2 * radius
    padded = np.zeros((h + 2 * radius, padded_width), dtype=np.uint8)
    padded[radius : radius + h, radius : radius + w] = label.reshape(h, w)
    padded = padded.ravel()
    ys, xs = np.divmod(active, w)
    position = (ys + radius) * padded_width + (xs + radius)
    del ys, xs
    threshold_sq = np.float32(threshold) ** 2
    for dy, dx in zip(*disk_offsets(radius), strict=True):
        donor = padded[position + (dy * padded_width + dx)]
        hit = np.flatnonzero(donor)
        if hit.size == 0:
            continue
        p = active[hit]
        q = p + (dy * w + dx)
        distance_sq = np.zeros(hit.size, dtype=np.float32)
        for channel in colors:
            diff = channel[p] - channel[q]
            distance_sq += diff * diff
        close = distance_sq <= threshold_sq
        if not close.any():
            continue
        expanded[p[close]] = donor[hit[close]]
        keep = np.ones(active.size, dtype=bool)
        keep[hit[close]] = False
        active, position = active[keep], position[keep]
        if active.size == 0:
            break
    return expanded


# --- step 2: sample gathering --------------------------------------------------------------


def _step_table(is_not_target: np.ndarray) -> np.ndarray:
    """March steps that cannot skip a target pixel, per pixel (int32, flat).

    A ray sample ``q_s = trunc(p + s u)`` moves at most ``k + 1`` pixels in x and in y over
    ``k`` steps (truncation errors lie in (-1, 1)), so with ``D`` the chessboard distance from
    ``q_s`` to the nearest target pixel, the samples ``s + 1 ... s + D - 2`` cannot be targets
    and the next one worth looking at is ``s + max(1, D - 1)``.
    """
    from scipy import ndimage

    distance = ndimage.distance_transform_cdt(is_not_target, metric="chessboard")
    np.subtract(distance, 1, out=distance)
    np.maximum(distance, 1, out=distance)
    return distance.ravel()


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
    foreground and a background pixel, leaves the image, or has made ``2 max(h, w)`` steps.
    All rays march together; each skips the steps that provably cannot meet what it still
    looks for (:func:`_step_table`), which is exact and much faster across large regions.

    Returns
    -------
    foreground, background : ndarray, int64, shape (m, rays)
        Flat index of the sample each ray found, -1 where it found none.
    """
    h, w = shape
    m = unknown.size
    max_steps = 2 * max(h, w)
    skip_fg = _step_table((label != FOREGROUND).reshape(h, w))
    skip_bg = _step_table((label != BACKGROUND).reshape(h, w))
    cos_table, sin_table = _angle_table(rays)
    found_fg = np.full(m * rays, -1, dtype=np.int64)
    found_bg = np.full(m * rays, -1, dtype=np.int64)
    for start in range(0, m * rays, RAY_CHUNK):
        ray = np.arange(start, min(m * rays, start + RAY_CHUNK))
        pixel = unknown[ray // rays]
        y0, x0 = np.divmod(pixel, w)
        angle_id = ray_angles(x0, y0, rays)
        cos = cos_table[angle_id, ray % rays]
        sin = sin_table[angle_id, ray % rays]
        step = np.zeros(ray.size, dtype=np.int64)
        need_fg = np.ones(ray.size, dtype=bool)
        need_bg = np.ones(ray.size, dtype=bool)
        while ray.size:
            x = (x0 + step * cos).astype(np.int64)
            y = (y0 + step * sin).astype(np.int64)
            inside = (x >= 0) & (y >= 0) & (x < w) & (y < h) & (step < max_steps)
            q = np.where(inside, y * w + x, 0)
            kind = label[q]
            hit_fg = inside & need_fg & (kind == FOREGROUND)
            hit_bg = inside & need_bg & (kind == BACKGROUND)
            found_fg[ray[hit_fg]] = q[hit_fg]
            found_bg[ray[hit_bg]] = q[hit_bg]
            need_fg &= ~hit_fg
            need_bg &= ~hit_bg
            go_on = inside & (need_fg | need_bg)
            if not go_on.all():
                ray, x0, y0, cos, sin = ray[go_on], x0[go_on], y0[go_on], cos[go_on], sin[go_on]
                step, need_fg, need_bg, q = step[go_on], need_fg[go_on], need_bg[go_on], q[go_on]
            step += np.where(
                need_fg,
                np.where(need_bg, np.minimum(skip_fg[q], skip_bg[q]), skip_fg[q]),
                skip_bg[q],
            )
    return found_fg.reshape(m, rays), found_bg.reshape(m, rays)


def gradient_tensor(colors: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Per pixel ``(|I_x|^2, I_x . I_y, |I_y|^2)``: float32 ``(3, n)``.

    Central differences with the border pixel repeated; ``|v . grad I|^2`` for a step ``v``
    is then a quadratic form in ``v``, three numbers per pixel instead of six.
    """
    h, w = shape
    tensor = np.zeros((3, h, w), dtype=np.float32)
    for channel in colors:
        image = channel.reshape(h, w)
        ix = np.empty_like(image)
        iy = np.empty_like(image)
        ix[:, 1:-1] = image[:, 2:] - image[:, :-2]
        ix[:, 0] = image[:, min(1, w - 1)] - image[:, 0]
        ix[:, -1] = image[:, -1] - image[:, max(w - 2, 0)]
        iy[1:-1] = image[2:] - image[:-2]
        iy[0] = image[min(1, h - 1)] - image[0]
        iy[-1] = image[-1] - image[max(h - 2, 0)]
        if w == 1:
            ix[:] = 0
        if h == 1:
            iy[:] = 0
        ix *= 0.5
        iy *= 0.5
        tensor[0] += ix * ix
        tensor[1] += ix * iy
        tensor[2] += iy * iy
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
    """Energy of the straight path from ``(x0, y0)`` to ``(x1, y1)`` (eq. 5), any shape.

    The path is cut into ``clip(ceil(length), 1, 10)`` equal steps ``v``; at each of the
    points ``trunc(p0 + i v)``, ``i = 0 ... steps``, ``|v . grad I|`` is summed. ``pymatting_path``
    reproduces PyMatting's points, whose y coordinate advances by the x step (a typo there).
    """
    h, w = shape
    dx = (x1 - x0).astype(np.float64)
    dy = (y1 - y0).astype(np.float64)
    length = np.hypot(dx, dy)
    steps = np.clip(np.ceil(length), 1, 10)
    sx, sy = dx / steps, dy / steps
    txx, txy, tyy = (sx * sx).astype(np.float32), (sx * sy).astype(np.float32), None
    tyy = (sy * sy).astype(np.float32)
    txy *= 2
    energy = np.zeros(dx.shape, dtype=np.float32)
    moving = length > 0
    y_step = sx if pymatting_path else sy
    for i in range(11):
        on = moving & (i <= steps)
        if not on.any():
            break
        qx = (x0 + float(i) * sx).astype(np.int64)
        qy = (y0 + float(i) * y_step).astype(np.int64)
        # Off the image (PyMatting's path only), the clamped y differences vanish.
        y_inside = (qy >= 0) & (qy < h)
        q = np.clip(qy, 0, h - 1) * w + np.clip(qx, 0, w - 1)
        gxx, gxy, gyy = tensor[0][q], tensor[1][q], tensor[2][q]
        v2 = txx * gxx + np.where(y_inside, txy * gxy + tyy * gyy, 0)
        np.maximum(v2, 0, out=v2)
        energy += np.where(on, np.sqrt(v2), 0)
    return energy


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
    ``PF_p = E_B / (E_F + E_B)`` from the least path energies to the samples, and ``D`` the
    distances to the samples. Missing samples are not paired; a pixel without foreground
    (background) samples gets the mean foreground (background) colour at its own position.
    The first pair of least cost wins, in (foreground ray, background ray) order.

    Returns
    -------
    fg, bg : ndarray, float32, shape (3, m)
        The chosen colours.
    alpha : ndarray, float32, shape (m,)
        Alpha of the pixel from the chosen pair.
    """
    h, w = shape
    m, rays = fg_index.shape
    e_n, e_a, e_f, e_b = (float(e) for e in exponents)
    wy, wx = square_offsets(distortion_radius)
    fg_out = np.empty((3, m), dtype=np.float32)
    bg_out = np.empty((3, m), dtype=np.float32)
    alpha_out = np.empty(m, dtype=np.float32)
    pairs = rays * rays
    for part in _chunks(m, pairs * (wy.size + 8)):
        p = unknown[part]
        k = p.size
        py, px = np.divmod(p, w)
        f_i, b_j = fg_index[part], bg_index[part]
        f_ok, b_ok = f_i >= 0, b_j >= 0
        # Missing samples: the mean colour at the pixel itself, in the first slot.
        f_none, b_none = ~f_ok.any(axis=1), ~b_ok.any(axis=1)
        f_i = np.where(f_ok, f_i, p[:, None])
        b_j = np.where(b_ok, b_j, p[:, None])
        f_ok[f_none, 0] = True
        b_ok[b_none, 0] = True
        fc = colors[:, f_i]  # (3, k, rays)
        bc = colors[:, b_j]
        fc[:, f_none, 0] = mean_fg[:, None]
        bc[:, b_none, 0] = mean_bg[:, None]
        ef = np.where(f_ok, fg_energy[part], np.inf)
        eb = np.where(b_ok, bg_energy[part], np.inf)
        ef[f_none, 0] = 0.0
        eb[b_none, 0] = 0.0
        min_ef = ef.min(axis=1)
        min_eb = eb.min(axis=1)
        prob_fg = (min_eb / (min_ef + min_eb + 1e-5)).astype(np.float32)

        # Pair quantities (3, k, rays_f, rays_b) and (k, rays_f, rays_b).
        d = fc[:, :, :, None] - bc[:, :, None, :]
        dd = np.einsum("ckij,ckij->kij", d, d)
        inv = 1.0 / (dd + _SQRT_EPS)
        b_dot_d = np.einsum("ckj,ckij->kij", bc, d)
        b_sq = np.einsum("ckj,ckj->kj", bc, bc)
        # N_p: sum of the chromatic distortion over the window, expanded in dot products
        # so that each neighbour costs O(pairs) and no (3, pairs) temporaries.
        distortion = np.zeros((k, rays, rays), dtype=np.float32)
        for oy, ox in zip(wy, wx, strict=True):
            q = np.clip(py + oy, 0, h - 1) * w + np.clip(px + ox, 0, w - 1)
            nc = colors[:, q]  # (3, k)
            n_f = np.einsum("ck,cki->ki", nc, fc)
            n_b = np.einsum("ck,ckj->kj", nc, bc)
            n_sq = np.einsum("ck,ck->k", nc, nc)
            t = n_f[:, :, None] - n_b[:, None, :] - b_dot_d  # (I - B) . (F - B)
            a = t * inv
            np.clip(a, 0.0, 1.0, out=a)
            # |a d - (I - B)|^2 = a (a |d|^2 - 2 t) + |I - B|^2
            r = a * dd
            r -= 2 * t
            r *= a
            r += (n_sq[:, None] - 2 * n_b + b_sq)[:, None, :]
            distortion += r
        np.maximum(distortion, 0.0, out=distortion)

        c = colors[:, p]
        alpha = estimate_alpha_from_pair(c[:, :, None, None], fc[:, :, :, None], bc[:, :, None, :])
        a_term = prob_fg[:, None, None] + (1.0 - 2.0 * prob_fg)[:, None, None] * alpha
        fy, fx = np.divmod(f_i, w)
        by, bx = np.divmod(b_j, w)
        dist_f = np.hypot(fx - px[:, None], fy - py[:, None])
        dist_b = np.hypot(bx - px[:, None], by - py[:, None])
        # Logarithms of the cost: no overflow or underflow of the powers, the same order.
        cost = np.zeros((k, rays, rays))
        if e_n:
            cost += e_n * _log(distortion)
        if e_a:
            cost += e_a * _log(a_term)
        if e_f:
            cost += (e_f * _log(dist_f))[:, :, None]
        if e_b:
            cost += (e_b * _log(dist_b))[:, None, :]
        cost[~(f_ok[:, :, None] & b_ok[:, None, :])] = np.inf
        cost[np.isnan(cost)] = np.inf
        best = np.argmin(cost.reshape(k, pairs), axis=1)
        bi, bj = np.divmod(best, rays)
        rows = np.arange(k)
        fg_out[:, part] = fc[:, rows, bi]
        bg_out[:, part] = bc[:, rows, bj]
        alpha_out[part] = alpha[rows, bi, bj]
    return fg_out, bg_out, alpha_out


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
    w = shape[1]
    mean_fg = np.array(
        [np.sum(c, where=label == FOREGROUND, dtype=np.float64) for c in colors]
    ) / np.count_nonzero(label == FOREGROUND)
    mean_bg = np.array(
        [np.sum(c, where=label == BACKGROUND, dtype=np.float64) for c in colors]
    ) / np.count_nonzero(label == BACKGROUND)
    mean_fg, mean_bg = mean_fg.astype(np.float32), mean_bg.astype(np.float32)
    fg_index, bg_index = march_rays(label, shape, unknown, rays)
    tensor = gradient_tensor(colors, shape)
    y0, x0 = np.divmod(unknown, w)
    fg_energy = np.empty(fg_index.shape, dtype=np.float32)
    bg_energy = np.empty(bg_index.shape, dtype=np.float32)
    for part in _chunks(unknown.size, 2 * rays * 16):
        for index, energy in ((fg_index, fg_energy), (bg_index, bg_energy)):
            target = index[part]
            ty, tx = np.divmod(np.where(target >= 0, target, unknown[part, None]), w)
            energy[part] = path_energy(
                tensor,
                shape,
                x0[part, None],
                y0[part, None],
                tx,
                ty,
                pymatting_path=pymatting_path,
            )
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


def _window_index(p: np.ndarray, shape: tuple[int, int], dy: np.ndarray, dx: np.ndarray):
    """Flat indices ``(k, window)`` of the window of each pixel, and which are in the image.

    Outside pixels get index ``p`` (any valid index) and ``False``; ``inside`` is ``None``
    when every window lies inside the image.
    """
    h, w = shape
    y, x = np.divmod(p, w)
    radius_y, radius_x = int(np.abs(dy).max()), int(np.abs(dx).max())
    index = p[:, None] + (dy * w + dx)[None, :]
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
    index[~inside] = np.broadcast_to(p[:, None], index.shape)[~inside]
    return index, inside


def _interior_first(p: np.ndarray, shape: tuple[int, int], radius: int) -> np.ndarray:
    """Order of ``p`` that puts pixels whose window is inside the image first."""
    h, w = shape
    y, x = np.divmod(p, w)
    border = (y < radius) | (y >= h - radius) | (x < radius) | (x >= w - radius)
    return np.argsort(border, kind="stable")


def refine_samples(
    colors_unknown: np.ndarray,
    fg_plane: np.ndarray,
    bg_plane: np.ndarray,
    shape: tuple[int, int],
    unknown: np.ndarray,
    radius: int,
    samples: int = 3,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Average the ``samples`` pairs of the window that best explain each pixel (sec. 4.3).

    Every pixel ``q`` of the window of radius ``radius`` around ``p`` inside the image offers
    its pair ``(F_q, B_q)`` of ``fg_plane``, ``bg_plane`` (for known pixels: their own colour
    and the mean colour of the other side); the ``samples`` pairs of least chromatic
    distortion of ``I_p`` win, ties going to the first in scan order, and their mean is the
    refined pair. With fewer pairs in the window than ``samples``, the missing ones count as
    black (as in PyMatting).

    Returns
    -------
    fg, bg : ndarray, float32, shape (3, m)
    alpha : ndarray, float32, shape (m,)
    """
    dy, dx = square_offsets(radius)
    window = dy.size
    m = unknown.size
    fg_out = np.empty((3, m), dtype=np.float32)
    bg_out = np.empty((3, m), dtype=np.float32)
    order = _interior_first(unknown, shape, radius)
    for part in _chunks(m, window * 4):
        chosen = order[part]
        p = unknown[chosen]
        index, inside = _window_index(p, shape, dy, dx)
        c = colors_unknown[:, chosen, None]
        b = bg_plane[:, index]  # (3, k, window)
        d = fg_plane[:, index]
        d -= b
        v = c - b
        del b
        dd = np.einsum("ckn,ckn->kn", d, d)
        t = np.einsum("ckn,ckn->kn", v, d)
        a = t / (dd + _SQRT_EPS)
        np.clip(a, 0.0, 1.0, out=a)
        cost = a * dd
        cost -= 2 * t
        cost *= a
        cost += np.einsum("ckn,ckn->kn", v, v)
        del v, d
        if inside is not None:
            cost[~inside] = np.inf
        rows = np.arange(p.size)
        f_sum = np.zeros((3, p.size), dtype=np.float32)
        b_sum = np.zeros((3, p.size), dtype=np.float32)
        for _ in range(samples):
            best = np.argmin(cost, axis=1)
            found = np.isfinite(cost[rows, best])
            q = index[rows, best]
            f_sum += np.where(found, fg_plane[:, q], 0)
            b_sum += np.where(found, bg_plane[:, q], 0)
            cost[rows, best] = np.inf
        fg_out[:, chosen] = f_sum / samples
        bg_out[:, chosen] = b_sum / samples
    alpha = estimate_alpha_from_pair(colors_unknown, fg_out, bg_out)
    return fg_out, bg_out, alpha


# --- step 4: local smoothing ---------------------------------------------------------------


def _gaussian_weights(dy: np.ndarray, dx: np.ndarray, sigma_sq: float) -> np.ndarray:
    """``exp(-(dy^2 + dx^2) / sigma_sq)``, not normalised (as in PyMatting)."""
    return np.exp(-(dy * dy + dx * dx) / sigma_sq).astype(np.float32)


def smooth_pairs(
    fg_plane: np.ndarray,
    bg_plane: np.ndarray,
    alpha_plane: np.ndarray,
    shape: tuple[int, int],
    unknown: np.ndarray,
    radius: int,
    sigma_sq: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted means of the neighbours' pairs (sec. 4.4, eq. 13 and 14).

    The weight of ``q`` in the window of ``p`` is ``G(q - p) |alpha_p - alpha_q|`` (``G``
    the unnormalised Gaussian of variance ``sigma_sq``; 1 for ``q = p``), times ``alpha_q``
    for the foreground and ``1 - alpha_q`` for the background, at least 1e-5 (PyMatting
    leaves out the paper's confidence factor; so does this).

    Returns
    -------
    fg, bg : ndarray, float32, shape (3, m)
    """
    dy, dx = square_offsets(radius)
    gauss = _gaussian_weights(dy, dx, sigma_sq)
    center = dy.size // 2
    m = unknown.size
    fg_out = np.empty((3, m), dtype=np.float32)
    bg_out = np.empty((3, m), dtype=np.float32)
    order = _interior_first(unknown, shape, radius)
    floor = np.float32(1e-5)
    for part in _chunks(m, dy.size * 4):
        chosen = order[part]
        p = unknown[chosen]
        index, inside = _window_index(p, shape, dy, dx)
        a_q = alpha_plane[index]
        weight = np.abs(alpha_plane[p][:, None] - a_q)
        weight *= gauss
        weight[:, center] = 1.0
        w_fg = weight * a_q
        w_bg = weight
        w_bg -= w_fg
        np.maximum(w_fg, floor, out=w_fg)
        np.maximum(w_bg, floor, out=w_bg)
        if inside is not None:
            w_fg[~inside] = 0.0
            w_bg[~inside] = 0.0
        fg_out[:, chosen] = np.einsum("ckn,kn->ck", fg_plane[:, index], w_fg) / w_fg.sum(axis=1)
        bg_out[:, chosen] = np.einsum("ckn,kn->ck", bg_plane[:, index], w_bg) / w_bg.sum(axis=1)
    return fg_out, bg_out


def _window_sum(plane: np.ndarray, shape: tuple[int, int], weights: np.ndarray) -> np.ndarray:
    """Separable windowed sum of ``plane`` with 1-D ``weights``, zero outside the image."""
    from scipy import ndimage

    image = plane.reshape(shape)
    out = ndimage.correlate1d(image, weights, axis=0, mode="constant", cval=0.0)
    ndimage.correlate1d(out, weights, axis=1, output=out, mode="constant", cval=0.0)
    return out.ravel()


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
    n = shape[0] * shape[1]
    w_fb = refined_alpha * (1.0 - refined_alpha)
    spread = np.sqrt(((fg - bg) ** 2).sum(axis=0))
    ones = np.ones(2 * radius + 1, dtype=np.float32)
    plane = np.zeros(n, dtype=np.float32)
    plane[unknown] = w_fb * spread
    weighted = _window_sum(plane, shape, ones)[unknown]
    plane[unknown] = w_fb
    total = _window_sum(plane, shape, ones)[unknown]
    del plane
    mean_spread = weighted / (total + _SQRT_EPS) + _SQRT_EPS
    distortion = chromatic_distortion(colors_unknown, fg, bg)
    return np.minimum(1.0, spread / mean_spread) * np.exp(-np.sqrt(distortion) / sigma_sq)


def low_frequency_alpha(
    alpha_plane: np.ndarray,
    label: np.ndarray,
    shape: tuple[int, int],
    unknown: np.ndarray,
    radius: int,
    sigma_sq: float,
) -> np.ndarray:
    """Mean of the refined alphas over the window (eq. 17): float32 ``(m,)``.

    Weights ``G(q - p) + [q known]`` (``G`` unnormalised, variance ``sigma_sq``), over the
    window pixels inside the image; the Gaussian part is separable, the known part a box.
    """
    offsets = np.arange(-radius, radius + 1)
    gauss = np.exp(-(offsets * offsets) / sigma_sq).astype(np.float32)
    ones = np.ones(offsets.size, dtype=np.float32)
    numerator = _window_sum(alpha_plane, shape, gauss)[unknown]
    numerator += _window_sum((label == FOREGROUND).astype(np.float32), shape, ones)[unknown]
    denominator = _inside_weight_sum(unknown, shape, radius, gauss)
    denominator += _window_sum((label != UNKNOWN).astype(np.float32), shape, ones)[unknown]
    return numerator / denominator
