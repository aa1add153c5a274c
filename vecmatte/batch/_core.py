"""The task/record core of batches, shared by the local and the Dask executors.

The work is cut into small picklable :class:`BatchTask` objects (paths and solver options,
never pixels) and each comes back as a small :class:`BatchRecord`, so the same tasks run in
this process, in local worker processes or on a Dask cluster. Every output is written
atomically (:func:`vecmatte.io.save_images`: all of a task's outputs or none), so a batch
stopped at any moment leaves complete files only, and ``resume=True`` picks up where it
stopped.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from vecmatte._errors import collected_warnings, error_line
from vecmatte._output_guard import name_difference, name_key

# Defined here before it had a module of its own: older imports (the tests') still work.
from vecmatte.batch._temporaries import remove_stale_temporaries
from vecmatte.io import IMAGE_EXTENSIONS

__all__ = [
    "IMAGE_EXTENSIONS",
    "BatchRecord",
    "BatchTask",
    "Progress",
    "check_task_bit_depth",
    "process_task",
    "remove_stale_temporaries",
]

#: ``progress(done, total, record)``, called in the submitting process as tasks complete.
Progress = Callable[[int, int, "BatchRecord"], None]

# Options of the solve that a task carries (besides the method's own options).
_SOLVER_OPTIONS = ("method", "eps", "radius", "preconditioner", "rtol", "maxiter")
TASK_OPTIONS = (*_SOLVER_OPTIONS, "options", "max_pixels", "band", "bit_depth")

# Errors of writing that every later image meets as well (BatchRecord.stops).
STOPPING_ERRNOS = frozenset(
    number
    for number in (errno.ENOSPC, getattr(errno, "EDQUOT", None), errno.EROFS)
    if number is not None
)

# Names of the outputs of the image NAME, in the output folder.
ALPHA_SUFFIX, CUTOUT_SUFFIX = "_alpha.png", "_cutout.png"


@dataclass(frozen=True)
class BatchTask:
    """One image of a batch: where to read, where to write, and the solver options.

    Attributes
    ----------
    name : str
        The image's file name without extension; outputs are ``NAME_alpha.png`` (and
        ``NAME_cutout.png``).
    image_path, trimap_path, alpha_path : str
        ``trimap_path`` is a mask when ``band`` is set.
    cutout_path : str or None
        Where to write the RGBA cutout, if wanted.
    method : str or None
        Passed to :func:`vecmatte.solve_alpha`; None means its default.
    eps, radius : optional
        Closed-form options, passed only when set (None: the method's default).
    preconditioner, rtol, maxiter
        Passed to :func:`vecmatte.solve_alpha`; None means its default (for the
        preconditioner: the method's own; ``"none"`` for no preconditioning).
    options : tuple of (name, value) pairs
        Further keyword options of the method (a tuple, so that the task stays hashable).
    max_pixels : int, optional
        Decompression-bomb limit for reading (see :func:`vecmatte.load_image`).
    band : int, optional
        When set, ``trimap_path`` is a rough mask, made into a trimap with an unknown band
        of this many pixels on each side of its edge (:func:`vecmatte.trimap_from_mask`).
    bit_depth : {8, 16}, optional
        Bits per sample of the alpha matte (None: 8); 16 writes ``round(65535 alpha)`` as a
        16-bit gray PNG (or TIFF). The cutout stays 8-bit RGBA.
    """

    name: str
    image_path: str
    trimap_path: str
    alpha_path: str
    cutout_path: str | None
    method: str | None = None
    eps: float | None = None
    radius: int | None = None
    preconditioner: Any = None
    rtol: float | None = None
    maxiter: int | None = None
    options: tuple[tuple[str, Any], ...] = field(default=())
    max_pixels: int | None = None
    band: int | None = None
    bit_depth: int | None = None

    def outputs(self) -> list[str]:
        """The files this task writes."""
        return (
            [self.alpha_path] if self.cutout_path is None else [self.alpha_path, self.cutout_path]
        )

    def is_finished(self) -> bool:
        """Whether resume may skip this task: see :meth:`resume_check`."""
        return self.resume_check() is None

    def resume_check(self) -> str | None:
        """Why a resumed batch makes this task's outputs again; None if they are finished.

        Finished: every output is there as a readable, complete image, the alpha matte has
        ``bit_depth``, each output's record (a PNG text chunk, see
        :mod:`vecmatte.batch._record`) says it was made with this task's method, options,
        band (and, for the cutout, foreground method), and the image and trimap files still
        have the SHA-256 digests it recorded. Otherwise one of :data:`MISSING` (an output
        missing, empty or truncated, from a disk that filled up or a copy cut short),
        :data:`OTHER_BIT_DEPTH`, :data:`NO_RECORD` (made by an older vecmatte or another
        program: whether it matches cannot be told, so it is made again),
        :data:`OTHER_OPTIONS` or :data:`INPUTS_CHANGED` (an input rewritten since, or gone:
        the task then fails saying so, and the old outputs stay).
        """
        from vecmatte.batch._record import same_solve

        found = [_read_output(path) for path in self.outputs()]
        if None in found:
            return MISSING
        if _BITS.get(found[0][0]) != (self.bit_depth or 8):
            return OTHER_BIT_DEPTH
        records = [record for _, record in found]
        if None in records or not all(isinstance(r.get("inputs"), dict) for r in records):
            return NO_RECORD
        try:
            wanted = self.provenance()
        except (ValueError, TypeError):  # options the solve refuses: process_task says why
            return OTHER_OPTIONS
        if not all(same_solve(r, w) for r, w in zip(records, wanted, strict=True)):
            return OTHER_OPTIONS
        # Last: it reads every input file, the other checks read only the outputs' headers.
        inputs = self.input_digests()
        if not all(record["inputs"] == inputs for record in records):
            return INPUTS_CHANGED
        return None

    def provenance(self) -> list[dict]:
        """How this task makes each of :meth:`outputs`, as written into it (inputs aside).

        The matte's record is the solve's (:func:`~vecmatte.batch._record.solve_record`);
        the cutout's adds the foreground method its colours come from.
        """
        from vecmatte.batch._record import solve_record

        matte = solve_record(self.solver_options(), band=self.band)
        if self.cutout_path is None:
            return [matte]
        from vecmatte.foreground import DEFAULT_METHOD

        return [matte, {**matte, "foreground": DEFAULT_METHOD}]

    def input_digests(self) -> dict[str, str | None]:
        """SHA-256 of the image file and of the trimap (or mask) file, as recorded.

        None for a file that cannot be read (it never matches a recorded digest).
        """
        from vecmatte.batch._record import file_digest

        second = "trimap" if self.band is None else "mask"
        return {"image": file_digest(self.image_path), second: file_digest(self.trimap_path)}

    def solver_options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`vecmatte.solve_alpha` (the unset ones left out)."""
        chosen = {
            name: getattr(self, name)
            for name in ("method", "eps", "radius", "preconditioner", "rtol", "maxiter")
            if getattr(self, name) is not None
        }
        return {**chosen, **dict(self.options)}


# Why resume makes a task's outputs again (BatchTask.resume_check). Only MISSING is the
# ordinary case of an interrupted batch; the others are reported in the summary.
MISSING = "an output missing, empty or truncated"
OTHER_BIT_DEPTH = "alpha matte of another bit depth"
OTHER_OPTIONS = "outputs from another method or other solve options"
NO_RECORD = "outputs with no record of how they were made: an older vecmatte, or another program"
INPUTS_CHANGED = "inputs changed since it was made"

# Pillow's modes of gray images by bits per sample ("I": how older Pillow opens a 16-bit
# gray PNG; PNG has no 32-bit gray).
_BITS = {"L": 8, "I": 16, "I;16": 16, "I;16B": 16, "I;16L": 16}


def _read_output(path) -> tuple[str, dict | None] | None:
    """``(mode, record)`` of the output file ``path`` if it decodes completely, else None."""
    from vecmatte._pillow import open_unchecked, pillow_allows
    from vecmatte.batch._record import RECORD_KEY, parse_record

    try:
        with open_unchecked(path) as image, pillow_allows(image.size):
            image.load()  # a 0-byte or truncated file fails here
            text = image.info.get(RECORD_KEY) if image.format == "PNG" else None
            mode = image.mode
    except Exception:  # any failure to decode means: not a finished output
        return None
    return mode, parse_record(text if isinstance(text, str) else None)


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
    redone : str or None
        With ``resume``: why outputs that were there were made again (another bit depth,
        other solve options, no record of how they were made, an image or trimap file
        changed since); None otherwise, and when an output was missing or incomplete.
    stops : bool
        The error would fail every later image as well (writing: no space left on the
        device, over quota, a read-only file system, the output folder gone): the batch runs
        no further image, and their records say so (:meth:`not_run`).
    """

    name: str
    status: str
    seconds: float
    iterations: int
    error: str | None
    note: str | None = None
    redone: str | None = None
    stops: bool = False

    @classmethod
    def skipped(cls, task: BatchTask) -> BatchRecord:
        """The record of a task whose outputs are already there."""
        return cls(task.name, "skipped", 0.0, 0, None)

    @classmethod
    def failed(
        cls, task: BatchTask, error: str, seconds: float = 0.0, *, stops: bool = False
    ) -> BatchRecord:
        """The record of a task that failed with the message ``error``."""
        return cls(task.name, "failed", seconds, 0, error, stops=stops)

    @classmethod
    def not_run(cls, task: BatchTask, cause: BatchRecord) -> BatchRecord:
        """The record of a task left out because ``cause`` stopped the batch."""
        return cls.failed(
            task,
            f"not run: the batch stopped when {cause.name} failed ({cause.error}); fix that, "
            "then run again with resume (--resume)",
        )


class RecordCollector:
    """Records of a batch by task index, each reported to ``progress`` as it arrives."""

    def __init__(self, total: int, progress: Progress | None = None):
        self.records: list[BatchRecord | None] = [None] * total
        self.done = 0
        self.progress = progress
        # Task index -> why its outputs, which were there, are made again (resume).
        self.redone: dict[int, str] = {}

    def add(self, index: int, record: BatchRecord) -> None:
        if index in self.redone:
            record = replace(record, redone=self.redone[index])
        self.records[index] = record
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, len(self.records), record)


def split_finished(
    tasks: Sequence[BatchTask], collector: RecordCollector, resume: bool
) -> list[int]:
    """Record the finished tasks as skipped (with ``resume``); return the others' indices.

    Why a task's outputs that were there are made again goes to ``collector.redone``.
    """
    pending = []
    for index, task in enumerate(tasks):
        reason = task.resume_check() if resume else MISSING
        if reason is None:
            collector.add(index, BatchRecord.skipped(task))
            continue
        if reason != MISSING:
            collector.redone[index] = reason
        pending.append(index)
    return pending


def check_task_bit_depth(task: BatchTask) -> None:
    """A 16-bit matte needs a format that holds 16-bit gray (PNG, TIFF): refused up front."""
    from vecmatte._output_guard import file_format
    from vecmatte._writing import check_bit_depth

    if check_bit_depth(task.bit_depth) == 16:
        kind = file_format(Path(task.alpha_path))
        if kind not in ("PNG", "TIFF"):
            raise ValueError(
                f"{task.alpha_path}: {kind} cannot hold a 16-bit alpha matte (bit_depth=16); "
                "write it as .png or .tif, or leave out bit_depth"
            )


# ----------------------------------------------------------------------------- processing


def _read_trimap(task: BatchTask, image_shape: tuple[int, ...]):
    from vecmatte.io import load_gray
    from vecmatte.trimap import check_known_pixels, check_trimap, trimap_from_mask

    what = "trimap" if task.band is None else "mask"
    if not Path(task.trimap_path).is_file():
        raise FileNotFoundError(f"no {what} for {task.name}: {_no_file(task.trimap_path, what)}")
    trimap = load_gray(task.trimap_path, name=what, max_pixels=task.max_pixels)
    try:
        check_trimap(trimap, image_shape, name=what)
        if task.band is not None:
            trimap = trimap_from_mask(trimap, band=task.band)
        else:
            check_known_pixels(trimap)
    except ValueError as error:
        raise ValueError(f"{task.trimap_path}: {error}") from None
    return trimap


def _no_file(path, what: str) -> str:
    """Why no file is at ``path`` (``FOLDER/NAME.*`` when find_tasks found none of that name).

    A folder (or a named pipe, a broken link) of the trimap's name was left out unnamed:
    "no file trimaps/a.*" beside a ``trimaps/a.png`` that the user sees there.
    """
    path = Path(path)
    if path.name.endswith(".*"):
        named = glob.escape(path.name[:-2]) + ".*"
        found = [p for p in sorted(path.parent.glob(named)) if p.suffix.lower() in IMAGE_EXTENSIONS]
    else:
        found = [path] if os.path.lexists(path) else []
    for entry in found:
        if kind := no_file_kind(entry):
            return f"{entry} is {kind}, not a {what} file"
    if path.name.endswith(".*") and not found:
        wanted = path.name[:-2]
        try:
            entries = sorted(path.parent.iterdir())
        except OSError:
            entries = []
        # trimaps/a.psd (or .heic) was "no file trimaps/a.*" beside the a.psd the user sees.
        if same := [p for p in entries if p.stem == wanted and not p.is_dir()]:
            return f"no file {path} ({same[0]} is not of a type read: {' '.join(IMAGE_EXTENSIONS)})"
        # Names are matched exactly: B.png's trimap b.png (copied from a system that ignores
        # case) was "no file trimaps/B.*" beside the b.png the user sees there; so was an
        # é.png whose é is spelled otherwise in Unicode (one name on macOS, two on Linux).
        near = [
            p
            for p in entries
            if name_key(p.stem) == name_key(wanted) and p.suffix.lower() in IMAGE_EXTENSIONS
        ]
        if near:
            how = name_difference(wanted, near[0].stem).removeprefix("only ")
            return f"no file {path} ({near[0]} differs {how}; names are matched exactly)"
    return f"no file {path}"


def no_file_kind(path: Path) -> str | None:
    """What is at ``path`` if it is there but is no regular file to read, else None.

    ``"a folder"``, ``"a broken link"`` (a drive or share not mounted) or ``"a named pipe,
    socket or device"``: said where such an entry is left out (images) or missing (a trimap).
    """
    if path.is_dir():
        return "a folder"
    if path.is_file() or not os.path.lexists(path):
        return None
    return "a broken link" if path.is_symlink() else "a named pipe, socket or device"


def _solve_and_write(task: BatchTask) -> tuple[int, list[str]]:
    """Read, solve (solve_alpha checks memory first), write; return the iterations and notes."""
    import numpy as np

    from vecmatte.alpha import solve_alpha
    from vecmatte.batch._record import record_text
    from vecmatte.compose import cutout
    from vecmatte.io import check_output_paths, colour_profile, load_image, save_images

    # find_tasks checked the whole batch; a task made by hand is checked here, before reading.
    check_output_paths(
        {"alpha output": task.alpha_path, "cutout output": task.cutout_path},
        {"image": task.image_path, "trimap": task.trimap_path},
        writable=False,
    )
    check_task_bit_depth(task)
    # Hashed before they are read: a file rewritten in between then mismatches its digest
    # (resume makes it again), whereas hashing after reading could record the new file's
    # digest for a matte of the old one (resume would keep it).
    inputs = task.input_digests()
    with collected_warnings() as caught:
        image = load_image(task.image_path, max_pixels=task.max_pixels)
        trimap = _read_trimap(task, image.shape)
        # In each file (the cutout's with its foreground method): resume checks them all.
        texts = [record_text({**record, "inputs": inputs}) for record in task.provenance()]
        result = solve_alpha(image, trimap, **task.solver_options())

        def outputs():
            # The cutout is made after the matte's file is written; both renamed at the end.
            if task.bit_depth == 16:
                from vecmatte.io import floats_to_uint16

                yield task.alpha_path, floats_to_uint16(result.alpha), texts[0]
            else:
                yield task.alpha_path, result.alpha, texts[0]
            if task.cutout_path is not None:
                from vecmatte.foreground import DEFAULT_METHOD, estimate_foreground

                # the method provenance() records for the cutout
                foreground = estimate_foreground(image, result.alpha, method=DEFAULT_METHOD)
                rgba = cutout(image, result.alpha, foreground, dtype=np.uint8)
                yield task.cutout_path, rgba, texts[1]

        # The cutout carries the photograph's colour space (its ICC profile), as alpha's do.
        save_images(outputs(), icc_profile=colour_profile(task.image_path))
    notes = [
        str(warning.message)
        for warning in caught
        if issubclass(warning.category, (UserWarning, RuntimeWarning))
    ]
    return result.iterations, notes


def _stopping_cause(task: BatchTask, error: BaseException) -> str | None:
    """Why every later image of the batch would fail as ``task`` did, or None.

    An output folder deleted (or unmounted) or made unwritable during the batch, an images
    or trimaps folder deleted or made unreadable: each later image failed in turn, one line
    each ("does not exist", a temporary's "no such file", "permission denied"), after its
    whole solve.
    """
    second = "trimaps" if task.band is None else "masks"
    folders = [(output, "output") for output in task.outputs()]
    for path, what in [*folders, (task.image_path, "images"), (task.trimap_path, second)]:
        folder = Path(path).parent
        # One that cannot be looked at (EIO, a stale NFS handle) is not taken for gone: its
        # error raised out of process_task, ending the batch with a traceback.
        with contextlib.suppress(OSError):
            if not folder.is_dir():
                return f"{folder}: the {what} folder is not there: deleted, moved or unmounted?"
    for path, what in [(task.image_path, "images"), (task.trimap_path, second)]:
        # Made unreadable during the batch (chmod a-rx): every later image failed in turn,
        # a trimap's as "no file" (its is_file() cannot look inside). Files are opened
        # through the folder's search (x) permission, which os.access checks as open does.
        folder = Path(path).parent
        if not os.access(folder, os.X_OK):
            return f"{folder}: cannot read in the {what} folder (permission denied)"
    if isinstance(error, PermissionError) and error.errno not in STOPPING_ERRNOS:
        for folder in {Path(output).parent for output in task.outputs()}:
            # As the write checks it (_output_guard.check_writable); a photograph that
            # cannot be read leaves the output folder writable and the batch going.
            if not os.access(folder, os.W_OK | os.X_OK):
                return f"{folder}: cannot write in the output folder (permission denied)"
    return None


def process_task(task: BatchTask) -> BatchRecord:
    """Run one task: read, solve, write atomically; errors become a ``"failed"`` record.

    Bad inputs (missing, damaged or mismatched files, too large for memory) and solver errors
    are caught, so a batch goes on with the other images and a cluster does not retry them;
    only ``KeyboardInterrupt`` and ``SystemExit`` propagate. Warnings (non-convergence with
    its residual, an ignored alpha channel) are collected into the record's ``note``. An
    output that cannot be written for want of room (or a read-only file system, or in a
    folder that is gone or no longer writable), or an input folder that is gone or
    unreadable, gives a record that ``stops`` the batch.

    Parameters
    ----------
    task : BatchTask

    Returns
    -------
    BatchRecord
    """
    start = time.perf_counter()
    try:
        iterations, notes = _solve_and_write(task)
    except (ValueError, OSError, MemoryError) as error:
        seconds = time.perf_counter() - start
        cause = _stopping_cause(task, error)
        if cause is not None:
            return BatchRecord.failed(task, cause, seconds, stops=True)
        # A full disk failed each later image too, after its whole solve: the batch stops.
        stops = isinstance(error, OSError) and error.errno in STOPPING_ERRNOS
        return BatchRecord.failed(task, error_line(error), seconds, stops=stops)
    except Exception as error:  # an unexpected bug must not stop the other images either
        message = f"{type(error).__name__}: {error}"
        return BatchRecord.failed(task, message, time.perf_counter() - start)
    stale = _stale_cutout(task)
    if stale is not None:
        notes.append(
            f"{stale} is from an earlier run, not made again with this matte (no cutout asked "
            "for): delete it, or run with cutout (--cutout)"
        )
    note = "; ".join(notes) if notes else None
    return BatchRecord(task.name, "done", time.perf_counter() - start, iterations, None, note)


def _stale_cutout(task: BatchTask) -> str | None:
    """``NAME_cutout.png`` beside the matte just made, if this task made no cutout, else None.

    A batch (or ``--resume``) without ``--cutout`` that makes a matte again left the cutout
    of an earlier run beside it, unsaid: a pair that no longer agrees. It is the user's
    file, so it is named, never deleted.
    """
    if task.cutout_path is not None or not task.alpha_path.endswith(ALPHA_SUFFIX):
        return None
    cutout = task.alpha_path.removesuffix(ALPHA_SUFFIX) + CUTOUT_SUFFIX
    return cutout if os.path.lexists(cutout) else None
