"""Reading maps, session 11 (speed): 8-bit gray maps, gray palettes and gray RGB files are
divided by 255 without check_trimap's float passes; the values must be the very ones of the
plain path (Pillow's RGB conversion, then check_trimap), bit for bit, and coloured files must
still be refused or read as before."""

import warnings

import numpy as np
import pytest
from PIL import Image

from vecmatte.io import load_gray, load_trimap
from vecmatte.trimap import check_trimap


def _plain(path, name="trimap"):
    """The reference: every file through Pillow's RGB (or L) conversion and check_trimap."""
    with Image.open(path) as image:
        image.load()
        rgb = image.mode not in ("L", "1")
        pixels = np.asarray(image.convert("RGB" if rgb else "L"))
    return check_trimap(pixels, name=name)


def _same(got, want):
    assert got.dtype == want.dtype == np.float64
    assert got.shape == want.shape
    assert got.flags.c_contiguous
    assert np.array_equal(got.view(np.uint64), want.view(np.uint64))  # bit for bit


def _indices(rng, shape=(7, 9)):
    return rng.integers(0, 256, size=shape).astype(np.uint8)


@pytest.mark.parametrize("entries", [1, 3, 17, 255, 256])
def test_a_gray_palette_reads_as_its_rgb_conversion(tmp_path, entries):
    rng = np.random.default_rng(entries)
    levels = rng.integers(0, 256, size=entries).astype(np.uint8)
    image = Image.new("P", (9, 7))
    image.putdata(_indices(rng).ravel().tolist())  # indices past the palette's end too
    image.putpalette(np.repeat(levels, 3).tobytes())
    path = tmp_path / "t.png"
    image.save(path)
    _same(load_trimap(path), _plain(path))


def test_a_palette_with_an_unused_colour_reads_as_before(tmp_path):
    image = Image.new("P", (4, 3))
    image.putdata([0, 1, 2, 0] * 3)  # index 3 (red) is never used
    image.putpalette(bytes([0, 0, 0, 128, 128, 128, 255, 255, 255, 255, 0, 0]))
    path = tmp_path / "t.png"
    image.save(path)
    _same(load_trimap(path), _plain(path))


def test_a_coloured_palette_is_still_refused(tmp_path):
    image = Image.new("P", (4, 3))
    image.putdata([0, 1, 2, 3] * 3)
    image.putpalette(bytes([0, 0, 0, 128, 128, 128, 255, 255, 255, 255, 0, 0]))
    path = tmp_path / "t.png"
    image.save(path)
    with pytest.raises(ValueError, match=r"t\.png: trimap is in colour: 25\.0% of its pixels"):
        load_trimap(path)


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA"])
def test_eight_bit_gray_files_read_as_the_plain_path(tmp_path, mode):
    rng = np.random.default_rng(1)
    gray = _indices(rng, (11, 6))
    pixels = {"L": gray, "RGB": np.repeat(gray[:, :, None], 3, 2)}.get(mode)
    if mode == "RGBA":
        pixels = np.dstack([gray, gray, gray, np.full_like(gray, 255)])
    path = tmp_path / "t.png"
    Image.fromarray(pixels).save(path)
    _same(load_trimap(path), _plain(path))
    _same(load_gray(path, name="alpha"), _plain(path, "alpha"))


def test_rgb_with_a_few_coloured_pixels_reads_as_the_plain_path(tmp_path):
    rng = np.random.default_rng(2)
    pixels = np.repeat(_indices(rng, (20, 10))[:, :, None], 3, 2)
    pixels[0, 0] = (10, 200, 30)  # 0.5% coloured: read, averaged
    path = tmp_path / "t.png"
    Image.fromarray(pixels).save(path)
    _same(load_trimap(path), _plain(path))


def test_a_jpeg_trimap_reads_and_notes_as_before(tmp_path):
    rng = np.random.default_rng(3)
    pixels = np.repeat(rng.choice([0, 128, 255], size=(32, 32))[:, :, None], 3, 2)
    path = tmp_path / "t.jpg"
    Image.fromarray(pixels.astype(np.uint8)).save(path, quality=60)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = load_trimap(path)
    _same(got, _plain(path))
    assert any("lossy JPEG" in str(w.message) for w in caught)


def test_the_pixel_limit_of_maps_still_holds(tmp_path, monkeypatch):
    import vecmatte._arrays

    path = tmp_path / "t.png"
    Image.fromarray(np.zeros((4, 5), np.uint8)).save(path)
    monkeypatch.setattr(vecmatte._arrays, "MAX_PIXELS", 19)
    with pytest.raises(ValueError, match=r"t\.png: trimap has 20 pixels .* more than the limit"):
        load_trimap(path)


def test_one_file_is_renamed_without_the_folders_lock(tmp_path, monkeypatch):
    # One rename is atomic alone (it ends as before or after another writer's renames): a
    # single output takes no folder lock, so a lock held for ever does not hold it back.
    import fcntl
    import os
    import tempfile
    import threading

    from vecmatte import _rename_lock
    from vecmatte.io import save_image

    locks, out = tmp_path / "locks", tmp_path / "out"
    locks.mkdir()
    out.mkdir()
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(locks))
    status = os.stat(out)
    descriptor = os.open(_rename_lock.lock_path((status.st_dev, status.st_ino)), os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        pixels = np.linspace(0, 1, 20).reshape(4, 5)
        writer = threading.Thread(target=save_image, args=(out / "m.png", pixels), daemon=True)
        writer.start()
        writer.join(60)
        assert not writer.is_alive()
    finally:
        os.close(descriptor)
    assert sorted(p.name for p in out.iterdir()) == ["m.png"]
    _same(load_gray(out / "m.png", name="alpha"), np.rint(pixels * 255) / 255)
