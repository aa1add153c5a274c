"""Opening an image file or stream with Pillow, for :mod:`vecmatte.io`'s readers.

What may be given (a name, bytes naming a file, a stream that may not seek), vecmatte's own
decompression-bomb check, one line for every way a file cannot be read (missing, a link to
nowhere, empty, damaged, inflating metadata, a TIFF layout Pillow lacks), the note that only
the first frame of an animation is read, and the EXIF orientation applied.
"""

from __future__ import annotations

import errno
import io
import os
import select
import stat
import sys
import warnings
from pathlib import Path

from vecmatte._caller import outside_stacklevel
from vecmatte._damage import (
    HEIF_BOXES,
    TIFF_SIGNATURES,
    bytes_at,
    directory_cut_off,
    is_empty,
    starts_with,
    tiff_directory_cut_off,
)
from vecmatte._output_guard import PIPE_WAIT_SECONDS, is_named_pipe, shortened, tilde_hint
from vecmatte._pillow import (
    bomb_pixels,
    load_checked,
    named_pillow_warnings,
    needs_ghostscript,
    open_unchecked,
    pillow_allows,
    pillow_limit,
)
from vecmatte._wide_colour import float_tiff, float_tiff_size

__all__ = [
    "ExtraFramesWarning",
    "ImageMetadataWarning",
    "ImageTooLargeError",
    "check_max_pixels",
    "image_size",
    "is_complete_image",
    "named_source",
    "open_image",
    "read_stream",
    "source_label",
    "stream_byte_limit",
]

_TIFF_ORIENTATION = 274


class ExtraFramesWarning(UserWarning):
    """The file holds several frames (an animated GIF, PNG, WebP or AVIF, a multi-page TIFF);
    only the first is read."""


# Formats whose extra frames are more pictures. (A camera's MPO file holds its photograph
# first, then previews or the other eye's view: reading the first is what is wanted.)
_ANIMATED_FORMATS = ("GIF", "PNG", "WEBP", "TIFF", "AVIF")


class ImageMetadataWarning(UserWarning):
    """Pillow noted something odd while reading the file (damaged EXIF data ...)."""


class ImageTooLargeError(ValueError):
    """The file declares more pixels than the decompression-bomb limit allows."""


def source_label(source) -> str:
    """How to call ``source`` (a path, or a binary stream such as standard input) in messages."""
    if hasattr(source, "read") or hasattr(source, "write"):
        name = getattr(source, "name", None)
        return name if isinstance(name, str) else "<stream>"
    return str(source)


def named_source(source, *, pipes: bool = True, max_pixels: int | None = None):
    """``source`` with a file name given as bytes (``os.listdir(b".")`` gives them, a name
    that is not UTF-8 among them; ``open()`` and Pillow take them) turned into ``str``, and
    a binary stream that cannot seek, or with ``pipes`` a named pipe (FIFO), read into
    memory (see :func:`_pipe_contents`), no further than an image within ``max_pixels``
    could take (:func:`read_stream`).

    Bytes holding a NUL cannot name a file: they are a file's contents, refused by
    :func:`open_image` with the way to wrap them, as is a text stream.
    """
    if isinstance(source, bytes) and b"\0" not in source:
        source = os.fsdecode(source)
    if isinstance(source, (str, os.PathLike)) and pipes and is_named_pipe(source):
        return _pipe_contents(source, max_pixels)
    if hasattr(source, "read") and not isinstance(source, io.TextIOBase) and not _seekable(source):
        # A pipe: the 16-bit colour readers go back to its start (Pillow alone would read
        # it into memory too). The copy keeps the stream's name for messages.
        return read_stream(source, max_pixels=max_pixels)
    return source


# The most bytes a file may take for each pixel the limit allows: 16-bit RGBA (8 bytes) and
# a compression that expands it (TIFF's LZW: up to 1.5 times), rounded up; and beside them
# the metadata (text, colour profile, EXIF, a preview) a file may carry.
_BYTES_PER_PIXEL = 16
_METADATA_BYTES = 1 << 26
_CHUNK = 1 << 20


def stream_byte_limit(max_pixels: int | None = None) -> int | None:
    """The most bytes an image file within the pixel limit can need; None: no limit.

    Parameters
    ----------
    max_pixels : int, optional
        The pixel limit, as :func:`vecmatte.io.load_image` takes it (default Pillow's).

    Returns
    -------
    int or None
        ``16 * max_pixels`` and 64 MiB of metadata; None if there is no pixel limit.
    """
    check_max_pixels(max_pixels)
    limit = pillow_limit() if max_pixels is None else max_pixels
    return None if limit is None else limit * _BYTES_PER_PIXEL + _METADATA_BYTES


def read_stream(
    stream, *, max_pixels: int | None = None, start: bytes = b"", name: str | None = None
) -> io.BytesIO:
    """A binary stream read to its end into memory, named as the stream is; refused (one
    line) as soon as it holds more bytes than an image within the pixel limit can need.

    Standard input or a pipe was read whole before any check: ``cat /dev/zero`` (or a
    runaway program) filled the memory. Bounded by :func:`stream_byte_limit`.

    Parameters
    ----------
    stream : binary file object
        What to read (``sys.stdin.buffer``, a pipe), from where it is.
    max_pixels : int, optional
        The pixel limit of the image it holds (default Pillow's).
    start : bytes, optional
        Bytes already read from it, which come first.
    name : str, optional
        Its name in messages, given to the copy (default: the stream's, if a text one).

    Returns
    -------
    io.BytesIO
        Its bytes, at position 0, named as the stream is (or ``name``).

    Raises
    ------
    ImageTooLargeError
        If it holds more than :func:`stream_byte_limit` bytes.
    """
    label = source_label(stream) if name is None else name
    limit = stream_byte_limit(max_pixels)
    copy = io.BytesIO()
    copy.write(start)
    while True:
        wanted = _CHUNK if limit is None else max(1, min(_CHUNK, limit + 1 - copy.tell()))
        chunk = stream.read(wanted)
        if chunk is None:  # a non-blocking stream with nothing yet: wait for more
            select.select([stream], [], [])
            continue
        if not chunk:
            break
        copy.write(chunk)
        if limit is not None and copy.tell() > limit:
            pixels = pillow_limit() if max_pixels is None else max_pixels
            raise ImageTooLargeError(
                f"{label}: more than {limit:,} bytes and not at its end, more than an image "
                f"within the limit of {pixels:,} pixels can take (a protection against "
                "decompression bombs and endless streams); if you trust it, raise the limit "
                "(command line: --max-pixels N; library: max_pixels=N)"
            )
    copy.seek(0)
    if name is None:
        name = getattr(stream, "name", None)
    if isinstance(name, str):  # a pipe's is its descriptor, which tifffile would open
        copy.name = name
    return copy


# The wait for a program to start writing into a named pipe given as an input: the value
# is _output_guard's (outputs wait as long); this module's name is the one its tests patch.
_PIPE_WAIT_SECONDS = PIPE_WAIT_SECONDS


def _pipe_contents(path, max_pixels: int | None = None) -> io.BytesIO:
    """What is written into the named pipe ``path``, until its writer closes it.

    ``open()`` of a pipe that no program writes into waited for one forever (a FIFO among a
    folder's photographs stopped a batch for good): it is opened without waiting, and a
    writer not there yet is waited for up to ``_PIPE_WAIT_SECONDS``; one that is there (a
    shell's ``<(command)``) is read to its end, however long it takes, but no further than
    an image within ``max_pixels`` could need (:func:`read_stream`).
    """
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with open(descriptor, "rb", buffering=0) as pipe:
        data = pipe.read(1 << 16)  # b"": no writer; None: a writer with nothing written yet
        if data == b"":
            if not select.select([descriptor], [], [], _PIPE_WAIT_SECONDS)[0]:
                raise ValueError(
                    f"{path}: a named pipe (FIFO) that no program wrote into within "
                    f"{_PIPE_WAIT_SECONDS:g} s; write the image into it, or give a file"
                )
            data = pipe.read(1 << 16)
        os.set_blocking(descriptor, True)
        return read_stream(pipe, max_pixels=max_pixels, start=data or b"", name=str(path))


def _seekable(stream) -> bool:
    try:
        return bool(stream.seekable())
    except (AttributeError, OSError, ValueError):  # no such method, or a closed stream
        return hasattr(stream, "seek")


def _existing_path(name, label: str) -> str:
    """``name`` (a str or path-like) as a str naming a regular file or a named pipe that
    exists, else one line.

    Said for :func:`open_image` and :func:`image_size` alike: an empty name (``Path("")`` is
    the current folder), nothing there (or a link to nowhere), a folder, a socket or a
    device, a file's name ending in ``/`` (as the system refuses it), a name the system
    refuses (too long).
    """
    text = os.fspath(name)
    if isinstance(text, bytes):  # a path-like giving bytes, as open() takes it
        text = os.fsdecode(text)
    if text == "":
        raise ValueError("an empty file name ('') was given; give the file's name")
    # Path() drops a trailing "/" (and "/."), which names a folder: such a name is looked at
    # as Path() spells it, then refused below. Others are used as given (no Path made).
    path = str(Path(text)) if text.endswith(_FOLDER_ENDINGS) else text
    try:
        mode = os.stat(path).st_mode  # one look at it (this was three)
    except ValueError:  # a NUL in the name: nothing can be there
        mode = None
    except OSError as error:
        if error.errno not in _NOTHING_THERE:  # ENAMETOOLONG: Python's line repeated the name
            raise type(error)(f"{shortened(label)}: {error.strerror or error}") from None
        mode = None
    if mode is None:
        raise FileNotFoundError(_missing(Path(path), label))
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(f"{label}: is a directory, not an image file")
    if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):  # a named pipe is read
        # Its size is 0 or unknown: /dev/zero was called "empty (0 bytes)", a socket
        # "damaged", and a terminal's device waited for typing.
        kind = "socket" if stat.S_ISSOCK(mode) else "device"
        raise ValueError(f"{label}: a {kind}, not an image file; give the image file itself")
    if path != text:
        # The system refuses "x.png/" (ENOTDIR), and so do we, rather than read x.png.
        try:
            os.stat(text)
        except NotADirectoryError:
            raise NotADirectoryError(
                f"{label}: not a directory ({path} is a file); leave out the trailing '/'"
            ) from None
    return path


# How a name Path() shortens ends: a separator, or a separator and ".".
_FOLDER_ENDINGS = tuple({os.sep, os.altsep or os.sep} | {f"{os.sep}.", f"{os.altsep or os.sep}."})


# What os.stat raises for a name with nothing there (as Path.exists takes them).
_NOTHING_THERE = (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP)


def _missing(path: Path, label: str) -> str:
    """Why ``path`` names no file: none there, a link to nowhere, or links that loop."""
    if not path.is_symlink():
        return f"{label}: no such file{tilde_hint(path)}"
    try:
        os.stat(path)
    except OSError as error:
        if error.errno == errno.ELOOP:
            return f"{label}: its symbolic links loop (one leads back to another)"
    return f"{label}: no such file (a symbolic link to {os.readlink(path)}, which does not exist)"


def _check_pixel_limit(label: str, size: tuple[int, int], limit: int | None) -> tuple[int, int]:
    """``size`` (width, height) if within ``limit``, else :class:`ImageTooLargeError`."""
    width, height = size
    if limit is not None and width * height > limit:
        raise _too_many_pixels(
            label, width * height, limit, f" ({height} x {width}, height x width)"
        )
    return size


def _too_many_pixels(label: str, pixels: int, limit: int, size: str = "") -> ImageTooLargeError:
    """The refusal of an image of ``pixels`` pixels (``size``: its sides, said after them)
    beyond ``limit``: one wording for the size a file declares and the count Pillow names."""
    return ImageTooLargeError(
        f"{label}: image has {pixels:,} pixels{size}, more than the limit of {limit:,} that "
        "protects against decompression bombs; if you trust this file, raise the limit "
        f"(command line: --max-pixels {pixels}; library: max_pixels={pixels})"
    )


def check_max_pixels(max_pixels) -> None:
    """Refuse a pixel limit that is not None or a positive integer (one line, ValueError).

    Parameters
    ----------
    max_pixels : int or None
        The limit, as given to :func:`vecmatte.load_image`.
    """
    from vecmatte._numbers import positive_whole_number

    if max_pixels is not None:
        positive_whole_number(max_pixels, "max_pixels", "a positive integer")


def open_image(source, max_pixels: int | None = None):
    """Open, check the size against the limit, decode fully, close; apply EXIF orientation.

    ``source`` is a path or a readable binary stream. The EXIF orientation found in the file
    is kept in ``image.info["vecmatte_orientation"]`` (for the 16-bit colour TIFF path).
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    stream = hasattr(source, "read")
    label = source_label(source)
    check_max_pixels(max_pixels)
    if isinstance(source, io.TextIOBase):
        # sys.stdin for sys.stdin.buffer: its decoder failed on the first byte of the file
        # (UnicodeDecodeError), or Pillow called a StringIO's image damaged.
        raise TypeError(
            f"expected a file name or a binary stream, got a text stream ({label}); give its "
            "binary buffer (sys.stdin.buffer) or open the file with mode 'rb'"
        )
    if not stream and not isinstance(source, (str, os.PathLike)):
        # Python's own words ("expected str, bytes or os.PathLike object, not ndarray", or
        # for bytes "argument should be a str object ...") do not say what to give instead.
        if isinstance(source, (bytes, bytearray, memoryview)):
            hint = "; for a file's contents, wrap them: io.BytesIO(data)"
        elif hasattr(source, "__array__"):
            hint = "; an array is an image already (no need to load it)"
        else:
            hint = ""
        raise TypeError(
            f"expected a file name or a binary stream, got {type(source).__name__}{hint}"
        )
    if not stream:
        source = _existing_path(source, label)
    # Our own check replaces Pillow's (which warns above its limit and refuses above twice
    # it) so that a file over the limit is refused with one message, and a raised limit is
    # honoured; the limit is Pillow's own unless the caller gives another.
    limit = pillow_limit() if max_pixels is None else max_pixels
    with named_pillow_warnings(label, ImageMetadataWarning):
        try:
            # Checked before Pillow's decoders are let through a size beyond Pillow's limit.
            with (
                open_unchecked(source, limit) as image,
                pillow_allows(_check_pixel_limit(label, image.size, limit)),
            ):
                # Which unpacker Pillow chose tells a 16-bit colour PNG (read at 8 bits).
                tile = image.tile[0] if len(image.tile) == 1 else None
                image.info["vecmatte_rawmode"] = tile[3] if tile is not None else None
                image.info["vecmatte_tile"] = tile  # where a 16-bit PPM's samples lie
                if image.format == "PNG":  # its getexif() decodes (an eXIf chunk may follow)
                    load_checked(image, source)
                # Read before load(): Pillow's TIFF reader turns the pixels as it loads them
                # and drops the tag, which tifffile's 16-bit colour reader still needs.
                orientation = image.getexif().get(_TIFF_ORIENTATION, 1)
                if image.format == "TIFF" and orientation in (5, 6, 7, 8):
                    # Pillow (11-13) memory-maps an uncompressed TIFF of a file name with the
                    # size its orientation turns, not the stored one (ImageFile.load's
                    # map_buffer): gray, palette, 16-bit gray and RGBA pixels came scrambled.
                    # An image without a file name is decoded, not mapped.
                    image.filename = ""
                load_checked(image, source)
                frames = _frame_count(image)
                if frames != 1 and image.format in _ANIMATED_FORMATS:
                    held = f"{frames} frames" if frames else "more frames, the next damaged,"
                    warnings.warn(
                        f"{label}: the file holds {held} (an animation or several "
                        "pages); only the first is read",
                        ExtraFramesWarning,
                        stacklevel=outside_stacklevel(),
                    )
                ImageOps.exif_transpose(image, in_place=True)
                image.info["vecmatte_orientation"] = orientation
        except UnidentifiedImageError:
            if is_empty(source):
                raise ValueError(
                    f"{label}: is empty (0 bytes)" + ("; was nothing piped in?" if stream else "")
                ) from None
            if tiff_directory_cut_off(source):
                raise ValueError(directory_cut_off(label)) from None
            if starts_with(source, TIFF_SIGNATURES):
                image = _float_tiff(source, label, limit)
                if image is not None:
                    return image
                raise ValueError(
                    f"{label}: a TIFF file of a layout Pillow cannot read (such as 16-bit gray "
                    "with an alpha channel); save it as PNG, or as gray or RGB(A) TIFF"
                ) from None
            if bytes_at(source, 4, 8) in HEIF_BOXES:
                raise ValueError(
                    f"{label}: a HEIF/HEIC file (the format of iPhone photos), which Pillow "
                    "reads only with the pillow-heif plugin; convert it to JPEG or PNG, or "
                    "pip install pillow-heif and call pillow_heif.register_heif_opener() first"
                ) from None
            kind = "" if stream else Path(label).suffix.lstrip(".").upper()
            question = f"is it really a {kind} file?" if kind else "is it an image at all?"
            raise ValueError(f"{label}: not an image file Pillow can read ({question})") from None
        except Image.DecompressionBombError as error:
            # Pillow's own check, made by a reader as it opens (WebP: over twice Pillow's
            # limit); said as ours from the count Pillow names, if it is over the limit.
            pixels = bomb_pixels(error)
            if pixels is not None and limit is not None and pixels > limit:
                raise _too_many_pixels(label, pixels, limit) from None
            raise ImageTooLargeError(
                f"{label}: {error}; if you trust this file, raise the limit with --max-pixels"
            ) from None
        except ImageTooLargeError:
            raise
        except ValueError as error:  # Pillow's own, such as its limit on inflated metadata
            if tiff_directory_cut_off(source):  # Pillow 11.0: 'Invalid dimensions'
                raise ValueError(directory_cut_off(label)) from None
            raise ValueError(_unreadable(label, error)) from None
        except PermissionError:
            raise PermissionError(f"{label}: cannot read the file (permission denied)") from None
        except (OSError, SyntaxError, EOFError) as error:
            if needs_ghostscript(source):
                # Pillow reads EPS through the Ghostscript program; without it, an intact
                # file was called "damaged or truncated (Unable to locate Ghostscript ...)".
                raise ValueError(
                    f"{label}: reading EPS needs Ghostscript (the 'gs' program), which is not "
                    "installed; install Ghostscript or convert the file to PNG"
                ) from None
            raise ValueError(
                f"{label}: cannot read image, the file is damaged or truncated ({error})"
            ) from None
    return image


def _float_tiff(source, label: str, limit: int | None):
    """:func:`vecmatte._wide_colour.float_tiff` within the pixel limit, with the note of pages."""
    try:
        image = float_tiff(source, label, lambda size: _check_pixel_limit(label, size, limit))
    except ValueError as error:  # ImageTooLargeError too: said without Pillow's context
        raise error from None
    if image is not None and image.info["pages"] > 1:
        warnings.warn(
            f"{label}: the file holds {image.info['pages']} pages; only the first is read",
            ExtraFramesWarning,
            stacklevel=outside_stacklevel(),
        )
    return image


def _frame_count(image) -> int | None:
    """How many frames ``image`` holds; None if a frame after the first is too damaged to
    count (Pillow raised TypeError 'Missing dimensions' there): the first, already read, is
    kept, and Pillow is put back on it."""
    try:
        return getattr(image, "n_frames", 1)
    except Exception:  # whatever a damaged later frame makes Pillow raise
        image.seek(0)
        image.load()
        return None


def _unreadable(label, error: ValueError) -> str:
    """One line for a ValueError of Pillow's while reading the file ``label``."""
    if "MAX_TEXT" in str(error):
        # PngImagePlugin.MAX_TEXT_CHUNK / MAX_TEXT_MEMORY: a guard against decompression
        # bombs hidden in text or colour-profile chunks.
        return (
            f"{label}: its metadata (text or colour profile) inflates beyond what Pillow "
            f"reads, a guard against decompression bombs ({error}); save a copy without "
            "metadata if you trust the file"
        )
    return f"{label}: cannot read image, the file is damaged or truncated ({error})"


def image_size(path) -> tuple[int, int]:
    """``(height, width)`` of an image file from its header, without decoding the pixels.

    The EXIF orientation is not applied (the pixel count is the same either way), and no
    pixel limit is checked: this only reads the header.

    Parameters
    ----------
    path : str or Path
        The image file.

    Returns
    -------
    (int, int)
        Its height and width.
    """
    from PIL import UnidentifiedImageError

    path = named_source(path, pipes=False)
    if isinstance(path, (bytes, bytearray, memoryview)):  # a NUL in it: contents, as load_image
        raise TypeError(f"expected a file name, got {type(path).__name__}")
    path = Path(_existing_path(path, str(path)))  # as load_image says each
    if not path.is_file():  # a named pipe: reading its header would take its data
        raise ValueError(
            f"{path}: a named pipe, socket or device, not an image file (its header cannot "
            "be read without taking its data)"
        )
    try:
        with open_unchecked(path, sys.maxsize) as image:  # any size: its header only
            width, height = image.size
    except ValueError as error:
        raise ValueError(_unreadable(path, error)) from None
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        size = float_tiff_size(path)  # a float64 TIFF, which tifffile reads
        if size is None:
            raise ValueError(f"{path}: cannot read image header ({error})") from None
        width, height = size
    return height, width


def is_complete_image(path) -> bool:
    """Whether ``path`` is an image file that decodes completely (not empty or truncated).

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    bool
        True if it decodes completely.
    """

    path = named_source(path)
    try:
        with open_unchecked(path, sys.maxsize) as image, pillow_allows(image.size):
            load_checked(image, path)
    except Exception:  # any failure to decode means: not complete
        return False
    return True
