"""The shim's foreground estimators take images of any number of channels, as PyMatting's.

PyMatting's ``estimate_foreground_ml`` and ``estimate_foreground_cf`` loop over the image's
``d`` channels (an RGBA photograph gives four channels of colours, a gray ``(h, w, 1)`` one);
the per-pixel systems depend on alpha only, so each channel is estimated on its own. The
references here are the plain-loop estimators of ``tests/reference.py`` run on each channel
alone (repeated to three channels).
"""

from __future__ import annotations

import numpy as np
import pytest
from reference import loop_foreground_cf, loop_foreground_ml

from vecmatte.compat import pymatting as pm

# PyMatting's multi-level weights (the shim's defaults).
PYMATTING_ML = {"regularization": 1e-5, "gradient_weight": 1.0}
# The shim works in float32: about 1e-6 from a float64 loop over the same sweeps.
FLOAT32_ATOL = 2e-5


def _scene(depth: int, shape=(13, 16), seed: int = 3):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    alpha = np.clip(1.6 - np.hypot(yy - 6, xx - 8) / 3.5, 0, 1)
    return rng.uniform(size=(*shape, depth)), alpha


def _per_channel(reference, image, alpha, **options):
    """``reference`` on each channel alone (repeated to three), stacked back to ``d``."""
    results = [reference(image[:, :, [c, c, c]], alpha, **options) for c in range(image.shape[2])]
    return tuple(np.dstack([r[k][:, :, 0] for r in results]) for k in (0, 1))


@pytest.mark.parametrize("depth", [1, 2, 4, 5])
def test_multi_level_foreground_of_any_number_of_channels(depth):
    # The old shim refused 2, 4 and 5 channels and gave (h, w, 3) for (h, w, 1).
    image, alpha = _scene(depth)
    foreground, background = pm.estimate_foreground_ml(image, alpha, return_background=True)
    assert foreground.shape == background.shape == image.shape
    assert foreground.dtype == background.dtype == np.float32
    expected_f, expected_b = _per_channel(loop_foreground_ml, image, alpha, **PYMATTING_ML)
    np.testing.assert_allclose(foreground, expected_f, atol=FLOAT32_ATOL)
    np.testing.assert_allclose(background, expected_b, atol=FLOAT32_ATOL)
    assert np.array_equal(pm.estimate_foreground_ml(image, alpha), foreground)


@pytest.mark.parametrize("depth", [1, 4])
def test_closed_form_foreground_of_any_number_of_channels(depth):
    image, alpha = _scene(depth)
    foreground, background = pm.estimate_foreground_cf(
        image, alpha, rtol=1e-12, return_background=True
    )
    assert foreground.shape == background.shape == image.shape
    expected_f, expected_b = _per_channel(loop_foreground_cf, image, alpha)
    np.testing.assert_allclose(foreground, np.clip(expected_f, 0, 1), atol=1e-7)
    np.testing.assert_allclose(background, np.clip(expected_b, 0, 1), atol=1e-7)
    # float32 in, float32 out, whatever the number of channels (as PyMatting)
    assert pm.estimate_foreground_cf(image.astype(np.float32), alpha).dtype == np.float32


def test_an_rgba_image_keeps_its_colours_and_gets_a_fourth_channel():
    """An RGBA PNG read with np.asarray: the colours are those of its RGB part, bit for bit."""
    image, alpha = _scene(3, shape=(40, 52), seed=5)
    rgba = np.round(np.dstack([image, alpha]) * 255).astype(np.uint8)
    foreground = pm.estimate_foreground_ml(rgba, alpha)
    assert foreground.shape == (40, 52, 4)
    assert np.array_equal(foreground[:, :, :3], pm.estimate_foreground_ml(rgba[:, :, :3], alpha))
    # the fourth channel is estimated as any colour channel
    alone = pm.estimate_foreground_ml(rgba[:, :, [3, 3, 3]], alpha)
    assert np.array_equal(foreground[:, :, 3], alone[:, :, 0])
