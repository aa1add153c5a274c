"""Every numeric option is refused outside its meaningful range, in one line saying why.

Inside the range a solve gives a proper matte: no NaN, no RuntimeWarning (the tests run with
warnings as errors), no LinAlgError or OverflowError. The flat colour regions of
``make_scene`` are the worst case for the windowed colour models: their covariances are zero
only up to float64 rounding.
"""

from __future__ import annotations

import functools
import json
import shutil

import numpy as np
import pytest
from test_options import _alpha_refused
from test_web import call_app, png_bytes

import vecmatte
from vecmatte.cli import main
from vecmatte.laplacians.knn import knn_laplacian


@pytest.fixture(scope="module")
def flat_scene() -> vecmatte.Scene:
    return vecmatte.make_scene((60, 80), seed=1)


def _matte(scene, method, **options) -> np.ndarray:
    alpha = vecmatte.estimate_alpha(scene.image, scene.trimap, method=method, **options)
    assert np.isfinite(alpha).all()
    return alpha


def _refused(scene, method, message, **options) -> str:
    with pytest.raises(ValueError, match=message) as error:
        vecmatte.estimate_alpha(scene.image, scene.trimap, method=method, **options)
    line = str(error.value)
    assert "\n" not in line
    return line


@pytest.mark.parametrize(
    ("method", "smallest", "below"),
    # Before: cf 1e-17 NaN from sqrt/divide and CG broken down at iteration 0 (a garbage
    # matte), lbdm 1e-15 LinAlgError('Singular matrix') and 1e-13 off by 0.4, lkm 1e-10
    # CG broken down (off by 1).
    [("cf", 1e-12, 1e-17), ("lbdm", 1e-10, 1e-15), ("lbdm", 1e-10, 1e-13), ("lkm", 1e-8, 1e-10)],
)
def test_an_eps_below_the_rounding_of_the_window_statistics_is_refused(
    flat_scene, method, smallest, below
):
    line = _refused(flat_scene, method, "eps must be at least", eps=below)
    assert f"{smallest:g}" in line and "rounding error" in line and repr(below) in line
    # The bound itself gives the default's matte.
    default = _matte(flat_scene, method)
    assert np.abs(_matte(flat_scene, method, eps=smallest) - default).max() < 0.01


@pytest.mark.parametrize("method", ["cf", "lbdm", "lkm"])
def test_an_eps_beyond_saturation_is_refused(flat_scene, method):
    # Before: lkm's eps=1e300 overflowed (RuntimeWarning) into a broken CG; cf and lbdm took
    # any eps, all of them giving the same colour-blind matte from about 1e4.
    line = _refused(flat_scene, method, "eps must be at most 1e", eps=1e300)
    assert "1e+06" in line and "covariance" in line
    _matte(flat_scene, method, eps=1e6)


@pytest.mark.parametrize(
    ("method", "options"),
    [
        # Before: knn, rw soft and ifm overflowed a dot product (RuntimeWarning), lbdm soft a
        # float32 cast; lbdm soft with lam=1e-10 broke CG down (off by 0.76 to 1).
        ("knn", {"constraints": "soft", "lam": 1e300}),
        ("rw", {"constraints": "soft", "lam": 1e300}),
        ("lbdm", {"constraints": "soft", "lam": 1e50}),
        ("lbdm", {"constraints": "soft", "lam": 1e-10}),
        ("ifm", {"lam": 1e200}),
    ],
)
def test_a_lam_outside_its_range_is_refused(flat_scene, method, options):
    line = _refused(flat_scene, method, "lam must be from 1e-06 to 1e", **options)
    assert "tolerance" in line and "overflow" in line
    for lam in (1e-6, 1e10):
        _matte(flat_scene, method, **{**options, "lam": lam})


def test_a_random_walk_sigma_whose_square_is_zero_is_refused(flat_scene):
    # Before: ZeroDivisionError (float division by zero) from 1 / sigma**2.
    line = _refused(flat_scene, "rw", "sigma must be at least 1e-06", sigma=1e-300)
    assert "1e-300" in line
    _matte(flat_scene, "rw", sigma=1e-6)


def test_a_knn_position_weight_beyond_float32_is_refused(flat_scene):
    # Before: SciPy's "data must be finite, check for nan or inf values", naming no option.
    line = _refused(
        flat_scene,
        "knn",
        r"distance_weights must be numbers >= 0 and at most 1e\+06",
        distance_weights=(1e100, 0.1),
    )
    assert "float32" in line
    _matte(flat_scene, "knn", distance_weights=(1e6, 0.1))


def test_the_knn_laplacian_names_a_text_for_n_neighbors():
    # Before: "n_neighbors ['x'] and distance_weights [2.0, 0.1] must have the same ... length".
    with pytest.raises(
        ValueError, match=r"n_neighbors must be positive integers up to .*, got 'x'"
    ):
        knn_laplacian(np.zeros((6, 6, 3)), n_neighbors="x")


@pytest.mark.parametrize(
    ("option", "huge", "same"),
    [("expansion_threshold", 1e300, 2.0), ("confidence_sigma_sq", 1e300, 1e9)],
)
def test_a_saturating_shared_matting_option_gives_the_saturated_matte(
    flat_scene, option, huge, same
):
    # Before: "overflow encountered in cast" (the value cast to float32), an error here.
    assert np.array_equal(
        _matte(flat_scene, "sm", **{option: huge}), _matte(flat_scene, "sm", **{option: same})
    )


@pytest.mark.parametrize("option", ["smoothing_sigma_sq", "low_frequency_sigma_sq"])
def test_a_tiny_shared_matting_gaussian_weighs_the_centre_alone(flat_scene, option):
    # Before: 5e-324 overflowed the division (RuntimeWarning); every value up to 1e-3 gives
    # the centre weight alone.
    assert np.array_equal(
        _matte(flat_scene, "sm", **{option: 5e-324}), _matte(flat_scene, "sm", **{option: 1e-3})
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        # Before: overflow and divide by zero in float32 (RuntimeWarnings).
        ({"confidence_sigma_sq": 1e-40}, "confidence_sigma_sq must be at least 1e-06"),
        # Before: "overflow encountered in cast" of the exponents to float32.
        ({"cost_exponents": (1e300, 2, 1, 4)}, "cost_exponents must be at most 1e\\+06"),
    ],
)
def test_a_shared_matting_option_outside_its_range_is_refused(flat_scene, options, message):
    _refused(flat_scene, "sm", message, **options)


def test_the_ichol_shift_warning_points_at_the_users_line(flat_scene):
    # Before: stacklevel=2 named the shim's own alpha.py when its solver called ichol.
    import vecmatte.compat.pymatting as pm

    shifted = functools.partial(pm.ichol, shifts=[-10.0, 0.0])
    with pytest.warns(RuntimeWarning, match="not positive definite") as caught:
        pm.estimate_alpha_lbdm(flat_scene.image, flat_scene.trimap, preconditioner=shifted)
    assert [w.filename for w in caught] == [__file__]


def test_the_command_line_and_the_batch_refuse_a_tiny_eps(tmp_path, scene_files, capsys):
    line = _alpha_refused(tmp_path, scene_files, capsys, "--eps", "1e-17")
    assert "eps must be at least 1e-12" in line
    line = _alpha_refused(tmp_path, scene_files, capsys, "--method", "lkm", "--option", "eps=1e-9")
    assert "eps must be at least 1e-08" in line
    image, trimap = scene_files
    for folder, path in (("images", image), ("trimaps", trimap)):
        (tmp_path / folder).mkdir()
        shutil.copy(path, tmp_path / folder / "a.png")
    argv = ["batch", str(tmp_path / "images"), str(tmp_path / "trimaps"), "-o"]
    assert main([*argv, str(tmp_path / "out"), "--eps", "1e-17"]) != 0
    assert "eps must be at least 1e-12" in capsys.readouterr().err
    assert not list((tmp_path / "out").glob("*alpha*"))


def test_the_web_api_refuses_a_tiny_eps(scene):
    from vecmatte.web import create_app

    fields = {"image": png_bytes(scene.image), "trimap": png_bytes(scene.trimap), "method": "cf"}
    status, _, body = call_app(create_app(), {**fields, "eps": "1e-17"})
    assert status.startswith("422")
    assert json.loads(body)["error"].startswith("eps must be at least 1e-12")


@pytest.mark.parametrize(
    ("options", "message", "bound"),
    [
        # Before: 1e-50 divided by zero (NaN foreground), 1e20 overflowed.
        ({"regularization": 1e-50}, "regularization must be from 1e-10 to 1e\\+06", 1e-10),
        ({"regularization": 1e20}, "regularization must be from 1e-10 to 1e\\+06", 1e6),
        ({"gradient_weight": 1e20}, "gradient_weight must be at most 1e\\+06", 1e6),
        # Before: conjugate gradient ran to its limit and overflowed a dot product.
        ({"method": "cf", "rtol": 1e-300}, "rtol must be at least 1e-15", 1e-15),
    ],
)
def test_a_foreground_option_outside_its_range_is_refused(flat_scene, options, message, bound):
    image, alpha = flat_scene.image, flat_scene.alpha
    with pytest.raises(ValueError, match=message):
        vecmatte.estimate_foreground(image, alpha, **options)
    name = list(options)[-1]
    assert np.isfinite(vecmatte.estimate_foreground(image, alpha, **{**options, name: bound})).all()


@pytest.mark.parametrize("method", ["knn", "lkm"])
def test_an_rtol_below_float64_rounding_is_refused(flat_scene, method):
    # Before: knn ran to its iteration limit (residual 7e8), lkm overflowed a dot product.
    line = _refused(flat_scene, method, "rtol must be at least 1e-15", rtol=1e-300)
    assert "rounding" in line
    _matte(flat_scene, method, rtol=1e-15)


def test_a_random_walk_regularization_that_leaks_everything_is_refused(flat_scene):
    # Before: taken, giving alpha 0 on every unknown pixel from about 1e3 (1e300 alike).
    line = _refused(
        flat_scene, "rw", "regularization must be a number in \\[0, 1\\]", regularization=1e3
    )
    assert "background" in line
    _matte(flat_scene, "rw", regularization=1.0)


def test_a_weak_soft_constraint_of_large_kernel_matting_is_solved(flat_scene):
    # Once lam=0.01 broke conjugate gradient down on this scene and lkm refused lam < 1; its
    # operator now centres the colours, and lam has the range of the other methods.
    _matte(flat_scene, "lkm", constraints="soft", lam=1e-6)
    _refused(flat_scene, "lkm", "lam must be from 1e-06", constraints="soft", lam=1e-7)


@pytest.mark.parametrize(
    "options",
    [
        {"n_neighbors": 0},
        {"n_neighbors": ("x", 10)},
        {"n_neighbors": 10**400},
        {"distance_weights": (-1.0, 0.1)},
        {"distance_weights": (2e6, 0.1)},
        {"distance_weights": {2.0, 0.1}},
        {"n_neighbors": (1, 1)},
    ],
)
def test_the_knn_options_are_refused_in_the_same_words_everywhere(flat_scene, options):
    # Before: check_options and check_passes each checked both with their own words ("positive
    # integers up to 268,435,456, ..." / "positive integers", "finite numbers >= 0 (one per
    # pass)" / "... and at most 1e+06"), so the same value read differently from
    # estimate_alpha and knn_laplacian; a set's order was taken as the passes' order.
    options = {"n_neighbors": (20, 10), "distance_weights": (2.0, 0.1), **options}
    with pytest.raises(ValueError) as laplacian:
        knn_laplacian(flat_scene.image, **options)
    line = _refused(flat_scene, "knn", "must be", **options)
    assert line == str(laplacian.value)


def test_knn_passes_of_one_neighbour_each_are_refused(flat_scene):
    # Before: each pixel's one neighbour is itself, D - W was zero on the unknown rows and
    # Jacobi divided by zero (RuntimeWarning, an error here). One pass of 1 beside others
    # adds only self-loops and is still taken.
    line = _refused(
        flat_scene,
        "knn",
        "n_neighbors must be 2 or more in some pass",
        n_neighbors=(1, 1),
        distance_weights=(0.0, 0.0),
    )
    assert "its own nearest neighbour" in line
    _matte(flat_scene, "knn", n_neighbors=(1, 10))
