"""Session 12 review B: the batch bar on a terminal, the memory reading's count in threads."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import termios
import threading
from pathlib import Path

import pytest

from vecmatte import memory
from vecmatte.batch import BatchRecord, BatchTask
from vecmatte.cli.batch import BatchProgress


def _terminal(columns: int):
    """A pseudo-terminal ``columns`` wide: (the stream written to, the reading end's fd)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    attributes = termios.tcgetattr(follower)
    attributes[1] &= ~termios.OPOST  # bytes as written ("\n" stays "\n")
    termios.tcsetattr(follower, termios.TCSANOW, attributes)
    return open(follower, "w", encoding="utf-8", closefd=True), leader


def _read_all(fd: int) -> str:
    chunks = []
    os.set_blocking(fd, False)
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except (BlockingIOError, OSError):
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8")


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


@pytest.mark.parametrize("stem", ["a_rather_long_photograph_name_from_a_camera_roll", "写真"])
def test_bar_with_jobs_fits_one_terminal_row(tmp_path: Path, stem: str) -> None:
    # --jobs 2 on an 80-column terminal: "solving a, b ..." of two long names made a line of
    # 150-200 characters, which wrapped; each redraw ("\r" + erase line) cleared only its
    # last row, so the rows above piled up (cut at 200 characters, not the terminal's width).
    stream, leader = _terminal(80)
    try:
        progress = BatchProgress(4, stream=stream)
        assert progress.tty
        names = [f"{stem}_{'x' * 12}_{i}" for i in range(4)]
        tasks = [BatchTask(n, f"{n}.png", "t.png", f"{n}_alpha.png", None) for n in names]
        progress.starting(tasks[0])
        progress.starting(tasks[1])
        progress(1, 4, BatchRecord(names[0], "done", 1.0, 10, None))
        progress.starting(tasks[2])
        stream.flush()
        written = _read_all(leader)
    finally:
        stream.close()
        os.close(leader)
    rows = [row.replace("\033[K", "") for row in written.split("\r") if row]
    assert len(rows) == 4, rows
    assert all(_width(row) < 80 for row in rows), [_width(row) for row in rows]
    assert rows[-1].startswith("[######") and "solving" in rows[-1]


GiB = 2**30
SHAPE, UNKNOWN = (100, 100), 1000


@pytest.fixture
def machine(monkeypatch):
    """Available memory 8 GiB, read through a hook the test sets; reads counted."""
    state = {"reads": 0, "during_first_read": None}

    def meminfo():
        state["reads"] += 1
        hook, state["during_first_read"] = state["during_first_read"], None
        if hook is not None:
            hook()
        return 8 * GiB

    memory.forget_memory_reading()
    monkeypatch.setattr(memory, "_meminfo_available", meminfo)
    monkeypatch.setattr(memory, "_cgroup_available", lambda: None)
    monkeypatch.setattr(memory, "_rlimit_available", lambda: None)
    yield state
    memory.forget_memory_reading()


def test_two_threads_reading_at_once_both_count_against_the_quarter(machine):
    # serve's threads share the reading: two solves that both read afresh (the first's read
    # still running as the second's began and ended) each stored their own reading, and the
    # later store dropped the other solve from the total; a third 0.1 of it then went through
    # unread although 0.3 of the reading had been let through (more than the quarter).
    def other_thread():
        thread = threading.Thread(target=memory.refuse_if_short, args=(GiB // 2, SHAPE, UNKNOWN))
        thread.start()
        thread.join()

    machine["during_first_read"] = other_thread
    memory.refuse_if_short(GiB, SHAPE, UNKNOWN)  # 1/8 of the 8 GiB read
    assert machine["reads"] == 2
    memory.refuse_if_short(GiB // 2, SHAPE, UNKNOWN)  # 1/8 + 1/16 + 1/16 = the quarter: fits
    assert machine["reads"] == 2
    memory.refuse_if_short(1, SHAPE, UNKNOWN)  # beyond the quarter: read again
    assert machine["reads"] == 3


def test_a_reading_begun_before_forget_memory_reading_is_not_kept(machine):
    # A program that took much memory drops the reading; a check of another thread whose
    # read had begun before stored that older reading again, and small solves went on
    # through it (for up to a second) as if nothing had been forgotten.
    machine["during_first_read"] = memory.forget_memory_reading
    memory.refuse_if_short(2**20, SHAPE, UNKNOWN)
    memory.refuse_if_short(2**20, SHAPE, UNKNOWN)
    assert machine["reads"] == 2


def test_link_dot_dot_name_is_not_taken_for_the_other_output(tmp_path, monkeypatch, capsys):
    # -o link/../x.png --cutout x.png, link -> sub/deep: two files (sub/x.png and x.png).
    # The names-alone check (9ae8519) collapsed ".." with os.path.normpath, called them "the
    # same file" and refused (exit 2), though nothing was the same.
    import numpy as np

    from vecmatte.cli import main
    from vecmatte.io import save_image

    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    save_image("photo.png", rng.random((12, 12, 3)))
    trimap = np.full((12, 12), 0.5)
    trimap[:, :3], trimap[:, 9:] = 0.0, 1.0
    save_image("trimap.png", trimap)
    (tmp_path / "sub" / "deep").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "sub" / "deep")
    argv = ["alpha", "photo.png", "trimap.png", "-o", "link/../x.png", "--cutout", "x.png", "-q"]
    assert main(argv) == 0, capsys.readouterr().err
    assert (tmp_path / "sub" / "x.png").is_file() and (tmp_path / "x.png").is_file()
    # One name, written two ways, is still refused by the names (exit 2).
    try:
        code = main(["alpha", "photo.png", "trimap.png", "-o", "y.png", "--cutout", "./y.png"])
    except SystemExit as stopped:
        code = stopped.code
    assert code == 2
    assert "are the same file" in capsys.readouterr().err


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fork() of a threaded process
def test_a_child_forked_while_the_reading_lock_is_held_can_still_check(machine):
    # A threaded program (solves in threads) that forks, as multiprocessing's "fork" does:
    # a fork while another thread was inside the reading's lock left it held for ever in the
    # child, whose first solve then hung in refuse_if_short.
    import time

    with memory._reading_lock:  # another thread checking as the fork happens
        child = os.fork()
        if child == 0:  # pragma: no cover - the child
            try:
                memory.refuse_if_short(2**20, SHAPE, UNKNOWN)
            finally:
                os._exit(0)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        done, _ = os.waitpid(child, os.WNOHANG)
        if done:
            break
        time.sleep(0.02)
    else:
        os.kill(child, 9)
        os.waitpid(child, 0)
        pytest.fail("the forked child hung on the reading's lock")
