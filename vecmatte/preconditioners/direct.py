"""Complete (direct) factorisation of the system, used as the preconditioner of CG.

Conjugate gradient in float64 preconditioned by a float32 Cholesky factor converges in one to
three iterations: the factor does the work, CG removes its rounding.
"""

from __future__ import annotations

import logging

import numpy as np

from vecmatte._numbers import is_bool, shown

__all__ = [
    "ENVELOPE_FLOPS_PER_UNKNOWN",
    "FACTORS",
    "build",
    "check_factor_for_method",
    "check_options",
]

FACTORS = ("auto", "envelope", "nested", "superlu")

_log = logging.getLogger(__name__)


def _superlu_solver(matrix, single_precision: bool):
    """``x -> A^-1 x`` by SuperLU; a float32 factor found singular is made again in float64.

    SuperLU said "RuntimeError: Factor is exactly singular" of a float32 factor of systems
    that float64 solves (smallest eigenvalue 1e-9 to 1e-15 of the largest: cf at a tiny eps
    with one known pixel of each kind, lbdm on a few flat colours).
    """
    from scipy.sparse.linalg import splu

    dtype = np.float32 if single_precision else np.float64
    try:
        factor = splu(
            matrix.astype(dtype).tocsc(),
            permc_spec="MMD_AT_PLUS_A",
            diag_pivot_thresh=0.0,
            options={"SymmetricMode": True},
        )
    except RuntimeError:  # "Factor is exactly singular"
        if not single_precision:
            raise ValueError(
                "preconditioner 'direct': the system is singular (SuperLU's factor in float64); "
                "use 'jacobi', or options that make it positive definite (a larger eps)"
            ) from None
        _log.info("direct: the float32 SuperLU factor is singular; factoring in float64")
        return _superlu_solver(matrix, single_precision=False)
    return lambda x: factor.solve(np.ravel(x).astype(dtype)).astype(np.float64)


# Measured on this project's benchmark machine (alphamatting images at scales 1 to 4, float32
# factors, one BLAS thread): the envelope factor takes about flops / 2e10 s, the nested
# dissection factor about 6e-6 s per unknown (its tree nodes cost ~0.1 ms each), so the
# envelope is faster while its flops stay below ~1.2e5 per unknown. Below 1e5 the envelope is
# taken: thin bands, where both factors are small; above, nested dissection also holds far
# less memory (GT09 at scale 4: 1.1 GB against 4.4 GB for the envelope, 3.4 GB for SuperLU).
# Re-measured (factor plus CG, CPU time, one core, 14 trimaps of alphamatting-lowres): nested /
# envelope time 2.3 at 1.8e3 flops per unknown, 1.3-1.6 at 2e4-5e4, 0.96-1.02 at 8e4-1e5,
# 0.66-0.82 at 1.5e5-1.9e5. The envelope is built first to count its flops: no statistic of
# the grid tried instead predicts them (band thickness 2 * unknowns / boundary pixels against
# flops per unknown varies 40-fold), and reverse Cuthill-McKee costs 2-4% of a solve.
# With the envelope as band segments (about 0.8x the blocked envelope's CPU time) the crossover
# stays: nested / envelope 1.25 at 4.7e4, 0.97-1.14 at 9.5e4-9.9e4, 0.89 at 1.5e5, 0.6 above.
# Since then the dissection merges small fronts (tree nodes now ~65 us each, nested factors
# 0.9-1.0x their former CPU); the crossover was not re-measured after that.
ENVELOPE_FLOPS_PER_UNKNOWN = 1e5

# A grid system whose unknowns fill most of their bounding box is decided without the envelope
# (reverse Cuthill-McKee and the envelope cost 0.12-0.15 s of GT01's 2.5 s scribbles solve,
# only to reject it). The envelope's rows are then about ``reach`` times the box's shorter side
# ``s`` wide, so its flops per unknown are some constant times ``(reach * s) ** 2``; measured
# (flops / (reach * s) ** 2): full boxes 1.25-2.0, GT01/GT02/GT04 scribbles 0.24/1.05/1.41
# (3% of the pixels are strokes, which lower GT01's 7-fold), trimaps 0.02-0.7 but none of the
# 80 trimap cases (20 images x 2 trimaps x scales 1, 2) fills more than 54% of its box. It is
# a measured bound, not a proved one: strokes that cut the box into strips thinner than about
# 140 pixels could make the envelope cheaper, and nested dissection would be taken where it
# is up to 2x slower. The constant is 0.12: a margin of 2 below the lowest case measured.
FULL_BOX_FILL = 0.9
_FULL_BOX_FLOPS = 0.12


def _surely_nested(system, ys: np.ndarray, xs: np.ndarray) -> bool:
    """Whether the envelope is surely too costly, from the unknowns' bounding box alone."""
    if system.reach is None or len(ys) == 0:
        return False
    height = int(ys.max()) - int(ys.min()) + 1
    width = int(xs.max()) - int(xs.min()) + 1
    if len(ys) < FULL_BOX_FILL * height * width:
        return False
    side = system.reach * min(height, width)
    return _FULL_BOX_FLOPS * side * side >= ENVELOPE_FLOPS_PER_UNKNOWN


def check_options(*, factor: str = "auto", single_precision: bool = True) -> None:
    """Refuse out-of-range options of :func:`build`, before any system is built.

    Called by :func:`vecmatte.preconditioners.resolve_preconditioner`, so that a command line
    or a batch refuses ``direct:factor=bogus`` once, before reading any image (it was
    refused only when the factor was made, after each image's system).

    Parameters
    ----------
    factor : str, optional
        One of :data:`FACTORS`.
    single_precision : bool, optional
        Factor in float32.

    Raises
    ------
    ValueError
        One line naming the option: ``factor`` not one of :data:`FACTORS`, or
        ``single_precision`` not True or False.
    """
    if not is_bool(single_precision):
        raise ValueError(
            f"direct: single_precision must be True or False, got {shown(single_precision)}"
        )
    if not isinstance(factor, str) or factor not in FACTORS:
        raise ValueError(f"direct: factor must be one of {', '.join(FACTORS)}; got {shown(factor)}")


def check_factor_for_method(method: str, options: dict, *, grid: bool) -> None:
    """Refuse ``direct:factor=nested`` for an alpha method without a grid reach (``grid``).

    Called by :func:`vecmatte.alpha._registry.resolve_method_preconditioner`, through which
    the solve, its checks before any image and the memory estimate read the preconditioner:
    the factor refused it only once it was made, after the system (KNN's neighbour searches:
    minutes on a large image, and again for every image of a batch).

    Parameters
    ----------
    method : str
        The alpha method's name, for the message.
    options : dict
        The preconditioner's options.
    grid : bool
        Whether the method's systems have a grid reach.

    Raises
    ------
    ValueError
        If ``options`` asks for ``factor="nested"`` and ``grid`` is false.
    """
    if options.get("factor") == "nested" and not grid:
        raise ValueError(
            f"direct: factor 'nested' needs a grid-local system, and method {method!r} couples "
            "pixels far apart; use factor 'auto' or 'superlu'"
        )


def build(system, *, factor: str = "auto", single_precision: bool = True):
    """Complete factorisation of the system, used as a preconditioner.

    Parameters
    ----------
    system : vecmatte.systems.MattingSystem
        With an explicit sparse ``matrix`` (symmetric positive definite); its ``reach``
        enables nested dissection.
    factor : {"auto", "envelope", "nested", "superlu"}, optional
        ``"envelope"``: envelope Cholesky in reverse Cuthill-McKee order, as LAPACK band
        factors of segments of rows (:mod:`vecmatte.linalg.envelope`); fastest when the
        unknown region is a thin band.
        ``"nested"``: multifrontal Cholesky in a nested-dissection order of the pixel grid
        (:mod:`vecmatte.linalg.multifrontal`, needs ``system.reach``); least memory, and
        fastest for wide or large unknown regions. ``"superlu"``: SuperLU's LU with a
        minimum-degree ordering (taken when the system has no ``reach`` and the envelope
        would be too wide). ``"auto"`` takes the envelope while its flop count is small,
        nested dissection otherwise (without building the envelope when the unknowns fill
        most of a bounding box wide enough that it cannot be small). All factor in float32
        (half the memory of float64, and faster): exact to about 1e-7, and conjugate
        gradient in float64 removes the rest in one to three iterations.
    single_precision : bool, optional
        Factor in float32 (the default) or, with False, in float64: twice the memory, for
        systems conditioned beyond what float32 holds (smallest eigenvalue below about 1e-7
        of the largest), on which conjugate gradient with a float32 factor breaks down.
        :func:`vecmatte.solve_alpha` makes the float64 factor by itself after such a
        breakdown.

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
    by SuperLU's when ``factor="auto"``.
    """
    from vecmatte.linalg.cg import vector_operator
    from vecmatte.linalg.envelope import envelope_cholesky, envelope_flops, rcm_envelope
    from vecmatte.linalg.multifrontal import dissection_order, multifrontal_cholesky

    check_options(factor=factor, single_precision=single_precision)
    dtype = np.float32 if single_precision else np.float64
    matrix = system.matrix
    if not hasattr(matrix, "tocsr"):
        raise ValueError(
            "preconditioner 'direct' needs an explicit sparse matrix; this method's system is "
            "matrix-free: use 'jacobi'"
        )
    if factor == "nested" and system.reach is None:
        raise ValueError(
            "direct: factor 'nested' needs a grid-local system (reach); use 'auto' or 'superlu'"
        )
    n = matrix.shape[0]
    chosen, envelope = factor, None
    ys, xs = system.coordinates() if system.reach is not None else (None, None)
    if factor == "auto":
        if _surely_nested(system, ys, xs):
            chosen = "nested"
        else:
            _log.info("direct: envelope of %d unknowns (reverse Cuthill-McKee)", n)
            envelope = rcm_envelope(matrix)
            if envelope_flops(envelope.first) < ENVELOPE_FLOPS_PER_UNKNOWN * n:
                chosen = "envelope"
            else:
                chosen = "nested" if system.reach is not None else "superlu"
    apply = None
    try:
        if chosen == "envelope":
            if envelope is None:
                _log.info("direct: envelope of %d unknowns (reverse Cuthill-McKee)", n)
                envelope = rcm_envelope(matrix)
            _log.info("direct: envelope Cholesky factor of %d unknowns", n)
            apply = envelope_cholesky(envelope, dtype=dtype).solve
        elif chosen == "nested":
            del envelope  # its reordering is not needed; free it before factoring
            _log.info("direct: nested-dissection order of %d unknowns", n)
            order = dissection_order(ys, xs, system.reach)
            _log.info("direct: multifrontal Cholesky factor of %d unknowns", n)
            apply = multifrontal_cholesky(matrix, order, dtype=dtype).solve
    except np.linalg.LinAlgError:
        if factor != "auto":
            raise
    if apply is None:
        _log.info("direct: SuperLU factor of %d unknowns", n)
        apply = _superlu_solver(matrix, single_precision=bool(single_precision))
    return vector_operator(n, apply)
