"""One rule for the exit code of an option's bad value: a usage error, exit 2, in every command.

Before, ``--rtol 2``, ``--eps -1``, ``--maxiter 0``, ``--option eps=-1``, ``--preconditioner
ichol:sweeps=0``, ``composite --color nocolour`` and ``batch --scheduler foo`` exited 1 (as a
failed input does) where ``--band 0``, ``--max-pixels 0`` and ``--jobs 0`` exited 2 (argparse).
"""

from __future__ import annotations

import pytest
from conftest import files_in, write_png

import vecmatte
from vecmatte.cli import main

# Per command, the options and a value each does not take (with what the line must say).
SOLVER = [
    (["--rtol", "2"], "rtol must lie in [1e-15, 1)"),
    (["--rtol", "nan"], "rtol must"),
    (["--maxiter", "0"], "maxiter must be"),
    (["--maxiter", "x"], "argument --maxiter"),
    (["--eps", "-1"], "eps must be a positive finite number"),
    (["--radius", "0"], "radius must be a positive integer"),
    (["--method", "bogus"], "argument --method"),
    (["--option", "eps=-1"], "eps must be a positive finite number"),
    (["--option", "bogus=1"], "has no option 'bogus'"),
    (["--option", "eps"], "write it as NAME=VALUE"),
    (["--option", "radius=True"], "--option radius=True"),
    (["--eps", "1e-6", "--option", "eps=1e-5"], "disagree"),
    (["--preconditioner", "amg"], "unknown preconditioner 'amg'"),
    (["--preconditioner", "ichol:sweeps=0"], "sweeps must be a whole number"),
    (["--preconditioner", "ichol:bogus=1"], "has no option"),
    (["--method", "knn", "--preconditioner", "ichol"], "knn"),
]
READING = [(["--max-pixels", "0"], "argument --max-pixels")]
CASES = {
    "alpha": [
        *SOLVER,
        *READING,
        (["--bit-depth", "12"], "argument --bit-depth"),
        (["--foreground-method", "ml"], "--foreground-method applies only with"),
        (["--foreground-method", "x", "--cutout", "c.png"], "argument --foreground-method"),
        (["--band", "3"], "--band applies to --mask only"),
    ],
    "alpha --mask": [(["--band", "0"], "argument --band")],
    "batch": [
        *SOLVER,
        *READING,
        (["--jobs", "0"], "--jobs must be at least 1"),
        (["--band", "3"], "--band applies to --mask only"),
    ],
    "demo": SOLVER,
    "composite": [
        *READING,
        (["--color", "nocolour"], "cannot read colour 'nocolour'"),
        (["--color", "red", "--fit", "crop"], "--fit applies to a BACKGROUND"),
        (["--fit", "stretch"], "argument --fit"),
    ],
    "trimap": [*READING, (["--band", "0"], "argument --band"), (["--band", "x"], "--band")],
}


def _exit_code(argv) -> int:
    """``main(argv)``'s exit code, returned or raised (argparse's own refusals exit)."""
    try:
        return main(argv)
    except SystemExit as exit_info:
        return exit_info.code


def _argv(command: str, folder) -> list[str]:
    """A command line that would succeed in ``folder`` (image, trimap, and their folders)."""
    image, trimap = str(folder / "in" / "a.png"), str(folder / "tri" / "a.png")
    out = str(folder / "out" / "a.png")
    return {
        "alpha": ["alpha", image, trimap, "-o", out],
        "alpha --mask": ["alpha", image, "--mask", trimap, "-o", out],
        "batch": ["batch", str(folder / "in"), str(folder / "tri"), "-o", str(folder / "out")],
        "demo": ["demo", "--output-dir", str(folder / "out")],
        "composite": ["composite", image, trimap, "-o", out],
        "trimap": ["trimap", trimap, "-o", out],
    }[command]


@pytest.mark.parametrize(
    ("command", "options", "message"),
    [(command, *case) for command, cases in CASES.items() for case in cases],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)
def test_a_value_an_option_does_not_take_is_a_usage_error(
    tmp_path, monkeypatch, capsys, command, options, message
):
    scene = vecmatte.make_scene((12, 14), seed=1, band=1)
    for name, array in (("in", scene.image), ("tri", scene.trimap)):
        (tmp_path / name).mkdir()
        write_png(tmp_path / name / "a.png", array)
    (tmp_path / "out").mkdir()
    monkeypatch.chdir(tmp_path / "out")  # a relative name (c.png) lands where it is watched
    argv = _argv(command, tmp_path)
    if "--color" in options:
        argv.remove(str(tmp_path / "tri" / "a.png"))
        argv.insert(2, str(tmp_path / "tri" / "a.png"))  # IMAGE ALPHA, no BACKGROUND
    elif command == "composite":
        argv.insert(3, str(tmp_path / "in" / "a.png"))  # the image as background
    assert _exit_code([*argv, *options]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("vecmatte: error: ") and message in lines[0], lines
    assert lines[1] == f"see vecmatte {command.split()[0]} --help"
    assert files_in(tmp_path / "out") == set()


def test_what_depends_on_the_files_still_exits_1(tmp_path, scene_files, capsys):
    # The rule's other side: a radius too large for this image is known only from the file.
    image, trimap = scene_files
    argv = ["alpha", str(image), str(trimap), "-o", str(tmp_path / "a.png"), "-q"]
    assert main([*argv, "--radius", "40"]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "radius" in lines[0], lines
    assert not (tmp_path / "a.png").exists()


def test_the_help_says_the_exit_codes(capsys):
    assert _exit_code(["--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "2 a usage error: an option's value outside what it takes" in out
    assert "1 a file or the computation failed" in out and "130 interrupted" in out
    assert "143 terminated (SIGTERM" in out
