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

from vecmatte.linalg._panel import (
    PanelFactor,
    factor_dtype,
    factor_panel,
    inverse_permutation,
    reordered_upper,
)

__all__ = [
    "Envelope",
    "EnvelopeCholesky",
    "envelope_cholesky",
    "envelope_flops",
    "envelope_size",
    "rcm_envelope",
]

_BLOCK = 96


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
        ``A`` itself, in its own order. The factorisation forms only the upper triangle of
        the reordered matrix, in the factor's precision with 32-bit indices (a third of a
        float64 copy), so that each block reads its entries as one slice.
    """

    order: np.ndarray
    first: np.ndarray
    matrix: object

    @property
    def position(self) -> np.ndarray:
        """``position[order[i]] = i``: where each row of ``A`` goes."""
        return inverse_permutation(self.order)


def rcm_envelope(matrix) -> Envelope:
    """Reorder a symmetric sparse matrix by reverse Cuthill-McKee and find its envelope."""
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    matrix = matrix.tocsr()
    order = reverse_cuthill_mckee(matrix, symmetric_mode=True)
    position = inverse_permutation(order)
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


class EnvelopeCholesky(PanelFactor):
    """``P A P^T = L L^T`` with ``L`` stored as dense block-column panels.

    A :class:`~vecmatte.linalg._panel.PanelFactor` whose nodes are blocks of ``_BLOCK``
    columns and whose boundaries are contiguous: ``boundaries[k]`` is the slice of rows
    after block ``k`` that its envelope reaches.
    """


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
    dtype = factor_dtype(dtype)
    order, first = envelope.order, envelope.first
    n = len(order)
    # The upper triangle in the new order: each block reads its entries as one slice.
    upper = reordered_upper(envelope.matrix, order, dtype)
    starts = np.append(np.arange(0, n, _BLOCK), n)
    n_blocks = len(starts) - 1
    # Rows reached by block column k: those whose envelope starts before the block ends.
    stops = np.searchsorted(first, starts[1:], side="left")
    stops = np.maximum(stops, starts[1:])
    # Python ints and one array of entry rows, sliced per block: NumPy scalars and a
    # np.diff + np.repeat per block were a tenth of the factorisation of thin bands.
    entry_rows = np.repeat(np.arange(n, dtype=upper.columns.dtype), np.diff(upper.indptr))
    indptr, bounds, reached = upper.indptr.tolist(), starts.tolist(), stops.tolist()
    panels: list = []
    for k in range(n_blocks):
        k0, k1, stop = bounds[k], bounds[k + 1], reached[k]
        panel = np.zeros((stop - k0, k1 - k0), dtype=dtype)
        # By symmetry, column j of the lower triangle is row j's entries right of the diagonal.
        e0, e1 = indptr[k0], indptr[k1]
        panel[upper.columns[e0:e1] - k0, entry_rows[e0:e1] - k0] = upper.values[e0:e1]
        # Left-looking update from the earlier block columns that reach these rows.
        j = k - 1
        while j >= 0 and reached[j] > k0:
            previous = panels[j]
            j0 = bounds[j]
            reach = min(stop, reached[j])
            top = min(k1, reached[j])
            panel[: reach - k0, : top - k0] -= (
                previous[k0 - j0 : reach - j0] @ previous[k0 - j0 : top - j0].T
            )
            j -= 1
        factor_panel(panel, k1 - k0, f"envelope Cholesky: block {k}")
        panels.append(panel)
    boundaries = [slice(starts[k + 1], stops[k]) for k in range(n_blocks)]
    return EnvelopeCholesky(order, starts, boundaries, panels)
