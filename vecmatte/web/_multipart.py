"""A strict, small parser of ``multipart/form-data`` bodies (RFC 7578), standard library only.

The ``cgi`` module that used to do this is gone from Python 3.13; ``email`` parses whole MIME
messages but is lenient where a server should not be. Bodies are already bounded in size by
the caller, so the body is cut in memory, by offsets (each part's data copied once).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.utils import collapse_rfc2231_value

__all__ = ["MultipartError", "Part", "parse_header_value", "parse_multipart"]

# More parts than any form of the page or the API has; a body of thousands of tiny parts is
# refused before it costs anything.
MAX_PARTS = 32
_MAX_HEADER_BYTES = 8192
# What may follow the boundary on a delimiter line (RFC 2046 5.1.1): transport padding
# (spaces and tabs a gateway may add), then CRLF; or, being cut off, the start of either.
_PADDING_CRLF = re.compile(rb"[ \t]*\r\n")
_CUT_OFF = re.compile(rb"[ \t]*\r?|-")


class MultipartError(ValueError):
    """The body is not well-formed ``multipart/form-data``."""


@dataclass(frozen=True)
class Part:
    """One field of a form: its name, the client's file name if it is a file, its bytes."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes


def parse_header_value(value: str) -> tuple[str, dict[str, str]]:
    """``'form-data; name="x"'`` -> ``("form-data", {"name": "x"})`` (RFC 2231 aware).

    Raises :class:`MultipartError` if the parameters cannot be decoded.
    """
    message = Message()
    message["x-header"] = value
    try:
        params = message.get_params(header="x-header") or []
    except Exception:
        # email decodes RFC 2231 parameters leniently, and raises whatever its internals
        # meet on some malformed ones ("boundary*;boundary*23": TypeError); a client's
        # header is never a reason for a 500.
        raise MultipartError(f"malformed parameters in {value[:80]!r}") from None
    main = params[0][0].lower() if params else ""
    extra: dict[str, str] = {}
    for key, raw in params[1:]:
        # RFC 2231 / 5987 (filename*=UTF-8''na%C3%AFve.png): (charset, language, text), the
        # text's bytes decoded with its charset (undecodable bytes as U+FFFD; an unknown
        # charset leaves them as Latin-1). Such a value wins over the plain one (RFC 6266).
        extra[key.lower()] = raw if isinstance(raw, str) else collapse_rfc2231_value(raw)
    return main, extra


def _boundary(content_type: str) -> bytes:
    kind, params = parse_header_value(content_type)
    if kind != "multipart/form-data":
        raise MultipartError(f"expected multipart/form-data, got {kind or 'no content type'}")
    boundary = params.get("boundary", "")
    try:
        encoded = boundary.encode("latin-1")  # as the header's bytes came
    except UnicodeEncodeError:  # only from an RFC 2231 boundary*=UTF-8''...
        encoded = b""
    if not 1 <= len(encoded) <= 70:
        raise MultipartError(
            "multipart/form-data without a valid boundary parameter (1 to 70 characters)"
        )
    return encoded


def _part(body: bytes | bytearray, begin: int, end: int) -> Part:
    """The part ``body[begin:end]``; its data is the only copy made."""
    separator = body.find(b"\r\n\r\n", begin, end)
    if separator < 0:
        raise MultipartError("a form part has no header/body separator")
    if separator - begin > _MAX_HEADER_BYTES:
        # Said apart: "no separator" sent the client looking for a separator it had sent.
        raise MultipartError(
            f"a form part's headers are longer than {_MAX_HEADER_BYTES} bytes "
            f"({separator - begin:,})"
        )
    headers: dict[str, str] = {}
    for line in bytes(body[begin:separator]).decode("utf-8", "replace").split("\r\n"):
        key, colon, value = line.partition(":")
        if not colon:
            raise MultipartError(f"malformed header line in a form part: {line[:60]!r}")
        headers[key.strip().lower()] = value.strip()
    disposition, params = parse_header_value(headers.get("content-disposition", ""))
    if disposition != "form-data" or not params.get("name"):
        raise MultipartError("a form part has no Content-Disposition: form-data; name=...")
    with memoryview(body) as view:
        data = bytes(view[separator + 4 : end])
    return Part(params["name"], params.get("filename"), headers.get("content-type"), data)


def parse_multipart(body: bytes | bytearray, content_type: str) -> dict[str, Part]:
    """Parse a ``multipart/form-data`` body into its parts by field name.

    Parameters
    ----------
    body : bytes or bytearray
        The whole request body.
    content_type : str
        The request's ``Content-Type`` header (with its ``boundary``).

    Returns
    -------
    dict
        Field name -> :class:`Part`.

    Raises
    ------
    MultipartError
        If the content type is not ``multipart/form-data``, the body is not delimited by
        its boundary, a part is malformed, a field repeats, or there are too many parts.

    Notes
    -----
    The body is cut by offsets: each part's data is copied once, and nothing else of the
    body is (splitting it, then slicing each piece, held six copies of a 32 MiB upload at
    once, 192 MiB).

    As RFC 2046 5.1.1 writes it: a preamble before the first boundary line and an epilogue
    after the closing one are ignored (whatever they hold); a boundary line is a line that
    begins with ``--boundary``, and may end with transport padding (spaces, tabs) before
    its CRLF. A form without fields (``--boundary--``) is an empty dict.
    """
    delimiter = b"--" + _boundary(content_type)
    separator = b"\r\n" + delimiter
    if body.startswith(delimiter):
        at = len(delimiter)
    else:
        found = body.find(separator)  # after a preamble
        if found < 0:
            raise MultipartError("the body does not contain the multipart boundary")
        at = found + len(separator)
    parts: dict[str, Part] = {}
    # `at` is just after a boundary: either "--" (the close delimiter; the rest is the
    # epilogue), or padding, CRLF and a part, up to the next boundary line.
    while not body.startswith(b"--", at):
        line = _PADDING_CRLF.match(body, at)
        if line is None:
            if _CUT_OFF.fullmatch(body, at):
                raise MultipartError("the multipart body is truncated (no closing boundary)")
            raise MultipartError("malformed multipart boundary line")
        end = body.find(separator, line.end())
        if end < 0:
            raise MultipartError("the multipart body is truncated (no closing boundary)")
        if len(parts) == MAX_PARTS:
            raise MultipartError(f"too many form parts (more than {MAX_PARTS})")
        part = _part(body, line.end(), end)
        if part.name in parts:
            raise MultipartError(f"form field {part.name!r} is given more than once")
        parts[part.name] = part
        at = end + len(separator)
    return parts
