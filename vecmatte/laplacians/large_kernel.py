"""Large-kernel matting Laplacian (He, Sun, Tang 2010): the closed-form Laplacian at a large
window radius, applied without building it, from box sums of the image and of ``p * I``."""

from __future__ import annotations

import numpy as np

from vecmatte._validation import check_image, check_radius_eps

__all__ = ["LargeKernelLaplacian", "box_full", "box_valid", "lkm_laplacian"]


def box_valid(array: np.ndarray, radius: int) -> np.ndarray:
    """Sums over every ``(2r+1) x (2r+1)`` window inside ``array`` (its last two axes).

    Returns an array ``(..., h - 2r, w - 2r)`` indexed by each window's top-left pixel.
    SciPy's running-sum filters make the cost independent of the radius, and each sum is
    accumulated along one image row or column only (no image-wide integral, whose
    differences would lose digits).
    """
    from scipy.ndimage import uniform_filter1d

    size = 2 * radius + 1
    h, w = array.shape[-2:]
    rows = uniform_filter1d(array, size, axis=-2, mode="constant")[..., radius : h - radius, :]
    sums = uniform_filter1d(rows, size, axis=-1, mode="constant")[..., radius : w - radius]
    sums *= size * size
    return sums


def box_full(array: np.ndarray, radius: int) -> np.ndarray:
    """For window values ``(..., h - 2r, w - 2r)``, each pixel's sum over the windows holding it.

    Returns an array ``(..., h, w)``; the transpose of :func:`box_valid`.
    """
    from scipy.ndimage import uniform_filter1d

    size, pad = 2 * radius + 1, 2 * radius
    h, w = array.shape[-2:]
    # One axis at a time: zero-pad it by 2r on both sides, then running sums along it.
    padded = np.zeros((*array.shape[:-2], h + 2 * pad, w))
    padded[..., pad:-pad, :] = array
    rows = uniform_filter1d(padded, size, axis=-2, mode="constant")[..., radius:-radius, :]
    padded = np.zeros((*array.shape[:-2], h + pad, w + 2 * pad))
    padded[..., pad:-pad] = rows
    sums = uniform_filter1d(padded, size, axis=-1, mode="constant")[..., radius:-radius]
    sums *= size * size
    return sums


_PAIRS = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))
# Position in _PAIRS of the entry (i, j) of a symmetric 3 x 3 matrix.
_PAIR_INDEX = ((0, 1, 2), (1, 3, 4), (2, 4, 5))


def _window_counts(length: int, radius: int) -> np.ndarray:
    """How many windows of ``2r + 1`` pixels inside ``[0, length)`` hold each pixel."""
    pixel = np.arange(length)
    last = length - 2 * radius - 1  # first pixel of the last window
    return (np.minimum(pixel, last) - np.maximum(pixel - 2 * radius, 0) + 1).astype(np.float64)


class LargeKernelLaplacian:
    """The closed-form matting Laplacian ``L`` of an image, as an operator ``p -> L p``.

    Made by :func:`lkm_laplacian`. Has ``shape``, ``dtype``, ``matvec`` (also ``@`` and
    ``dot``) and ``diagonal()``, so ``scipy.sparse.linalg.aslinearoperator`` accepts it.
    ``L`` is symmetric, so ``rmatvec`` is ``matvec``. Colour channels are stored as planes
    ``(3, h, w)``, so that every step is arithmetic on contiguous 2-D arrays.

    Each window's coefficients are stored at its centre pixel, with zeros on the border of
    width ``r`` where no window is centred: one centred running mean then gives the window
    sums, and the same filter applied to window values with zero borders gives each pixel's
    sum over the windows holding it. A product is such filters of five planes and a few
    multiply-adds on six preallocated planes (no padding, no image-sized temporaries).
    The number of windows holding a pixel is the product of a row and a column count.
    """

    def __init__(self, image: np.ndarray, *, eps: float, radius: int) -> None:
        h, w = image.shape[:2]
        area = (2 * radius + 1) ** 2
        self.planes = np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float64)
        self.radius = radius
        self.eps = eps
        self.shape = (h * w, h * w)
        self.dtype = np.dtype(np.float64)
        planes = self.planes
        inner = (slice(radius, h - radius), slice(radius, w - radius))
        # Window coefficients at the windows' centres, zero on the border: the 6 entries of
        # V = (Sigma + eps/n I)^-1 / n (symmetric), V mu, and m = 1/n + mu^T V mu. The
        # filters give means, not sums: the factor area**2 of two box sums is folded in.
        coefficients = np.zeros((10, h, w))
        window = [coefficients[(index, *inner)] for index in range(10)]
        # Means and covariances of the colours by box sums, one channel pair at a time.
        means = box_valid(planes, radius)
        means /= area
        covariance = []
        for i, j in _PAIRS:
            sums = box_valid(planes[i] * planes[j], radius)
            sums /= area
            sums -= means[i] * means[j]
            if i == j:
                sums += eps / area
            covariance.append(sums)
        # The inverse by cofactors, written straight into the coefficient planes.
        a, b, c, d, e, f = covariance
        np.subtract(d * f, e * e, out=window[0])
        np.subtract(c * e, b * f, out=window[1])
        np.subtract(b * e, c * d, out=window[2])
        np.subtract(a * f, c * c, out=window[3])
        np.subtract(b * c, a * e, out=window[4])
        np.subtract(a * d, b * b, out=window[5])
        scale = a * window[0]
        scale += b * window[1]
        scale += c * window[2]
        del a, b, c, d, e, f, covariance
        np.divide(float(area), scale, out=scale)  # area**2 / (det * area)
        for index in range(6):
            window[index] *= scale
        del scale
        # V mu and m, with the same factor area**2 (m's 1/n becomes area).
        for i in range(3):
            for j in range(3):
                np.add(window[6 + i], window[_PAIR_INDEX[i][j]] * means[j], out=window[6 + i])
        window[9][...] = area
        for i in range(3):
            window[9] += means[i] * window[6 + i]
        self._coefficients = coefficients
        # Windows holding each pixel: a product of per-row and per-column counts.
        self._counts_y = _window_counts(h, radius)[:, None]
        self._counts_x = _window_counts(w, radius)
        self._work = np.empty((4, h, w))
        self._term = np.empty((h, w))
        self._scratch = np.empty((h, w))

    def matvec(self, p: np.ndarray) -> np.ndarray:
        """``L p`` for a vector of ``h * w`` pixel values (row-major)."""
        from scipy.ndimage import uniform_filter1d

        planes, c = self.planes, self._coefficients
        h, w = planes.shape[1:]
        size = 2 * self.radius + 1
        p = np.asarray(p, dtype=np.float64).reshape(h, w)
        work, term, scratch = self._work, self._term, self._scratch
        # Per window k: P_k = sum p, Q_k = sum p I; then per pixel i
        # (L p)_i = c_i p_i - sum_k (P_k m_k - V mu . Q_k) - I_i . sum_k (V Q_k - V mu P_k).
        # The filters work in place (each line is read whole before it is written); the four
        # window terms are made and gathered one plane at a time.
        work[0] = p
        np.multiply(planes, p, out=work[1:])
        uniform_filter1d(work, size, axis=-2, output=work, mode="constant")
        uniform_filter1d(work, size, axis=-1, output=work, mode="constant")
        window_p, window_pi = work[0], work[1:]
        result = p * self._counts_y
        result *= self._counts_x
        for i in range(-1, 3):
            if i < 0:
                np.multiply(c[9], window_p, out=term)
                for j in range(3):
                    np.multiply(c[6 + j], window_pi[j], out=scratch)
                    term -= scratch
            else:
                np.multiply(c[6 + i], window_p, out=term)
                np.negative(term, out=term)
                for j in range(3):
                    np.multiply(c[_PAIR_INDEX[i][j]], window_pi[j], out=scratch)
                    term += scratch
            uniform_filter1d(term, size, axis=-2, output=term, mode="constant")
            uniform_filter1d(term, size, axis=-1, output=term, mode="constant")
            if i >= 0:
                term *= planes[i]
            result -= term
        return result.ravel()

    rmatvec = matvec

    def dot(self, p: np.ndarray) -> np.ndarray:
        return self.matvec(p)

    def __matmul__(self, p: np.ndarray) -> np.ndarray:
        return self.matvec(p)

    def diagonal(self) -> np.ndarray:
        """``diag(L)`` from box sums of ``V``, ``V mu`` and ``mu^T V mu`` over the windows."""
        # diag_i = sum_k (1 - m_k) + 2 I_i . sum_k V_k mu_k - I_i^T (sum_k V_k) I_i, one
        # window quantity at a time (V symmetric: 6 entries). The stored coefficients carry
        # area**2 and the centred filter gives means: together one factor area too many.
        from scipy.ndimage import uniform_filter

        planes, c = self.planes, self._coefficients
        size = 2 * self.radius + 1
        area = float(size) ** 2

        def gather(values: np.ndarray) -> np.ndarray:
            summed = uniform_filter(values, size, mode="constant")
            summed /= area
            return summed

        diagonal = self._counts_y * self._counts_x - gather(c[9])
        for i in range(3):
            diagonal += 2.0 * planes[i] * gather(c[6 + i])
        for index, (i, j) in enumerate(_PAIRS):
            factor = 1.0 if i == j else 2.0
            diagonal -= factor * planes[i] * planes[j] * gather(c[index])
        return diagonal.ravel()


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
        product does not depend on it.

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
    radius, eps = check_radius_eps(radius, eps, image.shape)
    return LargeKernelLaplacian(image, eps=eps, radius=radius)
