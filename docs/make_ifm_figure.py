"""Make docs/ifm_hair.png: closed-form and information-flow matting on synthetic hair.

The scene is made here from a seed: thin, partly transparent strands over a crop of
scikit-image's bundled ``coffee`` photograph, so the true alpha is known. Panels: the
composite, the trimap, closed-form's alpha, information-flow's alpha, the true alpha, each
with its SAD over the unknown pixels. Run from anywhere::

    python docs/make_ifm_figure.py        # writes docs/ifm_hair.png next to this script
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy.ndimage import binary_dilation, binary_erosion

import vecmatte

GAP = 6
LABEL_HEIGHT = 18


def strand_alpha(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A head (disc) with ~70 curved strands of hair about one pixel wide leaving it."""
    h, w = shape
    y, x = np.mgrid[0:h, 0:w]
    cy, cx, radius = h * 0.95, w * 0.35, h * 0.45
    alpha = np.clip(radius - np.hypot(y - cy, x - cx) + 0.5, 0.0, 1.0)
    for _ in range(70):
        angle = rng.uniform(-np.pi * 0.95, -np.pi * 0.05)
        length = rng.uniform(25, 80)
        bend = rng.uniform(-0.02, 0.02)
        width = rng.uniform(0.5, 1.1)
        opacity = rng.uniform(0.6, 1.0)
        t = np.arange(0.0, length, 0.25)
        heading = angle + bend * t
        py = cy + (radius - 2) * np.sin(angle) + np.cumsum(np.sin(heading)) * 0.25
        px = cx + (radius - 2) * np.cos(angle) + np.cumsum(np.cos(heading)) * 0.25
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                qy, qx = np.floor(py).astype(int) + dy, np.floor(px).astype(int) + dx
                inside = (qy >= 0) & (qy < h) & (qx >= 0) & (qx < w)
                distance = np.hypot(qy - py, qx - px)
                value = opacity * np.clip(1.0 - distance / (width + 0.5), 0.0, 1.0)
                np.maximum.at(alpha, (qy[inside], qx[inside]), value[inside])
    return alpha


def hair_scene(shape=(150, 210), seed=2):
    from skimage import data

    rng = np.random.default_rng(seed)
    alpha = strand_alpha(shape, rng)
    background = data.coffee()[150 : 150 + shape[0], 300 : 300 + shape[1]] / 255.0
    shade = 0.8 + 0.2 * rng.random(shape)
    foreground = np.stack([0.55 * shade, 0.36 * shade, 0.18 * shade], axis=2)
    image = alpha[:, :, None] * foreground + (1 - alpha[:, :, None]) * background
    image = np.clip(image, 0.0, 1.0)
    # A loose trimap, as drawn around hair: everything within 14 pixels of a strand.
    unknown = binary_dilation(alpha > 0.02, iterations=14) & ~binary_erosion(
        alpha > 0.999, iterations=3
    )
    trimap = np.where(alpha > 0.5, 1.0, 0.0)
    trimap[unknown] = 0.5
    return image, trimap, alpha


def side_by_side(tiles: list[np.ndarray], labels: list[str], scale: int = 2) -> Image.Image:
    h, w = tiles[0].shape[:2]
    h, w = h * scale, w * scale
    width = len(tiles) * w + (len(tiles) - 1) * GAP
    canvas = Image.new("RGB", (width, h + LABEL_HEIGHT), "white")
    draw = ImageDraw.Draw(canvas)
    for i, (tile, label) in enumerate(zip(tiles, labels, strict=True)):
        if tile.ndim == 2:
            tile = np.repeat(tile[:, :, None], 3, axis=2)
        picture = Image.fromarray(np.round(np.clip(tile, 0, 1) * 255).astype(np.uint8))
        picture = picture.resize((w, h), Image.NEAREST)
        canvas.paste(picture, (i * (w + GAP), LABEL_HEIGHT))
        draw.text((i * (w + GAP) + 2, 3), label, fill="black")
    return canvas


def main(output: Path) -> None:
    image, trimap, truth = hair_scene()
    unknown = (trimap > 0.1) & (trimap < 0.9)
    tiles, labels = [image, trimap], ["composite", "trimap"]
    for method, name in (("cf", "closed-form"), ("ifm", "information flow")):
        alpha = vecmatte.estimate_alpha(image, trimap, method=method)
        sad = np.abs(alpha - truth)[unknown].sum() / 1000
        tiles.append(alpha)
        labels.append(f"{name}, SAD {sad:.2f}")
    tiles.append(truth)
    labels.append("true alpha")
    crop = (slice(0, 110), slice(0, 150))  # the strands, away from the plain head
    side_by_side([t[crop] for t in tiles], labels).save(output)
    print(f"wrote {output}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("ifm_hair.png"))
