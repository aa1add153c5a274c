"""Pillow's decompression-bomb limit is a process-wide global: reading a file leaves it alone.

``vecmatte serve`` decodes uploads in threads, and a program using vecmatte may have threads
of its own that rely on Pillow's check (``Image.MAX_IMAGE_PIXELS``). Until session 10 every
read set it to None while the file was decoded, so another thread's ``Image.open`` of a
decompression bomb went through during that time.
"""

import io
import threading

import numpy as np
import pytest
from PIL import Image

from vecmatte.io import ImageTooLargeError, image_size, load_image


class _PausingStream(io.BytesIO):
    """A file's bytes that stop at the first read past ``offset`` until ``go`` is set."""

    def __init__(self, data: bytes, offset: int):
        super().__init__(data)
        self.offset, self.inside, self.go = offset, threading.Event(), threading.Event()

    def read(self, *args):
        if self.tell() >= self.offset and not self.inside.is_set():
            self.inside.set()
            self.go.wait(30)
        return super().read(*args)


def _png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    pixels = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def test_pillow_limit_holds_in_other_threads_while_a_file_is_decoded(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    # The pixels (the IDAT chunk's data, after the 8-byte signature, the 25-byte IHDR chunk
    # and the IDAT chunk's 8-byte header) are read by load(), inside the decode.
    stream = _PausingStream(_png((10, 10)), offset=41)
    result = {}
    reader = threading.Thread(target=lambda: result.update(image=load_image(stream)))
    reader.start()
    try:
        assert stream.inside.wait(30)
        seen = Image.MAX_IMAGE_PIXELS
        # The user's own thread opens a bomb (2500 pixels > twice 1000): Pillow refuses it.
        with pytest.raises(Image.DecompressionBombError):
            Image.open(io.BytesIO(_png((50, 50))))
    finally:
        stream.go.set()
        reader.join(30)
    assert seen == 1000
    assert result["image"].shape == (10, 10, 3)
    assert Image.MAX_IMAGE_PIXELS == 1000


def test_a_watcher_thread_never_sees_the_limit_change_during_reads(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 5000)
    path = tmp_path / "image.png"
    path.write_bytes(_png((30, 20)))
    seen, stop = set(), threading.Event()

    def watch():
        while not stop.is_set():
            seen.add(Image.MAX_IMAGE_PIXELS)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for _ in range(50):
            load_image(path)
            image_size(path)
    finally:
        stop.set()
        watcher.join(30)
    assert seen == {5000}


def test_header_of_a_file_beyond_pillows_limit_is_read_without_lifting_it(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10)
    path = tmp_path / "image.png"
    path.write_bytes(_png((30, 20)))
    assert image_size(path) == (20, 30)
    with pytest.raises(ImageTooLargeError, match=r"600 pixels \(20 x 30.*--max-pixels 600"):
        load_image(path)
    assert load_image(path, max_pixels=600).shape == (20, 30, 3)
    assert Image.MAX_IMAGE_PIXELS == 10


@pytest.mark.parametrize("file_format", ["TIFF", "WEBP", "GIF"])
def test_a_raised_limit_lets_pillows_own_decoders_through(tmp_path, monkeypatch, file_format):
    # Pillow's TIFF, WebP and GIF decoders check the global again; a file the caller
    # allowed beyond it (over twice it: Pillow refuses) still reads, and the global is back.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    path = tmp_path / f"image.{file_format.lower()}"
    pixels = np.zeros((20, 30, 3), np.uint8)
    pixels[:, :15] = 255
    Image.fromarray(pixels).save(
        path, format=file_format, **({"lossless": True} if file_format == "WEBP" else {})
    )
    assert np.array_equal(load_image(path, max_pixels=600), pixels / 255.0)
    assert Image.MAX_IMAGE_PIXELS == 100


def test_a_webp_beyond_twice_pillows_limit_is_refused_in_our_words(tmp_path, monkeypatch):
    # WebP's reader makes Pillow's check as it opens (over twice the limit), before ours.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    path = tmp_path / "image.webp"
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(path, lossless=True)
    # Pillow 11.0's WebP reader makes no such check: our own refuses, naming the size too.
    size = " (20 x 30, height x width)"
    with pytest.raises(ImageTooLargeError) as caught:
        load_image(path)
    assert str(caught.value).replace(size, "") == (
        f"{path}: image has 600 pixels, more than the limit of 100 that protects against "
        "decompression bombs; if you trust this file, raise the limit (command line: "
        "--max-pixels 600; library: max_pixels=600)"
    )
    with pytest.raises(ImageTooLargeError) as caught:
        load_image(path, max_pixels=599)
    assert "image has 600 pixels, more than the limit of 599 " in str(caught.value).replace(
        size, ""
    )
    assert Image.MAX_IMAGE_PIXELS == 100


def test_image_size_reads_a_webp_header_beyond_pillows_limit(tmp_path, monkeypatch):
    # WebP's reader makes Pillow's check as it opens: image_size checks no limit.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    path = tmp_path / "image.webp"
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(path, lossless=True)
    assert image_size(path) == (20, 30)
    assert Image.MAX_IMAGE_PIXELS == 100


def test_is_complete_image_of_a_webp_beyond_pillows_limit(tmp_path, monkeypatch):
    from vecmatte.io import is_complete_image

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    path = tmp_path / "image.webp"
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(path, lossless=True)
    assert is_complete_image(path)
    assert Image.MAX_IMAGE_PIXELS == 100
