"""Preconditioned conjugate gradient with diagnostics, and the warning when it stops short."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vecmatte import _defaults

__all__ = [
    "ConvergenceWarning",
    "SolveResult",
    "conjugate_gradient",
    "vector_operator",
    "warn_not_converged",
]

_log = logging.getLogger(__name__)

#: Seconds between two progress lines of a long solve (INFO on ``vecmatte.linalg.cg``).
PROGRESS_SECONDS = 10.0


class ConvergenceWarning(RuntimeWarning):
    """Conjugate gradient stopped short of the requested tolerance, or its residual misleads.

    It stopped at ``maxiter``, or broke down (the matrix or the preconditioner not positive
    definite in floating point); :func:`vecmatte.estimate_alpha` also issues it for an LBDM
    system whose residual bounds no error. The message names the residual reached and what
    to change; the result (a matte, foreground colours) is still returned.
    """


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
    breakdown : bool
        Whether conjugate gradient stopped because a curvature ``p^T A p`` or a preconditioned
        residual norm ``r^T M r`` was not positive (or not finite): the matrix or the
        preconditioner is not positive definite (for example a single-precision factor of a
        nearly singular system). ``x`` is then the last iterate.
    """

    x: np.ndarray
    iterations: int
    residual: float
    converged: bool
    breakdown: bool = False


def _vector(value: np.ndarray, name: str, n: int | None) -> np.ndarray:
    """``value`` as shape ``(n,)`` (a column ``(n, 1)`` read as one, as SciPy's cg does)."""
    value = np.asarray(value)
    if value.ndim == 2 and value.shape[1] == 1:
        value = value[:, 0]
    if value.ndim != 1 or (n is not None and value.shape[0] != n):
        wanted = "(n,)" if n is None else f"({n},), as rhs"
        raise ValueError(f"{name} must have shape {wanted}, got shape {value.shape}")
    return value


def vector_operator(n: int, function: Callable[[np.ndarray], np.ndarray]):
    """``function`` as an ``(n, n)`` LinearOperator that conjugate gradient calls directly.

    SciPy's ``operator @ x`` checks and reshapes its argument on every product (about 10 us,
    more than a small image's whole preconditioner solve): :func:`conjugate_gradient` calls
    ``function`` itself (the operator's ``vector_function``) on its float64 vectors of
    ``n`` entries, with the same result.

    Parameters
    ----------
    n : int
        Rows and columns of the operator.
    function : callable
        ``x -> y`` for float64 vectors of ``n`` entries (``y`` of ``n`` entries).

    Returns
    -------
    scipy.sparse.linalg.LinearOperator
        With the attribute ``vector_function``.
    """
    from scipy.sparse.linalg import LinearOperator

    operator = LinearOperator((n, n), matvec=function, dtype=np.float64)
    operator.vector_function = function
    return operator


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
        Approximation of ``matrix**-1`` (symmetric positive definite). One made by
        :func:`vector_operator` is applied through its ``vector_function``.
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
        The solution and its diagnostics. Not reaching ``rtol`` (at ``maxiter``, or on a
        breakdown) is reported through ``converged`` and ``breakdown``, never raised;
        :func:`vecmatte.estimate_alpha` turns it into a warning.

    Notes
    -----
    A solve that takes longer than :data:`PROGRESS_SECONDS` logs its iteration and
    residual at INFO every :data:`PROGRESS_SECONDS`, and a last line when it stops; quicker
    ones log nothing. The clock is read about every 10 ms, and not at all when INFO is not
    enabled.
    """
    rhs = _vector(rhs, "rhs", None)
    n = rhs.shape[0]
    if not rtol >= 0:  # NaN too: it ran to maxiter and reported a breakdown
        raise ValueError(f"rtol must be a number of at least 0, got {rtol!r}")
    if maxiter is not None and not maxiter >= 0:
        raise ValueError(f"maxiter must be None or at least 0, got {maxiter!r}")
    maxiter = 10 * n if maxiter is None else int(maxiter)
    x = np.zeros(n) if x0 is None else _vector(np.array(x0, dtype=np.float64), "x0", n)
    if x0 is not None and not np.isfinite(x).all():
        # Else a NaN residual, reported as a breakdown ("not positive definite").
        raise ValueError("x0 has NaN or infinite entries: give a finite starting guess or None")
    with np.errstate(over="ignore"):  # said below, in one line
        b_norm = float(np.linalg.norm(rhs))
    if not np.isfinite(b_norm):
        raise ValueError(
            "rhs has NaN or infinite entries (or entries too large to square in float64, "
            "beyond about 1e154): conjugate gradient cannot solve it"
        )
    if b_norm == 0.0:
        return SolveResult(np.zeros(n), 0, 0.0, True)
    r = rhs - matrix @ x if x0 is not None else rhs.copy()
    residual = float(np.linalg.norm(r)) / b_norm
    if residual <= rtol:
        return SolveResult(x, 0, residual, True)
    # The function itself where the operator has one (see vector_operator): r is float64 (n,).
    apply = getattr(preconditioner, "vector_function", None)
    if apply is None and preconditioner is not None:
        apply = lambda x: preconditioner @ x  # noqa: E731
    z = apply(r) if apply is not None else r
    p = z.copy()
    rz = float(r @ z)
    iteration = 0
    # ``not value > 0`` is also true for NaN: a positive definite matrix and preconditioner
    # keep both quantities positive, so anything else is a breakdown, reported rather than
    # divided by (a zero there used to raise ZeroDivisionError from deep inside a solve).
    breakdown = not rz > 0.0
    # A solve of minutes (an iterative preconditioner on a large image) would say nothing
    # between its first line and its result; so it reports every PROGRESS_SECONDS.
    report = _log.isEnabledFor(logging.INFO)
    last_clock = time.monotonic() if report else 0.0
    next_report = last_clock + PROGRESS_SECONDS
    reported, check_at, stride = False, 1, 1
    while not breakdown and iteration < maxiter:
        curvature = float(p @ (q := matrix @ p))
        if not curvature > 0.0:
            breakdown = True
            break
        iteration += 1
        step = rz / curvature
        x += step * p
        r -= step * q
        residual = float(np.linalg.norm(r)) / b_norm
        if callback is not None:
            callback(iteration, residual)
        if report and iteration >= check_at:
            now = time.monotonic()
            if now >= next_report:
                _log.info(
                    "conjugate gradient: iteration %d of at most %d, relative residual %.3g "
                    "(rtol %g)",
                    iteration,
                    maxiter,
                    residual,
                    rtol,
                )
                next_report = now + PROGRESS_SECONDS
                reported = True
            # The clock about every 10 ms: a read can cost 0.3 us (a virtual machine's clock
            # source), 1.5% of a small image's 20 us iteration.
            stride = 2 * stride if now - last_clock < 0.01 else max(1, stride // 2)
            last_clock, check_at = now, iteration + stride
        if residual <= rtol or not np.isfinite(residual):
            breakdown = not np.isfinite(residual)
            break
        z = apply(r) if apply is not None else r
        rz_next = float(r @ z)
        if not rz_next > 0.0:
            breakdown = True
            break
        p *= rz_next / rz
        p += z
        rz = rz_next
    if reported:
        _log.info(
            "conjugate gradient: stopped after %d iterations, relative residual %.3g",
            iteration,
            residual,
        )
    return SolveResult(x, iteration, residual, bool(residual <= rtol), breakdown)


def warn_not_converged(
    result: SolveResult,
    rtol: float,
    stacklevel: int = 3,
    *,
    what: str = "alpha matte",
    advice: str | None = None,
) -> None:
    """Warn with the residual reached if ``result`` did not converge.

    ``what`` names the result (``"the <what> is not accurate"``); ``advice``, one or more
    sentences, replaces the generic way out of the message (the caller knows the method,
    the limits and the preconditioners that would do better).

    Parameters
    ----------
    result : SolveResult
        The solve's outcome.
    rtol : float
        The tolerance asked for, for the message.
    stacklevel : int, optional
        As in ``warnings.warn``, counted from here (default 3: the caller's caller).
    what : str, optional
        What the result is (default ``"alpha matte"``).
    advice : str, optional
        Sentences that replace the generic way out.
    """
    if not result.converged and result.breakdown:
        warnings.warn(
            f"conjugate gradient broke down after {result.iterations} iterations with relative "
            f"residual {result.residual:.3g}, above rtol={rtol:g}: the matrix or the "
            f"preconditioner is not positive definite, and the {what} is not accurate. "
            + (
                advice
                or "Try another preconditioner ('jacobi' is always positive definite on these "
                "systems)."
            ),
            ConvergenceWarning,
            stacklevel=stacklevel,
        )
    elif not result.converged:
        warnings.warn(
            f"conjugate gradient stopped after {result.iterations} iterations with relative "
            f"residual {result.residual:.3g}, above rtol={rtol:g}; the {what} is not "
            "accurate. "
            + (
                advice
                or "Raise maxiter, or leave the preconditioner at the method's default "
                "(closed-form's 'direct' converges in two or three iterations)."
            ),
            ConvergenceWarning,
            stacklevel=stacklevel,
        )
