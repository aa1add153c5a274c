"""Incomplete Cholesky IC(0) on the pixel stencil of a grid system, by fixed-point sweeps."""

from __future__ import annotations

import numpy as np

from vecmatte._numbers import is_finite, is_integer, is_real_number, shown

__all__ = ["build", "check_options", "ichol_factor"]


#: Most fixed-point sweeps accepted (the tests reach IC(0) to 1e-8 in 200 sweeps): a bound on
#: the time a mistyped count can take.
MAX_SWEEPS = 1000
#: Largest relative diagonal shift accepted: above it the factor is little more than the
#: diagonal's square root, which "jacobi" gives for less.
MAX_SHIFT = 10.0
# The sweeps converge only locally on matrices that are not M-matrices. On closed-form
# systems (alphamatting GT01/GT04/GT08 at half size) a sweep's largest change stays about 1
# for ten sweeps, then grows without bound (NaN by the 21st sweep on GT04; CG then broke down
# at once), while random-walk systems converge. A sweep whose change exceeds this many times
# the smallest change so far is dropped and the sweeps stop: the default 3 sweeps never reach
# it on those images (changes 0.25-2.5), the growth does by the 10th-12th sweep.
_DIVERGENCE = 10.0


def check_options(*, sweeps: int = 3, shift: float = 0.0) -> None:
    """Refuse out-of-range options of :func:`build`, before any system is built.

    Called by :func:`vecmatte.preconditioners.resolve_preconditioner`, so that a command
    line or a batch refuses ``ichol:sweeps=0`` once, before reading any image.

    Parameters
    ----------
    sweeps, shift
        As :func:`build` takes them.

    Raises
    ------
    ValueError
        One line naming the option: ``sweeps`` not a whole number of at least 1 (with no
        sweep the factor is only its starting guess, the scaled lower triangle, not
        IC(0)) or above :data:`MAX_SWEEPS`, or ``shift`` negative, above
        :data:`MAX_SHIFT`, infinite or NaN.
    """
    if not is_real_number(sweeps) or not is_integer(sweeps) or not 1 <= sweeps <= MAX_SWEEPS:
        raise ValueError(
            f"preconditioner 'ichol': sweeps must be a whole number from 1 to {MAX_SWEEPS} "
            f"(default 3), got {shown(sweeps)}"
        )
    if not is_real_number(shift) or not (is_finite(shift) and 0 <= shift <= MAX_SHIFT):
        raise ValueError(
            f"preconditioner 'ichol': shift must be a number from 0 to {MAX_SHIFT:g} (default 0), "
            f"got {shown(shift)}"
        )


def ichol_factor(stencil, sweeps: int, shift: float) -> tuple[np.ndarray, np.ndarray]:
    """Incomplete Cholesky IC(0) values on the stencil, by fixed-point sweeps.

    Parameters
    ----------
    stencil : vecmatte.systems.Stencil
        The system's stencil.
    sweeps : int
        Most fixed-point sweeps.
    shift : float
        Added to the diagonal, relative to it, before the sweeps.

    Returns
    -------
    lower, neighbors : ndarray
        ``lower[s, u] = L[u, neighbors[s, u]]`` for the lower offsets ``s`` (those before
        the centre in row-major order, centre included last).

    Notes
    -----
    Each sweep recomputes every factor entry from the previous sweep's values at once
    (Chow and Patel, "Fine-grained parallel incomplete LU factorization", SIAM J. Sci.
    Comput. 37(2), 2015), so the work is array arithmetic over all unknowns per stencil-offset
    pair rather than a loop over pixels. The exact IC(0) factor is the fixed point; a few
    sweeps already give a preconditioner as good as it. The sweeps stop early when one
    changes nothing (the fixed point) or when they start to diverge, as they do on
    closed-form systems after about ten sweeps; the last sweep before the growth is kept.
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
    smallest_change = np.inf
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
        change = float(np.abs(lower - previous).max())
        if change == 0.0:
            break  # the fixed point itself: further sweeps repeat it bit for bit
        if not change <= _DIVERGENCE * smallest_change:
            lower = previous
            break
        smallest_change = min(smallest_change, change)
    lower[:centre, :n][neighbors[:centre] == n] = 0.0
    return lower[:, :n], neighbors


def build(system, *, sweeps: int = 3, shift: float = 0.0):
    """Incomplete Cholesky preconditioner on the system's pixel stencil.

    Parameters
    ----------
    system : vecmatte.systems.MattingSystem
        With a ``stencil`` (grid neighbourhood and matrix entries of the solved pixels).
    sweeps : int, optional
        Fixed-point sweeps of the factorisation, 1 to :data:`MAX_SWEEPS` (fewer are made
        once they reach the fixed point or start to diverge).
    shift : float, optional
        Relative diagonal shift ``A + shift * diag(A)`` before factoring.

    Returns
    -------
    scipy.sparse.linalg.LinearOperator
        ``x -> (L L^T)^-1 x``, applied with SuperLU's compiled triangular solves.

    Notes
    -----
    As with ``"jacobi"``, a residual stop bounds no error on an LBDM system over windows of
    one flat colour (condition ~1e13): :func:`vecmatte.solve_alpha` warns of it, and
    ``"direct"`` solves it.
    """
    import scipy.sparse
    from scipy.sparse.linalg import splu

    from vecmatte.linalg.cg import vector_operator

    if system.stencil is None:
        raise ValueError("preconditioner 'ichol' needs the pixel stencil of the system")
    check_options(sweeps=sweeps, shift=shift)
    shift = float(shift)
    lower, neighbors = ichol_factor(system.stencil, int(sweeps), shift)
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

    return vector_operator(n, apply)
