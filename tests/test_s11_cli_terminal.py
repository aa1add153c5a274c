"""An output file that is a terminal is refused, as ``-`` on a terminal is (session 11).

``-o -`` onto a terminal was refused, but ``-o /dev/stdout`` (or ``/dev/tty``, a
``/dev/pts/N``) wrote the PNG's bytes into it: noise that can upset the terminal, as gzip
and curl refuse to do. Terminals here are pseudo-terminals from ``os.openpty``.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import write_png

from vecmatte.cli import main

pytestmark = pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs pseudo-terminals")


@pytest.fixture
def terminal():
    """``(path, read)`` of a pseudo-terminal: its name, and what was written to it so far."""
    controller, terminal = os.openpty()
    os.set_blocking(controller, False)

    def read() -> bytes:
        try:
            return os.read(controller, 1 << 20)
        except (BlockingIOError, OSError):
            return b""

    yield os.ttyname(terminal), read
    os.close(terminal)
    os.close(controller)


@pytest.fixture
def files(tmp_path, scene):
    image = write_png(tmp_path / "image.png", scene.image)
    trimap = write_png(tmp_path / "trimap.png", scene.trimap)
    alpha = write_png(tmp_path / "alpha.png", scene.alpha)
    return image, trimap, alpha


@pytest.mark.parametrize(
    "command",
    [
        ["alpha", "{image}", "{trimap}", "-o", "{tty}"],
        ["alpha", "{image}", "{trimap}", "-o", "{out}", "--cutout", "{tty}"],
        ["alpha", "{image}", "{trimap}", "-o", "{out}", "--foreground", "{tty}"],
        ["composite", "{image}", "{alpha}", "--color", "green", "-o", "{tty}"],
        ["trimap", "{alpha}", "-o", "{tty}"],
    ],
)
def test_an_output_that_is_a_terminal_is_refused(tmp_path, files, terminal, capsys, command):
    # Old code: exit 0 and the PNG's bytes (about 400 for this scene) in the terminal.
    tty, read = terminal
    image, trimap, alpha = files
    names = {"image": image, "trimap": trimap, "alpha": alpha, "tty": tty}
    argv = [word.format(out=tmp_path / "m.png", **names) for word in command] + ["-q"]
    assert main(argv) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    assert f"{tty} is a terminal: PNG data is not written there" in lines[0]
    assert read() == b""
    assert not (tmp_path / "m.png").exists()  # refused before the solve: nothing written


def test_dev_null_and_files_are_still_written(tmp_path, files, terminal):
    image, trimap, _ = files
    assert main(["alpha", str(image), str(trimap), "-o", os.devnull, "-q"]) == 0
    assert main(["alpha", str(image), str(trimap), "-o", str(tmp_path / "m.png"), "-q"]) == 0
    assert (tmp_path / "m.png").stat().st_size > 0


def test_dev_stdout_on_a_terminal_is_refused(files, terminal):
    # The process is the point: /dev/stdout is its own standard output, here a terminal.
    tty, read = terminal
    image, trimap, _ = files
    with open(tty, "wb") as stdout:
        done = subprocess.run(
            [sys.executable, "-m", "vecmatte", "alpha", image, trimap, "-o", "/dev/stdout"],
            stdout=stdout,
            stderr=subprocess.PIPE,
            timeout=120,
        )
    assert done.returncode == 1
    assert b"/dev/stdout is a terminal" in done.stderr
    assert b"PNG" not in read()
