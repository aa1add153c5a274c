"""Session 11, speed of the ML foreground and the cutout: the faster paths give the same bits.

- small tiles are relaxed by ``_fused_sweeps`` (fewer, larger NumPy calls); it must give
  exactly what the per-term half-sweep gives, which the plain-loop reference tests check;
- ``cutout`` with a given float foreground copies channel by channel in blocks of rows and
  still refuses a NaN or a value beyond [0, 1] in one line;
- the shim's ``stack_images`` builds PyMatting's ``np.concatenate`` result channel by channel.
"""

from __future__ import annotations

import numpy as np
import pytest
from reference import loop_foreground_ml

import vecmatte
from vecmatte.compat import pymatting as shim
from vecmatte.foreground import _red_black, ml

FLOAT32_ATOL = 2e-5


def _scene(shape, seed):
    rng = np.random.default_rng(seed)
    image = rng.uniform(size=(*shape, 3))
    alpha = np.clip(rng.uniform(-0.4, 1.4, size=shape), 0, 1)
    return image, alpha


@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (7, 5), (20, 33), (40, 44)])
@pytest.mark.parametrize("options", [{}, {"regularization": 1e-5, "gradient_weight": 1.0}])
def test_fused_half_sweeps_give_the_per_term_bits(monkeypatch, shape, options):
    """Every tile through the fused path, then every tile through the per-term one: equal."""
    image, alpha = _scene(shape, sum(shape))
    weights = {"regularization": 5e-3, "gradient_weight": 0.1, **options}
    monkeypatch.setattr(_red_black, "_FUSED_CELLS", 10**9)
    fused = ml.estimate(image, alpha, **weights)
    monkeypatch.setattr(_red_black, "_FUSED_CELLS", -1)
    per_term = ml.estimate(image, alpha, **weights)
    for a, b in zip(fused, per_term, strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("shape", [(9, 13), (33, 17)])
def test_fused_half_sweeps_match_the_loop_reference(monkeypatch, shape):
    """Fused small levels and (with small_size=4) fused tiles of the big levels."""
    monkeypatch.setattr(ml, "TILE", (4, 6))
    image, alpha = _scene(shape, 7)
    options = {"regularization": 1e-2, "gradient_weight": 0.5}
    expected = loop_foreground_ml(image, alpha, small_size=4, **options)
    got = ml.estimate(image, alpha, small_size=4, **options)
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_allclose(g, e, atol=FLOAT32_ATOL)


def test_tile_grids_are_shared_and_unchanged_by_use():
    grid = _red_black.tile_grid(10, (7, 5))
    assert _red_black.tile_grid(10, (7, 5)) is grid
    fresh = _red_black.Grid(10, [7, 5])
    assert (grid.starts, grid.width, grid.pairs) == (fresh.starts, fresh.width, fresh.pairs)
    assert grid.frames == fresh.frames


@pytest.mark.parametrize("shape", [(1, 1), (5, 7), (300, 200)])  # 300 rows: several blocks
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cutout_with_a_foreground_is_the_concatenation(shape, dtype):
    image, alpha = _scene(shape, 3)
    foreground = image[::-1].astype(dtype)  # not the photograph, and of another dtype
    got = vecmatte.cutout(image.astype(dtype), alpha.astype(dtype), foreground)
    expected = np.concatenate([foreground, alpha.astype(dtype)[:, :, None]], axis=2)
    assert got.dtype == np.float64
    assert np.array_equal(got, expected.astype(np.float64))


@pytest.mark.parametrize("where", ["foreground", "alpha"])
@pytest.mark.parametrize("value", [np.nan, -0.5, 1.5, np.inf])
def test_cutout_still_refuses_bad_values_in_one_line(where, value):
    image, alpha = _scene((300, 20), 4)  # the bad value in the last block of rows
    foreground = image.copy()
    if where == "alpha":
        alpha[-1, -1] = value
    else:
        foreground[-1, -1, 2] = value
    with pytest.raises(ValueError, match=where) as caught:
        vecmatte.cutout(image, alpha, foreground)
    assert "\n" not in str(caught.value)


def test_cutout_image_fast_path_still_refuses_an_empty_image():
    with pytest.raises(ValueError, match="image is empty"):
        vecmatte.cutout(np.zeros((0, 4, 3)), np.zeros((0, 4)), np.zeros((0, 4, 3)))


@pytest.mark.parametrize(
    "arrays",
    [
        [(300, 40, 3), (300, 40)],  # several blocks of rows
        [(5, 7, 3), (5, 7, 1), (5, 7)],
        [(4, 3)],
        [(6, 5, 2), (6, 5, 4)],
    ],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.uint8])
def test_stack_images_is_numpys_concatenation(arrays, dtype):
    rng = np.random.default_rng(5)
    images = [
        (rng.uniform(size=shape) * (255 if dtype == np.uint8 else 1)).astype(dtype)
        for shape in arrays
    ]
    got = shim.stack_images(*images)
    expected = np.concatenate([a if a.ndim == 3 else a[:, :, None] for a in images], axis=2)
    assert got.dtype == expected.dtype
    assert got.flags.c_contiguous
    assert np.array_equal(got, expected)


def test_stack_images_of_mixed_types_scales_the_integers():
    foreground = np.full((3, 4, 3), 0.25, np.float32)
    alpha = np.full((3, 4), 255, np.uint8)
    got = shim.stack_images(foreground, alpha)
    assert got.dtype == np.float32
    assert np.array_equal(got[:, :, 3], np.ones((3, 4), np.float32))


def test_stack_images_of_float32_and_float64_is_numpys_concatenation():
    """Float arrays of two widths are no longer converted first (as_float copied a float32
    image to float64 and back): the same float64 result as NumPy's."""
    rng = np.random.default_rng(6)
    foreground = rng.uniform(size=(7, 9, 3)).astype(np.float32)
    alpha = rng.uniform(size=(7, 9))
    got = shim.stack_images(foreground, alpha)
    expected = np.concatenate([foreground, alpha[:, :, None]], axis=2)
    assert got.dtype == np.float64
    assert np.array_equal(got, expected)


def test_stack_images_keeps_numpys_order_and_error():
    """Fortran-ordered images give NumPy's Fortran-ordered result, no image NumPy's error
    (the channel-by-channel copy first gave a C-ordered result and an IndexError)."""
    foreground = np.asfortranarray(np.full((64, 65, 3), 0.5))  # above _CHANNELWISE_PIXELS
    alpha = np.asfortranarray(np.full((64, 65), 0.25))
    got = shim.stack_images(foreground, alpha)
    expected = np.concatenate([foreground, alpha[:, :, None]], axis=2)
    assert (got.flags.c_contiguous, got.flags.f_contiguous) == (
        expected.flags.c_contiguous,
        expected.flags.f_contiguous,
    )
    assert np.array_equal(got, expected)
    with pytest.raises(ValueError, match="at least one array"):
        shim.stack_images()
