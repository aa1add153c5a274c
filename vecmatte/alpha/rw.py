"""Random walk matting (Grady, Schiwietz, Aharon, Westermann 2005).

Also holds :func:`graph_system`, the system of any weight-graph Laplacian (random walk, KNN):
PyMatting's ``(1 + reg) I - D^-1 W`` is not symmetric, so it is multiplied by the degrees
``D`` into ``(1 + reg) D - W`` with the constraints scaled alike, which leaves the solution
unchanged and gives conjugate gradient the symmetric positive definite matrix it needs.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from vecmatte import _defaults
from vecmatte._numbers import finite_number
from vecmatte._validation import check_lam, check_radius_fits
from vecmatte.laplacians._stencil import stencil_offsets
from vecmatte.laplacians.random_walk import SIGMA, check_radius, check_sigma, window_stencil
from vecmatte.systems import LazyStencil, MattingSystem, Stencil, hard_constraint_system

__all__ = ["build_system", "check_options", "graph_system", "memory_bytes"]

CONSTRAINTS = ("hard", "soft")

#: Floor of the random-walk weights (see :func:`build_system`).
MIN_WEIGHT = 1e-4

# Peak memory of a solve with Jacobi: bytes per pixel, per solved row (radius 1) and in
# all. `python bench/memory_models.py --fit 1.05` (resident and tracemalloc peaks in fresh
# processes, 10 alphamatting.com images at half and 5 at full size, both trimaps, and 5
# synthetic scenes; bench/results/memory_models.md) gives 28.7 n + 310 u; rounded up, the
# estimates are 1.10-1.29x the peaks, 1.64x on a 60 x 80 scene (the former model's were
# 5-95x).
_MEMORY = (30.0, 320.0, 2**18)
# A "direct" factor beyond a Jacobi solve's peak: vecmatte.memory.direct_factor_bytes with
# no envelope padding (1 for its 1.2). Not closed-form's model scaled by entries / 25 (160
# MiB for the 262 MiB measured on GT04, trimap 1): an envelope factor's width follows the
# unknown region, not the stencil. Measured (VmHWM of fresh processes minus the resident
# memory before the solve, one BLAS thread, alphamatting photographs at 0.1-1x): 1205 bytes
# a row beyond Jacobi's peak on GT04 trimap 1 (an envelope near the flops limit; the bound
# without padding is 1265), 370-840 on GT03, GT08, GT09, GT13, GT16 and GT04 trimap 2; the
# estimates are 1.21x the peak on GT04 and 1.6-3.6x on those with narrower factors.
_DIRECT_PADDING = 1.0


def check_constraints(constraints: str, lam: float) -> tuple[str, float]:
    if not (isinstance(constraints, str) and constraints in CONSTRAINTS):
        raise ValueError(f"constraints must be 'hard' or 'soft', got {constraints!r}")
    # float() alone took lam="100" as a number and said "could not convert string to float"
    # of "x", without naming lam.
    lam = check_lam(lam)
    return constraints, lam


def stencil_of(matrix, unknown: np.ndarray, shape: tuple[int, int], reach: int) -> Stencil:
    """The pixel stencil of a grid-local system (entries at most ``reach`` apart), for ichol.

    ``matrix`` is CSR over the pixels ``unknown``; each entry goes to the slot of the offset
    between its row's and its column's pixels.
    """
    matrix = matrix.tocsr()
    m = matrix.shape[0]
    span = 2 * reach + 1
    ys, xs = np.divmod(np.asarray(unknown), shape[1])
    rows = np.repeat(np.arange(m), np.diff(matrix.indptr))
    columns = matrix.indices
    slots = (ys[columns] - ys[rows] + reach) * span + (xs[columns] - xs[rows] + reach)
    neighbors = np.full((span * span, m), -1, dtype=np.intp)
    values = np.zeros((span * span, m))
    neighbors[slots, rows] = columns
    values[slots, rows] = matrix.data
    return Stencil(stencil_offsets(reach), neighbors, values)


def graph_system(
    weights,
    is_fg: np.ndarray,
    is_bg: np.ndarray,
    *,
    regularization: float = 0.0,
    constraints: str = "soft",
    lam: float = _defaults.LAMBDA,
    reach: int | None = None,
) -> MattingSystem:
    """The matting system of the weight graph ``W``, symmetric and with PyMatting's solution.

    Parameters
    ----------
    weights : scipy.sparse matrix, shape (n, n)
        Symmetric non-negative weights with positive row sums ``d``; a float64 CSR matrix is
        overwritten with the Laplacian.
    is_fg, is_bg : ndarray of bool, shape (h, w)
        Known foreground and background pixels.
    regularization : float, optional
        ``reg`` of the Laplacian ``(1 + reg) I - D^-1 W``.
    constraints : {"hard", "soft"}, optional
        ``"soft"``: PyMatting's ``(L + lam C) x = lam c_fg`` over all pixels, multiplied by
        ``D``: ``((1 + reg) D - W + lam D C) x = lam D c_fg``. ``"hard"``: the known pixels
        fixed, ``((1 + reg) D - W)_uu x_u = W_uk alpha_k`` (the limit ``lam -> inf``).
    lam : float, optional
        Weight of the soft constraints, from 1e-6 to 1e10.
    reach : int, optional
        Passed to the system (grid-local graphs).

    Returns
    -------
    MattingSystem
    """
    import scipy.sparse

    # The weights become the Laplacian in place (callers hand over a matrix of their own).
    laplacian = scipy.sparse.csr_matrix(weights, dtype=np.float64)
    laplacian.sum_duplicates()
    degrees = np.asarray(laplacian.sum(axis=1)).ravel()
    known = (is_fg | is_bg).ravel()
    diagonal = (1.0 + regularization) * degrees
    if constraints == "soft":
        diagonal += lam * degrees * known
    # L = diag - W, in place where every row holds its diagonal (pixels are their own
    # nearest neighbours, windows hold their centre); by a sparse sum otherwise.
    np.negative(laplacian.data, out=laplacian.data)
    counts = np.diff(laplacian.indptr)
    on_diagonal = laplacian.indices == np.repeat(np.arange(len(degrees)), counts)
    if np.count_nonzero(on_diagonal) == len(degrees):
        laplacian.data[on_diagonal] += diagonal
    else:
        laplacian = (laplacian + scipy.sparse.diags(diagonal, format="csr")).tocsr()
    shape = tuple(is_fg.shape)
    if constraints == "hard":
        system = hard_constraint_system(laplacian, is_fg, is_bg, reach=reach)
    else:
        rhs = lam * degrees * is_fg.ravel()
        system = MattingSystem(laplacian, rhs, np.arange(len(degrees)), shape, reach=reach)
    if reach is None:
        return system
    return replace(system, stencil=stencil_of(system.matrix, system.unknown, shape, reach))


def _narrow(columns: np.ndarray) -> np.ndarray:
    """Stencil columns as 32-bit integers where every index fits (half the memory)."""
    return columns.astype(np.int32) if columns.size < 2**31 else columns.astype(np.int64)


def check_options(shape: tuple[int, ...], **options) -> dict:
    """Range checks of the options given (``ValueError``, one line).

    Parameters
    ----------
    shape : tuple of int
        The image's shape, for the ranges that depend on its size (a window must fit).
    **options
        Options of :func:`build_system`, as given.

    Returns
    -------
    dict
        ``options`` with the checked ones in the form the solve uses.
    """
    checked = dict(options)
    if "radius" in options:
        radius = check_radius(options["radius"])
        checked["radius"] = check_radius_fits(radius, "radius", shape, options["radius"])
    if "sigma" in options:
        checked["sigma"] = check_sigma(options["sigma"])
    if "regularization" in options:
        # (1 + reg) D - W leaks each pixel to the background in proportion to reg: at 1 the
        # unknown pixels' mean alpha was 0.01 on make_scene((60, 80)) and GT04, 0.00 from 1e3.
        checked["regularization"] = finite_number(
            options["regularization"],
            "regularization",
            "a number in [0, 1] (larger values leak every unknown pixel to the background)",
            minimum=0,
            maximum=1,
        )
    _, lam = check_constraints(
        options.get("constraints", "hard"), options.get("lam", _defaults.LAMBDA)
    )
    if "lam" in options:
        checked["lam"] = lam
    if "min_weight" in options:
        checked["min_weight"] = check_min_weight(options["min_weight"])
    return checked


def check_min_weight(min_weight) -> float:
    return finite_number(min_weight, "min_weight", "a number in [0, 1]", minimum=0, maximum=1)


def build_system(
    image: np.ndarray,
    is_fg: np.ndarray,
    is_bg: np.ndarray,
    *,
    sigma: float = SIGMA,
    radius: int = 1,
    regularization: float = 1e-8,
    min_weight: float = MIN_WEIGHT,
    constraints: str = "hard",
    lam: float = _defaults.LAMBDA,
) -> MattingSystem:
    """Random walk matting system: colour-similarity weights over each pixel's window.

    Parameters
    ----------
    image : ndarray, shape (h, w, 3)
        Float image in [0, 1], already validated.
    is_fg, is_bg : ndarray of bool, shape (h, w)
        Known foreground and background pixels.
    sigma : float, optional
        Colour scale of the weights ``exp(-|I_i - I_j|^2 / sigma^2)``. vecmatte honours it
        (PyMatting's ``rw_laplacian`` ignores its ``sigma`` and always uses ``exp(-900
        |I_i - I_j|^2)``); the default 1/30 is that same 900, which measured best (see Notes).
        At least 1e-6.
    radius : int, optional
        Window radius of the neighbourhood (``(2r+1) x (2r+1)``).
    regularization : float, optional
        ``reg`` of PyMatting's ``(1 + reg) I - D^-1 W``, from 0 to 1.
    min_weight : float, optional
        Floor of every weight inside the window, ``max(exp(-|I_i - I_j|^2 / sigma^2),
        min_weight)``; 0 gives PyMatting's weights. With ``sigma = 1/30`` a colour step of
        0.9 already gives ``exp(-729)``: regions cut off by strong edges make the system so
        ill-conditioned that a float32 factor (preconditioner ``"direct"``) breaks down and
        Jacobi needs thousands of iterations. The floor bounds the condition number.
    constraints : {"hard", "soft"}, optional
        Fix the known pixels (default), or pull them to their value with weight ``lam`` as
        PyMatting does (see :func:`graph_system`).
    lam : float, optional
        Weight of the soft constraints, from 1e-6 to 1e10.

    Returns
    -------
    MattingSystem
        Symmetric, grid-local with ``reach = radius``.

    Raises
    ------
    ValueError
        If an option is out of range.

    Notes
    -----
    Grady, Schiwietz, Aharon and Westermann, "Random Walks for Interactive Alpha-Matting",
    VIIP 2005: alpha is the probability that a random walker leaving a pixel reaches the
    foreground before the background, with steps weighted by colour similarity; with the
    known pixels fixed (Grady's formulation) that is ``(D - W)_uu alpha_u = W_uk alpha_k``.

    PyMatting's matte is not its system's solution: its weights nearly disconnect regions,
    the system is very ill-conditioned, and conjugate gradient stops (rtol 1e-7 on the
    non-symmetric ``I - D^-1 W``) far from the solution. Measured at half size on all 20
    alphamatting.com images, trimap / trimap2 (total SAD over unknown pixels, ratio to
    PyMatting's ``estimate_alpha_rw``): vecmatte's former default (soft constraints, Jacobi,
    rtol 1e-6) 1.035 / 1.048; the exact solution of the soft or the hard system (SuperLU)
    0.969 / 0.978; hard constraints with Jacobi 0.967 / 0.979 but 1000-2000 iterations
    (slower than PyMatting); larger ``sigma`` is worse (0.05: 0.974 / 1.043, 0.1: 1.150 /
    1.390). Hard constraints with ``min_weight = 1e-4``: 0.943 / 0.967, MSE 0.820 / 0.856
    (``min_weight`` 1e-6: 0.965 / 0.971; 1e-3: 0.939 / 1.012). The floor also makes the
    system well enough conditioned for Jacobi (the registered preconditioner) to converge
    in about 300 iterations (at most about 1400 on these 40 trimaps): same-process CPU
    time on GT01, GT04, GT08, GT13, GT16 and GT19 (both trimaps, one core) median 0.27x
    PyMatting's, peak memory median 0.16x;
    ``"direct"`` is faster (0.08x) but holds its factor (0.57x PyMatting's memory). The
    weights are :func:`vecmatte.laplacians.random_walk.rw_weights`, made
    symmetric where PyMatting's border clamping leaves them not (``radius >= 2`` only). With
    ``constraints="soft"`` and ``min_weight=0`` the system is PyMatting's multiplied by the
    degrees (see :func:`graph_system`): for ``radius = 1`` the same solution from a
    symmetric positive definite matrix.
    """
    import scipy.sparse

    constraints, lam = check_constraints(constraints, lam)
    radius = check_radius(radius)
    min_weight = check_min_weight(min_weight)
    sigma = check_sigma(sigma)
    shape = tuple(is_fg.shape)
    known = (is_fg | is_bg).ravel()
    rows = np.flatnonzero(~known) if constraints == "hard" else np.arange(known.size)
    # Rows of L = (1 + reg) D - W straight from the window weights of the solved pixels.
    columns, weights = window_stencil(image, rows, radius, sigma, symmetric=True)
    if min_weight > 0:
        for s in range(len(weights)):  # one offset at a time: no stencil-sized temporary
            np.maximum(weights[s], min_weight, out=weights[s], where=columns[s] >= 0)
    columns = _narrow(columns)
    degrees = weights.sum(axis=0)
    centre = len(columns) // 2
    fg = np.append(is_fg.ravel(), False).astype(np.float64)  # column -1 -> not foreground
    if constraints == "hard":
        # Columns of known pixels move to the right-hand side: b = -L_uk alpha_k = W_uk fg.
        rhs = np.einsum("su,su->u", weights, fg[columns])
    values = np.negative(weights, out=weights)  # in place: one stencil-sized array less
    values[centre] += (1.0 + float(regularization)) * degrees
    if constraints == "hard":
        index = np.full(known.size + 1, -1, dtype=np.intp)
        index[rows] = np.arange(len(rows))
        columns = _narrow(index[columns])
        values[columns < 0] = 0.0
    else:
        values[centre] += lam * degrees * known
        rhs = lam * degrees * fg[:-1]
    # The CSR matrix row by row from the per-offset arrays, each freed once read.
    keep = (columns >= 0).T
    indptr = np.zeros(len(rows) + 1, dtype=columns.dtype)
    np.cumsum(keep.sum(axis=1), out=indptr[1:])
    indices = columns.T[keep]
    del columns
    data = values.T[keep]
    del values, weights, keep
    matrix = scipy.sparse.csr_matrix((data, indices, indptr), shape=(len(rows), len(rows)))

    def form() -> tuple[np.ndarray, np.ndarray]:
        formed = stencil_of(matrix, rows, shape, radius)
        return formed.neighbors, formed.values

    stencil = LazyStencil(stencil_offsets(radius), form)
    return MattingSystem(matrix, rhs, rows, shape, stencil=stencil, reach=radius)


def memory_bytes(
    shape: tuple[int, ...], n_unknown: int, *, preconditioner: str = "jacobi", **options
) -> int:
    """Peak extra bytes of a random-walk solve with ``preconditioner`` (an over-estimate).

    ``_MEMORY``: bytes per pixel (masks, the column index, alpha), per solved row at radius 1
    (the window weights and columns, the CSR matrix, conjugate gradient's vectors; scaled by
    the ``(2r+1)^2`` entries per row) and a constant; measured with Jacobi, the default.
    ``"direct"`` adds its factor (:func:`vecmatte.memory.direct_factor_bytes`, without the
    envelope's padding: measured on this method, see ``_DIRECT_PADDING``); another
    preconditioner its own model
    (:attr:`vecmatte.preconditioners.PreconditionerSpec.memory`) with the margins of
    :mod:`vecmatte.memory` (not measured on this method).

    Parameters
    ----------
    shape : tuple of int
        The image's shape.
    n_unknown : int
        Number of unknown (solved) pixels.
    preconditioner : str, optional
        The solve's preconditioner.
    **options
        Options of :func:`build_system`.

    Returns
    -------
    int
        Estimated peak bytes.
    """
    from vecmatte.memory import BASE_BYTES, SAFETY, direct_factor_bytes
    from vecmatte.preconditioners import PRECONDITIONERS

    radius = check_radius(options.get("radius", 1))
    entries = (2 * radius + 1) ** 2
    n_pixels = int(shape[0]) * int(shape[1])
    rows = n_pixels if options.get("constraints", "hard") == "soft" else n_unknown
    per_pixel, per_row, constant = _MEMORY
    total = per_pixel * n_pixels + per_row * rows * entries / 9 + constant
    if preconditioner == "direct":
        factor = direct_factor_bytes(rows, entries=entries, envelope_padding=_DIRECT_PADDING)
        total += SAFETY * factor
    elif preconditioner not in ("jacobi", "none"):
        model = PRECONDITIONERS[preconditioner].memory_bytes(n_pixels, rows, entries)
        total += SAFETY * (model + BASE_BYTES)
    return int(total)
