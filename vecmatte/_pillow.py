"""Opening files with Pillow: vecmatte's own decompression-bomb check, Pillow's notes named."""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from vecmatte._caller import outside_stacklevel
from vecmatte._errors import collected_warnings, warning_module

__all__ = ["named_pillow_warnings", "needs_ghostscript", "without_pillow_limit"]

# Pillow's decompression-bomb limit is a module global; we swap it for our own check while a
# file is opened, under a lock so that threads do not see each other's value.
_PILLOW_LIMIT_LOCK = threading.Lock()


@contextmanager
def without_pillow_limit() -> Iterator[int | None]:
    """Pillow's own decompression-bomb check off (ours runs instead); yields Pillow's limit."""
    from PIL import Image

    with _PILLOW_LIMIT_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            yield saved
        finally:
            Image.MAX_IMAGE_PIXELS = saved


@contextmanager
def named_pillow_warnings(label: str, category: type[Warning]) -> Iterator[None]:
    """Pillow's own warnings while a file is read, said again naming the file.

    Pillow warns "Corrupt EXIF data.  Expecting to read 12 bytes but only got 2." in its own
    words, without the file's name (and reads the EXIF as far as it goes). Other warnings
    (ours) pass through unchanged; none is repeated if reading fails. Said as ``category``
    (:class:`vecmatte.io.ImageMetadataWarning`), pointing at the first line outside vecmatte
    (whatever the reader's call depth). Recorded per thread (:func:`collected_warnings`): a
    file read in one thread of ``vecmatte serve`` or a Dask worker keeps no other thread's
    warning.
    """
    with collected_warnings() as caught:
        yield
    pillow = f"{os.sep}PIL{os.sep}"
    said = set()
    for warning in caught:
        if pillow not in warning.filename:
            warnings.warn_explicit(
                warning.message,
                warning.category,
                warning.filename,
                warning.lineno,
                module=warning_module(warning.filename, warning.lineno),
            )
            continue
        text = " ".join(str(warning.message).split()).rstrip(".")
        if "exif" in text.lower():
            text = f"its EXIF data is damaged ({text}); it is read as far as it goes"
        if text not in said:
            said.add(text)
            warnings.warn(f"{label}: {text}", category, stacklevel=outside_stacklevel())


def needs_ghostscript(source) -> bool:
    """Whether ``source`` (a path or seekable stream) is EPS and Pillow finds no Ghostscript.

    Pillow reads EPS through the Ghostscript program; without it, ``load()`` raises
    ``OSError("Unable to locate Ghostscript on paths")`` for an intact file.
    """
    from PIL import EpsImagePlugin, Image

    if EpsImagePlugin.has_ghostscript():
        return False
    try:
        if hasattr(source, "seek"):
            source.seek(0)
        with Image.open(source) as image:
            return image.format == "EPS"
    except Exception:  # a file Pillow cannot even open is no EPS it could read
        return False
