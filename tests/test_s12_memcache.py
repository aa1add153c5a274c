"""The memory check's reading, kept for a second for small solves (vecmatte.memory).

Every solve checks that it fits (refuse_if_short); reading /proc/meminfo and the cgroup files
for it was 25-40 us, 7-8% of a 32 x 32 solve. A reading under a second old is used again
for a solve needing at most a quarter of it (with the solves let through since), in the same
process, under the same rlimits and readers; anything else is read afresh.
"""

from __future__ import annotations

import os
import resource

import pytest

import vecmatte
import vecmatte.memory
from vecmatte.memory import InsufficientMemoryError, forget_memory_reading, refuse_if_short

GiB, MiB = 2**30, 2**20
SHAPE, UNKNOWN = (100, 100), 1000


@pytest.fixture(autouse=True)
def _fresh_reading():
    forget_memory_reading()
    yield
    forget_memory_reading()


@pytest.fixture
def machine(monkeypatch):
    """The machine's available memory as a number the test sets; reads counted; no cgroup
    limit and no rlimit."""
    state = {"available": 8 * GiB, "reads": 0}

    def meminfo():
        state["reads"] += 1
        return state["available"]

    monkeypatch.setattr(vecmatte.memory, "_meminfo_available", meminfo)
    monkeypatch.setattr(vecmatte.memory, "_cgroup_available", lambda: None)
    monkeypatch.setattr(vecmatte.memory, "_rlimit_available", lambda: None)
    return state


def _age_reading(seconds: float) -> None:
    stamp, *rest = vecmatte.memory._reading[0]
    vecmatte.memory._reading[0] = (stamp - seconds, *rest)


def test_a_small_solve_after_a_recent_reading_reads_nothing(machine):
    refuse_if_short(MiB, SHAPE, UNKNOWN)
    refuse_if_short(MiB, SHAPE, UNKNOWN)
    refuse_if_short(2 * MiB, SHAPE, UNKNOWN)
    assert machine["reads"] == 1


def test_the_check_still_refuses_what_does_not_fit(machine):
    machine["available"] = 100 * MiB
    with pytest.raises(InsufficientMemoryError, match=r"200\.0 MiB of memory but only 100\.0"):
        refuse_if_short(200 * MiB, SHAPE, UNKNOWN)
    # A refusal keeps no reading: asked again, it reads again and refuses again.
    with pytest.raises(InsufficientMemoryError):
        refuse_if_short(200 * MiB, SHAPE, UNKNOWN)
    assert machine["reads"] == 2


def test_a_solve_needing_more_than_a_quarter_of_the_reading_reads_again(machine):
    refuse_if_short(MiB, SHAPE, UNKNOWN)
    machine["available"] = GiB  # another process took most of it
    with pytest.raises(InsufficientMemoryError, match=r"only 1\.0 GiB is available"):
        refuse_if_short(2 * GiB + 1, SHAPE, UNKNOWN)  # over a quarter of 8 GiB
    assert machine["reads"] == 2


def test_the_solves_let_through_count_against_the_quarter(machine):
    # 8 GiB read: the solves let through within the second add up to at most 2 GiB.
    for _ in range(4):
        refuse_if_short(GiB // 2, SHAPE, UNKNOWN)
    assert machine["reads"] == 1
    machine["available"] = GiB // 4
    with pytest.raises(InsufficientMemoryError):
        refuse_if_short(GiB // 2, SHAPE, UNKNOWN)
    assert machine["reads"] == 2


def test_a_reading_a_second_old_is_read_again(machine):
    refuse_if_short(MiB, SHAPE, UNKNOWN)
    machine["available"] = MiB // 2
    _age_reading(vecmatte.memory._READING_SECONDS)
    with pytest.raises(InsufficientMemoryError, match=r"only 512\.0 KiB is available"):
        refuse_if_short(MiB, SHAPE, UNKNOWN)
    assert machine["reads"] == 2


def test_forget_memory_reading_makes_the_next_check_read(machine):
    refuse_if_short(MiB, SHAPE, UNKNOWN)
    machine["available"] = MiB // 2
    forget_memory_reading()
    with pytest.raises(InsufficientMemoryError):
        refuse_if_short(MiB, SHAPE, UNKNOWN)


def test_a_reader_replaced_is_read_at_once(monkeypatch):
    # A real reading kept (the machine's), then a reader replaced, as tests and programs do:
    # the reading was of other readers, so it is not used.
    scene = vecmatte.make_scene((30, 40), seed=4)
    vecmatte.estimate_alpha(scene.image, scene.trimap)
    assert vecmatte.memory._reading[0] is not None
    monkeypatch.setattr(vecmatte.memory, "_meminfo_available", lambda: MiB)
    with pytest.raises(InsufficientMemoryError, match=r"only 1\.0 MiB is available"):
        refuse_if_short(2 * MiB, SHAPE, UNKNOWN)


def test_an_explicit_available_neither_uses_nor_keeps_a_reading(machine):
    refuse_if_short(MiB, SHAPE, UNKNOWN)
    with pytest.raises(InsufficientMemoryError):
        refuse_if_short(MiB, SHAPE, UNKNOWN, available=MiB // 2)
    forget_memory_reading()
    refuse_if_short(MiB, SHAPE, UNKNOWN, available=GiB)
    assert vecmatte.memory._reading[0] is None


@pytest.mark.skipif(not hasattr(resource, "RLIMIT_AS"), reason="no RLIMIT_AS")
def test_an_rlimit_lowered_in_the_process_is_honoured_at_once(monkeypatch):
    # The machine says 1 TiB (a reading that would let 3 GiB through); then this process's
    # address space is capped at 2 GiB more than it maps: the next check reads again.
    monkeypatch.setattr(vecmatte.memory, "_meminfo_available", lambda: 2**40)
    monkeypatch.setattr(vecmatte.memory, "_cgroup_available", lambda: None)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    mapped = vecmatte.memory._process_status()["VmSize"]
    cap = mapped + 2 * GiB
    if soft != resource.RLIM_INFINITY or (hard != resource.RLIM_INFINITY and hard < cap):
        pytest.skip("an address-space limit is set already")
    refuse_if_short(3 * GiB, SHAPE, UNKNOWN)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        with pytest.raises(InsufficientMemoryError, match="ulimit -v"):
            refuse_if_short(3 * GiB, SHAPE, UNKNOWN)
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    refuse_if_short(3 * GiB, SHAPE, UNKNOWN)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork")
def test_a_forked_child_reads_afresh(machine):
    refuse_if_short(MiB, SHAPE, UNKNOWN)  # the parent's reading: 8 GiB
    machine["available"] = MiB // 2
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its check must read, and refuse
        code = 1
        try:
            refuse_if_short(MiB, SHAPE, UNKNOWN)
        except InsufficientMemoryError:
            code = 0 if machine["reads"] == 2 else 2
        finally:
            os.write(write, bytes([code]))
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        answer = pipe.read()
    os.waitpid(pid, 0)
    assert answer == b"\x00"


def _counts_or_error(shape, n_unknown):
    from vecmatte._memory_models import checked_counts

    try:
        return checked_counts(shape, n_unknown)
    except ValueError as error:
        return str(error)


@pytest.mark.parametrize(
    ("shape", "n_unknown"),
    [
        ((32, 32, 3), 468),
        ((32, 32), 0),
        ((0, 5, 3), 0),
        ((0, 5), 1),
        ((4, 5), 21),
        ((4, 5), -1),
        ((-4, 5), 0),
        ((4, 5, 3, 1), 2),
        ((4,), 2),
        ((2**15, 2**14), 10),
        ((2**20, 2**20), 10),
    ],
)
def test_the_counts_of_ints_are_checked_as_those_of_other_integers(shape, n_unknown, monkeypatch):
    # Every solve's counts (a tuple of ints, an int) skip the conversions: the same answer,
    # or the same refusal, as integers of another type (read by the general path) get.
    class Integer(int):
        pass

    def general():
        return _counts_or_error(tuple(Integer(s) for s in shape), Integer(n_unknown))

    monkeypatch.setattr(vecmatte._arrays, "MAX_PIXELS", 2**28)
    assert _counts_or_error(shape, n_unknown) == general()
    # A pixel limit lowered (as a test does) is honoured on the fast path too.
    monkeypatch.setattr(vecmatte._arrays, "MAX_PIXELS", 19)
    assert _counts_or_error(shape, n_unknown) == general()


def test_a_boolean_count_is_still_refused():
    assert "not True" in _counts_or_error((True, 5), 0)
    assert "not False" in _counts_or_error((4, 5), False)


@pytest.mark.parametrize("method", sorted(vecmatte.alpha.METHODS))
def test_option_names_are_the_entry_keyword_only_parameters(method):
    import inspect

    spec = vecmatte.alpha.METHODS[method]
    parameters = inspect.signature(spec.entry()).parameters.values()
    expected = [p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY]
    names = spec.option_names()
    assert names == expected
    names.append("changed by the caller")
    assert spec.option_names() == expected
