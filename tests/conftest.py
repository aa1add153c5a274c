"""Shared fixtures: small seeded synthetic inputs, and files written without vecmatte's own I/O."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import vecmatte
from vecmatte.batch.local import cpu_count

# Real photographs with ground truth, outside the project (never copied into it).
DATA_DIR = Path(
    os.environ.get(
        "VECMATTE_DATA",
        Path(__file__).resolve().parents[2] / "shared" / "data" / "alphamatting-lowres",
    )
)

# Hypothesis: deterministic and quick, so the suite stays reproducible and fast in CI.
try:
    from hypothesis import settings

    settings.register_profile(
        "vecmatte", max_examples=25, deadline=None, derandomize=True, database=None
    )
    settings.load_profile("vecmatte")
except ImportError:  # pragma: no cover - hypothesis is in the test extra
    pass


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def scene() -> vecmatte.Scene:
    """A small composite in which the colour-line model holds, with its trimap."""
    return vecmatte.make_scene((36, 44), seed=3, softness=4.0, band=2)


def write_png(path: Path, array: np.ndarray) -> Path:
    """Write a float [0, 1] or uint8/uint16 array with Pillow directly (not vecmatte.save_image)."""
    array = np.asarray(array)
    if np.issubdtype(array.dtype, np.floating):
        array = np.round(np.clip(array, 0, 1) * 255).astype(np.uint8)
    if array.dtype == np.uint16 and array.ndim != 2:
        raise ValueError("16-bit test images must be gray (Pillow has no 16-bit RGB)")
    Image.fromarray(array).save(path)
    return Path(path)


def write_float_tiff(path: Path, array: np.ndarray) -> Path:
    """A single-channel 32-bit float TIFF (Pillow mode "F"); can hold NaN and values > 1."""
    Image.fromarray(np.asarray(array, dtype=np.float32)).save(path)
    return Path(path)


def scene_folders(
    root: Path,
    names,
    *,
    shape=(40, 60),
    band: int = 3,
    write=write_png,
    folders=("images", "trimaps"),
) -> tuple[Path, Path]:
    """Folders ``root/images`` and ``root/trimaps`` holding ``NAME.png`` for each of ``names``.

    The i-th name gets ``make_scene(shape, seed=i, band=band)``'s image and trimap, written
    with ``write`` (Pillow; ``vecmatte.io.save_image`` adds vecmatte's PNG mark).
    """
    images, trimaps = (Path(root) / folder for folder in folders)
    images.mkdir(parents=True)
    trimaps.mkdir()
    for seed, name in enumerate(names):
        scene = vecmatte.make_scene(shape, seed=seed, band=band)
        write(images / f"{name}.png", scene.image)
        write(trimaps / f"{name}.png", scene.trimap)
    return images, trimaps


@pytest.fixture
def scene_files(tmp_path, scene):
    """``(image.png, trimap.png)`` of the small scene, written with Pillow."""
    image = write_png(tmp_path / "image.png", scene.image)
    trimap = write_png(tmp_path / "trimap.png", scene.trimap)
    return image, trimap


@pytest.fixture
def full_disk(monkeypatch):
    """Every write of vecmatte's temporary files fails with ENOSPC, as on a full disk."""
    import errno

    import vecmatte._writing as writing

    real_fdopen = os.fdopen

    class Full:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(writing.os, "fdopen", lambda *a, **k: Full(real_fdopen(*a, **k)))


def one_error_line(stderr: str) -> str:
    """The single ``vecmatte: error:`` line of ``stderr``, which holds no traceback."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.startswith("vecmatte: error:")]
    assert len(lines) == 1, stderr
    return lines[0]


def files_in(directory: Path) -> set[str]:
    """Names of all entries in ``directory``, hidden temporary files included."""
    return {entry.name for entry in Path(directory).iterdir()}


# run_batch(jobs=2) runs one image at a time in the calling process when the process may use
# only one CPU (batch.local.cpu_count): tests of its worker processes need two.
needs_two_cpus = pytest.mark.skipif(
    cpu_count() < 2,
    reason="needs 2 CPUs: with one, jobs=2 runs in this process (no worker processes)",
)
