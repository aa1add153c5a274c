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
    check_radius,
    rgb_image,
    zero_padded,
)
from vecmatte.compat.pymatting.util import trimap_split

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
    change no covariance term).

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


def lbdm_laplacian(image: ArrayLike, epsilon: float = 1e-7, radius: int = 1):
    """Learning-based matting Laplacian (Zheng, Kambhamettu 2009): vecmatte's.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (h*w, h*w)
    """
    from vecmatte.laplacians.lbdm import lbdm_laplacian as laplacian

    return laplacian(_image(image, radius), eps=epsilon, radius=radius)


def rw_laplacian(
    image: ArrayLike, sigma: float = 0.033, radius: int = 1, regularization: float = 1e-8
):
    """Random walk Laplacian ``(1 + reg) I - D^-1 W``, weights ``exp(-900 |I_i - I_j|^2)``.

    As in PyMatting, ``sigma`` is not used: the weights are always those of sigma = 1/30.
    vecmatte's own :func:`vecmatte.laplacians.random_walk.rw_laplacian` honours it. Images of
    one or two channels ``(h, w, d)`` give PyMatting's distances over their ``d`` channels.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (h*w, h*w)
    """
    from vecmatte.laplacians.random_walk import SIGMA
    from vecmatte.laplacians.random_walk import rw_laplacian as laplacian

    return laplacian(
        _image(zero_padded(image), radius),
        sigma=SIGMA,
        radius=radius,
        regularization=regularization,
    )


def uniform_laplacian(image: ArrayLike, radius: int = 1):
    """Laplacian ``I - D^-1 W`` of the pixel grid with all window weights one.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (h*w, h*w)
    """
    from vecmatte.laplacians.uniform import uniform_laplacian as laplacian

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
