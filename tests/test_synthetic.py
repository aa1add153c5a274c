"""make_scene: composites with known alpha, and the bundled demo files made from one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import vecmatte
from vecmatte import make_scene


def test_shapes_and_ranges():
    scene = make_scene((30, 40), seed=1)
    assert scene.image.shape == (30, 40, 3)
    assert scene.foreground.shape == scene.background.shape == (30, 40, 3)
    assert scene.alpha.shape == scene.trimap.shape == (30, 40)
    for array in (scene.image, scene.alpha, scene.foreground, scene.background):
        assert array.dtype == np.float64
        assert 0.0 <= array.min() and array.max() <= 1.0
    assert set(np.unique(scene.trimap)) == {0.0, 0.5, 1.0}


def test_compositing_equation():
    scene = make_scene((30, 40), seed=2)
    a = scene.alpha[:, :, None]
    np.testing.assert_allclose(
        scene.image, a * scene.foreground + (1 - a) * scene.background, atol=1e-15
    )


def test_trimap_agrees_with_alpha():
    scene = make_scene((50, 60), seed=3, band=2)
    soft = (scene.alpha > 0) & (scene.alpha < 1)
    assert soft.any() and (scene.alpha == 1).any() and (scene.alpha == 0).any()
    assert np.all(scene.trimap[soft] == 0.5)  # every mixed pixel is unknown
    assert np.all(scene.alpha[scene.trimap == 1.0] == 1.0)  # known pixels are right
    assert np.all(scene.alpha[scene.trimap == 0.0] == 0.0)


def test_band_widens_unknown_region():
    narrow = make_scene((50, 60), seed=3, band=1).trimap == 0.5
    wide = make_scene((50, 60), seed=3, band=4).trimap == 0.5
    assert wide.sum() > narrow.sum()
    assert np.all(wide[narrow])


def test_seeded_and_deterministic():
    a, b = make_scene((20, 30), seed=4), make_scene((20, 30), seed=4)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.trimap, b.trimap)
    assert not np.array_equal(a.image, make_scene((20, 30), seed=5).image)


def test_colour_line_model_holds():
    # Foreground and background each mix two fixed colours: inside every 3x3 window their
    # colours have a rank-1 covariance (they lie on a line in RGB).
    scene = make_scene((20, 24), seed=6)
    for layer in (scene.foreground, scene.background):
        windows = np.lib.stride_tricks.sliding_window_view(layer, (3, 3), axis=(0, 1))
        colours = windows.reshape(-1, 3, 9)
        centred = colours - colours.mean(axis=2, keepdims=True)
        singular = np.linalg.svd(centred, compute_uv=False)
        assert np.all(singular[:, 1] <= 1e-12 + 1e-9 * singular[:, 0])


def test_softness_sets_edge_width():
    sharp = make_scene((60, 60), seed=7, softness=1.0)
    soft = make_scene((60, 60), seed=7, softness=8.0)
    mixed = lambda s: ((s.alpha > 0) & (s.alpha < 1)).sum()  # noqa: E731
    assert mixed(soft) > 4 * mixed(sharp)


DATA = Path(vecmatte.__file__).parent / "data"


def _read(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image)


@pytest.mark.parametrize(
    ("name", "field"), [("demo_image.png", "image"), ("demo_trimap.png", "trimap")]
)
def test_bundled_demo_files_are_the_seeded_scene(name, field):
    scene = make_scene((240, 320), seed=7, softness=6.0)
    expected = np.round(getattr(scene, field) * 255).astype(np.uint8)
    stored = _read(DATA / name)
    if stored.ndim == 3 and expected.ndim == 2:
        stored = stored[:, :, 0]
    assert stored.shape == expected.shape
    # Allow one grey level for rounding of values that sit at exactly .5 / 255.
    assert np.abs(stored.astype(int) - expected.astype(int)).max() <= 1
    assert np.mean(stored != expected) < 1e-3


def test_a_band_wider_than_the_scene_unknowns_it_all_at_once(monkeypatch):
    # band=10**9 dilated the soft edge 10**9 times, one pass of the image each (hours, for
    # a scene of 12 x 16 pixels); beyond height + width every further pass changes nothing.
    import vecmatte.synthetic

    wide = make_scene((12, 16), seed=3, band=28)
    dilate = vecmatte.synthetic._dilate

    def bounded(mask, steps):
        assert steps <= 12 + 16, f"{steps} dilation passes"
        return dilate(mask, steps)

    monkeypatch.setattr(vecmatte.synthetic, "_dilate", bounded)
    for band in (29, 10**9, 10**400):
        scene = make_scene((12, 16), seed=3, band=band)
        np.testing.assert_array_equal(scene.trimap, wide.trimap)
        np.testing.assert_array_equal(scene.image, wide.image)


def test_a_scene_beyond_the_pixel_limit_is_refused_in_one_line():
    # NumPy's MemoryError ('Unable to allocate 14.6 TiB for an array with shape (2, ...)')
    # named neither the argument nor the limit that every image argument has.
    with pytest.raises(ValueError, match=r"shape has 1000000000000 pixels .*more than the limit"):
        make_scene((10**6, 10**6))
