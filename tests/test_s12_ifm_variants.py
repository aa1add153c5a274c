"""bench/ifm_variants.py: runs on a tiny folder, and its solves are ifm's."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

BENCH = Path(__file__).resolve().parents[1] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import ifm_variants  # noqa: E402

from vecmatte import estimate_alpha  # noqa: E402
from vecmatte.synthetic import make_scene  # noqa: E402


def _write_folder(root: Path, names: list[str]) -> None:
    """An alphamatting-like folder of make_scene composites (8-bit PNGs)."""
    for folder in ("image", "trimap", "trimap2", "alpha"):
        (root / folder).mkdir(parents=True)
    for index, name in enumerate(names):
        scene = make_scene((48, 64), seed=index, softness=3.0, band=3)
        image = np.rint(scene.image * 255).astype(np.uint8)
        trimap = np.rint(scene.trimap * 255).astype(np.uint8)
        Image.fromarray(image).save(root / "image" / f"{name}.png")
        Image.fromarray(trimap).save(root / "trimap" / f"{name}.png")
        Image.fromarray(trimap).save(root / "trimap2" / f"{name}.png")
        alpha = np.rint(scene.alpha * 255).astype(np.uint8)
        Image.fromarray(alpha).save(root / "alpha" / f"{name}.png")


def test_script_writes_its_tables(tmp_path):
    data = tmp_path / "data"
    _write_folder(data, ["S01", "S02"])
    output = tmp_path / "out" / "variants.md"
    argv = ["--data", str(data), "--output", str(output), "--images", "S01", "S02"]
    argv += ["--variants", "reference", "clip", "post-trim", "--synthetic", "1"]
    assert ifm_variants.main(argv) == 0
    text = output.read_text()
    for heading in ("alphamatting-lowres, trimap", "alphamatting-lowres, trimap2", "held out"):
        assert heading in text
    cases = ("| S01 |", "| S02 |", "| scene 120x160 seed 100", "seed 101 softness 4, textures S0")
    for case in cases:
        assert case in text
    summary = text.split("### Summary")[1]
    # Four rows (two trimap sets, two held-out settings), each with a ratio per column.
    rows = [line for line in summary.splitlines() if line.startswith("| ") and "set" not in line]
    assert len(rows) == 4
    for row in rows:
        ratios = [float(cell.split()[0]) for cell in row.strip("|").split("|")[1:]]
        assert len(ratios) == 5 and ratios[0] == 1.0 and all(np.isfinite(ratios))


@pytest.mark.parametrize("force_ku", [None, True])
def test_reference_solve_is_ifm(force_ku):
    # The script's solve from public pieces against the shipped method: same system.
    scene = make_scene((60, 80), seed=3, softness=4.0, band=3)
    mattes, _ = ifm_variants.variant_mattes(
        scene.image, scene.trimap, ["reference"], force_ku=force_ku
    )
    options = {} if force_ku is None else {"known_to_unknown": force_ku}
    shipped = estimate_alpha(scene.image, scene.trimap, method="ifm", **options)
    assert np.abs(mattes["reference"] - shipped).max() < 0.02


def test_clip_bounds_the_estimate_and_post_trim_the_labels():
    from vecmatte.alpha.ifm import edge_trimming

    scene = make_scene((60, 80), seed=5, softness=4.0, band=4)
    is_fg, is_bg = scene.trimap > 0.9, scene.trimap < 0.1
    raw, _ = ifm_variants.known_to_unknown_term(scene.image, is_fg, is_bg)
    clipped, confidence = ifm_variants.known_to_unknown_term(scene.image, is_fg, is_bg, clip=True)
    assert clipped.min() >= 0.0 and clipped.max() <= 1.0
    np.testing.assert_array_equal(clipped, np.clip(raw, 0.0, 1.0))
    assert np.all(confidence[is_fg | is_bg] == 0.0)
    mattes, _ = ifm_variants.variant_mattes(scene.image, scene.trimap, ["reference", "post-trim"])
    trimmed_fg, trimmed_bg = edge_trimming(scene.image, is_fg, is_bg)
    post = mattes["post-trim"]
    assert np.all(post[trimmed_fg] == 1.0) and np.all(post[trimmed_bg] == 0.0)
    rest = ~(trimmed_fg | trimmed_bg)
    np.testing.assert_array_equal(post[rest], mattes["reference"][rest])
