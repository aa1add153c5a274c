"""Batches: a folder of images and a folder of trimaps in, a folder of alpha mattes out.

The work is cut into small picklable :class:`BatchTask` objects (paths and solver options,
never pixels) and each comes back as a small :class:`BatchRecord`, so the same tasks run in
this process, in local worker processes (:func:`run_batch`) or on a Dask cluster
(:mod:`vecmatte.distributed`). Every output is written atomically, so a batch stopped at any
moment leaves complete files only, and ``resume=True`` picks up where it stopped.
"""

from __future__ import annotations

import os
import signal
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from vecmatte import _defaults

__all__ = [
    "IMAGE_EXTENSIONS",
    "BatchRecord",
    "BatchTask",
    "find_tasks",
    "process_task",
    "run_batch",
]

# Extensions recognised as images in the input folders (lower case).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")

Progress = Callable[[int, int, "BatchRecord"], None]


@dataclass(frozen=True)
class BatchTask:
    """One image of a batch: where to read, where to write, and the solver options.

    Attributes
    ----------
    name : str
        The image's file name without extension; outputs are ``NAME_alpha.png`` (and
        ``NAME_cutout.png``).
    image_path, trimap_path, alpha_path : str
    cutout_path : str or None
        Where to write the RGBA cutout, if wanted.
    eps, radius, preconditioner, rtol, maxiter
        Passed to :func:`vecmatte.solve_alpha`.
    max_pixels : int, optional
        Decompression-bomb limit for reading (see :func:`vecmatte.load_image`).
    """

    name: str
    image_path: str
    trimap_path: str
    alpha_path: str
    cutout_path: str | None
    eps: float = _defaults.EPS
    radius: int = _defaults.RADIUS
    preconditioner: str | None = _defaults.PRECONDITIONER
    rtol: float = _defaults.RTOL
    maxiter: int | None = None
    max_pixels: int | None = None

    def outputs(self) -> list[str]:
        """The files this task writes."""
        return (
            [self.alpha_path] if self.cutout_path is None else [self.alpha_path, self.cutout_path]
        )

    def is_finished(self) -> bool:
        """Whether every output already exists (what ``resume`` skips)."""
        return all(Path(path).is_file() for path in self.outputs())


@dataclass(frozen=True)
class BatchRecord:
    """What became of one task: small and picklable, it is all that travels back.

    Attributes
    ----------
    name : str
    status : {"done", "failed", "skipped"}
        ``"skipped"``: outputs already there (``resume``).
    seconds : float
        Wall time of the task (0 when skipped).
    iterations : int
        Conjugate gradient iterations (0 when failed or skipped).
    error : str or None
        Why the task failed; None otherwise.
    note : str or None
        Something the user should know about a done task: the solver did not converge (with
        the residual), or the image's alpha channel was ignored.
    """

    name: str
    status: str
    seconds: float
    iterations: int
    error: str | None
    note: str | None = None


def _image_files(directory: Path) -> dict[str, list[Path]]:
    """Image files of ``directory`` by name (stem); hidden files are ignored."""
    by_stem: dict[str, list[Path]] = {}
    for path in sorted(directory.iterdir()):
        if (
            path.is_file()
            and not path.name.startswith(".")
            and path.suffix.lower() in IMAGE_EXTENSIONS
        ):
            by_stem.setdefault(path.stem, []).append(path)
    return by_stem


def _check_input_dir(directory, what: str) -> Path:
    directory = Path(directory)
    if not directory.exists():
        raise FileNotFoundError(f"{directory}: {what} folder does not exist")
    if not directory.is_dir():
        raise NotADirectoryError(f"{directory}: {what} folder is not a directory")
    return directory


def _prepare_output_dir(directory) -> Path:
    """Create ``directory`` if needed and make sure files can be written in it."""
    import tempfile

    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except FileExistsError:
        raise NotADirectoryError(f"{directory}: output folder is a file, not a directory") from None
    except OSError as error:
        raise PermissionError(
            f"{directory}: cannot write in the output folder ({error.strerror or error}); "
            "choose another one with -o"
        ) from None
    return directory


def find_tasks(
    images_dir, trimaps_dir, out_dir, *, cutout: bool = False, **solver_options
) -> list[BatchTask]:
    """One task per image of ``images_dir``, paired by name with a trimap of ``trimaps_dir``.

    Parameters
    ----------
    images_dir, trimaps_dir : str or Path
        Folders of images and trimaps; ``photo.jpg`` goes with ``photo.png`` (same name, any
        image extension: ``.png .jpg .jpeg .tif .tiff .bmp .webp``).
    out_dir : str or Path
        Where ``NAME_alpha.png`` (and ``NAME_cutout.png``) are written; created if missing.
    cutout : bool, optional
        Also write an RGBA cutout of each image.
    **solver_options
        ``eps``, ``radius``, ``preconditioner``, ``rtol``, ``maxiter``, ``max_pixels``.

    Returns
    -------
    list of BatchTask
        Sorted by name. An image without a trimap still gets a task, whose trimap path
        does not exist: it is reported as failed, without stopping the others.

    Raises
    ------
    ValueError
        If ``images_dir`` holds no image, no image has a trimap, or two files share a name.
    FileNotFoundError, NotADirectoryError, PermissionError
        If a folder is missing, or ``out_dir`` cannot be created or written in.
    """
    unknown = set(solver_options) - {
        "eps",
        "radius",
        "preconditioner",
        "rtol",
        "maxiter",
        "max_pixels",
    }
    if unknown:
        raise TypeError(f"find_tasks() got unexpected option(s) {sorted(unknown)}")
    images_dir = _check_input_dir(images_dir, "images")
    trimaps_dir = _check_input_dir(trimaps_dir, "trimaps")
    images = _image_files(images_dir)
    if not images:
        raise ValueError(
            f"{images_dir}: no image files in this folder (looked for {' '.join(IMAGE_EXTENSIONS)})"
        )
    trimaps = _image_files(trimaps_dir)
    for what, found in (("images", images), ("trimaps", trimaps)):
        clashes = [", ".join(p.name for p in paths) for paths in found.values() if len(paths) > 1]
        if clashes:
            raise ValueError(
                f"several {what} have the same name, so the outputs would clash: "
                f"{'; '.join(clashes[:5])}; rename or remove all but one"
            )
    if not set(images) & set(trimaps):
        raise ValueError(
            f"no image of {images_dir} has a trimap of the same name in {trimaps_dir} "
            f"(images: {', '.join(sorted(images)[:3])} ...; trimaps: "
            f"{', '.join(sorted(trimaps)[:3]) or 'none'})"
        )
    out_dir = _prepare_output_dir(out_dir)
    tasks = []
    for name, (image_path,) in sorted(images.items()):
        trimap_path = trimaps[name][0] if name in trimaps else trimaps_dir / f"{name}.*"
        tasks.append(
            BatchTask(
                name=name,
                image_path=str(image_path),
                trimap_path=str(trimap_path),
                alpha_path=str(out_dir / f"{name}_alpha.png"),
                cutout_path=str(out_dir / f"{name}_cutout.png") if cutout else None,
                **solver_options,
            )
        )
    return tasks


def _solve_and_write(task: BatchTask) -> tuple[int, list[str]]:
    """Read, solve (solve_alpha checks memory first), write; return the iterations and notes."""
    from vecmatte.alpha import solve_alpha
    from vecmatte.compose import cutout
    from vecmatte.io import load_image, load_trimap, save_image
    from vecmatte.trimap import check_trimap

    if not Path(task.trimap_path).is_file():
        raise FileNotFoundError(f"no trimap for {task.name}: no file {task.trimap_path}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        warnings.simplefilter("always", RuntimeWarning)
        image = load_image(task.image_path, max_pixels=task.max_pixels)
        trimap = load_trimap(task.trimap_path, max_pixels=task.max_pixels)
        try:
            check_trimap(trimap, image.shape)
        except ValueError as error:
            raise ValueError(f"{task.trimap_path}: {error}") from None
        result = solve_alpha(
            image,
            trimap,
            eps=task.eps,
            radius=task.radius,
            preconditioner=task.preconditioner,
            rtol=task.rtol,
            maxiter=task.maxiter,
        )
        save_image(task.alpha_path, result.alpha)
        if task.cutout_path is not None:
            from vecmatte.foreground import estimate_foreground

            foreground = estimate_foreground(image, result.alpha)
            save_image(task.cutout_path, cutout(image, result.alpha, foreground))
    notes = [
        str(warning.message)
        for warning in caught
        if issubclass(warning.category, (UserWarning, RuntimeWarning))
    ]
    return result.iterations, notes


def process_task(task: BatchTask) -> BatchRecord:
    """Run one task: read, solve, write atomically; errors become a ``"failed"`` record.

    Bad inputs (missing, damaged or mismatched files, too large for memory) and solver errors
    are caught, so a batch goes on with the other images and a cluster does not retry them;
    only ``KeyboardInterrupt`` and ``SystemExit`` propagate. Warnings (non-convergence with
    its residual, an ignored alpha channel) are collected into the record's ``note``.
    """
    start = time.perf_counter()
    try:
        iterations, notes = _solve_and_write(task)
    except (ValueError, OSError, MemoryError) as error:
        return BatchRecord(task.name, "failed", time.perf_counter() - start, 0, str(error))
    except Exception as error:  # an unexpected bug must not stop the other images either
        message = f"{type(error).__name__}: {error}"
        return BatchRecord(task.name, "failed", time.perf_counter() - start, 0, message)
    note = "; ".join(notes) if notes else None
    return BatchRecord(task.name, "done", time.perf_counter() - start, iterations, None, note)


def _skipped(task: BatchTask) -> BatchRecord:
    return BatchRecord(task.name, "skipped", 0.0, 0, None)


class _RecordCollector:
    """Records of a batch by task index, each reported to ``progress`` as it arrives."""

    def __init__(self, total: int, progress=None):
        self.records: list[BatchRecord | None] = [None] * total
        self.done = 0
        self.progress = progress

    def add(self, index: int, record: BatchRecord) -> None:
        self.records[index] = record
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, len(self.records), record)


def run_batch(
    tasks: Iterable[BatchTask],
    *,
    jobs: int = 1,
    resume: bool = False,
    progress: Progress | None = None,
    scheduler=None,
) -> list[BatchRecord]:
    """Run tasks in this process, in ``jobs`` worker processes, or on a Dask cluster.

    Parameters
    ----------
    tasks : iterable of BatchTask
        Usually from :func:`find_tasks`.
    jobs : int, optional
        Worker processes; 1 runs everything in this process.
    resume : bool, optional
        Skip the tasks whose outputs all exist already (a ``"skipped"`` record).
    progress : callable, optional
        ``progress(done, total, record)`` after each task, in this process, in completion
        order.
    scheduler : str or dask.distributed.Client, optional
        Run on this Dask cluster instead (a scheduler address such as ``"tcp://HOST:8786"``,
        or a client): see :func:`vecmatte.distributed.run_batch_on_cluster`. ``jobs`` must
        then stay 1: the workers decide how many images are solved at once.

    Returns
    -------
    list of BatchRecord
        In the order of ``tasks``.

    Notes
    -----
    Worker processes are started with ``spawn``, which is safe with threads in the parent
    and the same on every platform. On ``KeyboardInterrupt`` the tasks not yet started are
    cancelled and the exception propagates; the outputs already written are complete (and
    the interrupted ones absent), so the batch can be resumed.
    """
    tasks = list(tasks)
    if isinstance(jobs, bool) or not float(jobs).is_integer() or jobs < 1:
        raise ValueError(f"jobs must be a positive whole number, got {jobs!r}")
    jobs = int(jobs)
    if scheduler is not None:
        if jobs != 1:
            raise ValueError(
                f"jobs={jobs} applies to local batches; on a Dask cluster the "
                "workers decide how many images run at once: leave jobs at 1"
            )
        from vecmatte.distributed import run_batch_on_cluster

        return run_batch_on_cluster(tasks, scheduler, resume=resume, progress=progress)
    collected = _RecordCollector(len(tasks), progress)
    records, finish = collected.records, collected.add

    pending = []
    for index, task in enumerate(tasks):
        if resume and task.is_finished():
            finish(index, _skipped(task))
        else:
            pending.append(index)
    if jobs == 1 or len(pending) <= 1:
        for index in pending:
            finish(index, process_task(tasks[index]))
        return records  # type: ignore[return-value]
    _run_in_processes(tasks, pending, min(jobs, len(pending)), finish)
    return records  # type: ignore[return-value]


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


def _run_in_processes(tasks, pending, jobs: int, finish) -> None:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

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
                    # a worker died (killed, out of memory): every task still in the pool is
                    # lost with it; report them, they can be run again with resume
                    record = BatchRecord(
                        tasks[index].name,
                        "failed",
                        0.0,
                        0,
                        "a worker process died (killed, or out of memory?); run again with "
                        "resume to retry",
                    )
                finish(index, record)
    except BaseException:
        for future in futures:
            future.cancel()
        _stop_workers(executor)
        executor.shutdown(wait=True, cancel_futures=True)
        raise
    executor.shutdown(wait=True)
