"""The array API as a scientific-Python user hits it: dtypes, shapes, layouts, PIL images,
option values. Each case is either a correct result or one ValueError/TypeError naming the
argument; never a silently wrong matte, nor an error from deep inside NumPy."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image

import vecmatte
from vecmatte import METHODS, estimate_alpha, make_scene, save_image
from vecmatte.compat import pymatting as pm


@pytest.fixture(scope="module")
def scene():
    return make_scene((40, 50), seed=0)


def _uint8(array: np.ndarray) -> np.ndarray:
    return np.round(array * 255).astype(np.uint8)


def _read_only(array: np.ndarray) -> np.ndarray:
    array = np.array(array)
    array.setflags(write=False)
    return array


# --- layouts and dtypes that must give the same matte -------------------------------------


@pytest.mark.parametrize("method", list(METHODS))
def test_every_method_gives_the_same_matte_whatever_the_memory_layout(scene, method):
    expected = estimate_alpha(scene.image, scene.trimap, method=method)
    layouts = {
        "read-only": (_read_only(scene.image), _read_only(scene.trimap)),
        "Fortran": (np.asfortranarray(scene.image), np.asfortranarray(scene.trimap)),
        "big-endian": (scene.image.astype(">f8"), scene.trimap.astype(">f8")),
        "strided view": (
            np.repeat(np.repeat(scene.image, 2, 0), 2, 1)[::2, ::2],
            np.repeat(np.repeat(scene.trimap, 2, 0), 2, 1)[::2, ::2],
        ),
        "negative strides": (
            np.ascontiguousarray(scene.image[::-1])[::-1],
            np.ascontiguousarray(scene.trimap[::-1])[::-1],
        ),
    }
    for name, (image, trimap) in layouts.items():
        alpha = estimate_alpha(image, trimap, method=method)
        assert alpha.dtype == np.float64 and alpha.shape == scene.trimap.shape, name
        np.testing.assert_array_equal(alpha, expected, err_msg=name)


def test_no_call_modifies_the_callers_arrays(scene):
    image, trimap, alpha = scene.image.copy(), scene.trimap.copy(), scene.alpha.copy()
    calls = [
        lambda: [estimate_alpha(image, trimap, method=m) for m in METHODS],
        lambda: vecmatte.estimate_foreground_background(image, alpha),
        lambda: vecmatte.estimate_foreground(image, alpha, method="cf"),
        lambda: vecmatte.estimate_foreground(image, alpha, method="blur_fusion"),
        lambda: vecmatte.cutout(image, alpha, method="ml"),
        lambda: vecmatte.composite(image, alpha, image[::-1]),
        lambda: vecmatte.trimap_split(trimap),
        lambda: vecmatte.trimap_from_mask(alpha, band=2),
        lambda: vecmatte.matting_errors(alpha, scene.alpha, trimap),
        lambda: pm.estimate_alpha_cf(image, trimap),
        lambda: pm.estimate_alpha_sm(image, trimap),
        lambda: pm.estimate_foreground_ml(image, alpha),
    ]
    for call in calls:
        call()
        np.testing.assert_array_equal(image, scene.image)
        np.testing.assert_array_equal(trimap, scene.trimap)
        np.testing.assert_array_equal(alpha, scene.alpha)


# --- PIL images ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["P", "YCbCr", "CMYK", "HSV"])
def test_a_pil_image_in_any_colour_mode_is_read_as_its_rgb_pixels(scene, mode):
    # np.asarray read a palette image as its indices and a YCbCr one as if it were RGB.
    rgb = Image.fromarray(_uint8(scene.image))
    converted = rgb.convert(mode)
    expected = estimate_alpha(np.asarray(converted.convert("RGB")), scene.trimap)
    np.testing.assert_array_equal(estimate_alpha(converted, scene.trimap), expected)


def test_a_palette_trimap_is_read_through_its_palette(scene):
    # Indices 0, 1, 2 whose palette says black, white, gray: the trimap's gray levels count.
    indices = np.where(scene.trimap == 1, 1, np.where(scene.trimap == 0, 0, 2)).astype(np.uint8)
    palette = Image.fromarray(indices, mode="P")
    palette.putpalette([0, 0, 0, 255, 255, 255, 128, 128, 128] + [0] * (253 * 3))
    expected = estimate_alpha(scene.image, _uint8(scene.trimap))
    np.testing.assert_array_equal(estimate_alpha(scene.image, palette), expected)


def test_a_16_bit_pil_image_of_mode_i_is_read_as_16_bit_levels(scene):
    levels = np.round(scene.trimap * 65535).astype(np.int32)
    trimap = Image.fromarray(levels, mode="I")
    np.testing.assert_array_equal(vecmatte.trimap_split(trimap)[2], scene.trimap == 0.5)


# --- messages that name the problem ---------------------------------------------------------


def test_a_channels_first_image_is_named_as_such(scene):
    with pytest.raises(ValueError, match=r"channels first\? np\.moveaxis\(image, 0, -1\)"):
        estimate_alpha(np.moveaxis(scene.image, 2, 0), scene.trimap)


def test_a_value_just_above_one_is_shown_with_the_digits_that_make_it_wrong(scene):
    # 1.0001 at 4 digits read "values in [0, 1] but must lie in [0, 1]".
    with pytest.raises(ValueError, match=r"values in \[0, 1\.0001\] but must lie in \[0, 1\]"):
        vecmatte.estimate_foreground(scene.image, scene.alpha * 1.0001)
    with pytest.raises(ValueError, match=r"values in \[-1e-07, 0\.9999999\] but"):
        estimate_alpha(scene.image, scene.trimap - 1e-7)


# --- trimap_split, scribbles --------------------------------------------------------------


def test_trimap_split_scales_integer_trimaps_and_refuses_what_is_not_one(scene):
    # uint8 128 (unknown) was compared with 0.9 as it was: foreground.
    is_fg, _, is_unknown = vecmatte.trimap_split(_uint8(scene.trimap))
    np.testing.assert_array_equal(is_unknown, scene.trimap == 0.5)
    np.testing.assert_array_equal(is_fg, scene.trimap == 1)
    assert vecmatte.trimap_split(scene.trimap.tolist())[2].sum() == (scene.trimap == 0.5).sum()
    for bad, message in [
        (np.where(scene.trimap == 1, np.nan, scene.trimap), "NaN"),
        (scene.trimap * 255, r"values in \[0, 255\]"),
        (np.stack([scene.trimap] * 3), r"shape \(3, 40, 50\)"),
        (scene.trimap.astype(complex), "dtype complex128"),
    ]:
        with pytest.raises(ValueError, match=message):
            vecmatte.trimap_split(bad)


def test_a_float_photograph_and_its_8_bit_scribbled_copy_give_the_strokes(scene):
    scribbled = scene.image.copy()
    scribbled[5:8, 5:20] = 1.0
    scribbled[30:33, 5:20] = 0.0
    expected = vecmatte.scribbles_to_trimap(scene.image, scribbled)
    # Rounding to 8 bits moved every pixel by up to half a level (> tolerance): all strokes.
    got = vecmatte.scribbles_to_trimap(scene.image, _uint8(scribbled))
    np.testing.assert_array_equal(got, expected)
    got = vecmatte.scribbles_to_trimap(_uint8(scene.image), scribbled)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("tolerance", ["x", None, [0.1]])
def test_scribbles_tolerance_that_is_no_number_is_named(scene, tolerance):
    with pytest.raises(ValueError, match="tolerance must be in"):
        vecmatte.scribbles_to_trimap(scene.image, scene.image, tolerance=tolerance)


# --- foreground and cutout options ----------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"regularization": "x"}, "regularization must be a positive number, got 'x'"),
        ({"gradient_weight": None}, "gradient_weight must be non-negative, got None"),
        ({"method": "cf", "rtol": "x"}, r"rtol must be a number in \[1e-15, 1\), got 'x'"),
        ({"method": "cf", "rtol": 2}, r"rtol must lie in \[1e-15, 1\), got 2"),
        ({"method": "cf", "maxiter": 0}, "maxiter must be an integer of at least 1"),
        ({"method": "cf", "maxiter": -5}, "maxiter must be an integer of at least 1"),
        ({"method": "cf", "maxiter": 2.5}, "maxiter must be an integer of at least 1"),
        ({"method": "cf", "maxiter": "x"}, "maxiter must be an integer of at least 1"),
    ],
)
def test_foreground_options_out_of_range_are_named(scene, options, message):
    # maxiter 0 and -5 ran no iteration (a warning, then the starting guess as the result).
    with pytest.raises(ValueError, match=message):
        vecmatte.estimate_foreground(scene.image, scene.alpha, **options)


def test_a_progress_that_cannot_be_called_is_named_before_the_work(scene):
    with pytest.raises(TypeError, match="progress must be a function"):
        vecmatte.estimate_foreground_background(scene.image, scene.alpha, progress=3)


def test_a_cutout_dtype_numpy_does_not_know_is_named(scene):
    with pytest.raises(
        ValueError, match=r"cutout dtype must be np\.float64 or np\.uint8, not 'foo'"
    ):
        vecmatte.cutout(scene.image, scene.alpha, dtype="foo")


# --- metrics ----------------------------------------------------------------------------------


@pytest.mark.parametrize("sigma", [1e-9, 0.01, 30.0, 100.0, "x", None, float("nan")])
def test_a_gradient_sigma_whose_kernel_breaks_is_refused(scene, sigma):
    # 1e-9 gave NaN (the kernel underflowed), 100 "cannot convert float NaN to integer".
    with pytest.raises(ValueError, match=r"sigma must be a number in \[0\.05, 24\.0\]"):
        vecmatte.gradient_error(scene.alpha, scene.alpha, scene.trimap, sigma=sigma)


def test_gradient_sigmas_in_range_give_finite_errors(scene):
    noisy = np.clip(scene.alpha + 0.1 * np.sin(np.arange(50)), 0, 1)
    for sigma in (0.05, 1.4, 24.0):
        assert np.isfinite(vecmatte.gradient_error(noisy, scene.alpha, sigma=sigma))


def test_connectivity_step_as_float32_and_as_text(scene):
    noisy = np.clip(scene.alpha + 0.2 * np.cos(np.arange(50)), 0, 1)
    # np.float32(0.1) is 0.10000000149: still ten steps (it was refused).
    assert vecmatte.connectivity_error(
        noisy, scene.alpha, step=np.float32(0.1)
    ) == vecmatte.connectivity_error(noisy, scene.alpha, step=0.1)
    with pytest.raises(ValueError, match="step must be a number"):
        vecmatte.connectivity_error(noisy, scene.alpha, step="x")
    with pytest.raises(ValueError, match="at most 1000"):
        vecmatte.connectivity_error(noisy, scene.alpha, step=1e-9)


# --- make_scene, memory -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"shape": (0, 5)}, "shape's height must be a positive whole number"),
        ({"shape": (-3, 5)}, "shape's height must be a positive whole number"),
        ({"shape": (40, 50.5)}, "shape's width must be a positive whole number"),
        ({"shape": 40}, r"shape must be \(height, width\)"),
        ({"shape": (40, 50, 3)}, r"shape must be \(height, width\)"),
        ({"softness": 0}, "softness must be a positive number"),
        ({"softness": -2}, "softness must be a positive number"),
        ({"softness": float("nan")}, "softness must be a positive number"),
        ({"band": -1}, "band must be a whole number"),
        ({"band": 2.5}, "band must be a whole number"),
        ({"seed": -1}, "seed must be a non-negative integer"),
        ({"seed": "a"}, "seed must be a non-negative integer"),
    ],
)
def test_make_scene_names_a_bad_argument(options, message):
    # softness 0 divided by zero, -2 inverted the blob, NaN gave a NaN image: no error.
    with pytest.raises(ValueError, match=message):
        make_scene(**{"shape": (40, 50), **options})


def test_make_scene_takes_whole_floats_and_numpy_integers(scene):
    for shape in ((40.0, 50.0), np.array([40, 50])):
        np.testing.assert_array_equal(make_scene(shape, seed=0).image, scene.image)


@pytest.mark.parametrize(
    ("args", "options", "message"),
    [
        (((40, 50), -1), {}, "n_unknown must be non-negative"),
        (((40, 50), 10**9), {}, "up to the image's 2000"),
        (((40, 50), "100"), {}, "n_unknown must be non-negative"),
        (((40,), 100), {}, r"shape must be \(height, width\)"),
        (((40.5, 50), 100), {}, "shape's height must be non-negative, a whole number"),
    ],
)
def test_estimate_solve_memory_names_a_bad_argument(args, options, message):
    with pytest.raises(ValueError, match=message):
        vecmatte.estimate_solve_memory(*args, **options)


def test_estimate_solve_memory_lists_the_methods_options_like_the_solve():
    with pytest.raises(TypeError, match="alpha method 'cf' has no option 'foo'; its options are"):
        vecmatte.estimate_solve_memory((40, 50), 100, foo=1)


@pytest.mark.parametrize("available", [-1, "x", 2.5])
def test_check_memory_names_an_available_that_is_no_byte_count(available):
    # -1 made the way out a complex square root: "int() argument must be ... not 'complex'".
    with pytest.raises(ValueError, match="available must be a number of bytes"):
        vecmatte.check_memory((40, 50), 100, available=available)


# --- the PyMatting shim ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: np.where(t == 1, 0.5, t), "no foreground pixels"),
        (lambda t: np.where(t == 0, 0.5, t), "no background pixels"),
        (lambda t: np.where(t == 1, 0.999, t), "reads only values exactly 1"),
        (lambda t: t * 255, "no foreground pixels"),
        (lambda t: np.where(t == 0.5, np.nan, t), "trimap contains NaN"),
    ],
)
def test_shim_shared_matting_refuses_a_trimap_it_would_answer_with_nan(scene, change, message):
    with pytest.raises(ValueError, match=message):
        pm.estimate_alpha_sm(scene.image, change(scene.trimap))


def test_shim_shared_matting_of_a_trimap_without_unknown_pixels_is_the_trimap(scene):
    # The trimap expansion indexed an empty list of unknown pixels (IndexError).
    trimap = np.where(scene.trimap == 0.5, 1.0, scene.trimap)
    np.testing.assert_array_equal(pm.estimate_alpha_sm(scene.image, trimap), trimap)


def test_shim_shared_matting_refuses_a_nan_image(scene):
    image = scene.image.copy()
    image[3, 4] = np.nan
    with pytest.raises(ValueError, match="image contains NaN"):
        pm.estimate_alpha_sm(image, scene.trimap)


@pytest.mark.parametrize(
    ("function", "cg_kwargs", "message"),
    [
        (pm.estimate_alpha_cf, {"rtol": "x"}, r"cg_kwargs\['rtol'\] must be a number"),
        (pm.estimate_alpha_cf, {"maxiter": "x"}, r"cg_kwargs\['maxiter'\] must be a whole"),
        (pm.estimate_alpha_knn, {"rtol": "x"}, "rtol must be a number, got 'x'"),
        (pm.estimate_alpha_knn, {"maxiter": "x"}, "maxiter must be a whole number"),
    ],
)
def test_shim_cg_kwargs_that_are_no_numbers_are_named(scene, function, cg_kwargs, message):
    with pytest.raises(ValueError, match=message):
        function(scene.image, scene.trimap, cg_kwargs=cg_kwargs)


def test_shim_stack_and_blend_name_the_image_of_another_size(scene):
    with pytest.raises(ValueError, match=r"images\[1\] has shape \(39, 50\) but images\[0\]"):
        pm.stack_images(scene.foreground, scene.alpha[:-1])
    with pytest.raises(ValueError, match=r"alpha has shape \(39, 50\) but foreground"):
        pm.blend(scene.foreground, scene.background, scene.alpha[:-1])
    # A colour (or a number) as the background still broadcasts.
    blended = pm.blend(scene.foreground, np.array([0.0, 1.0, 0.0]), scene.alpha)
    assert blended.shape == scene.foreground.shape


def test_the_slow_radius_warning_points_at_the_shim_callers_line(scene, monkeypatch):
    import vecmatte._radius_cost

    # A cheap solve made to look slow. The shim calls the solve one frame deeper than
    # estimate_alpha: a fixed stacklevel named the shim's own line.
    monkeypatch.setattr(vecmatte._radius_cost, "SECONDS_PER_UNKNOWN_PER_WINDOW_PAIR", 1.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pm.estimate_alpha_cf(scene.image, scene.trimap, laplacian_kwargs={"radius": 2})
        estimate_alpha(scene.image, scene.trimap, radius=2)
    slow = [w for w in caught if w.category is vecmatte.SlowSolveWarning]
    assert [w.filename for w in slow] == [__file__, __file__]


# --- dtypes NumPy calls integers, callbacks ------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint32, np.uint64])
def test_wide_unsigned_integers_are_refused_with_the_conversion(scene, dtype):
    # Scaled by 2**32 - 1, the 8-bit levels such an array holds were a black image.
    with pytest.raises(ValueError, match=rf"dtype {np.dtype(dtype)}: .*\.astype\(np\.uint8\)"):
        estimate_alpha((scene.image * 255).astype(dtype), scene.trimap)


@pytest.mark.parametrize("argument", ["image", "trimap"])
def test_signed_integers_are_refused_with_the_conversion(scene, argument):
    # np.array of Python ints 0-255 is int64; the message said only "use unsigned or float".
    arrays = {"image": scene.image, "trimap": scene.trimap}
    levels = np.round(arrays[argument] * 255).astype(np.int64)
    with pytest.raises(ValueError) as caught:
        estimate_alpha(**{**arrays, argument: levels})
    assert str(caught.value) == (
        f"{argument} has signed integer dtype int64; use unsigned or float: 8-bit levels: "
        f"{argument}.astype(np.uint8), 16-bit ones: .astype(np.uint16), or floats in [0, 1]"
    )
    # The conversion named is taken: the matte of the 8-bit levels.
    expected = estimate_alpha(**{**arrays, argument: _uint8(arrays[argument])})
    np.testing.assert_array_equal(
        estimate_alpha(**{**arrays, argument: levels.astype(np.uint8)}), expected
    )


def test_a_timedelta_array_is_named_as_the_wrong_dtype(scene):
    # NumPy files timedelta64 under integers: np.iinfo raised "Invalid integer data type".
    with pytest.raises(ValueError, match=r"image has dtype timedelta64\[s\]; expected float"):
        estimate_alpha(scene.image.astype("m8[s]"), scene.trimap)


def test_a_pil_mode_pillow_cannot_convert_is_named(scene):
    image = Image.fromarray(_uint8(scene.image)).convert("La")
    with pytest.raises(ValueError, match="image is a PIL image of mode 'La'"):
        estimate_alpha(image, scene.trimap)


def test_a_callback_that_cannot_be_called_is_named_before_the_solve(scene):
    with pytest.raises(TypeError, match="callback must be a function"):
        vecmatte.solve_alpha(scene.image, scene.trimap, callback=3)


@pytest.mark.parametrize(
    "name",
    [
        "NoUnknownPixelsWarning",
        "SlowSolveWarning",
        "AlphaChannelUsedWarning",
        "SampleRangeWarning",
        "ExtraFramesWarning",
        "ImageMetadataWarning",
    ],
)
def test_every_warning_the_library_raises_can_be_filtered_from_vecmatte(name):
    # warnings.simplefilter("ignore", vecmatte.NoUnknownPixelsWarning) raised AttributeError:
    # the classes lived only in private modules (or io, beside their exported siblings).
    assert issubclass(getattr(vecmatte, name), UserWarning)
    assert name in vecmatte.__all__


def test_no_unknown_pixels_warning_is_vecmattes_and_points_at_the_caller(scene):
    trimap = np.where(scene.trimap == 0.5, 1.0, scene.trimap)
    with pytest.warns(vecmatte.NoUnknownPixelsWarning) as record:
        alpha = estimate_alpha(scene.image, trimap)
    assert record[0].filename == __file__
    np.testing.assert_array_equal(alpha, trimap)


def test_maxiter_none_is_described_as_the_solvers_default_not_no_limit(scene):
    with pytest.raises(ValueError, match=r"or None: 10 times the number of equations\), got 0"):
        estimate_alpha(scene.image, scene.trimap, maxiter=0)


@pytest.mark.parametrize("argument", ["image", "trimap"])
def test_a_ragged_list_is_named(scene, argument):
    # NumPy's "setting an array element with a sequence ..." named no argument.
    ragged = [[0.0, 1.0], [0.5]]
    inputs = {"image": scene.image, "trimap": scene.trimap, argument: ragged}
    with pytest.raises(ValueError, match=f"{argument} is a ragged nested sequence"):
        estimate_alpha(inputs["image"], inputs["trimap"])


def test_a_pil_image_with_transparency_is_told_how_to_drop_it(scene):
    # "drop the alpha channel first (image[:, :, :3])" cannot be done to a PIL image.
    rgba = Image.fromarray(_uint8(scene.image)).convert("RGBA")
    with pytest.raises(
        ValueError, match=r"drop the alpha channel first \(image\.convert\('RGB'\)\)"
    ):
        estimate_alpha(rgba, scene.trimap)
    np.testing.assert_array_equal(
        estimate_alpha(rgba.convert("RGB"), scene.trimap),
        estimate_alpha(_uint8(scene.image), scene.trimap),
    )


def test_a_memory_estimate_refuses_a_preconditioner_the_solve_refuses(scene):
    from vecmatte.alpha import check_solve_options

    # It returned a number for method="sm", preconditioner="ichol", which the solve refuses.
    with pytest.raises(ValueError, match="'sm' solves no linear system: give no preconditioner"):
        vecmatte.estimate_solve_memory((40, 50), 100, method="sm", preconditioner="ichol")
    # ... in the same words as the solve and its checks (the solve said "leave preconditioner
    # at None", the command line's checks "give no preconditioner": one function says it now)
    with pytest.raises(ValueError, match="'sm' solves no linear system: give no preconditioner"):
        estimate_alpha(scene.image, scene.trimap, method="sm", preconditioner="ichol")
    with pytest.raises(ValueError, match="'sm' solves no linear system: give no preconditioner"):
        check_solve_options({"method": "sm", "preconditioner": "ichol"})


def test_a_foreground_method_that_is_no_name_is_named(scene):
    # method=["ml"] raised "unhashable type: 'list'".
    with pytest.raises(ValueError, match=r"unknown foreground method \['ml'\]; choose one of"):
        vecmatte.estimate_foreground(scene.image, scene.alpha, method=["ml"])
    with pytest.raises(ValueError, match="unknown foreground method"):
        vecmatte.cutout(scene.image, scene.alpha, method=["ml"])


def test_a_32_bit_pil_image_of_8_bit_levels_is_named_as_a_file_of_them_is():
    # A PIL image of mode "I" (Image.fromarray of int32 levels, or image.convert("I")) is
    # read as 16-bit levels: 0-255 became at most 0.004, a black image or a trimap "without
    # foreground", without a word, where load_image says so of such a file
    # (SampleRangeWarning, fe177eb).
    import numpy as np
    from PIL import Image

    from vecmatte._arrays import as_array
    from vecmatte.io import SampleRangeWarning

    levels = np.array([[0, 128, 255], [255, 128, 0]])
    with pytest.warns(SampleRangeWarning, match=r"trimap .*largest value, 255.*convert\('L'\)"):
        pixels = as_array(Image.fromarray(levels.astype(np.int32)), "trimap", gray=True)
    np.testing.assert_array_equal(pixels, levels.astype(np.uint16))  # read as before
    wide = np.array([[0, 300], [65535, 7]]).astype(np.int32)
    np.testing.assert_array_equal(as_array(Image.fromarray(wide), "trimap", gray=True), wide)


def test_a_pil_image_whose_file_was_closed_is_named(tmp_path):
    # 'with Image.open(path) as image: pass' leaves an image whose pixels were never read
    # and whose file is closed: estimate_alpha(image, ...) raised a bare AssertionError
    # from inside Pillow (and ValueError 'Operation on closed image' for one closed after
    # loading), naming neither the argument nor the way out.
    import numpy as np
    from PIL import Image

    import vecmatte

    scene = make_scene((40, 48), seed=0)
    save_image(tmp_path / "image.png", scene.image)
    trimap = (scene.trimap * 255).round().astype(np.uint8)
    with Image.open(tmp_path / "image.png") as never_read:
        pass
    loaded_then_closed = Image.open(tmp_path / "image.png")
    loaded_then_closed.load()
    loaded_then_closed.close()
    for image in (never_read, loaded_then_closed):
        with pytest.raises(ValueError, match=r"^image is a PIL image whose file was closed"):
            vecmatte.estimate_alpha(image, trimap)
