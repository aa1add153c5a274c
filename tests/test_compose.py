"""cutout: RGBA from an image (or an estimated foreground) and an alpha matte."""

from __future__ import annotations

import numpy as np
import pytest

from vecmatte import cutout


def test_cutout_channels(scene):
    rgba = cutout(scene.image, scene.alpha)
    assert rgba.shape == (*scene.alpha.shape, 4)
    assert rgba.dtype == np.float64
    np.testing.assert_array_equal(rgba[:, :, :3], scene.image)
    np.testing.assert_array_equal(rgba[:, :, 3], scene.alpha)


def test_cutout_with_foreground(scene):
    rgba = cutout(scene.image, scene.alpha, foreground=scene.foreground)
    np.testing.assert_array_equal(rgba[:, :, :3], scene.foreground)
    np.testing.assert_array_equal(rgba[:, :, 3], scene.alpha)


def test_cutout_composites_back(scene):
    # Straight (not premultiplied) alpha: over the original background it gives the image.
    rgba = cutout(scene.image, scene.alpha, foreground=scene.foreground)
    alpha = rgba[:, :, 3:]
    recomposed = alpha * rgba[:, :, :3] + (1 - alpha) * scene.background
    np.testing.assert_allclose(recomposed, scene.image, atol=1e-12)


def test_cutout_integer_inputs(scene):
    image8 = np.round(scene.image * 255).astype(np.uint8)
    alpha8 = np.round(scene.alpha * 255).astype(np.uint8)
    rgba = cutout(image8, alpha8)
    np.testing.assert_array_equal(rgba[:, :, :3], image8 / 255.0)
    np.testing.assert_array_equal(rgba[:, :, 3], alpha8 / 255.0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: (s.image, s.alpha[:-1], None), "alpha has shape"),
        (lambda s: (s.image, s.alpha, s.foreground[:, :-1]), "foreground has shape"),
        (lambda s: (s.image, s.alpha * 2, None), r"alpha has values in \[0, 2"),
        (lambda s: (s.image, np.full(s.alpha.shape, np.nan), None), "alpha contains NaN"),
        (lambda s: (s.image[:, :, :2], s.alpha, None), "image has shape"),
    ],
)
def test_cutout_bad_input(change, message, scene):
    image, alpha, foreground = change(scene)
    with pytest.raises(ValueError, match=message):
        cutout(image, alpha, foreground)


def test_uint8_cutout_holds_the_levels_save_image_writes(scene):
    # The CLI's path: 8-bit levels built in place, equal to rounding the float cutout.
    rgba = cutout(scene.image, scene.alpha, foreground=scene.foreground, dtype=np.uint8)
    assert rgba.dtype == np.uint8 and rgba.shape == (*scene.alpha.shape, 4)
    floats = cutout(scene.image, scene.alpha, foreground=scene.foreground)
    np.testing.assert_array_equal(rgba, np.round(floats * 255).astype(np.uint8))


def test_cutout_refuses_other_dtypes(scene):
    with pytest.raises(ValueError, match=r"cutout dtype must be np\.float64 or np\.uint8"):
        cutout(scene.image, scene.alpha, dtype=np.float32)
    # A value NumPy cannot read as a dtype was repeated whole (500 characters here).
    with pytest.raises(ValueError, match=r"not 'x{23}\.\.\. \(502 characters\)$"):
        cutout(scene.image, scene.alpha, dtype="x" * 500)


@pytest.mark.parametrize(
    ("fit", "message"),
    [
        (np.array(["crop", "cover"]), r"unknown fit array\(\['crop', 'cover'\]"),
        (np.array(["crop"]), r"unknown fit array\(\['crop'\]"),
    ],
)
def test_a_fit_given_as_an_array_is_named(scene, fit, message):
    # 'fit not in FITS' compared the array with each name: NumPy's 'truth value of an
    # array with more than one element is ambiguous', naming neither fit nor its choices.
    from vecmatte import composite

    with pytest.raises(ValueError, match=message + r".*choose one of resize, cover, crop"):
        composite(scene.foreground, scene.alpha, "#00ff00", fit=fit)


@pytest.mark.parametrize(
    "colour", [b"red", {"r": 1}, object(), [[1, 0, 0]], "", 3.5, [10**400, 0, 0], "x" * 5000]
)
def test_a_colour_of_another_kind_is_refused_in_one_line_naming_it(scene, colour):
    # bytes raised NumPy's 'could not convert string to float: b'red'' and a dict Python's
    # TypeError 'float() argument must be a string or a real number, not 'dict''.
    from vecmatte.compose import parse_color

    refused = r"(cannot read colour|colour .* must be a string like)"
    with pytest.raises(ValueError, match=refused) as caught:
        parse_color(colour)
    # [10**400, 0, 0] raised NumPy's OverflowError 'int too large to convert to float', and a
    # long text was repeated whole in the message.
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 200
