"""PyMatting's preconditioners ``jacobi``, ``ichol``, ``vcycle`` (``pymatting.preconditioner``).

Each takes the matrix and returns what :func:`vecmatte.compat.pymatting.cg` accepts as ``M``:
a function (or a ``LinearOperator``, also callable) ``r -> z``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from vecmatte._caller import outside_stacklevel
from vecmatte.compat.pymatting._common import PyMattingAssertionError, PyMattingTypeError

__all__ = ["CholeskyDecomposition", "ichol", "jacobi", "vcycle"]

_SHIFTS = [0.0, 1e-4, 1e-3, 1e-2, 0.1, 0.5, 1.0, 10.0, 100, 1e3, 1e4, 1e5]


def jacobi(A) -> Callable[[np.ndarray], np.ndarray]:
    """Jacobi preconditioner ``r -> r / diag(A)`` (PyMatting's ``jacobi``).

    Parameters
    ----------
    A : matrix with ``.diagonal()``

    Returns
    -------
    callable
        ``r -> r / diag(A)``.
    """
    inverse_diagonal = 1.0 / A.diagonal()

    def precondition_matvec(x: np.ndarray) -> np.ndarray:
        return x * inverse_diagonal

    return precondition_matvec


class CholeskyDecomposition:
    """``b -> A^-1 b`` from a factorisation of ``A``; returned by :func:`ichol`.

    ``b`` is a vector of ``A``'s size (any real dtype; a list too), or ``(n, k)`` columns; any
    other shape raises :class:`PyMattingTypeError` (a ``TypeError`` as PyMatting's, and a
    ``ValueError``).

    Attributes
    ----------
    nnz : int
        Stored entries of the (fill-reducing ordered) lower factor used by the solves.
    L, Ltuple
        PyMatting's attributes: the lower-triangular factor ``L`` with ``L L^T = A`` (plus
        the shift that made the factorisation succeed) in the matrix's own order, as a
        ``scipy.sparse.csc_matrix``, and its ``(data, indices, indptr)``. Computed when first
        read (a factorisation without reordering, which may fill in more).
    """

    def __init__(self, factor, nnz: int, matrix=None) -> None:
        self._factor = factor
        self._matrix = matrix
        self._L = None
        #: Stored entries of the lower factor.
        self.nnz = nnz

    def __call__(self, b: np.ndarray) -> np.ndarray:
        b = np.asarray(b, dtype=np.float64)
        n = self._factor.shape[0]
        if b.ndim not in (1, 2) or b.shape[0] != n:
            # PyMatting's compiled solve raises TypeError for an array that is not a vector
            # (and returns NaNs or divides by zero for a vector of another length).
            raise PyMattingTypeError(
                f"b has shape {b.shape}; expected ({n},), a vector of the matrix's size"
            )
        return self._factor.solve(b)

    @property
    def L(self):
        """Lower-triangular ``scipy.sparse.csc_matrix`` with ``L L^T = A``, as PyMatting's."""
        if self._L is None:
            self._L = _natural_cholesky(self._matrix)
        return self._L

    @property
    def Ltuple(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(data, indices, indptr)`` of :attr:`L` (float64, int64, int64), as PyMatting's."""
        L = self.L
        return L.data, L.indices.astype(np.int64), L.indptr.astype(np.int64)


def _natural_cholesky(A):
    """The Cholesky factor of the symmetric positive definite ``A`` in its own order.

    SuperLU without pivoting on a symmetric definite matrix gives ``A = L_1 D L_1^T``
    (``U = D L_1^T``), so ``L = L_1 sqrt(D)``.
    """
    import scipy.sparse
    from scipy.sparse.linalg import splu

    factor = splu(
        A,
        permc_spec="NATURAL",
        diag_pivot_thresh=0.0,
        options={"SymmetricMode": True},
    )
    L = factor.L @ scipy.sparse.diags(np.sqrt(factor.U.diagonal()))
    return scipy.sparse.csc_matrix(L)


def ichol(
    A,
    discard_threshold: float = 1e-4,
    shifts: list[float] = _SHIFTS,  # PyMatting's default, never modified
    max_nnz: int = int(4e9 / 16),
    relative_discard_threshold: float = 0.0,
    diag_keep_discarded: bool = True,
) -> CholeskyDecomposition:
    """Cholesky preconditioner with PyMatting's signature (``pymatting.ichol``).

    PyMatting computes a thresholded *incomplete* Cholesky factor with compiled loops. The
    shim factors completely instead (SuperLU in float64, fill-reducing order, no pivoting):
    the limit ``discard_threshold -> 0``, which preconditions at least as well (conjugate
    gradient converges in one or two iterations), so the discard options have nothing left
    to discard.

    Parameters
    ----------
    A : scipy.sparse.csc_matrix or csr_matrix, shape (n, n)
        Symmetric positive definite (a CSR matrix is read as its transpose, as PyMatting).
    discard_threshold, relative_discard_threshold, diag_keep_discarded
        Accepted for compatibility; nothing is discarded (see above).
    shifts : list of float, optional
        Tried in order until ``A + shift I`` factors with positive pivots.
    max_nnz : int, optional
        Upper bound on the entries of the lower factor.

    Returns
    -------
    CholeskyDecomposition
        Callable ``b -> A^-1 b``.

    Raises
    ------
    ValueError
        If ``A`` is not a CSC (or CSR) sparse matrix, the factor has more than ``max_nnz``
        entries, or no shift makes ``A`` positive definite (as PyMatting).

    Warns
    -----
    RuntimeWarning
        For each shift that fails (PyMatting prints a "PERFORMANCE WARNING").
    """
    import scipy.sparse
    from scipy.sparse.linalg import splu

    if scipy.sparse.issparse(A) and A.format == "csr":
        A = A.T
    if not (scipy.sparse.issparse(A) and A.format == "csc"):
        raise ValueError(
            f"Matrix A must be a scipy.sparse.csc_matrix, got {type(A).__name__}; "
            "convert it with scipy.sparse.csc_matrix(A)"
        )
    if A.shape[0] != A.shape[1]:
        raise PyMattingAssertionError(f"A must be square, got shape {A.shape}")
    n = A.shape[0]
    A = A.astype(np.float64)
    for shift in shifts:
        shifted = (A + shift * scipy.sparse.identity(n, format="csc")) if shift else A
        try:
            factor = splu(
                shifted.tocsc(),
                permc_spec="MMD_AT_PLUS_A",
                diag_pivot_thresh=0.0,
                options={"SymmetricMode": True},
            )
        except RuntimeError:  # a zero pivot: "Factor is exactly singular"
            factor = None
        # Without pivoting, the pivots of a symmetric matrix are positive iff it is definite.
        if factor is not None and np.all(factor.U.diagonal() > 0):
            break
        warnings.warn(
            f"ichol: A + {shift:g} I is not positive definite; trying the next shift",
            RuntimeWarning,
            # ichol is called by the user or by the shim's solvers: point at the user's line.
            stacklevel=outside_stacklevel(),
        )
    else:
        raise ValueError(
            "Cholesky decomposition failed due to insufficient positive-definiteness of matrix "
            f"A and the diagonal shifts {list(shifts)} did not help; pass larger shifts"
        )
    if factor.L.nnz > max_nnz:
        raise ValueError(
            f"Cholesky decomposition failed because more than max_nnz={max_nnz} non-zero "
            f"elements were created ({factor.L.nnz}); increase max_nnz"
        )
    return CholeskyDecomposition(factor, factor.L.nnz, shifted.tocsc())


def vcycle(
    A,
    shape: tuple[int, int],
    num_pre_iter: int = 1,
    num_post_iter: int = 1,
    omega: float = 0.8,
    direct_solve_size: int = 64,
    cache: dict | None = None,
):
    """Geometric multigrid V-cycle with PyMatting's signature (``pymatting.vcycle``).

    Runs :func:`vecmatte.preconditioners.vcycle.vcycle_operator`: full-weighting
    restriction, Galerkin coarse operators, damped Jacobi, direct solves on small grids.

    Parameters
    ----------
    A : sparse matrix, shape (h*w, h*w)
        System over all pixels of the grid.
    shape : (int, int)
        ``(h, w)``.
    num_pre_iter, num_post_iter, omega, direct_solve_size
        As PyMatting's.
    cache : dict, optional
        PyMatting fills it with the coarse levels on the first call; vecmatte builds them
        once here, so it is not used.

    Returns
    -------
    scipy.sparse.linalg.LinearOperator
        Callable ``r -> x ~ A^-1 r``.

    Raises
    ------
    ValueError
        One line naming the option: a sweep count below 0 or above ``sys.maxsize`` (where
        PyMatting's ``range()`` loops forever), an ``omega`` that is not a positive finite
        number (see Notes). Any other count runs, as in PyMatting (vecmatte's own ``vcycle`` option
        stops at :data:`vecmatte.preconditioners.vcycle.MAX_SWEEPS`; a PyMatting call is
        taken as written).
    PyMattingTypeError
        (a ``TypeError`` as PyMatting's ``range()``, and a ``ValueError``) for a sweep count
        that is not a whole number.

    Notes
    -----
    Every positive finite ``omega`` runs as in PyMatting (above 1 too, where PyMatting's
    conjugate gradient still converges on its systems). The others are refused where
    PyMatting goes on, because what it computes is no preconditioner: with ``omega = 0`` the
    smoothing vanishes and the V-cycle is the coarse-grid correction alone, a singular
    operator (conjugate gradient never converges: "did not converge" after ``maxiter``
    iterations); with ``omega < 0`` the smoothing moves away from the solution and the
    operator is indefinite (on alphamatting.com images at a quarter size, -0.01 took 3-5
    times the iterations of 0.8, -0.5 up to 25 times or never converged); NaN and infinity
    give NaN vectors (conjugate gradient runs ``maxiter`` iterations of NaNs, then raises
    the same ValueError).
    """
    from vecmatte._numbers import finite_number
    from vecmatte.preconditioners.vcycle import vcycle_operator

    return vcycle_operator(
        A,
        tuple(shape),
        num_pre_iter=_sweeps(num_pre_iter, "num_pre_iter"),
        num_post_iter=_sweeps(num_post_iter, "num_post_iter"),
        omega=finite_number(omega, "omega", "a positive number", minimum=0, above_minimum=True),
        direct_solve_size=direct_solve_size,
    )


def _sweeps(value, name: str) -> int:
    """A sweep count of :func:`vcycle`, checked before :func:`vcycle_operator` takes it
    through ``float()`` (an OverflowError for an integer of hundreds of digits).

    Every count PyMatting runs is run (101 sweeps was refused: vecmatte's own bound of its
    ``vcycle`` option is not PyMatting's); only one beyond ``sys.maxsize``, whose loop never
    ends in PyMatting either, is refused, and negative ones as before.
    """
    import sys

    from vecmatte._numbers import is_integer, is_real_number, shown

    message = (
        f"{name} must be a whole number from 0 to {sys.maxsize} (default 1), got {shown(value)}"
    )
    if not (is_real_number(value) and is_integer(value)):
        # text, None, a fraction: PyMatting's range() raises TypeError
        raise PyMattingTypeError(message)
    if not 0 <= value <= sys.maxsize:
        raise ValueError(message)
    return int(value)
