"""Information-flow matting (Aksoy, Aydin and Pollefeys, CVPR 2017).

The alpha matte minimises the sum of four information flows (see
:mod:`vecmatte.laplacians.information_flow`) with the trimap as a soft constraint:

.. math::

    \\left(L_{IFM} + \\lambda T + \\sigma_{ku} H\\right) \\alpha
    = \\lambda T \\alpha_K + \\sigma_{ku} H \\hat\\alpha

where :math:`T` is the diagonal of known pixels, :math:`\\alpha_K` their trimap value,
:math:`\\hat\\alpha` the known-to-unknown estimate and :math:`H` the diagonal of its confidence
on unknown pixels (eq. 15-16 of the paper). The known-to-unknown term is left out when the
trimap's unknown region looks highly transparent (a histogram test from the paper), and its
estimate is sharpened by two trimap trimmings: patch-based (section 4 of the paper) and from
the edges of the known regions (Shahrian et al., CVPR 2013). Defaults follow
``getMattingParams('IFM')`` of the authors' MATLAB toolbox.
"""

from __future__ import annotations

import logging

import numpy as np

from vecmatte import _defaults
from vecmatte._validation import check_lam
from vecmatte.alpha._ifm_trimming import edge_trimming, patch_trimming
from vecmatte.laplacians.information_flow import KU_CONFIDENCES

__all__ = [
    "build_system",
    "check_options",
    "detect_highly_transparent",
    "edge_trimming",
    "memory_bytes",
    "patch_trimming",
]

_log = logging.getLogger(__name__)

# The toolbox's parameters (getMattingParams('IFM')).
_CM_K = 20
_KU_K = 7
_PATCH_K = 5  # the toolbox's IFM asks for 5 (its trimming's own default is 10)
_IU_K = 5
_IU_WEIGHT = 0.01
_KU_WEIGHT = 0.05
_LOCAL_EPS = 1e-6
_LOCAL_RADIUS = 1
# How far outside [0, 1] a known-to-unknown estimate may lie and still count as a mixture
# (ku_confidence="means"): rounding only, far below any estimate that means something.
_ALPHA_HAT_SLACK = 1e-6

# Peak memory model of build_system (see memory_bytes): bytes per pixel, per unknown pixel and
# in all. `python bench/memory_models.py --fit 1.1` (resident and tracemalloc peaks in fresh
# children; alphamatting.com at 0.1-4 MP, both trimaps, GT01 scribbles, scenes; session 6)
# gives 132 n + 3270 u + 18 MiB for the whole solve with Jacobi, whose PreconditionerSpec
# adds 1400 u: the estimates are 1.11-1.43x the photographs' peaks (1.21-1.38x at 1.8-4 MP
# and on the scribbles), 1.6x and 3.6x on scenes of 150 x 200 and 60 x 80 (22 MiB for 6).
# The former 300 n + 3000 u, fitted at 0.4 MP, gave 1.9-2.06x at 0.4-4 MP: it refused
# solves that fit.
# Session 12 (reader-1): large images with thin bands (few unknowns per pixel) peak in the
# trimmings, per pixel. With 135 n the whole ifm solve (twolevel's 1800 u included) peaked
# at 1.17-1.26x the estimate on GT04 upsampled 2x and 3x with trimap_from_mask(alpha > 0.5,
# band=1) (529 and 1086 MiB resident; 57k and 91k unknowns). Patch trimming no longer holds
# its statistics twice (746 and 379 MiB), and 150 n covers the tracemalloc peak of a solve
# with Jacobi on a 0.7 MP scene with a 1-pixel band (tests/test_s12_memfit.py). Estimate over
# the fresh-child resident peak (taskset -c 1, /tmp/memfit) with twolevel: GT04 2x / 3x
# band 1 1.26 / 1.23x, 4 MP scene band 15 1.48x, GT13 3x band 2 1.87x, GT01 2x band 3
# 2.21x, native GT04 / GT13 both trimaps 1.56-1.62x.
_BYTES_PER_PIXEL = 150.0
_BYTES_PER_UNKNOWN = 1900.0
_BYTES = 18 * 2**20


def detect_highly_transparent(image: np.ndarray, is_fg: np.ndarray, is_bg: np.ndarray) -> bool:
    """Whether the unknown region looks like a highly transparent object.

    Parameters
    ----------
    image : ndarray, shape (h, w, 3)
        RGB image in [0, 1].
    is_fg, is_bg : ndarray of bool, shape (h, w)
        Known foreground and background.

    Returns
    -------
    bool
        True when the colour histogram of the unknown pixels is far (above 0.0099) from
        its best least-squares fit by the histograms of the known pixels near them.

    Notes
    -----
    The test of section 3.2 of Aksoy et al. 2017: the known-to-unknown flow helps unless
    the unknown region is mostly transparent. As in the authors' toolbox, the histograms
    (10 bins each) are of the red channel and twice the blue channel, of the foreground and
    background pixels within 10 pixels of the unknown region.
    """
    from scipy.ndimage import maximum_filter

    unknown = ~(is_fg | is_bg)
    # The toolbox's imdilate(unknown, ones(20)) as a separable maximum filter: origin 0 puts
    # the even-sized window where MATLAB (and Octave) put it, rows y-10 .. y+9 of each pixel
    # (scipy's binary_dilation would put it one pixel lower and to the right).
    near = maximum_filter(unknown.view(np.uint8), size=20, mode="constant")
    near = near.view(bool)

    def histogram(mask: np.ndarray) -> np.ndarray:
        count = max(int(mask.sum()), 1)
        pixels = image[mask]
        bins = [
            np.bincount(np.rint(pixels[:, c] * 9).astype(np.intp), minlength=10)[:10]
            for c in (0, 2, 2)
        ]
        return np.concatenate(bins) / count

    basis = np.column_stack([histogram(is_fg & near), histogram(is_bg & near)])
    target = histogram(unknown)
    weights = np.linalg.lstsq(basis, target, rcond=None)[0]
    error = np.linalg.norm(basis @ weights - target) / len(target)
    return bool(error > 0.0099)


def check_options(shape: tuple[int, ...], **options) -> dict:
    """``lam``, ``known_to_unknown`` and ``ku_confidence``, if given, checked and normalised.

    Parameters
    ----------
    shape : tuple of int
        The image's shape, for the ranges that depend on its size.
    **options
        The method's options, as given.

    Returns
    -------
    dict
        ``options`` with the checked ones in the form the solve uses.
    """
    checked = dict(options)
    if "lam" in options:
        # A 0-d array is a number too; an integer beyond floats is as unusable as infinity.
        checked["lam"] = check_lam(options["lam"])
    if "known_to_unknown" in options:
        value = options["known_to_unknown"]
        if value is not None and not isinstance(value, (bool, np.bool_)):
            raise ValueError(
                f"known_to_unknown must be True, False or None (automatic), got {value!r}"
            )
        checked["known_to_unknown"] = None if value is None else bool(value)
    if "ku_confidence" in options:
        value = options["ku_confidence"]
        if not (isinstance(value, str) and value in KU_CONFIDENCES):
            raise ValueError(f"ku_confidence must be 'means' or 'toolbox', got {value!r}")
    return checked


def build_system(
    image: np.ndarray,
    is_fg: np.ndarray,
    is_bg: np.ndarray,
    *,
    lam: float = _defaults.LAMBDA,
    known_to_unknown: bool | None = None,
    ku_confidence: str = "means",
):
    """The information-flow matting system over the pixels the flows couple.

    Parameters
    ----------
    image : ndarray, shape (h, w, 3)
        Float image in [0, 1], already validated.
    is_fg, is_bg : ndarray of bool, shape (h, w)
        Known foreground and background pixels.
    lam : float, optional
        Weight pulling known pixels to their trimap value, from 1e-6 to 1e10.
    known_to_unknown : bool or None, optional
        Use the known-to-unknown flow (with the trimap trimmings that refine it); ``None``
        decides with :func:`detect_highly_transparent` (used unless the unknown region
        looks highly transparent).
    ku_confidence : {"means", "toolbox"}, optional
        Confidence of the known-to-unknown estimate: ``"means"`` compares the weighted
        mean foreground and background colours of each pixel's mixture, as the compositing
        equation has them; ``"toolbox"`` compares their weighted sums, as the authors'
        toolbox does (zero where ``alpha F = (1 - alpha) B`` even for distinct ``F`` and
        ``B``, and unbounded). See
        :func:`vecmatte.laplacians.information_flow.known_to_unknown_flow`. With
        ``"means"`` an estimate outside [0, 1] (by more than 1e-6) has no confidence: one
        side's weights then sum below zero, so that side has no mean colour.

    Returns
    -------
    vecmatte.systems.MattingSystem
        Symmetric positive definite, over the unknown pixels and the known pixels coupled to
        them; every other pixel keeps its trimap value.

    Notes
    -----
    The flows and their weights follow the authors' toolbox (``getMattingParams('IFM')``):
    colour mixture (``K = 20``, weight 1), local (3x3 windows, ``eps = 1e-6``, weight 1),
    intra-unknown (``K = 5``, weight 0.01) and known-to-unknown (``K = 7``, weight 0.05).
    The trimmed trimaps only feed the known-to-unknown estimate: on pixels the edge
    trimming labels, the estimate is their new label with full confidence. With
    ``ku_confidence="means"`` (the default) the mean SAD over the alphamatting-lowres
    images (full size) was 0.91 times closed-form's on the first trimap set and 0.78 on
    the second before estimates outside [0, 1] lost their confidence (see
    ``bench/results/ifm.md`` for the current figures), against 1.01 and 0.84 with
    ``"toolbox"``.

    Examples
    --------
    >>> from vecmatte import estimate_alpha
    >>> from vecmatte.synthetic import make_scene
    >>> scene = make_scene((40, 50), seed=1)
    >>> alpha = estimate_alpha(scene.image, scene.trimap, method="ifm")
    >>> alpha.shape
    (40, 50)
    """
    from vecmatte.systems import MattingSystem

    matrix, rhs, active, diagonal, stencil, guess = _assemble(
        image,
        is_fg,
        is_bg,
        lam=lam,
        known_to_unknown=known_to_unknown,
        ku_confidence=ku_confidence,
    )
    return MattingSystem(
        matrix, rhs, active, tuple(is_fg.shape), stencil=stencil, diagonal=diagonal, x0=guess
    )


def memory_bytes(
    shape: tuple[int, ...],
    n_unknown: int,
    *,
    lam: float = _defaults.LAMBDA,
    known_to_unknown: bool | None = None,
    ku_confidence: str = "means",
) -> int:
    """Peak extra bytes of :func:`build_system` (the preconditioner's share comes on top).

    Measured with ``bench/memory_models.py`` (fresh processes, 0.1 to 4 MP, up to 1.7 million
    unknown pixels): with Jacobi's share, 1.11 to 1.43 times the peak resident size of the
    solve on photographs and scribbles; with twolevel's, 1.23 to 2.2 times on 1.8-4 MP images
    with thin bands, whose peak is the trimmings' per-pixel arrays (session 12). Per unknown
    pixel the system holds the colour-mixture factor (21 entries), the intra-unknown pairs,
    the local flow's 25 stencil values and the neighbour searches' arrays; per pixel, the
    feature arrays, trimming statistics and trees of the searches.

    Parameters
    ----------
    shape : tuple of int
        The image's shape.
    n_unknown : int
        Number of unknown (solved) pixels.
    lam, known_to_unknown, ku_confidence : optional
        The options of :func:`build_system` that change the system's size.

    Returns
    -------
    int
        Estimated peak bytes.
    """
    n_pixels = int(shape[0]) * int(shape[1])
    return int(_BYTES_PER_PIXEL * n_pixels + _BYTES_PER_UNKNOWN * n_unknown + _BYTES)


def _assemble(
    image: np.ndarray,
    is_fg: np.ndarray,
    is_bg: np.ndarray,
    *,
    lam: float,
    known_to_unknown: bool | None,
    ku_confidence: str = "means",
):
    """The system over the pixels the flows couple, as a matrix-free operator plus a stencil.

    Solution entries are the pixels within ``2 r`` of an unknown pixel (the local flow's
    reach) and the colour-mixture neighbours of unknown pixels; every other pixel's row
    would read ``lam x = lam alpha_k``. The colour-mixture energy stays factored,
    ``C^T C`` with ``C = D_u - W_cm`` (20 entries per unknown row), because its product
    would hold about 100 entries per row; the rest is one sparse matrix ``B``.
    """
    import scipy.sparse
    from scipy.ndimage import maximum_filter
    from scipy.sparse.linalg import LinearOperator

    from vecmatte.laplacians._stencil import rows_to_csr, stencil_offsets
    from vecmatte.laplacians.closed_form import row_coefficients
    from vecmatte.laplacians.information_flow import (
        color_mixture_weights,
        intra_unknown_weights,
    )
    from vecmatte.preconditioners.twolevel import aggregate_product
    from vecmatte.systems import Stencil

    h, w = is_fg.shape
    n = h * w
    known = is_fg | is_bg
    unknown = ~known
    rows = np.flatnonzero(unknown)
    if known_to_unknown is None:
        _log.info("ifm: transparency test of %d unknown pixels", len(rows))
        known_to_unknown = not detect_highly_transparent(image, is_fg, is_bg)
    # Each neighbour search needs more candidates than neighbours: with tiny known regions
    # the known-to-unknown flow is left out, and tiny images or unknown regions take fewer.
    known_to_unknown = known_to_unknown and min(is_fg.sum(), is_bg.sum()) > _KU_K
    cm_k = min(_CM_K, n - 2)
    iu_k = min(_IU_K, len(rows) - 2)

    _log.info("ifm: colour-mixture neighbours of %d unknown pixels (K=%d)", len(rows), cm_k)
    cm_neighbors, cm_weights = color_mixture_weights(image, rows, cm_k, 1.0)
    reach = 2 * _LOCAL_RADIUS
    coupled = maximum_filter(unknown.view(np.uint8), size=2 * reach + 1, mode="constant")
    coupled = coupled.view(bool).ravel()
    coupled[cm_neighbors.ravel()] = True
    active = np.flatnonzero(coupled)
    m = len(active)
    index = np.full(n + 1, -1, dtype=np.intp)  # slot n: "outside the image" stays -1
    index[active] = np.arange(m)

    # Local flow, as stencil coefficients of every solved pixel's row.
    _log.info("ifm: local flow of %d pixels (window radius %d)", m, _LOCAL_RADIUS)
    offsets = stencil_offsets(reach)
    values = row_coefficients(image, active, eps=_LOCAL_EPS, radius=_LOCAL_RADIUS, known=known)
    values *= 1.0 / (2 * _LOCAL_RADIUS + 1) ** 2
    neighbors = _stencil_neighbors(index[:n].reshape(h, w), active, offsets)
    values[neighbors < 0] = 0.0

    diagonal = lam * known.ravel()[active]
    rhs = lam * is_fg.ravel()[active]
    # CG starts from the trimap with unknown pixels at 0.5, or from the known-to-unknown
    # estimate: about 10% fewer iterations than from zero.
    guess = np.where(unknown, 0.5, is_fg.astype(np.float64)).ravel()[active]
    if known_to_unknown:
        alpha_hat, confidence = _known_to_unknown_estimate(image, is_fg, is_bg, ku_confidence)
        data = _KU_WEIGHT * confidence.ravel()[active]
        diagonal += data
        rhs += data * alpha_hat.ravel()[active]
        guess = alpha_hat.ravel()[active]

    # Intra-unknown flow: Laplacian of the symmetrised weights, (W + W^T) / 2.
    if iu_k > 0:
        _log.info("ifm: intra-unknown neighbours of %d unknown pixels (K=%d)", len(rows), iu_k)
        iu_neighbors, iu_values = intra_unknown_weights(image, rows, iu_k, 0.05)
        iu_rows = np.repeat(index[rows], iu_neighbors.shape[1])
        iu_cols = index[iu_neighbors.ravel()]
        half = (0.5 * _IU_WEIGHT) * iu_values.ravel()
        pairs = (np.concatenate([iu_rows, iu_cols]), np.concatenate([iu_cols, iu_rows]))
        intra = scipy.sparse.coo_matrix((np.concatenate([half, half]), pairs), shape=(m, m))
        intra = intra.tocsr()
    else:
        intra = scipy.sparse.csr_matrix((m, m))
    diagonal += np.asarray(intra.sum(axis=1)).ravel()
    # The diagonal goes into the stencil's centre before the CSR is made, instead of a
    # sparse sum after: intra has no diagonal entries (no pixel is its own neighbour), so
    # every entry is the same sum as in (S - intra) + diag, one sparse pass fewer.
    centre = len(offsets) // 2
    local_centre = values[centre].copy()
    values[centre] += diagonal
    rest = rows_to_csr(neighbors, values, m) - intra
    del intra

    # Colour mixture: C has a 1 at each unknown pixel and minus its LLE weights.
    _log.info("ifm: assembling the system of %d pixels", m)
    k = cm_neighbors.shape[1]
    mixture = scipy.sparse.csr_matrix(
        (
            np.column_stack([np.ones(len(rows)), -cm_weights]).ravel(),
            np.column_stack([index[rows], index[cm_neighbors]]).ravel(),
            np.arange(0, (k + 1) * len(rows) + 1, k + 1),
        ),
        shape=(len(rows), m),
    )
    mixture.sum_duplicates()
    # C^T as a CSC view: SciPy's CSC product adds each entry's terms in increasing column
    # order, as the CSR product of the transposed copy did (bit for bit, as fast), without
    # the 45 MB copy on GT04.
    mixture_t = mixture.T
    mixture_diagonal = np.bincount(mixture.indices, mixture.data**2, minlength=m)

    def matvec(x):
        x = np.ravel(x)
        return rest @ x + mixture_t @ (mixture @ x)

    def galerkin(aggregate, count):
        # P^T (B + C^T C) P = P^T B P + (C P)^T (C P): C P sums C's columns over blocks.
        mixture_p = aggregate_product(mixture, aggregate, count, left=False)
        return (aggregate_product(rest, aggregate, count) + mixture_p.T @ mixture_p).tocsr()

    values[centre] = local_centre + (diagonal + mixture_diagonal)
    operator = LinearOperator((m, m), matvec=matvec, dtype=np.float64)
    # For the "twolevel" preconditioner: its coarse matrix, and the rows it leaves out
    # (known pixels, pinned by lam T).
    operator.galerkin = galerkin
    operator.pinned = known.ravel()[active]
    stencil = Stencil(offsets, neighbors, values)
    return operator, rhs, active, rest.diagonal() + mixture_diagonal, stencil, guess


def _stencil_neighbors(index: np.ndarray, pixels: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """``(len(offsets), len(pixels))`` view: ``index`` at each pixel's neighbours, -1 outside.

    One gather from ``index`` (``(h, w)``) padded with -1: the transposed view of a row-major
    array is what :func:`~vecmatte.laplacians._stencil.rows_to_csr` reads without a copy.
    """
    w = index.shape[1]
    pad = int(np.abs(offsets).max())
    padded = np.pad(index, pad, constant_values=-1).ravel()
    shifts = offsets[:, 0] * (w + 2 * pad) + offsets[:, 1]
    y, x = np.divmod(pixels, w)
    return padded[((y + pad) * (w + 2 * pad) + x + pad)[:, None] + shifts].T


def _known_to_unknown_estimate(image, is_fg, is_bg, ku_confidence="means"):
    """The known-to-unknown estimate and confidence, sharpened by both trimap trimmings."""
    from vecmatte.laplacians.information_flow import known_to_unknown_flow

    known = is_fg | is_bg
    unknown = int(known.size - np.count_nonzero(known))
    _log.info("ifm: edge trimming of %d unknown pixels", unknown)
    edge_fg, edge_bg = edge_trimming(image, is_fg, is_bg)
    edge = edge_fg | edge_bg
    _log.info("ifm: patch trimming of %d unknown pixels (K=%d)", unknown, _PATCH_K)
    patch_fg, patch_bg = patch_trimming(image, is_fg, is_bg, k=_PATCH_K)
    # The pixels the flow searches for: those both trimmings left unknown.
    left = int(known.size - np.count_nonzero(patch_fg | patch_bg | edge))
    _log.info("ifm: known-to-unknown neighbours of %d unknown pixels (K=%d)", left, _KU_K)
    # The edge trimming's labels replace the flow's estimate: no need to compute it there.
    alpha_hat, confidence = known_to_unknown_flow(
        image, patch_fg, patch_bg, k=_KU_K, where=~edge, confidence=ku_confidence
    )
    if ku_confidence == "means":
        # Outside [0, 1] one side's LLE weights sum below zero: it has no mean colour, and
        # the samples do not explain the pixel as alpha F + (1 - alpha) B with alpha in
        # [0, 1]. Such estimates (-3.3 to 11.7 on GT16) get no confidence; the clip only
        # keeps CG's first guess a matte. The slack spares the weights' rounding (about
        # 1e-9 on synthetic scenes, where estimates of 0 and 1 are common).
        outside = (alpha_hat < -_ALPHA_HAT_SLACK) | (alpha_hat > 1.0 + _ALPHA_HAT_SLACK)
        confidence[outside] = 0.0
        np.clip(alpha_hat, 0.0, 1.0, out=alpha_hat)
    alpha_hat[edge_fg] = 1.0
    alpha_hat[edge_bg] = 0.0
    confidence[edge] = 1.0
    confidence[known] = 0.0
    return alpha_hat, confidence
