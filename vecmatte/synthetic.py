"""Synthetic composites with known alpha, foreground and background, for tests and the demo."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vecmatte._arrays import check_pixel_count, image_sizes
from vecmatte._numbers import finite_number, shown, whole_number

__all__ = ["Scene", "make_scene"]


@dataclass(frozen=True)
class Scene:
    """A composite ``image = alpha * foreground + (1 - alpha) * background`` and its trimap.

    Attributes
    ----------
    image : ndarray, shape (h, w, 3)
        The composite, float64 in [0, 1].
    alpha : ndarray, shape (h, w)
        The true alpha.
    foreground, background : ndarray, shape (h, w, 3)
        The colours mixed.
    trimap : ndarray, shape (h, w)
        0 (background), 0.5 (unknown) or 1 (foreground).
    """

    image: np.ndarray
    alpha: np.ndarray
    foreground: np.ndarray
    background: np.ndarray
    trimap: np.ndarray


def _smooth_field(shape, rng, waves: int = 4) -> np.ndarray:
    """A smooth random field in [0, 1] made of a few low-frequency plane waves."""
    h, w = shape
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    field = np.zeros(shape)
    for _ in range(waves):
        angle = rng.uniform(0, np.pi)
        frequency = rng.uniform(8.0, 16.0)
        phase = rng.uniform(0, 2 * np.pi)
        field += np.sin(2 * np.pi * frequency * (np.cos(angle) * x + np.sin(angle) * y) + phase)
    return 0.5 + 0.5 * field / waves


def _dilate(mask: np.ndarray, steps: int) -> np.ndarray:
    """Grow a boolean mask by ``steps`` pixels (8-neighbourhood)."""
    grown = mask.copy()
    for _ in range(steps):
        padded = np.pad(grown, 1)
        grown = np.zeros_like(grown)
        for dy in (0, 1, 2):
            for dx in (0, 1, 2):
                grown |= padded[dy : dy + mask.shape[0], dx : dx + mask.shape[1]]
    return grown


def make_scene(
    shape: tuple[int, int] = (120, 160), *, seed: int = 0, softness: float = 4.0, band: int = 3
) -> Scene:
    """Make a composite in which the colour-line model of closed-form matting holds.

    The foreground mixes two fixed colours, and so does the background, with smooth random
    weights; within any window both therefore lie on a line in RGB space, and the true alpha
    is (up to ``eps``) what closed-form matting recovers (Levin et al. 2008, Theorem 2).

    Parameters
    ----------
    shape : (int, int)
        Height and width, at least 1 each. The trimap has foreground, background and unknown
        pixels from about 10 x 10 pixels (with the default ``softness`` and ``band``);
        smaller scenes may be all unknown.
    seed : int or None
        Seed of the random colours, mixing fields and outline (``np.random.default_rng``);
        None gives a different scene each call.
    softness : float
        Width in pixels of the soft edge of the foreground blob (positive).
    band : int
        Pixels added on each side of the soft edge in the trimap's unknown region (0 or more).

    Returns
    -------
    Scene
        ``image`` (h, w, 3), ``alpha`` (h, w), ``foreground`` and ``background`` (h, w, 3),
        ``trimap`` (h, w) with 0 / 0.5 / 1.

    Raises
    ------
    ValueError
        If ``shape`` is not two positive whole numbers (at most ``2**28`` pixels in all),
        ``softness`` not a positive number, ``band`` not a whole number of at least 0, or
        ``seed`` not a seed.
    """
    shape = h, w = image_sizes(shape, minimum=1, channels=False)
    # As every image argument is refused (NumPy's MemoryError named none).
    check_pixel_count(shape, "shape", fix="give a smaller shape")
    softness = finite_number(
        softness, "softness", "a positive number of pixels", minimum=0.0, above_minimum=True
    )
    band = whole_number(band, "band", "a whole number of pixels (0 or more)")
    try:
        rng = np.random.default_rng(seed)
    except (TypeError, ValueError):  # NumPy's "SeedSequence expects int ..." names no argument
        raise ValueError(
            f"seed must be a non-negative integer (or None for a fresh scene), got {shown(seed)}"
        ) from None
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    cy, cx = h * rng.uniform(0.4, 0.6), w * rng.uniform(0.4, 0.6)
    angle = np.arctan2(y - cy, x - cx)
    wobble = 1.0 + 0.15 * np.sin(3 * angle + rng.uniform(0, 2 * np.pi))
    radius = 0.3 * min(h, w) * wobble
    distance = np.hypot(y - cy, x - cx)
    with np.errstate(over="ignore"):  # a softness near 0 (5e-324) is a hard edge: +-inf, clipped
        alpha = np.clip((radius - distance) / softness + 0.5, 0.0, 1.0)

    # Closed-form matting recovers alpha only where the two colour lines and the gap between
    # them span RGB space; draw colours until that 3x3 system is well conditioned.
    while True:
        colours = rng.uniform(0.05, 0.95, size=(4, 3))
        spans = np.stack(
            [colours[0] - colours[1], colours[2] - colours[3], colours[1] - colours[3]]
        )
        if np.linalg.cond(spans) < 4.0 and min(np.linalg.norm(spans, axis=1)) > 0.4:
            break
    beta = _smooth_field(shape, rng)[:, :, None]
    gamma = _smooth_field(shape, rng)[:, :, None]
    foreground = beta * colours[0] + (1 - beta) * colours[1]
    background = gamma * colours[2] + (1 - gamma) * colours[3]
    image = alpha[:, :, None] * foreground + (1 - alpha[:, :, None]) * background

    soft = (alpha > 0) & (alpha < 1)
    # After height + width passes the unknown region covers the image (or is empty): more
    # change nothing, and band=10**9 took hours.
    unknown = _dilate(soft, min(band, h + w))
    trimap = np.where(alpha >= 0.5, 1.0, 0.0)
    trimap[unknown] = 0.5
    return Scene(image, alpha, foreground, background, trimap)
