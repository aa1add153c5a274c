"""Mattes and cutouts in WebP and AVIF read back as they were written.

Pillow writes both lossy by default (WebP at quality 80, AVIF at 75 with 4:2:0 chroma): a
matte's edges and a cutout's alpha came back moved by many levels. vecmatte writes WebP
lossless and AVIF at quality 100, which keeps gray and alpha exactly (AVIF's colour passes
through YCbCr: within 3 levels).
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
from PIL import Image, features

import vecmatte
from vecmatte.io import save_image

with warnings.catch_warnings():  # Pillow before 11.2 warns "Unknown feature 'avif'"
    warnings.simplefilter("ignore", UserWarning)
    needs_avif = pytest.mark.skipif(not features.check("avif"), reason="Pillow without AVIF")


def _read(source) -> np.ndarray:
    with Image.open(source) as image:
        image.load()
        return np.asarray(image)


def _cutout(rng) -> np.ndarray:
    # Every alpha level, and colours under alpha 0 that a lossless encoder may drop unless
    # told to keep them exactly.
    image = rng.random((16, 20, 3))
    alpha = np.linspace(0.0, 1.0, 16 * 20).reshape(16, 20)
    return vecmatte.cutout(image, alpha)


@pytest.mark.parametrize("suffix", [".webp", pytest.param(".avif", marks=needs_avif)])
def test_a_matte_reads_back_exactly(tmp_path, suffix, rng):
    # Fails on the old code: a random matte came back up to 14 (AVIF) levels off; WebP
    # stores gray as three equal channels.
    matte = rng.integers(0, 256, (23, 31), dtype=np.uint8)
    save_image(tmp_path / f"matte{suffix}", matte)
    stored = _read(tmp_path / f"matte{suffix}")
    if stored.ndim == 3:
        assert (stored == stored[:, :, :1]).all()
        stored = stored[:, :, 0]
    np.testing.assert_array_equal(stored, matte)


def test_a_webp_cutout_reads_back_exactly(tmp_path, rng):
    # Fails on the old code (lossy at quality 80; lossless without exact=True zeroed the
    # colour of fully transparent pixels).
    rgba = _cutout(rng)
    save_image(tmp_path / "cutout.webp", rgba)
    expected = np.asarray(Image.fromarray(vecmatte.io.floats_to_uint8(rgba)))
    np.testing.assert_array_equal(_read(tmp_path / "cutout.webp"), expected)


@needs_avif
def test_an_avif_cutout_keeps_its_alpha_exactly_and_its_colour_within_three_levels(tmp_path, rng):
    rgba = vecmatte.io.floats_to_uint8(_cutout(rng))
    save_image(tmp_path / "cutout.avif", rgba)
    difference = np.abs(_read(tmp_path / "cutout.avif").astype(int) - rgba)
    assert difference[:, :, 3].max() == 0  # old code: up to 219 levels off
    assert difference[:, :, :3].max() <= 3


def test_a_webp_written_to_a_stream_is_lossless_too(rng):
    rgba = rng.integers(0, 256, (9, 11, 4), dtype=np.uint8)
    stream = io.BytesIO()
    save_image(stream, rgba, format="WEBP")
    stream.seek(0)
    np.testing.assert_array_equal(_read(stream), rgba)


def test_the_command_line_writes_the_same_matte_and_cutout_to_webp_as_to_png(tmp_path):
    from vecmatte.cli import main

    scene = vecmatte.make_scene((30, 40), seed=3)
    save_image(tmp_path / "image.png", scene.image)
    save_image(tmp_path / "trimap.png", scene.trimap)
    for suffix in (".png", ".webp"):
        argv = ["alpha", str(tmp_path / "image.png"), str(tmp_path / "trimap.png")]
        argv += ["-o", str(tmp_path / f"matte{suffix}"), "--cutout", str(tmp_path / f"cut{suffix}")]
        assert main([*argv, "-q"]) == 0
    webp_matte = _read(tmp_path / "matte.webp")
    np.testing.assert_array_equal(webp_matte[:, :, 0], _read(tmp_path / "matte.png"))
    np.testing.assert_array_equal(_read(tmp_path / "cut.webp"), _read(tmp_path / "cut.png"))
