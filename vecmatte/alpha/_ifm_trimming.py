"""The trimap trimmings of information-flow matting (see :mod:`vecmatte.alpha.ifm`).

Both grow the known regions into unknown pixels whose labels look certain; the grown
trimaps only sharpen the known-to-unknown estimate. Patch-based trimming compares window
colour distributions (section 4 of Aksoy, Aydin and Pollefeys, CVPR 2017); edge trimming
expands labels to nearby pixels of nearly the same colour (Shahrian et al., CVPR 2013), as
the authors' toolbox does.
"""

from __future__ import annotations

import numpy as np

__all__ = ["edge_trimming", "patch_trimming"]

# Unknown pixels per block of Bhattacharyya distances (see patch_trimming).
_BLOCK = 2048
# Pixels per block of log-determinants (see _local_gaussians).
_LOG_DET_BLOCK = 65536


def _local_gaussians(image: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """``(h*w, 10)`` rows: mean colour, packed covariance (+ ``eps I``), log-determinant.

    The covariance is packed as its six distinct entries ``(c00, c01, c02, c11, c12, c22)``:
    the symmetric half is never stored. The window statistics are filtered straight into the
    rows' columns, and the log-determinant is taken in blocks: an ``(9, h, w)`` stack of the
    statistics beside the rows, and the Cholesky factor's six full-size planes, were 72 and
    about 80 bytes per pixel more at the peak of the trimming (the same values bit for bit).
    """
    from scipy.ndimage import uniform_filter

    h, w = image.shape[:2]
    size = 2 * radius + 1
    # Plane by plane (MATLAB's imboxfilt, edges replicated): filtering contiguous planes is
    # about 2.5 times faster than filtering the channel axis of an (h, w, 6) array, and each
    # window mean is the same sum bit for bit.
    planes = np.ascontiguousarray(image.transpose(2, 0, 1))
    stats = np.empty((h * w, 10))
    columns = stats.T.reshape(10, h, w)  # a view: column c of the rows as an (h, w) plane
    mean, covariance = columns[:3], columns[3:9]
    for channel in range(3):
        uniform_filter(planes[channel], size=size, mode="nearest", output=mean[channel])
    product = np.empty((h, w))
    first, second = np.triu_indices(3)
    for entry, (i, j) in enumerate(zip(first, second, strict=True)):
        np.multiply(planes[i], planes[j], out=product)
        uniform_filter(product, size=size, mode="nearest", output=covariance[entry])
        covariance[entry] -= mean[i] * mean[j]
        if i == j:
            covariance[entry] += eps
    del planes, product
    for start in range(0, h * w, _LOG_DET_BLOCK):
        block = stats[start : start + _LOG_DET_BLOCK]
        block[:, 9] = _log_det_3x3(block[:, 3:9].T)
    return stats


def _cholesky_3x3(a) -> tuple[np.ndarray, ...]:
    """Lower Cholesky entries ``(l00, l10, l11, l20, l21, l22)`` of a stack of SPD 3x3.

    ``a`` holds the six distinct entries ``(a00, a01, a02, a11, a12, a22)`` (first axis).
    """
    a00, a10, a20, a11, a21, a22 = a
    tiny = np.finfo(np.float64).tiny
    l00 = np.sqrt(np.maximum(a00, tiny))
    l10 = a10 / l00
    l20 = a20 / l00
    l11 = np.sqrt(np.maximum(a11 - l10 * l10, tiny))
    l21 = (a21 - l20 * l10) / l11
    l22 = np.sqrt(np.maximum(a22 - l20 * l20 - l21 * l21, tiny))
    return l00, l10, l11, l20, l21, l22


def _log_det_3x3(a) -> np.ndarray:
    l00, _, l11, _, _, l22 = _cholesky_3x3(a)
    return 2.0 * (np.log(l00) + np.log(l11) + np.log(l22))


def _bhattacharyya(mean_p, cov_p, logdet_p, mean_n, cov_n, logdet_n) -> np.ndarray:
    """Bhattacharyya distance between normal distributions (broadcast over trailing axes).

    Means are ``(3, ...)``, covariances packed ``(6, ...)`` as in :func:`_local_gaussians`.
    """
    l00, l10, l11, l20, l21, l22 = _cholesky_3x3((cov_p + cov_n) * 0.5)
    d = mean_n - mean_p
    y0 = d[0] / l00
    y1 = (d[1] - l10 * y0) / l11
    y2 = (d[2] - l20 * y0 - l21 * y1) / l22
    log_det = 2.0 * (np.log(l00) + np.log(l11) + np.log(l22))
    return 0.125 * (y0 * y0 + y1 * y1 + y2 * y2) + 0.5 * (log_det - 0.5 * (logdet_p + logdet_n))


def patch_trimming(
    image: np.ndarray,
    is_fg: np.ndarray,
    is_bg: np.ndarray,
    *,
    min_distance: float = 0.25,
    max_distance: float = 0.9,
    radius: int = 1,
    k: int = 10,
) -> tuple[np.ndarray, np.ndarray]:
    """Trim a trimap by comparing each unknown pixel's patch with known patches.

    Parameters
    ----------
    image : ndarray, shape (h, w, 3)
        RGB image in [0, 1].
    is_fg, is_bg : ndarray of bool, shape (h, w)
        Known foreground and background.
    min_distance, max_distance : float, optional
        An unknown pixel becomes foreground when a foreground patch is closer than
        ``min_distance`` and every background patch farther than ``max_distance`` (and
        the other way round).
    radius : int, optional
        Patch radius.
    k : int, optional
        Known patches compared per pixel: the nearest by mean colour.

    Returns
    -------
    is_fg, is_bg : ndarray of bool, shape (h, w)
        The grown known regions.

    Notes
    -----
    Each patch is a normal distribution of colours (mean and covariance + ``1e-8 I``);
    patches are compared by the Bhattacharyya distance (section 4 of Aksoy et al. 2017).
    """
    from vecmatte.laplacians.information_flow import nonlocal_neighbors, search_order

    h, w = is_fg.shape
    # One row per pixel: mean colour, packed covariance, log-determinant. A neighbour's
    # statistics are then one 80-byte gather instead of ten scattered ones.
    stats = _local_gaussians(image, radius, 1e-8)
    colours = stats[:, :3]  # the search's features: one row per pixel
    unknown = np.flatnonzero(~(is_fg | is_bg))

    def nearest(known: np.ndarray, rows: np.ndarray, order: np.ndarray) -> np.ndarray:
        """Bhattacharyya distance of each pixel in ``rows`` to its nearest known patch."""
        neighbors = nonlocal_neighbors(colours, rows, np.flatnonzero(known), k, order=order)
        distance = np.empty(len(rows))
        # Blocks of rows: every temporary of a block (k distances each) stays in cache and
        # is reused by malloc, where whole-region arrays (60 MB of gathered statistics on
        # GT04) were page-faulted afresh: 0.38x the CPU of this step on GT04.
        for start in range(0, len(rows), _BLOCK):
            block = slice(start, start + _BLOCK)
            own = stats[rows[block]].T[:, :, None]  # (10, b, 1)
            # (10, b, k): each statistic one contiguous (b, k) array for the arithmetic.
            other = np.ascontiguousarray(stats[neighbors[block]].transpose(2, 0, 1))
            distance[block] = _bhattacharyya(
                own[:3], own[3:9], own[9], other[:3], other[3:9], other[9]
            ).min(axis=1)
        return distance

    order = search_order(colours[unknown])
    fg_distance = nearest(is_fg, unknown, order)
    # A pixel whose nearest foreground patch lies between the two thresholds keeps its
    # label whatever the background says: search the background for the others only.
    open_ = (fg_distance < min_distance) | (fg_distance > max_distance)
    bg_distance = np.full(len(unknown), np.nan)  # NaN compares False: no change
    if open_.any():
        position = np.cumsum(open_) - 1  # position of each open pixel among the open ones
        bg_distance[open_] = nearest(is_bg, unknown[open_], position[order[open_[order]]])
    to_fg = (fg_distance < min_distance) & (bg_distance > max_distance)
    to_bg = (bg_distance < min_distance) & (fg_distance > max_distance)
    trimmed_fg, trimmed_bg = is_fg.copy().ravel(), is_bg.copy().ravel()
    trimmed_fg[unknown[to_fg]] = True
    trimmed_bg[unknown[to_bg]] = True
    return trimmed_fg.reshape(h, w), trimmed_bg.reshape(h, w)


def _window_offsets(radius: int) -> np.ndarray:
    """``(dy, dx)`` of a ``(2r+1)^2`` window, nearest first; ties in column-major order."""
    dy, dx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    dy, dx = dy.T.ravel(), dx.T.ravel()  # column-major: dx outer, dy inner
    order = np.argsort(dy * dy + dx * dx, kind="stable")
    return np.column_stack([dy[order], dx[order]])


def _packed_bytes(image: np.ndarray) -> np.ndarray | None:
    """``(h, w)`` int32 ``r << 16 | g << 8 | b`` if ``image`` is exactly bytes / 255, else None."""
    codes = np.rint(image * 255.0)
    if not (codes.min() >= 0 and codes.max() <= 255 and np.array_equal(codes / 255.0, image)):
        return None
    codes = codes.astype(np.int32)
    return (codes[:, :, 0] << 16) | (codes[:, :, 1] << 8) | codes[:, :, 2]


def _colour_planes(image: np.ndarray, pad: int) -> np.ndarray:
    """``(3, (h + 2 pad) (w + 2 pad))`` red, blue, green planes, edges replicated by ``pad``.

    One contiguous plane per channel: gathers from 1-D planes are several times faster than
    from rows of an ``(n, 3)`` array. Red, blue, green: squared differences are summed in
    the order of the einsum this replaced, so that threshold decisions stay bit for bit.
    """
    padded = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode="edge")[:, :, [0, 2, 1]]
    return np.ascontiguousarray(padded.transpose(2, 0, 1)).reshape(3, -1)


def edge_trimming(
    image: np.ndarray,
    is_fg: np.ndarray,
    is_bg: np.ndarray,
    *,
    iterations: int = 9,
    upper: float = 9 / 256,
    lower: float = 1 / 256,
) -> tuple[np.ndarray, np.ndarray]:
    """Grow the known regions into unknown pixels of nearly the same colour.

    Parameters
    ----------
    image : ndarray, shape (h, w, 3)
        RGB image in [0, 1].
    is_fg, is_bg : ndarray of bool, shape (h, w)
        Known foreground and background.
    iterations : int, optional
        Pass ``i`` (1 to ``iterations``) searches up to ``i`` pixels away.
    upper, lower : float, optional
        Colour distance thresholds of the first and the last pass (linearly between).

    Returns
    -------
    is_fg, is_bg : ndarray of bool, shape (h, w)
        The grown known regions.

    Notes
    -----
    In pass ``i`` each unknown pixel takes the label of the nearest known pixel (Euclidean
    distance, within ``i`` pixels in x and y) whose colour is closer than
    ``upper - i (upper - lower) / iterations``; all pixels of a pass read the labels of the
    previous pass. This follows the label expansion of Shahrian et al., "Improving Image
    Matting using Comprehensive Sampling Sets", CVPR 2013, as the toolbox implements it.
    """
    from scipy.ndimage import maximum_filter

    if not (0 <= lower <= upper):
        raise ValueError(f"edge trimming needs 0 <= lower <= upper, got {lower=} and {upper=}")
    h, w = is_fg.shape
    pad = iterations
    width = w + 2 * pad
    packed = _packed_bytes(image)
    if packed is not None:
        packed = np.pad(packed, pad, mode="edge").ravel()

    def close_colours(source: np.ndarray, target: np.ndarray, limit: float) -> np.ndarray:
        """Whether each pair's squared colour distance is below ``limit``."""
        if packed is not None:
            # 8-bit colours: one gather per pixel instead of three, integer distances. The
            # float sum below is within 1e-12 of distance / 255^2, so the integer test
            # decides alike except for distances within 1e-9 of the limit, checked exactly.
            first, second = np.take(packed, source), np.take(packed, target)
            difference = (first >> 16) - (second >> 16)
            distance = difference * difference
            difference = ((first >> 8) & 255) - ((second >> 8) & 255)
            distance += difference * difference
            difference = (first & 255) - (second & 255)
            distance += difference * difference
            scaled = limit * 255.0**2
            close = distance < scaled * (1.0 - 1e-9)
            unsure = np.flatnonzero(close != (distance < scaled * (1.0 + 1e-9)))
            if len(unsure):
                close[unsure] = close_colours_exactly(source[unsure], target[unsure], limit)
            return close
        return close_colours_exactly(source, target, limit)

    planes = None  # built for the first exact comparison

    def close_colours_exactly(source, target, limit):
        nonlocal planes
        if planes is None:
            planes = _colour_planes(image, pad)
        squared = np.zeros(len(source))
        for plane in planes:
            difference = np.take(plane, target) - np.take(plane, source)
            squared += difference * difference
        return squared < limit

    fg = np.pad(is_fg, pad).ravel()
    known = fg | np.pad(is_bg, pad).ravel()
    known_grid = known.reshape(h + 2 * pad, width)  # a view: follows the updates of known
    inside = np.pad(np.ones((h, w), bool), pad)
    newly = np.zeros(0, dtype=np.intp)  # pixels labelled by the previous pass
    for step in range(1, iterations + 1):
        limit = (upper - step * (upper - lower) / iterations) ** 2
        near = maximum_filter(known_grid.view(np.uint8), size=2 * step + 1, mode="constant")
        # Unlabelled pixels of this pass that may still find a known pixel.
        free_flat = (near.view(bool) & ~known_grid & inside).ravel()
        pending = np.flatnonzero(free_flat)
        if not len(pending):
            newly = np.zeros(0, dtype=np.intp)
            continue
        label = np.full(len(known), -1, dtype=np.int8)
        for dy, dx in _window_offsets(step):
            shift = dy * width + dx
            if max(abs(dy), abs(dx)) == step:
                # The outermost ring: any known pixel there is new to this pixel's search.
                # Gathers over the pending pixels: a band far smaller than its bounding box.
                source = pending[np.take(known, pending + shift)]
                source = source[free_flat[source]]
            elif len(newly):
                # Inside the previous pass's window only pixels labelled since can qualify:
                # the others already failed a larger colour threshold.
                source = newly - shift
                source = source[free_flat[source]]
            else:
                continue
            if not len(source):
                continue
            # Colours are compared only where a known pixel is found.
            target = source + shift
            close = close_colours(source, target, limit)
            source, target = source[close], target[close]
            label[source] = fg[target]
            free_flat[source] = False
        newly = np.flatnonzero(label >= 0)
        known[newly] = True
        fg[newly] = label[newly] == 1
    fg = fg.reshape(h + 2 * pad, width)[pad : pad + h, pad : pad + w]
    known = known_grid[pad : pad + h, pad : pad + w]
    return fg.copy(), known & ~fg
