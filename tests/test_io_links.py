"""Reading through symbolic links that lead nowhere: the message says which link."""

from __future__ import annotations

import os

import pytest

from vecmatte.io import image_size, load_image, load_trimap


@pytest.mark.parametrize("reader", [load_image, load_trimap, image_size])
def test_a_dangling_link_is_named_with_where_it_points(tmp_path, reader):
    # 'photo.png: no such file' while `ls` shows photo.png: it is a link to a file that
    # was moved or deleted.
    os.symlink("moved/photo.png", tmp_path / "photo.png")
    with pytest.raises(
        FileNotFoundError,
        match=r"photo\.png: no such file \(a symbolic link to moved/photo\.png, which does not",
    ):
        reader(tmp_path / "photo.png")


@pytest.mark.parametrize("reader", [load_image, load_trimap, image_size])
def test_links_that_loop_are_named_so(tmp_path, reader):
    os.symlink("b.png", tmp_path / "a.png")
    os.symlink("a.png", tmp_path / "b.png")
    with pytest.raises(FileNotFoundError, match=r"a\.png: its symbolic links loop"):
        reader(tmp_path / "a.png")


def test_image_size_of_a_folder_says_it_is_one(tmp_path):
    (tmp_path / "shots.png").mkdir()
    with pytest.raises(IsADirectoryError, match=r"shots\.png: is a directory, not an image file"):
        image_size(tmp_path / "shots.png")
