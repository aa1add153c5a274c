"""Files users meet, found in session 10's audit of reading: each test fails on the code
before its fix."""

import io
import os
import struct

import numpy as np
import pytest

from vecmatte.io import load_image, save_image


def _heif(brand: bytes) -> bytes:
    # The first box of a HEIF file: its size, "ftyp", the major brand, a version, and the
    # compatible brands; Pillow (without the pillow-heif plugin) identifies nothing more.
    return struct.pack(">I", 24) + b"ftyp" + brand + b"\0\0\0\0" + b"mif1" + brand + b"\0" * 64


@pytest.mark.parametrize("brand", [b"heic", b"heix", b"mif1"])
def test_an_iphone_heic_photo_is_named_with_the_way_out(tmp_path, brand):
    path = tmp_path / "IMG_0001.HEIC"
    path.write_bytes(_heif(brand))
    message = (
        "a HEIF/HEIC file (the format of iPhone photos), which Pillow reads only with the "
        "pillow-heif plugin; convert it to JPEG or PNG, or pip install pillow-heif and call "
        "pillow_heif.register_heif_opener() first"
    )
    with pytest.raises(ValueError) as caught:
        load_image(path)
    assert str(caught.value) == f"{path}: {message}"  # was: "is it really a HEIC file?"
    with pytest.raises(ValueError) as caught:
        load_image(io.BytesIO(_heif(brand)))
    assert str(caught.value) == f"<stream>: {message}"


def test_a_read_only_output_file_is_not_replaced(tmp_path, monkeypatch):
    # The temporary file renamed over the output needs only the folder's permission, so a
    # file its owner made read-only (chmod 444) was replaced without a word. Root may write
    # anything (os.access says yes, as open() would): a user's refusal is stood in for.
    path = tmp_path / "alpha.png"
    save_image(path, np.zeros((2, 3)))
    before = path.read_bytes()
    real_access = os.access

    def access(name, mode, **kwargs):
        if os.fspath(name) == os.fspath(path) and mode & os.W_OK:
            return False
        return real_access(name, mode, **kwargs)

    monkeypatch.setattr(os, "access", access)
    with pytest.raises(PermissionError) as caught:
        save_image(path, np.ones((2, 3)))
    assert str(caught.value) == (
        f"{path}: the file is read-only (its permissions refuse writing); make it writable "
        "(chmod u+w) or give another name (output)"
    )
    assert path.read_bytes() == before and sorted(tmp_path.iterdir()) == [path]


def test_the_command_line_refuses_a_read_only_output_before_solving(tmp_path, monkeypatch, capsys):
    from vecmatte import make_scene
    from vecmatte.cli import main

    scene = make_scene((20, 24), seed=0)
    image, trimap, out = tmp_path / "image.png", tmp_path / "trimap.png", tmp_path / "alpha.png"
    for path, values in ((image, scene.image), (trimap, scene.trimap), (out, scene.trimap)):
        save_image(path, values)
    before = out.read_bytes()
    real_access = os.access

    def access(name, mode, **kwargs):
        if os.fspath(name) == os.fspath(out) and mode & os.W_OK:
            return False
        return real_access(name, mode, **kwargs)

    monkeypatch.setattr(os, "access", access)
    assert main(["alpha", str(image), str(trimap), "-o", str(out), "-q"]) == 1
    assert f"{out}: the file is read-only" in capsys.readouterr().err
    assert out.read_bytes() == before


@pytest.mark.parametrize(
    ("name", "asked", "made"), [("out.png", "JPEG", "PNG"), ("out", "TIFF", "PNG")]
)
def test_a_format_other_than_the_names_is_refused(tmp_path, name, asked, made):
    # format= chooses the format of streams; with a file name it was dropped without a word
    # (the file written as its extension's format, PNG without one).
    path = tmp_path / name
    with pytest.raises(ValueError) as caught:
        save_image(path, np.zeros((2, 3)), format=asked)
    assert str(caught.value) == (
        f"{path}: format={asked!r}, but its extension makes the file {made}; format= chooses "
        "the format of streams: give the file that format's extension, or leave out format"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_format_that_agrees_with_the_name_is_taken(tmp_path):
    from PIL import Image

    for name, given in (("a.jpg", "jpeg"), ("b.png", "PNG"), ("c", "png"), ("d.TIF", "TIFF")):
        save_image(tmp_path / name, np.zeros((2, 3)), format=given)
        with Image.open(tmp_path / name) as written:
            assert written.format == given.upper()
