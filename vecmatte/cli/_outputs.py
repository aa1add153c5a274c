"""Where the subcommands read and write: files, standard streams, the output guard.

An input named ``-`` is read from standard input and an output named ``-`` is written to
standard output as PNG (one of each at most). Every output is checked before any work
(:func:`guard`) and written all or none (:func:`write_all`).
"""

from __future__ import annotations

import sys
from contextlib import contextmanager

from vecmatte.cli._common import usage_errors

__all__ = [
    "StandardOutputClosed",
    "guard",
    "is_terminal",
    "new_folders",
    "output_folders_held",
    "remove_empty",
    "source",
    "write",
    "write_all",
]


def source(path: str, max_pixels: int | None = None):
    """What the library's readers take for ``path``: the path, or standard input's bytes,
    or a named pipe's (a shell's ``<(command)``), read once: the colour profile is then read
    from the same bytes (:func:`vecmatte.io.colour_profile` does not open a pipe again, and
    a photo given so lost its profile in the outputs).

    Standard input is read only up to what an image within ``max_pixels`` can need
    (:func:`vecmatte.io.read_stream`): ``cat /dev/zero | vecmatte alpha - ...`` filled the
    memory before any check.
    """
    from vecmatte._opening import named_source
    from vecmatte.io import STDIO, read_stream

    if path != STDIO:
        return named_source(path, max_pixels=max_pixels)
    return read_stream(sys.stdin.buffer, max_pixels=max_pixels, name="<stdin>")


class StandardOutputClosed(BrokenPipeError):
    """Standard output was closed before the whole PNG was written: no file was written."""


def write(path, array, icc_profile: bytes | None = None) -> None:
    """Save ``array`` at ``path``, or as PNG on standard output for ``-``.

    ``icc_profile``: the colour profile to embed if ``array`` is colour (:func:`write_all`).
    """
    with output_folders_held([path]):
        write_all([(path, array)], icc_profile=icc_profile)


@contextmanager
def output_folders_held(paths):
    """Hold the batches' shared lock on the folders of the output files ``paths``.

    A batch starting there then leaves the temporaries written inside the block alone: its
    clean-up of a killed run's ``.X_alpha.png.*.tmp`` also matches the temporary of an output
    named ``X_alpha.png.v2.png`` (or ``X_alpha.png`` itself), and deleting it failed the
    write with "no such file". The folders are those the temporaries are made in: a link's
    file's (``write_target``), as the batch's clean-up finds them. ``-`` and None are left
    out. (A planted link that ``write_target`` refuses is refused here, with the message
    the write would give.)
    """
    from vecmatte._output_guard import STDIO, write_target
    from vecmatte.batch._lock import FolderLocks

    files = [path for path in paths if path is not None and str(path) != STDIO]
    with FolderLocks({write_target(path).parent for path in files}):
        yield


def write_all(outputs, icc_profile: bytes | None = None) -> None:
    """Write each ``(path, array)`` of ``outputs`` (an iterable, read lazily), all or none.

    An item may be ``(path, array, text)``: the PNG text chunks of that file. Through
    :func:`vecmatte.io.save_images`: every output is encoded first; standard output
    (``-``) gets its whole PNG before the files are renamed into place, so a reader that goes
    away (``| head -c 10``) leaves none of the files, and :class:`StandardOutputClosed` says so.
    ``icc_profile``: the photograph's colour profile, embedded in the colour outputs.
    """
    from vecmatte.io import STDIO, save_images

    try:
        save_images(
            ((sys.stdout.buffer if str(path) == STDIO else path, *rest) for path, *rest in outputs),
            icc_profile=icc_profile,
        )
    except BrokenPipeError:
        raise StandardOutputClosed(
            "standard output was closed before the whole PNG was written (broken pipe); "
            "no file was written"
        ) from None


def new_folders(folder) -> list:
    """``folder`` and those of its parents that do not exist yet, deepest first."""
    from pathlib import Path

    folder = Path(folder)
    return [f for f in (folder, *folder.parents) if not f.exists()]


def remove_empty(folders) -> None:
    """Remove each of ``folders`` (deepest first) that is still empty; keep the others.

    A run that made an output folder and then failed leaves no empty folder behind.
    """
    for folder in folders:
        try:
            folder.rmdir()  # refuses a folder that is not empty: something else is in it
        except OSError:
            return  # then its parents are not empty either


def guard(outputs: dict, inputs: dict, *, alpha_channel=()) -> None:
    """The shared output guard (:func:`vecmatte.io.check_output_paths`), before any work.

    Refusals from the names alone (an extension vecmatte does not write, outputs whose
    names differ only in case) are usage errors (:class:`UsageError`, exit 2). Also refuses
    ``-`` as an output when standard output is a terminal, and an output file that is one
    (``-o /dev/stdout`` there): a PNG there is only noise (and may upset the terminal), as
    ``gzip`` refuses to do.
    """
    from vecmatte._output_guard import check_case_only_differences, check_output_formats
    from vecmatte.io import STDIO, check_output_paths

    # What the names alone refuse (an extension, names that differ only in case) is a usage
    # error, exit 2, as an option's value is; -o m.xyz exited 1 beside --rtol 2's 2. What
    # depends on the files (an output that is an input, a missing folder) stays 1.
    with usage_errors():
        check_output_formats(outputs, alpha_channel)
        _check_dash_twice(outputs, "output")
        _check_dash_twice(inputs, "input")
        _check_named_twice(outputs)
    check_output_paths(outputs, inputs, alpha_channel=alpha_channel)
    with usage_errors():
        check_case_only_differences(outputs)
    terminal = getattr(sys.stdout, "isatty", lambda: False)()
    for what, path in outputs.items():
        if path is not None and str(path) == STDIO and terminal:
            raise ValueError(
                f"the {what} is '-' (standard output), which is a terminal: PNG data is not "
                "written there; redirect it (> out.png), pipe it, or give a file name"
            )
        if path is not None and str(path) != STDIO and is_terminal(path):
            # -o /dev/stdout (or /dev/tty, /dev/pts/N) wrote the PNG's bytes into the terminal.
            raise ValueError(
                f"the {what} {path} is a terminal: PNG data is not written there; redirect "
                "standard output (-o - > out.png), pipe it, or give a file name"
            )


def _check_dash_twice(paths: dict, kind: str) -> None:
    """Refuse ``-`` given as two outputs (or two inputs), by the names alone: exit 2.

    ``-o - --cutout -`` (two PNGs on one standard output) and ``vecmatte alpha - -`` (two
    images from one standard input) exited 1 beside ``-o m.png --cutout ./m.png``'s 2.
    """
    from vecmatte.io import STDIO

    dashes = [what for what, path in paths.items() if path is not None and str(path) == STDIO]
    if len(dashes) > 1:
        stream = "standard output" if kind == "output" else "standard input"
        raise ValueError(
            f"{' and '.join(dashes)} are both '-' ({stream}); only one {kind} can be '-'"
        )


def _check_named_twice(outputs: dict) -> None:
    """Refuse two outputs of one name (``-o m.png --cutout ./m.png``), by the names alone.

    A usage error as names differing only in case are: it exited 1 while ``-o M.png
    --cutout m.png`` exited 2. Names are compared as written, from the working directory,
    with ``.`` and doubled slashes dropped but ``..`` kept: ``link/../m.png`` is not
    ``m.png`` when ``link`` is a symbolic link to a folder elsewhere (they were refused as
    one file). Two names of one file (links, ``..``) stay
    :func:`vecmatte.io.check_output_paths`'s to refuse (that depends on the files, exit 1).
    """
    import os
    from pathlib import Path

    from vecmatte.io import STDIO

    seen: dict[Path, str] = {}
    for what, path in outputs.items():
        if path is None or str(path) == STDIO:
            continue
        name = Path(os.getcwd(), os.fspath(path))
        if name in seen:
            raise ValueError(
                f"{path}: the {seen[name]} and the {what} are the same file; give them "
                "different names (nothing was written)"
            )
        seen[name] = what


def is_terminal(path) -> bool:
    """Whether the file ``path`` names is a terminal (``/dev/stdout`` on one, ``/dev/tty``).

    Only a character device is opened to ask (without becoming the controlling terminal,
    without waiting); a regular file, a folder or a pipe is never opened here.
    """
    import os
    import stat

    try:
        if not stat.S_ISCHR(os.stat(path).st_mode):
            return False
        flags = getattr(os, "O_NOCTTY", 0) | getattr(os, "O_NONBLOCK", 0)  # POSIX only
        descriptor = os.open(path, os.O_WRONLY | flags)
    except (OSError, ValueError):
        return False  # not there, or not to be opened: the write says why
    try:
        return os.isatty(descriptor)
    finally:
        os.close(descriptor)
