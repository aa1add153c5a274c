"""Files users meet, found in session 10's audit of reading: each test fails on the code
before its fix."""

import io
import struct

import pytest

from vecmatte.io import load_image


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
