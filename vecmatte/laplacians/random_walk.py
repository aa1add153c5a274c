"""Random-walk Laplacian of pixel neighbourhoods (Grady, Schiwietz, Aharon, Westermann 2005).

Also holds the step shared by every weight-graph Laplacian (random walk, KNN, uniform): from
a weight matrix ``W`` to either PyMatting's random-walk form ``(1 + reg) I - D^-1 W`` or its
symmetric twin ``D ((1 + reg) I - D^-1 W) = (1 + reg) D - W``. Both forms have the same
solution whenever the constraints are scaled by the degrees ``D`` too (see
:func:`weights_to_laplacian`), so vecmatte's methods solve the symmetric one with conjugate
gradient while the PyMatting shim keeps the random-walk one.
"""

from __future__ import annotations

import numpy as np

from vecmatte._arrays import check_image
from vecmatte._numbers import finite_number, positive_whole_number, snapped
from vecmatte._validation import check_radius_fits
from vecmatte.laplacians._stencil import rows_to_csr, stencil_columns, stencil_offsets

__all__ = ["FORMS", "rw_laplacian", "rw_weights", "weights_to_laplacian", "window_stencil"]

#: The two forms a weight-graph Laplacian comes in (see :func:`weights_to_laplacian`).
FORMS = ("random_walk", "symmetric")

#: PyMatting's weights are ``exp(-900 |I_i - I_j|^2)``, that is sigma = 1/30.
SIGMA = 1.0 / 30.0


def check_form(form: str) -> str:
    if not (isinstance(form, str) and form in FORMS):
        raise ValueError(f"form must be 'random_walk' or 'symmetric', got {form!r}")
    return form


def check_radius(radius) -> int:
    """``radius`` as an int of at least 1, else one ValueError naming it."""
    return positive_whole_number(radius, "radius", "a positive integer")


#: Smallest colour scale: 16-bit colours differ by 1.5e-5 or more, whose weight at sigma 1e-6
#: is already exp(-230), under any min_weight; below 1e-154 sigma squared is 0 in float64
#: (1e-300 raised ZeroDivisionError).
SMALLEST_SIGMA = 1e-6


def check_sigma(sigma) -> float:
    """``sigma`` as a float of at least :data:`SMALLEST_SIGMA`, else one ValueError (a
    float32 1e-6, 9.99999997e-07, is the bound itself)."""
    given = sigma
    sigma = finite_number(sigma, "sigma", "a positive finite number", minimum=0, above_minimum=True)
    sigma = snapped(sigma, given, SMALLEST_SIGMA)
    if sigma < SMALLEST_SIGMA:
        raise ValueError(
            f"sigma must be at least {SMALLEST_SIGMA:g}: at smaller scales every pair of "
            f"different colours weighs under exp(-230) alike, and below 1e-154 sigma squared "
            f"is 0, got {sigma!r}"
        )
    return sigma


def _clamp_counts(length: int, radius: int) -> np.ndarray:
    """``counts[d + r, a]``: how many offsets of ``[-r, r]`` land on ``a + d`` once clamped.

    Zero where ``a + d`` is outside ``[0, length)``; above one on the first and last pixel,
    which collect the offsets that overshoot the border.
    """
    a = np.arange(length)
    counts = np.zeros((2 * radius + 1, length))
    for d in range(-radius, radius + 1):
        b = a + d
        inside = (b >= 0) & (b < length)
        below = np.maximum(radius - a, 0) * (b == 0)
        above = np.maximum(a + radius - (length - 1), 0) * (b == length - 1)
        counts[d + radius] = inside * (1 + below + above)
    return counts


def _reverse_counts(counts: np.ndarray, radius: int) -> np.ndarray:
    """``reverse[d + r, a]``: the count of the opposite pair, from ``a + d`` back to ``a``."""
    length = counts.shape[1]
    reverse = np.zeros_like(counts)
    for d in range(-radius, radius + 1):
        a = np.arange(max(-d, 0), min(length - d, length))
        reverse[d + radius, a] = counts[radius - d, a + d]
    return reverse


def window_stencil(
    image: np.ndarray,
    rows: np.ndarray,
    radius: int,
    sigma: float | None,
    *,
    symmetric: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Weights of the pixels ``rows`` to their ``(2r+1) x (2r+1)`` window, as a stencil.

    Neighbours outside the image are clamped to the nearest border pixel, as PyMatting does:
    a border pixel's weight to the pixel an overshooting offset lands on counts once per
    such offset (the pixel itself included). For ``radius >= 2`` that makes ``W`` slightly
    non-symmetric near the border; ``symmetric=True`` gives ``(W + W^T) / 2`` instead (the
    same for ``radius = 1``).

    Parameters
    ----------
    image : ndarray, shape (h, w, d)
        Image with values in [0, 1]: RGB, or any ``d`` channels (the PyMatting shim's RGBA).
    rows : ndarray of int, shape (p,)
        Flat indices of the pixels whose weights are wanted.
    radius : int
        Window radius ``r``.
    sigma : float or None
        Colour scale of the weights; ``None``: every weight 1.
    symmetric : bool, optional
        Give ``(W + W^T) / 2`` near the border (default False: PyMatting's clamped ``W``).

    Returns
    -------
    columns : ndarray of intp, shape ((2r+1)**2, p)
        Flat index of the neighbour at each offset (row-major order), ``-1`` outside.
    weights : ndarray of float64, same shape
        ``count * exp(-|I_i - I_j|^2 / sigma^2)`` (``count * 1`` when ``sigma`` is ``None``),
        zero outside.
    """
    h, w = image.shape[:2]
    offsets = stencil_offsets(radius)
    columns = stencil_columns(offsets, rows, (h, w))
    ys, xs = np.divmod(rows, w)
    count_y, count_x = _clamp_counts(h, radius), _clamp_counts(w, radius)
    dy, dx = offsets[:, 0] + radius, offsets[:, 1] + radius
    # One offset at a time: no stencil-sized temporaries besides the two outputs.
    weights = np.empty(columns.shape)
    if symmetric:
        reverse_y, reverse_x = _reverse_counts(count_y, radius), _reverse_counts(count_x, radius)
    for s in range(len(offsets)):
        np.multiply(count_y[dy[s], ys], count_x[dx[s], xs], out=weights[s])
        if symmetric:
            weights[s] += reverse_y[dy[s], ys] * reverse_x[dx[s], xs]
            weights[s] *= 0.5
    if sigma is None:
        return columns, weights
    # One offset and one channel at a time: temporaries of one value per row.
    depth = image.shape[2]
    flat = image.reshape(h * w, depth)
    colors = np.empty((depth, len(rows)))
    for c in range(depth):
        np.take(flat[:, c], rows, out=colors[c])
    scale = -1.0 / (sigma * sigma)
    neighbor = np.empty(len(rows), dtype=np.intp)
    squared, difference = np.empty(len(rows)), np.empty(len(rows))
    for s in range(len(offsets)):
        np.maximum(columns[s], 0, out=neighbor)
        squared[...] = 0.0
        for c in range(depth):
            np.subtract(flat[neighbor, c], colors[c], out=difference)
            difference *= difference
            squared += difference
        squared *= scale
        weights[s] *= np.exp(squared, out=squared)
    return columns, weights


def weights_to_laplacian(weights, *, regularization: float = 0.0, form: str = "random_walk"):
    """Laplacian of a weight graph in the random-walk or the symmetric form.

    Parameters
    ----------
    weights : scipy.sparse matrix, shape (n, n)
        Non-negative weights ``W`` with positive row sums ``d``.
    regularization : float, optional
        ``reg`` below; PyMatting's random walk uses ``1e-8``, KNN and uniform ``0``.
    form : {"random_walk", "symmetric"}, optional
        ``"random_walk"``: ``(1 + reg) I - D^-1 W``, PyMatting's ``weights_to_laplacian``
        (not symmetric). ``"symmetric"``: ``(1 + reg) D - W``, which is ``D`` times it.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n, n)

    Notes
    -----
    PyMatting solves ``(L_rw + lam C) x = lam c_fg`` with ``C`` the diagonal of known pixels.
    Multiplying both sides by ``D`` gives ``(L_sym + lam D C) x = lam D c_fg``: the same
    ``x`` from a symmetric positive definite matrix, which conjugate gradient is made for
    (on PyMatting's non-symmetric system its convergence is not guaranteed). The hard
    constraints ``L_uu x_u = -L_uk x_k`` are also the same in both forms.
    """
    import scipy.sparse

    check_form(form)
    laplacian = scipy.sparse.csr_matrix(weights, dtype=np.float64, copy=True)
    laplacian.sum_duplicates()
    n = laplacian.shape[0]
    counts = np.diff(laplacian.indptr)
    degrees = np.add.reduceat(laplacian.data, laplacian.indptr[:-1]) if n else np.zeros(0)
    degrees[counts == 0] = 0.0
    if form == "random_walk":
        laplacian.data *= np.repeat(1.0 / degrees, counts)
        diagonal = np.full(n, 1.0 + regularization)
    else:
        diagonal = (1.0 + regularization) * degrees
    np.negative(laplacian.data, out=laplacian.data)
    is_diagonal = laplacian.indices == np.repeat(np.arange(n), counts)
    if np.count_nonzero(is_diagonal) == n:
        # Every row holds its diagonal (self-weights): add to it in place.
        laplacian.data[is_diagonal] += diagonal
        return laplacian
    return (laplacian + scipy.sparse.diags(diagonal, format="csr")).tocsr()


def rw_weights(image: np.ndarray, *, sigma: float = SIGMA, radius: int = 1):
    """Weight matrix ``W`` of the random walk: ``exp(-|I_i - I_j|^2 / sigma^2)`` over windows.

    Parameters
    ----------
    image : ndarray, shape (h, w, 3)
        RGB image with values in [0, 1].
    sigma : float, optional
        Colour scale of the weights, as in :func:`rw_laplacian` (default 1/30).
    radius : int, optional
        Window radius, as in :func:`rw_laplacian` (default 1).

    Returns
    -------
    scipy.sparse.csr_matrix, shape (h*w, h*w)
        ``W``, from :func:`window_stencil` over all pixels.
    """
    image = check_image(image)
    # The alpha method's checks: float() took True and "0.1" as numbers, 1e-300 divided by
    # zero, and a radius of 10**6 asked for 29 TiB of offsets.
    radius = check_radius_fits(check_radius(radius), "radius", image.shape, radius)
    sigma = check_sigma(sigma)
    h, w = image.shape[:2]
    columns, values = window_stencil(image, np.arange(h * w), radius, sigma)
    return rows_to_csr(columns, values, h * w)


def rw_laplacian(
    image: np.ndarray,
    *,
    sigma: float = SIGMA,
    radius: int = 1,
    regularization: float = 1e-8,
    form: str = "random_walk",
):
    """Random-walk matting Laplacian of an image.

    Parameters
    ----------
    image : ndarray, shape (h, w, 3)
        RGB image with values in [0, 1].
    sigma : float, optional
        Colour scale of the weights ``exp(-|I_i - I_j|^2 / sigma^2)``. The default 1/30 gives
        PyMatting's weights ``exp(-900 |I_i - I_j|^2)``; PyMatting's ``rw_laplacian`` accepts a
        ``sigma`` argument but ignores it, vecmatte honours it.
    radius : int, optional
        Each pixel is joined to the ``(2r+1) x (2r+1)`` window around it (itself included;
        neighbours beyond the border are clamped to it, as in PyMatting).
    regularization : float, optional
        Added to the diagonal of the random-walk form (``1e-8`` as in PyMatting).
    form : {"random_walk", "symmetric"}, optional
        ``(1 + reg) I - D^-1 W`` (PyMatting's, not symmetric) or ``(1 + reg) D - W``; see
        :func:`weights_to_laplacian`.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (h*w, h*w)

    Raises
    ------
    ValueError
        If the image is not ``(h, w, 3)`` in [0, 1], or an option is out of range.

    Notes
    -----
    Grady, Schiwietz, Aharon and Westermann, "Random Walks for Interactive Alpha-Matting",
    VIIP 2005: alpha is the probability that a random walker leaving a pixel first reaches
    the foreground, with steps weighted by colour similarity.

    Examples
    --------
    >>> import numpy as np
    >>> from vecmatte.laplacians.random_walk import rw_laplacian
    >>> L = rw_laplacian(np.random.default_rng(0).random((4, 5, 3)))
    >>> L.shape
    (20, 20)
    """
    regularization = finite_number(
        regularization, "regularization", "a finite number >= 0", minimum=0
    )
    check_form(form)
    weights = rw_weights(image, sigma=sigma, radius=radius)
    return weights_to_laplacian(weights, regularization=regularization, form=form)
