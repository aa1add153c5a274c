"""The ``vecmatte`` command end to end: in-process through ``main``, and once as installed."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import files_in, one_error_line, write_float_tiff, write_png
from PIL import Image

import vecmatte
from vecmatte.cli import COMMANDS, build_parser, main
from vecmatte.io import load_image, load_trimap


def _read(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image)


# --- alpha ------------------------------------------------------------------------------------


def test_alpha_writes_matte_and_cutout(tmp_path, scene, scene_files, capsys):
    image, trimap = scene_files
    code = main(
        [
            "alpha",
            str(image),
            str(trimap),
            "-o",
            str(tmp_path / "a.png"),
            "--cutout",
            str(tmp_path / "c.png"),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out == ""  # progress goes to stderr
    assert "CG iteration" in captured.err
    assert "CG iterations" in captured.err and "wrote" in captured.err
    alpha = _read(tmp_path / "a.png")
    assert alpha.shape == scene.alpha.shape and alpha.dtype == np.uint8
    unknown = scene.trimap == 0.5
    # 8-bit input and output: the matte is within a few grey levels of the truth.
    assert np.abs(alpha / 255.0 - scene.alpha)[unknown].max() < 0.05
    cutout = _read(tmp_path / "c.png")
    assert cutout.shape == (*scene.alpha.shape, 4)
    np.testing.assert_array_equal(cutout[:, :, 3], alpha)
    # Colours: an estimated foreground (or the image), close to the image where it is opaque.
    opaque = alpha == 255
    assert opaque.sum() > 100
    difference = np.abs(cutout[:, :, :3].astype(int) - _read(image).astype(int))[opaque]
    assert difference.max() <= 16 and difference.mean() < 1.0
    assert files_in(tmp_path) == {"image.png", "trimap.png", "a.png", "c.png"}


def test_optional_positional_may_follow_the_options(tmp_path, scene_files, capsys):
    image, trimap = scene_files
    assert main(["alpha", str(image), "-o", str(tmp_path / "a.png"), "-q", str(trimap)]) == 0
    expected = vecmatte.estimate_alpha(vecmatte.load_image(image), vecmatte.load_trimap(trimap))
    np.testing.assert_array_equal(
        _read(tmp_path / "a.png"), np.round(expected * 255).astype(np.uint8)
    )
    with pytest.raises(SystemExit) as exit_info:
        main(["alpha", str(image), "-o", str(tmp_path / "b.png"), str(trimap), "stray"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: stray" in capsys.readouterr().err
    assert not (tmp_path / "b.png").exists()


def test_alpha_matches_library(tmp_path, scene_files):
    image, trimap = scene_files
    assert main(["alpha", str(image), str(trimap), "-o", str(tmp_path / "a.png"), "-q"]) == 0
    expected = vecmatte.estimate_alpha(vecmatte.load_image(image), vecmatte.load_trimap(trimap))
    np.testing.assert_array_equal(
        _read(tmp_path / "a.png"), np.round(expected * 255).astype(np.uint8)
    )


@pytest.mark.parametrize("preconditioner", [*vecmatte.PRECONDITIONERS, "none"])
def test_alpha_options(tmp_path, scene_files, preconditioner, capsys):
    image, trimap = scene_files
    code = main(
        [
            "alpha",
            str(image),
            str(trimap),
            "-o",
            str(tmp_path / "a.png"),
            "--eps",
            "1e-6",
            "--radius",
            "2",
            "--rtol",
            "1e-7",
            "--preconditioner",
            preconditioner,
        ]
    )
    assert code == 0
    assert f"preconditioner {preconditioner}" in capsys.readouterr().err
    assert (tmp_path / "a.png").is_file()


def test_alpha_quiet_prints_nothing(tmp_path, scene_files, capsys):
    image, trimap = scene_files
    assert main(["alpha", str(image), str(trimap), "-o", str(tmp_path / "a.png"), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.out == captured.err == ""


def test_alpha_not_converged_warns_with_residual(tmp_path, scene_files, capsys):
    image, trimap = scene_files
    code = main(
        [
            "alpha",
            str(image),
            str(trimap),
            "-o",
            str(tmp_path / "a.png"),
            "--maxiter",
            "1",
            "-q",
            "--preconditioner",
            "none",
        ]
    )
    err = capsys.readouterr().err
    assert code == 0
    assert err.startswith("vecmatte: warning: conjugate gradient stopped after 1 iterations")
    assert "relative residual" in err
    assert len(err.strip().splitlines()) == 1  # one message even with --quiet, no source line


def test_alpha_trimap_without_unknown_warns(tmp_path, scene, capsys):
    image = write_png(tmp_path / "image.png", scene.image)
    trimap = write_png(tmp_path / "trimap.png", (scene.alpha >= 0.5).astype(float))
    assert main(["alpha", str(image), str(trimap), "-o", str(tmp_path / "a.png"), "-q"]) == 0
    assert "vecmatte: warning: trimap has no unknown pixels" in capsys.readouterr().err
    np.testing.assert_array_equal(_read(tmp_path / "a.png"), _read(trimap))


def test_alpha_shows_each_reading_note_once_per_run(tmp_path, scene, capsys):
    # The readers' warnings point at the first frame outside vecmatte (here this test's
    # line, under the console script its line): the command still shows each once, and a
    # second run in the same process shows them again.
    levels = np.round(scene.trimap * 255).astype(np.uint8)
    pixels = np.round(scene.image * 255).astype(np.uint8)
    image = write_png(tmp_path / "image.png", np.dstack([pixels, np.full_like(levels, 100)]))
    frames = [Image.fromarray(levels), Image.fromarray(levels[::-1].copy())]
    frames[0].save(tmp_path / "trimap.gif", save_all=True, append_images=frames[1:])
    for _run in range(2):
        argv = ["alpha", str(image), str(tmp_path / "trimap.gif"), "-o", str(tmp_path / "a.png")]
        assert main([*argv, "-q"]) == 0
        notes = capsys.readouterr().err.splitlines()
        assert len(notes) == 2, notes
        assert notes[0].startswith(f"vecmatte: warning: {image}: the image has an alpha channel")
        assert notes[1].startswith(f"vecmatte: warning: {tmp_path / 'trimap.gif'}: the file holds")


def test_alpha_sixteen_bit_trimap(tmp_path, scene, capsys):
    image = write_png(tmp_path / "image.png", scene.image)
    trimap = write_png(tmp_path / "trimap.png", np.round(scene.trimap * 65535).astype(np.uint16))
    assert main(["alpha", str(image), str(trimap), "-o", str(tmp_path / "a.png"), "-q"]) == 0


def _bad_case(tmp_path, scene, case):
    """Write the inputs of a bad-input case; return (argv without -o, expected message)."""
    image = write_png(tmp_path / "image.png", scene.image)
    trimap = write_png(tmp_path / "trimap.png", scene.trimap)
    if case == "size mismatch":
        trimap = write_png(tmp_path / "small.png", scene.trimap[:-3])
        return [image, trimap], r"trimap has shape \(33, 44\) but image has shape \(36, 44\)"
    if case == "no foreground":
        trimap = write_png(tmp_path / "nofg.png", np.where(scene.trimap > 0.9, 0.5, scene.trimap))
        return [image, trimap], "no foreground"
    if case == "no background":
        trimap = write_png(tmp_path / "nobg.png", np.where(scene.trimap < 0.1, 0.5, scene.trimap))
        return [image, trimap], "no background"
    if case == "nan":
        values = scene.image.mean(axis=2)
        values[4, 4] = np.nan
        return [write_float_tiff(tmp_path / "nan.tif", values), trimap], "nan.tif.*NaN|NaN"
    if case == "out of range":
        values = scene.image.mean(axis=2) * 3
        return [write_float_tiff(tmp_path / "big.tif", values), trimap], r"values in \[0"
    if case == "2x2 image":
        small_image = write_png(tmp_path / "i2.png", scene.image[:2, :2])
        small_trimap = write_png(tmp_path / "t2.png", np.array([[0.0, 0.5], [0.5, 1.0]]))
        return [small_image, small_trimap], "smaller than one 3 x 3 window"
    if case == "text file named png":
        fake = tmp_path / "fake.png"
        fake.write_text("not an image\n")
        return [fake, trimap], r"fake\.png: not an image file"
    if case == "text trimap named png":
        fake = tmp_path / "fake.png"
        fake.write_text("not an image\n")
        return [image, fake], r"fake\.png: not an image file"
    if case == "missing file":
        return [tmp_path / "missing.png", trimap], r"missing\.png: no such file"
    if case == "directory as image":
        (tmp_path / "folder").mkdir()
        return [tmp_path / "folder", trimap], "is a directory"
    raise AssertionError(case)


BAD_CASES = [
    "size mismatch",
    "no foreground",
    "no background",
    "nan",
    "out of range",
    "2x2 image",
    "text file named png",
    "text trimap named png",
    "missing file",
    "directory as image",
]


@pytest.mark.parametrize("case", BAD_CASES)
def test_alpha_bad_input_exit_1_no_output(tmp_path, scene, case, capsys):
    inputs, message = _bad_case(tmp_path, scene, case)
    before = files_in(tmp_path)
    argv = [
        "alpha",
        *map(str, inputs),
        "-o",
        str(tmp_path / "out.png"),
        "--cutout",
        str(tmp_path / "cut.png"),
    ]
    assert main(argv) == 1
    line = one_error_line(capsys.readouterr().err)
    assert re.search(message, line), line
    assert files_in(tmp_path) == before  # no output, no temporary file


@pytest.mark.parametrize(
    ("output", "cutout", "message", "code"),
    [
        ("missing/a.png", None, r"output directory .*missing does not exist", 1),
        ("a.png", "missing/c.png", r"output directory .*missing does not exist", 1),
        ("folder", None, "is a directory", 1),
        # Refused by the names alone: a usage error, as an option's value (session 10: 1).
        ("a.xyz", None, "unknown image file extension", 2),
        ("a.png", "c.jpg", "JPEG cannot store an alpha channel", 2),
        ("missing/a.xyz", None, "unknown image file extension", 2),
    ],
)
def test_alpha_bad_output_path_writes_nothing(
    tmp_path, scene_files, output, cutout, message, code, capsys
):
    image, trimap = scene_files
    (tmp_path / "folder").mkdir()
    before = files_in(tmp_path)
    argv = ["alpha", str(image), str(trimap), "-o", str(tmp_path / output)]
    if cutout:
        argv += ["--cutout", str(tmp_path / cutout)]
    assert main(argv) == code
    err = capsys.readouterr().err
    assert re.search(message, one_error_line(err))
    assert "solving" not in err  # refused before any computation
    assert files_in(tmp_path) == before
    assert not (tmp_path / "missing").exists()


@pytest.mark.skipif(
    os.name != "posix" or os.geteuid() == 0, reason="needs POSIX permissions, not root"
)
def test_alpha_read_only_directory(tmp_path, scene_files, capsys):
    image, trimap = scene_files
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert main(["alpha", str(image), str(trimap), "-o", str(locked / "a.png")]) == 1
        assert "permission denied" in one_error_line(capsys.readouterr().err)
        assert files_in(locked) == set()
    finally:
        locked.chmod(0o700)


@pytest.mark.parametrize(
    "argv",
    [
        ["alpha", "i.png", "t.png"],  # no -o
        ["alpha", "i.png", "-o", "a.png"],  # no trimap
        ["alpha", "i.png", "t.png", "-o", "a.png", "--preconditioner", "amg"],
        ["alpha", "i.png", "t.png", "-o", "a.png", "--radius", "one"],
        ["frobnicate"],
        [],
    ],
)
def test_usage_errors_exit_2(argv, capsys):
    # One error line and where to read more, not argparse's whole usage block above it.
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("vecmatte: error: ")
    command = argv[0] if argv and argv[0] in COMMANDS else None
    assert lines[1] == (f"see vecmatte {command} --help" if command else "see vecmatte --help")


def test_alpha_bad_option_value_is_a_usage_error(tmp_path, scene_files, capsys):
    image, trimap = scene_files
    argv = ["alpha", str(image), str(trimap), "-o", str(tmp_path / "a.png"), "--eps", "-1"]
    assert main(argv) == 2  # as argparse's --band 0 (tests/test_cli_exit_codes.py: each option)
    assert "eps must be a positive" in one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "a.png").exists()


# --- demo -------------------------------------------------------------------------------------


def test_demo_writes_into_output_dir(tmp_path, capsys):
    out = tmp_path / "new" / "demo"
    assert main(["demo", "--output-dir", str(out)]) == 0
    captured = capsys.readouterr()
    assert files_in(out) == {"demo_alpha.png", "demo_cutout.png"}
    # It says where it wrote, on stdout.
    assert str(out / "demo_alpha.png") in captured.out
    assert str(out / "demo_cutout.png") in captured.out
    scene = vecmatte.make_scene((240, 320), seed=7, softness=6.0)
    alpha = _read(out / "demo_alpha.png") / 255.0
    unknown = scene.trimap == 0.5
    assert np.abs(alpha - scene.alpha)[unknown].max() < 0.05
    assert _read(out / "demo_cutout.png").shape == (240, 320, 4)


def test_demo_default_dir_is_relative(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "-q"]) == 0
    assert files_in(tmp_path / "vecmatte-demo") == {"demo_alpha.png", "demo_cutout.png"}


@pytest.mark.parametrize("where", ["data", "new", "default"])
def test_demo_never_writes_inside_the_package(tmp_path, monkeypatch, capsys, where):
    # --output-dir pointing into the installed package (or the default vecmatte-demo run
    # from inside it) wrote the demo's files there.
    package = Path(vecmatte.__file__).resolve().parent
    data = files_in(package / "data")
    made = package / "demo-output-of-a-test"
    argv = ["demo", "-q"]
    if where == "default":
        monkeypatch.chdir(package)
        made = package / "vecmatte-demo"
    else:
        argv += ["--output-dir", str(package / "data" if where == "data" else made)]
    try:
        assert main(argv) == 1
        line = one_error_line(capsys.readouterr().err)
        assert line.endswith(
            f"is inside the vecmatte package ({package}); the demo writes only outside it: "
            "give --output-dir a folder of your own"
        )
        assert files_in(package / "data") == data and not made.exists()
    finally:  # the old code wrote there: leave the package as it was
        shutil.rmtree(made, ignore_errors=True)
        for name in ("demo_alpha.png", "demo_cutout.png"):
            (package / "data" / name).unlink(missing_ok=True)


def test_demo_output_dir_through_links_that_loop_gets_one_line(tmp_path, capsys):
    # The package check resolved --output-dir with Path.resolve, whose RuntimeError("Symlink
    # loop from ...") reached the user as a traceback; _output_guard.resolved says it.
    loop = tmp_path / "loop"
    loop.symlink_to(loop.name)
    assert main(["demo", "-q", "--output-dir", str(loop / "demo")]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith(f"vecmatte: error: {loop / 'demo'}: its symbolic links loop")
    assert loop.is_symlink()


# --- --version, --help ------------------------------------------------------------------------


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"vecmatte {vecmatte.__version__}"


@pytest.mark.parametrize("argv", [["--help"], *([name, "--help"] for name in COMMANDS)])
def test_help(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: vecmatte")
    if argv[0] == "alpha":
        for option in ("--output", "--cutout", "--eps", "--radius", "--preconditioner", "--quiet"):
            assert option in out
    if argv[0] == "--help":
        assert "alpha" in out and "demo" in out


def test_parser_lists_every_preconditioner_and_method(capsys):
    from vecmatte.alpha import METHODS

    alpha = build_parser()._subparsers._group_actions[0].choices["alpha"]
    action = next(a for a in alpha._actions if a.dest == "preconditioner")
    for name in vecmatte.PRECONDITIONERS:
        assert name in action.help
        assert action.type(f"{name}:x=1") == f"{name}:x=1"  # options are checked later
    method = next(a for a in alpha._actions if a.dest == "method")
    assert list(method.choices) == list(METHODS)


def test_method_and_preconditioner_options_reach_the_solver(tmp_path, scene_files, capsys):
    image, trimap = scene_files
    out = tmp_path / "a.png"
    argv = ["alpha", str(image), str(trimap), "-o", str(out), "--option", "eps=1e-6"]
    assert main([*argv, "--preconditioner", "ichol:sweeps=2"]) == 0, capsys.readouterr().err
    assert "preconditioner ichol:sweeps=2" in capsys.readouterr().err
    out.unlink()
    for extra, message in [
        (["--option", "bogus=1"], "alpha method 'cf' has no option 'bogus'; its options are"),
        (["--option", "eps"], "--option 'eps': write it as NAME=VALUE"),
        (["--preconditioner", "ichol:bogus=1"], "preconditioner 'ichol' has no option 'bogus'"),
        (["--eps", "1e-6", "--option", "eps=1e-5"], "--eps 1e-06 and --option eps=1e-05 disagree"),
    ]:
        assert main([*argv[:-2], *extra]) == 2
        assert "vecmatte: error: " + message in one_error_line(capsys.readouterr().err)
        assert not out.exists()


# --- the installed entry point ----------------------------------------------------------------


@pytest.mark.parametrize("module", ["vecmatte", "vecmatte.cli"])
def test_python_dash_m(module):
    # Before: `python -m vecmatte` said "No module named vecmatte.__main__".
    version = subprocess.run(
        [sys.executable, "-m", module, "--version"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"vecmatte {vecmatte.__version__}"


def test_installed_entry_point(tmp_path, scene_files):
    executable = shutil.which("vecmatte") or shutil.which(
        "vecmatte", path=os.path.dirname(sys.executable)
    )
    if executable is None:
        pytest.skip("the vecmatte command is not installed on PATH")
    image, trimap = scene_files
    ok = subprocess.run(
        [executable, "alpha", str(image), str(trimap), "-o", str(tmp_path / "a.png")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert "CG iterations" in ok.stderr and (tmp_path / "a.png").is_file()
    version = subprocess.run(
        [executable, "--version"], capture_output=True, text=True, timeout=120, check=False
    )
    assert version.returncode == 0 and version.stdout.strip() == f"vecmatte {vecmatte.__version__}"
    bad = subprocess.run(
        [
            executable,
            "alpha",
            str(image),
            str(tmp_path / "none.png"),
            "-o",
            str(tmp_path / "b.png"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines()[-1].startswith("vecmatte: error:")
    assert not (tmp_path / "b.png").exists()


@pytest.mark.parametrize("cutout", [False, True])
def test_closed_standard_output_fails_in_one_line_and_writes_no_file(tmp_path, scene_files, cutout):
    # `vecmatte alpha ... -o - | head -c 10`: the reader goes away before the PNG is written.
    # One line says so (the files asked for with it are not written either: all or none), and
    # no traceback, "Errno 32" or "Exception ignored" when the interpreter flushes stdout.
    image, trimap = scene_files
    extra = ["--cutout", str(tmp_path / "cut.png")] if cutout else []
    with subprocess.Popen(
        [sys.executable, "-m", "vecmatte.cli", "alpha", str(image), str(trimap), "-o", "-", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        process.stdout.close()  # before the child writes: its write fails with EPIPE
        stderr = process.stderr.read().decode()
        code = process.wait(timeout=300)
    assert code == 1, stderr
    assert "CG iterations" in stderr  # the work was done; only the output failed
    errors = [line for line in stderr.splitlines() if "error" in line]
    assert errors == [
        "vecmatte: error: standard output was closed before the whole PNG was written "
        "(broken pipe); no file was written"
    ]
    for symptom in ("Traceback", "Errno 32", "Exception ignored"):
        assert symptom not in stderr
    assert files_in(tmp_path) == {"image.png", "trimap.png"}


def test_closed_standard_output_after_a_table_ends_quietly(tmp_path, scene_files):
    # `vecmatte eval ... | head -1`: text cut short is what the reader asked for (SIGPIPE).
    _, trimap = scene_files
    with subprocess.Popen(
        [sys.executable, "-m", "vecmatte.cli", "eval", str(trimap), str(trimap), str(trimap)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        process.stdout.close()
        stderr = process.stderr.read().decode()
        code = process.wait(timeout=300)
    assert code == 1
    for symptom in ("Traceback", "Broken pipe", "Errno 32", "Exception ignored"):
        assert symptom not in stderr


# --- the steps after the solve: memory and progress ----------------------------------------


def test_reporter_progress_waits_then_throttles(capsys):
    from vecmatte.cli._messages import Reporter

    report = Reporter(quiet=False).progress("foreground", after=0.0)
    for done in (1, 2, 3, 4):  # one call right after another: the first and the last print
        report(done, 4)
    lines = capsys.readouterr().err.splitlines()
    assert [line.split("] ")[1] for line in lines] == [
        "  foreground: 1 of 4 (25%)",
        "  foreground: 4 of 4 (100%)",
    ]
    slow = Reporter(quiet=False).progress("foreground")  # a quick step says nothing
    quiet = Reporter(quiet=True).progress("foreground", after=0.0)
    for done in (1, 2):
        slow(done, 2)
        quiet(done, 2)
    assert capsys.readouterr().err == ""


def test_cutout_foreground_reports_its_memory_and_progress(
    tmp_path, scene_files, capsys, monkeypatch
):
    import vecmatte.foreground as foreground

    image, trimap = scene_files
    calls = []
    estimate = foreground.estimate_foreground

    def spy(*args, **kwargs):
        calls.append(kwargs.get("progress"))
        return estimate(*args, **kwargs)

    monkeypatch.setattr(foreground, "estimate_foreground", spy)
    out = [str(tmp_path / "a.png"), "--cutout", str(tmp_path / "c.png")]
    assert main(["alpha", str(image), str(trimap), "-o", *out]) == 0
    err = capsys.readouterr().err
    assert "the foreground (method ml) needs about" in err
    assert len(calls) == 1 and callable(calls[0])


@pytest.mark.parametrize("command", ["alpha", "composite"])
def test_foreground_that_cannot_fit_is_refused_before_any_work(
    tmp_path, scene_files, capsys, monkeypatch, command
):
    import vecmatte.memory

    image, trimap = scene_files
    if command == "alpha":
        argv = ["alpha", str(image), str(trimap), "-o", str(tmp_path / "a.png")]
        argv += ["--cutout", str(tmp_path / "c.png"), "--foreground-method", "cf"]
    else:
        argv = ["composite", str(image), str(trimap), "--color", "green", "-o", "x.png"]
        argv += ["--foreground-method", "cf"]
        monkeypatch.chdir(tmp_path)
    # Enough for the solve of this small scene, not for the foreground step.
    monkeypatch.setattr(vecmatte.memory, "available_memory", lambda: 1000)
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "CG iteration" not in err
    message = err.strip().splitlines()[-1]
    assert message.startswith("vecmatte: error: the foreground (method cf)")
    assert re.search(r"use --foreground-method (ml|blur_fusion), or downscale the image", message)
    assert files_in(tmp_path) == {"image.png", "trimap.png"}


@pytest.mark.parametrize("error", [ValueError("solve failed"), KeyboardInterrupt()])
def test_demo_removes_the_folders_it_made_when_the_solve_fails(tmp_path, monkeypatch, error):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr("vecmatte.alpha.solve_alpha", fail)
    out = tmp_path / "new" / "demo"
    assert main(["demo", "-q", "--output-dir", str(out)]) in (1, 130)
    assert files_in(tmp_path) == set()  # neither demo nor new: both were made by it
    # A folder that was there before stays, even empty.
    (tmp_path / "kept").mkdir()
    assert main(["demo", "-q", "--output-dir", str(tmp_path / "kept")]) in (1, 130)
    assert files_in(tmp_path) == {"kept"}


_INTERRUPT_AFTER_FIRST_RENAME = """
import os, signal, sys
from vecmatte.cli import main

real_replace = os.replace
def replace(source, target):
    real_replace(source, target)
    if str(target).endswith("a.png"):  # Ctrl-C right after the matte is in place
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):  # a while, for a signal delivered at the next bytecode
            pass
os.replace = replace
sys.exit(main(sys.argv[1:]))
"""


def test_ctrl_c_between_the_renames_leaves_both_outputs_or_none(tmp_path, scene_files):
    # A Ctrl-C after the matte's rename and before the cutout's left the new matte beside
    # no cutout (and the cutout's temporary file in place): SIGINT is now held back
    # across the renames and delivered after them. In a child process: a real SIGINT.
    image, trimap = scene_files
    argv = ["alpha", str(image), str(trimap), "-o", str(tmp_path / "a.png")]
    argv += ["--cutout", str(tmp_path / "c.png"), "-q"]
    child = subprocess.run(
        [sys.executable, "-c", _INTERRUPT_AFTER_FIRST_RENAME, *argv],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert child.returncode == 130, child.stderr
    assert child.stderr == "vecmatte: interrupted\n"
    assert files_in(tmp_path) == {"image.png", "trimap.png", "a.png", "c.png"}
    assert vecmatte.io.written_by_vecmatte(tmp_path / "c.png")


# --- refusals that name their file, tiny images, eval, empty names, 16-bit mattes -------------


def test_eval_names_the_file_whose_size_differs(tmp_path, scene_files, capsys):
    from PIL import Image

    trimap = scene_files[1]

    Image.new("L", (5, 7)).save(tmp_path / "small.png")
    code = main(["eval", str(trimap), str(tmp_path / "small.png"), str(trimap)])
    line = one_error_line(capsys.readouterr().err)
    assert code == 1
    assert line.startswith(f"vecmatte: error: {tmp_path / 'small.png'}: the ground-truth alpha ")
    assert "has shape (7, 5) but the predicted alpha" in line


def test_scribbles_saved_as_jpeg_are_refused_with_the_reason(tmp_path, scene_files, capsys):
    # Before: "scribble mask is in colour ... (was the photograph given in its place?)".
    from PIL import Image

    image, _ = scene_files
    with Image.open(image) as photo:
        scribbled = np.asarray(photo).copy()
    scribbled[5:8, 5:20] = 255
    scribbled[30:33, 5:20] = 0
    Image.fromarray(scribbled).save(tmp_path / "scribbled.jpg", quality=90)
    argv = ["alpha", str(image), "--scribbles", str(tmp_path / "scribbled.jpg")]
    code = main([*argv, "-o", str(tmp_path / "a.png")])
    line = one_error_line(capsys.readouterr().err)
    assert code == 1
    assert line.startswith(f"vecmatte: error: {tmp_path / 'scribbled.jpg'}: the scribbled ")
    assert "lossy" in line and "save it as PNG" in line
    assert not (tmp_path / "a.png").exists()


def test_shared_matting_of_a_region_of_one_colour(tmp_path, capsys):
    # The trimap expansion labels every unknown pixel of a uniform region: sm had no
    # unknown pixel left and failed with "TypeError: cannot unpack non-iterable NoneType".
    image = np.full((20, 20, 3), 0.5)
    trimap = np.full((20, 20), 0.5)
    trimap[:, :5], trimap[:, 15:] = 1.0, 0.0
    alpha = vecmatte.estimate_alpha(image, trimap, method="sm")
    assert set(np.unique(alpha)) <= {0.0, 1.0}
    assert np.all(alpha[:, :5] == 1.0) and np.all(alpha[:, 15:] == 0.0)
    write_png(tmp_path / "image.png", np.full((2, 2, 3), 0.5))
    write_png(tmp_path / "trimap.png", np.array([[1.0, 0.5], [0.5, 0.0]]))
    code = main(["alpha", *(str(tmp_path / n) for n in ("image.png", "trimap.png")), "-o",
                 str(tmp_path / "a.png"), "--method", "sm", "-q"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert vecmatte.load_trimap(tmp_path / "a.png").shape == (2, 2)


def test_window_larger_than_the_image_says_the_size_it_needs(tmp_path, capsys):
    write_png(tmp_path / "image.png", np.full((2, 2, 3), 0.5))
    write_png(tmp_path / "trimap.png", np.array([[1.0, 0.5], [0.5, 0.0]]))
    code = main(["alpha", str(tmp_path / "image.png"), str(tmp_path / "trimap.png"), "-o",
                 str(tmp_path / "a.png"), "--method", "lkm", "-q"])  # fmt: skip
    line = one_error_line(capsys.readouterr().err)
    assert code == 1 and "21 x 21 window (radius=10)" in line
    assert line.endswith("use a larger image (at least 21 x 21 pixels)")
    assert not (tmp_path / "a.png").exists()


def test_eval_names_the_folder_among_files(tmp_path, scene_files, capsys):
    _, trimap = scene_files
    folder = tmp_path / "mattes"
    folder.mkdir()
    assert main(["eval", str(trimap), str(folder), str(trimap)]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith(f"vecmatte: error: {folder} is a folder but {trimap} is not")


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["alpha", "", "t.png", "-o", "a.png"], "image"),
        (["alpha", "i.png", "t.png", "-o", ""], "output"),
        (["alpha", "i.png", "t.png", "-o", "a.png", "--cutout", ""], "cutout"),
        (["trimap", "", "-o", "t.png"], "mask"),
        (["composite", "i.png", "a.png", "", "-o", "c.png"], "background"),
        (["batch", "", "trimaps", "-o", "out"], "images dir"),
        (["batch", "images", "trimaps", "-o", ""], "output"),
        (["eval", "a.png", "", "t.png"], "gt"),
        (["demo", "--output-dir", ""], "output dir"),
    ],
)
def test_an_empty_name_is_a_usage_error(argv, name, tmp_path, monkeypatch, capsys):
    # "" is "." to pathlib: it read as the current folder (".: is a directory", or a batch
    # of the current folder).
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[0] == f"vecmatte: error: {name} is empty (''); give a name"
    assert files_in(tmp_path) == set()


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_alpha_bit_depth_16_writes_the_solve_within_one_level(
    tmp_path, scene_files, capsys, suffix
):
    from vecmatte import solve_alpha

    image, trimap = scene_files
    out = tmp_path / f"a{suffix}"
    code = main(["alpha", str(image), str(trimap), "-o", str(out), "--bit-depth", "16", "-q"])
    assert code == 0, capsys.readouterr().err
    with Image.open(out) as written:
        stored = np.asarray(written)
    assert stored.dtype == np.uint16
    expected = solve_alpha(load_image(image), load_trimap(trimap)).alpha
    assert np.abs(stored / 65535.0 - expected).max() <= 1 / 65535
    assert len(np.unique(stored)) > 256  # more levels than an 8-bit file can hold


@pytest.mark.parametrize("name", ["a.jpg", "a.bmp"])
def test_alpha_bit_depth_16_refuses_a_format_without_16_bits_before_solving(
    tmp_path, scene_files, capsys, name
):
    image, trimap = scene_files
    argv = ["alpha", str(image), str(trimap), "-o", str(tmp_path / name), "--bit-depth", "16"]
    code = main(argv)
    stderr = capsys.readouterr().err
    # Options that do not go together: a usage error (session 10; exit 1 before).
    assert code == 2 and "Traceback" not in stderr
    assert f"vecmatte: error: {tmp_path / name}: " in stderr and "cannot hold a 16-bit" in stderr
    assert stderr.splitlines()[1:] == ["see vecmatte alpha --help"]
    assert "solving" not in stderr  # refused before the work
    assert not (tmp_path / name).exists()


def _batch_folders(tmp_path, scene_files):
    """Folders ``images`` and ``trimaps`` holding the scene's files as ``a.png``."""
    images, trimaps = tmp_path / "images", tmp_path / "trimaps"
    for folder, path in zip((images, trimaps), scene_files, strict=True):
        folder.mkdir()
        path.rename(folder / "a.png")
    return images, trimaps


def test_a_batch_on_a_full_disk_says_which_file_in_one_readable_line(
    tmp_path, scene_files, full_disk, capsys
):
    # Each failed image read "[Errno 28] No space left on device: 'out/image_alpha.png'".
    images, trimaps = _batch_folders(tmp_path, scene_files)
    out = tmp_path / "out"
    assert main(["batch", str(images), str(trimaps), "-o", str(out), "-q"]) == 1
    stderr = capsys.readouterr().err
    assert f"a: {out / 'a_alpha.png'}: no space left on device" in stderr
    assert "Errno" not in stderr


def test_composite_refuses_a_background_too_small_to_crop_before_any_work(
    tmp_path, scene_files, scene, monkeypatch, capsys
):
    # The foreground was estimated first (minutes on a large photograph with cf), then the
    # library said "use fit='cover' or fit='resize'", naming no file.
    import vecmatte.foreground

    image, _ = scene_files
    alpha = tmp_path / "alpha.png"
    vecmatte.save_image(alpha, scene.alpha)
    small = tmp_path / "small.png"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(small)
    estimated = []
    monkeypatch.setattr(vecmatte.foreground, "estimate_foreground", estimated.append)
    out = tmp_path / "out.png"
    code = main(["composite", str(image), str(alpha), str(small), "--fit", "crop", "-o", str(out)])
    assert code == 1
    line = one_error_line(capsys.readouterr().err)
    assert str(small) in line and "--fit cover" in line
    assert not estimated and not out.exists()


@pytest.mark.parametrize("suffix", [".fits", ".xpm", ".ico", ".icns", ".pdf", ".xbm", ".qoi"])
def test_an_output_format_vecmatte_cannot_write_faithfully_is_refused_first(
    tmp_path, scene_files, monkeypatch, capsys, suffix
):
    # After the solve, .fits and .xpm ended in a KeyError traceback, .xbm and .qoi in
    # Pillow's "cannot write mode L as XBM"; .ico shrank the matte to 256 x 256 and .icns
    # stretched it to 1024 x 1024; .pdf wrote a document no image reader opens.
    import vecmatte.alpha

    image, trimap = scene_files
    solved = []
    monkeypatch.setattr(vecmatte.alpha, "solve_alpha", solved.append)
    out = tmp_path / f"matte{suffix}"
    assert main(["alpha", str(image), str(trimap), "-o", str(out), "-q"]) == 2  # usage error
    line = one_error_line(capsys.readouterr().err)
    assert str(out) in line and "vecmatte does not write" in line and ".png" in line
    assert not solved and not out.exists()
    with pytest.raises(ValueError, match="vecmatte does not write"):
        vecmatte.save_image(io.BytesIO(), np.zeros((4, 4)), format=suffix[1:])


def test_demo_quiet_prints_nothing(tmp_path, capsys):
    # --quiet ("print nothing but errors") still printed "wrote .../demo_alpha.png and ...".
    out = tmp_path / "demo"
    assert main(["demo", "-q", "--output-dir", str(out)]) == 0
    assert capsys.readouterr() == ("", "")
    assert files_in(out) == {"demo_alpha.png", "demo_cutout.png"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"radius": 0}, "radius must be a positive integer, got 0"),
        ({"eps": -1.0}, "eps must be a positive finite number"),
        ({"method": "knn", "options": {"lam": -1}}, "lam must be a positive finite number"),
    ],
)
def test_find_tasks_refuses_method_options_out_of_range_before_any_work(
    tmp_path, scene_files, options, message
):
    # find_tasks(..., radius=0) made its tasks (and the output folder), then every image
    # failed with the same message; the command line refused it once, before any work.
    from vecmatte.batch import find_tasks

    images, trimaps = _batch_folders(tmp_path, scene_files)
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=re.escape(message)):
        find_tasks(images, trimaps, out, **options)
    assert not out.exists()


def test_a_solve_refused_for_the_image_names_its_file(tmp_path, capsys):
    # "image of 1 x 8 pixels (height x width) is smaller than one 3 x 3 window ..." named no
    # file (every other refusal of an input does).
    image, trimap = tmp_path / "row.png", tmp_path / "row_trimap.png"
    Image.fromarray(np.full((1, 8, 3), 100, np.uint8)).save(image)
    Image.fromarray(np.array([[0, 0, 128, 128, 255, 255, 128, 0]], np.uint8)).save(trimap)
    out = tmp_path / "a.png"
    assert main(["alpha", str(image), str(trimap), "-o", str(out), "-q"]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith(f"vecmatte: error: {image}: image of 1 x 8 pixels")
    assert not out.exists()
