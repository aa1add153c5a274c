"""Slow and held batch tasks for the tests that interrupt a batch or kill its workers.

The tests kill a worker, or interrupt the client, in the middle of a batch; with a fast solver
a batch of small images could end before that. Each Dask worker started by
tests/test_distributed.py loads this file (``dask worker --preload``), which makes the Dask
executor's ``process_task`` sleep ``PAD_SECONDS`` before doing its real work, so that the
middle of a batch lasts long enough whatever the solver's speed. Nothing else changes: the
tasks still read, solve and write.

A task whose name starts with ``KILLER`` stands for an image that kills any worker it runs
on (as a solve far beyond the worker's memory would): the worker process exits at once.

A task whose name holds ``HELD`` is held: it solves and writes its temporary file, then
waits before renaming it into place until a file ``RELEASE`` exists in the folder above its
output folder (the test's tmp_path), after leaving a file ``NAME.holding`` there to say that
it waits. A batch with held tasks cannot finish before the test lets it (a signal sent "after
the first matte" could arrive after the end of a fast batch on a loaded core). Local worker
processes (``--jobs``) get the same through :func:`held_in_worker`, which a test's driver
script puts in place of ``vecmatte.batch.local._process_in_worker`` (spawned workers find it
by name: they import this module from the test folder, which is on their ``sys.path``); a
batch run in one process, through :func:`held_in_process` (held before the task starts).
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

PAD_SECONDS = 0.25
KILLER = "kills-its-worker"
HELD = "held-"
RELEASE = "release-held-tasks"
HOLD_SECONDS = 120  # a held task goes on by itself after this, so that nothing hangs


def _wait(task) -> None:
    """Say that ``task`` waits, and wait for the release (or ``HOLD_SECONDS``)."""
    folder = Path(task.alpha_path).parent.parent
    (folder / f"{task.name}.holding").touch()
    deadline = time.monotonic() + HOLD_SECONDS
    while not (folder / RELEASE).exists() and time.monotonic() < deadline:
        time.sleep(0.02)


def _hold(task):
    """Hold the renames of ``task`` if it is a held task; return what to put back.

    Held before the rename lock of its folder is taken (vecmatte._rename_lock): a task held
    inside it would hold every other writer of that folder too.
    """
    import vecmatte._writing as writing

    if HELD not in task.name:
        return None
    locked = writing.renames_locked

    @contextlib.contextmanager
    def held_then_locked(folders):
        _wait(task)
        with locked(folders):
            yield

    # One task at a time in each test worker (one thread), so a module attribute will do.
    writing.renames_locked = held_then_locked
    return locked


def _run_held(original, task):
    import vecmatte._writing as writing

    held = _hold(task)
    try:
        return original(task)
    finally:
        if held is not None:
            writing.renames_locked = held


def held_in_worker(task):
    """``vecmatte.batch.local._process_in_worker`` with held tasks (see the module's notes)."""
    import vecmatte.batch.local as local

    return _run_held(local._process_in_worker, task)


def held_in_process(task):
    """``vecmatte.batch.local.process_task`` with held tasks, for a batch run in one process.

    Held before the task starts: in the main thread the renames hold Ctrl-C back until they
    are done (vecmatte._writing._interrupts_held), so a rename held there would hold it too.
    """
    from vecmatte.batch._core import process_task

    if HELD in task.name:
        _wait(task)
    return process_task(task)


def dask_setup(worker) -> None:
    import vecmatte.batch.dask as executor

    original = executor.process_task

    def padded(task):
        if task.name.startswith(KILLER):
            os._exit(1)
        time.sleep(PAD_SECONDS)
        return _run_held(original, task)

    executor.process_task = padded
