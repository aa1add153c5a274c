"""PyMatting's Laplacians and ``make_linear_system`` (``pymatting.laplacian``), on vecmatte's.

Each returns the matrix PyMatting returns: the graph Laplacians (KNN, random walk, uniform)
in PyMatting's random-walk form ``(1 + reg) I - D^-1 W``, which is not symmetric (vecmatte's
methods solve the symmetric form ``D`` times it, see :mod:`vecmatte.laplacians.random_walk`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike

from vecmatte.compat.pymatting._common import (
    PyMattingAssertionError,
    channels_image,
    check_radius,
    more_than_three,
    rgb_image,
    zero_padded,
)
from vecmatte.compat.pymatting.util import trimap_split, weights_to_laplacian

__all__ = [
    "LAPLACIANS",
    "LAPLACIAN_OPERATORS",
    "cf_laplacian",
    "knn_laplacian",
    "lbdm_laplacian",
    "lkm_laplacian",
    "make_linear_system",
    "rw_laplacian",
    "uniform_laplacian",
]


def _image(image: ArrayLike, radius=1) -> np.ndarray:
    check_radius(radius)
    return rgb_image(image)


def cf_laplacian(
    image: ArrayLike, epsilon: float = 1e-7, radius: int = 1, is_known: ArrayLike | None = None
):
    """Closed-form matting Laplacian (Levin et al. 2008): :func:`vecmatte.matting_laplacian`.

    ``is_known`` (flat or ``(h, w)`` bool) skips the windows made only of known pixels, as
    PyMatting; the rows of known pixels are then not meaningful.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (h*w, h*w)
    """
    from vecmatte.laplacians.closed_form import matting_laplacian

    image = _image(image, radius)
    known = None if is_known is None else np.asarray(is_known, dtype=bool).reshape(image.shape[:2])
    return matting_laplacian(image, eps=epsilon, radius=radius, known=known)


def knn_laplacian(
    image: ArrayLike,
    n_neighbors: Sequence[int] = [20, 10],  # PyMatting's default, never modified
    distance_weights: Sequence[float] = [2.0, 0.1],
    kernel: str = "binary",
):
    """KNN matting Laplacian ``I - D^-1 W`` (Chen et al. 2013): vecmatte's, random-walk form.

    See :func:`vecmatte.laplacians.knn.knn_laplacian` for the parameters.

    Raises
    ------
    ValueError
        If ``kernel`` is not ``"binary"`` or ``"soft"`` (as PyMatting).
    """
    from vecmatte.laplacians.knn import knn_laplacian as laplacian

    if kernel not in ("binary", "soft"):
        raise ValueError(f"kernel must be binary/soft, but not {kernel!r}")
    return laplacian(
        _image(image),
        n_neighbors=n_neighbors,
        distance_weights=distance_weights,
        kernel=kernel,
        form="random_walk",
    )


def lkm_laplacian(
    image: ArrayLike, epsilon: float = 1e-7, radius: int = 10, return_diagonal: bool = True
):
    """Large-kernel matting Laplacian as a function ``p -> L p`` (He et al. 2010).

    The closed-form Laplacian at radius ``radius``, never formed as a matrix:
    :func:`vecmatte.laplacians.large_kernel.lkm_laplacian`. Images of one or two channels
    ``(h, w, d)`` give PyMatting's ``d``-channel Laplacian (zero channels are added, which
    change no covariance term); images of more than three (RGBA) too, with PyMatting's own
    ``d x d`` covariances.

    Returns
    -------
    L_matvec : callable
        ``p -> L p`` on flat ``(h*w,)`` vectors.
    diag_L : ndarray, shape (h*w,)
        The diagonal of ``L``, only with ``return_diagonal=True``.

    Raises
    ------
    PyMattingAssertionError
        (an ``AssertionError`` as PyMatting, and a ``ValueError``) for an image smaller than
        one ``(2 radius + 1)`` window.
    """
    from vecmatte.laplacians.large_kernel import lkm_laplacian as laplacian

    if more_than_three(image):
        check_radius(radius)
        return _lkm_laplacian_channels(channels_image(image), epsilon, radius, return_diagonal)
    image = _image(zero_padded(image), radius)
    try:
        operator = laplacian(image, eps=epsilon, radius=radius)
    except ValueError as error:
        # np.int64 too (a whole number: check_radius); a float radius is vecmatte's to refuse
        size = 2 * radius + 1 if isinstance(radius, int | np.integer) else None
        if size is not None and min(image.shape[:2]) < size:
            # PyMatting's boxfilter asserts on an image smaller than one window
            raise PyMattingAssertionError(str(error)) from None
        raise
    if return_diagonal:
        return operator.matvec, operator.diagonal()
    return operator.matvec


def _lkm_laplacian_channels(image: np.ndarray, epsilon, radius, return_diagonal: bool):
    """PyMatting's large-kernel Laplacian over all ``d`` channels of ``image`` (its formula,
    on the shim's box filter): vecmatte's own is written out for three."""
    from vecmatte._validation import check_radius_eps
    from vecmatte.compat.pymatting.filters import boxfilter
    from vecmatte.compat.pymatting.util import mat_vec_dot, vec_vec_dot, vec_vec_outer

    h, w, depth = image.shape
    try:
        radius, epsilon = check_radius_eps(radius, epsilon, image.shape, model="large-kernel")
    except ValueError as error:
        if min(h, w) < 2 * radius + 1:  # PyMatting's boxfilter asserts
            raise PyMattingAssertionError(str(error)) from None
        raise
    area = (2 * radius + 1) ** 2
    means = boxfilter(image, radius, mode="valid") / area
    covariances = boxfilter(vec_vec_outer(image, image), radius, mode="valid") / area
    covariances -= vec_vec_outer(means, means)
    V = np.linalg.inv(covariances + epsilon / area * np.eye(depth)) / area
    Vm = mat_vec_dot(V, means)
    mVm = 1 / area + vec_vec_dot(means, Vm)
    counts = boxfilter(np.ones((h - 2 * radius, w - 2 * radius)), radius, mode="full")

    def L_matvec(p: np.ndarray) -> np.ndarray:
        p = np.reshape(p, (h, w))
        p_sums = boxfilter(p, radius, mode="valid")
        pI_sums = boxfilter(p[:, :, np.newaxis] * image, radius, mode="valid")
        p_L = counts * p
        temp = p_sums[:, :, np.newaxis] * Vm - mat_vec_dot(V, pI_sums)
        p_L += vec_vec_dot(image, boxfilter(temp, radius, mode="full"))
        temp = p_sums * mVm - vec_vec_dot(pI_sums, Vm)
        p_L -= boxfilter(temp, radius, mode="full")
        return p_L.flatten()

    if not return_diagonal:
        return L_matvec
    diagonal = boxfilter(1.0 - mVm, radius, mode="full")
    temp = 2 * boxfilter(Vm, radius, mode="full")
    temp -= mat_vec_dot(boxfilter(V, radius, mode="full"), image)
    diagonal += vec_vec_dot(image, temp)
    return L_matvec, diagonal.flatten()


def lbdm_laplacian(image: ArrayLike, epsilon: float = 1e-7, radius: int = 1):
    """Learning-based matting Laplacian (Zheng, Kambhamettu 2009): vecmatte's.

    Of an image with more than three channels (RGBA), the first three are used, as PyMatting.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (h*w, h*w)
    """
    from vecmatte.laplacians.lbdm import lbdm_laplacian as laplacian

    if more_than_three(image):  # PyMatting reads the first three channels
        image = np.asarray(image)[:, :, :3]
    return laplacian(_image(image, radius), eps=epsilon, radius=radius)


def rw_laplacian(
    image: ArrayLike, sigma: float = 0.033, radius: int = 1, regularization: float = 1e-8
):
    """Random walk Laplacian ``(1 + reg) I - D^-1 W``, weights ``exp(-900 |I_i - I_j|^2)``.

    As in PyMatting, ``sigma`` is not used: the weights are always those of sigma = 1/30.
    vecmatte's own :func:`vecmatte.laplacians.random_walk.rw_laplacian` honours it. Images of
    any number of channels ``(h, w, d)`` (gray, RGBA) give PyMatting's distances over their
    ``d`` channels.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (h*w, h*w)

    Raises
    ------
    ValueError
        If ``radius`` is not smaller than the image's larger side, whatever its channels
        (PyMatting adds clamped copies of the border, or fails with a MemoryError).
    """
    from vecmatte.laplacians.random_walk import SIGMA
    from vecmatte.laplacians.random_walk import rw_laplacian as laplacian

    if more_than_three(image):
        return _rw_laplacian_channels(channels_image(image), radius, regularization)
    return laplacian(
        _image(zero_padded(image), radius),
        sigma=SIGMA,
        radius=radius,
        regularization=regularization,
    )


def _rw_laplacian_channels(image: np.ndarray, radius, regularization):
    """PyMatting's random-walk Laplacian over all ``d`` channels of ``image``: the weights
    ``exp(-900 |I_i - I_j|^2)`` of vecmatte's window stencil (coordinates clamped to the
    image, PyMatting's border rule), with the radius refused as for three channels."""
    from vecmatte._numbers import finite_number
    from vecmatte._validation import check_radius_fits
    from vecmatte.laplacians._stencil import rows_to_csr
    from vecmatte.laplacians.random_walk import SIGMA, window_stencil
    from vecmatte.laplacians.random_walk import check_radius as positive_radius

    check_radius(radius)
    # A radius at or past the image's larger side adds only clamped copies of the border
    # (refused for RGB): r = 300 on 5 x 5 RGBA took 22 s, 10**6 never ended.
    radius = check_radius_fits(positive_radius(radius), "radius", image.shape, radius)
    regularization = finite_number(
        regularization, "regularization", "a finite number >= 0", minimum=0
    )
    h, w = image.shape[:2]
    columns, values = window_stencil(image, np.arange(h * w), radius, SIGMA)
    return weights_to_laplacian(rows_to_csr(columns, values, h * w), regularization=regularization)


def uniform_laplacian(image: ArrayLike, radius: int = 1):
    """Laplacian ``I - D^-1 W`` of the pixel grid with all window weights one.

    The colours are not used: images of any number of channels are taken, as PyMatting.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (h*w, h*w)
    """
    from vecmatte.laplacians.uniform import uniform_laplacian as laplacian

    if np.ndim(image) == 3 and np.shape(image)[2] not in (1, 3):
        image = channels_image(image)[:, :, 0]
    return laplacian(_image(image, radius), radius=radius)


def make_linear_system(L, trimap: ArrayLike, lambda_value: float = 100.0, return_c: bool = False):
    """Soft-constraint system ``A = L + lambda C``, ``b = lambda is_fg`` over all pixels.

    ``C`` is the diagonal of known pixels (PyMatting's inclusive thresholds 0.1 and 0.9).

    Returns
    -------
    A : scipy.sparse.csr_matrix, shape (h*w, h*w)
    b : ndarray, shape (h*w,)
    c : ndarray, shape (h*w,)
        ``lambda`` times the known pixels, only with ``return_c=True``.

    Raises
    ------
    ValueError
        If the trimap has no background or no foreground pixels.
    """
    import scipy.sparse

    is_fg, _, is_known, _ = trimap_split(trimap)
    c = lambda_value * is_known
    b = lambda_value * is_fg
    A = (L + scipy.sparse.diags(c)).tocsr()
    A.sum_duplicates()
    if return_c:
        return A, b, c
    return A, b


#: The Laplacians that return a sparse matrix, as PyMatting's list (its order).
LAPLACIANS: list[Callable] = [
    cf_laplacian,
    knn_laplacian,
    lbdm_laplacian,
    rw_laplacian,
    uniform_laplacian,
]

#: The matrix-free Laplacians.
LAPLACIAN_OPERATORS: list[Callable] = [lkm_laplacian]
