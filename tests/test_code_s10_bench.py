"""The method tables' headings: a run of some methods says which, apart from the full table.

bench/RESULTS.md merges every results/*.md; two method tables (the full one of session 6 and
session 8's re-measurement of lbdm and lkm) had the same heading.
"""

from __future__ import annotations

import sys
from argparse import Namespace
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from harness import method_report, methods  # noqa: E402

TITLE = "## Methods against PyMatting (issues 13 and 15), both in one process"


def _heading(names: list[str] | None) -> str:
    result = {
        "pairs": methods.method_pairs(names),
        "load_at_start": "0.00 0.00 0.00",
        "code": "the working tree",
        "reused": 0,
    }
    options = Namespace(methods=names, trimap=["trimap"], note=None, cache="c.jsonl")
    text = method_report.section(
        TITLE,
        result,
        options,
        [],
        during="",
        bullets=[],
        pair_row=lambda *_: ["-"],
        columns=[],
        reused="Results",
        per_image=[],
    )
    return text.splitlines()[0]


def test_a_run_of_some_methods_names_them_in_its_heading():
    assert _heading(["lbdm", "lkm"]) == f"{TITLE}: lbdm and lkm"
    assert _heading(["cf", "knn", "rw"]) == f"{TITLE}: cf, knn and rw"
    assert _heading(["cf"]) == f"{TITLE}: cf"


def test_the_full_table_keeps_its_heading():
    assert _heading(None) == TITLE


def test_results_sections_have_distinct_headings():
    headings = [p.read_text().splitlines()[0] for p in sorted((BENCH / "results").glob("*.md"))]
    assert len(headings) == len(set(headings)), headings
