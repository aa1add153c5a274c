"""A matte made again beside an older cutout that was not made again: the cutout is named."""

from __future__ import annotations

import pytest
from conftest import scene_folders

from vecmatte.batch import find_tasks, run_batch
from vecmatte.cli import main
from vecmatte.io import save_image


@pytest.mark.parametrize("resume", [True, False])
def test_an_older_cutout_beside_a_remade_matte_is_named_and_kept(tmp_path, resume):
    # Before: `--resume --eps 1e-6` without --cutout remade the mattes and said nothing of the
    # cutouts of the earlier run beside them, which no longer match (fails on the old code).
    images, trimaps = scene_folders(tmp_path, ["a", "b"], write=save_image)
    out = tmp_path / "out"
    assert all(r.status == "done" for r in run_batch(find_tasks(images, trimaps, out, cutout=True)))
    before = (out / "a_cutout.png").read_bytes()
    (out / "b_cutout.png").unlink()
    records = run_batch(find_tasks(images, trimaps, out, eps=1e-6), resume=resume)
    assert [r.status for r in records] == ["done", "done"]
    assert records[0].note == (
        f"{out / 'a_cutout.png'} is from an earlier run, not made again with this matte (no "
        "cutout asked for): delete it, or run with cutout (--cutout)"
    )
    assert records[1].note is None  # no cutout there
    assert (out / "a_cutout.png").read_bytes() == before  # the user's file, never deleted


def test_a_matte_skipped_by_resume_leaves_its_cutout_unsaid(tmp_path):
    images, trimaps = scene_folders(tmp_path, ["a"], write=save_image)
    out = tmp_path / "out"
    run_batch(find_tasks(images, trimaps, out, cutout=True))
    records = run_batch(find_tasks(images, trimaps, out), resume=True)
    assert records[0].status == "skipped" and records[0].note is None  # the pair still agrees


def test_the_command_names_the_older_cutout(tmp_path, capsys):
    images, trimaps = scene_folders(tmp_path, ["a"], write=save_image)
    out = tmp_path / "out"
    argv = ["batch", str(images), str(trimaps), "-o", str(out)]
    assert main([*argv, "--cutout", "-q"]) == 0
    assert main([*argv, "--resume", "--eps", "1e-6"]) == 0
    err = capsys.readouterr().err
    assert f"  note: a: {out / 'a_cutout.png'} is from an earlier run, not made again" in err
