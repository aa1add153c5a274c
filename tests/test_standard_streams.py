"""Standard input and output (``-``): redirected from or to an input or an output, closed, a
terminal, a reader that goes away. A PNG goes only where it was asked to go, whole."""

from __future__ import annotations

import io
import os
import sys

import numpy as np
import pytest
from conftest import files_in, one_error_line
from PIL import Image

import vecmatte
from vecmatte.cli import main


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
    line = one_error_line(capsys.readouterr().err)
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


def _redirect(monkeypatch, name: str, path, mode: str):
    """``sys.stdin`` / ``sys.stdout`` redirected from or to the file ``path`` (< or >>)."""
    handle = open(path, mode)  # the test closes the stream (and with it the file)
    stream = io.TextIOWrapper(handle)
    monkeypatch.setattr(sys, name, stream)
    return stream


def test_standard_output_appended_to_an_input_is_refused(tmp_path, scene_files, capsys):
    # `vecmatte alpha photo.png t.png -o - >> photo.png` appended a PNG to the photograph.
    image, trimap = scene_files
    before = image.read_bytes()
    with pytest.MonkeyPatch.context() as patch:
        stream = _redirect(patch, "stdout", image, "ab")
        code = main(["alpha", str(image), str(trimap), "-o", "-", "-q"])
        stream.close()
    assert code == 1
    line = one_error_line(capsys.readouterr().err)
    assert "standard output" in line and str(image) in line
    assert image.read_bytes() == before


def test_an_output_that_is_the_file_standard_input_reads_is_refused(tmp_path, scene_files, capsys):
    # `vecmatte alpha - t.png -o photo.png < photo.png` replaced the photograph.
    image, trimap = scene_files
    before = image.read_bytes()
    with pytest.MonkeyPatch.context() as patch:
        stream = _redirect(patch, "stdin", image, "rb")
        code = main(["alpha", "-", str(trimap), "-o", str(image), "-q"])
        stream.close()
    assert code == 1
    line = one_error_line(capsys.readouterr().err)
    assert "standard input" in line and str(image) in line
    assert image.read_bytes() == before


def test_standard_output_and_a_file_output_that_are_one_file_are_refused(
    tmp_path, scene_files, capsys
):
    # `-o - --cutout cut.png > cut.png`: the cutout was renamed over the file standard
    # output was writing, and the matte was lost.
    image, trimap = scene_files
    cut = tmp_path / "cut.png"
    with pytest.MonkeyPatch.context() as patch:
        stream = _redirect(patch, "stdout", cut, "wb")
        code = main(["alpha", str(image), str(trimap), "-o", "-", "--cutout", str(cut), "-q"])
        stream.close()
    assert code == 1
    assert "same file" in one_error_line(capsys.readouterr().err)
    assert cut.read_bytes() == b""


def test_an_output_through_a_link_to_a_descriptor_writes_its_file(tmp_path, scene_files):
    # `-o /dev/stdout > out.png` (/dev/stdout -> /proc/self/fd/1): the rename replaced the
    # link itself by a file (as root, the system's /dev/stdout) and out.png stayed empty.
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc/self/fd")
    image, trimap = scene_files
    out = tmp_path / "out.png"
    devices = tmp_path / "dev"
    devices.mkdir()
    link = devices / "stdout"
    with open(out, "wb") as handle:
        link.symlink_to(f"/proc/self/fd/{handle.fileno()}")
        assert main(["alpha", str(image), str(trimap), "-o", str(link), "-q"]) == 0
    assert link.is_symlink()
    assert files_in(devices) == {"stdout"}
    with Image.open(out) as written, Image.open(image) as photograph:
        assert written.format == "PNG" and written.size == photograph.size


def test_standard_input_from_a_terminal_is_refused_instead_of_waited_for(
    tmp_path, scene_files, monkeypatch, capsys
):
    # `vecmatte alpha - t.png -o a.png` typed without a pipe waited silently for input.
    class Terminal:
        def isatty(self) -> bool:
            return True

        @property
        def buffer(self):
            raise AssertionError("standard input was read")

    _, trimap = scene_files
    monkeypatch.setattr(sys, "stdin", Terminal())
    out = tmp_path / "a.png"
    assert main(["alpha", "-", str(trimap), "-o", str(out), "-q"]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert "standard input" in line and "terminal" in line
    assert not out.exists()


def test_with_standard_error_closed_standard_output_gets_only_the_png(tmp_path, scene_files):
    # `vecmatte alpha ... -o - 2>&-`: Python sets sys.stderr to None, print(file=None)
    # writes to standard output, and the progress lines went into the PNG (exit 0).
    import subprocess

    image, trimap = scene_files
    result = subprocess.run(
        [sys.executable, "-m", "vecmatte", "alpha", str(image), str(trimap), "-o", "-"],
        stdout=subprocess.PIPE,
        preexec_fn=lambda: os.close(2),  # in the child only: its standard error closed
        timeout=120,
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(result.stdout)) as matte, Image.open(image) as photograph:
        assert matte.size == photograph.size


@pytest.mark.parametrize("closed", [0, 1])
def test_a_closed_standard_stream_named_as_dash_gets_one_line(tmp_path, scene_files, closed):
    # Started with standard output closed (>&-), '-o -' and every command's final flush
    # raised AttributeError ("'NoneType' object has no attribute 'buffer'"/"'flush'"),
    # tracebacks; with standard input closed (<&-), '-' as the image did the same.
    import subprocess

    image, trimap = scene_files
    out = tmp_path / "a.png"
    source, target = (str(image), "-") if closed == 1 else ("-", str(out))
    command = [sys.executable, "-m", "vecmatte", "alpha", source, str(trimap), "-o", target]
    result = subprocess.run(
        command,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: os.close(closed),  # in the child only
        timeout=120,
        check=False,
        text=True,
    )
    assert result.returncode == 1
    assert one_error_line(result.stderr).endswith(
        "which is closed; "
        + (
            "redirect it (> out.png) or give a file name"
            if closed == 1
            else "pipe or redirect the image into it (< photo.png), or give a file name"
        )
    )
    assert not out.exists()
    # A command that only prints (eval) runs to its end, printing nothing.
    alpha = tmp_path / "alpha.png"
    vecmatte.save_image(alpha, vecmatte.load_trimap(trimap))
    evaluation = subprocess.run(
        [sys.executable, "-m", "vecmatte", "eval", str(alpha), str(alpha), str(trimap)],
        stderr=subprocess.PIPE,
        preexec_fn=lambda: os.close(1),
        timeout=120,
        check=False,
        text=True,
    )
    assert evaluation.returncode == 0 and "Traceback" not in evaluation.stderr
