"""A batch whose outputs cannot be written for want of room stops instead of solving on."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import scene_folders

import vecmatte.alpha
from vecmatte.batch import BatchTask, find_tasks, run_batch
from vecmatte.batch.local import cpu_count
from vecmatte.io import save_image


def _folders(tmp_path, count=5):
    return scene_folders(tmp_path, [f"s{seed}" for seed in range(count)], write=save_image)


def _counting_solves(monkeypatch) -> list:
    solves, solve = [], vecmatte.alpha.solve_alpha

    def counted(*args, **kwargs):
        solves.append(1)
        return solve(*args, **kwargs)

    monkeypatch.setattr(vecmatte.alpha, "solve_alpha", counted)
    return solves


def test_a_full_disk_stops_the_batch_after_the_first_image(tmp_path, monkeypatch, request):
    # On a full disk each image was solved in full and then failed writing, one after the
    # other: hours of work for a thousand identical failures. Now the first one stops it.
    images, trimaps = _folders(tmp_path)
    request.getfixturevalue("full_disk")
    solves = _counting_solves(monkeypatch)
    records = run_batch(find_tasks(images, trimaps, tmp_path / "out"))
    assert len(solves) == 1  # old code: 5
    first, *rest = records
    assert first.status == "failed" and first.stops
    assert first.error.endswith("s0_alpha.png: no space left on device")
    for record in rest:
        assert record.status == "failed" and not record.stops
        assert record.error.startswith("not run: the batch stopped when s0 failed (")
        assert record.error.endswith("then run again with resume (--resume)")
    assert not list((tmp_path / "out").iterdir())


def test_other_errors_do_not_stop_the_batch(tmp_path, monkeypatch):
    images, trimaps = _folders(tmp_path, count=3)
    save_image(trimaps / "s0.png", np.full((40, 60), 0.5))  # no known pixel: s0 fails alone
    records = run_batch(find_tasks(images, trimaps, tmp_path / "out"))
    assert [(r.status, r.stops) for r in records] == [
        ("failed", False),
        ("done", False),
        ("done", False),
    ]


def test_the_command_says_it_stops_once_and_sums_up_the_images_not_run(tmp_path, capsys, request):
    from vecmatte.cli import main

    images, trimaps = _folders(tmp_path, count=6)
    request.getfixturevalue("full_disk")
    assert main(["batch", str(images), str(trimaps), "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.count("s0_alpha.png: no space left on device") == 3  # s0, its summary, not run
    assert err.count("vecmatte: stopping: the images left would fail the same way") == 1
    assert "failed: not run" not in err  # no line per image not run ...
    assert "  s1, s2 and 3 more: not run: the batch stopped when s0 failed" in err  # ... one


def test_a_device_that_is_full_stops_a_batch_of_hand_made_tasks(tmp_path, monkeypatch):
    images, trimaps = _folders(tmp_path, count=3)
    tasks = find_tasks(images, trimaps, tmp_path / "out")
    full = BatchTask("full", tasks[0].image_path, tasks[0].trimap_path, "/dev/full", None)
    solves = _counting_solves(monkeypatch)
    records = run_batch([full, *tasks])
    assert len(solves) == 1
    assert records[0].error == "/dev/full: no space left on device" and records[0].stops
    assert all(r.error.startswith("not run:") for r in records[1:])


@pytest.mark.skipif(cpu_count() < 2, reason="needs 2 CPUs: with one, jobs=2 runs in this process")
def test_a_device_that_is_full_stops_the_worker_processes(tmp_path):
    images, trimaps = _folders(tmp_path, count=24)
    tasks = find_tasks(images, trimaps, tmp_path / "out")
    full = BatchTask("full", tasks[0].image_path, tasks[0].trimap_path, "/dev/full", None)
    records = run_batch([full, *tasks], jobs=2)
    assert records[0].stops
    not_run = [r for r in records[1:] if r.status == "failed"]
    assert not_run and all(r.error.startswith("not run:") for r in not_run)


def test_a_file_system_turned_read_only_stops_the_batch(tmp_path, monkeypatch):
    # A mount turned read-only mid-batch (a failing disk remounted by the kernel) was
    # refused by the output check as a PermissionError without an errno: the batch solved
    # every later image in full, and each failed on its own line.
    import os
    from pathlib import Path
    from types import SimpleNamespace

    if not hasattr(os, "statvfs"):
        pytest.skip("needs os.statvfs")
    images, trimaps = _folders(tmp_path, count=4)
    out = tmp_path / "out"
    access, statvfs = os.access, os.statvfs

    def turned_read_only(path) -> bool:  # once the first image is written
        return Path(path) == out and any(out.glob("*.png"))

    monkeypatch.setattr(
        os, "access", lambda path, *a, **k: not turned_read_only(path) and access(path, *a, **k)
    )
    monkeypatch.setattr(
        os,
        "statvfs",
        lambda path: (
            SimpleNamespace(f_flag=os.ST_RDONLY) if turned_read_only(path) else statvfs(path)
        ),
    )
    solves = _counting_solves(monkeypatch)
    records = run_batch(find_tasks(images, trimaps, out))
    assert [record.status for record in records] == ["done", "failed", "failed", "failed"]
    assert records[1].stops
    assert records[1].error.endswith(f"cannot write to directory {out} (read-only file system)")
    assert all(
        r.error.startswith("not run: the batch stopped when s1 failed (") for r in records[2:]
    )
    assert len(solves) == 2  # old code: 4
