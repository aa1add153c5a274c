"""PyMatting's foreground estimators (``pymatting.foreground``) on vecmatte's."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from vecmatte._arrays import check_gray, check_image, check_same_size
from vecmatte.compat.pymatting._common import (
    CG_MAXITER,
    NO_OPTIONS,
    PyMattingAssertionError,
    cg_options,
    check_keys,
    require_default,
)

__all__ = ["estimate_foreground", "estimate_foreground_cf", "estimate_foreground_ml"]

_DEFAULT_NEIGHBORS = [(-1, 0), (1, 0), (0, -1), (0, 1)]

# foreground


def estimate_foreground_ml(
    image: ArrayLike,
    alpha: ArrayLike,
    regularization: float = 1e-5,
    n_small_iterations: int = 10,
    n_big_iterations: int = 2,
    small_size: int = 32,
    return_background: bool = False,
    gradient_weight: float = 1.0,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Multi-level foreground estimation with PyMatting's signature (``estimate_foreground_ml``).

    Runs vecmatte's ``"ml"`` method (:func:`vecmatte.estimate_foreground` with these
    weights), writing float32 colours directly and the background only when asked for.

    Parameters
    ----------
    image : array_like, shape (h, w, 3)
        Floats in [0, 1] (uint8/uint16 are scaled).
    alpha : array_like, shape (h, w) or (h, w, 1)
        Alpha matte in [0, 1] (uint8/uint16 are scaled).
    regularization, gradient_weight : float, optional
        Smoothness weight ``regularization + gradient_weight * |d alpha|`` between neighbours.
    n_small_iterations, n_big_iterations, small_size : int, optional
        Only PyMatting's defaults (10, 2, 32) are supported; vecmatte fixes the schedule.
    return_background : bool, optional
        Also return the background colours.

    Returns
    -------
    F : ndarray, shape (h, w, 3), float32
        Foreground colours (float32 like PyMatting's).
    B : ndarray, shape (h, w, 3), float32
        Background colours, only with ``return_background=True``.
    """
    from vecmatte.foreground import check_ml_weights, ml

    what = "vecmatte's multi-level foreground estimation (fixed schedule)"
    require_default("n_small_iterations", n_small_iterations, 10, what)
    require_default("n_big_iterations", n_big_iterations, 2, what)
    require_default("small_size", small_size, 32, what)
    image, alpha = _image_and_alpha(image, alpha)
    # Straight to the method: float32 results need no float64 copy (10% of its time).
    foreground, background = ml.estimate(
        image,
        alpha,
        **check_ml_weights(regularization, gradient_weight),
        background=return_background,
        dtype=np.float32,
    )
    if return_background:
        return foreground, background
    return foreground


estimate_foreground = estimate_foreground_ml


def estimate_foreground_cf(
    image: ArrayLike,
    alpha: ArrayLike,
    regularization: float = 1e-5,
    rtol: float = 1e-5,
    neighbors: Sequence[tuple[int, int]] = _DEFAULT_NEIGHBORS,  # PyMatting's, never modified
    return_background: bool = False,
    foreground_guess: ArrayLike | None = None,
    background_guess: ArrayLike | None = None,
    ichol_kwargs: Mapping[str, Any] = NO_OPTIONS,
    cg_kwargs: Mapping[str, Any] = NO_OPTIONS,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Closed-form foreground estimation with PyMatting's signature (``estimate_foreground_cf``).

    Runs :func:`vecmatte.estimate_foreground_background` with ``method="cf"``, vecmatte's
    version of the closed-form reconstruction (the weights of Levin et al.'s ``solveFB.m``,
    8 neighbours, Jacobi-preconditioned conjugate gradient), so the colours differ slightly
    from PyMatting's 4-neighbour formulation.

    Parameters
    ----------
    image : array_like, shape (h, w, 3)
    alpha : array_like, shape (h, w) or (h, w, 1)
    regularization : float, optional
        Only PyMatting's default 1e-5 (vecmatte's closed form has its own weights).
    rtol : float, optional
        Relative tolerance of conjugate gradient.
    neighbors : list of (int, int), optional
        Only PyMatting's default 4-neighbourhood (or None, the same).
    return_background : bool, optional
        Also return the background colours.
    foreground_guess, background_guess : None
        Not supported (vecmatte starts from the image).
    ichol_kwargs : dict, optional
        Must be empty (vecmatte uses a Jacobi preconditioner here).
    cg_kwargs : dict, optional
        ``maxiter`` (default 10000, as PyMatting) and ``atol`` (see :func:`estimate_alpha_cf`).

    Returns
    -------
    F : ndarray, shape (h, w, 3)
        Foreground colours in [0, 1], float32 for a float32 image (as PyMatting), else float64.
    B : ndarray, shape (h, w, 3)
        Background colours, only with ``return_background=True``.

    Raises
    ------
    ValueError
        If conjugate gradient does not converge (as PyMatting), or the inputs are malformed.
    """
    from vecmatte.foreground import estimate_foreground_background
    from vecmatte.linalg.cg import ConvergenceWarning

    what = "vecmatte's closed-form foreground estimation"
    require_default("regularization", regularization, 1e-5, what)
    if neighbors is not None and [tuple(n) for n in neighbors] != _DEFAULT_NEIGHBORS:
        raise ValueError(f"neighbors={neighbors!r} is not supported by {what}; leave the default")
    if foreground_guess is not None or background_guess is not None:
        raise ValueError(f"foreground_guess and background_guess are not supported by {what}")
    check_keys(ichol_kwargs, (), "ichol_kwargs", " (the closed-form foreground uses Jacobi)")
    cg = check_keys(cg_kwargs, ("atol", "maxiter"), "cg_kwargs", " (rtol is an argument)")
    options = cg_options(cg, "cg_kwargs", rtol=rtol, maxiter=CG_MAXITER)
    dtype = getattr(image, "dtype", None)
    image, alpha = _image_and_alpha(image, alpha)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        foreground, background = estimate_foreground_background(
            image, alpha, method="cf", **options
        )
    for warning in caught:
        if issubclass(warning.category, ConvergenceWarning):
            raise ValueError(str(warning.message))
        warnings.warn(warning.message, stacklevel=2)
    if dtype == np.float32:  # PyMatting's colours are written into image.copy()
        foreground, background = foreground.astype(dtype), background.astype(dtype)
    if return_background:
        return foreground, background
    return foreground


def _image_and_alpha(image, alpha) -> tuple[np.ndarray, np.ndarray]:
    image = check_image(image)
    alpha = check_gray(alpha, "alpha")
    try:
        check_same_size(image, alpha, "alpha")
    except ValueError as error:  # PyMatting asserts alpha.shape == (h, w)
        raise PyMattingAssertionError(str(error)) from None
    return image, alpha
