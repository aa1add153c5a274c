"""vecmatte.compat: PyMatting's functions called the way its users call them, and the shim."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
import types
import warnings

import numpy as np
import pytest
from conftest import write_png
from PIL import Image

import vecmatte
from vecmatte.compat import install_pymatting
from vecmatte.compat import pymatting as pm
from vecmatte.foreground import estimate_foreground, estimate_foreground_background

# PyMatting's conjugate gradient tolerance and multi-level foreground weights, which the
# compat layer keeps as its defaults (vecmatte's own defaults may differ).
PYMATTING_RTOL = 1e-7
PYMATTING_ML = {"regularization": 1e-5, "gradient_weight": 1.0}


@pytest.fixture(scope="module")
def rembg_inputs():
    """Image and trimap as rembg hands them to PyMatting: uint8 / 255, trimap of 0, 128, 255."""
    scene = vecmatte.make_scene((40, 52), seed=7, band=2)
    image = np.round(scene.image * 255).astype(np.uint8) / 255.0
    trimap = np.full(scene.trimap.shape, 128, dtype=np.uint8)
    trimap[scene.trimap == 1] = 255
    trimap[scene.trimap == 0] = 0
    return image, trimap / 255.0


@pytest.fixture(scope="module")
def alpha(rembg_inputs):
    return pm.estimate_alpha_cf(*rembg_inputs)


@pytest.fixture
def clean_pymatting_modules():
    """Remove whatever ``pymatting*`` modules a test registers, restoring the previous ones."""
    saved = {
        name: module
        for name, module in sys.modules.items()
        if name == "pymatting" or name.startswith("pymatting.")
    }
    yield
    for name in [
        name for name in sys.modules if name == "pymatting" or name.startswith("pymatting.")
    ]:
        del sys.modules[name]
    sys.modules.update(saved)


def run_python(code: str, **env) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (so shims and numba never enter this process)."""
    environment = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
        check=False,
    )


# --------------------------------------------------------------------------------------------
# the rembg call sequence


def test_estimate_alpha_cf_is_vecmatte_estimate_alpha(rembg_inputs, alpha):
    image, trimap = rembg_inputs
    expected = vecmatte.estimate_alpha(image, trimap, rtol=PYMATTING_RTOL)
    assert alpha.shape == trimap.shape
    assert alpha.dtype == np.float64
    np.testing.assert_allclose(alpha, expected, atol=1e-9)
    # and it is a real matte: soft values in the unknown band, the trimap elsewhere
    unknown = (trimap > 0.1) & (trimap < 0.9)
    assert np.ptp(alpha[unknown]) > 0.5
    np.testing.assert_array_equal(alpha[~unknown], trimap[~unknown])


def test_rembg_sequence_matches_vecmatte(rembg_inputs, alpha):
    image, _ = rembg_inputs
    foreground = pm.estimate_foreground_ml(image, alpha)
    cutout = pm.stack_images(foreground, alpha)
    assert foreground.dtype == np.float32  # as PyMatting's
    assert cutout.shape == (*alpha.shape, 4)
    expected = estimate_foreground(image, alpha, method="ml", **PYMATTING_ML)
    np.testing.assert_allclose(foreground, expected, atol=1e-6)
    np.testing.assert_array_equal(cutout[:, :, 3], alpha)
    np.testing.assert_array_equal(cutout[:, :, :3], foreground)


def test_return_background(rembg_inputs, alpha):
    image, _ = rembg_inputs
    foreground, background = pm.estimate_foreground_ml(image, alpha, return_background=True)
    expected_f, expected_b = estimate_foreground_background(
        image, alpha, method="ml", **PYMATTING_ML
    )
    np.testing.assert_allclose(foreground, expected_f, atol=1e-6)
    np.testing.assert_allclose(background, expected_b, atol=1e-6)
    assert background.dtype == np.float32


def test_known_pixels_keep_trimap_values(rembg_inputs):
    # PyMatting's thresholds are inclusive and its known pixels keep the trimap's value.
    image, trimap = rembg_inputs
    trimap = trimap.copy()
    trimap[trimap == 1.0] = 0.9
    trimap[trimap == 0.0] = 0.1
    alpha = pm.estimate_alpha_cf(image, trimap)
    known = (trimap == 0.9) | (trimap == 0.1)
    np.testing.assert_array_equal(alpha[known], trimap[known])
    hard = np.where(trimap == 0.9, 1.0, np.where(trimap == 0.1, 0.0, 0.5))
    expected = vecmatte.estimate_alpha(image, hard, rtol=PYMATTING_RTOL)
    np.testing.assert_allclose(alpha[~known], expected[~known], atol=1e-9)


def test_trimap_without_unknown_pixels_is_returned(rembg_inputs):
    # PyMatting fails to converge here (0/0 in its CG); the shim returns the trimap, unwarned.
    image, trimap = rembg_inputs
    hard = (trimap > 0.5).astype(np.float64)
    np.testing.assert_array_equal(pm.estimate_alpha_cf(image, hard), hard)


# --------------------------------------------------------------------------------------------
# friendlier inputs


def test_uint8_image_and_trimap_are_scaled(rembg_inputs, alpha):
    image, trimap = rembg_inputs
    image8 = np.round(image * 255).astype(np.uint8)
    trimap8 = np.round(trimap * 255).astype(np.uint8)
    np.testing.assert_allclose(pm.estimate_alpha_cf(image8, trimap8), alpha, atol=1e-12)


def test_uint8_and_column_alpha_accepted_by_foreground(rembg_inputs, alpha):
    image, _ = rembg_inputs
    alpha8 = np.round(alpha * 255).astype(np.uint8)
    expected = pm.estimate_foreground_ml(image, alpha8 / 255.0)
    for variant in (alpha8, alpha8[:, :, None], (alpha8 / 255.0)[:, :, None]):
        np.testing.assert_array_equal(pm.estimate_foreground_ml(image, variant), expected)
    image8 = np.round(image * 255).astype(np.uint8)
    np.testing.assert_array_equal(pm.estimate_foreground_ml(image8, alpha8 / 255.0), expected)


def test_column_trimap_accepted(rembg_inputs, alpha):
    image, trimap = rembg_inputs
    # returned in the trimap's shape, as PyMatting's x.reshape(trimap.shape)
    np.testing.assert_array_equal(
        pm.estimate_alpha_cf(image, trimap[:, :, None]), alpha[:, :, None]
    )


# --------------------------------------------------------------------------------------------
# errors PyMatting's callers rely on


@pytest.mark.parametrize(
    ("value", "missing"), [(1.0, "background"), (0.0, "foreground"), (0.5, "background")]
)
def test_trimap_without_foreground_or_background_raises_value_error(rembg_inputs, value, missing):
    image, trimap = rembg_inputs
    with pytest.raises(ValueError, match=f"did not contain {missing} values"):
        pm.estimate_alpha_cf(image, np.full_like(trimap, value))


def test_non_convergence_raises_value_error(rembg_inputs):
    image, trimap = rembg_inputs
    # The modules a solve imports on first use (SciPy's add warning filters of their own as
    # they are imported): imported before the filters are compared, so that the test does
    # not depend on which tests ran before it.
    pm.estimate_alpha_cf(image, trimap, preconditioner="jacobi", cg_kwargs={"maxiter": 5000})
    # Warnings as errors: a ConvergenceWarning on the way would surface instead of the
    # ValueError, and the shim must not change the process's warning filters.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        filters = list(warnings.filters)
        with pytest.raises(ValueError, match="did not converge within 2 iterations"):
            pm.estimate_alpha_cf(image, trimap, preconditioner="jacobi", cg_kwargs={"maxiter": 2})
        assert warnings.filters == filters


# --------------------------------------------------------------------------------------------
# laplacian_kwargs, cg_kwargs and preconditioner


def test_laplacian_kwargs_map_to_eps_and_radius(rembg_inputs):
    image, trimap = rembg_inputs
    alpha = pm.estimate_alpha_cf(image, trimap, laplacian_kwargs={"epsilon": 1e-4, "radius": 2})
    expected = vecmatte.estimate_alpha(image, trimap, eps=1e-4, radius=2, rtol=PYMATTING_RTOL)
    np.testing.assert_allclose(alpha, expected, atol=1e-9)
    default = pm.estimate_alpha_cf(image, trimap)
    assert np.abs(alpha - default).max() > 1e-3  # the options did change something


def test_cg_kwargs_map_to_rtol(rembg_inputs):
    image, trimap = rembg_inputs
    loose = pm.estimate_alpha_cf(image, trimap, cg_kwargs={"rtol": 1e-2, "atol": 1e-12})
    expected = vecmatte.estimate_alpha(image, trimap, rtol=1e-2)
    np.testing.assert_allclose(loose, expected, atol=1e-12)


@pytest.mark.parametrize(
    ("argument", "options", "key"),
    [
        ("laplacian_kwargs", {"epsilon": 1e-6, "eps": 1e-6}, "'eps'"),
        ("laplacian_kwargs", {"is_known": None}, "'is_known'"),
        ("cg_kwargs", {"x0": None, "M": None}, "'M'"),
        ("cg_kwargs", {"tol": 1e-3}, "'tol'"),
    ],
)
def test_unknown_option_keys_rejected(rembg_inputs, argument, options, key):
    image, trimap = rembg_inputs
    with pytest.raises(TypeError, match=f"{argument}.*{key}"):
        pm.estimate_alpha_cf(image, trimap, **{argument: options})


def test_zero_rtol_rejected(rembg_inputs):
    image, trimap = rembg_inputs
    with pytest.raises(ValueError, match="rtol must be positive"):
        pm.estimate_alpha_cf(image, trimap, cg_kwargs={"rtol": 0.0, "atol": 1e-6})


def test_preconditioner_by_pymatting_function_or_name(rembg_inputs):
    image, trimap = rembg_inputs

    def jacobi(matrix):  # stands for pymatting.jacobi, recognised by its name
        raise AssertionError("never called")

    expected = vecmatte.estimate_alpha(image, trimap, preconditioner="jacobi", rtol=PYMATTING_RTOL)
    for preconditioner in (jacobi, "jacobi"):
        alpha = pm.estimate_alpha_cf(image, trimap, preconditioner=preconditioner)
        np.testing.assert_allclose(alpha, expected, atol=1e-12)


def test_any_preconditioner_function_and_cg_options_solve_pymattings_system(rembg_inputs):
    image, trimap = rembg_inputs
    expected = vecmatte.estimate_alpha(image, trimap, rtol=1e-10)
    unknown = (trimap > 0.1) & (trimap < 0.9)
    seen, counter = [], pm.CounterCallback()

    def diagonal(matrix):  # any function A -> M, as PyMatting takes
        seen.append(matrix.shape)
        return pm.jacobi(matrix)

    alpha = pm.estimate_alpha_cf(
        image,
        trimap,
        diagonal,
        cg_kwargs={"rtol": 1e-10, "callback": counter, "x0": np.full(unknown.sum(), 0.5)},
    )
    assert seen == [(unknown.sum(), unknown.sum())]  # the matrix over the unknown pixels
    assert counter.n > 1
    np.testing.assert_allclose(alpha, expected, atol=1e-6)
    # no preconditioner: PyMatting's ichol, with the options only cg knows
    alpha = pm.estimate_alpha_cf(image, trimap, cg_kwargs={"reorthogonalize": True})
    np.testing.assert_allclose(alpha, expected, atol=1e-5)
    # cg_kwargs=None is no options there too, as on vecmatte's path (it raised "argument of
    # type 'NoneType' is not iterable" with a preconditioner function: fails on the old code)
    alpha = pm.estimate_alpha_cf(image, trimap, diagonal, cg_kwargs=None)
    np.testing.assert_allclose(alpha, pm.estimate_alpha_cf(image, trimap, diagonal), atol=0)


@pytest.mark.parametrize(
    ("option", "value"), [("n_small_iterations", 3), ("n_big_iterations", 5), ("small_size", 8)]
)
def test_foreground_ml_schedule_options_rejected(rembg_inputs, alpha, option, value):
    with pytest.raises(ValueError, match=f"{option}={value}"):
        pm.estimate_foreground_ml(rembg_inputs[0], alpha, **{option: value})


@pytest.mark.parametrize("radius", [5, np.int64(5)])
def test_lkm_laplacian_of_an_image_smaller_than_its_window_asserts(radius):
    # PyMatting's boxfilter asserts whatever the radius's integer type; the shim said so
    # for a Python int only (a NumPy one got a plain ValueError: fails on the old code).
    image = np.random.default_rng(0).random((6, 6, 3))
    with pytest.raises(AssertionError, match="smaller than one 11 x 11 window"):
        pm.lkm_laplacian(image, radius=radius)


def test_foreground_ml_regularization_passed(rembg_inputs, alpha):
    image = rembg_inputs[0]
    smooth = pm.estimate_foreground_ml(image, alpha, regularization=1e-1, gradient_weight=0.5)
    expected = estimate_foreground(image, alpha, regularization=1e-1, gradient_weight=0.5)
    np.testing.assert_allclose(smooth, expected, atol=1e-6)


# --------------------------------------------------------------------------------------------
# estimate_foreground_cf


def test_estimate_foreground_cf_is_vecmatte_cf(rembg_inputs, alpha):
    image = rembg_inputs[0]
    foreground, background = pm.estimate_foreground_cf(image, alpha, return_background=True)
    # rtol=1e-5 is PyMatting's default for estimate_foreground_cf
    expected_f, expected_b = estimate_foreground_background(image, alpha, method="cf", rtol=1e-5)
    np.testing.assert_allclose(foreground, expected_f, atol=1e-9)
    np.testing.assert_allclose(background, expected_b, atol=1e-9)
    np.testing.assert_array_equal(pm.estimate_foreground_cf(image, alpha), foreground)


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"regularization": 1e-3}, ValueError, "regularization"),
        ({"neighbors": [(1, 1)]}, ValueError, "neighbors"),
        ({"foreground_guess": np.zeros((40, 52, 3))}, ValueError, "guess"),
        ({"ichol_kwargs": {"discard_threshold": 1e-4}}, TypeError, "ichol_kwargs"),
        ({"cg_kwargs": {"rtol": 1e-3}}, TypeError, "cg_kwargs.*'rtol'"),
    ],
)
def test_estimate_foreground_cf_unsupported_options(rembg_inputs, alpha, options, error, match):
    with pytest.raises(error, match=match):
        pm.estimate_foreground_cf(rembg_inputs[0], alpha, **options)


def test_estimate_foreground_cf_non_convergence_raises(rembg_inputs, alpha):
    with pytest.raises(ValueError, match="conjugate gradient"):
        pm.estimate_foreground_cf(rembg_inputs[0], alpha, cg_kwargs={"maxiter": 1})


def test_estimate_foreground_cf_default_neighbors_accepted(rembg_inputs, alpha):
    neighbors = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    np.testing.assert_array_equal(
        pm.estimate_foreground_cf(rembg_inputs[0], alpha, neighbors=neighbors),
        pm.estimate_foreground_cf(rembg_inputs[0], alpha),
    )


# --------------------------------------------------------------------------------------------
# util


def test_trimap_split_like_pymatting():
    # The example of PyMatting's docstring.
    trimap = np.array([[1, 0], [0.5, 0.2]])
    is_fg, is_bg, is_known, is_unknown = pm.trimap_split(trimap)
    np.testing.assert_array_equal(is_fg, [True, False, False, False])
    np.testing.assert_array_equal(is_bg, [False, True, False, False])
    np.testing.assert_array_equal(is_known, [True, True, False, False])
    np.testing.assert_array_equal(is_unknown, [False, False, True, True])
    # inclusive thresholds, 2-D without flattening, custom thresholds
    trimap = np.array([[0.9, 0.1], [0.5, 0.6]])
    is_fg, is_bg, _, _ = pm.trimap_split(trimap, flatten=False)
    np.testing.assert_array_equal(is_fg, [[True, False], [False, False]])
    np.testing.assert_array_equal(is_bg, [[False, True], [False, False]])
    is_fg, _, _, is_unknown = pm.trimap_split(trimap, fg_threshold=0.55)
    np.testing.assert_array_equal(is_fg, [True, False, False, True])
    np.testing.assert_array_equal(is_unknown, [False, False, True, False])


def test_trimap_split_errors_in_pymatting_order():
    with pytest.raises(ValueError, match="background"):
        pm.trimap_split(np.full((3, 3), 0.5))
    with pytest.raises(ValueError, match="foreground"):
        pm.trimap_split(np.zeros((3, 3)))


def test_stack_images():
    rng = np.random.default_rng(0)
    rgb, gray = rng.random((4, 5, 3)), rng.random((4, 5))
    stacked = pm.stack_images(rgb, gray, rgb)
    assert stacked.shape == (4, 5, 7)
    np.testing.assert_array_equal(stacked[:, :, 3], gray)
    np.testing.assert_array_equal(stacked[:, :, 4:], rgb)
    # a uint8 alpha next to float colours is scaled, not stacked as 0..255
    alpha8 = np.array([[0, 255, 51, 102, 204]] * 4, dtype=np.uint8)
    np.testing.assert_allclose(pm.stack_images(rgb, alpha8)[:, :, 3], alpha8 / 255.0)
    # same dtypes stay as they are (PyMatting's behaviour)
    assert pm.stack_images(alpha8, alpha8).dtype == np.uint8


def test_blend():
    rng = np.random.default_rng(1)
    foreground, background, alpha = rng.random((4, 5, 3)), rng.random((4, 5, 3)), rng.random((4, 5))
    expected = alpha[:, :, None] * foreground + (1 - alpha[:, :, None]) * background
    np.testing.assert_allclose(pm.blend(foreground, background, alpha), expected)
    np.testing.assert_allclose(pm.blend(foreground, background, alpha[:, :, None]), expected)
    image8 = np.round(foreground * 255).astype(np.uint8)
    alpha8 = np.full((4, 5), 255, dtype=np.uint8)
    np.testing.assert_allclose(pm.blend(image8, background, alpha8), image8 / 255.0)


def test_load_image_modes_and_size(tmp_path):
    rng = np.random.default_rng(2)
    rgb = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    path = write_png(tmp_path / "rgb.png", rgb)
    np.testing.assert_array_equal(pm.load_image(path), rgb / 255.0)
    np.testing.assert_array_equal(pm.load_image(str(path), "RGB"), rgb / 255.0)
    gray = np.asarray(Image.fromarray(rgb).convert("L")) / 255.0
    np.testing.assert_array_equal(pm.load_image(path, "GRAY"), gray)
    assert pm.load_image(path, "RGB", size=0.5).shape == (3, 4, 3)
    assert pm.load_image(path, "gray", size=(4, 2), resample="nearest").shape == (2, 4)
    rgba = np.dstack([rgb, np.full((6, 8), 255, np.uint8)])
    assert pm.load_image(write_png(tmp_path / "rgba.png", rgba)).shape == (6, 8, 4)
    with pytest.raises(ValueError, match="resample"):
        pm.load_image(path, size=2, resample="cubic-ish")
    with pytest.raises(FileNotFoundError):
        pm.load_image(tmp_path / "missing.png")


def test_load_image_16_bit_scaled(tmp_path):
    gray16 = np.array([[0, 65535], [32768, 1000]], dtype=np.uint16)
    path = write_png(tmp_path / "gray16.png", gray16)
    np.testing.assert_allclose(pm.load_image(path), gray16 / 65535.0)
    # converted to floats, the samples keep their 16-bit scale (float32, as mode "F" in PyMatting)
    as_floats = pm.load_image(path, "F")
    assert as_floats.dtype == np.float32
    np.testing.assert_allclose(as_floats, gray16 / 65535.0, rtol=1e-6)


def test_load_image_converted_or_stored_as_floats(tmp_path):
    gray = np.array([[0, 255], [128, 3]], dtype=np.uint8)
    as_floats = pm.load_image(write_png(tmp_path / "gray.png", gray), "F")
    # PyMatting's np.array(image) / 255.0: float32; the shim returned 0-255 before
    assert as_floats.dtype == np.float32
    np.testing.assert_array_equal(as_floats, gray.astype(np.float32) / np.float32(255))
    stored = np.array([[0.0, 1.0], [0.25, 0.5]], dtype=np.float32)
    Image.fromarray(stored).save(tmp_path / "floats.tif")
    loaded = pm.load_image(tmp_path / "floats.tif")
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, stored)  # kept: floats are not 8-bit levels


def test_show_images_shows_the_grid_in_8_bits(monkeypatch):
    shown = []
    monkeypatch.setattr(Image.Image, "show", lambda image, *args, **kwargs: shown.append(image))
    pm.show_images([np.full((2, 3), 0.5), None, np.ones((2, 3, 3))])
    (image,) = shown
    assert image.mode == "RGB"
    assert image.size == (6, 4)  # 2 x 2 cells of 3 x 2 pixels
    np.testing.assert_array_equal(np.asarray(image)[:2, :3], 127)  # 0.5 * 255, truncated


def test_save_image_makes_directories_and_rounds(tmp_path):
    image = np.array([[[0.0, 0.5, 1.0], [0.2, 0.4, 0.998]]])
    path = tmp_path / "a" / "b" / "out.png"
    pm.save_image(str(path), image)
    np.testing.assert_array_equal(np.asarray(Image.open(path)), np.round(image * 255))
    with pytest.raises(FileNotFoundError):
        pm.save_image(tmp_path / "c" / "out.png", image, make_directory=False)
    with pytest.raises(ValueError, match="dtype"):
        pm.save_image(tmp_path / "int.png", np.zeros((2, 2), dtype=np.int64))


def test_cutout_files(tmp_path, rembg_inputs):
    image, trimap = rembg_inputs
    image_path = write_png(tmp_path / "image.png", image)
    trimap_path = write_png(tmp_path / "trimap.png", trimap)
    out = tmp_path / "out" / "cutout.png"
    pm.cutout(str(image_path), str(trimap_path), str(out))
    result = np.asarray(Image.open(out))
    assert result.shape == (*trimap.shape, 4)
    alpha = pm.estimate_alpha_cf(image, np.round(trimap * 255) / 255)
    np.testing.assert_allclose(result[:, :, 3], np.round(alpha * 255), atol=1)


def test_cutout_files_of_different_size(tmp_path, rembg_inputs):
    image, trimap = rembg_inputs
    image_path = write_png(tmp_path / "image.png", image)
    trimap_path = write_png(tmp_path / "trimap.png", trimap[:-1])
    with pytest.raises(ValueError, match="same size"):
        pm.cutout(image_path, trimap_path, tmp_path / "cutout.png")
    assert not (tmp_path / "cutout.png").exists()


# --------------------------------------------------------------------------------------------
# install_pymatting


@pytest.mark.usefixtures("clean_pymatting_modules")
def test_install_pymatting_registers_the_paths_rembg_imports():
    for name in [name for name in sys.modules if name.startswith("pymatting")]:
        del sys.modules[name]
    module = install_pymatting()
    assert install_pymatting() is module  # idempotent
    from pymatting.alpha.estimate_alpha_cf import estimate_alpha_cf
    from pymatting.foreground.estimate_foreground_ml import estimate_foreground_ml
    from pymatting.util.util import stack_images

    assert estimate_alpha_cf is pm.estimate_alpha_cf
    assert estimate_foreground_ml is pm.estimate_foreground_ml
    assert stack_images is pm.stack_images
    import pymatting

    assert pymatting is module
    assert pymatting.estimate_alpha is pm.estimate_alpha_cf
    assert pymatting.alpha.estimate_alpha_cf is pm.estimate_alpha_cf  # function, as in PyMatting
    assert pymatting.util.util.blend is pm.blend
    assert importlib.util.find_spec("pymatting") is not None
    from pymatting.laplacian import LAPLACIANS
    from pymatting.util.boxfilter import boxfilter

    assert LAPLACIANS == pm.LAPLACIANS
    assert boxfilter is pm.boxfilter
    assert pymatting.laplacian.laplacian.make_linear_system is pm.make_linear_system
    with pytest.raises(ModuleNotFoundError):  # PyMatting's GPU variants are not provided
        import pymatting.foreground.estimate_foreground_ml_cupy
    with pytest.raises(AttributeError, match=r"shim.*provides only"):
        _ = pymatting.estimate_foreground_ml_cupy


def test_install_pymatting_overrides_real_pymatting_without_importing_numba():
    result = run_python(
        """
        import sys
        from vecmatte.compat import install_pymatting
        install_pymatting()
        from pymatting import *
        from pymatting.alpha.estimate_alpha_cf import estimate_alpha_cf
        assert estimate_alpha_cf.__module__ == "vecmatte.compat.pymatting", estimate_alpha_cf
        assert "numba" not in sys.modules
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_install_pymatting_as_a_spawned_pools_initializer(tmp_path):
    # spawned workers start without the parent's sys.modules: the docstring's recipe (a
    # script file, since spawned workers import the parent's main module)
    script = tmp_path / "spawned.py"
    script.write_text(
        textwrap.dedent(
            """
            import multiprocessing
            from vecmatte.compat import install_pymatting


            def where(_):
                import sys
                import pymatting
                return pymatting.estimate_alpha_cf.__module__, "numba" in sys.modules


            if __name__ == "__main__":
                context = multiprocessing.get_context("spawn")
                with context.Pool(1, initializer=install_pymatting) as pool:
                    print(pool.map(where, [0]))
            """
        )
    )
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[('vecmatte.compat.pymatting', False)]"


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("pymatting") is None, reason="PyMatting not installed")
def test_install_pymatting_after_the_real_pymatting_was_imported():
    result = run_python(
        """
        import warnings
        import pymatting
        from pymatting import estimate_alpha_cf as imported_before
        from vecmatte.compat import install_pymatting
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            shim = install_pymatting()
            again = install_pymatting()
        assert [str(w.message)[:40] for w in caught] == [
            "PyMatting was imported before vecmatte.c"
        ], caught
        assert again is shim
        import pymatting
        from pymatting.alpha.estimate_alpha_cf import estimate_alpha_cf
        from pymatting.util.util import stack_images
        assert pymatting is shim
        assert estimate_alpha_cf.__module__ == "vecmatte.compat.pymatting"
        assert stack_images.__module__ == "vecmatte.compat.pymatting"
        assert imported_before.__module__ == "pymatting.alpha.estimate_alpha_cf"  # stays real
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.usefixtures("clean_pymatting_modules")
def test_install_pymatting_after_pymatting_was_imported_warns_and_replaces():
    # Stand-ins for an already imported PyMatting (the real one would compile numba kernels).
    for name in ("pymatting", "pymatting.config", "pymatting.util.util"):
        sys.modules[name] = types.ModuleType(name)
    with pytest.warns(UserWarning, match="before vecmatte.compat.install_pymatting"):
        module = install_pymatting()
    assert sys.modules["pymatting.config"].__vecmatte_shim__  # the stand-in replaced too
    assert sys.modules["pymatting"] is module
    assert sys.modules["pymatting.util.util"].stack_images is pm.stack_images


# --------------------------------------------------------------------------------------------
# against the real PyMatting (installed with rembg; opt-in because of numba's compile time;
# bench/coldstart.py also reports how far the shim's alpha is from PyMatting's)


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("pymatting") is None, reason="PyMatting not installed")
@pytest.mark.skipif(
    os.environ.get("VECMATTE_COMPARE_PYMATTING") != "1",
    reason="set VECMATTE_COMPARE_PYMATTING=1 to compare with the real PyMatting (importing it "
    "compiles numba kernels: 40 s to minutes on an empty numba cache)",
)
def test_same_results_as_real_pymatting(tmp_path, rembg_inputs, alpha):
    image, trimap = rembg_inputs
    np.savez(tmp_path / "inputs.npz", image=image, trimap=trimap)
    # A separate process: importing PyMatting imports numba and compiles its kernels.
    result = run_python(
        f"""
        import numpy as np
        from pymatting import (estimate_alpha_cf, estimate_foreground_ml, trimap_split,
                               stack_images, blend)
        data = np.load({str(tmp_path / "inputs.npz")!r})
        image, trimap = data["image"], data["trimap"]
        alpha = estimate_alpha_cf(image, trimap)
        split = trimap_split(trimap)
        np.savez({str(tmp_path / "pymatting.npz")!r}, alpha=alpha,
                 foreground=estimate_foreground_ml(image, alpha),
                 stacked=stack_images(image, alpha), blended=blend(image, image[::-1], alpha),
                 fg=split[0], bg=split[1], known=split[2], unknown=split[3])
        """
    )
    assert result.returncode == 0, result.stderr
    real = np.load(tmp_path / "pymatting.npz")
    np.testing.assert_allclose(alpha, real["alpha"], atol=1e-4)
    foreground = pm.estimate_foreground_ml(image, alpha)
    assert foreground.dtype == real["foreground"].dtype
    # vecmatte relaxes in red-black order instead of raster order: same fixed point, close
    # colours where alpha is not ~0 (the foreground is unconstrained there).
    visible = alpha > 0.1
    assert np.abs(foreground - real["foreground"])[visible].mean() < 0.01
    real_alpha = real["alpha"]
    np.testing.assert_array_equal(pm.stack_images(image, real_alpha), real["stacked"])
    np.testing.assert_allclose(pm.blend(image, image[::-1], real_alpha), real["blended"])
    for got, name in zip(pm.trimap_split(trimap), ("fg", "bg", "known", "unknown"), strict=True):
        np.testing.assert_array_equal(got, real[name])
