"""Session 12 reader 3: colour profiles of composites, arithmetic-coded JPEGs."""

from __future__ import annotations

import base64
import io
import warnings

import numpy as np
from PIL import Image, ImageCms

from vecmatte.cli import main
from vecmatte.compose import composite_profile
from vecmatte.io import load_image

# A valid 15 x 10 gray JPEG, arithmetic-coded (jpegtran -arithmetic of a Pillow file) with a
# flat 128 last block: complete (djpeg reads it without a word).
_ARITHMETIC_JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIx"
    "wcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/yQALCAAKAA8BAREA/8wABgAQEAX/2gAIAQEAAD8AwXdPxQLdw+ur4/ho0KHb"
    "8ZvcpnnnuN0pqBf37Xq2YsSWUZd8fAtjv3kx0OubRX+cK4W+bXnD8myNfm34eh32ecMFEMgUK4PZs6o/4K1s6FpNy9"
    "BW6s31/p0FATon8Rw4tt/tqgVYk1T/2Q=="
)


def test_a_complete_arithmetic_coded_jpeg_with_a_gray_last_block_is_read(tmp_path):
    # Refused as 'cut short': the padding put after its scan changed its decoded values.
    with Image.open(io.BytesIO(_ARITHMETIC_JPEG)) as image:
        image.load()
        stored = np.asarray(image)
    corner = stored[-((10 - 1) % 8 + 1) :, -((15 - 1) % 8 + 1) :]  # the last block's part
    assert stored.shape == (10, 15) and corner.min() == corner.max() == 128  # the case
    path = tmp_path / "arithmetic.jpg"
    path.write_bytes(_ARITHMETIC_JPEG)
    loaded = load_image(path)
    np.testing.assert_array_equal(loaded, np.repeat(stored[:, :, None] / 255.0, 3, axis=2))


def _srgb() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def test_a_photograph_without_a_profile_and_an_srgb_background_are_one_space():
    # Untagged values are sRGB: an sRGB background (most JPEGs that carry a profile) was
    # warned of as 'different colour spaces'.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert composite_profile(None, _srgb()) is None


def test_composite_cli_of_an_untagged_photo_over_an_srgb_background_warns_nothing(tmp_path, capsys):
    rng = np.random.default_rng(0)
    photo = (rng.random((12, 16, 3)) * 255).astype(np.uint8)
    Image.fromarray(photo).save(tmp_path / "photo.png")
    Image.fromarray(photo[::-1]).save(tmp_path / "bg.jpg", icc_profile=_srgb())
    alpha = (rng.random((12, 16)) * 255).astype(np.uint8)
    Image.fromarray(alpha).save(tmp_path / "alpha.png")
    output = tmp_path / "out.png"
    argv = ["composite", str(tmp_path / "photo.png"), str(tmp_path / "alpha.png")]
    argv += [str(tmp_path / "bg.jpg"), "-o", str(output), "--foreground-method", "blur_fusion"]
    assert main([*argv, "-q"]) == 0
    assert capsys.readouterr().err == ""
    with Image.open(output) as image:
        assert image.info.get("icc_profile") is None


def test_a_photo_given_as_a_named_pipe_keeps_its_profile_in_the_cutout(tmp_path):
    # As from standard input; colour_profile does not open a pipe again, so the CLI reads
    # it once and takes the profile from those bytes (the cutout had none).
    import os
    import threading

    rng = np.random.default_rng(1)
    photo = (rng.random((12, 16, 3)) * 255).astype(np.uint8)
    data = io.BytesIO()
    Image.fromarray(photo).save(data, format="PNG", icc_profile=_srgb())
    trimap = np.full((12, 16), 128, np.uint8)
    trimap[:, :4], trimap[:, -4:] = 0, 255
    Image.fromarray(trimap).save(tmp_path / "trimap.png")
    pipe = tmp_path / "photo.fifo"
    os.mkfifo(pipe)

    def feed():
        with open(pipe, "wb") as writer:
            writer.write(data.getvalue())

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    cutout = tmp_path / "cutout.png"
    argv = ["alpha", str(pipe), str(tmp_path / "trimap.png"), "-o", str(tmp_path / "a.png")]
    assert main([*argv, "--cutout", str(cutout), "-q"]) == 0
    writer.join(5)
    with Image.open(cutout) as image:
        assert image.info.get("icc_profile") == _srgb()
