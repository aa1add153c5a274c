"""Issue 17: never destroy a user's file, never write a wrong matte silently.

One test per numbered item of the issue (exit code, message, inputs byte-identical afterwards,
no partial or stray file), then a property test over command-line arguments and inputs.
"""

from __future__ import annotations

import errno
import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import files_in, needs_two_cpus, one_error_line, scene_folders, write_png
from hypothesis import event, given
from hypothesis import strategies as st
from PIL import Image

import vecmatte
from vecmatte.cli import main
from vecmatte.io import save_image

PNG = b"\x89PNG\r\n\x1a\n"


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` (hidden temporaries included) with its bytes."""
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(Path(directory).rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def work(tmp_path, monkeypatch, scene):
    """image.png, trimap.png, mask.png, alpha.png, small.png, gray.png, white.png, labels.png
    (0, 1, 2); the cwd."""
    write_png(tmp_path / "image.png", scene.image)
    write_png(tmp_path / "trimap.png", scene.trimap)
    write_png(tmp_path / "mask.png", scene.alpha > 0.5)
    write_png(tmp_path / "alpha.png", scene.alpha)
    write_png(tmp_path / "small.png", np.zeros((10, 12, 3)))
    write_png(tmp_path / "gray.png", np.full(scene.trimap.shape, 0.5))
    write_png(tmp_path / "white.png", np.ones(scene.trimap.shape))
    write_png(tmp_path / "labels.png", np.round(scene.trimap * 2).astype(np.uint8))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _exit_code(argv) -> int:
    """``main(argv)``'s exit code, whether returned or raised (argparse's usage errors)."""
    try:
        return main(argv)
    except SystemExit as exit_info:
        return exit_info.code


def refused(argv, capsys, folder: Path, message: str, code: int = 1) -> None:
    """``main(argv)`` exits with ``code`` and ``message``, leaving ``folder`` as it was."""
    before = snapshot(folder)
    if code == 2:
        # argparse's own refusals exit; the options' range checks return 2 (same two lines).
        assert _exit_code(argv) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 2 and "--help" in err.splitlines()[1]
    else:
        assert main(argv) == code
        assert message in one_error_line(capsys.readouterr().err)
    assert snapshot(folder) == before


# --- 1. an output that names an input -----------------------------------------------------

ALPHA = ["alpha", "image.png", "trimap.png"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([*ALPHA, "-o", "image.png"], "image.png: the alpha matte (-o) would overwrite the image"),
        ([*ALPHA, "-o", "./image.png"], "would overwrite the image image.png"),
        ([*ALPHA, "-o", "photo.png", "--cutout", "trimap.png"], "--cutout would overwrite the"),
        ([*ALPHA, "-o", "hard.png"], "hard.png: the alpha matte (-o) would overwrite the image"),
        ([*ALPHA, "-o", "sym.png"], "sym.png: the alpha matte (-o) would overwrite the image"),
        (["alpha", "image.png", "--mask", "mask.png", "-o", "mask.png"], "overwrite the --mask"),
        (
            ["composite", "image.png", "alpha.png", "--color", "green", "-o", "image.png"],
            "composite (-o) would overwrite the image image.png",
        ),
        (
            ["composite", "image.png", "alpha.png", "--color", "green", "-o", "alpha.png"],
            "would overwrite the alpha alpha.png",
        ),
        (["trimap", "mask.png", "-o", "mask.png"], "trimap (-o) would overwrite the mask"),
    ],
)
def test_item1_an_output_never_replaces_an_input(work, capsys, argv, message):
    os.link(work / "image.png", work / "hard.png")
    (work / "sym.png").symlink_to(work / "image.png")
    refused(argv, capsys, work, message)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([*ALPHA, "-o", "x.png", "--cutout", "x.png"], "the alpha matte (-o) and the --cutout are"),
        ([*ALPHA, "-o", "a.png", "--foreground", "f.png", "--cutout", "f.png"], "same file"),
        ([*ALPHA, "-o", "-", "--cutout", "-"], "are both '-' (standard output)"),
        (["alpha", "-", "-", "-o", "x.png"], "image and trimap are both '-' (standard input)"),
    ],
)
def test_item1_two_outputs_of_one_name_are_a_usage_error(work, capsys, argv, message):
    # The same usage error as the case-only clash (-o X.png --cutout x.png): exit 2.
    refused(argv, capsys, work, message, code=2)


# --- 2. options that produce a wrong matte ----------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--rtol", "2"], "rtol must lie in [1e-15, 1), got 2.0"),
        (["--rtol", "0"], "rtol must lie in [1e-15, 1)"),
        (["--maxiter", "0"], "maxiter must be an integer of at least 1"),
        (["--maxiter", "-5"], "maxiter must be an integer of at least 1"),
        (["--eps", "-1"], "eps must be a positive finite number"),
        (["--radius", "0"], "radius must be a positive integer"),
        (["--option", "eps=nan"], "eps must be a positive finite number"),
        # before: TypeError tracebacks from float() in the checks
        (["--option", "eps=[1e-5]"], "--option eps=[1e-5]: eps takes a number such as its"),
        (
            ["--preconditioner", "ichol:sweeps=[1]"],
            "--preconditioner ichol:sweeps=[1]: sweeps must be a whole number from 1 to 1000",
        ),
    ],
)
def test_item2_meaningless_solver_options_are_refused(work, capsys, options, message):
    refused([*ALPHA, "-o", "out.png", *options], capsys, work, message, code=2)


# --- 3. save_image never clips silently --------------------------------------------------


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.full((4, 5), 0.7) * 255, "divide by 255"),
        (np.full((4, 5), np.nan), "20 NaN or infinite values"),
        (np.linspace(0, 2, 20).reshape(4, 5), r"values in [0, 2]: floats must lie in [0, 1]"),
    ],
)
def test_item3_save_image_refuses_and_keeps_the_old_file(tmp_path, array, message):
    target = tmp_path / "a.png"
    vecmatte.save_image(target, np.zeros((4, 5)))
    before = snapshot(tmp_path)
    with pytest.raises(ValueError) as error:
        vecmatte.save_image(target, array)
    assert message in str(error.value) and "\n" not in str(error.value)
    assert snapshot(tmp_path) == before
    sixteen = np.array([[0, 1], [65534, 65535]], dtype=np.uint16)
    vecmatte.save_image(tmp_path / "g16.png", sixteen)
    with Image.open(tmp_path / "g16.png") as image:
        assert image.mode.startswith("I;16")
        np.testing.assert_array_equal(np.asarray(image), sixteen)


# --- 4. the README's batch example as a script -------------------------------------------

SCRIPT = """\
import vecmatte

{indent}tasks = vecmatte.find_tasks("photos", "trimaps", "mattes")
{indent}records = vecmatte.run_batch(tasks, jobs=2)
{indent}print([record.status for record in records])
"""


def _batch_folders(root: Path, names=("a", "b")) -> None:
    scene_folders(root, names, shape=(24, 30), band=2, folders=("photos", "trimaps"))


@needs_two_cpus
@pytest.mark.parametrize("guarded", [False, True])
def test_item4_a_script_without_main_guard_gets_one_clear_error(tmp_path, guarded):
    _batch_folders(tmp_path)
    header = 'if __name__ == "__main__":\n' if guarded else ""
    script = header + SCRIPT.format(indent="    " if guarded else "").replace(
        "import vecmatte\n\n", ""
    )
    (tmp_path / "batch.py").write_text("import vecmatte\n" + script)
    inputs = snapshot(tmp_path / "photos") | snapshot(tmp_path / "trimaps")
    result = subprocess.run(
        [sys.executable, "batch.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert snapshot(tmp_path / "photos") | snapshot(tmp_path / "trimaps") == inputs
    if guarded:
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "['done', 'done']"
        return
    assert result.returncode == 1
    assert result.stderr.count("Traceback") == 1, result.stderr  # the script's own error
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("RuntimeError: run_batch(jobs=2) starts worker processes")
    assert 'if __name__ == "__main__":' in last
    assert "worker process died" not in result.stderr
    assert "An attempt has been made to start a new process" not in result.stderr
    assert snapshot(tmp_path / "mattes") == {}


def test_item4_workers_replace_the_guard_report_whole(tmp_path, monkeypatch):
    # Both spawned workers re-run an unguarded script and report why they stop. The parent
    # reads the report once the first worker dies: a second worker that truncated the file
    # in place (to write it again) made it read nothing, and the batch was taken for workers
    # the system killed (['failed', 'failed'] and exit 0 instead of the message).
    from vecmatte.batch import local

    report = tmp_path / "guard.txt"
    report.write_text("")
    monkeypatch.setenv(local._GUARD_ENV, str(report))
    monkeypatch.setattr(local, "_importing_main_in_worker", lambda: True)
    opened = []
    real_open = Path.open

    def spy(self, mode="r", *args, **kwargs):
        opened.append((self, mode))
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", spy)
    for _ in range(2):  # the second worker finds the first one's report in place
        with pytest.raises(SystemExit) as stopped:
            local._refuse_in_unguarded_worker(2)
        assert stopped.value.code == 1
        assert report.read_text() == local._GUARD_MESSAGE.format(jobs=2)
    written = [path for path, mode in opened if "w" in mode or "a" in mode]
    assert written and report not in written
    assert list(tmp_path.iterdir()) == [report]  # no file left aside


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([*ALPHA, "-o", "a.png", "--foreground-method", "cf"], "--foreground-method applies only"),
        (
            [
                "composite",
                "image.png",
                "alpha.png",
                "--color",
                "red",
                "--fit",
                "crop",
                "-o",
                "c.png",
            ],
            "--fit applies to a BACKGROUND image, not to --color",
        ),
        (
            [
                "composite",
                "image.png",
                "alpha.png",
                "--color",
                "red",
                "--foreground",
                "image.png",
                "--foreground-method",
                "cf",
                "-o",
                "c.png",
            ],
            "--foreground-method applies only when the foreground is estimated",
        ),
    ],
)
def test_item2_options_that_would_be_ignored_are_refused(work, capsys, argv, message):
    # Before: silently ignored, as --band without --mask is refused.
    refused(argv, capsys, work, message, code=2)


# --- 5. batches: own outputs, resume, temporaries, interruption, jobs --------------------


def test_item5_a_batch_into_its_input_folder_runs_twice(tmp_path, capsys):
    _batch_folders(tmp_path)
    photos, trimaps = tmp_path / "photos", tmp_path / "trimaps"
    inputs = snapshot(photos) | {f"t/{k}": v for k, v in snapshot(trimaps).items()}
    argv = ["batch", str(photos), str(trimaps), "-o", str(photos), "-q"]
    for _ in range(2):
        assert main(argv) == 0, capsys.readouterr().err
    assert sorted(snapshot(photos)) == ["a.png", "a_alpha.png", "b.png", "b_alpha.png"]
    after = snapshot(photos) | {f"t/{k}": v for k, v in snapshot(trimaps).items()}
    assert {k: v for k, v in after.items() if "_alpha" not in k} == inputs


@pytest.mark.parametrize("into", ["photos", "trimaps"])
def test_item5_a_users_file_named_like_an_output_is_never_replaced(tmp_path, capsys, into):
    # A photograph "a_alpha.png" beside "a.png" (with its own trimap "a_alpha.png"): the
    # output of "a" would be its name in either input folder. Before, the batch took both
    # for its own earlier outputs and replaced them.
    _batch_folders(tmp_path, names=("a", "a_alpha"))
    before = {d: snapshot(tmp_path / d) for d in ("photos", "trimaps")}
    argv = ["batch", str(tmp_path / "photos"), str(tmp_path / "trimaps"), "-o"]
    assert main([*argv, str(tmp_path / into), "-q"]) == 1
    err = capsys.readouterr().err
    kind = "image" if into == "photos" else "trimap"
    assert f"the output of a would overwrite the {kind} a_alpha" in err
    assert err.count("\n") == 1
    assert {d: snapshot(tmp_path / d) for d in before} == before


def test_item5_a_ground_truth_beside_the_photos_is_not_taken_for_an_old_output(tmp_path, capsys):
    # "a_alpha.png" not written by vecmatte (a ground truth kept beside the photograph),
    # without a trimap: an image of the batch, which fails alone; it is never replaced.
    _batch_folders(tmp_path, names=("a",))
    photos = tmp_path / "photos"
    write_png(photos / "a_alpha.png", vecmatte.make_scene((24, 30), seed=0).alpha)
    before = snapshot(photos)
    argv = ["batch", str(photos), str(tmp_path / "trimaps"), "-o", str(photos), "-q"]
    assert main(argv) == 1
    assert (
        "a_alpha.png: the output of a would overwrite the image a_alpha" in capsys.readouterr().err
    )
    assert snapshot(photos) == before
    # written elsewhere, the batch runs; its outputs in the photo folder are then skipped
    out = tmp_path / "out"
    assert main([*argv[:-2], str(out), "-q"]) == 1  # a_alpha has no trimap: fails alone
    assert "no trimap for a_alpha" in capsys.readouterr().err
    assert sorted(snapshot(out)) == ["a_alpha.png"]
    assert vecmatte.io.written_by_vecmatte(out / "a_alpha.png")
    assert not vecmatte.io.written_by_vecmatte(photos / "a_alpha.png")


def test_item5_resume_redoes_empty_outputs_and_cleans_temporaries(tmp_path, capsys):
    _batch_folders(tmp_path)
    out = tmp_path / "out"
    argv = ["batch", str(tmp_path / "photos"), str(tmp_path / "trimaps"), "-o", str(out)]
    assert main([*argv, "-q"]) == 0
    (out / "a_alpha.png").write_bytes(b"")  # a disk that filled up
    truncated = (out / "b_alpha.png").read_bytes()
    (out / "b_alpha.png").write_bytes(truncated[: len(truncated) // 2])
    (out / ".a_alpha.png.k1ll3d.tmp").write_bytes(PNG)  # a killed run's temporary
    assert main([*argv, "--resume"]) == 0
    assert "2 done, 0 failed" in capsys.readouterr().err
    assert sorted(snapshot(out)) == ["a_alpha.png", "b_alpha.png"]
    for name in ("a_alpha.png", "b_alpha.png"):
        assert vecmatte.io.is_complete_image(out / name)
    assert main([*argv, "--resume"]) == 0
    assert "0 done, 2 skipped" in capsys.readouterr().err


def test_item5_interrupted_batch_says_how_to_resume(tmp_path, capsys, monkeypatch):
    import vecmatte.batch

    _batch_folders(tmp_path)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(vecmatte.batch, "run_batch", interrupted)
    argv = ["batch", str(tmp_path / "photos"), str(tmp_path / "trimaps"), "-o", "out"]
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 130
    err = capsys.readouterr().err
    assert "vecmatte: interrupted; run the same command with --resume" in err
    assert snapshot(tmp_path / "out") == {}


def test_item5_jobs_are_capped_at_the_cpu_count(tmp_path, capsys, monkeypatch):
    import vecmatte.batch.local as local

    _batch_folders(tmp_path, names=("a", "b", "c"))
    used = []

    def sequential(tasks, pending, jobs, finish):
        used.append(jobs)
        for index in pending:
            finish(index, vecmatte.process_task(tasks[index]))

    monkeypatch.setattr(local, "cpu_count", lambda: 2)
    monkeypatch.setattr(local, "_run_in_processes", sequential)
    argv = ["batch", str(tmp_path / "photos"), str(tmp_path / "trimaps"), "-o", str(tmp_path)]
    assert main([*argv, "--jobs", "1000", "-q"]) == 0
    err = capsys.readouterr().err
    assert "vecmatte: warning: jobs=1000 is more than the 2 CPUs" in err
    assert used == [2]


@pytest.mark.parametrize("failure", [KeyboardInterrupt, MemoryError])
def test_item6_a_failure_while_writing_leaves_no_matte_without_its_cutout(
    work, capsys, monkeypatch, failure
):
    # The matte's file is complete when the cutout is made; before, it stayed behind alone.
    import vecmatte.compose

    def failing(*args, **kwargs):
        raise failure()

    monkeypatch.setattr(vecmatte.compose, "cutout", failing)
    before = snapshot(work)
    code = main([*ALPHA, "-o", "a.png", "--cutout", "c.png", "--foreground", "f.png", "-q"])
    assert code == (130 if failure is KeyboardInterrupt else 1)
    assert snapshot(work) == before


def test_item6_a_batch_task_that_fails_at_its_cutout_writes_nothing(tmp_path, monkeypatch):
    import vecmatte.compose

    _batch_folders(tmp_path, names=("a",))
    out = tmp_path / "out"
    task = vecmatte.find_tasks(tmp_path / "photos", tmp_path / "trimaps", out, cutout=True)[0]

    def failing(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(vecmatte.compose, "cutout", failing)
    record = vecmatte.process_task(task)
    assert record.status == "failed" and "No space left" in record.error
    assert snapshot(out) == {}


# --- 7. messages that name the right thing ----------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["composite", "image.png", "image.png", "--color", "red", "-o", "c.png"],
            "image.png: alpha is in colour",
        ),
        (["alpha", "image.png", "--mask", "image.png", "-o", "a.png"], "mask is in colour"),
        (
            [
                "composite",
                "image.png",
                "alpha.png",
                "--color",
                "red",
                "--foreground",
                "small.png",
                "-o",
                "c.png",
            ],
            "small.png: foreground has shape (10, 12) but the image image.png has shape (36, 44)",
        ),
        (
            ["composite", "image.png", "small.png", "--color", "red", "-o", "c.png"],
            "small.png: alpha has shape (10, 12) but the image image.png has shape (36, 44)",
        ),
        (
            ["alpha", "image.png", "small.png", "-o", "a.png"],
            "small.png: trimap has shape (10, 12)",
        ),
        (
            ["alpha", "image.png", "gray.png", "-o", "a.png"],
            "gray.png: trimap has no foreground pixels (values > 0.9); mark some in white",
        ),
        (
            ["alpha", "image.png", "labels.png", "-o", "a.png"],
            "labels.png: trimap has no foreground pixels (values > 0.9); mark some in white; "
            "its largest value is 2 of 255: is it an image of class labels (0, 1, 2)?",
        ),
        (
            ["alpha", "image.png", "white.png", "-o", "a.png"],
            "white.png: trimap has no background pixels (values < 0.1); mark some in black",
        ),
    ],
)
def test_item7_messages_name_the_file_and_what_it_is(work, capsys, argv, message):
    refused(argv, capsys, work, message)


def test_item7_composite_reads_a_background_path(work, scene):
    foreground, alpha = scene.foreground, scene.alpha
    with pytest.raises(FileNotFoundError, match=r"^bg\.png: no such file$"):
        vecmatte.composite(foreground, alpha, "bg.png")
    write_png(work / "bg.png", np.ones((5, 7, 3)))
    result = vecmatte.composite(foreground, alpha, "bg.png")
    np.testing.assert_allclose(result, vecmatte.composite(foreground, alpha, "white"))


# --- 8. workflows users expect -------------------------------------------------------------


def test_item8_standard_output_and_input(work, capsysbinary, monkeypatch):
    assert main([*ALPHA, "-o", "-", "-q"]) == 0
    data = capsysbinary.readouterr().out
    assert data.startswith(PNG)
    assert not (work / "-").exists()
    expected = vecmatte.estimate_alpha(
        vecmatte.load_image("image.png"), vecmatte.load_trimap("trimap.png")
    )
    np.testing.assert_allclose(vecmatte.load_trimap(io.BytesIO(data)), expected, atol=0.5 / 255)

    class Stdin:
        buffer = io.BytesIO((work / "image.png").read_bytes())

    monkeypatch.setattr(sys, "stdin", Stdin)
    assert main(["alpha", "-", "trimap.png", "-o", "from_stdin.png", "-q"]) == 0
    np.testing.assert_allclose(vecmatte.load_trimap("from_stdin.png"), expected, atol=0.5 / 255)


@pytest.mark.parametrize(
    "argv",
    [
        [*ALPHA, "-o", "-"],
        [*ALPHA, "-o", "a.png", "--cutout", "-"],
        ["trimap", "mask.png", "-o", "-"],
        ["composite", "image.png", "alpha.png", "--color", "red", "-o", "-"],
    ],
)
def test_item8_no_png_is_written_to_a_terminal(work, capsys, monkeypatch, argv):
    # Before: `vecmatte alpha photo.jpg trimap.png -o -` typed at a terminal printed the PNG.
    class Terminal(io.StringIO):
        buffer = io.BytesIO()

        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    before = snapshot(work)
    assert main([*argv, "-q"]) == 1
    assert "is '-' (standard output), which is a terminal" in one_error_line(
        capsys.readouterr().err
    )
    assert terminal.buffer.getvalue() == b"" and snapshot(work) == before


def test_item8_batch_with_masks_and_the_trimap_command(tmp_path, capsys):
    (tmp_path / "photos").mkdir()
    (tmp_path / "masks").mkdir()
    for seed, name in enumerate(("a", "b")):
        scene = vecmatte.make_scene((30, 36), seed=seed)
        write_png(tmp_path / "photos" / f"{name}.jpg", scene.image)
        write_png(tmp_path / "masks" / f"{name}.png", scene.alpha > 0.5)
    inputs = snapshot(tmp_path)
    out = tmp_path / "out"
    argv = ["batch", str(tmp_path / "photos"), "--mask", str(tmp_path / "masks"), "-o", str(out)]
    assert main([*argv, "--band", "3", "-q"]) == 0, capsys.readouterr().err
    assert sorted(snapshot(out)) == ["a_alpha.png", "b_alpha.png"]
    assert {k: v for k, v in snapshot(tmp_path).items() if not k.startswith("out")} == inputs
    # the same trimap as the library's, written with 0, 128 and 255
    mask = tmp_path / "masks" / "a.png"
    assert main(["trimap", str(mask), "-o", str(tmp_path / "t.png"), "--band", "3", "-q"]) == 0
    written = vecmatte.load_trimap(tmp_path / "t.png")
    reference = vecmatte.trimap_from_mask(vecmatte.load_trimap(mask), band=3)
    np.testing.assert_array_equal(written, np.select([reference == 0.5], [128 / 255], reference))


@pytest.mark.parametrize(
    "argv",
    [
        ["alpha", "image.png", "trimap.png", "-o", "a.png", "--band", "5"],
        ["batch", "photos", "trimaps", "-o", "out", "--band", "5"],
    ],
)
def test_item8_band_without_mask_is_refused(work, capsys, argv):
    (work / "photos").mkdir()
    (work / "trimaps").mkdir()
    refused(argv, capsys, work, "--band applies to --mask only", code=2)


def test_item8_eval_matches_by_stem_and_prints_small_numbers(tmp_path, capsys, scene):
    for directory in ("pred", "gt", "trimaps"):
        (tmp_path / directory).mkdir()
    predicted = np.round(scene.alpha * 255).astype(np.uint8)
    predicted[scene.trimap == 0.5] ^= 1  # one grey level off in the unknown band
    write_png(tmp_path / "pred" / "b.png", predicted)
    Image.fromarray(np.round(scene.alpha * 255).astype(np.uint8)).save(tmp_path / "gt" / "b.tif")
    write_png(tmp_path / "trimaps" / "b.jpg", scene.trimap)
    inputs = snapshot(tmp_path)
    argv = ["eval", str(tmp_path / "pred"), str(tmp_path / "gt"), str(tmp_path / "trimaps")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    with pytest.warns(vecmatte.io.LossyTrimapWarning, match="b.jpg"):
        trimap = vecmatte.load_trimap(tmp_path / "trimaps" / "b.jpg")
    errors = vecmatte.matting_errors(
        vecmatte.load_trimap(tmp_path / "pred" / "b.png"),
        vecmatte.load_trimap(tmp_path / "gt" / "b.tif"),
        trimap,
    )
    row = next(line for line in out.splitlines() if line.startswith("b.png "))
    assert f"{errors['mse']:#.3g}" in row.split() and "0.0000" not in out
    assert snapshot(tmp_path) == inputs


def test_item8_eval_takes_a_batch_output_folder(tmp_path, capsys):
    # Before: "no file named a_alpha.* to match .../a_alpha.png" for the folder a batch wrote.
    _batch_folders(tmp_path)
    photos, trimaps, out = tmp_path / "photos", tmp_path / "trimaps", tmp_path / "out"
    assert main(["batch", str(photos), str(trimaps), "-o", str(out), "--cutout", "-q"]) == 0
    truth = tmp_path / "truth"
    truth.mkdir()
    for seed, name in enumerate(("a", "b")):
        write_png(truth / f"{name}.png", vecmatte.make_scene((24, 30), seed=seed, band=2).alpha)
    capsys.readouterr()
    assert main(["eval", str(out), str(truth), str(trimaps), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["images"]
    assert [row["name"] for row in rows] == ["a_alpha.png", "b_alpha.png"]
    single = vecmatte.matting_errors(
        vecmatte.load_trimap(out / "b_alpha.png"),
        vecmatte.load_trimap(truth / "b.png"),
        vecmatte.load_trimap(trimaps / "b.png"),
    )
    assert rows[1]["sad"] == pytest.approx(single["sad"])


def test_item8_eval_with_a_trimap_without_unknown_pixels_says_so(work, capsys):
    # Before: a table of zeros, as if the matte were perfect.
    assert main(["eval", "alpha.png", "alpha.png", "mask.png"]) == 0
    captured = capsys.readouterr()
    assert "0.00" in captured.out
    assert captured.err == (
        "vecmatte: warning: mask.png: the trimap has no unknown (gray) pixels, so the errors "
        "of alpha.png are over no pixels and read 0; was a mask or an alpha matte given as "
        "trimap?\n"
    )
    assert main(["eval", "alpha.png", "alpha.png", "trimap.png"]) == 0
    assert capsys.readouterr().err == ""


def test_item8_sixteen_bit_colour_tiff_is_matted_at_full_depth(work, scene, capsys):
    tifffile = pytest.importorskip("tifffile")
    pixels = np.round(scene.image * 65535).astype(np.uint16)
    tifffile.imwrite(work / "image16.tif", pixels, photometric="rgb")
    assert main(["alpha", "image16.tif", "trimap.png", "-o", "a.png", "-q"]) == 0
    expected = vecmatte.estimate_alpha(pixels / 65535.0, vecmatte.load_trimap("trimap.png"))
    np.testing.assert_allclose(vecmatte.load_trimap("a.png"), expected, atol=0.5 / 255)


# --- the invariants, over arguments and inputs ----------------------------------------------

# Each option's values that are valid, and values that must be refused.
OPTIONS = {
    "--rtol": (["1e-6", "1e-3"], ["0", "1", "2", "-1", "nan"]),
    "--maxiter": (["1", "50"], ["0", "-3"]),
    "--eps": (["1e-7", "1e-3"], ["0", "-1", "inf"]),
    "--radius": (["1", "2"], ["0", "-1", "15"]),  # 15: a window larger than the image
    "--preconditioner": (["direct", "ichol", "jacobi", "none"], []),
    "--band": (["1", "2"], ["0", "-2", "50"]),
}
OUTPUTS = (["out.png", "out.tif", "-"], ["out.xyz", "image.png", "trimap.png", "missing/out.png"])
CUTOUTS = ([None, "cut.png", "cut.tif"], ["cut.jpg", "out.png", "image.png"])


@st.composite
def runs(draw):
    """A small scene, a trimap drawn over it, and arguments with at most one fault in them."""
    h, w = draw(st.integers(12, 20)), draw(st.integers(12, 20))
    seed = draw(st.integers(0, 3))
    labels = draw(st.sampled_from(["scene"] * 4 + ["all-unknown", "no-background", "all-known"]))
    mask = draw(st.booleans())
    fault = draw(st.sampled_from([None] * 8 + [*OPTIONS, "output", "cutout"]))

    def pick(name, choices):
        valid, invalid = choices
        return draw(st.sampled_from(invalid if fault == name and invalid else valid))

    options = []
    for flag, choices in OPTIONS.items():
        if flag == "--band" and not mask:
            continue
        if fault == flag or draw(st.booleans()):
            options += [flag, pick(flag, choices)]
    output, cutout = pick("output", OUTPUTS), pick("cutout", CUTOUTS)
    return (h, w, seed, labels, mask, output, cutout, options, fault)


def _trimap_for(scene, labels: str) -> np.ndarray:
    alpha = scene.alpha
    if labels == "all-unknown":
        return np.full(alpha.shape, 0.5)
    if labels == "all-known":
        return (alpha > 0.5).astype(np.float64)
    trimap = np.where(alpha > 0.9, 1.0, np.where(alpha < 0.1, 0.0, 0.5))
    return np.where(trimap == 0.0, 0.5, trimap) if labels == "no-background" else trimap


@given(runs())
def test_invariants_exit_0_with_a_matte_or_1_with_one_line_and_nothing_written(run):
    h, w, seed, labels, mask, output, cutout, options, fault = run
    scene = vecmatte.make_scene((h, w), seed=seed, band=1)
    trimap = _trimap_for(scene, labels)
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        write_png(folder / "image.png", scene.image)
        write_png(folder / "trimap.png", trimap)
        argv = ["alpha", str(folder / "image.png")]
        argv += ["--mask", str(folder / "trimap.png")] if mask else [str(folder / "trimap.png")]
        stdout = output == "-"
        argv += ["-o", "-" if stdout else str(folder / output), "-q", *options]
        if cutout is not None:
            argv += ["--cutout", str(folder / cutout)]
        before = snapshot(folder)
        captured_out, captured_err = io.BytesIO(), io.StringIO()

        class Out:
            buffer = captured_out

            @staticmethod
            def write(text):
                captured_out.write(text.encode())

            @staticmethod
            def flush():
                pass

        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = Out, captured_err
        try:
            code = _exit_code(argv)
        finally:
            sys.stdout, sys.stderr = saved
        err = captured_err.getvalue()
        event(f"exit {code}")
        after = snapshot(folder)
        assert {name: after.get(name) for name in before} == before  # inputs unchanged
        assert "Traceback" not in err
        if code in (1, 2):
            # 2: a usage error, an option's value out of its range (and the --help to read).
            assert err.count("\n") == code and err.startswith("vecmatte: error: "), err
            assert code == 1 or fault in OPTIONS, err
            assert after == before and captured_out.getvalue() == b""  # nothing written
            solvable = (trimap > 0.9).any() and (trimap < 0.1).any()
            assert fault is not None or mask or not solvable, err
            return
        assert code == 0, err
        assert fault in (None, "--preconditioner"), f"{fault} was not refused"
        assert all(line.startswith("vecmatte: warning: ") for line in err.splitlines()), err
        data = captured_out.getvalue() if stdout else after[output]
        with Image.open(io.BytesIO(data)) as image:
            alpha = np.asarray(image.convert("L"), dtype=np.float64) / 255.0
        assert alpha.shape == (h, w)
        if not mask:  # known pixels keep their trimap value
            known = (trimap == 0.0) | (trimap == 1.0)
            np.testing.assert_array_equal(alpha[known], trimap[known])
        new = set(after) - set(before)
        assert new == {n for n in (None if stdout else output, cutout) if n is not None}


def test_item1_the_library_writers_use_the_same_guard(tmp_path):
    from vecmatte.compat import pymatting

    _batch_folders(tmp_path)
    photos, trimaps = tmp_path / "photos", tmp_path / "trimaps"
    before = snapshot(tmp_path)
    task = vecmatte.BatchTask(
        "a", str(photos / "a.png"), str(trimaps / "a.png"), str(photos / "a.png"), None
    )
    record = vecmatte.process_task(task)
    assert record.status == "failed"
    assert "the alpha output would overwrite the image" in record.error
    with pytest.raises(ValueError, match="the trimaps folder is the images folder"):
        vecmatte.find_tasks(photos, photos, tmp_path / "out")
    with pytest.raises(ValueError, match="cutout_path would overwrite the trimap_path"):
        pymatting.cutout(photos / "a.png", trimaps / "a.png", trimaps / "a.png")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--max-pixels", "0"], "argument --max-pixels: must be a whole number of at least 1"),
        (["--rtol", "5"], "rtol must lie in [1e-15, 1)"),
        (["--option", "bogus=1"], "alpha method 'cf' has no option 'bogus'"),
        (["--preconditioner", "ichol:bogus=1"], "preconditioner 'ichol' has no option"),
        (["--band", "3"], "--band applies to --mask only"),
    ],
)
def test_item2_a_batch_refuses_bad_options_once_before_any_work(tmp_path, capsys, options, message):
    _batch_folders(tmp_path)
    argv = ["batch", str(tmp_path / "photos"), str(tmp_path / "trimaps"), "-o", str(tmp_path / "o")]
    refused([*argv, *options], capsys, tmp_path, message, code=2)
    assert not (tmp_path / "o").exists()


ARRAYS = st.tuples(
    st.sampled_from([np.float64, np.float32, np.uint8, np.uint16, np.int64, np.bool_]),
    st.sampled_from([(3, 4), (3, 4, 1), (3, 4, 3), (3, 4, 4), (3, 4, 2), (0, 4), (5,)]),
    st.sampled_from(["unit", "byte", "wide", "negative", "nan"]),
    st.sampled_from([".png", ".tif", ".jpg", ".bmp", ".xyz"]),
)


@given(ARRAYS, st.integers(0, 2**16))
def test_save_image_writes_exactly_or_refuses_in_one_line(kind, seed):
    dtype, shape, values, suffix = kind
    rng = np.random.default_rng(seed)
    scale = {"unit": 1.0, "byte": 255.0, "wide": 65535.0, "negative": -1.0, "nan": np.nan}[values]
    array = (rng.random(shape) * scale).astype(dtype) if values != "nan" else np.full(shape, scale)
    with tempfile.TemporaryDirectory() as directory:
        target = Path(directory) / f"out{suffix}"
        try:
            vecmatte.save_image(target, array)
        except ValueError as error:
            assert "\n" not in str(error) and str(error)
            assert snapshot(Path(directory)) == {}
            return
        assert sorted(snapshot(Path(directory))) == [target.name]
        if suffix == ".jpg":
            return  # lossy
        with Image.open(target) as image:
            written = np.asarray(image)
        expected = np.asarray(array)
        if expected.dtype == np.bool_:
            expected = expected.astype(np.uint8) * 255
        elif expected.dtype.kind == "f":
            expected = np.round(expected * 255).astype(np.uint8)
        np.testing.assert_array_equal(written, expected.reshape(written.shape))


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("device_option", ["--cutout", "--foreground"])
def test_a_device_that_fails_leaves_no_file_output(tmp_path, scene_files, capsys, device_option):
    # Before: the matte was renamed into place, then writing /dev/full failed (exit 1 with
    # a matte written and no word of it). The device is written before any rename now.
    image, trimap = scene_files
    work = tmp_path / "work"
    work.mkdir()
    argv = ["alpha", str(image), str(trimap), "-o", str(work / "a.png"), "-q"]
    if device_option == "--foreground":
        argv += ["--cutout", str(work / "c.png")]
    assert main([*argv, device_option, "/dev/full"]) == 1
    assert "/dev/full: no space left on device" in one_error_line(capsys.readouterr().err)
    assert files_in(work) == set()  # no matte, no cutout, no temporary


def test_a_failed_rename_names_the_outputs_already_in_place(tmp_path, monkeypatch):
    import errno

    from vecmatte import _writing

    real_replace = os.replace
    calls = []

    def replace(source, target):
        calls.append(target)
        if len(calls) == 2:
            raise OSError(errno.EROFS, "Read-only file system")
        real_replace(source, target)

    monkeypatch.setattr(_writing.os, "replace", replace)
    outputs = [(tmp_path / name, np.zeros((4, 4))) for name in ("a.png", "b.png", "c.png")]
    with pytest.raises(
        OSError, match=r"Read-only file system; already written: \S*a\.png:"
    ) as info:
        _writing.save_images(outputs)
    assert info.value.filename == str(tmp_path / "b.png")
    assert files_in(tmp_path) == {"a.png"}  # the temporaries of b and c removed


# --- batches and outputs: bad options, full disks, read-only file systems, links, Ctrl-C ------


def test_a_batch_refuses_a_boolean_option_before_making_its_folder(tmp_path, scene_files, capsys):
    assert scene_files  # the folder holds an image and a trimap
    out = tmp_path / "out"
    code = main(["batch", str(tmp_path), str(tmp_path), "-o", str(out), "--option", "radius=True"])
    line = one_error_line(capsys.readouterr().err)
    assert code == 2 and "--option radius=True: radius takes" in line
    assert not out.exists()


def _folders(tmp_path, scene_files):
    photos, trimaps = tmp_path / "photos", tmp_path / "trimaps"
    photos.mkdir()
    trimaps.mkdir()
    for name in ("a", "b"):
        (photos / f"{name}.png").write_bytes(scene_files[0].read_bytes())
        (trimaps / f"{name}.png").write_bytes(scene_files[1].read_bytes())
    return photos, trimaps


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--radius", "0"], "radius must be a positive integer, got 0"),
        (["--eps", "0"], "eps must be a positive finite number, got 0.0"),
        (["--eps", "-1"], "eps must be a positive finite number, got -1.0"),
        (["--method", "knn", "--option", "lam=-1"], "lam must be a positive finite number"),
        (["--method", "sm", "--option", "rays=0"], "rays must be an integer >= 1, got 0"),
        (["--method", "knn", "--option", "kernel=x"], "kernel must be 'binary' or 'soft'"),
    ],
)
def test_a_batch_refuses_an_option_out_of_range_once_before_any_work(
    tmp_path, scene_files, capsys, options, message
):
    # Before: every image failed with the same message, and the output folder was made.
    photos, trimaps = _folders(tmp_path, scene_files)
    out = tmp_path / "out"
    code = main(["batch", str(photos), str(trimaps), "-o", str(out), *options])
    line = one_error_line(capsys.readouterr().err)
    assert code == 2 and message in line
    assert not out.exists()


def test_a_system_error_names_its_file_first(tmp_path, scene_files, capsys, monkeypatch):
    # Before: "[Errno 13] Permission denied: 'photos'" from the folder listing of a batch.
    from pathlib import Path

    def denied(self):
        raise PermissionError(13, "Permission denied", str(self))

    photos, trimaps = _folders(tmp_path, scene_files)
    monkeypatch.setattr(Path, "iterdir", denied)
    code = main(["batch", str(photos), str(trimaps), "-o", str(tmp_path / "o")])
    line = one_error_line(capsys.readouterr().err)
    assert code == 1 and line == f"vecmatte: error: {photos}: permission denied"


def test_ctrl_c_while_a_batch_writes_leaves_no_half_written_file(
    tmp_path, scene_files, capsys, monkeypatch
):
    import os

    import vecmatte._writing as writing
    from vecmatte.io import is_complete_image

    photos, trimaps = _folders(tmp_path, scene_files)
    out = tmp_path / "out"
    real_fdopen = os.fdopen
    opened = []

    class Interrupted:
        """A file whose third write stops half-way with Ctrl-C (the second image's matte)."""

        def __init__(self, handle):
            self.handle = handle
            opened.append(self)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, data):
            if len(opened) == 3:
                self.handle.write(bytes(data)[: len(data) // 2])
                self.handle.flush()
                raise KeyboardInterrupt
            return self.handle.write(data)

    monkeypatch.setattr(writing.os, "fdopen", lambda *a, **k: Interrupted(real_fdopen(*a, **k)))
    argv = ["batch", str(photos), str(trimaps), "-o", str(out), "--cutout", "-q"]
    assert main(argv) == 130
    assert "vecmatte: interrupted; run the same command with --resume" in capsys.readouterr().err
    # The first image is complete, the second left nothing: no part of a file, no temporary.
    assert sorted(p.name for p in out.iterdir()) == ["a_alpha.png", "a_cutout.png"]
    assert all(is_complete_image(p) for p in out.iterdir())
    monkeypatch.undo()
    assert main([*argv, "--resume"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "a_alpha.png",
        "a_cutout.png",
        "b_alpha.png",
        "b_cutout.png",
    ]


def test_demo_output_folder_that_cannot_be_made(tmp_path, capsys):
    blocker = tmp_path / "file.png"
    blocker.write_bytes(b"not a folder")
    code = main(["demo", "--output-dir", str(blocker / "sub"), "-q"])
    line = one_error_line(capsys.readouterr().err)
    assert code == 1
    assert line.startswith(f"vecmatte: error: {blocker / 'sub'}: cannot create the output folder")
    assert line.endswith("choose another one with --output-dir")
    assert files_in(tmp_path) == {"file.png"} and blocker.read_bytes() == b"not a folder"


def test_a_batch_of_which_no_image_succeeds_leaves_no_new_folder(tmp_path, capsys):
    images, trimaps = tmp_path / "images", tmp_path / "trimaps"
    images.mkdir()
    trimaps.mkdir()
    write_png(images / "a.png", np.full((6, 6, 3), 0.5))
    write_png(trimaps / "a.png", np.full((5, 6), 0.5))  # of another size: the image fails
    out = tmp_path / "new" / "out"
    assert main(["batch", str(images), str(trimaps), "-o", str(out), "-q"]) == 1
    assert "trimap has shape (5, 6) but image has shape (6, 6);" in capsys.readouterr().err
    assert files_in(tmp_path) == {"images", "trimaps"}
    # a folder that was there stays, and so does one that holds a result
    (tmp_path / "kept").mkdir()
    assert main(["batch", str(images), str(trimaps), "-o", str(tmp_path / "kept"), "-q"]) == 1
    assert (tmp_path / "kept").is_dir()


def test_an_output_inside_a_file_says_the_file_is_not_a_folder(tmp_path, scene_files, capsys):
    image, trimap = scene_files
    code = main(["alpha", str(image), str(trimap), "-o", str(image / "a.png")])
    line = one_error_line(capsys.readouterr().err)
    assert code == 1
    assert (
        line
        == f"vecmatte: error: {image / 'a.png'}: {image} is a file, not a folder (alpha matte (-o))"
    )
    assert files_in(tmp_path) == {"image.png", "trimap.png"}


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_device_is_named_in_the_error(capsys, scene_files):
    # Before: "[Errno 28] No space left on device", without the file.
    with pytest.raises(OSError) as error:
        save_image("/dev/full", np.zeros((4, 4)))
    assert error.value.filename == "/dev/full" and error.value.errno == errno.ENOSPC
    image, trimap = scene_files
    assert main(["alpha", str(image), str(trimap), "-o", "/dev/full", "-q"]) == 1
    stderr = capsys.readouterr().err
    assert stderr == "vecmatte: error: /dev/full: no space left on device\n"


@pytest.mark.parametrize(
    "argv",
    [
        ["alpha", "image.png", "trimap.png", "-o", "out/"],
        ["trimap", "trimap.png", "-o", "out/"],
        ["alpha", "image.png", "trimap.png", "-o", "a.png", "--cutout", "out/"],
    ],
)
def test_the_command_refuses_an_output_named_as_a_folder(
    tmp_path, scene_files, capsys, monkeypatch, argv
):
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(argv) == 1
    stderr = capsys.readouterr().err
    assert "vecmatte: error: out/: ends with '/', as a folder does" in stderr
    assert "Traceback" not in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_read_only_file_system_is_called_so(tmp_path, scene_files, monkeypatch, capsys):
    # Root writing to a read-only mount was told "permission denied".
    from types import SimpleNamespace

    if not hasattr(os, "statvfs"):
        pytest.skip("needs os.statvfs")
    image, trimap = scene_files
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)
    monkeypatch.setattr(os, "statvfs", lambda path: SimpleNamespace(f_flag=os.ST_RDONLY))
    out = tmp_path / "alpha.png"
    assert main(["alpha", str(image), str(trimap), "-o", str(out), "-q"]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert line.endswith(f"{out}: cannot write to directory {tmp_path} (read-only file system)")


@pytest.mark.parametrize("which", ["output", "image"])
def test_symbolic_links_that_loop_get_one_line_not_a_traceback(
    tmp_path, scene_files, capsys, which
):
    # pathlib's RuntimeError("Symlink loop from ...") reached the user as a traceback.
    image, trimap = scene_files
    loop = tmp_path / "loop.png"
    loop.symlink_to(loop.name)
    out = tmp_path / "a.png"
    if which == "output":
        argv = ["alpha", str(image), str(trimap), "-o", str(loop), "-q"]
    else:
        argv = ["alpha", str(loop), str(trimap), "-o", str(out), "-q"]
    assert main(argv) == 1
    line = one_error_line(capsys.readouterr().err)
    assert f"{loop}: its symbolic links loop" in line
    assert loop.is_symlink() and not out.exists()
