"""Jacobi plus a coarse correction on blocks of pixels (additive two-level preconditioner).

``M^-1 r = D^-1 r + P (P^T A P)^-1 P^T r``, where ``D`` is the system's diagonal and ``P``
the aggregation matrix: each solved pixel (a row of the system) belongs to the square block
of ``block x block`` pixels that holds it, and ``P`` has a 1 at (pixel, its block). The
coarse matrix ``P^T A P`` (the system summed over blocks) is factored once by SuperLU.
Both terms are symmetric positive semi-definite and the first definite, so ``M`` is
symmetric positive definite, as conjugate gradient needs.

The coarse term corrects what Jacobi leaves for hundreds of iterations: errors smooth over
many pixels. Information-flow matting is its use: the colour-mixture term ``C^T C`` of its
system has its low modes there, and its matrix-free operator (``C`` stays factored) gives
the coarse matrix through its ``galerkin`` attribute. Rows that a data term pins (known
pixels of a soft-constraint system, marked by the operator's ``pinned`` attribute) are left
out of the blocks: a block with a pinned pixel is as stiff as the pin, and its correction
would be lost on the free ones.
"""

from __future__ import annotations

import logging

import numpy as np

from vecmatte._numbers import is_integer, is_real_number, shown

__all__ = [
    "BLOCK",
    "COARSE_ROWS",
    "MAX_BLOCK",
    "aggregate_product",
    "block_aggregates",
    "build",
    "check_options",
]

_log = logging.getLogger(__name__)

#: Smallest side of the blocks that ``block=None`` takes. On information-flow systems of
#: alphamatting-lowres (90k-250k rows) sides 10 to 16 gave about the same CPU time (CG
#: iterations 0.5-0.8 times Jacobi's); smaller blocks cost more to set up (a side of 4: 12000
#: blocks, a SuperLU factor of 2000 entries a row, 7 s on GT08) for few iterations less.
BLOCK = 14
#: Coarse rows that ``block=None`` aims at, counting full blocks: larger systems take larger
#: blocks, so that the coarse factor (non-local: ifm's colour mixtures couple blocks far
#: apart) stays small in time and memory. Blocks that a thin unknown band crosses hold few
#: rows, so there are more (2,931 for 84k unknowns of a 1-pixel band on a 4 MP image; the
#: coarse matrix 0.7% full, its factor 0.05 s).
COARSE_ROWS = 1000

#: Largest block side accepted: one block per 1000 x 1000 pixels is already no coarse
#: correction to speak of.
MAX_BLOCK = 1000


def check_options(*, block: int | None = None) -> None:
    """Refuse out-of-range options of :func:`build`, before any system is built.

    Parameters
    ----------
    block : int or None, optional
        As :func:`build` takes it.

    Raises
    ------
    ValueError
        ``block`` neither None nor a whole number from 1 to :data:`MAX_BLOCK`.
    """
    if block is None:
        return
    if not is_real_number(block) or not is_integer(block) or not 1 <= block <= MAX_BLOCK:
        raise ValueError(
            f"preconditioner 'twolevel': block must be a whole number from 1 to {MAX_BLOCK} "
            f"(default: chosen from the system's size), got {shown(block)}"
        )


def block_aggregates(
    ys: np.ndarray, xs: np.ndarray, block: int, pinned: np.ndarray | None = None
) -> tuple[np.ndarray, int]:
    """The block of each solved pixel, numbered from 0; ``-1`` for pinned rows.

    Parameters
    ----------
    ys, xs : ndarray of int, shape (m,)
        Row and column of each solution entry's pixel.
    block : int
        Side of the square blocks, in pixels.
    pinned : ndarray of bool, shape (m,), optional
        Rows left out of every block.

    Returns
    -------
    aggregate : ndarray of intp, shape (m,)
        Block number of each row (blocks without a row are not numbered), ``-1`` if pinned.
    count : int
        Number of blocks.
    """
    ys = np.asarray(ys, dtype=np.intp)
    xs = np.asarray(xs, dtype=np.intp)
    width = int(xs.max()) // block + 1 if len(xs) else 1
    key = (ys // block) * width + xs // block
    aggregate = np.full(len(key), -1, dtype=np.intp)
    free = np.ones(len(key), dtype=bool) if pinned is None else ~np.asarray(pinned, dtype=bool)
    if not free.any():
        return aggregate, 0
    numbers, aggregate[free] = np.unique(key[free], return_inverse=True)
    return aggregate, len(numbers)


def _prolongation(aggregate: np.ndarray, count: int):
    """``P`` as CSR: a 1 at ``(i, aggregate[i])`` for every ``aggregate[i] >= 0``."""
    import scipy.sparse

    aggregate = np.asarray(aggregate)
    free = aggregate >= 0
    indptr = np.zeros(len(aggregate) + 1, dtype=np.int64)
    np.cumsum(free, out=indptr[1:])
    columns = aggregate[free]
    index_dtype = np.int32 if len(columns) < 2**31 else np.int64
    return scipy.sparse.csr_matrix(
        (np.ones(len(columns)), columns.astype(index_dtype), indptr.astype(index_dtype)),
        shape=(len(aggregate), count),
    )


def aggregate_product(matrix, aggregate: np.ndarray, count: int, *, left: bool = True):
    """``P^T A P`` (``left=True``) or ``A P`` of a sparse ``A`` and an aggregation ``P``.

    ``P`` has a 1 at ``(i, aggregate[i])`` for every ``aggregate[i] >= 0``: the product sums
    the entries of ``A`` over blocks (SciPy's sparse products, which sum the duplicates).

    Parameters
    ----------
    matrix : scipy sparse matrix, shape (n, m)
        ``A`` (``n == m`` when ``left``).
    aggregate : ndarray of int, shape (m,)
        Block of each column (and row, when ``left``); ``-1`` for none.
    count : int
        Number of blocks.
    left : bool, optional
        Also aggregate the rows.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``(count, count)`` when ``left``, else ``(n, count)``.
    """
    prolongation = _prolongation(aggregate, count)
    product = (matrix @ prolongation).tocsr()
    if left:
        product = (prolongation.T.tocsr() @ product).tocsr()
    return product


def build(system, *, block: int | None = None):
    """Two-level preconditioner of a :class:`vecmatte.systems.MattingSystem`.

    Parameters
    ----------
    system : vecmatte.systems.MattingSystem
        With an explicit sparse ``matrix``, or a matrix-free one whose operator has a
        ``galerkin(aggregate, count)`` method returning ``P^T A P`` (see
        :func:`aggregate_product`) and, optionally, a ``pinned`` mask of rows; without
        either, the coarse term is left out (Jacobi alone).
    block : int or None, optional
        Side of the pixel blocks of the coarse level. ``None`` (the default): :data:`BLOCK`,
        or larger so that full blocks would number about :data:`COARSE_ROWS` at most.

    Returns
    -------
    scipy.sparse.linalg.LinearOperator
        ``r -> D^-1 r + P (P^T A P)^-1 P^T r``.
    """
    from scipy.sparse.linalg import splu

    from vecmatte.linalg.cg import vector_operator

    check_options(block=block)
    matrix = system.matrix
    diagonal = system.diagonal
    if diagonal is None:
        if not hasattr(matrix, "diagonal"):
            raise ValueError(
                "preconditioner 'twolevel' needs the system's diagonal: the method's system is "
                "matrix-free and gives none"
            )
        diagonal = matrix.diagonal()
    inverse_diagonal = 1.0 / np.asarray(diagonal, dtype=np.float64)
    n = len(inverse_diagonal)
    galerkin = getattr(matrix, "galerkin", None)
    if galerkin is None and not hasattr(matrix, "tocsr"):
        _log.info("twolevel: matrix-free system without a Galerkin product; Jacobi alone")
        return vector_operator(n, lambda x: inverse_diagonal * x)
    ys, xs = system.coordinates()
    pinned = getattr(matrix, "pinned", None)
    if block is None:
        free = n if pinned is None else n - int(np.count_nonzero(pinned))
        block = max(BLOCK, int(np.ceil(np.sqrt(free / COARSE_ROWS))))
    aggregate, count = block_aggregates(ys, xs, int(block), pinned)
    if count == 0:
        return vector_operator(n, lambda x: inverse_diagonal * x)
    _log.info("twolevel: coarse matrix of %d blocks (%d x %d pixels)", count, block, block)
    if galerkin is not None:
        coarse = galerkin(aggregate, count)
    else:
        coarse = aggregate_product(matrix, aggregate, count)
    factor = splu(
        coarse.tocsc(),
        permc_spec="MMD_AT_PLUS_A",
        diag_pivot_thresh=0.0,
        options={"SymmetricMode": True},
    )
    # P^T as CSR (a block's rows summed by one sparse product: 6x faster than bincount of a
    # gather) and P as a gather from the coarse solution with a 0 appended, at which the
    # pinned rows' -1 wraps. Gathered into a buffer of the operator's own: with "raise"
    # (np.take's default) and out=, NumPy buffers the whole gather, and a second fresh
    # temporary of n entries per application cost as much again (1.8 ms against 0.25 ms
    # for both terms at 200k rows, where the product with the system takes 9-15 ms).
    restriction = _prolongation(aggregate, count).T.tocsr()
    coarse_solution = np.zeros(count + 1)
    gathered = np.empty(n)

    def apply(x):
        z = inverse_diagonal * x
        coarse_solution[:count] = factor.solve(restriction @ x)
        np.take(coarse_solution, aggregate, out=gathered, mode="wrap")
        z += gathered
        return z

    return vector_operator(n, apply)
