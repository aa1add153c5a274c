"""Writing files, session 11: an output name ending in '/.' (or '/..') is refused as a
folder's, not written as the file before it; a file system with no room for the temporary
file itself (no inode left, a quota) names the output, not the temporary."""

import errno
import os

import numpy as np
import pytest

import vecmatte._writing
from vecmatte.io import check_output_paths, save_image


@pytest.mark.parametrize("tail", ["/.", "/.."])
@pytest.mark.parametrize("exists", [True, False], ids=["file there", "nothing there"])
def test_an_output_ending_in_a_dot_component_is_refused(tmp_path, monkeypatch, tail, exists):
    monkeypatch.chdir(tmp_path)
    if exists:
        (tmp_path / "alpha.png").write_bytes(b"precious")
    name = f"alpha.png{tail}"
    with pytest.raises(ValueError) as caught:  # was: alpha.png written (replaced)
        save_image(name, np.zeros((3, 4)))
    assert str(caught.value) == (
        f"{name}: ends with '{tail}', as a folder does; give a file name (output)"
    )
    with pytest.raises(ValueError, match="as a folder does"):
        check_output_paths({"--output": name})
    assert sorted(os.listdir(tmp_path)) == (["alpha.png"] if exists else [])
    if exists:
        assert (tmp_path / "alpha.png").read_bytes() == b"precious"


def test_a_folder_ending_in_a_dot_is_called_a_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    with pytest.raises(IsADirectoryError, match=r"^out/\.: is a directory; give a file name"):
        save_image("out/.", np.zeros((3, 4)))


def test_names_with_dots_inside_are_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    for name in ("./a.png", "out/../b.png", "out/./c.png", "..d.png"):
        save_image(name, np.zeros((3, 4)))
    assert sorted(os.listdir(tmp_path)) == ["..d.png", "a.png", "b.png", "out"]
    assert os.listdir(tmp_path / "out") == ["c.png"]


@pytest.mark.parametrize("number", [errno.ENOSPC, errno.EDQUOT])
def test_no_room_for_the_temporary_names_the_output(tmp_path, monkeypatch, number):
    def full(prefix, suffix, dir):
        name = os.path.join(dir, f"{prefix}abcdefgh{suffix}")
        raise OSError(number, os.strerror(number), name)

    monkeypatch.setattr(vecmatte._writing.tempfile, "mkstemp", full)
    path = tmp_path / "alpha.png"
    with pytest.raises(OSError) as caught:
        save_image(path, np.zeros((3, 4)))
    assert caught.value.filename == str(path)  # was: .alpha.png.abcdefgh.tmp
    assert caught.value.errno == number
    assert str(caught.value) == f"[Errno {number}] {os.strerror(number)}: '{path}'"
    assert os.listdir(tmp_path) == []
