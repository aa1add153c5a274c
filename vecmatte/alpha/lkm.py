"""Large-kernel matting (He, Sun, Tang 2010): the closed-form system at a large window
radius, solved matrix-free."""

from __future__ import annotations

import logging

import numpy as np

from vecmatte import _defaults
from vecmatte._validation import check_radius_eps
from vecmatte.alpha.rw import check_constraints
from vecmatte.laplacians.large_kernel import lkm_laplacian
from vecmatte.systems import MattingSystem, soft_constraint_system

__all__ = ["build_system", "check_options", "memory_bytes"]

_log = logging.getLogger(__name__)

# Peak memory of a solve with Jacobi: bytes per pixel, per solved row and in all.
# `python bench/memory_models.py --fit 1.05` (resident and tracemalloc peaks in fresh
# processes, 10 alphamatting.com images at half and 5 at full size, both trimaps, and 5
# synthetic scenes; bench/results/memory_models.md) gives 187 n + 98 u + 0.7 MiB: rounded
# up, 1.07-1.6x the photographs' peaks, up to 2.25x on scenes (the former model's were
# 3-52x). The per-pixel term bounds the crop around the unknown pixels by the whole image:
# where that crop is small (a scene's thin band), the estimate is high.
_MEMORY = (190.0, 100.0, 2**20)


def check_options(shape: tuple[int, ...], **options) -> dict:
    """Range checks of the options given (``ValueError``, one line).

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
    radius, eps = check_radius_eps(
        options.get("radius", 10), options.get("eps", 1e-7), shape, model="large-kernel"
    )
    if "radius" in options:
        checked["radius"] = radius
    if "eps" in options:
        checked["eps"] = eps
    # lam has the range of every soft-constraint method: since the operator centres the
    # colours, a weak pull no longer drowns in its rounding (it used to need lam >= 1).
    check_constraints(options.get("constraints", "hard"), options.get("lam", _defaults.LAMBDA))
    return checked


def _unknown_box(known: np.ndarray, margin: int) -> tuple[slice, slice]:
    """Bounding box of the unknown pixels grown by ``margin`` (clipped to the image)."""
    ys, xs = np.nonzero(~known)
    h, w = known.shape
    return (
        slice(max(int(ys.min()) - margin, 0), min(int(ys.max()) + margin + 1, h)),
        slice(max(int(xs.min()) - margin, 0), min(int(xs.max()) + margin + 1, w)),
    )


def build_system(
    image: np.ndarray,
    is_fg: np.ndarray,
    is_bg: np.ndarray,
    *,
    eps: float = 1e-7,
    radius: int = 10,
    constraints: str = "hard",
    lam: float = _defaults.LAMBDA,
) -> MattingSystem:
    """Large-kernel matting system, matrix-free, with its diagonal for Jacobi.

    Parameters
    ----------
    image : ndarray, shape (h, w, 3)
        Float image in [0, 1], already validated.
    is_fg, is_bg : ndarray of bool, shape (h, w)
        Known foreground and background pixels.
    eps : float, optional
        Regularisation of each window's colour covariance, from 1e-8 (below: the rounding
        error of the box sums) to 1e6 (above: no change).
    radius : int, optional
        Window radius (PyMatting's default 10: 21 x 21 windows).
    constraints : {"hard", "soft"}, optional
        Fix the known pixels (default), or pull them with weight ``lam`` over all pixels as
        PyMatting does.
    lam : float, optional
        Weight of the soft constraints, from 1e-6 to 1e10.

    Returns
    -------
    MattingSystem
        Its ``matrix`` is a ``LinearOperator``; ``diagonal`` is filled.

    Raises
    ------
    ValueError
        If an option is out of range or the image is smaller than one window.

    Notes
    -----
    He, Sun and Tang, "Fast Matting Using Large Kernel Matting Laplacian Matrices", CVPR
    2010; the operator is :func:`vecmatte.laplacians.large_kernel.lkm_laplacian`. With hard
    constraints only the windows that touch an unknown pixel matter, and they all lie in the
    unknown pixels' bounding box grown by ``2 r``: the operator is built on that crop.
    """
    constraints, lam = check_constraints(constraints, lam)
    radius, eps = check_radius_eps(radius, eps, image.shape, model="large-kernel")
    if constraints == "soft":
        laplacian = lkm_laplacian(image, eps=eps, radius=radius)
        return soft_constraint_system(laplacian, is_fg, is_bg, lam=lam)
    from scipy.sparse.linalg import LinearOperator

    h, w = is_fg.shape
    rows, cols = _unknown_box(is_fg | is_bg, 2 * radius)
    _log.info(
        "lkm: window statistics of the %d x %d crop around the unknown pixels (height x width, "
        "radius %d)",
        rows.stop - rows.start,
        cols.stop - cols.start,
        radius,
    )
    laplacian = lkm_laplacian(image[rows, cols], eps=eps, radius=radius)
    # L_uu x = -L_uk alpha_k as in hard_constraint_system, with one pixel vector of the
    # crop kept between products: its known entries stay zero, only the unknown are written.
    is_fg = is_fg[rows, cols].ravel()
    crop_unknown = np.flatnonzero(~(is_fg | is_bg[rows, cols].ravel()))
    diagonal = laplacian.diagonal()[crop_unknown]  # before the two vectors below exist
    pixels, product = is_fg.astype(np.float64), np.empty(len(is_fg))
    rhs = -laplacian.matvec(pixels, out=product)[crop_unknown]
    pixels[:] = 0.0

    def matvec(x: np.ndarray) -> np.ndarray:
        pixels[crop_unknown] = np.ravel(x)
        return laplacian.matvec(pixels, out=product)[crop_unknown]

    m = len(crop_unknown)
    matrix = LinearOperator((m, m), matvec=matvec, rmatvec=matvec, dtype=np.float64)
    crop_y, crop_x = np.divmod(crop_unknown, cols.stop - cols.start)
    unknown = (crop_y + rows.start) * w + crop_x + cols.start
    return MattingSystem(matrix, rhs, unknown, (h, w), diagonal=diagonal)


def memory_bytes(
    shape: tuple[int, ...], n_unknown: int, *, preconditioner: str = "jacobi", **options
) -> int:
    """Peak extra bytes of a large-kernel solve with ``preconditioner`` (an over-estimate).

    ``_MEMORY``: bytes per pixel (the window statistics and box-sum planes of the crop
    around the unknown pixels, at most the whole image), per solved row (conjugate
    gradient's vectors, the diagonal) and a constant, measured with Jacobi, the default;
    the box sums make it independent of the radius. Another preconditioner adds its own
    model with the margins of :mod:`vecmatte.memory`.

    Parameters
    ----------
    shape : tuple of int
        The image's shape.
    n_unknown : int
        Number of unknown (solved) pixels.
    preconditioner : str, optional
        The solve's preconditioner.
    **options
        The method's options.

    Returns
    -------
    int
        Estimated peak bytes.
    """
    from vecmatte.memory import BASE_BYTES, SAFETY
    from vecmatte.preconditioners import PRECONDITIONERS

    n_pixels = int(shape[0]) * int(shape[1])
    rows = n_pixels if options.get("constraints", "hard") == "soft" else n_unknown
    per_pixel, per_row, constant = _MEMORY
    total = per_pixel * n_pixels + per_row * rows + constant
    if preconditioner not in ("jacobi", "none"):
        model = PRECONDITIONERS[preconditioner].memory_bytes(n_pixels, rows)
        total += SAFETY * (model + BASE_BYTES)
    return int(total)
