"""Review B of session 11: file names that 8a5b16e's single look no longer took.

A path-like object whose ``__fspath__`` gives bytes (as ``open()`` takes it, and as
``save_image`` writes to) was refused with "a bytes-like object is required, not 'str'"
(Python's "argument should be a str object ..." before); ``image_size`` of bytes that hold a
NUL (a file's contents, not its name) said the same.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from conftest import write_png

from vecmatte import io as vio


class _BytesPath(os.PathLike):
    def __init__(self, name: bytes) -> None:
        self.name = name

    def __fspath__(self) -> bytes:
        return self.name


@pytest.fixture
def png(tmp_path):
    values = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    return write_png(tmp_path / "m.png", values), values


@pytest.mark.parametrize("reader", [vio.load_image, vio.load_trimap, vio.load_gray])
def test_a_path_like_giving_bytes_is_read_as_its_name(png, reader):
    path, _ = png
    assert np.array_equal(reader(_BytesPath(os.fsencode(path))), reader(path))


def test_image_size_of_a_path_like_giving_bytes(png):
    path, values = png
    assert vio.image_size(_BytesPath(os.fsencode(path))) == values.shape


def test_a_path_like_giving_bytes_of_nothing_is_said_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        vio.load_image(_BytesPath(os.fsencode(tmp_path / "none.png")))


def test_image_size_of_bytes_holding_a_nul_says_it_wants_a_name():
    with pytest.raises(TypeError, match="expected a file name, got bytes"):
        vio.image_size(b"\x89PNG\r\n\x1a\n\0\0\0")
