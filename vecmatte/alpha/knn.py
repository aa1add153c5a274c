"""KNN matting (Chen, Li, Tang 2013): alpha spread between pixels that are nearest
neighbours in colour and position, wherever they are in the image."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from vecmatte import _defaults
from vecmatte.alpha.rw import check_constraints, graph_system
from vecmatte.laplacians.knn import KERNELS, check_passes, knn_searches, knn_weights
from vecmatte.systems import MattingSystem

__all__ = ["build_system", "check_options", "memory_bytes"]

_log = logging.getLogger(__name__)

# Peak memory of a solve with Jacobi: bytes per pixel and neighbour of the largest pass
# (cKDTree.query's float64 distances and int64 indices), per pixel and neighbour of all
# passes (the int32 neighbours kept), per solved row and neighbour, and in all.
# `python bench/memory_models.py --fit 1.05` (resident and tracemalloc peaks in fresh
# processes, 10 alphamatting.com images at half and 5 at full size, both trimaps, and 5
# synthetic scenes; bench/results/memory_models.md) gives 432 n + 1013 u for the default
# passes (20, 10), which the k-d tree's answer explains: 16 k_max + 4 k_total = 440 bytes
# per pixel. These estimates are 1.08-1.55x the peaks (the former model's 3.5-7.4x); the
# cases with 20-30 % unknown pixels, whose known pixels' searches are partly skipped, are
# the most over-estimated. Session 6 (same bench, with 1.8-4 MP photographs and GT01
# scribbles): 35 bytes per row and neighbour fell under the scribbles' peak (0.91x, 97% of
# the pixels unknown: every search is made); 46 (the fit at margin 1.1 gives 45.5) puts it
# at 1.12x, the 1.8-4 MP cases at 1.32-1.64x, every case 1.12-1.74x.
_MEMORY = (16.0, 4.0, 46.0, 2**20)
# The soft kernel: float32 feature differences (k, 5) per search, float64 weights per row.
_SOFT = (24.0, 16.0)
# Soft constraints form W over all pixels and its Laplacian: bytes per row and neighbour
# instead of _MEMORY's (a 200 x 300 scene, tracemalloc: 44 measured).
_SOFT_CONSTRAINTS = 60.0
# _DIRECT_NOTE: with "direct", the factor of KNN's graph is SuperLU's 5.1 rows**1.7 (added by
# vecmatte.memory.estimate_solve_memory), fitted to the peak beyond a Jacobi solve's: the grid
# factors' model (38 n + 1518 rows, scaled by the neighbours) counted it a second time.
# Measured in session 10 (VmHWM of fresh children, one BLAS thread; 12 cases: GT01, GT04,
# GT05, GT13, GT16, GT19 at 1/3-1/2 size, scenes of 60 x 80 to 300 x 400, soft constraints)
# plus session 8's GT04 at full size (4038 MiB) and its soft constraints at half (1847 MiB):
# without that model the estimates are 1.29x the peak or more (GT04 full size; were 1.39x),
# median 2.2x (was 2.6x); SuperLU's own term alone would leave the 60 x 80 scene at 1.04x,
# hence the constant BASE_BYTES kept.


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
    passes = check_passes(
        options.get("n_neighbors", (20, 10)), options.get("distance_weights", (2.0, 0.1))
    )
    if "n_neighbors" in options:
        checked["n_neighbors"] = tuple(k for k, _ in passes)
    if "distance_weights" in options:
        checked["distance_weights"] = tuple(w for _, w in passes)
    kernel = options.get("kernel", "binary")
    if not (isinstance(kernel, str) and kernel in KERNELS):
        raise ValueError(f"kernel must be 'binary' or 'soft', got {options['kernel']!r}")
    _, lam = check_constraints(
        options.get("constraints", "hard"), options.get("lam", _defaults.LAMBDA)
    )
    if "lam" in options:
        checked["lam"] = lam
    return checked


def build_system(
    image: np.ndarray,
    is_fg: np.ndarray,
    is_bg: np.ndarray,
    *,
    n_neighbors: Sequence[int] = (20, 10),
    distance_weights: Sequence[float] = (2.0, 0.1),
    kernel: str = "binary",
    constraints: str = "hard",
    lam: float = _defaults.LAMBDA,
) -> MattingSystem:
    """KNN matting system, symmetric, with PyMatting's solution.

    Parameters
    ----------
    image : ndarray, shape (h, w, 3)
        Float image in [0, 1], already validated.
    is_fg, is_bg : ndarray of bool, shape (h, w)
        Known foreground and background pixels.
    n_neighbors : sequence of int, optional
        Neighbours per pixel in each nearest-neighbour pass (20, then 10).
    distance_weights : sequence of float, optional
        Weight of the position in each pass's features (2.0, then 0.1), from 0 to 1e6
        (the features are float32: larger weights drown the colours).
    kernel : {"binary", "soft"}, optional
        Weight of a neighbour pair: 1, or ``1 - |f_i - f_j|_1 / 5`` (refused where that is
        negative for some pair, which takes a position weight above 1).
    constraints : {"hard", "soft"}, optional
        Fix the known pixels (default: the limit ``lam -> inf`` of PyMatting's system, solved
        on the unknown pixels only), or pull them with weight ``lam`` as PyMatting does (its
        exact solution); see :func:`vecmatte.alpha.rw.graph_system`.
    lam : float, optional
        Weight of the soft constraints, from 1e-6 to 1e10.

    Returns
    -------
    MattingSystem
        Not grid-local (``reach`` is ``None``): neighbours may lie anywhere in the image.

    Raises
    ------
    ValueError
        If an option is out of range.

    Notes
    -----
    Chen, Li and Tang, "KNN Matting", IEEE TPAMI 35(9), 2013; the weights are
    :func:`vecmatte.laplacians.knn.knn_weights`. PyMatting's Laplacian ``I - D^-1 W`` is
    replaced by ``D - W`` with the constraints scaled by ``D``: the same solution from a
    symmetric positive definite matrix, on which conjugate gradient is guaranteed to
    converge (on PyMatting's non-symmetric matrix it is not). Measured on GT02, GT05 and
    GT13 at half size, both trimaps (total SAD, total time, same process): PyMatting
    10541 in 108 s; the non-symmetric form under vecmatte's CG 10537 in 62 s; the
    symmetric soft system 10537 in 64 s; hard constraints (default) 10531 in 59 s: as good,
    and faster, since conjugate gradient runs on the unknown pixels only.

    Hard constraints read only the unknown pixels' rows of ``W = K + K^T``: ``W_uu`` comes
    from the unknown pixels' own searches, the degrees and the right-hand side are sums over
    all searches, and ``W_uk`` is never formed. A known pixel's search matters only if an
    unknown pixel is among its ``k`` neighbours, which needs its distance to the nearest
    unknown pixel (at least its position weight times its distance in the image plane) to
    be at most its ``k``-th neighbour distance (at most the ``k - 1``-th among the points
    next to it in the k-d tree's order); the other searches are skipped (up to 45 % unknown
    pixels, where that pays). The system is bit for bit the one from the full ``W`` (all
    40 alphamatting.com cases at half size). CPU time in one process alternating with
    PyMatting's ``estimate_alpha_knn``, one core, ``NUMBA_NUM_THREADS=1``, all 20 images
    at half size, narrow / wide trimaps: median 0.27x / 0.31x (at most 0.53x / 0.67x, GT04
    and GT13 with 40-49 % unknown pixels; it was 0.44x / 0.49x), peak memory median 0.12x.
    """
    constraints, lam = check_constraints(constraints, lam)
    options = dict(n_neighbors=n_neighbors, distance_weights=distance_weights, kernel=kernel)
    _log.info("knn: nearest neighbours of %d pixels (n_neighbors=%r)", is_fg.size, n_neighbors)
    if constraints == "soft":
        weights = knn_weights(image, **options)
        return graph_system(weights, is_fg, is_bg, constraints=constraints, lam=lam)
    # Hard constraints read only the unknown pixels' rows of W: the searches of known pixels
    # that cannot have an unknown neighbour are skipped (see knn_searches).
    unknown = ~(is_fg | is_bg).ravel()
    searches = knn_searches(image, unknown=unknown, **options)
    _log.info("knn: assembling the system of %d unknown pixels", np.count_nonzero(unknown))
    return _hard_system(searches, is_fg, is_bg)


def _hard_system(searches, is_fg: np.ndarray, is_bg: np.ndarray) -> MattingSystem:
    """:func:`~vecmatte.alpha.rw.graph_system`'s hard-constraint system from the searches.

    With ``W = K + K^T``, ``u`` the unknown pixels: ``A = D_uu - W_uu``, ``b = W_uk 1_fg``.
    ``W_uu = K_uu + K_uu^T`` comes from the unknown pixels' own searches; the degrees
    ``d_i = sum_j K_ij + sum_j K_ji`` and ``b_i = sum_{j in fg} (K_ij + K_ji)`` are sums
    over the searches, so ``W_uk`` and the known pixels' rows are never formed (binary
    weights: the same matrix and right-hand side, bit for bit, as from ``W``).
    """
    import scipy.sparse

    fg = is_fg.ravel()
    unknown_mask = ~(fg | is_bg.ravel())
    unknown = np.flatnonzero(unknown_mask)
    n, m = len(fg), len(unknown)
    # Position of each unknown pixel in the system, -1 for known pixels.
    position = np.full(n, -1, dtype=np.int32 if n < 2**31 else np.int64)
    position[unknown] = np.arange(m)
    degrees = np.zeros(m)
    rhs = np.zeros(m)
    targets, weights = [], []
    for searched, neighbors, values in searches:
        target = position[neighbors]
        value = None if values is None else values.astype(np.float64)
        # K_ji: every search's pairs that point at an unknown pixel (shifted by one, so that
        # the pairs pointing at known pixels fall into bin 0); those from fg pixels give b.
        from_fg = fg[searched]
        for total, pairs, pair_values in (
            (degrees, target, value),
            (rhs, target[from_fg], None if value is None else value[from_fg]),
        ):
            total += np.bincount(
                pairs.ravel() + 1,
                None if pair_values is None else pair_values.ravel(),
                minlength=m + 1,
            )[1:]
        # K_ij: the unknown pixels' own neighbours (every unknown pixel is searched), put in
        # system order.
        own = unknown_mask[searched]
        row = position[searched[own]]
        target_of_row = np.empty((m, neighbors.shape[1]), dtype=target.dtype)
        target_of_row[row] = target[own]
        targets.append(target_of_row)
        is_fg_pair = fg[neighbors[own]]
        if value is None:
            degrees += neighbors.shape[1]
            rhs[row] += is_fg_pair.sum(axis=1)
        else:
            value_of_row = np.empty((m, neighbors.shape[1]))
            value_of_row[row] = value[own]
            weights.append(value_of_row)
            degrees[row] += value[own].sum(axis=1)
            rhs[row] += (value[own] * is_fg_pair).sum(axis=1)
    # K_uu as CSR with sorted rows, its duplicates (pairs found in several passes) summed.
    target = np.concatenate(targets, axis=1)
    del targets
    if weights:
        by_column = np.argsort(target, axis=1, kind="stable")
        target = np.take_along_axis(target, by_column, axis=1)
        weight = np.take_along_axis(np.concatenate(weights, axis=1), by_column, axis=1)
    else:
        target.sort(axis=1)
    inside = target >= 0
    indptr = np.zeros(m + 1, dtype=target.dtype)
    np.cumsum(np.count_nonzero(inside, axis=1), out=indptr[1:])
    data = weight[inside] if weights else np.ones(int(indptr[-1]))
    forward = scipy.sparse.csr_matrix((data, target[inside], indptr), shape=(m, m))
    forward.sum_duplicates()
    # W_uu = K_uu + K_uu^T (sorted, canonical); then D - W in place.
    matrix = (forward + forward.T).tocsr()
    del forward, target, inside
    np.negative(matrix.data, out=matrix.data)
    on_diagonal = matrix.indices == np.repeat(np.arange(m), np.diff(matrix.indptr))
    if np.count_nonzero(on_diagonal) == m:
        matrix.data[on_diagonal] += degrees
    else:
        # More than k pixels share some pixel's features: it is not its own neighbour.
        matrix = (matrix + scipy.sparse.diags(degrees, format="csr")).tocsr()
    return MattingSystem(matrix, rhs, unknown, tuple(is_fg.shape))


def memory_bytes(
    shape: tuple[int, ...], n_unknown: int, *, preconditioner: str = "jacobi", **options
) -> int:
    """Peak extra bytes of a KNN solve with ``preconditioner`` (an over-estimate).

    ``_MEMORY``: bytes per pixel and neighbour of the largest pass (the k-d tree's answer,
    distances and indices, while the earlier passes' neighbours are held), per pixel and
    neighbour of all passes, per solved row and neighbour of all passes (the pairs, the
    matrix ``K_uu + K_uu^T``, conjugate gradient's vectors) and a constant, measured with
    Jacobi, the default. The soft kernel's distances take ``_SOFT`` bytes more per pixel and
    neighbour of the largest pass, its weights per row and neighbour; soft constraints
    ``_SOFT_CONSTRAINTS`` per pixel and neighbour of all passes. Every pixel is
    counted as searched: the searches that pruning skips depend on the colours, not on the
    sizes. Another preconditioner adds its own model with the margins of
    :mod:`vecmatte.memory`; ``"direct"`` only their constant, its factor being SuperLU's
    term of :func:`vecmatte.memory.estimate_solve_memory` (see ``_DIRECT_NOTE``).

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
    from vecmatte.memory import BASE_BYTES, SAFETY
    from vecmatte.preconditioners import PRECONDITIONERS

    passes = check_passes(
        options.get("n_neighbors", (20, 10)), options.get("distance_weights", (2.0, 0.1))
    )
    k_max = max(k for k, _ in passes)
    k_total = sum(k for k, _ in passes)
    n_pixels = int(shape[0]) * int(shape[1])
    per_search, per_pair, per_row_pair, constant = _MEMORY
    rows = n_unknown
    if options.get("constraints", "hard") == "soft":
        rows, per_row_pair = n_pixels, _SOFT_CONSTRAINTS
    if options.get("kernel", "binary") == "soft":
        per_search += _SOFT[0]
        per_row_pair += _SOFT[1]
    total = (per_search * k_max + per_pair * k_total) * n_pixels
    total += per_row_pair * k_total * rows + constant
    if preconditioner == "direct":
        total += SAFETY * BASE_BYTES
    elif preconditioner not in ("jacobi", "none"):
        model = PRECONDITIONERS[preconditioner].memory_bytes(n_pixels, rows, k_total)
        total += SAFETY * (model + BASE_BYTES)
    return int(total)
