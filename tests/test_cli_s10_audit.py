"""Session 10's audit of ``vecmatte alpha`` and ``vecmatte batch`` as users hit them."""

from __future__ import annotations

import shutil

import pytest
from conftest import scene_folders

from vecmatte.batch import find_tasks
from vecmatte.cli import main
from vecmatte.io import save_image


def _usage_error(argv, capsys) -> list[str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    return capsys.readouterr().err.splitlines()


@pytest.mark.parametrize("flag", ["-v", "-vv", "-verbose"])
def test_a_flag_tried_is_not_taken_for_a_file_name(tmp_path, monkeypatch, capsys, flag):
    # Old code: "unrecognized arguments: -v; '-v' begins with '-' and is no option of
    # vecmatte alpha: for a file of that name write ./-v ...", for a verbose flag tried.
    monkeypatch.chdir(tmp_path)
    lines = _usage_error(["alpha", "a.png", "t.png", "-o", "m.png", flag], capsys)
    assert lines == [
        f"vecmatte: error: unrecognized arguments: {flag}",
        "see vecmatte alpha --help",
    ]


def test_a_file_so_named_still_gets_the_hint(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "-v").write_bytes(b"")
    lines = _usage_error(["alpha", "a.png", "t.png", "-o", "m.png", "-v"], capsys)
    assert "for a file of that name write ./-v" in lines[0]


def test_a_batch_output_folder_under_a_file_names_the_file(tmp_path, capsys):
    # Old code: "out.png/run1: cannot write in the output folder (Not a directory); choose
    # another one with -o", a PermissionError naming neither the file nor what is wrong.
    images, trimaps = scene_folders(tmp_path, ["a"], write=save_image)
    (tmp_path / "out.png").write_bytes(b"x")
    out = tmp_path / "out.png" / "run1" / "x"
    assert main(["batch", str(images), str(trimaps), "-o", str(out), "-q"]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines == [f"vecmatte: error: {out}: {tmp_path / 'out.png'} is a file, not a folder"]


def test_two_trimaps_of_one_name_are_said_to_be_ambiguous_not_clashing_outputs(tmp_path):
    # Old code: "several trimaps have the same name, so the outputs would clash: a.png,
    # a.tif": the trimaps make no output; which one is the image's is what cannot be told.
    images, trimaps = scene_folders(tmp_path, ["a"], write=save_image)
    shutil.copy(trimaps / "a.png", trimaps / "a.tif")
    with pytest.raises(ValueError) as refused:
        find_tasks(images, trimaps, tmp_path / "out")
    assert str(refused.value) == (
        "several trimaps have the same name, so which trimap goes with the image cannot be "
        "told: a.png, a.tif; rename or remove all but one"
    )
    assert not (tmp_path / "out").exists()


def test_a_quiet_batch_says_each_failure_once(tmp_path, capsys):
    # Old code: "vecmatte: a failed: no trimap for a ..." as it happened, then again in the
    # summary's list: every error twice, in a mode that prints nothing but errors.
    images, trimaps = scene_folders(tmp_path, ["a", "b"], write=save_image)
    (trimaps / "a.png").unlink()
    argv = ["batch", str(images), str(trimaps), "-o", str(tmp_path / "out"), "-q"]
    assert main(argv) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "vecmatte: 1 of 2 images failed:",
        f"  a: no trimap for a: no file {trimaps / 'a.*'}",
    ]


def test_an_image_whose_output_name_would_be_too_long_is_refused_up_front(tmp_path, capsys):
    # Old code: the image (a valid name of 250 bytes) was solved, then failed writing with
    # "file name too long for the file system; give a shorter name (output)".
    name = "x" * 246  # x..x.png: 250 bytes; x..x_alpha.png: 256
    images, trimaps = scene_folders(tmp_path, ["a", name], write=save_image)
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=r"\(NAME_alpha.png\) would be 256 bytes long"):
        find_tasks(images, trimaps, out)
    assert main(["batch", str(images), str(trimaps), "-o", str(out), "-q"]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "(250 characters): the name of its output" in lines[0], lines
    assert lines[0].endswith("rename the image (nothing was written)")
    assert not out.exists()
    short = "x" * 245  # x..x_alpha.png: 255 bytes, a valid name
    (images / f"{name}.png").rename(images / f"{short}.png")
    (trimaps / f"{name}.png").rename(trimaps / f"{short}.png")
    assert main(["batch", str(images), str(trimaps), "-o", str(out), "-q"]) == 0
    assert (out / f"{short}_alpha.png").is_file()
