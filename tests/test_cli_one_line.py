"""Every message of the command line is one line, whatever the file names hold, and prints."""

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


@pytest.mark.parametrize(
    ("encoding", "name", "shown"),
    [("utf-8", b"bad\xff", "bad\\udcff"), ("ascii", "caf\u00e9".encode(), "caf\\xe9")],
)
def test_vecmatte_eval_prints_a_name_its_strict_standard_output_cannot_encode(
    tmp_path, monkeypatch, encoding, name, shown
):
    # Standard output is strict under a UTF-8 locale: a file name whose bytes are no UTF-8
    # (read as a surrogate), or a character the output's encoding lacks, stopped the table
    # after its header with "vecmatte: error: 'utf-8' codec can't encode character '\udcff'
    # in position 3: surrogates not allowed" (exit 1), naming no file.
    import io
    import os
    import sys

    name = os.fsdecode(name)
    _, trimaps = scene_folders(tmp_path, [name], shape=(24, 30), band=2)
    stdout = io.TextIOWrapper(io.BytesIO(), encoding=encoding, errors="strict")
    monkeypatch.setattr(sys, "stdout", stdout)
    assert main(["eval", str(trimaps), str(trimaps), str(trimaps)]) == 0
    stdout.flush()
    rows = stdout.buffer.getvalue().decode(encoding).splitlines()
    assert [row.split()[0] for row in rows] == ["image", f"{shown}.png", "mean"]


def test_vecmatte_demo_says_where_it_wrote_on_a_strict_standard_output(tmp_path, monkeypatch):
    # Its last line, "wrote DIR/demo_alpha.png and ...", raised UnicodeEncodeError for a
    # folder name of no UTF-8 after both files were written: exit 1 for a demo that worked.
    import io
    import os
    import sys

    out = tmp_path / os.fsdecode(b"d\xff")
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
    monkeypatch.setattr(sys, "stdout", stdout)
    assert main(["demo", "--output-dir", str(out)]) == 0
    stdout.flush()
    assert stdout.buffer.getvalue().decode() == (
        f"wrote {tmp_path}/d\\udcff/demo_alpha.png and {tmp_path}/d\\udcff/demo_cutout.png\n"
    )


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--option", "eps={[1]: 2}"),  # unhashable: literal_eval's TypeError, a traceback
        ("--option", "eps=" + "-" * 100_000 + "1"),  # too deep to parse: "MemoryError"
        ("--preconditioner", "ichol:sweeps=" + "-" * 100_000 + "1"),
    ],
)
def test_an_option_value_that_is_no_literal_is_refused_in_one_line(tmp_path, capsys, option, value):
    # A value is read as a Python literal, or kept as text for the option's own check to
    # name; these ended in a traceback or "vecmatte: error: MemoryError" (fails on the old
    # code), now in the option's own message.
    images, trimaps = scene_folders(tmp_path, ["a"], shape=(8, 10), band=2)
    argv = ["alpha", str(images / "a.png"), str(trimaps / "a.png"), "-o", str(tmp_path / "m.png")]
    assert main([*argv, option, value]) == 2  # a usage error
    err = capsys.readouterr().err
    name = value.partition("=")[0].rpartition(":")[2]
    assert err.startswith(f"vecmatte: error: {option} {value[:20]}") and err.count("\n") == 2
    assert name in err and "MemoryError" not in err
    assert not (tmp_path / "m.png").exists()


@pytest.mark.parametrize(
    "value", ["eps=" + "x" * 100_000, "eps=(" + "1" * 100_000, "radius=" + "[" * 100_000]
)
def test_a_long_option_value_that_is_no_number_is_named_cut_short(tmp_path, capsys, value):
    # The line repeated the whole text twice ("--option eps=xxx...: eps takes a number such
    # as its default 1e-07, got 'xxx...'"): 200 KB on one line (fails on the old code).
    images, trimaps = scene_folders(tmp_path, ["a"], shape=(8, 10), band=2)
    argv = ["alpha", str(images / "a.png"), str(trimaps / "a.png"), "-o", str(tmp_path / "m.png")]
    assert main([*argv, "--option", value]) == 2
    err = capsys.readouterr().err
    name = value.partition("=")[0]
    assert err.startswith(f"vecmatte: error: --option {value[:20]}") and err.count("\n") == 2
    assert f"{name} takes a number such as its default" in err
    assert f"({len(value)} characters)" in err and len(err) < 300, err[:400]
