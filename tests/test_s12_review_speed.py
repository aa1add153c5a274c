"""Review of session 12's speed work (review-speed): defects found, each with its test."""

from __future__ import annotations

import threading

import numpy as np

from vecmatte.foreground import _flat, ml


def _in_a_new_thread(work):
    """``work()`` run in a thread of its own (fresh per-thread kept arrays), its result."""
    out = []
    thread = threading.Thread(target=lambda: out.append(work()))
    thread.start()
    thread.join()
    return out[0]


def held_bytes() -> int:
    """Bytes of the buffers and coefficient arrays this thread's _flat keeps."""
    plans = _flat._LOCAL.__dict__.get("plans", {})
    return sum(b.nbytes + c.nbytes for entry in plans.values() for b, c, _ in entry)


def test_flat_kept_arrays_bounded_in_bytes():
    """Images of 120 to 128 rows by 128 (their 64 x 64 level goes by _flat): each size
    kept about 1.2 MB per thread, eight sizes 9.4 MB for the thread's life. Now at most
    6 MiB, and the colours after the kept arrays are dropped are a fresh thread's."""
    rng = np.random.default_rng(3)
    scenes = [(rng.random((h, 128, 3)), rng.random((h, 128))) for h in range(120, 129)]
    options = {"regularization": 1e-5, "gradient_weight": 1.0}

    def run_all():
        held, results = [], []
        for image, alpha in scenes:
            results.append(ml.estimate(image, alpha, **options))
            held.append(held_bytes())
        return held, results

    held, results = _in_a_new_thread(run_all)
    assert max(held) <= 6 << 20, held
    for (image, alpha), got in zip(scenes, results, strict=True):
        fresh = _in_a_new_thread(
            lambda image=image, alpha=alpha: ml.estimate(image, alpha, **options)
        )
        for a, b in zip(got, fresh, strict=True):
            assert a.tobytes() == b.tobytes()


def test_flat_plans_kept_for_all_threads_bounded():
    """The plans (index arrays, shared by the threads) outlive the threads that made them:
    sixteen sizes of 113 to 128 x 128 (1 MB each, with their 64 x 64 level) held 16 MB
    after the threads ended; now at most eight plans, 8.3 MB."""
    import gc
    import tracemalloc

    rng = np.random.default_rng(4)
    scenes = [(rng.random((h, 128, 3)), rng.random((h, 128))) for h in range(113, 129)]
    _flat.plan.cache_clear()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for image, alpha in scenes:
            _in_a_new_thread(
                lambda image=image, alpha=alpha: ml.estimate(
                    image, alpha, regularization=1e-5, gradient_weight=1.0
                )
            )
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held <= 10e6, held


def test_flat_plans_shared_by_threads_are_read_only():
    """A plan is shared by every thread (plan()'s cache): its index arrays are read-only,
    so that no caller can change another thread's indices (they were writable)."""
    shapes = ((1, 1), (2, 2), (4, 4), (8, 8), (16, 16), (32, 32), (64, 64))
    grid = _flat.plan(128, 128, shapes)
    arrays = [grid.pixels, grid.pixels3, grid.neighbours, *grid.starts, *grid.natural]
    arrays += [a for level in grid.levels for a in (level.y, level.x)]
    assert arrays and not any(a.flags.writeable for a in arrays)
