"""Batches on a Dask cluster whose workers differ from the client: another folder, no vecmatte.

The clusters are tests/test_distributed.py's (a scheduler and worker processes on 127.0.0.1,
started in a folder of their own, killed by the fixture's finalizer).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from dask_slow_tasks import RELEASE
from test_distributed import (
    BATCH_TIMEOUT,
    START_TIMEOUT,
    LocalCluster,
    _hold_all_but,
    _stop,
    _wait_until,
    _within,
    _write_inputs,
)

from vecmatte.batch import dask as vdist
from vecmatte.batch import find_tasks, run_batch

# A worker preload that makes vecmatte unimportable, as on a worker where it is not installed.
WITHOUT_VECMATTE = """
import sys

class _NoVecmatte:
    def find_spec(self, name, path=None, target=None):
        if name == "vecmatte" or name.startswith("vecmatte."):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None

for _name in [n for n in sys.modules if n == "vecmatte" or n.startswith("vecmatte.")]:
    del sys.modules[_name]
sys.meta_path.insert(0, _NoVecmatte())
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, request):
    started = LocalCluster(tmp_path_factory.mktemp("dask"), 2)
    request.addfinalizer(started.close)
    return started


class ClusterWithoutVecmatte(LocalCluster):
    """A scheduler and one worker, on one of which (``blocked``) ``import vecmatte`` fails."""

    blocked = "worker"

    def _start(self, n_workers: int) -> None:
        scheduler_file = self.directory / "scheduler.json"
        preload = self.directory / "no_vecmatte.py"
        preload.write_text(WITHOUT_VECMATTE)
        blocks = {self.blocked: ("--preload", str(preload))}
        self.scheduler = self._spawn(
            "scheduler",
            "distributed.cli.dask_scheduler",
            *("--host", "127.0.0.1", "--port", "0", "--no-dashboard"),
            *("--scheduler-file", str(scheduler_file), *blocks.get("scheduler", ())),
        )
        _wait_until(lambda: self._started(scheduler_file), START_TIMEOUT, "the scheduler file")
        self.address = json.loads(scheduler_file.read_text())["address"]
        self.workers.append(
            self._spawn(
                "worker",
                "distributed.cli.dask_worker",
                self.address,
                *("--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"),
                *("--death-timeout", str(START_TIMEOUT), *blocks.get("worker", ())),
            )
        )
        from distributed import Client

        self.client = Client(self.address, timeout=START_TIMEOUT, set_as_default=False)
        self.client.wait_for_workers(n_workers, timeout=START_TIMEOUT)


class SchedulerWithoutVecmatte(ClusterWithoutVecmatte):
    blocked = "scheduler"


def test_relative_paths_are_made_absolute_for_the_workers(cluster, tmp_path, monkeypatch):
    # The workers run in the cluster's folder, not the client's: `vecmatte batch images
    # trimaps -o out --scheduler ...` sent "images/img00.png" and every image failed with
    # "out: the output folder is not there".
    _write_inputs(tmp_path, 3)
    monkeypatch.chdir(tmp_path)
    assert Path.cwd() != cluster.directory
    tasks = find_tasks("images", "trimaps", "out")
    assert not Path(tasks[0].image_path).is_absolute()
    records = _within(BATCH_TIMEOUT, vdist.run_batch_on_cluster, tasks, cluster.client)
    assert [r.status for r in records] == ["done"] * 3, [r.error for r in records]
    local = run_batch(find_tasks("images", "trimaps", "local"))
    assert [r.status for r in local] == ["done"] * 3
    # the same solve on the workers and here: the same bytes (also with BLAS threads here)
    for task in tasks:
        name = Path(task.alpha_path).name
        assert (tmp_path / "out" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()


def test_workers_without_vecmatte_are_refused_at_once(tmp_path, request):
    # The task message names vecmatte's function: a worker that cannot import it broke its
    # connection to the scheduler and shut down, and with no worker left the batch waited
    # forever (old code: no return within BATCH_TIMEOUT).
    (tmp_path / "dask").mkdir()
    started = ClusterWithoutVecmatte(tmp_path / "dask", 1)
    request.addfinalizer(started.close)
    images, trimaps = _write_inputs(tmp_path, 2)
    tasks = find_tasks(images, trimaps, tmp_path / "out")
    with pytest.raises(ImportError) as refused:
        _within(BATCH_TIMEOUT, vdist.run_batch_on_cluster, tasks, started.address)
    message = str(refused.value)
    assert message.startswith("1 of 1 Dask workers cannot run vecmatte")
    assert (
        "No module named 'vecmatte'" in message and 'pip install "vecmatte[distributed]"' in message
    )
    assert "\n" not in message
    assert not any((tmp_path / "out").iterdir())
    # the worker is still there (no task reached it)
    assert len(started.client.scheduler_info()["workers"]) == 1


def test_ctrl_c_while_connecting_ends_at_once_without_a_traceback(tmp_path):
    # Interrupted inside distributed.Client's connection attempts, the half-made client was
    # closed at exit: 60 s more, then "Exception ignored in: <function Client.__del__ ...>"
    # and a TimeoutError traceback. Nothing listens at the address (a port just closed).
    images, trimaps = _write_inputs(tmp_path, 1)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        *(sys.executable, "-m", "vecmatte.cli", "batch", str(images), str(trimaps)),
        *("-o", str(tmp_path / "out"), "--scheduler", f"tcp://127.0.0.1:{port}"),
    ]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        line = process.stderr.readline()
        assert "connecting to the Dask scheduler" in line, line
        time.sleep(1)  # into the connection attempts (the batch's folders are read by now)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=BATCH_TIMEOUT)
    finally:
        _stop(process)
    assert process.returncode == 130, err
    assert "vecmatte: interrupted" in err
    assert "Traceback" not in err and "Exception ignored" not in err, err


def test_a_scheduler_without_vecmatte_is_refused_at_once(tmp_path, request):
    # The scheduler unpickles the tasks: every image failed with Dask's "Error during
    # deserialization of the task graph ... different environments" (old code: 2 failed).
    (tmp_path / "dask").mkdir()
    started = SchedulerWithoutVecmatte(tmp_path / "dask", 1)
    request.addfinalizer(started.close)
    images, trimaps = _write_inputs(tmp_path, 2)
    tasks = find_tasks(images, trimaps, tmp_path / "out")
    with pytest.raises(ImportError) as refused:
        _within(BATCH_TIMEOUT, vdist.run_batch_on_cluster, tasks, started.client)
    message = str(refused.value)
    assert message.startswith("the Dask scheduler cannot run vecmatte")
    assert "No module named 'vecmatte'" in message
    assert "scheduler's environment" in message and "\n" not in message
    assert not any((tmp_path / "out").iterdir())


@pytest.mark.slow
def test_a_scheduler_lost_mid_batch_fails_the_images_left_without_a_traceback(tmp_path, request):
    # The batch's records said "cancelled on the Dask cluster (scheduler lost?)"; closing the
    # client, still trying to reconnect, then printed Dask's 35-line ERROR traceback.
    (tmp_path / "dask").mkdir()
    started = LocalCluster(tmp_path / "dask", 2)
    request.addfinalizer(started.close)
    images, trimaps = _write_inputs(tmp_path, 6)
    _hold_all_but(images, trimaps, 1)
    command = [
        *(sys.executable, "-m", "vecmatte.cli", "batch", str(images), str(trimaps)),
        *("-o", str(tmp_path / "out"), "--scheduler", started.address),
    ]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _wait_until(lambda: any(tmp_path.glob("*.holding")), BATCH_TIMEOUT, "a held image")
        os.killpg(started.scheduler.pid, signal.SIGKILL)
        _, err = process.communicate(timeout=BATCH_TIMEOUT)
    finally:
        _stop(process)
        (tmp_path / RELEASE).touch()  # the held images on the workers go on
    assert process.returncode == 1, err
    assert "cancelled on the Dask cluster (scheduler lost?)" in err
    assert "Traceback" not in err and "ERROR" not in err, err


class _Answers:
    """A stand-in client whose scheduler and workers answer the version check as given."""

    def __init__(self, scheduler, workers):
        self.scheduler, self.workers = scheduler, workers

    def run_on_scheduler(self, function):
        if isinstance(self.scheduler, Exception):
            raise self.scheduler
        return self.scheduler

    def run(self, function, on_error):
        assert on_error == "return"
        return self.workers


def test_a_worker_out_of_reach_during_the_check_is_no_refusal():
    # A worker that cannot be reached (gone, timed out) says nothing about vecmatte there:
    # the scheduler deals with lost workers. The check refused the whole batch for it.
    from vecmatte import __version__

    lost = {"tcp://a:1": __version__, "tcp://b:1": OSError("Timed out trying to connect")}
    vdist._check_workers(_Answers(__version__, lost))
    missing = {"tcp://a:1": __version__, "tcp://b:1": ModuleNotFoundError("No module 'x'")}
    with pytest.raises(ImportError, match=r"^1 of 2 Dask workers .* tcp://b:1: ModuleNotFound"):
        vdist._check_workers(_Answers(__version__, missing))
    other = {"tcp://a:1": "0.0.1"}
    with pytest.raises(ImportError, match=r"tcp://a:1: vecmatte 0\.0\.1\)"):
        vdist._check_workers(_Answers(__version__, other))
    with pytest.raises(ImportError, match=r"^the Dask scheduler cannot run .*ModuleNotFound"):
        vdist._check_workers(_Answers(ModuleNotFoundError("No module 'x'"), {}))
    vdist._check_workers(_Answers(OSError("the scheduler went away"), {}))


class _UnreachableResult:
    """A future whose task ended, but whose result cannot be fetched: the scheduler is gone."""

    def __init__(self, status):
        self.status = status

    def result(self):
        from distributed.comm.core import CommClosedError

        raise CommClosedError("in <TCP (closed) ConnectionPool.gather>: Stream is closed")

    exception = result


@pytest.mark.parametrize("status", ["finished", "error"])
def test_a_record_lost_with_the_scheduler_fails_its_image_only(tmp_path, status):
    # The scheduler killed after a task ended but before its record was fetched: the
    # CommClosedError went through run_batch, and the whole batch ended in a traceback.
    import distributed

    images, trimaps = _write_inputs(tmp_path, 1)
    task = find_tasks(images, trimaps, tmp_path / "out")[0]
    record = vdist._record_of(_UnreachableResult(status), task, distributed)
    assert record.status == "failed" and record.name == task.name
    assert record.error.startswith("ended on the Dask cluster, but its record was lost")
    assert "--resume" in record.error
