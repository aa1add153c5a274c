"""Preconditioners for conjugate gradient: each maps a system to a ``LinearOperator``.

Every preconditioner has the shape ``make(matrix, stencil) -> LinearOperator`` (set-up apart
from application, as in pyamg) and is looked up by name with :func:`get_preconditioner`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["PRECONDITIONERS", "direct", "get_preconditioner", "ichol", "jacobi"]


def jacobi(matrix, stencil=None):
    """Diagonal (Jacobi) preconditioner: ``M^-1 x = x / diag(A)``."""
    from scipy.sparse.linalg import LinearOperator

    inverse_diagonal = 1.0 / matrix.diagonal()
    n = matrix.shape[0]
    return LinearOperator((n, n), matvec=lambda x: inverse_diagonal * x.ravel(), dtype=np.float64)


def _ichol_stencil_factor(stencil, sweeps: int, shift: float) -> tuple[np.ndarray, np.ndarray]:
    """Incomplete Cholesky IC(0) values on the stencil, by fixed-point sweeps.

    Returns ``(lower, neighbors)`` with ``lower[s, u] = L[u, neighbors[s, u]]`` for the
    lower offsets ``s`` (those before the centre in row-major order, centre included last).

    Notes
    -----
    Each sweep recomputes every factor entry from the previous sweep's values at once
    (Chow and Patel, "Fine-grained parallel incomplete LU factorization", SIAM J. Sci.
    Comput. 37(2), 2015), so the work is array arithmetic over all unknowns per stencil-offset
    pair rather than a loop over pixels. The exact IC(0) factor is the fixed point; a few
    sweeps already give a preconditioner as good as it.
    """
    offsets = stencil.offsets
    centre = len(offsets) // 2
    n = stencil.neighbors.shape[1]
    # Pad with a dummy unknown n whose factor entries are zero, so that gathers through a
    # missing neighbour (-1 -> n) contribute nothing.
    neighbors = np.where(stencil.neighbors[: centre + 1] < 0, n, stencil.neighbors[: centre + 1])
    a = np.zeros((centre + 1, n + 1))
    a[:, :n] = stencil.values[: centre + 1]
    a[centre, :n] *= 1.0 + shift
    lookup = {tuple(o): s for s, o in enumerate(offsets[: centre + 1])}
    # For entry (u, u+d): pairs (e, f) of lower offsets with e before d and e = d + f.
    pairs = []
    for d in range(centre):
        for e in range(d):
            f = lookup.get(tuple(offsets[e] - offsets[d]))
            if f is not None:
                pairs.append((d, e, f))
    lower = np.zeros_like(a)
    diag = np.sqrt(a[centre, :n])
    lower[centre, :n] = diag
    lower[centre, n] = 1.0
    for d in range(centre):
        lower[d, :n] = a[d, :n] / lower[centre, neighbors[d]]
    for _ in range(sweeps):
        previous = lower.copy()
        corr = np.zeros((centre, n))
        for d, e, f in pairs:
            corr[d] += previous[e, :n] * previous[f, neighbors[d]]
        pivot = a[centre, :n] - np.einsum("su,su->u", previous[:centre, :n], previous[:centre, :n])
        # A non-positive pivot means IC(0) broke down there; fall back to the diagonal of A
        # for that row rather than producing NaNs.
        bad = pivot <= 1e-3 * a[centre, :n]
        pivot[bad] = a[centre, :n][bad]
        lower[centre, :n] = np.sqrt(pivot)
        for d in range(centre):
            lower[d, :n] = (a[d, :n] - corr[d]) / lower[centre, neighbors[d]]
    lower[:centre, :n][neighbors[:centre] == n] = 0.0
    return lower[:, :n], neighbors


def ichol(matrix, stencil, *, sweeps: int = 3, shift: float = 0.0):
    """Incomplete Cholesky preconditioner on the Laplacian's pixel stencil.

    Parameters
    ----------
    matrix : sparse matrix, shape (n, n)
        The reduced system (only its shape is used; the entries come from ``stencil``).
    stencil : vecmatte.solve.Stencil
        Grid neighbourhood and matrix entries of the unknown pixels.
    sweeps : int, optional
        Fixed-point sweeps of the factorisation.
    shift : float, optional
        Relative diagonal shift ``A + shift * diag(A)`` before factoring.

    Returns
    -------
    scipy.sparse.linalg.LinearOperator
        ``x -> (L L^T)^-1 x``, applied with SuperLU's compiled triangular solves.
    """
    import scipy.sparse
    from scipy.sparse.linalg import LinearOperator, splu

    if stencil is None:
        raise ValueError("preconditioner 'ichol' needs the pixel stencil of the system")
    lower, neighbors = _ichol_stencil_factor(stencil, sweeps, shift)
    n = lower.shape[1]
    centre = lower.shape[0] - 1
    rows = np.broadcast_to(np.arange(n), lower.shape)
    keep = neighbors < n
    keep[centre] = True
    factor = scipy.sparse.csc_matrix((lower[keep], (rows[keep], neighbors[keep])), shape=(n, n))
    # splu of a triangular matrix in natural order has no fill: its solve() and
    # solve(trans="T") are then compiled triangular solves with L and L^T.
    triangular = splu(
        factor, permc_spec="NATURAL", diag_pivot_thresh=0.0, options={"SymmetricMode": True}
    )

    def apply(x):
        return triangular.solve(triangular.solve(np.ravel(x)), trans="T")

    return LinearOperator((n, n), matvec=apply, dtype=np.float64)


def _superlu_solver(matrix, single_precision: bool):
    from scipy.sparse.linalg import splu

    dtype = np.float32 if single_precision else np.float64
    factor = splu(
        matrix.astype(dtype).tocsc(),
        permc_spec="MMD_AT_PLUS_A",
        diag_pivot_thresh=0.0,
        options={"SymmetricMode": True},
    )
    return lambda x: factor.solve(np.ravel(x).astype(dtype)).astype(np.float64)


# Measured on this project's benchmark machine (alphamatting images at scales 1 to 4, float32
# factors, one BLAS thread): the envelope factor takes about flops / 2e10 s, the nested
# dissection factor about 6e-6 s per unknown (its tree nodes cost ~0.1 ms each), so the
# envelope is faster while its flops stay below ~1.2e5 per unknown. Below 1e5 the envelope is
# taken: thin bands, where both factors are small; above, nested dissection also holds far
# less memory (GT09 at scale 4: 1.1 GB against 4.4 GB for the envelope, 3.4 GB for SuperLU).
_ENVELOPE_FLOPS_PER_UNKNOWN = 1e5


def direct(matrix, stencil=None, *, method: str = "auto", grid=None):
    """Complete factorisation of the system, used as a preconditioner.

    Parameters
    ----------
    matrix : sparse matrix, shape (n, n)
        The reduced system (symmetric positive definite).
    stencil : ignored
        Accepted for a uniform signature.
    method : {"auto", "envelope", "nested", "superlu"}, optional
        ``"envelope"``: blocked envelope Cholesky in reverse Cuthill-McKee order
        (:mod:`vecmatte.cholesky`); fastest when the unknown region is a thin band.
        ``"nested"``: multifrontal Cholesky in a nested-dissection order of the pixel grid
        (:mod:`vecmatte.multifrontal`, needs ``grid``); least memory, and fastest for wide or
        large unknown regions. ``"superlu"``: SuperLU's LU with a minimum-degree ordering
        (used when no grid is given and the envelope would be too wide). ``"auto"`` takes the
        envelope while its flop count is small, nested dissection otherwise. All factor in
        float32 (half the memory of float64, and faster): exact to about 1e-7, and
        conjugate gradient in float64 removes the rest in one to three iterations.
    grid : vecmatte.solve.PixelGrid, optional
        Pixel coordinates of the unknowns, for ``"nested"``.

    Returns
    -------
    scipy.sparse.linalg.LinearOperator
        ``x -> A^-1 x`` (up to the factor's rounding).

    Notes
    -----
    The factor's memory grows faster than the number of unknowns (about ``n log n``
    entries for nested dissection and SuperLU, ``n`` times the band width for the envelope),
    so for very large unknown regions ``"ichol"`` or ``"jacobi"`` use less memory at the cost
    of time. A factor that breaks down in float32 (a front not positive definite) is replaced
    by SuperLU's.
    """
    from scipy.sparse.linalg import LinearOperator

    from vecmatte.cholesky import envelope_cholesky, envelope_flops, rcm_envelope
    from vecmatte.multifrontal import dissection_order, multifrontal_cholesky

    if method not in ("auto", "envelope", "nested", "superlu"):
        raise ValueError(
            f"method must be 'auto', 'envelope', 'nested' or 'superlu', got {method!r}"
        )
    if method == "nested" and grid is None:
        raise ValueError("method 'nested' needs the pixel grid of the unknowns (grid=...)")
    n = matrix.shape[0]
    chosen, envelope = method, None
    if method == "auto":
        envelope = rcm_envelope(matrix)
        if envelope_flops(envelope.first) < _ENVELOPE_FLOPS_PER_UNKNOWN * n:
            chosen = "envelope"
        else:
            chosen = "nested" if grid is not None else "superlu"
    apply = None
    try:
        if chosen == "envelope":
            apply = envelope_cholesky(envelope or rcm_envelope(matrix)).solve
        elif chosen == "nested":
            del envelope  # its reordering is not needed; free it before factoring
            dissection = dissection_order(grid.ys, grid.xs, grid.reach)
            apply = multifrontal_cholesky(matrix, dissection).solve
    except np.linalg.LinAlgError:
        if method != "auto":
            raise
    if apply is None:
        apply = _superlu_solver(matrix, single_precision=True)
    return LinearOperator((n, n), matvec=apply, dtype=np.float64)


ichol.needs_stencil = True
direct.needs_grid = True

PRECONDITIONERS: dict[str, Callable] = {"direct": direct, "ichol": ichol, "jacobi": jacobi}


def get_preconditioner(name: str | None) -> Callable | None:
    """Look a preconditioner up by name (``None`` means no preconditioning)."""
    if name is None:
        return None
    try:
        return PRECONDITIONERS[name]
    except KeyError:
        raise ValueError(
            f"unknown preconditioner {name!r}; choose one of {sorted(PRECONDITIONERS)} or None"
        ) from None
