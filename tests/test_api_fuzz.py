"""Fuzzed images and trimaps for every alpha and foreground method: each call returns finite
values in [0, 1] of the right shape, or raises one ValueError/TypeError line raised by
vecmatte itself (so it names the argument), never a traceback from deep inside NumPy/SciPy.

tests/test_robustness_inputs.py covers legal but unusual images and trimaps on a fixed
24 x 32 scene; this file draws the shapes (empty, 1 x 1, 1 x N, one channel, four), the
broken pixels (NaN, infinities, values outside [0, 1]) and the trimaps (all known, all
unknown, one unknown pixel, values outside [0, 1]) at random."""

from __future__ import annotations

import traceback
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vecmatte
from vecmatte import METHODS, estimate_alpha, estimate_foreground_background
from vecmatte.alpha import NoUnknownPixelsWarning

PACKAGE = Path(vecmatte.__file__).resolve().parent
FOREGROUND_METHODS = ["ml", "cf", "blur_fusion"]
#: lkm's default window is 21 x 21; at radius 1 it also runs on the small images drawn here.
OPTIONS = {"lkm": {"radius": 1}}

BAD_VALUES = [np.nan, np.inf, -np.inf, -0.25, 1.5]
DTYPES = ["float64", "float64", "float32", "uint8", "uint16", "bool"]
TRIMAP_KINDS = ["random", "all known", "all unknown", "one unknown", "one known", "flat"]


@st.composite
def pictures(draw):
    """``(image, trimap)``: image (h, w), (h, w, 1), (h, w, 3) or (h, w, 4); trimap (h, w),
    (h, w, 1) or (h, w, 3); each of the dtypes a user may hand in."""
    height = draw(st.sampled_from([0, 1, 2, 3, 5, 7, 8, 8]))
    width = draw(st.sampled_from([0, 1, 3, 4, 6, 9, 10, 10]))
    channels = draw(st.sampled_from([None, 1, 3, 3, 3, 3, 4]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    shape = (height, width) if channels is None else (height, width, channels)
    image = rng.random(shape)
    if image.size and draw(st.integers(0, 4)) == 0:
        image.flat[draw(st.integers(0, image.size - 1))] = draw(st.sampled_from(BAD_VALUES))
    trimap = _trimap(draw(st.sampled_from(TRIMAP_KINDS)), (height, width), rng)
    if trimap.size and draw(st.integers(0, 4)) == 0:
        trimap.flat[draw(st.integers(0, trimap.size - 1))] = draw(st.sampled_from(BAD_VALUES))
    trimap_channels = draw(st.sampled_from([None, None, None, 1, 3]))
    if trimap_channels is not None:
        trimap = np.repeat(trimap[..., None], trimap_channels, axis=-1)
    return _as(image, draw(st.sampled_from(DTYPES))), _as(trimap, draw(st.sampled_from(DTYPES)))


def _as(array: np.ndarray, dtype: str) -> np.ndarray:
    """``array`` (floats, maybe out of range) in ``dtype`` as a user would have it."""
    if dtype == "bool":
        return array > 0.5
    if dtype in ("uint8", "uint16"):
        top = np.iinfo(dtype).max
        with np.errstate(invalid="ignore"):
            return np.round(np.nan_to_num(np.clip(array, 0, 1)) * top).astype(dtype)
    return array.astype(dtype)


def _trimap(kind: str, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    if kind == "random":
        return rng.choice([0.0, 0.5, 1.0], size=shape)
    if kind == "flat":
        return np.full(shape, rng.choice([0.0, 0.5, 1.0]))
    trimap = (np.arange(shape[0] * shape[1]).reshape(shape) % 2).astype(np.float64)
    if kind == "all unknown":
        trimap[:] = 0.5
    elif kind == "one unknown" and trimap.size:
        trimap.flat[rng.integers(trimap.size)] = 0.5
    elif kind == "one known" and trimap.size:
        known = rng.integers(trimap.size)
        trimap[:] = 0.5
        trimap.flat[known] = rng.choice([0.0, 1.0])
    return trimap


def _outcome(call) -> tuple[object, BaseException | None]:
    """The call's result, or the ValueError/TypeError it raised; other errors propagate.

    Only vecmatte's own warnings may come (a trimap without unknown pixels); any other would
    be an error of the suite's warnings filter anyway.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", NoUnknownPixelsWarning)
        try:
            return call(), None
        except (ValueError, TypeError) as error:
            return None, error


def _check_refusal(error: BaseException) -> None:
    message = str(error)
    assert message and "\n" not in message, repr(message)
    raised_in = Path(traceback.extract_tb(error.__traceback__)[-1].filename).resolve()
    assert PACKAGE in raised_in.parents, f"raised in {raised_in}: {message}"


def _check_values(array: np.ndarray, shape: tuple[int, ...]) -> None:
    assert array.shape == shape
    assert np.isfinite(array).all()
    assert array.min(initial=0.0) >= 0.0 and array.max(initial=1.0) <= 1.0


@pytest.mark.parametrize("method", list(METHODS))
@settings(max_examples=30)
@given(picture=pictures())
def test_every_alpha_method_returns_a_matte_or_names_the_problem(method, picture):
    image, trimap = picture
    alpha, error = _outcome(
        lambda: estimate_alpha(image, trimap, method=method, **OPTIONS.get(method, {}))
    )
    if error is not None:
        _check_refusal(error)
        return
    _check_values(alpha, trimap.shape[:2])


@pytest.mark.parametrize("method", FOREGROUND_METHODS)
@settings(max_examples=30)
@given(picture=pictures(), alpha_is_trimap=st.booleans())
def test_every_foreground_method_returns_colours_or_names_the_problem(
    method, picture, alpha_is_trimap
):
    image, trimap = picture
    alpha = trimap if alpha_is_trimap else np.random.default_rng(0).random(trimap.shape[:2])
    result, error = _outcome(lambda: estimate_foreground_background(image, alpha, method=method))
    if error is not None:
        _check_refusal(error)
        return
    for colours in result:
        _check_values(colours, (*alpha.shape[:2], 3))


@pytest.mark.parametrize(
    "pixel", [[np.inf] * 3, [np.inf, 0.0, 0.0], [np.nan, 0.5, 0.5], [np.inf, -np.inf, 0.5]]
)
def test_an_rgb_trimap_with_nan_or_infinity_is_named_as_such(pixel):
    # Found by the fuzz above: the colour check came first, and said inf - inf with NumPy's
    # RuntimeWarning, or called one infinite channel 'colour'.
    image = np.random.default_rng(1).random((6, 9, 3))
    trimap = np.repeat(_trimap("one unknown", (6, 9), np.random.default_rng(2))[..., None], 3, -1)
    trimap[2, 3] = pixel
    with pytest.raises(ValueError, match=r"^trimap contains NaN or infinite values$"):
        estimate_alpha(image, trimap)
    assert vecmatte.trimap.coloured_fraction(trimap[2:3, 3:4]) in (0.0, 1.0)
