"""The data folder: images, trimap sets and ground truth, and loading them at a scale."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

# Our layout first, then the folder names of the alphamatting.com downloads.
IMAGE_DIRS = ("image", "input_training_lowres", "input_lowres", "input_training_highres", "input")
ALPHA_DIRS = ("alpha", "gt_training_lowres", "gt_lowres", "gt_training_highres", "gt")
TRIMAP_DIRS = {
    "trimap": (
        "trimap",
        "trimap_training_lowres/Trimap1",
        "trimap_lowres/Trimap1",
        "trimap_training_highres/Trimap1",
        "Trimap1",
    ),
    "trimap2": (
        "trimap2",
        "trimap_training_lowres/Trimap2",
        "trimap_lowres/Trimap2",
        "trimap_training_highres/Trimap2",
        "Trimap2",
    ),
}
TRIMAP_ALIASES = {"trimap1": "trimap", "Trimap1": "trimap", "Trimap2": "trimap2"}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")


def fail(message: str) -> SystemExit:
    """The exception a bench command line ends with: ``"compare.py: error: ..."``."""
    return SystemExit(f"{Path(sys.argv[0]).name or 'bench'}: error: {message}")


@dataclass
class Dataset:
    root: Path
    image_dir: Path
    alpha_dir: Path
    trimap_dirs: dict[str, Path]
    files: dict[str, str]  # image name (stem) -> file name

    def paths(self, name: str, trimap_set: str) -> tuple[Path, Path, Path]:
        file = self.files[name]
        return self.image_dir / file, self.trimap_dirs[trimap_set] / file, self.alpha_dir / file


def _first_dir(root: Path, candidates: tuple[str, ...], what: str) -> Path:
    for candidate in candidates:
        if (root / candidate).is_dir():
            return root / candidate
    raise fail(f"{root} has no {what} folder (looked for {', '.join(candidates)})")


def find_dataset(root: Path, trimap_sets: list[str]) -> Dataset:
    """Locate image, trimap and ground-truth folders under ``root`` and the names they share."""
    image_dir = _first_dir(root, IMAGE_DIRS, "image")
    alpha_dir = _first_dir(root, ALPHA_DIRS, "ground-truth alpha")
    trimap_dirs = {}
    for trimap_set in trimap_sets:
        if trimap_set not in TRIMAP_DIRS:
            raise fail(f"unknown trimap set {trimap_set!r}; use trimap or trimap2")
        trimap_dirs[trimap_set] = _first_dir(root, TRIMAP_DIRS[trimap_set], trimap_set)
    files = {}
    for path in sorted(image_dir.iterdir()):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        if (alpha_dir / path.name).is_file() and all(
            (d / path.name).is_file() for d in trimap_dirs.values()
        ):
            files[path.stem] = path.name
    if not files:
        raise fail(f"no image in {image_dir} has a trimap and ground truth")
    return Dataset(root, image_dir, alpha_dir, trimap_dirs, files)


def as_scale(value: float) -> int | float:
    """A scale as an int when it is whole (``2.0 -> 2``), so that cache keys stay stable."""
    value = float(value)
    if value <= 0:
        raise ValueError(f"scale {value:g} must be positive")
    return int(value) if value.is_integer() else value


def scale_label(scale: float) -> str:
    """``"x2"``, ``"x0.5"``."""
    return f"x{scale:g}"


def scaled_size(width: int, height: int, scale: float) -> tuple[int, int]:
    """The size of an image after scaling (at least one pixel each way)."""
    return max(1, round(width * scale)), max(1, round(height * scale))


def load_scaled(path: str, scale: float, kind: str):
    """Image (RGB, bicubic), trimap (nearest) or alpha (bicubic) as float64 in [0, 1]."""
    import numpy as np
    from PIL import Image

    image = Image.open(path)
    image = image.convert("RGB" if kind == "image" else "L")
    if scale != 1:
        resample = Image.Resampling.NEAREST if kind == "trimap" else Image.Resampling.BICUBIC
        image = image.resize(scaled_size(image.width, image.height, scale), resample)
    return np.asarray(image, dtype=np.float64) / 255.0


def image_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as image:
        return image.width, image.height


def count_unknown(path: Path, scale: float) -> int:
    """Unknown pixels of a trimap at a scale (from the unscaled trimap: an estimate)."""
    import numpy as np
    from PIL import Image

    with Image.open(path) as image:
        trimap = np.asarray(image.convert("L"))
    unknown = int(((trimap > 25) & (trimap < 230)).sum())
    return round(unknown * scale * scale)
