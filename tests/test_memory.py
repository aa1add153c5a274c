"""Memory estimates and refusing, before allocating, a solve that would not fit."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
from conftest import files_in, write_png

import vecmatte.memory
from vecmatte.batch import BatchTask
from vecmatte.cli import main
from vecmatte.memory import (
    InsufficientMemoryError,
    available_memory,
    check_memory,
    estimate_solve_memory,
    estimate_task_memory,
    refuse_if_short,
    size_text,
)


def test_estimate_grows_with_pixels_unknowns_and_radius():
    base = estimate_solve_memory((1000, 1000), 100_000)
    assert estimate_solve_memory((2000, 1000), 100_000) > base
    assert estimate_solve_memory((1000, 1000), 200_000) > base
    assert estimate_solve_memory((1000, 1000, 3), 100_000) == base
    # the stencil of radius 2 has 81 entries against 25
    assert estimate_solve_memory((1000, 1000), 100_000, radius=2) > 3 * base - 3 * 30e6
    assert isinstance(base, int)


def test_estimate_of_16_megapixels_is_plausible():
    # a 16 MP photograph with 15% unknown: more than 3 GB (the stencil coefficients alone
    # are 25 float64 per pixel), far less than a dense anything
    needed = estimate_solve_memory((4000, 4000), 2_400_000)
    assert 3e9 < needed < 24 * 2**30


def test_estimate_rejects_negative_sizes():
    with pytest.raises(ValueError, match="must be non-negative"):
        estimate_solve_memory((10, 10), -1)


def test_available_memory_is_a_positive_number_on_linux():
    available = available_memory()
    assert available is None or available > 0
    if available is not None:
        assert available < 2**50


def test_check_memory_passes_and_returns_the_estimate():
    needed = check_memory((100, 100), 1000, 1, available=2**40)
    assert needed == estimate_solve_memory((100, 100), 1000)


def test_check_memory_refuses_with_numbers_and_a_way_out():
    needed = estimate_solve_memory((6000, 5000), 4_000_000)
    with pytest.raises(InsufficientMemoryError) as error:
        check_memory((6000, 5000), 4_000_000, available=needed // 4)
    message = str(error.value)
    assert message.startswith(
        "solving an image of 6000 x 5000 pixels (height x width) with 4,000,000 unknown "
        "pixels needs about"
    )
    assert f"{needed / 2**30:.1f} GiB" in message and "GiB is available" in message
    # a quarter of the memory: half the height and width
    assert re.search(r"downscale the image to at most (2999|3000) x 2(499|500) pixels", message)
    assert isinstance(error.value, MemoryError)


def test_check_memory_without_information_does_not_refuse(monkeypatch):
    monkeypatch.setattr(vecmatte.memory, "_memory_readings", dict)
    assert check_memory((10_000, 10_000), 10**7) > 0


def test_the_limit_in_force_is_named_from_the_reading_that_gave_the_number(monkeypatch):
    # A cgroup's usage moves between two readings: the limit was looked for by reading the
    # files again, found no longer equal to the number, and went unnamed.
    usage = itertools.count()
    monkeypatch.setattr(vecmatte.memory, "_meminfo_available", lambda: 20 * 2**30)
    monkeypatch.setattr(vecmatte.memory, "_cgroup_available", lambda: 2**29 - 4096 * next(usage))
    monkeypatch.setattr(vecmatte.memory, "_rlimit_available", lambda: None)
    with pytest.raises(InsufficientMemoryError, match="available under the memory limit of th"):
        refuse_if_short(2**31, (2000, 2000), 10**6)
    assert available_memory() < 2**29  # what available_memory says is read afresh


def test_a_refusal_says_small_numbers_in_mib_or_kib():
    # GiB alone said "needs about 0.0 GiB of memory but only 0.0 GiB is available".
    with pytest.raises(InsufficientMemoryError, match=r"about 50\.0 MiB of memory but only 10\.0"):
        refuse_if_short(50 * 2**20, (100, 100), 1000, available=10 * 2**20)
    with pytest.raises(InsufficientMemoryError, match=r"only 1\.5 KiB is available"):
        refuse_if_short(2 * 2**30, (100, 100), 1000, available=1536)
    assert size_text(3 * 2**30) == "3.0 GiB" and size_text(2**30 - 1, digits=2) == "1024.00 MiB"


@pytest.mark.parametrize("method", ["cf", "rw", "knn"])
@pytest.mark.parametrize("shape", [(10**200, 10**200), (10**3000, 1), (2**14 + 1, 2**14)])
def test_a_shape_beyond_the_pixel_limit_is_refused_in_one_line(shape, method):
    # 10**200 x 10**200 overflowed the models' floats (OverflowError); 10**3000 is shown short.
    with pytest.raises(ValueError, match=r"^shape has .* more than the limit of 268435456;") as e:
        estimate_solve_memory(shape, 5, method=method)
    assert len(str(e.value)) < 300 and "\n" not in str(e.value)


def test_the_largest_shape_is_estimated():
    assert estimate_solve_memory((2**14, 2**14), 5) > 2**30


def test_random_walks_direct_factor_is_covered_where_it_is_widest():
    # GT04 of alphamatting-lowres, trimap 1: 563 x 800, 178728 unknown pixels; a 'direct'
    # solve's resident peak measured 262 MiB (fresh process, VmHWM minus the memory before
    # it), where the model scaled closed-form's factor by 9/25 entries and said 160 MiB.
    needed = estimate_solve_memory((563, 800), 178_728, method="rw", preconditioner="direct")
    assert 1.1 * 262 * 2**20 <= needed <= 1.5 * 262 * 2**20
    jacobi = estimate_solve_memory((563, 800), 178_728, method="rw", preconditioner="jacobi")
    assert needed > 3 * jacobi  # Jacobi's measured 56 MiB


def test_task_estimate_counts_the_inputs(tmp_path, scene):
    image = write_png(tmp_path / "image.png", scene.image)
    trimap = write_png(tmp_path / "trimap.png", scene.trimap)
    task = BatchTask("x", str(image), str(trimap), str(tmp_path / "a.png"), None)
    n_unknown = int(np.count_nonzero((scene.trimap > 0.1) & (scene.trimap < 0.9)))
    solve = estimate_solve_memory(scene.image.shape, n_unknown)
    assert estimate_task_memory(task) > solve


def test_cli_refuses_before_solving(tmp_path, scene_files, monkeypatch, capsys):
    image, trimap = scene_files
    monkeypatch.setattr(vecmatte.memory, "_memory_readings", lambda: {"machine": 10**6})
    out = tmp_path / "out"
    out.mkdir()
    code = main(["alpha", str(image), str(trimap), "-o", str(out / "alpha.png"), "-q"])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("vecmatte: error: solving an image of 36 x 44 pixels (height x width)")
    assert "KiB is available" in err and "downscale the image" in err
    assert files_in(out) == set()


# --- blur-fusion works a band of rows at a time


@pytest.mark.parametrize(
    ("shape", "sizes"), [((61, 17), (9, 3)), ((40, 12), (5, 4, 3)), ((9, 8), (90, 6))]
)
def test_blur_fusion_bands_give_the_whole_image_result(monkeypatch, rng, shape, sizes):
    from reference import loop_blur_fusion

    from vecmatte.foreground import blur_fusion

    image = rng.random((*shape, 3))
    alpha = np.clip(rng.random(shape) * 1.4 - 0.2, 0, 1)
    expected_f, expected_b = loop_blur_fusion(image, alpha, sizes)
    for rows in (1, 2, 7, 10**6):  # bands much thinner than the boxes' reach, and one band
        monkeypatch.setattr(blur_fusion, "_band_rows", lambda shape, sizes, rows=rows: rows)
        calls = []
        f, b = blur_fusion.estimate(
            image, alpha, blur_sizes=sizes, progress=lambda *c, calls=calls: calls.append(c)
        )
        np.testing.assert_allclose(f, expected_f, rtol=0, atol=2e-5)
        np.testing.assert_allclose(b, expected_b, rtol=0, atol=2e-5)
        assert calls[-1][0] == calls[-1][1] and len(calls) == calls[-1][1]
    f_only, none = blur_fusion.estimate(image, alpha, blur_sizes=sizes, background=False)
    assert none is None
    np.testing.assert_array_equal(f_only, f)


def test_blur_fusion_memory_is_one_band_beyond_its_results(monkeypatch, rng):
    import tracemalloc

    from vecmatte.foreground import blur_fusion

    shape = (400, 50)
    monkeypatch.setattr(blur_fusion, "_BAND_PIXELS", 40 * shape[1])
    image = rng.random((*shape, 3))
    alpha = rng.random(shape)
    tracemalloc.start()
    try:
        blur_fusion.estimate(image, alpha, blur_sizes=(9, 3))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    results = 2 * image.nbytes
    estimate = blur_fusion.memory_bytes(shape, blur_sizes=(9, 3))
    assert results < peak <= estimate
    # the working arrays are a band's (40 + 14 rows), not the whole image's (400 rows)
    assert peak - results < 0.25 * image.size // 3 * blur_fusion._BYTES_PER_PIXEL
