"""Every option refuses a value it cannot use in one line naming it, and still takes every kind
of number it can: the methods' and the solver's options in the library, the command line and
the web API, the batch's, ``vecmatte serve --memory-limit``."""

from __future__ import annotations

import inspect
import json
import math
import re

import numpy as np
import pytest
from conftest import files_in, one_error_line
from test_web import call_app, png_bytes

import vecmatte
from vecmatte._numbers import is_real_number
from vecmatte.alpha import METHODS
from vecmatte.cli import main


def _numeric_options() -> list[tuple[str, str, str]]:
    """``(method, option, kind)`` of every numeric option: ``"number"``, ``"number or None"``
    (a default of None and a float annotation) or ``"numbers"`` (a tuple of them)."""
    found = []
    for method, spec in METHODS.items():
        parameters = inspect.signature(spec.entry()).parameters
        for name, default in spec.option_defaults().items():
            if is_real_number(default):
                found.append((method, name, "number"))
            elif default is None and "float" in str(parameters[name].annotation):
                found.append((method, name, "number or None"))
            elif isinstance(default, tuple) and all(map(is_real_number, default)):
                found.append((method, name, "numbers"))
    return found


NUMERIC_OPTIONS = _numeric_options()


NOT_NUMBERS = ["100", "x", None, [1], True, False, 1j, math.nan, math.inf, -math.inf, 10**400, -1]


NOT_SEQUENCES = ["20", "3214", None, True, ["20", 10], [None, 10], [True, 10], [[1], 10]]


NOT_SEQUENCES += [[math.nan, 1], [math.inf, 1], [-1, 1], [10**400, 1]]


def test_the_numeric_options_are_all_found():
    # Guards the parametrisation below: a registry change must not leave options unchecked.
    names = {(method, name) for method, name, _ in NUMERIC_OPTIONS}
    assert {("knn", "lam"), ("lbdm", "lam"), ("rw", "min_weight"), ("ifm", "lam")} <= names
    assert {("sm", "rays"), ("sm", "smoothing_sigma_sq"), ("sm", "cost_exponents")} <= names
    assert {("knn", "n_neighbors"), ("knn", "distance_weights"), ("cf", "eps")} <= names
    assert len(NUMERIC_OPTIONS) >= 27


def _bad_values(kind: str) -> list:
    if kind == "numbers":
        return NOT_SEQUENCES
    return [v for v in NOT_NUMBERS if not (v is None and kind == "number or None")]


CASES = [
    pytest.param(method, name, value, id=f"{method}-{name}-{value!r:.12}")
    for method, name, kind in NUMERIC_OPTIONS
    for value in _bad_values(kind)
]


@pytest.mark.parametrize(("method", "name", "value"), CASES)
def test_a_method_option_that_is_not_a_number_in_range_is_refused_naming_it(
    scene, method, name, value
):
    # knn's lam="100" was taken as a number, lbdm's lam="x" said "could not convert string
    # to float: 'x'", rw's sigma=None "float() argument must be ...", ifm's lam=10**400 a
    # NumPy TypeError, sm's confidence_sigma_sq=None failed in the solve and rays=10**400
    # overflowed the memory estimate.
    with pytest.raises(ValueError) as refused:
        vecmatte.estimate_alpha(scene.image, scene.trimap, method=method, **{name: value})
    message = str(refused.value)
    assert "\n" not in message
    if isinstance(value, bool):  # check_no_bool_numbers' own line
        assert message.startswith(f"{name} takes ")
    else:
        assert message.startswith((f"{name} must be ", f"{name} must hold ")), message
        # The range, not only the type: "a positive finite number", "an integer >= 0" ...
        assert any(word in message for word in ("positive", ">", "[0, 1]", "smaller", "at most")), (
            message
        )


def _kinds_of(default):
    """The default as each kind of number the options must still take."""
    if isinstance(default, tuple):
        return [list(default), np.array(default), tuple(np.float64(v) for v in default)]
    kinds = [np.float64(default), np.array(default), float(default)]
    if float(default).is_integer():
        kinds += [int(default), np.int64(default), np.array(int(default), dtype=np.uint8)]
    else:
        kinds += [np.float32(default)]
    return kinds


@pytest.mark.parametrize(
    ("method", "name", "default"),
    [
        (method, name, METHODS[method].option_defaults()[name])
        for method, name, kind in NUMERIC_OPTIONS
        if kind != "number or None"
    ],
)
def test_numbers_of_every_kind_are_still_taken(method, name, default):
    check = METHODS[method].load().check_options
    for value in _kinds_of(default):
        checked = check((40, 50, 3), **{name: value})
        assert np.allclose(np.asarray(checked[name], dtype=float), default, rtol=1e-6)


def test_a_numpy_number_gives_the_same_matte_as_a_python_one(scene):
    for method, options in (("knn", {"lam": 50.0}), ("rw", {"sigma": 0.05, "lam": 20})):
        as_numpy = {name: np.float64(value) for name, value in options.items()}
        as_arrays = {name: np.array(value) for name, value in options.items()}
        expected = vecmatte.estimate_alpha(scene.image, scene.trimap, method=method, **options)
        for given in (as_numpy, as_arrays):
            alpha = vecmatte.estimate_alpha(scene.image, scene.trimap, method=method, **given)
            np.testing.assert_array_equal(alpha, expected)


@pytest.mark.parametrize(
    ("method", "option"),
    [("knn", "lam=abc"), ("lbdm", "lam=x"), ("rw", "sigma=nan"), ("sm", "rays=[4]")],
)
def test_the_command_line_refuses_a_bad_option_value_naming_it(
    tmp_path, scene_files, capsys, method, option
):
    image, trimap = scene_files
    listing = files_in(tmp_path)
    out = tmp_path / "a.png"
    argv = ["alpha", str(image), str(trimap), "-o", str(out), "--method", method]
    code = main([*argv, "--option", option])
    line = one_error_line(capsys.readouterr().err)
    assert code == 2  # a usage error
    assert option.split("=")[0] in line
    assert files_in(tmp_path) == listing


@pytest.mark.parametrize(
    ("method", "name", "text"),
    [("knn", "lam", "abc"), ("lbdm", "lam", "x"), ("rw", "sigma", "nan"), ("ifm", "lam", "inf")],
)
def test_the_web_api_answers_a_bad_option_value_with_the_library_line(scene, method, name, text):
    # lam=abc reached knn as the text "abc" ("could not convert string to float"); nan and
    # inf were refused as "option value 'nan' is not a finite number", naming no option.
    from vecmatte.web import create_app

    fields = {"image": png_bytes(scene.image), "trimap": png_bytes(scene.trimap), "method": method}
    status, _, body = call_app(create_app(), {**fields, name: text})
    value = float(text) if text in ("nan", "inf") else text
    with pytest.raises(ValueError) as library:
        vecmatte.estimate_alpha(scene.image, scene.trimap, method=method, **{name: value})
    assert status.startswith("422")
    assert json.loads(body)["error"] == str(library.value)
    assert json.loads(body)["error"].startswith(f"{name} must be ")


def test_a_memory_limit_below_the_smallest_solve_is_refused(capsys):
    # --memory-limit 1 was accepted, and then every request was answered 413.
    from vecmatte.web import create_app
    from vecmatte.web._limits import smallest_solve_bytes

    smallest, what = smallest_solve_bytes()
    with pytest.raises(ValueError, match=rf"^memory_bytes must be at least {smallest:,} bytes"):
        create_app(memory_bytes=smallest - 1)
    with pytest.raises(SystemExit) as usage:
        main(["serve", "--memory-limit", "1"])
    assert usage.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --memory-limit: 1 bytes is below the {smallest:,} bytes" in err
    assert what in err and "413" in err


def test_the_smallest_solve_is_served_at_the_smallest_memory_limit():
    # The minimum is principled: at exactly that budget, that smallest solve is answered.
    from vecmatte.web import create_app
    from vecmatte.web._limits import smallest_solve_bytes

    smallest, what = smallest_solve_bytes()
    assert what == "1 x 3 pixels by rw, jacobi"
    image = np.array([[[0.9, 0.2, 0.1], [0.5, 0.4, 0.3], [0.1, 0.2, 0.8]]])
    trimap = np.array([[1.0, 0.5, 0.0]])
    fields = {"image": png_bytes(image), "trimap": png_bytes(trimap), "method": "rw"}
    status, _, body = call_app(create_app(memory_bytes=smallest), fields)
    assert status.startswith("200"), body
    status, _, body = call_app(create_app(memory_bytes=smallest), {**fields, "method": "knn"})
    assert status.startswith("413") and "memory budget" in json.loads(body)["error"]


def test_the_shape_for_any_window_fits_every_kind_of_radius(tmp_path, scene_files):
    # A batch checks the options before any image is read, with an image no radius given is
    # too large for: a NumPy radius did not grow it (sm's smoothing_radius=np.int64(40000)
    # was refused as larger than a 32768 x 32768 image that does not exist).
    from vecmatte._validation import shape_for_any_window
    from vecmatte.batch import find_tasks

    for value in (40000, 40000.0, np.int64(40000), np.array(40000)):
        assert shape_for_any_window({"smoothing_radius": value}) == (80003, 80003, 3)
    for value in (math.nan, math.inf, "40000", True):
        assert shape_for_any_window({"radius": value}) == (32768, 32768, 3)
    # A radius wider than any image widens the shape too: only the image read later may say
    # its window is too large (rw radius=2**29 was refused against the 32768 x 32768 shape).
    assert shape_for_any_window({"radius": 2**29}) == (2**30 + 3, 2**30 + 3, 3)
    image, trimap = scene_files
    (tmp_path / "photos").mkdir()
    (tmp_path / "trimaps").mkdir()
    image.rename(tmp_path / "photos" / "a.png")
    trimap.rename(tmp_path / "trimaps" / "a.png")
    radius = {"smoothing_radius": np.int64(40000)}
    tasks = find_tasks(
        tmp_path / "photos", tmp_path / "trimaps", tmp_path / "out", method="sm", options=radius
    )
    assert [task.name for task in tasks] == ["a"]


def _unchanged(paths):
    before = {path: path.read_bytes() for path in paths}
    return lambda: all(path.read_bytes() == data for path, data in before.items())


def _alpha_refused(tmp_path, scene_files, capsys, *options, code: int = 2) -> str:
    """``vecmatte alpha`` on the scene with ``options`` fails, changing nothing; its line.

    ``code``: 2 for a value no image makes right (a usage error), 1 for one refused for this
    image."""
    image, trimap = scene_files
    unchanged = _unchanged(scene_files)
    listing = files_in(tmp_path)
    exit_code = main(["alpha", str(image), str(trimap), "-o", str(tmp_path / "a.png"), *options])
    line = one_error_line(capsys.readouterr().err)
    assert exit_code == code
    assert files_in(tmp_path) == listing and unchanged()
    return line


@pytest.mark.parametrize(
    ("method", "option"),
    [("cf", "radius=True"), ("cf", "eps=False"), ("knn", "lam=True"), ("rw", "sigma=True")],
)
def test_a_boolean_for_a_numeric_option_is_refused_naming_it(
    tmp_path, scene_files, capsys, method, option
):
    line = _alpha_refused(tmp_path, scene_files, capsys, "--method", method, "--option", option)
    name, value = option.split("=")
    assert line.startswith(f"vecmatte: error: --option {option}: {name} takes")
    assert f"not {value}" in line


def test_a_boolean_option_that_is_a_flag_is_accepted(tmp_path, scene_files, capsys):
    image, trimap = scene_files
    out = tmp_path / "a.png"
    argv = ["alpha", str(image), str(trimap), "-o", str(out), "-q", "--method", "ifm"]
    code = main([*argv, "--option", "known_to_unknown=False"])
    assert code == 0, capsys.readouterr().err
    assert out.exists()


def test_a_radius_too_large_for_the_image_is_still_refused_with_the_image(
    tmp_path, scene_files, capsys
):
    image, trimap = scene_files
    out = tmp_path / "a.png"
    code = main(["alpha", str(image), str(trimap), "-o", str(out), "--radius", "100"])
    line = one_error_line(capsys.readouterr().err)
    assert code == 1 and "smaller than one 201 x 201 window" in line
    assert not out.exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        # Before: "could not convert string to float: '(1'", naming neither option nor fix.
        (["--option", "eps=(1"], "--option eps=(1: eps takes a number such as its default"),
        (["--option", "radius=two"], "--option radius=two: radius takes a number"),
        # Before: the last one won silently.
        (["--option", "eps=1e-6", "--option", "eps=2e-6"], "--option eps is given twice"),
        # Before: sweeps=True ran as sweeps=1.
        (["--preconditioner", "ichol:sweeps=True"], "--preconditioner ichol:sweeps=True: sweeps"),
    ],
)
def test_option_values_are_refused_naming_the_option(
    tmp_path, scene_files, capsys, options, message
):
    assert message in _alpha_refused(tmp_path, scene_files, capsys, *options)


def test_the_same_option_twice_with_one_value_is_fine(tmp_path, scene_files, capsys):
    image, trimap = scene_files
    argv = ["alpha", str(image), str(trimap), "-o", str(tmp_path / "a.png"), "-q"]
    assert main([*argv, "--option", "eps=1e-6", "--option", "eps=1e-6"]) == 0, capsys.readouterr()


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["alpha", "image.png", "--mask", "trimap.png", "-o", "a.png", "--band", "0"], "--band"),
        (["trimap", "trimap.png", "-o", "t.png", "--band", "-3"], "--band"),
        (["alpha", "image.png", "trimap.png", "-o", "a.png", "--max-pixels", "0"], "--max-pixels"),
    ],
)
def test_a_count_below_one_is_a_usage_error_naming_the_option(
    tmp_path, scene_files, capsys, monkeypatch, argv, option
):
    # Before: "trimap.png: band must be a positive whole number", blaming the file.
    monkeypatch.chdir(tmp_path)
    listing = files_in(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    stderr = capsys.readouterr().err
    assert f"error: argument {option}: must be a whole number of at least 1" in stderr
    assert files_in(tmp_path) == listing


@pytest.mark.parametrize(
    ("options", "message", "code"),
    [
        # Before: the window message of the stand-in image (32768 x 32768) checked upfront.
        (["--radius", "100000"], "image of 36 x 44 pixels (height x width) is smaller than", 1),
        # Before: a window message with a number of 300 digits.
        (["--option", "radius=1e300"], "radius must be smaller than the image, got 1e+300", 2),
        (
            ["--method", "lkm", "--option", "radius=1e12"],
            "radius must be smaller than the image",
            2,
        ),
    ],
)
def test_a_huge_radius_is_refused_in_one_readable_line(
    tmp_path, scene_files, capsys, options, message, code
):
    line = _alpha_refused(tmp_path, scene_files, capsys, *options, code=code)
    assert message in line and len(line) < 300


def test_an_overflowing_option_value_is_one_line_not_a_traceback(tmp_path, scene_files, capsys):
    # rw's memory model overflows on radius=1e300 (OverflowError, not ValueError).
    image, trimap = scene_files
    argv = ["alpha", str(image), str(trimap), "-o", str(tmp_path / "a.png"), "--method", "rw"]
    code = main([*argv, "--option", "radius=1e300"])
    one_error_line(capsys.readouterr().err)
    assert code == 1 and not (tmp_path / "a.png").exists()


@pytest.mark.parametrize("value", ["1e-6,2", "[1e-6]", "{}", "None"])
def test_a_non_number_for_a_numeric_option_names_the_option(tmp_path, scene_files, capsys, value):
    # Before: "a value of the wrong type among ...: float() argument must be ... not 'tuple'".
    line = _alpha_refused(tmp_path, scene_files, capsys, "--option", f"eps={value}")
    assert line == (
        f"vecmatte: error: --option eps={value}: eps takes a number such as its default 1e-07, "
        f"got {value!r}"
    )


def test_the_resolved_default_rtol_is_range_checked(scene, monkeypatch):
    # A default out of range (here made so on purpose) is refused like a user's value, not
    # passed to conjugate gradient after a placeholder passed the check.
    import vecmatte.alpha._pipeline as pipeline

    monkeypatch.setattr(pipeline, "default_rtol", lambda preconditioner: 1.5)
    with pytest.raises(ValueError, match=r"^rtol must lie in \[1e-15, 1\), got 1.5"):
        vecmatte.estimate_alpha(scene.image, scene.trimap)
    with pytest.raises(ValueError, match=r"^rtol must lie in \[1e-15, 1\), got 1.5"):
        vecmatte.alpha.check_solve_options({"method": "cf"})
    # a user's rtol is the one used, and checked
    assert vecmatte.solve_alpha(scene.image, scene.trimap, rtol=1e-5).residual <= 1e-5
    with pytest.raises(ValueError, match=r"^rtol must lie in \[1e-15, 1\), got 2.0"):
        vecmatte.estimate_alpha(scene.image, scene.trimap, method="knn", rtol=2.0)


@pytest.mark.parametrize("rtol", ["0", "1", "-1e-3", "nan"])
def test_cli_names_rtol_out_of_range(rtol, tmp_path, scene_files, capsys):
    image, trimap = scene_files
    code = main(["alpha", str(image), str(trimap), "-o", str(tmp_path / "a.png"), f"--rtol={rtol}"])
    assert code == 2
    assert one_error_line(capsys.readouterr().err).startswith("vecmatte: error: rtol must")
    assert not (tmp_path / "a.png").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"radius": "abc"}, "radius must be a positive integer, got 'abc'"),
        ({"radius": [1]}, "radius must be a positive integer, got [1]"),
        ({"radius": "2"}, "radius must be a positive integer, got '2'"),
        ({"eps": "1e-5"}, "eps must be a positive finite number, got '1e-5'"),
        ({"eps": None}, "eps must be a positive finite number, got None"),
        ({"eps": 10**400}, "eps must be a positive finite number, got 1" + "0" * 23 + "... (401"),
        ({"rtol": "1e-6"}, "rtol must be a number in [1e-15, 1), got '1e-6'"),
        ({"rtol": 10**400}, "rtol must lie in [1e-15, 1)"),
        ({"maxiter": "5"}, "maxiter must be an integer of at least 1"),
    ],
)
def test_solver_options_of_the_wrong_type_are_refused_naming_them(scene, options, message):
    # The library read the text "1e-5" as a number, and refused "abc" or [1] with "could
    # not convert string to float" or "float() argument must be ...", naming no option.
    with pytest.raises(ValueError) as error:
        vecmatte.estimate_alpha(scene.image, scene.trimap, **options)
    assert str(error.value).startswith(message)


def test_numbers_of_every_numeric_kind_are_still_taken(scene):
    expected = vecmatte.estimate_alpha(scene.image, scene.trimap)
    alpha = vecmatte.estimate_alpha(
        scene.image,
        scene.trimap,
        radius=np.int64(1),
        eps=np.array(1e-7),
        rtol=np.float64(1e-7),
        maxiter=10**400,
    )
    np.testing.assert_array_equal(alpha, expected)


@pytest.mark.parametrize(
    ("band", "message"),
    [
        ("3", "band must be a positive whole number of pixels, got '3'"),
        (None, "band must be a positive whole number of pixels, got None"),
        ([2], "band must be a positive whole number of pixels, got [2]"),
        (10**400, "no sure foreground is left once a band of"),
    ],
)
def test_a_band_that_is_not_a_number_is_refused_naming_it(tmp_path, scene, band, message):
    # trimap_from_mask(mask, band="3") raised "'<' not supported between instances of 'str'
    # and 'int'", band=None "float() argument must be ...", band=10**400 OverflowError; the
    # batch's find_tasks the same.
    from vecmatte.batch import find_tasks
    from vecmatte.trimap import trimap_from_mask

    with pytest.raises(ValueError, match=re.escape(message)):
        trimap_from_mask(scene.alpha > 0.5, band=band)
    if band is not None and band != 10**400:
        with pytest.raises(ValueError, match=re.escape(message)):
            find_tasks(tmp_path, tmp_path, tmp_path / "out", band=band)


@pytest.mark.parametrize("value", ["2", None, [2]])
def test_jobs_and_max_pixels_that_are_not_numbers_are_refused_naming_them(
    tmp_path, scene_files, value
):
    # run_batch(jobs="2") raised "'<' not supported between instances of 'str' and 'int'",
    # jobs=None "float() argument must be ..."; load_image(max_pixels="5") the same.
    from vecmatte.batch import run_batch

    image, _ = scene_files
    with pytest.raises(ValueError, match=r"^jobs must be a positive whole number, got "):
        run_batch([], jobs=value)
    if value is not None:  # None is no limit
        with pytest.raises(ValueError, match=r"^max_pixels must be a positive integer, got "):
            vecmatte.load_image(image, max_pixels=value)


@pytest.mark.parametrize("option", ["method=knn", "preconditioner=jacobi", "rtol=0.5", "maxiter=3"])
def test_a_solve_keyword_given_as_an_option_of_the_method_is_refused(
    tmp_path, scene_files, capsys, option
):
    # `--method sm --option method=knn` ran knn, and `--rtol 1e-6 --option rtol=0.5` was
    # decided by dict order, silently.
    image, trimap = scene_files
    out = tmp_path / "a.png"
    argv = ["alpha", str(image), str(trimap), "-o", str(out), "--method", "sm", "--option", option]
    assert main(argv) == 2
    name = option.partition("=")[0]
    line = one_error_line(capsys.readouterr().err)
    assert line.endswith(f"{name} is not an option of the method; use --{name}")
    assert not out.exists()
