"""Review B of session 10: behaviour of the user-facing layers that got worse for users."""

from __future__ import annotations

import pytest
from test_web import png_bytes
from test_web_s10_requests import _post

import vecmatte
from vecmatte.web import create_app


@pytest.fixture(scope="module")
def fields():
    scene = vecmatte.make_scene((30, 40), seed=7)
    return {"image": png_bytes(scene.image), "trimap": png_bytes(scene.trimap)}


# A reverse proxy that rewrites Host (nginx's and Apache's default: proxy_pass
# http://127.0.0.1:8000 sends "Host: 127.0.0.1:8000"), or keeps it without its own port
# (nginx "Host $host" on 8443): the page is on a name the user gave with --allow-host, which
# the old code answered; since 7acf1b8 every post of the real page was refused 403.
@pytest.mark.parametrize(
    ("host", "origin"),
    [
        ("127.0.0.1:8000", "https://matting.example.com"),
        ("localhost:8000", "http://matting.example.com:8080"),
        ("matting.example.com", "https://matting.example.com:8443"),
        ("192.168.1.5:8000", "https://matting.example.com"),
    ],
)
def test_the_page_of_an_allowed_name_behind_a_host_rewriting_proxy_may_post(fields, host, origin):
    app = create_app(workers=1, allowed_hosts=["matting.example.com", "192.168.1.5"])
    status, content, log = _post(app, fields, HTTP_HOST=host, HTTP_ORIGIN=origin)
    assert status.startswith("200"), content
    assert log == ""


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        ("127.0.0.1:8000", "http://127.0.0.1:3000"),  # the attack 7acf1b8 closed
        ("127.0.0.1:8000", "http://localhost:8888"),
        ("127.0.0.1:8000", "https://evil.example"),
        ("127.0.0.1:8000", "null"),
    ],
)
def test_pages_of_local_or_unknown_hosts_stay_refused(fields, host, origin):
    app = create_app(workers=1, allowed_hosts=["matting.example.com"])
    status, content, _ = _post(app, fields, HTTP_HOST=host, HTTP_ORIGIN=origin)
    assert status.startswith("403"), content


# --- batch: names differing only in case refuse a batch only if both images are solved ------
def test_an_image_without_trimap_differing_only_in_case_does_not_refuse_the_batch(tmp_path):
    # a.png has no trimap: its task fails without writing, so nothing clashes with A's
    # matte; since 08c1d6e the whole batch was refused ("rename one of them").
    from conftest import scene_folders

    from vecmatte.batch import find_tasks, run_batch
    from vecmatte.io import save_image

    images, trimaps = scene_folders(tmp_path, ["A", "a"], write=save_image)
    (trimaps / "a.png").unlink()
    records = run_batch(find_tasks(images, trimaps, tmp_path / "out"))
    assert [(r.name, r.status) for r in records] == [("A", "done"), ("a", "failed")]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["A_alpha.png"]


# --- batch: a folder that cannot be looked at for a moment neither crashes nor stops it -----
def test_a_read_error_on_an_input_folder_fails_one_image_only(tmp_path, monkeypatch):
    # An NFS hiccup: one image's read fails (EIO), and so does the look at its folder made to
    # tell whether the folder is gone (08c1d6e): Path.is_dir raised that EIO out of
    # process_task, ending the whole batch with a traceback.
    import errno
    import os

    from conftest import scene_folders

    import vecmatte.io
    from vecmatte.batch import find_tasks, run_batch
    from vecmatte.io import save_image

    images, trimaps = scene_folders(tmp_path, ["s0", "s1", "s2"], write=save_image)
    tasks = find_tasks(images, trimaps, tmp_path / "out")
    load, stat, hiccup = vecmatte.io.load_image, os.stat, []

    def loading(path, *args, **kwargs):
        if str(path).endswith("s1.png"):
            hiccup.append(1)
            raise OSError(errno.EIO, "Input/output error", str(path))
        return load(path, *args, **kwargs)

    def looking(path, *args, **kwargs):
        if hiccup and os.fspath(path) == str(images):
            hiccup.clear()  # the next look finds the folder again
            raise OSError(errno.EIO, "Input/output error", os.fspath(path))
        return stat(path, *args, **kwargs)

    monkeypatch.setattr(vecmatte.io, "load_image", loading)
    monkeypatch.setattr(os, "stat", looking)
    records = run_batch(tasks)
    assert [r.status for r in records] == ["done", "failed", "done"]
    assert not records[1].stops and "input/output error" in records[1].error


# --- Dask: a folder a worker cannot see is said to be on that worker ------------------------
def test_a_folder_a_dask_worker_cannot_see_names_the_worker(tmp_path):
    # A worker without the shared mount stops the batch (a0b4c7d); the line said only
    # "<folder>: the images folder is not there: deleted, moved or unmounted?", of a folder
    # the user sees on the submitting machine.
    import shutil

    pytest.importorskip("distributed")
    from conftest import scene_folders
    from distributed import Client, LocalCluster

    from vecmatte.batch import find_tasks
    from vecmatte.batch.dask import run_batch_on_cluster
    from vecmatte.io import save_image

    images, trimaps = scene_folders(tmp_path, ["s0"], write=save_image)
    tasks = find_tasks(images, trimaps, tmp_path / "out")
    shutil.rmtree(images)  # as the worker sees it
    kwargs = dict(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None)
    with LocalCluster(**kwargs) as cluster, Client(cluster, set_as_default=False) as client:
        (record,) = run_batch_on_cluster(tasks, client)
        (worker,) = client.scheduler_info()["workers"]
    assert record.stops
    assert record.error == (
        f"{images}: the images folder is not there: deleted, moved or unmounted? "
        f"(on the Dask worker at {worker})"
    )
