"""Preconditioned conjugate gradient with diagnostics, and the warning when it stops short."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vecmatte import _defaults

__all__ = ["ConvergenceWarning", "SolveResult", "conjugate_gradient", "warn_not_converged"]


class ConvergenceWarning(RuntimeWarning):
    """Conjugate gradient stopped at ``maxiter`` before reaching the requested tolerance."""


@dataclass(frozen=True)
class SolveResult:
    """Outcome of :func:`conjugate_gradient`.

    Attributes
    ----------
    x : ndarray
        The solution reached.
    iterations : int
        Conjugate gradient iterations performed.
    residual : float
        Relative residual ``||b - A x|| / ||b||`` at the end.
    converged : bool
        Whether ``residual <= rtol``.
    """

    x: np.ndarray
    iterations: int
    residual: float
    converged: bool


def conjugate_gradient(
    matrix,
    rhs: np.ndarray,
    *,
    preconditioner=None,
    x0: np.ndarray | None = None,
    rtol: float = _defaults.RTOL,
    maxiter: int | None = None,
    callback: Callable[[int, float], None] | None = None,
) -> SolveResult:
    """Preconditioned conjugate gradient for a symmetric positive definite system.

    Parameters
    ----------
    matrix : sparse matrix or LinearOperator, shape (n, n)
    rhs : ndarray, shape (n,)
    preconditioner : LinearOperator, optional
        Approximation of ``matrix**-1`` (symmetric positive definite).
    x0 : ndarray, optional
        Starting guess (zeros by default).
    rtol : float, optional
        Stop when ``||rhs - matrix @ x|| <= rtol * ||rhs||``.
    maxiter : int, optional
        Iteration limit, ``10 * n`` by default.
    callback : callable, optional
        Called as ``callback(iteration, relative_residual)`` after every iteration.

    Returns
    -------
    SolveResult
        The solution and its diagnostics. Not reaching ``rtol`` is reported through
        ``converged``; :func:`vecmatte.estimate_alpha` turns it into a warning.
    """
    n = rhs.shape[0]
    maxiter = 10 * n if maxiter is None else int(maxiter)
    x = np.zeros(n) if x0 is None else np.array(x0, dtype=np.float64)
    b_norm = float(np.linalg.norm(rhs))
    if b_norm == 0.0:
        return SolveResult(np.zeros(n), 0, 0.0, True)
    r = rhs - matrix @ x if x0 is not None else rhs.copy()
    residual = float(np.linalg.norm(r)) / b_norm
    if residual <= rtol:
        return SolveResult(x, 0, residual, True)
    z = preconditioner @ r if preconditioner is not None else r
    p = z.copy()
    rz = float(r @ z)
    iteration = 0
    while iteration < maxiter:
        iteration += 1
        q = matrix @ p
        step = rz / float(p @ q)
        x += step * p
        r -= step * q
        residual = float(np.linalg.norm(r)) / b_norm
        if callback is not None:
            callback(iteration, residual)
        if residual <= rtol:
            break
        z = preconditioner @ r if preconditioner is not None else r
        rz_next = float(r @ z)
        p *= rz_next / rz
        p += z
        rz = rz_next
    return SolveResult(x, iteration, residual, residual <= rtol)


def warn_not_converged(
    result: SolveResult, rtol: float, stacklevel: int = 3, *, what: str = "alpha matte"
) -> None:
    """Warn with the residual reached if ``result`` did not converge."""
    if not result.converged:
        warnings.warn(
            f"conjugate gradient stopped after {result.iterations} iterations with relative "
            f"residual {result.residual:.3g}, above rtol={rtol:g}; the {what} is not "
            "accurate. Raise maxiter, or use the default preconditioner 'direct', which "
            "converges in one to three iterations.",
            ConvergenceWarning,
            stacklevel=stacklevel,
        )
