"""Errors and warnings said to the user: an error in one line, the warnings of one thread.

A leaf module (standard library only), so that the command line can import it to report an
error without importing the batch machinery, and the batch and the server without the
command line.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import warnings
from collections.abc import Iterator
from typing import Any

__all__ = [
    "SampleRangeWarning",
    "collected_warnings",
    "error_line",
    "escaped",
    "warning_module",
]


class SampleRangeWarning(UserWarning):
    """The file's integer samples all lie far below the largest value of their bit depth,
    so the image reads as nearly black (as 8-bit values stored in a 16- or 32-bit file, or
    in a PIL image of mode "I"). Exported as ``vecmatte.io.SampleRangeWarning``."""


def escaped(text, encoding: str = "utf-8") -> str:
    """``text`` with each character ``encoding`` cannot encode as a backslash escape.

    A file name whose bytes are no valid UTF-8 holds surrogates (``b"bad\\xff"`` reads as
    ``"bad\\udcff"``), which strict UTF-8 refuses: the command line's
    ``printable`` for a strict standard output, and the Dask keys of a batch (msgpack
    text), escape them here alike.
    """
    return str(text).encode(encoding, "backslashreplace").decode(encoding)


def error_line(error: BaseException) -> str:
    """An error in one line; a system error names its file first.

    ``str()`` of an OSError raised by the system reads ``[Errno 28] No space left on device:
    'out/a_alpha.png'`` (or ``[Errno 13] Permission denied: 'photos'``); this says
    ``out/a_alpha.png: no space left on device``, as vecmatte's own messages name the file
    first. Used for a failed image's record and by ``vecmatte``'s error line.

    Parameters
    ----------
    error : BaseException
        The error to say.

    Returns
    -------
    str
        One line, never empty (the error's class name when it has no message): the lines
        of the message joined by one space each, without their leading and trailing blanks.

    Examples
    --------
    >>> error_line(FileNotFoundError(2, "No such file or directory", "photo.png"))
    'photo.png: no such file or directory'
    """
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        names = [error.filename] + ([error.filename2] if error.filename2 is not None else [])
        message = f"{', '.join(map(str, names))}: {error.strerror[0].lower()}{error.strerror[1:]}"
    else:
        message = str(error)
    # Each line break, with the indentation and trailing blanks of the lines it joins, is one
    # space; spaces within a line stay as they are: str.split() also squeezed the two spaces
    # of a file named "a  b.png", naming a file that is not there.
    lines = (line.strip() for line in message.splitlines())
    return " ".join(line for line in lines if line) or type(error).__name__


# The threads inside collected_warnings: their number, the one catch_warnings they share
# (entered by the first, left by the last) and the showwarning it replaced, which shows the
# warnings of the other threads.
_collecting = threading.local()
_collectors_lock = threading.Lock()
_shared: dict[str, Any] = {"count": 0, "context": None, "original": None, "ours": ()}


def _route_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """``warnings.showwarning`` while threads collect: to the list of the thread that warned.

    A thread that does not collect gets its warning as its filters say without ours: they
    reached here through our "always", ahead of its "error" or "ignore".
    """
    caught = getattr(_collecting, "caught", None)
    if caught is not None:
        caught.append(warnings.WarningMessage(message, category, filename, lineno, file, line))
        return
    # Only these categories passed through our "always"; others met the thread's filters.
    shown = not issubclass(category, (UserWarning, RuntimeWarning))
    action = "always" if shown else _action_without_ours(message, category, filename, lineno)
    if action == "error":
        raise message if isinstance(message, Warning) else category(message)
    if action != "ignore":  # "default", "once", "module": shown, as "always" would
        _shared["original"](message, category, filename, lineno, file, line)


def _action_without_ours(message, category, filename: str, lineno: int) -> str:
    """The action of the first filter matching the warning, skipping collected_warnings'."""
    module = warning_module(filename, lineno)
    text = str(message)
    for entry in warnings.filters:
        if any(entry is own for own in _shared["ours"]):
            continue
        action, pattern, kind, module_pattern, line = entry
        if (
            _matches(pattern, text)
            and issubclass(category, kind)
            and _matches(module_pattern, module)
            and (line == 0 or line == lineno)
        ):
            return action
    return warnings.defaultaction


def _matches(pattern, text: str) -> bool:
    """A filter's message or module pattern: None, a compiled regular expression, or (the
    interpreter's own default filters) a plain string that must be equal."""
    if pattern is None:
        return True
    return pattern == text if isinstance(pattern, str) else bool(pattern.match(text))


def warning_module(filename: str, lineno: int) -> str:
    """The ``__name__`` of the code at ``filename:lineno`` on this thread's stack, as
    ``warnings.warn`` matches a filter's module; else the file's name without ``.py``.

    For a warning recorded and said again (``warnings.warn_explicit`` without ``module=``
    takes the file's path, and a user's filter by module no longer matches).
    """
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename == filename and frame.f_lineno == lineno:
            return frame.f_globals.get("__name__", "")
        frame = frame.f_back
    return filename[:-3] if filename.endswith(".py") else filename


@contextlib.contextmanager
def collected_warnings() -> Iterator[list]:
    """The warnings this thread raises inside the block (UserWarning, RuntimeWarning: all).

    ``warnings.catch_warnings`` swaps process-wide state: two tasks in two threads of one
    Dask worker (``dask worker`` runs one thread per core by default), or two requests of
    ``vecmatte serve``, each entering and leaving it would restore each other's state, and
    an image's warning would go to another image's note, to the log, or, under an "error"
    filter, fail the image. So one ``catch_warnings`` serves every thread collecting at once
    (entered by the first, left by the last), and each warning goes to the list of the
    thread that raised it; other threads' warnings are shown as they would have been.

    Yields
    ------
    list of warnings.WarningMessage
        Filled as the block runs; UserWarning and RuntimeWarning are recorded every time
        (``"always"``), not once per place.

    Examples
    --------
    >>> import warnings
    >>> with collected_warnings() as caught:
    ...     warnings.warn("the image has an alpha channel", UserWarning)
    >>> [str(warning.message) for warning in caught]
    ['the image has an alpha channel']
    """
    caught: list = []
    with _collectors_lock:
        if _shared["count"] == 0:
            context = warnings.catch_warnings()
            context.__enter__()
            warnings.simplefilter("always", UserWarning)
            warnings.simplefilter("always", RuntimeWarning)
            _shared.update(
                context=context, original=warnings.showwarning, ours=tuple(warnings.filters[:2])
            )
            warnings.showwarning = _route_warning
        _shared["count"] += 1
    outer = getattr(_collecting, "caught", None)  # a block within a block collects apart
    _collecting.caught = caught
    try:
        yield caught
    finally:
        _collecting.caught = outer
        with _collectors_lock:
            _shared["count"] -= 1
            if _shared["count"] == 0:
                _shared["context"].__exit__(None, None, None)
                _shared["context"] = None  # "original" stays: a thread may be calling it
