"""Session 11 review of the speed helpers' caches and memory check (alpha, laplacians,
foreground, memory).

The caches added this session (function signatures, the cgroup limits, stencil and sampling
offset tables, tile grids, nearest-neighbour indices) are shared by every call of a process:
by ``vecmatte serve``'s worker threads too. These tests check that they are bounded (a server
seeing images of many sizes must not grow without end), that no caller can change a shared
table, that threads solving images of different sizes at once get the results of one thread
alone, and that the memory check still refuses under a small cgroup limit.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path

import numpy as np
import pytest

import vecmatte
import vecmatte.memory
from vecmatte.memory import InsufficientMemoryError
from vecmatte.synthetic import make_scene

# Modules whose functools caches hold tables keyed by sizes or functions.
_CACHED = (
    "vecmatte._validation",
    "vecmatte.laplacians._stencil",
    "vecmatte.foreground._red_black",
    "vecmatte.foreground.ml",
    "vecmatte.alpha._sample_gathering",
    "vecmatte.alpha._shared_sampling",
    "vecmatte.linalg._panel",
)


def _caches():
    import importlib

    found = {}
    for name in _CACHED:
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            if hasattr(value, "cache_info") and hasattr(value, "cache_clear"):
                found[f"{name}.{attribute}"] = value
    return found


def test_every_cache_is_bounded():
    caches = _caches()
    # The ones this session added must all be found, or the check below checks nothing.
    for name in (
        "vecmatte._validation._cached_parameters",
        "vecmatte.laplacians._stencil._offsets",
        "vecmatte.foreground._red_black.tile_grid",
        "vecmatte.foreground.ml._nearest",
        "vecmatte.alpha._sample_gathering._cached_angle_table",
        "vecmatte.alpha._sample_gathering._found_first_columns",
        "vecmatte.alpha._shared_sampling._disk_offsets",
        "vecmatte.alpha._shared_sampling._square_offsets",
    ):
        assert name in caches
    for name, cache in caches.items():
        maxsize = cache.cache_info().maxsize
        assert maxsize is not None and maxsize <= 256, name


def test_a_server_seeing_many_sizes_keeps_a_bounded_cache():
    from vecmatte.foreground import ml

    ml._nearest.cache_clear()
    for n in range(1, 400):
        ml._nearest(n, n + 1)
    assert ml._nearest.cache_info().currsize <= ml._nearest.cache_info().maxsize


def test_cached_tables_cannot_be_changed_by_a_caller():
    from vecmatte.alpha import _sample_gathering, _shared_sampling
    from vecmatte.foreground import ml
    from vecmatte.laplacians._stencil import stencil_offsets

    tables = [
        ml._nearest(7, 3),
        *_shared_sampling.disk_offsets(3),
        *_shared_sampling.square_offsets(2),
        *_sample_gathering._angle_table(4),
        _sample_gathering._found_first_columns(4),
    ]
    for table in tables:
        assert not table.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            table[...] = 0
    # stencil_offsets hands out copies: a caller's change reaches no other call.
    first = stencil_offsets(2)
    first[:] = 99
    assert stencil_offsets(2).max() == 2
    # Signatures: a read-only mapping.
    from vecmatte._validation import signature_parameters

    with pytest.raises(TypeError):
        signature_parameters(vecmatte.estimate_alpha)["image"] = None


def test_radii_past_the_cache_limit_are_made_afresh():
    from vecmatte.alpha import _shared_sampling

    _shared_sampling._disk_offsets.cache_clear()
    dy, _ = _shared_sampling.disk_offsets(65)
    assert _shared_sampling._disk_offsets.cache_info().currsize == 0
    square = np.add.outer(np.arange(-65, 66) ** 2, np.arange(-65, 66) ** 2)
    assert dy.size == np.count_nonzero(square <= 65**2) - 1


def _work():
    """(name, function) of small solves touching every cache, on two image sizes."""
    jobs = []
    for shape, seed in (((32, 40), 1), ((40, 28), 2)):
        scene = make_scene(shape, seed=seed)
        image, trimap, alpha = scene.image, scene.trimap, scene.alpha
        for method in ("cf", "sm", "knn", "lkm", "rw"):
            jobs.append(
                (
                    f"{shape}:{method}",
                    functools.partial(vecmatte.estimate_alpha, image, trimap, method=method),
                )
            )
        jobs.append(
            (
                f"{shape}:ml",
                functools.partial(vecmatte.estimate_foreground_background, image, alpha),
            )
        )
        jobs.append((f"{shape}:cutout", functools.partial(vecmatte.cutout, image, alpha)))
    return jobs


def _clear_caches():
    for cache in _caches().values():
        cache.cache_clear()


def test_threads_solving_different_sizes_at_once_get_one_threads_results():
    # vecmatte serve runs requests in worker threads: two images of different sizes solved at
    # once share every cache (filled by whichever thread comes first).
    jobs = _work()
    _clear_caches()
    alone = {name: function() for name, function in jobs}
    _clear_caches()
    results, errors = {}, []
    barrier = threading.Barrier(2)

    def run(part):
        try:
            barrier.wait()
            for _ in range(2):
                for name, function in part:
                    results.setdefault(name, []).append(function())
        except BaseException as error:  # reported below, in the main thread
            errors.append(error)

    # Each thread takes the jobs in another order, so that the sizes interleave.
    threads = [
        threading.Thread(target=run, args=(jobs[0::2] + jobs[1::2],)),
        threading.Thread(target=run, args=(jobs[1::2][::-1] + jobs[0::2][::-1],)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    for name, expected in alone.items():
        assert len(results[name]) == 4
        for got in results[name]:
            for a, b in zip(
                expected if isinstance(expected, tuple) else (expected,),
                got if isinstance(got, tuple) else (got,),
                strict=True,
            ):
                assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), name


def _fake_cgroup(monkeypatch, tmp_path: Path, limit: int, usage: int) -> list:
    """This process's cgroup limit faked as ``limit`` bytes with ``usage`` used, the machine's
    memory plenty and no rlimit."""
    (tmp_path / "memory.current").write_text(f"{usage}\n")
    reads = []

    def limits(root, membership):
        reads.append(limit)
        return ((tmp_path, reads[-1]),), None

    monkeypatch.setattr(vecmatte.memory, "_cgroup_limits", limits)
    monkeypatch.setattr(vecmatte.memory, "_limits_cache", None)
    monkeypatch.setattr(vecmatte.memory, "_meminfo_available", lambda: 2**60)
    monkeypatch.setattr(vecmatte.memory, "_rlimit_available", lambda: None)
    return reads


def test_a_small_cgroup_limit_still_refuses_the_solve(monkeypatch, tmp_path):
    scene = make_scene((30, 40), seed=4)
    n_unknown = int(((scene.trimap > 0.1) & (scene.trimap < 0.9)).sum())
    needed = vecmatte.estimate_solve_memory(scene.image.shape, n_unknown)
    _fake_cgroup(monkeypatch, tmp_path, needed - 1 + 1000, 1000)
    assert vecmatte.memory.available_memory() == needed - 1
    with pytest.raises(InsufficientMemoryError, match="cgroup"):
        vecmatte.estimate_alpha(scene.image, scene.trimap)
    # The usage is read at every check: memory freed meanwhile lets the same solve run.
    (tmp_path / "memory.current").write_text("999\n")
    assert vecmatte.memory.available_memory() == needed
    vecmatte.estimate_alpha(scene.image, scene.trimap)


def test_a_lowered_cgroup_limit_is_seen_once_its_second_is_over(monkeypatch, tmp_path):
    scene = make_scene((30, 40), seed=4)
    n_unknown = int(((scene.trimap > 0.1) & (scene.trimap < 0.9)).sum())
    needed = vecmatte.estimate_solve_memory(scene.image.shape, n_unknown)
    _fake_cgroup(monkeypatch, tmp_path, 2 * needed, 0)
    vecmatte.estimate_alpha(scene.image, scene.trimap)
    # The limit is lowered (the service reconfigured): read again after at most a second.
    monkeypatch.setattr(
        vecmatte.memory,
        "_cgroup_limits",
        lambda root, membership: (((tmp_path, needed // 2),), None),
    )
    stamp, cached = vecmatte.memory._limits_cache
    monkeypatch.setattr(
        vecmatte.memory, "_limits_cache", (stamp - vecmatte.memory._LIMITS_SECONDS, cached)
    )
    with pytest.raises(InsufficientMemoryError, match="cgroup"):
        vecmatte.estimate_alpha(scene.image, scene.trimap)
