"""How much memory a solve needs, how much the machine has, and refusing up front.

A solve that does not fit is better refused in a second, with the numbers and a way out,
than killed by the kernel after minutes of swapping (or, on a Dask worker, by its nanny).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from vecmatte import _defaults
from vecmatte._memory_models import (
    BASE_BYTES,
    SAFETY,
    checked_counts,
    checked_solve_bytes,
    default_memory_bytes,
    direct_factor_bytes,
    lighter_preconditioner,
    size_text,
)
from vecmatte._numbers import finite_number, whole_number
from vecmatte._typing import PreconditionerLike
from vecmatte._validation import check_option_names

try:
    import resource
except ImportError:  # not a Unix
    resource = None

__all__ = [
    "BASE_BYTES",
    "SAFETY",
    "InsufficientMemoryError",
    "available_memory",
    "check_memory",
    "default_memory_bytes",
    "direct_factor_bytes",
    "estimate_solve_memory",
    "estimate_task_memory",
    "forget_memory_reading",
    "refuse_if_short",
]

# What process_task (and the CLI) hold besides the solve: the decoded file, the float64
# image (24 bytes per pixel), trimap and alpha (8 + 8), and the RGBA cutout (32 + 4).
_INPUT_PER_PIXEL = 80.0
_lighter_preconditioner = lighter_preconditioner  # its name here before (the tests')


class InsufficientMemoryError(MemoryError):
    """The solve would need more memory than is available; raised before allocating."""


def estimate_solve_memory(
    shape: tuple[int, ...],
    n_unknown: int,
    *,
    method: str = _defaults.METHOD,
    preconditioner: PreconditionerLike = None,
    **options: Any,
) -> int:
    """Bytes :func:`vecmatte.solve_alpha` needs beyond its inputs (an estimate, on the high side).

    Parameters
    ----------
    shape : tuple
        Image shape ``(h, w)`` or ``(h, w, 3)``.
    n_unknown : int
        Number of unknown pixels of the trimap.
    method : str, optional
        Alpha method (a key of :data:`vecmatte.alpha.METHODS`).
    preconditioner : None, str or (str, dict), optional
        The one the solve uses; ``None``: the method's default.
    **options
        The method's options (closed-form: ``radius``, ``eps``).

    Returns
    -------
    int
        Estimated peak of extra resident memory, in bytes.

    Notes
    -----
    For closed-form, a model ``a n + b u + max(e u, c u**1.25)`` in the number of pixels ``n``
    and of unknown pixels ``u``, fitted to measured peaks (see the constants in
    :mod:`vecmatte._memory_models`). The last term is the factor of the ``"direct"`` preconditioner:
    an envelope (linear in the unknowns) or a nested-dissection factor, whose fill grows a
    little faster; ``"ichol"`` and ``"jacobi"`` keep no such factor. A ``"direct"`` factor
    of a system coupling pixels far apart (KNN's graph: ``"reach"`` in the method's
    ``MethodSpec.lacks``) is SuperLU's, without a grid ordering: about ``5.1 rows**1.7``
    bytes more, measured (rows: the unknowns, every pixel with soft constraints). The
    ``"direct"`` options that change the factor are counted too (:func:`direct_factor_bytes`):
    ``single_precision=False`` (a float64 factor, twice the float32 one), ``factor="envelope"``
    (beyond its flops limit, as wide as the unknown region) and ``factor="superlu"``.

    Examples
    --------
    >>> estimate_solve_memory((4000, 4000), 2_400_000) > 2**30
    True
    """
    from vecmatte.alpha._registry import get_method, resolve_method_preconditioner

    # 0 is allowed: an empty image needs no memory (the solve refuses it, in its own words).
    h, w, n_unknown = checked_counts(shape, n_unknown)
    spec = get_method(method)
    # The same TypeError as estimate_alpha's, not memory_bytes()'s "unexpected keyword".
    check_option_names(f"alpha method {method!r}", spec.option_names(), options)
    check_options = getattr(spec.load(), "check_options", None)
    if check_options is not None and h * w:
        # The ranges the solve refuses (a window larger than the image ...): rw's model took
        # radius=10**6 on a 50 x 50 image (3 PiB), large-kernel's radius=0.
        check_options((h, w, 3), **options)
    # Refused as the solve refuses it: an estimate for it would be of no solve.
    name, direct = resolve_method_preconditioner(method, preconditioner)
    return checked_solve_bytes((h, w), n_unknown, spec, name, direct, options)


def _read_int(path: str) -> int | None:
    try:
        text = Path(path).read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _meminfo_available() -> int | None:
    try:
        # Read whole, in binary: a third of the time of decoding and iterating its lines.
        with open("/proc/meminfo", "rb") as handle:
            text = b"\n" + handle.read()
        at = text.find(b"\nMemAvailable:")
        if at < 0:
            return None
        return int(text[at + 14 :].split(b"\n", 1)[0].split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        return None


def _cgroup_directories(root: Path, membership: Path) -> list[Path]:
    """This process's cgroup v2 directory and its ancestors up to ``root``, innermost first.

    ``membership`` is ``/proc/self/cgroup``, whose line ``0::/path`` names the directory.

    A limit may be set on any of them: on the container's root (``root`` itself inside a
    container), or on a unit further down (``systemd-run -p MemoryMax=...`` limits the
    process's own cgroup, and the root of the host's hierarchy has no ``memory.max``).
    """
    try:
        lines = membership.read_text().splitlines()
    except OSError:
        lines = []
    # cgroup v2's line is "0::/path"; under v1 there are numbered lines and no such one.
    path = next((line[3:] for line in lines if line.startswith("0::/")), "/").strip("/")
    # "/" inside a cgroup namespace (a container); a path outside the mount is not followed.
    directory = root / path if path and ".." not in path.split("/") else root
    directories = [directory]
    while directory != root and root in directory.parents:
        directory = directory.parent
        directories.append(directory)
    return directories


def _reclaimable_file_cache(stat_file: Path, key: str) -> int:
    """Page cache a cgroup can drop at once (``inactive_file`` of its ``memory.stat``)."""
    try:
        for line in stat_file.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key and value.strip().isdigit():
                return int(value)
    except OSError:
        pass
    return 0


_CGROUP_ROOT = Path("/sys/fs/cgroup")
_CGROUP_MEMBERSHIP = Path("/proc/self/cgroup")
# The limits of this process's cgroups (which directories, and their memory.max) are read
# again after this many seconds; the usage under a limit is read at every check. Reading
# them was 0.1 ms of every solve (sysfs files, a few microseconds of kernel time each), a
# twentieth of a small image's whole solve; a limit changes when a container or service
# is reconfigured, and such a change is seen within a second.
_LIMITS_SECONDS = 1.0
_limits_cache: tuple[float, tuple] | None = None


def _cgroup_limits(root: Path, membership: Path) -> tuple:
    """The memory limits over this process: ``((directory, limit), ...), v1`` (see below).

    cgroup v2: each directory of :func:`_cgroup_directories` whose ``memory.max`` is a
    number, with it; ``v1``: the cgroup v1 memory controller's limit, or None where there is
    none (no file, or the huge number v1 writes for no limit).
    """
    limited = []
    for directory in _cgroup_directories(root, membership):
        limit = _read_int(str(directory / "memory.max"))  # "max": no limit, read as None
        if limit is not None:
            limited.append((directory, limit))
    limit = _read_int(str(root / "memory" / "memory.limit_in_bytes"))
    # cgroup v1 says "no limit" with a huge number
    return tuple(limited), limit if limit is not None and limit < 2**60 else None


def _cgroup_available(
    root: Path = _CGROUP_ROOT, membership: Path = _CGROUP_MEMBERSHIP
) -> int | None:
    """Room left under a cgroup (container, systemd unit) memory limit, if there is one.

    cgroup v2: the tightest of this process's cgroup and its ancestors; cgroup v1: the memory
    controller's root as the container sees it. The usage counts the page cache, which fills
    up to the limit as a batch reads and writes files and is dropped when memory is needed:
    its inactive part (what ``docker stats`` and the kubelet leave out too) is not counted.
    This process's own limits are read again after :data:`_LIMITS_SECONDS` (other roots
    each time); the usage under them every time.
    """
    global _limits_cache
    if root == _CGROUP_ROOT and membership == _CGROUP_MEMBERSHIP:
        now = time.monotonic()
        cached = _limits_cache
        if cached is None or not 0 <= now - cached[0] < _LIMITS_SECONDS:
            cached = _limits_cache = (now, _cgroup_limits(root, membership))
        limited, v1 = cached[1]
    else:
        limited, v1 = _cgroup_limits(root, membership)
    rooms = []
    for directory, limit in limited:
        usage = _read_int(str(directory / "memory.current"))
        if usage is not None:
            usage -= _reclaimable_file_cache(directory / "memory.stat", "inactive_file")
            rooms.append(max(0, limit - max(usage, 0)))
    if rooms:
        return min(rooms)
    if v1 is None:
        return None
    usage = _read_int(str(root / "memory" / "memory.usage_in_bytes"))
    if usage is None:
        return None
    usage -= _reclaimable_file_cache(root / "memory" / "memory.stat", "total_inactive_file")
    return max(0, v1 - max(usage, 0))


def _process_status() -> dict[str, int]:
    """Sizes in bytes from ``/proc/self/status`` (``VmSize``, ``VmData``, ...), if readable."""
    sizes = {}
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                name, _, value = line.partition(":")
                fields = value.split()
                if len(fields) == 2 and fields[1] == "kB" and fields[0].isdigit():
                    sizes[name] = int(fields[0]) * 1024
    except OSError:
        pass
    return sizes


def _rlimit_available() -> int | None:
    """Room left under this process's address-space and data limits (``ulimit -v``, ``-d``).

    A solve over such a limit fails with NumPy's MemoryError from wherever the allocation
    that crossed it happened to be, however much memory the machine has free. The room is
    the limit minus the address space (data segment) already mapped, which counts freed
    memory the allocator still holds: on the high side, so a refusal errs towards safety.
    """
    try:
        import resource
    except ImportError:  # not a Unix
        return None
    status = None
    rooms = []
    for limit_name, used_name in (("RLIMIT_AS", "VmSize"), ("RLIMIT_DATA", "VmData")):
        which = getattr(resource, limit_name, None)
        if which is None:
            continue
        try:
            soft = resource.getrlimit(which)[0]
        except (OSError, ValueError):
            continue
        if soft == resource.RLIM_INFINITY or soft < 0:
            continue
        if status is None:
            # A solve maps SciPy's compiled modules (about 160 MiB of address space, 20 MiB
            # resident): loaded now, so that the room left counts them.
            import scipy.sparse.linalg
            import scipy.spatial  # noqa: F401

            status = _process_status()
        if used_name in status:
            rooms.append(max(0, soft - status[used_name]))
    return min(rooms) if rooms else None


def _memory_readings() -> dict[str, int]:
    """What each limit of :func:`available_memory` leaves, in bytes, read once: ``"machine"``,
    ``"cgroup"``, ``"rlimit"`` (those the system states)."""
    readings = {
        "machine": _meminfo_available(),
        "cgroup": _cgroup_available(),
        "rlimit": _rlimit_available(),
    }
    if readings["machine"] is None:
        try:
            readings["machine"] = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):
            pass
    return {name: value for name, value in readings.items() if value is not None}


def available_memory() -> int | None:
    """Bytes that can be allocated without swapping, or None if the system does not say.

    The smallest of ``MemAvailable`` in ``/proc/meminfo`` (or ``os.sysconf`` free pages where
    there is no ``/proc``), the room left under a cgroup (container or systemd unit) memory
    limit, and the room left under the process's own limits on its address space and data
    (``RLIMIT_AS``, ``RLIMIT_DATA``: ``ulimit -v``, ``resource.setrlimit``).

    Returns
    -------
    int or None
        Bytes, or None when none of these is known.
    """
    return min(_memory_readings().values(), default=None)


# Said after the number available when that limit gives it. Freeing memory does not help
# under a limit of the process's own: the limit has to go up.
_LIMIT_WORDS = {
    "rlimit": (
        " under this process's address-space or data limit (ulimit -v / -d, "
        "RLIMIT_AS / RLIMIT_DATA: raise it)"
    ),
    "cgroup": " under the memory limit of this process's cgroup (container or service unit)",
}


def _available_and_limit() -> tuple[int | None, str]:
    """:func:`available_memory` and the words naming the limit that gives it, from one reading.

    Read twice, a cgroup's usage (or the address space mapped) could change in between, and
    the limit in force went unnamed.
    """
    readings = _memory_readings()
    available = min(readings.values(), default=None)
    for name, words in _LIMIT_WORDS.items():
        if available is not None and readings.get(name) == available:
            return available, words
    return available, ""


# A solve needing at most a quarter of what a reading under a second old found is let
# through without reading again (25-40 us of /proc/meminfo and cgroup files, 7-8% of a small
# image's solve); not in another process (a forked child), once an rlimit changed (read each
# time: 1 us) or a reader was replaced. The solves let through count against the quarter.
_READING_SECONDS, _READING_SHARE = 1.0, 0.25
_reading: list = [None]  # (stamp, _reading_key(), available, bytes let through since)
_reading_lock = threading.Lock()
_forgotten = [0]  # how many times forget_memory_reading ran: a reading begun before is not kept
_RLIMITS = [getattr(resource, n) for n in ("RLIMIT_AS", "RLIMIT_DATA") if hasattr(resource, n)]


def _after_fork() -> None:
    """A forked child's own lock and no reading: a thread inside the parent's lock as the
    process forked left it held for ever in the child (its first check hung)."""
    global _reading_lock
    _reading_lock, _reading[0] = threading.Lock(), None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def _reading_key() -> tuple:
    """What a reading holds for: this process, its rlimits, the readers and limits in use."""
    rlimits = [resource.getrlimit(which) for which in _RLIMITS]
    readers = (_memory_readings, _meminfo_available, _cgroup_available, _rlimit_available)
    return os.getpid(), rlimits, readers, _cgroup_limits, _process_status, _limits_cache


def _reading_covers(needed: float, stamp: float) -> bool:
    """Whether the last reading, recent and of this key, has room for ``needed`` more bytes."""
    key = _reading_key()
    with _reading_lock:
        last = _reading[0]
        fresh = last is not None and last[1] == key and 0 <= stamp - last[0] < _READING_SECONDS
        if not fresh or last[3] + needed > _READING_SHARE * last[2]:
            return False
        _reading[0] = (*last[:3], last[3] + needed)
        return True


def _keep_reading(stamp: float, forgotten: int, available: int, needed: float) -> None:
    """Keep a reading begun at ``stamp`` that let ``needed`` bytes through: another thread's
    begun since is kept instead, with ``needed`` counted (replaced, it lost that thread's
    solve); none begun before :func:`forget_memory_reading` last ran."""
    key = _reading_key()
    with _reading_lock:
        last = _reading[0]
        if forgotten == _forgotten[0]:
            newer = last is not None and last[1] == key and last[0] >= stamp
            last = last if newer else (stamp, key, available, 0)
            _reading[0] = (*last[:3], last[3] + needed)


def forget_memory_reading() -> None:
    """Make the next check read the memory available afresh, even for a small solve.

    Every solve's check (:func:`refuse_if_short`) lets a solve needing at most a quarter of
    what a reading under a second old found through unread; a program that has just taken
    much memory, in this process or another, drops that reading here.
    """
    with _reading_lock:
        _reading[0] = None
        _forgotten[0] += 1


def check_memory(
    shape: tuple[int, ...],
    n_unknown: int,
    radius: int | None = None,
    *,
    method: str = _defaults.METHOD,
    preconditioner: PreconditionerLike = None,
    available: int | None = None,
    **options: Any,
) -> int:
    """Raise before solving if the solve would not fit in memory; return the estimate.

    Parameters
    ----------
    shape : tuple
        Image shape ``(h, w)`` or ``(h, w, 3)``.
    n_unknown : int
        Number of unknown pixels of the trimap.
    radius : int, optional
        Window radius (closed-form's ``radius`` option).
    method : str, optional
        Alpha method.
    preconditioner : None, str or (str, dict), optional
        The preconditioner the solve will use (``None``: the method's default).
    available : int, optional
        Bytes available; by default :func:`available_memory` (no check if unknown).
    **options
        The method's other options.

    Returns
    -------
    int
        The estimate of :func:`estimate_solve_memory`, in bytes.

    Raises
    ------
    InsufficientMemoryError
        With the estimate, what is available, and what to do about it.
    """
    if radius is not None:
        options["radius"] = radius
    needed = estimate_solve_memory(
        shape, n_unknown, method=method, preconditioner=preconditioner, **options
    )
    refuse_if_short(
        needed,
        shape,
        n_unknown,
        method=method,
        preconditioner=preconditioner,
        available=available,
        **options,
    )
    return needed


def refuse_if_short(
    needed: int,
    shape: tuple[int, ...],
    n_unknown: int,
    *,
    method: str = _defaults.METHOD,
    preconditioner: PreconditionerLike = None,
    available: int | None = None,
    **options,
) -> None:
    """Raise :class:`InsufficientMemoryError` if ``needed`` bytes exceed what is available.

    The message gives the numbers and the ways out: a smaller image (the size that fits),
    a preconditioner that holds less (when one would fit), a narrower unknown band.

    Parameters
    ----------
    needed : int
        Bytes the solve needs (:func:`estimate_solve_memory`).
    shape, n_unknown, method, preconditioner
        The solve's, as given to :func:`estimate_solve_memory`, for the ways out.
    available : int, optional
        Bytes available; ``None``: :func:`available_memory` (nothing is refused when that
        is unknown), read again only if ``needed`` and the solves let through since the
        last reading add up to more than a quarter of it, the reading is a second old, or
        an rlimit changed (:func:`forget_memory_reading`).
    **options
        The method's options, as given to :func:`estimate_solve_memory`.

    Raises
    ------
    InsufficientMemoryError
        If ``needed`` exceeds what is available.
    """
    needed = finite_number(needed, "needed", "a number of bytes (0 or more)", minimum=0.0)
    # Read as the estimate reads them: a shape of text or a NaN reached int() unchecked.
    h, w, n_unknown = checked_counts(shape, n_unknown)
    limit = ""
    if available is None:
        stamp, forgotten = time.monotonic(), _forgotten[0]  # a reading is as old as its start
        if _reading_covers(needed, stamp):
            return
        available, limit = _available_and_limit()
        if available is not None and needed <= available:
            _keep_reading(stamp, forgotten, available, needed)
    else:
        # A negative number made the ways out a complex square root (a TypeError from int()).
        available = whole_number(available, "available", "a number of bytes (0 or more)")
    if available is None or needed <= available:
        return
    # Every term of the model grows at least like the pixel count, so shrinking the area by
    # available / needed is enough; offered only if the method still works at that size.
    scale = (available / needed) ** 0.5
    smaller = (int(h * scale), int(w * scale))
    ways_out = []
    if _works_at(smaller, method, options):
        ways_out.append(
            f"downscale the image to at most {smaller[0]} x {smaller[1]} pixels (height x "
            "width; its trimap with nearest neighbour)"
        )
    elif "radius" in options:
        ways_out.append(f"use a smaller radius than {options['radius']}")
    lighter = _lighter_preconditioner(method, preconditioner)
    if lighter is not None:
        iterative = estimate_solve_memory(
            shape, n_unknown, method=method, preconditioner=lighter, **options
        )
        if iterative <= available:
            ways_out.append(
                f"use the {lighter} preconditioner (--preconditioner {lighter}), which needs "
                f"about {size_text(iterative)} but takes much longer"
            )
    ways_out.append("narrow the trimap's unknown band, or free memory (fewer --jobs)")
    raise InsufficientMemoryError(
        f"solving an image of {h} x {w} pixels (height x width) with {n_unknown:,} unknown "
        "pixels needs about "
        f"{size_text(needed)} of memory but only {size_text(available)} is available{limit}; "
        + "; or ".join(ways_out)
    )


def _works_at(shape: tuple[int, int], method: str, options: dict) -> bool:
    """Whether the method's options are valid for an image of ``shape`` (e.g. one window fits)."""
    from vecmatte.alpha._registry import get_method

    if min(shape) < 1:
        return False
    check_options = getattr(get_method(method).load(), "check_options", None)
    if check_options is None:
        return True
    try:
        check_options((*shape, 3), **options)
    except ValueError:
        return False
    return True


def estimate_task_memory(task) -> int:
    """Bytes one batch task needs: its solve plus the images it holds while it runs.

    The image size is read from the file's header and the trimap (or the mask, with the
    task's band) is read to count its unknown pixels. The solve is estimated with the task's
    method and options.

    Parameters
    ----------
    task : vecmatte.batch.BatchTask
        The task.

    Returns
    -------
    int
        Estimated peak bytes.
    """
    from vecmatte.io import image_size, load_trimap
    from vecmatte.trimap import trimap_from_mask, trimap_split

    shape = image_size(task.image_path)
    trimap = load_trimap(task.trimap_path, max_pixels=getattr(task, "max_pixels", None))
    if getattr(task, "band", None) is not None:
        trimap = trimap_from_mask(trimap, band=task.band)
    n_unknown = int(trimap_split(trimap)[2].sum())
    options = {k: v for k, v in task.solver_options().items() if k not in ("rtol", "maxiter")}
    solve = estimate_solve_memory(shape, n_unknown, **options)
    return solve + int(_INPUT_PER_PIXEL * shape[0] * shape[1])
