"""Writing image files: the half of :mod:`vecmatte.io` that writes (re-exported there).

Values are never changed silently (floats outside [0, 1] are refused, not clipped), every
file is written to a temporary name and renamed, and :func:`save_images` renames several
only once all are complete. PNG files say in a text chunk that vecmatte wrote them.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from vecmatte._encoding import SOFTWARE_KEY, check_text, encoded, encoded_for_stream
from vecmatte._held_signals import interrupts_held as _interrupts_held
from vecmatte._levels import floats_to_uint8, floats_to_uint16
from vecmatte._opening import source_label
from vecmatte._output_guard import (
    PIPE_WAIT_SECONDS,
    check_not_folder_name,
    check_writable_format,
    file_format,
    is_named_pipe,
    is_special_file,
    write_target,
)
from vecmatte._profiles import check_profile
from vecmatte._rename_lock import renames_locked
from vecmatte._typing import PathOrFile

__all__ = [
    "BIT_DEPTHS",
    "floats_to_uint8",
    "floats_to_uint16",
    "png_text",
    "save_image",
    "save_images",
    "temporary_prefix",
    "written_by_vecmatte",
]

#: Bits per sample a float array can be saved with (``save_image(..., bit_depth=...)``).
BIT_DEPTHS = (8, 16)

# os.umask can only be read by setting it; serialise that among our own threads.
_UMASK_LOCK = threading.Lock()


def check_bit_depth(bit_depth) -> int | None:
    """``bit_depth`` checked: None (8 bits for floats) or one of :data:`BIT_DEPTHS`."""
    if bit_depth is None:
        return None
    if isinstance(bit_depth, bool) or bit_depth not in BIT_DEPTHS:
        raise ValueError(f"bit_depth must be 8 or 16 (or None for 8), got {bit_depth!r}")
    return int(bit_depth)


def png_text(path, key: str) -> str | None:
    """The PNG text chunk ``key`` of the file ``path``, or None (no such chunk, not a PNG).

    Reads the chunks before the pixels only (where :func:`save_image` writes its text); a
    missing or unreadable file has none.
    """
    from vecmatte._pillow import open_unchecked

    try:
        with open_unchecked(path) as image:
            value = image.info.get(key) if image.format == "PNG" else None
    except Exception:  # not a readable image: no text
        return None
    return value if isinstance(value, str) else None


def written_by_vecmatte(path) -> bool:
    """Whether ``path`` is a PNG file that :func:`save_image` wrote (its Software text).

    Reads the header only; a missing or unreadable file is not.
    """
    software = png_text(path, SOFTWARE_KEY)
    return software is not None and software.startswith("vecmatte ")


def _new_file_mode(path: Path) -> int:
    """Permissions for ``path``: those of the file it replaces, else 0666 minus the umask."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        with _UMASK_LOCK:
            umask = os.umask(0o022)
            os.umask(umask)
        return 0o666 & ~umask


def save_image(
    path: PathOrFile,
    array: ArrayLike,
    *,
    format: str | None = None,
    bit_depth: int | None = None,
    text: dict[str, str] | None = None,
    icc_profile: bytes | None = None,
) -> None:
    """Save an array as an image file, atomically, without changing its values.

    Parameters
    ----------
    path : str, Path or binary file object
        The file; its extension chooses the format (``.png`` when it has none). A binary
        stream (``sys.stdout.buffer``) is written as ``format`` (default PNG), encoded
        first, so that an error in the values writes nothing to it.
    array : array_like, shape (h, w), (h, w, 3) or (h, w, 4)
        Gray, RGB or RGBA. Floats must lie in [0, 1] (saved at 8 bits, rounded to the
        nearest level); bool is saved as 0 and 255; uint8 as it is; uint16 at 16 bits: gray
        as a 16-bit PNG or TIFF, colour only as a 16-bit TIFF (Pillow cannot write 16-bit
        colour PNG, so other extensions are refused).
    format : str, optional
        Pillow format name for streams (``"PNG"``, ``"TIFF"`` ...); given with a file name,
        it must be the format its extension chooses.
    bit_depth : {8, 16}, optional
        Bits per sample of a float array: 8 (or ``None``, the default) or 16 (``round(65535
        x)``; gray as 16-bit PNG or TIFF, colour as 16-bit TIFF). Integer arrays keep their
        own depth.
    text : dict of str to str, optional
        Text chunks of a PNG file (``{"key": "value"}``; read back with :func:`png_text`),
        beside the ``Software`` chunk that says vecmatte wrote it. Other formats get none.
    icc_profile : bytes, optional
        An RGB colour (ICC) profile to embed in a colour image's file (PNG, TIFF, JPEG,
        WebP, AVIF; other formats hold none: a :class:`ColourProfileWarning`): that of the
        photograph the colours come from (:func:`vecmatte.io.colour_profile`), whose values
        are read as stored. A gray image gets none.

    Raises
    ------
    ValueError
        For float values outside [0, 1], NaN or infinite values (never clipped silently),
        other dtypes, shapes that are not an image, an unknown extension or one of a format
        vecmatte does not write (``.ico``, ``.pdf`` ...: see ``WRITABLE_FORMATS`` in
        ``vecmatte._output_guard``), an alpha channel in a format that would drop it (JPEG,
        BMP), 16-bit data in a format that cannot hold it, or a side longer than the
        format holds (JPEG 65500 pixels, WebP 16383, GIF 65535 ...).
    FileNotFoundError, PermissionError
        If the directory is missing or not writable (``~`` is not expanded:
        ``os.path.expanduser``).
    OSError
        If the name is too long for the file system (``errno.ENAMETOOLONG``).

    Notes
    -----
    The file is written to a temporary name ``.NAME.XXXX.tmp`` in the same directory and
    renamed, so an error or an interruption never leaves a partial file at ``path``.
    WebP is written lossless, AVIF at quality 100 (exact but its colour: within 3 levels);
    JPEG is lossy, and GIF holds 256 colours (a photo's come back up to 87 levels off).
    """
    bit_depth = check_bit_depth(bit_depth)
    icc_profile = check_profile(icc_profile)
    if hasattr(path, "write"):
        text = check_text(text)
        data = encoded_for_stream(path, array, bit_depth, format or "PNG", text, icc_profile)
        _write_stream(path, data)
        return
    if format is not None:  # a file's extension chooses: it was written so without a word
        name = Path(os.fsdecode(path) if isinstance(path, bytes) else path)
        asked, named = check_writable_format(str(format), name), file_format(name)
        if asked != named:
            raise ValueError(
                f"{name}: format={format!r}, but its extension makes the file {named}; format= "
                "chooses the format of streams: give the file that format's extension, or "
                "leave out format"
            )
    save_images([(path, array, text)], bit_depth=bit_depth, icc_profile=icc_profile)


def save_images(
    outputs: Iterable[tuple[str | os.PathLike, np.ndarray]],
    *,
    bit_depth: int | None = None,
    icc_profile: bytes | None = None,
) -> None:
    """Save several arrays as image files, all of them or none.

    Parameters
    ----------
    outputs : iterable of (path, array) or (path, array, text)
        As :func:`save_image` takes them (``text``: the PNG text chunks of that file); a
        binary stream (``sys.stdout.buffer``) gets PNG.
        It may be a generator: each array is then made only once the previous file is
        written (a cutout after the alpha matte's file, so that both are never in memory as
        8-bit pixels and encoded PNG at once).
    bit_depth : {8, 16}, optional
        Bits per sample of the float arrays, as in :func:`save_image`.
    icc_profile : bytes, optional
        The RGB colour profile of the colour outputs (a foreground, a cutout), as in
        :func:`save_image`; the gray ones (an alpha matte) get none.

    Raises
    ------
    ValueError, OSError
        As :func:`save_image`; nothing is written then.

    Notes
    -----
    Each array is written to a temporary file ``.NAME.XXXX.tmp`` beside its path; the
    temporary files are renamed into place only when every one of them is complete (a
    symbolic link's target, so that the link stays and its file gets the image), several
    by one writer at a time in a folder (two writers of the same names leave one's whole
    set, :mod:`vecmatte._rename_lock`; one file's rename, atomic alone, takes no lock).
    An error, or Ctrl-C, before that leaves none of the outputs (the files they would
    replace are untouched), not an alpha matte without the cutout asked for with it. A path
    that is a device or a named pipe (``/dev/null``) is written into, not replaced, before
    the renames: a device that fails (``/dev/full``) leaves none of the files either.
    So is a binary stream: a reader that goes away mid-image (``BrokenPipeError``) leaves
    none.
    """
    bit_depth = check_bit_depth(bit_depth)
    icc_profile = check_profile(icc_profile)
    written: list[tuple[str, Path]] = []
    in_place: list[tuple[Path, io.BytesIO]] = []
    try:
        for path, array, *rest in outputs:
            if len(rest) > 1:
                raise TypeError(f"outputs are (path, array) or (path, array, text), got {path!r}")
            text = check_text(rest[0] if rest else None)
            if hasattr(path, "write"):
                data = encoded_for_stream(path, array, bit_depth, "PNG", text, icc_profile)
                in_place.append((path, data))
                continue
            if isinstance(path, bytes):  # a name that may not be UTF-8, as open() takes it
                path = os.fsdecode(path)
            check_not_folder_name(path, "output")
            path = Path(path)
            buffer = encoded(path, array, bit_depth, text, icc_profile)
            if is_special_file(path):
                in_place.append((path, buffer))
            else:
                # Through a symbolic link to its file (/dev/stdout > out.png), as open() writes.
                target = write_target(path)
                written.append((_write_temporary(target, buffer), target))
                del buffer
        # A device or a pipe (/dev/null, a named pipe) is written into, never replaced by a
        # file, and before any rename: a device that fails (/dev/full: no space) then leaves
        # none of the files in place, as any other failure does.
        for path, buffer in in_place:
            if hasattr(path, "write"):
                _write_stream(path, buffer)
                continue
            try:
                with _open_in_place(path) as handle, buffer.getbuffer() as view:
                    handle.write(view)
            except OSError as error:
                raise _named(error, path) from None
        # One writer at a time renames into a folder: two writers of the same names at once
        # each leave their whole pair in turn, never one's matte beside the other's cutout.
        # One file's rename is atomic alone: whenever it falls among another writer's
        # renames, the files end as they would before or after them, so it locks no folder
        # (50 us of a small image's save), nor holds Ctrl-C back (10 us).
        several = len(written) > 1
        with renames_locked(target.parent for _, target in written if several) as locks:
            # Ctrl-C (SIGTERM) held back until all are renamed (between two renames it left a
            # matte without its cutout) and the locks let go (a Ctrl-C at the entry of the
            # with block's end left them to the garbage collector).
            with _interrupts_held() if several else contextlib.nullcontext():
                _rename_each(written)
                if locks is not None:  # None: a test's stand-in
                    locks.release()
    except BaseException:
        for temporary, _ in written:  # those not renamed (Ctrl-C waiting for the lock)
            Path(temporary).unlink(missing_ok=True)
        raise


def _rename_each(written: list[tuple[str, Path]]) -> None:
    """Rename each complete temporary file into place; a failure says which are in place.

    Renames within a folder do not fail in practice; if one does (the folder made
    read-only meanwhile), the remaining temporaries are removed and the error names the
    outputs already replaced, so that no output is in place unannounced.
    """
    for done, (temporary, path) in enumerate(written):
        try:
            os.replace(temporary, path)
        except BaseException as error:
            for rest, _ in written[done:]:
                Path(rest).unlink(missing_ok=True)
            if not done or not isinstance(error, OSError):
                raise
            names = ", ".join(str(p) for _, p in written[:done])
            raise type(error)(
                error.errno,
                f"{error.strerror or error}; already written: {names}",
                str(path),
            ) from None


# The wait for a program to read from a named pipe given as an output: the value is
# _output_guard's (inputs wait as long); this module's name is the one its tests patch.
_PIPE_WAIT_SECONDS = PIPE_WAIT_SECONDS


def _open_in_place(path: Path):
    """``open(path, "wb")`` of a device or a named pipe, without waiting forever for a pipe.

    ``open()`` of a named pipe (FIFO) that no program reads from waited for one forever; a
    reader not there yet is waited for up to ``_PIPE_WAIT_SECONDS``, then refused.
    """
    if not is_named_pipe(path):  # a device; or gone meanwhile: open() says so
        return open(path, "wb")
    deadline = time.monotonic() + _PIPE_WAIT_SECONDS
    while True:
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError as error:  # ENXIO: no reader yet
            if error.errno != errno.ENXIO:
                raise
            if time.monotonic() > deadline:
                raise OSError(
                    errno.ENXIO,
                    f"a named pipe (FIFO) that no program read from within "
                    f"{_PIPE_WAIT_SECONDS:g} s; read it from another program, or give a file name",
                    str(path),
                ) from None
            time.sleep(0.05)
    os.set_blocking(descriptor, True)
    return open(descriptor, "wb")


def _named(error: OSError, path: Path) -> OSError:
    """``error`` (raised by a write: no space left, an I/O error) saying which file it was."""
    if error.filename is not None or not error.strerror:
        return error
    return type(error)(error.errno, error.strerror, str(path))


def _write_stream(stream, buffer: io.BytesIO) -> None:
    """Write the encoded ``buffer`` to ``stream`` and flush it, naming it in an error."""
    try:
        with buffer.getbuffer() as view:  # released even if writing fails (Python 3.13)
            stream.write(view)
        stream.flush()
    except OSError as error:
        raise _named(error, source_label(stream)) from None


# A file name may have 255 bytes (NAME_MAX on Linux, macOS and Windows); the temporary's
# adds 14 to its output's (".", ".", 8 random characters, ".tmp").
_NAME_BYTES = 255 - 14


def temporary_prefix(path) -> str:
    """How the temporary files of the output ``path`` begin: ``.NAME.`` (NAME cut if long).

    An output name of 242 to 255 bytes is valid, but its temporary's was not: the write
    failed with "file name too long" naming a file the user never gave.
    """
    name = os.fsencode((path if isinstance(path, Path) else Path(path)).name)
    if len(name) > _NAME_BYTES:
        name = name[:_NAME_BYTES]
    return f".{os.fsdecode(name)}."


def _write_temporary(path: Path, buffer: io.BytesIO) -> str:
    """Write ``buffer`` into a new temporary file beside ``path``; return its name."""
    directory = path.parent  # "." for a bare name: a Path's parent is never empty
    temporary = handle = None
    try:
        # Ctrl-C (or SIGTERM) held back until the file made has a name and a handle here: one
        # raised in between (inside mkstemp, after its open) left a .tmp nobody removed.
        with _interrupts_held():
            descriptor, temporary = tempfile.mkstemp(
                prefix=temporary_prefix(path), suffix=".tmp", dir=directory
            )
            handle = os.fdopen(descriptor, "wb")
    except PermissionError:
        raise PermissionError(
            f"{path}: cannot write to directory {directory} (permission denied)"
        ) from None
    except OSError as error:  # no inode left for it (ENOSPC), a quota: named the temporary
        raise type(error)(error.errno, error.strerror or str(error), str(path)) from None
    except BaseException:
        if handle is not None:
            handle.close()
            Path(temporary).unlink(missing_ok=True)
        raise
    try:
        with handle, buffer.getbuffer() as view:
            handle.write(view)
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        os.chmod(temporary, _new_file_mode(path))
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise _named(error, path) from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return temporary
