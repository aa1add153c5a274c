"""Envelope (variable-band) Cholesky factorisation: LAPACK band factors of segments of rows.

A trimap's unknown region is usually a band a few dozen pixels wide around the object.
Ordered by reverse Cuthill-McKee, its system matrix has a narrow *envelope*: row ``i`` has
entries only from column ``first[i]`` on, and Cholesky fill stays inside that envelope. The
rows are cut into segments, each stored as a LAPACK band matrix as wide as the widest row in
it and factored by one ``pbtrf`` call; a segment reaches into the next one only through a
small dense *coupling* block (the next rows whose envelope starts inside the segment). The
cuts are placed where the envelope is narrow, so that the bands waste little and the
couplings are cheap. The triangular solves are then one ``tbsv`` call per segment and
direction, plus a matrix-vector product per coupling.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vecmatte.linalg._panel import factor_dtype, inverse_permutation, row_entries

__all__ = [
    "Envelope",
    "EnvelopeCholesky",
    "envelope_cholesky",
    "envelope_flops",
    "envelope_size",
    "rcm_envelope",
]

# Time of LAPACK's band Cholesky (spbtrf, OpenBLAS, one thread) per row, in microseconds, by
# bandwidth; measured on this project's benchmark machine (bandwidth 0 is a guess). Above 512
# the cost grows as the square of the bandwidth. Only the relative costs matter: they decide
# where segments end.
_BANDWIDTHS = np.array([0, 8, 16, 32, 40, 48, 56, 64, 72, 96, 128, 192, 256, 384, 512], float)
_ROW_MICROSECONDS = np.array(
    [0.01, 0.05, 0.10, 0.24, 0.29, 0.36, 0.44, 0.55, 0.32, 0.42, 0.59, 0.95, 1.46, 2.58, 4.0]
)
# LAPACK's pbtrf uses its unblocked (level 2 BLAS) algorithm up to bandwidth 64 (ILAENV's block
# size is 1 for KD <= 64) and the blocked one above, which is faster per row from 65 on than the
# unblocked one from about 45 on: bands in between are stored and factored 65 wide.
_BLOCKED_FROM, _UNBLOCKED_UP_TO = 65, 44
# Fixed costs of a segment (the Python around its pbtrf call) and of a coupling (copies,
# scatter), in microseconds, and the rate of the coupling's trsm and syrk, in multiply-adds
# per microsecond.
_SEGMENT_MICROSECONDS = 15.0
_COUPLING_MICROSECONDS = 40.0
_COUPLING_RATE = 8e4
# Candidate ends of a segment are every _STEP-th row up to _REACH times the widest row (at
# least _MIN_REACH rows) ahead of its start.
_STEP, _REACH, _MIN_REACH = 8, 8, 4096
# Rows of the matrix scattered into the factor's storage at a time.
_SCATTER_ROWS = 8192
# A layout of one segment with at most this many rows is scattered in one pass: the rows the
# general scatter takes at a time, so its temporaries are no larger.
_ONE_BAND_ROWS = _SCATTER_ROWS
# From this many entries on _scatter's row gather (row_entries) is SciPy's matrix[rows]
# (measured, closed-form systems of 20 to 39k rows: the same time at about 3e4 entries).
_GATHER_ENTRIES = 2**15


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
        ``A`` itself, in its own order.
    """

    order: np.ndarray
    first: np.ndarray
    matrix: object

    @property
    def position(self) -> np.ndarray:
        """``position[order[i]] = i``: where each row of ``A`` goes."""
        return inverse_permutation(self.order)


def rcm_envelope(matrix) -> Envelope:
    """Reorder a symmetric sparse matrix by reverse Cuthill-McKee and find its envelope.

    Parameters
    ----------
    matrix : sparse matrix, shape (n, n)
        Symmetric, both triangles and the whole diagonal stored.

    Returns
    -------
    Envelope
        The order, the envelope and the matrix.
    """
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    matrix = matrix.tocsr()
    order = reverse_cuthill_mckee(matrix, symmetric_mode=True)
    position = inverse_permutation(order)
    # Every row holds its diagonal, so no row is empty and reduceat is well defined.
    leftmost = np.minimum.reduceat(position[matrix.indices], matrix.indptr[:-1])
    first = np.minimum.accumulate(leftmost[order][::-1])[::-1]
    return Envelope(order, first, matrix)


def envelope_flops(first: np.ndarray) -> float:
    """Floating-point operations of a Cholesky factorisation within the envelope ``first``.

    Parameters
    ----------
    first : ndarray of intp
        The envelope, as :attr:`Envelope.first`.

    Returns
    -------
    float
        ``sum((i - first[i]) ** 2)``, the multiply-adds of the factorisation's inner products.
    """
    width = np.arange(len(first)) - first
    return float(np.sum(width.astype(np.float64) ** 2))


def _stored_bandwidth(bandwidth: np.ndarray) -> np.ndarray:
    """The bandwidth a band is stored and factored with: widened to 65 from 45 to 64."""
    padded = (bandwidth > _UNBLOCKED_UP_TO) & (bandwidth < _BLOCKED_FROM)
    return np.where(padded, _BLOCKED_FROM, bandwidth)


def _row_cost(bandwidth: np.ndarray) -> np.ndarray:
    """Modelled pbtrf time per row (microseconds) of a band ``bandwidth`` wide."""
    stored = _stored_bandwidth(np.asarray(bandwidth, dtype=np.float64))
    wide = _ROW_MICROSECONDS[-1] * (stored / _BANDWIDTHS[-1]) ** 2
    return np.where(
        stored > _BANDWIDTHS[-1], wide, np.interp(stored, _BANDWIDTHS, _ROW_MICROSECONDS)
    )


@dataclass(frozen=True)
class _Layout:
    """Where an envelope is cut into segments, and the shapes of their bands and couplings.

    Segment ``s`` holds the rows and columns ``starts[s]:starts[s + 1]`` as a band of
    ``bandwidths[s]`` sub-diagonals. Its coupling holds the rows ``starts[s + 1]:starts[s + 1] +
    heights[s]`` (the next rows whose envelope starts inside segment ``s``) on the columns
    ``starts[s + 1] - widths[s]:starts[s + 1]`` (the first of them is ``first[starts[s + 1]]``).
    """

    starts: np.ndarray
    bandwidths: np.ndarray
    widths: np.ndarray
    heights: np.ndarray

    @property
    def band_entries(self) -> np.ndarray:
        return (self.bandwidths + 1) * np.diff(self.starts)

    @property
    def coupling_entries(self) -> np.ndarray:
        return self.widths * self.heights


def _layout(first: np.ndarray) -> _Layout:
    """Cut the envelope ``first`` into segments by a greedy choice of the cheapest ends.

    From the start ``a`` of a segment, every candidate end ``c`` is priced by the modelled
    time of its band (``(c - a)`` rows as wide as its widest row) plus that of the coupling at
    ``c`` (``width * height * (width + height)`` multiply-adds: a dense triangular solve and
    a symmetric product), per row; the cheapest end per row wins. Ends must keep every coupling
    inside the two segments it joins: the coupling's columns start at or after ``a``, and the
    rows coupled into the segment at ``a`` end before ``c``.
    """
    n = len(first)
    rows = np.arange(n)
    width = rows - first
    # reaches[c]: rows i < reaches[c] have first[i] < c, so rows c:reaches[c] are coupled
    # to the columns before c (first is non-decreasing, so they are consecutive).
    reaches = np.concatenate(([0], np.cumsum(np.bincount(first, minlength=n))[: n - 1]))
    reaches = np.maximum(reaches, rows)
    height = reaches - rows
    coupling_cost = np.where(
        (width > 0) & (height > 0),
        width * height * (width + height) / _COUPLING_RATE + _COUPLING_MICROSECONDS,
        0.0,
    )
    reach = max(_MIN_REACH, _REACH * int(width.max(initial=0)))
    starts = [0]
    start = 0
    while start < n:
        stop = min(n, start + reach)
        ends = np.arange(start + _STEP, stop + 1, _STEP)
        if ends.size == 0 or ends[-1] != stop:
            ends = np.append(ends, stop)
        # Widest row of each candidate segment, columns before its start cut off.
        clipped = np.minimum(width[start:stop], np.arange(stop - start))
        bandwidth = np.maximum.accumulate(clipped)[ends - start - 1]
        inner = ends < n
        at = np.minimum(ends, n - 1)
        cost = (ends - start) * _row_cost(bandwidth) + _SEGMENT_MICROSECONDS
        cost += np.where(inner, coupling_cost[at], 0.0)
        valid = ~inner | (first[at] >= start)
        if start > 0:
            valid &= ends >= reaches[start]
        if valid.any():
            per_row = np.where(valid, cost / (ends - start), np.inf)
            start = int(ends[np.argmin(per_row)])
        else:
            start = n
        starts.append(start)
    if len(starts) == 2:
        # One segment (small systems): its band is as wide as the widest row (first >= 0,
        # so no row reaches before column 0) and nothing is coupled.
        none = np.zeros(1, dtype=np.intp)
        bandwidth = _stored_bandwidth(np.array([width.max()], dtype=np.intp))
        return _Layout(np.array(starts, dtype=np.intp), bandwidth, none, none.copy())
    starts = np.array(starts, dtype=np.intp)
    segment_start = np.repeat(starts[:-1], np.diff(starts))
    bandwidths = np.maximum.reduceat(np.minimum(width, rows - segment_start), starts[:-1])
    ends = starts[1:-1]
    widths = np.append(width[ends], 0)
    heights = np.append(height[ends], 0)
    none = (widths == 0) | (heights == 0)
    widths[none], heights[none] = 0, 0
    # The coupling's product lands on the next band's first rows: at least as many
    # sub-diagonals as it has rows, so that its strided view never aliases (see the factor).
    bandwidths[1:] = np.maximum(bandwidths[1:], heights[:-1])
    bandwidths = _stored_bandwidth(bandwidths)
    return _Layout(starts, bandwidths, widths, heights)


def envelope_size(first: np.ndarray) -> int:
    """Entries stored by :func:`envelope_cholesky` for the envelope ``first``.

    Parameters
    ----------
    first : ndarray of intp
        The envelope, as :attr:`Envelope.first`.

    Returns
    -------
    int
        The band segments' and the couplings' entries.
    """
    layout = _layout(np.asarray(first))
    return int(layout.band_entries.sum() + layout.coupling_entries.sum())


@dataclass(frozen=True)
class EnvelopeCholesky:
    """``P A P^T = L L^T`` with ``L`` stored as LAPACK band segments and dense couplings.

    Attributes
    ----------
    order : ndarray of intp
        The permutation ``P``: row ``i`` of ``P A P^T`` is row ``order[i]`` of ``A``.
    starts : list of int
        Segment ``s`` holds the rows and columns ``starts[s]:starts[s + 1]``.
    bandwidths : list of int
        Sub-diagonals of each segment's band.
    bands : list of ndarray
        ``bands[s]``: the segment's part of ``L`` in LAPACK's lower band storage, Fortran
        ordered ``(bandwidths[s] + 1, length)``: ``L[i, j] = bands[s][i - j, j]``.
    couplings : list of tuple or None
        ``(first, stop, block)``: the part of ``L`` below segment ``s``, ``block = L[start :
        stop, first : start]`` with ``start = starts[s + 1]`` (None when nothing is coupled).
    """

    order: np.ndarray
    starts: list
    bandwidths: list
    bands: list
    couplings: list

    @property
    def nnz(self) -> int:
        """Entries stored in the factor's bands and couplings."""
        coupled = sum(block.size for _, _, block in filter(None, self.couplings))
        return int(sum(band.size for band in self.bands) + coupled)

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """Solve ``A x = rhs`` (in the factor's precision; the result is float64).

        Parameters
        ----------
        rhs : ndarray, shape (n,)
            The right-hand side, in ``A``'s own order.

        Returns
        -------
        ndarray, shape (n,)
            ``x``, float64.
        """
        from scipy.linalg.blas import get_blas_funcs

        dtype = self.bands[0].dtype if self.bands else np.float64
        (tbsv,) = get_blas_funcs(("tbsv",), dtype=dtype)
        y = np.asarray(rhs)[self.order].astype(dtype)
        starts, bandwidths = self.starts, self.bandwidths
        bands, couplings = self.bands, self.couplings
        # tbsv works in place on y from offset offx, over the band's own length.
        for s, band in enumerate(bands):
            tbsv(bandwidths[s], band, y, offx=starts[s], lower=1, overwrite_x=1)
            if couplings[s] is not None:
                first, stop, block = couplings[s]
                y[starts[s + 1] : stop] -= block @ y[first : starts[s + 1]]
        for s in range(len(bands) - 1, -1, -1):
            if couplings[s] is not None:
                first, stop, block = couplings[s]
                y[first : starts[s + 1]] -= block.T @ y[starts[s + 1] : stop]
            tbsv(bandwidths[s], bands[s], y, offx=starts[s], lower=1, trans=1, overwrite_x=1)
        x = np.empty(len(y), dtype=np.float64)
        x[self.order] = y
        return x


def _scatter(envelope: Envelope, layout: _Layout, bands: np.ndarray, couplings: np.ndarray):
    """Write the lower triangle of ``P A P^T`` into the flat band and coupling storage.

    Column ``j`` of the lower triangle is, by symmetry, row ``j``'s entries right of the
    diagonal. The rows are permuted first (compiled CSR row gathers), so that each row's
    entries land in one band column and the writes run through the bands in order: written
    in the matrix's own order they landed anywhere, a cache miss each (four times slower).
    An entry ``(j, i)``, ``i >= j``, goes to the band of ``j``'s segment while ``i`` is still
    in that segment, else to the segment's coupling. Rows go _SCATTER_ROWS at a time, so
    that the per-entry temporaries stay small (all at once, they outweighed the bands).
    """
    matrix, order = envelope.matrix, envelope.order
    n = len(order)
    if len(layout.starts) == 2 and n <= _ONE_BAND_ROWS:
        _scatter_one_band(matrix, order, int(layout.bandwidths[0]) + 1, bands)
        return
    starts, bandwidths = layout.starts, layout.bandwidths
    lengths = np.diff(starts)
    strides = bandwidths + 1
    index = np.int32 if max(n, len(bands), len(couplings)) < 2**31 - 1 else np.int64
    unsigned = np.uint32 if index == np.int32 else np.uint64
    position = np.empty(n, dtype=index)
    position[order] = np.arange(n, dtype=index)
    rows = np.arange(n, dtype=index)
    # Per row j (band column j): where its band column begins, and how many rows from j on
    # its segment holds.
    band_offsets = np.concatenate(([0], np.cumsum(strides * lengths)[:-1]))
    column_start = np.repeat(band_offsets - starts[:-1] * strides, lengths)
    column_start += np.arange(n) * np.repeat(strides, lengths)
    column_start = column_start.astype(index)
    room = (np.repeat(starts[1:], lengths) - np.arange(n)).astype(index)
    coupling_offsets = np.concatenate(([0], np.cumsum(layout.coupling_entries)[:-1]))
    for low in range(0, n, _SCATTER_ROWS):
        high = min(n, low + _SCATTER_ROWS)
        counts, part_indices, part_data = row_entries(matrix, order[low:high], _GATHER_ENTRIES)
        right = position[part_indices]
        right -= np.repeat(rows[low:high], counts)
        reach = np.repeat(room[low:high], counts)
        # 0 <= right < reach in one comparison: negative offsets are huge as unsigned.
        inside = right.view(unsigned) < reach.view(unsigned)
        outside = np.flatnonzero(right >= reach)
        if outside.size:
            row = np.repeat(rows[low:high], counts)[outside]
            column = row + right[outside]
            segment = np.searchsorted(starts, row, side="right") - 1
            ends = starts[segment + 1]
            widths = layout.widths[segment]
            couplings[
                coupling_offsets[segment] + (column - ends) * widths + (row - ends + widths)
            ] = part_data[outside]
        right += np.repeat(column_start[low:high], counts)
        bands[right[inside]] = part_data[inside]


def _scatter_one_band(matrix, order: np.ndarray, stride: int, bands: np.ndarray) -> None:
    """:func:`_scatter` for a layout of one segment (no coupling), in one pass.

    The same entries land in the same places as in the general case (column ``j`` of the
    band starts at ``j * stride``), with a third of its array operations: most of the
    factor's time on systems of a few dozen rows.
    """
    position = inverse_permutation(order)
    counts, part_indices, part_data = row_entries(matrix, order, _GATHER_ENTRIES)
    row = np.repeat(np.arange(len(order)), counts)
    right = position[part_indices]
    right -= row
    # Every column is before n, so only the entries left of the diagonal are left out.
    inside = right >= 0
    row *= stride
    row += right
    bands[row[inside]] = part_data[inside]


def envelope_cholesky(envelope: Envelope, dtype=np.float32) -> EnvelopeCholesky:
    """Factor a symmetric positive definite matrix within its envelope.

    Parameters
    ----------
    envelope : Envelope
        From :func:`rcm_envelope`.
    dtype : {numpy.float32, numpy.float64}, optional
        Precision of the factor. Single precision (default) halves the factor's memory and
        runs LAPACK about twice as fast; used as the preconditioner of conjugate gradient in
        double precision, it costs one or two more iterations.

    Raises
    ------
    numpy.linalg.LinAlgError
        If a segment is not positive definite (in the chosen precision).

    Returns
    -------
    EnvelopeCholesky
        The factor.

    Notes
    -----
    Segment ``s`` (rows ``a:c``) is factored after the couplings of the segment before have
    been applied to its first rows: with ``B`` the entries of ``A`` in the rows ``c:c + m``
    and the columns ``c - p:c``, and ``T`` the last ``p`` rows and columns of the segment's
    factor, the coupling is ``X = B T^-T`` and the next segment's first ``m`` rows and
    columns lose ``X X^T`` before their own factorisation (block Cholesky).
    """
    from numpy.lib.stride_tricks import as_strided
    from scipy.linalg.blas import get_blas_funcs
    from scipy.linalg.lapack import get_lapack_funcs

    dtype = factor_dtype(dtype)
    (pbtrf,) = get_lapack_funcs(("pbtrf",), dtype=dtype)
    trsm, syrk = get_blas_funcs(("trsm", "syrk"), dtype=dtype)
    layout = _layout(envelope.first)
    band_entries, coupling_entries = layout.band_entries, layout.coupling_entries
    flat_bands = np.zeros(int(band_entries.sum()), dtype=dtype)
    flat_couplings = np.zeros(int(coupling_entries.sum()), dtype=dtype)
    _scatter(envelope, layout, flat_bands, flat_couplings)
    starts = layout.starts.tolist()
    bandwidths = layout.bandwidths.tolist()
    widths, heights = layout.widths.tolist(), layout.heights.tolist()
    band_ends = np.cumsum(band_entries).tolist()
    coupling_ends = np.cumsum(coupling_entries).tolist()
    item = flat_bands.itemsize
    bands: list = []
    couplings: list = []
    update = None
    band_begin = coupling_begin = 0
    for s in range(len(starts) - 1):
        start, stop, bandwidth = starts[s], starts[s + 1], bandwidths[s]
        flat = flat_bands[band_begin : band_ends[s]]
        if update is not None:
            # In lower band storage (Fortran, leading dimension k + 1) entry (i, j) of the
            # segment sits at j * k + i: a strided (m, m) view of the first rows. With
            # m <= k no two (i, j) of the view share memory, and the update's strict upper
            # triangle is zero, so the view's other elements are left as they are.
            size = update.shape[0]
            corner = as_strided(flat, shape=(size, size), strides=(item, item * bandwidth))
            np.subtract(corner, update, out=corner)
            update = None
        band = flat.reshape((bandwidth + 1, stop - start), order="F")
        _, info = pbtrf(band, lower=1, overwrite_ab=1)
        if info != 0:
            raise np.linalg.LinAlgError(
                f"envelope Cholesky: segment {s} is not positive definite (LAPACK info {info})"
            )
        bands.append(band)
        width, height = widths[s], heights[s]
        if width and height:
            block = flat_couplings[coupling_begin : coupling_ends[s]].reshape(height, width)
            # T = the segment factor's last `width` rows and columns, the same strided view
            # (its lower triangle is in the band: width <= bandwidth + 1); trsm reads only it.
            offset = (stop - width - start) * (bandwidth + 1)
            tail = as_strided(flat[offset:], shape=(width, width), strides=(item, item * bandwidth))
            trsm(1.0, tail, block.T, side=0, lower=1, overwrite_b=1)
            couplings.append((stop - width, stop + height, block))
            # X X^T, lower triangle only: its strict upper triangle stays the zeros given.
            update = np.zeros((height, height), dtype, order="F")
            syrk(1.0, block.T, c=update, trans=1, lower=1, overwrite_c=1)
        else:
            couplings.append(None)
        band_begin, coupling_begin = band_ends[s], coupling_ends[s]
    return EnvelopeCholesky(envelope.order, starts, bandwidths, bands, couplings)
