"""Shared validation of solver options and of the radius (issue 17, items 2 and 6)."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from conftest import files_in

import vecmatte
from vecmatte._radius_cost import (
    SLOW_SOLVE_SECONDS,
    SlowSolveWarning,
    check_radius_cost,
    radius_seconds,
)
from vecmatte._validation import check_radius_eps, check_solver_options
from vecmatte.memory import InsufficientMemoryError, check_memory

# --- rtol and maxiter -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rtol", "maxiter"), [(1e-6, None), (0.5, 1), (1e-12, 10**6), (np.float32(1e-3), np.int64(7))]
)
def test_valid_solver_options_pass(rtol, maxiter):
    checked = check_solver_options(rtol, maxiter)
    assert checked == (float(rtol), None if maxiter is None else int(maxiter))


@pytest.mark.parametrize(
    ("rtol", "maxiter", "message"),
    [
        (2, None, "rtol must lie in [1e-15, 1), got 2"),
        (1.0, None, "rtol must lie in [1e-15, 1), got 1.0"),
        (0.0, None, "rtol must lie in [1e-15, 1), got 0.0"),
        (-1e-6, None, "rtol must lie in [1e-15, 1), got -1e-06"),
        (float("nan"), None, "rtol must lie in [1e-15, 1), got nan"),
        ("tight", None, "rtol must be a number in [1e-15, 1), got 'tight'"),
        (1e-6, 0, "maxiter must be an integer of at least 1 (or None: 10 times the number of "),
        (1e-6, -5, "got -5"),
        (1e-6, 2.5, "got 2.5"),
        # A boolean is refused as whole_number refuses it ("not", where it said "got").
        (
            1e-6,
            True,
            "maxiter must be an integer of at least 1 (or None: 10 times the number "
            "of equations), not True",
        ),
        (1e-6, "ten", "got 'ten'"),
    ],
)
def test_bad_solver_options_are_refused_naming_the_value(rtol, maxiter, message):
    with pytest.raises(ValueError) as error:
        check_solver_options(rtol, maxiter)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(("option", "value"), [("rtol", 2.0), ("maxiter", 0), ("maxiter", -5)])
def test_library_refuses_before_writing_a_wrong_matte(scene, option, value):
    with pytest.raises(ValueError, match=f"{option} must"):
        vecmatte.estimate_alpha(scene.image, scene.trimap, **{option: value})


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        (["--rtol", "2"], "rtol must lie in [1e-15, 1), got 2.0"),
        (["--maxiter", "0"], "maxiter must be an integer of at least 1"),
        (["--maxiter", "-5"], "got -5"),
    ],
)
def test_command_line_refuses_with_one_line_and_writes_nothing(
    tmp_path, scene_files, capsys, argument, message
):
    from vecmatte.cli import main

    image, trimap = scene_files
    before = {path: path.read_bytes() for path in (image, trimap)}
    listing = files_in(tmp_path)
    code = main(["alpha", str(image), str(trimap), "-o", str(tmp_path / "a.png"), *argument])
    stderr = capsys.readouterr().err
    assert code == 2, stderr  # a usage error, as argparse's own (f45a117)
    errors = [line for line in stderr.splitlines() if line.startswith("vecmatte: error:")]
    assert len(errors) == 1 and message in errors[0], stderr
    assert "Traceback" not in stderr
    assert files_in(tmp_path) == listing
    assert all(path.read_bytes() == data for path, data in before.items())


# --- radius -----------------------------------------------------------------------------------


def test_radius_cost_grows_like_the_fourth_power():
    assert radius_seconds(10_000, 2) / radius_seconds(10_000, 1) == pytest.approx((5 / 3) ** 4)
    assert radius_seconds(20_000, 3) == pytest.approx(2 * radius_seconds(10_000, 3))


def test_usual_radii_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # 0.13 MP with 15% unknown at radius 1 and 2: seconds at most
        assert check_radius_cost(20_000, 1) < 1
        assert check_radius_cost(20_000, 2) < SLOW_SOLVE_SECONDS


def test_a_radius_that_takes_minutes_warns_with_a_radius_that_does_not():
    # issue 17: --radius 10 on a 0.13 MP image did not finish in two minutes
    with pytest.warns(SlowSolveWarning) as record:
        seconds = check_radius_cost(20_000, 10)
    assert seconds > SLOW_SOLVE_SECONDS
    message = str(record[0].message)
    assert message.startswith("radius=10 with 20,000 unknown pixels will take about")
    fast = int(re.search(r"radius <= (\d+) takes under a minute", message).group(1))
    assert radius_seconds(20_000, fast) <= SLOW_SOLVE_SECONDS
    assert radius_seconds(20_000, fast + 1) > SLOW_SOLVE_SECONDS
    assert record[0].filename == __file__


def test_estimate_alpha_warns_at_the_callers_line_before_the_work(monkeypatch):
    import vecmatte._radius_cost

    # A cheap solve made to look slow: the warning must come first and point here.
    monkeypatch.setattr(vecmatte._radius_cost, "SECONDS_PER_UNKNOWN_PER_WINDOW_PAIR", 1.0)
    scene = vecmatte.make_scene((30, 36), seed=1)
    with pytest.warns(SlowSolveWarning, match="radius=2 with") as record:
        vecmatte.estimate_alpha(scene.image, scene.trimap, radius=2)
    assert record[0].filename == __file__


def test_window_message_is_height_by_width_and_names_a_radius_that_fits():
    with pytest.raises(ValueError) as error:
        check_radius_eps(100, 1e-7, (164, 247, 3))
    message = str(error.value)
    assert message.startswith("image of 164 x 247 pixels (height x width) is smaller than one")
    fits = int(re.search(r"use radius <= (\d+)", message).group(1))
    assert check_radius_eps(fits, 1e-7, (164, 247, 3))[0] == fits == 81
    with pytest.raises(ValueError):
        check_radius_eps(fits + 1, 1e-7, (164, 247, 3))


@pytest.mark.parametrize("shape", [(0, 0), (0, 5), (4, 0)])
def test_an_empty_image_or_trimap_is_called_empty(shape):
    # min() of a zero-size array raised NumPy's "zero-size array to reduction operation".
    with pytest.raises(ValueError, match=r"^image is empty \(\d+ x \d+ pixels\)$"):
        vecmatte.estimate_alpha(np.zeros((*shape, 3)), np.zeros(shape))
    with pytest.raises(ValueError, match=r"^trimap is empty"):
        vecmatte.estimate_alpha(np.zeros((3, 3, 3)), np.zeros(shape))


@pytest.mark.parametrize("shape", [(1, 1, 3), (2, 2, 3), (2, 9, 3), (9, 1, 3)])
def test_window_message_never_suggests_a_radius_that_is_refused(shape):
    # A 2 x 2 image was told "use radius <= 0", which check_radius_eps itself refuses.
    with pytest.raises(ValueError) as error:
        check_radius_eps(1, 1e-7, shape)
    message = str(error.value)
    assert "use a larger image" in message
    assert "radius <=" not in message


def test_memory_refusal_only_suggests_a_size_that_works():
    # issue 17: --radius 100 suggested "downscale to at most 247 x 164", which then failed
    # with "smaller than one 201 x 201 window".
    shape = (524, 800)
    with pytest.raises(InsufficientMemoryError) as error:
        check_memory(shape, 60_000, 100, available=2**30)
    message = str(error.value)
    assert "downscale" not in message
    assert "use a smaller radius than 100" in message
    # Where downscaling does work, the size offered passes the method's own checks.
    with pytest.raises(InsufficientMemoryError) as error:
        check_memory(shape, 60_000, 2, available=2**28)
    match = re.search(
        r"downscale the image to at most (\d+) x (\d+) pixels \(height x width", str(error.value)
    )
    height, width = int(match.group(1)), int(match.group(2))
    assert height < shape[0] and width < shape[1]
    assert height / width == pytest.approx(shape[0] / shape[1], rel=0.02)
    check_radius_eps(2, 1e-7, (height, width, 3))


# --- booleans where numbers are wanted ---------------------------------------------------------


@pytest.mark.parametrize("method", ["cf", "lkm", "lbdm"])
@pytest.mark.parametrize(("option", "value"), [("radius", True), ("eps", True), ("eps", False)])
def test_a_boolean_radius_or_eps_is_refused_not_read_as_one(scene, method, option, value):
    # radius=True ran as radius 1 (Python's True == 1); it is a typo to name, not a number.
    with pytest.raises(ValueError) as error:
        vecmatte.estimate_alpha(scene.image, scene.trimap, method=method, **{option: value})
    message = str(error.value)
    assert message.startswith(f"{option} ") and f"not {value}" in message
    assert "\n" not in message


@pytest.mark.parametrize("value", [True, np.bool_(False)])
def test_a_boolean_rtol_is_refused_as_a_boolean(value):
    with pytest.raises(ValueError, match=r"rtol must be a number in \[1e-15, 1\), not"):
        check_solver_options(value, None)


def test_numeric_options_refuse_booleans_flag_options_take_them():
    from vecmatte._validation import check_no_bool_numbers

    def entry(
        image,
        *,
        radius: int = 1,
        lam: float = 100.0,
        sizes=(2, 3),
        auto: bool | None = None,
        flag=False,
        sigma=None,
        kernel="binary",
    ):
        pass

    for name in ("radius", "lam", "sizes", "sigma", "kernel"):
        with pytest.raises(ValueError, match=f"^{name} takes .*not True"):
            check_no_bool_numbers(entry, {name: True})
    check_no_bool_numbers(entry, {"auto": True, "flag": np.bool_(True), "radius": 2, "lam": 1.0})


def test_an_rgba_array_is_told_how_to_drop_its_alpha_channel(scene):
    rgba = np.dstack([scene.image, np.ones(scene.trimap.shape)])
    with pytest.raises(ValueError) as error:
        vecmatte.estimate_alpha(rgba, scene.trimap)
    assert str(error.value) == (
        f"image has shape {rgba.shape}; expected (h, w, 3) RGB or (h, w) gray; drop the alpha "
        "channel first (image[:, :, :3])"
    )
    # and the advice works
    assert vecmatte.estimate_alpha(rgba[:, :, :3], scene.trimap).shape == scene.trimap.shape


# --- bounds given in float32 ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "option", "bound"),
    [
        ("ifm", "lam", 1e-6),  # SMALLEST_LAM
        ("rw", "lam", 1e10),  # LARGEST_LAM
        ("cf", "eps", 1e-12),  # SMALLEST_EPS["closed-form"]
        ("lbdm", "eps", 1e-10),
        ("cf", "eps", 1e6),  # LARGEST_EPS
        ("cf", "rtol", 1e-15),  # SMALLEST_RTOL
    ],
)
@pytest.mark.parametrize("form", [np.float32, lambda v: np.array(v, dtype=np.float32)])
def test_a_bound_given_in_float32_is_taken_and_just_beyond_it_is_not(
    scene, method, option, bound, form
):
    """np.float32(1e-6) is 9.99999997e-07: it was refused as below the bound 1e-6 it spells."""
    alpha = vecmatte.estimate_alpha(
        scene.image, scene.trimap, method=method, **{option: form(bound)}
    )
    assert np.isfinite(alpha).all()
    # One float32 step beyond the bound stays refused.
    beyond = np.nextafter(np.float32(bound), np.float32(0 if bound < 1 else np.inf))
    with pytest.raises(ValueError, match=f"^{option} must"):
        vecmatte.estimate_alpha(scene.image, scene.trimap, method=method, **{option: form(beyond)})


@pytest.mark.parametrize(
    ("option", "value", "shown"),
    [
        ("eps", 10**400, "... (401 characters)"),
        ("eps", -1, "got -1"),
        ("rtol", 10**400, "... (401 characters)"),
        ("radius", 10**40, "got 1e+40"),
    ],
)
def test_options_are_shown_as_given_and_cut_short(scene, option, value, shown):
    """10**400 was printed with all 401 digits (eps said 'inf'), eps=-1 as '-1.0'."""
    with pytest.raises(ValueError) as refused:
        vecmatte.estimate_alpha(scene.image, scene.trimap, **{option: value})
    message = str(refused.value)
    assert message.startswith(f"{option} must") and "\n" not in message
    assert shown in message and len(message) < 240
    assert option != "eps" or value != -1 or not message.endswith("-1.0")


@pytest.mark.parametrize("option", ["eps", "rtol"])
def test_an_integer_python_will_not_write_out_is_shown_by_its_size(scene, option):
    """repr(10**5000) raises ValueError 'Exceeds the limit (4300 digits) ...', which was the
    message instead of the option's."""
    with pytest.raises(ValueError, match=f"^{option} must.*got an integer of about 5000 digits"):
        vecmatte.estimate_alpha(scene.image, scene.trimap, **{option: 10**5000})


_HUGE = 10**5000  # repr() refuses it: "Exceeds the limit (4300 digits) ..."


@pytest.mark.parametrize(
    ("call", "start"),
    [
        (lambda s: vecmatte.make_scene((6, 8), seed=-_HUGE), "seed must be"),
        (lambda s: vecmatte.make_scene((6, 8, 3, _HUGE)), "shape must be"),
        (lambda s: vecmatte.estimate_alpha(s.image, s.trimap, preconditioner=_HUGE), "precond"),
        (lambda s: vecmatte.estimate_alpha(s.image, s.trimap, callback=_HUGE), "callback must"),
        (lambda s: vecmatte.estimate_alpha(s.image, s.trimap, method="x" * 3000), "unknown"),
        (lambda s: vecmatte.estimate_alpha(s.image, s.trimap, preconditioner="y" * 3000), "unk"),
        (
            lambda s: vecmatte.estimate_alpha(
                s.image, s.trimap, preconditioner="ichol:" + "z" * 3000
            ),
            "pre",
        ),
        (lambda s: vecmatte.estimate_foreground(s.image, s.alpha, method="w" * 3000), "unknown"),
    ],
)
def test_a_value_too_long_to_print_is_named_in_a_short_line(scene, call, start):
    """Such values were repeated whole in the message (3000 characters), or repr() of an
    integer of 5000 digits raised Python's ValueError instead of the message."""
    with pytest.raises((ValueError, TypeError)) as refused:
        call(scene)
    message = str(refused.value)
    assert message.startswith(start) and len(message) < 300 and "sys.set_int" not in message


@pytest.mark.parametrize(
    ("radius", "eps", "message"),
    [
        # The wrong kind is named first (radius before eps), then radius's range, then eps's.
        ("x", float("nan"), "radius must be a positive integer, got 'x'"),
        (-1, "x", "eps must be a positive finite number, got 'x'"),
        (-1, None, "eps must be a positive finite number, got None"),
        (-1, float("nan"), "radius must be a positive integer, got -1"),
        (1.5, -1, "radius must be a positive integer, got 1.5"),
        (10**400, 0, "radius must be smaller than the image"),
        (2, -1, "eps must be a positive finite number, got -1"),
        (2, np.array(float("nan")), "eps must be a positive finite number, got nan"),
        (2, -(10**400), "eps must be a positive finite number, got -1000000000"),
        (2, 10**400, "eps must be a positive finite number, got 1000000000"),
        # the value's repr: 'np.float32(inf)' from NumPy 2 on, 'inf' before
        (2, np.float32("inf"), f"eps must be a positive finite number, got {np.float32('inf')!r}"),
        (2, 0.0, "eps must be a positive finite number, got 0.0"),
        (2, 1e-20, "eps must be at least"),
    ],
)
def test_of_radius_and_eps_the_wrong_kind_is_named_first_then_radius(radius, eps, message):
    with pytest.raises(ValueError) as error:
        check_radius_eps(radius, eps, (30, 40, 3))
    assert str(error.value).startswith(message)


@pytest.mark.parametrize(("option", "method"), [("eps", "cf"), ("lam", "lkm")])
def test_a_float16_option_is_read_without_numpys_overflow_warning(scene, option, method):
    # snapped() compared the value with each bound rounded to float16, and LARGEST_EPS /
    # LARGEST_LAM overflow float16: NumPy warned 'overflow encountered in cast'.
    value = {"eps": 1e-5, "lam": 100.0}[option]
    options = {"radius": 1} if method == "lkm" else {}
    alpha = vecmatte.estimate_alpha(
        scene.image, scene.trimap, method=method, **{option: np.float16(value)}, **options
    )
    expected = vecmatte.estimate_alpha(
        scene.image, scene.trimap, method=method, **{option: float(np.float16(value))}, **options
    )
    np.testing.assert_array_equal(alpha, expected)
