"""cutout(image, alpha, foreground) reads only the photograph's size (session 10).

With a foreground given, the photograph's pixels never reach the cutout: its shape, size and
dtype are still checked as check_image checks them (they name a wrong argument), its values
are not (their min/max pass was a third of the cutout's time). The cutout is the foreground
and alpha stacked, byte for byte.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import vecmatte
from vecmatte import cutout
from vecmatte._arrays import check_image


@pytest.fixture(scope="module")
def scene():
    return vecmatte.make_scene((12, 17), seed=3)


def _stacked(foreground: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The reference: RGBA written pixel by pixel."""
    h, w = alpha.shape
    out = np.zeros((h, w, 4))
    for y in range(h):
        for x in range(w):
            out[y, x, :3] = foreground[y, x]
            out[y, x, 3] = alpha[y, x]
    return out


@pytest.mark.parametrize(
    "values",
    [
        "nan",  # old code: ValueError "image contains NaN or infinite values"
        "inf",
        "255",  # floats 0 ... 255: old code refused "image has values in [0, 255]"
        "negative",
    ],
)
def test_values_of_an_unused_image_are_not_read(scene, values):
    image = scene.image.copy()
    if values == "nan":
        image[3, 4, 1] = np.nan
    elif values == "inf":
        image[0, 0, 0] = np.inf
    elif values == "255":
        image = image * 255.0
    else:
        image[5, 5, 2] = -0.5
    rgba = cutout(image, scene.alpha, scene.foreground)
    assert rgba.dtype == np.float64 and rgba.flags.c_contiguous
    assert np.array_equal(rgba, _stacked(scene.foreground, scene.alpha))
    levels = cutout(image, scene.alpha, scene.foreground, dtype=np.uint8)
    assert np.array_equal(levels, np.round(_stacked(scene.foreground, scene.alpha) * 255))


@pytest.mark.parametrize("kind", ["float", "uint8", "uint16", "gray", "gray1", "pil", "fortran"])
def test_any_image_check_image_takes_gives_the_same_cutout(scene, kind):
    image = {
        "float": scene.image,
        "uint8": (scene.image * 255).round().astype(np.uint8),
        "uint16": (scene.image * 65535).round().astype(np.uint16),
        "gray": scene.image.mean(axis=2),
        "gray1": scene.image[:, :, :1],
        "pil": Image.fromarray((scene.image * 255).round().astype(np.uint8)),
        "fortran": np.asfortranarray(scene.image),
    }[kind]
    expected = _stacked(scene.foreground, scene.alpha)
    assert np.array_equal(cutout(image, scene.alpha, scene.foreground), expected)


def _message(call) -> str:
    with pytest.raises(ValueError) as refused:
        call()
    return str(refused.value)


@pytest.mark.parametrize(
    "make",
    [
        lambda im: np.dstack([im, np.ones(im.shape[:2])]),  # RGBA
        lambda im: np.moveaxis(im, -1, 0),  # channels first
        lambda im: im[:, :, :2],
        lambda im: im[0],  # one row: 2-D (17, 3) is a gray image of another size
        lambda im: im.reshape(-1),
        lambda im: np.float64(0.5),
        lambda im: (im * 255).astype(np.int16),  # signed levels
        lambda im: (im * 255).astype(np.uint32),
        lambda im: im.astype(object),
        lambda im: im.astype(np.complex128),
        lambda im: im[:0],  # no pixels
        lambda im: "photo.png",
        lambda im: Image.fromarray((np.dstack([im, im[:, :, :1]]) * 255).astype(np.uint8)),
    ],
)
def test_what_check_image_refuses_by_shape_or_dtype_is_still_refused(scene, make):
    image = make(scene.image)
    given = _message(lambda: cutout(image, scene.alpha, scene.foreground))
    try:
        check_image(image)
    except ValueError as error:
        assert given == str(error)
    else:  # one row, (17, 3), is a gray image of another size
        assert given.startswith("alpha has shape (12, 17) but image has shape (17, 3)")


def test_the_sizes_are_still_compared(scene):
    smaller = scene.image[:-1]
    message = _message(lambda: cutout(smaller, scene.alpha, scene.foreground))
    assert message.startswith("alpha has shape (12, 17) but image has shape (11, 17)")
    message = _message(lambda: cutout(scene.image, scene.alpha, scene.foreground[:, :-1]))
    assert message.startswith("foreground has shape (12, 16) but image has shape (12, 17)")


def test_an_image_that_is_used_is_still_checked(scene):
    image = scene.image.copy()
    image[3, 4, 1] = np.nan
    for call in (
        lambda: cutout(image, scene.alpha),  # its colours are the cutout's
        lambda: cutout(image, scene.alpha, method="blur_fusion"),  # the estimate reads it
        lambda: cutout(image, scene.alpha, scene.foreground, method="ml"),
    ):
        assert _message(call) == "image contains NaN or infinite values"


def test_the_foreground_and_alpha_values_are_still_checked(scene):
    foreground = scene.foreground.copy()
    foreground[0, 0, 0] = np.nan
    message = _message(lambda: cutout(scene.image, scene.alpha, foreground))
    assert message == "foreground contains NaN or infinite values"
    message = _message(lambda: cutout(scene.image, scene.alpha * 2, scene.foreground))
    assert message.startswith("alpha has values in [0, 2]")
