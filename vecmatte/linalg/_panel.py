"""Dense panels of a sparse Cholesky factor, shared by the envelope and multifrontal factors.

Both factors store ``P A P^T = L L^T`` as nodes of consecutive columns ``starts[k]:starts[k+1]``:
a dense panel whose first rows are the node's own (lower triangle) and whose other rows are
the node's *boundary*, the later positions its columns reach. An envelope factor is the case
where every boundary is one contiguous range; a multifrontal factor has arbitrary ones. This
module holds what both need: the dtype check, the inverse permutation, the gather of CSR rows,
the dense factorisation of one panel and the triangular solves with the whole factor.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

__all__ = [
    "PanelFactor",
    "ReorderedUpper",
    "factor_dtype",
    "factor_panel",
    "gather_rows",
    "inverse_permutation",
    "reordered_upper",
    "row_entries",
]


def factor_dtype(dtype) -> np.dtype:
    """``dtype`` as a NumPy dtype, if it is float32 or float64 (else ``ValueError``)."""
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


def inverse_permutation(order: np.ndarray) -> np.ndarray:
    """``position`` with ``position[order[i]] = i``."""
    position = np.empty(len(order), dtype=np.intp)
    position[order] = np.arange(len(order))
    return position


def gather_rows(matrix, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Entries of the CSR ``matrix`` in ``rows``, without a Python loop.

    Returns
    -------
    which : ndarray of intp
        For each entry, its row's index into ``rows``.
    columns, values : ndarray
        Column and value of each entry.
    """
    counts, columns, values = row_entries(matrix, rows)
    return np.repeat(np.arange(len(rows)), counts), columns, values


def row_entries(
    matrix, rows: np.ndarray, compiled_from: float = np.inf
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Entry counts, columns and values of the CSR ``matrix``'s ``rows``, rows in turn.

    Below ``compiled_from`` entries they are gathered by one index array: SciPy's row
    indexing makes the same arrays through a dozen checks and a new matrix (0.03 ms, a
    thirtieth of a 32 x 32 solve). From there on ``matrix[rows]`` does, its compiled gather
    2.5-4x faster from 1e5 entries on.

    Parameters
    ----------
    matrix : scipy.sparse.csr_matrix
        The matrix.
    rows : ndarray of int
        The rows, in the order their entries are returned.
    compiled_from : float, optional
        Entry count from which SciPy gathers (default: never).

    Returns
    -------
    counts : ndarray
        Entries of each row.
    columns, values : ndarray
        Column and value of each entry.
    """
    begins = matrix.indptr[rows]
    counts = matrix.indptr[rows + 1] - begins
    total = int(counts.sum())
    if total >= compiled_from:
        part = matrix[rows]
        return counts, part.indices, part.data
    entries = np.arange(total, dtype=np.intp)
    entries += np.repeat(begins - (np.cumsum(counts) - counts), counts)
    return counts, matrix.indices[entries], matrix.data[entries]


@dataclass(frozen=True)
class ReorderedUpper:
    """The upper triangle of ``P A P^T`` as CSR arrays, rows in the new order.

    Row ``i`` (new order) holds the entries ``columns[indptr[i]:indptr[i + 1]] >= i``: by
    symmetry, column ``i`` of the lower triangle, which is what a factor's panel is filled from.
    """

    indptr: np.ndarray
    columns: np.ndarray
    values: np.ndarray

    def rows(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(row, column, value)`` of the entries of the rows ``start:stop`` (new order)."""
        low, high = self.indptr[start], self.indptr[stop]
        counts = np.diff(self.indptr[start : stop + 1])
        rows = np.repeat(np.arange(start, stop), counts)
        return rows, self.columns[low:high], self.values[low:high]


def reordered_upper(matrix, order: np.ndarray, dtype) -> ReorderedUpper:
    """Reorder a symmetric CSR ``matrix`` by ``order`` and keep its upper triangle.

    One compiled row permutation for the whole matrix, so that a factor reads each node's
    entries as one contiguous slice instead of gathering its rows (a few NumPy calls per node,
    which dominated the factorisation of thin bands). Values are stored in the factor's
    ``dtype``; indices in 32 bits when they fit.
    """
    n = len(order)
    index_dtype = np.int32 if n < 2**31 else np.intp
    position = np.empty(n, dtype=index_dtype)
    position[order] = np.arange(n, dtype=index_dtype)
    permuted = matrix.tocsr()[order]
    columns = position[permuted.indices]
    rows = np.repeat(np.arange(n, dtype=index_dtype), np.diff(permuted.indptr))
    keep = columns >= rows
    indptr = np.zeros(n + 1, dtype=np.intp)
    np.cumsum(np.bincount(rows[keep], minlength=n), out=indptr[1:])
    del rows
    values = permuted.data[keep].astype(dtype, copy=False)
    return ReorderedUpper(indptr, columns[keep], values)


@functools.lru_cache(maxsize=4)
def _kernels(dtype: np.dtype):
    """LAPACK ``potrf`` and BLAS ``trsm`` for ``dtype`` (looked up once, not per node)."""
    from scipy.linalg.blas import get_blas_funcs
    from scipy.linalg.lapack import get_lapack_funcs

    (trsm,) = get_blas_funcs(("trsm",), dtype=dtype)
    (potrf,) = get_lapack_funcs(("potrf",), dtype=dtype)
    return potrf, trsm


def factor_panel(panel: np.ndarray, size: int, what: str) -> None:
    """Factor a panel in place: Cholesky of its ``size`` diagonal rows, then ``L21 = A21 L11^-T``.

    Only the lower triangle of the diagonal block is read and written (its strict upper
    triangle is left as it was: every solve reads the lower one). A C-ordered panel is, seen
    transposed, a Fortran-ordered one, so LAPACK factors ``L11^T`` (upper) and BLAS solves
    ``L11 X^T = A21^T`` in place, with no copy of the panel.

    Raises
    ------
    numpy.linalg.LinAlgError
        If the diagonal block is not positive definite (``what`` names the node).
    """
    potrf, trsm = _kernels(panel.dtype)
    if not panel.flags.c_contiguous or panel.shape[1] != size:
        # A view into a wider array (a front): factor a copy, write it back.
        work = np.ascontiguousarray(panel)
        factor_panel(work, size, what)
        panel[...] = work
        return
    diagonal = panel[:size].T
    _, info = potrf(diagonal, lower=0, overwrite_a=1, clean=0)
    if info != 0:
        raise np.linalg.LinAlgError(f"{what} is not positive definite (LAPACK info {info})")
    if panel.shape[0] > size:
        trsm(1.0, diagonal, panel[size:].T, side=0, lower=0, trans_a=1, overwrite_b=1)


@dataclass
class PanelFactor:
    """``P A P^T = L L^T``; node ``k`` holds the columns ``starts[k]:starts[k+1]`` of ``L``.

    ``panels[k]`` is the dense block of those columns on the rows ``starts[k]:starts[k+1]``
    followed by the rows ``boundaries[k]`` (later positions, increasing: an index array, or a
    slice when they are contiguous).
    """

    order: np.ndarray
    starts: np.ndarray
    boundaries: list
    panels: list

    @property
    def nnz(self) -> int:
        """Entries stored in the factor's panels."""
        return int(sum(panel.size for panel in self.panels))

    def _solve_plan(self) -> list:
        """Per node ``(start, stop, L11^T, L21, L21^T, boundary)``, made on the first solve.

        The views and Python ints are made once per factor instead of once per node and
        solve: with thousands of small nodes, NumPy's per-call overhead is most of a solve.
        """
        plan = self.__dict__.get("_plan")
        if plan is None:
            plan = []
            for k0, k1, boundary, panel in zip(
                self.starts[:-1].tolist(),
                self.starts[1:].tolist(),
                self.boundaries,
                self.panels,
                strict=True,
            ):
                size = k1 - k0
                if size:
                    below = panel[size:] if panel.shape[0] > size else None
                    across = None if below is None else below.T
                    plan.append((k0, k1, panel[:size].T, below, across, boundary))
            self.__dict__["_plan"] = plan
        return plan

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """Solve ``A x = rhs`` (in the factor's precision; the result is float64)."""
        from scipy.linalg.blas import get_blas_funcs

        # Direct BLAS calls: the per-call overhead of scipy.linalg.solve_triangular would
        # dominate for the thousands of small blocks of a thin band. The diagonal block of a
        # C-ordered panel is, transposed, a Fortran-ordered upper triangle U = L11^T: BLAS
        # reads it without a copy (L11 y = b is U^T y = b) and solves in place in ``y``.
        # Arguments are positional: f2py parses keywords at about 0.7 us a call, a third of
        # a small node's solve (trsv: a, x, incx, offx, lower, trans, diag, overwrite_x;
        # gemv: alpha, a, x, beta, y, offx, incx, offy, incy, trans, overwrite_y).
        dtype = self.panels[0].dtype if self.panels else np.float64
        trsv, gemv = get_blas_funcs(("trsv", "gemv"), dtype=dtype)
        y = np.asarray(rhs)[self.order].astype(dtype)
        plan = self._solve_plan()
        for k0, k1, upper, below, _, boundary in plan:
            own = y[k0:k1]
            trsv(upper, own, 1, 0, 0, 1, 0, 1)
            if below is not None:
                # ndarray.dot: the same BLAS product as ``@`` (bit for bit) at a quarter of
                # its call overhead. (gemv with alpha -1 rounds differently.)
                y[boundary] -= below.dot(own)
        for k0, k1, upper, _, across, boundary in reversed(plan):
            own = y[k0:k1]
            if across is not None:
                # own -= L21^T y[boundary], in one call: L21 seen transposed is Fortran.
                gemv(-1.0, across, y[boundary], 1.0, own, 0, 1, 0, 1, 0, 1)
            trsv(upper, own, 1, 0, 0, 0, 0, 1)
        x = np.empty(len(y), dtype=np.float64)
        x[self.order] = y
        return x
