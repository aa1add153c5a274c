"""A trimap whose name differs from its image's only in case is named in the failure."""

from __future__ import annotations

from conftest import scene_folders

from vecmatte.batch import find_tasks, run_batch
from vecmatte.io import save_image


def test_a_trimap_named_in_another_case_is_pointed_at(tmp_path):
    # Before: "no trimap for B: no file trimaps/B.*" beside the trimaps/b.png the user sees
    # (old code: no hint). Names still match exactly: the image fails, the other runs.
    images, trimaps = scene_folders(tmp_path, ["a", "B"], write=save_image)
    (trimaps / "B.png").rename(trimaps / "b.png")
    records = run_batch(find_tasks(images, trimaps, tmp_path / "out"))
    assert [r.status for r in records] == ["failed", "done"]  # sorted: B before a
    assert records[0].error == (
        f"no trimap for B: no file {trimaps / 'B.*'} ({trimaps / 'b.png'} differs in case; "
        "names are matched exactly)"
    )


def test_a_missing_trimap_with_no_near_name_is_said_as_before(tmp_path):
    images, trimaps = scene_folders(tmp_path, ["a", "c"], write=save_image)
    (trimaps / "c.png").unlink()
    records = run_batch(find_tasks(images, trimaps, tmp_path / "out"))
    assert records[1].error == f"no trimap for c: no file {trimaps / 'c.*'}"
