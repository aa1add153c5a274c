"""Every ```python and ```sh block of README.md runs as written, as a script.

Each block runs in one temporary folder prepared with the files the README names (made from
:func:`vecmatte.make_scene`), in README order, with ``vecmatte`` and ``python`` resolved to
this environment's entry point and interpreter. A block that cannot run here (it needs a
cluster, a network, another package) is written as ```text or ```console in the README.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import vecmatte

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"^```(python|sh)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
TIMEOUT = 300


def _blocks() -> list[tuple[int, str, str]]:
    text = README.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, match.start()) + 1, match.group(1), match.group(2))
        for match in BLOCK.finditer(text)
    ]


def _save(path: Path, array) -> None:
    vecmatte.save_image(path, np.round(np.asarray(array) * 255).astype(np.uint8))


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """The files the README's blocks read: a photograph, its trimap, mask, scribbles ..."""
    root = tmp_path_factory.mktemp("readme")
    scene = vecmatte.make_scene((60, 80), seed=0)
    for name in ("photo.png", "photo.jpg", "image.png"):
        _save(root / name, scene.image)
    _save(root / "trimap.png", scene.trimap)
    _save(root / "mask.png", scene.alpha > 0.5)
    _save(root / "alpha.png", scene.alpha)
    _save(root / "fg.png", scene.foreground)
    _save(root / "beach.jpg", vecmatte.make_scene((90, 100), seed=1).image)
    scribbled = scene.image.copy()
    strokes = np.zeros(scene.trimap.shape, bool)
    strokes[::6] = True  # thin horizontal strokes, a sixth of the rows
    scribbled[strokes & (scene.trimap == 1.0)] = 1.0  # white on the sure foreground
    scribbled[strokes & (scene.trimap == 0.0)] = 0.0  # black on the sure background
    _save(root / "scribbled.png", scribbled)
    for directory in ("photos", "trimaps", "masks"):
        (root / directory).mkdir()
    for seed, name in enumerate(("shoe", "bag")):
        other = vecmatte.make_scene((40, 50), seed=10 + seed)
        _save(root / "photos" / f"{name}.jpg", other.image)
        _save(root / "trimaps" / f"{name}.png", other.trimap)
        _save(root / "masks" / f"{name}.png", other.alpha > 0.5)
    return root


@pytest.mark.parametrize(
    ("line", "language", "code"),
    _blocks(),
    ids=[f"README.md:{line}" for line, _, _ in _blocks()],
)
def test_readme_block_runs(folder, line, language, code):
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / "vecmatte").exists(), "the vecmatte entry point is not installed"
    script = folder / f"block_{line}.{'py' if language == 'python' else 'sh'}"
    script.write_text(code, encoding="utf-8")
    command = (
        [sys.executable, script.name]
        if language == "python"
        else ["bash", "-e", "-o", "pipefail", script.name]
    )
    environment = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    environment.pop("PYTHONWARNINGS", None)
    result = subprocess.run(
        command,
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, (
        f"README.md line {line} ({language}) exited with {result.returncode}:\n"
        f"{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    )
    assert "Traceback" not in result.stderr, result.stderr


def test_every_warning_class_is_named_and_every_named_one_exists():
    # The README tells users to filter warnings by the classes of vecmatte: each one the
    # package exports is named there, and each one named there can be taken from vecmatte.
    text = README.read_text(encoding="utf-8")
    named = set(re.findall(r"`(?:vecmatte\.)?([A-Z]\w*Warning)`", text))
    exported = {name for name in vecmatte.__all__ if name.endswith("Warning")}
    assert exported - named == set(), "exported but not named in README.md"
    assert named - exported == set(), "named in README.md but not exported by vecmatte"
    assert all(issubclass(getattr(vecmatte, name), Warning) for name in named)
