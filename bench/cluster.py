"""Throughput of a batch locally and on a local Dask cluster; writes bench/results/cluster.md.

The same batch (alphamatting.com low-resolution images GT01.., or synthetic 0.5 MP scenes when
that data is absent) runs locally with 1 and 2 processes and on a Dask cluster of 1 and 2
worker processes (1 thread each) on this machine. A batch of tiny images measures what Dask
adds per image, and one 2 MP image (a GT image upscaled) gives the time per image from which
the paragraph on 100,000 images at 2 MP is computed.

Usage::

    nice python bench/cluster.py [--count 20] [--tiny 40]
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import provenance  # bench/provenance.py: the header and the write every bench script shares

from vecmatte.batch import find_tasks, process_task, run_batch
from vecmatte.io import load_image, load_trimap, save_image
from vecmatte.synthetic import make_scene
from vecmatte.trimap import trimap_split

HERE = Path(__file__).resolve().parent
# the same place the tests look (tests/conftest.py), never copied into the project
DATA = Path(
    os.environ.get("VECMATTE_DATA", HERE.parent.parent / "shared" / "data" / "alphamatting-lowres")
)
RESULT = HERE / "results" / "cluster.md"
TARGET_PIXELS = 2_000_000
CATALOGUE = 100_000


def _photos(workdir: Path, count: int) -> tuple[list, str]:
    """Tasks for ``count`` real photographs, or synthetic 0.5 MP scenes without the data."""
    if (DATA / "image").is_dir() and (DATA / "trimap").is_dir():
        images, trimaps = workdir / "photos" / "images", workdir / "photos" / "trimaps"
        images.mkdir(parents=True)
        trimaps.mkdir(parents=True)
        names = sorted(p.name for p in (DATA / "image").glob("GT*.png"))[:count]
        for name in names:  # links, not copies: the batch only reads them
            (images / name).symlink_to(DATA / "image" / name)
            (trimaps / name).symlink_to(DATA / "trimap" / name)
        return [images, trimaps], f"{len(names)} alphamatting.com images ({names[0]}..)"
    images, trimaps = _synthetic(workdir / "photos", count, (600, 800))
    return [images, trimaps], f"{count} synthetic 600 x 800 scenes (alphamatting data absent)"


def _synthetic(directory: Path, count: int, shape) -> tuple[Path, Path]:
    images, trimaps = directory / "images", directory / "trimaps"
    images.mkdir(parents=True)
    trimaps.mkdir(parents=True)
    for index in range(count):
        scene = make_scene(shape, seed=index)
        save_image(images / f"s{index:03d}.png", scene.image)
        save_image(trimaps / f"s{index:03d}.png", scene.trimap)
    return images, trimaps


def _two_megapixel(workdir: Path) -> Path:
    """A GT01 (or synthetic) image and trimap upscaled to about 2 MP; returns their directory."""
    from skimage.transform import resize

    directory = workdir / "2mp"
    (directory / "images").mkdir(parents=True)
    (directory / "trimaps").mkdir(parents=True)
    if (DATA / "image" / "GT01.png").is_file():
        image = load_image(DATA / "image" / "GT01.png")
        trimap = load_trimap(DATA / "trimap" / "GT01.png")
    else:
        scene = make_scene((600, 800), seed=0)
        image, trimap = scene.image, scene.trimap
    scale = math.sqrt(TARGET_PIXELS / (image.shape[0] * image.shape[1]))
    shape = (round(image.shape[0] * scale), round(image.shape[1] * scale))
    save_image(directory / "images" / "big.png", resize(image, shape, order=1))
    save_image(directory / "trimaps" / "big.png", resize(trimap, shape, order=0))
    return directory


def _fresh(workdir: Path, label: str) -> Path:
    out = workdir / "out" / label
    out.mkdir(parents=True)
    return out


def _timed(function, *args, **kwargs):
    start = time.perf_counter()
    records = function(*args, **kwargs)
    seconds = time.perf_counter() - start
    failed = [r for r in records if r.status != "done"]
    if failed:
        first = failed[0]
        raise RuntimeError(f"{len(failed)} images failed, first {first.name}: {first.error}")
    return seconds, records


def _local(inputs, workdir: Path, label: str, jobs: int):
    tasks = find_tasks(*inputs, _fresh(workdir, label))
    return _timed(run_batch, tasks, jobs=jobs)


def _warm() -> int:
    """One tiny solve, so that lazy imports and first-call costs are not timed."""
    from vecmatte.alpha import solve_alpha

    scene = make_scene((40, 50), seed=0)
    solve_alpha(scene.image, scene.trimap)
    return os.getpid()


def _cluster(inputs, workdir: Path, label: str, workers: int):
    from distributed import Client, LocalCluster

    from vecmatte.distributed import run_batch_on_cluster

    tasks = find_tasks(*inputs, _fresh(workdir, label))
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            host="127.0.0.1",
        ) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        client.wait_for_workers(workers, timeout=60)
        client.run(_warm)  # a long-lived worker has done its imports: not counted
        return _timed(run_batch_on_cluster, tasks, client)


def _peak_rss_of_one(task, repeats: int = 3) -> tuple[float, int, float]:
    """Median seconds, iterations and peak resident memory (bytes) of a task, in a fresh process."""
    with ProcessPoolExecutor(max_workers=1) as pool:
        records = [pool.submit(process_task, task).result() for _ in range(repeats)]
    failed = [r for r in records if r.status != "done"]
    if failed:
        raise RuntimeError(f"2 MP image failed: {failed[0].error}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # KiB on Linux
    return float(np.median([r.seconds for r in records])), records[0].iterations, peak


def _row(label: str, seconds: float, records) -> str:
    n = len(records)
    solve = sum(r.seconds for r in records)
    return (
        f"| {label} | {n} | {seconds:.1f} | {60 * n / seconds:.1f} | {seconds / n:.2f} | "
        f"{solve / n:.2f} |"
    )


def _overhead(key: str, results) -> float:
    """Seconds per image spent outside the tasks: wall time minus the tasks' own time."""
    seconds, records = results[key]
    return (seconds - sum(r.seconds for r in records)) / len(records)


def _warm_local(workdir: Path) -> None:
    """Import the solver in this process before timing the in-process batch."""
    images, trimaps = _synthetic(workdir / "warm", 1, (60, 80))
    process_task(find_tasks(images, trimaps, _fresh(workdir, "warm"))[0])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20, help="photographs (default 20)")
    parser.add_argument("--tiny", type=int, default=40, help="tiny images (default 40)")
    args = parser.parse_args(argv)
    from vecmatte._defaults import PRECONDITIONER as DEFAULT_PRECONDITIONER
    from vecmatte._defaults import RTOL as DEFAULT_RTOL
    from vecmatte.memory import estimate_task_memory

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="vecmatte-cluster-bench-") as temporary:
        workdir = Path(temporary)
        print("2 MP image ...", file=sys.stderr)
        big = _two_megapixel(workdir)
        big_task = find_tasks(big / "images", big / "trimaps", _fresh(workdir, "2mp"))[0]
        big_trimap = load_trimap(big_task.trimap_path)
        big_shape = big_trimap.shape
        big_unknown = int(np.count_nonzero(trimap_split(big_trimap)[2]))
        big_estimate = estimate_task_memory(big_task)
        big_seconds, big_iterations, big_peak = _peak_rss_of_one(big_task)
        big_bytes = sum(
            Path(p).stat().st_size
            for p in (big_task.image_path, big_task.trimap_path, big_task.alpha_path)
        )

        photos, description = _photos(workdir, args.count)
        tiny = list(_synthetic(workdir / "tiny", args.tiny, (60, 80)))
        _warm_local(workdir)
        runs = [
            ("local, --jobs 1", lambda inputs, slug: _local(inputs, workdir, slug, 1)),
            ("local, --jobs 2", lambda inputs, slug: _local(inputs, workdir, slug, 2)),
            ("Dask, 1 worker", lambda inputs, slug: _cluster(inputs, workdir, slug, 1)),
            ("Dask, 2 workers", lambda inputs, slug: _cluster(inputs, workdir, slug, 2)),
        ]
        # Two rounds in opposite orders, best of the two kept: a machine whose load drifts
        # during the run then favours no configuration.
        results = {}
        for round_number, order in enumerate((runs, runs[::-1])):
            for label, run in order:
                print(f"round {round_number + 1}: {label} ...", file=sys.stderr)
                slug = f"{round_number}-" + label.replace(" ", "").replace(",", "-")
                keys = [(label, photos, "photos-")]
                if "--jobs 2" not in label:
                    keys.append(("tiny " + label, tiny, "tiny-"))
                for key, inputs, prefix in keys:
                    measured = run(inputs, prefix + slug)
                    if key not in results or measured[0] < results[key][0]:
                        results[key] = measured
        rows = [_row(label, *results[label]) for label, _ in runs]
        tiny_rows = [
            _row(label, *results["tiny " + label]) for label, _ in runs if "--jobs 2" not in label
        ]
    load_after = os.getloadavg()

    def per_image(key):
        seconds, records = results[key]
        return seconds / len(records)

    # What Dask adds per image: time outside the tasks on one worker, minus the same locally
    # (this difference does not depend on how fast the solves ran on a loaded machine).
    overhead_tiny = _overhead("tiny Dask, 1 worker", results) - _overhead(
        "tiny local, --jobs 1", results
    )
    overhead_photo = _overhead("Dask, 1 worker", results) - _overhead("local, --jobs 1", results)
    speedup_dask = per_image("Dask, 1 worker") / per_image("Dask, 2 workers")
    speedup_local = per_image("local, --jobs 1") / per_image("local, --jobs 2")
    per_image_2mp = big_seconds + max(overhead_tiny, 0.0)
    worker_hours = CATALOGUE * per_image_2mp / 3600
    gib = big_peak / 2**30
    workers_per_machine = max(1, min(2, int(22 / max(gib, 1e-9))))
    day_workers = math.ceil(worker_hours / 24)
    night_workers = math.ceil(worker_hours / 8)
    scale_rows = "\n".join(
        f"| {w} | {math.ceil(w / workers_per_machine)} | {worker_hours / w:,.1f} |"
        for w in sorted({1, 8, 32, 128, night_workers, day_workers})
    )
    bandwidth = big_bytes * night_workers / per_image_2mp / 1e6
    loaded = (
        ""
        if speedup_dask > 1.6
        else " (well short of 2: the other jobs on this shared machine, and the solver's own "
        "threads (the Laplacian is assembled by a thread pool), compete for the two cores; the "
        "images are independent, so with a core per worker the throughput adds up)"
    )
    inside_local = sum(r.seconds for r in results["local, --jobs 1"][1]) / args.count
    inside_dask = sum(r.seconds for r in results["Dask, 1 worker"][1]) / args.count

    text = f"""## Batches on a Dask cluster (issue 8)

Generated by `nice python bench/cluster.py --count {args.count} --tiny {args.tiny}` on
{provenance.utc_now()} ({provenance.machine_line()}). The machine
is shared with other jobs (load average {load_before[0]:.1f} before the run,
{load_after[0]:.1f} after), so absolute times are pessimistic and vary between runs. Dask
workers are processes with one thread each, on this machine (`distributed.LocalCluster`),
started and warmed up before timing (a cluster is long-lived); local `--jobs 2` includes
starting its process pool. Each configuration ran twice (in opposite orders); the faster run
is shown. Solver defaults (preconditioner {DEFAULT_PRECONDITIONER!r}, rtol
{DEFAULT_RTOL:g}). "solve s / image" is the time
measured inside each task (read, solve, write), "wall s / image" the batch's wall time divided
by the number of images.

Batch: {description}.

| run | images | wall s | images / min | wall s / image | solve s / image |
|---|---|---|---|---|---|
{chr(10).join(rows)}

Two Dask workers are {speedup_dask:.2f}x one worker, two local processes {speedup_local:.2f}x one
process{loaded}.

**What Dask adds per image.** Tiny 60 x 80 synthetic images, whose solve costs little, so that
the time outside the tasks shows:

| run | images | wall s | images / min | wall s / image | solve s / image |
|---|---|---|---|---|---|
{chr(10).join(tiny_rows)}

Per image, Dask on one worker spends {1000 * overhead_tiny:.0f} ms more outside the task than
the local loop (submitting the task, scheduling it, sending back the small record: the images
are read and written by the worker and never pass through the scheduler); on the photographs
the same difference is {1000 * overhead_photo:.0f} ms. Either way it is small next to a solve.
The time *inside* each task differs too: {inside_dask:.2f} s per photograph on the Dask worker
against {inside_local:.2f} s in the local process. Why was not established (the machine was shared
with other benchmarks during the run, and a worker process also runs Dask's event loop and
memory monitor next to the solve); the 100,000-image estimate below adds only the overhead
measured outside the tasks, so it is optimistic by that difference if it is real.

**100,000 images at 2 MP.** One {big_shape[1]} x {big_shape[0]} image (GT01 upscaled,
{big_unknown:,} unknown pixels, {100 * big_unknown / (big_shape[0] * big_shape[1]):.0f} % of
the image) takes {big_seconds:.1f} s (median of 3 runs; {big_iterations} CG iteration(s))
in one process on this machine, with a peak resident memory of {gib:.2f} GiB
(vecmatte's estimate for the task: {big_estimate / 2**30:.2f} GiB). With Dask's overhead
that is {per_image_2mp:.1f} s per image, so 100,000 such images are
**{worker_hours:,.0f} worker-hours** (single-thread workers at this speed). Memory allows
{workers_per_machine} workers on a 2-core, 24 GiB machine (one per core), so one such
machine would take {worker_hours / workers_per_machine:.0f} hours; finishing in a day takes
**{day_workers} workers ({math.ceil(day_workers / workers_per_machine)} such machines)**,
overnight (8 h) {night_workers} workers ({math.ceil(night_workers / workers_per_machine)}
machines). The images are independent, so the time divides by the number of workers until
the shared filesystem limits it: each image reads and writes {big_bytes / 1e6:.1f} MB of
PNG files, so {night_workers} workers need about {bandwidth:.0f} MB/s, well within one NFS
server. The figure scales with the unknown area: a trimap with a wider unknown band costs
proportionally more.

| workers (1 thread) | 2-core machines | hours |
|---|---|---|
{scale_rows}
"""
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    provenance.write_markdown(RESULT, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
