"""Review B of session 11: a save interrupted at any point leaves the old file or the new.

63fa50e renames one file without the folder's rename lock and without holding Ctrl-C back
(one rename is atomic). These tests deliver SIGINT, and SIGTERM handled as the CLI handles it,
at each point of a save where CPython runs signal handlers, in turn: on entering a Python
function, at a loop's backward jump, and after a call into C code (``os.replace``,
``os.chmod``, a write), in vecmatte's own code. Each run must leave the file as it was or as
written, never half, and no temporary ``.NAME.XXXX.tmp`` beside it; a pair both old or both new.
"""

from __future__ import annotations

import dis
import gc
import signal
import sys
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from vecmatte import io as vio
from vecmatte._rename_lock import lock_path
from vecmatte.cli import Terminated

try:
    import fcntl
except ImportError:  # Windows: skipped below
    fcntl = None

pytestmark = pytest.mark.skipif(
    sys.platform == "win32" or sys.version_info[:2] != (3, 11),
    reason="POSIX signals; the points where handlers run are CPython 3.11's",
)

_PACKAGE = str(Path(vio.__file__).parent)
_CALLS = {"CALL", "CALL_FUNCTION_EX"}


def _terminate(number, frame):
    raise Terminated


@pytest.fixture(autouse=True)
def _frozen_heap():
    """Keep the objects of earlier tests out of each point's gc.collect().

    Every point collects the traced frames' cycles; in the whole suite's heap a full
    collection took ~0.2 s, minutes for these tests. Frozen objects are not examined; what a
    save makes is, as before.
    """
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


class _Code:
    """A code object's instruction names and exception handlers, by offset."""

    cache: ClassVar[dict] = {}

    def __init__(self, code):
        self.names = {i.offset: i.opname for i in dis.get_instructions(code)}
        self.table = dis._parse_exception_table(code)

    def handler(self, offset):
        return next((e.target for e in self.table if e.start <= offset < e.end), None)

    @classmethod
    def of(cls, code):
        if code not in cls.cache:
            cls.cache[code] = cls(code)
        return cls.cache[code]


def _interrupted_at(point: int, save, number: int) -> bool:
    """Run ``save`` with signal ``number`` raised at its ``point``-th place where handlers
    run; True if the save ended before that point."""
    count = 0
    last: dict = {}  # a vecmatte frame -> (its last instruction's offset, a Python frame called)

    def deliver():
        nonlocal count
        count += 1
        if count == point:
            sys.settrace(None)
            # Runs the handler in place now: the save's own (holding it back), or raising.
            signal.raise_signal(number)

    def tracer(frame, event, arg):
        caller = frame.f_back
        if event == "call":
            if caller is not None and caller in last:
                last[caller] = (last[caller][0], True)
                deliver()  # a function's entry (RESUME) checks for signals
            if not frame.f_code.co_filename.startswith(_PACKAGE):
                return None
            frame.f_trace_opcodes = True
            last[frame] = (None, False)
            return tracer
        if event != "opcode":
            return tracer
        code, offset = _Code.of(frame.f_code), frame.f_lasti
        previous, python_called = last[frame]
        last[frame] = (offset, False)
        if code.names[offset] == "JUMP_BACKWARD":
            deliver()
        elif (
            previous is not None
            and code.names[previous] in _CALLS
            and not python_called
            and code.handler(previous) == code.handler(offset)
        ):
            deliver()  # after a call into C (raised where the call is handled)
        return tracer

    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    previous_handler = signal.signal(signal.SIGTERM, _terminate)
    try:
        sys.settrace(tracer)
        try:
            save()
            interrupted = False
        except KeyboardInterrupt:  # Terminated is one
            interrupted = True
        finally:
            sys.settrace(None)
        # The traced frames refer to the tracer, which refers to them: freed now, as they
        # are without a tracer (a context manager's generator left by a signal that came as
        # its __exit__ began is closed then, its rename lock let go).
        last.clear()
        gc.collect()
        # Ctrl-C and kill work after the save, whatever came when: a handler that held them
        # back, left in place, swallowed every later one.
        for later, raised in ((signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, Terminated)):
            with pytest.raises(KeyboardInterrupt) as caught:
                signal.raise_signal(later)
            assert caught.type is raised, f"point {point}: {later!r} not handled"
        return not interrupted and count < point
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
        signal.signal(signal.SIGINT, previous_int)


def _lock_free(folder: Path) -> bool:
    """Whether another writer could take the rename lock of ``folder`` now."""
    status = folder.stat()
    path = lock_path((status.st_dev, status.st_ino))
    if path is None or not path.exists():
        return True
    with open(path, "rb") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(handle, fcntl.LOCK_UN)
    return True


def _bytes(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


_OLD = np.zeros((4, 5))
_NEW = np.linspace(0, 1, 20).reshape(4, 5)


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("existing", [True, False])
def test_a_single_save_interrupted_anywhere_leaves_old_or_new_and_no_temporary(
    tmp_path, number, existing
):
    out = tmp_path / "alpha.png"
    vio.save_image(out, _NEW)
    new_bytes = out.read_bytes()
    point, outcomes = 0, set()
    while True:
        point += 1
        if existing:
            vio.save_image(out, _OLD)
        else:
            out.unlink(missing_ok=True)
        old_bytes = _bytes(out)
        finished = _interrupted_at(point, lambda: vio.save_image(out, _NEW), number)
        left = sorted(p.name for p in tmp_path.iterdir() if p.name != "alpha.png")
        assert left == [], f"point {point}: {left} left"
        now = _bytes(out)
        assert now in (old_bytes, new_bytes), f"point {point}: a partial file"
        outcomes.add(now == new_bytes)
        if finished:
            break
    # Interrupted before the rename and after it, at tens of points.
    assert outcomes == {False, True} and point > 50


@pytest.mark.slow
@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM])
def test_a_pair_saved_interrupted_anywhere_is_both_old_or_both_new(tmp_path, number):
    matte, cutout = tmp_path / "alpha.png", tmp_path / "cutout.png"

    def pair(alpha):
        return [(matte, alpha), (cutout, np.dstack([alpha] * 4))]

    vio.save_images(pair(_NEW))
    after = (_bytes(matte), _bytes(cutout))
    point, outcomes = 0, set()
    while True:
        point += 1
        vio.save_images(pair(_OLD))
        before = (_bytes(matte), _bytes(cutout))
        finished = _interrupted_at(point, lambda: vio.save_images(pair(_NEW)), number)
        names = sorted(p.name for p in tmp_path.iterdir())
        assert names == ["alpha.png", "cutout.png"], f"point {point}: {names}"
        now = (_bytes(matte), _bytes(cutout))
        assert now in (before, after), f"point {point}: one old, one new"
        # A lock left held stopped every later writer into the folder (this one's next save).
        assert _lock_free(tmp_path), f"point {point}: the folder's rename lock is still held"
        outcomes.add(now == after)
        if finished:
            break
    assert outcomes == {False, True} and point > 50
