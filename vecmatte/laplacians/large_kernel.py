"""Large-kernel matting Laplacian (He, Sun, Tang 2010): the closed-form Laplacian at a large
window radius, applied without building it, from box sums of the image and of ``p * I``."""

from __future__ import annotations

import numpy as np

from vecmatte._validation import check_image, check_radius_eps

__all__ = ["LargeKernelLaplacian", "box_full", "box_valid", "lkm_laplacian"]


def box_valid(array: np.ndarray, radius: int) -> np.ndarray:
    """Sums over every ``(2r+1) x (2r+1)`` window inside ``array`` (leading two axes).

    Returns an array ``(h - 2r, w - 2r, ...)`` indexed by each window's top-left pixel.
    Cumulative sums make the cost independent of the radius.
    """
    size = 2 * radius + 1
    h, w = array.shape[:2]
    # Integral image with a leading row and column of zeros.
    integral = np.zeros((h + 1, w + 1, *array.shape[2:]))
    np.cumsum(array, axis=0, out=integral[1:, 1:])
    np.cumsum(integral[1:, 1:], axis=1, out=integral[1:, 1:])
    return (
        integral[size:, size:]
        - integral[:-size, size:]
        - integral[size:, :-size]
        + integral[:-size, :-size]
    )


def box_full(array: np.ndarray, radius: int) -> np.ndarray:
    """For window values ``(h - 2r, w - 2r, ...)``, each pixel's sum over the windows holding it.

    Returns an array ``(h, w, ...)``; the transpose of :func:`box_valid`.
    """
    pad = 2 * radius
    widths = [(pad, pad), (pad, pad)] + [(0, 0)] * (array.ndim - 2)
    return box_valid(np.pad(array, widths), radius)


_PAIRS = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))


class LargeKernelLaplacian:
    """The closed-form matting Laplacian ``L`` of an image, as an operator ``p -> L p``.

    Made by :func:`lkm_laplacian`. Has ``shape``, ``dtype``, ``matvec`` (also ``@`` and
    ``dot``) and ``diagonal()``, so ``scipy.sparse.linalg.aslinearoperator`` accepts it.
    ``L`` is symmetric, so ``rmatvec`` is ``matvec``.
    """

    def __init__(self, image: np.ndarray, *, eps: float, radius: int) -> None:
        h, w = image.shape[:2]
        area = (2 * radius + 1) ** 2
        self.image = image
        self.radius = radius
        self.eps = eps
        self.shape = (h * w, h * w)
        self.dtype = np.dtype(np.float64)
        # Window statistics: means and covariances of the colours by box sums.
        means = box_valid(image, radius) / area
        covariance = np.empty((*means.shape[:2], 3, 3))
        # One channel pair at a time (6 of the 9 by symmetry): a few image-sized arrays at
        # the peak rather than all nine products and their integral images.
        for i, j in _PAIRS:
            sums = box_valid(image[:, :, i] * image[:, :, j], radius)
            sums /= area
            sums -= means[:, :, i] * means[:, :, j]
            covariance[:, :, i, j] = sums
            covariance[:, :, j, i] = sums
        covariance[:, :, [0, 1, 2], [0, 1, 2]] += eps / area
        # V = (Sigma + eps/n I)^-1 / n, and the parts of each window's term that do not
        # depend on p: V mu and 1/n + mu^T V mu.
        self._inverse = np.linalg.inv(covariance) / area
        self._inverse_mean = np.einsum("...ij,...j->...i", self._inverse, means)
        self._mean_term = 1.0 / area + np.einsum("...i,...i->...", means, self._inverse_mean)
        self._counts = box_full(np.ones(means.shape[:2]), radius)

    def matvec(self, p: np.ndarray) -> np.ndarray:
        """``L p`` for a vector of ``h * w`` pixel values (row-major)."""
        h, w = self.image.shape[:2]
        p = np.asarray(p, dtype=np.float64).reshape(h, w)
        # Per window k: P_k = sum p, Q_k = sum p I; then per pixel i
        # (L p)_i = c_i p_i - I_i . sum_k (V Q_k - V mu P_k) - sum_k (P_k m_k - V mu . Q_k).
        stacked = np.empty((h, w, 4))
        stacked[:, :, 0] = p
        np.multiply(p[:, :, None], self.image, out=stacked[:, :, 1:])
        sums = box_valid(stacked, self.radius)
        window_p, window_pi = sums[:, :, 0], sums[:, :, 1:]
        terms = np.empty_like(sums)
        terms[:, :, 1:] = np.einsum("...ij,...j->...i", self._inverse, window_pi)
        terms[:, :, 1:] -= window_p[:, :, None] * self._inverse_mean
        terms[:, :, 0] = window_p * self._mean_term
        terms[:, :, 0] -= np.einsum("...i,...i->...", window_pi, self._inverse_mean)
        gathered = box_full(terms, self.radius)
        result = self._counts * p
        result -= gathered[:, :, 0]
        result -= np.einsum("...i,...i->...", self.image, gathered[:, :, 1:])
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
        image, radius = self.image, self.radius
        diagonal = box_full(1.0 - self._mean_term, radius)
        for i in range(3):
            diagonal += 2.0 * image[:, :, i] * box_full(self._inverse_mean[:, :, i], radius)
        for i, j in _PAIRS:
            factor = 1.0 if i == j else 2.0
            sums = box_full(np.ascontiguousarray(self._inverse[:, :, i, j]), radius)
            diagonal -= factor * image[:, :, i] * image[:, :, j] * sums
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
