"""The measuring child process: one cell (or one pair of methods) under an address-space cap.

A child caps its address space (``RLIMIT_AS``) and each solve's time (``SIGALRM``), warms the
method up on a small synthetic scene, measures the peak resident memory of the first solve on
the real image (``VmHWM`` after a reset through ``/proc/self/clear_refs``), then repeats the
solve for the warm time. It reports JSON lines to ``job["out"]``; a method that runs out of
memory or time is a result, never a crash of the benchmark.

In ``pair`` mode the child loads two methods (vecmatte's and a peer) and alternates their
solves in the one process, on whatever cores the process may use: both libraries then run
under exactly the same conditions.
"""

from __future__ import annotations

import json
import signal
import time

from harness.data import load_scaled
from harness.methods import load_solver


def _proc_status_kb(field_name: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak_rss() -> bool:
    """Reset the kernel's resident-memory high-water mark (Linux ``clear_refs`` 5)."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def _current_rss_kb() -> int:
    rss = _proc_status_kb("VmRSS")
    if rss is None:
        import resource

        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss


def _peak_rss_kb(reset_worked: bool) -> int:
    peak = _proc_status_kb("VmHWM") if reset_worked else None
    if peak is None:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak


def timed_call(solve, image, trimap, time_limit: float):
    """One solve: ``(alpha, iterations, wall seconds, CPU seconds)``.

    The process dies of SIGALRM past ``time_limit`` (no Python handler: the default action
    ends the process even inside C code); the parent then blames the method that was running.
    """
    signal.setitimer(signal.ITIMER_REAL, time_limit)
    wall, cpu = time.perf_counter(), time.process_time()
    alpha, iterations = solve(image, trimap)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    signal.setitimer(signal.ITIMER_REAL, 0)
    return alpha, iterations, wall, cpu


def failure(error: BaseException) -> tuple[str, str]:
    """The event (``"memory"`` or ``"error"``) and the message of a method that raised."""
    text = f"{type(error).__name__}: {error}"
    return ("memory" if "memory" in text.lower() else "error"), text[:300]


def _measured_solve(solve, image, trimap, time_limit: float):
    """A solve with its peak memory: ``(alpha, iterations, seconds, extra MB, process MB)``."""
    reset = _reset_peak_rss()
    before = _current_rss_kb()
    alpha, iterations, seconds, _ = timed_call(solve, image, trimap, time_limit)
    # VmHWM can end below ``before``: the reset sets it to the resident size of that moment,
    # ``before`` is read a little later, and the kernel records a peak only lazily, so a tiny
    # solve "added" a negative amount (-0.7 MB, a CI run of the method table's test). The
    # largest of the three is a floor of the true peak.
    peak = max(_peak_rss_kb(reset), _current_rss_kb(), before)
    return alpha, iterations, seconds, (peak - before) / 1024, peak / 1024


def emit(out, **record) -> None:
    out.write(json.dumps(record) + "\n")
    out.flush()


def _unbuffer_c_stdout() -> None:
    """Make C's stdout unbuffered, so that SuperLU's last words before a crash reach the parent."""
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.setvbuf(ctypes.c_void_p.in_dll(libc, "stdout"), None, 2, 0)  # 2 = _IONBF
    except (OSError, ValueError, AttributeError):
        pass


def warm_up(solve) -> None:
    """JIT compilation and lazy imports, on a small synthetic scene."""
    from vecmatte.synthetic import make_scene

    scene = make_scene((48, 64), seed=1)
    solve(scene.image, scene.trimap)


def messages(caught) -> list[str]:
    return sorted(
        {
            str(w.message).splitlines()[0][:120]
            for w in caught
            if not issubclass(w.category, DeprecationWarning)
        }
    )


def _finish(out, job: dict, alpha, trimap, caught, method_key: str | None = None) -> None:
    """Errors against the ground truth (and the matte saved for the agreement table)."""
    import numpy as np

    from vecmatte.metrics import matting_errors

    truth = load_scaled(job["alpha"], job["scale"], "alpha")
    errors = matting_errors(np.clip(alpha, 0, 1), truth, trimap)
    if job.get("save"):
        from PIL import Image

        pixels = np.round(np.clip(alpha, 0, 1) * 65535).astype(np.uint16)
        Image.fromarray(pixels).save(job["save"])
    extra = {} if method_key is None else {"method": method_key}
    emit(
        out,
        event="done",
        errors=errors,
        warnings=messages(caught),
        unknown=int(((trimap > 0.1) & (trimap < 0.9)).sum()),
        **extra,
    )


def worker(job: dict, process_start: float) -> int:
    """Child process: run one measurement and write JSON lines to ``job["out"]``."""
    import resource

    _unbuffer_c_stdout()
    cap = int(job["memory_cap_gb"] * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    with open(job["out"], "a") as out:
        try:
            if job["mode"] == "pair":
                _pair(out, job, process_start)
            elif job["mode"] == "interleave":  # bench/method_table.py --timing same-process
                from harness.interleave import interleave_child

                interleave_child(out, job)
            else:
                _single(out, job, process_start)
        except MemoryError as error:
            emit(out, event="memory", message=str(error)[:200])
        except Exception as error:  # a peer failing is a result, not a crash of the benchmark
            kind, text = failure(error)
            emit(out, event=kind, message=text)
    return 0


def _single(out, job: dict, process_start: float) -> None:
    import warnings

    image = load_scaled(job["image"], job["scale"], "image")
    trimap = load_scaled(job["trimap"], job["scale"], "trimap")
    limit = job["time_limit"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        solve = load_solver(job["method"])
        if job["mode"] == "cold":
            timed_call(solve, image, trimap, limit)
            emit(out, event="cold", seconds=time.perf_counter() - process_start)
            return
        warm_up(solve)
        emit(out, event="solving", since_start=time.perf_counter() - process_start)
        alpha, iterations, seconds, extra_mb, process_mb = _measured_solve(
            solve, image, trimap, limit
        )
        emit(
            out,
            event="sample",
            since_start=time.perf_counter() - process_start,
            seconds=seconds,
            iterations=iterations,
            peak_mb=extra_mb,
            process_peak_mb=process_mb,
        )
        spent = seconds
        for _ in range(job["repeats"] - 1):
            if spent + seconds > job["budget"]:
                break
            alpha, iterations, seconds, _ = timed_call(solve, image, trimap, limit)
            spent += seconds
            emit(out, event="sample", seconds=seconds, iterations=iterations)
    _finish(out, job, alpha, trimap, caught)


def _pair(out, job: dict, process_start: float) -> None:
    """Both methods in this one process, alternating, each solve with its own peak memory.

    The order alternates between rounds (A B, B A, ...) so that neither method always runs
    right after the other's allocations. A method that fails is reported and the other goes on.
    """
    import warnings

    image = load_scaled(job["image"], job["scale"], "image")
    trimap = load_scaled(job["trimap"], job["scale"], "trimap")
    limit = job["time_limit"]
    methods = job["methods"]  # [method job, method job]
    solvers, alphas, spent, caught_by = {}, {}, {}, {}
    for method in methods:
        key = method["key"]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                solvers[key] = load_solver(method)
                warm_up(solvers[key])
            except Exception as error:
                emit(out, event="error", method=key, message=f"{type(error).__name__}: {error}")
        caught_by[key] = list(caught)
        spent[key] = 0.0
    for round_number in range(job["repeats"]):
        order = list(solvers) if round_number % 2 == 0 else list(solvers)[::-1]
        for key in order:
            if round_number and spent[key] * (1 + 1 / round_number) > job["budget"]:
                continue  # the next solve would take this method's solves over the budget
            emit(out, event="solving", method=key)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    alpha, iterations, seconds, extra_mb, process_mb = _measured_solve(
                        solvers[key], image, trimap, limit
                    )
                except Exception as error:  # MemoryError included: the other method goes on
                    kind, text = failure(error)
                    emit(out, event=kind, method=key, message=text)
                    del solvers[key]
                    continue
            caught_by[key] += list(caught)
            spent[key] += seconds
            alphas.setdefault(key, alpha)
            emit(
                out,
                event="sample",
                method=key,
                seconds=seconds,
                iterations=iterations,
                peak_mb=extra_mb,
                process_peak_mb=process_mb,
            )
    for key, alpha in alphas.items():
        if key in solvers:
            _finish(out, {**job, "save": None}, alpha, trimap, caught_by[key], key)
