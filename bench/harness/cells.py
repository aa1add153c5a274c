"""Run measuring children and turn their JSON lines into ``Cell`` and ``ColdRecord`` records."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness.data import Dataset
from harness.methods import Method

BENCH_DIR = Path(__file__).resolve().parents[1]
ROOT = BENCH_DIR.parent
# The script a child runs (``compare.py --worker JOB``): it notes the process start first.
CHILD_SCRIPT = BENCH_DIR / "compare.py"
FAILED = ("memory", "error", "crash")


@dataclass
class Cell:
    """One (method, image, trimap set, scale) measurement."""

    method: str
    image: str
    trimap: str
    scale: float
    megapixels: float = 0.0
    unknown: int | None = None
    status: str = "ok"  # ok, time, memory, crash, error, skipped, unavailable
    note: str = ""
    samples: list[float] = field(default_factory=list)
    peak_mb: float | None = None
    process_peak_mb: float | None = None
    iterations: int | None = None
    errors: dict[str, float] = field(default_factory=dict)
    to_default_sad: float | None = None
    elapsed: float | None = None
    warnings: list[str] = field(default_factory=list)
    since_start: float | None = None
    failed_after: float | None = None  # seconds into the first solve when it ran out
    load: float | None = None  # 1-minute load average when the cell was measured
    mode: str = "child"  # "child": a process of its own; "pair": one process with its peer

    @property
    def warm(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None


@dataclass
class ColdRecord:
    method: str
    image: str
    cache: str  # "empty", "filled" or "-" (no numba)
    seconds: float | None
    status: str = "ok"
    note: str = ""


def child_env(code_path: Path | None = None, numba_cache: str | None = None) -> dict:
    """The child's environment: vecmatte from ``code_path`` (a checked-out commit) or the tree."""
    env = dict(os.environ)
    first = [str(code_path)] if code_path is not None else []
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [*first, str(ROOT), env.get("PYTHONPATH")]))
    if numba_cache is not None:
        env["NUMBA_CACHE_DIR"] = numba_cache
    return env


def run_child(job: dict, env: dict, safety_timeout: float) -> tuple[list[dict], int | None, float]:
    """Run ``compare.py --worker`` on ``job``; its JSON lines, return code and wall time."""
    with tempfile.NamedTemporaryFile("r", suffix=".jsonl", delete=False) as handle:
        job = {**job, "out": handle.name}
    command = [sys.executable, str(CHILD_SCRIPT), "--worker", json.dumps(job)]
    start = time.perf_counter()
    # SuperLU prints its allocation failures on stdout: keep both streams for the diagnosis.
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        output, _ = process.communicate(timeout=safety_timeout)
        code = process.returncode
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        code = None
    wall = time.perf_counter() - start
    records = [json.loads(line) for line in Path(job["out"]).read_text().splitlines() if line]
    Path(job["out"]).unlink(missing_ok=True)
    if (
        code not in (0, None)
        and code != -signal.SIGALRM
        and not any(r["event"] in (*FAILED, "done", "cold") for r in records)
    ):
        text = output.decode(errors="replace") if output else ""
        tail = text.strip().splitlines()[-1:]
        # SuperLU reports a failed allocation ("Can't expand MemType ...") and
        # then crashes: under the address-space cap that is running out of memory.
        out_of_memory = any(
            s in text for s in ("expand MemType", "MemoryError", "Not enough memory")
        )
        records.append(
            {
                "event": "memory" if out_of_memory else "crash",
                "message": f"exit code {code}" + (f": {tail[0][:200]}" if tail else ""),
            }
        )
    return records, code, wall


def _job(method_jobs, dataset: Dataset, cell: Cell, options, mode: str, save) -> dict:
    image_path, trimap_path, alpha_path = dataset.paths(cell.image, cell.trimap)
    job = {
        "image": str(image_path),
        "trimap": str(trimap_path),
        "alpha": str(alpha_path),
        "scale": cell.scale,
        "mode": mode,
        "repeats": options.repeats if mode != "cold" else 1,
        "budget": options.budget if mode != "cold" else 0,
        "time_limit": options.time_limit,
        "memory_cap_gb": options.memory_cap,
        "save": str(save) if save else None,
    }
    job["methods" if mode == "pair" else "method"] = method_jobs
    return job


def _absorb(cell: Cell, record: dict) -> None:
    """One JSON line of the child into the cell it is about."""
    event = record["event"]
    if event == "sample":
        cell.samples.append(record["seconds"])
        cell.iterations = record["iterations"]
        if "peak_mb" in record and cell.peak_mb is None:
            cell.since_start = record.get("since_start")
            cell.peak_mb = record["peak_mb"]
            cell.process_peak_mb = record["process_peak_mb"]
    elif event == "done":
        cell.errors = record["errors"]
        cell.unknown = record["unknown"]
        cell.warnings = record["warnings"]
    elif event in FAILED:
        cell.status, cell.note = event, record["message"]


def _conclude(cell: Cell, code, wall: float, solve_started, options) -> Cell:
    """The cell's status from the child's exit (time limit, crash, no result)."""
    cell.elapsed = wall
    if cell.status == "ok" and code == -signal.SIGALRM:
        cell.status, cell.note = "time", f"a solve took longer than {options.time_limit:g} s"
    elif cell.status == "ok" and code is None:
        cell.status, cell.note = "time", f"harness timeout after {wall:.0f} s"
    elif code != 0 and cell.status == "ok":
        cell.status, cell.note = "crash", f"exit code {code}"
    if cell.status == "ok" and not cell.errors:
        cell.status, cell.note = "error", "the child reported no result"
    if cell.status != "ok":
        if solve_started is not None and not cell.samples:
            cell.failed_after = wall - solve_started
        cell.samples = []
    cell.load = os.getloadavg()[0]
    return cell


def _safety(options) -> float:
    return options.time_limit * 1.5 + options.budget + 300


def measure_cell(
    cell: Cell, method: Method, dataset: Dataset, options, save: Path | None, code_path=None
) -> Cell:
    """Measure one cell in a child process of its own."""
    job = _job(method.to_job(), dataset, cell, options, "warm", save)
    env = child_env(code_path, options.numba_cache)
    records, code, wall = run_child(job, env, _safety(options))
    solve_started = None
    for record in records:
        if record["event"] == "solving":
            solve_started = record["since_start"]
        else:
            _absorb(cell, record)
    return _conclude(cell, code, wall, solve_started, options)


def measure_pair(
    cells: tuple[Cell, Cell], methods: tuple[Method, Method], dataset, options, code_path=None
) -> tuple[Cell, Cell]:
    """Measure two methods in one child, alternating their solves (``mode="pair"``).

    Each cell's peak memory is the median over its solves (the first solve of the second
    method can reuse memory the first one freed, so no single solve is representative).
    """
    job = _job([m.to_job() for m in methods], dataset, cells[0], options, "pair", None)
    env = child_env(code_path, options.numba_cache)
    records, code, wall = run_child(job, env, _safety(options) * 2)
    by_key = {m.key: c for m, c in zip(methods, cells, strict=True)}
    peaks = {key: [] for key in by_key}
    running = None
    for record in records:
        key = record.get("method")
        if record["event"] == "solving":
            running = key
            continue
        if key is None:  # a failure of the whole child: the method that was running
            for target in [running] if running else list(by_key):
                _absorb(by_key[target], record)
            continue
        _absorb(by_key[key], record)
        if record["event"] == "sample":
            peaks[key].append(record["peak_mb"])
    for key, cell in by_key.items():
        cell.mode = "pair"
        # A time limit or a crash ends the process: it is the method that was running's.
        _conclude(cell, code if key == running else 0, wall, None, options)
        if cell.status == "ok" and peaks[key]:
            cell.peak_mb = statistics.median(peaks[key])
    return cells


def measure_cold(
    method: Method,
    dataset: Dataset,
    image: str,
    trimap_set: str,
    options,
    workdir: Path,
    code_path=None,
) -> list[ColdRecord]:
    """A fresh process importing the method and solving one image (numba cache empty/filled)."""
    cell = Cell(method.key, image, trimap_set, 1)
    job = _job(method.to_job(), dataset, cell, options, "cold", None)
    # PyMatting caches its compiled functions (cache=True); the seed does not, so for it every
    # start compiles and one run says it all.
    modes = (
        ["empty", "filled"]
        if method.family == "pymatting"
        else (["none (no cache=True)"] if method.uses_numba else ["-"])
    )
    cache_dir = workdir / f"numba-cache-{method.key.replace(':', '-')}"
    records = []
    for mode in modes:
        # The first (empty-cache) run fills cache_dir; the second finds it filled.
        env = child_env(code_path, str(cache_dir) if method.uses_numba else None)
        results, code, _ = run_child(job, env, options.time_limit * 1.5 + 300)
        cold = [r for r in results if r["event"] == "cold"]
        failed = [r for r in results if r["event"] in FAILED]
        if cold:
            records.append(ColdRecord(method.key, image, mode, cold[0]["seconds"]))
        elif code == -signal.SIGALRM or code is None:
            records.append(
                ColdRecord(method.key, image, mode, None, "time", f"> {options.time_limit:g} s")
            )
        else:
            note = failed[0]["message"] if failed else f"exit code {code}"
            status = failed[0]["event"] if failed else "crash"
            records.append(ColdRecord(method.key, image, mode, None, status, note))
    return records
