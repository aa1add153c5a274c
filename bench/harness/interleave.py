"""Both libraries in one process, alternating, wall and CPU time (``--timing same-process``).

``bench/method_table.py --timing same-process`` measures time here. For each (image, trimap
set, scale) ONE child (``compare.py --worker`` in mode ``"interleave"``, under the same
address-space cap and per-solve time limit as every child of ``harness.child``) loads the
inputs once and then, pair by pair (vecmatte's method and its peer), warms both up on a small
scene (numba compiled, lazy imports done) and alternates them for R rounds (A B, B A, A B,
...), recording each call's wall time (``time.perf_counter``), CPU time (``time.process_time``,
every thread of the process) and the SAD and MSE of its matte. Both methods of a pair run at
the same moments under the same load, so their ratio holds on a busy machine, which seconds
measured in different processes at different times do not. The time ratio of a cell is
median(vecmatte) / median(peer) over its rounds.

Peak memory cannot be told apart in one process (a solve may reuse pages the other freed), so
it keeps one child per (method, cell) as in ``--timing child`` (``harness.plan.Runner``, one
solve per child, cells shared with that mode through the cache).

The same-process children get their thread counts explicitly (``--threads``, default 1): the
variables in ``THREAD_VARIABLES``; each child reports what numba and OpenBLAS then use.
"""

from __future__ import annotations

import copy
import json
import signal
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from harness.cache import Code
from harness.cells import FAILED, child_env, run_child
from harness.child import emit, failure, messages, timed_call, warm_up
from harness.data import Dataset, load_scaled
from harness.methods import Method, load_solver
from harness.plan import Runner, log

THREAD_VARIABLES = (
    "NUMBA_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
)


@dataclass
class Timed:
    """One method's calls in one same-process child, for one (image, trimap set, scale)."""

    method: str
    peer: str  # the key of the method it alternated with
    image: str
    trimap: str
    scale: float
    status: str = "ok"  # ok, time, memory, crash, error
    note: str = ""
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    sad: list[float] = field(default_factory=list)
    mse: list[float] = field(default_factory=list)
    iterations: int | None = None
    warnings: list[str] = field(default_factory=list)
    threads: dict = field(default_factory=dict)  # what the child reported using
    load: float | None = None  # 1-minute load average when the child ended

    @property
    def ok(self) -> bool:
        return self.status == "ok" and bool(self.wall)


# ---------------------------------------------------------------------------------------------
# The child


def _blas_threads() -> dict[str, int]:
    """Threads each loaded OpenBLAS would use (numpy's and SciPy's carry their own copy)."""
    import ctypes

    libraries = set()
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1]
                if "openblas" in path.lower() and path.startswith("/"):
                    libraries.add(path)
    except OSError:
        return {}
    found = {}
    for path in sorted(libraries):
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for symbol in (
            "openblas_get_num_threads",
            "openblas_get_num_threads64_",
            "scipy_openblas_get_num_threads",
            "scipy_openblas_get_num_threads64_",
        ):
            function = getattr(library, symbol, None)
            if function is not None:
                found[Path(path).name.split("-")[0]] = int(function())
                break
    return found


def thread_report() -> dict:
    """The cores this process may use and the threads numba and OpenBLAS were given."""
    import os
    import sys

    report = {"affinity": len(os.sched_getaffinity(0)), "blas": _blas_threads()}
    if "numba" in sys.modules:
        import numba

        report["numba"] = int(numba.get_num_threads())
    report["env"] = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    return report


def interleave_child(out, job: dict) -> None:
    """The child's work (``job["mode"] == "interleave"``): every pair of ``job["pairs"]``."""
    image = load_scaled(job["image"], job["scale"], "image")
    trimap = load_scaled(job["trimap"], job["scale"], "trimap")
    truth = load_scaled(job["alpha"], job["scale"], "alpha")
    emit(out, event="threads", **thread_report())
    for number, pair in enumerate(job["pairs"]):
        _interleave_pair(out, number, pair, image, trimap, truth, job)
    emit(out, event="threads", **thread_report())  # again: numba is imported by now


def _interleave_pair(out, number: int, pair: list[dict], image, trimap, truth, job) -> None:
    """Warm both methods up, then alternate them for ``job["rounds"]`` rounds."""
    import warnings

    import numpy as np

    from vecmatte.metrics import mse, sad

    solvers, caught_by = {}, {}
    for method in pair:
        key = method["key"]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            emit(out, event="solving", pair=number, method=key, round=-1)
            try:
                solver = load_solver(method)
                warm_up(solver)
                solvers[key] = solver
            except Exception as error:  # MemoryError included: the other method goes on
                kind, text = failure(error)
                emit(out, event=kind, pair=number, method=key, message=text)
        caught_by[key] = list(caught)
    keys = list(solvers)
    for round_number in range(job["rounds"]):
        # A B, then B A: neither method always runs right after the other's allocations
        for key in keys if round_number % 2 == 0 else keys[::-1]:
            if key not in solvers:
                continue
            emit(out, event="solving", pair=number, method=key, round=round_number)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    alpha, iterations, wall, cpu = timed_call(
                        solvers[key], image, trimap, job["time_limit"]
                    )
                except Exception as error:
                    kind, text = failure(error)
                    emit(out, event=kind, pair=number, method=key, message=text)
                    del solvers[key]
                    continue
            caught_by[key] += list(caught)
            alpha = np.clip(alpha, 0, 1)
            emit(
                out,
                event="sample",
                pair=number,
                method=key,
                round=round_number,
                wall=wall,
                cpu=cpu,
                iterations=iterations,
                sad=sad(alpha, truth, trimap),
                mse=mse(alpha, truth, trimap),
            )
            del alpha  # not held while the other method runs
    for key in keys:
        emit(out, event="done", pair=number, method=key, warnings=messages(caught_by[key]))
    emit(out, event="pair done", pair=number)


# ---------------------------------------------------------------------------------------------
# The parent


def thread_env(env: dict, threads: int) -> dict:
    """``env`` with every variable of ``THREAD_VARIABLES`` set to ``threads``."""
    return {**env, **{name: str(threads) for name in THREAD_VARIABLES}}


def interleave_key(pair: tuple[Method, Method], cell: tuple[str, str, float], code: Code, options):
    """The cache key of one pair measured in a same-process child."""
    ours, peer = pair
    return json.dumps(
        [
            "interleave",
            ours.key,
            peer.key,
            *cell,
            code.fingerprint(ours),
            code.fingerprint(peer),
            options.rounds,
            options.threads,
            options.time_limit,
            options.memory_cap,
        ]
    )


def _absorb(timed: Timed, record: dict) -> None:
    event = record["event"]
    if event == "sample":
        timed.wall.append(record["wall"])
        timed.cpu.append(record["cpu"])
        timed.sad.append(record["sad"])
        timed.mse.append(record["mse"])
        timed.iterations = record["iterations"]
    elif event == "done":
        timed.warnings = record["warnings"]
    elif event in FAILED:
        timed.status, timed.note = event, record["message"]


def measure_interleaved(
    pairs: list[tuple[Method, Method]],
    cell: tuple[str, str, float],
    dataset: Dataset,
    options,
    code_path: Path | None = None,
) -> list[tuple[Timed, Timed]]:
    """Every pair on one (image, trimap set, scale), in as few same-process children as it takes.

    A child that dies (a solve past the time limit, a crash) is blamed on the method that was
    running; its pair keeps what the other method measured, and the pairs it had not reached run
    in a new child.
    """
    image, trimap_set, scale = cell
    image_path, trimap_path, alpha_path = dataset.paths(image, trimap_set)
    results = [
        tuple(Timed(m.key, o.key, image, trimap_set, scale) for m, o in (pair, pair[::-1]))
        for pair in pairs
    ]
    env = thread_env(child_env(code_path, options.numba_cache), options.threads)
    remaining = list(range(len(pairs)))
    while remaining:
        job = {
            "mode": "interleave",
            "image": str(image_path),
            "trimap": str(trimap_path),
            "alpha": str(alpha_path),
            "scale": scale,
            "rounds": options.rounds,
            "time_limit": options.time_limit,
            "memory_cap_gb": options.memory_cap,
            "pairs": [[m.to_job() for m in pairs[i]] for i in remaining],
        }
        safety = options.time_limit * (2 * options.rounds + 2) * len(remaining) + 300
        records, code, _ = run_child(job, env, safety)
        running, finished, threads, failure = None, set(), {}, f"exit code {code}"
        for record in records:
            if record["event"] == "threads":
                threads = {k: v for k, v in record.items() if k != "event"}
                continue
            if "pair" not in record:  # the whole child failed: the method that was running
                if running is not None:
                    _absorb(running, record)
                failure = record.get("message", failure)
                continue
            number = remaining[record["pair"]]
            if record["event"] == "pair done":
                finished.add(number)
                running = None
                continue
            timed = next(t for t in results[number] if t.method == record["method"])
            if record["event"] == "solving":
                running = timed
            else:
                _absorb(timed, record)
        if running is not None and running.status == "ok":
            if code == -signal.SIGALRM:
                running.status = "time"
                running.note = f"a solve took longer than {options.time_limit:g} s"
            elif code is None:
                running.status, running.note = "time", f"harness timeout after {safety:.0f} s"
            else:
                running.status, running.note = "crash", f"exit code {code}"
        load = _load()
        for number in remaining:
            for timed in results[number]:
                timed.threads, timed.load = threads, load
        if running is None and not finished:  # died before any method started
            for number in remaining:
                for timed in results[number]:
                    if timed.status == "ok":
                        timed.status, timed.note = "crash", failure
            break
        started = [n for n in remaining if n in finished or any(t is running for t in results[n])]
        remaining = [n for n in remaining if n not in started]
    return results


def _load() -> float:
    import os

    return os.getloadavg()[0]


def median_ratio_of(ours: Timed, peer: Timed, attribute: str, time_limit: float):
    """``(median(ours) / median(peer), is_upper_bound)`` or None; a peer over the time limit
    gives an upper bound."""
    if not ours.ok:
        return None
    mine = statistics.median(getattr(ours, attribute))
    if peer.ok:
        theirs = statistics.median(getattr(peer, attribute))
        return (mine / theirs, False) if theirs > 0 else None
    if peer.status == "time":
        return mine / time_limit, True
    return None


# ---------------------------------------------------------------------------------------------
# The run


def run(options) -> dict:
    """Same-process times of every pair and one-child memory cells, group by group.

    ``options.rounds`` and ``options.threads`` set the same-process children; the memory
    children solve once (``repeats=1``), so that they share their cells with a child-mode run
    made with ``--repeats 1``.
    """
    import provenance

    from harness.comparison import code_under_test
    from harness.data import find_dataset
    from harness.method_rows import plan
    from harness.methods import method_pairs, peer_available

    code = code_under_test(options)
    pairs = method_pairs(options.methods)
    scales = {ours.key: options.method_scale.get(ours.name, options.scale) for ours, _ in pairs}
    unavailable = {m.key: why for pair in pairs for m in pair if (why := peer_available(m))}
    dataset = find_dataset(Path(options.data), options.trimap)
    missing = [n for n in options.images or [] if n not in dataset.files]
    if missing:
        raise SystemExit(f"method_table.py: error: no image named {missing[0]}")
    load_at_start = provenance.load_average()
    groups = plan(pairs, dataset, options, scales)
    memory_options = copy.copy(options)
    memory_options.repeats = 1
    runner = Runner(memory_options, dataset, code, unavailable)
    timed: list[tuple[Timed, Timed]] = []
    cells = []
    reused = measured = 0
    for number, group in enumerate(groups, 1):
        pixels, unknown = runner.describe(group, number, len(groups))
        here = [
            p
            for p in pairs
            if scales[p[0].key] == group.scale and not any(m.key in unavailable for m in p)
        ]
        cell = (group.image, group.trimap, group.scale)
        keys = [interleave_key(p, cell, code, options) for p in here]
        to_measure = [(p, k) for p, k in zip(here, keys, strict=True) if k not in runner.cache]
        fresh = {}
        clock = _Clock()
        if to_measure and not runner.out_of_time():
            results = measure_interleaved(
                [p for p, _ in to_measure], cell, dataset, options, code.path
            )
            fresh = {k: r for (_, k), r in zip(to_measure, results, strict=True)}
        for key in keys:
            if key in fresh:
                result = fresh[key]
                runner.cache._append({"key": key, "cells": [asdict(t) for t in result]})
                measured += 1
            elif key in runner.cache:
                entry = runner.cache.entries[key]["cells"]
                result = (Timed(**entry[0]), Timed(**entry[1]))
                reused += 1
            else:  # --max-minutes ran out
                continue
            timed.append(result)
            _log_pair(result, options)
        if fresh:
            log(f"    same-process child: {clock.lap()}")
        cells += runner.measure_group(group, pixels, unknown)[0]
        log(f"    memory children: {clock.lap()}")
    return {
        "pairs": pairs,
        "scales": scales,
        "unavailable": unavailable,
        "dataset": dataset,
        "code": code.description,
        "load_at_start": load_at_start,
        "timed": timed,
        "cells": cells,
        "reused": runner.reused + reused,
        "measured": runner.measured + measured,
        "load_during": runner.load_summary(),
        "interleave_loads": [t[0].load for t in timed if t[0].load is not None],
    }


class _Clock:
    """Wall time and the children's CPU time since the last lap (for planning a run)."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), self._children_cpu()

    @staticmethod
    def _children_cpu() -> float:
        import resource

        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    def lap(self) -> str:
        wall, cpu = time.perf_counter(), self._children_cpu()
        text = f"{wall - self.wall:.1f} s wall, {cpu - self.cpu:.1f} s CPU"
        self.wall, self.cpu = wall, cpu
        return text


def _log_pair(result: tuple[Timed, Timed], options) -> None:
    ours, peer = result
    parts = []
    for attribute in ("wall", "cpu"):
        ratio = median_ratio_of(ours, peer, attribute, options.time_limit)
        parts.append(f"{attribute} {ratio[0]:.3g}" if ratio else f"{attribute} -")
    statuses = "" if ours.ok and peer.ok else f" ({ours.status}/{peer.status})"
    log(f"    {ours.method:<18} / {peer.method:<18} same process: {', '.join(parts)}{statuses}")
