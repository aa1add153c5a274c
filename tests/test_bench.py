"""The benchmark harness (bench/compare.py) on a tiny synthetic dataset: the report's structure.

No timing is asserted: the point is that the harness keeps working as the library changes.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import write_png

import vecmatte

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def compare():
    return _load("compare")


def _write_dataset(root: Path, names: list[str]) -> None:
    for number, name in enumerate(names):
        scene = vecmatte.make_scene((40, 52), seed=number, band=2)
        wide = vecmatte.make_scene((40, 52), seed=number, band=4)
        for folder, array in (
            ("image", scene.image),
            ("trimap", scene.trimap),
            ("trimap2", wide.trimap),
            ("alpha", scene.alpha),
        ):
            (root / folder).mkdir(parents=True, exist_ok=True)
            write_png(root / folder / f"{name}.png", array)


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@pytest.mark.slow
def test_report_structure(compare, tmp_path):
    data = tmp_path / "data"
    _write_dataset(data, ["A1", "A2"])
    methods = ["vecmatte"] + (["pymatting"] if _available("pymatting") else [])
    output = tmp_path / "RESULTS.md"
    code = compare.main(
        [
            "--data",
            str(data),
            "--images",
            "A1",
            "--trimap",
            "trimap",
            "trimap2",
            "--scales",
            "1",
            "2",
            "--methods",
            *methods,
            "--repeats",
            "2",
            "--secondary-scales",
            "1",
            "--no-cold",
            "--output",
            str(output),
            "--cache",
            str(tmp_path / "cache" / "c.jsonl"),
            "--no-append",
        ]
    )
    assert code == 0
    report = output.read_text()
    for section in (
        "# vecmatte benchmark results",
        "## Machine",
        "## How it was measured",
        "## Summary",
        "### Time and memory ratios",
        "### Mean errors",
        "### Cold start",
        "## Per-image results",
    ):
        assert section in report, section
    assert (tmp_path / "time_vs_megapixels.png").stat().st_size > 1000

    rows = [
        line for line in report.splitlines() if re.match(r"\| A1 \| trimap2? \| x[12] \|", line)
    ]
    # 1 image x 2 trimap sets: every selected method at x1, the non-default preconditioners
    # left out at x2
    peers = "pymatting" in methods
    assert len(rows) == 2 * (len(vecmatte.PRECONDITIONERS) + peers) + 2 * (1 + peers)
    assert "| A2 |" not in report
    ok_rows = [row for row in rows if "vecmatte" in row]
    for row in ok_rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert float(cells[5]) > 0  # warm seconds
        assert cells[6] in ("1", "2")  # warm solves
        assert float(cells[9]) >= 0  # SAD
    # the default's matte against itself
    default_rows = [row for row in ok_rows if "(default)" in row]
    assert default_rows
    for row in default_rows:
        assert row.rstrip(" |").endswith(" 0.0000"), row

    ratio_lines = [line for line in report.splitlines() if line.startswith("- x")]
    assert any(line.startswith("- x1 time vecmatte/PyMatting:") for line in ratio_lines)
    assert any(line.startswith("- x2 memory vecmatte/seed:") for line in ratio_lines)
    if "pymatting" in methods:
        line = next(x for x in ratio_lines if x.startswith("- x1 time vecmatte/PyMatting:"))
        assert re.search(r": [<\d.]+.*n=2\)$", line), line
    else:
        assert "x1 time vecmatte/PyMatting: -" in report


def test_results_sections_are_appended(compare, tmp_path, monkeypatch):
    # The report ends with every bench/results/*.md, in sorted order.
    bench = tmp_path / "bench"
    (bench / "results").mkdir(parents=True)
    (bench / "results" / "b.md").write_text("## B section\n")
    (bench / "results" / "a.md").write_text("## A section\n")
    monkeypatch.setattr(compare, "BENCH_DIR", bench)
    options = compare.build_parser().parse_args(["--no-cold"])
    dataset = compare.Dataset(tmp_path, tmp_path, tmp_path, {"trimap": tmp_path}, {})
    result = {
        "cells": [],
        "cold": [],
        "methods": compare.select_methods(["vecmatte"]),
        "unavailable": {},
        "names": [],
        "per_scale": {1: []},
        "seed_names": [],
        "dataset": dataset,
        "default": compare.default_method_key(),
    }
    text = compare.write_report(result, options, ["compare.py"], tmp_path / "R.md", None)
    assert text.index("## A section") < text.index("## B section")
    assert text.rstrip().endswith("## B section")


def test_dataset_accepts_alphamatting_names(compare, tmp_path):
    for folder in (
        "input_training_lowres",
        "gt_training_lowres",
        "trimap_training_lowres/Trimap1",
        "trimap_training_lowres/Trimap2",
    ):
        (tmp_path / folder).mkdir(parents=True)
        write_png(tmp_path / folder / "GT01.png", np.zeros((4, 4)))
    dataset = compare.find_dataset(tmp_path, ["trimap", "trimap2"])
    assert list(dataset.files) == ["GT01"]
    image, trimap, alpha = dataset.paths("GT01", "trimap2")
    assert trimap == tmp_path / "trimap_training_lowres/Trimap2/GT01.png"
    assert (
        image.parent.name == "input_training_lowres" and alpha.parent.name == "gt_training_lowres"
    )


def test_every_registered_preconditioner_is_a_method(compare):
    keys = [m.key for m in compare.all_methods()]
    assert keys[0] == compare.default_method_key()
    for name in vecmatte.PRECONDITIONERS:
        assert f"vecmatte:{name}" in keys
    assert {"pymatting:cf", "seed"} <= set(keys)
    with pytest.raises(SystemExit, match="unknown method"):
        compare.select_methods(["nope"])


@pytest.mark.skipif(not _available("numba"), reason="numba not installed (bench extra)")
def test_seed_program_matches_vecmatte_on_a_scene():
    # Soft constraints (100 D + L) against vecmatte's hard ones: close, not equal.
    seed = _load("seed_numba")
    scene = vecmatte.make_scene((30, 40), seed=2, band=2)
    alpha = seed.seed_alpha(scene.image, scene.trimap)
    assert alpha.shape == scene.alpha.shape
    np.testing.assert_allclose(alpha, vecmatte.estimate_alpha(scene.image, scene.trimap), atol=0.02)


def test_subset_scales_and_resume_report_their_provenance(compare, tmp_path):
    data = tmp_path / "data"
    _write_dataset(data, ["A1", "A2"])
    cache = tmp_path / "cache" / "c.jsonl"
    arguments = [
        "--data",
        str(data),
        "--scales",
        "1",
        "2",
        "--scale-images",
        "A2",
        "--subset-scales",
        "2",
        "--methods",
        "vecmatte:direct",
        "--repeats",
        "1",
        "--no-cold",
        "--no-append",
        "--cache",
        str(cache),
    ]
    first = tmp_path / "first.md"
    assert compare.main([*arguments, "--output", str(first)]) == 0
    rows = re.findall(r"^\| (A\d) \| trimap \| x(\d) \|", first.read_text(), flags=re.M)
    assert sorted(rows) == [("A1", "1"), ("A2", "1"), ("A2", "2")]
    assert "reused" not in first.read_text()
    assert len(cache.read_text().splitlines()) == 3

    second = tmp_path / "second.md"
    note = "Cells measured by two invocations, one per core."
    code = compare.main([*arguments, "--output", str(second), "--resume", "--note", note])
    assert code == 0
    report = second.read_text()
    assert "This invocation measured 0 cells and reused 3" in report
    assert f"- {note}" in report
    assert len(cache.read_text().splitlines()) == 3  # nothing measured again
