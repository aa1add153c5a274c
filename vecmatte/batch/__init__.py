"""Batches: a folder of images and a folder of trimaps in, a folder of alpha mattes out.

One task/record core (:mod:`vecmatte.batch._core`: :class:`BatchTask`, :class:`BatchRecord`,
:func:`process_task`; :func:`find_tasks` in :mod:`vecmatte.batch._tasks`) and two executors
over it: local processes (:func:`run_batch`, :mod:`vecmatte.batch.local`) and a Dask cluster
(:func:`run_batch_on_cluster`, :mod:`vecmatte.batch.dask`, imported only when used).

Examples
--------
A script that runs a batch in several processes must guard it, because each worker process
imports the script again::

    import vecmatte

    if __name__ == "__main__":
        tasks = vecmatte.find_tasks("photos", "trimaps", "mattes", cutout=True)
        records = vecmatte.run_batch(tasks, jobs=2, resume=True)
"""

from __future__ import annotations

# check_solve_options moved to vecmatte.alpha (it is about the solver); kept here for old imports.
from vecmatte.alpha import check_solve_options
from vecmatte.batch._core import (
    IMAGE_EXTENSIONS,
    BatchRecord,
    BatchTask,
    Progress,
    process_task,
)
from vecmatte.batch._tasks import find_tasks
from vecmatte.batch.local import run_batch

__all__ = [
    "IMAGE_EXTENSIONS",
    "BatchRecord",
    "BatchTask",
    "Progress",
    "check_solve_options",
    "find_tasks",
    "process_task",
    "run_batch",
    "run_batch_on_cluster",
]


def __getattr__(name: str):
    # run_batch_on_cluster lives with the Dask executor, imported only when asked for.
    if name == "run_batch_on_cluster":
        from vecmatte.batch.dask import run_batch_on_cluster

        return run_batch_on_cluster
    raise AttributeError(f"module 'vecmatte.batch' has no attribute {name!r}")
