"""Learning-based digital matting (Zheng, Kambhamettu 2009): alpha locally a ridge
regression of the colours, window by window."""

from __future__ import annotations

import numpy as np

from vecmatte import _defaults
from vecmatte._validation import check_radius_eps
from vecmatte.alpha.rw import check_constraints
from vecmatte.laplacians._stencil import rows_to_csr, stencil_columns, stencil_offsets
from vecmatte.laplacians.lbdm import lbdm_coefficients
from vecmatte.systems import MattingSystem, Stencil

__all__ = ["build_system", "check_options", "memory_bytes"]


def check_options(shape: tuple[int, ...], **options) -> dict:
    """Range checks of the options given (``ValueError``, one line)."""
    checked = dict(options)
    radius, eps = check_radius_eps(options.get("radius", 1), options.get("eps", 1e-7), shape)
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
        Ridge regularisation of each window's colour model (PyMatting's 1e-7).
    radius : int, optional
        Window radius (``(2r+1) x (2r+1)`` windows).
    constraints : {"hard", "soft"}, optional
        Fix the known pixels (default; only windows touching an unknown pixel are
        evaluated), or pull them with weight ``lam`` over all pixels as PyMatting does.
    lam : float, optional
        Weight of the soft constraints.

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
    radius, eps = check_radius_eps(radius, eps, image.shape)
    h, w = is_fg.shape
    known = is_fg | is_bg
    hard = constraints == "hard"
    # Stencil coefficients of the whole Laplacian (only windows touching an unknown pixel
    # when the known pixels are fixed); then the rows that are solved, as in closed form.
    coef = lbdm_coefficients(image, eps=eps, radius=radius, known=known if hard else None)
    offsets = stencil_offsets(2 * radius)
    rows = np.flatnonzero(~known.ravel()) if hard else np.arange(h * w)
    values = coef.reshape(len(offsets), h * w)
    values = values[:, rows] if hard else values
    del coef
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


def memory_bytes(shape: tuple[int, ...], n_unknown: int, **options) -> int:
    """Peak extra bytes of the LBDM system (the preconditioner's share comes on top).

    The Laplacian over all pixels: ``(4r+1)^2`` stencil values per pixel, held as
    coefficients and then as CSR (about 40 bytes per entry at the peak), plus the rows of
    the solved pixels again.
    """
    from vecmatte.memory import BASE_BYTES, SAFETY

    radius, _ = check_radius_eps(options.get("radius", 1), options.get("eps", 1e-7), shape)
    entries = (4 * radius + 1) ** 2
    n_pixels = int(shape[0]) * int(shape[1])
    rows = n_pixels if options.get("constraints", "hard") == "soft" else n_unknown
    return int(SAFETY * (40 * entries * n_pixels + 24 * entries * rows + BASE_BYTES))
