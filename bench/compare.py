"""Side-by-side benchmark of vecmatte against the seed's numba program and PyMatting.

Usage (see bench/README.md)::

    python bench/compare.py --data ../shared/data/alphamatting-lowres --trimap trimap trimap2 \\
        --scales 1 2 4

Every measurement runs in a fresh child process (this same file with ``--worker``) under an
address-space cap (``RLIMIT_AS``) and a per-solve time limit, so that a method which runs out
of memory or time is reported as "> memory cap" / "> limit" instead of taking the benchmark
down. The child warms the method up on a small synthetic scene, measures the peak resident
memory of the first solve on the real image, then repeats the solve for the warm time. Cold
start is a separate child that imports the method and solves one image. Results are written to
``bench/RESULTS.md`` and ``bench/time_vs_megapixels.png``; every ``bench/results/*.md`` written
by other bench scripts is appended to the report.

Peers (numba, pymatting) are imported only by the children that run them.
"""

from __future__ import annotations

import time

_PROCESS_START = time.perf_counter()

import argparse  # noqa: E402
import datetime  # noqa: E402
import functools  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import shlex  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent

# --- the data folder -----------------------------------------------------------------------

# Our layout first, then the folder names of the alphamatting.com downloads.
IMAGE_DIRS = ("image", "input_training_lowres", "input_lowres", "input_training_highres", "input")
ALPHA_DIRS = ("alpha", "gt_training_lowres", "gt_lowres", "gt_training_highres", "gt")
TRIMAP_DIRS = {
    "trimap": (
        "trimap",
        "trimap_training_lowres/Trimap1",
        "trimap_lowres/Trimap1",
        "trimap_training_highres/Trimap1",
        "Trimap1",
    ),
    "trimap2": (
        "trimap2",
        "trimap_training_lowres/Trimap2",
        "trimap_lowres/Trimap2",
        "trimap_training_highres/Trimap2",
        "Trimap2",
    ),
}
TRIMAP_ALIASES = {"trimap1": "trimap", "Trimap1": "trimap", "Trimap2": "trimap2"}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")


@dataclass
class Dataset:
    root: Path
    image_dir: Path
    alpha_dir: Path
    trimap_dirs: dict[str, Path]
    files: dict[str, str]  # image name (stem) -> file name

    def paths(self, name: str, trimap_set: str) -> tuple[Path, Path, Path]:
        file = self.files[name]
        return self.image_dir / file, self.trimap_dirs[trimap_set] / file, self.alpha_dir / file


def _first_dir(root: Path, candidates: tuple[str, ...], what: str) -> Path:
    for candidate in candidates:
        if (root / candidate).is_dir():
            return root / candidate
    raise SystemExit(
        f"compare.py: error: {root} has no {what} folder (looked for {', '.join(candidates)})"
    )


def find_dataset(root: Path, trimap_sets: list[str]) -> Dataset:
    """Locate image, trimap and ground-truth folders under ``root`` and the names they share."""
    image_dir = _first_dir(root, IMAGE_DIRS, "image")
    alpha_dir = _first_dir(root, ALPHA_DIRS, "ground-truth alpha")
    trimap_dirs = {}
    for trimap_set in trimap_sets:
        if trimap_set not in TRIMAP_DIRS:
            raise SystemExit(
                f"compare.py: error: unknown trimap set {trimap_set!r}; use trimap or trimap2"
            )
        trimap_dirs[trimap_set] = _first_dir(root, TRIMAP_DIRS[trimap_set], trimap_set)
    files = {}
    for path in sorted(image_dir.iterdir()):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        if (alpha_dir / path.name).is_file() and all(
            (d / path.name).is_file() for d in trimap_dirs.values()
        ):
            files[path.stem] = path.name
    if not files:
        raise SystemExit(
            f"compare.py: error: no image in {image_dir} has a trimap and ground truth"
        )
    return Dataset(root, image_dir, alpha_dir, trimap_dirs, files)


# --- the methods ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Method:
    key: str  # "vecmatte:ichol", "pymatting:cf", "seed"
    label: str
    family: str  # "vecmatte", "pymatting", "seed"
    uses_numba: bool


def all_methods() -> list[Method]:
    """vecmatte with each registered preconditioner (default first), PyMatting cf, the seed."""
    from vecmatte.alpha import DEFAULT_PRECONDITIONER
    from vecmatte.preconditioners import PRECONDITIONERS

    others = sorted(n for n in PRECONDITIONERS if n != DEFAULT_PRECONDITIONER)
    names = [DEFAULT_PRECONDITIONER, *others]
    methods = [
        Method(
            f"vecmatte:{name}",
            f"vecmatte {name}" + (" (default)" if name == DEFAULT_PRECONDITIONER else ""),
            "vecmatte",
            False,
        )
        for name in names
    ]
    methods.append(Method("pymatting:cf", "PyMatting cf", "pymatting", True))
    methods.append(Method("seed", "seed (numba + spsolve)", "seed", True))
    return methods


def default_method_key() -> str:
    from vecmatte.alpha import DEFAULT_PRECONDITIONER

    return f"vecmatte:{DEFAULT_PRECONDITIONER}"


def select_methods(requested: list[str] | None) -> list[Method]:
    methods = all_methods()
    if not requested:
        return methods
    chosen = []
    for request in requested:
        matches = [m for m in methods if m.key == request or m.family == request]
        if not matches:
            raise SystemExit(
                f"compare.py: error: unknown method {request!r}; choose from "
                f"{', '.join(m.key for m in methods)} or a family (vecmatte, pymatting, seed)"
            )
        chosen += [m for m in matches if m not in chosen]
    return chosen


def peer_available(method: Method) -> str | None:
    """``None`` if the method can run here, else why not."""
    import importlib.util

    needed = {"vecmatte": [], "pymatting": ["pymatting", "numba"], "seed": ["numba"]}[method.family]
    for module in needed:
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install -e '.[bench]')"
    return None


def _load_solver(key: str):
    """``solve(image, trimap) -> (alpha, cg_iterations or None)``; imports the method."""
    if key.startswith("vecmatte:"):
        from vecmatte import solve_alpha

        preconditioner = key.split(":", 1)[1]

        def solve(image, trimap):
            result = solve_alpha(image, trimap, preconditioner=preconditioner)
            return result.alpha, result.iterations

        return solve
    if key == "pymatting:cf":
        from pymatting import estimate_alpha_cf

        def solve(image, trimap):
            count = [0]

            def callback(*_):
                count[0] += 1

            alpha = estimate_alpha_cf(image, trimap, cg_kwargs={"callback": callback})
            return alpha, count[0]

        return solve
    if key == "seed":
        sys.path.insert(0, str(BENCH_DIR))
        from seed_numba import seed_alpha

        def solve(image, trimap):
            return seed_alpha(image, trimap), None

        return solve
    raise ValueError(f"unknown method {key!r}")


# --- the child process ---------------------------------------------------------------------


def _load_scaled(path: str, scale: int, kind: str):
    """Image (RGB, bicubic), trimap (nearest) or alpha (bicubic) as float64 in [0, 1]."""
    import numpy as np
    from PIL import Image

    image = Image.open(path)
    image = image.convert("RGB" if kind == "image" else "L")
    if scale != 1:
        resample = Image.Resampling.NEAREST if kind == "trimap" else Image.Resampling.BICUBIC
        image = image.resize((image.width * scale, image.height * scale), resample)
    return np.asarray(image, dtype=np.float64) / 255.0


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


def _timed_solve(solve, image, trimap, time_limit: float):
    """Run one solve; the process dies of SIGALRM if it exceeds ``time_limit`` seconds."""
    # No Python handler: the default action of SIGALRM ends the process even inside C code.
    signal.setitimer(signal.ITIMER_REAL, time_limit)
    start = time.perf_counter()
    alpha, iterations = solve(image, trimap)
    seconds = time.perf_counter() - start
    signal.setitimer(signal.ITIMER_REAL, 0)
    return alpha, iterations, seconds


def _emit(out, **record) -> None:
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


def worker(job: dict) -> int:
    """Child process: run one measurement and write JSON lines to ``job["out"]``."""
    import resource
    import warnings

    _unbuffer_c_stdout()
    cap = int(job["memory_cap_gb"] * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    with open(job["out"], "a") as out:
        try:
            import numpy as np

            image = _load_scaled(job["image"], job["scale"], "image")
            trimap = _load_scaled(job["trimap"], job["scale"], "trimap")
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                solve = _load_solver(job["method"])
                if job["mode"] == "cold":
                    alpha, iterations, _ = _timed_solve(solve, image, trimap, job["time_limit"])
                    _emit(out, event="cold", seconds=time.perf_counter() - _PROCESS_START)
                    return 0
                _warm_up(solve)
                _emit(out, event="solving", since_start=time.perf_counter() - _PROCESS_START)
                reset = _reset_peak_rss()
                before = _current_rss_kb()
                alpha, iterations, seconds = _timed_solve(solve, image, trimap, job["time_limit"])
                peak = _peak_rss_kb(reset)
                since_start = time.perf_counter() - _PROCESS_START
                _emit(
                    out,
                    event="sample",
                    since_start=since_start,
                    seconds=seconds,
                    iterations=iterations,
                    peak_mb=(peak - before) / 1024,
                    process_peak_mb=peak / 1024,
                )
                spent = seconds
                for _ in range(job["repeats"] - 1):
                    if spent + seconds > job["budget"]:
                        break
                    alpha, iterations, seconds = _timed_solve(
                        solve, image, trimap, job["time_limit"]
                    )
                    spent += seconds
                    _emit(out, event="sample", seconds=seconds, iterations=iterations)
            messages = sorted(
                {
                    str(w.message).splitlines()[0][:120]
                    for w in caught
                    if not issubclass(w.category, DeprecationWarning)
                }
            )
            from vecmatte.metrics import matting_errors

            truth = _load_scaled(job["alpha"], job["scale"], "alpha")
            errors = matting_errors(np.clip(alpha, 0, 1), truth, trimap)
            if job.get("save"):
                from PIL import Image

                pixels = np.round(np.clip(alpha, 0, 1) * 65535).astype(np.uint16)
                Image.fromarray(pixels).save(job["save"])
            _emit(
                out,
                event="done",
                errors=errors,
                warnings=messages,
                unknown=int(((trimap > 0.1) & (trimap < 0.9)).sum()),
            )
        except MemoryError as error:
            _emit(out, event="memory", message=str(error)[:200])
        except Exception as error:  # a peer failing is a result, not a crash of the benchmark
            text = f"{type(error).__name__}: {error}"
            kind = "memory" if "memory" in text.lower() else "error"
            _emit(out, event=kind, message=text[:300])
    return 0


def _warm_up(solve) -> None:
    """JIT compilation and lazy imports, on a small synthetic scene."""
    from vecmatte.synthetic import make_scene

    scene = make_scene((48, 64), seed=1)
    solve(scene.image, scene.trimap)


# --- running children ----------------------------------------------------------------------


@dataclass
class Cell:
    """One (method, image, trimap set, scale) measurement."""

    method: str
    image: str
    trimap: str
    scale: int
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

    @property
    def warm(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None


def _run_child(job: dict, env: dict, safety_timeout: float) -> tuple[list[dict], int | None, float]:
    """Run ``compare.py --worker`` on ``job``; its JSON lines, return code and wall time."""
    with tempfile.NamedTemporaryFile("r", suffix=".jsonl", delete=False) as handle:
        job = {**job, "out": handle.name}
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(job)]
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
        and not any(r["event"] in ("memory", "error", "done", "cold") for r in records)
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


def _child_env(numba_cache: str | None = None) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if numba_cache is not None:
        env["NUMBA_CACHE_DIR"] = numba_cache
    return env


def measure_cell(cell: Cell, dataset: Dataset, options, save: Path | None) -> Cell:
    image_path, trimap_path, alpha_path = dataset.paths(cell.image, cell.trimap)
    job = {
        "method": cell.method,
        "image": str(image_path),
        "trimap": str(trimap_path),
        "alpha": str(alpha_path),
        "scale": cell.scale,
        "mode": "warm",
        "repeats": options.repeats,
        "budget": options.budget,
        "time_limit": options.time_limit,
        "memory_cap_gb": options.memory_cap,
        "save": str(save) if save else None,
    }
    safety = options.time_limit * 1.5 + options.budget + 300
    env = _child_env(options.numba_cache)
    records, code, wall = _run_child(job, env, safety)
    cell.elapsed = wall
    solve_started = None
    for record in records:
        event = record["event"]
        if event == "sample":
            cell.samples.append(record["seconds"])
            cell.iterations = record["iterations"]
            if "peak_mb" in record:
                cell.since_start = record["since_start"]
                cell.peak_mb = record["peak_mb"]
                cell.process_peak_mb = record["process_peak_mb"]
        elif event == "solving":
            solve_started = record["since_start"]
        elif event == "done":
            cell.errors = record["errors"]
            cell.unknown = record["unknown"]
            cell.warnings = record["warnings"]
        elif event in ("memory", "error", "crash"):
            cell.status, cell.note = event, record["message"]
    if code == -signal.SIGALRM:
        cell.status, cell.note = "time", f"a solve took longer than {options.time_limit:g} s"
    elif code is None:
        cell.status, cell.note = "time", f"harness timeout after {wall:.0f} s"
    elif code != 0 and cell.status == "ok":
        cell.status, cell.note = "crash", f"exit code {code}"
    if cell.status == "ok" and not cell.errors:
        cell.status, cell.note = "error", "the child reported no result"
    if cell.status != "ok":
        if solve_started is not None and not cell.samples:
            cell.failed_after = wall - solve_started
        cell.samples = []
    return cell


@dataclass
class ColdRecord:
    method: str
    image: str
    cache: str  # "empty", "filled" or "-" (no numba)
    seconds: float | None
    status: str = "ok"
    note: str = ""


def measure_cold(
    method: Method, dataset: Dataset, image: str, trimap_set: str, options, workdir: Path
) -> list[ColdRecord]:
    image_path, trimap_path, alpha_path = dataset.paths(image, trimap_set)
    job = {
        "method": method.key,
        "image": str(image_path),
        "trimap": str(trimap_path),
        "alpha": str(alpha_path),
        "scale": 1,
        "mode": "cold",
        "repeats": 1,
        "budget": 0,
        "time_limit": options.time_limit,
        "memory_cap_gb": options.memory_cap,
        "save": None,
    }
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
        env = _child_env(str(cache_dir) if method.uses_numba else None)
        results, code, _ = _run_child(job, env, options.time_limit * 1.5 + 300)
        cold = [r for r in results if r["event"] == "cold"]
        failed = [r for r in results if r["event"] in ("memory", "error", "crash")]
        if cold:
            records.append(ColdRecord(method.key, image, mode, cold[0]["seconds"]))
        elif code == -signal.SIGALRM or code is None:
            records.append(
                ColdRecord(method.key, image, mode, None, "time", f"> {options.time_limit:g} s")
            )
        else:
            note = failed[0]["message"] if failed else f"exit code {code}"
            records.append(
                ColdRecord(
                    method.key, image, mode, None, failed[0]["event"] if failed else "crash", note
                )
            )
    return records


# --- planning, caching ---------------------------------------------------------------------


@functools.cache
def _fingerprint(method: Method) -> str:
    """Changes when the code being measured changes (cache key for --resume).

    Computed once per method and process: the code measured is the code at the start of the
    run, and every cell's key needs it.
    """
    digest = hashlib.sha1()
    if method.family == "vecmatte":
        for path in sorted((ROOT / "vecmatte").glob("*.py")):
            digest.update(path.read_bytes())
    elif method.family == "seed":
        digest.update((BENCH_DIR / "seed_numba.py").read_bytes())
    else:
        from importlib.metadata import version

        digest.update(version("pymatting").encode())
    return digest.hexdigest()[:12]


def _cell_key(cell: Cell, method: Method, options) -> str:
    return json.dumps(
        [
            cell.method,
            cell.image,
            cell.trimap,
            cell.scale,
            _fingerprint(method),
            options.repeats,
            options.budget,
            options.time_limit,
            options.memory_cap,
        ]
    )


def _image_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as image:
        return image.width, image.height


def _skip_reason(cell: Cell, failures: list[Cell], pixels: int) -> str | None:
    """A cell is skipped if the same method already ran out of time or memory on no more work."""
    for failed in failures:
        if failed.method != cell.method or failed.scale > cell.scale:
            continue
        failed_pixels = round(failed.megapixels * 1e6)
        # The seed solves for every pixel, so its work does not depend on the unknown count.
        unknown_ok = failed.method == "seed" or (failed.unknown or 0) <= (cell.unknown or 0)
        if failed_pixels <= pixels and unknown_ok:
            what = "> memory cap" if failed.status == "memory" else "> limit"
            return (
                f"{what}: skipped, the method already failed on {failed.image} "
                f"{failed.trimap} x{failed.scale} ({failed.megapixels:.2f} MP, no more work)"
            )
    return None


def _count_unknown(path: Path, scale: int) -> int:
    import numpy as np
    from PIL import Image

    with Image.open(path) as image:
        trimap = np.asarray(image.convert("L"))
    unknown = int(((trimap > 25) & (trimap < 230)).sum())
    return unknown * scale * scale


def plan_images(dataset: Dataset, options) -> tuple[list[str], dict[int, list[str]], list[str]]:
    names = list(dataset.files)
    if options.images:
        missing = [n for n in options.images if n not in dataset.files]
        if missing:
            raise SystemExit(
                f"compare.py: error: no image named {missing[0]} in {dataset.image_dir}"
            )
        names = list(options.images)
    per_scale = {}
    subset_scales = options.subset_scales or [x for x in options.scales if x != 1]
    for scale in options.scales:
        if scale not in subset_scales or not options.scale_images:
            per_scale[scale] = names
        else:
            per_scale[scale] = [n for n in options.scale_images if n in names] or names
    sizes = {n: _image_size(dataset.image_dir / dataset.files[n]) for n in names}
    if options.seed_images == ["all"]:
        seed_names = names
    elif options.seed_images:
        seed_names = [n for n in options.seed_images if n in names]
    else:
        seed_names = sorted(names, key=lambda n: sizes[n][0] * sizes[n][1])[:1]
    return names, per_scale, seed_names


def run(options) -> dict:
    methods = select_methods(options.methods)
    unavailable = {m.key: why for m in methods if (why := peer_available(m))}
    dataset = find_dataset(Path(options.data), options.trimap)
    names, per_scale, seed_names = plan_images(dataset, options)
    cache_path = Path(options.cache)
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    alpha_dir = cache_path.parent / "alphas"
    alpha_dir.mkdir(exist_ok=True)
    cached = {}
    if options.resume and cache_path.is_file():
        for line in cache_path.read_text().splitlines():
            entry = json.loads(line)
            cached[entry["key"]] = entry
    by_key = {m.key: m for m in methods}
    default_key = default_method_key()
    package_versions = versions()  # the code measured is the code at the start of the run
    load_at_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
    started = time.perf_counter()
    deadline = started + options.max_minutes * 60 if options.max_minutes else None
    cells: list[Cell] = []
    failures: list[Cell] = []
    total = sum(len(per_scale[s]) for s in options.scales) * len(options.trimap)
    done = 0
    cold: list[ColdRecord] = []
    reused = measured = 0
    for scale in sorted(options.scales):
        if options.cold and not cold and scale != 1:
            cold = _cold_starts(methods, unavailable, dataset, names, seed_names, cells, options)
        for trimap_set in options.trimap:
            for name in per_scale[scale]:
                done += 1
                image_path, trimap_path, _ = dataset.paths(name, trimap_set)
                width, height = _image_size(image_path)
                pixels = width * height * scale * scale
                unknown = _count_unknown(trimap_path, scale)
                _log(
                    f"[{time.perf_counter() - started:7.0f}s] {done}/{total} {name} {trimap_set} "
                    f"x{scale} ({pixels / 1e6:.2f} MP, {unknown} unknown)"
                )
                group = []
                for method in methods:
                    cell = Cell(method.key, name, trimap_set, scale, pixels / 1e6, unknown)
                    why_not = _not_planned(method, cell, default_key, seed_names, options)
                    if method.key in unavailable:
                        cell.status, cell.note = "unavailable", unavailable[method.key]
                    elif why_not:
                        cell.status, cell.note = "skipped", why_not
                    elif reason := _skip_reason(cell, failures, pixels):
                        cell.status = "memory" if "memory" in reason else "time"
                        cell.note = reason
                    elif (
                        (key := _cell_key(cell, method, options)) not in cached
                        and deadline is not None
                        and time.perf_counter() > deadline
                    ):
                        cell.status = "skipped"
                        cell.note = (
                            f"not run: the run's --max-minutes {options.max_minutes:g} ran out"
                        )
                    else:
                        if key in cached:
                            cell = Cell(**cached[key]["cell"])
                            reused += 1
                        else:
                            cell = _measure(cell, key, dataset, options, cache_path, alpha_dir)
                            measured += 1
                        if cell.status in ("time", "memory"):
                            failures.append(cell)
                        _log(f"    {method.key:<18} {_cell_summary(cell)}")
                    group.append(cell)
                _compare_to_default(group, default_key, alpha_dir, dataset, name, trimap_set, scale)
                cells += group
    if options.cold and not cold:
        cold = _cold_starts(methods, unavailable, dataset, names, seed_names, cells, options)
    return {
        "versions": package_versions,
        "load_at_start": load_at_start,
        "started": datetime.datetime.now().astimezone()
        - datetime.timedelta(seconds=time.perf_counter() - started),
        "cells": cells,
        "cold": cold,
        "methods": methods,
        "by_key": by_key,
        "unavailable": unavailable,
        "names": names,
        "per_scale": per_scale,
        "seed_names": seed_names,
        "dataset": dataset,
        "default": default_key,
        "reused": reused,
        "measured": measured,
    }


def _cold_starts(methods, unavailable, dataset, names, seed_names, cells, options):
    """Cold starts on one image; the seed's is read from its warm child (it never caches)."""
    cold_image = options.cold_image or (seed_names[0] if seed_names else names[0])
    workdir = Path(tempfile.mkdtemp(prefix="vecmatte-cold-"))
    records = []
    for method in methods:
        if method.key in unavailable or (
            method.family == "vecmatte" and method.key != default_method_key()
        ):
            continue
        if method.family == "seed":
            # Every start of the seed compiles (no cache=True): its warm child, timed from process
            # start to the end of the first solve of the image, is a cold start plus the
            # milliseconds of the small warm-up scene.
            warm = [
                c
                for c in cells
                if c.method == method.key
                and c.image == cold_image
                and c.trimap == options.trimap[0]
                and c.scale == 1
            ]
            if warm and warm[0].since_start is not None:
                records.append(
                    ColdRecord(method.key, cold_image, "none (no cache=True)", warm[0].since_start)
                )
            elif warm and warm[0].status in ("time", "memory", "crash", "error"):
                records.append(
                    ColdRecord(
                        method.key,
                        cold_image,
                        "none (no cache=True)",
                        None,
                        warm[0].status,
                        warm[0].note,
                    )
                )
            continue
        for record in measure_cold(
            method, dataset, cold_image, options.trimap[0], options, workdir
        ):
            records.append(record)
    for record in records:
        seconds = f"{record.seconds:.2f} s" if record.seconds is not None else record.note
        _log(f"    cold {record.method:<18} cache {record.cache:<6} {seconds}")
    return records


def _not_planned(method: Method, cell: Cell, default_key: str, seed_names, options) -> str:
    """Why a cell is left out of this run by the subset options ("" if it is not)."""
    if method.family == "seed":
        if cell.image not in seed_names:
            return "not in the seed's image subset"
        if cell.trimap != options.trimap[0]:
            return "the seed runs with the first trimap set only (it solves every pixel)"
    if method.family == "vecmatte" and method.key != default_key:
        if options.secondary_images and cell.image not in options.secondary_images:
            return "not in the image subset of the non-default preconditioners"
        if options.secondary_scales and cell.scale not in options.secondary_scales:
            return "not at a scale of the non-default preconditioners"
    return ""


def _measure(cell, key, dataset, options, cache_path, alpha_dir) -> Cell:
    """Measure a cell and record it in the cache under ``key``."""
    save = (
        alpha_dir / f"{cell.method.replace(':', '-')}_{cell.image}_{cell.trimap}_x{cell.scale}.png"
    )
    cell = measure_cell(cell, dataset, options, save)
    with cache_path.open("a") as handle:
        handle.write(json.dumps({"key": key, "cell": cell.__dict__}) + "\n")
    return cell


def _compare_to_default(group, default_key, alpha_dir, dataset, name, trimap_set, scale) -> None:
    """SAD of each method's matte against vecmatte's default (where both ran)."""
    ok = {c.method: c for c in group if c.status == "ok"}
    if default_key not in ok:
        return
    import numpy as np
    from PIL import Image

    from vecmatte.metrics import sad

    def load(key):
        path = alpha_dir / f"{key.replace(':', '-')}_{name}_{trimap_set}_x{scale}.png"
        if not path.is_file():
            return None
        return np.asarray(Image.open(path), dtype=np.float64) / 65535.0

    reference = load(default_key)
    if reference is None:
        return
    trimap = _load_scaled(str(dataset.paths(name, trimap_set)[1]), scale, "trimap")
    for key, cell in ok.items():
        other = load(key)
        if other is not None and other.shape == reference.shape:
            cell.to_default_sad = sad(other, reference, trimap)


def _cell_summary(cell: Cell) -> str:
    if cell.status != "ok":
        return f"{cell.status}: {cell.note}"
    return (
        f"warm {cell.warm:.3f} s (n={len(cell.samples)}), peak {cell.peak_mb:.0f} MB, "
        f"iters {cell.iterations}, SAD {cell.errors.get('sad', float('nan')):.3f}"
    )


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the report ----------------------------------------------------------------------------


def machine_info() -> dict[str, str]:
    info = {"platform": platform.platform(), "python": platform.python_version()}
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info["cpu"] = cpu or "unknown"
    info["cores"] = str(os.cpu_count())
    try:
        import psutil

        info["ram"] = f"{psutil.virtual_memory().total / 2**30:.1f} GiB"
        info["load"] = " ".join(f"{x:.2f}" for x in psutil.getloadavg())
    except ImportError:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        info["ram"] = f"{pages / 2**30:.1f} GiB"
    return info


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    result = {}
    for package in (
        "vecmatte",
        "numpy",
        "scipy",
        "pillow",
        "scikit-image",
        "pymatting",
        "numba",
        "matplotlib",
    ):
        try:
            result[package] = version(package)
        except PackageNotFoundError:
            result[package] = "not installed"
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "vecmatte"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        result["vecmatte"] += f" (git {commit}{' + uncommitted changes' if dirty else ''})"
    except (OSError, subprocess.CalledProcessError):
        pass
    return result


def _fmt_time(cell: Cell, options) -> str:
    if cell.status == "ok":
        return f"{cell.warm:.3f}"
    if cell.status == "time":
        return f"> {options.time_limit:g} s"
    if cell.status == "memory":
        after = f" after {cell.failed_after:.0f} s" if cell.failed_after else ""
        return f"> memory cap ({options.memory_cap:g} GB){after}"
    return cell.status


def _ratio_values(cells: list[Cell], ours: str, peer: str, attribute: str, options):
    """Per-image ratios ours/peer; a failed peer gives an upper bound (``bound=True``)."""
    index = {(c.image, c.trimap, c.scale, c.method): c for c in cells}
    values = []
    for cell in cells:
        if cell.method != ours or cell.status != "ok":
            continue
        other = index.get((cell.image, cell.trimap, cell.scale, peer))
        if other is None:
            continue
        mine = cell.warm if attribute == "time" else cell.peak_mb
        if other.status == "ok":
            theirs = other.warm if attribute == "time" else other.peak_mb
            if theirs:
                values.append((mine / theirs, False))
        elif other.status == "time" and attribute == "time":
            values.append((mine / options.time_limit, True))
        elif other.status == "memory" and attribute == "time" and other.failed_after:
            # it had not finished when it ran out of memory: its time is longer than that
            values.append((mine / other.failed_after, True))
        elif other.status == "memory" and attribute == "memory":
            values.append((mine / (options.memory_cap * 1024), True))
    return values


def _fmt_ratio(values) -> str:
    if not values:
        return "-"
    median = statistics.median(v for v, _ in values)
    bound = any(b for _, b in values)
    worst = max(v for v, _ in values)
    text = f"{'< ' if bound else ''}{median:.3g}"
    return f"{text} (max {worst:.3g}, n={len(values)})"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def write_report(result: dict, options, argv: list[str], path: Path, plot: Path | None) -> str:
    cells: list[Cell] = result["cells"]
    methods: list[Method] = result["methods"]
    label = {m.key: m.label for m in methods}
    default = result["default"]
    vec_keys = [m.key for m in methods if m.family == "vecmatte"]
    lines = [
        "# vecmatte benchmark results",
        "",
        "Generated by `bench/compare.py`; do not edit by hand (re-run the command below).",
        "",
        f"- Date: {result.get('started', datetime.datetime.now().astimezone()):%Y-%m-%d %H:%M %Z}"
        f" (start of the run; report written {datetime.datetime.now().astimezone():%H:%M})",
        f"- Command: `{' '.join(shlex.quote(a) for a in argv)}`",
        f"- Data: `{result['dataset'].root}` ({len(result['names'])} images; trimap sets "
        f"{', '.join(options.trimap)})",
        "",
        "## Machine",
        "",
    ]
    for key, value in machine_info().items():
        if key == "load" and result.get("load_at_start"):
            value = f"{result['load_at_start']} at the start, {value} at the end (1, 5, 15 min)"
        lines.append(f"- {key}: {value}")
    package_versions = result.get("versions") or versions()
    lines += ["", "Versions: " + ", ".join(f"{k} {v}" for k, v in package_versions.items()), ""]
    scale_text = "; ".join(
        f"x{s}: " + ("all images" if images == result["names"] else ", ".join(images))
        for s, images in sorted(result["per_scale"].items())
    )
    seed_text = ", ".join(result["seed_names"])
    lines += [
        "## How it was measured",
        "",
        "- Methods: " + "; ".join(f"`{m.key}` = {m.label}" for m in methods) + ".",
        f"- Images per scale: {scale_text}. Scales 2 and 4 upscale the image and ground truth "
        "bicubically and the trimap by nearest neighbour.",
        f"- The seed's program (whole-image direct solve) runs only on: {seed_text}, with the "
        f"first trimap set ({options.trimap[0]}; it solves for every pixel whatever the trimap, "
        "and takes minutes per image).",
        "- vecmatte's non-default preconditioners run on: "
        + (", ".join(options.secondary_images) if options.secondary_images else "all images")
        + "; at scales: "
        + (
            ", ".join(f"x{s}" for s in options.secondary_scales)
            if options.secondary_scales
            else "all"
        )
        + ". Cells left out by these subsets are not listed in the per-image table.",
        "- Every (method, image, trimap, scale) runs in a fresh child process with an "
        f"address-space cap of {options.memory_cap:g} GB (`RLIMIT_AS`) and a per-solve time "
        f"limit of {options.time_limit:g} s; a method that exceeds either is reported, not left "
        "out. Once a method has failed on an image, larger inputs with no fewer pixels and "
        "unknowns are reported as failed without running them (the note says so).",
        "- Warm time: the child first solves a small synthetic scene (JIT compilation, lazy "
        f"imports), then the image; median of up to {options.repeats} solves, fewer when they "
        f"would exceed {options.budget:g} s in total (`n` column).",
        "- Peak memory: resident memory at the peak of the first solve minus the resident memory "
        "just before it (Linux `VmHWM` after resetting it through `/proc/self/clear_refs`), in "
        "MB; the image itself and the interpreter are not counted.",
        "- Errors: SAD, MSE, gradient and connectivity errors over the trimap's unknown pixels "
        "(alphamatting.com conventions, `vecmatte.metrics`; SAD, Grad and Conn / 1000). "
        "`vs default` is the SAD between the method's matte and vecmatte's default matte.",
        *_provenance_lines(result, options),
        "- Cold start: a fresh process importing the method and solving one image, for "
        "vecmatte's default and the peers (PyMatting with an empty `NUMBA_CACHE_DIR`, then with "
        "the cache that run filled; the seed never caches its compiled code, so its cold start "
        "is read from its warm child: process start to the end of the first solve of the "
        "image, which includes compiling on the small warm-up scene).",
        "",
        "## Summary",
        "",
        "### Time and memory ratios (median over images, per scale and trimap set)",
        "",
        "A ratio below 1 means vecmatte is faster or lighter. `<` marks an upper bound: the peer "
        "exceeded the time limit or the memory cap on some images, and the limit (or, for time, "
        "how long it had run when it ran out of memory) was used for it.",
        "",
    ]
    rows = []
    peers = [("pymatting:cf", "PyMatting"), ("seed", "seed")]
    for ours in vec_keys:
        for scale in sorted(result["per_scale"]):
            for trimap_set in options.trimap:
                group = [c for c in cells if c.scale == scale and c.trimap == trimap_set]
                row = [label[ours], f"x{scale}", trimap_set]
                for peer, _ in peers:
                    for attribute in ("time", "memory"):
                        row.append(_fmt_ratio(_ratio_values(group, ours, peer, attribute, options)))
                rows.append(row)
    header = ["vecmatte", "scale", "trimap"]
    for _, name in peers:
        header += [f"time / {name}", f"memory / {name}"]
    lines += _table(header, rows)
    lines += ["", "### Ratio lines (default preconditioner)", ""]
    for scale in sorted(result["per_scale"]):
        for peer, name in peers:
            for attribute in ("time", "memory"):
                values = _ratio_values(
                    [c for c in cells if c.scale == scale], default, peer, attribute, options
                )
                lines.append(f"- x{scale} {attribute} vecmatte/{name}: {_fmt_ratio(values)}")
    lines += ["", "### Mean errors (over the images where the method succeeded)", ""]
    rows = []
    for method in methods:
        for scale in sorted(result["per_scale"]):
            for trimap_set in options.trimap:
                ok = [
                    c
                    for c in cells
                    if c.method == method.key
                    and c.scale == scale
                    and c.trimap == trimap_set
                    and c.status == "ok"
                ]
                if not ok:
                    continue
                means = [
                    statistics.fmean(c.errors[k] for c in ok)
                    for k in ("sad", "mse", "gradient", "connectivity")
                ]
                rows.append(
                    [
                        method.label,
                        f"x{scale}",
                        trimap_set,
                        str(len(ok)),
                        f"{means[0]:.3f}",
                        f"{means[1]:.5f}",
                        f"{means[2]:.3f}",
                        f"{means[3]:.3f}",
                    ]
                )
    lines += _table(["method", "scale", "trimap", "images", "SAD", "MSE", "Grad", "Conn"], rows)
    lines += ["", "### Accuracy against PyMatting", ""]
    lines += _accuracy_lines(cells, default, label)
    lines += ["", "### Agreement with vecmatte's default matte", ""]
    lines += _agreement_lines(cells, methods, default, label)
    lines += ["", "### Cold start (fresh process: import + first image)", ""]
    if result["cold"]:
        rows = [
            [
                label[r.method],
                r.image,
                r.cache,
                f"{r.seconds:.2f}" if r.seconds is not None else f"{r.status}: {r.note}",
            ]
            for r in result["cold"]
        ]
        lines += _table(["method", "image", "numba cache", "seconds"], rows)
        lines += _cold_ratio_lines(result["cold"], default)
    else:
        lines.append("Not measured in this run (`--no-cold`).")
    if result["unavailable"]:
        lines += ["", "### Methods that could not run", ""]
        lines += [f"- {label[k]}: {why}" for k, why in result["unavailable"].items()]
    out_of_time = [c for c in cells if c.status == "skipped" and "max-minutes" in c.note]
    if out_of_time:
        lines += ["", "### Not run (the run's time budget ran out)", ""]
        lines += [f"- {label[c.method]} on {c.image} {c.trimap} x{c.scale}" for c in out_of_time]
    failed = [c for c in cells if c.status not in ("ok", "skipped", "unavailable")]
    if failed:
        lines += ["", "### Failures", ""]
        lines += [
            f"- {label[c.method]} on {c.image} {c.trimap} x{c.scale}: {c.status}: {c.note}"
            for c in failed
        ]
    warned = [c for c in cells if c.warnings]
    if warned:
        lines += ["", "### Warnings raised during solves", ""]
        lines += [
            f"- {label[c.method]} on {c.image} {c.trimap} x{c.scale}: {'; '.join(c.warnings)}"
            for c in warned
        ]
    if plot is not None:
        lines += [
            "",
            "## Time and memory against image size",
            "",
            f"![time and peak memory against megapixels]({plot.name})",
        ]
    lines += ["", "## Per-image results", ""]
    rows = []
    for cell in cells:
        if cell.status == "skipped":
            continue
        ok = cell.status == "ok"
        rows.append(
            [
                cell.image,
                cell.trimap,
                f"x{cell.scale}",
                f"{cell.megapixels:.2f}",
                label[cell.method],
                _fmt_time(cell, options) if cell.status != "unavailable" else "unavailable",
                str(len(cell.samples)) if ok else "-",
                f"{cell.peak_mb:.0f}" if ok and cell.peak_mb is not None else "-",
                str(cell.iterations) if ok and cell.iterations is not None else "-",
                *(
                    [
                        f"{cell.errors['sad']:.3f}",
                        f"{cell.errors['mse']:.5f}",
                        f"{cell.errors['gradient']:.3f}",
                        f"{cell.errors['connectivity']:.3f}",
                    ]
                    if ok
                    else ["-"] * 4
                ),
                f"{cell.to_default_sad:.4f}" if cell.to_default_sad is not None else "-",
            ]
        )
    lines += _table(
        [
            "image",
            "trimap",
            "scale",
            "MP",
            "method",
            "warm s",
            "n",
            "peak MB",
            "CG iters",
            "SAD",
            "MSE",
            "Grad",
            "Conn",
            "vs default",
        ],
        rows,
    )
    text = "\n".join(lines) + "\n"
    for extra in sorted((BENCH_DIR / "results").glob("*.md")) if options.append_results else []:
        text += "\n" + extra.read_text().rstrip() + "\n"
    path.write_text(text)
    return text


def _provenance_lines(result: dict, options) -> list[str]:
    """Where the cells come from when some were reused from the cache (``--resume``)."""
    lines = []
    if result.get("reused"):
        lines.append(
            f"- This invocation measured {result['measured']} cells and reused "
            f"{result['reused']} from `{options.cache}`, measured earlier by invocations with "
            "the same code (hash of `vecmatte/*.py`, of `bench/seed_numba.py`, PyMatting's "
            "version) and the same limits, repeats and budget."
        )
    if options.note:
        lines.append(f"- {options.note}")
    return lines


def _accuracy_lines(cells: list[Cell], default: str, label: dict) -> list[str]:
    index = {(c.image, c.trimap, c.scale, c.method): c for c in cells}
    pairs = []
    for cell in cells:
        if cell.method != default or cell.status != "ok":
            continue
        peer = index.get((cell.image, cell.trimap, cell.scale, "pymatting:cf"))
        if peer is None or peer.status != "ok":
            continue
        pairs.append((cell, peer))
    if not pairs:
        return ["No image where both vecmatte's default and PyMatting ran."]
    worse = [(c, p) for c, p in pairs if c.errors["sad"] > 1.01 * p.errors["sad"]]
    lines = [
        f"- {label[default]} SAD within 1 % of PyMatting's or better on "
        f"{len(pairs) - len(worse)} of {len(pairs)} (image, trimap, scale) cases."
    ]
    for c, p in worse:
        lines.append(
            f"  - worse on {c.image} {c.trimap} x{c.scale}: SAD {c.errors['sad']:.3f} "
            f"vs {p.errors['sad']:.3f} ({100 * (c.errors['sad'] / p.errors['sad'] - 1):+.1f} %)"
        )
    differences = [p.to_default_sad for _, p in pairs if p.to_default_sad is not None]
    if differences:
        worst = max(pairs, key=lambda cp: cp[1].to_default_sad or 0)
        lines.append(
            f"- SAD between the two mattes: median {statistics.median(differences):.3f}, "
            f"largest {worst[1].to_default_sad:.3f} on {worst[0].image} "
            f"{worst[0].trimap} x{worst[0].scale}."
        )
    return lines


def _agreement_lines(cells: list[Cell], methods, default: str, label: dict) -> list[str]:
    """How far each method's matte is from the default's, relative to the default's own SAD."""
    index = {(c.image, c.trimap, c.scale, c.method): c for c in cells}
    lines = []
    for method in methods:
        if method.key == default:
            continue
        pairs = []
        for cell in cells:
            mine = index.get((cell.image, cell.trimap, cell.scale, default))
            if (
                cell.method == method.key
                and cell.to_default_sad is not None
                and mine is not None
                and mine.errors.get("sad")
            ):
                pairs.append((cell.to_default_sad / mine.errors["sad"], cell))
        if not pairs:
            continue
        worst_ratio, worst = max(pairs, key=lambda p: p[0])
        median = statistics.median(r for r, _ in pairs)
        lines.append(
            f"- {label[method.key]}: SAD between its matte and the default's is a median "
            f"{100 * median:.2g} % of the default's SAD to the ground truth, at most "
            f"{100 * worst_ratio:.2g} % ({worst.image} {worst.trimap} x{worst.scale}; "
            f"n={len(pairs)})."
        )
    return lines or ["No other method ran where the default did."]


def _cold_ratio_lines(cold: list[ColdRecord], default: str) -> list[str]:
    ours = [r for r in cold if r.method == default and r.seconds is not None]
    lines = [""]
    if not ours:
        return lines
    for record in cold:
        if record.method == "pymatting:cf" and record.seconds is not None:
            lines.append(
                f"- cold vecmatte/PyMatting ({record.cache} numba cache): "
                f"{ours[0].seconds / record.seconds:.3g}"
            )
    return lines


def write_plot(cells: list[Cell], methods: list[Method], path: Path) -> Path | None:
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    for number, method in enumerate(methods):
        ok = [c for c in cells if c.method == method.key and c.status == "ok"]
        if not ok:
            continue
        colour = f"C{number}"
        for axis, value in ((left, lambda c: c.warm), (right, lambda c: c.peak_mb)):
            points = [(c.megapixels, value(c)) for c in ok if value(c)]
            if not points:
                continue
            axis.scatter(*zip(*points, strict=True), s=8, alpha=0.35, color=colour)
            medians = []
            for scale in sorted({c.scale for c in ok}):
                at = [(c.megapixels, value(c)) for c in ok if c.scale == scale and value(c)]
                if at:
                    medians.append(
                        (statistics.median(m for m, _ in at), statistics.median(v for _, v in at))
                    )
            axis.plot(*zip(*medians, strict=True), "-o", color=colour, label=method.label)
        failed = [c for c in cells if c.method == method.key and c.status in ("time", "memory")]
        # One label per scale, not one per image: they would overlap.
        for scale in sorted({c.scale for c in failed}):
            here = [c for c in failed if c.scale == scale]
            what = "memory cap" if all(c.status == "memory" for c in here) else "limit"
            left.annotate(
                f"{method.key}: > {what} ({len(here)} at x{scale})",
                (statistics.median(c.megapixels for c in here), left.get_ylim()[1]),
                fontsize=7,
                color=colour,
                rotation=90,
                va="top",
            )
    for axis, ylabel in ((left, "warm time (s)"), (right, "peak memory of the solve (MB)")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        axis.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        axis.set_xlabel("image size (megapixels)")
        axis.set_ylabel(ylabel)
        axis.grid(True, which="both", alpha=0.3)
    if left.get_legend_handles_labels()[0]:
        left.legend(fontsize=7)
    figure.suptitle("vecmatte vs peers: median per scale (points: single images)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


# --- command line --------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        default=str(ROOT.parent / "shared" / "data" / "alphamatting-lowres"),
        help="folder with image/, trimap/ (trimap2/), alpha/ or the alphamatting.com names",
    )
    parser.add_argument(
        "--trimap",
        nargs="+",
        default=["trimap"],
        help="trimap sets to run: trimap (Trimap1) and/or trimap2 (Trimap2)",
    )
    parser.add_argument("--scales", nargs="+", type=int, default=[1], help="upscaling factors")
    parser.add_argument("--images", nargs="+", help="image names (default: all)")
    parser.add_argument(
        "--scale-images",
        nargs="+",
        help="images to use at the --subset-scales (default: the same as --images)",
    )
    parser.add_argument(
        "--subset-scales",
        nargs="+",
        type=int,
        help="scales that use --scale-images (default: every scale above 1)",
    )
    parser.add_argument(
        "--seed-images",
        nargs="+",
        help="images the seed's program runs on, or all (default: the smallest one)",
    )
    parser.add_argument(
        "--methods", nargs="+", help="method keys (vecmatte:NAME, pymatting:cf, seed) or families"
    )
    parser.add_argument("--repeats", type=int, default=3, help="warm solves per cell (default 3)")
    parser.add_argument(
        "--budget",
        type=float,
        default=15.0,
        help="stop repeating once the warm solves of a cell would exceed this many "
        "seconds (default 15; at least one solve always runs)",
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=300.0,
        help="per-solve time limit in seconds (default 300)",
    )
    parser.add_argument(
        "--memory-cap",
        type=float,
        default=12.0,
        help="address-space cap of each child in GB (default 12)",
    )
    parser.add_argument(
        "--secondary-images",
        nargs="+",
        help="images on which vecmatte's non-default preconditioners run (default: all)",
    )
    parser.add_argument(
        "--secondary-scales",
        nargs="+",
        type=int,
        help="scales at which vecmatte's non-default preconditioners run (default: all)",
    )
    parser.add_argument(
        "--max-minutes",
        type=float,
        help="stop starting new measurements after this many minutes; the rest is reported "
        "as not run and the report is still written",
    )
    parser.add_argument("--no-cold", dest="cold", action="store_false", help="skip cold starts")
    parser.add_argument(
        "--cold-image", help="image for the cold starts (default: the seed's first)"
    )
    parser.add_argument(
        "--numba-cache", help="NUMBA_CACHE_DIR for warm runs (default: numba's own)"
    )
    parser.add_argument("--output", default=str(BENCH_DIR / "RESULTS.md"), help="report path")
    parser.add_argument(
        "--plot", default=None, help="plot path (default: time_vs_megapixels.png beside the report)"
    )
    parser.add_argument(
        "--no-append",
        dest="append_results",
        action="store_false",
        help="do not append bench/results/*.md to the report",
    )
    parser.add_argument(
        "--cache",
        default=str(BENCH_DIR / ".cache" / "compare.jsonl"),
        help="where every finished measurement is recorded (for --resume)",
    )
    parser.add_argument("--note", help="a sentence on how the run was made, printed in the report")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="reuse measurements in --cache made with the same code and options",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        return worker(json.loads(argv[1]))
    parser = build_parser()
    options = parser.parse_args(argv)
    options.trimap = [TRIMAP_ALIASES.get(t, t) for t in options.trimap]
    if options.repeats < 1:
        parser.error("--repeats must be at least 1")
    result = run(options)
    output = Path(options.output)
    plot = write_plot(
        result["cells"],
        result["methods"],
        Path(options.plot) if options.plot else output.parent / "time_vs_megapixels.png",
    )
    command = ["python", "bench/compare.py", *argv]
    write_report(result, options, command, output, plot)
    _log(f"wrote {output}" + (f" and {plot}" if plot else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
