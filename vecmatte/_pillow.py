"""Opening files with Pillow: vecmatte's own decompression-bomb check, Pillow's notes named."""

from __future__ import annotations

import functools
import os
import re
import struct
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from vecmatte._caller import outside_stacklevel
from vecmatte._errors import collected_warnings, warning_module

__all__ = [
    "bomb_pixels",
    "load_checked",
    "named_pillow_warnings",
    "needs_ghostscript",
    "open_unchecked",
    "pillow_allows",
    "pillow_limit",
]

# Pillow's decompression-bomb limit, Image.MAX_IMAGE_PIXELS, is a module global read by
# every thread: ``vecmatte serve`` decodes uploads in threads, beside whatever threads of the
# user's own program rely on Pillow's check. So vecmatte never lifts it to decode a file
# within it (our own check, of the caller's limit, runs instead); only a file the caller
# allowed beyond it (max_pixels raised past Pillow's limit) still needs it lifted, since
# Pillow's TIFF, WebP and GIF decoders check it again themselves (pillow_allows).
_PILLOW_LIMIT_LOCK = threading.Lock()
_lifted: dict = {"count": 0, "saved": None}  # how many blocks lift it, and its value before


def open_unchecked(source, limit: int | None = None):
    """``PIL.Image.open(source)`` without Pillow's check of the declared size.

    ``Image.open`` checks the size a file declares against Pillow's global limit (warning
    above it, refusing above twice it) before anyone could check the caller's own limit
    (raised for a trusted panorama, or lowered by ``vecmatte serve``). The file is
    identified as ``Image.open`` does (its registered formats, those loaded first by
    ``Image.preinit`` tried first), the global untouched; the caller checks the size.

    Parameters
    ----------
    source : str, path-like or seekable binary stream
        The file; one named by a path is opened here and closed with the image.
    limit : int, optional
        The caller's pixel limit when it may exceed Pillow's: a reader that checks Pillow's
        limit as it opens (WebP's) is let past it up to this. None: Pillow's holds there.

    Raises
    ------
    PIL.UnidentifiedImageError
        If no format Pillow reads accepts the file (as ``Image.open``).
    """
    from PIL import UnidentifiedImageError

    stream = hasattr(source, "read")
    # A path is opened once, here, and handed to the image, which closes it (as Image.open).
    filename = "" if stream else os.fspath(source)  # before open: a refusal leaves no handle
    handle = source if stream else open(source, "rb")
    try:
        image = _identified(handle, filename, limit)
        if image is None:
            raise UnidentifiedImageError(f"cannot identify image file {str(source)!r}")
    except BaseException:
        if not stream:
            handle.close()
        raise
    if not stream:
        image._exclusive_fp = True  # Image.open's own mark: the image owns the file
    return image


def _identified(handle, filename, limit: int | None):
    """The image of the first format Pillow's ``Image.open`` would try that takes the open
    file ``handle`` (named ``filename``, or ""); None if none does."""
    from PIL import Image

    handle.seek(0)
    prefix = handle.read(16)
    tried: set[str] = set()
    for loader in (Image.preinit, Image.init):
        loader()
        for name in [name for name in Image.ID if name not in tried]:
            tried.add(name)
            factory, accept = Image.OPEN[name]
            try:  # Image.open's own handling of a format that does not take the file
                accepted = accept is None or accept(prefix)
                if not accepted or isinstance(accepted, str):  # a str: Pillow's reason not to
                    continue
                handle.seek(0)
                return factory(handle, filename)
            except (SyntaxError, IndexError, TypeError, struct.error):
                continue
            except Image.DecompressionBombError as error:
                # WebP's reader checks Pillow's limit as it opens (its decoder allocates the
                # canvas at once): past it up to the caller's own, the size Pillow names.
                pixels = bomb_pixels(error)
                if limit is None or pixels is None or pixels > limit:
                    raise
                handle.seek(0)
                with pillow_allows((pixels, 1)):
                    return factory(handle, filename)
    return None


def bomb_pixels(error: Exception) -> int | None:
    """The pixel count Pillow's ``DecompressionBombError`` names ("... (600 pixels) ..."),
    or None if its text names none."""
    found = re.search(r"\((\d+) pixels\)", str(error))
    return None if found is None else int(found[1])


def pillow_limit() -> int | None:
    """Pillow's decompression-bomb limit as its user set it (not as lifted by
    :func:`pillow_allows` for another thread's file; one the user set meanwhile is theirs)."""
    from PIL import Image

    with _PILLOW_LIMIT_LOCK:
        ours = _lifted["count"] and Image.MAX_IMAGE_PIXELS is None
        return _lifted["saved"] if ours else Image.MAX_IMAGE_PIXELS


@contextmanager
def pillow_allows(size: tuple[int, int]) -> Iterator[None]:
    """Pillow's own decoders let a file of ``size`` (width, height) through.

    The caller's limit allowed ``size``. Within Pillow's limit nothing is changed; beyond it
    (the caller raised its limit past Pillow's) Pillow's TIFF, WebP and GIF decoders would
    warn or refuse, so the global is lifted while the block runs: the one case that touches
    it, restored when the last such block of any thread ends.
    """
    from PIL import Image

    limit = pillow_limit()
    if limit is None or max(1, size[0]) * max(1, size[1]) <= limit:
        yield
        return
    with _PILLOW_LIMIT_LOCK:
        if _lifted["count"] == 0:
            _lifted["saved"] = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = None
        _lifted["count"] += 1
    try:
        yield
    finally:
        with _PILLOW_LIMIT_LOCK:
            _lifted["count"] -= 1
            # A value set meanwhile (not our None) is the user's own: kept, not overwritten.
            if _lifted["count"] == 0 and Image.MAX_IMAGE_PIXELS is None:
                Image.MAX_IMAGE_PIXELS = _lifted["saved"]


# What a PNG's pixels are set to before they are decoded; the second if the first is met
# and its chunks cannot be counted (as the colour of a whole row: such a PNG is read twice).
_UNWRITTEN = ((0x5A, 0xA5, 0x3C, 0xC3), (0xA5, 0x5A, 0xC3, 0x3C))


def load_checked(image, source) -> None:
    """``image.load()``, and ValueError if a PNG's pixel data ends before its last row.

    A PNG whose compressed (zlib) stream ends cleanly but early decodes without an error in
    Pillow, the rows after its end black. Its pixels are set to a colour before decoding;
    the last row that decoding writes (the last row, or of an interlaced file the last odd
    row, written by its last pass) still of that colour may be a row never written: then
    the compressed data of ``source`` (the path or seekable stream ``image`` was opened
    from) is inflated, without decoding, to count its bytes (a PNG whose last row is of
    that very colour: 1.3x a plain read, was 1.6x decoding it again); if its chunks
    cannot be read so, it is decoded again over another colour. Cost otherwise: under 1% of
    a PNG's decode.

    A JPEG is refused if it ends before its last block: see :func:`_jpeg_cut_short`.
    """
    if image.format in ("JPEG", "MPO"):
        image.load()
        if _jpeg_cut_short(image, source):
            raise ValueError(
                "its compressed data ends before its last block, which would read as flat "
                "gray: cut short, or damaged"
            )
        return
    if image.format != "PNG" or len(image.tile) != 1 or image.size[1] < 2:
        image.load()
        return
    if _row_unwritten(image, _UNWRITTEN[0]):
        short = _pixel_data_short(source)
        if short is None:
            with open_unchecked(source) as again:  # which reads a stream from its start
                short = _row_unwritten(again, _UNWRITTEN[1])
        if short:
            raise ValueError(
                "its compressed pixel data ends before its last row (the file was cut "
                "short or badly written)"
            )


# Bytes put at the end of a JPEG's first scan to see whether its decoder takes them: 64 of
# no pattern, none 0xFF (which would begin a marker).
_JPEG_PADDING = bytes((7 + 151 * i) % 255 for i in range(64))
# The end of a JPEG's entropy-coded data: a marker, not a stuffed 0xFF00 nor a restart.
_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
# The gray of a block without data: its coefficients 0 (Adobe's CMYK inverted: 127).
_EMPTY_BLOCK = {"L": (128,), "RGB": (128,), "CMYK": (127, 128)}


def _jpeg_cut_short(image, source) -> bool:
    """Whether the decoded sequential JPEG ``image`` ended before its last block.

    libjpeg fills the blocks after the end of a file's data with flat gray, without an error
    (Pillow raises one only if the file ends without its end marker): a file cut short and
    closed (by a recovery tool, a broken upload) was read as a photograph half gray. Its
    last block (the bottom right one, as stored) is then all 128; only then is the file
    decoded again with bytes put at the end of its first scan: where the data was all there
    they are skipped, where it ended early they are decoded into the blocks it lacks. A file
    that ends inside its scan (read because a program set Pillow's
    ``ImageFile.LOAD_TRUNCATED_IMAGES``) is refused too. (A progressive file cut short reads
    as a blurred image, not a gray one: not told here; nor is an arithmetic-coded one, whose
    decoder takes the bytes put after its last symbol into that symbol's value, so that a
    complete file then read otherwise and was refused.)
    """
    import io

    import numpy as np

    levels = _EMPTY_BLOCK.get(image.mode)
    if levels is None or image.info.get("progressive") or image.info.get("progression"):
        return False
    width, height = image.size
    # The part of the last 8 x 8 block within the image (a block of any sampling has one).
    columns, rows = (width - 1) % 8 + 1, (height - 1) % 8 + 1
    corner = np.asarray(image.crop((width - columns, height - rows, width, height)))
    if not any(np.all(corner == level) for level in levels):
        return False
    try:
        if hasattr(source, "read"):
            source.seek(0)
            data = source.read()
        else:
            with open(source, "rb") as handle:
                data = handle.read()
        start, arithmetic = _first_scan_data(data)
        end = _SCAN_END.search(data, start)
        if end is None:  # the file ends inside its scan (ImageFile.LOAD_TRUNCATED_IMAGES)
            return True
        if arithmetic:  # its decoder reads the bytes past its last symbol: not told so
            return False
        padded = data[: end.start()] + _JPEG_PADDING + data[end.start() :]
        with open_unchecked(io.BytesIO(padded)) as again, pillow_allows(again.size):
            again.load()
            return again.tobytes() != image.tobytes()
    except Exception:  # not decodable so: not refused on this ground
        return False


# Start-of-frame markers of arithmetic coding: sequential, progressive, lossless (and the
# hierarchical ones). Padding after such a scan changed a complete file's last values.
_ARITHMETIC_FRAMES = frozenset((0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF))


def _first_scan_data(data: bytes) -> tuple[int, bool]:
    """Where the entropy-coded data of a JPEG's first scan begins, and whether its frame is
    arithmetic-coded: its segments are walked from the start (an EXIF preview holds a scan
    of its own), to the first scan's header."""
    position, arithmetic = 2, False  # after the start-of-image marker
    while True:
        while data[position + 1] == 0xFF:  # fill bytes before a marker
            position += 1
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        if data[position] != 0xFF or length < 2:
            raise ValueError("not a JPEG segment")
        arithmetic = arithmetic or data[position + 1] in _ARITHMETIC_FRAMES
        if data[position + 1] == 0xDA:
            return position + 2 + length, arithmetic
        position += 2 + length


# Adam7's passes: first column and row, column and row steps.
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2))
_ADAM7 += ((0, 1, 1, 2),)
# Samples a pixel of each PNG colour type: gray, RGB, palette, gray + alpha, RGBA.
_PNG_SAMPLES = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def _pixel_data_short(source) -> bool | None:
    """Whether the IDAT data of the PNG ``source`` (a path or seekable stream) inflates
    to fewer bytes than its rows (each a filter byte and its samples) take; None if its
    chunks cannot be read so."""
    import zlib

    try:
        handle = source if hasattr(source, "read") else open(source, "rb")
        try:
            handle.seek(8)
            length, kind = struct.unpack(">I4s", handle.read(8))
            width, height, depth, colour, _, _, interlace = struct.unpack(
                ">IIBBBBB", handle.read(13)
            )
            if kind != b"IHDR" or length != 13 or colour not in _PNG_SAMPLES:
                return None
            bits = depth * _PNG_SAMPLES[colour]
            passes = _ADAM7 if interlace else ((0, 0, 1, 1),)
            needed = 0
            for column, row, across, down in passes:
                columns = max(0, (width - column + across - 1) // across)
                rows = max(0, (height - row + down - 1) // down)
                if columns:
                    needed += rows * (1 + (columns * bits + 7) // 8)
            handle.seek(8 + 12 + 13)
            inflater, inflated = zlib.decompressobj(), 0
            while inflated < needed and not inflater.eof:
                header = handle.read(8)
                if len(header) < 8:
                    return None
                length, kind = struct.unpack(">I4s", header)
                if kind != b"IDAT":
                    if kind == b"IEND":
                        break
                    handle.seek(length + 4, os.SEEK_CUR)
                    continue
                while length and not inflater.eof and inflated < needed:
                    data = handle.read(min(length, 1 << 20))  # one IDAT may be the whole file
                    if not data:
                        break
                    length -= len(data)
                    while data and not inflater.eof and inflated < needed:
                        inflated += len(inflater.decompress(data, 1 << 20))  # none kept
                        data = inflater.unconsumed_tail
                handle.seek(length + 4, os.SEEK_CUR)  # the rest of it, and its CRC
            if inflated < needed and not inflater.eof:  # a match that did not fit yet
                inflated += len(inflater.flush())
            return inflated < needed
        finally:
            if handle is not source:
                handle.close()
    except (OSError, ValueError, struct.error, zlib.error):
        return None


def _row_unwritten(image, colour: tuple[int, ...]) -> bool:
    """Decode ``image`` over ``colour``; whether its last row written is all ``colour``."""
    from PIL import Image

    bands = len(image.getbands())
    # A bilevel ("1") image stores a byte a pixel, which its decoder sets to 0 or 255 only:
    # filled with another byte, a black or white last row (a mask's, often) is no match.
    value = tuple(colour[:bands]) if bands > 1 else colour[0]
    width, height = image.size
    row = height - 1 if not image.info.get("interlace") or height % 2 == 0 else height - 2
    # Only that row is looked at: only it is filled (the rest zeroed memory, as Pillow's own).
    image.im = Image.core.new(image.mode, image.size)
    image.im.paste(Image.core.fill(image.mode, (width, 1), value), (0, row, width, row + 1))
    image.load()
    # The stored values' extremes (NumPy reads a bilevel image as booleans, not its bytes).
    return _extrema(image.im.crop((0, row, width, row + 1))) == _fill_extrema(image.mode, value)


def _extrema(core) -> tuple:
    """``Image.getextrema()`` of a Pillow core image (per band if it has several)."""
    if core.bands > 1:
        return tuple(core.getband(band).getextrema() for band in range(core.bands))
    return core.getextrema()


@functools.lru_cache(maxsize=64)
def _fill_extrema(mode: str, value) -> tuple:
    """The extremes of a pixel of ``mode`` filled with ``value`` (as stored: "1" as 0/255)."""
    from PIL import Image

    return _extrema(Image.core.fill(mode, (1, 1), value))


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
    from PIL import EpsImagePlugin

    if EpsImagePlugin.has_ghostscript():
        return False
    try:
        with open_unchecked(source) as image:  # which reads a stream from its start
            return image.format == "EPS"
    except Exception:  # a file Pillow cannot even open is no EPS it could read
        return False
