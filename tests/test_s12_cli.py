"""The command line (session 12): two outputs of one name, what ``batch --jobs 2`` shows
while it solves, and the batch's folder locks named for what they do."""

from __future__ import annotations

import io
import os

import pytest
from conftest import write_png

import vecmatte
from vecmatte.cli import main


# --- (g) two outputs of one name ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        (["-o", "x.png", "--cutout", "x.png"], "x.png: the alpha matte (-o) and the --cutout are"),
        (["-o", "x.png", "--foreground", "./x.png"], "the alpha matte (-o) and the --foreground"),
        (["-o", "a.png", "--foreground", "f.png", "--cutout", "f.png"], "are the same file"),
        # the case-only clash, for comparison: it exited 2 already
        (["-o", "X.png", "--cutout", "x.png"], "differ only in case"),
    ],
)
def test_outputs_of_one_name_are_a_usage_error(scene_files, monkeypatch, capsys, outputs, message):
    # -o x.png --cutout x.png exited 1 while -o X.png --cutout x.png exited 2: both are what
    # the names alone refuse (nothing read, nothing written).
    image, trimap = scene_files
    monkeypatch.chdir(image.parent)
    before = sorted(p.name for p in image.parent.iterdir())
    assert main(["alpha", image.name, trimap.name, *outputs]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and message in lines[0] and lines[1] == "see vecmatte alpha --help"
    assert sorted(p.name for p in image.parent.iterdir()) == before


def test_one_file_through_a_link_stays_a_failure_of_the_files(scene_files, monkeypatch, capsys):
    image, trimap = scene_files
    monkeypatch.chdir(image.parent)
    (image.parent / "out").mkdir()
    (image.parent / "link").symlink_to("out")
    code = main(["alpha", image.name, trimap.name, "-o", "out/m.png", "--cutout", "link/m.png"])
    assert code == 1 and "are the same file" in capsys.readouterr().err


# --- (h) the images being solved with --jobs 2 -------------------------------------------------
class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.skipif(
    len(os.sched_getaffinity(0)) < 2, reason="with one CPU, jobs=2 runs in this process"
)
def test_a_batch_in_processes_says_which_images_it_solves(tmp_path):
    # With --jobs 1 a terminal showed "solving NAME ..."; with --jobs 2 nothing at all until
    # the first image ended, then only the last ended image while the next ones were solved.
    from vecmatte.batch import find_tasks, run_batch
    from vecmatte.cli.batch import BatchProgress

    for folder in ("images", "trimaps"):
        (tmp_path / folder).mkdir()
    for seed, name in enumerate(["a", "b", "c"]):
        scene = vecmatte.make_scene((40, 60), seed=seed)
        write_png(tmp_path / "images" / f"{name}.png", scene.image)
        write_png(tmp_path / "trimaps" / f"{name}.png", scene.trimap)
    tasks = find_tasks(tmp_path / "images", tmp_path / "trimaps", tmp_path / "out")
    stream = _Terminal()
    progress = BatchProgress(len(tasks), stream=stream)
    started = []
    solving = progress.starting

    def starting(task):
        started.append(task.name)
        solving(task)

    progress.starting = starting
    records = run_batch(tasks, jobs=2, progress=progress)
    assert [r.status for r in records] == ["done"] * 3, [r.error for r in records]
    assert started == ["a", "b", "c"]  # old code: []
    shown = stream.getvalue().split("\r")
    # Before any image ended: the two being solved.
    assert any("0/3 images" in line and "solving a, b ..." in line for line in shown)
    assert "3/3 images" in shown[-1] and "solving" not in shown[-1]


def test_progress_in_a_log_is_one_line_per_image_ended():
    # A log (not a terminal) gets no line for an image started, with --jobs N as with 1.
    from vecmatte.cli.batch import BatchProgress

    class Task:
        name = "a"

    class Record:
        name, status = "a", "done"

    stream = io.StringIO()
    progress = BatchProgress(1, stream=stream)
    progress.starting(Task())
    progress(1, 1, Record())
    assert stream.getvalue().count("\n") == 1 and "a done" in stream.getvalue()


# --- (j) the two holders of the folder locks ---------------------------------------------------
def test_the_batch_and_the_commands_hold_the_folders_under_names_that_differ():
    # Both were output_folders_held: the batch's also removes a killed run's temporaries.
    from vecmatte.batch import _temporaries
    from vecmatte.cli import _outputs

    assert hasattr(_temporaries, "output_folders_cleaned_and_held")
    assert not hasattr(_temporaries, "output_folders_held")
    assert hasattr(_outputs, "output_folders_held")
