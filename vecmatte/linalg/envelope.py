"""Blocked envelope (variable-band) Cholesky factorisation with dense BLAS blocks.

A trimap's unknown region is usually a band a few dozen pixels wide around the object.
Ordered by reverse Cuthill-McKee, its system matrix has a narrow *envelope*: row ``i`` has
entries only from column ``first[i]`` on, and Cholesky fill stays inside that envelope. The
factor is then computed block column by block column, each block a dense NumPy array, so
the arithmetic runs in BLAS matrix products rather than in a loop over entries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "Envelope",
    "EnvelopeCholesky",
    "envelope_cholesky",
    "envelope_flops",
    "envelope_size",
    "rcm_envelope",
]

_BLOCK = 64


@dataclass(frozen=True)
class Envelope:
    """A symmetric matrix with a reverse Cuthill-McKee order and the envelope in that order.

    Attributes
    ----------
    order : ndarray of intp
        Row ``i`` of the reordered matrix ``P A P^T`` is row ``order[i]`` of ``A``.
    first : ndarray of intp
        ``first[i]``: the first column that row ``i`` of ``P A P^T``, or any later row,
        reaches (non-decreasing). Cholesky fill stays within ``first[i] <= j <= i``.
    matrix : scipy.sparse.csr_matrix
        ``A`` itself, in its own order: the reordered matrix is never formed, each block of
        rows is reordered as the factorisation reaches it (a second copy of the matrix
        would be held during the whole factorisation).
    """

    order: np.ndarray
    first: np.ndarray
    matrix: object

    @property
    def position(self) -> np.ndarray:
        """``position[order[i]] = i``: where each row of ``A`` goes."""
        position = np.empty(len(self.order), dtype=np.intp)
        position[self.order] = np.arange(len(self.order))
        return position


def rcm_envelope(matrix) -> Envelope:
    """Reorder a symmetric sparse matrix by reverse Cuthill-McKee and find its envelope."""
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    matrix = matrix.tocsr()
    order = reverse_cuthill_mckee(matrix, symmetric_mode=True)
    position = np.empty(len(order), dtype=np.intp)
    position[order] = np.arange(len(order))
    # Every row holds its diagonal, so no row is empty and reduceat is well defined.
    leftmost = np.minimum.reduceat(position[matrix.indices], matrix.indptr[:-1])
    first = np.minimum.accumulate(leftmost[order][::-1])[::-1]
    return Envelope(order, first, matrix)


def envelope_flops(first: np.ndarray) -> float:
    """Floating-point operations of a Cholesky factorisation within the envelope ``first``."""
    width = np.arange(len(first)) - first
    return float(np.sum(width.astype(np.float64) ** 2))


def envelope_size(first: np.ndarray, block: int = _BLOCK) -> int:
    """Entries stored by :func:`envelope_cholesky` for the envelope ``first`` (its panels)."""
    n = len(first)
    starts = np.append(np.arange(0, n, block), n)
    stops = np.maximum(np.searchsorted(first, starts[1:], side="left"), starts[1:])
    return int(np.sum((stops - starts[:-1]) * np.diff(starts)))


@dataclass
class EnvelopeCholesky:
    """``P A P^T = L L^T`` with ``L`` stored as dense block-column panels."""

    order: np.ndarray
    starts: np.ndarray
    stops: np.ndarray
    panels: list

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """Solve ``A x = rhs`` (in the panels' precision; the result is float64)."""
        from scipy.linalg.blas import get_blas_funcs

        # Direct BLAS calls: the per-call overhead of scipy.linalg.solve_triangular would
        # dominate for the thousands of small blocks of a thin band.
        dtype = self.panels[0].dtype if self.panels else np.float64
        (trsv,) = get_blas_funcs(("trsv",), dtype=dtype)
        y = np.asarray(rhs)[self.order].astype(dtype)
        starts, stops, panels = self.starts, self.stops, self.panels
        for k, panel in enumerate(panels):
            k0, k1 = starts[k], starts[k + 1]
            y[k0:k1] = trsv(panel[: k1 - k0], y[k0:k1], lower=1)
            if stops[k] > k1:
                y[k1 : stops[k]] -= panel[k1 - k0 :] @ y[k0:k1]
        for k in range(len(panels) - 1, -1, -1):
            panel = panels[k]
            k0, k1 = starts[k], starts[k + 1]
            if stops[k] > k1:
                y[k0:k1] -= panel[k1 - k0 :].T @ y[k1 : stops[k]]
            y[k0:k1] = trsv(panel[: k1 - k0], y[k0:k1], lower=1, trans=1)
        x = np.empty(len(y), dtype=np.float64)
        x[self.order] = y
        return x


def envelope_cholesky(envelope: Envelope, dtype=np.float32) -> EnvelopeCholesky:
    """Factor a symmetric positive definite matrix within its envelope.

    Parameters
    ----------
    envelope : Envelope
        From :func:`rcm_envelope`.
    dtype : {numpy.float32, numpy.float64}, optional
        Precision of the factor. Single precision (default) halves the factor's memory and
        runs the BLAS products about twice as fast; used as the preconditioner of conjugate
        gradient in double precision, it costs one or two more iterations.

    Raises
    ------
    numpy.linalg.LinAlgError
        If a diagonal block is not positive definite (in the chosen precision).
    """
    from scipy.linalg.blas import get_blas_funcs
    from scipy.linalg.lapack import get_lapack_funcs

    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    (trsm,) = get_blas_funcs(("trsm",), dtype=dtype)
    (potrf,) = get_lapack_funcs(("potrf",), dtype=dtype)
    order, first, matrix = envelope.order, envelope.first, envelope.matrix
    position = envelope.position
    n = len(order)
    indptr, indices, data = matrix.indptr, matrix.indices, matrix.data
    starts = np.append(np.arange(0, n, _BLOCK), n)
    n_blocks = len(starts) - 1
    # Rows reached by block column k: those whose envelope starts before the block ends.
    stops = np.searchsorted(first, starts[1:], side="left")
    stops = np.maximum(stops, starts[1:])
    panels: list = []
    for k in range(n_blocks):
        k0, k1, stop = starts[k], starts[k + 1], stops[k]
        panel = np.zeros((stop - k0, k1 - k0), dtype=dtype)
        # By symmetry, column j of the lower triangle is row j's entries right of the diagonal:
        # gather rows order[k0:k1] of A and relabel their columns into the new order.
        rows_here = order[k0:k1]
        counts = indptr[rows_here + 1] - indptr[rows_here]
        entries = np.repeat(indptr[rows_here] - np.cumsum(counts) + counts, counts) + np.arange(
            counts.sum()
        )
        rows = np.repeat(np.arange(k0, k1), counts)
        cols = position[indices[entries]]
        upper = cols >= rows
        panel[cols[upper] - k0, rows[upper] - k0] = data[entries[upper]]
        # Left-looking update from the earlier block columns that reach these rows.
        j = k - 1
        while j >= 0 and stops[j] > k0:
            previous = panels[j]
            j0 = starts[j]
            reach = min(stop, stops[j])
            top = min(k1, stops[j])
            panel[: reach - k0, : top - k0] -= (
                previous[k0 - j0 : reach - j0] @ previous[k0 - j0 : top - j0].T
            )
            j -= 1
        diagonal, info = potrf(panel[: k1 - k0], lower=1, clean=1)
        if info != 0:
            raise np.linalg.LinAlgError(
                f"envelope Cholesky: block {k} is not positive definite (LAPACK info {info})"
            )
        panel[: k1 - k0] = diagonal
        if stop > k1:
            # L21 = A21 L11^-T, as a BLAS triangular solve from the right.
            panel[k1 - k0 :] = trsm(1.0, diagonal, panel[k1 - k0 :], side=1, lower=1, trans_a=1)
        panels.append(panel)
    return EnvelopeCholesky(order, starts, stops, panels)
