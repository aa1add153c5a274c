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
from reference import (
    loop_foreground_cf,
    loop_foreground_ml,
    loop_random_walk_laplacian,
    loop_window_weights,
)

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


# PyMatting's random walk and large-kernel Laplacians are computed over the image's d
# channels: an (h, w, 1) image's colour distances are those of its one channel.


def _plain_closed_form(image, eps, radius):
    """Levin et al.'s Laplacian over windows inside the image, for ``d`` channels (loops)."""
    h, w, d = image.shape
    size = 2 * radius + 1
    n = size * size
    laplacian = np.zeros((h * w, h * w))
    for y in range(h - 2 * radius):
        for x in range(w - 2 * radius):
            patch = image[y : y + size, x : x + size].reshape(n, d)
            mu = patch.mean(axis=0)
            inverse = np.linalg.inv((patch - mu).T @ (patch - mu) / n + eps / n * np.eye(d))
            index = [(y + a // size) * w + (x + a % size) for a in range(n)]
            for a in range(n):
                for b in range(n):
                    term = 1 + (patch[a] - mu) @ inverse @ (patch[b] - mu)
                    laplacian[index[a], index[b]] += (a == b) - term / n
    return laplacian


@pytest.mark.parametrize("depth", [1, 2])
def test_random_walk_laplacian_of_one_or_two_channels(depth):
    # The old shim repeated a single channel three times: every squared distance tripled.
    image, _ = _scene(depth, shape=(7, 9))
    expected = loop_random_walk_laplacian(loop_window_weights(image), 1e-8)
    np.testing.assert_allclose(pm.rw_laplacian(image).toarray(), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("depth", [1, 2])
def test_large_kernel_laplacian_of_one_or_two_channels(depth):
    # Flat patches, where epsilon counts: repeating one channel divided it by three.
    image, _ = _scene(depth, shape=(8, 9))
    image = np.round(image * 2) / 2
    vector = np.random.default_rng(4).random(72)
    matvec, diagonal = pm.lkm_laplacian(image, 1e-2, radius=1)
    expected = _plain_closed_form(image, 1e-2, 1)
    np.testing.assert_allclose(matvec(vector), expected @ vector, rtol=0, atol=1e-10)
    np.testing.assert_allclose(diagonal, np.diag(expected), rtol=0, atol=1e-10)


def test_random_walk_alpha_of_a_one_channel_image():
    image, alpha = _scene(1, shape=(12, 13))
    trimap = np.where(alpha > 0.95, 1.0, np.where(alpha < 0.05, 0.0, 0.5))
    laplacian = loop_random_walk_laplacian(loop_window_weights(image), 1e-8)
    known = (trimap != 0.5).ravel()
    system = laplacian + np.diag(100.0 * known)
    # PyMatting's solve of its system (conjugate gradient on a matrix that is not symmetric,
    # Jacobi-preconditioned), here on the plain-loop Laplacian
    solution = pm.cg(system, 100.0 * (trimap == 1).ravel(), M=pm.jacobi(system))
    got = pm.estimate_alpha_rw(image, trimap)
    np.testing.assert_allclose(got.ravel(), np.clip(solution, 0, 1), rtol=0, atol=1e-8)
