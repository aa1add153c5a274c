"""``kill``/``timeout``/a stopped service (SIGTERM) unwinds as Ctrl-C does, exit 143."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import files_in

# Run the console entry point with SIGTERM sent to its own process from inside vecmatte's
# writing: at the rename lock (the outputs are complete temporaries, before their renames),
# or at the second rename (the matte renamed, the cutout not yet).
_CHILD = """
import os, signal, sys
import vecmatte._writing as writing
at = sys.argv.pop(1)
if at == "lock":
    real_lock = writing.renames_locked
    def renames_locked(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        return real_lock(*args, **kwargs)
    writing.renames_locked = renames_locked
else:
    real, calls = os.replace, []
    def replace(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return real(*args, **kwargs)
    os.replace = replace
sys.argv = ["vecmatte", *sys.argv[1:]]
from vecmatte.cli import console_entry
console_entry()
"""


pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGTERM as POSIX sends it")


def _run(at: str, argv: list[str]) -> subprocess.CompletedProcess:
    """The console script on ``argv``, SIGTERM sent to itself ``at`` "lock" or "rename"."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-c", _CHILD, at, *argv]
    return subprocess.run(command, capture_output=True, text=True, env=env)


@pytest.mark.parametrize(
    ("at", "left"),
    [
        # Before the renames. Before 8a32fcb the process died at once (exit -15), leaving
        # .a.png.*.tmp and .c.png.*.tmp beside the outputs for good.
        ("lock", set()),
        # Between them: held back until both are in place, as Ctrl-C is (test_cli's
        # test_ctrl_c_between_the_renames...); before, the matte was left without its cutout.
        ("rename", {"a.png", "c.png"}),
    ],
)
def test_sigterm_while_writing_leaves_both_outputs_or_none_and_exits_143(
    tmp_path, scene_files, at, left
):
    image, trimap = scene_files
    out = tmp_path / "out"
    out.mkdir()
    argv = ["alpha", str(image), str(trimap), "-o", str(out / "a.png"), "-q"]
    done = _run(at, [*argv, "--cutout", str(out / "c.png")])
    assert done.returncode == 143, done.stderr
    assert done.stderr == "vecmatte: terminated\n"
    assert files_in(out) == left  # and never a temporary


def test_sigterm_ends_a_batch_with_the_resume_hint(tmp_path, scene_files):
    image, trimap = scene_files
    for folder, source in (("i", image), ("t", trimap)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "a.png").write_bytes(source.read_bytes())
    argv = ["batch", str(tmp_path / "i"), str(tmp_path / "t"), "-o", str(tmp_path / "o"), "-q"]
    done = _run("lock", argv)
    assert done.returncode == 143, done.stderr
    assert done.stderr.startswith("vecmatte: terminated; run the same command with --resume")
    assert not (tmp_path / "o").exists()  # the folder it made, left empty, is removed
