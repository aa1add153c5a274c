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
