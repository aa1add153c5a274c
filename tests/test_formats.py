"""Reading every input format people have, and refusing every bad input with a clear message."""

from __future__ import annotations

import io
import os
import re
import struct
import tempfile
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import files_in, write_float_tiff, write_png
from PIL import Image

import vecmatte
import vecmatte.io as vecmatte_io
from vecmatte.cli import main
from vecmatte.io import (
    AlphaChannelIgnoredWarning,
    ImageTooLargeError,
    LossyTrimapWarning,
    load_image,
    load_trimap,
)
from vecmatte.trimap import check_trimap, trimap_split

_ADAM7 = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)


def _filtered_rows(pixels: np.ndarray, bpp: int) -> bytes:
    """PNG scanlines of ``pixels`` (uint16), each with its filter byte: the five filters in turn."""
    rows = pixels.reshape(pixels.shape[0], -1).astype(">u2").view(np.uint8).astype(np.int64)
    out = []
    above = np.zeros_like(rows[0])
    for y, row in enumerate(rows):
        left = np.concatenate([np.zeros(bpp, np.int64), row[:-bpp]])
        upper_left = np.concatenate([np.zeros(bpp, np.int64), above[:-bpp]])
        kind = y % 5
        if kind == 0:
            predicted = np.zeros_like(row)
        elif kind == 1:
            predicted = left
        elif kind == 2:
            predicted = above
        elif kind == 3:
            predicted = (left + above) // 2
        else:  # Paeth, as the PNG specification writes it
            estimate = left + above - upper_left
            pa, pb, pc = abs(estimate - left), abs(estimate - above), abs(estimate - upper_left)
            predicted = np.where(
                (pa <= pb) & (pa <= pc), left, np.where(pb <= pc, above, upper_left)
            )
        out.append(bytes([kind]) + ((row - predicted) % 256).astype(np.uint8).tobytes())
        above = row
    return b"".join(out)


def write_png16(
    path: Path, array: np.ndarray, *, interlaced: bool = False, exif: bytes | None = None
) -> Path:
    """A 16-bit PNG (gray, gray+alpha, RGB or RGBA) written by hand: Pillow cannot write one.

    Rows cycle through the five filters (None, Sub, Up, Average, Paeth); ``interlaced`` writes
    Adam7 passes; ``exif`` adds an eXIf chunk.
    """
    array = np.asarray(array, dtype=np.uint16)
    h, w = array.shape[:2]
    channels = 1 if array.ndim == 2 else array.shape[2]
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    pixels = array.reshape(h, w, channels)
    if interlaced:
        passes = [pixels[y0::dy, x0::dx] for x0, y0, dx, dy in _ADAM7]
        raw = b"".join(_filtered_rows(p, 2 * channels) for p in passes if p.size)
    else:
        raw = _filtered_rows(pixels, 2 * channels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, int(interlaced))
    Path(path).write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + (chunk(b"eXIf", exif) if exif else b"")
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    return Path(path)


@pytest.fixture
def rgb8(rng) -> np.ndarray:
    return rng.integers(0, 256, size=(9, 13, 3), dtype=np.uint8)


# --- images ----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".png", ".tif", ".bmp"])
def test_8bit_rgb_lossless_formats_load_exactly(tmp_path, rgb8, suffix):
    path = tmp_path / f"image{suffix}"
    Image.fromarray(rgb8).save(path)
    image = load_image(path)
    assert image.dtype == np.float64 and image.shape == (9, 13, 3)
    np.testing.assert_array_equal(image, rgb8 / 255.0)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16bit_gray_keeps_its_precision(tmp_path, rng, suffix):
    gray = rng.integers(0, 65536, size=(7, 11), dtype=np.uint16)
    path = tmp_path / f"gray16{suffix}"
    Image.fromarray(gray).save(path)
    image = load_image(path)
    assert image.shape == (7, 11, 3)
    for channel in range(3):
        np.testing.assert_allclose(image[:, :, channel], gray / 65535.0, rtol=0, atol=1e-12)


@pytest.mark.parametrize("interlaced", [False, True])
@pytest.mark.parametrize("channels", [3, 4, 2])
def test_16bit_colour_png_loads_at_full_depth(tmp_path, rng, channels, interlaced):
    # Pillow alone decodes 16-bit colour and gray+alpha PNG at 8 bits (the high bytes).
    samples = rng.integers(0, 65536, size=(11, 13, channels), dtype=np.uint16)
    samples[..., 0] = np.arange(11 * 13).reshape(11, 13) * 257 + 1  # low bytes all differ
    if channels in (2, 4):
        samples[..., -1] = 65535  # opaque: no warning
    path = write_png16(tmp_path / "deep.png", samples, interlaced=interlaced)
    image = load_image(path)
    colour = samples[..., :3] if channels >= 3 else np.repeat(samples[..., :1], 3, axis=2)
    np.testing.assert_array_equal(image, colour / 65535.0)
    assert image.dtype == np.float64 and image.flags.c_contiguous
    # the same file as a trimap (gray) keeps its 16 bits as well
    gray = np.repeat(samples[..., :1], 3, axis=2)
    gray_path = write_png16(tmp_path / "gray.png", np.dstack([gray, samples[..., 3:]]))
    np.testing.assert_allclose(
        load_trimap(gray_path), samples[..., 0] / 65535.0, rtol=0, atol=1e-15
    )


def test_16bit_rgba_png_notes_its_alpha(tmp_path, rng):
    rgba = rng.integers(0, 65536, size=(5, 6, 4), dtype=np.uint16)
    rgba[..., 3] = 65535
    rgba[0, 0, 3] = 65534  # transparent only in the low byte: lost at 8 bits
    with pytest.warns(AlphaChannelIgnoredWarning, match=r"rgba16\.png.*3\.3%"):
        image = load_image(write_png16(tmp_path / "rgba16.png", rgba))
    np.testing.assert_array_equal(image, rgba[..., :3] / 65535.0)


def test_16bit_colour_png_from_a_stream_and_turned_by_exif(tmp_path, rng):
    import io

    rgb = rng.integers(0, 65536, size=(4, 7, 3), dtype=np.uint16)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = write_png16(tmp_path / "turned.png", rgb, exif=exif.tobytes())
    expected = np.rot90(rgb, -1) / 65535.0
    np.testing.assert_array_equal(load_image(path), expected)
    np.testing.assert_array_equal(load_image(io.BytesIO(path.read_bytes())), expected)


def test_16bit_rgb_tiff_loads_at_full_depth(tmp_path, rng):
    # Issue 17, item 8: Pillow decodes 16-bit colour TIFF at 8 bits; tifffile reads it whole.
    tifffile = pytest.importorskip("tifffile")
    rgb = rng.integers(0, 65536, size=(6, 8, 3), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "rgb16.tif", rgb)
    tifffile.imwrite(
        tmp_path / "planar.tif", np.moveaxis(rgb, -1, 0), photometric="rgb", planarconfig="separate"
    )
    for name in ("rgb16.tif", "planar.tif"):
        image = load_image(tmp_path / name)
        np.testing.assert_allclose(image, rgb / 65535.0, rtol=0, atol=1e-12)


def test_tiff_pillow_cannot_read_is_called_a_tiff(tmp_path):
    # Before: "not an image file Pillow can read (is it really a TIF file?)" for a real TIFF.
    tifffile = pytest.importorskip("tifffile")
    gray = np.zeros((3, 4), np.uint16)
    path = tmp_path / "la16.tif"
    tifffile.imwrite(
        path, np.dstack([gray, gray]), photometric="minisblack", extrasamples=["unassalpha"]
    )
    for loader in (load_image, load_trimap):
        with pytest.raises(
            ValueError, match=r"la16.tif: a TIFF file of a layout Pillow cannot read"
        ):
            loader(path)


def test_16bit_rgba_tiff_notes_its_alpha_and_keeps_depth(tmp_path, rng):
    tifffile = pytest.importorskip("tifffile")
    rgba = rng.integers(0, 65536, size=(5, 7, 4), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "rgba16.tif", rgba, photometric="rgb", extrasamples=["unassalpha"])
    with pytest.warns(AlphaChannelIgnoredWarning, match="rgba16.tif"):
        image = load_image(tmp_path / "rgba16.tif")
    np.testing.assert_allclose(image, rgba[:, :, :3] / 65535.0, rtol=0, atol=1e-12)


def test_jpeg_loads_close_to_the_original(tmp_path, scene):
    path = tmp_path / "image.jpg"
    Image.fromarray(np.round(scene.image * 255).astype(np.uint8)).save(
        path, quality=95, subsampling=0
    )
    image = load_image(path)
    assert image.shape == scene.image.shape
    assert np.mean(np.abs(image - scene.image)) < 0.02


def test_gray_image_becomes_rgb(tmp_path, rng):
    gray = rng.integers(0, 256, size=(5, 7), dtype=np.uint8)
    image = load_image(write_png(tmp_path / "gray.png", gray))
    assert image.shape == (5, 7, 3)
    for channel in range(3):
        np.testing.assert_array_equal(image[:, :, channel], gray / 255.0)


def test_palette_image_becomes_its_colours(tmp_path, rgb8):
    palette_image = Image.fromarray(rgb8).quantize(colors=16)
    palette_image.save(tmp_path / "palette.png")
    expected = np.asarray(palette_image.convert("RGB")) / 255.0
    np.testing.assert_array_equal(load_image(tmp_path / "palette.png"), expected)


def test_palette_with_transparency_warns_once_and_loads(tmp_path, rgb8):
    palette_image = Image.fromarray(rgb8).quantize(colors=16)
    palette_image.info["transparency"] = 0
    palette_image.save(tmp_path / "palette.png", transparency=0)
    with pytest.warns(AlphaChannelIgnoredWarning, match="alpha channel"):
        image = load_image(tmp_path / "palette.png")
    assert image.shape == (9, 13, 3)


def test_rgba_drops_the_alpha_with_a_note(tmp_path, rgb8):
    alpha = np.full(rgb8.shape[:2], 255, np.uint8)
    alpha[:3] = 0
    Image.fromarray(np.dstack([rgb8, alpha])).save(tmp_path / "rgba.png")
    with pytest.warns(AlphaChannelIgnoredWarning, match=r"rgba.png: .*alpha channel .*33\.3%"):
        image = load_image(tmp_path / "rgba.png")
    np.testing.assert_array_equal(image, rgb8 / 255.0)


def test_opaque_rgba_loads_without_a_note(tmp_path, rgb8):
    alpha = np.full(rgb8.shape[:2], 255, np.uint8)
    Image.fromarray(np.dstack([rgb8, alpha])).save(tmp_path / "opaque.png")
    np.testing.assert_array_equal(load_image(tmp_path / "opaque.png"), rgb8 / 255.0)


def test_rgba_note_reaches_the_command_line(tmp_path, scene, capsys):
    rgb = np.round(scene.image * 255).astype(np.uint8)
    alpha = np.full(rgb.shape[:2], 128, np.uint8)
    Image.fromarray(np.dstack([rgb, alpha])).save(tmp_path / "rgba.png")
    trimap = write_png(tmp_path / "trimap.png", scene.trimap)
    code = main(["alpha", str(tmp_path / "rgba.png"), str(trimap), "-o", str(tmp_path / "a.png")])
    assert code == 0
    assert "vecmatte: warning: " in capsys.readouterr().err
    assert (tmp_path / "a.png").is_file()


@pytest.mark.parametrize(("orientation", "turn"), [(3, 2), (6, -1), (8, 1)])
def test_exif_orientation_is_applied(tmp_path, rgb8, orientation, turn):
    exif = Image.Exif()
    exif[0x0112] = orientation  # Orientation
    Image.fromarray(rgb8).save(tmp_path / "phone.png", exif=exif)
    # 3: upside down, 6: displayed turned clockwise, 8: anticlockwise (np.rot90 is anticlockwise)
    expected = np.rot90(rgb8, k=turn) / 255.0
    np.testing.assert_array_equal(load_image(tmp_path / "phone.png"), expected)


def test_exif_orientation_of_a_jpeg(tmp_path):
    array = np.zeros((16, 32, 3), np.uint8)
    array[:, :16] = 255  # white left half
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(array).save(tmp_path / "phone.jpg", exif=exif, quality=95)
    image = load_image(tmp_path / "phone.jpg")
    assert image.shape == (32, 16, 3)
    # turned clockwise, the white left half is on top
    assert image[:12].mean() > 0.9 and image[-12:].mean() < 0.1


def test_float_tiff_image(tmp_path, rng):
    gray = rng.random((5, 6))
    image = load_image(write_float_tiff(tmp_path / "float.tif", gray))
    np.testing.assert_allclose(image[:, :, 1], gray.astype(np.float32), rtol=0, atol=0)


def test_float_tiff_out_of_range_is_refused(tmp_path):
    path = write_float_tiff(tmp_path / "hdr.tif", np.full((5, 6), 3.5))
    with pytest.raises(ValueError, match=r"hdr.tif: float image has values in \[3.5, 3.5\]"):
        load_image(path)


# --- trimaps ---------------------------------------------------------------------------


def test_trimap_formats_agree(tmp_path, scene):
    """Gray, RGB, RGBA, 16-bit and float trimap files give the same foreground/background."""
    gray8 = np.round(scene.trimap * 255).astype(np.uint8)
    paths = [
        write_png(tmp_path / "gray.png", gray8),
        write_png(tmp_path / "rgb.png", np.dstack([gray8] * 3)),
        write_png(tmp_path / "rgba.png", np.dstack([gray8] * 3 + [np.full_like(gray8, 255)])),
        write_png(tmp_path / "gray16.png", (scene.trimap * 65535).astype(np.uint16)),
        write_float_tiff(tmp_path / "float.tif", scene.trimap),
    ]
    expected = trimap_split(scene.trimap)
    for path in paths:
        trimap = load_trimap(path)
        assert trimap.shape == scene.trimap.shape, path.name
        for got, want in zip(trimap_split(trimap), expected, strict=True):
            np.testing.assert_array_equal(got, want, err_msg=path.name)


# --- maps with an alpha channel: an RGBA cutout given as the alpha matte or the mask


@pytest.mark.parametrize("name", ["alpha", "mask", "predicted alpha"])
@pytest.mark.parametrize("colours", ["photograph", "white", "black"])
def test_a_cutout_given_as_a_map_is_read_from_its_alpha_channel(tmp_path, scene, name, colours):
    # Before: the alpha channel was dropped silently; a white RGBA mask read as all 1, a
    # cutout was refused as "in colour".
    alpha8 = np.round(scene.alpha * 255).astype(np.uint8)
    rgb = {
        "photograph": np.round(scene.image * 255).astype(np.uint8),
        "white": np.full((*alpha8.shape, 3), 255, np.uint8),
        "black": np.zeros((*alpha8.shape, 3), np.uint8),
    }[colours]
    path = write_png(tmp_path / "cutout.png", np.dstack([rgb, alpha8]))
    with pytest.warns(
        vecmatte_io.AlphaChannelUsedWarning,
        match=rf"cutout.png: the {name} is read from the file's alpha channel",
    ):
        got = vecmatte_io.load_gray(path, name=name)
    np.testing.assert_array_equal(got, alpha8 / 255.0)


def test_a_16bit_cutout_given_as_alpha_keeps_16_bits(tmp_path, rng):
    rgba = rng.integers(0, 65536, size=(6, 7, 4), dtype=np.uint16)
    path = write_png16(tmp_path / "cutout16.png", rgba)
    with pytest.warns(vecmatte_io.AlphaChannelUsedWarning):
        got = vecmatte_io.load_gray(path, name="alpha")
    np.testing.assert_array_equal(got, rgba[:, :, 3] / 65535.0)


def test_a_translucent_trimap_or_gray_map_ignores_its_alpha_with_a_note(tmp_path, scene):
    gray8 = np.round(scene.trimap * 255).astype(np.uint8)
    half = np.full_like(gray8, 128)
    path = write_png(tmp_path / "t.png", np.dstack([gray8] * 3 + [half]))
    for name in ("trimap", "alpha"):  # gray values that vary: they are the map
        with pytest.warns(AlphaChannelIgnoredWarning, match=rf"t.png: .*100.0% .* the {name}$"):
            got = vecmatte_io.load_gray(path, name=name)
        np.testing.assert_array_equal(got, gray8 / 255.0)
    # a matte saved with itself as its alpha channel: nothing to say
    same = write_png(tmp_path / "same.png", np.dstack([gray8] * 3 + [gray8]))
    np.testing.assert_array_equal(vecmatte_io.load_gray(same, name="alpha"), gray8 / 255.0)
    la = tmp_path / "la.png"
    Image.fromarray(np.dstack([gray8, gray8]), "LA").save(la)
    np.testing.assert_array_equal(load_trimap(la), gray8 / 255.0)


def test_cli_composite_with_a_cutout_as_alpha(tmp_path, scene, capsys):
    image = write_png(tmp_path / "image.png", scene.image)
    alpha8 = np.round(scene.alpha * 255).astype(np.uint8)
    cutout = write_png(
        tmp_path / "cutout.png", np.dstack([np.round(scene.image * 255).astype(np.uint8), alpha8])
    )
    out = tmp_path / "out.png"
    assert main(["composite", str(image), str(cutout), "--color", "red", "-o", str(out), "-q"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("vecmatte: warning: ") and "read from the file's alpha channel" in err


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_jpeg_trimap_noise_is_absorbed(tmp_path, scene, mode):
    gray8 = np.round(scene.trimap * 255).astype(np.uint8)
    Image.fromarray(gray8).convert(mode).save(tmp_path / "trimap.jpg", quality=90)
    with pytest.warns(LossyTrimapWarning, match="trimap.jpg: the trimap is a lossy JPEG"):
        trimap = load_trimap(tmp_path / "trimap.jpg")
    assert not np.isin(trimap, [0.0, 0.5, 1.0]).all()  # the noise is really there
    for got, want in zip(trimap_split(trimap), trimap_split(scene.trimap), strict=True):
        np.testing.assert_array_equal(got, want)


def test_check_trimap_accepts_arrays_of_every_kind(scene):
    gray8 = np.round(scene.trimap * 255).astype(np.uint8)
    noisy = np.dstack([gray8, gray8, gray8]).astype(np.int16)
    noisy[::7, ::5, 1] += 3  # channel noise of a JPEG
    variants = {
        "float": scene.trimap,
        "uint8": gray8,
        "uint16": (scene.trimap * 65535).astype(np.uint16),
        "rgb noisy": np.clip(noisy, 0, 255).astype(np.uint8),
        "rgba": np.dstack([gray8, gray8, gray8, np.zeros_like(gray8)]),
        "bool": scene.trimap > 0.9,
    }
    for name, array in variants.items():
        trimap = check_trimap(array, scene.image.shape)
        np.testing.assert_array_equal(trimap_split(trimap)[0], scene.trimap > 0.9, err_msg=name)


def test_colour_image_as_trimap_is_refused(tmp_path, scene):
    path = write_png(tmp_path / "photo.png", scene.image)
    with pytest.raises(ValueError, match=r"photo.png: trimap is in colour: .*% of its pixels"):
        load_trimap(path)


# --- bad inputs ------------------------------------------------------------------------


@pytest.fixture
def bad_files(tmp_path, scene) -> dict[str, Path]:
    good = write_png(tmp_path / "good.png", scene.image)
    data = good.read_bytes()
    files = {
        "truncated": tmp_path / "truncated.png",
        "corrupt": tmp_path / "corrupt.png",
        "text": tmp_path / "notes.png",
        "empty": tmp_path / "empty.png",
    }
    files["truncated"].write_bytes(data[: len(data) // 2])
    corrupt = bytearray(data)
    corrupt[60:160] = bytes(range(100))  # garbage inside the compressed pixels
    files["corrupt"].write_bytes(bytes(corrupt))
    files["text"].write_text("this is not an image\n")
    files["empty"].write_bytes(b"")
    return files


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("truncated", r"truncated.png: cannot read image, the file is damaged or truncated"),
        ("corrupt", r"corrupt.png: cannot read image, the file is damaged or truncated"),
        ("text", r"notes.png: not an image file Pillow can read \(is it really a PNG file\?\)"),
        ("empty", r"empty.png: is empty \(0 bytes\)$"),
    ],
)
def test_bad_image_files_are_refused_with_their_name(bad_files, kind, message):
    with pytest.raises(ValueError, match=message):
        load_image(bad_files[kind])
    with pytest.raises(ValueError, match=message):
        load_trimap(bad_files[kind])


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nothing.png: no such file"):
        load_image(tmp_path / "nothing.png")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        load_image(tmp_path)


def test_unreadable_file_is_called_unreadable_not_damaged(
    tmp_path, scene_files, monkeypatch, capsys
):
    # Simulated: the tests may run as root, for whom a chmod 000 file is still readable.
    import builtins

    image, trimap = scene_files
    real_open = builtins.open

    def denied(file, *args, **kwargs):
        if str(file) == str(trimap):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", denied)
    with pytest.raises(
        PermissionError, match=r"^\S*trimap.png: cannot read the file \(permission denied\)$"
    ):
        load_trimap(trimap)
    out = tmp_path / "alpha.png"
    assert main(["alpha", str(image), str(trimap), "-o", str(out), "-q"]) == 1
    err = capsys.readouterr().err
    assert err == f"vecmatte: error: {trimap}: cannot read the file (permission denied)\n"
    assert not out.exists()


@pytest.mark.parametrize("kind", ["truncated", "corrupt", "text"])
def test_cli_bad_image_exit_code_and_no_output(tmp_path, scene_files, bad_files, capsys, kind):
    _, trimap = scene_files
    out = tmp_path / "out"
    out.mkdir()
    code = main(["alpha", str(bad_files[kind]), str(trimap), "-o", str(out / "alpha.png"), "-q"])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("vecmatte: error: ") and bad_files[kind].name in err
    assert len(err.splitlines()) == 1
    assert files_in(out) == set()


def test_cli_mismatched_sizes(tmp_path, scene, capsys):
    image = write_png(tmp_path / "image.png", scene.image)
    trimap = write_png(tmp_path / "trimap.png", scene.trimap[:-2])
    out = tmp_path / "out"
    out.mkdir()
    code = main(["alpha", str(image), str(trimap), "-o", str(out / "alpha.png")])
    assert code == 1
    err = capsys.readouterr().err
    assert "trimap has shape (34, 44) but image has shape (36, 44)" in err
    assert files_in(out) == set()


def unwritable_directory(tmp_path) -> Path:
    """A directory this process cannot create files in (root ignores chmod: try /sys)."""
    directory = tmp_path / "readonly"
    directory.mkdir()
    directory.chmod(0o500)
    for candidate in (directory, Path("/sys")):
        try:
            descriptor, name = tempfile.mkstemp(dir=candidate)
        except OSError:
            return candidate
        os.close(descriptor)
        os.unlink(name)
    pytest.skip("no unwritable directory available to this user")


def test_unwritable_output_directory(tmp_path, scene_files, capsys):
    image, trimap = scene_files
    directory = unwritable_directory(tmp_path)
    try:
        code = main(["alpha", str(image), str(trimap), "-o", str(directory / "alpha.png")])
        assert code == 1
        err = capsys.readouterr().err
        assert "vecmatte: error: " in err and "alpha.png" in err and "permission denied" in err
        assert not (directory / "alpha.png").exists()
    finally:
        (tmp_path / "readonly").chmod(0o700)


# --- decompression bombs ---------------------------------------------------------------


def test_pixel_limit_refuses_with_the_way_out(tmp_path, scene):
    path = write_png(tmp_path / "big.png", scene.image)  # 36 x 44 = 1584 pixels
    with pytest.raises(
        ImageTooLargeError,
        match=r"big.png: image has 1,584 pixels \(36 x 44, height x width\).*"
        r"decompression bombs.*--max-pixels 1584",
    ):
        load_image(path, max_pixels=1000)
    assert load_image(path, max_pixels=1584).shape == (36, 44, 3)


def test_pillow_limit_is_the_default_and_can_be_raised(tmp_path, scene, monkeypatch, capsys):
    image, trimap = (
        write_png(tmp_path / "image.png", scene.image),
        write_png(tmp_path / "trimap.png", scene.trimap),
    )
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ImageTooLargeError, match="limit of 1,000"):
        load_image(image)
    # between Pillow's limit and twice it, Pillow would only warn: we refuse, one message
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1500)
    with pytest.raises(ImageTooLargeError):
        load_image(image)
    assert Image.MAX_IMAGE_PIXELS == 1500  # restored after the call
    out = tmp_path / "alpha.png"
    assert main(["alpha", str(image), str(trimap), "-o", str(out), "-q"]) == 1
    assert "--max-pixels 1584" in capsys.readouterr().err and not out.exists()
    assert (
        main(["alpha", str(image), str(trimap), "-o", str(out), "-q", "--max-pixels", "2000"]) == 0
    )
    assert out.is_file()


def test_max_pixels_must_be_positive(tmp_path, scene):
    path = write_png(tmp_path / "image.png", scene.image)
    with pytest.raises(ValueError, match="max_pixels must be a positive integer, got 0"):
        load_image(path, max_pixels=0)


def test_image_size_reads_the_header_only(tmp_path, scene, bad_files, monkeypatch):
    from vecmatte.io import image_size

    path = write_png(tmp_path / "image.png", scene.image)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10)  # no bomb check: nothing is decoded
    assert image_size(path) == (36, 44)
    with pytest.raises(ValueError, match=r"notes.png: cannot read image header"):
        image_size(bad_files["text"])


def test_trimap_turned_by_exif_gets_a_hint(scene):
    with pytest.raises(ValueError, match=r"turned by 90 degrees: .*EXIF orientation"):
        check_trimap(scene.trimap.T, scene.image.shape)


# --- integer samples wider than 8 bits: divided by their bit depth's largest value -------


def _tiff(path: Path, array: np.ndarray) -> Path:
    import tifffile

    tifffile.imwrite(path, array)
    return path


def test_a_32_bit_tiff_of_8_bit_values_reads_as_stored_and_says_so(tmp_path, rng):
    # A 32-bit integer TIFF (Pillow mode "I") holding 0-255 was divided by 65535, as a
    # 16-bit file, and read nearly black without a word; a 32-bit TIFF using its range
    # (values >= 2**31, which Pillow wraps to negative) was refused.
    from vecmatte.io import SampleRangeWarning

    levels = rng.integers(0, 256, size=(6, 7)).astype(np.uint32)
    levels[0, 0] = 255
    path = _tiff(tmp_path / "levels.tif", levels)
    with Image.open(path) as image:
        assert image.mode == "I"
    with pytest.warns(
        SampleRangeWarning, match=r"levels\.tif: its largest value, 255, is far"
    ) as caught:
        image = load_image(path)
    assert len(caught) == 1 and "save it as an 8-bit PNG" in str(caught[0].message)
    np.testing.assert_array_equal(image[:, :, 1], levels / (2.0**32 - 1))
    full = np.array([[0, 2**31], [2**32 - 1, 12345]], dtype=np.uint32)
    np.testing.assert_array_equal(
        load_image(_tiff(tmp_path / "full.tif", full))[:, :, 0], full / (2.0**32 - 1)
    )


@pytest.mark.parametrize(
    ("dtype", "top"), [(np.int32, 2**31 - 1), (np.int16, 2**15 - 1), (np.uint16, 65535)]
)
def test_integer_tiffs_are_divided_by_their_depths_largest_value(tmp_path, dtype, top):
    samples = np.array([[0, top], [top // 2, 7]], dtype=dtype)
    np.testing.assert_array_equal(load_trimap(_tiff(tmp_path / "t.tif", samples)), samples / top)


def test_negative_samples_of_a_signed_tiff_are_refused(tmp_path):
    path = _tiff(tmp_path / "signed.tif", np.array([[-3, 0], [9, 2**31 - 1]], dtype=np.int32))
    with pytest.raises(
        ValueError,
        match=r"signed\.tif: signed 32-bit integer image with values in \[-3, 2147483647\]",
    ):
        load_image(path)


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


@pytest.mark.parametrize("channels", [1, 3])
def test_a_16_bit_png_of_8_bit_values_says_it_reads_nearly_black(tmp_path, rng, channels):
    from vecmatte.io import SampleRangeWarning

    shape = (5, 6) if channels == 1 else (5, 6, 3)
    levels = rng.integers(0, 256, size=shape).astype(np.uint16)
    levels.flat[0] = 255
    path = write_png16(tmp_path / "narrow.png", levels)
    with pytest.warns(SampleRangeWarning, match=r"narrow\.png: its largest value, 255,") as caught:
        image = load_image(path)
    assert len(caught) == 1
    expected = levels / 65535.0
    np.testing.assert_array_equal(image, expected if channels == 3 else np.dstack([expected] * 3))


def test_a_16_bit_trimap_of_8_bit_levels_says_so(tmp_path, scene):
    from vecmatte.io import SampleRangeWarning

    levels = np.round(scene.trimap * 255).astype(np.uint16)
    path = tmp_path / "trimap16.png"
    Image.fromarray(levels).save(path)
    with pytest.warns(SampleRangeWarning, match=r"trimap16\.png: its largest value, 255,"):
        trimap = load_trimap(path)
    np.testing.assert_array_equal(trimap, levels / 65535.0)


@pytest.mark.parametrize("kind", ["png", "tif32"])
def test_a_wide_trimap_at_the_ends_and_middle_of_its_range_reads_as_its_three_levels(
    tmp_path, scene, kind
):
    # 0 / 32768 / 65535 (16-bit) and 0 / 2**31 / 2**32 - 1 (32-bit): 0, 1/2, 1 within one
    # sample, so trimap_split reads background, unknown and foreground.
    top = 65535 if kind == "png" else 2**32 - 1
    dtype = np.uint16 if kind == "png" else np.uint32
    samples = np.select([scene.trimap == 0, scene.trimap == 1], [0, top], (top + 1) // 2).astype(
        dtype
    )
    path = tmp_path / f"trimap.{kind[:3]}"
    if kind == "png":
        Image.fromarray(samples).save(path)
    else:
        _tiff(path, samples)
    trimap = load_trimap(path)  # no warning (warnings are errors here)
    assert np.abs(trimap - scene.trimap).max() <= 1 / 65535
    for got, expected in zip(trimap_split(trimap), trimap_split(scene.trimap), strict=True):
        np.testing.assert_array_equal(got, expected)


def test_dark_or_black_wide_images_are_not_noted(tmp_path):
    # All 0: black whatever the scale. 257 of 65535: the brightest pixel is 8-bit level 1.
    for name, samples in {"black": [[0, 0]], "dark": [[0, 257]]}.items():
        Image.fromarray(np.array(samples, dtype=np.uint16)).save(tmp_path / f"{name}.png")
        load_image(tmp_path / f"{name}.png")  # warnings are errors here


def test_a_pgm_of_a_maximum_above_255_reads_on_its_own_scale(tmp_path):
    # Pillow scales PGM samples of maxval 1000 to 0-65535 (mode "I"), read as 16 bits.
    path = tmp_path / "thousand.pgm"
    path.write_bytes(b"P5 2 2 1000\n" + np.array([0, 500, 1000, 250], ">u2").tobytes())
    np.testing.assert_allclose(load_trimap(path), [[0, 0.5], [1, 0.25]], rtol=0, atol=1 / 65535)


# --- lossy trimaps and mattes, several frames, palettes, damaged EXIF, EPS, GIF in a batch ----


def test_an_eps_file_without_ghostscript_says_ghostscript_is_needed(tmp_path, monkeypatch):
    # An intact EPS said "cannot read image, the file is damaged or truncated (Unable to
    # locate Ghostscript on paths)" when only the Ghostscript program was missing.
    from PIL import EpsImagePlugin

    path = tmp_path / "photo.eps"
    Image.fromarray(np.full((8, 8, 3), 128, dtype=np.uint8)).save(path)
    monkeypatch.setattr(EpsImagePlugin, "has_ghostscript", lambda: False)
    with pytest.raises(ValueError) as refused:
        vecmatte.load_image(path)
    message = str(refused.value)
    assert message.startswith(f"{path}: reading EPS needs Ghostscript")
    assert "damaged" not in message and "\n" not in message
    # A damaged file of another format is still called damaged.
    damaged = tmp_path / "damaged.png"
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((64, 64), dtype=np.uint8)).save(buffer, "PNG")
    damaged.write_bytes(buffer.getvalue()[:60])
    with pytest.raises(ValueError, match="damaged or truncated"):
        vecmatte.load_image(damaged)


def test_a_batch_takes_gif_images_and_trimaps(tmp_path, scene):
    # The GIF files of a batch's folders were skipped without a word ("no image files in
    # this folder" when they were all GIF), though vecmatte alpha reads GIF.
    from vecmatte.batch import find_tasks

    photos, trimaps = tmp_path / "photos", tmp_path / "trimaps"
    photos.mkdir()
    trimaps.mkdir()
    Image.fromarray(np.round(scene.image * 255).astype(np.uint8)).save(photos / "a.gif")
    Image.fromarray(np.round(scene.image * 255).astype(np.uint8)).save(photos / "b.png")
    levels = np.round(scene.trimap * 255).astype(np.uint8)
    Image.fromarray(levels).save(trimaps / "a.png")
    Image.fromarray(levels).save(trimaps / "b.gif")
    tasks = find_tasks(photos, trimaps, tmp_path / "out")
    assert [(t.name, t.image_path, t.trimap_path) for t in tasks] == [
        ("a", str(photos / "a.gif"), str(trimaps / "a.png")),
        ("b", str(photos / "b.png"), str(trimaps / "b.gif")),
    ]
    out = tmp_path / "cli"
    assert main(["batch", str(photos), str(trimaps), "-o", str(out), "-q"]) == 0
    assert files_in(out) >= {"a_alpha.png", "b_alpha.png"}


@pytest.mark.parametrize(
    ("command", "output"),
    [("alpha", "a.jpg"), ("trimap", "t.jpg")],
)
def test_a_matte_or_trimap_written_as_jpeg_gets_one_note(
    tmp_path, scene_files, capsys, command, output
):
    image, trimap = scene_files
    inputs = [str(image), str(trimap)] if command == "alpha" else [str(trimap)]
    code = main([command, *inputs, "-o", str(tmp_path / output), "-q"])
    stderr = capsys.readouterr().err
    assert code == 0, stderr
    notes = [line for line in stderr.splitlines() if "lossy" in line]
    assert len(notes) == 1 and notes[0].startswith(f"vecmatte: warning: {tmp_path / output}: ")
    assert (tmp_path / output).exists()


@pytest.mark.parametrize("output", ["a.png", "a.webp", "a.avif"])
def test_a_lossless_matte_gets_no_note(tmp_path, scene_files, capsys, output):
    # WebP is written lossless and AVIF at quality 100, which keeps gray exactly: the note
    # that the matte's values are not kept was false for them (tests/test_io_lossless.py).
    if output == "a.avif" and not _has_avif():
        pytest.skip("this Pillow writes no AVIF")
    image, trimap = scene_files
    assert main(["alpha", str(image), str(trimap), "-o", str(tmp_path / output), "-q"]) == 0
    assert capsys.readouterr().err == ""


def _has_avif() -> bool:
    import warnings

    from PIL import features

    with warnings.catch_warnings():  # Pillow before 11.2 warns "Unknown feature 'avif'"
        warnings.simplefilter("ignore", UserWarning)
        return features.check("avif")


def _trimap(shape=(64, 80)) -> np.ndarray:
    """uint8 trimap: background, a gray band, a foreground disc (edges off the 8x8 grid)."""
    y, x = np.mgrid[: shape[0], : shape[1]]
    r = np.hypot(y - shape[0] / 2, x - shape[1] / 2)
    return np.where(r < 15, 255, np.where(r < 23, 128, 0)).astype(np.uint8)


def test_a_jpeg_trimap_warns_once_naming_the_file_and_how_it_is_read(tmp_path):
    path = tmp_path / "trimap.jpg"
    Image.fromarray(_trimap()).save(path, quality=75)
    with pytest.warns(LossyTrimapWarning) as record:
        trimap = load_trimap(path)
    assert len(record) == 1
    message = str(record[0].message)
    assert message.startswith(f"{path}: the trimap is a lossy JPEG file and ")
    gray = int(re.search(r"its gray \((\d+)\)", message).group(1))
    assert abs(gray - 128) <= 8  # the band's level, moved a little by the compression
    assert "above 90% white" in message and "\n" not in message
    smeared = np.rint(trimap * 255)
    share = np.mean((smeared != 0) & (smeared != 255) & (smeared != gray))
    assert f"{100 * share:.1f}% of its pixels" in message


def test_an_avif_trimap_is_noted_as_lossy_as_a_jpeg_one(tmp_path):
    # AVIF (noted as lossy when written) was left out of the formats whose trimaps are
    # checked for smeared levels. Flat levels survive its default quality here; a low one
    # smears the edges as JPEG does.
    pytest.importorskip("PIL.AvifImagePlugin")
    if not Image.registered_extensions().get(".avif"):
        pytest.skip("Pillow without AVIF")
    path = tmp_path / "trimap.avif"
    Image.fromarray(_trimap()).convert("RGB").save(path, quality=10)
    with pytest.warns(LossyTrimapWarning, match=r"trimap\.avif: the trimap is a lossy AVIF"):
        load_trimap(path)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_a_lossless_trimap_reads_exactly_without_a_note(tmp_path, suffix):
    path = tmp_path / f"trimap{suffix}"
    Image.fromarray(_trimap()).save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trimap = load_trimap(path)
    np.testing.assert_array_equal(trimap, _trimap() / 255.0)


def test_a_jpeg_with_exact_levels_is_not_noted(tmp_path):
    # Flat 8x8 blocks survive JPEG exactly: nothing is smeared, nothing to say.
    levels = np.kron(np.array([[0, 128], [255, 128]], np.uint8), np.ones((16, 16), np.uint8))
    path = tmp_path / "blocks.jpg"
    Image.fromarray(levels).save(path, quality=95)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_trimap(path)


def test_the_command_prints_the_jpeg_note_as_one_line(tmp_path, capsys):
    trimap = _trimap()
    image = np.dstack([trimap, 255 - trimap, np.full_like(trimap, 90)])
    Image.fromarray(image).save(tmp_path / "image.png")
    Image.fromarray(trimap).save(tmp_path / "trimap.jpg", quality=75)
    argv = ["alpha", str(tmp_path / "image.png"), str(tmp_path / "trimap.jpg")]
    code = main([*argv, "-o", str(tmp_path / "a.png"), "-q"])
    stderr = capsys.readouterr().err
    assert code == 0, stderr
    notes = [line for line in stderr.splitlines() if "lossy JPEG" in line]
    assert len(notes) == 1 and notes[0].startswith("vecmatte: warning: ")
    assert str(tmp_path / "trimap.jpg") in notes[0]


@pytest.mark.parametrize("suffix", [".gif", ".tif", ".avif"])
def test_a_file_of_several_frames_says_only_the_first_is_read(tmp_path, scene, suffix):
    # An animated GIF or a multi-page TIFF was matted on its first frame without a word (an
    # animated AVIF until it joined the formats whose frames are counted).
    from vecmatte.io import ExtraFramesWarning

    if suffix == ".avif":
        pytest.importorskip("PIL.AvifImagePlugin")
        if not Image.registered_extensions().get(".avif"):
            pytest.skip("Pillow without AVIF")

    pixels = np.round(scene.image * 255).astype(np.uint8)
    frames = [Image.fromarray(pixels), Image.fromarray(pixels[::-1].copy())]
    path = tmp_path / f"animated{suffix}"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    with pytest.warns(ExtraFramesWarning, match=r"holds 2 frames .* only the first") as caught:
        image = vecmatte.load_image(path)
    assert len(caught) == 1 and caught[0].filename == __file__
    assert str(path) in str(caught[0].message)
    assert image.shape == scene.image.shape
    single = tmp_path / f"single{suffix}"
    frames[0].save(single)
    vecmatte.load_image(single)  # one frame: no note (warnings are errors here)


def test_a_reading_note_obeys_a_filter_by_the_callers_module(tmp_path):
    # Notes said while a file is read (several frames, ...) are recorded and said again with
    # warnings.warn_explicit, which without module= matched a filter's module against the
    # file's path ('/.../test_formats'), not the caller's __name__: a user's
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


@pytest.mark.parametrize("suffix", [".gif", ".png"])
def test_a_colour_palette_file_given_as_a_trimap_is_refused(tmp_path, scene, suffix):
    # A photograph saved as GIF (or palette PNG) was turned into gray and read as a trimap.
    photo = Image.fromarray(np.round(scene.image * 255).astype(np.uint8)).convert("P")
    path = tmp_path / f"photo{suffix}"
    photo.save(path)
    with pytest.raises(ValueError, match=rf"{path.name}: trimap is in colour"):
        vecmatte.load_trimap(path)
    # A gray trimap saved with a palette reads exactly as before.
    levels = np.round(scene.trimap * 255).astype(np.uint8)
    gray = tmp_path / f"trimap{suffix}"
    Image.fromarray(levels).convert("P").save(gray)
    np.testing.assert_array_equal(vecmatte.load_trimap(gray), levels / 255.0)


def test_damaged_exif_data_is_noted_naming_the_file(tmp_path, scene):
    # Pillow's "Corrupt EXIF data.  Expecting to read 12 bytes but only got 2." reached the
    # user in Pillow's words without the file's name (and with warnings as errors, as a
    # Pillow UserWarning raised from inside Image.open).
    import struct

    from vecmatte.io import ImageMetadataWarning

    buffer = io.BytesIO()
    Image.fromarray(np.round(scene.image * 255).astype(np.uint8)).save(buffer, "JPEG")
    data = buffer.getvalue()
    payload = b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08" + b"\xff" * 40
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    path = tmp_path / "damaged.jpg"
    path.write_bytes(data[:2] + segment + data[2:])
    with pytest.warns(ImageMetadataWarning) as caught:
        image = vecmatte.load_image(path)
    assert len(caught) == 1 and caught[0].filename == __file__
    assert str(caught[0].message).startswith(f"{path}: its EXIF data is damaged (Corrupt EXIF")
    assert image.shape == scene.image.shape


def test_a_matte_written_in_another_lossy_format_gets_the_note(tmp_path, scene_files, capsys):
    # The note that a lossy file changes the matte's values was given for JPEG and WebP only.
    # (WebP and AVIF are now written so that a matte reads back exactly: tests/test_io_lossless.)
    suffix = ".mpo"
    image, trimap = scene_files
    out = tmp_path / f"a{suffix}"
    assert main(["alpha", str(image), str(trimap), "-o", str(out), "-q"]) == 0
    assert "is lossy: the alpha matte's values are not kept exactly" in capsys.readouterr().err


def test_an_im_output_is_refused_before_anything_is_written(tmp_path):
    """Pillow 13 deprecates IM: writing one warned (an error under -W error) after the solve."""
    import vecmatte

    target = tmp_path / "m.im"
    with pytest.raises(ValueError, match=r"m\.im: vecmatte does not write IM files"):
        vecmatte.save_image(target, np.zeros((4, 5)))
    assert list(tmp_path.iterdir()) == []
