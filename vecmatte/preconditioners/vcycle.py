"""Geometric multigrid V-cycle preconditioner on the pixel grid (PyMatting's ``vcycle``).

Each level halves the grid: residuals are restricted by full weighting, the coarse operator
is the Galerkin product ``R A R^T`` (built once, with sparse products), and damped Jacobi
smooths before and after the coarse correction. The coarsest level is solved directly.
Recommended for matting by Lee and Wu, "Scalable Matting: A Sub-linear Approach", 2014.
"""

from __future__ import annotations

import numpy as np

from vecmatte._numbers import is_integer, is_real_number, shown

__all__ = [
    "MAX_DIRECT_SOLVE_SIZE",
    "MAX_OMEGA",
    "MAX_SWEEPS",
    "MIN_OMEGA",
    "build",
    "check_options",
    "full_weighting",
    "vcycle_operator",
]

#: Most damped Jacobi sweeps accepted before or after a coarse correction (PyMatting: 1). A
#: bound on the time a mistyped count can take: each sweep is a product with the level's
#: matrix in every application of the preconditioner, and smoothing gains nothing after a few.
MAX_SWEEPS = 100
#: Largest coarsest level accepted (a 128 x 128 grid; PyMatting: 64). Above it the V-cycle
#: turns into a float64 SuperLU factor of most of the system, which the memory model of
#: "vcycle" leaves out: the complete factor is the "direct" preconditioner, checked for memory.
MAX_DIRECT_SOLVE_SIZE = 16384

#: Largest damping accepted. The V-cycle is positive definite (what conjugate gradient
#: needs) only while each level's damped Jacobi sweep converges, ``omega * lambda_max(D^-1 A)
#: < 2``, and that eigenvalue reaches 2 on graph Laplacians (random walks, KNN) and their
#: Galerkin coarse levels: above 1 conjugate gradient broke down on closed-form, random-walk
#: and LBDM systems at radius 1 (3 scenes each; (0, 2) was accepted before). Random walks
#: can break down from about 0.99 on: the breakdown's warning then names omega.
MAX_OMEGA = 1.0
#: Smallest damping accepted: below float64's rounding the sweep vanishes beside the coarse
#: correction, which alone is singular (omega 1e-300 broke down or ran 13500 iterations;
#: 1e-16 still converged).
MIN_OMEGA = float(np.finfo(np.float64).eps)

# Full-weighting stencil over the 3x3 fine pixels around a coarse pixel's centre (2y, 2x).
_WEIGHTS = np.array([1, 2, 1, 2, 4, 2, 1, 2, 1], dtype=np.float64) / 16.0


def full_weighting(shape: tuple[int, int]):
    """Restriction ``R`` from an ``(h, w)`` grid to ``(h // 2, w // 2)``, as a CSR matrix.

    Coarse pixel ``(y, x)`` averages the fine pixels around ``(2y, 2x)`` with weights
    ``[1 2 1; 2 4 2; 1 2 1] / 16`` (those outside the grid left out).

    Parameters
    ----------
    shape : (int, int)
        The fine grid's ``(h, w)``.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (h // 2 * (w // 2), h * w)
        ``R``.
    """
    import scipy.sparse

    h, w = shape
    hc, wc = h // 2, w // 2
    dy, dx = np.divmod(np.arange(9), 3)
    cy, cx = np.divmod(np.arange(hc * wc), max(wc, 1))
    fy = 2 * cy[:, None] + dy - 1
    fx = 2 * cx[:, None] + dx - 1
    inside = (fy >= 0) & (fy < h) & (fx >= 0) & (fx < w)
    rows = np.broadcast_to(np.arange(hc * wc)[:, None], fy.shape)[inside]
    values = np.broadcast_to(_WEIGHTS, fy.shape)[inside]
    return scipy.sparse.csr_matrix((values, (rows, (fy * w + fx)[inside])), shape=(hc * wc, h * w))


class _Level:
    """One grid level: its matrix, diagonal, and the restriction to the next level."""

    def __init__(self, matrix, restriction=None) -> None:
        self.matrix = matrix
        self.diagonal = matrix.diagonal()
        self.restriction = restriction
        self.prolongation = None if restriction is None else restriction.T.tocsr()


def _coarse_solver(matrix):
    from scipy.sparse.linalg import splu

    if matrix.shape[0] == 0:
        return lambda b: np.zeros(0)
    factor = splu(matrix.tocsc())
    return factor.solve


def vcycle_operator(
    matrix,
    shape: tuple[int, int],
    *,
    unknown: np.ndarray | None = None,
    num_pre_iter: int = 1,
    num_post_iter: int = 1,
    omega: float = 0.8,
    direct_solve_size: int = 64,
):
    """One V-cycle from a zero guess, ``r -> x ~ A^-1 r``, as a ``LinearOperator``.

    Parameters
    ----------
    matrix : sparse matrix or ndarray, shape (m, m)
        Symmetric positive definite.
    shape : tuple of int
        ``(h, w)`` of the pixel grid.
    unknown : ndarray of int, shape (m,), optional
        Flat pixel index of each row of ``matrix``; default: all ``h * w`` pixels in order.
        On a subset of the grid (hard-constraint systems), coarse pixels whose centre is not
        in the subset are dropped, which keeps every coarse operator positive definite.
    num_pre_iter, num_post_iter : int, optional
        Damped Jacobi sweeps before and after each coarse correction (PyMatting: 1 and 1).
    omega : float, optional
        Jacobi damping (PyMatting: 0.8).
    direct_solve_size : int, optional
        Grids of at most this many pixels (or matrices of at most this many rows) are
        solved directly (PyMatting: 64).

    Returns
    -------
    scipy.sparse.linalg.LinearOperator
        Symmetric when ``num_pre_iter == num_post_iter``.

    Raises
    ------
    ValueError
        If ``unknown`` does not match ``matrix`` or an option is out of range.

    Notes
    -----
    On the full grid this is PyMatting's ``vcycle`` (same restriction, prolongation
    ``R^T``, Galerkin operators and smoothing), with the coarse operators and the coarsest
    factor built once instead of at the first application.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse
    >>> from vecmatte.preconditioners.vcycle import vcycle_operator
    >>> grid = scipy.sparse.diags([-1.0, 2.1, -1.0], [-1, 0, 1], shape=(400, 400))
    >>> operator = vcycle_operator(grid, (20, 20))
    >>> operator.shape
    (400, 400)
    """
    import scipy.sparse

    from vecmatte.linalg.cg import vector_operator

    for name, value in (("num_pre_iter", num_pre_iter), ("num_post_iter", num_post_iter)):
        if isinstance(value, bool) or not float(value).is_integer() or int(value) < 0:
            raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    omega = float(omega)
    if not np.isfinite(omega) or omega <= 0:
        raise ValueError(f"omega must be a positive number, got {omega!r}")
    num_pre_iter, num_post_iter = int(num_pre_iter), int(num_post_iter)
    matrix = scipy.sparse.csr_matrix(matrix, dtype=np.float64)
    m = matrix.shape[0]
    h, w = (int(s) for s in shape)
    pixels = np.arange(m) if unknown is None else np.asarray(unknown, dtype=np.intp)
    if len(pixels) != m:
        raise ValueError(f"unknown has {len(pixels)} entries but the matrix has {m} rows")
    levels = []
    while h * w > direct_solve_size and len(pixels) > direct_solve_size and h > 1 and w > 1:
        if unknown is None and m != h * w:
            raise ValueError(
                f"matrix has {m} rows but the grid {h} x {w} has {h * w} pixels; pass "
                "unknown= (the pixel of each row) for systems on part of the grid"
            )
        restriction = full_weighting((h, w))
        coarse_pixels = np.arange(restriction.shape[0])
        if len(pixels) != h * w:
            # Keep the coarse pixels whose centre fine pixel is solved for.
            cy, cx = np.divmod(coarse_pixels, w // 2)
            solved = np.zeros(h * w, dtype=bool)
            solved[pixels] = True
            coarse_pixels = coarse_pixels[solved[2 * cy * w + 2 * cx]]
            restriction = restriction[coarse_pixels][:, pixels]
        if restriction.shape[0] == 0:
            break
        levels.append(_Level(matrix, restriction.tocsr()))
        matrix = (restriction @ matrix @ restriction.T).tocsr()
        pixels = coarse_pixels
        h, w = h // 2, w // 2
        m = matrix.shape[0]
    coarsest = _coarse_solver(matrix)

    def smooth(level: _Level, b: np.ndarray, x: np.ndarray | None, sweeps: int) -> np.ndarray:
        if x is None:
            if sweeps == 0:
                return np.zeros_like(b)
            x = omega * b / level.diagonal
            sweeps -= 1
        for _ in range(sweeps):
            x = x + omega * (b - level.matrix @ x) / level.diagonal
        return x

    def cycle(depth: int, b: np.ndarray) -> np.ndarray:
        if depth == len(levels):
            return coarsest(b)
        level = levels[depth]
        x = smooth(level, b, None, num_pre_iter)
        residual = b - level.matrix @ x
        x += level.prolongation @ cycle(depth + 1, level.restriction @ residual)
        return smooth(level, b, x, num_post_iter)

    n = len(levels[0].diagonal) if levels else matrix.shape[0]
    return vector_operator(n, lambda r: cycle(0, np.ravel(r).astype(np.float64)))


def check_options(
    *,
    num_pre_iter: int = 1,
    num_post_iter: int = 1,
    omega: float = 0.8,
    direct_solve_size: int = 64,
) -> None:
    """Refuse out-of-range options of :func:`build`, before any system is built.

    Called by :func:`vecmatte.preconditioners.resolve_preconditioner`, so that a command
    line or a batch refuses ``vcycle:omega=3`` once, before reading any image.

    Parameters
    ----------
    num_pre_iter, num_post_iter, omega, direct_solve_size
        As :func:`vcycle_operator` takes them.

    Raises
    ------
    ValueError
        One line naming the option: a sweep count that is not a whole number >= 0, both
        counts 0 (the cycle is then only the coarse correction, a singular operator),
        ``omega`` outside [:data:`MIN_OMEGA`, :data:`MAX_OMEGA`], a sweep count above
        :data:`MAX_SWEEPS`, or
        ``direct_solve_size`` not a whole number from 1 to :data:`MAX_DIRECT_SOLVE_SIZE`.
    """
    for name, value in (("num_pre_iter", num_pre_iter), ("num_post_iter", num_post_iter)):
        if not _whole(value) or not 0 <= value <= MAX_SWEEPS:
            raise ValueError(
                f"preconditioner 'vcycle': {name} must be a whole number >= 0 and at most "
                f"{MAX_SWEEPS} (default 1), got {shown(value)}"
            )
    if num_pre_iter == 0 and num_post_iter == 0:
        raise ValueError(
            "preconditioner 'vcycle': num_pre_iter and num_post_iter may not both be 0 "
            "(no smoothing leaves a singular coarse correction); set one to 1"
        )
    if not is_real_number(omega) or not MIN_OMEGA <= omega <= MAX_OMEGA:
        raise ValueError(
            f"preconditioner 'vcycle': omega must lie in [{MIN_OMEGA:.1e}, {MAX_OMEGA:g}] "
            f"(default 0.8), got {shown(omega)}"
        )
    if not _whole(direct_solve_size) or not 1 <= direct_solve_size <= MAX_DIRECT_SOLVE_SIZE:
        raise ValueError(
            "preconditioner 'vcycle': direct_solve_size must be a whole number of at least 1 "
            f"and at most {MAX_DIRECT_SOLVE_SIZE} (default 64; for a complete factor use the "
            f"'direct' preconditioner), got {shown(direct_solve_size)}"
        )


def _whole(value) -> bool:
    # is_integer, not float(value).is_integer(): a count of 400 digits overflows a float.
    return is_real_number(value) and is_integer(value)


def build(
    system,
    *,
    num_pre_iter: int = 1,
    num_post_iter: int = 1,
    omega: float = 0.8,
    direct_solve_size: int = 64,
):
    """V-cycle preconditioner of a :class:`vecmatte.systems.MattingSystem`.

    Works on the full grid (soft-constraint systems, as in PyMatting) and on the unknown
    pixels of hard-constraint systems; needs an explicit sparse matrix. Options checked by
    :func:`check_options`.

    Parameters
    ----------
    system : vecmatte.systems.MattingSystem
        The system.
    num_pre_iter, num_post_iter, omega, direct_solve_size : optional
        As in :func:`vcycle_operator`.

    Returns
    -------
    scipy.sparse.linalg.LinearOperator
        The preconditioner ``M``, for :func:`vecmatte.linalg.cg.conjugate_gradient`.
    """
    check_options(
        num_pre_iter=num_pre_iter,
        num_post_iter=num_post_iter,
        omega=omega,
        direct_solve_size=direct_solve_size,
    )
    unknown = system.unknown
    h, w = system.shape
    full = len(unknown) == h * w and bool(np.all(unknown == np.arange(h * w)))
    return vcycle_operator(
        system.matrix,
        system.shape,
        unknown=None if full else unknown,
        num_pre_iter=num_pre_iter,
        num_post_iter=num_post_iter,
        omega=omega,
        direct_solve_size=direct_solve_size,
    )
