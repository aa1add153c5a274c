"""The WSGI application behind ``vecmatte serve``: the painting page and the matting API.

A PEP 3333 application written with the standard library only, so that ``vecmatte serve``
needs no new dependency and any WSGI server (gunicorn, waitress, uWSGI ...) can run it too::

    from vecmatte.web import create_app
    application = create_app(max_pixels=2_000_000)

Routes
------
``GET /``, ``GET /static/<file>``
    The page (plain HTML, CSS and JavaScript; nothing is fetched from elsewhere).
``GET /api/methods``
    JSON: the alpha methods the library offers, the default one, and the server's limits.
``POST /api/alpha``
    ``multipart/form-data`` with ``image`` and one of ``trimap``, ``mask`` (+ ``band``, default
    10) or ``scribbles`` (files); ``method`` and the method's options (``eps``, ``radius``
    ...) as text fields. Answers the alpha matte as an 8-bit gray PNG.
``POST /api/cutout``, ``POST /api/foreground``
    The same fields, or ``alpha`` (a PNG, e.g. the answer of ``/api/alpha``) instead of the
    trimap; ``foreground_method``: a key of :data:`vecmatte.foreground.FOREGROUND_METHODS`
    (``ml``, the default, ``cf``, ``blur_fusion`` ...) or ``none`` (keep the photograph's
    colours). Answer an RGBA cutout PNG, or the RGB foreground colours as a PNG.
``POST /api/trimap``
    ``mask`` + ``band``, or ``image`` + ``scribbles``: the trimap as a gray PNG.

Errors are JSON ``{"error": "..."}``: 400 (malformed request), 403 (foreign origin), 404,
405, 411, 413 (body, pixels or memory over the limits), 415 (not multipart/form-data), 421
(Host header not allowed), 422 (inputs the library refuses), 503 (busy: every solver slot
taken for longer than ``wait_seconds``, or too little memory now); never a traceback.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import re
import sys
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from http import HTTPStatus
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from vecmatte.web._multipart import MultipartError, Part, parse_multipart

__all__ = ["HTTPError", "Limits", "MattingApp", "create_app"]

# What a request holds besides the solve, per pixel: the decoded upload, the float64 image
# (24 bytes), trimap and alpha (8 + 8), a foreground estimate and the RGBA cutout (24 + 32),
# the 8-bit PNG buffers.
_REQUEST_BYTES_PER_PIXEL = 110
# Decoded photographs kept for the next stroke's request (about four 0.4 MP images).
_PHOTO_CACHE_BYTES = 48 * 2**20
# Fields that are not options of the alpha method.
_INPUT_FIELDS = ("image", "trimap", "mask", "band", "scribbles", "alpha", "foreground_method")
_OPTION_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
# Options that cannot come from a form (a callable) or are set by the server.
_FORBIDDEN_OPTIONS = ("callback", "method", "warn")
_STATIC_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
# The page loads only its own files; images it draws come from blob: URLs of its own making.
_CSP = (
    "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


class HTTPError(Exception):
    """An error answered to the client as ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str, headers: Iterable[tuple[str, str]] = ()):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = list(headers)


@dataclass(frozen=True)
class Limits:
    """What one server accepts and how much it does at once.

    Attributes
    ----------
    max_upload_bytes : int
        Largest request body (all files of one request together).
    max_pixels : int
        Largest image (width x height) of any upload, checked from the file's header before
        its pixels are decoded (decompression bombs).
    workers : int
        Solves run at once; further requests wait for a free slot.
    queue : int
        Requests admitted to wait beyond ``workers``; more are answered 503 at once, so that
        waiting bodies cannot fill the memory.
    wait_seconds : float
        How long an admitted request waits for a solver slot before a 503.
    memory_bytes : int or None
        Memory that the solves running at once may need together (their estimates, from
        :func:`vecmatte.estimate_solve_memory` plus what a request holds per pixel); a
        request whose estimate alone exceeds it is answered 413. ``None``: half the memory
        available when the application is created.
    """

    max_upload_bytes: int = 32 * 2**20
    max_pixels: int = 4_000_000
    workers: int = 2
    queue: int = 8
    wait_seconds: float = 30.0
    memory_bytes: int | None = None

    def __post_init__(self) -> None:
        for name in ("max_upload_bytes", "max_pixels", "workers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if isinstance(self.queue, bool) or not isinstance(self.queue, int) or self.queue < 0:
            raise ValueError(f"queue must be a non-negative integer, got {self.queue!r}")
        if not (isinstance(self.wait_seconds, int | float) and self.wait_seconds >= 0):
            raise ValueError(f"wait_seconds must be a number >= 0, got {self.wait_seconds!r}")
        if self.memory_bytes is not None and not (
            isinstance(self.memory_bytes, int) and self.memory_bytes > 0
        ):
            raise ValueError(f"memory_bytes must be a positive integer, got {self.memory_bytes!r}")


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.2f} GiB"


class _Gate:
    """Admission, solver slots and a memory budget shared by the requests of one app.

    At most ``workers + queue`` requests are admitted (the others get a 503 at once), and
    hold their bodies; of those, at most ``workers`` decode and solve at once (a slot), and
    a solve starts only while the sum of the running solves' memory estimates fits the
    budget; the rest wait up to ``wait_seconds``, then get a 503.
    """

    def __init__(self, limits: Limits, budget: int):
        self._limits = limits
        self.budget = budget
        self._condition = threading.Condition()
        self._admitted = 0
        self._active = 0
        self._reserved = 0

    @contextlib.contextmanager
    def admitted(self) -> Iterator[None]:
        with self._condition:
            if self._admitted >= self._limits.workers + self._limits.queue:
                raise HTTPError(
                    503,
                    f"the server is busy ({self._admitted} requests in progress); try again",
                    [("Retry-After", "2")],
                )
            self._admitted += 1
        try:
            yield
        finally:
            with self._condition:
                self._admitted -= 1

    def _wait(self, ready: Callable[[], bool], what: str) -> None:
        """Wait (holding the condition) until ``ready()``, at most ``wait_seconds``, else 503."""
        deadline = time.monotonic() + self._limits.wait_seconds
        while not ready():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise HTTPError(
                    503,
                    f"the server is busy: {what} for {self._limits.wait_seconds:g} s; try again",
                    [("Retry-After", "2")],
                )
            self._condition.wait(remaining)

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """One of the ``workers`` slots, in which a request decodes its uploads and solves."""
        with self._condition:
            self._wait(
                lambda: self._active < self._limits.workers, "every solver slot stayed taken"
            )
            self._active += 1
        try:
            yield
        finally:
            with self._condition:
                self._active -= 1
                self._condition.notify_all()

    @contextlib.contextmanager
    def memory(self, n_bytes: int) -> Iterator[None]:
        """Reserve a solve's estimated memory within the budget shared by the slots."""
        if n_bytes > self.budget:
            raise HTTPError(
                413,
                f"this solve needs about {_gib(n_bytes)}, more than the server's memory budget "
                f"of {_gib(self.budget)}; send a smaller photograph or fewer unknown pixels "
                "(or start the server with a larger --memory-limit)",
            )
        with self._condition:
            self._wait(
                lambda: self._reserved + n_bytes <= self.budget,
                "the running solves held the memory budget",
            )
            self._reserved += n_bytes
        try:
            yield
        finally:
            with self._condition:
                self._reserved -= n_bytes
                self._condition.notify_all()


def _methods() -> list[tuple[str, str]]:
    """``(name, summary)`` of the alpha methods the library offers, in its order."""
    from vecmatte.alpha import METHODS

    return [(name, spec.summary) for name, spec in METHODS.items()]


def _default_method(names: list[str]) -> str:
    from vecmatte import _defaults

    return _defaults.METHOD if _defaults.METHOD in names else names[0]


def _to_uint8(array: np.ndarray) -> np.ndarray:
    """Float [0, 1] -> uint8 by rounding, as :func:`vecmatte.save_image` does."""
    return np.round(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8)


def _png(array: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(_to_uint8(array)).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _option_value(text: str):
    """A form field's text as the Python value an option takes."""
    # Text stays text: "none" is a preconditioner's name, not Python's None.
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for convert in (int, float):
        try:
            value = convert(lowered)
        except ValueError:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            raise HTTPError(422, f"option value {text!r} is not a finite number")
        return value
    return text.strip()


def _text(part: Part, limit: int = 200) -> str:
    if part.filename is not None:
        raise HTTPError(400, f"form field {part.name!r} must be text, not a file")
    try:
        text = part.data.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPError(400, f"form field {part.name!r} is not UTF-8 text") from None
    if len(text) > limit:
        raise HTTPError(400, f"form field {part.name!r} is longer than {limit} characters")
    return text


def _band(parts: dict[str, Part]) -> int:
    """The ``band`` field: the unknown band's width, in pixels, made from a mask."""
    if "band" not in parts:
        return 10
    text = _text(parts["band"]).strip()
    if not re.fullmatch(r"[0-9]{1,4}", text) or int(text) < 1:
        raise HTTPError(422, f"band must be a whole number of pixels from 1, got {text[:20]!r}")
    return int(text)


def _foreground_method(parts: dict[str, Part]) -> str:
    """The ``foreground_method`` field: a key of ``FOREGROUND_METHODS``, or ``none``."""
    from vecmatte.foreground import FOREGROUND_METHODS

    name = _text(parts["foreground_method"]).strip() if "foreground_method" in parts else "ml"
    if name != "none" and name not in FOREGROUND_METHODS:
        raise HTTPError(
            422,
            f"foreground_method must be one of {', '.join([*FOREGROUND_METHODS, 'none'])}, "
            f"not {name[:20]!r}",
        )
    return name


def _label(part: Part) -> str:
    """How an upload is named in messages: its field, and the client's file name if sane."""
    name = part.filename or ""
    name = re.sub(r"[^\w.\- ]", "_", name.replace("\\", "/").rsplit("/", 1)[-1])[:60]
    return f"{part.name} ({name})" if name else part.name


class _PhotoCache:
    """The last decoded photographs by content hash, within a byte budget (thread-safe)."""

    def __init__(self, max_bytes: int):
        self._max_bytes = max_bytes
        self._items: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: bytes) -> np.ndarray | None:
        with self._lock:
            array = self._items.get(key)
            if array is not None:
                self._items.move_to_end(key)
            return array

    def put(self, key: bytes, array: np.ndarray) -> None:
        if array.nbytes > self._max_bytes:
            return
        with self._lock:
            self._items[key] = array
            self._items.move_to_end(key)
            while sum(item.nbytes for item in self._items.values()) > self._max_bytes:
                self._items.popitem(last=False)


class MattingApp:
    """The WSGI application (``app(environ, start_response)``); see :func:`create_app`."""

    def __init__(
        self,
        limits: Limits,
        *,
        allowed_hosts: Iterable[str] = (),
    ):
        from vecmatte.memory import available_memory

        self.limits = limits
        if limits.memory_bytes is not None:
            budget = limits.memory_bytes
        else:
            available = available_memory()
            budget = available // 2 if available else 2**31
        self._gate = _Gate(limits, budget)
        self._photos = _PhotoCache(_PHOTO_CACHE_BYTES)
        self.allowed_hosts = frozenset(
            host.strip("[]").lower() for host in (*_LOCAL_HOSTS, *allowed_hosts)
        )
        self._static = resources.files("vecmatte.web") / "static"
        self._static_names = frozenset(
            entry.name
            for entry in self._static.iterdir()
            if entry.is_file() and Path(entry.name).suffix in _STATIC_TYPES
        )
        self._routes: dict[str, dict[str, Callable]] = {
            "/": {"GET": self._page},
            "/api/methods": {"GET": self._list_methods},
            "/api/alpha": {"POST": self._alpha},
            "/api/cutout": {"POST": self._cutout},
            "/api/foreground": {"POST": self._foreground},
            "/api/trimap": {"POST": self._trimap},
        }

    # --- WSGI ------------------------------------------------------------------------------
    def __call__(self, environ: dict, start_response: Callable) -> list[bytes]:
        try:
            self._check_host(environ)
            status, headers, body = self._dispatch(environ)
        except HTTPError as error:
            self._drain(environ)
            status, headers, body = self._error(error)
        except Exception:
            # Details go to the server's log, never to the client.
            print(
                f"vecmatte serve: internal error on {environ.get('REQUEST_METHOD')} "
                f"{environ.get('PATH_INFO')}:\n{traceback.format_exc()}",
                file=environ.get("wsgi.errors", sys.stderr),
            )
            status, headers, body = self._error(
                HTTPError(500, "internal error; the server's log has the details")
            )
        headers = [
            *headers,
            ("Content-Length", str(len(body))),
            ("X-Content-Type-Options", "nosniff"),
            ("Cache-Control", "no-store"),
        ]
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        if environ.get("REQUEST_METHOD") == "HEAD":
            return [b""]
        return [body]

    def _error(self, error: HTTPError) -> tuple[int, list, bytes]:
        body = json.dumps({"error": error.message}).encode()
        return error.status, [("Content-Type", "application/json"), *error.headers], body

    def _check_host(self, environ: dict) -> None:
        # A page on another site whose name resolves to 127.0.0.1 (DNS rebinding) sends its
        # own name in Host; refusing names we do not serve under closes that door.
        host = environ.get("HTTP_HOST", "")
        if not host:
            raise HTTPError(400, "the request has no Host header")
        name = host[1:].split("]", 1)[0] if host.startswith("[") else host.rsplit(":", 1)[0]
        if name.lower() not in self.allowed_hosts:
            raise HTTPError(
                421,
                f"this server does not answer to host {name[:100]!r}; allowed: "
                f"{', '.join(sorted(self.allowed_hosts))} (vecmatte serve --allow-host NAME)",
            )
        origin = environ.get("HTTP_ORIGIN")
        if environ.get("REQUEST_METHOD") == "POST" and origin and origin != "null":
            origin_host = (urlsplit(origin).hostname or "").lower()
            if origin_host not in self.allowed_hosts:
                raise HTTPError(403, f"requests from pages of {origin[:100]!r} are not allowed")

    def _dispatch(self, environ: dict) -> tuple[int, list, bytes]:
        path = environ.get("PATH_INFO", "/") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        if method == "HEAD":
            method = "GET"
        if path.startswith("/static/"):
            handlers = {"GET": self._static_file}
        else:
            handlers = self._routes.get(path)
        if handlers is None:
            raise HTTPError(404, f"no such page or endpoint: {path[:100]}")
        handler = handlers.get(method)
        if handler is None:
            allowed = ", ".join(sorted({"HEAD", *handlers} if "GET" in handlers else handlers))
            raise HTTPError(405, f"{path} accepts {allowed}", [("Allow", allowed)])
        return handler(environ)

    # --- the page ----------------------------------------------------------------------------
    def _static_response(self, name: str) -> tuple[int, list, bytes]:
        body = (self._static / name).read_bytes()
        headers = [("Content-Type", _STATIC_TYPES[Path(name).suffix])]
        if name.endswith(".html"):
            headers += [("Content-Security-Policy", _CSP), ("X-Frame-Options", "DENY")]
        return 200, headers, body

    def _page(self, environ: dict) -> tuple[int, list, bytes]:
        return self._static_response("index.html")

    def _static_file(self, environ: dict) -> tuple[int, list, bytes]:
        name = environ.get("PATH_INFO", "")[len("/static/") :]
        # Only the package's own files, by exact name: no path is ever built from a request.
        if name not in self._static_names:
            raise HTTPError(404, f"no such file: /static/{name[:100]}")
        return self._static_response(name)

    def _list_methods(self, environ: dict) -> tuple[int, list, bytes]:
        methods = _methods()
        names = [name for name, _ in methods]
        from vecmatte.foreground import FOREGROUND_METHODS

        document = {
            "methods": [{"name": name, "summary": summary} for name, summary in methods],
            "default": _default_method(names),
            "foreground_methods": [
                {"name": name, "summary": spec.summary} for name, spec in FOREGROUND_METHODS.items()
            ],
            "limits": {**asdict(self.limits), "memory_bytes": self._gate.budget},
        }
        return 200, [("Content-Type", "application/json")], json.dumps(document).encode()

    # --- reading requests ---------------------------------------------------------------------
    def _drain(self, environ: dict) -> None:
        """Read and drop up to a bounded part of a refused body, so the client sees the answer.

        Closing a socket with unread data resets the connection, and a client still sending
        would lose the error; a body far over the limit is not read to its end.
        """
        if environ.get("vecmatte.body_read"):
            return
        environ["vecmatte.body_read"] = True
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return
        stream = environ["wsgi.input"]
        remaining = min(length, 2 * self.limits.max_upload_bytes)
        while remaining > 0:
            chunk = stream.read(min(remaining, 1 << 16))
            if not chunk:
                break
            remaining -= len(chunk)

    def _form(self, environ: dict) -> dict[str, Part]:
        stream = environ["wsgi.input"]
        text = environ.get("CONTENT_LENGTH", "").strip()
        if not text:
            raise HTTPError(411, "the request has no Content-Length; send the form with one")
        try:
            length = int(text)
        except ValueError:
            raise HTTPError(400, f"Content-Length is not a number: {text[:40]!r}") from None
        if length < 0:
            raise HTTPError(400, f"Content-Length is negative: {length}")
        if length > self.limits.max_upload_bytes:
            self._drain(environ)
            raise HTTPError(
                413,
                f"the request body has {length:,} bytes, more than the limit of "
                f"{self.limits.max_upload_bytes:,} (vecmatte serve --max-upload-bytes)",
            )
        content_type = environ.get("CONTENT_TYPE", "")
        if not content_type.lower().startswith("multipart/form-data"):
            self._drain(environ)
            raise HTTPError(
                415,
                f"send the inputs as multipart/form-data, not {content_type[:60] or 'no type'}"
                " (an HTML form with enctype=multipart/form-data, or curl -F image=@photo.png)",
            )
        if length == 0:
            raise HTTPError(400, "the request body is empty; send an image and a trimap")
        environ["vecmatte.body_read"] = True
        chunks, received = [], 0
        while received < length:
            chunk = stream.read(min(length - received, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            received += len(chunk)
        if received < length:
            raise HTTPError(
                400, f"the body ended after {received:,} of {length:,} bytes (Content-Length)"
            )
        try:
            return parse_multipart(b"".join(chunks), content_type)
        except MultipartError as error:
            raise HTTPError(400, f"malformed form: {error}") from None

    def _load(self, part: Part, loader: Callable, **extra):
        """Decode an upload in memory with the library's loader (formats, pixel limit)."""
        from vecmatte.io import ImageTooLargeError

        if part.filename is None:
            raise HTTPError(400, f"form field {part.name!r} must be a file upload")
        if not part.data:
            raise HTTPError(422, f"{_label(part)}: the uploaded file is empty")
        # Uploads are never written to disk: the loader reads the bytes, and its messages
        # name the field and the client's file name, never a server path.
        stream = io.BytesIO(part.data)
        stream.name = _label(part)
        try:
            return loader(stream, max_pixels=self.limits.max_pixels, **extra)
        except ImageTooLargeError as error:
            message = str(error).split("; if you trust")[0]
            raise HTTPError(
                413, f"{message} (vecmatte serve --max-pixels raises the limit)"
            ) from None
        except ValueError as error:
            raise HTTPError(422, str(error)) from None

    def _image(self, parts: dict[str, Part]) -> np.ndarray:
        from vecmatte.io import load_image

        if "image" not in parts:
            raise HTTPError(400, "the form has no 'image' file")
        part = parts["image"]
        # The page sends the same photograph with every stroke: decode it once.
        key = hashlib.sha256(part.data).digest()
        cached = self._photos.get(key)
        if cached is None:
            cached = self._load(part, load_image)
            self._photos.put(key, cached)
        return cached.copy()

    def _check_size(self, image: np.ndarray, array: np.ndarray, part: Part) -> None:
        if array.shape[:2] != image.shape[:2]:
            raise HTTPError(
                422,
                f"{_label(part)} is {array.shape[1]} x {array.shape[0]} pixels but the image is "
                f"{image.shape[1]} x {image.shape[0]}; they must be the same size",
            )

    def _trimap_of(self, parts: dict[str, Part], image: np.ndarray) -> np.ndarray:
        """The trimap from whichever of ``trimap``, ``mask`` + ``band``, ``scribbles`` is given."""
        from vecmatte.io import load_gray, load_image
        from vecmatte.trimap import scribbles_to_trimap, trimap_from_mask

        given = [name for name in ("trimap", "mask", "scribbles") if name in parts]
        if len(given) != 1:
            raise HTTPError(
                400,
                "give exactly one of the files 'trimap', 'mask' (with 'band') or 'scribbles'"
                + (f", not {' and '.join(given)}" if given else ""),
            )
        part = parts[given[0]]
        if given[0] == "scribbles":
            scribbled = self._load(part, load_image)
            self._check_size(image, scribbled, part)
            return self._library(scribbles_to_trimap, image, scribbled)
        trimap = self._load(part, load_gray, name=given[0])
        self._check_size(image, trimap, part)
        if given[0] == "mask":
            band = _band(parts)
            return self._library(trimap_from_mask, trimap, band=band)
        return trimap

    def _options(self, parts: dict[str, Part]) -> tuple[str, dict]:
        names = [name for name, _ in _methods()]
        method = _text(parts["method"]).strip() if "method" in parts else _default_method(names)
        if method not in names:
            raise HTTPError(422, f"unknown method {method!r}; choose one of {', '.join(names)}")
        options = {}
        for name, part in parts.items():
            if name in _INPUT_FIELDS or name == "method":
                continue
            if not _OPTION_NAME.fullmatch(name) or name in _FORBIDDEN_OPTIONS:
                raise HTTPError(422, f"{name[:40]!r} is not an option the server accepts")
            options[name] = _option_value(_text(part))
        return method, options

    @staticmethod
    def _library(function: Callable, *args, **kwargs):
        """Call the library; its refusals of the inputs become 422 with its one-line message."""
        from vecmatte.memory import InsufficientMemoryError

        try:
            return function(*args, **kwargs)
        except InsufficientMemoryError as error:
            raise HTTPError(503, f"not enough memory on the server now: {error}") from None
        except MemoryError:
            raise HTTPError(503, "the server ran out of memory; try a smaller image") from None
        except (ValueError, TypeError) as error:
            message = str(error).splitlines()[0] if str(error) else repr(error)
            raise HTTPError(422, message) from None

    # --- solving ------------------------------------------------------------------------------
    def _solve_bytes(self, image: np.ndarray, trimap: np.ndarray, method: str, options) -> int:
        """Memory estimate of one request: the library's for the solve, plus its own arrays."""
        from vecmatte.memory import default_memory_bytes, estimate_solve_memory
        from vecmatte.trimap import trimap_split

        _, _, unknown = trimap_split(trimap)
        n_unknown = int(unknown.sum())
        model = {k: v for k, v in options.items() if k not in ("rtol", "maxiter")}
        try:
            solve = estimate_solve_memory(image.shape, n_unknown, method=method, **model)
        except (TypeError, ValueError):
            # A bad option: the solve refuses it before allocating anything (422).
            solve = default_memory_bytes(image.shape, n_unknown)
        return solve + _REQUEST_BYTES_PER_PIXEL * image.shape[0] * image.shape[1]

    def _estimate_alpha(self, image, trimap, method: str, options: dict) -> np.ndarray:
        import vecmatte

        return self._library(vecmatte.estimate_alpha, image, trimap, method=method, **options)

    @contextlib.contextmanager
    def _request(self, environ: dict) -> Iterator[dict[str, Part]]:
        with self._gate.admitted():
            yield self._form(environ)

    def _alpha(self, environ: dict) -> tuple[int, list, bytes]:
        with self._request(environ) as parts, self._gate.slot():
            start = time.perf_counter()
            image = self._image(parts)
            trimap = self._trimap_of(parts, image)
            method, options = self._options(parts)
            with self._gate.memory(self._solve_bytes(image, trimap, method, options)):
                solve_start = time.perf_counter()
                alpha = self._estimate_alpha(image, trimap, method, options)
                solve = time.perf_counter() - solve_start
                body = _png(alpha)
            seconds = time.perf_counter() - start
        return 200, self._image_headers(method, seconds, solve), body

    def _given_alpha(self, parts: dict[str, Part], image: np.ndarray) -> np.ndarray | None:
        """The uploaded ``alpha`` (gray, 8 or 16 bits, values kept), or None."""
        from vecmatte.io import load_gray

        if "alpha" not in parts:
            return None
        if any(name in parts for name in ("trimap", "mask", "scribbles")):
            raise HTTPError(400, "give either 'alpha' or a trimap, mask or scribbles, not both")
        alpha = self._load(parts["alpha"], load_gray, name="alpha")
        self._check_size(image, alpha, parts["alpha"])
        return alpha

    def _composite_request(self, environ: dict, rgba: bool) -> tuple[int, list, bytes]:
        with self._request(environ) as parts, self._gate.slot():
            start = time.perf_counter()
            image = self._image(parts)
            alpha = self._given_alpha(parts, image)
            trimap = None if alpha is not None else self._trimap_of(parts, image)
            method, options = self._options(parts)
            colours = _foreground_method(parts)
            estimate = (
                self._solve_bytes(image, trimap, method, options)
                if trimap is not None
                else _REQUEST_BYTES_PER_PIXEL * image.shape[0] * image.shape[1]
            )
            if colours != "none":
                from vecmatte.foreground import foreground_memory_bytes

                # The foreground is estimated after the solve has released its memory.
                estimate = max(estimate, foreground_memory_bytes(image.shape, colours))
            with self._gate.memory(estimate):
                solve_start = time.perf_counter()
                if alpha is None:
                    alpha = self._estimate_alpha(image, trimap, method, options)
                if colours == "none":
                    foreground = image
                else:
                    import vecmatte

                    foreground = self._library(
                        vecmatte.estimate_foreground, image, alpha, method=colours
                    )
                if rgba:
                    foreground = np.concatenate([foreground, alpha[:, :, None]], axis=2)
                solve = time.perf_counter() - solve_start
                body = _png(foreground)
            seconds = time.perf_counter() - start
        return 200, self._image_headers(method, seconds, solve), body

    def _cutout(self, environ: dict) -> tuple[int, list, bytes]:
        return self._composite_request(environ, rgba=True)

    def _foreground(self, environ: dict) -> tuple[int, list, bytes]:
        return self._composite_request(environ, rgba=False)

    def _trimap(self, environ: dict) -> tuple[int, list, bytes]:
        with self._request(environ) as parts, self._gate.slot():
            if "mask" in parts and "image" not in parts:
                from vecmatte.io import load_gray
                from vecmatte.trimap import trimap_from_mask

                mask = self._load(parts["mask"], load_gray, name="mask")
                band = _band(parts)
                trimap = self._library(trimap_from_mask, mask, band=band)
            else:
                image = self._image(parts)
                trimap = self._trimap_of(parts, image)
            body = _png(trimap)
        return 200, [("Content-Type", "image/png")], body

    @staticmethod
    def _image_headers(method: str, seconds: float, solve: float) -> list[tuple[str, str]]:
        # Seconds of the server's work (decoding, solving, encoding), and of the solve alone.
        return [
            ("Content-Type", "image/png"),
            ("X-Vecmatte-Method", method),
            ("X-Vecmatte-Seconds", f"{seconds:.3f}"),
            ("X-Vecmatte-Solve-Seconds", f"{solve:.3f}"),
        ]


def create_app(
    *,
    max_upload_bytes: int = Limits.max_upload_bytes,
    max_pixels: int = Limits.max_pixels,
    workers: int = Limits.workers,
    queue: int = Limits.queue,
    wait_seconds: float = Limits.wait_seconds,
    memory_bytes: int | None = None,
    allowed_hosts: Iterable[str] = (),
) -> MattingApp:
    """The WSGI application of the matting page and API.

    Parameters
    ----------
    max_upload_bytes, max_pixels, workers, queue, wait_seconds, memory_bytes
        The server's limits; see :class:`Limits`.
    allowed_hosts : iterable of str, optional
        Host names (as in the ``Host`` header, without port) the application answers to,
        besides ``127.0.0.1``, ``localhost`` and ``::1``. Requests naming any other host are
        refused (421), which defeats DNS rebinding; add the machine's name when serving on a
        network.

    Returns
    -------
    MattingApp
        A PEP 3333 application: ``app(environ, start_response)``.

    Examples
    --------
    >>> from vecmatte.web import create_app
    >>> app = create_app(max_pixels=1_000_000, workers=1)
    >>> app.limits.workers
    1
    """
    limits = Limits(
        max_upload_bytes=max_upload_bytes,
        max_pixels=max_pixels,
        workers=workers,
        queue=queue,
        wait_seconds=wait_seconds,
        memory_bytes=memory_bytes,
    )
    return MattingApp(limits, allowed_hosts=allowed_hosts)
