"""Names that a shell would have changed or that the file system refuses, said in one line.

A name beginning with "~" is not expanded (as Pillow and NumPy do not: a file named "~" is
legal), but when nothing is there the message says how to expand it. A name too long for the
file system is refused naming its start and its length, not repeated whole.
"""

from __future__ import annotations

import errno
import os

import numpy as np
import pytest

import vecmatte
from vecmatte import io as vecmatte_io

HINT = "(~ is not expanded: use os.path.expanduser)"


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """Work in an empty folder, so that "~" there names nothing unless a test makes it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    "reader",
    [vecmatte.load_image, vecmatte.load_trimap, vecmatte_io.load_gray, vecmatte_io.image_size],
)
def test_a_missing_file_under_tilde_says_it_is_not_expanded(elsewhere, reader):
    # It said only "~/a.png: no such file", with the photo at $HOME/a.png.
    assert os.path.expanduser("~/a.png") != "~/a.png"
    with pytest.raises(FileNotFoundError) as info:
        reader("~/a.png")
    assert str(info.value) == f"~/a.png: no such file {HINT}"


def test_an_output_under_tilde_says_it_is_not_expanded(elsewhere):
    with pytest.raises(FileNotFoundError) as info:
        vecmatte.save_image("~/a.png", np.zeros((4, 4)))
    assert str(info.value) == f"~/a.png: output directory ~ does not exist (output) {HINT}"
    with pytest.raises(FileNotFoundError, match=r"\(--cutout\) \(~ is not expanded"):
        vecmatte_io.check_output_paths({"--cutout": "~/c.png"})


def test_a_folder_literally_named_tilde_is_used_as_named(elsewhere):
    # Never expanded silently: "~" is a folder name like any other.
    (elsewhere / "~").mkdir()
    vecmatte.save_image("~/a.png", np.full((4, 4), 0.5))
    assert (elsewhere / "~" / "a.png").is_file()
    assert vecmatte.load_trimap("~/a.png").shape == (4, 4)


def test_names_without_a_user_to_expand_get_no_hint(elsewhere):
    with pytest.raises(FileNotFoundError) as info:
        vecmatte.load_image("~no-such-user-here/a.png")
    assert "expanduser" not in str(info.value)
    with pytest.raises(FileNotFoundError) as info:
        vecmatte.load_image("a~.png")
    assert str(info.value) == "a~.png: no such file"


@pytest.mark.parametrize("name", ["x" * 300 + ".png", "d" * 300 + "/a.png"])
def test_an_output_name_too_long_for_the_file_system_is_said_in_one_short_line(elsewhere, name):
    # Python's OSError came raw: "[Errno 36] File name too long: 'xxxx...'" with all of it.
    with pytest.raises(OSError) as info:
        vecmatte.save_image(name, np.zeros((4, 4)))
    message = str(info.value)
    assert message == (
        f"{name[:40]}... ({len(name)} characters): file name too long for the file system; "
        "give a shorter name (output)"
    )
    assert info.value.errno == errno.ENAMETOOLONG
    with pytest.raises(OSError, match=r"characters\): file name too long .*\(--cutout\)$"):
        vecmatte_io.check_output_paths({"--cutout": name})
    assert os.listdir(elsewhere) == []
