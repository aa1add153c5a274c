"""Session 12, the ML foreground on small images: the small levels relaxed all together with
one-dimensional calls (``vecmatte.foreground._flat``) give the packed tiles' bits.

- every small level's colours equal those of ``_red_black``'s packed tiles (an independent
  vectorisation: strided views, mirror copies, a level at a time), bit for bit, on shapes
  down to 1 x 1 and one-pixel rows and columns, and the plain float64 loop's to float32
  rounding;
- the kept arrays (per thread and plan) give a first call's bits on later calls, for
  interleaved sizes and from other threads, and stay bounded;
- the small levels no longer go through the packed tiles, nor the first big level if it
  has at most ``ml.FLAT`` pixels (relaxed whole, then filled as its bands would be);
- big levels of up to ``ml.WHOLE_LEVEL`` pixels are gathered once (one tile, or band by
  band from views); ``ml._active_runs`` equals a column loop.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from reference import loop_foreground_ml

from vecmatte.foreground import _flat, _red_black, ml
from vecmatte.synthetic import make_scene

FLOAT32_ATOL = 2e-5
_PARTS = (slice(4, 10), slice(3, 4), slice(0, 3))  # colours, alpha, image (relax's order)


def _packed_levels(image, alpha, regularization, weight, small_size=32, iterations=10):
    """The small levels as the packed tiles relax them, one level at a time: the last small
    level's colours ``(6, h, w)``."""
    h0, w0 = alpha.shape
    colours = ml._starting_colours(image, alpha)
    for h, w, small, _ in ml._schedule(h0, w0, small_size, iterations, 2):
        if not small:
            break
        rows, columns = ml._nearest(h, h0), ml._nearest(w, w0)
        band = np.empty((10, h, w), np.float32)
        band[:3] = np.moveaxis(image[rows][:, columns], 2, 0)
        band[3] = alpha[rows][:, columns]
        previous_rows = ml._nearest(h, colours.shape[1])
        previous_columns = ml._nearest(w, colours.shape[2])
        band[4:] = colours[:, previous_rows][:, :, previous_columns]
        grid = _red_black.tile_grid(h, (w,))
        red, black = _red_black.pack(band, [(0, w)], grid)
        packed = tuple([red[part], black[part]] for part in _PARTS)
        relaxed = _red_black.relax(packed, grid, iterations, regularization, weight)
        colours = np.empty((6, h, w), np.float32)
        _red_black.unpack(relaxed, grid, (0, h), (0, w), colours)
    return colours


def _flat_levels(image, alpha, regularization, weight, small_size=32, iterations=10):
    h0, w0 = alpha.shape
    shapes = tuple(
        (h, w) for h, w, small, _ in ml._schedule(h0, w0, small_size, iterations, 2) if small
    )
    start = ml._starting_colours(image, alpha)
    plan = _flat.plan(h0, w0, shapes)
    colours, _ = _flat.relax_levels(
        plan, image, alpha, start, [iterations] * len(shapes), regularization, weight
    )
    return colours


SHAPES = [(1, 1), (1, 2), (2, 1), (3, 5), (1, 17), (23, 1), (8, 8), (17, 9), (32, 32), (31, 45)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("weights", [(5e-3, 0.1), (1e-5, 1.0), (1e-2, 0.0)])
def test_flat_levels_give_the_packed_tiles_bits(shape, weights):
    rng = np.random.default_rng(sum(shape) + int(weights[1] * 10))
    image = rng.uniform(size=(*shape, 3))
    alpha = np.clip(rng.uniform(-0.4, 1.4, size=shape), 0, 1)
    regularization, weight = (np.float32(w) for w in weights)
    for small_size, iterations in ((32, 10), (4, 3)):
        expected = _packed_levels(image, alpha, regularization, weight, small_size, iterations)
        got = _flat_levels(image, alpha, regularization, weight, small_size, iterations)
        assert got.dtype == np.float32
        assert got.tobytes() == expected.tobytes()


@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (7, 1), (12, 9), (20, 31)])
def test_small_images_match_the_loop_reference(shape):
    """Images whose every level is small: the whole estimate comes from the flat levels."""
    scene = make_scene(shape, seed=sum(shape), softness=2.0)
    options = {"regularization": 1e-2, "gradient_weight": 0.5}
    expected = loop_foreground_ml(scene.image, scene.alpha, **options)
    got = ml.estimate(scene.image, scene.alpha, **options)
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_allclose(g, e, atol=FLOAT32_ATOL)


def test_small_levels_skip_the_packed_tiles(monkeypatch):
    """Only the big levels past the first (here 128 x 128) go through the packed tiles."""
    scene = make_scene((128, 128), seed=4)
    expected = ml.estimate(scene.image, scene.alpha, regularization=5e-3, gradient_weight=0.1)
    sizes = []
    relax = _red_black.relax

    def counting(packed, grid, *args):
        sizes.append((grid.rows, grid.n))
        return relax(packed, grid, *args)

    monkeypatch.setattr(ml, "relax", counting)
    got = ml.estimate(scene.image, scene.alpha, regularization=5e-3, gradient_weight=0.1)
    assert sizes and all(n > 64 for _, n in sizes)  # blocks of the 128 x 128 level only
    for e, g in zip(expected, got, strict=True):
        assert e.tobytes() == g.tobytes()
    sizes.clear()
    small = make_scene((32, 20), seed=4)
    ml.estimate(small.image, small.alpha, regularization=5e-3, gradient_weight=0.1)
    assert sizes == []


def test_kept_arrays_give_a_first_calls_bits():
    """Interleaved sizes, repeated calls and another thread: each call its own bits."""
    scenes = [make_scene(shape, seed=k) for k, shape in enumerate([(32, 32), (17, 30), (32, 32)])]
    options = {"regularization": 1e-5, "gradient_weight": 1.0}
    _flat._LOCAL.__dict__.clear()
    first = [ml.estimate(s.image, s.alpha, **options) for s in scenes]
    again = [ml.estimate(s.image, s.alpha, **options) for s in reversed(scenes)][::-1]
    other = []
    thread = threading.Thread(
        target=lambda: other.extend(ml.estimate(s.image, s.alpha, **options) for s in scenes)
    )
    thread.start()
    thread.join()
    for a, b, c in zip(first, again, other, strict=True):
        for x, y, z in zip(a, b, c, strict=True):
            assert x.tobytes() == y.tobytes() == z.tobytes()
    assert first[0][0].tobytes() != first[1][0].tobytes()


def test_kept_plans_stay_bounded():
    _flat._LOCAL.__dict__.clear()
    rng = np.random.default_rng(0)
    for side in range(2, 2 + 3 * _flat._KEPT_PLANS):
        ml.estimate(
            rng.uniform(size=(side, 5, 3)),
            rng.uniform(size=(side, 5)),
            regularization=5e-3,
            gradient_weight=0.1,
        )
        assert len(_flat._LOCAL.plans) <= _flat._KEPT_PLANS


def _runs_by_columns(mixed, halo):
    """The runs of ``ml._active_runs`` column by column: active where a mixed pixel is within
    ``halo`` columns, contiguous ranges merged across gaps under ``ml._MERGE_GAP``."""
    w = mixed.shape[1]
    columns = [bool(mixed[:, max(0, j - halo) : j + halo + 1].any()) for j in range(w)]
    raw, j = [], 0
    while j < w:
        if columns[j]:
            end = j
            while end < w and columns[end]:
                end += 1
            raw.append((j, end))
            j = end
        else:
            j += 1
    runs = []
    for start, end in raw:
        if runs and start - runs[-1][1] < ml._MERGE_GAP:
            runs[-1] = (runs[-1][0], end)
        else:
            runs.append((start - start % 2, end))
    return runs


def test_active_runs_match_a_column_loop():
    rng = np.random.default_rng(12)
    for _ in range(400):
        h, w = int(rng.integers(1, 9)), int(rng.integers(1, 300))
        mixed = rng.random((h, w)) < rng.choice([0.0, 0.002, 0.02, 0.2])
        halo = int(rng.choice([0, 1, 4, 9]))
        assert ml._active_runs(mixed, halo) == _runs_by_columns(mixed, halo)


@pytest.mark.parametrize("shape", [(64, 64), (100, 120), (128, 128), (70, 200)])
@pytest.mark.parametrize("band", [1, 6])
def test_levels_at_once_give_the_bands_bits(monkeypatch, shape, band):
    """Big levels of up to WHOLE_LEVEL pixels, as one tile or band by band from one gather,
    give the bits of the bands gathered one by one (WHOLE_LEVEL 0)."""
    scene = make_scene(shape, seed=band, softness=2.0, band=band)
    options = {"regularization": 5e-3, "gradient_weight": 0.1}
    results = []
    for whole, tile_pixels in ((0, 2000), (ml.WHOLE_LEVEL, 0), (ml.WHOLE_LEVEL, 10**9)):
        monkeypatch.setattr(ml, "WHOLE_LEVEL", whole)
        monkeypatch.setattr(ml, "_TILE_PIXELS", tile_pixels)
        results.append(ml.estimate(scene.image, scene.alpha, **options))
        results.append(ml.estimate(scene.image, scene.alpha, skip_definite=False, **options))
    for k, got in enumerate(results[2:], 2):
        for e, g in zip(results[k % 2], got, strict=True):
            assert e.tobytes() == g.tobytes()


@pytest.mark.parametrize("shape", [(64, 64), (50, 80), (70, 40), (128, 96), (37, 5)])
@pytest.mark.parametrize("tile", [(96, 1024), (8, 16)])
def test_flat_levels_give_the_tiles_bits(monkeypatch, shape, tile):
    """The flat levels (small ones and the first big one up to FLAT pixels, filled band by
    band) give the bits of the packed tiles (FLAT 0), progress reports included."""
    monkeypatch.setattr(ml, "TILE", tile)
    scene = make_scene(shape, seed=shape[1], softness=2.0, band=2)
    options = {"regularization": 1e-5, "gradient_weight": 1.0}
    results, reports = [], []
    for flat in (0, ml.FLAT):
        monkeypatch.setattr(ml, "FLAT", flat)
        for skip in (True, False):
            seen = []
            kwargs = {"skip_definite": skip, "progress": lambda *done, seen=seen: seen.append(done)}
            results.append(ml.estimate(scene.image, scene.alpha, **options, **kwargs))
            results.append(ml.estimate(scene.image, scene.alpha, small_size=100, **options))
            reports.append(seen)
    for k, got in enumerate(results[4:]):
        for e, g in zip(results[k], got, strict=True):
            assert e.tobytes() == g.tobytes()
    assert reports[:2] == reports[2:]


@pytest.mark.parametrize(
    ("h", "w", "before"), [(64, 128, (32, 64)), (9, 7, (3, 7)), (20, 30, (11, 13))]
)
def test_band_upsamples_as_an_index(h, w, before):
    """_band's starting colours (strided copies when each column repeats a whole number of
    times) are the previous level's at the nearest-neighbour indices."""
    rng = np.random.default_rng(h)
    image, alpha = rng.uniform(size=(h, w, 3)), rng.uniform(size=(h, w))
    colours = rng.uniform(size=(6, *before)).astype(np.float32)
    rows, columns = ml._nearest(h, before[0]), ml._nearest(w, before[1])
    level = (None, ml._nearest(w, w), colours, rows, columns)
    for top, bottom in ((0, h), (2, h - 1)):
        band = ml._band((image, alpha), level, top, bottom)
        expected = colours[:, rows[top:bottom]][:, :, columns]
        assert band[4:].tobytes() == expected.tobytes()
        assert band[3].tobytes() == alpha[top:bottom].astype(np.float32).tobytes()
