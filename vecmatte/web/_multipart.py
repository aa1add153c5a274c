"""A strict, small parser of ``multipart/form-data`` bodies (RFC 7578), standard library only.

The ``cgi`` module that used to do this is gone from Python 3.13; ``email`` parses whole MIME
messages but is lenient where a server should not be. Bodies are already bounded in size by
the caller, so the body is split in memory.
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


def _part(raw: bytes) -> Part:
    head, separator, data = raw.partition(b"\r\n\r\n")
    if not separator or len(head) > _MAX_HEADER_BYTES:
        raise MultipartError("a form part has no header/body separator")
    headers: dict[str, str] = {}
    for line in head.decode("utf-8", "replace").split("\r\n"):
        key, colon, value = line.partition(":")
        if not colon:
            raise MultipartError(f"malformed header line in a form part: {line[:60]!r}")
        headers[key.strip().lower()] = value.strip()
    disposition, params = parse_header_value(headers.get("content-disposition", ""))
    if disposition != "form-data" or not params.get("name"):
        raise MultipartError("a form part has no Content-Disposition: form-data; name=...")
    return Part(params["name"], params.get("filename"), headers.get("content-type"), data)


def parse_multipart(body: bytes, content_type: str) -> dict[str, Part]:
    """Parse a ``multipart/form-data`` body into its parts by field name.

    Parameters
    ----------
    body : bytes
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
    """
    delimiter = b"--" + _boundary(content_type)
    if not body.startswith(delimiter):
        # RFC 2046 allows a preamble; browsers and HTTP clients never send one.
        start = body.find(b"\r\n" + delimiter)
        if start < 0:
            raise MultipartError("the body does not contain the multipart boundary")
        body = body[start + 2 :]
    chunks = body.split(b"\r\n" + delimiter)
    first = chunks[0]
    if first != delimiter and not first.startswith(delimiter + b"\r\n"):
        raise MultipartError("the body does not start with the multipart boundary")
    chunks[0] = first[len(delimiter) :]
    if not chunks[-1].startswith(b"--"):
        raise MultipartError("the multipart body is truncated (no closing boundary)")
    if len(chunks) - 1 > MAX_PARTS:
        raise MultipartError(f"too many form parts ({len(chunks) - 1}; at most {MAX_PARTS})")
    parts: dict[str, Part] = {}
    for chunk in chunks[:-1]:
        if not chunk.startswith(b"\r\n"):
            raise MultipartError("malformed multipart boundary line")
        part = _part(chunk[2:])
        if part.name in parts:
            raise MultipartError(f"form field {part.name!r} is given more than once")
        parts[part.name] = part
    return parts
