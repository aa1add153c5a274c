"""Binary colour PPM files of more than 8 bits (``dcraw -4`` writes 16-bit ones): Pillow
scales their samples to 8 bits; they are read at their full precision, as 16-bit colour
PNG and TIFF are (before: within 1/510 instead of 1/131070)."""

import io

import numpy as np
import pytest

from vecmatte.io import load_gray, load_image


def _ppm(samples: np.ndarray, largest: int) -> bytes:
    height, width, _ = samples.shape
    return b"P6 %d %d %d\n" % (width, height, largest) + samples.astype(">u2").tobytes()


@pytest.mark.parametrize("largest", [65535, 4095, 1023, 256])
def test_wide_colour_ppm_keeps_its_precision(tmp_path, largest):
    samples = np.random.default_rng(largest).integers(0, largest + 1, (13, 11, 3))
    path = tmp_path / "photo.ppm"
    path.write_bytes(_ppm(samples, largest))
    assert np.abs(load_image(path) - samples / largest).max() <= 0.5 / 65535
    stream = io.BytesIO(_ppm(samples, largest))
    assert np.abs(load_image(stream) - samples / largest).max() <= 0.5 / 65535


def test_wide_gray_ppm_map_keeps_its_precision(tmp_path):
    values = np.random.default_rng(0).integers(0, 65536, (13, 11))
    path = tmp_path / "alpha.ppm"
    path.write_bytes(_ppm(np.repeat(values[:, :, None], 3, axis=2), 65535))
    assert np.abs(load_gray(path, name="alpha") - values / 65535).max() < 1e-12


def test_eight_bit_and_plain_text_ppm_read_as_before(tmp_path):
    samples = np.random.default_rng(1).integers(0, 256, (5, 4, 3))
    path = tmp_path / "photo.ppm"
    path.write_bytes(b"P6 4 5 255\n" + samples.astype(np.uint8).tobytes())
    assert np.array_equal(load_image(path), samples / 255)
    # P3 (numbers as text) is read by Pillow's own decoder at 8 bits, as before.
    text = " ".join(str(v) for v in (samples * 257).ravel())
    path.write_bytes(b"P3 4 5 65535\n" + text.encode())
    assert np.abs(load_image(path) - samples / 255).max() <= 0.5 / 255
