"""File names that begin with '-': the usage error says why and how to give them."""

from __future__ import annotations

import pytest
from conftest import one_error_line

from vecmatte.cli import main

# argparse takes a word that begins with '-' for an option: `-o -m.png` said only
# "argument -o/--output: expected one argument", and `vecmatte alpha -d.png t.png -o m.png`
# "the following arguments are required: image", naming neither the file nor the way out.


def _usage_error(argv, capsys) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.endswith(" --help\n") and err.count("\n") == 2, err
    return one_error_line(err)


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["alpha", "a.png", "t.png", "-o", "-m.png"], "'-m.png' begins with '-', so it was "),
        (["alpha", "a.png", "t.png", "-o", "m.png", "--cutout", "-c.png"], "--cutout=-c.png"),
        (["batch", "photos", "trimaps", "-o", "-out"], "taken for an option: -o=-out"),
    ],
)
def test_an_output_that_begins_with_a_dash_is_named_with_the_way_to_give_it(argv, said, capsys):
    line = _usage_error(argv, capsys)
    assert ": expected one argument; '-" in line and said in line


@pytest.mark.parametrize(
    "argv",
    [
        ["alpha", "-d.png", "t.png", "-o", "m.png"],
        ["alpha", "a.png", "-d.png", "-o", "m.png"],
        ["trimap", "-d.png", "-o", "t.png"],
        ["eval", "-d.png", "gt.png", "t.png"],
        ["composite", "-d.png", "m.png", "--color", "red", "-o", "c.png"],
    ],
)
def test_an_input_that_begins_with_a_dash_is_named_with_the_way_to_give_it(argv, capsys):
    line = _usage_error(argv, capsys)
    assert f"'-d.png' begins with '-' and is no option of vecmatte {argv[0]}: " in line
    assert "write ./-d.png (or the options first, then -- and the file names)" in line


@pytest.mark.parametrize(
    "argv",
    [
        ["alpha", "a.png", "t.png", "-o", "m.png", "--bogus"],  # a mistyped option
        ["alpha", "-o", "m.png", "--", "-d.png"],  # after --: a file already
        ["alpha", "a.png", "t.png", "-o", "m.png", "--eps", "-1", "--radius"],  # a number
        ["-d.png"],  # vecmatte itself takes no file names
        # an option after -o: its value forgotten, no file named so (a hint for -o=-q was
        # given: fails on the old code)
        ["alpha", "a.png", "t.png", "-o", "-q"],
        ["alpha", "a.png", "t.png", "-o", "--quiet"],
        ["alpha", "a.png", "t.png", "-o", "m.png", "--cutout", "--qui"],
    ],
)
def test_no_such_hint_where_the_word_is_no_file_name(argv, capsys):
    line = _usage_error(argv, capsys)
    assert "begins with '-'" not in line
