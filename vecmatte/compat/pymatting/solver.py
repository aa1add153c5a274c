"""PyMatting's solver: ``cg`` with its callback protocol (``pymatting.solver``)."""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from vecmatte._numbers import whole_number
from vecmatte.compat.pymatting._common import (
    CG_MAXITER,
    CG_RTOL,
    PyMattingTypeError,
    option_number,
)

__all__ = ["CounterCallback", "ProgressCallback", "cg"]


class CounterCallback:
    """Counts the iterations of :func:`cg` in ``n`` (PyMatting's ``CounterCallback``)."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, A, x, b, norm_b, r, norm_r) -> None:
        self.n += 1


class ProgressCallback:
    """Counts the iterations of :func:`cg` in ``n`` and reports each residual norm.

    PyMatting prints to stdout; vecmatte's library writes progress to stderr.
    """

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, A, x, b, norm_b, r, norm_r) -> None:
        self.n += 1
        print(f"iteration {self.n:7d} - {norm_r:e} ({norm_r:.20f})", file=sys.stderr)


def _operator(operator, name: str) -> Callable[[np.ndarray], np.ndarray]:
    if callable(operator):
        return operator
    if hasattr(operator, "dot"):
        return operator.dot
    raise TypeError(f"{name} must be a matrix (with .dot) or a function, got {type(operator)}")


def cg(
    A,
    b: ArrayLike,
    x0: ArrayLike | None = None,
    atol: float = 0.0,
    rtol: float = CG_RTOL,
    maxiter: int = CG_MAXITER,
    callback: Callable | None = None,
    M=None,
    reorthogonalize: bool = False,
) -> np.ndarray:
    """Preconditioned conjugate gradient with PyMatting's signature (``pymatting.cg``).

    Parameters
    ----------
    A : matrix or callable
        The matrix (dense, sparse, anything with ``.dot``) or a function ``x -> A x``.
    b : array_like, shape (n,)
        Right-hand side.
    x0 : array_like, optional
        Starting guess (default zeros); not modified.
    atol, rtol : float, optional
        Stop when ``||r|| < atol`` or ``||r|| < rtol ||b||``.
    maxiter : int, optional
        Iterations before giving up.
    callback : callable, optional
        Called after each iteration as ``callback(A, x, b, norm_b, r, norm_r)``.
    M : matrix or callable, optional
        Preconditioner: a function ``r -> z`` or a matrix applied by ``.dot``.
    reorthogonalize : bool, optional
        Polak-Ribière ``beta = r_new^T (z_new - ...) / r^T z`` instead of Fletcher-Reeves,
        which tolerates preconditioners that change between iterations.

    Returns
    -------
    ndarray, shape (n,)
        The solution.

    Raises
    ------
    ValueError
        If the residual does not meet ``atol`` or ``rtol`` within ``maxiter`` iterations.
    PyMattingTypeError
        (a ``TypeError`` as PyMatting, and a ``ValueError``) for an ``atol`` or ``rtol`` that
        is not a number, or a ``maxiter`` that is not a whole number of at least 0.

    Notes
    -----
    Hestenes and Stiefel, "Methods of conjugate gradients for solving linear systems", 1952.
    Like PyMatting's, it runs on whatever ``A`` it is given, symmetric or not (PyMatting's
    random walk and KNN systems are not: convergence is then not guaranteed).

    Examples
    --------
    >>> import numpy as np
    >>> from vecmatte.compat.pymatting import cg
    >>> cg(np.array([[3.0, 1.0], [1.0, 2.0]]), np.array([4.0, 3.0])).round(6)
    array([1., 1.])
    """
    # Named errors for text or None (they failed mid-solve, "can't multiply sequence ..."),
    # of PyMatting's type (TypeError from range() or float arithmetic) and vecmatte's.
    try:
        atol, rtol = option_number(atol, "atol"), option_number(rtol, "rtol")
        maxiter = whole_number(maxiter, "maxiter", "a whole number (0 or more)")
    except ValueError as error:
        raise PyMattingTypeError(str(error)) from None
    apply_a = _operator(A, "A")
    precondition = (lambda r: r) if M is None else _operator(M, "M")
    b = np.asarray(b)
    x = np.zeros_like(b) if x0 is None else np.array(x0, copy=True)
    norm_b = np.linalg.norm(b)
    r = b - apply_a(x)
    norm_r = np.linalg.norm(r)
    if norm_r < atol or norm_r < rtol * norm_b:
        return x
    z = precondition(r)
    p = np.array(z, copy=True)
    rz = np.inner(r, z)
    for _ in range(maxiter):
        ap = apply_a(p)
        step = rz / np.inner(p, ap)
        x += step * p
        previous = r.copy() if reorthogonalize else None
        r -= step * ap
        norm_r = np.linalg.norm(r)
        if callback is not None:
            callback(A, x, b, norm_b, r, norm_r)
        if norm_r < atol or norm_r < rtol * norm_b:
            return x
        z = precondition(r)
        rz_new = np.inner(r, z)
        beta = (np.inner(r - previous, z) if reorthogonalize else rz_new) / rz
        rz = rz_new
        p *= beta
        p += z
    raise ValueError(
        f"Conjugate gradient descent did not converge within {maxiter} iterations "
        f"(||r|| = {norm_r:.3g}, ||b|| = {norm_b:.3g}); raise maxiter, rtol or atol, "
        "or pass a stronger preconditioner M"
    )
