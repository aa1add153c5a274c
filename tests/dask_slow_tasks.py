"""Dask worker preload for tests/test_distributed.py: every batch task lasts at least a moment.

The tests kill a worker, or interrupt the client, in the middle of a batch; with a fast solver
a batch of small images could end before that. Each worker started by the tests loads this
file (``dask worker --preload``), which makes the Dask executor's ``process_task`` sleep
``PAD_SECONDS`` before doing its real work, so that the middle of a batch lasts long enough
whatever the solver's speed. Nothing else changes: the tasks still read, solve and write.

A task whose name starts with ``KILLER`` stands for an image that kills any worker it runs
on (as a solve far beyond the worker's memory would): the worker process exits at once.
"""

from __future__ import annotations

import os
import time

PAD_SECONDS = 0.25
KILLER = "kills-its-worker"


def dask_setup(worker) -> None:
    import vecmatte.batch.dask as executor

    original = executor.process_task

    def padded(task):
        if task.name.startswith(KILLER):
            os._exit(1)
        time.sleep(PAD_SECONDS)
        return original(task)

    executor.process_task = padded
