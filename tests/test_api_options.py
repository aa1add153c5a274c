"""Odd option values for the public array functions other than the solve (whose options
tests/test_option_ranges.py covers): each call returns, or raises one ValueError/TypeError
line raised inside vecmatte, never NumPy's or Python's own error or a RuntimeWarning."""

from __future__ import annotations

import re
import traceback
import warnings
from pathlib import Path

import numpy as np
import pytest

import vecmatte
from vecmatte import compose, foreground, metrics
from vecmatte import trimap as trimaps
from vecmatte.linalg.cg import ConvergenceWarning

PACKAGE = Path(vecmatte.__file__).resolve().parent

VALUES = [
    0,
    1,
    -1,
    0.5,
    3.0,
    float("nan"),
    float("inf"),
    -float("inf"),
    1e300,
    10**400,
    1e-300,
    5e-324,
    "x",
    "1",
    None,
    True,
    np.float16(0.5),
    np.float32(1e-7),
    np.array(2),
    np.array([2]),
    [1],
    (),
    (1, 2),
    1 + 0j,
    np.uint8(3),
    2**63,
]


def _pictures():
    rng = np.random.default_rng(0)
    image = rng.random((12, 15, 3))
    alpha = np.clip(np.linspace(1.3, -0.3, 15), 0, 1)[None].repeat(12, axis=0)
    scribbled = image.copy()
    scribbled[2:10, 1], scribbled[2:10, -2] = 1.0, 0.0
    return image, alpha, scribbled


IMAGE, ALPHA, SCRIBBLED = _pictures()

CALLS = {
    **{
        f"estimate_foreground[{method}]({option}=)": lambda value, method=method, option=option: (
            foreground.estimate_foreground(IMAGE, ALPHA, method=method, **{option: value})
        )
        for method in ("ml", "cf", "blur_fusion")
        for option in ("regularization", "gradient_weight", "rtol", "maxiter", "blur_sizes")
    },
    "estimate_foreground(method=)": lambda value: foreground.estimate_foreground(
        IMAGE, ALPHA, method=value
    ),
    "foreground_memory_bytes(shape=)": lambda value: foreground.foreground_memory_bytes(
        (value, 20)
    ),
    "foreground_memory_bytes(background=)": lambda value: foreground.foreground_memory_bytes(
        (20, 20), background=value
    ),
    "cutout(dtype=)": lambda value: compose.cutout(IMAGE, ALPHA, dtype=value),
    "cutout(method=)": lambda value: compose.cutout(IMAGE, ALPHA, method=value),
    "composite(fit=)": lambda value: compose.composite(IMAGE, ALPHA, SCRIBBLED, fit=value),
    "composite(background=)": lambda value: compose.composite(IMAGE, ALPHA, value),
    "parse_color": compose.parse_color,
    "trimap_from_mask(band=)": lambda value: trimaps.trimap_from_mask(ALPHA > 0.5, band=value),
    "scribbles_to_trimap(tolerance=)": lambda value: trimaps.scribbles_to_trimap(
        IMAGE, SCRIBBLED, tolerance=value
    ),
    "gradient_error(sigma=)": lambda value: metrics.gradient_error(ALPHA, ALPHA.T.T, sigma=value),
    "connectivity_error(step=)": lambda value: metrics.connectivity_error(
        ALPHA, ALPHA[::-1], step=value
    ),
    "make_scene(shape=)": lambda value: vecmatte.make_scene((value, 20)),
    "make_scene(seed=)": lambda value: vecmatte.make_scene((20, 20), seed=value),
    "make_scene(softness=)": lambda value: vecmatte.make_scene((20, 20), softness=value),
    "make_scene(band=)": lambda value: vecmatte.make_scene((20, 20), band=value),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_an_odd_option_value_is_taken_or_named_in_one_line(name):
    for value in VALUES:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            # A solve stopped by a small maxiter says so, as it should.
            warnings.simplefilter("ignore", ConvergenceWarning)
            try:
                CALLS[name](value)
            except (ValueError, TypeError) as error:
                message = str(error)
                raised_in = Path(traceback.extract_tb(error.__traceback__)[-1].filename)
                assert message and "\n" not in message, (value, message)
                assert PACKAGE in raised_in.resolve().parents, (value, message, raised_in)


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ((float("inf"), 20), "shape's height must be non-negative, a whole number of pixels"),
        ((-5, 20), "got -5"),
        ((20, 2.5), "shape's width must be"),
        ((20,), "shape must be (height, width) or (height, width, 3)"),
        ((2**20, 2**20), "more than the limit of"),
    ],
)
def test_foreground_memory_bytes_names_a_shape_that_is_no_image(shape, message):
    # inf raised OverflowError 'cannot convert float infinity to integer', (20,) an
    # IndexError, and -5 or 2.5 pixels got a number of bytes.
    with pytest.raises(ValueError, match=re.escape(message)):
        foreground.foreground_memory_bytes(shape)
    assert foreground.foreground_memory_bytes((20, 20, 3)) == foreground.foreground_memory_bytes(
        (np.int64(20), 20.0)
    )


def test_a_scene_of_softness_near_zero_has_a_hard_edge_without_a_warning():
    # (radius - distance) / 5e-324 overflowed with NumPy's RuntimeWarning.
    scene = vecmatte.make_scene((20, 20), softness=5e-324)
    assert set(np.unique(scene.alpha)) <= {0.0, 0.5, 1.0}
