"""Serving the application with the standard library: a threading ``wsgiref`` server.

``vecmatte serve`` (and ``python -m vecmatte.web``) parse their options with
:func:`add_arguments` and start with :func:`run`; :func:`make_server` gives the server
object itself, for tests and embedding.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from vecmatte.web._streams import (
    ContinueOnRead,
    DeadlineReader,
    HeaderLines,
    ReportedOnWrite,
    malformed_header,
)

__all__ = ["add_arguments", "make_server", "run", "serve"]


class _Once:
    """``function()`` on the first call only (thread-safe); later calls do nothing."""

    def __init__(self, function: Callable[[], None]):
        self._function = function
        self._first = threading.Lock()

    def __call__(self) -> None:
        if self._first.acquire(blocking=False):
            self._function()


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    """One thread per connection, at most ``max_connections`` of them (the app bounds the
    solves); threads die with the server."""

    daemon_threads = True
    block_on_close = False
    # A burst of connections (a page's downloads, a load test) should queue, not be refused.
    request_queue_size = 64
    max_connections = 100  # make_server sets it
    _connections: threading.BoundedSemaphore | None = None

    def server_bind(self) -> None:
        # HTTPServer.server_bind asks DNS for the host's full name, which can stall for
        # seconds on a machine without a resolver; the bound address is all we need.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = host
        self.server_port = port
        self.setup_environ()

    def process_request(self, request, client_address) -> None:
        # Each connection had its thread, uncapped: a client that opened 10 000 connections
        # and sent nothing got 10 000 threads (each up to its idle timeout). Beyond the cap
        # a connection is answered 503 at once, from this thread, and closed.
        if self._connections is None:
            self._connections = threading.BoundedSemaphore(self.max_connections)
        if not self._connections.acquire(blocking=False):
            self._refuse(request)
            return
        # The place is given back once, by the connection's thread or, if it never ran, here.
        # Ctrl-C can come while start() waits for a thread that did start: giving the place
        # back here and there raised "Semaphore released too many times", which took the
        # KeyboardInterrupt's place, so the server went on serving (and printed a traceback).
        give_back = _Once(self._connections.release)
        thread = threading.Thread(
            target=self._serve_connection, args=(request, client_address, give_back), daemon=True
        )
        try:
            thread.start()
        except BaseException:
            give_back()
            raise

    def _serve_connection(self, request, client_address, give_back: Callable[[], None]) -> None:
        try:
            self.process_request_thread(request, client_address)  # ThreadingMixIn's
        finally:
            give_back()

    def _refuse(self, request: socket.socket) -> None:
        body = json.dumps(
            {
                "error": f"the server has {self.max_connections} connections open, its "
                "limit; try again"
            }
        ).encode()
        head = (
            "HTTP/1.0 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nRetry-After: 2\r\nConnection: close\r\n\r\n"
        )
        try:
            # Never blocking the accepting thread: a fresh socket's send buffer takes it.
            request.setblocking(False)
            request.send(head.encode() + body)
        except OSError:
            pass
        self.shutdown_request(request)


# Seconds a connection may send nothing while its request is read (the socket's timeout).
# Without one, a client gone silent mid-upload (a laptop put to sleep, a dropped network)
# held its place among the admitted requests for ever: nine of them and every later request
# was answered 503 "busy" until the server was restarted.
IDLE_SECONDS = 30.0
# Seconds from a connection's opening to the end of its request's headers. The idle timeout
# bounds each receive only: a client trickling its headers a byte every 29 s held its
# connection (and its thread) for as long as it liked.
HEADER_SECONDS = 20.0
# Connections served at once; more are answered 503 and closed. The cap protects the process,
# not availability: one client reopening connections can hold all of them, and no cap per
# address would stop it (on 127.0.0.1 every client, the page's own included, is one address;
# on a network, many users behind one NAT are).
MAX_CONNECTIONS = 100
# Seconds the input a client still sends after its answer is read and dropped before the
# connection is closed (see _Handler.finish), and at most how many bytes.
LINGER_SECONDS = 2.0
LINGER_BYTES = 64 * 2**20
# A request target in absolute form: scheme "://" (RFC 3986 3.1), never an origin-form path.
_ABSOLUTE_FORM = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


class _Handler(WSGIRequestHandler):
    quiet = False
    timeout = IDLE_SECONDS  # StreamRequestHandler sets it on the connection's socket
    # Assumed until the request line is read: a refusal of a malformed one (HTTP/0.9,
    # the base class's default) was sent without a status line or headers.
    default_request_version = "HTTP/1.0"
    _environ: dict | None = None
    target_host: str | None = None  # the request line's host (absolute form), if it has one

    def send_error(self, code: int, message: str | None = None, explain=None) -> None:
        """Refusals of the handler itself (a malformed request line, too many headers, a
        URI too long) as JSON ``{"error": ...}`` in one line, as the application's are
        (the base class sent an HTML page)."""
        if message is None:
            message = self.responses.get(code, ("error",))[0]
        self.log_error("code %d, message %s", code, message)
        self.send_response(code, message)
        self.send_header("Connection", "close")
        body = json.dumps({"error": " ".join(str(message).split())}).encode()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def setup(self) -> None:
        super().setup()
        self.wfile = ReportedOnWrite(self.wfile, self.answer_failed)
        self.rfile.close()  # the base class's, replaced by one whose receives have a deadline
        self._reader = DeadlineReader(self.connection, self.timeout)
        self._reader.deadline = time.monotonic() + HEADER_SECONDS
        self.rfile = io.BufferedReader(self._reader)

    def handle(self) -> None:
        # As the base class does for a URI too long, so that a refusal can say its status.
        self.requestline, self.request_version, self.command = "", "", ""
        try:
            if self.rfile.peek(1)[:1] == b"\x16":  # a TLS handshake record
                self._refuse_tls()
                return
            super().handle()
        except TimeoutError:
            # Only the request line and headers are read outside the application (which
            # answers a body's timeout itself): the base class let this out as a 20-line
            # traceback in the log for every connection opened and left idle.
            if not self._reader.received:
                return  # nothing was asked (a browser's unused spare connection)
            try:
                self.send_error(
                    408,
                    f"the request line and headers did not come within {HEADER_SECONDS:g} s "
                    f"(or stopped for {self.timeout:g} s)",
                )
            except OSError:
                pass

    def finish(self) -> None:
        super().finish()
        self._linger()

    def _linger(self) -> None:
        """Read and drop what the client is still sending once its answer is written.

        Closing a socket with unread input resets the connection, and a client still sending
        lost its answer: a GET with a body (the page's answer was written before the body
        was read, as a GET's body means nothing), bytes after a POST's Content-Length. The
        client gets the end of the answer first (half-close), then its input is read until it
        closes, for :data:`LINGER_SECONDS` at most. Nothing waiting: closed at once.
        """
        connection = self.connection
        try:
            connection.settimeout(0)
            if not connection.recv(1 << 16):
                return  # the client closed its side: nothing to reset
        except BlockingIOError:
            # Nothing came yet: a body may still be on its way (the answer can be written
            # before its first byte came), unless it was read or there is none.
            if not self._body_unread():
                return
        except OSError:  # the client went away
            return
        with contextlib.suppress(OSError):
            connection.shutdown(socket.SHUT_WR)
            end, dropped = time.monotonic() + LINGER_SECONDS, 0
            while dropped < LINGER_BYTES and (left := end - time.monotonic()) > 0:
                connection.settimeout(left)
                chunk = connection.recv(1 << 16)
                if not chunk:
                    break
                dropped += len(chunk)

    def _body_unread(self) -> bool:
        """Whether the request announced a body that the application did not read to its end."""
        headers = getattr(self, "headers", None)
        if headers is None or self._environ is None:
            return False  # refused before its headers were read
        announced = headers.get("Transfer-Encoding") or headers.get("Content-Length", "0")
        return announced.strip() not in ("", "0") and not self._environ.get(
            "vecmatte.connection", {}
        ).get("body_read")

    def _refuse_tls(self) -> None:
        """Close an https connection, saying once in the log which address to open instead.

        A browser sent to https://127.0.0.1:8000 showed only its own protocol error, and
        the log had two lines of the handshake's bytes as a "request" (or nothing for 20 s:
        a handshake without a newline byte waited for the end of its "request line").
        """
        if getattr(self.server, "tls_said", False):
            return
        self.server.tls_said = True
        url = _address_url(*self.server.server_address[:2])
        sys.stderr.write(
            f"vecmatte serve: {self.address_string()} opened an https (TLS) connection; this "
            f"server speaks plain http: open {url} (put a TLS proxy in front for https; said "
            "once, later ones are closed without a word)\n"
        )

    def answer_failed(self, error: OSError) -> None:
        """One line for an answer that could not be written (once, never a traceback)."""
        environ = self._environ if self._environ is not None else {}
        # Shared with the application's copy of the environ, whose reading of the body
        # may have said already that the connection broke.
        connection = environ.setdefault("vecmatte.connection", {})
        if connection.get("reported"):
            return
        connection["reported"] = True
        if isinstance(error, TimeoutError):
            what = f"the client stopped reading for {self.timeout:g} s"
        else:
            reason = error.strerror or type(error).__name__
            what = f"the client went away ({reason[0].lower()}{reason[1:]})"
        from vecmatte.web._clients import request_label

        request = request_label(environ)
        sys.stderr.write(
            f"vecmatte serve: {self.address_string()} {request}: {what}; its answer was not sent\n"
        )

    def parse_request(self) -> bool:
        rfile = self.rfile
        self.rfile = read = HeaderLines(rfile)  # the base class reads the headers from it
        try:
            parsed = super().parse_request()
        finally:
            self.rfile = rfile
            self._reader.end_deadline()  # the body has its own pace (vecmatte.web._fields)
        if not parsed:
            return False
        problem = malformed_header(read.lines)
        if problem is None and b"\x00" in self.raw_requestline:
            problem = "the request line has a NUL byte"
        if problem is None:
            problem = self._origin_form()
        if problem is not None:
            self.send_error(400, problem)
            return False
        # The base class looks at Expect only when the server speaks HTTP/1.1 (this one
        # answers in HTTP/1.0, one request per connection).
        expect = self.headers.get("Expect", "").lower() == "100-continue"
        if expect and self.request_version >= "HTTP/1.1":
            self.rfile = ContinueOnRead(self.rfile, self.wfile)
        return True

    def _origin_form(self) -> str | None:
        """Take an absolute-form target (``GET http://host:8000/ HTTP/1.1``) apart, or say why not.

        RFC 9112 3.2.2: a server MUST accept it (clients talking to a proxy send it), and the
        host of the request line replaces the Host header's, to be checked as Host is: the
        standard library took the whole URL for the path (404).
        """
        self.target_host = None
        if not _ABSOLUTE_FORM.match(self.path):
            return None
        from vecmatte.web._hosts import HOST

        try:  # "http://[::1/" and names Unicode folds into "/" or "?" are a ValueError
            parts = urlsplit(self.path, allow_fragments=False)
        except ValueError:
            parts = None
        if (
            parts is None
            or parts.scheme.lower() not in ("http", "https")
            or not HOST.fullmatch(parts.netloc)
        ):
            return f"the request line's target is not an http URL of a host: {self.path[:100]!r}"
        self.target_host = parts.netloc
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return None

    def client_gone(self) -> bool:
        """Whether the client has closed (or reset) its connection, asked without waiting.

        Called by the application while it solves, after the request has been read: the
        end of the connection's input then means the client left (a closed tab, a stroke
        that replaced the page's request). A client that only half-closes its side after
        sending the request is taken as gone too; HTTP clients keep it open for the answer.
        """
        connection = self.connection
        timeout = connection.gettimeout()
        try:
            connection.settimeout(0)  # a peek that never waits (the timeout would wait)
            return connection.recv(1, socket.MSG_PEEK) == b""
        except BlockingIOError:
            return False  # nothing to read: still there
        except OSError:
            return True  # reset, or closed
        finally:
            with contextlib.suppress(OSError):
                connection.settimeout(timeout)

    def get_environ(self) -> dict:
        environ = self._environ = super().get_environ()
        environ["vecmatte.connection"] = {"reported": False}
        environ["vecmatte.client_gone"] = self.client_gone
        # An HTTP/1.1 request without Host stays without (400, RFC 9112 3.2).
        if self.target_host is not None and (
            "Host" in self.headers or self.request_version < "HTTP/1.1"
        ):
            environ["HTTP_HOST"] = self.target_host
        # The standard library takes the first of repeated Content-Length headers (a proxy
        # in front may take the last): all of them go to the application, which refuses two.
        lengths = self.headers.get_all("Content-Length") or []
        if len(lengths) > 1:
            environ["CONTENT_LENGTH"] = ", ".join(lengths)
        return environ

    def log_message(self, format: str, *args) -> None:
        if not self.quiet:
            from vecmatte.web._clients import LOG_ESCAPES

            message = (format % args).translate(LOG_ESCAPES)
            sys.stderr.write(f"vecmatte serve: {self.address_string()} {message}\n")


def make_server(
    app: Callable,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    quiet: bool = False,
    max_connections: int = MAX_CONNECTIONS,
) -> WSGIServer:
    """A threading WSGI server of ``app`` bound to ``host:port`` (port 0: any free port).

    Parameters
    ----------
    app : callable
        A PEP 3333 application, such as :func:`vecmatte.web.create_app`'s.
    host, port : str, int
        Where to listen; ``127.0.0.1`` keeps the server to this machine.
    quiet : bool
        Do not log each request on standard error.
    max_connections : int
        Connections served at once (each has a thread), at least 1; more are answered 503
        and closed.

    Returns
    -------
    wsgiref.simple_server.WSGIServer
        Call ``serve_forever()`` on it, and ``shutdown()`` + ``server_close()`` to stop;
        ``server_port`` is the port actually bound.
    """
    # 0 refused every connection (503), a negative number failed on each with a traceback.
    if isinstance(max_connections, bool) or not isinstance(max_connections, int):
        raise TypeError(f"max_connections must be an int, got {max_connections!r}")
    if max_connections < 1:
        raise ValueError(f"max_connections must be at least 1, got {max_connections}")
    handler = type("Handler", (_Handler,), {"quiet": quiet})
    server_class = _ThreadingWSGIServer
    if ":" in host:  # an IPv6 address such as ::1
        server_class = type("IPv6Server", (server_class,), {"address_family": socket.AF_INET6})
    server = server_class((host, port), handler)
    server.max_connections = max_connections
    server.set_app(app)
    return server


# Addresses that listen on every interface, and the one of this machine a browser opens
# instead: a wildcard names no host to connect to (Chrome refuses 0.0.0.0 and ::).
_WILDCARDS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}


def _address_url(host: str, port: int) -> str:
    """The URL a browser of this machine opens for a server listening on ``host:port``."""
    host = _WILDCARDS.get(host, host)
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def serve(
    app: Callable | None = None, host: str = "127.0.0.1", port: int = 8000, *, quiet: bool = False
) -> None:
    """Serve ``app`` (by default :func:`vecmatte.web.create_app`'s) until interrupted.

    Parameters
    ----------
    app : callable, optional
        A WSGI application.
    host : str, optional
        Address to listen on (default ``"127.0.0.1"``: this machine only).
    port : int, optional
        Port, 0 for any free one (default 8000).
    quiet : bool, optional
        Leave out the log line of each request.
    """
    if app is None:
        from vecmatte.web.app import create_app

        app = create_app()
    server = make_server(app, host, port, quiet=quiet)
    # Ctrl-C stops the server as the address line says, once it is said: between the line
    # and the serving, it was an interruption of the command (exit 130, "interrupted").
    try:
        url = _address_url(host, server.server_port)
        # Every interface: no browser opens http://0.0.0.0:8000/ (Chrome refuses it).
        every = f"every interface, {host or '0.0.0.0'}; " if host in _WILDCARDS else ""
        # The address line is what scripts (and the tests) read to find a port chosen with 0.
        print(f"vecmatte serve: {url} ({every}Ctrl-C stops)", flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _memory_limit(text: str) -> int:
    """``--memory-limit``: at least what the smallest solve needs (else every request 413)."""
    from vecmatte.cli._common import positive_int
    from vecmatte.web._limits import smallest_solve_bytes

    value = positive_int(text)
    smallest, what = smallest_solve_bytes()
    if value < smallest:
        raise argparse.ArgumentTypeError(
            f"{text} bytes is below the {smallest:,} bytes whose parts hold the smallest solve "
            f"({what}: three quarters) and its upload (a quarter): every request would be "
            "refused (413); give at least that"
        )
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 ... 65535 (0: any free one), got {value}")
    return value


def _allowed_host(text: str) -> str:
    """``--allow-host``: a name a Host header can carry (",", "" or "name:8000" never match)."""
    from vecmatte.web._hosts import check_host_name

    try:
        return check_host_name(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``vecmatte serve`` to ``parser``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The parser.
    """
    from vecmatte.cli._common import positive_int
    from vecmatte.web.app import Limits

    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 opens the "
        "server to the network: add --allow-host with the name clients will use)",
    )
    parser.add_argument(
        "--port", type=_port, default=8000, help="port, 0 to 65535 (default 8000; 0: any free one)"
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=Limits.workers,
        help=f"solves run at once, at least 1; others wait (default {Limits.workers})",
    )
    parser.add_argument(
        "--max-pixels",
        type=positive_int,
        default=Limits.max_pixels,
        help=f"largest image accepted, in pixels, at least 1 (default {Limits.max_pixels:,})",
    )
    parser.add_argument(
        "--max-upload-bytes",
        type=positive_int,
        default=Limits.max_upload_bytes,
        help=f"largest request body, in bytes, at least 1 (default {Limits.max_upload_bytes:,})",
    )
    parser.add_argument(
        "--memory-limit",
        type=_memory_limit,
        default=None,
        metavar="BYTES",
        help="memory the uploads being held (a quarter of it) and the running solves (the "
        "rest) may need together, in bytes, at least what the smallest solve needs (default: "
        "half of what is free)",
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        type=_allowed_host,
        default=[],
        metavar="NAME",
        help="also answer to this Host name, on any port (repeatable; a name or address, no "
        "port); others are refused (DNS rebinding). Posts from web pages are answered only "
        "from the server's own page: the name and port of the request's Host (behind a TLS "
        "proxy that keeps Host without a port, the https page), or a page on an --allow-host "
        "name, any port (a proxy may rewrite Host)",
    )
    parser.add_argument("--quiet", action="store_true", help="do not log each request")


def run(args: argparse.Namespace) -> int:
    """Start the server from parsed :func:`add_arguments` options; return an exit code.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options.

    Returns
    -------
    int
        The exit code.
    """
    from vecmatte.web.app import create_app

    app = create_app(
        max_pixels=args.max_pixels,
        max_upload_bytes=args.max_upload_bytes,
        workers=args.workers,
        memory_bytes=args.memory_limit,
        # --host '' (every interface) names no host a client can send.
        allowed_hosts=[*args.allow_host, *([args.host] if args.host else [])],
    )
    try:
        serve(app, args.host, args.port, quiet=args.quiet)
    except OSError as error:
        print(
            f"vecmatte: error: cannot listen on {args.host}:{args.port} "
            f"({error.strerror or error}); choose another --port, or --port 0 for any free one",
            file=sys.stderr,
        )
        return 1
    return 0
