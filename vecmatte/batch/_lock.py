"""Output folders shared by batches that run at the same time.

A batch removes the temporary files that a killed run left next to its outputs when it
starts, and its own when it is interrupted (:func:`vecmatte.batch._core.
remove_stale_temporaries`). A second batch writing into the same folder at that moment has
temporaries there too, and live ones: removing them made its renames fail, and its images
failed with "no such file or directory" naming a file the user never gave. So each running
batch holds a shared lock (``flock``) on each of its output folders, and the temporaries of a
folder are removed only under an exclusive lock, which is granted only when no other batch
runs there.

Where there are no such locks (Windows, a file system that refuses them) a batch cleans as
if it were alone. So it does in a folder that some other process holds locked for longer
than a clean-up takes (:data:`WAIT_SECONDS`; anyone who may read a folder may ``flock`` it,
and one holding it so stopped every batch and ``vecmatte alpha`` writing there), with a
warning.
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

__all__ = ["FolderLocks"]

# A batch's clean-up holds a folder exclusively for a moment: a lock held longer is no
# vecmatte command's, and is not waited for.
WAIT_SECONDS = 10.0


class FolderLocks:
    """Locks on output folders: shared while a batch runs, exclusive while it cleans.

    Parameters
    ----------
    folders : iterable of Path
        The folders the batch writes into; one that cannot be opened (missing: nothing to
        clean there) is left out.
    shared : bool, optional
        Hold a shared lock on each folder until :meth:`close` (a running batch). False: lock
        only inside :meth:`alone_in` (a one-off clean-up).
    """

    def __init__(self, folders: Iterable[Path], *, shared: bool = True):
        self._shared = shared and fcntl is not None
        self._descriptors: dict[Path, int] = {}
        try:
            self._open(folders)
        except BaseException:
            # Ctrl-C while waiting for a lock: the folders locked so far stayed open and
            # locked for the life of the process, and no batch could clean them again.
            self.close()
            raise

    def _open(self, folders: Iterable[Path]) -> None:
        # One descriptor per folder, whatever its names: flock conflicts between two open
        # descriptors of one process, so a second one (a link's name for the folder) made
        # the batch's own shared lock refuse it the exclusive one, and it never cleaned.
        by_identity: dict[tuple[int, int], int] = {}
        for folder in folders:
            if folder in self._descriptors or fcntl is None:
                continue
            try:
                descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
            except OSError:
                continue
            try:
                status = os.fstat(descriptor)
                identity = (status.st_dev, status.st_ino)
                if identity in by_identity:
                    os.close(descriptor)
                    self._descriptors[folder] = by_identity[identity]
                    continue
                if self._shared and not _lock_shared(descriptor):
                    os.close(descriptor)
                    warnings.warn(
                        f"{folder}: another process has held this folder locked for "
                        f"{WAIT_SECONDS:g} s; writing there without waiting for it (a batch "
                        "starting there may remove this command's temporary files)",
                        UserWarning,
                        stacklevel=3,
                    )
                    continue
            except BaseException as error:
                os.close(descriptor)
                if isinstance(error, OSError):  # no locks on this file system: as if alone
                    continue
                raise
            self._descriptors[folder] = by_identity[identity] = descriptor

    def __enter__(self) -> FolderLocks:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Release every lock (closing a descriptor releases its ``flock``)."""
        descriptors, self._descriptors = self._descriptors, {}
        for descriptor in set(descriptors.values()):
            os.close(descriptor)

    @contextlib.contextmanager
    def alone_in(self, folder: Path) -> Iterator[bool]:
        """Whether no other batch runs in ``folder``; if so it stays so inside the block.

        Yields True under an exclusive lock (or where locks are unavailable), False when
        another batch holds the folder; afterwards the lock is shared again (or released).
        """
        descriptor = self._descriptors.get(folder)
        if descriptor is None:
            yield True
            return
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            alone = True
        except BlockingIOError:
            alone = False
        except OSError:  # no locks on this file system after all
            alone = True
        try:
            yield alone
        finally:
            # A failed conversion may have dropped the shared lock: take it again. No
            # temporary of this batch is live while it waits (none yet, or none any more).
            with contextlib.suppress(OSError):
                fcntl.flock(descriptor, fcntl.LOCK_SH if self._shared else fcntl.LOCK_UN)


def _lock_shared(descriptor: int) -> bool:
    """Take the shared lock of ``descriptor``, waiting at most :data:`WAIT_SECONDS`.

    Waits only while another batch cleans the folder (a moment). Returns whether it was
    taken; raises OSError where there are no locks.
    """
    deadline = time.monotonic() + WAIT_SECONDS
    delay = 0.001
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(delay)  # Ctrl-C ends the wait
            delay = min(2 * delay, 0.05)
