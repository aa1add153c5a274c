"""Review B of session 11: the outputs a user names one by one are held to the batch's rule.

abc8007 refused a batch's images named alike but for the Unicode spelling of an accent (é
composed, U+00E9, or e + U+0301: one file on macOS), but the shared guard of the outputs
named on the command line (``-o é.png --cutout é.png``) compared them by case alone: on
macOS the cutout replaced the matte. The rule now lives in one place (_output_guard.name_key).
"""

from __future__ import annotations

import pytest
from conftest import files_in, one_error_line

from vecmatte._output_guard import check_case_only_differences
from vecmatte.cli import main

COMPOSED, DECOMPOSED = "\u00e9.png", "e\u0301.png"


def test_outputs_differing_in_the_spelling_of_an_accent_are_refused(tmp_path):
    outputs = {"alpha matte": tmp_path / COMPOSED, "cutout": tmp_path / DECOMPOSED}
    with pytest.raises(ValueError, match=r"Unicode spelling of an accent.*on macOS is one file"):
        check_case_only_differences(outputs)


def test_outputs_differing_in_case_and_accent_say_both(tmp_path):
    outputs = {"alpha matte": tmp_path / COMPOSED, "cutout": tmp_path / "E\u0301.png"}
    with pytest.raises(ValueError, match="only in case and in the Unicode spelling"):
        check_case_only_differences(outputs)


def test_outputs_differing_in_case_only_are_refused_as_before(tmp_path):
    outputs = {"alpha matte": tmp_path / "M.png", "cutout": tmp_path / "m.png"}
    with pytest.raises(ValueError, match="differ only in case, which on a case-insensitive"):
        check_case_only_differences(outputs)


def test_the_alpha_command_refuses_them_before_any_work(tmp_path, scene_files, capsys):
    image, trimap = scene_files
    before = files_in(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    code = main(
        [
            "alpha",
            str(image),
            str(trimap),
            "-o",
            str(out / COMPOSED),
            "--cutout",
            str(out / DECOMPOSED),
        ]
    )
    assert code == 2
    assert "Unicode spelling of an accent" in one_error_line(capsys.readouterr().err)
    assert files_in(out) == set() and files_in(tmp_path) == before | {"out"}
