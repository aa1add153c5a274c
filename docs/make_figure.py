"""Make docs/demo.png: the bundled demo's image | trimap | alpha | cutout on a checkerboard.

Uses only vecmatte's runtime dependencies. Run from anywhere::

    python docs/make_figure.py            # writes docs/demo.png next to this script
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

import vecmatte
from vecmatte import cutout, estimate_alpha, load_image, load_trimap, save_image

GAP = 6
LABEL_HEIGHT = 18


def checkerboard(shape: tuple[int, int], square: int = 12) -> np.ndarray:
    """Light/dark grey checkerboard, the usual backdrop that shows transparency."""
    y, x = np.indices(shape)
    board = np.where(((y // square) + (x // square)) % 2 == 0, 0.8, 0.6)
    return np.repeat(board[:, :, None], 3, axis=2)


def panels(image: np.ndarray, trimap: np.ndarray, alpha: np.ndarray) -> list[np.ndarray]:
    rgba = cutout(image, alpha)
    a = rgba[:, :, 3:]
    on_board = a * rgba[:, :, :3] + (1 - a) * checkerboard(alpha.shape)
    gray = lambda m: np.repeat(m[:, :, None], 3, axis=2)  # noqa: E731
    return [image, gray(trimap), gray(alpha), on_board]


def side_by_side(tiles: list[np.ndarray], labels: list[str]) -> np.ndarray:
    h, w = tiles[0].shape[:2]
    width = len(tiles) * w + (len(tiles) - 1) * GAP
    canvas = Image.new("RGB", (width, h + LABEL_HEIGHT), "white")
    draw = ImageDraw.Draw(canvas)
    for i, (tile, label) in enumerate(zip(tiles, labels, strict=True)):
        left = i * (w + GAP)
        canvas.paste(Image.fromarray(np.round(tile * 255).astype(np.uint8)), (left, LABEL_HEIGHT))
        draw.text((left + 2, 3), label, fill="black")
    return np.asarray(canvas)


def main(output: Path) -> None:
    data = Path(vecmatte.__file__).parent / "data"
    image = load_image(data / "demo_image.png")
    trimap = load_trimap(data / "demo_trimap.png")
    alpha = estimate_alpha(image, trimap)
    labels = ["image", "trimap", "alpha (vecmatte)", "cutout on a checkerboard"]
    save_image(output, side_by_side(panels(image, trimap, alpha), labels))
    print(f"wrote {output}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "demo.png")
