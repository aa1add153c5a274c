"""How the subcommands speak: progress lines on standard error, names in one line.

Lines read ``[  0.21s] message`` (:class:`Reporter`); a file name is said in one line
(:func:`one_line`) and printed as the stream can encode it (:func:`printable`).
"""

from __future__ import annotations

import logging
import re
import sys
import time
from contextlib import contextmanager

from vecmatte._errors import escaped

# Line breaks and other whitespace but the plain space (str.split's, as error lines use).
_BREAKS = re.compile(r"[^\S ]")


def one_line(text) -> str:
    """``text`` with each line break (or tab ...) as a space, for one line of a message.

    A file named ``"e\nf.png"`` (a newline is allowed in names) printed in a progress line
    or a warning made two lines, the second without vecmatte's prefix. Each character
    becomes one space, so the name keeps its length and its runs of spaces (the error line,
    :func:`vecmatte._errors.error_line`, joins the message's lines with one space each).
    """
    return _BREAKS.sub(" ", str(text))


def printable(text, stream=None) -> str:
    """``text`` as the ``stream`` (standard output) can print it, for file names there.

    A name whose bytes are no valid UTF-8 (``b"bad\\xff"``, read as the surrogate
    ``"\\udcff"``), or a character the stream's encoding lacks, made a strict stream (the
    usual standard output under a UTF-8 locale) raise UnicodeEncodeError: ``vecmatte eval``
    stopped after its header with "'utf-8' codec can't encode character", naming no file.
    Such characters are shown as backslash escapes, as standard error shows them.
    """
    stream = sys.stdout if stream is None else stream
    if getattr(stream, "errors", "strict") != "strict":
        return str(text)  # surrogateescape (a C locale): the name's own bytes are printed
    return escaped(text, getattr(stream, "encoding", None) or "utf-8")


class Reporter:
    """Progress on stderr; silent with ``--quiet``.

    Lines read ``[  0.21s] message``, the time since the command began. The library's own
    stage messages (INFO records of the ``vecmatte`` loggers) join them, indented, inside
    :meth:`library_stages`.
    """

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.start = time.perf_counter()

    def stage(self, message: str) -> None:
        if not self.quiet:
            print(
                f"[{time.perf_counter() - self.start:7.2f}s] {one_line(message)}",
                file=sys.stderr,
                flush=True,
            )

    @contextmanager
    def library_stages(self):
        """Show vecmatte's stage messages as progress lines while the block runs.

        The library logs each long step of a solve (a neighbour search, a factorisation) at
        level INFO on loggers under ``vecmatte``, which print nothing unless someone listens:
        for the block, a handler on the ``vecmatte`` logger prints them with this reporter's
        time stamps, and the logger's level is lowered to INFO if it was above. Both are
        undone afterwards (also on errors), so a program calling :func:`vecmatte.cli.main`
        keeps its own logging set-up. With ``--quiet`` nothing is attached.
        """
        if self.quiet:
            yield
            return
        logger = logging.getLogger("vecmatte")
        handler = _StageHandler(self)
        level = logger.level
        logger.addHandler(handler)
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)
        try:
            yield
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)

    def iteration(self, iteration: int, residual: float) -> None:
        if not self.quiet and (iteration == 1 or iteration % 10 == 0):
            self.stage(f"  CG iteration {iteration}: relative residual {residual:.3e}")

    def progress(self, what: str, *, after: float = 1.0):
        """A ``progress(done, total)`` callback for the library: silent for a quick step.

        Lines appear once the step has taken ``after`` seconds, then at most one a second
        (and the last), so a small image prints nothing and a 10 MP one shows it is alive.
        """
        begun = time.perf_counter()
        last = [-float("inf")]

        def report(done: int, total: int) -> None:
            now = time.perf_counter()
            if self.quiet or now - begun < after or (now - last[0] < 1.0 and done < total):
                return
            last[0] = now
            self.stage(f"  {what}: {done} of {total} ({100 * done / max(total, 1):.0f}%)")

        return report


class _StageHandler(logging.Handler):
    """Prints each record's message as an indented line of a :class:`Reporter`."""

    def __init__(self, reporter: Reporter):
        super().__init__(logging.INFO)
        self.reporter = reporter

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.reporter.stage(f"  {record.getMessage()}")
        except Exception:
            self.handleError(record)


def shown(path) -> str:
    """How an output is named in progress messages."""
    from vecmatte.io import STDIO

    return "standard output" if str(path) == STDIO else str(path)


def note_lossy(path, what: str, *, colour: bool = False) -> None:
    """Warn once that the output ``path`` of ``what`` will not read back as computed.

    A matte or a trimap is data, not a picture: JPEG at Pillow's default quality moves a
    matte's values by up to about 13 levels of 255 along its edges (measured on the demo's),
    and a JPEG trimap then reads back with smeared values. Written anyway, as asked. WebP is
    written lossless and AVIF at quality 100 (:mod:`vecmatte._writing`): both read back
    exactly, except the colours of an AVIF (``colour``: a cutout or foreground colours),
    within 3 levels; the note said "WEBP is lossy" of a file that reads back exactly. GIF
    holds gray exactly but 256 colours in all (a photograph's colours up to 87 levels off).
    """
    import warnings
    from pathlib import Path

    from vecmatte._output_guard import STDIO, file_format

    if path is None or str(path) == STDIO:
        return
    kind = file_format(Path(path))
    if kind in ("JPEG", "MPO"):  # MPO is JPEG inside
        detail = "a few levels off along edges"
    elif kind == "AVIF" and colour:
        detail = "colours up to 3 levels off"
    elif kind == "GIF" and colour:
        detail = "GIF holds 256 colours in all"
    else:
        return
    warnings.warn(
        f"{path}: {kind} is lossy: the {what}'s values are not kept exactly ({detail}); "
        "write .png or .tif to keep them",
        UserWarning,
        stacklevel=2,
    )
