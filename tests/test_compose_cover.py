"""composite(fit="cover") enlarging a background computes only the centre it keeps.

Before: the whole background was enlarged, then cropped: a 200 x 20000 panorama under a
1000 x 1000 foreground made a 1000 x 100000 x 3 float64 array (2.4 GB) to keep 24 MB.
"""

from __future__ import annotations

import numpy as np
import pytest
import skimage.transform

from vecmatte import composite


def _old_cover(background: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The former path: skimage's resize of the whole background, then its centre."""
    h, w = shape
    bh, bw = background.shape[:2]
    scale = max(h / bh, w / bw)
    th, tw = max(h, round(bh * scale)), max(w, round(bw * scale))
    whole = np.clip(skimage.transform.resize(background, (th, tw, 3), anti_aliasing=True), 0.0, 1.0)
    top, left = (th - h) // 2, (tw - w) // 2
    return whole[top : top + h, left : left + w]


def _background_of(foreground_shape, background, alpha_value=0.0):
    # alpha 0 everywhere: the composite is the fitted background itself.
    h, w = foreground_shape
    return composite(np.zeros((h, w, 3)), np.full((h, w), alpha_value), background, fit="cover")


@pytest.mark.parametrize("seed", range(12))
def test_cover_is_the_centre_of_the_resized_background_bit_for_bit(seed):
    rng = np.random.default_rng(seed)
    for _ in range(10):
        bh, bw = (int(v) for v in rng.integers(1, 40, 2))
        if seed % 2:  # long panoramas, either way round
            bh, bw = (bh, 400 + 10 * bw) if seed % 4 == 1 else (400 + 10 * bh, bw)
        h, w = (int(v) for v in rng.integers(1, 90, 2))
        background = rng.random((bh, bw, 3))
        np.testing.assert_array_equal(
            _background_of((h, w), background), _old_cover(background, (h, w))
        )


def test_shrinking_cover_is_unchanged():
    # Larger than the foreground both ways: anti-aliased, the former path itself.
    background = np.random.default_rng(0).random((90, 130, 3))
    np.testing.assert_array_equal(
        _background_of((40, 50), background), _old_cover(background, (40, 50))
    )


def test_a_panorama_under_a_square_is_not_enlarged_whole(monkeypatch):
    background = np.random.default_rng(1).random((200, 20000, 3))

    def refused(image, output_shape, **options):  # the old path: 1000 x 100000 x 3, 2.4 GB
        raise AssertionError(f"the whole background is resized to {output_shape}")

    monkeypatch.setattr(skimage.transform, "resize", refused)
    result = _background_of((1000, 1000), background)
    assert result.shape == (1000, 1000, 3)
    # Enlarged 5 times to 1000 x 100000, centre from column 49500: output (i, j) is the
    # bilinear sample at row (i + 0.5) / 5 - 0.5, column (49500 + j + 0.5) / 5 - 0.5.
    for i, j in [(10, 0), (500, 503), (987, 999), (3, 250)]:
        y, x = (i + 0.5) / 5 - 0.5, (49500 + j + 0.5) / 5 - 0.5
        y0, x0 = int(np.floor(y)), int(np.floor(x))
        ty, tx = y - y0, x - x0
        expected = (1 - ty) * ((1 - tx) * background[y0, x0] + tx * background[y0, x0 + 1]) + ty * (
            (1 - tx) * background[y0 + 1, x0] + tx * background[y0 + 1, x0 + 1]
        )
        np.testing.assert_allclose(result[i, j], expected, rtol=0, atol=1e-12)
