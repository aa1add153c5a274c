"""KNN matting Laplacian (Chen, Li, Tang 2013): pixels joined to their nearest neighbours in
colour and position, found with SciPy's compiled k-d tree."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from vecmatte._arrays import MAX_PIXELS, check_image
from vecmatte._numbers import finite_number, is_bool, is_real_number, positive_whole_number, shown
from vecmatte.laplacians._stencil import available_cpus
from vecmatte.laplacians.random_walk import check_form, weights_to_laplacian

__all__ = ["knn_laplacian", "knn_searches", "knn_weights"]

KERNELS = ("binary", "soft")

_log = logging.getLogger(__name__)


#: Largest position weight of a pass. Features are float32, so the colours (at most 1 apart)
#: fall under the rounding of the positions (weight * 2**-24) from about 1.7e7: every larger
#: weight finds the neighbours of a colour-blind search, and 1e100 overflowed float32 into
#: cKDTree's "data must be finite".
LARGEST_DISTANCE_WEIGHT = 1e6


#: The soft kernel's ``C`` in ``1 - |f_i - f_j|_1 / C`` (PyMatting's: the number of features).
SOFT_SCALE = 5.0


def _check_soft_weights(value: np.ndarray, distance: np.ndarray, weight: float) -> None:
    """Refuse a soft kernel some of whose neighbour pairs are more than ``SOFT_SCALE`` apart.

    Their weights ``1 - d / 5`` are negative: ``D - W`` is then no longer a graph Laplacian,
    may be indefinite, and conjugate gradient broke down (``make_scene((60, 80))`` with a
    position weight of 150). The colours are at most 3 apart in L1 and the positions
    ``weight * (|dx| + |dy|) <= 2 weight``, so no image can give a negative weight with a
    position weight of at most 1 (float32 terms each at most 1 sum to at most 5); above
    it, how far apart the neighbours are depends on the image and its size.
    """
    if value.size and value.min() < 0:
        raise ValueError(
            f"distance_weights entry {weight!r} is too large for kernel='soft' on this image: "
            f"it puts neighbours up to {float(distance.max()):.3g} apart in the features, "
            f"beyond {SOFT_SCALE:g}, where the weight 1 - d/{SOFT_SCALE:g} turns negative; "
            "use a position weight of at most 1 (never negative on any image), a smaller "
            "one, or kernel='binary'"
        )


#: What each option takes, said once for the library, the command line and the batch.
NEIGHBOURS_WANTED = (
    f"positive integers up to {MAX_PIXELS:,} (the pixels of the largest image), one per pass"
)
WEIGHTS_WANTED = (
    f"numbers >= 0 and at most {LARGEST_DISTANCE_WEIGHT:g}, one per pass (positions are "
    "float32: larger weights leave the colours under their rounding)"
)


def _entries(value, name: str, wanted: str) -> list:
    """One number or a sequence of them (list, tuple, range, 1-d array), as a list; the
    entries' own checks come after. A text, a set (no order) or a 2-d array is refused."""
    if isinstance(value, np.ndarray) and value.ndim <= 1:
        return list(value.reshape(-1))
    if isinstance(value, (list, tuple, range)):
        return list(value)
    if is_real_number(value) or is_bool(value):  # a boolean is refused as an entry
        return [value]
    raise ValueError(f"{name} must be {wanted}, got {shown(value)}")


def check_passes(n_neighbors, distance_weights) -> list[tuple[int, float]]:
    """``(k, weight)`` of each pass, checked: the one check of both options, whose messages
    the library, the command line and the batch share."""
    ks = [
        positive_whole_number(k, "n_neighbors", NEIGHBOURS_WANTED)
        for k in _entries(n_neighbors, "n_neighbors", NEIGHBOURS_WANTED)
    ]
    if max(ks, default=0) > MAX_PIXELS:
        raise ValueError(f"n_neighbors must be {NEIGHBOURS_WANTED}, got {shown(max(ks))}")
    if ks and max(ks) < 2:
        # Before: W held only self-loops, D - W was zero on every unknown row and Jacobi
        # divided by zero.
        raise ValueError(
            f"n_neighbors must be 2 or more in some pass: each pixel is its own nearest "
            f"neighbour, so passes of 1 join no two pixels, got {shown(n_neighbors)}"
        )
    weights = [
        finite_number(
            x, "distance_weights", WEIGHTS_WANTED, minimum=0, maximum=LARGEST_DISTANCE_WEIGHT
        )
        for x in _entries(distance_weights, "distance_weights", WEIGHTS_WANTED)
    ]
    if len(ks) != len(weights) or not ks:
        raise ValueError(
            f"n_neighbors {shown(n_neighbors)} and distance_weights {shown(distance_weights)} "
            "must have the same, non-zero length (one entry per nearest-neighbour pass)"
        )
    return list(zip(ks, weights, strict=True))


#: Relative slack on the bounds of :func:`_may_reach`: a pixel is skipped only when the bound
#: holds by more than any rounding of the distances could move it (:func:`_kth_bound` sums
#: float32 squares: relative error below 1e-6).
_SLACK = 1.0 + 1e-5

#: Above this share of unknown pixels nearly every pixel has an unknown neighbour, and the
#: bounds of :func:`_may_reach` cost more than the queries they save (same-process CPU
#: time: GT04 at 48 % unknown 5 % slower with them, GT13 at 30 % and 42 % faster).
_MAX_UNKNOWN_SHARE = 0.45


def _kth_bound(data: np.ndarray, order: np.ndarray, k: int, half: int = 16) -> np.ndarray:
    """An upper bound on each point's distance to its ``k``-th nearest neighbour (itself first).

    The ``k - 1``-th smallest distance to the ``half`` points on either side in the k-d
    tree's order: points there are close in feature space, and any ``k - 1`` other points
    within a distance bound the ``k``-th neighbour's distance. Squared distances in float32,
    one contiguous row per offset (four times faster than float64 columns), the result
    widened by ``_SLACK`` to cover their rounding. ``half`` grows to ``k // 2`` for larger
    ``k``: the ``2 half`` points must hold ``k - 1`` (``n_neighbors`` 34 and more raised
    NumPy's "kth out of bounds").
    """
    half = max(half, k // 2)
    points = data[order].T.astype(np.float32)
    m = points.shape[1]
    squared = np.full((2 * half, m), np.inf, dtype=np.float32)
    step = np.empty(m, dtype=np.float32)
    work = np.empty(m, dtype=np.float32)
    for offset in range(1, min(half, m - 1) + 1):
        total, term = step[: m - offset], work[: m - offset]
        total[...] = 0.0
        for column in points:
            np.subtract(column[offset:], column[:-offset], out=term)
            np.square(term, out=term)
            total += term
        squared[offset - 1, :-offset] = total
        squared[half + offset - 1, offset:] = total
    bound = np.empty(m)
    bound[order] = np.sqrt(np.partition(squared, k - 2, axis=0)[k - 2]) if k >= 2 else 0.0
    return bound * _SLACK


def _may_reach(tree, unknown: np.ndarray, k: int, shape: tuple[int, int], weight: float):
    """The points whose ``k`` nearest neighbours may include an unknown point (and those).

    A known point ``j`` has an unknown neighbour only if its distance to the nearest unknown
    point is at most its ``k``-th neighbour distance, itself at most :func:`_kth_bound`; the
    others are skipped: they add nothing to the rows of the unknown pixels of ``K + K^T``.
    The distance to the nearest unknown point is at least ``weight`` times the distance in
    the image plane (the Euclidean distance transform of the trimap, in the features'
    units): points farther than their bound that way need no search of the unknown points.
    """
    from scipy import ndimage
    from scipy.spatial import cKDTree

    data = tree.data
    bound = _kth_bound(data, tree.indices, k)
    needed = unknown | ~np.isfinite(bound)
    h, w = shape
    apart = ndimage.distance_transform_edt(
        ~unknown.reshape(shape), sampling=(weight / max(h - 1, 1), weight / max(w - 1, 1))
    ).ravel()
    # float32 positions: each coordinate rounded by at most weight * 2^-24.
    candidates = ~needed & (apart * (1.0 - 1e-6) - 1e-6 * weight <= bound)
    known = np.flatnonzero(candidates)
    if not len(known):
        return needed
    unknown_tree = cKDTree(data[unknown], leafsize=32, balanced_tree=False)
    bounds = bound[known]
    low = -np.inf
    # Searches in groups of similar bounds: distance_upper_bound prunes each group's search.
    for high in np.quantile(bounds, [0.5, 0.8, 0.95, 1.0]):
        group = known[(bounds > low) & (bounds <= high)]
        low = high
        nearest = unknown_tree.query(
            data[group], k=1, distance_upper_bound=high * _SLACK, workers=available_cpus()
        )[0]
        needed[group] = nearest <= bound[group]
    return needed


def knn_searches(
    image: np.ndarray,
    *,
    n_neighbors: Sequence[int] | int = (20, 10),
    distance_weights: Sequence[float] | float = (2.0, 0.1),
    kernel: str = "binary",
    unknown: np.ndarray | None = None,
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
    """Each pass's nearest neighbours: the pairs ``K[i, j] > 0`` of :func:`knn_weights`.

    Parameters
    ----------
    image, n_neighbors, distance_weights, kernel, unknown
        As in :func:`knn_weights`.

    Returns
    -------
    list of (searched, neighbors, values), one per pass
        ``searched`` (s,) the flat indices of the pixels searched (all of them, unless
        ``unknown`` lets some be skipped), ``neighbors`` (s, k) their ``k`` nearest
        neighbours, ``values`` (s, k) float32 the soft kernel's weights (``None``: binary,
        every pair weighs 1).
    """
    from scipy.spatial import cKDTree

    image = check_image(image)
    passes = check_passes(n_neighbors, distance_weights)
    if not (isinstance(kernel, str) and kernel in KERNELS):  # an array's "in" is ambiguous
        raise ValueError(f"kernel must be 'binary' or 'soft', got {kernel!r}")
    h, w = image.shape[:2]
    n = h * w
    k_max = max(k for k, _ in passes)
    if k_max > n:
        # Said as the image's size first: with the default n_neighbors, that is the fault.
        raise ValueError(
            f"image of {h} x {w} pixels (height x width) is too small for KNN matting with "
            f"n_neighbors {[k for k, _ in passes]}: it asks for more neighbours than the "
            f"image has pixels ({n}); use an image of at least {k_max} pixels, or n_neighbors "
            f"of at most {n}"
        )
    if unknown is not None:
        unknown = np.asarray(unknown)
        if unknown.dtype != bool or unknown.shape != (n,):
            raise ValueError(
                f"unknown must be a bool array of shape ({n},) (one entry per pixel), got "
                f"{unknown.dtype} of shape {unknown.shape}"
            )
    prune = unknown is not None and 0 < np.count_nonzero(unknown) <= _MAX_UNKNOWN_SHARE * n
    x = np.tile(np.linspace(0.0, 1.0, w), h)
    y = np.repeat(np.linspace(0.0, 1.0, h), w)
    k_total = sum(k for k, _ in passes)
    index_dtype = np.int32 if n * k_total < 2**31 else np.int64
    searches = []
    for k, weight in passes:
        # float32 features as in PyMatting, so that both find the same neighbours.
        features = np.empty((n, 5), dtype=np.float32)
        features[:, :3] = image.reshape(n, 3)
        features[:, 3] = weight * x
        features[:, 4] = weight * y
        # Sliding-midpoint splits and 32-point leaves: measured on GT08 at half size, 20-30 %
        # less CPU than the median-split tree with 16-point leaves, same neighbours up to ties.
        tree = cKDTree(features, leafsize=32, balanced_tree=False)
        # Querying the points in the tree's own order keeps consecutive queries in the same
        # leaves (measured: about twice as fast as the raster order on alphamatting images).
        order = tree.indices
        if prune:
            order = order[_may_reach(tree, unknown, k, (h, w), weight)[order]]
        _log.info(
            "knn: %d nearest neighbours of %d pixels (position weight %g)", k, len(order), weight
        )
        # The CPUs this process may use: SciPy's workers=-1 counts the machine's, and starts
        # a Python thread for each at every query, fighting over one CPU when pinned to it.
        neighbors = tree.query(tree.data[order], k=k, workers=available_cpus())[1]
        neighbors = neighbors.reshape(len(order), k)
        del tree
        value = None
        if kernel == "soft":
            distance = np.abs(features[neighbors] - features[order, None, :]).sum(axis=2)
            value = 1.0 - distance / np.float32(SOFT_SCALE)
            _check_soft_weights(value, distance, weight)
        searches.append((order, neighbors.astype(index_dtype), value))
        del features, neighbors
    return searches


def knn_weights(
    image: np.ndarray,
    *,
    n_neighbors: Sequence[int] | int = (20, 10),
    distance_weights: Sequence[float] | float = (2.0, 0.1),
    kernel: str = "binary",
    unknown: np.ndarray | None = None,
):
    """Symmetric KNN weight matrix ``W = K + K^T`` (``K[i, j]``: ``j`` is a neighbour of ``i``).

    Parameters
    ----------
    image, n_neighbors, distance_weights, kernel
        As in :func:`knn_laplacian`.
    unknown : ndarray of bool, shape (h*w,), optional
        If given, only the rows of these pixels are formed, the same as in the full matrix
        (all that a system with hard constraints reads); the other rows are empty, and the
        searches of known pixels that have no unknown neighbour are skipped.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (h*w, h*w)
    """
    import scipy.sparse

    searches = knn_searches(
        image,
        n_neighbors=n_neighbors,
        distance_weights=distance_weights,
        kernel=kernel,
        unknown=unknown,
    )
    rows, columns, values = (list(part) for part in zip(*searches, strict=True))
    del searches
    n = int(np.prod(np.shape(image)[:2]))
    k_total = sum(column.shape[1] for column in columns)
    index_dtype = columns[0].dtype
    if unknown is not None:
        return _unknown_rows(unknown, rows, columns, values)
    # Every pixel searched in every pass: its neighbours of all passes form its row.
    neighbors = np.empty((n, k_total), dtype=index_dtype)
    data = np.ones((n, k_total))
    start = 0
    for row, column, value in zip(rows, columns, values, strict=True):
        neighbors[row, start : start + column.shape[1]] = column
        if value is not None:
            data[row, start : start + column.shape[1]] = value
        start += column.shape[1]
    indptr = np.arange(0, n * k_total + 1, k_total, dtype=index_dtype)
    nearest = scipy.sparse.csr_matrix(
        (data.ravel(), neighbors.ravel(), indptr), shape=(n, n), copy=False
    )
    del rows, columns, values, data
    return (nearest + nearest.T).tocsr()


def _unknown_rows(unknown, rows, columns, values):
    """The rows of the unknown pixels of ``K + K^T``, the other rows empty.

    Row ``i`` holds the neighbours ``j`` of ``i`` (its own searches) and the pixels ``j``
    that have ``i`` among their neighbours (their searches' entries equal to ``i``): only
    these pairs are gathered, never the whole matrix and its transpose.
    """
    import scipy.sparse

    n = len(unknown)
    pair_rows, pair_columns, pair_values = [], [], []
    for row, column, value in zip(rows, columns, values, strict=True):
        own = unknown[row]
        towards = unknown[column]
        # The searching pixel of each entry that points at an unknown pixel.
        searcher = row[np.nonzero(towards)[0]]
        pair_rows += [np.repeat(row[own], column.shape[1]), column[towards]]
        pair_columns += [column[own].ravel(), searcher]
        if value is not None:
            pair_values += [value[own].ravel(), value[towards]]
    data = (
        np.concatenate(pair_values).astype(np.float64)
        if pair_values
        else np.ones(sum(len(r) for r in pair_rows))
    )
    rows_and_columns = (np.concatenate(pair_rows), np.concatenate(pair_columns))
    del pair_rows, pair_columns, pair_values
    # tocsr sums the pairs found in both directions or several passes and sorts the rows.
    return scipy.sparse.coo_matrix((data, rows_and_columns), shape=(n, n)).tocsr()


def knn_laplacian(
    image: np.ndarray,
    *,
    n_neighbors: Sequence[int] | int = (20, 10),
    distance_weights: Sequence[float] | float = (2.0, 0.1),
    kernel: str = "binary",
    form: str = "random_walk",
):
    """KNN matting Laplacian of an image.

    Parameters
    ----------
    image : ndarray, shape (h, w, 3)
        RGB image with values in [0, 1].
    n_neighbors : sequence of int, optional
        Neighbours per pixel in each nearest-neighbour pass (PyMatting: 20, then 10).
    distance_weights : sequence of float, optional
        Weight ``w_d`` of the position in each pass's features ``[r, g, b, w_d x, w_d y]``
        (``x, y`` in [0, 1]); PyMatting: 2.0, then 0.1.
    kernel : {"binary", "soft"}, optional
        ``"binary"``: each neighbour pair weighs 1; ``"soft"``: ``1 - |f_i - f_j|_1 / 5``,
        refused (``ValueError``) where that is negative for some pair, which takes a
        position weight above 1.
    form : {"random_walk", "symmetric"}, optional
        ``I - D^-1 W`` (PyMatting's) or ``D - W``; see
        :func:`vecmatte.laplacians.random_walk.weights_to_laplacian`.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (h*w, h*w)

    Raises
    ------
    ValueError
        If the image is not ``(h, w, 3)`` in [0, 1], or an option is out of range.

    Notes
    -----
    Chen, Li and Tang, "KNN Matting", IEEE TPAMI 35(9), 2013. Each pass finds every pixel's
    ``k`` nearest neighbours in feature space (the pixel itself among them) with
    ``scipy.spatial.cKDTree``; ``W`` sums the pairs of all passes in both directions.

    Examples
    --------
    >>> import numpy as np
    >>> from vecmatte.laplacians.knn import knn_laplacian
    >>> L = knn_laplacian(np.random.default_rng(0).random((6, 6, 3)), n_neighbors=[5],
    ...                   distance_weights=[2.0])
    >>> bool(abs(L.sum(axis=1)).max() < 1e-12)
    True
    """
    check_form(form)
    weights = knn_weights(
        image, n_neighbors=n_neighbors, distance_weights=distance_weights, kernel=kernel
    )
    return weights_to_laplacian(weights, form=form)
