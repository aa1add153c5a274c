"""Temporaries a killed batch left beside its outputs: found and removed, batches sharing a folder.

:func:`vecmatte.io.save_image` writes ``.NAME.*.tmp`` and renames it to ``NAME``; a process
killed between the two (SIGKILL, out of memory, a lost machine) leaves the temporary behind.
A batch removes them before it starts and after an interruption, in each output folder that
no other batch runs in (the folder locks of :mod:`vecmatte.batch._lock`).
"""

from __future__ import annotations

import contextlib
import fnmatch
import glob
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vecmatte.batch._core import BatchTask
    from vecmatte.batch._lock import FolderLocks

__all__ = ["output_folders_cleaned_and_held", "remove_stale_temporaries"]


def _output_folders(tasks: Iterable[BatchTask]) -> dict[Path, list[Path]]:
    """The files ``tasks`` write, by folder (a link's file: where its temporaries are made)."""
    from vecmatte._output_guard import write_target

    folders: dict[Path, list[Path]] = {}
    for task in tasks:
        for output in map(Path, task.outputs()):
            try:
                output = write_target(output)  # a link's temporaries are beside its file
            except (OSError, ValueError):
                continue  # a link the write refuses left none
            folders.setdefault(output.parent, []).append(output)
    return folders


def remove_stale_temporaries(tasks: Iterable[BatchTask], locks: FolderLocks | None = None) -> None:
    """Delete the temporary files that a killed run left next to the outputs of ``tasks``.

    :func:`vecmatte.io.save_image` writes ``.NAME.*.tmp`` and renames it to ``NAME``; a
    process killed (SIGKILL, out of memory, lost machine) between the two leaves the
    temporary behind. Called when none of these tasks is running. ``locks``: the running
    batch's own (see :mod:`vecmatte.batch._lock`); a folder in which another batch runs now
    is left alone, since its temporaries there are live.
    """
    from vecmatte.batch._lock import FolderLocks

    folders = _output_folders(tasks)
    with contextlib.ExitStack() as stack:
        if locks is None:
            locks = stack.enter_context(FolderLocks(folders, shared=False))
        _remove_where_alone(folders, locks)


def _remove_where_alone(folders: dict[Path, list[Path]], locks: FolderLocks) -> None:
    """Delete the temporaries of ``folders``' outputs (:func:`_output_folders`) in each folder
    that no other batch runs in."""
    for folder, outputs in folders.items():
        with locks.alone_in(folder) as alone:
            if alone:
                _remove_temporaries_in(folder, outputs)


def _remove_temporaries_in(folder: Path, outputs: list[Path]) -> None:
    """Delete the temporaries of ``outputs`` (files of ``folder``), listing it once.

    A glob per output listed the folder once each: 2,000 images with cutouts in one folder
    took 12 s of CPU per clean-up. The names are matched as that glob did (``fnmatch``: by
    the platform's case rule).
    """
    from vecmatte._writing import temporary_prefix

    try:
        names = [name for name in os.listdir(folder) if os.path.normcase(name).endswith(".tmp")]
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return  # as the glob: nothing there to remove
    if not names:
        return
    for output in outputs:
        pattern = f"{glob.escape(temporary_prefix(output))}*.tmp"
        for name in fnmatch.filter(names, pattern):
            (folder / name).unlink(missing_ok=True)


@contextlib.contextmanager
def output_folders_cleaned_and_held(
    tasks: Sequence[BatchTask],
) -> Iterator[FolderLocks]:
    """A running batch's shared locks on the output folders of ``tasks``, for the block, once
    the temporaries a killed run left there are removed.

    (The single commands' :func:`vecmatte.cli._outputs.output_folders_held` takes the
    locks only: their outputs' folders may hold a running batch's live temporaries.)

    Another batch writing into the same folders then leaves the temporaries of this one
    alone, and this one its (see :mod:`vecmatte.batch._lock`). What an earlier run that was
    killed left next to the outputs is removed first, before any task of this batch runs.
    """
    from vecmatte.batch._lock import FolderLocks

    folders = _output_folders(tasks)  # a stat of each output: once for both
    with FolderLocks(folders) as locks:
        _remove_where_alone(folders, locks)
        yield locks
