"""bench/speed_sweep.py --merge: a later run's record of a regime replaces an earlier one.

Merging session 10's whole sweep with this session's re-runs listed both the old and the new
ratio of a regime among "the slowest", and counted both among the slower regimes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _records(vecmatte_seconds: float) -> list[dict]:
    return [
        {"event": "threads", "blas": {}, "numba": 1, "affinity": 1},
        {"event": "shape", "size": "32", "shape": [32, 32]},
        {
            "event": "sample",
            "size": "32",
            "step": "alpha sm",
            "fraction": 0.02,
            "vecmatte": [vecmatte_seconds] * 3,
            "pymatting": [0.001] * 3,
        },
    ]


def test_a_later_record_replaces_an_earlier_one(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    sys.modules.pop("speed_sweep", None)
    import speed_sweep

    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(_records(0.017)))
    new.write_text(json.dumps(_records(0.009)))
    out = tmp_path / "sweep.md"
    assert speed_sweep.main(["--merge", str(old), str(new), "--out", str(out)]) in (0, None)
    text = out.read_text()
    assert "| alpha sm | 2% | **9.00** |" in text
    assert "17.00" not in text
    assert "slowest of 1 slower regimes" in text
