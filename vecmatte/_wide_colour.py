"""Colour and gray+alpha samples wider than 8 bits, which Pillow reads at 8 (PNG and TIFF).

:func:`wide_samples` gives :mod:`vecmatte.io`'s readers the full 16-bit samples of such a file
(already opened and checked there); :func:`float_tiff` reads a one-channel float64 or
float16 TIFF, which Pillow cannot open.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from vecmatte._pillow import open_unchecked

__all__ = ["float_tiff", "float_tiff_size", "wide_samples"]


def _is_16bit_colour_tiff(image) -> bool:
    if image.format != "TIFF" or image.mode not in ("RGB", "RGBA"):
        return False
    bits = image.tag_v2.get(258, (8,))
    bits = bits if isinstance(bits, tuple) else (bits,)
    return all(b == 16 for b in bits)


def _orient(array: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1-8) to an ``(h, w, c)`` array, as Pillow's exif_transpose."""
    swap = (1, 0, 2)
    return {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(swap),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: a[::-1, ::-1].transpose(swap),
        8: lambda a: np.rot90(a, 1),
    }.get(orientation, lambda a: a)(array)


def _stored_size(image) -> tuple[int, int]:
    """``(width, height)`` of the opened ``image`` as its file stores it (before turning)."""
    turned = image.info.get("vecmatte_orientation", 1) in (5, 6, 7, 8)
    return image.size[::-1] if turned else image.size


def _changed(label: str) -> ValueError:
    """The refusal of a file read a second time (its wide samples) that is not the one read
    first: a name read twice may name another file the second time (an editor's save
    meanwhile), whose samples were mixed with the first's, or a larger one read past the
    pixel limit checked on the first."""
    return ValueError(
        f"{label}: the file changed while it was read (a new file of that name); read it again"
    )


def _read_16bit_colour_tiff(source, image, label: str) -> np.ndarray:
    """A 16-bit RGB(A) TIFF's samples, uint16 ``(h, w, 3 or 4)``, read with tifffile."""
    import tifffile  # a dependency of ours (and of scikit-image)

    if hasattr(source, "seek"):
        source.seek(0)
    changed = _changed(label)
    try:
        with tifffile.TiffFile(source) as tiff:
            page = tiff.pages[0]
            if (page.imagewidth, page.imagelength) != _stored_size(image):
                raise changed
            planar = page.planarconfig == tifffile.PLANARCONFIG.SEPARATE
            array = np.asarray(page.asarray())
    except Exception as error:  # tifffile raises many types; the message says which file
        if error is changed:
            raise changed from None
        raise ValueError(f"{label}: cannot read the 16-bit colour TIFF ({error})") from None
    # Planar configuration: channels first. Told by the tag, not the shape: a picture 3 or
    # 4 pixels wide has a channel-sized last axis either way.
    if planar and array.ndim == 3:
        array = np.moveaxis(array, 0, -1)
    if array.ndim != 3 or array.shape[2] not in (3, 4) or array.dtype != np.uint16:
        raise ValueError(f"{label}: unexpected 16-bit TIFF layout {array.shape} {array.dtype}")
    return _orient(array, image.info.get("vecmatte_orientation", 1))


def float_tiff(source, label: str, check_size):
    """A one-channel float64 or float16 TIFF as a mode "F" PIL image; None for other files.

    numpy's and scikit-image's floats are float64 (``skimage.io.imsave("alpha.tif", alpha)``)
    and Pillow reads float32 TIFF only. float32 keeps far more than 16 bits of [0, 1].
    ``check_size((width, height))`` runs before the samples are read (the pixel limit).
    The orientation is applied; of several pages the first is read (``info["pages"]``
    counts them).
    """
    from PIL import Image

    with _float_page(source) as (page, pages):
        if page is None:
            return None
        orientation, size = _oriented(page)
        check_size(size)
        try:
            array = page.asarray().astype(np.float32)
        except Exception as error:  # tifffile raises many types; the message says which file
            raise ValueError(f"{label}: cannot read the float TIFF ({error})") from None
    image = Image.fromarray(np.ascontiguousarray(_orient(array[:, :, None], orientation)[:, :, 0]))
    image.info["pages"] = pages
    return image


def float_tiff_size(source) -> tuple[int, int] | None:
    """``(width, height)`` of the image of a one-channel float64 or float16 TIFF, as
    :func:`float_tiff` reads it (oriented); None for other files."""
    with _float_page(source) as (page, _):
        return None if page is None else _oriented(page)[1]


def _oriented(page) -> tuple[int, tuple[int, int]]:
    """``(orientation, (width, height) as oriented)`` of a one-channel TIFF page."""
    orientation = page.tags[274].value if 274 in page.tags else 1
    return orientation, page.shape[::-1] if orientation in (5, 6, 7, 8) else page.shape[1::-1]


@contextmanager
def _float_page(source):
    """``(first page, page count)`` of a one-channel float64/float16 TIFF, else ``(None, 0)``."""
    import tifffile  # a dependency of ours (and of scikit-image)

    if hasattr(source, "seek"):
        source.seek(0)
    try:
        tiff = tifffile.TiffFile(source)
    except Exception:  # tifffile raises many types: not such a file, the caller's line stands
        yield None, 0
        return
    with tiff:
        try:
            page = tiff.pages.first
            wanted = len(page.shape) == 2 and page.dtype in (np.float64, np.float16)
        except Exception:  # no page it can read
            wanted = False
        yield (page, len(tiff.pages)) if wanted else (None, 0)


# Pillow decodes 16-bit colour and gray+alpha PNG at 8 bits, keeping the high byte of each
# big-endian sample. Its unpackers for little-endian samples take the other byte of each
# pair, so a second decode of the same file with them yields the low bytes: two decodes in
# Pillow's C code give the full samples. Gray+alpha (4 bytes a pixel) is decoded once, its
# bytes unpacked unchanged as if they were RGBA.
_PNG16_SECOND_RAWMODE = {"RGB;16B": "RGB;16L", "RGBA;16B": "RGBA;16L", "LA;16B": "RGBA"}


def _read_16bit_colour_png(source, image, label: str) -> np.ndarray:
    """A 16-bit RGB, RGBA or gray+alpha PNG's samples, uint16 ``(h, w, 3, 4 or 2)``."""
    from PIL import ImageOps

    rawmode = image.info["vecmatte_rawmode"]
    if hasattr(source, "seek"):
        source.seek(0)
    changed = _changed(label)
    try:
        # The size was checked when the file was first opened (a PNG's decoder has no check).
        with open_unchecked(source) as again:
            if again.size != _stored_size(image):
                raise changed
            if len(again.tile) != 1 or again.tile[0][3] != rawmode:
                raise ValueError(f"unexpected PNG layout {again.tile}")
            again.tile = [again.tile[0]._replace(args=_PNG16_SECOND_RAWMODE[rawmode])]
            again.load()
            ImageOps.exif_transpose(again, in_place=True)
            second = np.asarray(again, dtype=np.uint16)
    except (OSError, SyntaxError, EOFError, ValueError) as error:
        if error is changed:
            raise changed from None
        raise ValueError(
            f"{label}: cannot read the 16-bit PNG, the file is damaged or truncated ({error})"
        ) from None
    if rawmode == "LA;16B":
        return np.stack(
            [(second[:, :, 0] << 8) | second[:, :, 1], (second[:, :, 2] << 8) | second[:, :, 3]],
            axis=2,
        )
    first = np.asarray(image, dtype=np.uint16)
    first <<= 8
    first |= second
    return first


def wide_samples(source, image, label: str) -> np.ndarray | None:
    """The 16-bit samples of a colour or gray+alpha PNG or TIFF, or a colour PPM of more
    than 8 bits, which Pillow reads at 8 bits.

    uint16 ``(h, w, c)``, oriented, with c = 2 (gray, alpha), 3 (RGB) or 4 (RGBA); None for
    every other kind of file.
    """
    if _is_16bit_colour_tiff(image):
        return _read_16bit_colour_tiff(source, image, label)
    if image.format == "PNG" and image.info.get("vecmatte_rawmode") in _PNG16_SECOND_RAWMODE:
        return _read_16bit_colour_png(source, image, label)
    tile = image.info.get("vecmatte_tile")
    if (
        image.format == "PPM"
        and image.mode == "RGB"
        and tile
        and tile[0] == "ppm"
        and tile[3][1] > 255
    ):
        return _read_wide_ppm(source, image, label)
    return None


def _read_wide_ppm(source, image, label: str) -> np.ndarray:
    """A binary PPM's colour samples of more than 8 bits (``dcraw -4`` writes 16), which
    Pillow scales to 8: uint16 ``(h, w, 3)`` scaled from the file's largest value to 65535."""
    _, _, offset, (_, largest) = image.info["vecmatte_tile"]
    width, height = image.size
    size = 2 * 3 * width * height  # big-endian 16-bit samples, as the format has them
    if hasattr(source, "seek"):
        source.seek(offset)
        data = source.read(size)
    else:
        with open(source, "rb") as handle:
            handle.seek(offset)
            data = handle.read(size)
    if len(data) < size:
        raise ValueError(f"{label}: cannot read image, the file is damaged or truncated")
    samples = np.frombuffer(data, ">u2").reshape(height, width, 3)
    if largest == 65535:
        return samples.astype(np.uint16)
    return np.rint(np.minimum(samples, largest) * (65535 / largest)).astype(np.uint16)
