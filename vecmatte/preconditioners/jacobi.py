"""Diagonal (Jacobi) preconditioner: works on any system, holds one vector."""

from __future__ import annotations

import numpy as np

__all__ = ["build", "jacobi_operator"]


def jacobi_operator(diagonal: np.ndarray):
    """``x -> x / diagonal`` as a ``LinearOperator``.

    Parameters
    ----------
    diagonal : ndarray, shape (n,)
        Diagonal of a symmetric positive definite matrix (all entries positive).

    Returns
    -------
    scipy.sparse.linalg.LinearOperator
    """
    from vecmatte.linalg.cg import vector_operator

    inverse_diagonal = 1.0 / np.asarray(diagonal, dtype=np.float64)
    return vector_operator(len(inverse_diagonal), lambda x: inverse_diagonal * x.ravel())


def build(system):
    """Jacobi preconditioner of a :class:`vecmatte.systems.MattingSystem`.

    Uses ``system.diagonal`` when given (matrix-free systems), else the matrix's diagonal.

    Parameters
    ----------
    system : vecmatte.systems.MattingSystem
        The system.

    Returns
    -------
    scipy.sparse.linalg.LinearOperator
        ``x -> x / diagonal``.

    Notes
    -----
    Conjugate gradient stops on the residual, which bounds the error only as far as the
    system is conditioned: an LBDM system over windows of one flat colour (graphics,
    thresholded images; condition ~1e13) "converges" at rtol 1e-6 to mattes up to 1 away
    from its solution. :func:`vecmatte.solve_alpha` warns of it; ``"direct"`` solves it.
    """
    diagonal = system.diagonal
    if diagonal is None:
        if not hasattr(system.matrix, "diagonal"):
            raise ValueError(
                "preconditioner 'jacobi' needs the system's diagonal: the method's system is "
                "matrix-free and gives none"
            )
        diagonal = system.matrix.diagonal()
    return jacobi_operator(diagonal)
