"""The single-threaded BLAS guard used around factorisations."""

import threading

import numpy as np
import pytest
import scipy.linalg  # noqa: F401  (loads SciPy's own OpenBLAS)

from vecmatte import _blas


def _counts():
    return [get_threads() for get_threads, _ in _blas._find_controls()]


@pytest.mark.skipif(not _blas._find_controls(), reason="no OpenBLAS loaded in this process")
def test_guard_sets_one_thread_and_restores():
    before = _counts()
    with _blas.single_threaded_blas():
        assert _counts() == [1] * len(before)
        with _blas.single_threaded_blas():  # nested use keeps one thread
            assert _counts() == [1] * len(before)
        assert _counts() == [1] * len(before)
    assert _counts() == before


@pytest.mark.skipif(not _blas._find_controls(), reason="no OpenBLAS loaded in this process")
def test_guard_restores_after_an_exception():
    before = _counts()
    with pytest.raises(RuntimeError), _blas.single_threaded_blas():
        raise RuntimeError("inside")
    assert _counts() == before


def test_guard_is_usable_from_threads():
    results = []

    def work():
        with _blas.single_threaded_blas():
            results.append(float(np.ones((50, 50)) @ np.ones(50) @ np.ones(50)))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == [2500.0] * 4
