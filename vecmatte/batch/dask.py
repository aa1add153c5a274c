"""Running a batch on a Dask cluster: one task per image, run by workers sharing the files.

Dask (``dask.distributed``) is an optional extra, imported only inside the functions that
talk to a scheduler, so ``import vecmatte`` and local batches never need it::

    pip install "vecmatte[distributed]"

Only paths travel to the workers and only :class:`~vecmatte.batch.BatchRecord` objects (a
name, a status, two numbers and a message) travel back: the images are read and the mattes
written by the workers themselves, with the same atomic writes as a local batch.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import time
import uuid
from collections.abc import Iterable

from vecmatte._errors import escaped
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

__all__ = ["check_scheduler_address", "run_batch_on_cluster"]

INSTALL_HINT = 'pip install "vecmatte[distributed]"'

# Seconds to wait for a scheduler given by its address before giving up.
CONNECT_TIMEOUT = 30
# Seconds between attempts to open a connection to it.
_RETRY_SECONDS = 0.5


def _import_distributed():
    """The ``distributed`` module, or an ImportError that says how to install it."""
    try:
        import distributed
    except ImportError as error:
        raise ImportError(
            f"running a batch on a Dask cluster needs dask.distributed, which is not installed "
            f"({error}); install it with: {INSTALL_HINT}"
        ) from error
    return distributed


def _connect(client_or_address: Client | Cluster | str) -> tuple[Client, bool]:
    """A ``Client`` and whether we opened it (and so must close it)."""
    distributed = _import_distributed()
    if isinstance(client_or_address, distributed.Client):
        return client_or_address, False
    if isinstance(getattr(client_or_address, "scheduler_address", None), str):
        # A cluster object (LocalCluster, dask-jobqueue's ...), as Client itself recognises
        # one. Closing a client made from a cluster leaves the cluster running: it is the
        # caller's. A closed cluster gets Dask's one-line RuntimeError.
        try:
            client = distributed.Client(
                client_or_address, timeout=CONNECT_TIMEOUT, set_as_default=False
            )
        except (OSError, TimeoutError) as error:
            raise OSError(
                f"cannot reach the scheduler of the Dask cluster {client_or_address!r} ({error})"
            ) from None
        return client, True
    if not isinstance(client_or_address, str):
        raise TypeError(
            "client_or_address must be a dask.distributed.Client, a Dask cluster object such as "
            "LocalCluster, or a scheduler address such as 'tcp://10.0.0.1:8786', got "
            f"{type(client_or_address).__name__}"
        )
    check_scheduler_address(client_or_address)
    deadline = time.monotonic() + CONNECT_TIMEOUT
    try:
        _wait_for_listener(client_or_address, deadline)
        client = distributed.Client(
            client_or_address,
            timeout=max(deadline - time.monotonic(), 1.0),
            set_as_default=False,
        )
    except (OSError, TimeoutError) as error:
        raise OSError(
            f"cannot reach the Dask scheduler at {client_or_address} ({error}); start one "
            "with `dask scheduler` and workers with `dask worker ADDRESS --nthreads 1`"
        ) from None
    return client, True


def _wait_for_listener(address: str, deadline: float) -> None:
    """Return once a TCP connection to ``address`` (tcp:// or tls://) opens; else OSError.

    With plain sockets, retried as Dask does (a scheduler may be starting): Ctrl-C inside
    ``distributed.Client`` left a half-made client that took 60 s to close at exit, with a
    traceback; here it stops the wait at once.
    """
    from distributed.comm import parse_address
    from distributed.comm.addressing import get_address_host_port

    if parse_address(address)[0] not in ("tcp", "tls"):
        return
    host, port = get_address_host_port(address)
    while True:
        try:
            with socket.create_connection(
                (host, port), timeout=max(deadline - time.monotonic(), 0.1)
            ):
                return
        except OSError as error:
            if time.monotonic() + _RETRY_SECONDS >= deadline:
                raise OSError(f"{error.strerror or error} after {CONNECT_TIMEOUT} s") from None
        time.sleep(_RETRY_SECONDS)


def check_scheduler_address(address: str) -> None:
    """Refuse a malformed scheduler address (ValueError), or a missing ``distributed``.

    Called before ``Client`` sees the address: one that fails on the address itself
    (``'foo'``: no port) is left half made, and closing it at exit waits 60 s and prints a
    traceback. The command line calls it before any folder is read or made.

    Parameters
    ----------
    address : str
        The scheduler's address, such as ``tcp://10.0.0.1:8786``.
    """
    _import_distributed()
    from distributed.comm import parse_address
    from distributed.comm.addressing import get_address_host_port
    from distributed.comm.registry import backends

    try:
        scheme, _ = parse_address(address)
        if scheme not in backends:
            raise ValueError(f"unknown address scheme {scheme!r}; known: {', '.join(backends)}")
        port = get_address_host_port(address)[1] if scheme in ("tcp", "tls", "ws", "wss") else 1
    except ValueError as error:
        raise ValueError(
            f"{address!r} is not a Dask scheduler address ({error}); write it as "
            "tcp://HOST:PORT, e.g. tcp://10.0.0.1:8786"
        ) from None
    if not 0 < port < 65536:
        raise ValueError(
            f"{address!r} is not a Dask scheduler address (port {port} is not in 1 ... 65535)"
        )


def _worker_memory_limit() -> tuple[int, int] | None:
    """The memory limit in bytes of the Dask worker running this task and its number of
    threads, or None outside a worker / unlimited."""
    try:
        from distributed import get_worker

        worker = get_worker()
        limit = worker.memory_manager.memory_limit
        threads = worker.state.nthreads
    except (ImportError, ValueError, AttributeError):
        return None
    return (int(limit), max(int(threads), 1)) if limit else None


def _refuse_if_too_big(task: BatchTask, limit: int | None, threads: int = 1) -> str | None:
    """A message if the solve of ``task`` would need more than ``limit / threads`` bytes, else
    None (also for no ``limit``).

    The worker's nanny kills a worker that goes over its memory limit and the scheduler then
    retries the task on another worker, which dies in turn: refusing up front, with the
    estimate, turns that into one failed record. A worker with ``threads`` threads solves
    that many images at once, each with its share of the limit: an image that fits only the
    whole limit ran beside others like it and got the worker killed.
    """
    if limit is None:
        return None
    from vecmatte.memory import estimate_task_memory, size_text

    try:
        needed = estimate_task_memory(task)
    except (OSError, ValueError):
        return None  # unreadable input: process_task reports it with its own message
    if needed <= limit // threads:
        return None
    if threads == 1:
        return (
            f"needs about {size_text(needed)} to solve but the Dask worker's memory limit is "
            f"{size_text(limit)}; start workers with a larger --memory-limit (or fewer "
            "--nworkers per machine), or downscale the image"
        )
    return (
        f"needs about {size_text(needed)} to solve but the Dask worker's memory limit is "
        f"{size_text(limit)} for {threads} threads, each solving an image "
        f"({size_text(limit // threads)} each); start workers with --nthreads 1 or a larger "
        "--memory-limit, or downscale the image"
    )


def _process_on_worker(task: BatchTask) -> BatchRecord:
    """What each Dask task runs: read, solve and write one image on the worker.

    Input errors come back as a ``"failed"`` record, not as an exception, so Dask never
    retries them. Writes are atomic (temp + rename), so running a task again after a lost
    worker overwrites a complete file with the same complete file.
    """
    from vecmatte._malloc import reuse_large_allocations

    limit, threads = _worker_memory_limit() or (None, 1)
    refusal = _refuse_if_too_big(task, limit, threads)
    if refusal is not None:
        return BatchRecord.failed(task, refusal)
    # The nanny's MALLOC_TRIM_THRESHOLD_ makes every large temporary a fresh mmap (about a
    # third of a solve's time); see vecmatte._malloc.
    with reuse_large_allocations():
        record = process_task(task)
    if record.stops:  # a folder gone, a full disk: there, maybe not on the submitting machine
        from distributed import get_worker

        where = f"{record.error} (on the Dask worker at {get_worker().address})"
        record = dataclasses.replace(record, error=where)
    return record


def _check_workers(client: Client) -> None:
    """Refuse a cluster whose scheduler or a worker cannot import this vecmatte (ImportError).

    A task names ``_process_on_worker`` by reference: a worker without vecmatte (or with
    another version, whose ``BatchTask`` may not unpickle) fails to read the message, its
    connection to the scheduler breaks and it shuts down; with no good worker left the
    batch waited forever without a word. The scheduler unpickles the tasks too: without
    vecmatte every image failed with Dask's "Error during deserialization of the task
    graph". A cluster with no worker yet (adaptive scaling) is let through.
    """
    from vecmatte import __version__

    def version_on_worker() -> str:
        # defined here, so that it travels by value and runs where vecmatte is missing
        return __import__("vecmatte").__version__

    def cannot_run(answer) -> bool:
        # A connection lost on the way (OSError) says nothing about vecmatte there: the
        # scheduler deals with a worker that went away, and the batch with a lost scheduler.
        return answer != __version__ and not isinstance(answer, OSError)

    def seen(answer) -> str:
        return (
            f"vecmatte {answer}"
            if isinstance(answer, str)
            else f"{type(answer).__name__}: {answer}"
        )

    try:
        on_scheduler = client.run_on_scheduler(version_on_worker)
    except Exception as error:  # raised there, as ImportError or in Dask's wrapping
        on_scheduler = error
    if cannot_run(on_scheduler):
        raise ImportError(
            f"the Dask scheduler cannot run vecmatte {__version__} ({seen(on_scheduler)}), and "
            f"it reads every task; install it in the scheduler's environment too "
            f"({INSTALL_HINT}, the same version as here)"
        )
    found = client.run(version_on_worker, on_error="return")
    other = {address: answer for address, answer in sorted(found.items()) if cannot_run(answer)}
    if other:
        address, answer = next(iter(other.items()))
        raise ImportError(
            f"{len(other)} of {len(found)} Dask workers cannot run vecmatte {__version__} "
            f"(the worker at {address}: {seen(answer)}); install it in the workers' "
            f"environment ({INSTALL_HINT}, the same version as here)"
        )


def _current_folder() -> str:
    """The current folder as the shell names it (``$PWD``) when that is the same folder.

    ``os.getcwd()`` resolves symbolic links: started in /shared/project, a link to
    /export/disk3/project that only this machine has, it gave workers a folder they cannot
    see under that name. ``$PWD`` can be stale (set by a parent in another folder): used
    only when it is absolute and names the folder ``os.getcwd()`` names.
    """
    here = os.getcwd()
    shell = os.environ.get("PWD")
    if shell and shell != here and os.path.isabs(shell):
        try:
            if os.path.samefile(shell, here):
                return shell
        except OSError:  # gone or unreadable
            pass
    return here


def _absolute(task: BatchTask, folder: str) -> BatchTask:
    """``task`` with its paths made absolute from ``folder``: a worker's own folder is
    another one."""

    def absolute(path: str | None) -> str | None:
        return path if path is None else os.path.join(folder, path)

    return dataclasses.replace(
        task,
        image_path=absolute(task.image_path),
        trimap_path=absolute(task.trimap_path),
        alpha_path=absolute(task.alpha_path),
        cutout_path=absolute(task.cutout_path),
    )


def _record_of(future, task: BatchTask, distributed) -> BatchRecord:
    """The record a finished future carries, or a ``"failed"`` one built from its error."""
    if future.status == "cancelled":
        return BatchRecord.failed(task, "cancelled on the Dask cluster (scheduler lost?)")
    try:
        if future.status == "finished":
            return future.result()
        error = future.exception()
    except OSError:
        # Both are fetched through the scheduler: lost between the task's end and this
        # call, the connection's error ended the whole batch with a traceback.
        return BatchRecord.failed(
            task,
            "ended on the Dask cluster, but its record was lost with the scheduler (run "
            "again with resume, --resume: outputs made whole are kept)",
        )
    if isinstance(error, distributed.KilledWorker):
        message = (
            f"{error.allowed_failures + 1} Dask workers died while solving it (out of memory? "
            "see the worker logs); not retried further"
        )
    else:
        message = f"{type(error).__name__}: {error}"
    return BatchRecord.failed(task, message)


def _run_pending(tasks, pending: list[int], client_or_address, report) -> bool:
    """Run ``tasks[pending]`` on the cluster, calling ``report(index, record)`` as each ends.

    Returns whether every task finished (False: a full disk stopped the batch, and tasks may
    still be running on their workers).
    """
    distributed = _import_distributed()
    client, opened = _connect(client_or_address)
    futures = {}
    try:
        _check_workers(client)
        # one map call, not a submit per image: a single message to the scheduler for the
        # whole batch. Keys name the images on the dashboard; retries=0 because an error is
        # a bug (inputs fail as records), while lost workers are handled by the scheduler.
        # A name that is not UTF-8 (bad\xff.png, the surrogate \udcff) made the key unencodable
        # (msgpack text): the scheduler's connection broke and every image came back
        # "cancelled". The task itself travels pickled, its paths intact.
        batch_id = uuid.uuid4().hex[:8]
        folder = _current_folder()
        keys = [f"vecmatte-{batch_id}-{index}-{escaped(tasks[index].name)}" for index in pending]
        submitted = client.map(
            _process_on_worker,
            # paths relative to the folder the batch was started in (vecmatte batch images
            # trimaps -o out) named nothing in the worker's folder: every image failed
            [_absolute(tasks[index], folder) for index in pending],
            key=keys,
            pure=False,
            retries=0,
        )
        futures = dict(zip(submitted, pending, strict=True))
        for future in distributed.as_completed(list(futures), loop=client.loop):
            index = futures.pop(future)
            record = _record_of(future, tasks[index], distributed)
            future.release()
            report(index, record)
            if record.stops:
                # A full disk: the images left would fail the same way. Those running finish
                # on their workers (written whole, or not at all), as after Ctrl-C.
                client.cancel(list(futures))
                for index in futures.values():
                    report(index, BatchRecord.not_run(tasks[index], record))
                futures = {}
                return False
    except BaseException:
        if futures:
            client.cancel(list(futures))
        raise
    finally:
        if opened:
            _close_quietly(client)
    return True


def _close_quietly(client: Client) -> None:
    """Close a client this batch opened, without Dask's log of a lost scheduler.

    When the scheduler went away mid-batch, the client is still trying to reconnect:
    closing it cancels that attempt, which Dask logged as a 35-line ERROR traceback on
    stderr after the batch's records had already said "scheduler lost?".
    """
    import logging

    logger = logging.getLogger("distributed.client")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        client.close()
    finally:
        logger.setLevel(level)


def run_batch_on_cluster(
    tasks: Iterable[BatchTask],
    client_or_address: Client | Cluster | str,
    *,
    resume: bool = False,
    progress: Progress | None = None,
) -> list[BatchRecord]:
    """Run a batch on a Dask cluster, one task per image; return one record per task.

    Parameters
    ----------
    tasks : iterable of BatchTask
        As made by :func:`vecmatte.batch.find_tasks`.
    client_or_address : dask.distributed.Client, Dask cluster or str
        A connected client; or a cluster object (``LocalCluster``, dask-jobqueue's ...) or
        the address of a running scheduler (``"tcp://HOST:8786"``), in which case a client
        is opened for the batch and closed after it (the cluster is left running).
    resume : bool, optional
        Skip (record ``"skipped"``) the tasks whose outputs are all there as complete images
        made as the task would make them (see :func:`vecmatte.batch.run_batch`).
    progress : callable, optional
        ``progress(done, total, record)`` on the calling machine after each image, in the
        order the images complete (skipped ones first).

    Returns
    -------
    list of BatchRecord
        In the order of ``tasks``; ``status`` is ``"done"``, ``"failed"`` or ``"skipped"``.

    Raises
    ------
    ImportError
        If ``dask.distributed`` is not installed (the message says how to install it), or
        a worker of the cluster cannot import this version of vecmatte.
    OSError
        If the scheduler cannot be reached.

    Notes
    -----
    Workers read the inputs and write the outputs themselves: the paths in the tasks must
    name the same files on the client and on every worker (a shared filesystem such as NFS,
    mounted at the same place); relative paths are taken from the calling process's current
    folder, as a local batch does, and sent to the workers made absolute (under the name
    ``$PWD`` gives it when that is the same folder: ``os.getcwd()`` resolves symbolic links
    that the workers may not have). When a worker cannot see a file, that image fails with
    the worker's ``FileNotFoundError`` message in its record and the others go on; a folder
    it cannot see stops the batch as a folder gone from a local batch does (the message
    asks: deleted, moved or unmounted?, and names the worker).

    Faults: if a worker dies, the scheduler runs its images again on other workers; an image
    that loses its worker more than ``distributed.scheduler.allowed-failures`` times (3 by
    default) fails with a message instead of being retried forever. A bad input fails once
    and is not retried: :func:`~vecmatte.batch.process_task` returns it as a ``"failed"``
    record rather than raising. An image whose estimated memory
    (:func:`vecmatte.memory.estimate_task_memory`) exceeds its share of the worker's memory
    limit (the limit divided by the worker's threads, which solve as many images at once)
    fails at once with the estimate, rather than getting worker after worker killed by
    their nannies.

    An image whose outputs cannot be written for want of room (no space left, over quota,
    a read-only file system) stops the batch: the tasks not finished are cancelled and fail
    as "not run" (those already running complete on their workers).

    If the call is interrupted (Ctrl-C), the tasks not yet finished are cancelled before
    ``KeyboardInterrupt`` goes on; an image already being solved completes on its worker and
    is written whole, and no partial file is ever left at an output path.

    Examples
    --------
    >>> from vecmatte.batch import find_tasks
    >>> tasks = find_tasks("images", "trimaps", "mattes")  # doctest: +SKIP
    >>> records = run_batch_on_cluster(tasks, "tcp://10.0.0.1:8786")  # doctest: +SKIP
    """
    tasks = list(tasks)
    _import_distributed()  # a missing dask.distributed is said before any file is read
    collected = RecordCollector(len(tasks), progress)
    records, report = collected.records, collected.add
    with output_folders_cleaned_and_held(tasks) as locks:
        pending = split_finished(tasks, collected, resume)
        # Cleaned when all have finished: after a stop, some may still be writing.
        if pending and _run_pending(tasks, pending, client_or_address, report):
            remove_stale_temporaries((tasks[index] for index in pending), locks)
    return records  # type: ignore[return-value]
