"""Batches on Dask (session 11): a cluster object as the target, workers with several threads,
and relative paths made absolute under the name the shell gives the current folder.

The cluster here is Dask's own LocalCluster with ``processes=False``: scheduler and worker
run in this process, so no process is left behind and the worker's calls can be observed.
"""

from __future__ import annotations

import os
import types
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from test_distributed import BATCH_TIMEOUT, _within, _write_inputs

from vecmatte.batch import dask as vdist
from vecmatte.batch import find_tasks


@pytest.fixture(scope="module")
def local_cluster():
    from distributed import LocalCluster

    cluster = LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        dashboard_address=None,
        memory_limit=None,
    )
    yield cluster
    cluster.close()


def test_a_cluster_object_runs_the_batch_and_is_left_running(local_cluster, tmp_path):
    # Old code: TypeError "client_or_address must be a dask.distributed.Client or a scheduler
    # address", though Client itself takes a cluster object.
    from distributed import Client

    images, trimaps = _write_inputs(tmp_path, 2)
    tasks = find_tasks(images, trimaps, tmp_path / "out")
    records = _within(BATCH_TIMEOUT, vdist.run_batch_on_cluster, tasks, local_cluster)
    assert [r.status for r in records] == ["done", "done"], [r.error for r in records]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "img00_alpha.png",
        "img01_alpha.png",
    ]
    # the batch closed its own client only: the user's cluster still takes clients
    assert local_cluster.status.name == "running"
    with Client(local_cluster, set_as_default=False) as client:
        assert client.submit(sum, [1, 2]).result(timeout=BATCH_TIMEOUT) == 3


def test_anything_else_is_refused_naming_what_to_pass(tmp_path):
    images, trimaps = _write_inputs(tmp_path, 1)
    tasks = find_tasks(images, trimaps, tmp_path / "out")
    with pytest.raises(TypeError, match=r"a Dask cluster object such as LocalCluster.* got int"):
        vdist.run_batch_on_cluster(tasks, 8786)


def _fake_worker(monkeypatch, limit: int, threads: int) -> None:
    worker = types.SimpleNamespace(
        memory_manager=types.SimpleNamespace(memory_limit=limit),
        state=types.SimpleNamespace(nthreads=threads),
        address="tcp://127.0.0.1:1",
    )
    monkeypatch.setattr("distributed.get_worker", lambda: worker)


@pytest.mark.parametrize("threads", [1, 4])
def test_each_thread_of_a_worker_gets_its_share_of_the_memory_limit(monkeypatch, tmp_path, threads):
    # A worker with --nthreads 4 solves four images at once: old code let through any image
    # under the whole limit (four of them at 0.9 of it got the worker killed, again and again).
    images, trimaps = _write_inputs(tmp_path, 1)
    task = find_tasks(images, trimaps, tmp_path / "out")[0]
    limit = 4 * 2**30
    _fake_worker(monkeypatch, limit, threads)
    monkeypatch.setattr("vecmatte.memory.estimate_task_memory", lambda task: 2 * 2**30)
    record = vdist._process_on_worker(task)
    if threads == 1:
        assert record.status == "done", record.error
        return
    assert record.status == "failed", "solved over its thread's share of the limit"
    assert record.error == (
        "needs about 2.0 GiB to solve but the Dask worker's memory limit is 4.0 GiB for 4 "
        "threads, each solving an image (1.0 GiB each); start workers with --nthreads 1 or "
        "a larger --memory-limit, or downscale the image"
    )
    assert not (tmp_path / "out" / "img00_alpha.png").exists()
    assert vdist._worker_memory_limit() == (limit, threads)


def test_a_share_is_refused_only_above_it(tmp_path, monkeypatch):
    images, trimaps = _write_inputs(tmp_path, 1)
    task = find_tasks(images, trimaps, tmp_path / "out")[0]
    monkeypatch.setattr("vecmatte.memory.estimate_task_memory", lambda task: 1000)
    assert vdist._refuse_if_too_big(task, 3000, 3) is None
    assert vdist._refuse_if_too_big(task, 2999, 3) is not None
    assert vdist._refuse_if_too_big(task, 1000) is None  # one thread: the whole limit


@pytest.fixture
def linked_folder(tmp_path, monkeypatch):
    """The current folder entered through a symbolic link, as a shell does (``$PWD``)."""
    real = tmp_path / "export" / "disk3" / "project"
    real.mkdir(parents=True)
    link = tmp_path / "shared-project"
    link.symlink_to(real, target_is_directory=True)
    monkeypatch.chdir(link)
    monkeypatch.setenv("PWD", str(link))
    assert os.getcwd() == str(real)  # resolved: the name a worker may not have
    return real, link


def test_relative_paths_travel_under_the_shells_name_of_the_folder(
    local_cluster, linked_folder, monkeypatch
):
    # Old code: the workers got /.../export/disk3/project/images/img00.png, a name that
    # exists only on the machine that resolved the link.
    from distributed import Client

    real, link = linked_folder
    _write_inputs(real, 2)
    seen = []
    process_task = vdist.process_task

    def watched(task):
        seen.append(task.image_path)
        return process_task(task)

    # the worker runs in this process (processes=False): its calls can be watched
    monkeypatch.setattr(vdist, "process_task", watched)
    tasks = find_tasks("images", "trimaps", "out")
    with Client(local_cluster, set_as_default=False) as client:
        records = _within(BATCH_TIMEOUT, vdist.run_batch_on_cluster, tasks, client)
    assert [r.status for r in records] == ["done", "done"], [r.error for r in records]
    assert sorted(seen) == [str(link / "images" / f"img0{i}.png") for i in range(2)]


def test_the_shells_name_is_used_only_for_the_same_folder(linked_folder, monkeypatch, tmp_path):
    real, link = linked_folder
    assert vdist._current_folder() == str(link)
    for stale in (str(tmp_path), "shared-project", str(tmp_path / "gone"), ""):
        monkeypatch.setenv("PWD", stale)
        assert vdist._current_folder() == str(real), stale
    monkeypatch.delenv("PWD")
    assert vdist._current_folder() == str(real)
    task = find_tasks(*_write_inputs(real, 1), "out")[0]
    made = vdist._absolute(task, str(link))
    assert made.alpha_path == str(link / "out" / "img00_alpha.png")
    assert made.image_path == task.image_path  # already absolute
    assert Path(made.alpha_path).parent.resolve() == real / "out"
