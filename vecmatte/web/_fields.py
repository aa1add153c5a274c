"""Reading a request: its body within the limits, its form fields, and the PNG answers."""

from __future__ import annotations

import io
import re
import sys
import time

import numpy as np

from vecmatte.cli._common import option_value  # the form reads options as --option does
from vecmatte.web._clients import request_label
from vecmatte.web._limits import HTTPError, Limits
from vecmatte.web._multipart import MultipartError, Part, parse_multipart

# A body must come at this average rate after a first grace period: a client trickling a
# byte every few seconds (each within the server's idle timeout) held its place among the
# admitted requests for as long as it liked, and ten such made the server answer every
# other request 503 "busy". By t seconds after its start, (t - 30) x 16 KiB must have come:
# 32 MiB (the default upload limit) may take 30 s + 34 min.
BODY_GRACE_SECONDS = 30.0
MIN_BODY_BYTES_PER_SECOND = 16 * 1024

# What /api/trimap reads, and /api/cutout or /api/foreground when given an alpha.
_TRIMAP_FIELDS = ("image", "trimap", "mask", "band", "scribbles")
_GIVEN_ALPHA_FIELDS = ("image", "alpha", "foreground_method", "trimap", "mask", "band", "scribbles")

__all__ = [
    "band",
    "body_length",
    "check_used",
    "default_method",
    "drain",
    "field_text",
    "foreground_method",
    "label",
    "methods",
    "option_value",
    "png",
    "read_form",
    "warning_headers",
]


def methods() -> list[tuple[str, str]]:
    """``(name, summary)`` of the alpha methods the library offers, in its order."""
    from vecmatte.alpha import METHODS

    return [(name, spec.summary) for name, spec in METHODS.items()]


def default_method(names: list[str]) -> str:
    from vecmatte import _defaults

    return _defaults.METHOD if _defaults.METHOD in names else names[0]


def to_uint8(array: np.ndarray) -> np.ndarray:
    """Float [0, 1] -> uint8 by rounding, as :func:`vecmatte.save_image` does."""
    return np.round(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8)


def png(array: np.ndarray, icc_profile: bytes | None = None) -> bytes:
    """``array`` as an 8-bit PNG; ``icc_profile`` (the photograph's) embedded if given."""
    from PIL import Image

    buffer = io.BytesIO()
    extra = {} if icc_profile is None else {"icc_profile": icc_profile}
    Image.fromarray(to_uint8(array)).save(buffer, format="PNG", compress_level=1, **extra)
    return buffer.getvalue()


def field_text(part: Part, limit: int = 200) -> str:
    if part.filename is not None:
        raise HTTPError(400, f"form field {part.name!r} must be text, not a file")
    try:
        text = part.data.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPError(400, f"form field {part.name!r} is not UTF-8 text") from None
    if len(text) > limit:
        raise HTTPError(400, f"form field {part.name!r} is longer than {limit} characters")
    return text


def band(parts: dict[str, Part]) -> int:
    """The ``band`` field: the unknown band's width, in pixels, made from a mask."""
    if "band" not in parts:
        return 10
    text = field_text(parts["band"]).strip()
    if not re.fullmatch(r"[0-9]{1,4}", text) or int(text) < 1:
        raise HTTPError(
            422, f"band must be a whole number of pixels from 1 to 9999, got {text[:20]!r}"
        )
    return int(text)


def foreground_method(parts: dict[str, Part]) -> str:
    """The ``foreground_method`` field: a key of ``FOREGROUND_METHODS``, or ``none``."""
    from vecmatte.foreground import FOREGROUND_METHODS

    name = field_text(parts["foreground_method"]).strip() if "foreground_method" in parts else "ml"
    if name != "none" and name not in FOREGROUND_METHODS:
        raise HTTPError(
            422,
            f"foreground_method must be one of {', '.join([*FOREGROUND_METHODS, 'none'])}, "
            f"not {name[:20]!r}",
        )
    return name


def label(part: Part) -> str:
    """How an upload is named in messages: its field, and the client's file name if sane."""
    name = part.filename or ""
    name = re.sub(r"[^\w.\- ]", "_", name.replace("\\", "/").rsplit("/", 1)[-1])[:60]
    return f"{part.name} ({name})" if name else part.name


def check_used(parts: dict[str, Part], path: str) -> None:
    """Refuse a field the request does not use: it was ignored without a word.

    ``band`` with a trimap answered as if a band were made, ``method`` on ``/api/trimap``
    or with an ``alpha`` given as if a matte were computed by it.
    """
    if "band" in parts and "mask" not in parts:
        raise HTTPError(
            400,
            "'band' is the width of the band made from a 'mask': send the mask, or leave it out",
        )
    if path == "/api/alpha":
        unused = [name for name in ("alpha", "foreground_method") if name in parts]
    elif path == "/api/trimap":
        unused = [name for name in parts if name not in _TRIMAP_FIELDS]
    elif "alpha" in parts:
        # A trimap, mask or scribbles besides are refused by name (_given_alpha).
        unused = [name for name in parts if name not in _GIVEN_ALPHA_FIELDS]
        if unused:
            raise HTTPError(
                400,
                f"with an 'alpha' given, no matte is computed: {path} does not use "
                f"{' and '.join(map(repr, unused))}; leave {'it' if len(unused) == 1 else 'them'} "
                "out, or send a trimap instead of the alpha",
            )
    else:
        unused = []
    if unused:
        raise HTTPError(
            400,
            f"{path} does not use {' and '.join(map(repr, unused))}; leave "
            f"{'it' if len(unused) == 1 else 'them'} out",
        )


def drain(environ: dict, limits: Limits) -> None:
    """Read and drop up to a bounded part of a refused body, so the client sees the answer.

    Closing a socket with unread data resets the connection, and a client still sending
    would lose the error; a body far over the limit is not read to its end.
    """
    if environ.get("vecmatte.body_read"):
        return
    environ["vecmatte.body_read"] = True
    if getattr(environ["wsgi.input"], "pending", False):
        return  # a client waiting for "100 Continue" has sent no body: it gets the answer
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    stream = environ["wsgi.input"]
    remaining = min(length, 2 * limits.max_upload_bytes)
    while remaining > 0:
        try:
            chunk = stream.read(min(remaining, 1 << 16))
        except OSError:  # the client went silent (timeout) or away: nothing more to read
            break
        if not chunk:
            break
        remaining -= len(chunk)
    if remaining == 0 and length <= 2 * limits.max_upload_bytes:
        _all_read(environ)


def _all_read(environ: dict) -> None:
    """Tell vecmatte.web.server the body was read to its end (no more input to wait for)."""
    environ.get("vecmatte.connection", {})["body_read"] = True


def body_length(environ: dict, limits: Limits) -> int:
    """The request body's length from its headers, within the limits, or an HTTPError.

    Known before a byte of the body is read: what the request will hold is reserved by it.
    """
    text = environ.get("CONTENT_LENGTH", "").strip()
    if environ.get("HTTP_TRANSFER_ENCODING"):
        # It overrides Content-Length (RFC 9112 6.3), and chunks are not read here: the
        # chunks' framing was read as the form.
        raise HTTPError(
            411,
            "the body is sent with Transfer-Encoding "
            f"({environ['HTTP_TRANSFER_ENCODING'][:40]!r}), which this server does not read; "
            "send the form with a Content-Length only",
        )
    if not text:
        raise HTTPError(411, "the request has no Content-Length; send the form with one")
    if "," in text:
        # vecmatte.web.server joins repeated headers (the standard library took the first,
        # where a proxy in front may take the last).
        raise HTTPError(400, f"Content-Length is given more than once ({text[:40]}); send one")
    # HTTP's 1*DIGIT: int() also read "6_5", "+65" and other scripts' digits, a length that
    # a proxy in front of the server would not agree on.
    if not (text.isascii() and text.isdigit()):
        # "-1" was "not a number"; it is one, only not a length.
        negative = text[:1] == "-" and text[1:].isascii() and text[1:].isdigit()
        raise HTTPError(
            400,
            f"Content-Length is {'negative' if negative else 'not a number of bytes'}: "
            f"{text[:40]!r}; it is the body's size in bytes, digits 0-9 only",
        )
    digits = text.lstrip("0") or "0"
    if len(digits) > 18:
        # Beyond any body (and int() refuses more than 4300 digits: that was a 500).
        raise HTTPError(
            413,
            f"the request body's Content-Length has {len(digits)} digits, more than the limit "
            f"of {limits.max_upload_bytes:,} bytes (vecmatte serve --max-upload-bytes)",
        )
    length = int(digits)
    if length > limits.max_upload_bytes:
        drain(environ, limits)
        raise HTTPError(
            413,
            f"the request body has {length:,} bytes, more than the limit of "
            f"{limits.max_upload_bytes:,} (vecmatte serve --max-upload-bytes)",
        )
    content_type = environ.get("CONTENT_TYPE", "")
    if not content_type.lower().startswith("multipart/form-data"):
        drain(environ, limits)
        raise HTTPError(
            415,
            f"send the inputs as multipart/form-data, not {content_type[:60] or 'no type'}"
            " (an HTML form with enctype=multipart/form-data, or curl -F image=@photo.png)",
        )
    if length == 0:
        raise HTTPError(400, "the request body is empty; send an image and a trimap")
    return length


def read_form(environ: dict, length: int) -> dict[str, Part]:
    """The request's ``multipart/form-data`` fields, or an HTTPError.

    ``length`` is the body's length as :func:`body_length` found it within the limits (the
    caller needs it first, to reserve the body's memory).
    """
    stream = environ["wsgi.input"]
    content_type = environ["CONTENT_TYPE"]
    environ["vecmatte.body_read"] = True
    # One buffer the size of the body, filled as it comes: the chunks and their join held it
    # twice (and parse_multipart copies only the parts' data out of it).
    body, received = bytearray(length), 0
    # read1 returns what one receive brought, so that the deadline is looked at between
    # receives (read blocks until it has all it asked for); not every WSGI input has it.
    read = getattr(stream, "read1", None) or stream.read
    start = time.monotonic()
    while received < length:
        # The pace is kept from the start, not only by the end: with a deadline for the
        # whole body, a byte a second within a 32 MiB Content-Length held its place 35 min.
        if time.monotonic() > start + BODY_GRACE_SECONDS + received / MIN_BODY_BYTES_PER_SECOND:
            raise HTTPError(
                408,
                f"the body of {length:,} bytes came too slowly ({received:,} bytes in "
                f"{time.monotonic() - start:.0f} s; the server takes at least "
                f"{MIN_BODY_BYTES_PER_SECOND:,} bytes a second on average); send it again",
            )
        try:
            chunk = read(min(length - received, 1 << 20))
        except TimeoutError:
            # The server's idle timeout (vecmatte.web.server.IDLE_SECONDS): the request gives
            # back its place instead of holding it while the client stays silent.
            raise HTTPError(
                408, f"the body of {length:,} bytes stopped coming before its end; send it again"
            ) from None
        except OSError as error:
            # The client went away mid-upload (reset, broken pipe): nothing is wrong with the
            # server, so its log gets one line instead of an "internal error" traceback; the
            # answer (400) reaches a client that only half-closed its connection.
            reason = error.strerror or type(error).__name__
            message = (
                f"the connection broke while the body of {length:,} bytes was being sent "
                f"({reason[0].lower()}{reason[1:]})"
            )
            print(
                f"vecmatte serve: {environ.get('REMOTE_ADDR', '-')} "
                f"{request_label(environ)}: {message}",
                file=environ.get("wsgi.errors", sys.stderr),
            )
            # vecmatte.web.server says nothing more when the answer cannot be written either.
            environ.get("vecmatte.connection", {})["reported"] = True
            raise HTTPError(400, f"{message}; send it again") from None
        if not chunk:
            break
        body[received : received + len(chunk)] = chunk
        received += len(chunk)
    if received < length:
        raise HTTPError(
            400, f"the body ended after {received:,} of {length:,} bytes (Content-Length)"
        )
    _all_read(environ)
    try:
        return parse_multipart(body, content_type)
    except MultipartError as error:
        raise HTTPError(400, f"malformed form: {error}") from None


def warning_headers(caught: list) -> list[tuple[str, str]]:
    """One ``X-Vecmatte-Warning`` header per warning of the request, in order, once each.

    The library's warnings (conjugate gradient stopped early, a trimap with no unknown
    pixels, an upload's alpha channel ignored ...) are about the page user's matte: the
    server's log is not where they look, and it shows a warning once per place, not per
    request. A header holds one line of Latin-1: characters beyond ASCII are written as ``?``.
    """
    notes = []
    for warning in caught:
        if issubclass(warning.category, (UserWarning, RuntimeWarning)):
            note = " ".join(str(warning.message).encode("ascii", "replace").decode().split())
            if note not in notes:
                notes.append(note)
    return [("X-Vecmatte-Warning", note) for note in notes]
