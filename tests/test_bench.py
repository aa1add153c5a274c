"""The benchmark harness (bench/compare.py, bench/method_table.py) on tiny synthetic datasets.

No timing is asserted: the point is that the harness keeps working as the library changes.
No file outside the test's temporary folder is needed (no ../shared/data).
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import write_png

import vecmatte

BENCH = Path(__file__).resolve().parents[1] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import provenance  # noqa: E402
from harness import cache, data, methods, report  # noqa: E402


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
        # A ground truth no method matches (the alpha mirrored left to right): the SAD of a
        # good matte against the true alpha rounds to 0.000 in the report, which checks
        # nothing; against this one it is near 0.1, read to 1% at the report's 3 decimals.
        for folder, array in (
            ("image", scene.image),
            ("trimap", scene.trimap),
            ("trimap2", wide.trimap),
            ("alpha", scene.alpha[:, ::-1]),
        ):
            (root / folder).mkdir(parents=True, exist_ok=True)
            write_png(root / folder / f"{name}.png", array)


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _expected_sad(data_dir: Path, image: str, trimap_set: str, method: str, scale=1) -> float:
    """The SAD the harness should report: our own solve and sum over the written files.

    The files are read with the harness's ``load_scaled`` (tested above); the matte is
    ``vecmatte.estimate_alpha`` with the method's defaults and the SAD a plain NumPy sum over
    the trimap's unknown pixels / 1000, as on alphamatting.com.
    """
    image_path, trimap_path, alpha_path = (
        data_dir / folder / f"{image}.png" for folder in ("image", trimap_set, "alpha")
    )
    trimap = data.load_scaled(str(trimap_path), scale, "trimap")
    truth = data.load_scaled(str(alpha_path), scale, "alpha")
    if method == "pymatting:cf":
        from pymatting import estimate_alpha_cf

        alpha = estimate_alpha_cf(data.load_scaled(str(image_path), scale, "image"), trimap)
    else:
        image_array = data.load_scaled(str(image_path), scale, "image")
        alpha = vecmatte.estimate_alpha(image_array, trimap, method=method)
    unknown = (trimap > 0.1) & (trimap < 0.9)
    return float(np.abs(alpha - truth)[unknown].sum()) / 1000


def _rows(report_text: str, image: str) -> list[list[str]]:
    lines = [x for x in report_text.splitlines() if x.startswith(f"| {image} |")]
    return [[c.strip() for c in line.strip("|").split("|")] for line in lines]


@pytest.mark.slow
def test_report_structure(compare, tmp_path):
    data_dir = tmp_path / "data"
    _write_dataset(data_dir, ["A1", "A2"])
    peers = _available("pymatting")
    chosen = ["vecmatte"] + (["pymatting"] if peers else [])
    output = tmp_path / "RESULTS.md"
    arguments = ["--data", str(data_dir), "--images", "A1", "--trimap", "trimap", "trimap2"]
    arguments += ["--scales", "1", "2", "--methods", *chosen, "--repeats", "2"]
    arguments += ["--secondary-scales", "1", "--no-cold", "--output", str(output)]
    arguments += ["--cache", str(tmp_path / "cache" / "c.jsonl"), "--no-append"]
    # the same-process pairs (a child importing both libraries per input) at x2 only: the x1
    # pairs doubled the slowest children and no check reads them
    arguments += ["--timing", "both", "--same-process-scales", "2"]
    assert compare.main(arguments) == 0
    text = output.read_text()
    for section in (
        "# vecmatte benchmark results",
        "## Machine",
        "## How it was measured",
        "## Summary",
        "### Time and memory ratios",
        "### Same process, same cores",
        "### Mean errors",
        "### Cold start",
        "## Per-image results",
    ):
        assert section in text, section
    plot = tmp_path / "time_vs_megapixels.png"
    if _available("matplotlib"):  # in the test extra; without it the harness draws no plot
        assert plot.stat().st_size > 1000
    else:
        assert not plot.exists()
    assert "1-minute load average while this invocation measured" in text

    rows = [r for r in _rows(text, "A1") if re.fullmatch(r"trimap2?", r[1])]
    # 1 image x 2 trimap sets: every selected method at x1, the non-default preconditioners
    # left out at x2
    n_vecmatte = len(methods.cf_preconditioners())
    assert len(rows) == 2 * (n_vecmatte + peers) + 2 * (1 + peers)
    assert "| A2 |" not in text
    for row in (r for r in rows if "vecmatte" in r[4]):
        assert float(row[5]) > 0  # warm seconds
        assert row[6] in ("1", "2")  # warm solves
        assert float(row[9]) >= 0  # SAD
    default_rows = [r for r in rows if "(default)" in r[4]]
    assert default_rows
    assert all(r[-1] == "0.0000" for r in default_rows)  # the default's matte against itself

    ratio_lines = [line for line in text.splitlines() if line.startswith("- x")]
    assert any(line.startswith("- x1 time vecmatte/PyMatting:") for line in ratio_lines)
    assert any(line.startswith("- x2 memory vecmatte/seed:") for line in ratio_lines)
    if peers:
        line = next(x for x in ratio_lines if x.startswith("- x1 time vecmatte/PyMatting:"))
        assert re.search(r": [<\d.]+.*n=2\)$", line), line
        same = next(x for x in ratio_lines if "same process" in x and x.startswith("- x2"))
        assert re.search(r"n=2\)$", same), same
        assert "- x1 time vecmatte/PyMatting, same process: -" in ratio_lines  # not asked for
    else:
        assert "x1 time vecmatte/PyMatting: -" in text


def test_results_sections_are_appended(tmp_path):
    # The report ends with every results/*.md, in sorted order.
    results = tmp_path / "results"
    results.mkdir()
    (results / "b.md").write_text("## B section\n")
    (results / "a.md").write_text("## A section\n")
    options = _load("compare").build_parser().parse_args(["--no-cold"])
    dataset = data.Dataset(tmp_path, tmp_path, tmp_path, {"trimap": tmp_path}, {})
    result = {
        "cells": [],
        "cold": [],
        "methods": methods.select_methods(["vecmatte"]),
        "unavailable": {},
        "names": [],
        "per_scale": {1: []},
        "seed_names": [],
        "dataset": dataset,
        "default": methods.default_method_key(),
    }
    path = tmp_path / "R.md"
    text = report.write_report(result, options, ["compare.py"], path, None, results)
    assert text.index("## A section") < text.index("## B section")
    assert text.rstrip().endswith("## B section")
    assert "Not measured in this run (`--timing child`)" in text
    assert path.read_text() == text


def test_dataset_accepts_alphamatting_names(tmp_path):
    for folder in (
        "input_training_lowres",
        "gt_training_lowres",
        "trimap_training_lowres/Trimap1",
        "trimap_training_lowres/Trimap2",
    ):
        (tmp_path / folder).mkdir(parents=True)
        write_png(tmp_path / folder / "GT01.png", np.zeros((4, 4)))
    dataset = data.find_dataset(tmp_path, ["trimap", "trimap2"])
    assert list(dataset.files) == ["GT01"]
    image, trimap, alpha = dataset.paths("GT01", "trimap2")
    assert trimap == tmp_path / "trimap_training_lowres/Trimap2/GT01.png"
    assert (
        image.parent.name == "input_training_lowres" and alpha.parent.name == "gt_training_lowres"
    )


def test_scales_load_at_half_size(tmp_path):
    write_png(tmp_path / "t.png", np.tile([0.0, 0.5, 1.0, 1.0], (6, 2)))
    trimap = data.load_scaled(str(tmp_path / "t.png"), 0.5, "trimap")
    assert trimap.shape == (3, 4)
    assert set(np.unique(trimap)) <= {0.0, 128 / 255, 1.0}  # nearest: no new values
    assert data.as_scale(2.0) == 2 and isinstance(data.as_scale(2.0), int)
    assert data.as_scale("0.5") == 0.5
    assert data.scale_label(0.5) == "x0.5" and data.scale_label(2) == "x2"


def test_every_usable_preconditioner_is_a_method():
    from vecmatte.preconditioners import PRECONDITIONERS

    keys = [m.key for m in methods.all_methods()]
    assert keys[0] == methods.default_method_key()
    for name in methods.cf_preconditioners():
        assert name in PRECONDITIONERS and f"vecmatte:{name}" in keys
    assert "vecmatte:none" not in keys  # unpreconditioned CG: hours on the full set
    assert {"pymatting:cf", "seed"} <= set(keys)
    with pytest.raises(SystemExit, match="unknown method"):
        methods.select_methods(["nope"])


def test_method_pairs_follow_the_registry():
    from vecmatte.alpha import METHODS

    pairs = methods.method_pairs()
    assert [ours.name for ours, _ in pairs] == sorted(METHODS, key=lambda n: (n != "cf", n))
    for ours, peer in pairs:
        assert ours.family == "vecmatte"
        if ours.name in methods.PYMATTING_METHODS:
            assert peer.key == f"pymatting:{ours.name}"
        else:  # no PyMatting counterpart: against vecmatte's closed-form
            assert peer.key == methods.default_method_key()
    assert pairs[0][0].key == methods.default_method_key()  # cf shares compare.py's cells
    with pytest.raises(SystemExit, match="no method 'nope'"):
        methods.method_pairs(["nope"])


@pytest.mark.skipif(not _available("numba"), reason="numba not installed (bench extra)")
def test_seed_program_matches_vecmatte_on_a_scene():
    # Soft constraints (100 D + L) against vecmatte's hard ones: close, not equal. Measured
    # max |difference| 4.5e-7 on this scene (both 1.1e-4 from the true alpha); 1e-5 leaves
    # 20x for rounding, where 0.02 let a matte shifted by 0.01 pass.
    seed = _load("seed_numba")
    scene = vecmatte.make_scene((30, 40), seed=2, band=2)
    alpha = seed.seed_alpha(scene.image, scene.trimap)
    assert alpha.shape == scene.alpha.shape
    np.testing.assert_allclose(alpha, vecmatte.estimate_alpha(scene.image, scene.trimap), atol=1e-5)


def test_subset_scales_and_resume_report_their_provenance(compare, tmp_path, monkeypatch):
    # The code key taken once: others may edit vecmatte/ between the two invocations.
    from harness import comparison

    code = cache.working_tree_code()
    monkeypatch.setattr(comparison, "working_tree_code", lambda: code)
    data_dir = tmp_path / "data"
    _write_dataset(data_dir, ["A1", "A2"])
    cache_file = tmp_path / "cache" / "c.jsonl"
    arguments = ["--data", str(data_dir), "--scales", "1", "2", "--scale-images", "A2"]
    arguments += ["--subset-scales", "2", "--methods", methods.default_method_key()]
    arguments += ["--repeats", "1", "--no-cold", "--no-append", "--cache", str(cache_file)]
    first = tmp_path / "first.md"
    assert compare.main([*arguments, "--output", str(first)]) == 0
    rows = re.findall(r"^\| (A\d) \| trimap \| x(\d) \|", first.read_text(), flags=re.M)
    assert sorted(rows) == [("A1", "1"), ("A2", "1"), ("A2", "2")]
    assert "reused" not in first.read_text()
    assert len(cache_file.read_text().splitlines()) == 3

    second = tmp_path / "second.md"
    note = "Cells measured by two invocations, one per core."
    code = compare.main([*arguments, "--output", str(second), "--resume", "--note", note])
    assert code == 0
    text = second.read_text()
    assert "This invocation measured 0 cells and reused 3" in text
    assert f"- {note}" in text
    assert len(cache_file.read_text().splitlines()) == 3  # nothing measured again


def test_method_table_on_closed_form(tmp_path, monkeypatch):
    from harness import comparison

    code = cache.working_tree_code()  # taken once: others may edit vecmatte/ meanwhile
    monkeypatch.setattr(comparison, "working_tree_code", lambda: code)
    data_dir = tmp_path / "data"
    _write_dataset(data_dir, ["A1", "A2"])
    output = tmp_path / "methods.md"
    table_script = _load("method_table")
    arguments = ["--data", str(data_dir), "--images", "A1", "--methods", "cf"]
    arguments += ["--method-scale", "cf=0.5", "--repeats", "1", "--output", str(output)]
    arguments += ["--cache", str(tmp_path / "c.jsonl"), "--resume"]
    # vecmatte's side first, then the rest, reusing it
    assert table_script.main([*arguments, "--family", "vecmatte"]) == 0
    measured = [r for r in _rows(output.read_text(), "A1") if not r[6].startswith("unavailable")]
    assert {r[3].split()[0] for r in measured} == {"vecmatte"}  # without PyMatting: its row says so
    assert table_script.main(arguments) == 0
    text = output.read_text()
    assert "Cells reused from" in text
    assert text.startswith("## Methods against PyMatting")
    rows = [x for x in text.splitlines() if x.startswith("| cf |")]
    assert [r.split("|")[3:5] for r in rows] == [[" x0.5 ", " trimap "], [" x0.5 ", " trimap2 "]]
    per_image = _rows(text, "A1")
    assert {r[2] for r in per_image} == {"x0.5"}
    vec = [r for r in per_image if r[3].startswith("vecmatte")]
    assert len(vec) == 2
    for row in vec:  # the SAD of each trimap set against our own, at the report's 3 decimals
        expected = _expected_sad(data_dir, "A1", row[1], "cf", scale=0.5)
        assert expected > 0.02
        assert float(row[4]) == pytest.approx(expected, abs=5.01e-4), row
    if _available("pymatting"):
        assert all(r[5] != "-" for r in rows)  # SAD of both libraries
    else:
        assert all("pymatting is not installed" in r for r in rows)


def test_code_key_covers_subpackages(tmp_path):
    package = tmp_path / "vecmatte"
    (package / "alpha").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "alpha" / "cf.py").write_text("x = 1\n")
    before = cache.working_tree_code(tmp_path).vecmatte
    (package / "alpha" / "cf.py").write_text("x = 2\n")
    edited = cache.working_tree_code(tmp_path).vecmatte
    assert edited != before
    # a file moved without a change of contents is a change of code too
    (package / "alpha" / "cf.py").rename(package / "cf.py")
    assert cache.working_tree_code(tmp_path).vecmatte != edited


def test_commit_code_exports_the_committed_tree(tmp_path):
    repo = tmp_path / "repo"
    (repo / "vecmatte").mkdir(parents=True)
    (repo / "vecmatte" / "__init__.py").write_text("VERSION = 'committed'\n")

    def git(*arguments):
        subprocess.run(["git", "-C", str(repo), *arguments], check=True, capture_output=True)

    git("init", "-q")
    git("add", "vecmatte")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "c")
    (repo / "vecmatte" / "__init__.py").write_text("VERSION = 'edited'\n")  # uncommitted
    code = cache.commit_code("HEAD", repo, tmp_path / "trees")
    assert code.vecmatte.startswith("git:")
    assert (code.path / "vecmatte" / "__init__.py").read_text() == "VERSION = 'committed'\n"
    assert cache.commit_code("HEAD", repo, tmp_path / "trees") == code  # exported once
    key = cache.cell_key(
        cache.Cell("vecmatte:direct", "A1", "trimap", 1),
        methods.vecmatte_method("cf"),
        code,
        _load("compare").build_parser().parse_args([]),
    )
    assert code.vecmatte in json.loads(key)
    with pytest.raises(SystemExit, match="--vecmatte-commit"):
        cache.commit_code("no-such-revision", repo, tmp_path / "trees")


def test_provenance_writes_atomically(tmp_path):
    path = provenance.write_markdown(tmp_path / "sub" / "s.md", "## S\n\ntext\n\n")
    assert path.read_text() == "## S\n\ntext\n"
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind
    assert provenance.versions(("numpy",)) == {"numpy": np.__version__}
    assert "logical cores" in provenance.machine_line()
    assert provenance.generated_line("python bench/x.py").startswith(
        "Generated by `python bench/x.py` on "
    )


def test_cold_starts_are_cached(compare, tmp_path, monkeypatch):
    from harness import comparison

    code = cache.working_tree_code()
    monkeypatch.setattr(comparison, "working_tree_code", lambda: code)
    data_dir = tmp_path / "data"
    _write_dataset(data_dir, ["A1"])
    arguments = ["--data", str(data_dir), "--methods", methods.default_method_key()]
    arguments += ["--repeats", "1", "--no-append", "--resume", "--cache", str(tmp_path / "c")]
    reports = []
    for number in range(2):
        output = tmp_path / f"R{number}.md"
        assert compare.main([*arguments, "--output", str(output)]) == 0
        text = output.read_text()
        reports.append([x for x in text.splitlines() if x.startswith("| vecmatte direct")])
    cold_rows = [[row for row in rows if "| A1 | - |" in row] for rows in reports]
    assert len(cold_rows[0]) == 1 and cold_rows[0] == cold_rows[1]  # reused, not re-measured


def test_method_table_same_process(tmp_path, monkeypatch):
    # --timing same-process: each pair alternating in one child per (image, trimap, scale),
    # memory from one child per cell; ifm (no PyMatting counterpart) against closed-form.
    from harness import comparison

    code = cache.working_tree_code()  # taken once: others may edit vecmatte/ meanwhile
    monkeypatch.setattr(comparison, "working_tree_code", lambda: code)
    data_dir = tmp_path / "data"
    _write_dataset(data_dir, ["A1"])
    output = tmp_path / "methods.md"
    cache_file = tmp_path / "c.jsonl"
    table_script = _load("method_table")
    arguments = ["--data", str(data_dir), "--trimap", "trimap", "--methods", "cf", "ifm"]
    arguments += ["--timing", "same-process", "--rounds", "2", "--threads", "1"]
    arguments += ["--output", str(output), "--cache", str(cache_file), "--resume"]
    assert table_script.main(arguments) == 0
    text = output.read_text()
    assert text.startswith("## Methods against PyMatting (issues 13 and 15), both in one process")
    assert "OPENBLAS_NUM_THREADS = OMP_NUM_THREADS = MKL_NUM_THREADS = 1" in text
    assert "OpenBLAS libscipy_openblas" in text  # what the child reported using
    for column in ("wall ratio (same process)", "CPU ratio (same process)"):
        assert column in text
    assert "memory ratio (own children)" in text
    summary = {x.split("|")[1].strip(): x.split("|") for x in text.splitlines() if x[:2] == "| "}
    ifm = summary["ifm"]
    assert ifm[2].strip() == methods.vecmatte_method("cf").label  # against vecmatte's cf
    assert re.fullmatch(r" [\d.]+ \(max [\d.]+, n=1\) ", ifm[11]), ifm[11]  # wall ratio
    # memory ratio ("-" when a tiny solve's peak rounds to 0 MB)
    assert re.fullmatch(r" ([\d.]+ \(max [\d.]+, n=1\)|-) ", ifm[13]), ifm[13]
    per_image = _rows(text, "A1")
    assert len(per_image) == 1 + _available("pymatting")  # one row per pair
    for row in per_image:
        assert row[9] == "2 / 2"  # calls of each method
        sad, peer_sad = (float(x) for x in row[5].split(" / "))
        # ifm's row: ifm against vecmatte's cf; cf's row: vecmatte's cf against PyMatting's.
        # At 3 decimals the two methods' SADs differ by less than the rounding: these check
        # the files, trimap and ground truth the harness scored, not which method it ran.
        ours, peer = ("ifm", "cf") if "ifm" in row[3] else ("cf", "pymatting:cf")
        for got, method in ((sad, ours), (peer_sad, peer)):
            expected = _expected_sad(data_dir, "A1", "trimap", method)
            assert expected > 0.02
            assert got == pytest.approx(expected, abs=5.01e-4), (row, method)
    entries = [json.loads(x) for x in cache_file.read_text().splitlines()]
    assert sum(json.loads(e["key"])[0] == "interleave" for e in entries) == len(per_image)

    # everything reused: nothing measured again
    assert table_script.main(arguments) == 0
    assert "measured now: 0" in output.read_text()
    assert len(cache_file.read_text().splitlines()) == len(entries)


def test_same_process_child_that_dies_is_blamed_on_the_running_method(tmp_path):
    # A solve past the time limit ends the child (SIGALRM): the method that was running is
    # reported over the limit, and the pairs the child had not reached run in a new child.
    import argparse

    from harness import interleave

    data_dir = tmp_path / "data"
    _write_dataset(data_dir, ["A1"])
    dataset = data.find_dataset(data_dir, ["trimap"])
    options = argparse.Namespace(
        rounds=2, threads=1, time_limit=1e-4, memory_cap=12.0, numba_cache=None
    )
    cf = methods.vecmatte_method("cf")
    pairs = [(methods.vecmatte_method("lbdm"), cf), (methods.vecmatte_method("rw"), cf)]
    results = interleave.measure_interleaved(pairs, ("A1", "trimap", 1), dataset, options)
    for (ours, peer), (method, other) in zip(results, pairs, strict=True):
        assert (ours.method, peer.method) == (method.key, other.key)
        assert ours.status == "time" and "longer than" in ours.note  # A runs first
        assert peer.status == "ok" and not peer.wall  # never reached
        assert ours.threads["env"]["NUMBA_NUM_THREADS"] == "1"  # reported before it died
