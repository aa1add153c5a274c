"""The CLI and the batch say names and sizes with one helper each."""

from __future__ import annotations

import io

import pytest

from vecmatte.cli import main
from vecmatte.cli._messages import escaped, printable


@pytest.mark.parametrize("name", ["bad\udcff.png", "caf\u00e9.png", "plain.png", "\u4e2d.png"])
def test_a_name_is_escaped_alike_for_a_strict_stream_and_a_dask_key(name):
    strict = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
    assert printable(name, strict) == escaped(name)
    escaped(name).encode("utf-8")  # a Dask key (msgpack text) holds it
    assert escaped("bad\udcff.png") == "bad\\udcff.png"


def test_small_memory_estimates_are_said_in_mib(tmp_path, scene_files, capsys):
    # Before: "the solve needs about 0.04 GiB of memory", "the foreground ... 0.04 GiB".
    image, trimap = scene_files
    argv = ["alpha", str(image), str(trimap), "-o", str(tmp_path / "a.png")]
    assert main([*argv, "--cutout", str(tmp_path / "c.png")]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if "of memory" in line]
    assert len(lines) == 2 and all(" MiB of memory (estimate)" in line for line in lines), lines
    assert "GiB" not in "".join(lines)


def test_a_worker_memory_refusal_says_small_sizes_in_mib(tmp_path, monkeypatch, scene_files):
    from vecmatte.batch import BatchTask, dask

    image, trimap = scene_files
    task = BatchTask("a", str(image), str(trimap), str(tmp_path / "a_alpha.png"), None)
    monkeypatch.setattr("vecmatte.memory.estimate_task_memory", lambda task: 300 * 2**20)
    refusal = dask._refuse_if_too_big(task, 100 * 2**20)
    assert refusal.startswith("needs about 300.0 MiB to solve but the Dask worker's memory limit")
    assert "limit is 100.0 MiB;" in refusal  # old code: "0.3 GiB ... 0.1 GiB"
