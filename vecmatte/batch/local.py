"""Running a batch here: in this process, or in local worker processes (``jobs``)."""

from __future__ import annotations

import glob
import itertools
import os
import signal
import sys
import tempfile
import warnings
from collections.abc import Iterable
from pathlib import Path

from vecmatte._typing import Client, Cluster
from vecmatte.batch._core import (
    BatchRecord,
    BatchTask,
    Progress,
    RecordCollector,
    process_task,
    split_finished,
)
from vecmatte.batch._temporaries import output_folders_cleaned_and_held, remove_stale_temporaries

__all__ = ["cpu_count", "run_batch"]

# Set in worker processes to a file where a worker that finds itself re-running the
# caller's unguarded script writes why it stops (see _refuse_in_unguarded_worker).
_GUARD_ENV = "VECMATTE_BATCH_GUARD_FILE"
_GUARD_MESSAGE = (
    "run_batch(jobs={jobs}) starts worker processes, and each one imports the script that "
    "called it again: put the code that runs the batch under "
    '`if __name__ == "__main__":` (see the batch example in the README)'
)


def cpu_count() -> int:
    """CPUs this process may run on (its affinity mask where the platform has one).

    Returns
    -------
    int
        At least 1.
    """
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _importing_main_in_worker() -> bool:
    """Whether we run inside a spawned worker while it re-imports the caller's script.

    ``spawn`` starts each worker by running the main script again as the module
    ``__mp_main__``; a script without a ``__main__`` guard then calls run_batch again from its
    module-level code, which is what this looks for on the stack.
    """
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_globals.get("__name__") == "__mp_main__" and frame.f_code.co_name == "<module>":
            return True
        frame = frame.f_back
    return False


def _refuse_in_unguarded_worker(jobs: int) -> None:
    """In a worker re-running an unguarded script: tell the parent why, and stop quietly."""
    if not _importing_main_in_worker():
        return
    message = _GUARD_MESSAGE.format(jobs=jobs)
    report = os.environ.get(_GUARD_ENV)
    if report:
        # Every worker re-runs the script: written aside and renamed, so that the parent,
        # which reads the file once the first of them dies, never sees it truncated by
        # another worker's write (it then took the batch for workers killed by the system).
        aside = Path(f"{report}.{os.getpid()}.tmp")
        aside.write_text(message)
        os.replace(aside, report)
    # SystemExit with a code prints no traceback; the parent raises the message.
    raise SystemExit(1)


def _check_jobs(jobs) -> int:
    from vecmatte._numbers import positive_whole_number

    jobs = positive_whole_number(jobs, "jobs")
    cpus = cpu_count()
    if jobs > cpus:
        warnings.warn(
            f"jobs={jobs} is more than the {cpus} CPUs this process can use; running {cpus} "
            "at a time (more processes would only compete for the same cores and memory)",
            UserWarning,
            stacklevel=3,
        )
        jobs = cpus
    return jobs


def run_batch(
    tasks: Iterable[BatchTask],
    *,
    jobs: int = 1,
    resume: bool = False,
    progress: Progress | None = None,
    scheduler: str | Client | Cluster | None = None,
) -> list[BatchRecord]:
    """Run tasks in this process, in ``jobs`` worker processes, or on a Dask cluster.

    Parameters
    ----------
    tasks : iterable of BatchTask
        Usually from :func:`vecmatte.batch.find_tasks`.
    jobs : int, optional
        Worker processes; 1 runs everything in this process. More than the CPUs this
        process may use is brought down to their number, with a warning.
    resume : bool, optional
        Skip the tasks whose outputs are all there as complete images made as the task
        would make them (a ``"skipped"`` record; see :meth:`BatchTask.resume_check`); an
        empty or truncated output is made again, and so are outputs of another bit depth,
        other solve options, with no record of them or made from an image or trimap file
        that changed since (the record's ``redone`` says why).
    progress : callable, optional
        ``progress(done, total, record)`` after each task, in this process, in completion
        order. If it has a ``starting`` method, ``progress.starting(task)`` is called before
        each task that runs in this process (``jobs=1``), or as it is handed to a worker
        process that is free (in the order of ``tasks``; ``jobs > 1``), e.g. to show which
        images are being solved.
    scheduler : str, dask.distributed.Client or Dask cluster, optional
        Run on this Dask cluster instead (a scheduler address such as ``"tcp://HOST:8786"``,
        a client, or a cluster object such as ``LocalCluster``): see
        :func:`vecmatte.batch.dask.run_batch_on_cluster`. ``jobs`` must then stay 1: the
        workers decide how many images are solved at once.

    Returns
    -------
    list of BatchRecord
        In the order of ``tasks``.

    Raises
    ------
    RuntimeError
        If ``jobs > 1`` and the calling script runs the batch without an
        ``if __name__ == "__main__":`` guard (worker processes import it again).

    Notes
    -----
    Worker processes are started with ``spawn``, which is safe with threads in the parent
    and the same on every platform; a script that uses ``jobs > 1`` must therefore guard
    its batch with ``if __name__ == "__main__":``. Temporary files left next to the outputs
    by a run that was killed are removed first. On ``KeyboardInterrupt`` the tasks not yet
    started are cancelled and the exception propagates; the outputs already written are
    complete (and the interrupted ones absent), so the batch can be resumed. An image whose
    outputs cannot be written for want of room (no space left, over quota, a read-only file
    system), whose output folder is gone or no longer writable, or whose images or trimaps
    folder is gone or unreadable (deleted or chmod-ed mid-batch), stops the batch likewise:
    the images not started fail as "not run" (their records say why), rather than each
    being solved only to fail writing.
    """
    tasks = list(tasks)
    if scheduler is not None:
        if jobs != 1:
            raise ValueError(
                f"jobs={jobs} applies to local batches; on a Dask cluster the "
                "workers decide how many images run at once: leave jobs at 1"
            )
        from vecmatte.batch.dask import run_batch_on_cluster

        return run_batch_on_cluster(tasks, scheduler, resume=resume, progress=progress)
    _refuse_in_unguarded_worker(jobs)
    jobs = _check_jobs(jobs)
    with output_folders_cleaned_and_held(tasks) as locks:
        collected = RecordCollector(len(tasks), progress)
        pending = split_finished(tasks, collected, resume)
        jobs = min(jobs, len(pending))
        starting = getattr(progress, "starting", None)
        try:
            if jobs <= 1:
                for position, index in enumerate(pending):
                    if starting is not None:
                        starting(tasks[index])
                    record = process_task(tasks[index])
                    collected.add(index, record)
                    if record.stops:  # a full disk: the others would fail the same way
                        for rest in pending[position + 1 :]:
                            collected.add(rest, BatchRecord.not_run(tasks[rest], record))
                        break
            else:
                finish = collected.add
                if starting is not None:
                    finish = _announcing(tasks, pending, jobs, finish, starting)
                _run_in_processes(tasks, pending, jobs, finish)
        except BaseException:
            # Ctrl-C can land between a temporary file's creation and the try block that
            # would remove it (or between two renames); no worker runs any more here, so
            # every temporary next to these outputs is an interrupted write.
            remove_stale_temporaries((tasks[index] for index in pending), locks)
            raise
    return collected.records  # type: ignore[return-value]


# Interrupting worker processes: the parent alone handles Ctrl-C (workers ignore SIGINT) and
# sends SIGTERM to its workers; a busy worker turns it into KeyboardInterrupt, which unwinds
# through save_image (removing its temporary file) before the worker exits; an idle one exits.
_busy = False


def _exit_on_sigterm(signum, frame) -> None:
    if _busy:
        raise KeyboardInterrupt
    os._exit(128 + signum)


def _init_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)


def _process_in_worker(task: BatchTask) -> BatchRecord:
    global _busy
    _busy = True
    try:
        return process_task(task)
    except KeyboardInterrupt:
        os._exit(128 + signal.SIGTERM)
    finally:
        _busy = False


def _stop_workers(executor) -> None:
    # ProcessPoolExecutor has no public way to stop running tasks; _processes (pid ->
    # Process) has been there since Python 3.2.
    for process in list(getattr(executor, "_processes", {}).values()):
        if process.is_alive():
            process.terminate()


def _announcing(tasks, pending, jobs: int, finish, starting):
    """``finish`` that also calls ``starting(task)`` for the next task a worker takes.

    The pool runs the tasks in the order of ``pending``, one per free worker: the first
    ``jobs`` are said now, then one as each task ends (a guess of a moment, not a report of
    the worker's). Only the images ended were said before: a long batch showed nothing while
    its first images were solved. Nothing more once a task stops the batch (a full disk).
    """
    queued = iter(pending)
    for index in itertools.islice(queued, jobs):
        starting(tasks[index])
    stopped = False

    def finished(index: int, record: BatchRecord) -> None:
        nonlocal stopped
        finish(index, record)
        stopped = stopped or record.stops
        if not stopped and (following := next(queued, None)) is not None:
            starting(tasks[following])

    return finished


def _run_in_processes(tasks, pending, jobs: int, finish) -> None:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    # Workers inherit the environment: a worker that finds the caller's script unguarded
    # writes the reason here before it stops.
    descriptor, guard_file = tempfile.mkstemp(prefix="vecmatte-batch-", suffix=".txt")
    os.close(descriptor)
    previous = os.environ.get(_GUARD_ENV)
    os.environ[_GUARD_ENV] = guard_file
    executor = ProcessPoolExecutor(
        max_workers=jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker
    )
    futures = {}
    try:
        futures = {executor.submit(_process_in_worker, tasks[index]): index for index in pending}
        waiting = set(futures)
        while waiting:
            finished, waiting = wait(waiting, return_when=FIRST_COMPLETED)
            for future in finished:
                index = futures[future]
                try:
                    record = future.result()
                except BrokenProcessPool:
                    reason = Path(guard_file).read_text()
                    if reason:
                        raise RuntimeError(reason) from None
                    # a worker died (killed, out of memory): every task still in the pool is
                    # lost with it; report them, they can be run again with resume
                    record = BatchRecord.failed(
                        tasks[index],
                        "a worker process died (killed, or out of memory?); run again with "
                        "resume (--resume) to retry",
                    )
                finish(index, record)
                if record.stops:  # a full disk: the images not started would fail the same way
                    for other in [f for f in waiting if f.cancel()]:
                        waiting.discard(other)
                        finish(futures[other], BatchRecord.not_run(tasks[futures[other]], record))

    except BaseException:
        for future in futures:
            future.cancel()
        _stop_workers(executor)
        executor.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        if previous is None:
            os.environ.pop(_GUARD_ENV, None)
        else:
            os.environ[_GUARD_ENV] = previous
        Path(guard_file).unlink(missing_ok=True)
        for aside in glob.glob(f"{glob.escape(guard_file)}.*.tmp"):  # a worker stopped mid-write
            Path(aside).unlink(missing_ok=True)
    executor.shutdown(wait=True)
