"""Session 11, diff reader 2: defects found reading this session's change."""

from __future__ import annotations

import io
from types import SimpleNamespace

from vecmatte.cli.batch import BatchProgress


def test_batch_progress_bar_counts_the_runners_total():
    # The runner's total (progress(done, total, record)) is what the bar shows, as before
    # the bar's drawing moved into one method (which used the constructor's total instead).
    stream = io.StringIO()
    progress = BatchProgress(5, stream=stream)
    progress(1, 2, SimpleNamespace(name="a", status="ok", error=None))
    assert " 1/2 images " in stream.getvalue()


def test_speed_sweep_report_lists_a_size_whose_child_failed(tmp_path, monkeypatch):
    # The report's Errors listed the failures of whole sizes (a child process that crashed,
    # step "*") until this session's --merge dedup kept only the per-step records.
    import json
    import sys
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent / "bench"))
    sys.modules.pop("speed_sweep", None)
    import speed_sweep

    records = [
        {"event": "threads", "blas": {}, "numba": 1, "affinity": 1},
        {"event": "error", "size": "512", "step": "*", "fraction": None, "message": "['Killed']"},
    ]
    saved, out = tmp_path / "run.json", tmp_path / "sweep.md"
    saved.write_text(json.dumps(records))
    assert speed_sweep.main(["--merge", str(saved), "--out", str(out)]) in (0, None)
    assert "- 512 * None: ['Killed']" in out.read_text()


def test_batch_images_differing_in_case_and_accent_spelling_are_one_file_on_macos_only(
    tmp_path,
):
    # "É" composed and "e" + a combining accent differ in case and in spelling: Windows,
    # which ignores case only, keeps them apart; the refusal named it too.
    import numpy as np
    import pytest
    from PIL import Image

    from vecmatte.batch import find_tasks

    images, trimaps = tmp_path / "images", tmp_path / "trimaps"
    images.mkdir()
    trimaps.mkdir()
    for stem in ("\u00c9", "e\u0301"):
        Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(images / f"{stem}.png")
        Image.fromarray(np.full((4, 4), 128, np.uint8)).save(trimaps / f"{stem}.png")
    with pytest.raises(ValueError, match="differ only in case and in the Unicode") as error:
        find_tasks(images, trimaps, tmp_path / "out")
    assert "one file on macOS;" in str(error.value)
    assert "Windows" not in str(error.value)
