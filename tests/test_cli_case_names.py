"""Outputs of one command whose names differ only in case are refused before any work."""

from __future__ import annotations

import pytest
from conftest import files_in

from vecmatte.cli import main


@pytest.mark.parametrize(
    ("first", "second", "names"),
    [
        ("M.png", "m.png", ("--cutout", "alpha matte (-o) ")),
        ("m.png", "sub/../M.PNG", ("--foreground", "alpha matte (-o) ")),
    ],
)
def test_outputs_that_differ_only_in_case_are_refused(
    tmp_path, scene_files, capsys, first, second, names
):
    # On a case-insensitive file system the second rename replaced the first: the matte
    # asked for was gone, exit 0 (old code: both written here, one file on macOS).
    (tmp_path / "sub").mkdir()
    image, trimap = scene_files
    listing = files_in(tmp_path)
    option, other = names
    argv = ["alpha", str(image), str(trimap), "-o", str(tmp_path / first), "-q"]
    # Refused by the names alone: a usage error, exit 2 (session 10; 1 before).
    assert main([*argv, option, str(tmp_path / second)]) == 2
    line = capsys.readouterr().err.splitlines()
    assert len(line) == 2 and f"the {option} and the {other}" in line[0], line
    assert line[1] == "see vecmatte alpha --help"
    assert "differ only in case" in line[0] and "(nothing was written)" in line[0]
    assert files_in(tmp_path) == listing


def test_outputs_with_other_names_are_written(tmp_path, scene_files):
    image, trimap = scene_files
    argv = ["alpha", str(image), str(trimap), "-o", str(tmp_path / "M.png"), "-q"]
    assert main([*argv, "--cutout", str(tmp_path / "m2.png")]) == 0
    assert {"M.png", "m2.png"} <= files_in(tmp_path)
