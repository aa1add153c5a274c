"""One writer at a time renames files into a folder: an output pair stays one writer's.

:func:`vecmatte.io.save_images` renames its complete temporary files into place one after
the other. Two writers of the same names at once (two ``vecmatte alpha -o m.png --cutout
c.png``, two batches into one folder) each did so, and the second's renames falling between
the first's two left the second's matte beside the first's cutout. Each writer now holds an
exclusive lock of each output folder while it renames, and only then: the renames of two
writers are ordered, and whichever renames last leaves its whole pair.

The lock is not the folder's own ``flock``: a batch holds that one shared for its whole run
(:mod:`vecmatte.batch._lock`), and an exclusive one would wait for every batch there to end.
It is a file of the system's temporary folder named for the user and the output folder's
device and inode, made once and left in place (removing a lock file races with its next
user). It is the user's own and readable by no one else: any user may ``flock`` a file they
can open, and one holding a lock readable by all would have stopped every other user's
writes into that folder for as long as they liked. So only one user's writers are ordered
(two users writing the same names into one folder at once are not). Where the file cannot
be made or locked (Windows, a file system without locks, a file of that name that is not
the user's own plain file) a writer renames as before, and so are writers on other machines
unordered (Dask workers elsewhere writing into a shared file system: the tasks of one batch
never share an output name).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

__all__ = ["lock_path", "renames_locked"]


@contextlib.contextmanager
def renames_locked(folders: Iterable[Path]) -> Iterator[None]:
    """Hold the rename lock of each of ``folders`` inside the block.

    Parameters
    ----------
    folders : iterable of Path
        The folders files are renamed into (``""`` or ``.``: the current one).

    Notes
    -----
    The locks are taken in the order of the folders' (device, inode), the same in every
    writer, so that two writers of several folders never wait for each other in a circle.
    A wait (for another writer's renames: a moment) can be interrupted with Ctrl-C.
    """
    descriptors = []
    try:
        if fcntl is not None:
            for identity in sorted({i for f in folders if (i := _identity(f)) is not None}):
                descriptor = _open_lock_file(identity)
                if descriptor is None:
                    continue
                descriptors.append(descriptor)
                with contextlib.suppress(OSError):  # no locks here: rename as before
                    fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        for descriptor in descriptors:
            os.close(descriptor)  # releases its lock


def _identity(folder: Path) -> tuple[int, int] | None:
    try:
        status = os.stat(folder if str(folder) else ".")
    except OSError:
        return None  # the rename reports what is wrong with the folder
    return status.st_dev, status.st_ino


def lock_path(identity: tuple[int, int]) -> Path | None:
    """This user's lock file of the folder ``identity``; None without a temporary folder."""
    try:
        folder = tempfile.gettempdir()
    except OSError:  # no usable temporary folder at all: rename as before
        return None
    return Path(folder) / "vecmatte-renames-{}-{}-{}.lock".format(os.geteuid(), *identity)


def _open_lock_file(identity: tuple[int, int]) -> int | None:
    """A descriptor of the lock file of the folder ``identity``, made if missing, or None."""
    path = lock_path(identity)
    if path is None:
        return None
    # Never through a link, nor blocking on a named pipe planted there; read-only is
    # enough for flock, and an existing file is opened without O_CREAT (protected_regular).
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC
    for _ in range(2):
        try:
            descriptor = os.open(path, flags)
        except FileNotFoundError:
            try:
                descriptor = os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue  # made by another writer meanwhile: open that one
            except OSError:
                return None
        except OSError:
            return None
        status = os.fstat(descriptor)
        # Another user's file (planted under this user's name) could be held by them forever.
        if stat.S_ISREG(status.st_mode) and status.st_uid == os.geteuid():
            return descriptor
        os.close(descriptor)
        return None
    return None
