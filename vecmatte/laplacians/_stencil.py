"""Pixel stencils shared by the grid Laplacians: offsets, neighbour columns, CSR rows.

A grid Laplacian whose entries couple only pixels at most ``reach`` apart is stored as
*stencil coefficients*: for each offset ``(dy, dx)`` of a fixed stencil and each row pixel
``i``, the entry ``L[i, i + (dy, dx)]``. With the offsets sorted by their row-major flat
order, the coefficients turn into CSR rows without sorting or summing duplicates.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["available_cpus", "rows_to_csr", "stencil_columns", "stencil_offsets"]


def stencil_offsets(reach: int) -> np.ndarray:
    """Offsets ``(dy, dx)`` with ``|dy|, |dx| <= reach``, sorted by their row-major flat order.

    The closed-form Laplacian of window radius ``r`` has ``reach = 2 r``.
    """
    # A new array each time (callers may keep or change it), copied from one made once.
    return _offsets(reach).copy()


@functools.lru_cache(maxsize=16)
def _offsets(reach: int) -> np.ndarray:
    span = np.arange(-reach, reach + 1)
    dy, dx = np.meshgrid(span, span, indexing="ij")
    return np.stack([dy.ravel(), dx.ravel()], axis=1)


def stencil_columns(offsets: np.ndarray, rows: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Flat index of the neighbour of each pixel in ``rows`` at each offset (``-1`` outside)."""
    h, w = shape
    ry, rx = np.divmod(rows, w)
    columns = np.empty((len(offsets), len(rows)), dtype=np.intp)
    for s, (dy, dx) in enumerate(offsets):
        ny, nx = ry + dy, rx + dx
        inside = (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)
        columns[s] = np.where(inside, ny * w + nx, -1)
    return columns


def rows_to_csr(columns: np.ndarray, values: np.ndarray, n_columns: int):
    """CSR matrix from per-offset ``(k, n_rows)`` column/value arrays; ``-1`` columns dropped.

    Offsets are sorted by flat order, so each row's columns come out ascending and the
    matrix is built without sorting or summing duplicates. Transposed views of row-major
    ``(n_rows, k)`` arrays (``array.T``) are read as they are, in CSR order; other layouts are
    transposed first.
    """
    import scipy.sparse

    columns, values = np.ascontiguousarray(columns.T), np.ascontiguousarray(values.T)
    keep = columns >= 0
    n_rows = columns.shape[0]
    n_entries = int(np.count_nonzero(keep))
    index_dtype = np.int32 if max(n_columns, n_entries) < 2**31 else np.int64
    indptr = np.zeros(n_rows + 1, dtype=index_dtype)
    np.cumsum(np.count_nonzero(keep, axis=1), out=indptr[1:])
    return scipy.sparse.csr_matrix(
        (values[keep], columns[keep].astype(index_dtype, copy=False), indptr),
        shape=(n_rows, n_columns),
    )


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask on Linux)."""
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
