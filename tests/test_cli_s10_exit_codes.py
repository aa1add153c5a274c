"""What an output's name alone refuses is a usage error (exit 2), in every command.

Session 10: ``-o m.jpg --bit-depth 16``, ``-o m.xyz``, ``--cutout c.jpg`` and ``-o M.png
--cutout m.png`` exited 1, as a failed file does, beside ``--rtol 2``'s 2; the rule of
``vecmatte --help``'s epilog (2: an option's value outside what it takes, or options that
do not go together) decides 2. What depends on the files stays 1.
"""

from __future__ import annotations

import pytest
from conftest import files_in, write_png

import vecmatte
from vecmatte.cli import main


def _exit_code(argv) -> int:
    try:
        return main(argv)
    except SystemExit as exit_info:
        return exit_info.code


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """``in/a.png`` (image), ``tri/a.png`` (trimap), an empty ``out``; run from ``out``."""
    scene = vecmatte.make_scene((12, 14), seed=1, band=1)
    for name, array in (("in", scene.image), ("tri", scene.trimap)):
        (tmp_path / name).mkdir()
        write_png(tmp_path / name / "a.png", array)
    (tmp_path / "out").mkdir()
    monkeypatch.chdir(tmp_path / "out")
    return tmp_path


def _command(command: str, folder, output: str, *more: str) -> list[str]:
    image, trimap = str(folder / "in" / "a.png"), str(folder / "tri" / "a.png")
    first = {
        "alpha": ["alpha", image, trimap],
        "composite": ["composite", image, trimap, image],
        "trimap": ["trimap", trimap],
    }[command]
    return [*first, "-o", output, "-q", *more]


NAME_REFUSALS = [
    ("alpha", "m.jpg", ["--bit-depth", "16"], "JPEG cannot hold a 16-bit alpha matte"),
    ("alpha", "m.xyz", ["--bit-depth", "16"], "unknown image file extension '.xyz'"),
    ("alpha", "m.xyz", [], "unknown image file extension '.xyz'"),
    ("alpha", "m.pdf", [], "vecmatte does not write PDF files"),
    ("alpha", "m.png", ["--cutout", "c.jpg"], "JPEG cannot store an alpha channel"),
    ("alpha", "M.png", ["--cutout", "m.png"], "differ only in case"),
    ("alpha", "nowhere/m.xyz", [], "unknown image file extension"),  # names before folders
    ("composite", "c.xyz", [], "unknown image file extension '.xyz'"),
    ("trimap", "t.fits", [], "vecmatte does not write FITS files"),
]


@pytest.mark.parametrize(("command", "output", "more", "message"), NAME_REFUSALS)
def test_an_output_name_refused_by_itself_is_a_usage_error(
    folder, capsys, command, output, more, message
):
    assert _exit_code(_command(command, folder, output, *more)) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("vecmatte: error: ") and message in lines[0], lines
    assert lines[1] == f"see vecmatte {command} --help"
    assert files_in(folder / "out") == set()


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("nowhere/m.png", "output directory nowhere does not exist"),
        ("../in/a.png", "would overwrite the image"),
        (".", "is a directory"),
    ],
)
def test_what_depends_on_the_files_still_exits_1(folder, capsys, output, message):
    assert _exit_code(_command("alpha", folder, output)) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and message in lines[0], lines


def test_the_help_says_an_extension_is_an_options_value(capsys):
    assert _exit_code(["--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "2 a usage error: an option's value outside what it takes (an output's" in out
    assert "-o m.jpg --bit-depth 16" in out
