"""Batches on a real Dask cluster: a scheduler and worker processes started on 127.0.0.1.

Every process is started in its own process group and killed by the fixture's finalizer;
every wait has a deadline.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed")

from conftest import scene_folders
from dask_slow_tasks import HELD, RELEASE

from vecmatte.batch import dask as vdist
from vecmatte.batch import find_tasks, run_batch
from vecmatte.io import load_trimap, save_image
from vecmatte.synthetic import make_scene

START_TIMEOUT = 30  # seconds for a scheduler or a worker to come up
BATCH_TIMEOUT = 60  # seconds for any one batch
STOP_TIMEOUT = 10
WORKER_MEMORY = "1GiB"  # small, so that the memory test needs no big image
# Worker preload padding each task to 0.25 s, so a batch has a middle to kill or interrupt.
SLOW_TASKS = Path(__file__).with_name("dask_slow_tasks.py")
ALLOWED_FAILURES = 1  # times a task may lose its worker before the scheduler gives up on it


def _wait_until(condition, timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout} s waiting for {what}")
        time.sleep(interval)


def _stop(process: subprocess.Popen) -> None:
    """Terminate a process group (nanny and worker, or the scheduler); kill it if it lingers."""
    for sig, timeout in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, STOP_TIMEOUT)):
        if process.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout)
    # the nanny's worker child lives in the same group; make sure nothing of it survives
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


class LocalCluster:
    """A Dask scheduler and ``n_workers`` worker processes (1 thread each) on 127.0.0.1."""

    def __init__(self, directory: Path, n_workers: int):
        self.directory = directory
        self.processes: list[subprocess.Popen] = []
        self.workers: list[subprocess.Popen] = []
        self.client = None
        try:
            self._start(n_workers)
        except BaseException:
            self.close()  # stop whatever was started before the failure
            raise

    def _start(self, n_workers: int) -> None:
        directory = self.directory
        scheduler_file = directory / "scheduler.json"
        self.scheduler = self._spawn(
            "scheduler",
            "distributed.cli.dask_scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(scheduler_file),
        )
        _wait_until(lambda: self._started(scheduler_file), START_TIMEOUT, "the scheduler file")
        self.address = json.loads(scheduler_file.read_text())["address"]
        for index in range(n_workers):
            self.workers.append(
                self._spawn(
                    f"worker{index}",
                    "distributed.cli.dask_worker",
                    self.address,
                    "--nthreads",
                    "1",
                    "--nworkers",
                    "1",
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                    "--death-timeout",
                    str(START_TIMEOUT),
                    "--memory-limit",
                    WORKER_MEMORY,
                    "--local-directory",
                    str(directory / f"worker{index}"),
                    "--preload",
                    str(SLOW_TASKS),
                )
            )
        from distributed import Client

        self.client = Client(self.address, timeout=START_TIMEOUT, set_as_default=False)
        self.client.wait_for_workers(n_workers, timeout=START_TIMEOUT)
        # a lambda travels by value (this test module is not importable on the workers)
        padded = self.client.run(
            lambda: __import__("vecmatte.batch.dask").batch.dask.process_task.__name__
        )
        assert set(padded.values()) == {"padded"}, f"worker preload not loaded: {padded}"

    def _spawn(self, name: str, module: str, *args: str) -> subprocess.Popen:
        log = open(self.directory / f"{name}.log", "wb")
        environment = {
            **os.environ,
            # fewer retries than Dask's default 3, so that the image that kills its workers
            # is given up quickly ...
            "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": str(ALLOWED_FAILURES),
            # ... and each worker holds only the image it is solving, so that no other image
            # dies with it (the README recommends this setting)
            "DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0",
        }
        process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=self.directory,
        )
        log.close()
        self.processes.append(process)
        return process

    def _started(self, scheduler_file: Path) -> bool:
        if self.scheduler.poll() is not None:
            log = (self.directory / "scheduler.log").read_text()
            raise RuntimeError(f"the Dask scheduler exited:\n{log[-2000:]}")
        try:
            return bool(json.loads(scheduler_file.read_text()).get("address"))
        except (OSError, ValueError):
            return False

    def worker_pids(self) -> dict[str, int]:
        """Address -> process id of each worker process the scheduler knows."""
        return self.client.run(os.getpid)

    def kill_worker(self, address: str) -> None:
        """SIGKILL the process group (nanny and worker) of the worker at ``address``."""
        group = os.getpgid(self.worker_pids()[address])
        os.killpg(group, signal.SIGKILL)

    def scheduler_task_count(self) -> int:
        return self.client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))

    def wait_idle(self, timeout: float) -> None:
        """Return once every worker's single thread is free.

        A cancelled task that was already running finishes on its worker; a no-op task
        pinned to each worker runs only after it, on the worker's only thread.
        """
        _wait_until(lambda: self.scheduler_task_count() == 0, timeout, "the cancellation")
        probes = [
            self.client.submit(os.getpid, workers=[address], pure=False)
            for address in self.client.scheduler_info(n_workers=-1)["workers"]
        ]
        self.client.gather(probes)  # raises on error; bounded by the caller's _within
        del probes

    def close(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.close(timeout=STOP_TIMEOUT)
        for process in reversed(self.processes):
            _stop(process)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, request):
    started = LocalCluster(tmp_path_factory.mktemp("dask"), 2)
    request.addfinalizer(started.close)
    return started


@pytest.fixture
def fresh_cluster(tmp_path, request):
    """A cluster of its own, for the test that kills one of its workers."""
    (tmp_path / "dask").mkdir()
    started = LocalCluster(tmp_path / "dask", 2)
    request.addfinalizer(started.close)
    return started


def _within(timeout: float, function, *args, **kwargs):
    """Call ``function`` in a thread and fail the test if it has not returned in ``timeout``."""
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        return executor.submit(function, *args, **kwargs).result(timeout=timeout)
    except concurrent.futures.TimeoutError:
        pytest.fail(f"{getattr(function, '__name__', function)} did not return in {timeout} s")
    finally:
        executor.shutdown(wait=False)


def _write_inputs(directory: Path, count: int, shape=(60, 80), corrupt: tuple[int, ...] = ()):
    """``count`` synthetic composites and trimaps as PNG files; ``corrupt`` ones are text."""
    names = [f"img{index:02d}" for index in range(count)]
    images, trimaps = scene_folders(directory, names, shape=shape, write=save_image)
    for index in corrupt:
        (images / f"{names[index]}.png").write_text("this is not a PNG file\n")
    return images, trimaps


def _alphas(directory: Path) -> dict[str, np.ndarray]:
    return {path.name: load_trimap(path) for path in sorted(Path(directory).glob("*.png"))}


def _temporaries(*directories: Path) -> list[Path]:
    return [path for d in directories for path in Path(d).rglob("*.tmp")]


def test_cluster_batch_matches_local_batch(cluster, tmp_path):
    images, trimaps = _write_inputs(tmp_path, 6)
    local_tasks = find_tasks(images, trimaps, tmp_path / "local")
    cluster_tasks = find_tasks(images, trimaps, tmp_path / "cluster")
    local = run_batch(local_tasks)
    # what a worker killed between writing and renaming leaves behind: removed by the batch
    (tmp_path / "cluster").mkdir(exist_ok=True)
    stale = tmp_path / "cluster" / ".img01_alpha.png.k1ll3d.tmp"
    stale.write_bytes(b"\x89PNG half")
    calls = []
    remote = _within(
        BATCH_TIMEOUT,
        vdist.run_batch_on_cluster,
        cluster_tasks,
        cluster.client,
        progress=lambda done, total, record: calls.append((done, total, record.name)),
    )
    assert [r.status for r in remote] == ["done"] * 6
    assert [r.name for r in remote] == [r.name for r in local]
    # progress ran once per image with a running count, in completion order
    assert [c[:2] for c in calls] == [(i, 6) for i in range(1, 7)]
    assert sorted(c[2] for c in calls) == sorted(r.name for r in remote)
    for here, there in zip(local, remote, strict=True):
        assert abs(here.iterations - there.iterations) <= 1
    local_alphas, remote_alphas = _alphas(tmp_path / "local"), _alphas(tmp_path / "cluster")
    assert sorted(remote_alphas) == sorted(local_alphas) and len(remote_alphas) == 6
    for name, alpha in local_alphas.items():
        # both are 8-bit PNGs of the same solve; rounding may differ by one level at most
        np.testing.assert_allclose(remote_alphas[name], alpha, rtol=0, atol=1.01 / 255)
    assert not _temporaries(tmp_path)

    # resume, through run_batch and an address: one output removed, only it is made again
    (tmp_path / "cluster" / "img03_alpha.png").unlink()
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "cluster").iterdir()}
    again = _within(BATCH_TIMEOUT, run_batch, cluster_tasks, scheduler=cluster.address, resume=True)
    assert [r.status for r in again] == ["skipped"] * 3 + ["done"] + ["skipped"] * 2
    after = {p: p.stat().st_mtime_ns for p in (tmp_path / "cluster").iterdir()}
    assert after.pop(tmp_path / "cluster" / "img03_alpha.png") and after == before
    with pytest.raises(ValueError, match="jobs"):
        run_batch(cluster_tasks, jobs=2, scheduler=cluster.address)


def test_corrupt_image_fails_once_and_others_succeed(cluster, tmp_path, capsys):
    from vecmatte.batch import BatchTask
    from vecmatte.cli import main

    images, trimaps = _write_inputs(tmp_path, 5, corrupt=(2,))
    tasks = find_tasks(images, trimaps, tmp_path / "out")
    # a file that the workers cannot see fails with the worker's FileNotFoundError message
    # (a folder they cannot see stops the batch, as a folder gone from a local batch: 08c1d6e)
    invisible = BatchTask(
        **{
            **tasks[0].__dict__,
            "name": "invisible",
            "image_path": str(images / "not-mounted.png"),
            "alpha_path": str(tmp_path / "out" / "invisible_alpha.png"),
        }
    )
    records = _within(
        BATCH_TIMEOUT, vdist.run_batch_on_cluster, [*tasks, invisible], cluster.client
    )
    status = {r.name: r.status for r in records}
    assert status.pop(tasks[2].name) == "failed"
    assert status.pop("invisible") == "failed"
    assert set(status.values()) == {"done"}
    failed = {r.name: r.error for r in records if r.status == "failed"}
    assert "img02" in failed[tasks[2].name]
    assert "not-mounted" in failed["invisible"] and "no such file" in failed["invisible"].lower()
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["img00_alpha.png", "img01_alpha.png", "img03_alpha.png", "img04_alpha.png"]
    assert not _temporaries(tmp_path)

    # the command line: same batch, exit code 1, the failure named on stderr
    capsys.readouterr()
    code = _within(
        BATCH_TIMEOUT,
        main,
        [
            "batch",
            str(images),
            str(trimaps),
            "-o",
            str(tmp_path / "cli"),
            "--scheduler",
            cluster.address,
        ],
    )
    assert code == 1
    assert "img02" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "cli").iterdir()) == written


@pytest.mark.slow
def test_batch_survives_a_killed_worker(fresh_cluster, tmp_path):
    # The images after the first two wait on their workers until the test lets them go on
    # (after the kill), so that both workers are busy when the second image is done.
    count = 10
    images, trimaps = _write_inputs(tmp_path, count)
    _hold_all_but(images, trimaps, 2)
    tasks = find_tasks(images, trimaps, tmp_path / "out")
    killed = []

    def kill_a_busy_worker(done, total, record):
        if killed:
            return
        busy = [address for address, keys in fresh_cluster.client.processing().items() if keys]
        if done >= 2 and busy:
            fresh_cluster.kill_worker(busy[0])
            killed.append(busy[0])
            (tmp_path / RELEASE).touch()

    try:
        records = _within(
            BATCH_TIMEOUT,
            vdist.run_batch_on_cluster,
            tasks,
            fresh_cluster.client,
            progress=kill_a_busy_worker,
        )
    finally:
        (tmp_path / RELEASE).touch()
    assert killed, "the batch finished before a worker could be killed; make the tasks slower"
    assert [r.status for r in records] == ["done"] * count, [r.error for r in records]
    assert killed[0] not in fresh_cluster.client.scheduler_info()["workers"]
    # every output correct: the same as solving again locally
    local = run_batch(find_tasks(images, trimaps, tmp_path / "local"))
    assert [r.status for r in local] == ["done"] * count
    remote_alphas, local_alphas = _alphas(tmp_path / "out"), _alphas(tmp_path / "local")
    assert sorted(remote_alphas) == sorted(local_alphas) and len(remote_alphas) == count
    for name, alpha in local_alphas.items():
        np.testing.assert_allclose(remote_alphas[name], alpha, rtol=0, atol=1.01 / 255)
    assert not _temporaries(tmp_path)


def test_interrupt_cancels_the_submitted_tasks(cluster, tmp_path):
    # The images after the first are held (see test_ctrl_c_on_the_command_line), so that
    # the batch cannot be over when the first one's record interrupts it.
    count = 10
    images, trimaps = _write_inputs(tmp_path, count)
    _hold_all_but(images, trimaps, 1)
    tasks = find_tasks(images, trimaps, tmp_path / "out")

    def interrupt(done, total, record):
        raise KeyboardInterrupt

    try:
        with pytest.raises(KeyboardInterrupt):
            _within(
                BATCH_TIMEOUT,
                vdist.run_batch_on_cluster,
                tasks,
                cluster.client,
                progress=interrupt,
            )
    finally:
        (tmp_path / RELEASE).touch()  # the held images running on the workers go on
    # the scheduler forgets every task of the batch (queued ones never run), and the ones
    # that were running finish and write whole files
    _within(BATCH_TIMEOUT, cluster.wait_idle, BATCH_TIMEOUT)
    written = sorted((tmp_path / "out").iterdir())
    assert 1 <= len(written) < count
    for path in written:
        assert load_trimap(path).shape == (60, 80)
    assert not _temporaries(tmp_path)


def _hold_all_but(images: Path, trimaps: Path, kept: int) -> None:
    """Make every image after the first ``kept`` a held one (tests/dask_slow_tasks.py).

    Their names sort after the others', so that the others are submitted (and run) first.
    """
    for path in sorted(images.iterdir())[kept:]:
        path.rename(images / f"z-{HELD}{path.name}")
        (trimaps / path.name).rename(trimaps / f"z-{HELD}{path.name}")


@pytest.mark.slow
def test_ctrl_c_on_the_command_line(cluster, tmp_path):
    # The images after the first wait on their workers to rename their outputs until the
    # test releases them, so the batch is still running when SIGINT comes (sent after the
    # first matte appeared, it once came after the end of the whole fast batch).
    count = 12
    images, trimaps = _write_inputs(tmp_path, count)
    _hold_all_but(images, trimaps, 1)
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "vecmatte.cli",
        "batch",
        str(images),
        str(trimaps),
        "-o",
        str(out),
        "--scheduler",
        cluster.address,
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _wait_until(lambda: any(tmp_path.glob("*.holding")), BATCH_TIMEOUT, "a held image")
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=BATCH_TIMEOUT)
    finally:
        _stop(process)
        (tmp_path / RELEASE).touch()  # the held images running on the workers go on
    assert process.returncode == 130, err
    assert "vecmatte: interrupted" in err
    _within(BATCH_TIMEOUT, cluster.wait_idle, BATCH_TIMEOUT)
    written = sorted(out.iterdir())
    assert 1 <= len(written) < count
    for path in written:
        assert load_trimap(path).shape == (60, 80)
    assert not _temporaries(tmp_path)


def test_image_too_big_for_a_worker_is_refused_with_the_estimate(cluster, tmp_path):
    # 1000 x 1000, all unknown: about 2 GiB by the estimate, twice the workers' memory limit
    images, trimaps = tmp_path / "images", tmp_path / "trimaps"
    images.mkdir()
    trimaps.mkdir()
    save_image(images / "big.png", np.full((1000, 1000, 3), 0.5))
    save_image(trimaps / "big.png", np.full((1000, 1000), 0.5))
    save_image(images / "small.png", make_scene((60, 80), seed=1).image)
    save_image(trimaps / "small.png", make_scene((60, 80), seed=1).trimap)
    tasks = find_tasks(images, trimaps, tmp_path / "out")
    records = _within(BATCH_TIMEOUT, vdist.run_batch_on_cluster, tasks, cluster.client)
    status = {r.name: (r.status, r.error) for r in records}
    assert status["small"] == ("done", None)
    assert status["big"][0] == "failed"
    assert "GiB" in status["big"][1] and "--memory-limit" in status["big"][1]
    assert len(cluster.client.scheduler_info()["workers"]) == 2  # nobody died for it
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["small_alpha.png"]


def test_memory_refusal_only_above_the_limit(tmp_path):
    from vecmatte.memory import estimate_task_memory

    images, trimaps = _write_inputs(tmp_path, 1)
    task = find_tasks(images, trimaps, tmp_path / "out")[0]
    needed = estimate_task_memory(task)
    assert vdist._refuse_if_too_big(task, None) is None
    assert vdist._refuse_if_too_big(task, needed) is None
    message = vdist._refuse_if_too_big(task, needed - 1)
    assert message is not None and "memory limit" in message


@pytest.mark.slow
def test_image_that_keeps_killing_workers_fails_and_is_not_retried_forever(cluster, tmp_path):
    from vecmatte.batch import BatchTask

    images, trimaps = _write_inputs(tmp_path, 3)
    tasks = find_tasks(images, trimaps, tmp_path / "out")
    killer = BatchTask(
        **{
            **tasks[0].__dict__,
            "name": "kills-its-worker",
            "alpha_path": str(tmp_path / "out" / "killer_alpha.png"),
        }
    )
    records = _within(BATCH_TIMEOUT, vdist.run_batch_on_cluster, [killer, *tasks], cluster.client)
    assert [r.status for r in records] == ["failed", "done", "done", "done"], [
        r.error for r in records
    ]
    # the scheduler gave up after ALLOWED_FAILURES + 1 dead workers, and says so
    assert f"{ALLOWED_FAILURES + 1} Dask workers died" in records[0].error
    assert not (tmp_path / "out" / "killer_alpha.png").exists()
    # the nannies restart their workers: the cluster is whole again for the next test
    cluster.client.wait_for_workers(2, timeout=START_TIMEOUT)


def test_missing_dask_says_how_to_install(monkeypatch, tmp_path, capsys):
    from vecmatte.cli import main

    images, trimaps = _write_inputs(tmp_path, 1)
    tasks = find_tasks(images, trimaps, tmp_path / "out")
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r'pip install "vecmatte\[distributed\]"'):
        vdist.run_batch_on_cluster(tasks, "tcp://127.0.0.1:8786")
    # the command line says the same in one line, and writes nothing
    code = main(
        [
            "batch",
            str(images),
            str(trimaps),
            "-o",
            str(tmp_path / "out"),
            "--scheduler",
            "tcp://127.0.0.1:8786",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("vecmatte: error: ") and 'pip install "vecmatte[distributed]"' in err
    assert not any((tmp_path / "out").iterdir())


def test_unreachable_scheduler_is_an_os_error(monkeypatch, tmp_path):
    images, trimaps = _write_inputs(tmp_path, 1)
    tasks = find_tasks(images, trimaps, tmp_path / "out")
    monkeypatch.setattr(vdist, "CONNECT_TIMEOUT", 1)
    with pytest.raises(OSError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9"):
        _within(BATCH_TIMEOUT, vdist.run_batch_on_cluster, tasks, "tcp://127.0.0.1:9")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_public_name_comes_from_batch_dask_and_the_old_path_still_works():
    import vecmatte.batch.dask
    import vecmatte.distributed

    assert vecmatte.run_batch_on_cluster is vecmatte.batch.dask.run_batch_on_cluster
    assert vecmatte.distributed.run_batch_on_cluster is vecmatte.batch.dask.run_batch_on_cluster


def test_names_that_are_not_utf8_run_on_the_cluster_as_locally(cluster, tmp_path):
    # A file name with a byte that is not UTF-8 (Python reads it as a surrogate) went into
    # the task's Dask key: the scheduler could not encode it, its connection broke with
    # tracebacks and every image came back "cancelled on the Dask cluster".
    names = [os.fsdecode(b"bad\xff"), "a b", "\u00e9\u2603", "-dash"]
    images, trimaps = scene_folders(tmp_path, names, write=save_image)
    local = run_batch(find_tasks(images, trimaps, tmp_path / "local"))
    remote = _within(
        BATCH_TIMEOUT,
        vdist.run_batch_on_cluster,
        find_tasks(images, trimaps, tmp_path / "cluster"),
        cluster.client,
    )
    assert [(r.name, r.status) for r in remote] == [(r.name, "done") for r in local]
    from vecmatte.batch._record import read_record

    for name in names:
        here, there = (
            tmp_path / "local" / f"{name}_alpha.png",
            tmp_path / "cluster" / f"{name}_alpha.png",
        )
        assert read_record(there) == read_record(here)
        np.testing.assert_allclose(load_trimap(there), load_trimap(here), rtol=0, atol=1.01 / 255)


def test_a_full_device_stops_the_batch_on_the_cluster(cluster, tmp_path):
    # An output that cannot be written for want of room fails every later image the same
    # way; each was solved in full on a worker first. Now the tasks not finished are
    # cancelled and recorded as not run (those running finish on their workers).
    from vecmatte.batch import BatchTask

    images, trimaps = _write_inputs(tmp_path, 8)
    tasks = find_tasks(images, trimaps, tmp_path / "out")
    full = BatchTask("full", tasks[0].image_path, tasks[0].trimap_path, "/dev/full", None)
    records = _within(BATCH_TIMEOUT, vdist.run_batch_on_cluster, [full, *tasks], cluster.client)
    assert records[0].stops, records[0]
    # the worker named (test_review_b_s10): which machine's disk is full
    assert records[0].error.startswith("/dev/full: no space left on device (on the Dask worker at")
    not_run = [r for r in records[1:] if r.status == "failed"]
    assert not_run  # old code: all 8 done (each task takes 0.25 s, on 2 workers)
    assert all(r.error.startswith("not run: the batch stopped when full failed") for r in not_run)
    assert all(r.status in ("done", "failed") for r in records[1:])
    _within(BATCH_TIMEOUT, cluster.wait_idle, BATCH_TIMEOUT)
    assert not _temporaries(tmp_path)
