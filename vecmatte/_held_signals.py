"""Ctrl-C (SIGINT) and SIGTERM held back over a few steps that must not be parted.

:mod:`vecmatte._writing` renames an output pair with them held (between two renames Ctrl-C
left a matte without its cutout) and lets go of the rename locks so, and makes a temporary
file so (between ``mkstemp``'s open and its return it left a ``.tmp`` nobody removed);
:mod:`vecmatte._rename_lock` takes the locks so (a Ctrl-C between a lock file's opening and
its descriptor's noting left the lock held by a descriptor nobody closed, and every later
writer into that folder waiting). A step that waits (for another writer's lock) waits
:func:`interruptible`, so that Ctrl-C still ends the wait.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["deliver_held", "interruptible", "interrupts_held"]


class _Holding:
    """One :func:`interrupts_held` block: the handlers it replaced and the signals it holds."""

    def __init__(self) -> None:
        self.previous: dict = {}
        self.held: dict = {}
        self.holding = True
        self.waiting = False  # inside interruptible(): delivered as they come


# The blocks of the main thread, innermost last (only the main thread runs handlers).
_BLOCKS: list[_Holding] = []


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold back SIGINT (Ctrl-C), and SIGTERM where Python handles it (cli.Terminated), until
    the block ends, then deliver them; in the main thread only, where Python runs handlers (a
    batch's worker threads rename without this; its worker processes ignore SIGINT)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    block = _Holding()

    def hold(number, frame):
        if block.holding and not block.waiting:
            block.held.setdefault(number, frame)
        else:  # still in place after the block (a signal stopped the putting back), or a wait
            _deliver(number, frame, block.previous[number])

    try:
        for number in (signal.SIGINT, signal.SIGTERM):
            handler = signal.getsignal(number)  # None: set outside Python, cannot be put back
            if handler is not None and (number == signal.SIGINT or callable(handler)):
                # Noted before it is replaced: a signal handled right after the replacing
                # call (SIGTERM once SIGINT is held) must still find it to put back.
                block.previous[number] = handler
                signal.signal(number, hold)
        _BLOCKS.append(block)
        yield
    finally:
        if block in _BLOCKS:
            _BLOCKS.remove(block)
        # Before the handlers are put back: one that a signal keeps from being put back
        # then hands its signals on instead of swallowing every later Ctrl-C (or kill).
        block.holding = False
        for number, handler in block.previous.items():
            signal.signal(number, handler)
        for number, frame in block.held.items():
            _deliver(number, frame, block.previous[number])


def deliver_held() -> None:
    """Deliver now the signals the innermost :func:`interrupts_held` block of the main thread
    has held so far (its handlers may raise: KeyboardInterrupt, cli.Terminated); the block
    goes on holding later ones. Nothing outside such a block, or in another thread.

    A step of the block that waits (for another writer's rename lock) calls it between
    looks, so that Ctrl-C ends a wait that would otherwise last as long as the other writer.
    """
    if threading.current_thread() is not threading.main_thread() or not _BLOCKS:
        return
    block = _BLOCKS[-1]
    while block.held:
        number, frame = block.held.popitem()  # gone first: delivered once, whatever it raises
        _deliver(number, frame, block.previous[number])


@contextmanager
def interruptible() -> Iterator[None]:
    """Within the innermost :func:`interrupts_held` block of the main thread, let the signals
    through inside this one: those held so far are delivered as it begins, later ones as they
    come (a handler that raises ends a blocking call, as ``flock``'s wait, which Python
    otherwise resumes after the handler that held the signal back). Nothing outside such a
    block, or in another thread."""
    if threading.current_thread() is not threading.main_thread() or not _BLOCKS:
        yield
        return
    block = _BLOCKS[-1]
    block.waiting = True
    try:
        deliver_held()
        yield
    finally:
        block.waiting = False


def _deliver(number: int, frame, handler) -> None:
    """Deliver a held signal to the handler it was held from."""
    if callable(handler):  # Python's default SIGINT raises KeyboardInterrupt
        handler(number, frame)
    elif handler == signal.SIG_DFL:
        signal.signal(number, handler)
        os.kill(os.getpid(), number)
