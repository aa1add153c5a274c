"""Session 11 (second round), speed of the ML foreground: the shortcuts give the same bits.

- clipping calls NumPy's clip ufunc directly (``_red_black._CLIP``), not ``ndarray.clip``;
- a 1 x 1 tile (the coarsest level) relaxes only its red colour: its black cells are frame
  cells, rewritten by the mirror copies before the red pixel reads them;
- small tiles keep their packed arrays and views per thread and grid: later calls give the
  bits of a first call, and the grids kept stay bounded.
"""

from __future__ import annotations

import numpy as np
import pytest
from reference import loop_foreground_ml

from vecmatte.foreground import _red_black, ml

FLOAT32_ATOL = 2e-5


def test_clip_ufunc_gives_the_method_bits():
    rng = np.random.default_rng(3)
    values = rng.uniform(-0.5, 1.5, size=(6, 301)).astype(np.float32)
    values[0, :3] = [np.nan, np.inf, -np.inf]
    expected = values.clip(_red_black._ZERO_ARRAY, _red_black._ONE_ARRAY)
    got = values.copy()
    _red_black._CLIP(got, _red_black._ZERO_ARRAY, _red_black._ONE_ARRAY, got)
    assert got.dtype == expected.dtype
    assert np.array_equal(got, expected, equal_nan=True)


def _both_colours(packed, grid, iterations, regularization, weight):
    """The relaxation of a small tile with both colours' half-sweeps (as before the 1 x 1
    shortcut), from the module's own steps."""
    colours, alphas, images = packed
    for colour in (0, 1):
        views = _red_black._mirror_views(alphas[colour], alphas[1 - colour], grid, colour)
        for destination, origin in views:
            destination[...] = origin
    weights = _red_black._edge_weights(alphas, grid, regularization, weight)
    sweeps = []
    for colour in (0, 1):
        operator = _red_black._level_operator(alphas, images, grid, colour, weights[colour])
        operator = (weights[colour], *operator)
        target, source = colours[colour], colours[1 - colour]
        views, loads = _red_black._fused_views(target, source, grid, colour)
        _red_black._load_operator(loads, operator)
        sweeps.append(views)
    _red_black._fused_sweeps(sweeps, iterations)
    return colours


@pytest.mark.parametrize("iterations", [1, 2, 10])
@pytest.mark.parametrize("weights", [(5e-3, 0.1), (1e-5, 1.0)])
def test_single_pixel_tile_gives_the_both_colours_bits(iterations, weights):
    rng = np.random.default_rng(iterations)
    band = rng.uniform(size=(10, 1, 1)).astype(np.float32)
    regularization, weight = (np.float32(w) for w in weights)
    grid = _red_black.tile_grid(1, (1,))
    results = []
    for relax in (_red_black.relax, _both_colours):
        red, black = _red_black.pack(band, [(0, 1)], grid)
        packed = tuple([red[part], black[part]] for part in ml._PARTS)
        colours = relax(packed, grid, iterations, regularization, weight)
        out = np.empty((6, 1, 1), np.float32)
        _red_black.unpack(colours, grid, (0, 1), (0, 1), out)
        results.append(out)
    assert np.array_equal(results[0], results[1])


@pytest.mark.parametrize("shape", [(1, 1), (1, 2), (2, 1), (3, 3)])
def test_tiny_images_match_the_loop_reference(shape):
    rng = np.random.default_rng(sum(shape))
    image = rng.uniform(size=(*shape, 3))
    alpha = np.clip(rng.uniform(-0.4, 1.4, size=shape), 0, 1)
    options = {"regularization": 1e-2, "gradient_weight": 0.5}
    expected = loop_foreground_ml(image, alpha, **options)
    got = ml.estimate(image, alpha, **options)
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_allclose(g, e, atol=FLOAT32_ATOL)


def test_kept_arrays_give_the_bits_of_a_first_call():
    """Small tiles keep their arrays and views between calls: calls on other sizes, with
    other weights and foreground only in between do not change a later call's bits."""
    rng = np.random.default_rng(11)
    scenes = []
    for shape in [(30, 29), (17, 40), (64, 48)]:
        image = rng.uniform(size=(*shape, 3))
        scenes.append((image, np.clip(rng.uniform(-0.4, 1.4, size=shape), 0, 1)))
    _red_black._LOCAL.__dict__.clear()  # this thread's kept arrays: none yet
    first = [ml.estimate(i, a, regularization=5e-3, gradient_weight=0.1) for i, a in scenes]
    ml.estimate(*scenes[1], regularization=1e-5, gradient_weight=1.0, background=False)
    again = [ml.estimate(i, a, regularization=5e-3, gradient_weight=0.1) for i, a in scenes]
    for before, after in zip(first, again, strict=True):
        for x, y in zip(before, after, strict=True):
            assert np.array_equal(x, y)


def test_kept_grids_are_bounded():
    # ml's small levels go by _flat since 92186a4, so the kept arrays are those of small
    # tiles packed directly (as ml's band path packs them): a new grid each side.
    rng = np.random.default_rng(5)
    sizes = []
    for side in range(2, 2 + 3 * _red_black._KEPT_GRIDS):
        grid = _red_black.tile_grid(side, (3,))
        band = rng.uniform(size=(3, side, 3)).astype(np.float32)
        _red_black.pack(band, [(0, 3)], grid)
        sizes.append(len(_red_black._LOCAL.grids))
        assert sizes[-1] <= _red_black._KEPT_GRIDS
    assert max(sizes) == _red_black._KEPT_GRIDS  # the store was used, and filled
