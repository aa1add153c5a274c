"""The command line as a demanding user meets it (audit of session 4): one line, no traceback."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import files_in

from vecmatte.cli import main


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("vecmatte: error:")]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def _unchanged(paths):
    before = {path: path.read_bytes() for path in paths}
    return lambda: all(path.read_bytes() == data for path, data in before.items())


def _alpha_refused(tmp_path, scene_files, capsys, *options) -> str:
    """``vecmatte alpha`` on the scene with ``options`` fails, changing nothing; its line."""
    image, trimap = scene_files
    unchanged = _unchanged(scene_files)
    listing = files_in(tmp_path)
    code = main(["alpha", str(image), str(trimap), "-o", str(tmp_path / "a.png"), *options])
    line = _one_error_line(capsys.readouterr().err)
    assert code == 1
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


def test_a_batch_refuses_a_boolean_option_before_making_its_folder(tmp_path, scene_files, capsys):
    assert scene_files  # the folder holds an image and a trimap
    out = tmp_path / "out"
    code = main(["batch", str(tmp_path), str(tmp_path), "-o", str(out), "--option", "radius=True"])
    line = _one_error_line(capsys.readouterr().err)
    assert code == 1 and "--option radius=True: radius takes" in line
    assert not out.exists()


def _folders(tmp_path, scene_files):
    photos, trimaps = tmp_path / "photos", tmp_path / "trimaps"
    photos.mkdir()
    trimaps.mkdir()
    for name in ("a", "b"):
        (photos / f"{name}.png").write_bytes(scene_files[0].read_bytes())
        (trimaps / f"{name}.png").write_bytes(scene_files[1].read_bytes())
    return photos, trimaps


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--radius", "0"], "radius must be a positive integer, got 0"),
        (["--eps", "0"], "eps must be a positive finite number, got 0.0"),
        (["--eps", "-1"], "eps must be a positive finite number, got -1.0"),
        (["--method", "knn", "--option", "lam=-1"], "lam must be a positive finite number"),
        (["--method", "sm", "--option", "rays=0"], "rays must be an integer >= 1, got 0"),
        (["--method", "knn", "--option", "kernel=x"], "kernel must be 'binary' or 'soft'"),
    ],
)
def test_a_batch_refuses_an_option_out_of_range_once_before_any_work(
    tmp_path, scene_files, capsys, options, message
):
    # Before: every image failed with the same message, and the output folder was made.
    photos, trimaps = _folders(tmp_path, scene_files)
    out = tmp_path / "out"
    code = main(["batch", str(photos), str(trimaps), "-o", str(out), *options])
    line = _one_error_line(capsys.readouterr().err)
    assert code == 1 and message in line
    assert not out.exists()


def test_a_radius_too_large_for_the_image_is_still_refused_with_the_image(
    tmp_path, scene_files, capsys
):
    image, trimap = scene_files
    out = tmp_path / "a.png"
    code = main(["alpha", str(image), str(trimap), "-o", str(out), "--radius", "100"])
    line = _one_error_line(capsys.readouterr().err)
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


def test_eval_names_the_file_whose_size_differs(tmp_path, scene_files, capsys):
    from PIL import Image

    trimap = scene_files[1]

    Image.new("L", (5, 7)).save(tmp_path / "small.png")
    code = main(["eval", str(trimap), str(tmp_path / "small.png"), str(trimap)])
    line = _one_error_line(capsys.readouterr().err)
    assert code == 1
    assert line.startswith(f"vecmatte: error: {tmp_path / 'small.png'}: the ground-truth alpha ")
    assert "has shape (7, 5) but the predicted alpha" in line


def test_a_system_error_names_its_file_first(tmp_path, scene_files, capsys, monkeypatch):
    # Before: "[Errno 13] Permission denied: 'photos'" from the folder listing of a batch.
    from pathlib import Path

    def denied(self):
        raise PermissionError(13, "Permission denied", str(self))

    photos, trimaps = _folders(tmp_path, scene_files)
    monkeypatch.setattr(Path, "iterdir", denied)
    code = main(["batch", str(photos), str(trimaps), "-o", str(tmp_path / "o")])
    line = _one_error_line(capsys.readouterr().err)
    assert code == 1 and line == f"vecmatte: error: {photos}: permission denied"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        # Before: the window message of the stand-in image (32768 x 32768) checked upfront.
        (["--radius", "100000"], "image of 36 x 44 pixels (height x width) is smaller than"),
        # Before: a window message with a number of 300 digits.
        (["--option", "radius=1e300"], "radius must be smaller than the image, got 1e+300"),
        (["--method", "lkm", "--option", "radius=1e12"], "radius must be smaller than the image"),
    ],
)
def test_a_huge_radius_is_refused_in_one_readable_line(
    tmp_path, scene_files, capsys, options, message
):
    line = _alpha_refused(tmp_path, scene_files, capsys, *options)
    assert message in line and len(line) < 300


def test_an_overflowing_option_value_is_one_line_not_a_traceback(tmp_path, scene_files, capsys):
    # rw's memory model overflows on radius=1e300 (OverflowError, not ValueError).
    image, trimap = scene_files
    argv = ["alpha", str(image), str(trimap), "-o", str(tmp_path / "a.png"), "--method", "rw"]
    code = main([*argv, "--option", "radius=1e300"])
    _one_error_line(capsys.readouterr().err)
    assert code == 1 and not (tmp_path / "a.png").exists()


def test_ctrl_c_while_a_batch_writes_leaves_no_half_written_file(
    tmp_path, scene_files, capsys, monkeypatch
):
    import os

    import vecmatte._writing as writing
    from vecmatte.io import is_complete_image

    photos, trimaps = _folders(tmp_path, scene_files)
    out = tmp_path / "out"
    real_fdopen = os.fdopen
    opened = []

    class Interrupted:
        """A file whose third write stops half-way with Ctrl-C (the second image's matte)."""

        def __init__(self, handle):
            self.handle = handle
            opened.append(self)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, data):
            if len(opened) == 3:
                self.handle.write(bytes(data)[: len(data) // 2])
                self.handle.flush()
                raise KeyboardInterrupt
            return self.handle.write(data)

    monkeypatch.setattr(writing.os, "fdopen", lambda *a, **k: Interrupted(real_fdopen(*a, **k)))
    argv = ["batch", str(photos), str(trimaps), "-o", str(out), "--cutout", "-q"]
    assert main(argv) == 130
    assert "vecmatte: interrupted; run the same command with --resume" in capsys.readouterr().err
    # The first image is complete, the second left nothing: no part of a file, no temporary.
    assert sorted(p.name for p in out.iterdir()) == ["a_alpha.png", "a_cutout.png"]
    assert all(is_complete_image(p) for p in out.iterdir())
    monkeypatch.undo()
    assert main([*argv, "--resume"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "a_alpha.png",
        "a_cutout.png",
        "b_alpha.png",
        "b_cutout.png",
    ]


@pytest.mark.parametrize(
    ("command", "output"),
    [("alpha", "a.jpg"), ("alpha", "a.webp"), ("trimap", "t.jpg")],
)
def test_a_matte_or_trimap_written_as_jpeg_gets_one_note(
    tmp_path, scene_files, capsys, command, output
):
    image, trimap = scene_files
    inputs = [str(image), str(trimap)] if command == "alpha" else [str(trimap)]
    code = main([command, *inputs, "-o", str(tmp_path / output), "-q"])
    stderr = capsys.readouterr().err
    assert code == 0, stderr
    notes = [line for line in stderr.splitlines() if "lossy" in line]
    assert len(notes) == 1 and notes[0].startswith(f"vecmatte: warning: {tmp_path / output}: ")
    assert (tmp_path / output).exists()


def test_a_lossless_matte_gets_no_note(tmp_path, scene_files, capsys):
    image, trimap = scene_files
    assert main(["alpha", str(image), str(trimap), "-o", str(tmp_path / "a.png"), "-q"]) == 0
    assert capsys.readouterr().err == ""


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
    line = _one_error_line(capsys.readouterr().err)
    assert code == 1
    assert line.startswith(f"vecmatte: error: {tmp_path / 'scribbled.jpg'}: the scribbled ")
    assert "lossy" in line and "save it as PNG" in line
    assert not (tmp_path / "a.png").exists()


@pytest.mark.parametrize("value", ["1e-6,2", "[1e-6]", "{}", "None"])
def test_a_non_number_for_a_numeric_option_names_the_option(tmp_path, scene_files, capsys, value):
    # Before: "a value of the wrong type among ...: float() argument must be ... not 'tuple'".
    line = _alpha_refused(tmp_path, scene_files, capsys, "--option", f"eps={value}")
    assert line == (
        f"vecmatte: error: --option eps={value}: eps takes a number such as its default 1e-07, "
        f"got {value!r}"
    )


# --- serve --host that cannot be listened on --------------------------------------------------


@pytest.mark.parametrize(
    ("host", "message"),
    [
        # .invalid never resolves (RFC 2606), whatever the network.
        ("nosuchhost.invalid", "--host nosuchhost.invalid: cannot resolve this name"),
        # TEST-NET-1 (RFC 5737): never an address of this machine.
        ("192.0.2.1", "--host 192.0.2.1: not an address of this machine"),
    ],
)
def test_serve_names_the_host_not_the_port(host, message, capsys):
    assert main(["serve", "--host", host, "--port", "0", "--quiet"]) == 1
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"vecmatte: error: {message}"), err
    assert "--port" not in err and "127.0.0.1" in err
