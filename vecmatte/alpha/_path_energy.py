"""Shared matting's path energies: how much the image changes along a ray's path.

Part of step 2 (sample gathering, Gastal and Oliveira 2010, sec. 4.2): the energy of the
straight path from an unknown pixel to a sample is the sum of the squared image gradient
along the path's direction, which :func:`least_path_energy` minimises over a pixel's samples.
"""

from __future__ import annotations

import math

import numpy as np

from vecmatte.alpha._shared_sampling import CHUNK_ELEMENTS, chunks, clamp_below, clip_ufunc, take

__all__ = ["gradient_tensor", "least_path_energy", "path_energy"]


def gradient_tensor(colors: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Per pixel ``(|I_x|^2, I_x . I_y, |I_y|^2)``: float32 ``(3, n)``.

    Central differences with the border pixel repeated; ``|v . grad I|^2`` for a step ``v``
    is then a quadratic form in ``v``, three numbers per pixel instead of six.
    """
    h, w = shape
    if h * w <= _ALL_CHANNELS_PIXELS:
        return _small_gradient_tensor(colors, shape)
    tensor = np.zeros((3, h, w), dtype=np.float32)
    ix = np.zeros((h, w), dtype=np.float32)
    iy = np.zeros((h, w), dtype=np.float32)
    product = np.empty((h, w), dtype=np.float32)
    # Each channel copied to one contiguous float64 plane first: the differences then read
    # contiguous rows instead of every third number (about 40% less time, same values).
    image = np.empty((h, w), dtype=np.float64)
    for channel in colors.T:
        np.copyto(image, channel.reshape(h, w))
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


# Pixels up to which gradient_tensor works on the three channels at once (a dozen NumPy
# calls instead of forty; temporaries of about 60 bytes a pixel).
_ALL_CHANNELS_PIXELS = 1 << 14


def _small_gradient_tensor(colors, shape):
    """:func:`gradient_tensor` with the channels together: the same differences (float64,
    stored as float32) and the same float32 sums over the channels, from 0 in order."""
    h, w = shape
    # Differences in float64, as the channel loop's float64 planes take them (integer
    # colours would wrap, float32 ones round differently).
    image = np.asarray(colors, dtype=np.float64).T.reshape(3, h, w)
    ix = np.zeros((3, h, w), dtype=np.float32)
    iy = np.zeros((3, h, w), dtype=np.float32)
    if w > 1:
        np.subtract(image[:, :, 2:], image[:, :, :-2], out=ix[:, :, 1:-1])
        ix[:, :, 0] = image[:, :, 1] - image[:, :, 0]
        ix[:, :, -1] = image[:, :, -1] - image[:, :, -2]
    if h > 1:
        np.subtract(image[:, 2:], image[:, :-2], out=iy[:, 1:-1])
        iy[:, 0] = image[:, 1] - image[:, 0]
        iy[:, -1] = image[:, -1] - image[:, -2]
    tensor = np.empty((3, h, w), dtype=np.float32)
    for out, a, b in ((tensor[0], ix, ix), (tensor[1], ix, iy), (tensor[2], iy, iy)):
        np.add.reduce(a * b, axis=0, initial=0.0, out=out)
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
    x0, y0, x1, y1 = (np.asarray(v) for v in (x0, y0, x1, y1))
    if not x0.shape == y0.shape == x1.shape == y1.shape:  # broadcast only when needed
        x0, y0, x1, y1 = np.broadcast_arrays(x0, y0, x1, y1)
    dx = (x1 - x0).astype(np.float64)
    dy = (y1 - y0).astype(np.float64)
    # Whole-number differences: dx^2 + dy^2 is exact and its square root correctly rounded;
    # np.hypot (twice the time) can be an ulp off, which ceil and the clip at 10 never see.
    length = np.sqrt(dx * dx + dy * dy)
    steps = clip_ufunc(np.ceil(length), 1, 10)
    sx = dx / steps
    sy = dy / steps
    txx = (sx * sx).astype(np.float32)
    txy = (2 * sx * sy).astype(np.float32)
    tyy = (sy * sy).astype(np.float32)
    # The last point of each path (-1: a path of length 0, which gets 0).
    last = np.where(length > 0, steps, -1).astype(np.int8).ravel()
    shape_out = dx.shape
    del length, steps, dx, dy
    x0 = x0.astype(np.float64).ravel()
    y0 = y0.astype(np.float64).ravel()
    sx, sy = sx.ravel(), sy.ravel()
    weights = txx.ravel(), txy.ravel(), tyy.ravel()
    y_step = sx if pymatting_path else sy
    points = int(last.max(initial=-1)) + 1
    if points * last.size <= CHUNK_ELEMENTS:
        # Few paths: all their points at once, as tables (point, path), rather than eleven
        # rounds of a dozen NumPy calls. Points past a path's end weigh nothing.
        at = np.arange(points, dtype=np.float64)[:, None]
        qx = (x0 + at * sx).astype(np.int64)
        qy = (y0 + at * y_step).astype(np.int64)
        # Points past a path's end may be off the image: take's "wrap" reads some pixel.
        v = _point_energy(tensor, shape, qx, qy, weights, pymatting_path)
        v *= at <= last
        # Point by point from 0, as the rounds below add them (the same float32 sums): a
        # reduction over the first axis adds whole rows in turn.
        return np.add.reduce(v, axis=0, initial=0.0).reshape(shape_out)
    # Paths by their last point, longest first: point i then lies on a prefix of them, i
    # steps along (no clamping to the end, no mask, no work past the ends of short paths).
    order = np.argsort(-last, kind="stable")
    on_path = np.cumsum(np.bincount(last + 1, minlength=12)[::-1])[::-1]  # [i + 1]: last >= i
    del last  # the sorted copies below replace the rest
    x0, y0, sx, y_step = (take(values, order) for values in (x0, y0, sx, y_step))
    weights = tuple(take(t, order) for t in weights)
    energy = np.zeros(order.size, dtype=np.float32)
    for i in range(11):
        n = int(on_path[i + 1])
        if n == 0:
            break
        at = float(i)
        qx = (x0[:n] + at * sx[:n]).astype(np.int64)
        qy = (y0[:n] + at * y_step[:n]).astype(np.int64)
        prefix = tuple(t[:n] for t in weights)
        energy[:n] += _point_energy(tensor, shape, qx, qy, prefix, pymatting_path)
    energy[order] = energy.copy()
    energy = energy.reshape(shape_out)
    return energy


def _point_energy(tensor, shape, qx, qy, weights, pymatting_path):
    """``|v . grad I|`` at the points ``(qx, qy)`` (int64, clamped in place with
    ``pymatting_path``), float32; ``weights``: ``(vx^2, 2 vx vy, vy^2)`` of each path.

    On PyMatting's paths, points off the image are clamped to it and their y differences
    vanish.
    """
    h, w = shape
    gxx, gxy, gyy = tensor
    txx, txy, tyy = weights
    if pymatting_path:
        y_in = (qy >= 0) & (qy < h)
        clip_ufunc(qx, 0, w - 1, out=qx)
        clip_ufunc(qy, 0, h - 1, out=qy)
    q = qy * w
    q += qx
    # |v . grad I|^2 = vx^2 |I_x|^2 + 2 vx vy I_x . I_y + vy^2 |I_y|^2
    v2 = txx * take(gxx, q)
    if pymatting_path:
        v2 += (txy * take(gxy, q) + tyy * take(gyy, q)) * y_in
    else:
        v2 += txy * take(gxy, q)
        v2 += tyy * take(gyy, q)
    clamp_below(v2, 0.0)
    return np.sqrt(v2, out=v2)


def least_path_energy(
    tensor: np.ndarray,
    shape: tuple[int, int],
    unknown: np.ndarray,
    index: np.ndarray,
    pymatting_path: bool = False,
) -> np.ndarray:
    """Least path energy from each unknown pixel to its samples ``index`` (m, rays).

    Missing samples (-1) are left out; a pixel without any gets 0, the energy of the path
    to itself (where its fallback sample, the mean colour, sits). ``index`` may also hold
    several sets of samples, ``(sets, m, rays)``, for one least energy per set,
    ``(sets, m)``, in one pass (the foreground and background samples: half the calls).
    """
    w = shape[1]
    sets = index.shape[:-2]
    index = index.reshape(math.prod(sets), *index.shape[-2:])
    per_pixel = index.shape[0] * index.shape[2]  # samples of a pixel, all sets
    least = np.zeros((index.shape[0], unknown.size), dtype=np.float32)
    uy, ux = np.divmod(unknown, w)
    for part in chunks(unknown.size, 4 * per_pixel):
        # Rays major: the paths of ray r are a run, and the least over rays is a reduction
        # across rows (vectorised over the pixels), not over rows of ``per_pixel`` values.
        found = np.ascontiguousarray(index[:, part].transpose(0, 2, 1)).ravel()
        at = (found >= 0).nonzero()[0]  # by set and ray, then pixel
        if at.size == 0:
            continue
        k = found.size // per_pixel
        pixel = at % k
        y1, x1 = np.divmod(take(found, at), w)
        energy = path_energy(
            tensor,
            shape,
            take(ux[part], pixel),
            take(uy[part], pixel),
            x1,
            y1,
            pymatting_path=pymatting_path,
        )
        paths = np.full(found.size, np.inf, dtype=np.float32)
        paths[at] = energy
        lowest = paths.reshape(index.shape[0], -1, k).min(axis=1)
        lowest[np.isinf(lowest)] = 0.0  # no sample: the path to itself
        least[:, part] = lowest
    return least.reshape(*sets, unknown.size)
