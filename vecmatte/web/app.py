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
    ...) as text fields. Answers the alpha matte as an 8-bit gray PNG, with one
    ``X-Vecmatte-Warning`` header per warning of the library about it (conjugate gradient
    stopped before its tolerance, a trimap with no unknown pixels, an upload's alpha channel
    ignored ...; the other image answers have them too).
``POST /api/cutout``, ``POST /api/foreground``
    The same fields, or ``alpha`` (a PNG, e.g. the answer of ``/api/alpha``) instead of the
    trimap; ``foreground_method``: a key of :data:`vecmatte.foreground.FOREGROUND_METHODS`
    (``ml``, the default, ``cf``, ``blur_fusion`` ...) or ``none`` (keep the photograph's
    colours). Answer an RGBA cutout PNG, or the RGB foreground colours as a PNG, with the
    photograph's RGB colour (ICC) profile if it has one (the alpha matte gets none).
``POST /api/trimap``
    ``mask`` + ``band``, or ``image`` + ``scribbles``: the trimap as a gray PNG.

The inputs come as form fields only: a query string on a ``POST``, or a field the route
does not use (``band`` without a ``mask``, a ``method`` with an ``alpha`` given ...), is
refused rather than ignored.

Errors are JSON ``{"error": "..."}``: 400 (malformed request), 403 (a page of another
origin, or of the origin ``null`` that sandboxed frames send), 404, 405, 408 (the headers or
the body stopped coming), 411, 413 (body, pixels or memory over the limits), 415 (not
multipart/form-data), 421 (Host header not allowed), 422 (inputs the library refuses), 503
(busy: every solver slot taken for longer than ``wait_seconds``, the bodies held filling
their share of the memory budget, or too little memory now); never a traceback.

A solve whose client closes its connection is stopped between two iterations of conjugate
gradient, a foreground between two of its steps (when served by :mod:`vecmatte.web.server`,
which tells the application), and a request whose client left while it waited for its slot
is not solved at all.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import re
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from http import HTTPStatus

import numpy as np

from vecmatte._errors import collected_warnings, error_line
from vecmatte.web import _fields
from vecmatte.web._clients import client_left, request_label, solve_watcher
from vecmatte.web._fields import body_length, drain, read_form
from vecmatte.web._hosts import allowed_host_names, check_host
from vecmatte.web._limits import (
    BODY_COPIES,
    REQUEST_BYTES_PER_PIXEL,
    Gate,
    Held,
    HTTPError,
    Limits,
    PhotoCache,
)
from vecmatte.web._multipart import Part
from vecmatte.web._page import StaticFiles

__all__ = ["HTTPError", "Limits", "MattingApp", "create_app"]

# Seconds between two looks at whether a solve's client is still connected.
_CLIENT_CHECK_SECONDS = 0.25
# Decoded photographs kept for the next stroke's request (about four 0.4 MP images).
_PHOTO_CACHE_BYTES = 48 * 2**20
# Fields that are not options of the alpha method.
_INPUT_FIELDS = ("image", "trimap", "mask", "band", "scribbles", "alpha", "foreground_method")
_OPTION_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
# Options that cannot come from a form (a callable) or are set by the server.
_FORBIDDEN_OPTIONS = ("callback", "method", "warn")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


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
        self._gate = Gate(limits, budget)
        self._photos = PhotoCache(_PHOTO_CACHE_BYTES)
        self.allowed_hosts = allowed_host_names(allowed_hosts)
        self._static = StaticFiles()
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
            check_host(environ, self.allowed_hosts)
            status, headers, body = self._dispatch(environ)
        except HTTPError as error:
            drain(environ, self.limits)
            status, headers, body = self._error(error)
        except Exception:
            # Details go to the server's log, never to the client.
            print(
                f"vecmatte serve: internal error on {request_label(environ)}:\n"
                f"{traceback.format_exc()}",
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
        # One line always: a message quoting the request (a path with %0A in it) showed its
        # control characters as they were; they are written as escapes, as repr does.
        message = _CONTROL.sub(lambda match: repr(match.group())[1:-1], error.message)
        body = json.dumps({"error": message}).encode()
        return error.status, [("Content-Type", "application/json"), *error.headers], body

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
        query = environ.get("QUERY_STRING", "")
        if method == "POST" and query:
            # Never read, so ?method=knn was answered with the default method's matte.
            raise HTTPError(
                400,
                f"{path} reads its inputs from the form only, not from the query string "
                f"({query[:100]!r}): send each as a form field (curl -F name=value)",
            )
        return handler(environ)

    # --- the page ----------------------------------------------------------------------------
    def _page(self, environ: dict) -> tuple[int, list, bytes]:
        return self._static.response("index.html")

    def _static_file(self, environ: dict) -> tuple[int, list, bytes]:
        return self._static.response(environ.get("PATH_INFO", "")[len("/static/") :])

    def _list_methods(self, environ: dict) -> tuple[int, list, bytes]:
        from vecmatte.foreground import FOREGROUND_METHODS

        methods = _fields.methods()
        names = [name for name, _ in methods]
        document = {
            "methods": [{"name": name, "summary": summary} for name, summary in methods],
            "default": _fields.default_method(names),
            "foreground_methods": [
                {"name": name, "summary": spec.summary} for name, spec in FOREGROUND_METHODS.items()
            ],
            "limits": {**asdict(self.limits), "memory_bytes": self._gate.budget},
        }
        return 200, [("Content-Type", "application/json")], json.dumps(document).encode()

    # --- reading requests ---------------------------------------------------------------------
    def _load(self, part: Part, loader: Callable, **extra):
        """Decode an upload in memory with the library's loader (formats, pixel limit)."""
        from vecmatte.io import ImageTooLargeError

        if part.filename is None:
            raise HTTPError(400, f"form field {part.name!r} must be a file upload")
        if not part.data:
            raise HTTPError(422, f"{_fields.label(part)}: the uploaded file is empty")
        # Uploads are never written to disk: the loader reads the bytes, and its messages
        # name the field and the client's file name, never a server path.
        stream = io.BytesIO(part.data)
        stream.name = _fields.label(part)
        try:
            return loader(stream, max_pixels=self.limits.max_pixels, **extra)
        except ImageTooLargeError as error:
            message = str(error).split("; if you trust")[0]
            raise HTTPError(
                413, f"{message} (vecmatte serve --max-pixels raises the limit)"
            ) from None
        except ValueError as error:
            raise HTTPError(422, str(error)) from None

    def _decode_bytes(self, parts: dict[str, Part]) -> int:
        """What decoding the request's files may hold, from their headers (nothing decoded).

        Reserved before decoding: the images and the trimap made from scribbles took up to
        ~110 bytes a pixel in the slot outside the memory budget (measured: 120 with the
        photograph's cached copy, for an image and its scribbles).
        """
        from vecmatte._pillow import open_unchecked

        pixels = 0
        for part in parts.values():
            if part.filename is None or not part.data:
                continue
            try:
                # Pillow's warnings are the loader's to say, naming the file.
                with collected_warnings():
                    with open_unchecked(io.BytesIO(part.data)) as opened:
                        width, height = opened.size
            except Exception:
                continue  # no image: the loader says so, and decodes nothing
            if width * height <= self.limits.max_pixels:  # else refused by its header
                pixels = max(pixels, width * height)
        return REQUEST_BYTES_PER_PIXEL * pixels

    def _decoding(self, parts: dict[str, Part]) -> contextlib.AbstractContextManager:
        """What decoding the files needs, reserved before; it grows to the solve's until settled."""
        return self._gate.memory(self._decode_bytes(parts), "decoding the uploaded files")

    def _image(self, parts: dict[str, Part]) -> np.ndarray:
        from vecmatte.io import load_image

        if "image" not in parts:
            raise HTTPError(400, "the form has no 'image' file")
        part = parts["image"]
        # The page sends the same photograph with every stroke: decode it once.
        key = hashlib.sha256(part.data).digest()
        entry = self._photos.entry(key)
        if entry is None:
            with collected_warnings() as decoding:
                entry = (self._load(part, load_image), tuple(decoding))
            self._photos.put(key, *entry)
        array, decoded_with = entry
        # Said again to each request (the request's own collection takes them).
        for warning in decoded_with:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
        return array.copy()

    def _check_size(self, image: np.ndarray, array: np.ndarray, part: Part) -> None:
        if array.shape[:2] != image.shape[:2]:
            raise HTTPError(
                422,
                f"{_fields.label(part)} is {array.shape[0]} x {array.shape[1]} pixels (height x "
                f"width) but the image is {image.shape[0]} x {image.shape[1]}; they must be the "
                "same size"
                + (
                    " (one is turned by 90 degrees: the image is shown as its EXIF orientation "
                    "says; was the other made without it?)"
                    if array.shape[:2] == image.shape[1::-1]
                    else ""
                ),
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
            band = _fields.band(parts)
            return self._library(trimap_from_mask, trimap, band=band)
        return trimap

    def _options(self, parts: dict[str, Part]) -> tuple[str, dict]:
        names = [name for name, _ in _fields.methods()]
        method = (
            _fields.field_text(parts["method"]).strip()
            if "method" in parts
            else _fields.default_method(names)
        )
        if method not in names:
            raise HTTPError(422, f"unknown method {method!r}; choose one of {', '.join(names)}")
        options = {}
        for name, part in parts.items():
            if name in _INPUT_FIELDS or name == "method":
                continue
            if not _OPTION_NAME.fullmatch(name) or name in _FORBIDDEN_OPTIONS:
                raise HTTPError(422, f"{name[:40]!r} is not an option the server accepts")
            options[name] = _fields.option_value(_fields.field_text(part))
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
            # In one line as the command line says it (its first line dropped the rest).
            raise HTTPError(422, error_line(error)) from None

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
        return solve + REQUEST_BYTES_PER_PIXEL * image.shape[0] * image.shape[1]

    def _estimate_alpha(
        self, environ: dict, image, trimap, method: str, options: dict
    ) -> np.ndarray:
        import vecmatte

        callback = solve_watcher(environ, _CLIENT_CHECK_SECONDS)
        if callback is not None:  # stopped between two iterations when the client leaves
            options = {**options, "callback": callback}
        return self._library(vecmatte.estimate_alpha, image, trimap, method=method, **options)

    def _estimate_foreground(self, environ: dict, image, alpha, method: str) -> np.ndarray:
        import vecmatte

        # Stopped for a client that left at a call of progress: after every band of rows
        # ('ml', 0.13 s at most on a 4 MP photograph; 'blur_fusion' 0.6 s), and after each
        # conjugate gradient iteration of 'cf' (once a channel before 4e24160: 19 s at 4 MP).
        progress = solve_watcher(environ, _CLIENT_CHECK_SECONDS, "steps of the foreground")
        return self._library(
            vecmatte.estimate_foreground, image, alpha, method=method, progress=progress
        )

    def _check_client(self, environ: dict) -> None:
        """Stop a request whose client left while it waited for its slot (or memory in it)."""
        gone = environ.get("vecmatte.client_gone")
        if gone is not None and gone():
            raise client_left(environ, "before it started")

    @contextlib.contextmanager
    def _request(self, environ: dict) -> Iterator[tuple[dict[str, Part], Held]]:
        """The request's form, read once the copies of its body fit the memory budget."""
        length = body_length(environ, self.limits)
        with self._gate.admitted(BODY_COPIES * length) as held:
            parts = read_form(environ, length)
            held.keep(length)  # the buffer it was read into is gone; the parts' data stay
            _fields.check_used(parts, environ["PATH_INFO"])
            yield parts, held

    @contextlib.contextmanager
    def _solving(self, environ: dict) -> Iterator[tuple[dict[str, Part], list]]:
        """The request's form and its warnings, in a solver slot once its client is still there.

        The client is looked at while the request waits for its slot, and once it has it.
        """
        check = functools.partial(self._check_client, environ)
        with (
            self._request(environ) as (parts, _),
            self._gate.slot(check),
            collected_warnings() as caught,
        ):
            check()
            yield parts, caught

    def _alpha(self, environ: dict) -> tuple[int, list, bytes]:
        with self._solving(environ) as (parts, caught):
            start = time.perf_counter()
            with self._decoding(parts) as reserved:
                image = self._image(parts)
                trimap = self._trimap_of(parts, image)
                method, options = self._options(parts)
                reserved.resize(self._solve_bytes(image, trimap, method, options))
                reserved.settle()
                solve_start = time.perf_counter()
                alpha = self._estimate_alpha(environ, image, trimap, method, options)
                solve = time.perf_counter() - solve_start
                body = _fields.png(alpha)
            seconds = time.perf_counter() - start
        return 200, self._image_headers(method, seconds, solve, caught), body

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
        from vecmatte.io import colour_profile

        with self._solving(environ) as (parts, caught):
            start = time.perf_counter()
            with self._decoding(parts) as reserved:
                image = self._image(parts)
                alpha = self._given_alpha(parts, image)
                trimap = None if alpha is not None else self._trimap_of(parts, image)
                method, options = self._options(parts)
                colours = _fields.foreground_method(parts)
                estimate = (
                    self._solve_bytes(image, trimap, method, options)
                    if trimap is not None
                    else REQUEST_BYTES_PER_PIXEL * image.shape[0] * image.shape[1]
                )
                if colours != "none":
                    from vecmatte.foreground import foreground_memory_bytes

                    # The foreground is estimated after the solve has released its memory.
                    estimate = max(estimate, foreground_memory_bytes(image.shape, colours))
                reserved.resize(estimate)
                reserved.settle()
                solve_start = time.perf_counter()
                if alpha is None:
                    alpha = self._estimate_alpha(environ, image, trimap, method, options)
                if colours == "none":
                    foreground = image
                else:
                    foreground = self._estimate_foreground(environ, image, alpha, colours)
                if rgba:
                    foreground = np.concatenate([foreground, alpha[:, :, None]], axis=2)
                solve = time.perf_counter() - solve_start
                # In the photograph's colour space: without its profile, a Display P3
                # photo's cutout showed paler than the one of vecmatte alpha --cutout.
                profile = colour_profile(io.BytesIO(parts["image"].data))
                body = _fields.png(foreground, profile)
            seconds = time.perf_counter() - start
        return 200, self._image_headers(method, seconds, solve, caught), body

    def _cutout(self, environ: dict) -> tuple[int, list, bytes]:
        return self._composite_request(environ, rgba=True)

    def _foreground(self, environ: dict) -> tuple[int, list, bytes]:
        return self._composite_request(environ, rgba=False)

    def _trimap(self, environ: dict) -> tuple[int, list, bytes]:
        with self._solving(environ) as (parts, caught):
            with self._decoding(parts) as reserved:
                reserved.settle()  # decoding is all it holds
                if "mask" in parts and "image" not in parts:
                    from vecmatte.io import load_gray
                    from vecmatte.trimap import trimap_from_mask

                    mask = self._load(parts["mask"], load_gray, name="mask")
                    band = _fields.band(parts)
                    trimap = self._library(trimap_from_mask, mask, band=band)
                else:
                    image = self._image(parts)
                    trimap = self._trimap_of(parts, image)
                body = _fields.png(trimap)
        return 200, [("Content-Type", "image/png"), *_fields.warning_headers(caught)], body

    @staticmethod
    def _image_headers(method: str, seconds: float, solve: float, caught: list) -> list[tuple]:
        # Seconds of the server's work (decoding, solving, encoding), and of the solve alone.
        return [
            ("Content-Type", "image/png"),
            ("X-Vecmatte-Method", method),
            ("X-Vecmatte-Seconds", f"{seconds:.3f}"),
            ("X-Vecmatte-Solve-Seconds", f"{solve:.3f}"),
            *_fields.warning_headers(caught),
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
        Host names (as in the ``Host`` header, without port: every port is answered) the
        application answers to, besides ``127.0.0.1``, ``localhost`` and ``::1``. Requests
        naming any other host are refused (421), which defeats DNS rebinding; add the
        machine's name when serving on a network. A ``POST`` from a web page is answered
        only if its ``Origin`` has the host and port of the ``Host`` header (no port there:
        http or https on its default port, a TLS proxy's) or is on one of ``allowed_hosts``,
        any port (a proxy may rewrite ``Host``); clients without ``Origin`` are.

    Returns
    -------
    MattingApp
        A PEP 3333 application: ``app(environ, start_response)``.

    Raises
    ------
    ValueError
        A limit out of its range, or an allowed host a ``Host`` header cannot name.
    TypeError
        ``allowed_hosts`` given as one string instead of a list of names.

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
