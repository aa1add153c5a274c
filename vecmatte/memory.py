"""How much memory a solve needs, how much the machine has, and refusing up front.

A solve that does not fit is better refused in a second, with the numbers and a way out,
than killed by the kernel after minutes of swapping (or, on a Dask worker, by its nanny).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "InsufficientMemoryError",
    "available_memory",
    "check_memory",
    "estimate_solve_memory",
    "estimate_task_memory",
]

# Peak memory of solve_alpha beyond its inputs, in bytes:
#     _PER_PIXEL * pixels + _PER_UNKNOWN * unknown pixels * (2r + 1)**2 / 9 + _BASE
# Origin: least-squares fit of the extra peak resident memory (ru_maxrss of a child process
# minus its resident memory just before the solve) of solve_alpha at radius 1 with the
# default ichol preconditioner, measured on alphamatting images upscaled to 0.25-4 MP with
# their trimaps (5-30% unknown); `python bench/large.py --calibrate` repeats the measurement
# and prints the fit. The values below are the fit rounded up; _SAFETY covers the scatter
# of the fit and allocator slack. The per-pixel term is the stencil coefficients over the
# whole image, the per-unknown term the sparse rows, the stencil and the CG vectors; both
# grow with the stencil size (4r + 1)**2 for larger radii.
_PER_PIXEL = 230.0
_PER_UNKNOWN = 1500.0
_BASE = 20e6
_SAFETY = 1.2

# What process_task (and the CLI) hold besides the solve: the decoded file, the float64
# image (24 bytes per pixel), trimap and alpha (8 + 8), and the RGBA cutout (32 + 4).
_INPUT_PER_PIXEL = 80.0


class InsufficientMemoryError(MemoryError):
    """The solve would need more memory than is available; raised before allocating."""


def _stencil_factor(radius: int) -> float:
    """Stencil size relative to radius 1: the Laplacian couples (4r + 1)**2 pixels."""
    return (4 * radius + 1) ** 2 / 25.0


def estimate_solve_memory(shape: tuple[int, ...], n_unknown: int, *, radius: int = 1) -> int:
    """Bytes :func:`vecmatte.solve_alpha` needs beyond its inputs (an estimate, on the high side).

    Parameters
    ----------
    shape : tuple
        Image shape ``(h, w)`` or ``(h, w, 3)``.
    n_unknown : int
        Number of unknown pixels of the trimap.
    radius : int, optional
        Window radius of the matting Laplacian.

    Returns
    -------
    int
        Estimated peak of extra resident memory, in bytes.

    Notes
    -----
    A linear model in the number of pixels and of unknown pixels, fitted to measured peaks
    (see the constants in :mod:`vecmatte.memory`); both terms scale with the stencil size.

    Examples
    --------
    >>> estimate_solve_memory((4000, 4000), 2_400_000) > 2**30
    True
    """
    h, w = int(shape[0]), int(shape[1])
    if h < 0 or w < 0 or n_unknown < 0:
        raise ValueError(f"shape {shape!r} and n_unknown {n_unknown!r} must be non-negative")
    factor = _stencil_factor(int(radius))
    estimate = (_PER_PIXEL * h * w + _PER_UNKNOWN * n_unknown) * factor + _BASE
    return int(_SAFETY * estimate)


def _read_int(path: str) -> int | None:
    try:
        text = Path(path).read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_available() -> int | None:
    """Room left under a container's memory limit (cgroup v2, then v1), if there is one."""
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory/memory.usage_in_bytes",
        ),
    ):
        limit, usage = _read_int(limit_file), _read_int(usage_file)
        # cgroup v1 says "no limit" with a huge number
        if limit is not None and usage is not None and limit < 2**60:
            return max(0, limit - usage)
    return None


def available_memory() -> int | None:
    """Bytes that can be allocated without swapping, or None if the system does not say.

    The smallest of ``MemAvailable`` in ``/proc/meminfo`` (or ``os.sysconf`` free pages where
    there is no ``/proc``) and the room left under a cgroup (container) memory limit.
    """
    candidates = [_meminfo_available(), _cgroup_available()]
    if candidates[0] is None:
        try:
            candidates[0] = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):
            pass
    known = [value for value in candidates if value is not None]
    return min(known) if known else None


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.1f} GiB"


def check_memory(
    shape: tuple[int, ...], n_unknown: int, radius: int = 1, *, available: int | None = None
) -> int:
    """Raise before solving if the solve would not fit in memory; return the estimate.

    Parameters
    ----------
    shape : tuple
        Image shape ``(h, w)`` or ``(h, w, 3)``.
    n_unknown : int
        Number of unknown pixels of the trimap.
    radius : int, optional
        Window radius.
    available : int, optional
        Bytes available; by default :func:`available_memory` (no check if unknown).

    Returns
    -------
    int
        The estimate of :func:`estimate_solve_memory`, in bytes.

    Raises
    ------
    InsufficientMemoryError
        With the estimate, what is available, and what to do about it.
    """
    needed = estimate_solve_memory(shape, n_unknown, radius=radius)
    if available is None:
        available = available_memory()
    if available is None or needed <= available:
        return needed
    h, w = int(shape[0]), int(shape[1])
    # Both terms of the model scale with the pixel count, so the area must shrink by this.
    scale = (available / needed) ** 0.5
    raise InsufficientMemoryError(
        f"solving a {w} x {h} image with {n_unknown:,} unknown pixels needs about "
        f"{_gib(needed)} of memory but only {_gib(available)} is available; downscale the image "
        f"to at most {int(w * scale)} x {int(h * scale)} (and its trimap, nearest neighbour), "
        "narrow the trimap's unknown band, or free memory (fewer --jobs) and try again"
    )


def estimate_task_memory(task) -> int:
    """Bytes one batch task needs: its solve plus the images it holds while it runs.

    ``task`` is a :class:`vecmatte.batch.BatchTask`; the image size is read from the file's
    header and the trimap is read to count its unknown pixels.
    """
    from vecmatte.io import image_size, load_trimap
    from vecmatte.trimap import trimap_split

    shape = image_size(task.image_path)
    trimap = load_trimap(task.trimap_path, max_pixels=getattr(task, "max_pixels", None))
    n_unknown = int(trimap_split(trimap)[2].sum())
    solve = estimate_solve_memory(shape, n_unknown, radius=task.radius)
    return solve + int(_INPUT_PER_PIXEL * shape[0] * shape[1])
