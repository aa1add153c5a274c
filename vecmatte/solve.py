"""The constrained matting system on the unknown pixels, and conjugate gradient to solve it."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vecmatte.laplacian import _stencil_offsets, row_coefficients, rows_to_csr, stencil_columns

__all__ = [
    "ConvergenceWarning",
    "PixelGrid",
    "ReducedSystem",
    "SolveResult",
    "build_reduced_system",
    "conjugate_gradient",
]


class ConvergenceWarning(RuntimeWarning):
    """Conjugate gradient stopped at ``maxiter`` before reaching the requested tolerance."""


@dataclass(frozen=True)
class Stencil:
    """Grid neighbourhood of the unknown pixels, for preconditioners that exploit it.

    ``neighbors[s, u]`` is the unknown-pixel index of the neighbour of unknown pixel ``u`` at
    ``offsets[s]``, or ``-1`` where that neighbour is known or outside the image.
    ``values[s, u]`` is the matching matrix entry.
    """

    offsets: np.ndarray
    neighbors: np.ndarray
    values: np.ndarray


@dataclass(frozen=True)
class PixelGrid:
    """Where the unknowns sit: row ``ys[u]``, column ``xs[u]``; pixels more than ``reach``
    apart in either coordinate are not coupled by the system."""

    ys: np.ndarray
    xs: np.ndarray
    reach: int


@dataclass(frozen=True)
class ReducedSystem:
    """``A x = b`` with ``A = L_uu`` and ``b = -L_uk a_k``: the hard-constrained matting system.

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix, shape (n_u, n_u)
        Laplacian restricted to the unknown pixels (symmetric positive definite).
    rhs : ndarray, shape (n_u,)
    unknown : ndarray of intp, shape (n_u,)
        Flat (row-major) pixel index of each unknown.
    stencil : Stencil or None
    shape : tuple of int
        ``(h, w)`` of the image.
    radius : int
        Window radius of the Laplacian.
    """

    matrix: object
    rhs: np.ndarray
    unknown: np.ndarray
    stencil: Stencil | None
    shape: tuple[int, int] = (0, 0)
    radius: int = 1

    @property
    def grid(self) -> PixelGrid:
        """Pixel coordinates of the unknowns (computed on demand, for geometric orderings)."""
        ys, xs = np.divmod(self.unknown, self.shape[1])
        return PixelGrid(ys, xs, 2 * self.radius)


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


def build_reduced_system(
    image: np.ndarray,
    is_fg: np.ndarray,
    is_bg: np.ndarray,
    *,
    eps: float,
    radius: int,
    keep_stencil: bool = True,
) -> ReducedSystem:
    """Assemble ``L_uu`` and ``-L_uk a_k`` straight from the stencil coefficients.

    Only windows touching an unknown pixel are evaluated, and only the rows of unknown pixels
    are turned into a sparse matrix; the columns of known pixels are folded into the
    right-hand side as they are gathered. With ``keep_stencil=False`` the per-offset arrays
    are released (``stencil`` is ``None``), which lowers the peak memory of preconditioners
    that only need the matrix.
    """
    h, w = is_fg.shape
    known = is_fg | is_bg
    offsets = _stencil_offsets(radius)
    unknown = np.flatnonzero(~known)
    values = row_coefficients(image, unknown, eps=eps, radius=radius, known=known)
    columns = stencil_columns(offsets, unknown, (h, w))
    unknown_index = np.full(h * w + 1, -1, dtype=np.intp)
    unknown_index[unknown] = np.arange(len(unknown))
    # columns == -1 (outside) maps to the extra slot at the end, which is -1 and not foreground.
    neighbors = unknown_index[columns]
    fg_flat = np.append(is_fg.ravel(), False)
    rhs = -np.einsum("su,su->u", values, fg_flat[columns])
    del columns
    values[neighbors < 0] = 0.0
    matrix = rows_to_csr(neighbors, values, len(unknown))
    stencil = Stencil(offsets, neighbors, values) if keep_stencil else None
    return ReducedSystem(matrix, rhs, unknown, stencil, (h, w), radius)


def conjugate_gradient(
    matrix,
    rhs: np.ndarray,
    *,
    preconditioner=None,
    x0: np.ndarray | None = None,
    rtol: float = 1e-6,
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
