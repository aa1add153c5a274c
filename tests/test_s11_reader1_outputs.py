"""Reader 1 of session 11: the refusal of outputs differing in case and in the spelling of
an accent names the file systems where they are one file.

Windows ignores case but keeps the two Unicode spellings of an accent (é composed, U+00E9,
or e + U+0301) apart: ``É.png`` (decomposed) beside ``é.png`` (composed) is one file on
macOS only, yet the message said "a case-insensitive file system (macOS, Windows)".
"""

from __future__ import annotations

import pytest

from vecmatte._output_guard import check_case_only_differences


def test_case_and_accent_differences_are_one_file_on_macos_only(tmp_path):
    outputs = {"alpha matte": tmp_path / "\u00e9.png", "cutout": tmp_path / "E\u0301.png"}
    with pytest.raises(ValueError) as refused:
        check_case_only_differences(outputs)
    message = str(refused.value)
    assert "only in case and in the Unicode spelling of an accent" in message
    assert "on macOS is one file" in message
    assert "Windows" not in message


def test_case_only_differences_still_name_windows(tmp_path):
    outputs = {"alpha matte": tmp_path / "M.png", "cutout": tmp_path / "m.png"}
    with pytest.raises(ValueError, match=r"case-insensitive file system \(macOS, Windows\)"):
        check_case_only_differences(outputs)
