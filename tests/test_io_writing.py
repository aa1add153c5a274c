"""Writing files where users write them: links, folders in the way, each format's channels."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from vecmatte import cutout
from vecmatte.io import save_image, save_images


@pytest.mark.parametrize("writer", ["save_image", "save_images"])
def test_writing_through_links_that_loop_is_refused_and_keeps_the_links(tmp_path, writer):
    # write_target resolved a link with os.path.realpath, which stops quietly inside a
    # loop: the temporary was renamed onto the link itself, replacing a.png -> b.png ->
    # a.png by a plain file without a word, where open() says "too many levels of
    # symbolic links" and the command line refuses the loop in one line.
    os.symlink("b.png", tmp_path / "a.png")
    os.symlink("a.png", tmp_path / "b.png")
    matte = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"a\.png: its symbolic links loop"):
        if writer == "save_image":
            save_image(tmp_path / "a.png", matte)
        else:
            save_images([(tmp_path / "a.png", matte)])
    assert os.readlink(tmp_path / "a.png") == "b.png"
    assert sorted(os.listdir(tmp_path)) == ["a.png", "b.png"]


def test_writing_through_a_dangling_link_writes_the_file_it_names(tmp_path):
    # As open(path, "w") does: the link stays, its file is made.
    os.symlink("made.png", tmp_path / "link.png")
    save_image(tmp_path / "link.png", np.full((2, 3), 0.5))
    assert os.readlink(tmp_path / "link.png") == "made.png"
    with Image.open(tmp_path / "made.png") as image:
        assert np.asarray(image).tolist() == [[128] * 3] * 2


def test_an_output_that_is_a_folder_is_refused_in_one_line(tmp_path):
    (tmp_path / "out.png").mkdir()
    with pytest.raises(IsADirectoryError, match=r"out\.png: is a directory; give a file name"):
        save_image(tmp_path / "out.png", np.zeros((2, 3)))
    assert os.listdir(tmp_path / "out.png") == []


@pytest.mark.parametrize("suffix", [".png", ".tif", ".webp"])
def test_a_cutout_is_written_with_straight_alpha(tmp_path, suffix):
    # Straight (unassociated) alpha, as PNG requires: the colours are stored as they are,
    # not multiplied by alpha. By hand: red 1, green 0.5, blue 0 at alpha 0.5, 1, 0, 0.25
    # are stored as 255, 128 (0.5 * 255 = 127.5, rounded half to even), 0, and alpha
    # round(255 a).
    image = np.zeros((2, 2, 3))
    image[..., 0], image[..., 1] = 1.0, 0.5
    alpha = np.array([[0.5, 1.0], [0.0, 0.25]])
    path = tmp_path / f"cutout{suffix}"
    save_image(path, cutout(image, alpha))
    with Image.open(path) as stored:
        assert stored.mode == "RGBA"
        pixels = np.asarray(stored)
        if suffix == ".tif":
            assert stored.tag_v2[338] in (2, (2,))  # ExtraSamples: unassociated alpha
    expected = np.array(
        [[[255, 128, 0, 128], [255, 128, 0, 255]], [[255, 128, 0, 0], [255, 128, 0, 64]]]
    )
    np.testing.assert_array_equal(pixels, expected)  # WebP too: written lossless


@pytest.mark.parametrize("suffix", [".tga", ".jp2", ".sgi", ".dds", ".avif"])
def test_a_cutout_is_written_in_every_format_that_keeps_an_alpha_channel(tmp_path, suffix, rng):
    # 'TGA cannot store an alpha channel; save the cutout as .png or .tif' (and so for
    # JPEG 2000, SGI, DDS, AVIF), which all hold RGBA and read it back exactly, but for
    # AVIF's colour (YCbCr at quality 100: within 3 levels).
    if suffix == ".avif":  # Pillow reads and writes AVIF from 11.2 on (11.0 lacks it)
        pytest.importorskip("PIL.AvifImagePlugin")
        if not Image.registered_extensions().get(".avif"):
            pytest.skip("Pillow without AVIF")
    rgba = rng.integers(0, 256, (6, 7, 4), dtype=np.uint8)
    save_image(tmp_path / f"cutout{suffix}", rgba)
    with Image.open(tmp_path / f"cutout{suffix}") as stored:
        assert stored.mode == "RGBA"
        difference = np.abs(np.asarray(stored).astype(int) - rgba)
    assert difference[:, :, 3].max() == 0
    assert difference.max() <= (3 if suffix == ".avif" else 0)


def test_an_output_below_a_file_names_that_file(tmp_path):
    # 'out.png/run1/m.png: output directory out.png/run1 does not exist' sent the user to
    # make a folder that cannot be made: out.png is a file.
    (tmp_path / "out.png").write_bytes(b"not a folder")
    target = tmp_path / "out.png" / "run1" / "m.png"
    with pytest.raises(NotADirectoryError, match=r"m\.png: .*out\.png is a file, not a folder"):
        save_image(target, np.zeros((2, 3)))
    assert (tmp_path / "out.png").read_bytes() == b"not a folder"
    with pytest.raises(FileNotFoundError, match=r"output directory .*run1 does not exist"):
        save_image(tmp_path / "made" / "run1" / "m.png", np.zeros((2, 3)))
    assert sorted(os.listdir(tmp_path)) == ["out.png"]
