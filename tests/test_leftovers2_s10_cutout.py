"""cutout with a given float foreground: copied and checked a block of rows at a time."""

import numpy as np
import pytest

from vecmatte import cutout


def _reference(foreground, alpha):
    """The cutout as a plain concatenation of float64 copies."""
    colours = np.asarray(foreground, dtype=np.float64)
    return np.concatenate([colours, np.asarray(alpha, dtype=np.float64)[:, :, None]], axis=2)


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (2000, 7), (3, 9000)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_cutout_is_the_concatenation(shape, dtype):
    rng = np.random.default_rng(0)
    foreground = rng.random((*shape, 3)).astype(dtype)
    alpha = rng.random(shape).astype(dtype)
    alpha.flat[0], foreground.flat[-1] = 1.0, 0.0
    image = np.full((*shape, 3), np.nan)  # its values are not read
    rgba = cutout(image, alpha, foreground)
    assert rgba.dtype == np.float64 and rgba.flags.c_contiguous
    assert rgba.tobytes() == _reference(foreground, alpha).tobytes()


def test_cutout_of_fortran_ordered_arrays_and_a_one_channel_alpha():
    rng = np.random.default_rng(1)
    foreground = np.asfortranarray(rng.random((40, 30, 3)))
    alpha = rng.random((40, 30, 1))
    rgba = cutout(np.zeros((40, 30, 3)), alpha, foreground)
    assert rgba.tobytes() == _reference(foreground, alpha[:, :, 0]).tobytes()


def test_negative_zero_is_in_range():
    foreground = np.full((4, 5, 3), -0.0)
    alpha = np.full((4, 5), -0.0)
    rgba = cutout(np.zeros((4, 5, 3)), alpha, foreground)
    assert rgba.tobytes() == _reference(foreground, alpha).tobytes()


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, -1e-300, 1.0000001, -np.nan])
@pytest.mark.parametrize("name", ["alpha", "foreground"])
@pytest.mark.parametrize("where", [0, -1])  # the first block or the last of many
def test_a_bad_value_is_named_in_any_block(bad, name, where):
    rng = np.random.default_rng(2)
    arrays = {"foreground": rng.random((3000, 40, 3)), "alpha": rng.random((3000, 40))}
    arrays[name][where, -1] = bad
    expected = "contains NaN or infinite values" if not np.isfinite(bad) else r"has values in \["
    with pytest.raises(ValueError, match=rf"^{name} {expected}"):
        cutout(np.zeros((3000, 40, 3)), arrays["alpha"], arrays["foreground"])


def test_alpha_is_named_first_when_both_are_bad():
    foreground = np.full((5, 6, 3), 2.0)
    alpha = np.full((5, 6), np.nan)
    with pytest.raises(ValueError, match=r"^alpha contains NaN"):
        cutout(np.zeros((5, 6, 3)), alpha, foreground)


def test_levels_and_a_wrong_size_are_handled_as_before():
    alpha = np.full((5, 6), 255, dtype=np.uint8)
    foreground = np.full((5, 6, 3), 0.5)
    assert np.all(cutout(np.zeros((5, 6, 3)), alpha, foreground)[:, :, 3] == 1.0)
    with pytest.raises(ValueError, match="foreground"):
        cutout(np.zeros((5, 6, 3)), alpha, foreground[:4])
