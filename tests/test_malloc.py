"""reuse_large_allocations: freed arrays are reused where glibc's thresholds are fixed."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from vecmatte._malloc import _libc, reuse_large_allocations

# A child counts the minor page faults of allocating and freeing 8 MB arrays 40 times: with the
# adaptive mmap threshold off (as in a Dask worker), each allocation is a fresh mmap and faults
# all its 2,000 pages in again; inside the block the freed memory is reused.
_CHILD = """
import resource, sys
import numpy as np
from vecmatte._malloc import reuse_large_allocations

def faults(inside):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    if inside:
        with reuse_large_allocations() as active:
            assert active
            for _ in range(40):
                np.ones(1_000_000)
    else:
        for _ in range(40):
            np.ones(1_000_000)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

faults(True)
print(faults(False), faults(True))
"""


def _child_faults(environment: dict[str, str]) -> tuple[int, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.update(environment)
    out = subprocess.run(
        [sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    return int(out[0]), int(out[1])


@pytest.mark.skipif(_libc() is None, reason="needs glibc")
def test_fixed_trim_threshold_refaults_every_array_but_not_inside_the_block():
    outside, inside = _child_faults({"MALLOC_TRIM_THRESHOLD_": "65536"})
    if outside < 40 * 100:
        # Fewer than 100 faults per 8 MB array: the kernel mapped huge pages, so refaulting
        # costs little here and there is nothing for the block to save.
        pytest.skip(f"the kernel maps large pages ({outside} faults for 40 arrays of 8 MB)")
    assert inside < outside / 10, (outside, inside)


def test_does_nothing_without_malloc_variables(monkeypatch):
    for name in [n for n in os.environ if n.startswith("MALLOC_")]:
        monkeypatch.delenv(name)
    with reuse_large_allocations() as active:
        assert active is False
