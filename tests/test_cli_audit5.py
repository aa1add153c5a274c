"""Where users got hurt (audit of session 5): standard output, rtol, tiny or uniform images."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest
from conftest import files_in, write_png
from PIL import Image

import vecmatte
from vecmatte.cli import main


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("vecmatte: error:")]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


class _Pipe(io.RawIOBase):
    """Standard output whose reader goes away after ``keep`` bytes (``| head -c keep``)."""

    def __init__(self, keep: int, directory):
        self.keep, self.directory = keep, directory
        self.received = bytearray()
        self.files_at_first_write = None

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        if self.files_at_first_write is None:
            self.files_at_first_write = files_in(self.directory)
        room = self.keep - len(self.received)
        if room <= 0:
            raise BrokenPipeError(32, "Broken pipe")
        self.received += bytes(data)[:room]
        return min(room, len(data))


def _stdout(monkeypatch, keep: int, directory) -> _Pipe:
    pipe = _Pipe(keep, directory)
    stream = io.TextIOWrapper(io.BufferedWriter(pipe, buffer_size=64))
    monkeypatch.setattr(sys, "stdout", stream)
    return pipe


def _commands(tmp_path, scene_files):
    image, trimap = scene_files
    alpha = tmp_path / "alpha.png"
    vecmatte.save_image(alpha, vecmatte.load_trimap(trimap))
    return {
        "alpha": ["alpha", str(image), str(trimap), "--cutout", str(tmp_path / "cut.png")],
        "composite": ["composite", str(image), str(alpha), "--color", "green"],
        "trimap": ["trimap", str(alpha), "--band", "1"],
    }


@pytest.mark.parametrize("command", ["alpha", "composite", "trimap"])
def test_a_reader_that_goes_away_gets_one_line_and_no_file(
    command, tmp_path, scene_files, monkeypatch, capsys
):
    argv = _commands(tmp_path, scene_files)[command]
    listing = files_in(tmp_path)
    _stdout(monkeypatch, 100, tmp_path)  # the reader takes 100 bytes, then closes
    code = main([*argv, "-o", "-", "-q"])
    line = _one_error_line(capsys.readouterr().err)
    assert code == 1
    assert line == (
        "vecmatte: error: standard output was closed before the whole PNG was written "
        "(broken pipe); no file was written"
    )
    assert files_in(tmp_path) == listing  # the cutout asked for with it is not there either


@pytest.mark.parametrize("command", ["alpha", "composite", "trimap"])
def test_standard_output_gets_the_whole_png_before_the_files(
    command, tmp_path, scene_files, monkeypatch, capsys
):
    argv = _commands(tmp_path, scene_files)[command]
    listing = files_in(tmp_path)
    pipe = _stdout(monkeypatch, 1 << 30, tmp_path)
    assert main([*argv, "-o", "-", "-q"]) == 0, capsys.readouterr().err
    sys.stdout.flush()
    # written before any file was renamed into place (the cutout is a temporary file then)
    assert {n for n in pipe.files_at_first_write if not n.endswith(".tmp")} == listing
    with Image.open(io.BytesIO(bytes(pipe.received))) as png:
        png.load()
        assert png.format == "PNG"
    if command == "alpha":
        assert "cut.png" in files_in(tmp_path)


def test_an_encoding_error_writes_nothing_to_a_stream(tmp_path):
    stream = io.BytesIO()
    with pytest.raises(ValueError, match="cannot store an alpha channel"):
        vecmatte.save_image(stream, np.zeros((4, 4, 4)), format="JPEG")
    assert stream.getvalue() == b""
    with pytest.raises(ValueError, match="cannot store an alpha channel"):
        vecmatte.io.save_images(
            [(stream, np.zeros((3, 3))), (tmp_path / "c.jpg", np.zeros((3, 3, 4)))]
        )
    assert stream.getvalue() == b"" and files_in(tmp_path) == set()


# --- rtol: the value the solve uses is the value checked ------------------------------------


def test_the_resolved_default_rtol_is_range_checked(scene, monkeypatch):
    # A default out of range (here made so on purpose) is refused like a user's value, not
    # passed to conjugate gradient after a placeholder passed the check.
    import vecmatte.alpha._pipeline as pipeline

    monkeypatch.setattr(pipeline, "default_rtol", lambda preconditioner: 1.5)
    with pytest.raises(ValueError, match=r"^rtol must lie in \(0, 1\), got 1.5"):
        vecmatte.estimate_alpha(scene.image, scene.trimap)
    with pytest.raises(ValueError, match=r"^rtol must lie in \(0, 1\), got 1.5"):
        vecmatte.alpha.check_solve_options({"method": "cf"})
    # a user's rtol is the one used, and checked
    assert vecmatte.solve_alpha(scene.image, scene.trimap, rtol=1e-5).residual <= 1e-5
    with pytest.raises(ValueError, match=r"^rtol must lie in \(0, 1\), got 2.0"):
        vecmatte.estimate_alpha(scene.image, scene.trimap, method="knn", rtol=2.0)


@pytest.mark.parametrize("rtol", ["0", "1", "-1e-3", "nan"])
def test_cli_names_rtol_out_of_range(rtol, tmp_path, scene_files, capsys):
    image, trimap = scene_files
    code = main(["alpha", str(image), str(trimap), "-o", str(tmp_path / "a.png"), f"--rtol={rtol}"])
    assert code == 1
    assert _one_error_line(capsys.readouterr().err).startswith("vecmatte: error: rtol must")
    assert not (tmp_path / "a.png").exists()


# --- small and uniform images -----------------------------------------------------------------


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
    line = _one_error_line(capsys.readouterr().err)
    assert code == 1 and "21 x 21 window (radius=10)" in line
    assert line.endswith("use a larger image (at least 21 x 21 pixels)")
    assert not (tmp_path / "a.png").exists()


# --- a folder where a file is expected, a folder that cannot be made ---------------------------


def test_eval_names_the_folder_among_files(tmp_path, scene_files, capsys):
    _, trimap = scene_files
    folder = tmp_path / "mattes"
    folder.mkdir()
    assert main(["eval", str(trimap), str(folder), str(trimap)]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith(f"vecmatte: error: {folder} is a folder but {trimap} is not")


def test_demo_output_folder_that_cannot_be_made(tmp_path, capsys):
    blocker = tmp_path / "file.png"
    blocker.write_bytes(b"not a folder")
    code = main(["demo", "--output-dir", str(blocker / "sub"), "-q"])
    line = _one_error_line(capsys.readouterr().err)
    assert code == 1
    assert line.startswith(f"vecmatte: error: {blocker / 'sub'}: cannot create the output folder")
    assert line.endswith("choose another one with --output-dir")
    assert files_in(tmp_path) == {"file.png"} and blocker.read_bytes() == b"not a folder"


def test_a_batch_of_which_no_image_succeeds_leaves_no_new_folder(tmp_path, capsys):
    images, trimaps = tmp_path / "images", tmp_path / "trimaps"
    images.mkdir()
    trimaps.mkdir()
    write_png(images / "a.png", np.full((6, 6, 3), 0.5))
    write_png(trimaps / "a.png", np.full((5, 6), 0.5))  # of another size: the image fails
    out = tmp_path / "new" / "out"
    assert main(["batch", str(images), str(trimaps), "-o", str(out), "-q"]) == 1
    assert "trimap has shape (5, 6) but image has shape (6, 6);" in capsys.readouterr().err
    assert files_in(tmp_path) == {"images", "trimaps"}
    # a folder that was there stays, and so does one that holds a result
    (tmp_path / "kept").mkdir()
    assert main(["batch", str(images), str(trimaps), "-o", str(tmp_path / "kept"), "-q"]) == 1
    assert (tmp_path / "kept").is_dir()


# --- an empty name ("$UNSET"), a file where a folder is expected -----------------------------


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


def test_the_library_refuses_an_empty_name(tmp_path, monkeypatch):
    from vecmatte.batch import find_tasks

    monkeypatch.chdir(tmp_path)
    for read in (vecmatte.load_image, vecmatte.load_trimap):
        with pytest.raises(ValueError, match=r"^an empty file name \(''\) was given"):
            read("")
    with pytest.raises(ValueError, match=r"^the output is an empty name; give a file name$"):
        vecmatte.save_image("", np.zeros((2, 2)))
    (tmp_path / "a").mkdir()
    for folders, what in ((("", "a", "o"), "images"), (("a", "", "o"), "trimaps")):
        with pytest.raises(ValueError, match=rf"^the {what} folder is an empty name"):
            find_tasks(*folders)
    (tmp_path / "b").mkdir()
    write_png(tmp_path / "a" / "x.png", np.zeros((4, 4)))
    write_png(tmp_path / "b" / "x.png", np.zeros((4, 4)))
    with pytest.raises(ValueError, match=r"^the output folder is an empty name"):
        find_tasks("a", "b", "")
    assert files_in(tmp_path) == {"a", "b"} and files_in(tmp_path / "a") == {"x.png"}


def test_an_output_inside_a_file_says_the_file_is_not_a_folder(tmp_path, scene_files, capsys):
    image, trimap = scene_files
    code = main(["alpha", str(image), str(trimap), "-o", str(image / "a.png")])
    line = _one_error_line(capsys.readouterr().err)
    assert code == 1
    assert (
        line
        == f"vecmatte: error: {image / 'a.png'}: {image} is a file, not a folder (alpha matte (-o))"
    )
    assert files_in(tmp_path) == {"image.png", "trimap.png"}
