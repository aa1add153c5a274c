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


class LargeKernelLaplacian:
    """The closed-form matting Laplacian ``L`` of an image, as an operator ``p -> L p``.

    Made by :func:`lkm_laplacian`. Has ``shape``, ``dtype``, ``matvec`` (also ``@`` and
    ``dot``) and ``diagonal()``, so ``scipy.sparse.linalg.aslinearoperator`` accepts it.
    ``L`` is symmetric, so ``rmatvec`` is ``matvec``. Colour channels are stored as planes
    ``(3, h, w)``, so that every step is arithmetic on contiguous 2-D arrays.
    """

    def __init__(self, image: np.ndarray, *, eps: float, radius: int) -> None:
        h, w = image.shape[:2]
        area = (2 * radius + 1) ** 2
        self.planes = np.ascontiguousarray(image.transpose(2, 0, 1))
        self.radius = radius
        self.eps = eps
        self.shape = (h * w, h * w)
        self.dtype = np.dtype(np.float64)
        planes = self.planes
        # Window statistics: means and covariances of the colours by box sums, one channel
        # pair at a time (6 of the 9 by symmetry) to keep few image-sized arrays alive.
        means = box_valid(planes, radius) / area
        covariance = np.empty((*means.shape[1:], 3, 3))
        for i, j in _PAIRS:
            sums = box_valid(planes[i] * planes[j], radius)
            sums /= area
            sums -= means[i] * means[j]
            covariance[:, :, i, j] = sums
            covariance[:, :, j, i] = sums
        covariance[:, :, [0, 1, 2], [0, 1, 2]] += eps / area
        # V = (Sigma + eps/n I)^-1 / n, and the parts of each window's term that do not
        # depend on p: V mu and m = 1/n + mu^T V mu.
        inverse = np.linalg.inv(covariance)
        del covariance
        inverse /= area
        self._inverse = np.ascontiguousarray(inverse.transpose(2, 3, 0, 1))  # (3, 3, ...)
        del inverse
        self._inverse_mean = np.einsum("ij...,j...->i...", self._inverse, means)
        self._mean_term = 1.0 / area + np.einsum("i...,i...->...", means, self._inverse_mean)
        self._counts = box_full(np.ones(means.shape[1:]), radius)

    def matvec(self, p: np.ndarray) -> np.ndarray:
        """``L p`` for a vector of ``h * w`` pixel values (row-major)."""
        planes, inverse, inverse_mean = self.planes, self._inverse, self._inverse_mean
        h, w = planes.shape[1:]
        p = np.asarray(p, dtype=np.float64).reshape(h, w)
        # Per window k: P_k = sum p, Q_k = sum p I; then per pixel i
        # (L p)_i = c_i p_i - I_i . sum_k (V Q_k - V mu P_k) - sum_k (P_k m_k - V mu . Q_k).
        stacked = np.empty((4, h, w))
        stacked[0] = p
        np.multiply(planes, p, out=stacked[1:])
        sums = box_valid(stacked, self.radius)
        window_p, window_pi = sums[0], sums[1:]
        terms = np.empty(sums.shape)
        for i in range(3):
            np.multiply(inverse_mean[i], window_p, out=terms[1 + i])
            np.negative(terms[1 + i], out=terms[1 + i])
            for j in range(3):
                terms[1 + i] += inverse[i, j] * window_pi[j]
        np.multiply(self._mean_term, window_p, out=terms[0])
        for j in range(3):
            terms[0] -= inverse_mean[j] * window_pi[j]
        gathered = box_full(terms, self.radius)
        result = self._counts * p
        result -= gathered[0]
        for i in range(3):
            result -= planes[i] * gathered[1 + i]
        return result.ravel()

    rmatvec = matvec

    def dot(self, p: np.ndarray) -> np.ndarray:
        return self.matvec(p)

    def __matmul__(self, p: np.ndarray) -> np.ndarray:
        return self.matvec(p)

    def diagonal(self) -> np.ndarray:
        """``diag(L)`` from box sums of ``V``, ``V mu`` and ``mu^T V mu`` over the windows."""
        # diag_i = sum_k (1 - m_k) + 2 I_i . sum_k V_k mu_k - I_i^T (sum_k V_k) I_i, one
        # window quantity at a time (V symmetric: 6 entries).
        planes, radius = self.planes, self.radius
        diagonal = box_full(1.0 - self._mean_term, radius)
        for i in range(3):
            diagonal += 2.0 * planes[i] * box_full(self._inverse_mean[i], radius)
        for i, j in _PAIRS:
            factor = 1.0 if i == j else 2.0
            diagonal -= factor * planes[i] * planes[j] * box_full(self._inverse[i, j], radius)
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
