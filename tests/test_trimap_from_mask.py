"""Trimaps made from rough masks, and ``vecmatte alpha --mask``."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import files_in, write_png
from scipy import ndimage

import vecmatte
from vecmatte.cli import main
from vecmatte.trimap import trimap_from_mask


@pytest.fixture
def square() -> np.ndarray:
    mask = np.zeros((60, 70), bool)
    mask[15:45, 20:55] = True
    return mask


@pytest.mark.parametrize("band", [1, 3, 7])
def test_band_is_the_distance_to_the_mask_edge(square, band):
    trimap = trimap_from_mask(square, band=band)
    assert set(np.unique(trimap)) == {0.0, 0.5, 1.0}
    # Euclidean distance of each pixel to the other side of the mask's edge
    inside = ndimage.distance_transform_edt(square)
    outside = ndimage.distance_transform_edt(~square)
    np.testing.assert_array_equal(trimap == 1.0, square & (inside > band))
    np.testing.assert_array_equal(trimap == 0.0, ~square & (outside > band))


def test_soft_mask_values_are_unknown(square):
    soft = square.astype(float)
    soft[:, :5] = 0.4  # an uncertain strip far from the edge
    trimap = trimap_from_mask(soft, band=2)
    assert np.all(trimap[:, :5] == 0.5)
    assert np.all(trimap[:, 8:12] == 0.0)


def test_mask_dtypes_agree(square):
    expected = trimap_from_mask(square, band=2)
    for mask in (
        square.astype(np.uint8) * 255,
        square.astype(np.uint16) * 65535,
        square.astype(np.float32),
        np.dstack([square.astype(np.uint8) * 255] * 3),
    ):
        np.testing.assert_array_equal(trimap_from_mask(mask, band=2), expected)


@pytest.mark.parametrize(
    ("mask", "band", "message"),
    [
        (
            np.zeros((20, 20)),
            2,
            r"mask has no foreground \(no value above 0\.5 of 1; its largest is 0\)$",
        ),
        (
            np.full((20, 20), 0.5),
            2,
            r"mask has no foreground \(no value above 0\.5 of 1; its largest is 0\.5\)$",
        ),
        (
            np.zeros((20, 20), bool),
            2,
            r"mask has no foreground \(no value above 0\.5 of 1; its largest is 0\)$",
        ),
        (
            np.eye(20, dtype=np.uint8),
            2,
            r"no foreground \(its largest value is 1 of 255: a label image of 0 and 1\? give",
        ),
        # 'scale it to 0 and 255' was said of a 16-bit mask too, where 255 is still 0.004.
        (
            np.eye(20, dtype=np.uint16),
            2,
            r"its largest value is 1 of 65535: a label image.* scale it to 0 and 65535\)$",
        ),
        (np.ones((20, 20)), 2, "mask has no background"),
        (np.pad(np.ones((4, 4)), 8), 2, "no sure foreground is left .* use a smaller band"),
        (np.pad(np.ones((4, 4)), 8), 0, "band must be a positive whole number of pixels, got 0"),
        (np.pad(np.ones((4, 4)), 8), 1.5, "band must be a positive whole number"),
    ],
)
def test_bad_masks_and_bands(mask, band, message):
    # A float or bool mask without foreground was told 'no value > 0.5 after scaling uint8
    # by 255; if it is a label image of 0 and 1, scale it': the hint now comes only for
    # levels of 0 and 1, and other masks are told their largest value.
    with pytest.raises(ValueError, match=message):
        trimap_from_mask(mask, band=band)


def test_alpha_from_a_mask_matches_the_truth():
    scene = vecmatte.make_scene((60, 80), seed=5, softness=3.0)
    trimap = trimap_from_mask(scene.alpha > 0.5, band=4)
    alpha = vecmatte.estimate_alpha(scene.image, trimap)
    assert np.max(np.abs(alpha - scene.alpha)) < 0.05


def test_cli_mask(tmp_path, capsys):
    scene = vecmatte.make_scene((60, 80), seed=5, softness=3.0)
    image = write_png(tmp_path / "image.png", scene.image)
    mask = write_png(tmp_path / "mask.png", (scene.alpha > 0.5).astype(np.uint8) * 255)
    out = tmp_path / "alpha.png"
    assert (
        main(["alpha", str(image), "--mask", str(mask), "--band", "4", "-o", str(out), "-q"]) == 0
    )
    alpha = vecmatte.load_trimap(out)
    assert np.max(np.abs(alpha - scene.alpha)) < 0.05
    assert capsys.readouterr().err == ""


def test_cli_mask_errors(tmp_path, capsys):
    scene = vecmatte.make_scene((30, 40), seed=1)
    image = write_png(tmp_path / "image.png", scene.image)
    trimap = write_png(tmp_path / "trimap.png", scene.trimap)
    small = write_png(tmp_path / "small.png", np.full((10, 10), 255, np.uint8))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(SystemExit) as exit_info:
        main(["alpha", str(image), str(trimap), "--mask", str(small), "-o", str(out / "a.png")])
    assert exit_info.value.code == 2
    assert "exactly one of TRIMAP" in capsys.readouterr().err
    assert main(["alpha", str(image), "--mask", str(small), "-o", str(out / "a.png"), "-q"]) == 1
    err = capsys.readouterr().err
    assert "small.png: mask has shape (10, 10) but image has shape (30, 40)" in err
    assert files_in(out) == set()
