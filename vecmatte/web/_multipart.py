"""A strict, small parser of ``multipart/form-data`` bodies (RFC 7578), standard library only.

The ``cgi`` module that used to do this is gone from Python 3.13; ``email`` parses whole MIME
messages but is lenient where a server should not be. Bodies are already bounded in size by
the caller, so the body is cut in memory, by offsets (each part's data copied once).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message

__all__ = ["MultipartError", "Part", "parse_header_value", "parse_multipart"]

# More parts than any form of the page or the API has; a body of thousands of tiny parts is
# refused before it costs anything.
MAX_PARTS = 32
_MAX_HEADER_BYTES = 8192


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
    """``'form-data; name="x"'`` -> ``("form-data", {"name": "x"})`` (RFC 2231 aware)."""
    message = Message()
    message["x-header"] = value
    params = message.get_params(header="x-header") or []
    main = params[0][0].lower() if params else ""
    extra: dict[str, str] = {}
    for key, raw in params[1:]:
        text = raw if isinstance(raw, str) else raw[2]  # RFC 2231: (charset, language, text)
        extra[key.lower()] = text
    return main, extra


def _boundary(content_type: str) -> bytes:
    kind, params = parse_header_value(content_type)
    if kind != "multipart/form-data":
        raise MultipartError(f"expected multipart/form-data, got {kind or 'no content type'}")
    boundary = params.get("boundary", "")
    if not 1 <= len(boundary) <= 70:
        raise MultipartError("multipart/form-data without a valid boundary parameter")
    return boundary.encode("latin-1")


def _part(body: bytes | bytearray, begin: int, end: int) -> Part:
    """The part ``body[begin:end]``; its data is the only copy made."""
    separator = body.find(b"\r\n\r\n", begin, end)
    if separator < 0 or separator - begin > _MAX_HEADER_BYTES:
        raise MultipartError("a form part has no header/body separator")
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
    """
    delimiter = b"--" + _boundary(content_type)
    separator = b"\r\n" + delimiter
    begin = 0
    if not body.startswith(delimiter):
        # RFC 2046 allows a preamble; browsers and HTTP clients never send one.
        begin = body.find(separator)
        if begin < 0:
            raise MultipartError("the body does not contain the multipart boundary")
        begin += 2
    # The pieces between separators, as body.split(separator) would give them, by offsets;
    # beyond MAX_PARTS + 1 of them only counted (the body is refused).
    pieces: list[list[int]] = []
    count = 0
    while True:
        found = body.find(separator, begin)
        end = len(body) if found < 0 else found
        count += 1
        last = [begin, end]
        if count <= MAX_PARTS + 1:
            pieces.append(last)
        if found < 0:
            break
        begin = found + len(separator)
    first = pieces[0]
    if not (
        (first[1] - first[0] == len(delimiter) and body.startswith(delimiter, *first))
        or body.startswith(delimiter + b"\r\n", *first)
    ):
        raise MultipartError("the body does not start with the multipart boundary")
    first[0] += len(delimiter)  # the last piece too, when it is the first
    if not body.startswith(b"--", *last):
        raise MultipartError("the multipart body is truncated (no closing boundary)")
    if count - 1 > MAX_PARTS:
        raise MultipartError(f"too many form parts ({count - 1}; at most {MAX_PARTS})")
    parts: dict[str, Part] = {}
    for begin, end in pieces[:-1]:
        if not body.startswith(b"\r\n", begin, end):
            raise MultipartError("malformed multipart boundary line")
        part = _part(body, begin + 2, end)
        if part.name in parts:
            raise MultipartError(f"form field {part.name!r} is given more than once")
        parts[part.name] = part
    return parts
