"""Ctrl-C (SIGINT) and SIGTERM held back over a few steps that must not be parted.

:mod:`vecmatte._writing` renames an output pair with them held (between two renames Ctrl-C
left a matte without its cutout), and makes a temporary file so (between ``mkstemp``'s open
and its return it left a ``.tmp`` nobody removed).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["interrupts_held"]


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold back SIGINT (Ctrl-C), and SIGTERM where Python handles it (cli.Terminated), until
    the block ends, then deliver them; in the main thread only, where Python runs handlers (a
    batch's worker threads rename without this; its worker processes ignore SIGINT)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous, held, holding = {}, {}, [True]

    def hold(number, frame):
        if holding[0]:
            held.setdefault(number, frame)
        else:  # still in place after the block: a signal stopped the putting back
            _deliver(number, frame, previous[number])

    try:
        for number in (signal.SIGINT, signal.SIGTERM):
            handler = signal.getsignal(number)  # None: set outside Python, cannot be put back
            if handler is not None and (number == signal.SIGINT or callable(handler)):
                # Noted before it is replaced: a signal handled right after the replacing
                # call (SIGTERM once SIGINT is held) must still find it to put back.
                previous[number] = handler
                signal.signal(number, hold)
        yield
    finally:
        # Before the handlers are put back: one that a signal keeps from being put back
        # then hands its signals on instead of swallowing every later Ctrl-C (or kill).
        holding[0] = False
        for number, handler in previous.items():
            signal.signal(number, handler)
        for number, frame in held.items():
            _deliver(number, frame, previous[number])


def _deliver(number: int, frame, handler) -> None:
    """Deliver a held signal to the handler it was held from."""
    if callable(handler):  # Python's default SIGINT raises KeyboardInterrupt
        handler(number, frame)
    elif handler == signal.SIG_DFL:
        signal.signal(number, handler)
        os.kill(os.getpid(), number)
