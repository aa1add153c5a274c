"""Step 2 of shared matting: sample gathering (Gastal and Oliveira 2010, sec. 4.2).

Rays from every unknown pixel find foreground and background samples, path energies give
each pixel's probability of foreground, and the pair of samples of least cost wins.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np

from vecmatte.alpha._path_energy import gradient_tensor, least_path_energy, path_energy
from vecmatte.alpha._shared_sampling import (
    BACKGROUND,
    CHUNK_ELEMENTS,
    FOREGROUND,
    PAIR_EPS,
    RAY_CHUNK,
    channel_sum,
    chunks,
    clamp_below,
    clip01,
    distance32,
    square_offsets,
    take,
)

__all__ = [
    "gather_samples",
    "gradient_tensor",
    "image_planes",
    "least_path_energy",
    "march_rays",
    "path_energy",
    "ray_angles",
    "select_pairs",
]


def _step_table(is_not_target: np.ndarray) -> np.ndarray:
    """Steps a ray may take from each pixel without skipping a target pixel (flat).

    Between ray samples ``k`` steps apart, ``trunc(p + s u)`` moves by at most ``k`` pixels
    in x and in y (``|u| = 1``; truncation and flooring differ only on the way out of the
    image, where truncation stays nearer). A target at chessboard distance ``D`` from the
    current sample cannot be met before ``D`` more steps: that is the step to take. Without
    any target, the step takes every ray out of the image.
    """
    from scipy import ndimage

    if is_not_target.all():
        return np.full(is_not_target.size, 2 * max(is_not_target.shape) + 1, dtype=np.int32)
    return ndimage.distance_transform_cdt(is_not_target, metric="chessboard").ravel()


def ray_angles(xs: np.ndarray, ys: np.ndarray, rays: int) -> np.ndarray:
    """Angle id (0 ... 63) of each pixel's first ray: a shuffled 8 x 8 tile, as in PyMatting."""
    tile = (xs % 8) + (ys % 8) * 8
    return (tile * 99991) % 64


def _angle_table(rays: int) -> tuple[np.ndarray, np.ndarray]:
    """``cos`` and ``sin`` of ray ``a`` of a pixel with angle id ``i``: tables ``(64, rays)``.

    Read-only; the tables of up to 64 rays are cached (512 calls of ``math.cos`` and
    ``math.sin`` at the default 4 rays cost about as much as a small image's march).
    """
    if rays > 64:
        return _make_angle_table(rays)
    return _cached_angle_table(rays)


def _make_angle_table(rays: int) -> tuple[np.ndarray, np.ndarray]:
    start = 2.0 * np.pi / 64 * np.arange(64)
    angle = 2.0 * np.pi / rays * np.arange(rays)[None, :] + start[:, None]
    # The C library's cos and sin (math's, as the plain-loop reference): NumPy's SIMD ones
    # are an ulp off on some builds (1.24 with AVX-512), and trunc(x + s cos t) then picks
    # another pixel.
    cos = np.array([math.cos(t) for t in angle.ravel()]).reshape(angle.shape)
    sin = np.array([math.sin(t) for t in angle.ravel()]).reshape(angle.shape)
    cos.flags.writeable = sin.flags.writeable = False
    return cos, sin


_cached_angle_table = functools.lru_cache(maxsize=8)(_make_angle_table)
_distance32 = distance32  # its former name here

# Ray steps taken at once before the march (_first_steps): (rays, steps) int64 tables of 256 KiB.
_FIRST_STEPS_ELEMENTS = 1 << 15


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
    and much faster across large regions. Few rays first take their first steps all at once
    (:func:`_first_steps`): a march step costs a few dozen NumPy calls whatever the number
    of rays.

    Returns
    -------
    foreground, background : ndarray, int32, shape (m, rays)
        Flat index of the sample each ray found, -1 where it found none.
    """
    h, w = shape
    m = unknown.size
    cos_table, sin_table = _angle_table(rays)
    found_fg = np.full(m * rays, -1, dtype=np.int32)
    found_bg = np.full(m * rays, -1, dtype=np.int32)
    found = (found_fg, found_bg)
    # Every ray has left the image after this many steps (|cos| or |sin| >= 1 / sqrt 2).
    longest = math.ceil(math.sqrt(2.0) * max(h, w)) + 2
    skip = None
    # A pool of at most RAY_CHUNK rays, topped up as rays finish: the few slow rays of one
    # batch march beside the next batch instead of in a tail of their own.
    pool = (np.empty(0, dtype=np.int32),)  # empty: the first batch becomes the pool
    next_ray = 0
    while True:
        if pool[0].size <= RAY_CHUNK // 2 and next_ray < m * rays:
            stop = min(m * rays, next_ray + RAY_CHUNK - pool[0].size)
            fresh = _new_rays(next_ray, stop, unknown, rays, w, cos_table, sin_table)
            start, size = 0, fresh[0].size
            # Windows of steps while the rays left are few enough and a quarter of a window's
            # rays at least find both samples in it; the march, which skips across wide
            # regions, takes the rest (a window takes every step: rays across a wide unknown
            # region would take many windows).
            while size and start < longest:
                steps = min(longest - start, _FIRST_STEPS_ELEMENTS // size)
                if steps < 4:
                    break
                fresh = _first_steps(fresh, label, shape, found, start, steps)
                start += steps
                if 4 * fresh[0].size > 3 * size:
                    break
                size = fresh[0].size
            if pool[0].size:
                fresh = tuple(np.concatenate(pair) for pair in zip(pool, fresh, strict=True))
            pool = fresh
            next_ray = stop
            continue
        size = pool[0].size
        if size == 0:
            break
        if skip is None:
            skip = _skip_table(label, shape)
        need = _march(pool, label, skip, shape, found)
        alive = need != 0
        if np.count_nonzero(alive) < 0.8 * size:
            alive = alive.nonzero()[0]
            pool = tuple(take(values, alive) for values in pool)
    return found_fg.reshape(m, rays), found_bg.reshape(m, rays)


def _skip_table(label: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The steps a ray may skip from each pixel, flat ``(4 n,)`` int16: row ``need`` for
    what the ray still needs (a bit set, as the labels: 1 foreground, 2 background; row 0,
    done: no step)."""
    h, w = shape
    skip = np.zeros((4, h * w), dtype=np.int16)
    skip[FOREGROUND] = np.minimum(_step_table((label != FOREGROUND).reshape(h, w)), 32767)
    skip[BACKGROUND] = np.minimum(_step_table((label != BACKGROUND).reshape(h, w)), 32767)
    np.minimum(skip[FOREGROUND], skip[BACKGROUND], out=skip[FOREGROUND | BACKGROUND])
    return skip.ravel()


def _first_steps(pool, label, shape, found, start, steps):
    """Steps ``start ... start + steps - 1`` of every ray of ``pool`` (all at step ``start``)
    at once, as tables ``(rays, steps)``: the rays that still need a sample are returned, at
    step ``start + steps``.

    The same points as :func:`_march` visits (``x0 + s cos`` in float64, truncated), and
    the first foreground and background point of each ray among them. The coordinates are
    monotonic in ``s``: a ray outside the image at its last step here stays outside.
    """
    h, w = shape
    ray, x0, y0, cos, sin, step, need = pool
    s = np.arange(start, start + steps, dtype=np.float64)
    x = (x0[:, None] + s * cos[:, None]).astype(np.int64)
    y = (y0[:, None] + s * sin[:, None]).astype(np.int64)
    # Negative coordinates wrap to huge unsigned ones: one comparison per axis.
    inside = (x.view(np.uint64) < w) & (y.view(np.uint64) < h)
    q = y * w
    q += x
    q *= inside
    q = q.ravel()
    hit = take(label, q)
    hit *= inside.ravel()
    row_start = np.arange(0, hit.size, steps)
    for kind, out in zip((FOREGROUND, BACKGROUND), found, strict=True):
        first = (hit == kind).reshape(-1, steps).argmax(axis=1)
        first += row_start
        # Only rays still looking for the kind take it (a later window's rays may have
        # found it in an earlier one).
        got = take(hit, first) == kind
        got &= (need & kind).view(bool) if kind == FOREGROUND else (need >> 1).view(bool)
        got = got.nonzero()[0]
        out[take(ray, got)] = take(q, take(first, got))
        # The kind is no longer needed by the rays that found it.
        need[got] &= 3 - kind
    # A ray outside the image at its last step here is done.
    need *= inside[:, -1]
    step[:] = start + steps
    alive = need.nonzero()[0]
    return tuple(take(values, alive) for values in pool)


def _new_rays(start, stop, unknown, rays, w, cos_table, sin_table):
    """State of the rays ``start:stop`` (ray ``r`` is ray ``r % rays`` of pixel
    ``unknown[r // rays]``): ``(ray, x0, y0, cos, sin, step, need)``."""
    ray = np.arange(start, stop)
    y0, x0 = np.divmod(unknown[ray // rays], w)
    angle_id = ray_angles(x0, y0, rays)
    cos = cos_table[angle_id, ray % rays]
    sin = sin_table[angle_id, ray % rays]
    # Whole numbers kept narrow (less memory per ray); x0 + step * cos is still computed
    # in float64, as the int32 values convert exactly. (float64 start and step save the
    # conversions, 2.5% of the march, but add a sixth to the peak memory of small images.)
    step = np.zeros(ray.size, dtype=np.int32)
    need = np.full(ray.size, FOREGROUND | BACKGROUND, dtype=np.uint8)
    return ray.astype(np.int32), x0.astype(np.int32), y0.astype(np.int32), cos, sin, step, need


def _march(pool, label, skip, shape, found):
    """One march step of every ray of ``pool`` (updated in place): the point at its step,
    then the skip from there. Returns what each ray still needs."""
    h, w = shape
    ray, x0, y0, cos, sin, step, need = pool
    x = (x0 + step * cos).astype(np.int64)
    y = (y0 + step * sin).astype(np.int64)
    # Negative coordinates wrap to huge unsigned ones: one comparison per axis.
    inside = (x.view(np.uint64) < w) & (y.view(np.uint64) < h)
    q = y * w
    q += x
    q *= inside
    need *= inside
    hit = take(label, q)
    hit &= need
    if hit.any():
        # 0/1 bytes viewed as bools: nonzero is much faster on bool.
        got = (hit & FOREGROUND).view(bool).nonzero()[0]
        found[0][take(ray, got)] = take(q, got)
        got = (hit >> 1).view(bool).nonzero()[0]
        found[1][take(ray, got)] = take(q, got)
        need ^= hit
    where = need.astype(np.intp)
    where *= h * w
    where += q
    step += take(skip, where)
    return need


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
    planes32: np.ndarray | None = None,
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
    ``planes32``: the image as float32 channel planes ``(3, n)``, made from ``colors`` when
    ``None``.

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
    groups = _groups(fg_index, bg_index, rays)
    fg_index, bg_index = _found_first(fg_index), _found_first(bg_index)
    if planes32 is None:
        planes32 = image_planes(colors)
    for members, n_f, n_b in groups:
        for part in chunks(m if members is None else members.size, 2 * n_f * n_b):
            # One group of every pixel in order: slices, no gathers.
            chosen = part if members is None else members[part]
            fg, bg, alpha_out[chosen] = _best_pairs(
                planes32,
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
    return fg_out, bg_out, alpha_out


def _groups(fg_index, bg_index, rays):
    """``(members, n_f, n_b)``: pixels grouped by how many samples they found (found
    samples first, :func:`_found_first`), so that few pairs with a missing sample are
    evaluated; small groups join a larger one (:func:`_merge_groups`). ``members`` is
    ``None`` for one group of all pixels in order: with fewer pixels than _SMALL_GROUP
    every group is small and joins ``(rays, rays)``, the only large one."""
    if fg_index.shape[0] < _SMALL_GROUP:
        return [(None, rays, rays)]
    group = np.maximum((fg_index >= 0).sum(axis=1, dtype=np.int16), 1) * np.int16(rays + 1)
    group += np.maximum((bg_index >= 0).sum(axis=1, dtype=np.int16), 1)
    group = _merge_groups(group, rays)
    order = np.argsort(group, kind="stable")
    ordered = group[order]
    # Where the group changes, with the ends (np.diff with prepend and append, in fewer calls).
    bounds = (ordered[1:] != ordered[:-1]).nonzero()[0]
    bounds = [0, *(bounds + 1).tolist(), ordered.size] if ordered.size else [0]
    return [
        (order[first:stop], *divmod(int(ordered[first]), rays + 1))
        for first, stop in itertools.pairwise(bounds)
    ]


# Pixels of a group below which it joins a larger one: a group costs a few hundred array
# operations whatever its size, worth more than the extra pairs of a few hundred pixels.
_SMALL_GROUP = 384


def _merge_groups(group: np.ndarray, rays: int) -> np.ndarray:
    """Groups ``n_f (rays + 1) + n_b`` with the small ones moved to the group of fewest pairs
    that covers them (``N_f >= n_f``, ``N_b >= n_b``) among the large ones and ``(rays, rays)``.
    """
    counts = np.bincount(group, minlength=(rays + 1) ** 2)
    codes = np.arange(counts.size)
    n_f, n_b = np.divmod(codes, rays + 1)
    full = rays * (rays + 1) + rays
    large = (counts >= _SMALL_GROUP) | (codes == full)
    target = codes.copy()
    small = ((counts > 0) & ~large).nonzero()[0]
    # Pairs of each group that may take a small one, the others past any count: the first
    # least (np.argmin) of a row is the covering group of fewest pairs, first in code order.
    pairs = np.where(large, n_f * n_b, counts.size**2)
    for part in chunks(small.size, counts.size):
        code = small[part, None]
        cost = np.where((n_f >= n_f[code]) & (n_b >= n_b[code]), pairs, counts.size**2)
        target[small[part]] = np.argmin(cost, axis=1)
    return target[group].astype(group.dtype)


def _found_first(index: np.ndarray) -> np.ndarray:
    """Each row's found samples (>= 0) first, in their order.

    Slots past a row's samples repeat its first one: a repeated pair costs the same and
    comes later, so it never wins; a row without samples keeps -1 throughout.
    """
    m, rays = index.shape
    if rays <= 8:
        # The found samples of a row as a byte: a table gives the columns to read.
        found = np.packbits(index >= 0, axis=1, bitorder="little").ravel()
        column = _found_first_columns(rays).take(found, axis=0)
        column += np.arange(0, m * rays, rays)[:, None]
        return take(index.ravel(), column)
    out = np.empty_like(index)
    count = np.zeros(m, dtype=np.intp)
    rows = np.arange(m)
    # A column at a time (rays are few): each found sample goes to its row's next slot.
    for r in range(rays):
        column = index[:, r]
        found = (column >= 0).nonzero()[0]
        out[take(rows, found), take(count, found)] = take(column, found)
        count[found] += 1
    slot = np.arange(rays)
    missing = slot[None, :] >= np.maximum(count, 1)[:, None]
    np.copyto(out, out[:, :1], where=missing)
    out[count == 0] = -1
    return out


@functools.lru_cache(maxsize=8)
def _found_first_columns(rays: int) -> np.ndarray:
    """Columns of :func:`_found_first` for each set of found samples (bit ``r``: ray ``r``
    found one): the found ones in order, then the first again (column 0 if none)."""
    table = np.zeros((2**rays, rays), dtype=np.intp)
    for code in range(2**rays):
        found = [r for r in range(rays) if code >> r & 1] or [0]
        table[code] = found + found[:1] * (rays - len(found))
    table.flags.writeable = False
    return table


def _best_pairs(
    planes32, shape, p, f_i, b_j, prob_fg, mean_fg, mean_bg, exponents, distortion_radius
):
    """:func:`select_pairs` for pixels ``p`` with samples ``f_i`` (k, n_f), ``b_j`` (k, n_b)
    (:func:`_found_first`; -1 throughout: the mean colour at the pixel) and the colours
    ``planes32`` (float32 channel planes ``(3, n)``).

    Pair quantities are ``(n_f, n_b, k)``, pixels last: an operation that broadcasts a
    sample axis then runs over long contiguous rows, not over rows of ``n_b`` values. The
    channels go together (``(3, ...)`` arrays, a NumPy call for all three); sums over them
    add the channels in order, as sums written out channel by channel do.
    """
    h, w = shape
    k, n_f = f_i.shape
    n_b = b_j.shape[1]
    e_n, e_a, e_f, e_b = (np.float32(e) for e in exponents)
    py, px = np.divmod(p, w)
    f_none, b_none = f_i[:, 0] < 0, b_j[:, 0] < 0
    f_i = np.where(f_i >= 0, f_i, p[:, None]).T
    b_j = np.where(b_j >= 0, b_j, p[:, None]).T
    # Channel planes: (3, n_f, k), (3, n_b, k).
    fc = planes32.take(f_i, axis=1, mode="wrap")
    bc = planes32.take(b_j, axis=1, mode="wrap")
    for planes, mean, none in ((fc, mean_fg, f_none), (bc, mean_bg, b_none)):
        if none.any():
            np.copyto(planes, mean[:, None, None], where=none)

    # Pair quantities, (n_f, n_b, k).
    d = fc[:, :, None, :] - bc[:, None, :, :]
    dd = channel_sum(d * d)
    inv = 1.0 / (dd + PAIR_EPS)
    d *= bc[:, None]
    b_dot_d = channel_sum(d)
    b_sq = channel_sum(bc * bc)
    del d
    # N_p: the chromatic distortion summed over the window, expanded in dot products so that
    # a neighbour costs a few operations per pair.
    wy, wx = square_offsets(distortion_radius)
    center = wy.size // 2  # the offset (0, 0)
    # Windows inside the image need no clipping (the usual case for a whole chunk).
    inside = (
        py.min() >= distortion_radius
        and py.max() < h - distortion_radius
        and px.min() >= distortion_radius
        and px.max() < w - distortion_radius
    )
    if inside:
        q_all = p[None, :] + (wy * w + wx)[:, None]
    else:
        # The border repeated.
        q_all = np.minimum(np.maximum(py[None, :] + wy[:, None], 0), h - 1) * w
        q_all += np.minimum(np.maximum(px[None, :] + wx[:, None], 0), w - 1)
    # Offsets in groups whose pair tables stay about a chunk (all at once for few pixels:
    # a group costs two dozen NumPy calls whatever its size).
    group = max(1, CHUNK_ELEMENTS // (2 * n_f * n_b * k))
    distortion = None
    for start in range(0, wy.size, group):
        near = planes32.take(q_all[start : start + group], axis=1, mode="wrap")[:, :, None, :]
        n_fg = channel_sum(near * fc[:, None])
        n_bg = channel_sum(near * bc[:, None])
        t = n_fg[:, :, None, :] - n_bg[:, None, :, :]
        t -= b_dot_d  # (I - B) . (F - B)
        a = t * inv
        clip01(a)
        if start <= center < start + group:
            center_alpha = a[center - start].copy()
        # |a d - (I - B)|^2 = a (a |d|^2 - 2 t) + |I - B|^2
        r = a * dd
        t *= 2
        r -= t
        r *= a
        n_bg *= -2
        n_bg += b_sq
        n_bg += channel_sum(near * near)
        r += n_bg[:, None, :, :]
        # Offset by offset, in window order (the same float32 sums from 0): one reduction
        # over the offsets when they are all in this group.
        if distortion is None and start + group >= wy.size:
            distortion = np.add.reduce(r, axis=0, initial=0.0)
            continue
        if distortion is None:
            distortion = np.zeros((n_f, n_b, k), dtype=np.float32)
        for term in r:
            distortion += term
    clamp_below(distortion, 0.0)

    a_term = prob_fg + (1.0 - 2.0 * prob_fg) * center_alpha
    clamp_below(a_term, 0.0)
    # The distances to both kinds of samples in one pass.
    qy, qx = np.divmod(np.concatenate((f_i, b_j)), w)
    distance = distance32(qx - px, qy - py)
    # Logarithms of the cost: no overflow or underflow of the powers, the same order.
    cost = np.zeros((n_f, n_b, k), dtype=np.float32)
    with np.errstate(divide="ignore"):
        if e_n:
            cost += e_n * np.log(distortion)
        if e_a:
            cost += e_a * np.log(a_term)
        if e_f:
            cost += (e_f * np.log(distance[:n_f]))[:, None, :]
        if e_b:
            cost += (e_b * np.log(distance[n_f:]))[None, :, :]
    # The first least pair in (foreground, background) order, as argmin over rows would.
    best = cost.reshape(n_f * n_b, k).argmin(axis=0)
    bi, bj = np.divmod(best, n_b)
    # Flat positions and one take each: 2-D fancy indexing takes the slow path.
    rows = np.arange(k)
    bi *= k
    bi += rows
    bj *= k
    bj += rows
    fg = fc.reshape(3, -1).take(bi, axis=1, mode="wrap")
    bg = bc.reshape(3, -1).take(bj, axis=1, mode="wrap")
    best *= k
    best += rows
    return fg, bg, take(center_alpha.ravel(), best)


def image_planes(colors: np.ndarray) -> np.ndarray:
    """The image ``colors`` ``(n, 3)`` as float32 channel planes ``(3, n)``: a gather per
    channel reads one contiguous plane."""
    return colors.T.astype(np.float32, order="C")


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
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sample gathering: rays, path energies and the best pair of each unknown pixel.

    Returns
    -------
    fg, bg : ndarray, float32, shape (3, m)
        The chosen pair of each pixel of ``unknown``.
    alpha : ndarray, float32, shape (m,)
        Alpha from that pair.
    mean_fg, mean_bg : ndarray, float32, shape (3,)
        Mean colour of the foreground and of the background.
    planes32 : ndarray, float32, shape (3, n)
        The image as channel planes (:func:`image_planes`), for the later steps to share:
        made after the path energies, so that it does not add to their peak memory.
    """
    # Each mask made once (it was made per channel).
    is_fg, is_bg = label == FOREGROUND, label == BACKGROUND
    mean_fg = np.array([c.sum(where=is_fg, dtype=np.float64) for c in colors.T])
    mean_fg /= np.count_nonzero(is_fg)
    mean_bg = np.array([c.sum(where=is_bg, dtype=np.float64) for c in colors.T])
    mean_bg /= np.count_nonzero(is_bg)
    del is_fg, is_bg
    mean_fg, mean_bg = mean_fg.astype(np.float32), mean_bg.astype(np.float32)
    fg_index, bg_index = march_rays(label, shape, unknown, rays)
    tensor = gradient_tensor(colors, shape)
    if unknown.size * 8 * rays <= CHUNK_ELEMENTS:
        # Few pixels (one chunk of least_path_energy's, which takes 4 values per sample of a
        # pixel, 2 rays of them here): both sets of samples in one pass (half the calls).
        fg_energy, bg_energy = least_path_energy(
            tensor, shape, unknown, np.array((fg_index, bg_index)), pymatting_path
        )
    else:
        # Many: a set at a time (about 8% faster at 512 x 512, 60% unknown).
        fg_energy = least_path_energy(tensor, shape, unknown, fg_index, pymatting_path)
        bg_energy = least_path_energy(tensor, shape, unknown, bg_index, pymatting_path)
    del tensor
    planes32 = image_planes(colors)
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
        planes32,
    )
    return fg, bg, alpha, mean_fg, mean_bg, planes32
