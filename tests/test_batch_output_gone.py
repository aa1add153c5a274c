"""A batch whose output folder is deleted while it runs stops with one line."""

from __future__ import annotations

import shutil

import pytest
from conftest import scene_folders

import vecmatte.alpha
from vecmatte.batch import find_tasks, run_batch
from vecmatte.cli import main
from vecmatte.io import save_image


def _delete_at_the_second_solve(monkeypatch, folder, *, after: bool) -> list:
    """Delete ``folder`` when the second image is solved (before or ``after`` its solve)."""
    solves, solve = [], vecmatte.alpha.solve_alpha

    def deleting(*args, **kwargs):
        solves.append(1)
        if len(solves) == 2 and not after:
            shutil.rmtree(folder)
        result = solve(*args, **kwargs)
        if len(solves) == 2 and after:
            shutil.rmtree(folder)  # while the image is solved: its write fails
        return result

    monkeypatch.setattr(vecmatte.alpha, "solve_alpha", deleting)
    return solves


@pytest.mark.parametrize("after", [False, True])
def test_a_batch_stops_when_its_output_folder_is_deleted(tmp_path, monkeypatch, after):
    # Before: every image left was read and solved, and failed in turn with "output
    # directory out does not exist" (or its temporary's "no such file"): one failure each.
    images, trimaps = scene_folders(tmp_path, [f"s{i}" for i in range(5)], write=save_image)
    out = tmp_path / "out"
    tasks = find_tasks(images, trimaps, out)
    solves = _delete_at_the_second_solve(monkeypatch, out, after=after)
    records = run_batch(tasks)
    assert len(solves) == 2  # old code: 5
    assert [r.status for r in records] == ["done"] + ["failed"] * 4
    second, *rest = records[1:]
    assert second.stops and second.error == (
        f"{out}: the output folder is not there: deleted, moved or unmounted?"
    )
    for record in rest:
        assert not record.stops
        assert record.error.startswith("not run: the batch stopped when s1 failed (")
    assert not out.exists()  # nothing made it again


def test_the_command_says_once_that_the_output_folder_is_gone(tmp_path, monkeypatch, capsys):
    images, trimaps = scene_folders(tmp_path, [f"s{i}" for i in range(6)], write=save_image)
    out = tmp_path / "out"
    _delete_at_the_second_solve(monkeypatch, out, after=True)
    assert main(["batch", str(images), str(trimaps), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("vecmatte: s1 failed: ") == 1
    assert err.count("vecmatte: stopping: the images left would fail the same way") == 1
    assert "does not exist" not in err and "no such file" not in err
    assert "batch: 6 images in" in err and "1 done, 5 failed" in err
    assert "  s2, s3 and 2 more: not run: the batch stopped when s1 failed" in err
