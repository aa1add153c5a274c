"""Large-kernel matting Laplacian (He, Sun, Tang 2010): the closed-form Laplacian at a large
window radius, applied without building it, from box sums of the image and of ``p * I``."""

from __future__ import annotations

import numpy as np

from vecmatte._arrays import check_image
from vecmatte._validation import check_radius_eps

__all__ = ["LargeKernelLaplacian", "box_full", "box_valid", "lkm_laplacian"]

# Images of at most this many pixels sum their boxes in one piece (see _allocated): two
# scratch arrays of 0.5 MiB at most.
_ONE_PIECE = 2**16


def _window_sums(
    array: np.ndarray, size: int, step: int, out: np.ndarray, scratch: tuple[np.ndarray, ...]
) -> np.ndarray:
    """``out[k] = sum(array[k + t * step] for t in range(size))`` for 1-D arrays, ``size`` odd.

    ``out`` has ``len(array) - (size - 1) * step`` entries; ``scratch`` is two 1-D arrays
    longer than ``(size - 1) * step``: the sums run in as many pieces of ``out`` as it
    takes for each piece's input to fit in them (see :func:`_window_sums_of_piece`).
    """
    halo = (size - 1) * step
    piece = len(scratch[0]) - halo
    for start in range(0, len(out), piece):
        stop = min(start + piece, len(out))
        _window_sums_of_piece(array[start : stop + halo], size, step, out[start:stop], scratch)
    return out


def _window_sums_of_piece(
    array: np.ndarray, size: int, step: int, out: np.ndarray, scratch: tuple[np.ndarray, ...]
) -> np.ndarray:
    """:func:`_window_sums` with ``scratch`` at least as long as ``array``.

    On a row-major image flattened, ``step = w`` sums down the columns and ``step = 1``
    along the rows (sums that run past a row's end are garbage, left for the caller to
    ignore or to multiply by zero). Sums of 2, 4, 8, ... entries are made by doubling and
    ``size`` is assembled from its binary digits: ``floor(log2 size) + popcount(size) - 1``
    contiguous vectorised additions (6 for 21 entries). Unlike a running sum
    (``uniform_filter1d``, cumulative sums) no error accumulates along a line: each sum
    adds ``size`` numbers pairwise.
    """
    count = len(out)
    power, width, offset, started = array, 1, step, False
    # size is odd: its lowest binary digit is the array itself, at offset 0.
    while 2 * width <= size:
        span = len(array) - (2 * width - 1) * step
        target = scratch[0][:span]
        np.add(power[:span], power[width * step : width * step + span], out=target)
        power, width, scratch = target, 2 * width, scratch[::-1]
        if size & width:
            piece = power[offset : offset + count]
            if started:
                out += piece
            else:
                np.add(array[:count], piece, out=out)
                started = True
            offset += width * step
    if not started:  # size == 1
        out[...] = array[:count]
    return out


def box_valid(array: np.ndarray, radius: int) -> np.ndarray:
    """Sums over every ``(2r+1) x (2r+1)`` window inside ``array`` (its last two axes).

    The sums are built by doubling along one axis at a time (see :func:`_window_sums`): the
    cost grows with ``log r``, and no error accumulates along the image's rows or columns.

    Parameters
    ----------
    array : ndarray, shape (..., h, w)
        The values summed.
    radius : int
        Window radius ``r``.

    Returns
    -------
    ndarray, shape (..., h - 2r, w - 2r)
        The window sums, indexed by each window's top-left pixel.
    """
    array = np.asarray(array, dtype=np.float64)
    size = 2 * radius + 1
    h, w = array.shape[-2:]
    stack = array.reshape(-1, h, w)
    out = np.empty((len(stack), h - 2 * radius, w - 2 * radius))
    scratch = (np.empty(h * w), np.empty(h * w))
    rows = np.empty((h - 2 * radius) * w)
    valid = np.empty((h - 2 * radius, w))
    for plane, target in zip(stack, out, strict=True):
        _window_sums(plane.ravel(), size, w, rows, scratch)
        _window_sums(rows, size, 1, valid.ravel()[: len(rows) - 2 * radius], scratch)
        target[...] = valid[:, : w - 2 * radius]
    return out.reshape(*array.shape[:-2], h - 2 * radius, w - 2 * radius)


def box_full(array: np.ndarray, radius: int) -> np.ndarray:
    """For window values ``(..., h - 2r, w - 2r)``, each pixel's sum over the windows holding it.

    The transpose of :func:`box_valid`.

    Parameters
    ----------
    array : ndarray, shape (..., h - 2r, w - 2r)
        One value per window, indexed by its top-left pixel.
    radius : int
        Window radius ``r``.

    Returns
    -------
    ndarray, shape (..., h, w)
        Each pixel's sum over the windows holding it.
    """
    pad = 2 * radius
    padding = [(0, 0)] * (np.ndim(array) - 2) + [(pad, pad), (pad, pad)]
    return box_valid(np.pad(np.asarray(array, dtype=np.float64), padding), radius)


# The symmetric 4 x 4 matrix of a window, M = [[m, -(V mu)^T], [-V mu, V]] over (p, p I):
# the 10 entries of its upper triangle, and the position of entry (i, j) among them.
_PAIRS = ((0, 0), (0, 1), (0, 2), (0, 3), (1, 1), (1, 2), (1, 3), (2, 2), (2, 3), (3, 3))
_INDEX = ((0, 1, 2, 3), (1, 4, 5, 6), (2, 5, 7, 8), (3, 6, 8, 9))


def _window_counts(length: int, radius: int) -> np.ndarray:
    """How many windows of ``2r + 1`` pixels inside ``[0, length)`` hold each pixel."""
    pixel = np.arange(length)
    last = length - 2 * radius - 1  # first pixel of the last window
    return (np.minimum(pixel, last) - np.maximum(pixel - 2 * radius, 0) + 1).astype(np.float64)


class LargeKernelLaplacian:
    """The closed-form matting Laplacian ``L`` of an image, as an operator ``p -> L p``.

    Made by :func:`lkm_laplacian`. Has ``shape``, ``dtype``, ``matvec`` (also ``@`` and
    ``dot``) and ``diagonal()``, so ``scipy.sparse.linalg.aslinearoperator`` accepts it.
    ``L`` is symmetric, so ``rmatvec`` is ``matvec``.

    Each window's symmetric matrix ``M`` over ``(p, p I)`` is computed once (10 planes, one
    value per window, indexed by its top-left pixel). A product is: window sums ``P, Q`` of
    ``p`` and ``p I``, ``T = M (P, Q)`` per window, then each pixel's sums of ``T`` over the
    windows holding it (window sums of ``T`` with a zero border of ``2r``). Window values
    keep the image's row length ``w``: their last ``2r`` columns (windows that would run
    past the row's end) hold ``M = 0``, so ``T`` is zero there and doubles as the zero
    border between rows, and every box sum runs on contiguous 1-D arrays
    (:func:`_window_sums`). All buffers are allocated at the first product.

    Parameters
    ----------
    image : ndarray, shape (h, w, 3)
        RGB image with values in [0, 1].
    eps : float
        Regularisation of the window colour covariances.
    radius : int
        Window radius.
    """

    def __init__(self, image: np.ndarray, *, eps: float, radius: int) -> None:
        h, w = image.shape[:2]
        area = float((2 * radius + 1) ** 2)
        # The colours are centred on the image's mean: L depends only on each window's
        # I - mu_k, but the product forms a_k^T I_i - a_k^T mu_k from window sums, and where
        # a window is flat in some channel (a_k ~ 1/eps there) its rounding, ~1e-16 |a_k| |mu_k|,
        # grows with how far the colours lie from 0. Noise with one channel at 1 (or any
        # constant channel but 0) made the operator off by 5e-10 of its scale and asymmetric
        # by as much, and conjugate gradient broke down where the trimap leaves eigenvalues of
        # that size (few known pixels). Centred: 4e-16.
        # A copy always (np.array, not ascontiguousarray): it is centred in place.
        self.planes = np.array(image.transpose(2, 0, 1), dtype=np.float64, order="C")
        self.planes -= self.planes.reshape(len(self.planes), -1).mean(axis=1)[:, None, None]
        self.radius = radius
        self.eps = eps
        self.shape = (h * w, h * w)
        self.dtype = np.dtype(np.float64)
        planes = self.planes
        n, pad, size = h * w, 2 * radius, 2 * radius + 1
        n_windows = (h - 2 * radius) * w
        coefficients = np.zeros((10, h - 2 * radius, w))
        self._coefficients = coefficients
        # The product's buffers double as the set-up's work space (no extra peak memory).
        self._buffers = None
        sums, padded, gathered, scratch = self._allocated()

        def compact(flat: np.ndarray) -> np.ndarray:
            """The valid windows ``(h - 2r, w - 2r)`` of a window-values buffer."""
            return flat[:n_windows].reshape(h - 2 * radius, w)[:, : w - pad]

        def box(values: np.ndarray, flat: np.ndarray) -> np.ndarray:
            _window_sums(values.ravel(), size, w, gathered[:n_windows], scratch)
            _window_sums(gathered[:n_windows], size, 1, flat[: n_windows - pad], scratch)
            return compact(flat)

        temporary = compact(gathered)  # free between box sums
        # Means and covariances of the colours over each window: the means in the window
        # sums' planes, the covariances in M's first row (free until the end) and the rest.
        means = [box(planes[i], sums[i]) for i in range(3)]
        for mean in means:
            mean /= area
        places = (*coefficients[:4].reshape(4, -1), sums[3], padded)
        covariance = []
        for place, (i, j) in zip(
            places, ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)), strict=True
        ):
            product = np.multiply(planes[i], planes[j], out=padded[:n].reshape(h, w))
            sums_ij = box(product, place)
            sums_ij /= area
            sums_ij -= np.multiply(means[i], means[j], out=temporary)
            if i == j:
                sums_ij += eps / area
            covariance.append(sums_ij)
        # V = (Sigma + eps/n I)^-1 / n through a Cholesky factor, written into M's planes.
        # Not by cofactors: where a window's colours vary along one line (two flat colours,
        # the shading of one hue) Sigma has rank 1, its determinant is about 3 s (eps/n)^2
        # against terms of 2 s^2 eps/n, and the cofactors' rounding (1e-17) swamped it:
        # on stripes of black and white the operator was off by 0.9 and had eigenvalues
        # of -220. The factor is backward stable: V is the inverse of Sigma + eps/n I to
        # within a rounding of 1e-16 |Sigma|, far below eps/n.
        inner = coefficients[..., : w - pad]
        a, b, c, d, e, f = covariance  # (0,0) (0,1) (0,2) (1,1) (1,2) (2,2)
        np.sqrt(a, out=a)  # the factor's entries l11 .. l33, in place
        b /= a
        c /= a
        d -= np.multiply(b, b, out=temporary)
        np.sqrt(d, out=d)
        e -= np.multiply(b, c, out=temporary)
        e /= d
        f -= np.multiply(c, c, out=temporary)
        f -= np.multiply(e, e, out=temporary)
        np.sqrt(f, out=f)
        for diagonal in (a, d, f):  # then its inverse's, also lower triangular
            np.divide(1.0, diagonal, out=diagonal)
        b *= a
        b *= d
        np.negative(b, out=b)
        c *= a
        c += np.multiply(e, b, out=temporary)
        c *= f
        np.negative(c, out=c)
        e *= d
        e *= f
        np.negative(e, out=e)
        # V = L^-T L^-1 / n with L^-1 = [[a, 0, 0], [b, d, 0], [c, e, f]].
        v = [[inner[_INDEX[1 + i][1 + j]] for j in range(3)] for i in range(3)]
        np.multiply(a, a, out=v[0][0])
        v[0][0] += np.multiply(b, b, out=temporary)
        v[0][0] += np.multiply(c, c, out=temporary)
        np.multiply(b, d, out=v[0][1])
        v[0][1] += np.multiply(c, e, out=temporary)
        np.multiply(c, f, out=v[0][2])
        np.multiply(d, d, out=v[1][1])
        v[1][1] += np.multiply(e, e, out=temporary)
        np.multiply(e, f, out=v[1][2])
        np.multiply(f, f, out=v[2][2])
        del a, b, c, d, e, f, covariance
        inner[4:] *= 1.0 / area
        # V mu, then m = 1/n + mu^T V mu, then the first row -(V mu)^T.
        vmu = inner[1:4]
        for i in range(3):
            np.multiply(v[i][0], means[0], out=vmu[i])
            vmu[i] += np.multiply(v[i][1], means[1], out=temporary)
            vmu[i] += np.multiply(v[i][2], means[2], out=temporary)
        inner[0] = 1.0 / area
        for i in range(3):
            inner[0] += np.multiply(means[i], vmu[i], out=temporary)
        np.negative(vmu, out=vmu)
        # M = 0 on windows that would run past a row's end (the covariances' box sums
        # wrote there), and the padded buffer back to zeros.
        coefficients[..., w - pad :] = 0.0
        padded[:] = 0.0
        # Windows holding each pixel: a product of per-row and per-column counts.
        self._counts_y = _window_counts(h, radius)[:, None]
        self._counts_x = _window_counts(w, radius)

    def _allocated(self) -> tuple:
        """The product's buffers, allocated at the first use."""
        if self._buffers is None:
            h, w = self.planes.shape[1:]
            n, n_windows, pad = h * w, self._coefficients.shape[1] * w, 2 * self.radius
            piece = n if n <= _ONE_PIECE else n // 2
            self._buffers = (
                np.zeros((4, n_windows)),  # P, Q; the last 2r entries are never written
                # T between 2r zero rows on both sides; its first n entries also hold p I
                # and each pixel's gathered sums (the first 2r rows are then zeroed again).
                np.zeros(n + pad * w),
                np.empty(n + pad),  # column sums of T after 2r zeros
                # Half an image and a window's height: the box sums run in two pieces; in one
                # below _ONE_PIECE pixels, where each piece's dozen NumPy calls cost more
                # than the memory saved (a third of a 64 x 64 solve's products).
                (np.empty(piece + (pad + 1) * w), np.empty(piece + (pad + 1) * w)),
            )
        return self._buffers

    def _gather(self) -> np.ndarray:
        """Each pixel's sum of the window values in the padded buffer's centre (flat, n).

        The result lives in the padded buffer's first ``n`` entries, valid until the next
        call; the buffer's zero border is restored by the caller (:meth:`_centre`).
        """
        _, padded, gathered, scratch = self._allocated()
        w = self.planes.shape[2]
        pad, size = 2 * self.radius, 2 * self.radius + 1
        n = len(padded) - pad * w
        gathered[:pad] = 0.0
        _window_sums(padded, size, w, gathered[pad:], scratch)
        return _window_sums(gathered, size, 1, padded[:n], scratch)

    def _centre(self) -> np.ndarray:
        """The padded buffer's centre (window values), its zero border restored."""
        _, padded, _, _ = self._allocated()
        pad_entries = 2 * self.radius * self.planes.shape[2]
        padded[:pad_entries] = 0.0
        return padded[pad_entries : pad_entries + self._coefficients[0].size]

    def matvec(self, p: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``L p`` for a vector of ``h * w`` pixel values (row-major), into ``out`` if given.

        ``out`` (float64, ``h * w`` entries, not ``p``) saves a new array per product.

        Parameters
        ----------
        p : ndarray, shape (h*w,)
            Pixel values, row-major.
        out : ndarray, shape (h*w,), optional
            Where to write the product.

        Returns
        -------
        ndarray, shape (h*w,)
            ``L p`` (``out`` when given).
        """
        planes, c = self.planes, self._coefficients
        h, w = planes.shape[1:]
        pad, size = 2 * self.radius, 2 * self.radius + 1
        n, n_windows = h * w, c.shape[1] * w
        p = np.asarray(p, dtype=np.float64).reshape(h, w)
        sums, padded, gathered, scratch = self._allocated()
        # Per window k: P_k = sum p, Q_k = sum p I; then T_k = M_k (P_k, Q_k) and per pixel
        # (L p)_i = c_i p_i - sum_{k holds i} (T_k0 + I_i . T_k[1:]).
        rows = gathered[:n_windows]
        for m in range(4):
            source = p if m == 0 else np.multiply(planes[m - 1], p, out=padded[:n].reshape(h, w))
            _window_sums(source.ravel(), size, w, rows, scratch)
            _window_sums(rows, size, 1, sums[m, : n_windows - pad], scratch)
        result = np.empty((h, w)) if out is None else out.reshape(h, w)
        np.multiply(p, self._counts_y, out=result)
        result *= self._counts_x
        flat_result = result.ravel()
        c = c.reshape(10, n_windows)
        for i in range(4):
            centre, term = self._centre(), gathered[:n_windows]
            np.multiply(c[_INDEX[i][0]], sums[0], out=centre)
            for j in range(1, 4):
                centre += np.multiply(c[_INDEX[i][j]], sums[j], out=term)
            summed = self._gather()
            if i > 0:
                summed *= planes[i - 1].ravel()
            flat_result -= summed
        return flat_result

    rmatvec = matvec

    def dot(self, p: np.ndarray) -> np.ndarray:
        """``L p``, as :meth:`matvec` (a new array).

        Parameters
        ----------
        p : ndarray, shape (h*w,)
            Pixel values, row-major.

        Returns
        -------
        ndarray, shape (h*w,)
            ``L p``.
        """
        return self.matvec(p)

    def __matmul__(self, p: np.ndarray) -> np.ndarray:
        return self.matvec(p)

    def diagonal(self) -> np.ndarray:
        """``diag(L)`` from each pixel's sums of ``M`` over the windows holding it.

        Returns
        -------
        ndarray, shape (h*w,)
            The diagonal, float64, pixels in row-major order.
        """
        # diag_i = c_i - sum_k (m_k - 2 I_i . V_k mu_k + I_i^T V_k I_i), with x = (1, I_i):
        # c_i - sum_k x^T M_k x, one of M's 10 planes at a time (off-diagonal ones twice).
        planes, c = self.planes, self._coefficients
        diagonal = (self._counts_y * self._counts_x).ravel()
        for index, (i, j) in enumerate(_PAIRS):
            self._centre()[...] = c[index].ravel()
            summed = self._gather()
            if i > 0:
                summed *= planes[i - 1].ravel()
            if j > 0:
                summed *= planes[j - 1].ravel()
            if i != j:
                summed *= 2.0
            diagonal -= summed
        return diagonal


def lkm_laplacian(
    image: np.ndarray, *, eps: float = 1e-7, radius: int = 10
) -> LargeKernelLaplacian:
    """Closed-form matting Laplacian at a large radius, as a matrix-free operator.

    Parameters
    ----------
    image : ndarray, shape (h, w, 3)
        RGB image with values in [0, 1].
    eps : float, optional
        Regularisation of each window's colour covariance (PyMatting's ``epsilon``).
    radius : int, optional
        Window radius ``r`` (PyMatting's default 10: 21 x 21 windows). The cost of a
        product grows with ``log r`` (box sums by doubling).

    Returns
    -------
    LargeKernelLaplacian
        Operator with ``matvec``/``@`` and ``diagonal()``; equal to
        :func:`vecmatte.matting_laplacian` with the same ``eps`` and ``radius``.

    Raises
    ------
    ValueError
        If the image is not ``(h, w, 3)`` in [0, 1] or smaller than one window, or an
        option is out of range.

    Notes
    -----
    He, Sun and Tang, "Fast Matting Using Large Kernel Matting Laplacian Matrices", CVPR
    2010. Writing ``V_k = (Sigma_k + eps/n I)^-1 / n``, the product is

    .. math::

        (L p)_i = c_i p_i - I_i^T \\sum_{k \\ni i} (V_k Q_k - V_k \\mu_k P_k)
            - \\sum_{k \\ni i} (P_k (1/n + \\mu_k^T V_k \\mu_k) - \\mu_k^T V_k Q_k)

    with ``P_k``, ``Q_k`` the window sums of ``p`` and ``p I`` and ``c_i`` the number of
    windows holding pixel ``i``: box sums over windows, then over the windows of each pixel.
    A ``(4r+1)^2``-entry-per-row matrix is never formed.

    Examples
    --------
    >>> import numpy as np
    >>> from vecmatte.laplacians.large_kernel import lkm_laplacian
    >>> L = lkm_laplacian(np.random.default_rng(0).random((30, 30, 3)), radius=3)
    >>> bool(abs(L @ np.ones(900)).max() < 1e-6)
    True
    """
    image = check_image(image)
    radius, eps = check_radius_eps(radius, eps, image.shape, model="large-kernel")
    return LargeKernelLaplacian(image, eps=eps, radius=radius)
