"""Every message of the command line is one line, whatever the file names hold."""

from __future__ import annotations

import pytest
from conftest import scene_folders

from vecmatte.cli import main

pytest.importorskip("fcntl")  # names with a newline: not on Windows


# A newline is allowed in a file name on POSIX; printed as it is, it broke a progress line,
# a warning, a batch's summary or a row of eval's table in two, the second line without
# vecmatte's prefix (a log reader, a grep for "vecmatte:", saw a stray line).
NAME = "e\nf"
PREFIXES = ("[", "vecmatte: ", "batch: ", "  ")


def _lines_with_a_prefix(stderr: str) -> None:
    for line in stderr.splitlines():
        assert line.startswith(PREFIXES), stderr


def test_vecmatte_alpha_says_a_name_with_a_newline_in_one_line(tmp_path, capsys):
    images, trimaps = scene_folders(tmp_path, [NAME], shape=(24, 30), band=2)
    image, trimap = images / f"{NAME}.png", trimaps / f"{NAME}.png"
    output = tmp_path / f"{NAME}.jpg"  # a lossy matte: its warning names it
    assert main(["alpha", str(image), str(trimap), "-o", str(output)]) == 0
    err = capsys.readouterr().err
    _lines_with_a_prefix(err)
    assert f"reading {tmp_path}/images/e f.png and" in err
    assert f"vecmatte: warning: {tmp_path}/e f.jpg: JPEG is lossy" in err


def test_vecmatte_batch_says_names_with_a_newline_in_one_line(tmp_path, capsys):
    images, trimaps = scene_folders(tmp_path, ["a", NAME, "g\nh"], shape=(24, 30), band=2)
    (trimaps / "g\nh.png").unlink()  # this image fails: no trimap
    assert main(["batch", str(images), str(trimaps), "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    _lines_with_a_prefix(err)
    assert "  e f done\n" in err
    assert "vecmatte: g h failed: no trimap for g h: no file " in err
    assert err.endswith("  g h: no trimap for g h: no file " + f"{trimaps}/g h.*\n")


def test_vecmatte_eval_gives_a_name_with_a_newline_one_row(tmp_path, capsys):
    images, trimaps = scene_folders(tmp_path, ["a", NAME], shape=(24, 30), band=2)
    out = tmp_path / "out"
    assert main(["batch", str(images), str(trimaps), "-o", str(out), "-q"]) == 0
    capsys.readouterr()
    assert main(["eval", str(out), str(trimaps), str(trimaps)]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert [row.split()[0] for row in rows] == ["image", "a_alpha.png", "e", "mean"]
    assert rows[2].startswith("e f_alpha.png ")
