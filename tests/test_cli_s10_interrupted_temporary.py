"""Ctrl-C or SIGTERM just after a temporary file is made leaves no ``.tmp`` behind.

Session 10: a signal between ``tempfile.mkstemp`` (the file made) and the block that removes
the temporary on failure left one hidden ``.NAME.*.tmp`` beside the output, for good (a batch
cleaned it on its way out; ``vecmatte alpha`` and the library did not).
"""

from __future__ import annotations

import signal
import tempfile

import numpy as np
import pytest
from conftest import files_in

import vecmatte._writing
from vecmatte.cli import Terminated, _terminate, main
from vecmatte.io import save_image


@pytest.fixture
def signal_after_mkstemp(monkeypatch):
    """Make ``mkstemp`` deliver ``number`` to this process right after it made the file."""
    made = []

    def arm(number):
        real = tempfile.mkstemp

        def making(*args, **kwargs):
            result = real(*args, **kwargs)
            made.append(result[1])
            signal.raise_signal(number)  # its Python handler runs at the next bytecode
            return result

        monkeypatch.setattr(vecmatte._writing.tempfile, "mkstemp", making)
        return made

    return arm


@pytest.fixture
def sigterm_raises_terminated():
    """SIGTERM handled as the console script handles it (raises cli.Terminated)."""
    previous = signal.signal(signal.SIGTERM, _terminate)
    yield
    signal.signal(signal.SIGTERM, previous)


def test_ctrl_c_right_after_mkstemp_leaves_no_temporary(tmp_path, signal_after_mkstemp):
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    made = signal_after_mkstemp(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        save_image(tmp_path / "m.png", np.full((4, 5), 0.5))
    assert len(made) == 1
    assert files_in(tmp_path) == set()  # old code: {'.m.png.XXXXXXXX.tmp'}


def test_sigterm_right_after_mkstemp_leaves_no_temporary(
    tmp_path, signal_after_mkstemp, sigterm_raises_terminated
):
    signal_after_mkstemp(signal.SIGTERM)
    with pytest.raises(Terminated):
        save_image(tmp_path / "m.png", np.full((4, 5), 0.5))
    assert files_in(tmp_path) == set()


def test_the_command_interrupted_there_leaves_nothing(
    tmp_path, scene_files, signal_after_mkstemp, capsys
):
    image, trimap = scene_files
    out = tmp_path / "out"
    out.mkdir()
    made = signal_after_mkstemp(signal.SIGINT)
    argv = ["alpha", str(image), str(trimap), "-o", str(out / "m.png"), "-q"]
    assert main([*argv, "--cutout", str(out / "c.png")]) == 130
    assert len(made) == 1 and files_in(out) == set()
    assert capsys.readouterr().err == "vecmatte: interrupted\n"


def test_a_write_without_a_signal_is_unchanged(tmp_path):
    save_image(tmp_path / "m.png", np.full((4, 5), 0.5))
    assert files_in(tmp_path) == {"m.png"}
