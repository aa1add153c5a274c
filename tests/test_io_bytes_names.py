"""File names given as bytes (os.listdir(b'.') gives them), such as names that are not UTF-8."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image

from vecmatte.io import (
    image_size,
    is_complete_image,
    load_image,
    load_trimap,
    save_image,
    save_images,
)


@pytest.fixture
def folder(tmp_path) -> bytes:
    return os.fsencode(tmp_path)


def test_a_file_name_in_bytes_is_read_as_open_and_pillow_read_it(folder, rng):
    # It was refused: 'expected a file name or a binary stream, got bytes; for a file's
    # contents, wrap them: io.BytesIO(data)', although open(), Pillow and PyMatting's
    # load_image take it, and a name that is not UTF-8 is what os.listdir(b'.') gives.
    pixels = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    name = os.path.join(folder, b"caf\xe9.png")  # Latin-1, not UTF-8
    Image.fromarray(pixels).save(name)
    np.testing.assert_array_equal(load_image(name), pixels / 255.0)
    assert image_size(name) == (5, 7) and is_complete_image(name)
    trimap = os.path.join(folder, b"tri\xff.png")
    Image.fromarray(np.array([[0, 128, 255]], np.uint8)).save(trimap)
    np.testing.assert_array_equal(load_trimap(trimap), [[0, 128 / 255, 1]])


def test_a_missing_file_named_in_bytes_is_named(folder):
    # The name as os.fsdecode gives it (os.fsencode gives the bytes back).
    with pytest.raises(FileNotFoundError, match="nothing\udcff\\.png: no such file"):
        load_image(os.path.join(folder, b"nothing\xff.png"))


def test_a_files_contents_given_as_bytes_still_say_how_to_wrap_them():
    buffer = io.BytesIO()
    Image.new("L", (3, 2)).save(buffer, "PNG")
    with pytest.raises(TypeError, match=r"io\.BytesIO\(data\)"):
        load_image(buffer.getvalue())


@pytest.mark.parametrize("writer", ["save_image", "save_images"])
def test_an_output_named_in_bytes_is_written_under_that_name(folder, writer):
    # Pathlib's own TypeError ('argument should be a str object or an os.PathLike object
    # returning str, not <class 'bytes'>') reached the caller.
    name = os.path.join(folder, b"matte\xff.png")
    matte = np.full((2, 3), 0.5)
    if writer == "save_image":
        save_image(name, matte)
    else:
        save_images([(name, matte)])
    assert b"matte\xff.png" in os.listdir(folder)
    with Image.open(name) as written:
        assert np.asarray(written).tolist() == [[128] * 3] * 2
