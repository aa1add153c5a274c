"""What ``--option`` (and the web form, through the same reader) takes as a number.

Session 8 left open whether reading what ``float()`` reads is harmful: it takes the digits
of other scripts and '1_000'. Decided harmless (each reads as the number it shows); pinned
here so that a change is a decision, not an accident.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from vecmatte.cli import main
from vecmatte.cli._common import option_value


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("1_000", 1000),
        ("\u0662", 2.0),  # Arabic-Indic two
        ("\uff12", 2.0),  # fullwidth two
        ("\u0663.\u0665e-\u0662", 0.035),
        (" 1e-6 ", 1e-6),
        ("-Infinity", -math.inf),
        ("0x10", 16),  # a Python literal
    ],
)
def test_a_number_reads_as_the_number_it_shows(text, number):
    value = option_value(text)
    assert value == number and not isinstance(value, bool)


@pytest.mark.parametrize("text", ["10**3", "\u22121", "1__0", "1,5e", "two"])
def test_a_text_that_is_no_number_stays_text(text):
    assert option_value(text) == text.strip()


def test_digits_of_another_script_give_the_same_matte(tmp_path, scene_files):
    image, trimap = scene_files
    pixels = []
    for index, value in enumerate(["2", "\u0662"]):
        out = tmp_path / f"a{index}.png"
        argv = ["alpha", str(image), str(trimap), "-o", str(out), "-q", "--option"]
        assert main([*argv, f"radius={value}"]) == 0
        with Image.open(out) as written:
            pixels.append(np.asarray(written))
    np.testing.assert_array_equal(pixels[0], pixels[1])


def test_a_text_that_is_no_number_is_refused_naming_the_option(tmp_path, scene_files, capsys):
    image, trimap = scene_files
    argv = ["alpha", str(image), str(trimap), "-o", str(tmp_path / "a.png"), "-q"]
    assert main([*argv, "--option", "eps=\u22121"]) == 2
    assert "--option eps=\u22121: eps takes a number such as its default" in capsys.readouterr().err
