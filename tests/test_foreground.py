"""Foreground and background estimation: accuracy on known composites, references, validation."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import write_png
from PIL import Image
from reference import loop_blur_fusion, loop_foreground_cf, loop_foreground_ml

from vecmatte import (
    ConvergenceWarning,
    estimate_foreground,
    estimate_foreground_background,
    make_scene,
)
from vecmatte.cli import main
from vecmatte.foreground import FOREGROUND_METHODS, foreground_memory_bytes, ml

METHODS = list(FOREGROUND_METHODS)
# float32 working arrays: about 1e-6 from a float64 loop over the same sweeps.
FLOAT32_ATOL = 2e-5


@pytest.fixture(scope="module")
def soft_scene():
    """A composite with a wide soft edge (6 px), where the old background shows through."""
    return make_scene((60, 80), seed=0, softness=6.0)


@pytest.mark.parametrize("method", METHODS)
def test_foreground_beats_naive_cutout(soft_scene, method):
    """Where alpha > 0.1, mean |F - F_true| is far below the naive cutout's |I - F_true|.

    Measured on this scene: naive 0.0919, "ml" 0.0219, "cf" 0.0250, "blur_fusion" 0.0218
    (about 4x lower).
    """
    scene = soft_scene
    where = scene.alpha > 0.1
    naive = np.abs(scene.image - scene.foreground)[where].mean()
    foreground = estimate_foreground(scene.image, scene.alpha, method=method)
    error = np.abs(foreground - scene.foreground)[where].mean()
    assert naive > 0.09
    assert error < 0.35 * naive


@pytest.mark.parametrize("method", METHODS)
def test_recomposite_reproduces_image(soft_scene, method):
    """alpha F + (1 - alpha) B gives back the photograph.

    Measured mean 0.0015 ml, 0.016 cf, 0.0000 blur_fusion (its B is completed so that the
    equation holds where nothing is clipped); "ml" and "cf" trade the compositing equation
    against smoothness of F and B.
    """
    scene = soft_scene
    foreground, background = estimate_foreground_background(scene.image, scene.alpha, method=method)
    a = scene.alpha[:, :, None]
    error = np.abs(a * foreground + (1 - a) * background - scene.image)
    mixed = (scene.alpha > 0) & (scene.alpha < 1)
    assert error[mixed].mean() < 0.025
    assert error.max() < 0.15
    # Away from the edge (the trimap's definite regions) the photograph is the foreground
    # (alpha = 1) or the background (alpha = 0).
    inside, outside = scene.trimap == 1, scene.trimap == 0
    np.testing.assert_allclose(foreground[inside], scene.image[inside], atol=2e-3)
    np.testing.assert_allclose(background[outside], scene.image[outside], atol=2e-3)


@pytest.mark.parametrize("method", METHODS)
def test_outputs_are_images(soft_scene, method):
    foreground, background = estimate_foreground_background(
        soft_scene.image, soft_scene.alpha, method=method
    )
    for array in (foreground, background):
        assert array.shape == soft_scene.image.shape
        assert array.dtype == np.float64
        assert array.min() >= 0.0
        assert array.max() <= 1.0


@pytest.mark.parametrize("shape", [(18, 22), (17, 23), (5, 3), (1, 7), (9, 1), (40, 37)])
@pytest.mark.parametrize("tile", [(64, 128), (4, 6), (2, 2)])
def test_ml_matches_loop_reference(monkeypatch, shape, tile):
    """Packed red-black sweeps, in tiles with a halo, equal the plain loop's.

    ``small_size=4`` makes most levels "big" (2 iterations, tiles); tiles down to 2 x 2
    exercise every tile boundary and the halo, and odd widths the packed arrays' extra column.
    """
    monkeypatch.setattr(ml, "TILE", tile)
    rng = np.random.default_rng(sum(shape))
    image = rng.uniform(size=(*shape, 3))
    alpha = np.clip(rng.uniform(-0.3, 1.3, size=shape), 0, 1)
    options = {"regularization": 1e-2, "gradient_weight": 0.5}
    expected = loop_foreground_ml(image, alpha, small_size=4, **options)
    got = ml.estimate(image, alpha, small_size=4, **options)
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_allclose(g, e, atol=FLOAT32_ATOL)


@pytest.mark.parametrize("options", [{}, {"regularization": 1e-5, "gradient_weight": 1.0}])
def test_ml_public_function_matches_loop_reference(options):
    scene = make_scene((18, 22), seed=2, softness=3.0)
    expected = loop_foreground_ml(scene.image, scene.alpha, **options)
    got = estimate_foreground_background(scene.image, scene.alpha, method="ml", **options)
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_allclose(g, e, atol=FLOAT32_ATOL)


def test_ml_float32_results_are_the_float64_ones_rounded():
    """dtype=float32 (the PyMatting shim's) writes the same float32 working values."""
    scene = make_scene((37, 51), seed=7, softness=3.0)
    options = {"regularization": 1e-5, "gradient_weight": 1.0}
    wide = ml.estimate(scene.image, scene.alpha, **options)
    narrow = ml.estimate(scene.image, scene.alpha, dtype=np.float32, **options)
    for w, n in zip(wide, narrow, strict=True):
        assert n.dtype == np.float32
        np.testing.assert_array_equal(n, w.astype(np.float32))
    alone, none = ml.estimate(
        scene.image, scene.alpha, background=False, dtype=np.float32, **options
    )
    assert none is None
    np.testing.assert_array_equal(alone, narrow[0])


@pytest.mark.parametrize("kind", ["both", "no background", "no foreground"])
def test_ml_starting_colours_are_plain_means(kind):
    """Means of the definite foreground (alpha > 0.9) and background (< 0.1), summed in
    several chunks of rows (600 x 500 is two); the image's mean where one side is empty."""
    rng = np.random.default_rng(3)
    image = rng.uniform(size=(600, 500, 3))
    alpha = rng.uniform(size=(600, 500))
    if kind == "no background":
        alpha = np.maximum(alpha, 0.2)
    elif kind == "no foreground":
        alpha = np.minimum(alpha, 0.8)
    got = ml._starting_colours(image, alpha).reshape(2, 3)
    fg, bg = alpha > 0.9, alpha < 0.1
    expected = [
        image[m].mean(axis=0) if m.any() else image.reshape(-1, 3).mean(axis=0) for m in (fg, bg)
    ]
    np.testing.assert_allclose(got, np.array(expected), rtol=1e-6)


def _dense_ml_level(image, alpha, regularization, gradient_weight):
    """Minimiser of one level's energy by a dense solve (no clipping).

    sum_i (a_i F_i + (1 - a_i) B_i - I_i)^2 + sum_i sum_(j in N4(i)) w_ij ((F_i - F_j)^2 + ...)
    / 2, with w_ij = eps + omega |a_i - a_j| and clamped neighbours (a pixel on the border is
    its own neighbour, a term that vanishes). Per channel, unknowns [F; B].
    """
    h, w = alpha.shape
    n = h * w
    matrix = np.zeros((2 * n, 2 * n))
    rhs = np.zeros((2 * n, 3))
    for y in range(h):
        for x in range(w):
            i = y * w + x
            a = alpha[y, x]
            matrix[i, i] += a * a
            matrix[i, n + i] += a * (1 - a)
            matrix[n + i, i] += a * (1 - a)
            matrix[n + i, n + i] += (1 - a) ** 2
            rhs[i] = a * image[y, x]
            rhs[n + i] = (1 - a) * image[y, x]
            for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
                yn, xn = min(max(y + dy, 0), h - 1), min(max(x + dx, 0), w - 1)
                j = yn * w + xn
                if j == i:
                    continue
                weight = regularization + gradient_weight * abs(a - alpha[yn, xn])
                for offset in (0, n):
                    matrix[offset + i, offset + i] += weight
                    matrix[offset + i, offset + j] -= weight
    solution = np.linalg.solve(matrix, rhs)
    return solution[:n].reshape(h, w, 3), solution[n:].reshape(h, w, 3)


def test_ml_relaxation_converges_to_dense_solve_of_its_energy():
    """Many red-black sweeps on the finest level reach the level's least-squares solution."""
    scene = make_scene((9, 11), seed=3, softness=2.0)
    options = {"regularization": 0.05, "gradient_weight": 0.5}
    expected = _dense_ml_level(scene.image, scene.alpha, **options)
    for array in expected:  # the comparison is only meaningful if clipping never binds
        assert 0.0 < array.min() and array.max() < 1.0
    got = ml.estimate(scene.image, scene.alpha, small_size=64, small_iterations=3000, **options)
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_allclose(g, e, atol=1e-4)


@pytest.mark.parametrize("tile", [(8, 10), (16, 24)])
def test_ml_skipping_definite_tiles(monkeypatch, tile):
    """Tiles without mixed pixels are filled, not relaxed: F = I where alpha is 1, B = I where
    it is 0, the rest close to the full relaxation (measured max 0.0066, mean 0.00015)."""
    monkeypatch.setattr(ml, "TILE", tile)
    scene = make_scene((90, 120), seed=6, softness=2.0)
    options = {"regularization": 5e-3, "gradient_weight": 0.1}
    full = ml.estimate(scene.image, scene.alpha, skip_definite=False, **options)
    skipped = ml.estimate(scene.image, scene.alpha, **options)
    mixed = (scene.alpha > 0) & (scene.alpha < 1)
    assert 0.02 < mixed.mean() < 0.5
    for f, s in zip(full, skipped, strict=True):
        assert np.abs(f - s).max() < 0.02
        assert np.abs(f - s).mean() < 1e-3
    inside = scene.alpha == 1
    assert np.abs(skipped[0] - scene.image)[inside].max() < 0.02


@pytest.mark.parametrize("tile", [(16, 64), (96, 1024)])
def test_ml_blocks_side_by_side_equal_blocks_alone(monkeypatch, tile):
    """Relaxing a band's blocks of columns side by side in one packed tile (frame columns
    between them) gives bit for bit the results of relaxing each block alone."""
    monkeypatch.setattr(ml, "TILE", tile)
    rng = np.random.default_rng(11)
    image = rng.uniform(size=(70, 301, 3))
    alpha = np.zeros((70, 301))
    alpha[:, 150:] = 1.0
    # Soft spots more than 64 columns apart (ml._MERGE_GAP), so that a band has several runs
    # of columns to relax, one at the image's edge.
    for y, x in ((5, 10), (8, 120), (30, 200), (33, 297), (60, 140), (62, 40)):
        alpha[y - 2 : y + 3, x - 3 : x + 4] = rng.uniform(size=(5, 7))
    options = {"regularization": 5e-3, "gradient_weight": 0.1}
    grouped = ml.estimate(image, alpha, **options)
    tiles = []
    original = ml._groups

    def alone(blocks, halo, w, limit):
        for group in original(blocks, halo, w, limit):
            tiles.append(len(group))
            yield from ([block] for block in group)

    monkeypatch.setattr(ml, "_groups", alone)
    separate = ml.estimate(image, alpha, **options)
    assert max(tiles) > 1  # some tiles did hold several blocks
    for g, s in zip(grouped, separate, strict=True):
        np.testing.assert_array_equal(g, s)


@pytest.mark.parametrize("shape", [(20, 24), (7, 5)])
@pytest.mark.parametrize("sizes", [(9, 3), (4,), (30, 6)])
def test_blur_fusion_matches_loop_reference(shape, sizes):
    """Box filters by scipy.ndimage equal a loop over windows (even sizes, windows wider
    than the image with repeated mirroring)."""
    rng = np.random.default_rng(shape[0])
    image = rng.uniform(size=(*shape, 3))
    alpha = np.clip(rng.uniform(-0.3, 1.3, size=shape), 0, 1)
    expected = loop_blur_fusion(image, alpha, sizes)
    got = estimate_foreground_background(image, alpha, method="blur_fusion", blur_sizes=sizes)
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_allclose(g, e, atol=FLOAT32_ATOL)


@pytest.mark.parametrize(("method", "bound"), [("ml", 1e-5), ("cf", 2e-3), ("blur_fusion", 0.02)])
def test_two_colour_composite(soft_scene, method, bound):
    """Constant F over constant B through a soft alpha: F recovered where alpha > 0.05.

    Measured mean |F - F_true|: ml 6e-8 (the exact F, B are its fixed point), cf 4e-4,
    blur_fusion 0.0141 (its first pass averages the photograph, not F); the naive cutout 0.126.
    """
    h, w = soft_scene.alpha.shape
    true_f = np.broadcast_to([0.9, 0.2, 0.1], (h, w, 3))
    true_b = np.broadcast_to([0.1, 0.3, 0.8], (h, w, 3))
    a = soft_scene.alpha[:, :, None]
    image = a * true_f + (1 - a) * true_b
    foreground = estimate_foreground(image, soft_scene.alpha, method=method)
    soft = soft_scene.alpha > 0.05
    assert np.abs(foreground - true_f)[soft].mean() < bound
    assert np.abs(image - true_f)[soft].mean() > 0.12


@pytest.mark.parametrize("method", METHODS)
def test_progress_is_reported(method):
    """``progress(done, total)`` counts up to its total; ml reports every strip of rows."""
    scene = make_scene((300, 260), seed=4, softness=4.0)
    calls = []
    estimate_foreground(
        scene.image, scene.alpha, method=method, progress=lambda *c: calls.append(c)
    )
    assert calls
    dones, totals = zip(*calls, strict=True)
    if method == "cf":  # also after each CG iteration, with the channels finished so far
        assert list(dones) == sorted(dones) and dones[-1] == 3 and set(totals) == {3}
        assert sorted(set(dones)) == [0, 1, 2, 3] and len(calls) > 4
        return
    assert list(dones) == list(range(1, len(calls) + 1))
    assert set(totals) == {len(calls)}


@pytest.mark.parametrize("background", [False, True])
@pytest.mark.parametrize("method", METHODS)
def test_memory_estimate_covers_the_peak(method, background):
    """foreground_memory_bytes is above the traced peak (numpy reports to tracemalloc)."""
    import tracemalloc

    scene = make_scene((240, 320), seed=5, softness=8.0)
    function = estimate_foreground_background if background else estimate_foreground
    function(scene.image, scene.alpha, method=method)  # imports, caches
    tracemalloc.start()
    try:
        function(scene.image, scene.alpha, method=method)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    estimate = foreground_memory_bytes((240, 320), method, background=background)
    assert peak <= estimate <= 4 * peak + (40 << 20)


def test_cf_matches_direct_solve_of_full_system():
    """The active-set reduction and CG give the direct solution of the whole system."""
    scene = make_scene((18, 22), seed=1, softness=3.0)
    expected_f, expected_b = loop_foreground_cf(scene.image, scene.alpha)
    foreground, background = estimate_foreground_background(
        scene.image, scene.alpha, method="cf", rtol=1e-12
    )
    np.testing.assert_allclose(foreground, np.clip(expected_f, 0, 1), atol=1e-7)
    np.testing.assert_allclose(background, np.clip(expected_b, 0, 1), atol=1e-7)


def test_cf_without_soft_pixels_needs_no_solver():
    """A hard (0/1) alpha couples no pixels: F = I inside, B = I outside, exactly."""
    rng = np.random.default_rng(0)
    image = rng.uniform(size=(12, 14, 3))
    alpha = np.zeros((12, 14))
    alpha[3:9, 4:10] = 1.0
    foreground, background = estimate_foreground_background(image, alpha, method="cf")
    inside = alpha == 1
    np.testing.assert_allclose(foreground[inside], image[inside], atol=1e-6)
    np.testing.assert_allclose(background[~inside], image[~inside], atol=1e-6)


@pytest.mark.parametrize("function", [estimate_foreground, estimate_foreground_background])
def test_cf_warns_when_not_converged(soft_scene, function):
    with pytest.warns(ConvergenceWarning, match="foreground") as record:
        function(soft_scene.image, soft_scene.alpha, method="cf", maxiter=1)
    # The warning points at the caller's line, not into vecmatte.
    assert record[0].filename == __file__


def test_integer_inputs(soft_scene):
    image8 = np.round(soft_scene.image * 255).astype(np.uint8)
    alpha8 = np.round(soft_scene.alpha * 255).astype(np.uint8)
    got = estimate_foreground(image8, alpha8)
    expected = estimate_foreground(image8 / 255.0, alpha8 / 255.0)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("method", METHODS)
def test_foreground_alone_equals_foreground_of_both(soft_scene, method):
    alone = estimate_foreground(soft_scene.image, soft_scene.alpha, method=method)
    both = estimate_foreground_background(soft_scene.image, soft_scene.alpha, method=method)[0]
    np.testing.assert_array_equal(alone, both)


def test_constant_alpha_is_handled():
    """No definite foreground at all (alpha 0.5 everywhere): still finite colours."""
    rng = np.random.default_rng(1)
    image = rng.uniform(size=(10, 12, 3))
    for method in METHODS:
        foreground, background = estimate_foreground_background(
            image, np.full((10, 12), 0.5), method=method
        )
        assert np.all(np.isfinite(foreground))
        assert np.all(np.isfinite(background))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alpha": np.zeros((5, 6))}, r"alpha has shape \(5, 6\) but image has shape"),
        ({"method": "knn"}, "unknown foreground method 'knn'; choose one of ml, cf, blur_fusion"),
        ({"method": "blur_fusion", "blur_sizes": (90, 0)}, "blur_sizes must be a sequence"),
        ({"method": "blur_fusion", "blur_sizes": ()}, "blur_sizes must be a sequence"),
        ({"regularization": 0.0}, "regularization must be a positive number"),
        ({"gradient_weight": -1.0}, "gradient_weight must be non-negative"),
        ({"method": "cf", "rtol": 0.0}, r"rtol must lie in \[1e-15, 1\), got 0\.0"),
        ({"method": "cf", "rtol": 1}, r"rtol must lie in \[1e-15, 1\), got 1;"),
        ({"method": "cf", "maxiter": 0}, "maxiter must be an integer of at least 1"),
        ({"alpha": np.full((8, 9), 2.0)}, r"alpha has values in \[2, 2\]"),
    ],
)
def test_bad_input(kwargs, message):
    arguments = {"image": np.zeros((8, 9, 3)), "alpha": np.zeros((8, 9))}
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        estimate_foreground_background(arguments.pop("image"), arguments.pop("alpha"), **arguments)


# --- command line -------------------------------------------------------------------------------


def test_cli_alpha_writes_foreground_and_cutout(tmp_path, soft_scene, capsys):
    image = write_png(tmp_path / "image.png", soft_scene.image)
    trimap = write_png(tmp_path / "trimap.png", soft_scene.trimap)
    outputs = {name: tmp_path / f"{name}.png" for name in ("alpha", "fg", "cutout")}
    code = main(
        [
            "alpha",
            str(image),
            str(trimap),
            "-o",
            str(outputs["alpha"]),
            "--foreground",
            str(outputs["fg"]),
            "--cutout",
            str(outputs["cutout"]),
            "-q",
        ]
    )
    assert code == 0, capsys.readouterr().err
    with Image.open(outputs["fg"]) as file:
        assert file.mode == "RGB"
        foreground = np.asarray(file) / 255.0
    with Image.open(outputs["cutout"]) as file:
        assert file.mode == "RGBA"
        rgba = np.asarray(file) / 255.0
    np.testing.assert_allclose(rgba[:, :, :3], foreground, atol=1e-12)
    # The written foreground is the estimated one, not the photograph.
    where = soft_scene.alpha > 0.1
    error = np.abs(foreground - soft_scene.foreground)[where].mean()
    naive = np.abs(soft_scene.image - soft_scene.foreground)[where].mean()
    assert error < 0.5 * naive


def test_foreground_functions_share_their_defaults():
    # estimate_foreground and estimate_foreground_background spell out the same options.
    import inspect

    from vecmatte.foreground import estimate_foreground, estimate_foreground_background

    def defaults(function):
        parameters = inspect.signature(function).parameters.values()
        return {p.name: p.default for p in parameters if p.kind is p.KEYWORD_ONLY}

    assert defaults(estimate_foreground) == defaults(estimate_foreground_background)


def test_a_box_wider_than_twice_the_image_and_65536_is_refused():
    # Before: blur_sizes=(2**40,) raised MemoryError from SciPy's line buffer (as wide as the
    # box). No narrower box gives its result (the mirrored lines repeat with period
    # 2 (side - 1): a width's mean is its own), so it is refused rather than clamped.
    scene = make_scene((20, 30), seed=2)
    with pytest.raises(ValueError, match="blur_sizes must be at most 65536 ") as error:
        estimate_foreground(scene.image, scene.alpha, method="blur_fusion", blur_sizes=(2**40,))
    assert "\n" not in str(error.value) and "got 1099511627776" in str(error.value)
    widest = estimate_foreground(scene.image, scene.alpha, method="blur_fusion", blur_sizes=65536)
    assert np.isfinite(widest).all()
    # On a long image the bound is twice its larger side.
    strip = np.zeros((1, 40000, 3)), np.zeros((1, 40000))
    with pytest.raises(ValueError, match="at most 80000 "):
        estimate_foreground(*strip, method="blur_fusion", blur_sizes=(6, 80001))


@pytest.mark.parametrize("sizes", [(True, 6), {90, 6}, frozenset({9}), {"a": 9}, (9, None)])
def test_blur_sizes_that_are_no_ordered_whole_numbers_are_refused(sizes):
    # Before: True was read as a box of 1 and a set in its iteration order (no order is
    # given); a dict gave its keys.
    scene = make_scene((20, 30), seed=2)
    with pytest.raises(ValueError, match="blur_sizes must be a sequence of positive whole"):
        estimate_foreground(scene.image, scene.alpha, method="blur_fusion", blur_sizes=sizes)


def test_blur_sizes_of_every_kind_of_whole_number_are_taken():
    # Before: (9.0, 6.0) and a 0-d array were refused, while np.int64(9) and 9 were taken.
    scene = make_scene((20, 30), seed=2)
    expected = estimate_foreground(
        scene.image, scene.alpha, method="blur_fusion", blur_sizes=(9, 6)
    )
    for sizes in [(9.0, 6.0), [np.array(9), np.float32(6)], np.array([9, 6]), range(9, 5, -3)]:
        got = estimate_foreground(scene.image, scene.alpha, method="blur_fusion", blur_sizes=sizes)
        np.testing.assert_array_equal(got, expected)
