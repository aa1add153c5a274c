"""Inputs the authors of this session's code may not have tried (one test per defect found)."""

from __future__ import annotations

import os

import pytest

from vecmatte.batch import find_tasks, run_batch
from vecmatte.io import save_image
from vecmatte.synthetic import make_scene


def test_a_batch_cleans_its_folder_when_an_output_link_names_it_another_way(tmp_path):
    # The output folder is given through a link (outlink -> out) and one output is a link
    # into the folder's real path: the batch took two shared locks on the one folder, under
    # two names, and its own second lock refused it the exclusive one, so a killed run's
    # temporaries were never removed ("another batch runs there").
    pytest.importorskip("fcntl")
    images, trimaps, out = tmp_path / "images", tmp_path / "trimaps", tmp_path / "out"
    for folder in (images, trimaps, out):
        folder.mkdir()
    for seed, name in enumerate(("a", "b")):
        scene = make_scene((40, 60), seed=seed)
        save_image(images / f"{name}.png", scene.image)
        save_image(trimaps / f"{name}.png", scene.trimap)
    os.symlink(out, tmp_path / "outlink")
    os.symlink(out / "b_kept.png", out / "b_alpha.png")
    stale = out / ".a_alpha.png.k1ll3d.tmp"
    stale.write_bytes(b"\x89PNG half")
    tasks = find_tasks(images, trimaps, tmp_path / "outlink")
    assert [record.status for record in run_batch(tasks)] == ["done", "done"]
    assert not stale.exists()
