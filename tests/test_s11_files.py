"""Reading files, session 11: a name ending in '/' is not read as the file; a user's own
change of Pillow's pixel limit during vecmatte's lift is kept; a PNG whose last row is the
decoder's fill colour is checked for a short zlib stream by inflating, not decoding twice
(and a short one is still refused); one wait for named pipes."""

import io
import os
import socket
import struct
import threading
import zlib

import numpy as np
import pytest
from PIL import Image

import vecmatte._opening
import vecmatte._output_guard
import vecmatte._writing
from vecmatte import _pillow
from vecmatte.io import image_size, load_gray, load_image, load_trimap


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "x.png"
    Image.fromarray(np.full((4, 5, 3), 200, np.uint8)).save(path)
    return path


@pytest.mark.parametrize("reader", [load_image, load_trimap, image_size])
@pytest.mark.parametrize("tail", ["/", "/."])
def test_a_name_ending_as_a_folder_is_not_read_as_the_file(photo, reader, tail):
    name = f"{photo}{tail}"
    with pytest.raises(NotADirectoryError):  # as open() itself
        open(name, "rb")
    with pytest.raises(NotADirectoryError) as refused:  # was: x.png read
        reader(name)
    assert str(refused.value) == (
        f"{name}: not a directory ({photo} is a file); leave out the trailing '/'"
    )


def test_names_that_only_look_different_are_read(photo, monkeypatch):
    monkeypatch.chdir(photo.parent)
    assert load_image("./x.png").shape == (4, 5, 3)
    assert load_image(f"{photo.parent}//x.png").shape == (4, 5, 3)


def test_a_limit_the_user_sets_during_a_lift_is_kept(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with _pillow.pillow_allows((20, 20)):  # beyond Pillow's limit: lifted
        assert Image.MAX_IMAGE_PIXELS is None
        assert _pillow.pillow_limit() == 100  # the user's, not our None
        Image.MAX_IMAGE_PIXELS = 1000  # another thread of the user's program
        assert _pillow.pillow_limit() == 1000  # was 100: the value saved before the lift
    assert Image.MAX_IMAGE_PIXELS == 1000  # was put back to 100


def test_a_lift_is_still_undone(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with _pillow.pillow_allows((20, 20)), _pillow.pillow_allows((30, 30)):
        assert Image.MAX_IMAGE_PIXELS is None
    assert Image.MAX_IMAGE_PIXELS == 100


# Adam7's passes: first column and row, column and row steps.
_PASSES = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2))
_PASSES += ((0, 1, 1, 2),)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(
    pixels: np.ndarray,
    *,
    interlaced: bool = False,
    cut: int = 0,
    cut_rows: int = 0,
    one_chunk: bool = False,
) -> bytes:
    """An 8-bit gray, RGB or 16-bit gray PNG written plainly (filter 0 on every row, one
    complete zlib stream), its raw rows short of their last ``cut`` bytes and ``cut_rows``
    full-width rows (the last pass's, interlaced)."""
    height, width = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    depth = 16 if pixels.dtype == np.uint16 else 8
    samples = pixels.astype(">u2") if depth == 16 else pixels
    raw = b""
    for column, row, across, down in _PASSES if interlaced else ((0, 0, 1, 1),):
        part = samples[row::down, column::across]
        if part.size:
            raw += b"".join(b"\0" + line.tobytes() for line in part)
    colour = {1: 0, 3: 2}[channels]
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, int(interlaced))
    cut += cut_rows * (1 + width * channels * depth // 8)
    data = zlib.compress(raw[: len(raw) - cut])
    half = len(data) if one_chunk else len(data) // 2  # two IDAT chunks: counted across both
    idat = _chunk(b"IDAT", data[:half]) + (_chunk(b"IDAT", data[half:]) if not one_chunk else b"")
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + idat + _chunk(b"IEND", b"")


def _levels(shape, last, dtype=np.uint8) -> np.ndarray:
    largest = 65536 if dtype == np.uint16 else 256
    levels = np.random.default_rng(1).integers(0, largest, shape).astype(dtype)
    levels[-2:] = last  # the last row an interlaced file of odd height writes too
    return levels


_FILLED = [
    pytest.param((7, 11), 0x5A, np.uint8, id="gray"),
    pytest.param((7, 11, 3), (0x5A, 0xA5, 0x3C), np.uint8, id="rgb"),
    pytest.param((7, 11), 0x5A, np.uint16, id="gray16"),
]


@pytest.fixture
def decodes(monkeypatch):
    counted = []
    row_unwritten = _pillow._row_unwritten

    def counting(image, colour):
        counted.append(colour)
        return row_unwritten(image, colour)

    monkeypatch.setattr(_pillow, "_row_unwritten", counting)
    return counted


@pytest.mark.parametrize("interlaced", [False, True], ids=["plain", "interlaced"])
@pytest.mark.parametrize(("shape", "last", "dtype"), _FILLED)
def test_a_last_row_of_the_fill_colour_is_decoded_once(
    tmp_path, decodes, shape, last, dtype, interlaced
):
    levels = _levels(shape, last, dtype)
    path = tmp_path / "flat.png"
    path.write_bytes(_png(levels, interlaced=interlaced))
    with Image.open(path) as image:
        expected = np.asarray(image.convert("RGB") if levels.ndim == 3 else image)
    read = load_image(path) if levels.ndim == 3 else load_gray(path, name="alpha")
    np.testing.assert_array_equal(read, levels / (65535.0 if dtype == np.uint16 else 255.0))
    assert expected.shape[:2] == levels.shape[:2]
    assert len(decodes) == 1  # was 2: decoded again over another colour


@pytest.mark.parametrize("interlaced", [False, True], ids=["plain", "interlaced"])
@pytest.mark.parametrize(("shape", "last", "dtype"), _FILLED)
@pytest.mark.parametrize("rows", [1, 2])
def test_a_short_stream_is_still_refused(tmp_path, shape, last, dtype, interlaced, rows):
    path = tmp_path / "short.png"
    path.write_bytes(_png(_levels(shape, last, dtype), interlaced=interlaced, cut_rows=rows))
    with pytest.raises(ValueError, match="ends before its last row"):
        load_gray(path, name="alpha") if len(shape) == 2 else load_image(path)
    with pytest.raises(ValueError, match="ends before its last row"):
        load_image(io.BytesIO(path.read_bytes()))


@pytest.mark.parametrize("rows", [0, 1])
def test_one_idat_chunk_of_megabytes_is_counted_in_parts(tmp_path, decodes, rows):
    levels = _levels((1100, 1000), 0x5A)  # random: about 1.1 MB of zlib data in one chunk
    path = tmp_path / "big.png"
    path.write_bytes(_png(levels, cut_rows=rows, one_chunk=True))
    if rows:
        with pytest.raises(ValueError, match="ends before its last row"):
            load_gray(path, name="alpha")
    else:
        np.testing.assert_array_equal(load_gray(path, name="alpha"), levels / 255.0)
    assert len(decodes) == 1


@pytest.mark.parametrize("interlaced", [False, True], ids=["plain", "interlaced"])
@pytest.mark.parametrize("height", range(1, 10))
@pytest.mark.parametrize("width", [1, 2, 3, 5, 8, 9, 17])
def test_the_count_of_raw_bytes_against_written_files(tmp_path, width, height, interlaced):
    levels = _levels((height, width), 7)
    path = tmp_path / "any.png"
    path.write_bytes(_png(levels, interlaced=interlaced))
    assert _pillow._pixel_data_short(path) is False
    path.write_bytes(_png(levels, interlaced=interlaced, cut=1))
    assert _pillow._pixel_data_short(path) is True


@pytest.mark.parametrize("mode", ["1", "L", "LA", "P", "RGB", "RGBA", "I;16"])
@pytest.mark.parametrize("bits", [None, 1, 2, 4])
def test_pillows_own_files_are_counted_complete(tmp_path, mode, bits):
    levels = np.random.default_rng(2).integers(0, 2, (9, 13, 4), dtype=np.uint8)
    image = Image.fromarray(levels * 3, "RGBA").convert(mode) if mode != "I;16" else None
    if image is None:
        image = Image.fromarray(levels[..., 0].astype(np.uint16) * 3000)
    path = tmp_path / "pillow.png"
    options = {"bits": bits} if bits is not None and mode == "P" else {}
    image.save(path, **options)
    assert _pillow._pixel_data_short(path) is False


def test_chunks_that_cannot_be_counted_fall_back_to_decoding(tmp_path, decodes, monkeypatch):
    monkeypatch.setattr(_pillow, "_pixel_data_short", lambda source: None)
    path = tmp_path / "flat.png"
    path.write_bytes(_png(_levels((7, 11), 0x5A)))
    assert load_gray(path, name="alpha").shape == (7, 11)
    assert len(decodes) == 2
    path.write_bytes(_png(_levels((7, 11), 0x5A), cut_rows=1))
    with pytest.raises(ValueError, match="ends before its last row"):
        load_gray(path, name="alpha")


def test_named_pipes_wait_as_long_either_way():
    wait = vecmatte._output_guard.PIPE_WAIT_SECONDS
    assert vecmatte._opening._PIPE_WAIT_SECONDS == wait == vecmatte._writing._PIPE_WAIT_SECONDS


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_writer_waiting_that_closes_without_writing_is_an_empty_file(tmp_path, monkeypatch):
    # Session 10 noted this might wait the whole wait: on Linux the reader sees the writer
    # leave (POLLHUP) at once. The wait is long here, so that waiting it shows as a hang.
    monkeypatch.setattr(vecmatte._opening, "_PIPE_WAIT_SECONDS", 60.0)
    path = tmp_path / "photo.png"
    os.mkfifo(path)

    def write_nothing():
        with open(path, "wb"):  # waits for the reader, then closes
            pass

    writer = threading.Thread(target=write_nothing, daemon=True)
    writer.start()
    outcome = {}

    def read():
        try:
            load_image(path)
        except ValueError as error:
            outcome["error"] = str(error)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(30)
    if reader.is_alive():  # give it a writer to end it
        threading.Thread(target=write_nothing, daemon=True).start()
    assert not reader.is_alive()
    assert outcome["error"].startswith(f"{path}: is empty (0 bytes)")
    writer.join(5)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero here")
@pytest.mark.parametrize("reader", [load_image, load_trimap, image_size])
@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_a_device_is_not_an_image_file(reader, device):
    with pytest.raises(ValueError) as caught:  # was: '/dev/zero: is empty (0 bytes)'
        reader(device)
    assert str(caught.value) == f"{device}: a device, not an image file; give the image file itself"


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no Unix sockets here")
def test_a_socket_is_not_an_image_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a short name: a socket's path has ~100 bytes at most
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind("photo.png")
        with pytest.raises(ValueError) as caught:  # was: 'damaged or truncated ([Errno 6] ...)'
            load_image("photo.png")
    assert str(caught.value) == "photo.png: a socket, not an image file; give the image file itself"
