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
    image : array_like, shape (h, w, d)
        Floats in [0, 1] (uint8/uint16 are scaled), any number of channels ``d`` (as
        PyMatting: an RGBA image gives four channels of colours); gray ``(h, w)`` gives three.
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
    F : ndarray, shape (h, w, d), float32
        Foreground colours (float32 like PyMatting's). As PyMatting's, the foreground starts
        black where alpha has no pixel above 0.9 (the background where none is below 0.1):
        alpha 0 everywhere gives a black foreground.
    B : ndarray, shape (h, w, d), float32
        Background colours, only with ``return_background=True``.
    """
    from vecmatte.foreground import check_ml_weights, ml

    what = "vecmatte's multi-level foreground estimation (fixed schedule)"
    require_default("n_small_iterations", n_small_iterations, 10, what)
    require_default("n_big_iterations", n_big_iterations, 2, what)
    require_default("small_size", small_size, 32, what)
    weights = check_ml_weights(regularization, gradient_weight)

    def estimate(image, alpha):
        image, alpha = _image_and_alpha(image, alpha)
        # Straight to the method: float32 results need no float64 copy (10% of its time).
        # PyMatting starts the foreground at the mean colour of the pixels of alpha > 0.9 and
        # the background at that of alpha < 0.1, black where there are none (vecmatte: the
        # image's mean colour). It shows where alpha has no such pixel: rembg's cutout of an
        # empty mask is transparent black, and a matte without definite foreground gets
        # its colours pulled towards black.
        return ml.estimate(
            image,
            alpha,
            **weights,
            background=return_background,
            dtype=np.float32,
            black_start=True,
        )

    foreground, background = _by_three_channels(estimate, image, alpha, return_background)
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
    image : array_like, shape (h, w, d)
        Any number of channels ``d``, as :func:`estimate_foreground_ml`.
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
    F : ndarray, shape (h, w, d)
        Foreground colours in [0, 1], float32 for a float32 image (as PyMatting), else float64.
    B : ndarray, shape (h, w, d)
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

    def estimate(image, alpha):
        image, alpha = _image_and_alpha(image, alpha)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            result = estimate_foreground_background(image, alpha, method="cf", **options)
        for warning in caught:
            if issubclass(warning.category, ConvergenceWarning):
                raise ValueError(str(warning.message))
            warnings.warn(warning.message, stacklevel=4)
        return result

    foreground, background = _by_three_channels(estimate, image, alpha, True)
    if dtype == np.float32:  # PyMatting's colours are written into image.copy()
        foreground, background = foreground.astype(dtype), background.astype(dtype)
    if return_background:
        return foreground, background
    return foreground


def _by_three_channels(estimate, image, alpha, background: bool):
    """``estimate(image, alpha) -> (F, B)`` on an image of any number of colour channels.

    PyMatting's estimators take ``(h, w, d)`` images of any ``d`` (an RGBA photograph gives
    four channels of foreground); vecmatte's take three. Both estimate every channel on its
    own (the per-pixel systems depend on alpha only), so the channels go through in groups
    of three, the last group's last channel repeated to fill it: each channel's colours are
    those of a three-channel call (bit for bit). Three-channel and gray images go straight
    through.
    """
    shape = np.shape(image)
    if len(shape) != 3 or shape[2] in (0, 3):
        return estimate(image, alpha)
    image = np.asarray(image)
    depth = shape[2]
    groups = [list(range(first, min(first + 3, depth))) for first in range(0, depth, 3)]
    parts = [
        estimate(image[:, :, group + group[-1:] * (3 - len(group))], alpha) for group in groups
    ]
    foreground = np.concatenate(
        [f[:, :, : len(group)] for (f, _), group in zip(parts, groups, strict=True)], axis=2
    )
    if not background:
        return foreground, None
    return foreground, np.concatenate(
        [b[:, :, : len(group)] for (_, b), group in zip(parts, groups, strict=True)], axis=2
    )


def _image_and_alpha(image, alpha) -> tuple[np.ndarray, np.ndarray]:
    image = check_image(image)
    alpha = check_gray(alpha, "alpha")
    try:
        check_same_size(image, alpha, "alpha")
    except ValueError as error:  # PyMatting asserts alpha.shape == (h, w)
        raise PyMattingAssertionError(str(error)) from None
    return image, alpha
