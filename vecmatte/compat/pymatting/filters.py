"""PyMatting's ``boxfilter``, ``distance_transform`` and ``knn`` (``pymatting.util.boxfilter``,
``.distance``, ``.kdtree``), on cumulative sums and SciPy's compiled routines instead of numba."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from vecmatte._numbers import whole_number
from vecmatte.compat.pymatting._common import PyMattingAssertionError
from vecmatte.compat.pymatting.util import apply_to_channels

__all__ = ["KDTree", "boxfilter", "distance_transform", "knn"]

_PADDING = {"valid": 0, "same": 1, "full": 2}


@apply_to_channels
def boxfilter(src: np.ndarray, radius: int = 3, mode: str = "same") -> np.ndarray:
    """Sums over ``(2r+1) x (2r+1)`` windows, outside the image counted as zero.

    Parameters
    ----------
    src : ndarray, shape (h, w) or (h, w, ...)
        Each channel is filtered on its own.
    radius : int, optional
        ``r``, positive.
    mode : {"valid", "same", "full"}, optional
        Output size ``h - 2r``, ``h`` or ``h + 2r`` (as ``scipy.signal.correlate2d``).

    Returns
    -------
    ndarray
        Float64 window sums.

    Raises
    ------
    PyMattingAssertionError
        (an ``AssertionError`` and ``ValueError``) where PyMatting asserts: ``radius < 1``,
        an unknown mode, or an image smaller than one window.
    ValueError
        For a ``radius`` that is not a whole number (PyMatting truncates it).
    """
    from vecmatte.laplacians.large_kernel import box_valid

    # A fraction is refused in one line (PyMatting's numba signature truncates 1.5 to 1;
    # np.pad said "`pad_width` must be of integral type")
    radius = whole_number(radius, "radius", "a whole number of at least 1", minimum=-(2**63))
    if not radius > 0:
        raise PyMattingAssertionError(f"radius must be positive, got {radius!r}")
    if mode not in _PADDING:
        raise PyMattingAssertionError(f"mode must be 'valid', 'same' or 'full', got {mode!r}")
    size = 2 * radius + 1
    if src.shape[0] < size or src.shape[1] < size:
        raise PyMattingAssertionError(
            f"src of shape {src.shape} is smaller than one {size} x {size} window"
        )
    pad = _PADDING[mode] * radius
    return box_valid(np.pad(np.asarray(src, dtype=np.float64), pad), radius)


def distance_transform(mask: ArrayLike) -> np.ndarray:
    """Euclidean distance of each non-zero pixel of ``mask`` to the nearest zero pixel.

    Zero pixels get 0. Runs :func:`scipy.ndimage.distance_transform_edt`.

    Returns
    -------
    ndarray, float64, shape of ``mask``
    """
    from scipy.ndimage import distance_transform_edt

    mask = np.asarray(mask) != 0
    if mask.all():  # no zero pixel to measure from: infinitely far, as PyMatting
        return np.full(mask.shape, np.inf)
    return distance_transform_edt(mask)


class KDTree:
    """Nearest neighbours of points (PyMatting's ``KDTree``), on ``scipy.spatial.cKDTree``.

    Parameters
    ----------
    data_points : ndarray, shape (n, d)
        Float32 in PyMatting; other dtypes are converted to float32 here.
    min_leaf_size : int, optional
        Leaf size of the tree.
    """

    def __init__(self, data_points: ArrayLike, min_leaf_size: int = 8) -> None:
        from scipy.spatial import cKDTree

        self.data_points = np.asarray(data_points, dtype=np.float32)
        self._tree = cKDTree(self.data_points, leafsize=max(int(min_leaf_size), 1))

    def query(self, query_points: ArrayLike, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Distances (float32) and indices (int64) of each query's ``k`` nearest points.

        Raises
        ------
        ValueError
            If the tree holds fewer than ``k`` points (as PyMatting).
        """
        n = self.data_points.shape[0]
        if n < k:
            raise ValueError(
                f"Number of data points ({n}) is less than the number of neighbors requested "
                f"(k={k}); provide more points or reduce k"
            )
        queries = np.asarray(query_points, dtype=np.float32)
        if k == 0:  # no neighbours asked for: empty results, as PyMatting (cKDTree refuses)
            return np.empty((len(queries), 0), np.float32), np.empty((len(queries), 0), np.int64)
        distances, indices = self._tree.query(queries, k=k, workers=-1)
        distances = np.asarray(distances, dtype=np.float32).reshape(len(queries), k)
        return distances, np.asarray(indices, dtype=np.int64).reshape(len(queries), k)


def knn(data_points: ArrayLike, query_points: ArrayLike, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest data points of each query point (PyMatting's ``knn``).

    Returns
    -------
    distances : ndarray, float32, shape (m, k)
        Euclidean distances, ascending.
    indices : ndarray, int64, shape (m, k)
    """
    return KDTree(data_points).query(query_points, k)
