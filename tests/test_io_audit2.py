"""Reading and writing as a demanding user meets it (audit of session 4)."""

from __future__ import annotations

import errno
import os
import re
import warnings

import numpy as np
import pytest
from PIL import Image

from vecmatte.cli import main
from vecmatte.io import LossyTrimapWarning, load_gray, load_image, load_trimap, save_image


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


# --- 16-bit output ----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_a_16_bit_save_reads_back_within_one_level_of_65535(tmp_path, rng, suffix):
    alpha = rng.random((23, 31))
    alpha[0, :3] = [0.0, 1.0, 0.5]
    path = tmp_path / f"alpha{suffix}"
    save_image(path, alpha, bit_depth=16)
    with Image.open(path) as image:
        stored = np.asarray(image)
    assert stored.dtype == np.uint16  # read by Pillow directly, not by vecmatte
    assert np.abs(stored / 65535.0 - alpha).max() <= 0.5 / 65535 + 1e-12
    assert np.abs(load_gray(path, name="alpha") - alpha).max() <= 1 / 65535


def test_16_bit_colour_goes_to_tiff_and_is_refused_as_png(tmp_path, rng):
    colours = rng.random((9, 7, 3))
    save_image(tmp_path / "c.tif", colours, bit_depth=16)
    assert np.abs(load_image(tmp_path / "c.tif") - colours).max() <= 1 / 65535
    with pytest.raises(ValueError, match=r"only as \.tif .*; use \.tif, or leave out bit_depth"):
        save_image(tmp_path / "c.png", colours, bit_depth=16)
    with pytest.raises(ValueError, match=r"JPEG cannot hold 16-bit gray; .*leave out bit_depth"):
        save_image(tmp_path / "c.jpg", colours[:, :, 0], bit_depth=16)
    assert not (tmp_path / "c.png").exists()


@pytest.mark.parametrize("bit_depth", [12, True, "16"])
def test_a_bit_depth_other_than_8_or_16_is_refused(tmp_path, bit_depth):
    with pytest.raises(ValueError, match="bit_depth must be 8 or 16"):
        save_image(tmp_path / "a.png", np.zeros((4, 4)), bit_depth=bit_depth)
    assert list(tmp_path.iterdir()) == []


def test_integer_arrays_keep_their_depth_whatever_bit_depth(tmp_path):
    levels = np.arange(16, dtype=np.uint8).reshape(4, 4)
    save_image(tmp_path / "a.png", levels, bit_depth=16)
    with Image.open(tmp_path / "a.png") as image:
        np.testing.assert_array_equal(np.asarray(image), levels)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_alpha_bit_depth_16_writes_the_solve_within_one_level(
    tmp_path, scene_files, capsys, suffix
):
    from vecmatte import solve_alpha

    image, trimap = scene_files
    out = tmp_path / f"a{suffix}"
    code = main(["alpha", str(image), str(trimap), "-o", str(out), "--bit-depth", "16", "-q"])
    assert code == 0, capsys.readouterr().err
    with Image.open(out) as written:
        stored = np.asarray(written)
    assert stored.dtype == np.uint16
    expected = solve_alpha(load_image(image), load_trimap(trimap)).alpha
    assert np.abs(stored / 65535.0 - expected).max() <= 1 / 65535
    assert len(np.unique(stored)) > 256  # more levels than an 8-bit file can hold


@pytest.mark.parametrize("name", ["a.jpg", "a.bmp"])
def test_alpha_bit_depth_16_refuses_a_format_without_16_bits_before_solving(
    tmp_path, scene_files, capsys, name
):
    image, trimap = scene_files
    argv = ["alpha", str(image), str(trimap), "-o", str(tmp_path / name), "--bit-depth", "16"]
    code = main(argv)
    stderr = capsys.readouterr().err
    assert code == 1 and "Traceback" not in stderr
    assert f"vecmatte: error: {tmp_path / name}: " in stderr and "cannot hold a 16-bit" in stderr
    assert "solving" not in stderr  # refused before the work
    assert not (tmp_path / name).exists()


# --- a full disk ------------------------------------------------------------------------------


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_device_is_named_in_the_error(capsys, scene_files):
    # Before: "[Errno 28] No space left on device", without the file.
    with pytest.raises(OSError) as error:
        save_image("/dev/full", np.zeros((4, 4)))
    assert error.value.filename == "/dev/full" and error.value.errno == errno.ENOSPC
    image, trimap = scene_files
    assert main(["alpha", str(image), str(trimap), "-o", "/dev/full", "-q"]) == 1
    stderr = capsys.readouterr().err
    assert stderr == "vecmatte: error: /dev/full: no space left on device\n"


def test_a_full_disk_names_the_file_and_leaves_no_temporary(tmp_path, full_disk):
    (tmp_path / "a.png").write_bytes(b"old")
    with pytest.raises(OSError) as error:
        save_image(tmp_path / "a.png", np.zeros((4, 4)))
    assert error.value.filename == str(tmp_path / "a.png")
    assert "No space left on device" in str(error.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]
    assert (tmp_path / "a.png").read_bytes() == b"old"


# --- an output written as a folder ------------------------------------------------------------


def test_an_output_ending_with_a_slash_is_refused_not_written_without_it(tmp_path, monkeypatch):
    # Before: save_image("out/", ...) and `-o out/` wrote a file named "out".
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"^out/: ends with '/', as a folder does; give a file"):
        save_image("out/", np.zeros((3, 3)))
    (tmp_path / "folder").mkdir()
    with pytest.raises(IsADirectoryError, match=r"^folder/: is a directory; give a file name"):
        save_image("folder/", np.zeros((3, 3)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]


@pytest.mark.parametrize(
    "argv",
    [
        ["alpha", "image.png", "trimap.png", "-o", "out/"],
        ["trimap", "trimap.png", "-o", "out/"],
        ["alpha", "image.png", "trimap.png", "-o", "a.png", "--cutout", "out/"],
    ],
)
def test_the_command_refuses_an_output_named_as_a_folder(
    tmp_path, scene_files, capsys, monkeypatch, argv
):
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(argv) == 1
    stderr = capsys.readouterr().err
    assert "vecmatte: error: out/: ends with '/', as a folder does" in stderr
    assert "Traceback" not in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before
