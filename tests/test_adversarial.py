"""Inputs the authors of this session's code may not have tried (one test per defect found)."""

from __future__ import annotations

import os

import pytest

from vecmatte.batch import find_tasks, run_batch
from vecmatte.io import save_image
from vecmatte.synthetic import make_scene


def test_a_batch_cleans_its_folder_when_an_output_link_names_it_another_way(tmp_path):
    # The output folder is given through a link (outlink -> out) and one output is a link
    # into the folder's real path: the batch took two shared locks on the one folder, under
    # two names, and its own second lock refused it the exclusive one, so a killed run's
    # temporaries were never removed ("another batch runs there").
    pytest.importorskip("fcntl")
    images, trimaps, out = tmp_path / "images", tmp_path / "trimaps", tmp_path / "out"
    for folder in (images, trimaps, out):
        folder.mkdir()
    for seed, name in enumerate(("a", "b")):
        scene = make_scene((40, 60), seed=seed)
        save_image(images / f"{name}.png", scene.image)
        save_image(trimaps / f"{name}.png", scene.trimap)
    os.symlink(out, tmp_path / "outlink")
    os.symlink(out / "b_kept.png", out / "b_alpha.png")
    stale = out / ".a_alpha.png.k1ll3d.tmp"
    stale.write_bytes(b"\x89PNG half")
    tasks = find_tasks(images, trimaps, tmp_path / "outlink")
    assert [record.status for record in run_batch(tasks)] == ["done", "done"]
    assert not stale.exists()


@pytest.mark.parametrize("reader", ["load_image", "load_trimap"])
def test_a_signed_8_bit_tiff_is_scaled_by_127_and_refused_below_zero(tmp_path, reader):
    # Pillow opens a gray TIFF of signed 8-bit samples (SampleFormat 2) as "L", its bytes
    # as they are: 127 read as 127/255 (half bright) and -1 as 255 (white), without a word,
    # while signed 16- and 32-bit TIFFs are divided by their largest value (fe177eb) and
    # refused below 0.
    tifffile = pytest.importorskip("tifffile")
    import numpy as np

    import vecmatte.io

    read = getattr(vecmatte.io, reader)
    levels = np.array([[0, 64, 127, 127], [0, 0, 64, 127]], dtype=np.int8)
    tifffile.imwrite(tmp_path / "signed.tif", levels)
    pixels = read(tmp_path / "signed.tif")
    expected = levels / 127.0
    np.testing.assert_allclose(pixels[..., 0] if pixels.ndim == 3 else pixels, expected)
    tifffile.imwrite(tmp_path / "negative.tif", np.array([[-1, 0], [64, 127]], dtype=np.int8))
    with pytest.raises(ValueError, match=r"signed 8-bit integer image with values in \[-1, 127\]"):
        read(tmp_path / "negative.tif")


def test_another_threads_collection_keeps_this_threads_warning_filters():
    # collected_warnings puts "always" for UserWarning and RuntimeWarning in front of the
    # process-wide filters while any thread collects, and shows the other threads' warnings
    # "as they would have been": a user's "ignore" was shown and "error" did not raise in
    # the user's own thread while a batch task or a request of vecmatte serve collected.
    import threading
    import warnings

    from vecmatte._errors import collected_warnings

    inside, done = threading.Event(), threading.Event()

    def collect():
        with collected_warnings():
            inside.set()
            done.wait(60)

    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("ignore")
        warnings.filterwarnings("error", message="fatal")
        thread = threading.Thread(target=collect)
        thread.start()
        try:
            assert inside.wait(60)
            warnings.warn("quiet", UserWarning, stacklevel=1)
            with pytest.raises(UserWarning, match="fatal"):
                warnings.warn("fatal", UserWarning, stacklevel=1)
            warnings.filterwarnings("always", message="loud")  # set while it collects
            warnings.warn("loud", RuntimeWarning, stacklevel=1)
        finally:
            done.set()
            thread.join()
    assert [str(warning.message) for warning in shown] == ["loud"]


def test_a_32_bit_pil_image_of_8_bit_levels_is_named_as_a_file_of_them_is():
    # A PIL image of mode "I" (Image.fromarray of int32 levels, or image.convert("I")) is
    # read as 16-bit levels: 0-255 became at most 0.004, a black image or a trimap "without
    # foreground", without a word, where load_image says so of such a file
    # (SampleRangeWarning, fe177eb).
    import numpy as np
    from PIL import Image

    from vecmatte._validation import as_array
    from vecmatte.io import SampleRangeWarning

    levels = np.array([[0, 128, 255], [255, 128, 0]])
    with pytest.warns(SampleRangeWarning, match=r"trimap .*largest value, 255.*convert\('L'\)"):
        pixels = as_array(Image.fromarray(levels.astype(np.int32)), "trimap", gray=True)
    np.testing.assert_array_equal(pixels, levels.astype(np.uint16))  # read as before
    wide = np.array([[0, 300], [65535, 7]]).astype(np.int32)
    np.testing.assert_array_equal(as_array(Image.fromarray(wide), "trimap", gray=True), wide)


@pytest.mark.parametrize("text", ["6_5", "+65", "\u0666\u0665", "0x41"])
def test_a_content_length_of_other_characters_than_digits_is_refused(text):
    # int() reads "6_5" as 65, "+65" as 65 and Arabic-Indic digits as 65: vecmatte serve took
    # as the body's length what HTTP (1*DIGIT) and a proxy in front of it do not.
    import io
    from wsgiref.util import setup_testing_defaults

    from vecmatte.web import create_app

    body = b'--XX\r\nContent-Disposition: form-data; name="a"\r\n\r\nhello\r\n--XX--\r\n'
    assert len(body) == 65
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/alpha",
        "CONTENT_TYPE": "multipart/form-data; boundary=XX",
        "CONTENT_LENGTH": text,
        "wsgi.input": io.BytesIO(body),
    }
    setup_testing_defaults(environ)
    answer = {}
    content = b"".join(create_app()(environ, lambda status, headers: answer.update(s=status)))
    assert answer["s"].startswith("400")
    assert b"Content-Length is not a number" in content


@pytest.mark.parametrize("width", [3, 4, 5])
def test_a_planar_16_bit_colour_tiff_of_any_width_reads_as_stored(tmp_path, width):
    # tifffile gives a planar (channels-first) RGB TIFF as (3, h, w); it was moved to
    # (h, w, 3) only when w was not 3 or 4, so a picture 3 or 4 pixels wide came back
    # (3, h, w) read as rows, a scrambled image of the wrong size, without a word.
    tifffile = pytest.importorskip("tifffile")
    import numpy as np

    from vecmatte.io import load_image

    samples = np.random.default_rng(0).integers(0, 65536, (5, width, 3), dtype=np.uint16)
    path = tmp_path / "planar.tif"
    tifffile.imwrite(path, np.moveaxis(samples, -1, 0), photometric="rgb", planarconfig="separate")
    np.testing.assert_array_equal(load_image(path), samples / 65535.0)


def test_a_reading_note_obeys_a_filter_by_the_callers_module(tmp_path):
    # Notes said while a file is read (several frames, ...) are recorded and said again with
    # warnings.warn_explicit, which without module= matched a filter's module against the
    # file's path ('/.../test_adversarial'), not the caller's __name__: a user's
    # filterwarnings("ignore", category=ExtraFramesWarning, module=__name__) was not obeyed.
    import re
    import warnings

    import numpy as np
    from PIL import Image

    from vecmatte.io import ExtraFramesWarning, load_image

    frames = [Image.fromarray(np.full((4, 5, 3), level, np.uint8)) for level in (0, 255)]
    frames[0].save(tmp_path / "two.gif", save_all=True, append_images=frames[1:])
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=ExtraFramesWarning, module=re.escape(__name__))
        load_image(tmp_path / "two.gif")
    assert shown == []
    with pytest.warns(ExtraFramesWarning) as noted:
        load_image(tmp_path / "two.gif")
    assert noted[0].filename == __file__


def _write_12_bit_tiff(path, samples) -> None:
    """A gray TIFF of 12-bit samples (two in three bytes), uncompressed, one strip."""
    import struct

    import numpy as np

    height, width = samples.shape
    assert width % 2 == 0  # whole bytes per row
    pairs = samples.reshape(-1, 2).astype(np.uint32)
    packed = np.stack(
        [pairs[:, 0] >> 4, ((pairs[:, 0] & 15) << 4) | (pairs[:, 1] >> 8), pairs[:, 1] & 255]
    )
    data = packed.T.astype(np.uint8).tobytes()
    tags = [(256, 3, width), (257, 3, height), (258, 3, 12), (259, 3, 1), (262, 3, 1)]
    tags += [(273, 4, 0), (277, 3, 1), (278, 3, height), (279, 4, len(data))]
    offset = 8 + 2 + 12 * len(tags) + 4
    ifd = struct.pack("<H", len(tags))
    for tag, kind, value in tags:
        value = offset if tag == 273 else value
        packed_value = struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, kind, 1) + packed_value
    path.write_bytes(b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + data)


@pytest.mark.parametrize("reader", ["load_image", "load_trimap"])
def test_a_12_bit_tiff_is_divided_by_4095(tmp_path, reader):
    # Pillow opens a 12-bit gray TIFF as "I;16" with its values as stored (0-4095), and
    # they were divided by 65535: white read as 0.0625, a dark image without a word, where
    # the readers divide integer samples by the largest value of their bit depth (fe177eb).
    import numpy as np

    import vecmatte.io

    levels = np.array([[0, 2048, 4095, 4095], [0, 0, 2048, 4095]], dtype=np.uint16)
    _write_12_bit_tiff(tmp_path / "twelve.tif", levels)
    pixels = getattr(vecmatte.io, reader)(tmp_path / "twelve.tif")
    np.testing.assert_allclose(pixels[..., 0] if pixels.ndim == 3 else pixels, levels / 4095)


def test_folder_locks_interrupted_while_waiting_keep_no_folder_open(tmp_path, monkeypatch):
    # FolderLocks waits (LOCK_SH) while another batch cleans a folder, or while another
    # program holds it exclusively. Ctrl-C there (a notebook's interrupt) left the folders
    # locked so far open and locked for the life of the process: no batch could clean
    # them again, and the descriptors leaked.
    fcntl = pytest.importorskip("fcntl")
    from vecmatte.batch import _lock

    folders = [tmp_path / name for name in ("a", "b", "c")]
    for folder in folders:
        folder.mkdir()
    flock = fcntl.flock
    calls = []

    def interrupted_on_the_second(descriptor, operation):
        calls.append(descriptor)
        if len(calls) == 2:
            raise KeyboardInterrupt
        flock(descriptor, operation)

    monkeypatch.setattr(_lock.fcntl, "flock", interrupted_on_the_second)
    with pytest.raises(KeyboardInterrupt):
        _lock.FolderLocks(folders)
    monkeypatch.undo()
    for descriptor in calls:
        with pytest.raises(OSError):
            os.fstat(descriptor)  # closed
    with (
        _lock.FolderLocks([folders[0]], shared=False) as locks,
        locks.alone_in(folders[0]) as alone,
    ):
        assert alone


def test_another_threads_collection_takes_filters_of_plain_strings():
    # The interpreter's default filters hold their module as a plain string ('__main__'),
    # not a regular expression: the routing of b6484ce called .match on it and raised
    # AttributeError from warnings.warn in a thread that did not collect.
    import threading
    import warnings

    from vecmatte._errors import collected_warnings

    inside, done = threading.Event(), threading.Event()

    def collect():
        with collected_warnings():
            inside.set()
            done.wait(60)

    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("ignore")
        warnings.filters.insert(0, ("always", None, UserWarning, __name__, 0))
        warnings.filters.insert(0, ("always", None, DeprecationWarning, __name__, 0))
        warnings._filters_mutated()
        thread = threading.Thread(target=collect)
        thread.start()
        try:
            assert inside.wait(60)
            warnings.warn("old", DeprecationWarning, stacklevel=1)
            warnings.warn("mine", UserWarning, stacklevel=1)
        finally:
            done.set()
            thread.join()
    assert [str(warning.message) for warning in shown] == ["old", "mine"]


def test_a_pil_image_whose_file_was_closed_is_named(tmp_path):
    # 'with Image.open(path) as image: pass' leaves an image whose pixels were never read
    # and whose file is closed: estimate_alpha(image, ...) raised a bare AssertionError
    # from inside Pillow (and ValueError 'Operation on closed image' for one closed after
    # loading), naming neither the argument nor the way out.
    import numpy as np
    from PIL import Image

    import vecmatte

    scene = make_scene((40, 48), seed=0)
    save_image(tmp_path / "image.png", scene.image)
    trimap = (scene.trimap * 255).round().astype(np.uint8)
    with Image.open(tmp_path / "image.png") as never_read:
        pass
    loaded_then_closed = Image.open(tmp_path / "image.png")
    loaded_then_closed.load()
    loaded_then_closed.close()
    for image in (never_read, loaded_then_closed):
        with pytest.raises(ValueError, match=r"^image is a PIL image whose file was closed"):
            vecmatte.estimate_alpha(image, trimap)
