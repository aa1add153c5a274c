"""Learning-based digital matting (Zheng, Kambhamettu 2009): alpha locally a ridge
regression of the colours, window by window."""

from __future__ import annotations

import logging

import numpy as np

from vecmatte import _defaults
from vecmatte._validation import check_radius_eps
from vecmatte.alpha.rw import check_constraints
from vecmatte.laplacians._stencil import rows_to_csr, stencil_columns, stencil_offsets
from vecmatte.laplacians.lbdm import lbdm_coefficients
from vecmatte.systems import MattingSystem, Stencil

__all__ = ["build_system", "check_options", "memory_bytes"]

_log = logging.getLogger(__name__)

# Peak memory of a solve with the "direct" preconditioner at radius 1: bytes per pixel, per
# solved row, per solved row ** 1.25 and in all; the factor's term is the larger of the two
# row terms (an envelope factor is linear in the rows, its entries per row bounded by the
# envelope's flops limit; a nested-dissection factor grows a little faster). Session 6,
# `bench/memory_models.py` (fresh children, 10 alphamatting.com images at half and 5 at full
# size, both trimaps, 1.8-4 MP upscales, GT01 scribbles, 5 scenes): envelope factors near
# the flops limit need ~2 KB per row (GT13 trimap2 x0.5: 120 MiB for 51k rows), the
# nested-dissection factors of the large cases 1.3 KB; 130 n + max(2090 u, 40 u**1.25)
# + 17 MiB is 1.10-3.0x the peaks, 1.2-1.86x at 1.8-4 MP and on the scribbles (u**1.25
# takes over at 7M rows, insurance for larger nested-dissection factors). The former
# 168 n + 125 u**1.25 + 17 MiB, fitted at 0.4 MP, was 2.7-3.4x at 1.8-3.5 MP.
_MEMORY = (130.0, 2090.0, 40.0, 17 * 2**20)


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
        options.get("radius", 1), options.get("eps", 1e-7), shape, model="learning-based"
    )
    if "radius" in options:
        checked["radius"] = radius
    if "eps" in options:
        checked["eps"] = eps
    check_constraints(options.get("constraints", "hard"), options.get("lam", _defaults.LAMBDA))
    return checked


def build_system(
    image: np.ndarray,
    is_fg: np.ndarray,
    is_bg: np.ndarray,
    *,
    eps: float = 1e-7,
    radius: int = 1,
    constraints: str = "hard",
    lam: float = _defaults.LAMBDA,
) -> MattingSystem:
    """Learning-based matting system.

    Parameters
    ----------
    image : ndarray, shape (h, w, 3)
        Float image in [0, 1], already validated.
    is_fg, is_bg : ndarray of bool, shape (h, w)
        Known foreground and background pixels.
    eps : float, optional
        Ridge regularisation of each window's colour model (PyMatting's 1e-7), from 1e-10
        (below: the rounding error of the window sums) to 1e6 (above: no change).
    radius : int, optional
        Window radius (``(2r+1) x (2r+1)`` windows).
    constraints : {"hard", "soft"}, optional
        Fix the known pixels (default; only windows touching an unknown pixel are
        evaluated), or pull them with weight ``lam`` over all pixels as PyMatting does.
    lam : float, optional
        Weight of the soft constraints, from 1e-6 to 1e10.

    Returns
    -------
    MattingSystem
        Grid-local with ``reach = 2 * radius``.

    Raises
    ------
    ValueError
        If an option is out of range or the image is smaller than one window.

    Notes
    -----
    Zheng and Kambhamettu, "Learning Based Digital Matting", ICCV 2009; the Laplacian is
    :func:`vecmatte.laplacians.lbdm.lbdm_laplacian`, whose stencil coefficients give the
    solved rows directly (the columns of known pixels go to the right-hand side).
    """
    constraints, lam = check_constraints(constraints, lam)
    radius, eps = check_radius_eps(radius, eps, image.shape, model="learning-based")
    h, w = is_fg.shape
    known = is_fg | is_bg
    hard = constraints == "hard"
    # Stencil coefficients of the whole Laplacian (only windows touching an unknown pixel
    # when the known pixels are fixed); then the rows that are solved, as in closed form.
    _log.info(
        "lbdm: window regressions of the %d x %d image (height x width, radius %d)", h, w, radius
    )
    coef = lbdm_coefficients(image, eps=eps, radius=radius, known=known if hard else None)
    offsets = stencil_offsets(2 * radius)
    rows = np.flatnonzero(~known.ravel()) if hard else np.arange(h * w)
    values = coef.reshape(len(offsets), h * w)
    values = values[:, rows] if hard else values
    del coef
    _log.info("lbdm: assembling the system of %d rows", len(rows))
    columns = stencil_columns(offsets, rows, (h, w))
    fg = np.append(is_fg.ravel(), False).astype(np.float64)  # column -1: not foreground
    if hard:
        rhs = -np.einsum("su,su->u", values, fg[columns])
        index = np.full(h * w + 1, -1, dtype=np.intp)
        index[rows] = np.arange(len(rows))
        columns = index[columns]
        values[columns < 0] = 0.0
    else:
        values[len(offsets) // 2] += lam * known.ravel()
        rhs = lam * fg[:-1]
    matrix = rows_to_csr(columns, values, len(rows))
    stencil = Stencil(offsets, columns, values)
    return MattingSystem(matrix, rhs, rows, (h, w), stencil=stencil, reach=2 * radius)


def memory_bytes(
    shape: tuple[int, ...], n_unknown: int, *, preconditioner: str = "direct", **options
) -> int:
    """Peak extra bytes of an LBDM solve with ``preconditioner`` (an over-estimate).

    ``_MEMORY``: bytes per pixel (the stencil coefficients of every window touching an
    unknown pixel, held over the whole image), per solved row and per solved row ** 1.25
    (the system and the complete factor: the larger of the two, an envelope factor or a
    nested-dissection one, whose fill grows a little faster than the rows) and a constant,
    measured with ``"direct"``, the default, at radius 1; all but the constant scale with
    the ``(4r+1)^2`` stencil entries. Jacobi and no preconditioner need less; another
    preconditioner adds its own model with the margins of :mod:`vecmatte.memory`.

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

    radius, _ = check_radius_eps(
        options.get("radius", 1), options.get("eps", 1e-7), shape, model="learning-based"
    )
    entries = (4 * radius + 1) ** 2
    n_pixels = int(shape[0]) * int(shape[1])
    rows = n_pixels if options.get("constraints", "hard") == "soft" else n_unknown
    per_pixel, per_row, per_row_125, constant = _MEMORY
    factor = max(per_row * rows, per_row_125 * rows**1.25)
    total = (per_pixel * n_pixels + factor) * entries / 25 + constant
    if preconditioner not in ("direct", "jacobi", "none"):
        model = PRECONDITIONERS[preconditioner].memory_bytes(n_pixels, rows, entries)
        total += SAFETY * (model + BASE_BYTES)
    return int(total)
