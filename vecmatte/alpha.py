"""Alpha estimation: trimap -> Laplacian -> reduced system -> conjugate gradient -> alpha."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vecmatte._validation import check_image, check_radius_eps
from vecmatte.trimap import check_trimap, trimap_split

__all__ = ["AlphaResult", "estimate_alpha", "solve_alpha"]

DEFAULT_PRECONDITIONER = "direct"
DEFAULT_RTOL = 1e-6


class NoUnknownPixelsWarning(UserWarning):
    """The trimap has no unknown pixel: alpha is the trimap itself."""


@dataclass(frozen=True)
class AlphaResult:
    """Alpha matte with the solver's diagnostics, as returned by :func:`solve_alpha`.

    Attributes
    ----------
    alpha : ndarray, shape (h, w)
    iterations : int
        Conjugate gradient iterations (0 when nothing was unknown).
    residual : float
        Final relative residual of the reduced system.
    converged : bool
    n_unknown : int
    """

    alpha: np.ndarray
    iterations: int
    residual: float
    converged: bool
    n_unknown: int


def solve_alpha(
    image,
    trimap,
    *,
    eps: float = 1e-7,
    radius: int = 1,
    preconditioner: str | None = DEFAULT_PRECONDITIONER,
    rtol: float = DEFAULT_RTOL,
    maxiter: int | None = None,
    callback: Callable[[int, float], None] | None = None,
) -> AlphaResult:
    """Same as :func:`estimate_alpha`, returning the solver's diagnostics as well.

    Returns
    -------
    AlphaResult
        ``alpha`` with ``iterations``, ``residual``, ``converged`` and ``n_unknown``.
    """
    return _solve_alpha(
        image,
        trimap,
        eps=eps,
        radius=radius,
        preconditioner=preconditioner,
        rtol=rtol,
        maxiter=maxiter,
        callback=callback,
    )


def _solve_alpha(
    image, trimap, *, eps, radius, preconditioner, rtol, maxiter, callback, warn=True
) -> AlphaResult:
    # Warnings are raised here, two frames below the user's call (public function -> here),
    # whichever public function was called. warn=False is for callers that report
    # non-convergence themselves (the PyMatting shim raises): a warnings filter would be
    # process-wide and not thread-safe.
    from vecmatte._blas import single_threaded_blas
    from vecmatte.memory import check_memory
    from vecmatte.preconditioners import get_preconditioner
    from vecmatte.solve import build_reduced_system, conjugate_gradient, warn_not_converged

    image = check_image(image)
    trimap = check_trimap(trimap, image.shape)
    radius, eps = check_radius_eps(radius, eps, image.shape)
    make_preconditioner = get_preconditioner(preconditioner)
    if not float(rtol) > 0:
        raise ValueError(f"rtol must be positive, got {rtol!r}")
    is_fg, is_bg, unknown = trimap_split(trimap)
    if not is_fg.any():
        raise ValueError("trimap has no foreground pixels (values > 0.9); mark some in white")
    if not is_bg.any():
        raise ValueError("trimap has no background pixels (values < 0.1); mark some in black")
    alpha = is_fg.astype(np.float64)
    if not unknown.any():
        warnings.warn(
            "trimap has no unknown pixels; the alpha matte is the trimap itself",
            NoUnknownPixelsWarning,
            stacklevel=3,
        )
        return AlphaResult(alpha, 0, 0.0, True, 0)
    # Refuse in a second, with the estimate, rather than be killed after minutes of swapping.
    check_memory(image.shape, int(unknown.sum()), radius, preconditioner=preconditioner)
    system = build_reduced_system(
        image,
        is_fg,
        is_bg,
        eps=eps,
        radius=radius,
        keep_stencil=getattr(make_preconditioner, "needs_stencil", False),
    )
    # Factorisation and CG make many small BLAS calls; see vecmatte._blas for why one thread.
    with single_threaded_blas():
        operator = None
        if make_preconditioner is not None:
            # Preconditioners that order the unknowns geometrically ask for their positions.
            wants_grid = getattr(make_preconditioner, "needs_grid", False)
            extra = {"grid": system.grid} if wants_grid else {}
            operator = make_preconditioner(system.matrix, system.stencil, **extra)
        result = conjugate_gradient(
            system.matrix,
            system.rhs,
            preconditioner=operator,
            rtol=rtol,
            maxiter=maxiter,
            callback=callback,
        )
    if warn:
        warn_not_converged(result, rtol, stacklevel=4)
    alpha.ravel()[system.unknown] = result.x
    np.clip(alpha, 0.0, 1.0, out=alpha)
    return AlphaResult(
        alpha, result.iterations, result.residual, result.converged, len(system.unknown)
    )


def estimate_alpha(
    image,
    trimap,
    *,
    eps: float = 1e-7,
    radius: int = 1,
    preconditioner: str | None = DEFAULT_PRECONDITIONER,
    rtol: float = DEFAULT_RTOL,
    maxiter: int | None = None,
    callback: Callable[[int, float], None] | None = None,
) -> np.ndarray:
    """Estimate the alpha matte of an image from a trimap by closed-form matting.

    Parameters
    ----------
    image : array_like, shape (h, w, 3) or (h, w)
        RGB (or gray) image: floats in [0, 1], or uint8/uint16.
    trimap : array_like, shape (h, w)
        Values > 0.9 are foreground, < 0.1 background, anything else unknown (after scaling
        uint8/uint16 to [0, 1]).
    eps : float, optional
        Regularisation of the colour covariances (larger gives smoother mattes).
    radius : int, optional
        Window radius of the matting Laplacian.
    preconditioner : {"direct", "ichol", "jacobi", None}, optional
        Preconditioner of conjugate gradient (see :mod:`vecmatte.preconditioners`).
        ``"direct"`` (default) factors the system completely, so conjugate gradient only
        polishes the solution (one to three iterations); ``"ichol"`` and ``"jacobi"`` use
        less memory and more iterations.
    rtol : float, optional
        Relative residual at which conjugate gradient stops.
    maxiter : int, optional
        Iteration limit of conjugate gradient.
    callback : callable, optional
        ``callback(iteration, relative_residual)`` after each iteration.

    Returns
    -------
    ndarray, shape (h, w)
        Alpha in [0, 1], float64.

    Raises
    ------
    ValueError
        If the image or trimap is malformed, their sizes differ, or the trimap has no
        foreground or no background.
    vecmatte.memory.InsufficientMemoryError
        If the solve's estimated memory exceeds the memory available (a ``MemoryError``
        raised before anything large is allocated).

    Warns
    -----
    ConvergenceWarning
        If conjugate gradient stops at ``maxiter`` above ``rtol`` (the residual is given).

    Notes
    -----
    Minimises :math:`\\alpha^T L \\alpha` with the known pixels fixed (hard constraints):
    with :math:`u` the unknown and :math:`k` the known pixels, :math:`L_{uu} \\alpha_u =
    -L_{uk} \\alpha_k`, solved by preconditioned conjugate gradient. :math:`L` is the matting
    Laplacian (:func:`vecmatte.matting_laplacian`) of Levin, Lischinski and Weiss, "A
    Closed-Form Solution to Natural Image Matting", IEEE TPAMI 30(2), 2008.

    Examples
    --------
    >>> from vecmatte import estimate_alpha, make_scene
    >>> scene = make_scene((60, 80), seed=0)
    >>> alpha = estimate_alpha(scene.image, scene.trimap)
    >>> alpha.shape
    (60, 80)
    """
    return _solve_alpha(
        image,
        trimap,
        eps=eps,
        radius=radius,
        preconditioner=preconditioner,
        rtol=rtol,
        maxiter=maxiter,
        callback=callback,
    ).alpha
