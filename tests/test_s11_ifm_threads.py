"""Information-flow matting's neighbour searches start no thread when one CPU is allowed.

SciPy's ``workers=-1`` counts the machine's CPUs and starts a Python thread per worker at
every query, even for a process pinned to one CPU (or limited by its affinity mask).
"""

from __future__ import annotations

from test_s11_speed_cf import assert_one_cpu_starts_no_thread


def test_ifm_searches_start_no_thread_when_the_process_may_use_one_cpu(monkeypatch):
    # Failed before (d7870ae): the tree searches started threads.
    assert_one_cpu_starts_no_thread(monkeypatch, "ifm")
