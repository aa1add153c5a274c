"""One writer at a time renames files into a folder: an output pair stays one writer's.

:func:`vecmatte.io.save_images` renames its complete temporary files into place one after
the other. Two writers of the same names at once (two ``vecmatte alpha -o m.png --cutout
c.png``, two batches into one folder) each did so, and the second's renames falling between
the first's two left the second's matte beside the first's cutout. Each writer of several
files now holds an exclusive lock of each output folder while it renames, and only then: the
renames of two writers are ordered, and whichever renames last leaves its whole pair (one
file's rename is atomic alone, and takes no lock).

The lock is not the folder's own ``flock``: a batch holds that one shared for its whole run
(:mod:`vecmatte.batch._lock`), and an exclusive one would wait for every batch there to end.
It is a file of the system's temporary folder named for the user and the output folder's
device and inode, made by the writer that finds none and removed by its holder before it
lets go (left in place, there was one for every folder ever written to), so that a writer
that gets the lock of a file no longer of that name opens the new one. It is the user's
own and readable by no one else: any user may ``flock`` a file they can open, and one
holding a lock readable by all would have stopped every other user's writes into that
folder for as long as they liked. So only one user's writers are ordered (two users
writing the same names into one folder at once are not). Where the file cannot be made or
locked (Windows, a file system without locks, a file of that name that is not the user's
own plain file) a writer renames as before, and so are writers on other machines unordered
(Dask workers elsewhere writing into a shared file system: the tasks of one batch never
share an output name).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from vecmatte._held_signals import interruptible, interrupts_held

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

__all__ = ["RenameLocks", "lock_path", "renames_locked"]


class RenameLocks:
    """The rename locks a writer holds: :meth:`release` lets go of them (once)."""

    def __init__(self) -> None:
        self.paths: list[Path] = []
        self.descriptors: list[int] = []
        # Made now, consumed by one call that no signal interrupts (a list's iterator sees
        # the descriptors appended meanwhile); consumed, it closes nothing a second time.
        self._closing = map(os.close, self.descriptors)

    def release(self) -> None:
        """Remove the lock files and close their descriptors, which lets go of the locks.

        Called by the writer inside its block of held signals, after its renames: a Ctrl-C
        at the entry of the ``with`` block's end could otherwise leave the locks to the
        garbage collector, and every later writer into those folders waiting meanwhile.
        """
        paths, self.paths = self.paths, []
        try:
            for path in paths:
                # Removed while held: a writer waiting on it finds, once it has the lock,
                # that its file is no longer the one of that name (_lock), and opens anew.
                with contextlib.suppress(OSError):
                    os.unlink(path)
        finally:
            # Closed (which lets go of the locks) even when Ctrl-C comes during the removals:
            # a lock left held stopped every later writer into its folder for as long as
            # this process ran.
            list(self._closing)


@contextlib.contextmanager
def renames_locked(folders: Iterable[Path]) -> Iterator[RenameLocks]:
    """Hold the rename lock of each of ``folders`` inside the block.

    Parameters
    ----------
    folders : iterable of Path
        The folders files are renamed into (``""`` or ``.``: the current one).

    Yields
    ------
    RenameLocks
        The locks held; released at the block's end if not before (``release()``).

    Notes
    -----
    The locks are taken in the order of the folders' (device, inode), the same in every
    writer, so that two writers of several folders never wait for each other in a circle.
    They are taken with Ctrl-C (SIGTERM) held back (:func:`interrupts_held`): a signal
    between a lock file's opening and its descriptor's noting leaked the descriptor, and
    past ``flock`` left the folder locked for as long as the process ran. A wait for
    another writer's renames (a moment) still ends at Ctrl-C (:func:`interruptible`), and
    one held back meanwhile is delivered once the locks are noted.
    """
    locks = RenameLocks()
    try:
        if fcntl is not None:
            with interrupts_held():
                for identity in sorted({i for f in folders if (i := _identity(f)) is not None}):
                    if (path := _lock(identity, locks.descriptors)) is not None:
                        locks.paths.append(path)
        yield locks
    finally:
        locks.release()


def _lock(identity: tuple[int, int], descriptors: list[int]) -> Path | None:
    """The lock file of the folder ``identity``, locked by a descriptor appended to
    ``descriptors`` (closed by the caller, whatever happens); None if it cannot be (no
    temporary folder, no locks there, a file of its name not the user's)."""
    path = lock_path(identity)
    if path is None:
        return None
    for _ in range(1000):  # a new file each time its holder removed it: a few at most
        descriptor = _open_lock_file(path, descriptors)
        if descriptor is None:
            return None
        try:
            _wait_for_lock(descriptor)
            mine, named = os.fstat(descriptor), os.stat(path, follow_symlinks=False)
        except FileNotFoundError:
            _close(descriptor, descriptors)  # removed by its holder meanwhile
            continue
        except OSError:  # no locks here: rename as before (Ctrl-C: the caller closes it)
            _close(descriptor, descriptors)
            return None
        if (mine.st_dev, mine.st_ino) == (named.st_dev, named.st_ino):
            return path
        _close(descriptor, descriptors)  # its holder removed it, another writer made anew
    return None


def _wait_for_lock(descriptor: int) -> None:
    """Lock ``descriptor`` exclusively, waiting while another writer holds it; a Ctrl-C
    ends the wait, also one held back meanwhile (:func:`interruptible`), where the blocking
    ``flock`` went on waiting through it."""
    with interruptible():
        fcntl.flock(descriptor, fcntl.LOCK_EX)


def _close(descriptor: int, descriptors: list[int]) -> None:
    """Close ``descriptor``, no longer one of ``descriptors`` to close at the end."""
    descriptors.remove(descriptor)
    os.close(descriptor)


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


def _open_lock_file(path: Path, descriptors: list[int]) -> int | None:
    """A descriptor of the lock file ``path``, made if missing, or None; appended to
    ``descriptors`` as soon as it is open (the caller closes them all at its end)."""
    # Never through a link, nor blocking on a named pipe planted there; read-only is
    # enough for flock, and an existing file is opened without O_CREAT (protected_regular).
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC
    for _ in range(2):
        try:
            descriptors.append(os.open(path, flags))
        except FileNotFoundError:
            try:
                descriptors.append(os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o600))
            except FileExistsError:
                continue  # made by another writer meanwhile: open that one
            except OSError:
                return None
        except OSError:
            return None
        descriptor = descriptors[-1]
        status = os.fstat(descriptor)
        # Another user's file (planted under this user's name) could be held by them forever.
        if stat.S_ISREG(status.st_mode) and status.st_uid == os.geteuid():
            return descriptor
        _close(descriptor, descriptors)
        return None
    return None
