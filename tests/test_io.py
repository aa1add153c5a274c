"""load_image / load_trimap / save_image: conversions at the edge, clear errors, atomic writes."""

from __future__ import annotations

import io
import os
import stat
import warnings

import numpy as np
import pytest
from conftest import files_in, write_float_tiff, write_png
from PIL import Image

import vecmatte
import vecmatte._levels
import vecmatte._writing
import vecmatte.io as vecmatte_io
from vecmatte import load_image, load_trimap, save_image
from vecmatte.io import AlphaChannelIgnoredWarning, load_gray


def _read(path) -> np.ndarray:
    """Pixels of an image file, read with Pillow directly (and closed)."""
    with Image.open(path) as image:
        return np.asarray(image)


def _mode(path) -> str:
    with Image.open(path) as image:
        return image.mode


def test_rgb_png_round_trip(tmp_path, rng):
    pixels = rng.integers(0, 256, size=(7, 9, 3)).astype(np.uint8)
    write_png(tmp_path / "a.png", pixels)
    image = load_image(tmp_path / "a.png")
    assert image.shape == (7, 9, 3) and image.dtype == np.float64
    np.testing.assert_array_equal(image, pixels / 255.0)
    save_image(tmp_path / "b.png", image)
    np.testing.assert_array_equal(_read(tmp_path / "b.png"), pixels)


def test_gray_png_loads_as_rgb(tmp_path, rng):
    pixels = rng.integers(0, 256, size=(5, 6)).astype(np.uint8)
    write_png(tmp_path / "g.png", pixels)
    image = load_image(tmp_path / "g.png")
    assert image.shape == (5, 6, 3)
    for channel in range(3):
        np.testing.assert_array_equal(image[:, :, channel], pixels / 255.0)


def test_opaque_rgba_png_drops_alpha(tmp_path, rng):
    pixels = rng.integers(0, 256, size=(5, 6, 4)).astype(np.uint8)
    pixels[:, :, 3] = 255
    write_png(tmp_path / "rgba.png", pixels)
    np.testing.assert_array_equal(load_image(tmp_path / "rgba.png"), pixels[:, :, :3] / 255.0)


def test_translucent_rgba_png_warns(tmp_path, rng):
    pixels = rng.integers(0, 256, size=(5, 6, 4)).astype(np.uint8)
    write_png(tmp_path / "rgba.png", pixels)
    with pytest.warns(AlphaChannelIgnoredWarning, match="alpha channel"):
        image = load_image(tmp_path / "rgba.png")
    np.testing.assert_array_equal(image, pixels[:, :, :3] / 255.0)


def test_palette_png(tmp_path, rng):
    pixels = rng.integers(0, 256, size=(6, 6, 3)).astype(np.uint8)
    Image.fromarray(pixels).convert("P", palette=Image.Palette.ADAPTIVE).save(tmp_path / "p.png")
    with Image.open(tmp_path / "p.png") as palette:
        expected = np.asarray(palette.convert("RGB")) / 255.0
    np.testing.assert_array_equal(load_image(tmp_path / "p.png"), expected)


def test_sixteen_bit_gray_keeps_precision(tmp_path):
    pixels = np.array([[0, 1, 257], [32768, 65534, 65535]], dtype=np.uint16)
    write_png(tmp_path / "16.png", pixels)
    np.testing.assert_allclose(load_trimap(tmp_path / "16.png"), pixels / 65535.0, atol=1e-12)
    np.testing.assert_allclose(
        load_image(tmp_path / "16.png")[:, :, 1], pixels / 65535.0, atol=1e-12
    )


def test_trimap_png(tmp_path):
    pixels = np.array([[0, 128, 255], [255, 128, 0]], dtype=np.uint8)
    write_png(tmp_path / "t.png", pixels)
    trimap = load_trimap(tmp_path / "t.png")
    assert trimap.shape == (2, 3)
    np.testing.assert_array_equal(trimap, pixels / 255.0)


def test_rgb_trimap_converted_to_gray(tmp_path):
    pixels = np.array([[0, 128, 255]], dtype=np.uint8)
    write_png(tmp_path / "t.png", np.repeat(pixels[:, :, None], 3, axis=2))
    np.testing.assert_array_equal(load_trimap(tmp_path / "t.png"), pixels / 255.0)


def test_float_tiff(tmp_path):
    values = np.array([[0.0, 0.25], [0.5, 1.0]])
    write_float_tiff(tmp_path / "f.tif", values)
    np.testing.assert_allclose(load_trimap(tmp_path / "f.tif"), values)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.png"):
        load_image(tmp_path / "nope.png")


def test_directory_is_not_an_image(tmp_path):
    with pytest.raises(IsADirectoryError, match="directory"):
        load_image(tmp_path)


@pytest.mark.parametrize("loader", [load_image, load_trimap])
def test_text_file_named_png(tmp_path, loader):
    path = tmp_path / "notes.png"
    path.write_text("this is not an image\n")
    with pytest.raises(ValueError, match=r"notes\.png.*not an image"):
        loader(path)


def test_truncated_png(tmp_path, rng):
    write_png(tmp_path / "full.png", rng.integers(0, 256, size=(40, 40, 3)).astype(np.uint8))
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut\.png"):
        load_image(tmp_path / "cut.png")


def test_empty_file(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.png: is empty \(0 bytes\)$"):
        load_image(tmp_path / "empty.png")


def test_empty_stdin_and_a_file_without_extension_are_named_plainly(tmp_path):
    # Before: "<stdin>: not an image file Pillow can read (is it really a image file?)"
    import io

    stdin = io.BytesIO(b"")
    stdin.name = "<stdin>"
    with pytest.raises(
        ValueError, match=r"^<stdin>: is empty \(0 bytes\); was nothing piped in\?$"
    ):
        load_image(stdin)
    (tmp_path / "notes").write_text("not an image")
    with pytest.raises(
        ValueError, match=r"notes: not an image file Pillow can read \(is it an image at all\?\)$"
    ):
        load_trimap(tmp_path / "notes")


@pytest.mark.parametrize(
    ("array", "mode"),
    [
        (np.linspace(0, 1, 12).reshape(3, 4), "L"),
        (np.linspace(0, 1, 36).reshape(3, 4, 3), "RGB"),
        (np.linspace(0, 1, 48).reshape(3, 4, 4), "RGBA"),
        (np.linspace(0, 1, 12).reshape(3, 4, 1), "L"),
    ],
)
def test_save_modes(tmp_path, array, mode):
    save_image(tmp_path / "out.png", array)
    assert _mode(tmp_path / "out.png") == mode
    expected = np.round(array * 255).astype(np.uint8).squeeze()
    np.testing.assert_array_equal(_read(tmp_path / "out.png"), expected)


def test_save_rounds(tmp_path):
    save_image(tmp_path / "c.png", np.array([[0.0, 0.5 / 255, 1.6 / 255, 1.0]]))
    np.testing.assert_array_equal(_read(tmp_path / "c.png"), [[0, 0, 2, 255]])


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.full((3, 3), 200.0), r"values in \[200, 200\].*divide by 255"),
        (np.array([[0.0, 2.0]]), r"values in \[0, 2\]: floats must lie in \[0, 1\]"),
        (np.array([[-0.5, 0.5]]), r"values in \[-0.5, 0.5\]"),
        (np.full((3, 3), np.nan), "9 NaN or infinite values"),
        (np.array([[0.0, np.inf]]), "NaN or infinite"),
    ],
)
def test_save_refuses_out_of_range_floats(tmp_path, array, message):
    # Issue 17, item 3: alpha * 255 used to write an all-white image, NaN black, [0, 2]
    # clipped silently.
    with pytest.raises(ValueError, match=message):
        save_image(tmp_path / "a.png", array)
    assert files_in(tmp_path) == set()


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_save_uint16_gray_at_16_bits(tmp_path, suffix):
    pixels = np.array([[0, 1, 300], [40000, 65534, 65535]], dtype=np.uint16)
    save_image(tmp_path / f"g{suffix}", pixels)
    assert _mode(tmp_path / f"g{suffix}").startswith("I;16")
    np.testing.assert_array_equal(_read(tmp_path / f"g{suffix}"), pixels)
    np.testing.assert_array_equal(load_trimap(tmp_path / f"g{suffix}"), pixels / 65535.0)


def test_save_uint16_colour_as_tiff_only(tmp_path, rng):
    pixels = rng.integers(0, 65536, size=(4, 5, 3)).astype(np.uint16)
    save_image(tmp_path / "c.tif", pixels)
    np.testing.assert_array_equal(load_image(tmp_path / "c.tif"), pixels / 65535.0)
    with pytest.raises(ValueError, match=r"16-bit colour image can be saved only as \.tif"):
        save_image(tmp_path / "c.png", pixels)
    with pytest.raises(ValueError, match="JPEG cannot hold 16-bit gray"):
        save_image(tmp_path / "g.jpg", pixels[:, :, 0])
    assert files_in(tmp_path) == {"c.tif"}


def test_save_bool_as_black_and_white(tmp_path):
    save_image(tmp_path / "b.png", np.array([[True, False]]))
    np.testing.assert_array_equal(_read(tmp_path / "b.png"), [[255, 0]])


def test_save_and_load_through_streams():
    import io

    pixels = np.array([[0, 128], [255, 7]], dtype=np.uint8)
    stream = io.BytesIO()
    save_image(stream, pixels)
    assert stream.getvalue().startswith(b"\x89PNG")
    stream.seek(0)
    np.testing.assert_array_equal(load_trimap(stream), pixels / 255.0)


def test_save_uint8_unchanged(tmp_path, rng):
    pixels = rng.integers(0, 256, size=(4, 5, 3)).astype(np.uint8)
    save_image(tmp_path / "u.png", pixels)
    np.testing.assert_array_equal(_read(tmp_path / "u.png"), pixels)


def test_save_other_formats(tmp_path, rng):
    array = rng.random((6, 7))
    for name in ("a.tif", "a.bmp"):
        save_image(tmp_path / name, array)
        np.testing.assert_array_equal(
            _read(tmp_path / name), np.round(array * 255).astype(np.uint8)
        )
    save_image(tmp_path / "a.jpg", rng.random((6, 7, 3)))
    with Image.open(tmp_path / "a.jpg") as jpeg:
        assert jpeg.format == "JPEG"


def test_save_into_missing_directory(tmp_path):
    target = tmp_path / "missing" / "out.png"
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_image(target, np.zeros((3, 3)))
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((3, 3, 2)), "shape"),
        (np.zeros((3,)), "shape"),
        (np.zeros((3, 3), dtype=np.int64), "dtype"),
    ],
)
def test_save_bad_arrays_write_nothing(tmp_path, array, message):
    with pytest.raises(ValueError, match=message):
        save_image(tmp_path / "out.png", array)
    assert files_in(tmp_path) == set()


def test_save_unknown_extension(tmp_path):
    with pytest.raises(ValueError, match="extension"):
        save_image(tmp_path / "out.xyz", np.zeros((3, 3)))
    assert files_in(tmp_path) == set()


def test_failed_save_leaves_nothing_and_keeps_old_file(tmp_path, monkeypatch):
    target = tmp_path / "out.png"
    save_image(target, np.zeros((3, 3)))
    before = target.read_bytes()

    def broken_save(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_image(target, np.ones((3, 3)))
    assert target.read_bytes() == before  # the old file is untouched ...
    assert files_in(tmp_path) == {"out.png"}  # ... and no temporary file is left behind


def test_interrupted_save_leaves_no_partial_file(tmp_path, monkeypatch):
    def interrupted_save(self, fp, *args, **kwargs):
        fp.write(b"\x89PNG partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(Image.Image, "save", interrupted_save)
    with pytest.raises(KeyboardInterrupt):
        save_image(tmp_path / "out.png", np.ones((3, 3)))
    assert files_in(tmp_path) == set()


@pytest.mark.parametrize("failure", [KeyboardInterrupt, ValueError, OSError])
def test_save_images_writes_all_or_none(tmp_path, failure):
    old = tmp_path / "alpha.png"
    save_image(old, np.zeros((3, 3)))
    before = old.read_bytes()

    def outputs():
        yield old, np.ones((3, 3))
        yield tmp_path / "cutout.png", np.ones((3, 3, 4))
        raise failure("stopped while the third output was made")

    with pytest.raises(failure):
        vecmatte_io.save_images(outputs())
    assert files_in(tmp_path) == {"alpha.png"}  # no temporaries, no cutout
    assert old.read_bytes() == before  # the file it would replace is untouched
    vecmatte_io.save_images([(old, np.ones((3, 3))), (tmp_path / "c.png", np.ones((3, 3, 4)))])
    assert files_in(tmp_path) == {"alpha.png", "c.png"}
    assert _read(old).min() == 255 and _read(tmp_path / "c.png").shape == (3, 3, 4)


def test_save_images_refuses_a_bad_array_before_renaming_any(tmp_path):
    outputs = [(tmp_path / "a.png", np.ones((3, 3))), (tmp_path / "b.png", np.full((3, 3), 2.0))]
    with pytest.raises(ValueError, match=r"values in \[2, 2\]"):
        vecmatte_io.save_images(outputs)
    assert files_in(tmp_path) == set()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_device_or_pipe_output_is_written_into_not_replaced(tmp_path):
    # Before: the rename replaced it by a regular file; `-o /dev/null` as root replaced the
    # system's /dev/null. A named pipe stands in for the device here.
    import threading

    pipe = tmp_path / "pipe.png"
    os.mkfifo(pipe)
    received = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_bytes()), daemon=True)
    reader.start()
    vecmatte_io.save_images([(tmp_path / "alpha.png", np.zeros((3, 3))), (pipe, np.ones((3, 3)))])
    reader.join(timeout=30)
    assert stat.S_ISFIFO(pipe.stat().st_mode)
    assert received and received[0].startswith(b"\x89PNG")
    assert files_in(tmp_path) == {"alpha.png", "pipe.png"}  # no temporary left
    # a device or pipe may take several outputs (-o /dev/null --cutout /dev/null), not an input
    vecmatte_io.check_output_paths({"-o": pipe, "--cutout": pipe}, {"image": tmp_path / "a.png"})
    with pytest.raises(ValueError, match="would overwrite the image"):
        vecmatte_io.check_output_paths({"-o": pipe}, {"image": pipe})


def test_save_overwrites_atomically(tmp_path):
    target = tmp_path / "out.png"
    save_image(target, np.zeros((3, 3)))
    save_image(target, np.ones((3, 3)))
    np.testing.assert_array_equal(_read(target), 255)
    assert files_in(tmp_path) == {"out.png"}


def test_save_relative_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    save_image("rel.png", np.zeros((2, 2)))
    assert (tmp_path / "rel.png").is_file()


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_saved_file_has_default_permissions(tmp_path):
    # The temporary file of the atomic write is private; the result must not be.
    umask = os.umask(0o022)
    os.umask(umask)
    save_image(tmp_path / "new.png", np.zeros((3, 3)))
    assert stat.S_IMODE((tmp_path / "new.png").stat().st_mode) == 0o666 & ~umask
    (tmp_path / "old.png").write_bytes(b"")
    (tmp_path / "old.png").chmod(0o640)
    save_image(tmp_path / "old.png", np.zeros((3, 3)))
    assert stat.S_IMODE((tmp_path / "old.png").stat().st_mode) == 0o640


def test_save_accepts_rounding_noise_at_the_ends(tmp_path):
    save_image(tmp_path / "r.png", np.array([[-1e-12, 0.5, 1 + 1e-12]]))
    np.testing.assert_array_equal(_read(tmp_path / "r.png"), [[0, 128, 255]])
    with pytest.raises(ValueError, match="floats must lie in"):
        save_image(tmp_path / "r.png", np.array([[0.0, 1.001]]))


@pytest.mark.parametrize("chunk", [1, 7, 1 << 20])
@pytest.mark.parametrize("shape", [(5, 6), (5, 6, 3), (5, 6, 4), (1, 1)])
def test_floats_to_uint8_in_blocks_matches_one_shot_rounding(monkeypatch, rng, chunk, shape):
    # Blocks of rows of any size give the levels of the plain full-size conversion, also
    # for values a rounding error outside [0, 1] and for halves (rounded to even).
    monkeypatch.setattr(vecmatte._levels, "_CHUNK_VALUES", chunk)
    array = rng.random(shape)
    array.flat[0], array.flat[-1] = -1e-7, 1 + 1e-7
    if array.size > 2:
        array.flat[1] = 0.5 / 255
    expected = np.round(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8)
    np.testing.assert_array_equal(vecmatte_io.floats_to_uint8(array), expected)
    out = np.zeros((*shape, 2), dtype=np.uint8)
    vecmatte_io.floats_to_uint8(array, out=out[..., 1])
    np.testing.assert_array_equal(out[..., 1], expected)
    assert not out[..., 0].any()


@pytest.mark.parametrize("chunk", [1, 1 << 20])
def test_save_counts_nan_in_blocks(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(vecmatte._levels, "_CHUNK_VALUES", chunk)
    array = np.zeros((4, 5))
    array[[0, 3], [1, 4]] = np.nan
    array[2, 2] = -np.inf
    with pytest.raises(ValueError, match="3 NaN or infinite values of 20"):
        save_image(tmp_path / "a.png", array)
    assert files_in(tmp_path) == set()


def _files_that_warn(directory, scene) -> dict[str, tuple]:
    """Files whose reading warns, each with the readers to try it with."""
    import io
    import struct

    import tifffile

    pixels = np.round(scene.image * 255).astype(np.uint8)
    levels = np.round(scene.trimap * 255).astype(np.uint8)
    files = {}
    # Damaged EXIF (Pillow's own warning, said again by named_pillow_warnings).
    buffer = io.BytesIO()
    Image.fromarray(levels).save(buffer, "JPEG", quality=100)
    payload = b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08" + b"\xff" * 40
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    data = buffer.getvalue()
    (directory / "exif.jpg").write_bytes(data[:2] + segment + data[2:])
    files["exif.jpg"] = (load_image, load_trimap)
    # Several frames (_open).
    frames = [Image.fromarray(levels), Image.fromarray(levels[::-1].copy())]
    frames[0].save(directory / "frames.gif", save_all=True, append_images=frames[1:])
    files["frames.gif"] = (load_image, load_trimap)
    # A translucent 8-bit alpha channel (_note_alpha; _map_or_its_alpha for maps).
    rgba = np.dstack([np.repeat(levels[:, :, None], 3, axis=2), np.full_like(levels, 100)])
    write_png(directory / "rgba.png", rgba)
    files["rgba.png"] = (load_image, load_trimap, vecmatte_io.load_gray)
    # A translucent 16-bit alpha channel (_warn_alpha called by load_image itself).
    wide = np.dstack([pixels.astype(np.uint16) * 257, np.full(levels.shape, 1000, np.uint16)])
    tifffile.imwrite(directory / "rgba16.tif", wide, photometric="rgb", extrasamples=[2])
    files["rgba16.tif"] = (load_image,)
    # A trimap smeared by JPEG (_note_smeared_levels).
    Image.fromarray(levels).save(directory / "smeared.jpg", quality=30)
    files["smeared.jpg"] = (load_trimap,)
    return files


def test_warnings_point_at_the_callers_line_whatever_the_call_depth(tmp_path, scene):
    # named_pillow_warnings said its note with a fixed stacklevel=5 and the readers theirs
    # with 3 or 5: right for load_image, but load_trimap reaches them one frame deeper
    # (through load_gray), so its warnings pointed into vecmatte/io.py.
    import inspect

    tried = 0
    for name, readers in _files_that_warn(tmp_path, scene).items():
        for reader in readers:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                line = inspect.currentframe().f_lineno + 1
                reader(tmp_path / name)
            assert caught, (name, reader.__name__)
            for warning in caught:
                where = (warning.filename, warning.lineno)
                assert where == (__file__, line), (name, reader.__name__, str(warning.message))
            tried += 1
    assert tried == 9


# --- writing through links, long names, 16 bits, a full disk; what the readers take -----------


def test_the_library_refuses_an_empty_name(tmp_path, monkeypatch):
    from vecmatte.batch import find_tasks

    monkeypatch.chdir(tmp_path)
    for read in (vecmatte.load_image, vecmatte.load_trimap):
        with pytest.raises(ValueError, match=r"^an empty file name \(''\) was given"):
            read("")
    with pytest.raises(ValueError, match=r"^the output is an empty name; give a file name$"):
        vecmatte.save_image("", np.zeros((2, 2)))
    (tmp_path / "a").mkdir()
    for folders, what in ((("", "a", "o"), "images"), (("a", "", "o"), "trimaps")):
        with pytest.raises(ValueError, match=rf"^the {what} folder is an empty name"):
            find_tasks(*folders)
    (tmp_path / "b").mkdir()
    write_png(tmp_path / "a" / "x.png", np.zeros((4, 4)))
    write_png(tmp_path / "b" / "x.png", np.zeros((4, 4)))
    with pytest.raises(ValueError, match=r"^the output folder is an empty name"):
        find_tasks("a", "b", "")
    assert files_in(tmp_path) == {"a", "b"} and files_in(tmp_path / "a") == {"x.png"}


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_a_16_bit_save_reads_back_within_one_level_of_65535(tmp_path, rng, suffix):
    alpha = rng.random((23, 31))
    alpha[0, :3] = [0.0, 1.0, 0.5]
    path = tmp_path / f"alpha{suffix}"
    save_image(path, alpha, bit_depth=16)
    with Image.open(path) as image:
        stored = np.asarray(image)
    assert stored.dtype == np.uint16  # read by Pillow directly, not by vecmatte
    assert np.abs(stored / 65535.0 - alpha).max() <= 0.5 / 65535 + 1e-12
    assert np.abs(load_gray(path, name="alpha") - alpha).max() <= 1 / 65535


def test_16_bit_colour_goes_to_tiff_and_is_refused_as_png(tmp_path, rng):
    colours = rng.random((9, 7, 3))
    save_image(tmp_path / "c.tif", colours, bit_depth=16)
    assert np.abs(load_image(tmp_path / "c.tif") - colours).max() <= 1 / 65535
    with pytest.raises(ValueError, match=r"only as \.tif .*; use \.tif, or leave out bit_depth"):
        save_image(tmp_path / "c.png", colours, bit_depth=16)
    with pytest.raises(ValueError, match=r"JPEG cannot hold 16-bit gray; .*leave out bit_depth"):
        save_image(tmp_path / "c.jpg", colours[:, :, 0], bit_depth=16)
    assert not (tmp_path / "c.png").exists()


@pytest.mark.parametrize("bit_depth", [12, True, "16"])
def test_a_bit_depth_other_than_8_or_16_is_refused(tmp_path, bit_depth):
    with pytest.raises(ValueError, match="bit_depth must be 8 or 16"):
        save_image(tmp_path / "a.png", np.zeros((4, 4)), bit_depth=bit_depth)
    assert list(tmp_path.iterdir()) == []


def test_integer_arrays_keep_their_depth_whatever_bit_depth(tmp_path):
    levels = np.arange(16, dtype=np.uint8).reshape(4, 4)
    save_image(tmp_path / "a.png", levels, bit_depth=16)
    with Image.open(tmp_path / "a.png") as image:
        np.testing.assert_array_equal(np.asarray(image), levels)


def test_a_full_disk_names_the_file_and_leaves_no_temporary(tmp_path, full_disk):
    (tmp_path / "a.png").write_bytes(b"old")
    with pytest.raises(OSError) as error:
        save_image(tmp_path / "a.png", np.zeros((4, 4)))
    assert error.value.filename == str(tmp_path / "a.png")
    assert "No space left on device" in str(error.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]
    assert (tmp_path / "a.png").read_bytes() == b"old"


def test_an_output_ending_with_a_slash_is_refused_not_written_without_it(tmp_path, monkeypatch):
    # Before: save_image("out/", ...) and `-o out/` wrote a file named "out".
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"^out/: ends with '/', as a folder does; give a file"):
        save_image("out/", np.zeros((3, 3)))
    (tmp_path / "folder").mkdir()
    with pytest.raises(IsADirectoryError, match=r"^folder/: is a directory; give a file name"):
        save_image("folder/", np.zeros((3, 3)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]


def test_save_image_writes_through_a_symbolic_link(tmp_path, scene):
    # A link is written through, as open() and Pillow's save write, not replaced by a file.
    target_dir = tmp_path / "elsewhere"
    target_dir.mkdir()
    target = target_dir / "alpha.png"
    target.write_bytes(b"old")
    link = tmp_path / "alpha.png"
    link.symlink_to(target)
    vecmatte.save_image(link, scene.alpha)
    assert link.is_symlink() and link.resolve() == target
    assert vecmatte.load_trimap(target).shape == scene.alpha.shape
    assert files_in(tmp_path) == {"alpha.png", "elsewhere"}
    assert files_in(target_dir) == {"alpha.png"}


@pytest.mark.parametrize("suffix", [".pgm", ".tga", ".gif", ".jp2", ".bmp"])
def test_other_image_formats_are_still_written_at_full_size(tmp_path, scene, suffix):
    path = tmp_path / f"matte{suffix}"
    vecmatte.save_image(path, scene.alpha)
    with Image.open(path) as written:
        assert written.size == scene.alpha.shape[::-1]


def test_an_output_with_a_long_valid_name_is_written(tmp_path, scene):
    # A name of 242 to 255 bytes is valid, but its temporary's was too long: "file name too
    # long" named '.aaaa...png.x1y2z3.tmp', a file the user never gave, after the solve.
    from vecmatte._writing import temporary_prefix
    from vecmatte.batch._core import BatchTask, remove_stale_temporaries
    from vecmatte.io import save_image

    path = tmp_path / ("a" * 246 + ".png")  # 250 bytes
    save_image(path, scene.alpha)
    assert files_in(tmp_path) == {path.name}
    # A killed batch's temporary of such an output is still found and removed.
    stale = tmp_path / f"{temporary_prefix(path)}k1ll3d0n.tmp"
    stale.write_bytes(b"half")
    remove_stale_temporaries([BatchTask("a", "i.png", "t.png", str(path), None)])
    assert files_in(tmp_path) == {path.name}


def test_a_link_planted_by_another_user_in_a_shared_folder_is_not_followed(tmp_path, scene):
    # Outputs are written through links (a0f2f6b); in a sticky shared folder (/tmp) a link
    # of another user is refused, as the kernel's protected_symlinks refuses open() there.
    if not hasattr(os, "lchown") or os.geteuid() != 0:
        pytest.skip("needs root to give a link another owner")
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    mine = tmp_path / "precious.png"
    mine.write_bytes(b"keep")
    link = shared / "out.png"
    link.symlink_to(mine)
    os.lchown(link, 54321, 54321)
    with pytest.raises(PermissionError, match="symbolic link of another user"):
        vecmatte.save_image(link, scene.alpha)
    assert mine.read_bytes() == b"keep" and link.is_symlink()
    os.lchown(link, os.geteuid(), os.getegid())  # our own link is followed
    vecmatte.save_image(link, scene.alpha)
    assert vecmatte.load_trimap(mine).shape == scene.alpha.shape


def test_loading_something_that_is_not_a_file_says_what_to_give(scene_files):
    # load_image(data) with a file's bytes said "argument should be a str object or an
    # os.PathLike object returning str, not <class 'bytes'>", with an array "expected str,
    # bytes or os.PathLike object, not ndarray".
    image, _ = scene_files
    data = image.read_bytes()
    with pytest.raises(TypeError, match=r"got bytes; .* io\.BytesIO\(data\)"):
        vecmatte.load_image(data)
    with pytest.raises(TypeError, match="got ndarray; an array is an image already"):
        vecmatte.load_trimap(np.zeros((4, 4)))
    assert vecmatte.load_image(io.BytesIO(data)).shape[2] == 3


def test_resume_cleans_the_temporaries_of_an_output_that_is_a_link(tmp_path):
    # Since a0f2f6b a linked output's temporary is made beside the link's file; a killed
    # batch's leftover there was not found by the clean-up, which looked beside the link.
    from vecmatte._writing import temporary_prefix
    from vecmatte.batch._core import BatchTask, remove_stale_temporaries

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = elsewhere / "kept.png"
    target.write_bytes(b"")
    out = tmp_path / "out"
    out.mkdir()
    link = out / "a_alpha.png"
    link.symlink_to(target)
    stale = elsewhere / f"{temporary_prefix(target)}k1ll3d0n.tmp"
    stale.write_bytes(b"half")
    remove_stale_temporaries([BatchTask("a", "i.png", "t.png", str(link), None)])
    assert files_in(elsewhere) == {"kept.png"}


@pytest.mark.parametrize("reader", [vecmatte_io.image_size, load_image])
@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        # image_size('') said ".: is a directory, not an image file" (Path('') is '.').
        ("", ValueError, r"^an empty file name \(''\) was given; give the file's name$"),
        (b"", ValueError, r"^an empty file name \(''\) was given"),
        # Python's OSError repeated the whole name after '[Errno 36] File name too long'.
        ("x" * 5000 + ".png", OSError, r"^x{40}\.\.\. \(5004 characters\): File name too long$"),
    ],
)
def test_image_size_and_load_image_check_a_file_name_alike(reader, name, error, message):
    with pytest.raises(error, match=message):
        reader(name)
