"""Uniform Laplacian: every pixel joined to its window with weight one (PyMatting's baseline)."""

from __future__ import annotations

import numpy as np

from vecmatte._arrays import check_image
from vecmatte._validation import check_radius_fits
from vecmatte.laplacians._stencil import rows_to_csr
from vecmatte.laplacians.random_walk import (
    check_radius,
    weights_to_laplacian,
    window_stencil,
)

__all__ = ["uniform_laplacian"]


def uniform_laplacian(image: np.ndarray, *, radius: int = 1, form: str = "random_walk"):
    """Laplacian of the pixel grid with all weights one, ignoring the colours.

    Parameters
    ----------
    image : ndarray, shape (h, w, 3)
        Only its height and width are used.
    radius : int, optional
        Each pixel is joined to the ``(2r+1) x (2r+1)`` window around it (neighbours beyond
        the border clamped to it, as in PyMatting's ``uniform_laplacian``).
    form : {"random_walk", "symmetric"}, optional
        ``I - D^-1 W`` (PyMatting's) or ``D - W``; see
        :func:`vecmatte.laplacians.random_walk.weights_to_laplacian`.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (h*w, h*w)

    Raises
    ------
    ValueError
        If the image is not ``(h, w, 3)`` in [0, 1] or ``radius`` is not a positive integer
        smaller than the image's larger side.

    Notes
    -----
    Alpha from this Laplacian is a smooth (harmonic) interpolation of the trimap, blind to
    the image: a reference point for how much the image-aware Laplacians add.

    Examples
    --------
    >>> import numpy as np
    >>> from vecmatte.laplacians.uniform import uniform_laplacian
    >>> L = uniform_laplacian(np.zeros((3, 3, 3)))
    >>> bool(abs(L.sum(axis=1)).max() < 1e-12)
    True
    """
    image = check_image(image)
    # As the random walk's: radius=10**9 reached NumPy as "array is too big", and 1000 on a
    # tiny image asked for gigabytes of clamped offsets.
    radius = check_radius_fits(check_radius(radius), "radius", image.shape, radius)
    h, w = image.shape[:2]
    columns, values = window_stencil(image, np.arange(h * w), radius, None)
    return weights_to_laplacian(rows_to_csr(columns, values, h * w), form=form)
