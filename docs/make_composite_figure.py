"""Make docs/composite.png for the README: photograph | alpha | cutout on a new background.

The photograph is scikit-image's ``astronaut`` (public domain, NASA), cropped to the head;
the new background is scikit-image's ``coffee``. The trimap comes from a rough mask (colour
distance from the studio backdrop, plus two ellipses over the face and the crown of the hair,
whose colours are close to the backdrop's) with an unknown band along its edge; alpha by
closed-form matting, foreground colours by multi-level estimation. Run from the repository::

    python docs/make_composite_figure.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from skimage import data, measure, morphology

from vecmatte import composite, estimate_foreground, save_image, solve_alpha
from vecmatte.trimap import trimap_from_mask

OUTPUT = Path(__file__).resolve().parent / "composite.png"
CROP = (slice(0, 210), slice(115, 335))
# (centre row, centre column, half height, half width) in the crop: face and crown of the hair.
ELLIPSES = ((115, 108, 62, 46), (50, 110, 28, 50))
BACKDROP_DISTANCE = 0.18
BAND = 6
GAP = 6


def rough_mask(image: np.ndarray) -> np.ndarray:
    """Pixels far in colour from the backdrop (sampled in three corners), and the ellipses."""
    corners = (image[:60, :30], image[:60, -30:], image[-20:, -30:])
    distance = np.min(
        [np.linalg.norm(image - corner.reshape(-1, 3).mean(axis=0), axis=2) for corner in corners],
        axis=0,
    )
    mask = morphology.opening(distance > BACKDROP_DISTANCE, morphology.disk(2))
    labels = measure.label(mask)
    mask = labels == np.bincount(labels.ravel())[1:].argmax() + 1
    rows, cols = np.indices(mask.shape)
    for row, col, half_h, half_w in ELLIPSES:
        mask |= ((rows - row) / half_h) ** 2 + ((cols - col) / half_w) ** 2 < 1
    return morphology.remove_small_holes(mask, max_size=3000)


def main() -> None:
    image = data.astronaut()[CROP] / 255.0
    trimap = trimap_from_mask(rough_mask(image), band=BAND)
    alpha = solve_alpha(image, trimap).alpha
    foreground = estimate_foreground(image, alpha)
    result = composite(foreground, alpha, data.coffee() / 255.0, fit="cover")
    gap = np.ones((alpha.shape[0], GAP, 3))
    panels = [image, gap, np.repeat(alpha[:, :, None], 3, axis=2), gap, result]
    save_image(OUTPUT, np.concatenate(panels, axis=1))
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
