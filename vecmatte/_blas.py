"""Keep OpenBLAS to one thread while vecmatte factors a system.

The factorisations call BLAS thousands of times on small blocks. OpenBLAS threads spin while
they wait for work, so when the cores are busy with anything else (another image of a batch,
another program) a multi-threaded call can be tens of times slower than a single-threaded
one; measured here: 10.4 s instead of 0.40 s for one alphamatting.com image on a loaded
2-core machine. NumPy and SciPy each bundle their own OpenBLAS, found here through the
libraries mapped into the process (as threadpoolctl does), so no extra dependency is needed.
Where no OpenBLAS is found (another BLAS, another OS) nothing is changed.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading

_SYMBOL_PAIRS = [
    ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
    ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
    ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
    ("openblas_get_num_threads", "openblas_set_num_threads"),
]
_controls: list[tuple] | None = None
_lock = threading.RLock()
_depth = 0
_saved: list[int] = []


def _find_controls() -> list[tuple]:
    """``(get, set)`` function pairs of every OpenBLAS loaded in this process."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {
                line.split(maxsplit=5)[-1].strip()
                for line in maps
                if "openblas" in line.lower() and ".so" in line
            }
    except OSError:
        return []
    controls = []
    for path in sorted(paths):
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for get_name, set_name in _SYMBOL_PAIRS:
            get_threads = getattr(library, get_name, None)
            set_threads = getattr(library, set_name, None)
            if get_threads is not None and set_threads is not None:
                get_threads.restype = ctypes.c_int
                set_threads.argtypes = [ctypes.c_int]
                controls.append((get_threads, set_threads))
                break
    return controls


@contextlib.contextmanager
def single_threaded_blas():
    """Run the enclosed block with every loaded OpenBLAS limited to one thread."""
    global _controls, _depth, _saved
    with _lock:
        if _controls is None:
            # SciPy's linear algebra loads its own OpenBLAS lazily: import it first.
            import scipy.linalg  # noqa: F401

            _controls = _find_controls()
        if _depth == 0:
            _saved = [get_threads() for get_threads, _ in _controls]
            for _, set_threads in _controls:
                set_threads(1)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                for (_, set_threads), threads in zip(_controls, _saved, strict=True):
                    set_threads(threads)
