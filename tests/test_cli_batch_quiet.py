"""``vecmatte batch -q`` says its warnings as ``vecmatte alpha -q`` does."""

from __future__ import annotations

from conftest import scene_folders

from vecmatte.cli import main
from vecmatte.io import save_image


def test_a_quiet_batch_still_says_a_matte_did_not_converge(tmp_path, capsys):
    # Before: `batch -q` said nothing of it (exit 0), where `alpha -q` warns (old code: "").
    images, trimaps = scene_folders(tmp_path, ["a"], write=save_image)
    argv = ["batch", str(images), str(trimaps), "-o", str(tmp_path / "o"), "--maxiter", "1"]
    assert main([*argv, "--preconditioner", "jacobi", "-q"]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("vecmatte: warning: a: conjugate gradient"), (
        lines
    )
    image, trimap = images / "a.png", trimaps / "a.png"
    single = ["alpha", str(image), str(trimap), "-o", str(tmp_path / "m.png"), "--maxiter", "1"]
    assert main([*single, "--preconditioner", "jacobi", "-q"]) == 0
    alone = capsys.readouterr().err.splitlines()
    assert alone == [lines[0].replace("warning: a: ", "warning: ")]  # the same words


def test_a_quiet_batch_that_went_well_prints_nothing(tmp_path, capsys):
    images, trimaps = scene_folders(tmp_path, ["a"], write=save_image)
    assert main(["batch", str(images), str(trimaps), "-o", str(tmp_path / "o"), "-q"]) == 0
    assert capsys.readouterr().err == ""
