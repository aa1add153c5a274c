"""Reading and writing as a demanding user meets it (audit of session 4)."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from PIL import Image

from vecmatte.cli import main
from vecmatte.io import LossyTrimapWarning, load_trimap


def _trimap(shape=(64, 80)) -> np.ndarray:
    """uint8 trimap: background, a gray band, a foreground disc (edges off the 8x8 grid)."""
    y, x = np.mgrid[: shape[0], : shape[1]]
    r = np.hypot(y - shape[0] / 2, x - shape[1] / 2)
    return np.where(r < 15, 255, np.where(r < 23, 128, 0)).astype(np.uint8)


def test_a_jpeg_trimap_warns_once_naming_the_file_and_how_it_is_read(tmp_path):
    path = tmp_path / "trimap.jpg"
    Image.fromarray(_trimap()).save(path, quality=75)
    with pytest.warns(LossyTrimapWarning) as record:
        trimap = load_trimap(path)
    assert len(record) == 1
    message = str(record[0].message)
    assert message.startswith(f"{path}: the trimap is a lossy JPEG file and ")
    gray = int(re.search(r"its gray \((\d+)\)", message).group(1))
    assert abs(gray - 128) <= 8  # the band's level, moved a little by the compression
    assert "above 90% white" in message and "\n" not in message
    smeared = np.rint(trimap * 255)
    share = np.mean((smeared != 0) & (smeared != 255) & (smeared != gray))
    assert f"{100 * share:.1f}% of its pixels" in message


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_a_lossless_trimap_reads_exactly_without_a_note(tmp_path, suffix):
    path = tmp_path / f"trimap{suffix}"
    Image.fromarray(_trimap()).save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trimap = load_trimap(path)
    np.testing.assert_array_equal(trimap, _trimap() / 255.0)


def test_a_jpeg_with_exact_levels_is_not_noted(tmp_path):
    # Flat 8x8 blocks survive JPEG exactly: nothing is smeared, nothing to say.
    levels = np.kron(np.array([[0, 128], [255, 128]], np.uint8), np.ones((16, 16), np.uint8))
    path = tmp_path / "blocks.jpg"
    Image.fromarray(levels).save(path, quality=95)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_trimap(path)


def test_the_command_prints_the_jpeg_note_as_one_line(tmp_path, capsys):
    trimap = _trimap()
    image = np.dstack([trimap, 255 - trimap, np.full_like(trimap, 90)])
    Image.fromarray(image).save(tmp_path / "image.png")
    Image.fromarray(trimap).save(tmp_path / "trimap.jpg", quality=75)
    argv = ["alpha", str(tmp_path / "image.png"), str(tmp_path / "trimap.jpg")]
    code = main([*argv, "-o", str(tmp_path / "a.png"), "-q"])
    stderr = capsys.readouterr().err
    assert code == 0, stderr
    notes = [line for line in stderr.splitlines() if "lossy JPEG" in line]
    assert len(notes) == 1 and notes[0].startswith("vecmatte: warning: ")
    assert str(tmp_path / "trimap.jpg") in notes[0]
