"""Batches: matching names, failures that do not stop the others, resume, processes, Ctrl-C."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import files_in, needs_two_cpus, scene_folders, write_png
from PIL import Image
from test_formats import unwritable_directory

import vecmatte
from vecmatte.batch import BatchRecord, find_tasks, process_task, run_batch
from vecmatte.cli import BatchProgress, main

NAMES = ["a", "b", "c", "d", "e"]


@pytest.fixture
def folders(tmp_path) -> tuple[Path, Path, Path]:
    """Five small scenes: images (``c`` as JPEG), trimaps (PNG), and an output folder path."""
    images, trimaps = scene_folders(tmp_path, NAMES, shape=(30, 36), band=2)
    with Image.open(images / "c.png") as image:
        image.save(images / "c.jpg", quality=95)
    (images / "c.png").unlink()
    return images, trimaps, tmp_path / "out"


def expected_alpha(images: Path, trimaps: Path, name: str) -> np.ndarray:
    image = next(images.glob(f"{name}.*"))
    return vecmatte.estimate_alpha(
        vecmatte.load_image(image), vecmatte.load_trimap(trimaps / f"{name}.png")
    )


def corrupt(images: Path, name: str) -> Path:
    path = next(images.glob(f"{name}.*"))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # truncated
    return path


def no_temporary_files(directory: Path) -> bool:
    return not any(name.startswith(".") or name.endswith(".tmp") for name in files_in(directory))


# --- finding tasks ---------------------------------------------------------------------


def test_find_tasks_matches_names_across_extensions(folders):
    images, trimaps, out = folders
    tasks = find_tasks(images, trimaps, out, cutout=True, eps=1e-6, radius=1)
    assert [task.name for task in tasks] == NAMES
    c = tasks[2]
    assert c.image_path == str(images / "c.jpg") and c.trimap_path == str(trimaps / "c.png")
    assert c.alpha_path == str(out / "c_alpha.png") and c.cutout_path == str(out / "c_cutout.png")
    assert c.eps == 1e-6 and out.is_dir()
    assert pickle.loads(pickle.dumps(c)) == c
    assert len(pickle.dumps(c)) < 1000  # small: only paths and options travel


def test_find_tasks_refuses_empty_or_unmatched_folders(folders, tmp_path):
    images, trimaps, out = folders
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no images here")
    with pytest.raises(ValueError, match=r"empty: no image files in this folder \(looked for .png"):
        find_tasks(empty, trimaps, out)
    with pytest.raises(ValueError, match=r"no image of .* has a trimap of the same name"):
        find_tasks(images, empty, out)
    with pytest.raises(FileNotFoundError, match="images folder does not exist"):
        find_tasks(tmp_path / "missing", trimaps, out)
    assert not out.exists()  # nothing created when refusing


def test_find_tasks_refuses_clashing_names(folders):
    images, trimaps, out = folders
    write_png(images / "a.tif", np.zeros((4, 4)))
    with pytest.raises(ValueError, match=r"several images have the same name.*a.png, a.tif"):
        find_tasks(images, trimaps, out)


def test_find_tasks_refuses_an_unwritable_output_folder(folders, tmp_path):
    images, trimaps, _ = folders
    directory = unwritable_directory(tmp_path)
    try:
        with pytest.raises(PermissionError, match="cannot write in the output folder"):
            find_tasks(images, trimaps, directory)
    finally:
        (tmp_path / "readonly").chmod(0o700)


def test_image_without_trimap_fails_alone(folders):
    images, trimaps, out = folders
    (trimaps / "b.png").unlink()
    records = run_batch(find_tasks(images, trimaps, out))
    statuses = {record.name: record.status for record in records}
    assert statuses == {"a": "done", "b": "failed", "c": "done", "d": "done", "e": "done"}
    assert "no trimap for b" in records[1].error


@pytest.mark.parametrize("entry", ["folder", "broken link", "named pipe"])
def test_a_trimap_that_is_no_file_is_named_as_what_it_is(folders, entry):
    # Before: "no trimap for b: no file trimaps/b.*", beside the trimaps/b.png the user sees.
    if entry != "folder" and os.name != "posix":
        pytest.skip("links and named pipes as POSIX makes them")
    images, trimaps, out = folders
    (trimaps / "b.png").unlink()
    if entry == "folder":
        (trimaps / "b.png").mkdir()
        said = f"{trimaps}/b.png is a folder, not a trimap file"
    elif entry == "broken link":
        (trimaps / "b.tif").symlink_to(trimaps / "gone.tif")
        said = f"{trimaps}/b.tif is a broken link, not a trimap file"
    else:
        os.mkfifo(trimaps / "b.png")
        said = f"{trimaps}/b.png is a named pipe, socket or device, not a trimap file"
    records = run_batch(find_tasks(images, trimaps, out))
    assert [record.status for record in records] == ["done", "failed", "done", "done", "done"]
    assert records[1].error == f"no trimap for b: {said}"


@pytest.mark.skipif(os.name != "posix", reason="links and named pipes as POSIX makes them")
def test_what_is_named_like_an_image_but_is_no_file_is_left_out_with_a_warning(folders):
    # Links to a drive not mounted, a named pipe or a folder x.png were left out without a
    # word: a batch of only such links said "no image files in this folder".
    images, trimaps, out = folders
    (images / "f.png").symlink_to("/nonexistent/f.png")
    (images / "g.png").mkdir()
    os.mkfifo(images / "h.png")
    (images / ".hidden.png").symlink_to("/nonexistent/hidden.png")  # hidden: not an image
    with pytest.warns(UserWarning) as caught:
        tasks = find_tasks(images, trimaps, out)
    assert [str(w.message) for w in caught] == [
        f"{images}: left out what is named like an image but is no file: f.png (a broken "
        "link), g.png (a folder), h.png (a named pipe, socket or device)"
    ]
    assert [task.name for task in tasks] == NAMES


# --- processing ------------------------------------------------------------------------


def test_process_task_writes_the_alpha(folders):
    images, trimaps, out = folders
    task = find_tasks(images, trimaps, out)[0]
    record = process_task(task)
    assert record.status == "done" and record.error is None and record.iterations > 0
    np.testing.assert_allclose(
        vecmatte.load_trimap(task.alpha_path), expected_alpha(images, trimaps, "a"), atol=0.5 / 255
    )


def test_process_task_reports_bad_input_without_raising(folders):
    images, trimaps, out = folders
    corrupt(images, "a")
    record = process_task(find_tasks(images, trimaps, out)[0])
    assert record.status == "failed" and record.iterations == 0
    assert "a.png: cannot read image, the file is damaged or truncated" in record.error
    assert files_in(out) == set()


def test_mismatched_sizes_fail_with_the_trimap_named(folders):
    images, trimaps, out = folders
    write_png(trimaps / "a.png", np.zeros((10, 12)))
    record = process_task(find_tasks(images, trimaps, out)[0])
    assert record.status == "failed"
    assert "a.png: trimap has shape (10, 12) but image has shape (30, 36)" in record.error


def test_trimap_without_foreground_fails_with_the_trimap_named(folders):
    images, trimaps, out = folders
    write_png(trimaps / "a.png", np.full((30, 36), 0.5))
    record = process_task(find_tasks(images, trimaps, out)[0])
    assert record.status == "failed"
    message = "trimap has no foreground pixels (values > 0.9); mark some in white"
    assert record.error == f"{trimaps / 'a.png'}: {message}"
    assert not out.joinpath("a_alpha.png").exists()


def test_non_convergence_is_a_note_with_the_residual(folders):
    images, trimaps, out = folders
    record = process_task(find_tasks(images, trimaps, out, preconditioner="none", maxiter=1)[0])
    assert record.status == "done" and record.iterations == 1
    assert "residual" in record.note and "rtol" in record.note


def test_memory_refusal_is_a_failed_record(folders, monkeypatch):
    import vecmatte.memory

    images, trimaps, out = folders
    monkeypatch.setattr(vecmatte.memory, "_memory_readings", lambda: {"machine": 1000})
    record = process_task(find_tasks(images, trimaps, out)[0])
    assert record.status == "failed" and "needs about" in record.error
    assert files_in(out) == set()


# --- running batches -------------------------------------------------------------------


def test_corrupt_image_in_the_middle(folders):
    images, trimaps, out = folders
    corrupt(images, "c")
    calls = []
    records = run_batch(
        find_tasks(images, trimaps, out, cutout=True),
        progress=lambda done, total, record: calls.append((done, total, record.name)),
    )
    assert [record.name for record in records] == NAMES
    assert [record.status for record in records] == ["done", "done", "failed", "done", "done"]
    assert "c.jpg" in records[2].error
    assert calls == [(i + 1, 5, name) for i, name in enumerate(NAMES)]
    for name in ["a", "b", "d", "e"]:
        alpha = vecmatte.load_trimap(out / f"{name}_alpha.png")
        np.testing.assert_allclose(alpha, expected_alpha(images, trimaps, name), atol=0.5 / 255)
        assert (out / f"{name}_cutout.png").is_file()
    assert not (out / "c_alpha.png").exists() and not (out / "c_cutout.png").exists()
    assert no_temporary_files(out)


def test_resume_skips_finished_outputs(folders):
    images, trimaps, out = folders
    tasks = find_tasks(images, trimaps, out)
    run_batch(tasks[:2])
    mtime = os.stat(tasks[0].alpha_path).st_mtime_ns
    records = run_batch(tasks, resume=True)
    assert [record.status for record in records] == ["skipped"] * 2 + ["done"] * 3
    assert os.stat(tasks[0].alpha_path).st_mtime_ns == mtime
    # without resume everything is solved again
    assert [record.status for record in run_batch(tasks)] == ["done"] * 5


@needs_two_cpus
def test_two_jobs_give_the_same_alphas(folders):
    images, trimaps, out = folders
    corrupt(images, "b")
    tasks = find_tasks(images, trimaps, out)
    done = []
    records = run_batch(tasks, jobs=2, progress=lambda d, t, r: done.append(d))
    assert [record.name for record in records] == NAMES
    assert [record.status for record in records] == ["done", "failed", "done", "done", "done"]
    assert sorted(done) == [1, 2, 3, 4, 5]
    for name in ["a", "c", "d", "e"]:
        alpha = vecmatte.load_trimap(out / f"{name}_alpha.png")
        np.testing.assert_allclose(alpha, expected_alpha(images, trimaps, name), atol=0.5 / 255)
    assert no_temporary_files(out)


def test_run_batch_checks_jobs(folders):
    images, trimaps, out = folders
    with pytest.raises(ValueError, match="jobs must be a positive whole number, got 0"):
        run_batch(find_tasks(images, trimaps, out), jobs=0)


# --- command line ----------------------------------------------------------------------


def test_cli_batch_summary_and_exit_code(folders, capsys):
    images, trimaps, out = folders
    corrupt(images, "c")
    code = main(["batch", str(images), str(trimaps), "-o", str(out), "--cutout"])
    assert code == 1
    err = capsys.readouterr().err
    assert "5/5 images" in err and "ETA" in err and "elapsed" in err
    assert "batch: 5 images in " in err and "4 done, 1 failed" in err
    assert "vecmatte: 1 of 5 images failed:\n  c: " in err
    assert len(files_in(out)) == 8 and no_temporary_files(out)
    code = main(["batch", str(images), str(trimaps), "-o", str(out), "--cutout", "--resume"])
    assert code == 1
    assert "0 done, 4 skipped (outputs already there), 1 failed" in capsys.readouterr().err


def test_cli_batch_all_good_and_jobs(folders, capsys):
    images, trimaps, out = folders
    assert main(["batch", str(images), str(trimaps), "-o", str(out), "--jobs", "2"]) == 0
    err = capsys.readouterr().err
    assert "5 done, 0 failed" in err and "failed:" not in err
    assert files_in(out) == {f"{name}_alpha.png" for name in NAMES}


def test_cli_batch_errors_before_starting(folders, tmp_path, capsys):
    images, trimaps, out = folders
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["batch", str(empty), str(trimaps), "-o", str(out)]) == 1
    assert "vecmatte: error: " in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["batch", str(images), str(trimaps), "-o", str(out), "--jobs", "0"])
    assert exit_info.value.code == 2


def test_progress_on_a_terminal_redraws_one_line():
    class Terminal:
        def __init__(self):
            self.text = ""

        def write(self, text):
            self.text += text

        def flush(self):
            pass

        def isatty(self):
            return True

    terminal = Terminal()
    progress = BatchProgress(2, stream=terminal)
    records = [BatchRecord("x", "done", 1.0, 3, None), BatchRecord("y", "failed", 0.1, 0, "bad")]
    for done, record in enumerate(records, start=1):
        progress(done, 2, record)
    assert progress.summary(records) == 1
    assert terminal.text.count("\r") == 2 and "vecmatte: y failed: bad\n" in terminal.text
    assert terminal.text.endswith("  y: bad\n")


# Runs `vecmatte batch` with the held tasks of tests/dask_slow_tasks.py: every image but
# the first waits (its temporary file written, in worker processes) until the test is done.
_HELD_BATCH = """
import sys
sys.path.insert(0, sys.argv.pop(1))
import dask_slow_tasks
import vecmatte.batch.local as local
from vecmatte.cli import main

local._process_in_worker = dask_slow_tasks.held_in_worker
local.process_task = dask_slow_tasks.held_in_process
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_leaves_complete_files_only(tmp_path, jobs):
    """SIGINT in the middle of a batch: exit code 130, no partial or temporary file.

    Every image after the first is held (tests/dask_slow_tasks.py), so the batch is still
    running when the signal comes: a fast batch on a loaded core could finish first.
    """
    from dask_slow_tasks import HELD

    names = ["first", *(f"{HELD}{seed:02d}" for seed in range(1, 6))]
    images, trimaps = scene_folders(tmp_path, names, shape=(90, 110), band=3)
    out = tmp_path / "out"
    command = [sys.executable, "-c", _HELD_BATCH, str(Path(__file__).parent), "batch"]
    command += [str(images), str(trimaps), "-o", str(out), "--cutout", "--jobs", jobs]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stderr.readline()  # with one CPU: jobs=2 is more than it can use
        line = line if "images" in line else process.stderr.readline()
        assert "images" in line, line  # the first image is done: the others are held
        deadline = time.monotonic() + 60
        while not any(tmp_path.glob(f"{HELD}*.holding")):  # a held one waits
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, err
    assert "vecmatte: interrupted" in err
    assert no_temporary_files(out)
    # with worker processes a held image has its temporary files written when stopped
    assert files_in(out) == {"first_alpha.png", "first_cutout.png"}
    for name in files_in(out):  # every file there is complete
        with Image.open(out / name) as image:
            image.load()
            assert image.size == (110, 90)


def test_check_solve_options_lives_with_the_solver_and_stays_importable_from_batch():
    import vecmatte.alpha
    import vecmatte.batch

    assert vecmatte.batch.check_solve_options is vecmatte.alpha.check_solve_options
    vecmatte.alpha.check_solve_options({"method": "cf", "rtol": 1e-6})
    with pytest.raises(ValueError, match="alpha method 'cf' has no option 'colour'"):
        vecmatte.alpha.check_solve_options({"method": "cf", "colour": 1})
    with pytest.raises(ValueError, match="rtol"):
        vecmatte.alpha.check_solve_options({"rtol": 2.0})


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("foo", "'foo' is not a Dask scheduler address (missing port number"),
        ("http://host:8786", "unknown address scheme 'http'"),
        ("tcp://host:99999", "port 99999 is not in 1 ... 65535"),
    ],
)
def test_malformed_scheduler_address_is_refused_at_once(folders, capsys, address, message):
    # Before: the error line, then a 60 s wait at exit and a traceback from Client.__del__,
    # and the output folder was made.
    pytest.importorskip("distributed")
    images, trimaps, out = folders
    assert main(["batch", str(images), str(trimaps), "-o", str(out), "--scheduler", address]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vecmatte: error: ") and message in err and err.count("\n") == 2
    assert not out.exists()
    with pytest.raises(ValueError, match="is not a Dask scheduler address"):
        run_batch(find_tasks(images, trimaps, out), scheduler=address)


def test_cli_says_it_is_connecting_before_waiting_for_a_scheduler(folders, capsys, monkeypatch):
    # An unreachable scheduler is known only after the 30 s timeout: say so before the wait.
    pytest.importorskip("distributed")
    import vecmatte.batch

    monkeypatch.setattr(vecmatte.batch, "run_batch", lambda tasks, **kwargs: [])
    images, trimaps, out = folders
    argv = ["batch", str(images), str(trimaps), "-o", str(out), "--scheduler", "tcp://h:8786"]
    main(argv)
    err = capsys.readouterr().err
    assert err.startswith("vecmatte: connecting to the Dask scheduler at tcp://h:8786 (giving up")
    main([*argv, "-q"])
    assert "connecting" not in capsys.readouterr().err


# --- --bit-depth 16 ---------------------------------------------------------------------------


def test_cli_batch_bit_depth_16_writes_16_bit_mattes(folders, capsys):
    images, trimaps, out = folders
    argv = ["batch", str(images), str(trimaps), "-o", str(out), "-q", "--bit-depth", "16"]
    assert main([*argv, "--cutout"]) == 0
    for name in NAMES:
        with Image.open(out / f"{name}_alpha.png") as matte:
            assert matte.mode == "I;16"
            levels = np.asarray(matte).astype(np.int64)
        # round(65535 alpha) of the same solve made here directly: no 8-bit step between.
        expected = np.rint(expected_alpha(images, trimaps, name) * 65535)
        assert np.abs(levels - expected).max() <= 1
        with Image.open(out / f"{name}_cutout.png") as cutout:
            assert cutout.mode == "RGBA"  # the cutout stays 8-bit RGBA
    assert len(np.unique(levels)) > 256 or np.all(np.isin(levels, [0, 65535]))


def test_resume_redoes_mattes_of_another_bit_depth(folders, capsys):
    # An 8-bit batch, resumed with --bit-depth 16: its mattes are not the ones asked for.
    images, trimaps, out = folders
    argv = ["batch", str(images), str(trimaps), "-o", str(out), "-q", "--cutout"]
    assert main(argv) == 0
    with Image.open(out / "a_alpha.png") as matte:
        assert matte.mode == "L"
    assert main([*argv, "--resume", "--bit-depth", "16"]) == 0
    for name in NAMES:
        with Image.open(out / f"{name}_alpha.png") as matte:
            assert matte.mode == "I;16"
            levels = np.asarray(matte).astype(np.int64)
        expected = np.rint(expected_alpha(images, trimaps, name) * 65535)
        assert np.abs(levels - expected).max() <= 1
    # now they are: skipped; and back to 8 bits, made again at 8 bits
    tasks16 = find_tasks(images, trimaps, out, cutout=True, bit_depth=16)
    assert {r.status for r in run_batch(tasks16, resume=True)} == {"skipped"}
    tasks8 = find_tasks(images, trimaps, out, cutout=True)
    assert {r.status for r in run_batch(tasks8, resume=True)} == {"done"}
    with Image.open(out / "a_alpha.png") as matte:
        assert matte.mode == "L"
    assert {r.status for r in run_batch(tasks8, resume=True)} == {"skipped"}
    assert no_temporary_files(out)


def test_bit_depth_16_is_refused_before_any_solve(folders, monkeypatch, capsys):
    images, trimaps, out = folders

    def no_solve(*args, **kwargs):
        raise AssertionError("solved although the matte cannot be written")

    monkeypatch.setattr("vecmatte.alpha.solve_alpha", no_solve)
    with pytest.raises(ValueError, match="bit_depth must be 8 or 16"):
        find_tasks(images, trimaps, out, bit_depth=12)
    assert not out.exists()
    with pytest.raises(SystemExit) as exit_info:
        main(["batch", str(images), str(trimaps), "-o", str(out), "--bit-depth", "12"])
    assert exit_info.value.code == 2
    # A task made by hand whose matte is a JPEG: a failed record, nothing read or solved.
    task = find_tasks(images, trimaps, out, bit_depth=16)[0]
    jpeg = type(task)(**{**task.__dict__, "alpha_path": str(out / "a_alpha.jpg")})
    record = process_task(jpeg)
    assert record.status == "failed"
    assert "JPEG cannot hold a 16-bit alpha matte" in record.error
    assert files_in(out) == set()
    # The task carries its depth to other processes (local workers, Dask).
    assert pickle.loads(pickle.dumps(task)).bit_depth == 16


def test_interrupt_between_temporary_and_its_cleanup_leaves_no_temporary(folders, monkeypatch):
    """Ctrl-C landing just after a temporary file is made (before save_images can record it)."""
    import vecmatte._writing as writing

    images, trimaps, out = folders
    original = writing._write_temporary
    made = []

    def write_then_interrupt(path, buffer):
        made.append(original(path, buffer))
        if len(made) == 3:  # the second image's matte: its temporary exists, nobody owns it
            raise KeyboardInterrupt
        return made[-1]

    monkeypatch.setattr(writing, "_write_temporary", write_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        run_batch(find_tasks(images, trimaps, out, cutout=True), jobs=1)
    assert Path(made[2]).parent == out and not Path(made[2]).exists()
    assert no_temporary_files(out)
    assert 0 < len(files_in(out)) < 2 * len(NAMES)


def _image_named_like_an_output(tmp_path) -> tuple[Path, Path]:
    """Images ``x`` and ``x_alpha`` (a photograph of that name), a trimap for ``x`` only."""
    images, trimaps = tmp_path / "images", tmp_path / "trimaps"
    images.mkdir()
    trimaps.mkdir()
    scene = vecmatte.make_scene((30, 36), seed=1, band=2)
    write_png(images / "x.png", scene.image)
    write_png(images / "x_alpha.png", scene.image)
    write_png(trimaps / "x.png", scene.trimap)
    return images, trimaps


def test_an_earlier_output_in_the_trimaps_folder_is_not_an_images_trimap(tmp_path):
    # Output folder = trimaps folder: run 1 wrote trimaps/x_alpha.png as x's matte, and every
    # later run took it for the trimap of the image x_alpha and was refused ("the output of x
    # would overwrite the trimap x_alpha"). Its batch record shows it is x's output.
    images, trimaps = _image_named_like_an_output(tmp_path)
    for _ in range(3):
        records = run_batch(find_tasks(images, trimaps, trimaps))
        assert [(r.name, r.status) for r in records] == [("x", "done"), ("x_alpha", "failed")]
        assert "x_alpha" in records[1].error
    expected = expected_alpha(images, trimaps, "x")
    assert np.abs(vecmatte.io.load_trimap(trimaps / "x_alpha.png") - expected).max() < 1.01 / 255
    resumed = run_batch(find_tasks(images, trimaps, trimaps), resume=True)
    assert [r.status for r in resumed] == ["skipped", "failed"]


@pytest.mark.parametrize("maker", ["vecmatte trimap", "vecmatte alpha", "the user"])
def test_a_real_trimap_named_like_an_output_is_never_overwritten(tmp_path, maker):
    from vecmatte.batch._record import record_text, solve_record
    from vecmatte.io import save_image

    images, trimaps = _image_named_like_an_output(tmp_path)
    trimap = vecmatte.make_scene((30, 36), seed=2, band=2).trimap
    path = trimaps / "x_alpha.png"
    if maker == "vecmatte trimap":  # vecmatte's PNG, without a record
        save_image(path, trimap)
    elif maker == "vecmatte alpha":  # a record, without the inputs only a batch records
        save_image(path, trimap, text=record_text(solve_record({})))
    else:
        write_png(path, trimap)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="output of x would overwrite the trimap x_alpha"):
        find_tasks(images, trimaps, trimaps)
    assert path.read_bytes() == before
    assert main(["batch", str(images), str(trimaps), "-o", str(trimaps), "-q"]) != 0
    assert path.read_bytes() == before
