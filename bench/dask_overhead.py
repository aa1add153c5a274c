"""Why a solve is slower inside a Dask worker, and what vecmatte does about it.

Dask's nanny starts each worker process with ``MALLOC_TRIM_THRESHOLD_=65536``. Setting any of
glibc's malloc thresholds switches off its adaptive mmap threshold, so every array above
128 KiB is a fresh ``mmap`` that is page-faulted in and unmapped again when freed. This script
solves the same images (closed-form, defaults) in four settings and counts, per solve, the CPU
time split into user and system time and the minor page faults, read inside the process that
solves:

- ``plain``: a child process with the environment as it is;
- ``trim env``: a child process with ``MALLOC_TRIM_THRESHOLD_=65536`` (what the nanny sets);
- ``trim env + fix``: the same, with the solve inside ``vecmatte._malloc.reuse_large_allocations``;
- ``dask worker``: a real ``distributed.LocalCluster`` worker (one process, one thread, started by
  its nanny) running the solve the way ``vecmatte batch --scheduler`` does, with the fix, and
  ``dask worker, no fix`` without it; and the same two on a worker whose statistical profiler
  is off (``distributed.worker.profile.enabled: False``; by default it samples every thread's
  stack every 10 ms, taking the GIL from the solve).

CPU and fault counts are per process, so they hold on a loaded machine where wall time does not.
Writes ``bench/results/dask_overhead.md``::

    python bench/dask_overhead.py --data ../shared/data/alphamatting-lowres --images GT04 GT13
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path

import provenance  # bench/provenance.py: the header and the write every bench script shares

RESULTS = Path(__file__).resolve().parent / "results" / "dask_overhead.md"
REPEATS = 3


def solve_and_count(image_path: str, trimap_path: str, fix: bool) -> dict[str, float]:
    """Solve one image ``REPEATS`` times after a warm-up; per-solve CPU and faults, medians."""
    import contextlib

    import vecmatte
    from vecmatte._malloc import reuse_large_allocations

    image = vecmatte.load_image(image_path)
    trimap = vecmatte.load_trimap(trimap_path)
    vecmatte.estimate_alpha(image, trimap)
    samples = []
    for _ in range(REPEATS):
        guard = reuse_large_allocations() if fix else contextlib.nullcontext()
        with guard:
            before = resource.getrusage(resource.RUSAGE_SELF)
            vecmatte.estimate_alpha(image, trimap)
            after = resource.getrusage(resource.RUSAGE_SELF)
        samples.append(
            (
                after.ru_utime - before.ru_utime,
                after.ru_stime - before.ru_stime,
                after.ru_minflt - before.ru_minflt,
            )
        )
    user, system, faults = (statistics.median(column) for column in zip(*samples, strict=True))
    return {"user": user, "system": system, "faults": faults}


def _child(image_path: str, trimap_path: str, environment: dict[str, str], fix: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.update(environment)
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import dask_overhead as d; "
        "print(json.dumps(d.solve_and_count(sys.argv[2], sys.argv[3], sys.argv[4] == '1')))"
    )
    bench_dir = str(Path(__file__).resolve().parent)
    out = subprocess.run(
        [sys.executable, "-c", code, bench_dir, image_path, trimap_path, "1" if fix else "0"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _on_worker(client, image_path: str, trimap_path: str, fix: bool) -> dict:
    bench_dir = str(Path(__file__).resolve().parent)

    def task(directory, image, trimap, with_fix):
        sys.path.insert(0, directory)
        import dask_overhead

        return dask_overhead.solve_and_count(image, trimap, with_fix)

    future = client.submit(task, bench_dir, image_path, trimap_path, fix, pure=False)
    return future.result()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, type=Path, help="alphamatting-style folder")
    parser.add_argument("--images", nargs="+", default=["GT04", "GT13", "GT02"])
    parser.add_argument("--trimap", default="trimap", help="trimap folder name")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    import dask
    from distributed import Client, LocalCluster

    settings = ["plain", "trim env", "trim env + fix"]
    rows: dict[str, dict[str, dict]] = {name: {} for name in args.images}
    load_before = provenance.load_average()
    trim = {"MALLOC_TRIM_THRESHOLD_": "65536"}
    for name in args.images:
        image = str(args.data / "image" / f"{name}.png")
        trimap = str(args.data / args.trimap / f"{name}.png")
        rows[name]["plain"] = _child(image, trimap, {}, fix=False)
        rows[name]["trim env"] = _child(image, trimap, trim, fix=False)
        rows[name]["trim env + fix"] = _child(image, trimap, trim, fix=True)
    for profiler in (True, False):
        suffix = "" if profiler else ", profiler off"
        settings += [f"dask worker, no fix{suffix}", f"dask worker{suffix}"]
        with (
            dask.config.set({"distributed.worker.profile.enabled": profiler}),
            LocalCluster(n_workers=1, threads_per_worker=1, processes=True) as cluster,
            Client(cluster) as client,
        ):
            worker_env = client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
            for name in args.images:
                image = str(args.data / "image" / f"{name}.png")
                trimap = str(args.data / args.trimap / f"{name}.png")
                for fix in (False, True):
                    setting = f"dask worker{'' if fix else ', no fix'}{suffix}"
                    rows[name][setting] = _on_worker(client, image, trimap, fix=fix)
                print(name, json.dumps(rows[name]), file=sys.stderr)

    command = "python bench/dask_overhead.py " + " ".join(
        [f"--data {args.data}", "--images " + " ".join(args.images), f"--trimap {args.trimap}"]
    )
    lines = [
        "## Solves inside a Dask worker (issue 14)",
        "",
        provenance.generated_line(command),
        "",
        f"- machine: {provenance.machine_line()}; load average {load_before} at the start, "
        f"{provenance.load_average()} at the end",
        f"- the LocalCluster worker's MALLOC_TRIM_THRESHOLD_: {next(iter(worker_env.values()))!r}",
        f"- closed-form solve with defaults on `{args.trimap}`; median of {REPEATS} solves after a "
        "warm-up, CPU seconds (user + system) and minor page faults per solve, measured inside "
        "the solving process",
        "",
        "| image | setting | user s | system s | CPU s | minor faults | CPU / plain |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name in args.images:
        plain = rows[name]["plain"]
        plain_cpu = plain["user"] + plain["system"]
        for setting in settings:
            cell = rows[name][setting]
            cpu = cell["user"] + cell["system"]
            lines.append(
                f"| {name} | {setting} | {cell['user']:.2f} | {cell['system']:.2f} | {cpu:.2f} "
                f"| {cell['faults']:.0f} | {cpu / plain_cpu:.2f} |"
            )
    lines += [
        "",
        "The nanny's variable multiplies the page faults and the system time of a solve in a "
        "plain process; `reuse_large_allocations` (used by `run_batch_on_cluster`'s tasks) "
        "raises glibc's thresholds for the duration of the solve and puts the nanny's back "
        "afterwards. Inside the worker the counts also move with the worker's other threads "
        "(the statistical profiler, the event loop): compare the `profiler off` rows.",
        "",
    ]
    provenance.write_markdown(args.output, "\n".join(lines))
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
