"""Learning-based digital matting (Zheng, Kambhamettu 2009): alpha locally a ridge
regression of the colours, window by window."""

from __future__ import annotations

import numpy as np

from vecmatte import _defaults
from vecmatte._validation import check_radius_eps
from vecmatte.alpha.rw import check_constraints
from vecmatte.laplacians.lbdm import lbdm_laplacian
from vecmatte.systems import MattingSystem, hard_constraint_system, soft_constraint_system

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
    :func:`vecmatte.laplacians.lbdm.lbdm_laplacian`.
    """
    constraints, lam = check_constraints(constraints, lam)
    radius, eps = check_radius_eps(radius, eps, image.shape)
    if constraints == "hard":
        laplacian = lbdm_laplacian(image, eps=eps, radius=radius, known=is_fg | is_bg)
        return hard_constraint_system(laplacian, is_fg, is_bg, reach=2 * radius)
    laplacian = lbdm_laplacian(image, eps=eps, radius=radius)
    return soft_constraint_system(laplacian, is_fg, is_bg, lam=lam, reach=2 * radius)


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
