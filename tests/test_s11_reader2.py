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
