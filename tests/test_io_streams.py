"""Reading from a stream that cannot seek (a pipe, standard input) as from a file."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import numpy as np
import pytest
from test_formats import write_png16  # the hand-written 16-bit PNG writer

from vecmatte.io import load_image, load_trimap


def _through_a_pipe(path, reader):
    """``reader`` of the read end of a pipe the file's bytes are written into."""
    read_end, write_end = os.pipe()
    data = Path(path).read_bytes()

    def feed():
        with os.fdopen(write_end, "wb") as stream:
            stream.write(data)

    feeder = threading.Thread(target=feed)
    feeder.start()
    try:
        with os.fdopen(read_end, "rb") as stream:
            assert not stream.seekable()
            return reader(stream)
    finally:
        feeder.join()


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16_bit_colour_from_a_pipe_reads_as_from_its_file(tmp_path, rng, suffix):
    # The 16-bit colour readers go back to the start of the source (Pillow decodes such
    # files at 8 bits): from a pipe that raised io.UnsupportedOperation 'File or stream is
    # not seekable.', naming nothing, while 8-bit files from a pipe were read.
    samples = rng.integers(0, 65536, (5, 6, 3), dtype=np.uint16)
    path = tmp_path / f"deep{suffix}"
    if suffix == ".png":
        write_png16(path, samples)
    else:
        import tifffile

        tifffile.imwrite(path, samples, photometric="rgb")
    np.testing.assert_array_equal(_through_a_pipe(path, load_image), load_image(path))
    np.testing.assert_array_equal(load_image(path), samples / 65535.0)


def test_a_trimap_from_a_pipe_reads_as_from_its_file(tmp_path):
    levels = np.array([[0, 32768, 65535]], dtype=np.uint16).repeat(3, axis=0)
    path = write_png16(tmp_path / "trimap.png", np.dstack([levels] * 3))
    np.testing.assert_array_equal(_through_a_pipe(path, load_trimap), load_trimap(path))


@pytest.mark.parametrize("reader", [load_image, load_trimap])
def test_a_text_stream_is_refused_saying_to_give_a_binary_one(tmp_path, reader):
    # sys.stdin for sys.stdin.buffer: a text pipe raised the decoder's UnicodeDecodeError
    # ("'utf-8' codec can't decode byte 0x89") from reading it into memory; a StringIO was
    # called a damaged image file.
    path = write_png16(tmp_path / "trimap.png", np.full((4, 5, 3), 65535, np.uint16))
    refused = r"^expected a file name or a binary stream, got a text stream .*sys\.stdin\.buffer"
    read_end, write_end = os.pipe()
    with os.fdopen(write_end, "wb") as stream:  # a few hundred bytes: the pipe holds them
        stream.write(path.read_bytes())
    with open(read_end, encoding="utf-8") as stream, pytest.raises(TypeError, match=refused):
        reader(stream)
    with pytest.raises(TypeError, match=refused):
        reader(io.StringIO("P1 1 1 1"))
