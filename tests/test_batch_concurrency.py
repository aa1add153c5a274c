"""Two batches writing into the same output folder at the same time."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import scene_folders

import vecmatte.foreground
from vecmatte.batch import find_tasks, run_batch
from vecmatte.batch._core import BatchTask, remove_stale_temporaries
from vecmatte.batch._lock import FolderLocks
from vecmatte.io import load_trimap, save_image
from vecmatte.synthetic import make_scene

pytest.importorskip("fcntl")  # the locks are flock's; elsewhere a batch cleans as if alone


@pytest.fixture
def folders(tmp_path):
    images, trimaps = scene_folders(tmp_path, ("a", "b"), write=save_image)
    return images, trimaps, tmp_path / "out"


def _paused_batch(tasks, monkeypatch):
    """Run ``tasks`` in a thread that stops while its first cutout is being made.

    The alpha matte's temporary file is then written and waits for its rename; returns the
    thread, an event set when it pauses, an event that lets it go on, and its records.
    """
    estimate = vecmatte.foreground.estimate_foreground
    paused, resume, records = threading.Event(), threading.Event(), []

    def slow_estimate(*args, **kwargs):
        if threading.current_thread().name == "first batch" and not paused.is_set():
            paused.set()
            assert resume.wait(60)
        return estimate(*args, **kwargs)

    monkeypatch.setattr(vecmatte.foreground, "estimate_foreground", slow_estimate)
    thread = threading.Thread(
        target=lambda: records.extend(run_batch(tasks)), name="first batch", daemon=True
    )
    thread.start()
    assert paused.wait(60)
    return thread, resume, records


@pytest.mark.parametrize("second", ["runs", "is interrupted"])
def test_a_second_batch_leaves_the_first_ones_temporaries_alone(folders, monkeypatch, second):
    # Each batch removed every '.NAME.*.tmp' beside its outputs when it started (and when it
    # was interrupted), taking them for a killed run's: a second batch started on the same
    # output folder deleted the first one's live temporary, whose rename then failed, and the
    # first batch's image failed with "out/.a_alpha.png.xxxx.tmp: no such file or directory".
    images, trimaps, out = folders
    first = find_tasks(images, trimaps, out, cutout=True)
    thread, resume, records = _paused_batch(first, monkeypatch)
    try:
        assert len(list(out.glob(".a_alpha.png.*.tmp"))) == 1
        later = find_tasks(images, trimaps, out, method="rw")
        if second == "runs":
            assert [r.status for r in run_batch(later)] == ["done", "done"]
        else:

            def interrupt(done, total, record):
                raise KeyboardInterrupt

            with pytest.raises(KeyboardInterrupt):
                run_batch(later, progress=interrupt)
        assert len(list(out.glob(".a_alpha.png.*.tmp"))) == 1
    finally:
        resume.set()
        thread.join(60)
    assert [(r.name, r.status, r.error) for r in records] == [
        ("a", "done", None),
        ("b", "done", None),
    ]
    assert load_trimap(out / "a_alpha.png").shape == (40, 60)
    assert not list(out.glob("*.tmp"))


def test_a_batch_alone_still_removes_a_killed_runs_temporaries(folders):
    images, trimaps, out = folders
    tasks = find_tasks(images, trimaps, out)
    stale = out / ".a_alpha.png.k1ll3d.tmp"
    stale.write_bytes(b"\x89PNG half")
    assert [r.status for r in run_batch(tasks)] == ["done", "done"]
    assert not stale.exists()


def test_the_clean_up_waits_for_no_batch_but_skips_a_folder_in_use(tmp_path):
    stale = tmp_path / ".a_alpha.png.k1ll3d.tmp"
    task = BatchTask("a", "a.png", "a.png", str(tmp_path / "a_alpha.png"), None)
    with FolderLocks([tmp_path]):  # another batch runs in this folder
        stale.write_bytes(b"")
        remove_stale_temporaries([task])
        assert stale.exists()
    remove_stale_temporaries([task])
    assert not stale.exists()


def test_each_image_of_threads_running_at_once_keeps_its_own_note(tmp_path, monkeypatch):
    # A Dask worker runs one task per thread (one per core by default). process_task
    # collected each image's warnings with warnings.catch_warnings, which swaps process-wide
    # state: when the first of two tasks left it, the second one's warning ("the image has
    # an alpha channel ...") escaped its note; under an "error" filter (these tests) the
    # image even failed with it.
    import numpy as np

    import vecmatte.io
    from vecmatte.batch import process_task

    images, trimaps = tmp_path / "images", tmp_path / "trimaps"
    images.mkdir()
    trimaps.mkdir()
    for seed, name in enumerate(("plain", "rgba")):
        scene = make_scene((40, 60), seed=seed)
        pixels = scene.image if name == "plain" else np.dstack([scene.image, scene.alpha])
        save_image(images / f"{name}.png", pixels)
        save_image(trimaps / f"{name}.png", scene.trimap)
    plain, rgba = find_tasks(images, trimaps, tmp_path / "out")
    load_image = vecmatte.io.load_image
    rgba_inside, plain_done = threading.Event(), threading.Event()

    def interleaved_load(path, **kwargs):
        if str(path) == plain.image_path:
            assert rgba_inside.wait(60)  # both tasks collect warnings at once ...
        else:
            rgba_inside.set()
            assert plain_done.wait(60)  # ... and the plain one ends first
        return load_image(path, **kwargs)

    monkeypatch.setattr(vecmatte.io, "load_image", interleaved_load)
    records = {}
    threads = [
        threading.Thread(target=lambda t=task: records.update({t.name: process_task(t)}))
        for task in (plain, rgba)
    ]
    for thread in threads:
        thread.start()
    threads[0].join(60)
    plain_done.set()
    threads[1].join(60)
    assert records["plain"].status == "done" and records["plain"].note is None
    assert records["rgba"].status == "done", records["rgba"].error
    assert "alpha channel" in records["rgba"].note


def test_a_failed_batch_keeps_the_folder_it_made_while_another_batch_uses_it(
    folders, monkeypatch, capsys
):
    # A batch that made its output folder and wrote nothing (every image failed, or Ctrl-C)
    # removed it at the end, even while a second batch, started on the folder meanwhile,
    # was solving its first image: that batch's writes then failed.
    import vecmatte.batch
    from vecmatte.cli import main

    images, trimaps, out = folders
    for name in ("a", "b"):
        save_image(trimaps / f"{name}.png", np.full((40, 60), 0.5))  # no known pixel: fails
    run_batch_itself, other = vecmatte.batch.run_batch, []

    def second_batch_starts(tasks, **kwargs):
        other.append(FolderLocks([out]))  # the other batch, holding the folder
        return run_batch_itself(tasks, **kwargs)

    monkeypatch.setattr(vecmatte.batch, "run_batch", second_batch_starts)
    try:
        assert main(["batch", str(images), str(trimaps), "-o", str(out), "-q"]) == 1
        assert out.is_dir()
    finally:
        other[0].close()
    monkeypatch.undo()
    capsys.readouterr()
    # alone, a batch that wrote nothing still leaves no empty folder behind
    out.rmdir()
    assert main(["batch", str(images), str(trimaps), "-o", str(out), "-q"]) == 1
    assert not out.exists()


def _a_batch_starting_while_renaming(folders, monkeypatch, target: Path, argv: list[str]):
    """Run ``vecmatte ARGV``, which writes ``target``; a batch starts in its folder meanwhile.

    The batch (in a thread, into ``target``'s folder) starts when the command is about to
    rename its temporary to ``target``, and the command goes on once the batch is past its
    clean-up (it then waits for the command's renames: one writer at a time renames into a
    folder). Returns the batch's records.
    """
    import vecmatte._writing
    from vecmatte.cli import main

    images, trimaps, out = folders
    replace, batches = vecmatte._writing.os.replace, []

    def batch_past_its_clean_up(batch):
        # Its first temporary (of a_alpha.png) is made after its clean-up.
        mine = f".{target.name}."
        return not batch.is_alive() or any(
            not p.name.startswith(mine) for p in out.glob(".a_alpha.png.*.tmp")
        )

    def replace_after_a_batch(source, destination):
        if Path(destination) == target and not batches:  # about to rename: a batch starts
            assert list(out.glob(f".{target.name}.*.tmp")) == [Path(source)]
            records = []
            tasks = find_tasks(images, trimaps, out)
            batch = threading.Thread(target=lambda: records.extend(run_batch(tasks)), daemon=True)
            batches.append((batch, records))
            batch.start()
            deadline = time.monotonic() + 60
            while not batch_past_its_clean_up(batch) and time.monotonic() < deadline:
                time.sleep(0.01)
        replace(source, destination)

    monkeypatch.setattr(vecmatte._writing.os, "replace", replace_after_a_batch)
    assert main(argv) == 0
    batch, records = batches[0]
    batch.join(60)
    return records


@pytest.mark.parametrize("through_link", [False, True])
def test_a_batch_starting_leaves_the_temporaries_of_vecmatte_alpha_alone(
    folders, monkeypatch, through_link
):
    # A batch starting in a folder removes '.X_alpha.png.*.tmp' for each of its outputs, which
    # also matches the temporary of `vecmatte alpha -o out/X_alpha.png.v2.png`: the batch
    # deleted it while alpha waited to rename it, and alpha failed with 'no such file'. Now
    # alpha holds the batches' shared lock on its output folder while it writes.
    # through_link: `-o elsewhere/m.png`, a link to out/a_alpha.png.v2.png, writes its
    # temporary beside the link's file (write_target), but held the link's folder.
    images, trimaps, out = folders
    out.mkdir()
    target = out / "a_alpha.png.v2.png"
    output = target
    if through_link:
        (elsewhere := out.parent / "elsewhere").mkdir()
        (output := elsewhere / "m.png").symlink_to(target)
    argv = ["alpha", str(images / "a.png"), str(trimaps / "a.png"), "-o", str(output), "-q"]
    records = _a_batch_starting_while_renaming(folders, monkeypatch, target, argv)
    assert [r.status for r in records] == ["done", "done"]
    assert load_trimap(target).shape == (40, 60)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["a_alpha.png", "b_alpha.png", target.name]
    )
    assert output.is_symlink() == through_link


@pytest.mark.parametrize("command", ["composite", "trimap"])
def test_a_batch_starting_leaves_the_temporaries_of_composite_and_trimap_alone(
    folders, monkeypatch, command
):
    # As for vecmatte alpha: `vecmatte composite ... -o out/a_alpha.png.v2.png` (or trimap)
    # wrote its temporary '.a_alpha.png.v2.png.XXXX.tmp', which a batch starting in out
    # took for a killed run's and deleted: the command failed with 'no such file'.
    from PIL import Image

    images, trimaps, out = folders
    out.mkdir()
    target = out / "a_alpha.png.v2.png"
    if command == "composite":
        argv = [command, str(images / "a.png"), str(trimaps / "a.png"), "--color", "red"]
    else:
        argv = [command, str(trimaps / "a.png"), "--band", "1"]
    argv += ["-o", str(target), "-q"]
    records = _a_batch_starting_while_renaming(folders, monkeypatch, target, argv)
    assert [r.status for r in records] == ["done", "done"]
    with Image.open(target) as written:
        assert written.size == (60, 40)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["a_alpha.png", "b_alpha.png", target.name]
    )


def test_a_batch_cleans_its_folder_when_an_output_link_names_it_another_way(tmp_path):
    # The output folder is given through a link (outlink -> out) and one output is a link
    # into the folder's real path: the batch took two shared locks on the one folder, under
    # two names, and its own second lock refused it the exclusive one, so a killed run's
    # temporaries were never removed ("another batch runs there").
    pytest.importorskip("fcntl")
    images, trimaps = scene_folders(tmp_path, ("a", "b"), write=save_image)
    (out := tmp_path / "out").mkdir()
    os.symlink(out, tmp_path / "outlink")
    os.symlink(out / "b_kept.png", out / "b_alpha.png")
    stale = out / ".a_alpha.png.k1ll3d.tmp"
    stale.write_bytes(b"\x89PNG half")
    tasks = find_tasks(images, trimaps, tmp_path / "outlink")
    assert [record.status for record in run_batch(tasks)] == ["done", "done"]
    assert not stale.exists()


def test_folder_locks_interrupted_while_waiting_keep_no_folder_open(tmp_path, monkeypatch):
    # FolderLocks waits (LOCK_SH) while another batch cleans a folder, or while another
    # program holds it exclusively. Ctrl-C there (a notebook's interrupt) left the folders
    # locked so far open and locked for the life of the process: no batch could clean
    # them again, and the descriptors leaked.
    fcntl = pytest.importorskip("fcntl")
    from vecmatte.batch import _lock

    folders = [tmp_path / name for name in ("a", "b", "c")]
    for folder in folders:
        folder.mkdir()
    flock = fcntl.flock
    calls = []

    def interrupted_on_the_second(descriptor, operation):
        calls.append(descriptor)
        if len(calls) == 2:
            raise KeyboardInterrupt
        flock(descriptor, operation)

    monkeypatch.setattr(_lock.fcntl, "flock", interrupted_on_the_second)
    with pytest.raises(KeyboardInterrupt):
        _lock.FolderLocks(folders)
    monkeypatch.undo()
    for descriptor in calls:
        with pytest.raises(OSError):
            os.fstat(descriptor)  # closed
    with (
        _lock.FolderLocks([folders[0]], shared=False) as locks,
        locks.alone_in(folders[0]) as alone,
    ):
        assert alone


@pytest.mark.parametrize("earlier_pair", [True, False])
def test_two_writers_of_the_same_names_leave_the_pair_of_one_of_them(
    tmp_path, monkeypatch, earlier_pair
):
    # Two `vecmatte alpha -o m.png --cutout c.png` at once (or two batches into one folder):
    # each renamed its matte, then its cutout, and the folder locks (shared) did not order
    # them, so a second writer renaming both between the first one's two renames left the
    # second's matte beside the first's cutout. The second writer runs here, in a thread,
    # right after the first writer's matte is in place; it may wait for the first to finish.
    from PIL import Image

    import vecmatte._writing
    from vecmatte.io import save_images

    matte, cut = tmp_path / "m.png", tmp_path / "c.png"
    if earlier_pair:  # a run before both: the files are replaced (else made)
        save_images([(matte, np.zeros((4, 5))), (cut, np.zeros((4, 5, 4)))])

    def pair(level):
        return [(matte, np.full((4, 5), level)), (cut, np.full((4, 5, 4), level))]

    second, replace = [], vecmatte._writing.os.replace

    def replace_then_the_second_writer(source, destination):
        replace(source, destination)
        if Path(destination) == matte and not second:
            second.append(threading.Thread(target=save_images, args=(pair(0.75),), daemon=True))
            second[0].start()
            second[0].join(1)  # done at once when nothing orders the writers

    monkeypatch.setattr(vecmatte._writing.os, "replace", replace_then_the_second_writer)
    save_images(pair(0.25))
    second[0].join(60)
    assert not second[0].is_alive()
    levels = {int(np.asarray(Image.open(path)).flat[0]) for path in (matte, cut)}
    assert levels == {191}  # the second writer's pair, written after the first's
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.png", "m.png"]


@pytest.mark.parametrize(
    "planted", ["named pipe", "unreadable file", "link", "no temporary folder"]
)
def test_a_rename_lock_file_planted_by_someone_else_neither_blocks_nor_fails(
    tmp_path, monkeypatch, planted
):
    # The rename lock of a folder is a file of the shared temporary folder: one that another
    # user made first (a pipe that open() would wait on, a file we may not read, a link to a
    # file of ours) leaves the writer renaming as before, unordered but never stuck.
    import tempfile

    from vecmatte.io import save_images

    locks, out = tmp_path / "locks", tmp_path / "out"
    locks.mkdir()
    out.mkdir()
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(locks))
    if planted == "no temporary folder":
        # tempfile's "No usable temporary directory found": the writes need none
        def no_folder():
            raise FileNotFoundError("No usable temporary directory found")

        monkeypatch.setattr(tempfile, "gettempdir", no_folder)
    status = os.stat(out)
    lock = locks / f"vecmatte-renames-{os.geteuid()}-{status.st_dev}-{status.st_ino}.lock"
    if planted == "named pipe":
        os.mkfifo(lock)
    elif planted == "unreadable file":
        lock.touch(mode=0o000)
    elif planted == "link":
        (tmp_path / "mine.txt").write_text("kept")
        lock.symlink_to(tmp_path / "mine.txt")
    save_images([(out / "m.png", np.zeros((4, 5))), (out / "c.png", np.zeros((4, 5, 4)))])
    assert sorted(p.name for p in out.iterdir()) == ["c.png", "m.png"]
    if planted == "link":
        assert (tmp_path / "mine.txt").read_text() == "kept"


def test_a_rename_lock_held_by_another_user_does_not_stop_the_writes(tmp_path, monkeypatch):
    # Any user may flock a file they can open: the lock file was made readable by all, so
    # another user holding it (or a file of its name they made first) stopped every write
    # into the folder for as long as they liked. The lock is now the user's own file, mode
    # 0600, and one of its name that is someone else's is not taken. "Another user" is the
    # test here, the writer believing itself of another uid; it holds the lock files of
    # both namings (fails on the old code: the writer waits for ever on the one it took).
    import fcntl
    import tempfile

    from vecmatte import _rename_lock
    from vecmatte.io import save_images

    locks, out = tmp_path / "locks", tmp_path / "out"
    locks.mkdir()
    out.mkdir()
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(locks))
    status = os.stat(out)
    uid = os.geteuid() + 1
    monkeypatch.setattr(_rename_lock.os, "geteuid", lambda: uid)
    names = [
        f"vecmatte-renames-{status.st_dev}-{status.st_ino}.lock",  # before the user's uid
        f"vecmatte-renames-{uid}-{status.st_dev}-{status.st_ino}.lock",
    ]
    held = []
    try:
        for name in names:
            held.append(os.open(locks / name, os.O_RDONLY | os.O_CREAT, 0o644))
            fcntl.flock(held[-1], fcntl.LOCK_EX)  # held for ever
        pair = [(out / "m.png", np.zeros((4, 5))), (out / "c.png", np.zeros((4, 5, 4)))]
        writer = threading.Thread(target=save_images, args=(pair,), daemon=True)
        writer.start()
        writer.join(60)
        assert not writer.is_alive()
    finally:
        for descriptor in held:
            os.close(descriptor)
    assert sorted(p.name for p in out.iterdir()) == ["c.png", "m.png"]


def test_the_rename_lock_file_is_the_users_alone_and_gone_after_the_write(tmp_path, monkeypatch):
    # Made readable by all (anyone could lock it), and left in the temporary folder for
    # good: one file for every output folder ever written to (thousands after a test run;
    # fails on the old code: the file stays).
    import tempfile

    import vecmatte._writing
    from vecmatte import _rename_lock
    from vecmatte.io import save_images

    locks, out = tmp_path / "locks", tmp_path / "out"
    locks.mkdir()
    out.mkdir()
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(locks))
    status = os.stat(out)
    lock = _rename_lock.lock_path((status.st_dev, status.st_ino))
    seen, replace = [], vecmatte._writing.os.replace

    def replace_and_look(source, destination):
        seen.append(os.stat(lock))
        replace(source, destination)

    monkeypatch.setattr(vecmatte._writing.os, "replace", replace_and_look)
    save_images([(out / "m.png", np.zeros((4, 5))), (out / "c.png", np.zeros((4, 5, 4)))])
    assert [(s.st_uid, s.st_mode & 0o077) for s in seen] == [(os.geteuid(), 0)] * 2
    assert list(locks.iterdir()) == []


def test_a_writer_waiting_on_a_removed_lock_file_takes_the_new_one(tmp_path, monkeypatch):
    # The holder removes the lock file before it lets go: a writer that opened it and
    # waited gets the lock of a file no longer of that name, and must lock the one a third
    # writer made meanwhile, not rename beside it.
    import fcntl
    import tempfile

    from vecmatte import _rename_lock
    from vecmatte.io import save_images

    locks, out = tmp_path / "locks", tmp_path / "out"
    locks.mkdir()
    out.mkdir()
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(locks))
    status = os.stat(out)
    lock = _rename_lock.lock_path((status.st_dev, status.st_ino))
    held = {"first": os.open(lock, os.O_RDONLY | os.O_CREAT, 0o600)}
    fcntl.flock(held["first"], fcntl.LOCK_EX)
    pair = [(out / "m.png", np.zeros((4, 5))), (out / "c.png", np.zeros((4, 5)))]
    writer = threading.Thread(target=save_images, args=(pair,), daemon=True)  # one file: no lock
    writer.start()
    try:
        deadline = time.monotonic() + 60
        while len(list(out.glob(".*.tmp"))) < 2:  # its temporaries written: it waits on `first`
            assert time.monotonic() < deadline
            time.sleep(0.01)
        time.sleep(0.2)
        os.unlink(lock)  # the first holder lets go, as renames_locked does
        held["third"] = os.open(lock, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(held["third"], fcntl.LOCK_EX)  # a third writer renaming
        os.close(held.pop("first"))
        writer.join(0.5)
        assert writer.is_alive()  # waits for the third writer
        assert not (out / "m.png").exists()
        os.unlink(lock)
        os.close(held.pop("third"))
        writer.join(60)
        assert not writer.is_alive()
    finally:
        for descriptor in held.values():
            os.close(descriptor)
    assert (out / "m.png").exists() and list(locks.iterdir()) == []


def test_a_folder_locked_for_ever_by_another_process_does_not_stop_the_writes(
    tmp_path, monkeypatch, capsys
):
    # Anyone who may read a folder may flock it: a process holding an output folder (or
    # /tmp) exclusively stopped every batch and `vecmatte alpha`/`trimap` writing there,
    # waiting for their shared lock for ever (fails on the old code: the write never ends).
    # They now wait only as long as a batch's clean-up takes, then write, with a warning.
    import fcntl

    from vecmatte.batch import _lock
    from vecmatte.cli import main

    monkeypatch.setattr(_lock, "WAIT_SECONDS", 0.2)
    out = tmp_path / "out"
    out.mkdir()
    mask = tmp_path / "mask.png"
    save_image(mask, np.pad(np.ones((6, 6)), 4))
    descriptor = os.open(out, os.O_RDONLY)
    answers = []
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        argv = ["trimap", str(mask), "-o", str(out / "t.png"), "--band", "1"]
        writer = threading.Thread(target=lambda: answers.append(main(argv)), daemon=True)
        writer.start()
        writer.join(60)
        assert not writer.is_alive()
    finally:
        os.close(descriptor)
    assert answers == [0]
    assert load_trimap(out / "t.png").shape == (14, 14)
    err = capsys.readouterr().err
    assert f"vecmatte: warning: {out}: another process has held this folder locked" in err


def _waits_for_flock(pid: int, path: Path) -> bool:
    """Whether process ``pid`` is blocked in ``flock`` on the file ``path`` (/proc/locks)."""
    status = os.stat(path)
    device = f"{os.major(status.st_dev):02x}:{os.minor(status.st_dev):02x}:{status.st_ino}"
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        # A waiter's line: "1: -> FLOCK  ADVISORY  WRITE <pid> <maj:min:inode> 0 EOF".
        if fields[1:3] == ["->", "FLOCK"] and fields[5:7] == [str(pid), device]:
            return True
    return False


def test_ctrl_c_while_waiting_for_another_writers_renames_leaves_nothing(tmp_path, scene_files):
    # vecmatte alpha waits for the rename lock of its folder while another writer renames
    # there: Ctrl-C then ends it at once (exit 130), its temporaries removed, nothing written.
    # Ctrl-C is sent once the child is blocked in flock (/proc/locks says so): both
    # temporaries being there was no proof of it (the second one exists from inside mkstemp
    # on, where a loaded machine could deliver the signal). The lock file is in the child's
    # TMPDIR under tmp_path, not the system's temporary folder, where it was left behind.
    import fcntl
    import signal
    import subprocess
    import sys

    if not Path("/proc/locks").is_file():
        pytest.skip("needs /proc/locks to see the child wait for the lock")
    out, locks = tmp_path / "out", tmp_path / "locks"
    out.mkdir()
    locks.mkdir()
    status = os.stat(out)
    lock = locks / f"vecmatte-renames-{os.geteuid()}-{status.st_dev}-{status.st_ino}.lock"
    descriptor = os.open(lock, os.O_RDONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)  # another writer renaming
        argv = ["alpha", *map(str, scene_files), "-o", str(out / "m.png")]
        argv += ["--cutout", str(out / "c.png"), "-q"]
        child = subprocess.Popen(
            [sys.executable, "-m", "vecmatte.cli", *argv],
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "TMPDIR": str(locks)},
        )
        try:
            while not _waits_for_flock(child.pid, lock):
                assert child.poll() is None, child.communicate()
                time.sleep(0.02)
            assert len(list(out.glob(".*.tmp"))) == 2  # both written before the renames
            child.send_signal(signal.SIGINT)
            _, err = child.communicate(timeout=600)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    finally:
        os.close(descriptor)
    assert (child.returncode, err) == (130, "vecmatte: interrupted\n")
    assert list(out.iterdir()) == []
