"""Let a solve reuse freed memory where glibc's adaptive mmap threshold has been switched off.

Dask's nanny starts every worker with ``MALLOC_TRIM_THRESHOLD_=65536`` so that freed memory goes
back to the system. Setting any of glibc's malloc thresholds also switches off its adaptive
mmap threshold, so every array above 128 KiB is then a fresh ``mmap``: each of a solve's many
large temporaries is page-faulted in again and unmapped when freed. Measured on GT04 (the
alphamatting.com image with 40 % unknown pixels), one closed-form solve took 318k minor page
faults and 0.9 s of system time with that variable against 25k and 0.2 s without it, about a
third of the solve's time (see ``bench/dask_overhead.py``). :func:`reuse_large_allocations`
raises the thresholds for the duration of a solve and restores them afterwards, so that the
nanny's setting holds again between solves.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import sys
from collections.abc import Iterator

__all__ = ["reuse_large_allocations"]

# mallopt parameters, from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_GLIBC_DEFAULT_MMAP_THRESHOLD = 128 * 1024
# The adaptive threshold's own ceiling on 64-bit glibc (DEFAULT_MMAP_THRESHOLD_MAX).
_SOLVE_MMAP_THRESHOLD = 32 * 1024 * 1024
_SOLVE_TRIM_THRESHOLD = 2 * _SOLVE_MMAP_THRESHOLD
_ENVIRONMENT = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_")


def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    if not hasattr(libc, "mallopt") or not hasattr(libc, "malloc_trim"):
        return None  # not glibc (musl has neither)
    return libc


def _threshold_from_environment(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.isdigit() else default


@contextlib.contextmanager
def reuse_large_allocations() -> Iterator[bool]:
    """Raise glibc's mmap and trim thresholds for the duration of the block, if they were fixed.

    Does nothing (and yields ``False``) unless a ``MALLOC_*_`` threshold variable is set in the
    environment, which is the only way the adaptive threshold is off at start-up, or when the
    C library is not glibc. Otherwise yields ``True`` and, on exit, puts the thresholds back to
    the values the environment gave.
    """
    libc = _libc() if any(name in os.environ for name in _ENVIRONMENT) else None
    if libc is None:
        yield False
        return
    libc.mallopt(_M_MMAP_THRESHOLD, _SOLVE_MMAP_THRESHOLD)
    libc.mallopt(_M_TRIM_THRESHOLD, _SOLVE_TRIM_THRESHOLD)
    try:
        yield True
    finally:
        mmap = _threshold_from_environment("MALLOC_MMAP_THRESHOLD_", _GLIBC_DEFAULT_MMAP_THRESHOLD)
        trim = _threshold_from_environment("MALLOC_TRIM_THRESHOLD_", 2 * mmap)
        libc.mallopt(_M_MMAP_THRESHOLD, mmap)
        # No malloc_trim(0) here: it hands every free page back at once, and the next solve
        # in the same worker then faults all of them in again (measured: GT04 in a Dask
        # worker, 45k faults a solve with it against 3k without). With the nanny's threshold
        # back in force, glibc returns the freed top of the heap at the next free anyway.
        libc.mallopt(_M_TRIM_THRESHOLD, trim)
