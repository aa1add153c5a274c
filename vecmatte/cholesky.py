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

__all__ = ["Envelope", "EnvelopeCholesky", "envelope_cholesky", "envelope_flops", "rcm_envelope"]

_BLOCK = 64


@dataclass(frozen=True)
class Envelope:
    """A symmetric matrix reordered by reverse Cuthill-McKee, with its envelope.

    Attributes
    ----------
    order : ndarray of intp
        Row ``i`` of ``permuted`` is row ``order[i]`` of the original matrix.
    first : ndarray of intp
        ``first[i]``: the first column that row ``i`` of ``permuted``, or any later row,
        reaches (non-decreasing). Cholesky fill stays within ``first[i] <= j <= i``.
    permuted : scipy.sparse.csr_matrix
        ``P A P^T`` with sorted column indices.
    """

    order: np.ndarray
    first: np.ndarray
    permuted: object


def rcm_envelope(matrix) -> Envelope:
    """Reorder a symmetric sparse matrix by reverse Cuthill-McKee and find its envelope."""
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    matrix = matrix.tocsr()
    order = reverse_cuthill_mckee(matrix, symmetric_mode=True)
    position = np.empty(len(order), dtype=matrix.indices.dtype)
    position[order] = np.arange(len(order), dtype=matrix.indices.dtype)
    # Permuting rows is a compiled slice copy; relabelling and re-sorting the columns is
    # cheaper than SciPy's general column indexing.
    permuted = matrix[order]
    permuted.indices = position[permuted.indices]
    permuted.has_sorted_indices = False
    permuted.sort_indices()
    first = permuted.indices[permuted.indptr[:-1]].astype(np.intp)
    first = np.minimum.accumulate(first[::-1])[::-1]
    return Envelope(order, first, permuted)


def envelope_flops(first: np.ndarray) -> float:
    """Floating-point operations of a Cholesky factorisation within the envelope ``first``."""
    width = np.arange(len(first)) - first
    return float(np.sum(width.astype(np.float64) ** 2))


@dataclass
class EnvelopeCholesky:
    """``P A P^T = L L^T`` with ``L`` stored as dense block-column panels."""

    order: np.ndarray
    starts: np.ndarray
    stops: np.ndarray
    panels: list

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """Solve ``A x = rhs``."""
        from scipy.linalg.blas import dtrsv

        # Direct BLAS calls: the per-call overhead of scipy.linalg.solve_triangular would
        # dominate for the thousands of small blocks of a thin band.
        y = np.asarray(rhs, dtype=np.float64)[self.order].copy()
        starts, stops, panels = self.starts, self.stops, self.panels
        for k, panel in enumerate(panels):
            k0, k1 = starts[k], starts[k + 1]
            y[k0:k1] = dtrsv(panel[: k1 - k0], y[k0:k1], lower=1)
            if stops[k] > k1:
                y[k1 : stops[k]] -= panel[k1 - k0 :] @ y[k0:k1]
        for k in range(len(panels) - 1, -1, -1):
            panel = panels[k]
            k0, k1 = starts[k], starts[k + 1]
            if stops[k] > k1:
                y[k0:k1] -= panel[k1 - k0 :].T @ y[k1 : stops[k]]
            y[k0:k1] = dtrsv(panel[: k1 - k0], y[k0:k1], lower=1, trans=1)
        x = np.empty_like(y)
        x[self.order] = y
        return x


def envelope_cholesky(envelope: Envelope) -> EnvelopeCholesky:
    """Factor a symmetric positive definite matrix within its envelope.

    Parameters
    ----------
    envelope : Envelope
        From :func:`rcm_envelope`.

    Raises
    ------
    numpy.linalg.LinAlgError
        If a diagonal block is not positive definite.
    """
    from scipy.linalg.blas import dtrsm
    from scipy.linalg.lapack import dpotrf

    order, first, permuted = envelope.order, envelope.first, envelope.permuted
    n = len(order)
    indptr, indices, data = permuted.indptr, permuted.indices, permuted.data
    starts = np.append(np.arange(0, n, _BLOCK), n)
    n_blocks = len(starts) - 1
    # Rows reached by block column k: those whose envelope starts before the block ends.
    stops = np.searchsorted(first, starts[1:], side="left")
    stops = np.maximum(stops, starts[1:])
    panels: list = []
    for k in range(n_blocks):
        k0, k1, stop = starts[k], starts[k + 1], stops[k]
        panel = np.zeros((stop - k0, k1 - k0))
        # By symmetry, column j of the lower triangle is row j's entries right of the diagonal.
        e0, e1 = indptr[k0], indptr[k1]
        rows = np.repeat(np.arange(k0, k1), np.diff(indptr[k0 : k1 + 1]))
        cols = indices[e0:e1]
        upper = cols >= rows
        panel[cols[upper] - k0, rows[upper] - k0] = data[e0:e1][upper]
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
        diagonal, info = dpotrf(panel[: k1 - k0], lower=1, clean=1)
        if info != 0:
            raise np.linalg.LinAlgError(
                f"envelope Cholesky: block {k} is not positive definite (LAPACK info {info})"
            )
        panel[: k1 - k0] = diagonal
        if stop > k1:
            # L21 = A21 L11^-T, as a BLAS triangular solve from the right.
            panel[k1 - k0 :] = dtrsm(1.0, diagonal, panel[k1 - k0 :], side=1, lower=1, trans_a=1)
        panels.append(panel)
    return EnvelopeCholesky(order, starts, stops, panels)
