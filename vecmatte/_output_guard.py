"""The output guard: no command or library writer may destroy an input, or one output another.

:func:`check_output_paths` is called by every command of the CLI, by the batch (for all its
tasks at once, and for each task it runs) and by the PyMatting shim's ``cutout``;
:func:`vecmatte.io.save_image` runs the per-file part (directory, extension). It compares
resolved paths and file identities (device and inode), so symbolic and hard links to an input
are caught, and runs in time linear in the number of paths.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = [
    "ALPHA_FORMATS",
    "NOT_EXPANDED",
    "PIPE_WAIT_SECONDS",
    "STDIO",
    "WRITABLE_FORMATS",
    "check_case_only_differences",
    "check_not_folder_name",
    "check_output_formats",
    "check_output_paths",
    "check_writable",
    "check_writable_format",
    "is_named_pipe",
    "is_special_file",
    "name_difference",
    "name_key",
    "one_file_on",
    "same_file",
    "shortened",
    "tilde_hint",
]

# On the command line, "-" as an input reads standard input and as an output writes PNG to
# standard output.
STDIO = "-"

# Formats whose files keep an alpha channel when Pillow writes RGBA (BMP and JPEG lose it);
# each reads it back exactly (WebP written lossless, AVIF at quality 100: _encoding._exact).
ALPHA_FORMATS = ("PNG", "TIFF", "WEBP", "TGA", "JPEG2000", "SGI", "DDS", "AVIF")

# Formats vecmatte writes: those Pillow writes gray and RGB images in, at their size, and
# reads back. The others Pillow registers failed after the solve ("-o m.fits" with a KeyError
# traceback, .xbm "cannot write mode L as XBM"), shrank the matte (.ico: 256 x 256 at most,
# .icns: resized to 1024 x 1024), or wrote a document no image reader opens (.pdf, .eps).
# Not IM either: Pillow 13 deprecates it (a DeprecationWarning, an error under -W error).
WRITABLE_FORMATS = (
    "PNG", "TIFF", "JPEG", "WEBP", "BMP", "DIB", "GIF", "PPM", "TGA", "JPEG2000", "SGI", "PCX",
    "DDS", "AVIF", "MPO",
)  # fmt: skip


# Said after a name beginning with "~" that names nothing: Python, like Pillow and NumPy,
# does not expand it (a file or folder may be named "~"), the shell does.
NOT_EXPANDED = " (~ is not expanded: use os.path.expanduser)"


def tilde_hint(name) -> str:
    """:data:`NOT_EXPANDED` if ``name`` begins with "~" and expands to another name, else ""."""
    text = os.fspath(name)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    return NOT_EXPANDED if text.startswith("~") and os.path.expanduser(text) != text else ""


def shortened(text: str) -> str:
    """``text`` as the command line shows a long value: its start and its length when it
    would fill the line (a name too long for the file system may have thousands)."""
    return text if len(text) <= 60 else f"{text[:40]}... ({len(text)} characters)"


def _check_name_length(path: Path, what: str) -> None:
    """Refuse a name the file system cannot hold, in one line (Python's repeated it whole)."""
    try:
        os.lstat(path)
    except OSError as error:
        if error.errno != errno.ENAMETOOLONG:
            return  # missing, or another problem: said by the checks that follow
        refused = OSError(
            f"{shortened(str(path))}: file name too long for the file system; give a shorter "
            f"name ({what})"
        )
        refused.errno = errno.ENAMETOOLONG
        raise refused from None


def resolved(path: Path) -> Path:
    """``path.resolve()``, or a one-line ValueError for symbolic links that loop.

    Python raises RuntimeError("Symlink loop from ...") there (OSError from 3.13), which
    reached the user as a traceback.
    """
    try:
        target = path.resolve()
        try:  # Python 3.13 leaves a loop unresolved without a word (as 3.12's resolve() did)
            target.stat()
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise
        return target
    except (RuntimeError, OSError) as error:
        if isinstance(error, OSError) and error.errno != errno.ELOOP:
            raise
        raise ValueError(
            f"{path}: its symbolic links loop (one leads back to another); fix or remove the "
            "link, or give another name"
        ) from None


def same_file(a, b) -> bool:
    """Whether paths ``a`` and ``b`` name the same file: same resolved path, or same inode.

    The inode comparison (:func:`os.path.samefile`) catches hard links and other aliases
    that resolving symbolic links does not.

    Parameters
    ----------
    a, b : str or Path
        The two paths.

    Returns
    -------
    bool
        True if they name one file.
    """
    a, b = Path(a), Path(b)
    if resolved(a) == resolved(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): only the resolved paths can agree
        return False


def _identities(path: Path) -> list[object]:
    """Keys under which two names of one file meet: the resolved path, and the inode."""
    keys: list[object] = [resolved(path)]
    try:
        status = path.stat()
    except OSError:
        return keys
    return [*keys, (status.st_dev, status.st_ino)]


def _stream_identities(stream) -> list[tuple[int, int]]:
    """[(device, inode)] of the regular file a standard stream is redirected to, else [].

    ``vecmatte alpha - t.png -o in.png < in.png`` and ``-o - >> photo.png`` name an input
    file through a redirection: only the open descriptor knows which file it is. A pipe or
    a terminal is no file anyone could lose.
    """
    try:
        status = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):  # replaced stream (tests), closed, no fd
        return []
    return [(status.st_dev, status.st_ino)] if stat.S_ISREG(status.st_mode) else []


def _check_standard_input(what: str) -> None:
    """Refuse ``-`` as an input when standard input is closed or a terminal (nothing was
    piped in).

    On a terminal the command waited, silently, for an image to be typed; ``gzip`` refuses
    the same.
    """
    if sys.stdin is None:  # started with it closed (<&-)
        raise ValueError(
            f"the {what} is '-' (standard input), which is closed; pipe or redirect the image "
            "into it (< photo.png), or give a file name"
        )
    try:
        terminal = sys.stdin.isatty()
    except (AttributeError, OSError, ValueError):  # replaced or closed stream
        terminal = False
    if terminal:
        raise ValueError(
            f"the {what} is '-' (standard input), which is a terminal: pipe or redirect the "
            "image into it (< photo.png), or give a file name"
        )


def write_target(path) -> Path:
    """The file writing ``path`` replaces: a symbolic link's target, else ``path`` itself.

    Files are written to a temporary name and renamed: renaming onto a link would replace
    the link, not write where it points, as ``open(path, "w")`` does. ``-o /dev/stdout >
    out.png`` then replaced the system's ``/dev/stdout`` link (as root; others were refused
    "cannot write to directory /dev") and left ``out.png`` empty.
    """
    path = path if isinstance(path, Path) else Path(path)
    if not path.is_symlink():
        return path
    _check_link_may_be_followed(path)
    # resolved, not os.path.realpath: realpath stops quietly inside a loop of links, and
    # the rename then replaced the link itself by the file.
    return resolved(path)


def _check_link_may_be_followed(link: Path) -> None:
    """Refuse a link that the kernel's ``protected_symlinks`` rule would not let open() follow.

    In a shared sticky folder (``/tmp``), a link of another user than ours and the folder's
    owner may have been planted to make us overwrite a file of ours elsewhere; resolving it
    ourselves (for the rename) would bypass the kernel's protection that open() gets.
    """
    try:
        owner = os.lstat(link).st_uid
        folder = os.stat(link.parent if str(link.parent) else ".")
    except OSError:
        return  # the write reports what is wrong with the path
    shared = folder.st_mode & stat.S_ISVTX and folder.st_mode & stat.S_IWOTH
    me = os.geteuid() if hasattr(os, "geteuid") else owner  # no uids on Windows
    if shared and owner not in (me, folder.st_uid):
        raise PermissionError(
            f"{link}: a symbolic link of another user in the shared folder {link.parent}; not "
            "followed (it could point at any of your files): remove it or give another name"
        )


def file_format(path: Path) -> str:
    """The Pillow format name of ``path``'s extension (PNG without one), or a ValueError."""
    from PIL import Image

    suffix = path.suffix or ".png"
    kind = Image.registered_extensions().get(suffix.lower())
    if kind is None:
        raise ValueError(
            f"{path}: unknown image file extension {suffix!r}; use .png, .tif, .jpg ..."
        )
    return check_writable_format(kind, path)


def check_writable_format(kind: str, label) -> str:
    """``kind`` (a Pillow format name) if vecmatte writes it, else a one-line ValueError."""
    if kind.upper() not in WRITABLE_FORMATS:
        raise ValueError(
            f"{label}: vecmatte does not write {kind} files; use .png (lossless), .tif, .jpg, "
            ".webp or .bmp"
        )
    return kind.upper()


def check_not_folder_name(path, what: str) -> None:
    """Refuse an output written as a folder (``out/``, ``out/.``): ``Path`` drops the
    slash (and a last ``.``).

    ``-o out/`` would otherwise write a file named ``out`` (``out.png/.`` replaced out.png).
    """
    text = os.fspath(path) if isinstance(path, (str, os.PathLike)) else None
    if text == "":  # Path("") is "." (the current folder): say what was given
        raise ValueError(f"the {what} is an empty name; give a file name")
    if not isinstance(text, str):
        return
    last = os.path.basename(text)
    if text.endswith(("/", os.sep)) or last in (".", ".."):
        if Path(text).is_dir():
            raise IsADirectoryError(f"{text}: is a directory; give a file name ({what})")
        tail = text[-1] if not last else text[-len(last) - 1 :]
        raise ValueError(f"{text}: ends with '{tail}', as a folder does; give a file name ({what})")


def is_special_file(path) -> bool:
    """Whether ``path`` exists and is neither a regular file nor a folder (a device, a pipe).

    Such an output (``/dev/null``, a named pipe) is written into: replacing it by a file
    through a temporary and a rename would destroy the device (as root, ``/dev/null``).
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


#: How long a named pipe (FIFO), given as an input or an output, waits for the program at its
#: other end (one writing into it, one reading from it) before it is refused.
PIPE_WAIT_SECONDS = 10.0


def is_named_pipe(path) -> bool:
    """Whether ``path`` is a named pipe (FIFO); False if nothing is there (said elsewhere)."""
    try:
        return stat.S_ISFIFO(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def check_writable(path: Path, what: str, *, alpha_channel: bool = False) -> str:
    """Refuse an output that cannot be written where asked; return its Pillow format.

    ``what`` names the output in messages (``"--cutout"``); with ``alpha_channel``, formats
    that lose it (JPEG, BMP ...) are refused.
    """
    if _plainly_writable(path, what):
        return _format_keeping_alpha(path, what, alpha_channel)
    _check_name_length(path, what)
    if is_special_file(path):
        if not os.access(path, os.W_OK):
            raise PermissionError(f"{path}: cannot write to it (permission denied) ({what})")
        return _format_keeping_alpha(path, what, alpha_channel)
    target = write_target(path)
    directory = target.parent  # "." for a bare name: a Path's parent is never empty
    if not directory.is_dir():
        # The nearest part of the path that exists may be a file (out.png/run1/m.png):
        # making the missing folders would then fail too, so that file is named.
        ancestors = (directory, *directory.parents)
        existing = next((parent for parent in ancestors if parent.exists()), None)
        if existing is not None and not existing.is_dir():
            raise NotADirectoryError(f"{path}: {existing} is a file, not a folder ({what})")
        raise FileNotFoundError(
            f"{path}: output directory {directory} does not exist ({what}){tilde_hint(path)}"
        )
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a directory; give a file name ({what})")
    if target.exists() and not os.access(target, os.W_OK):
        # A temporary renamed over it needs only the folder's permission: a file its owner
        # made read-only was replaced without a word, where open() and cp refuse.
        raise _read_only(path, what)
    if not os.access(directory, os.W_OK | os.X_OK):
        number, reason = _why_not_writable(directory)
        error = PermissionError(f"{path}: cannot write to directory {directory} ({reason})")
        # The errno says which: a batch stops at a read-only file system (every later image
        # would fail the same way), as at a full disk, but not at one folder's permissions.
        error.errno = number
        raise error
    return _format_keeping_alpha(path, what, alpha_channel)


def _plainly_writable(path: Path, what: str) -> bool:
    """Whether ``path`` is no link and either a writable file or nothing in an existing,
    writable folder: the common case, told by one look at the name (``os.lstat``) and the
    permissions (``os.access``) where :func:`check_writable`'s checks take seven. False:
    those checks say what it is. A read-only file is refused here, as there."""
    try:
        status = os.lstat(path)
    except FileNotFoundError:
        status = None
    except (OSError, ValueError):  # too long, no search permission, a NUL: said there
        return False
    if status is not None and not stat.S_ISREG(status.st_mode):
        return False  # a link, a folder, a device or a pipe
    directory = path.parent  # "." for a bare name: a Path's parent is never empty
    if status is None and not directory.is_dir():
        return False
    if status is not None and not os.access(path, os.W_OK):
        raise _read_only(path, what)
    return os.access(directory, os.W_OK | os.X_OK)


def _read_only(path: Path, what: str) -> PermissionError:
    return PermissionError(
        f"{path}: the file is read-only (its permissions refuse writing); make it "
        f"writable (chmod u+w) or give another name ({what})"
    )


def _why_not_writable(directory: Path) -> tuple[int, str]:
    """Why a folder refuses writing, as ``(errno, words)``: a read-only file system
    (``EROFS``) or permission denied (``EACCES``).

    Root is refused only by a read-only mount (a container's), where "permission denied"
    sent users looking for permissions they already had.
    """
    try:
        read_only = bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # AttributeError: no statvfs (Windows)
        read_only = False
    if read_only:
        return errno.EROFS, "read-only file system"
    return errno.EACCES, "permission denied"


def _format_keeping_alpha(path: Path, what: str, alpha_channel: bool) -> str:
    """Pillow format of ``path``; refused if it would lose the ``alpha_channel`` asked for."""
    kind = file_format(path)
    if alpha_channel and kind not in ALPHA_FORMATS:
        raise ValueError(
            f"{path}: {kind} cannot store an alpha channel; save the {what} as .png or .tif"
        )
    return kind


def check_output_formats(outputs: Mapping[str, object], alpha_channel: Iterable[str] = ()) -> None:
    """Refuse an output whose extension names no format vecmatte writes (or one that loses
    the alpha channel of the ``alpha_channel`` outputs), from the names alone.

    :func:`check_writable` checks the same after the folder's; the command line checks the
    names first, since what its words alone refuse is a usage error (exit 2).
    """
    rgba = set(alpha_channel)
    for what, path in outputs.items():
        if path is not None and str(path) != STDIO:
            _format_keeping_alpha(Path(path), what, what in rgba)


def check_case_only_differences(outputs: Mapping[str, object]) -> None:
    """Refuse two outputs whose names differ only in case (``-o M.png --cutout m.png``), or
    in the Unicode spelling of an accent (:func:`name_key`).

    On a case-insensitive file system (macOS, Windows, a USB stick) they are one file: the
    second rename replaced the first, and the matte asked for was gone. Files not there yet
    cannot be compared by inode, so the names are (on any system: the same command line
    must not mean two files here and one there). For the outputs a user names one by one
    (``vecmatte alpha``); a batch's names come from its images.
    """
    seen: dict[str, tuple[str, object, str]] = {}
    for what, path in outputs.items():
        if path is None or str(path) == STDIO:
            continue
        full = str(resolved(Path(path)))
        # macOS also takes the two Unicode spellings of an accent for one name (name_key):
        # -o é.png --cutout é.png, one composed and one not, left the cutout alone there.
        if (key := name_key(full)) in seen:
            other, other_path, other_full = seen[key]
            how = name_difference(other_full, full)
            raise ValueError(
                f"{path}: the {what} and the {other} {other_path} differ {how}, which on "
                f"{one_file_on(how)} is one file; give them different names (nothing was "
                "written)"
            )
        seen[key] = (what, path, full)


def name_key(name: str) -> str:
    """``name`` as macOS compares file names: ignoring case and the Unicode spelling of accents.

    macOS (APFS, HFS+) and Windows ignore case by default, and macOS also which of the two
    Unicode spellings an accented letter has (``é`` as one character, U+00E9, or as ``e``
    and a combining accent, U+0301); Linux keeps them all apart. Two names with one key are
    one file there (Unicode's canonical caseless match).
    """
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", name).casefold())


def name_difference(first: str, second: str) -> str:
    """How two names of one :func:`name_key` differ, for messages ("only in case" ...)."""
    if unicodedata.normalize("NFD", first) == unicodedata.normalize("NFD", second):
        return (
            "only in the Unicode spelling of an accent (one composed character, or a letter "
            "and a combining accent)"
        )
    if first.casefold() == second.casefold():
        return "only in case"
    return "only in case and in the Unicode spelling of an accent"


def one_file_on(how: str) -> str:
    """Where two names that differ ``how`` (:func:`name_difference`) are one file, for messages."""
    # Windows ignores case only: names differing in the spelling of an accent too are two
    # files there.
    return "a case-insensitive file system (macOS, Windows)" if how == "only in case" else "macOS"


def check_output_paths(
    outputs: Mapping[str, object],
    inputs: Mapping[str, object] | None = None,
    *,
    alpha_channel: Iterable[str] = (),
    writable: bool = True,
) -> None:
    """Refuse, before any work, outputs that would destroy an input or each other.

    Parameters
    ----------
    outputs : mapping of str to path or None
        What each output is (``"--output"``, ``"--cutout"`` ...) to where it goes; None
        entries are ignored; ``"-"`` is standard output (at most one).
    inputs : mapping of str to path or None, optional
        What each input is (``"image"``, ``"trimap"`` ...) to its path; ``"-"`` is standard
        input (at most one).
    alpha_channel : iterable of str, optional
        The outputs that hold an alpha channel (refused in formats that lose it: JPEG, BMP).
    writable : bool, optional
        Also check that each output's directory exists and is writable, and that its
        extension is an image format (a batch checks its output folder itself, after this
        check, since it creates it).

    Raises
    ------
    ValueError
        If an output is an input (same resolved path or same file: hard links count), two
        outputs are the same file, standard input or output is named twice, or an output
        has an unknown extension.
    FileNotFoundError, IsADirectoryError, PermissionError
        If an output's directory is missing or not writable, or the output is a directory.

    Notes
    -----
    Every command and the batch call this before reading anything, so a run that is
    refused leaves no file behind, not an alpha matte without the cutout asked for with it.
    Linear in the number of paths (a batch may have many).
    """
    outputs = {what: path for what, path in outputs.items() if path is not None}
    inputs = {what: path for what, path in (inputs or {}).items() if path is not None}
    for kind, paths in (("output", outputs), ("input", inputs)):
        dashes = [what for what, path in paths.items() if str(path) == STDIO]
        if len(dashes) > 1:
            stream = "standard output" if kind == "output" else "standard input"
            raise ValueError(
                f"{' and '.join(dashes)} are both '-' ({stream}); only one {kind} can be '-'"
            )
    seen: dict[object, tuple[str, str, object]] = {}
    for what, path in inputs.items():
        if str(path) == STDIO:
            _check_standard_input(what)
            # Standard input redirected from a file (< photo.png) is that file.
            keys = _stream_identities(sys.stdin)
            path = "'-' (standard input, redirected from that file)"
        else:
            keys = _identities(Path(path))
        for key in keys:
            seen.setdefault(key, ("input", what, path))
    for what, path in outputs.items():
        if str(path) == STDIO:
            if sys.stdout is None:  # started with it closed (>&-): the PNG has nowhere to go
                raise ValueError(
                    f"the {what} is '-' (standard output), which is closed; redirect it "
                    "(> out.png) or give a file name"
                )
            # Standard output redirected to a file (> out.png, >> photo.png) is that file.
            keys = _stream_identities(sys.stdout)
            path = "standard output"
        else:
            check_not_folder_name(path, what)
            path = Path(path)
            keys = _identities(path)
        for key in keys:
            if key in seen:
                kind, other, other_path = seen[key]
                if kind == "input":
                    fix = (
                        "redirect standard output elsewhere"
                        if path == "standard output"
                        else "choose another output name"
                    )
                    raise ValueError(
                        f"{path}: the {what} would overwrite the {other} {other_path}; "
                        f"{fix} (nothing was written)"
                    )
                raise ValueError(
                    f"{path}: the {other} and the {what} are the same file; give them "
                    "different names (nothing was written)"
                )
        # /dev/null may take several outputs (keys of a stream are a regular file's only)
        if not isinstance(path, Path) or not is_special_file(path):
            for key in keys:
                seen[key] = ("output", what, path)
    if writable:
        rgba = set(alpha_channel)
        for what, path in outputs.items():
            if str(path) != STDIO:
                check_writable(Path(path), what, alpha_channel=what in rgba)
