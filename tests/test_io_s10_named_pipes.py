"""Named pipes (FIFOs) as inputs: read when a program writes into them, refused in one line
when none does, instead of waiting forever (a FIFO among a folder's photographs stopped a
batch for good: ``open()`` of a pipe waits for a writer)."""

import io
import os
import threading
import time

import numpy as np
import pytest
from PIL import Image

import vecmatte._opening
from vecmatte.io import load_image, load_trimap, save_image

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")


def _png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _write_into(path, data: bytes, delay: float = 0.0) -> threading.Thread:
    def write():
        time.sleep(delay)
        with open(path, "wb") as pipe:
            pipe.write(data)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    return writer


@pytest.fixture
def pixels():
    return np.random.default_rng(0).integers(0, 256, (12, 9, 3), dtype=np.uint8)


def test_a_pipe_no_program_writes_into_is_refused_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(vecmatte._opening, "_PIPE_WAIT_SECONDS", 0.3, raising=False)
    path = tmp_path / "photo.png"
    os.mkfifo(path)
    outcome = {}

    def read():
        try:
            load_image(path)
        except ValueError as error:
            outcome["error"] = str(error)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(20)
    waiting = reader.is_alive()
    if waiting:  # the old code: open() waits for a writer; give it one to end the thread
        _write_into(path, b"").join(5)
    assert not waiting
    assert outcome["error"] == (
        f"{path}: a named pipe (FIFO) that no program wrote into within 0.3 s; write the "
        "image into it, or give a file"
    )


@pytest.mark.parametrize("delay", [0.0, 0.5], ids=["writer first", "writer later"])
def test_an_image_written_into_a_pipe_is_read(tmp_path, pixels, delay):
    path = tmp_path / "photo.png"
    os.mkfifo(path)
    writer = _write_into(path, _png(pixels), delay)
    assert np.array_equal(load_image(path), pixels / 255.0)
    writer.join(5)


def test_a_trimap_written_into_a_pipe_is_read(tmp_path):
    levels = np.zeros((6, 5), np.uint8)
    levels[:, 2] = 128
    levels[:, 3:] = 255
    path = tmp_path / "trimap.png"
    os.mkfifo(path)
    writer = _write_into(path, _png(levels))
    assert np.array_equal(load_trimap(path), levels / 255.0)
    writer.join(5)


def test_a_writer_that_writes_nothing_gives_an_empty_file(tmp_path):
    path = tmp_path / "photo.png"
    os.mkfifo(path)
    writer = _write_into(path, b"", 0.2)
    with pytest.raises(ValueError, match=r"photo.png: is empty \(0 bytes\)"):
        load_image(path)
    writer.join(5)


def test_writing_into_a_pipe_no_program_reads_from_is_refused_in_one_line(tmp_path, monkeypatch):
    import vecmatte._writing

    monkeypatch.setattr(vecmatte._writing, "_PIPE_WAIT_SECONDS", 0.3, raising=False)
    path = tmp_path / "alpha.png"
    os.mkfifo(path)
    outcome = {}

    def write():
        try:
            save_image(path, np.zeros((4, 5)))
        except OSError as error:
            outcome["error"] = error

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    writer.join(20)
    waiting = writer.is_alive()
    if waiting:  # the old code: open() waits for a reader; give it one to end the thread
        with open(path, "rb") as pipe:
            pipe.read()
    assert not waiting
    assert outcome["error"].filename == str(path)
    assert outcome["error"].strerror == (
        "a named pipe (FIFO) that no program read from within 0.3 s; read it from another "
        "program, or give a file name"
    )


@pytest.mark.parametrize("delay", [0.0, 0.5], ids=["reader first", "reader later"])
def test_an_image_written_into_a_pipe_reaches_its_reader(tmp_path, pixels, delay):
    path = tmp_path / "cutout.png"
    os.mkfifo(path)
    received = {}

    def read():
        time.sleep(delay)
        with open(path, "rb") as pipe:
            received["data"] = pipe.read()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    save_image(path, pixels)
    reader.join(5)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(received["data"]))), pixels)


def test_image_size_of_a_pipe_says_what_it_is(tmp_path):
    from vecmatte.io import image_size

    path = tmp_path / "photo.png"
    os.mkfifo(path)
    with pytest.raises(ValueError) as caught:  # was FileNotFoundError "photo.png: no such file"
        image_size(path)
    assert str(caught.value) == (
        f"{path}: a named pipe, socket or device, not an image file (its header cannot be "
        "read without taking its data)"
    )
