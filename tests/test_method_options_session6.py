"""Input checks of session 6: every numeric option of every alpha method refuses what is not
a number in its range with one line naming it, in the library, the command line and the web
API."""

from __future__ import annotations

import inspect
import io
import json
import math
import sys
from wsgiref.util import setup_testing_defaults

import numpy as np
import pytest
from conftest import files_in
from PIL import Image

import vecmatte
from vecmatte._validation import is_real_number
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


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("vecmatte: error:")]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


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
    line = _one_error_line(capsys.readouterr().err)
    assert code == 1
    assert option.split("=")[0] in line
    assert files_in(tmp_path) == listing


def _call(app, fields: dict) -> tuple[str, bytes]:
    """Status and body of one POST /api/alpha straight through the WSGI application."""
    boundary = "sessionSixBoundary"
    chunks = []
    for name, value in fields.items():
        if isinstance(value, bytes):
            head = f'Content-Disposition: form-data; name="{name}"; filename="{name}.png"\r\n'
            head += "Content-Type: image/png\r\n"
        else:
            head = f'Content-Disposition: form-data; name="{name}"\r\n'
            value = value.encode()
        chunks.append(f"--{boundary}\r\n{head}\r\n".encode() + value + b"\r\n")
    body = b"".join(chunks) + f"--{boundary}--\r\n".encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/alpha",
        "CONTENT_TYPE": f"multipart/form-data; boundary={boundary}",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
    }
    setup_testing_defaults(environ)
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"] = status

    content = b"".join(app(environ, start_response))
    return answer["status"], content


def _png(array) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.round(np.asarray(array) * 255).astype(np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("method", "name", "text"),
    [("knn", "lam", "abc"), ("lbdm", "lam", "x"), ("rw", "sigma", "nan"), ("ifm", "lam", "inf")],
)
def test_the_web_api_answers_a_bad_option_value_with_the_library_line(scene, method, name, text):
    # lam=abc reached knn as the text "abc" ("could not convert string to float"); nan and
    # inf were refused as "option value 'nan' is not a finite number", naming no option.
    from vecmatte.web import create_app

    fields = {"image": _png(scene.image), "trimap": _png(scene.trimap), "method": method}
    status, body = _call(create_app(), {**fields, name: text})
    value = float(text) if text in ("nan", "inf") else text
    with pytest.raises(ValueError) as library:
        vecmatte.estimate_alpha(scene.image, scene.trimap, method=method, **{name: value})
    assert status.startswith("422")
    assert json.loads(body)["error"] == str(library.value)
    assert json.loads(body)["error"].startswith(f"{name} must be ")


# --- vecmatte serve --memory-limit ------------------------------------------------------------


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
    fields = {"image": _png(image), "trimap": _png(trimap), "method": "rw"}
    status, body = _call(create_app(memory_bytes=smallest), fields)
    assert status.startswith("200"), body
    status, body = _call(create_app(memory_bytes=smallest), {**fields, "method": "knn"})
    assert status.startswith("413") and "memory budget" in json.loads(body)["error"]


# --- EPS without Ghostscript ----------------------------------------------------------------


def test_an_eps_file_without_ghostscript_says_ghostscript_is_needed(tmp_path, monkeypatch):
    # An intact EPS said "cannot read image, the file is damaged or truncated (Unable to
    # locate Ghostscript on paths)" when only the Ghostscript program was missing.
    from PIL import EpsImagePlugin

    path = tmp_path / "photo.eps"
    Image.fromarray(np.full((8, 8, 3), 128, dtype=np.uint8)).save(path)
    monkeypatch.setattr(EpsImagePlugin, "has_ghostscript", lambda: False)
    with pytest.raises(ValueError) as refused:
        vecmatte.load_image(path)
    message = str(refused.value)
    assert message.startswith(f"{path}: reading EPS needs Ghostscript")
    assert "damaged" not in message and "\n" not in message
    # A damaged file of another format is still called damaged.
    damaged = tmp_path / "damaged.png"
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((64, 64), dtype=np.uint8)).save(buffer, "PNG")
    damaged.write_bytes(buffer.getvalue()[:60])
    with pytest.raises(ValueError, match="damaged or truncated"):
        vecmatte.load_image(damaged)


# --- a batch's folder of GIF images -------------------------------------------------------------


def test_a_batch_takes_gif_images_and_trimaps(tmp_path, scene):
    # The GIF files of a batch's folders were skipped without a word ("no image files in
    # this folder" when they were all GIF), though vecmatte alpha reads GIF.
    from vecmatte.batch import find_tasks

    photos, trimaps = tmp_path / "photos", tmp_path / "trimaps"
    photos.mkdir()
    trimaps.mkdir()
    Image.fromarray(np.round(scene.image * 255).astype(np.uint8)).save(photos / "a.gif")
    Image.fromarray(np.round(scene.image * 255).astype(np.uint8)).save(photos / "b.png")
    levels = np.round(scene.trimap * 255).astype(np.uint8)
    Image.fromarray(levels).save(trimaps / "a.png")
    Image.fromarray(levels).save(trimaps / "b.gif")
    tasks = find_tasks(photos, trimaps, tmp_path / "out")
    assert [(t.name, t.image_path, t.trimap_path) for t in tasks] == [
        ("a", str(photos / "a.gif"), str(trimaps / "a.png")),
        ("b", str(photos / "b.png"), str(trimaps / "b.gif")),
    ]
    out = tmp_path / "cli"
    assert main(["batch", str(photos), str(trimaps), "-o", str(out), "-q"]) == 0
    assert files_in(out) >= {"a_alpha.png", "b_alpha.png"}


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
