"""Information-flow matting's neighbour searches start no thread when one CPU is allowed.

SciPy's ``workers=-1`` counts the machine's CPUs and starts a Python thread per worker at
every query, even for a process pinned to one CPU (or limited by its affinity mask).
"""

from __future__ import annotations

import os
import threading

import numpy as np

import vecmatte


def test_ifm_searches_start_no_thread_when_the_process_may_use_one_cpu(monkeypatch):
    # Failed before (d7870ae): the tree searches started threads.
    scene = vecmatte.make_scene((32, 32), seed=4)
    expected = vecmatte.estimate_alpha(scene.image, scene.trimap, method="ifm")
    started = []
    start = threading.Thread.start

    def counted(thread):
        started.append(thread)
        return start(thread)

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    monkeypatch.setattr(threading.Thread, "start", counted)
    alpha = vecmatte.estimate_alpha(scene.image, scene.trimap, method="ifm")
    assert started == []
    np.testing.assert_array_equal(alpha, expected)  # the neighbours do not depend on it
