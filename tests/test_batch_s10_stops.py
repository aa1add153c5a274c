"""A batch stops in one line where every later image would fail the same way.

Session 10: an images (or trimaps) folder deleted mid-batch, and an output folder whose
permissions changed mid-batch, gave one failure per image left (each solved first, for the
permissions); images whose names differ only in case overwrote each other's outputs on a
case-insensitive disk.
"""

from __future__ import annotations

import os
import shutil

import pytest
from conftest import files_in, scene_folders

import vecmatte.alpha
from vecmatte.batch import find_tasks, run_batch
from vecmatte.cli import main
from vecmatte.io import save_image


def _at_the_second_solve(monkeypatch, action) -> list:
    """Run ``action()`` once the second image's solve is done (its outputs not yet written)."""
    solves, solve = [], vecmatte.alpha.solve_alpha

    def solving(*args, **kwargs):
        solves.append(1)
        result = solve(*args, **kwargs)
        if len(solves) == 2:
            action()
        return result

    monkeypatch.setattr(vecmatte.alpha, "solve_alpha", solving)
    return solves


@pytest.mark.parametrize("folder", ["images", "trimaps"])
def test_a_batch_stops_when_an_input_folder_is_deleted(tmp_path, monkeypatch, folder):
    # Old code: s2, s3 and s4 each failed "no file ..." (or "no trimap for ..."), one line
    # each; no record stopped the batch.
    images, trimaps = scene_folders(tmp_path, [f"s{i}" for i in range(5)], write=save_image)
    gone = {"images": images, "trimaps": trimaps}[folder]
    tasks = find_tasks(images, trimaps, tmp_path / "out")
    solves = _at_the_second_solve(monkeypatch, lambda: shutil.rmtree(gone))
    records = run_batch(tasks)
    assert len(solves) == 2
    assert [r.status for r in records] == ["done", "done", "failed", "failed", "failed"]
    third, *rest = records[2:]
    assert third.stops, third
    assert third.error == f"{gone}: the {folder} folder is not there: deleted, moved or unmounted?"
    for record in rest:
        assert record.error.startswith("not run: the batch stopped when s2 failed (")


def test_a_batch_of_masks_names_the_masks_folder(tmp_path, monkeypatch):
    images, masks = scene_folders(tmp_path, ["s0", "s1", "s2"], write=save_image)
    tasks = find_tasks(images, masks, tmp_path / "out", band=2)
    _at_the_second_solve(monkeypatch, lambda: shutil.rmtree(masks))
    records = run_batch(tasks)
    assert records[2].stops and "the masks folder is not there" in records[2].error


def _deny_writing_in(monkeypatch, folder) -> None:
    """``os.access`` says ``folder`` takes no writing (as a chmod would for a user; root
    passes every permission check, so only this works in CI)."""
    access = os.access

    def denying(path, mode, *args, **kwargs):
        if os.path.abspath(path) == str(folder) and mode & os.W_OK:
            return False
        return access(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", denying)


def test_a_batch_stops_when_its_output_folder_takes_no_writing_any_more(tmp_path, monkeypatch):
    # Old code: "permission denied" is no full disk: s1 to s4 were each solved, then each
    # failed "cannot write to directory out (permission denied)".
    images, trimaps = scene_folders(tmp_path, [f"s{i}" for i in range(5)], write=save_image)
    out = tmp_path / "out"
    tasks = find_tasks(images, trimaps, out)
    solves = _at_the_second_solve(monkeypatch, lambda: _deny_writing_in(monkeypatch, out))
    records = run_batch(tasks)
    assert len(solves) == 2  # old code: 5
    assert [r.status for r in records] == ["done"] + ["failed"] * 4
    assert records[1].stops
    assert records[1].error == f"{out}: cannot write in the output folder (permission denied)"
    assert all(r.error.startswith("not run: the batch stopped when s1 failed") for r in records[2:])
    assert files_in(out) == {"s0_alpha.png"}  # no temporary left either


def test_an_image_that_cannot_be_read_does_not_stop_the_batch(tmp_path, monkeypatch):
    # The other side: a PermissionError reading one photograph leaves the others going.
    images, trimaps = scene_folders(tmp_path, ["s0", "s1", "s2"], write=save_image)
    tasks = find_tasks(images, trimaps, tmp_path / "out")
    import vecmatte.io

    load = vecmatte.io.load_image

    def refusing(path, *args, **kwargs):
        if str(path).endswith("s1.png"):
            raise PermissionError(13, "Permission denied", str(path))
        return load(path, *args, **kwargs)

    monkeypatch.setattr(vecmatte.io, "load_image", refusing)
    records = run_batch(tasks)
    assert [r.status for r in records] == ["done", "failed", "done"]
    assert not records[1].stops


@pytest.mark.skipif(
    os.name != "posix" or os.geteuid() == 0, reason="needs POSIX permissions, not root"
)
def test_a_real_chmod_of_the_output_folder_stops_the_batch(tmp_path, monkeypatch):
    images, trimaps = scene_folders(tmp_path, ["s0", "s1", "s2", "s3"], write=save_image)
    out = tmp_path / "out"
    tasks = find_tasks(images, trimaps, out)
    solves = _at_the_second_solve(monkeypatch, lambda: out.chmod(0o500))
    try:
        records = run_batch(tasks)
    finally:
        out.chmod(0o700)
    assert len(solves) == 2 and records[1].stops


def test_the_command_says_once_that_the_images_folder_is_gone(tmp_path, monkeypatch, capsys):
    images, trimaps = scene_folders(tmp_path, [f"s{i}" for i in range(6)], write=save_image)
    out = tmp_path / "out"
    _at_the_second_solve(monkeypatch, lambda: shutil.rmtree(images))
    assert main(["batch", str(images), str(trimaps), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("vecmatte: s2 failed: ") == 1
    assert f"{images}: the images folder is not there" in err
    assert err.count("vecmatte: stopping: the images left would fail the same way") == 1
    assert "no file" not in err
    assert "2 done, 4 failed" in err


# ------------------------------------------------------------------ names differing in case


def test_images_whose_names_differ_only_in_case_are_refused_up_front(tmp_path, capsys):
    # Old code: A_alpha.png and a_alpha.png written here; on macOS/Windows the second image's
    # matte replaced the first's (exit 0, one matte for two photographs).
    images, trimaps = scene_folders(tmp_path, ["A", "a", "b"], write=save_image)
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=r"^images A\.png and a\.png differ only in case"):
        find_tasks(images, trimaps, out)
    assert main(["batch", str(images), str(trimaps), "-o", str(out)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    assert "A.png and a.png differ only in case" in lines[0]
    assert "A_alpha.png and a_alpha.png" in lines[0] and "case-insensitive" in lines[0]
    assert not out.exists()


def test_images_of_other_extensions_and_case_are_refused_too(tmp_path):
    # B.jpg and b.png: still one B_alpha.png / b_alpha.png file on such a disk.
    images, trimaps = scene_folders(tmp_path, ["b"], write=save_image)
    shutil.copy(images / "b.png", images / "B.jpg")
    shutil.copy(trimaps / "b.png", trimaps / "B.png")  # both solved (a trimap each)
    with pytest.raises(ValueError, match=r"images B\.jpg and b\.png differ only in case"):
        find_tasks(images, trimaps, tmp_path / "out")
