"""What files hold besides pixels: EXIF orientation, colour profiles.

EXIF orientation: a phone photo and a trimap drawn on it as it is displayed line up.

The decision: files are read as they are displayed (Pillow's ``ImageOps.exif_transpose``
applied to the image and to every map), since any editor a trimap is drawn in shows the
photo upright; PyMatting's and scikit-image's readers give the stored pixels, so there a
trimap drawn on a portrait phone photo comes out turned. A PIL image is taken as the object
holds it (as ``np.asarray`` gives it), and a mismatch says how to turn it.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageOps

import vecmatte
from vecmatte.io import load_image, load_trimap


@pytest.fixture
def phone_photo(tmp_path):
    """A JPEG stored 24 x 40 (height x width) with EXIF orientation 6 (turned clockwise to
    be displayed 40 x 24): its stored left half is white, the top half as displayed."""
    stored = np.zeros((24, 40, 3), np.uint8)
    stored[:, :20] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(stored).save(tmp_path / "phone.jpg", exif=exif, quality=95)
    return tmp_path / "phone.jpg"


def _upright_trimap() -> np.ndarray:
    """Drawn on the photo as displayed (40 x 24): white above, black below, gray between."""
    trimap = np.full((40, 24), 128, np.uint8)
    trimap[:16], trimap[24:] = 255, 0
    return trimap


@pytest.mark.parametrize("trimap_exif", [None, 1, 6])
def test_a_trimap_drawn_on_the_displayed_photo_lines_up(tmp_path, phone_photo, trimap_exif):
    # trimap_exif 6: an app that copied the photo's EXIF into a trimap drawn on the stored
    # pixels; the same orientation turns it the same way.
    trimap = _upright_trimap()
    exif = None
    if trimap_exif is not None:
        exif = Image.Exif()
        exif[0x0112] = trimap_exif
        trimap = np.rot90(trimap) if trimap_exif == 6 else trimap  # stored as the photo
    Image.fromarray(np.ascontiguousarray(trimap)).save(
        tmp_path / "trimap.png", **({"exif": exif} if exif else {})
    )
    image = load_image(phone_photo)
    assert image.shape == (40, 24, 3)
    np.testing.assert_array_equal(load_trimap(tmp_path / "trimap.png"), _upright_trimap() / 255)
    alpha = vecmatte.estimate_alpha(image, load_trimap(tmp_path / "trimap.png"))
    assert alpha[:19].min() > 0.9 and alpha[21:].max() < 0.1  # the white half is foreground


def test_a_pil_image_is_read_as_stored_and_a_mismatch_says_how_to_turn_it(phone_photo):
    # The hint blamed the trimap ("made from the photo without its EXIF orientation?")
    # when the photo was a PIL image from Image.open, which is as stored.
    trimap = _upright_trimap()
    with Image.open(phone_photo) as photo:
        with pytest.raises(ValueError, match=r"turned by 90 degrees: .*exif_transpose\(image\)"):
            vecmatte.estimate_alpha(photo, trimap)
        upright = ImageOps.exif_transpose(photo)
    np.testing.assert_array_equal(
        vecmatte.estimate_alpha(upright, trimap),
        vecmatte.estimate_alpha(load_image(phone_photo), trimap),
    )


@pytest.mark.parametrize("profile", ["srgb", "damaged"])
@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif"])
def test_an_embedded_colour_profile_is_not_applied(tmp_path, rng, profile, suffix):
    # The values are read as stored (as PyMatting and scikit-image read them); a profile
    # Pillow's colour management could not even parse is no reason to refuse the photo.
    from PIL import ImageCms

    pixels = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    icc = (
        ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
        if profile == "srgb"
        else b"not a profile" * 8
    )
    path = tmp_path / f"tagged{suffix}"
    Image.fromarray(pixels).save(
        path, icc_profile=icc, **({"quality": 100} if suffix == ".jpg" else {})
    )
    with Image.open(path) as stored:
        assert stored.info.get("icc_profile") == icc
        expected = np.asarray(stored.convert("RGB")) / 255.0
    np.testing.assert_array_equal(load_image(path), expected)
