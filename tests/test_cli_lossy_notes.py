"""Every output of ``vecmatte alpha`` that will not read back as computed gets one note."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from vecmatte.cli import main


def _run(tmp_path, scene_files, outputs: dict) -> None:
    image, trimap = scene_files
    argv = ["alpha", str(image), str(trimap), "-q"]
    for flag, name in {"-o": "m.png", **outputs}.items():
        argv += [flag, str(tmp_path / name)]
    assert main(argv) == 0


def _pixels(path) -> np.ndarray:
    with Image.open(path) as image:
        if image.mode == "P":  # GIF: palette indices, read as the colours they stand for
            image = image.convert("RGB")
        return np.asarray(image).astype(int)


@pytest.mark.parametrize(
    ("option", "name", "what", "detail"),
    [
        ("-o", "m.jpg", "alpha matte", "a few levels off along edges"),
        ("--foreground", "f.jpg", "foreground", "a few levels off along edges"),  # old: no note
        ("--foreground", "f.avif", "foreground", "colours up to 3 levels off"),  # old: no note
        ("--cutout", "c.avif", "cutout", "colours up to 3 levels off"),  # old: no note
        ("--foreground", "f.gif", "foreground", "GIF holds 256 colours in all"),  # old: no note
    ],
)
def test_each_output_that_changes_its_values_is_noted_once(
    tmp_path, scene_files, capsys, option, name, what, detail
):
    if name.endswith(".avif"):
        pytest.importorskip("PIL.AvifImagePlugin")
    _run(tmp_path, scene_files, {option: name})
    kind = {"jpg": "JPEG", "avif": "AVIF", "gif": "GIF"}[name.rpartition(".")[2]]
    assert capsys.readouterr().err.splitlines() == [
        f"vecmatte: warning: {tmp_path / name}: {kind} is lossy: the {what}'s values are not "
        f"kept exactly ({detail}); write .png or .tif to keep them"
    ]
    # The note is true: the file reads back otherwise than its PNG twin.
    _run(tmp_path, scene_files, {option: "twin.png"} if option != "-o" else {})
    twin = _pixels(tmp_path / ("m.png" if option == "-o" else "twin.png"))
    assert np.abs(_pixels(tmp_path / name) - twin).max() > 0


@pytest.mark.parametrize(
    "outputs",
    [
        {"--cutout": "c.tif", "--foreground": "f.png"},
        # WebP is written lossless, AVIF's gray exactly: the old code noted both as lossy.
        {"-o": "m.webp", "--cutout": "c.webp", "--foreground": "f.webp"},
        {"-o": "m.avif"},
        {"-o": "m.gif"},  # gray: exact
    ],
)
def test_outputs_that_read_back_exactly_get_no_note(tmp_path, scene_files, capsys, outputs):
    if any(name.endswith(".avif") for name in outputs.values()):
        pytest.importorskip("PIL.AvifImagePlugin")
    _run(tmp_path, scene_files, outputs)
    assert capsys.readouterr().err == ""
    exact = {"-o": "m.png", "--cutout": "c.png", "--foreground": "f.png"}
    _run(tmp_path, scene_files, {k: v for k, v in exact.items() if k in outputs})
    for flag, name in outputs.items():
        written, twin = _pixels(tmp_path / name), _pixels(tmp_path / exact[flag])
        if written.ndim == 3 and twin.ndim == 2:
            written = written[..., 0]  # a gray matte in WebP (GIF) is stored as RGB (palette)
        np.testing.assert_array_equal(written, twin)
