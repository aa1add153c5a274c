"""The connection's input and output as the server's handler reads and writes them.

A deadline on the request's headers, "100 Continue" sent when the body is first read, a
client gone while its answer is written said once, and header lines kept as they came (for
the checks the standard library's parser does not make).
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable

__all__ = ["ContinueOnRead", "DeadlineReader", "HeaderLines", "ReportedOnWrite", "malformed_header"]


class DeadlineReader(socket.SocketIO):
    """The connection's raw input, whose receives may have a deadline besides the idle timeout.

    Made without :meth:`socket.socket.makefile` (whose reference count it would need to
    give back); closing it leaves the socket to the server, which closes it.
    """

    deadline: float | None = None
    received = 0

    def __init__(self, sock: socket.socket, idle: float | None):
        super().__init__(sock, "rb")
        self._idle = idle

    def readinto(self, buffer) -> int | None:
        if self.deadline is not None:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the request's headers did not come in time")
            self._sock.settimeout(remaining if self._idle is None else min(remaining, self._idle))
        count = super().readinto(buffer)
        self.received += count or 0
        return count

    def end_deadline(self) -> None:
        if self.deadline is not None:
            self.deadline = None
            self._sock.settimeout(self._idle)


class ContinueOnRead:
    """The body of a request sent with ``Expect: 100-continue``, asked for at its first read.

    Such a client (curl for bodies over 1 MB) sends the body only after "100 Continue" or
    after waiting a second for it; the standard library's handler said nothing (it answers
    ``Expect`` only as an HTTP/1.1 server), so each such upload waited that second. The
    answer goes out when the application first reads the body: a request refused before
    (413 by its Content-Length) is answered at once, and its body is never sent.
    """

    def __init__(self, stream, wfile):
        self._stream = stream
        self._wfile = wfile
        self.pending = True  # the client waits for "100 Continue" before sending the body

    def _continue(self) -> None:
        if self.pending:
            self.pending = False
            self._wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self._wfile.flush()

    def read(self, *args):
        self._continue()
        return self._stream.read(*args)

    def read1(self, *args):
        self._continue()
        return self._stream.read1(*args)

    def readline(self, *args):
        self._continue()
        return self._stream.readline(*args)

    def readlines(self, *args):
        self._continue()
        return self._stream.readlines(*args)

    def __iter__(self):
        self._continue()
        return iter(self._stream)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)  # close() and the rest, as they are


class ReportedOnWrite:
    """The connection's output, on which a client gone or stopped is one line in the log.

    The standard library's handler dropped a request whose answer could not be written
    (the client closed its tab, or reset) without a word, and logged a traceback of
    ``TimeoutError`` for one that stopped reading it (a download put to sleep).
    """

    def __init__(self, stream, failed: Callable[[OSError], None]):
        self._stream = stream
        self._failed = failed  # says it in the log (once)

    def write(self, data):
        try:
            return self._stream.write(data)
        except OSError as error:
            self._failed(error)
            # The handler takes these as a client that closed abruptly: no traceback.
            raise ConnectionAbortedError(str(error)) from None

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


# One header line as RFC 9112 has it: a token, a colon, a value without CR, LF or NUL. The
# standard library's parser took a line without a colon for the end of the headers (those
# after it, Content-Length among them, were dropped), joined folded lines, split a line at a
# bare CR and kept NUL bytes: each a way for a proxy in front to read another request.
HEADER_LINE = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[^\r\n\x00]*\r?\n")


def malformed_header(lines: list[bytes]) -> str | None:
    """Why the request's header lines (up to the blank one) are refused, or None."""
    for line in lines:
        if line in (b"\r\n", b"\n", b"") or HEADER_LINE.fullmatch(line):
            continue
        shown = line.rstrip(b"\r\n")[:60].decode("latin-1")
        if line[:1] in (b" ", b"\t"):
            return f"a header line continues the one before (obs-fold): {shown!r}"
        if b"\x00" in line:
            return f"a header line has a NUL byte: {shown!r}"
        return f"a header line is not 'Name: value' on one line: {shown!r}"
    return None


class HeaderLines:
    """The connection's input while the headers are read, keeping the lines as they came."""

    def __init__(self, stream):
        self._stream = stream
        self.lines: list[bytes] = []

    def readline(self, *args) -> bytes:
        line = self._stream.readline(*args)
        self.lines.append(line)
        return line
