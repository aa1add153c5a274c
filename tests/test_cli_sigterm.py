"""``kill``/``timeout``/a stopped service (SIGTERM) unwinds as Ctrl-C does, exit 143."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import files_in

# Run the console entry point with os.replace sending SIGTERM to its own process first:
# the signal lands while the outputs are complete temporaries, before their renames.
_CHILD = """
import os, signal, sys
real = os.replace
def replace(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGTERM)
    return real(*args, **kwargs)
os.replace = replace
sys.argv = ["vecmatte", *sys.argv[1:]]
from vecmatte.cli import console_entry
console_entry()
"""


@pytest.mark.skipif(os.name != "posix", reason="SIGTERM as POSIX sends it")
def test_sigterm_while_writing_leaves_no_temporary_and_exits_143(tmp_path, scene_files):
    # Before: the process died at once (exit -15), leaving .a.png.*.tmp and .c.png.*.tmp
    # beside the outputs for good (fails on the old code).
    image, trimap = scene_files
    out = tmp_path / "out"
    out.mkdir()
    argv = ["alpha", str(image), str(trimap), "-o", str(out / "a.png"), "-q"]
    argv += ["--cutout", str(out / "c.png")]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, *argv], capture_output=True, text=True, env=env
    )
    assert done.returncode == 143, done.stderr
    assert done.stderr == "vecmatte: terminated\n"
    assert files_in(out) == set()  # neither output, nor a temporary


@pytest.mark.skipif(os.name != "posix", reason="SIGTERM as POSIX sends it")
def test_sigterm_ends_a_batch_with_the_resume_hint(tmp_path, scene_files):
    image, trimap = scene_files
    for folder, source in (("i", image), ("t", trimap)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "a.png").write_bytes(source.read_bytes())
    argv = ["batch", str(tmp_path / "i"), str(tmp_path / "t"), "-o", str(tmp_path / "o"), "-q"]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, *argv], capture_output=True, text=True, env=env
    )
    assert done.returncode == 143, done.stderr
    assert done.stderr.startswith("vecmatte: terminated; run the same command with --resume")
    assert not (tmp_path / "o").exists()  # the folder it made, left empty, is removed
