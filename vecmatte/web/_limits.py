"""The limits of one server: what it accepts, how many solves at once, how much memory."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from vecmatte.memory import size_text

__all__ = ["Gate", "HTTPError", "Held", "Limits", "PhotoCache", "Reservation", "split_budget"]


class HTTPError(Exception):
    """An error answered to the client as ``{"error": message}`` with ``status``.

    Parameters
    ----------
    status : int
        The HTTP status.
    message : str
        The error's text.
    headers : iterable of (str, str), optional
        Headers added to the answer.
    """

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
        Requests admitted to wait beyond ``workers``; more are answered 503 at once.
    wait_seconds : float
        How long an admitted request waits for a solver slot before a 503.
    memory_bytes : int or None
        Memory that the admitted requests may need together. A quarter of it holds their
        bodies (from their ``Content-Length``, before a byte is read): a body beyond what is
        left of that share is answered 503 at once. The rest holds what the requests in a
        solver slot decode (from the files' headers, before decoding) and solve (from
        :func:`vecmatte.estimate_solve_memory` plus what a request holds per pixel). A
        request whose body or solve alone exceeds its share is answered 413. ``None``: half
        the memory available when the application is created.
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
        if self.memory_bytes is not None:
            # Below the smallest solve's estimate every request was answered 413.
            smallest, what = smallest_solve_bytes()
            if self.memory_bytes < smallest:
                raise ValueError(
                    f"memory_bytes must be at least {smallest:,} bytes, the smallest budget "
                    f"whose parts hold the smallest solve ({what}) and its upload, or every "
                    f"request is refused; got {self.memory_bytes:,}"
                )


# What a request holds besides the solve, per pixel: the decoded upload, the float64 image
# (24 bytes), trimap and alpha (8 + 8), a foreground estimate and the RGBA cutout (24 + 32),
# the 8-bit PNG buffers.
REQUEST_BYTES_PER_PIXEL = 110
# Copies of its body a request holds while it is read: the buffer it is read into and the
# parts' data cut out of it (afterwards only the parts' data: one copy).
BODY_COPIES = 2
# A form carrying the smallest solve's files (two PNGs of a few pixels, a method name)
# is a few hundred bytes; the smallest budget leaves room for one of up to this many.
SMALLEST_FORM_BYTES = 16 * 1024
# The part of the memory budget that holds request bodies is 1 / BODY_SHARE of it. Kept
# apart from the solves' part, so that bodies waiting for a solver slot can never hold
# the memory a running request waits for (they filled the budget, and the admitted solves
# waited until they timed out with 503); a body beyond it is answered 503 at once.
BODY_SHARE = 4
# Seconds between two looks at whether a request waiting for its slot still has its client.
CHECK_SECONDS = 0.25


def split_budget(budget: int) -> tuple[int, int]:
    """``(bodies, solves)``: the parts of a memory budget for request bodies and for solves."""
    bodies = budget // BODY_SHARE
    return bodies, budget - bodies


def smallest_solve_bytes() -> tuple[int, str]:
    """The smallest memory budget in which a request can solve, and what that solve is.

    Over every method and preconditioner, for the smallest images a solve can have (three
    pixels in a row: one foreground, one background, one unknown; or 3 x 3 for the methods
    with 3 x 3 windows): its estimate within the solves' part of the budget, the copies of
    a small form's body within the bodies' part (:func:`split_budget`). A memory budget
    below it answers every solve with 413.
    """
    from vecmatte.alpha import METHODS
    from vecmatte.memory import estimate_solve_memory
    from vecmatte.preconditioners import PRECONDITIONERS

    best = None
    for method, spec in METHODS.items():
        for preconditioner in (None,) if spec.preconditioner is None else PRECONDITIONERS:
            for h, w in ((1, 3), (3, 3)):
                try:
                    solve = estimate_solve_memory(
                        (h, w, 3), 1, method=method, preconditioner=preconditioner
                    )
                except ValueError:  # an image smaller than the method's window
                    continue
                total = _budget_for(
                    solve + REQUEST_BYTES_PER_PIXEL * h * w, BODY_COPIES * SMALLEST_FORM_BYTES
                )
                if best is None or total < best[0]:
                    with_preconditioner = f", {preconditioner}" if preconditioner else ""
                    best = (total, f"{h} x {w} pixels by {method}{with_preconditioner}")
    return best


def _budget_for(solve: int, body: int) -> int:
    """The smallest budget whose parts (:func:`split_budget`) hold ``solve`` and ``body``."""
    # budget // BODY_SHARE >= body, and budget - budget // BODY_SHARE >= solve, which is
    # ceil(budget * (BODY_SHARE - 1) / BODY_SHARE) > solve - 1.
    return max(BODY_SHARE * body, BODY_SHARE * (solve - 1) // (BODY_SHARE - 1) + 1)


def _size(n_bytes: float) -> str:
    """Bytes for people, as the library's refusals say them (with two decimals)."""
    return size_text(n_bytes, digits=2)


class Held:
    """The bytes of the budget an admitted request holds for its body."""

    def __init__(self, gate: Gate, n_bytes: int):
        self._gate = gate
        self.bytes = n_bytes

    def keep(self, n_bytes: int) -> None:
        """Hold only ``n_bytes`` from now on (the body's buffer is gone, its parts stay)."""
        with self._gate._condition:
            self._gate._bodies -= self.bytes - n_bytes
            self.bytes = n_bytes
            self._gate._condition.notify_all()


class Gate:
    """Admission, solver slots and a memory budget shared by the requests of one app.

    At most ``workers + queue`` requests are admitted (the others get a 503 at once), each
    once the copies of its body fit the bodies' part of the memory budget beside what the
    others hold (else a 503 at once: bodies never wait for memory). Of those, at most
    ``workers`` decode and solve at once (a slot); a request decodes its files once their
    size (from their headers) fits the solves' part of the budget, and solves once its
    estimate does, beside the other slots'. They wait up to ``wait_seconds``, then get a
    503; a body or a solve that could never fit its part gets a 413 at once.
    """

    def __init__(self, limits: Limits, budget: int):
        self._limits = limits
        self.budget = budget
        self.body_budget, self.solve_budget = split_budget(budget)
        self._condition = threading.Condition()
        self._sizing = threading.Lock()  # held by the one reservation that may still grow
        # The check of the request whose slot this thread holds: its memory waits look too.
        self._slot_check = threading.local()
        self._admitted = 0
        self._active = 0
        self._bodies = 0  # the bodies held by the admitted requests
        self._solves = 0  # what the requests in a slot decode and solve

    @property
    def _reserved(self) -> int:
        return self._bodies + self._solves

    @contextlib.contextmanager
    def admitted(self, body_bytes: int = 0) -> Iterator[Held]:
        """Admission of a request that will hold ``body_bytes`` for its body."""
        if body_bytes > self.body_budget:
            raise HTTPError(
                413,
                f"holding this request body of {body_bytes // BODY_COPIES:,} bytes while it is "
                f"read needs about {_size(body_bytes)}, more than the {_size(self.body_budget)} "
                f"of the server's memory budget ({_size(self.budget)}) that holds request "
                "bodies; send smaller files (or start the server with a larger --memory-limit)",
            )
        with self._condition:
            if self._admitted >= self._limits.workers + self._limits.queue:
                raise HTTPError(
                    503,
                    f"the server is busy ({self._admitted} requests in progress); try again",
                    [("Retry-After", "2")],
                )
            if self._bodies + body_bytes > self.body_budget:
                # At once rather than after waiting: the bodies held are of requests that
                # may themselves wait for a slot.
                raise HTTPError(
                    503,
                    f"the server is busy: the request bodies it holds fill their "
                    f"{_size(self.body_budget)} of its memory budget; try again",
                    [("Retry-After", "2")],
                )
            self._admitted += 1
            self._bodies += body_bytes
        held = Held(self, body_bytes)
        try:
            yield held
        finally:
            with self._condition:
                self._admitted -= 1
                self._bodies -= held.bytes
                self._condition.notify_all()

    def _wait(
        self, ready: Callable[[], bool], what: str, check: Callable[[], None] | None = None
    ) -> None:
        """Wait (holding the condition) until ``ready()``, at most ``wait_seconds``, else 503;
        ``check()`` (which may raise) is called every :data:`CHECK_SECONDS` meanwhile."""
        deadline = time.monotonic() + self._limits.wait_seconds
        while not ready():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise HTTPError(
                    503,
                    f"the server is busy: {what} for {self._limits.wait_seconds:g} s; try again",
                    [("Retry-After", "2")],
                )
            if check is None:
                self._condition.wait(remaining)
            else:
                self._condition.wait(min(remaining, CHECK_SECONDS))
                check()

    @contextlib.contextmanager
    def slot(self, check: Callable[[], None] | None = None) -> Iterator[None]:
        """One of the ``workers`` slots, in which a request decodes its uploads and solves;
        ``check()`` may raise to stop waiting for it, or for memory in it (a client that left)."""
        with self._condition:
            # A request whose client left (the page aborts a stroke's request at the next
            # stroke) kept its place among the admitted until a slot came: strokes painted
            # during another tab's long solve filled the queue, and the next was refused 503.
            self._wait(
                lambda: self._active < self._limits.workers,
                "every solver slot stayed taken",
                check,
            )
            self._active += 1
        try:  # from here on the slot is given back, whatever comes (a KeyboardInterrupt too)
            self._slot_check.check = check
            yield
        finally:
            self._slot_check.check = None
            with self._condition:
                self._active -= 1
                self._condition.notify_all()

    def _acquire_sizing(self) -> bool:
        """The sizing lock within ``wait_seconds``, looking at the slot's check meanwhile."""
        check = getattr(self._slot_check, "check", None)
        if check is None:
            return self._sizing.acquire(timeout=self._limits.wait_seconds)
        deadline = time.monotonic() + self._limits.wait_seconds
        while not self._sizing.acquire(
            timeout=max(0.0, min(CHECK_SECONDS, deadline - time.monotonic()))
        ):
            check()
            if time.monotonic() >= deadline:
                return False
        return True

    @contextlib.contextmanager
    def memory(self, n_bytes: int, what: str = "this solve") -> Iterator[Reservation]:
        """Reserve ``n_bytes`` of the solves' part of the budget for ``what``.

        The reservation may grow until :meth:`Reservation.settle` (from what decoding needs
        to the solve's estimate), and one request at a time is in that stage: two that each
        held their decoded images while waiting to grow could each wait for the other's
        memory, both until their 503. The one growing waits only for settled reservations,
        which their solves give back.
        """
        if not self._acquire_sizing():
            raise HTTPError(
                503,
                "the server is busy: another request was being decoded for "
                f"{self._limits.wait_seconds:g} s; try again",
                [("Retry-After", "2")],
            )
        reservation = Reservation(self)
        try:
            reservation.resize(n_bytes, what)
            yield reservation
        finally:
            reservation.settle()
            reservation.resize(0)


class Reservation:
    """Bytes of the solves' part of a :class:`Gate`'s budget held by one request."""

    def __init__(self, gate: Gate):
        self._gate = gate
        self.bytes = 0
        self._sizing = True  # holds the gate's sizing lock until settle()

    def resize(self, n_bytes: int, what: str = "this solve") -> None:
        """Hold ``n_bytes`` from now on: at once if fewer, else once they fit (or 413, 503).

        A request holds what it decoded while it waits to grow to its solve's estimate:
        those arrays are in memory meanwhile.
        """
        gate = self._gate
        if n_bytes > gate.solve_budget:
            raise HTTPError(
                413,
                f"{what} needs about {_size(n_bytes)}, more than the "
                f"{_size(gate.solve_budget)} of the server's memory budget "
                f"({_size(gate.budget)}) that holds solves; send a smaller photograph or "
                "fewer unknown pixels (or start the server with a larger --memory-limit)",
            )
        if n_bytes > self.bytes and not self._sizing:
            raise RuntimeError("a settled reservation cannot grow")
        with gate._condition:
            more = n_bytes - self.bytes
            if more > 0:
                gate._wait(
                    lambda: gate._solves + more <= gate.solve_budget,
                    "the requests in progress held the memory budget",
                    getattr(gate._slot_check, "check", None),  # a client that left stops it
                )
            gate._solves += more
            self.bytes = n_bytes
            if more < 0:
                gate._condition.notify_all()

    def settle(self) -> None:
        """The reservation is what the request needs: the next request may size its own."""
        if self._sizing:
            self._sizing = False
            self._gate._sizing.release()


class PhotoCache:
    """The last decoded photographs by content hash, within a byte budget (thread-safe).

    Each is kept with the warnings its decoding raised (an alpha channel ignored ...), so
    that every request that gets it from the cache can say them too.
    """

    def __init__(self, max_bytes: int):
        self._max_bytes = max_bytes
        self._items: OrderedDict[bytes, tuple[np.ndarray, tuple]] = OrderedDict()
        self._lock = threading.Lock()

    def entry(self, key: bytes) -> tuple[np.ndarray, tuple] | None:
        """``(array, warnings)`` of ``key``, or None."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: bytes, array: np.ndarray, warnings: Iterable = ()) -> None:
        if array.nbytes > self._max_bytes:
            return
        with self._lock:
            self._items[key] = (array, tuple(warnings))
            self._items.move_to_end(key)
            while sum(item[0].nbytes for item in self._items.values()) > self._max_bytes:
                self._items.popitem(last=False)
