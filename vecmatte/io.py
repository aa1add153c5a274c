"""Reading and writing images: conversion from files happens here, at the edge.

Whatever the file holds — 8- or 16-bit PNG or TIFF, JPEG, gray, palette, RGBA, a float TIFF,
a phone photo with an EXIF orientation — :func:`load_image` returns a float64 ``(h, w, 3)``
RGB array in [0, 1] as it is displayed, and :func:`load_trimap` a float64 ``(h, w)`` array.
Integer samples are divided by the largest value of their bit depth, as scikit-image's
``img_as_float`` divides by its dtype's: 255 for 8 bits, 65535 for 16, ``2**32 - 1`` for an
unsigned 32-bit TIFF (``2**31 - 1`` signed); whatever values the file happens to hold, so a
dark picture stays dark. A file whose largest value would be black at 8 bits (8-bit values
saved in a 16- or 32-bit file) is read so, with a :class:`SampleRangeWarning` naming it.

Decisions about what files hold besides pixels. The EXIF orientation is applied to the
image and to every map (Pillow's ``ImageOps.exif_transpose``): a trimap drawn on a phone
photo in any editor, which shows it upright, lines up with it; PyMatting's ``load_image``
and scikit-image's ``imread`` give the stored pixels, where such a trimap comes out turned.
Outputs are written upright, without an orientation. A PIL image given instead of a file is
read as the object holds it, as stored (``ImageOps.exif_transpose(image)`` turns it). An
embedded colour (ICC) profile is not applied: the values are read as stored, as PyMatting
and scikit-image read them, so the foreground and cutout made of them are in the photo's
colour space (Display P3, Adobe RGB ...): :func:`colour_profile` reads an RGB profile from
the file, and ``save_images(..., icc_profile=...)`` embeds it in the colour outputs (not in
the gray alpha matte), whose colours then show as the photo's (written without it they
showed paler, taken for sRGB). Of an animation or a multi-page TIFF only
the first frame is read, with an :class:`ExtraFramesWarning`.
Opening a file or stream (names, limits, damage, frames, orientation) lives in
:mod:`vecmatte._opening`, the reading of one channel's integer samples in
:mod:`vecmatte._samples`; :func:`image_size`, :func:`is_complete_image` and the errors and
warnings of opening are re-exported here.
The writers (:func:`save_image`, :func:`save_images`, :func:`floats_to_uint8`,
:func:`floats_to_uint16`, and :func:`png_text`, which reads back the text they write) live
in :mod:`vecmatte._writing` and are re-exported here.
:func:`check_output_paths` (from :mod:`vecmatte._output_guard`) is the one guard every
writer goes through: an output may not be an input, two outputs may not be the same file,
and an output must be writable.
"""

from __future__ import annotations

import warnings

import numpy as np

from vecmatte._arrays import check_pixel_count
from vecmatte._caller import outside_stacklevel
from vecmatte._errors import SampleRangeWarning  # in the leaf module: _arrays says it too
from vecmatte._opening import (
    ExtraFramesWarning,
    ImageMetadataWarning,
    ImageTooLargeError,
    check_max_pixels,
    image_size,
    is_complete_image,
    named_source,
    open_image,
    read_stream,
    source_label,
    stream_byte_limit,
)
from vecmatte._output_guard import STDIO, check_output_paths, same_file
from vecmatte._profiles import ColourProfileWarning, colour_profile
from vecmatte._samples import is_wide_gray, note_low_range, wide_gray
from vecmatte._typing import PathOrFile
from vecmatte._wide_colour import wide_samples
from vecmatte._writing import (
    floats_to_uint8,
    floats_to_uint16,
    png_text,
    save_image,
    save_images,
    written_by_vecmatte,
)

__all__ = [
    "IMAGE_EXTENSIONS",
    "STDIO",
    "AlphaChannelIgnoredWarning",
    "AlphaChannelUsedWarning",
    "ColourProfileWarning",
    "ExtraFramesWarning",
    "ImageMetadataWarning",
    "ImageTooLargeError",
    "LossyTrimapWarning",
    "SampleRangeWarning",
    "check_max_pixels",
    "check_output_paths",
    "colour_profile",
    "floats_to_uint8",
    "floats_to_uint16",
    "image_size",
    "is_complete_image",
    "load_gray",
    "load_image",
    "load_trimap",
    "png_text",
    "read_stream",
    "same_file",
    "save_image",
    "save_images",
    "stream_byte_limit",
    "written_by_vecmatte",
]

# Extensions recognised as images when folders are read (batch, eval) and when a string
# names a file rather than a colour (lower case). GIF too: load_image reads it (the first
# frame, with a note), and a batch skipped a folder's GIF files without a word.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif")

# Modes with an alpha channel (after conversion of palettes with transparency to RGBA).
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


class AlphaChannelIgnoredWarning(UserWarning):
    """The image file has a (not fully opaque) alpha channel, or a transparent colour (PNG
    tRNS) that some pixels have; matting ignores it."""


class AlphaChannelUsedWarning(UserWarning):
    """An alpha matte or mask is read from the file's alpha channel (an RGBA cutout)."""


class LossyTrimapWarning(UserWarning):
    """A trimap read from a lossy format (JPEG) has many values smeared between its levels."""


def _note_alpha(image, label: str) -> None:
    """Warn that a not fully opaque alpha channel is ignored."""
    alpha = np.asarray(image.getchannel("A"))
    _warn_alpha(alpha, label)


def _warn_alpha(alpha: np.ndarray, label: str) -> None:
    """Warn if ``alpha`` (uint8 or uint16 samples) is not fully opaque; it is ignored."""
    transparent = np.count_nonzero(alpha < np.iinfo(alpha.dtype).max)
    _warn_ignored("an alpha channel", transparent / alpha.size, label)


def _warn_ignored(what: str, share: float, label: str, map_name: str | None = None) -> None:
    """Warn that ``what`` (an alpha channel, a transparent colour), making the ``share`` of
    the pixels not opaque, is ignored by the image or, with ``map_name``, by that gray map
    (a trimap, an alpha); nothing when the share is 0."""
    if share:
        holder, kept = (
            ("image", "the colours are matted as stored")
            if map_name is None
            else ("file", f"the gray values are the {map_name}")
        )
        warnings.warn(
            f"{label}: the {holder} has {what} ({100 * share:.1f}% of its pixels not opaque); "
            f"it is ignored and {kept}",
            AlphaChannelIgnoredWarning,
            stacklevel=outside_stacklevel(),
        )


# A gray or RGB PNG may name one colour transparent (its tRNS chunk: Pillow's
# info["transparency"]). Pillow gives the key of a 2- or 4-bit gray file unscaled (2 for the
# stored 2 of 3, read as 170), and its own conversion to RGBA then misses it.
_LOW_GRAY_KEY_SCALE = {"L;2": 85, "L;4": 17}
_TRANSPARENT_COLOUR = "a transparent colour (PNG tRNS)"


def _key_colour_share(image, samples: np.ndarray | None = None) -> float:
    """The share of pixels of the colour a gray or RGB PNG names transparent (0 if none).

    ``samples`` are the file's pixels as stored (``np.asarray(image)`` when None): 8-bit,
    or 16-bit uint16 (whose key is 16-bit too); ``(h, w)`` gray or ``(h, w, 3)`` RGB.
    """
    key = image.info.get("transparency")
    if image.format != "PNG" or image.mode in ("P", "PA") or not isinstance(key, (int, tuple)):
        return 0.0
    if samples is None:
        samples = np.asarray(image)
    if isinstance(key, int):
        if samples.ndim != 2:
            return 0.0
        key = key * _LOW_GRAY_KEY_SCALE.get(image.info.get("vecmatte_rawmode"), 1)
        if samples.dtype == bool:  # a 1-bit file: Pillow gives 255 for its key 1
            key = key != 0
        return np.count_nonzero(samples == key) / samples.size
    if samples.ndim != 3 or samples.shape[2] != len(key):
        return 0.0
    hits = samples[:, :, 0] == key[0]
    for channel in (1, 2):
        hits &= samples[:, :, channel] == key[channel]
    return np.count_nonzero(hits) / hits.size


def _colour_image(image, label: str) -> np.ndarray:
    """An ``(h, w, 3)`` uint8 array of any Pillow image that is not one wide gray channel."""
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in _ALPHA_MODES:
        _note_alpha(image, label)
    else:
        _warn_ignored(_TRANSPARENT_COLOUR, _key_colour_share(image), label)
    if image.mode != "RGB":
        try:
            image = image.convert("RGB")
        except ValueError as error:
            raise ValueError(
                f"{label}: cannot convert {image.mode} pixels to RGB ({error})"
            ) from None
    return np.asarray(image)


def load_image(path: PathOrFile, *, max_pixels: int | None = None) -> np.ndarray:
    """Load an image file as a float64 ``(h, w, 3)`` RGB array in [0, 1].

    Parameters
    ----------
    path : str, Path or binary file object
        Any format Pillow reads: PNG and TIFF (8 or 16 bits), JPEG, BMP, WebP ...; or an
        open binary stream (such as ``sys.stdin.buffer`` read into ``io.BytesIO``).
    max_pixels : int, optional
        Refuse files with more pixels than this (decompression-bomb protection). By default
        Pillow's limit, ``PIL.Image.MAX_IMAGE_PIXELS`` (about 89 MP).

    Returns
    -------
    ndarray, shape (h, w, 3)
        As the image is displayed: the EXIF orientation is applied (an ICC profile is not:
        values as stored, see the module's notes). Gray, palette and CMYK
        images are converted to RGB; 16-bit PNG and TIFF (gray, gray+alpha, RGB, RGBA)
        keep their full precision (``value / 65535``); a 32-bit integer TIFF is divided by
        ``2**32 - 1`` (``2**31 - 1`` if signed), a 12-bit one by 4095, the largest value of
        its samples; a PPM or PGM of more than 8 bits by the largest value it declares.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path`` (``~`` is not expanded: ``os.path.expanduser``).
    IsADirectoryError
        If ``path`` is a folder.
    ValueError
        If the file is not an image, is truncated or damaged, or is too large
        (:class:`ImageTooLargeError`, a subclass).

    Warns
    -----
    AlphaChannelIgnoredWarning
        If the file has an alpha channel that is not fully opaque, or names a colour that
        some of its pixels have transparent (a gray or RGB PNG's tRNS): the colours are used
        as stored and the old alpha is ignored.
    SampleRangeWarning
        If the file's 16- or 32-bit samples all lie below 1/255 of their largest value (but
        are not all 0): the image reads as nearly black, as it is stored.
    """
    path = named_source(path, max_pixels=max_pixels)
    label = source_label(path)
    image = open_image(path, max_pixels)
    if is_wide_gray(image):
        gray = wide_gray(image, label)
        _warn_ignored(_TRANSPARENT_COLOUR, _key_colour_share(image), label)
        return np.repeat(gray[:, :, None], 3, axis=2)
    samples = wide_samples(path, image, label)
    if samples is None:
        return _colour_image(image, label) / 255.0
    if samples.shape[2] in (2, 4):
        _warn_alpha(samples[:, :, -1], label)
    else:
        _warn_ignored(_TRANSPARENT_COLOUR, _key_colour_share(image, samples), label)
    colours = 1 if samples.shape[2] == 2 else 3
    note_low_range(int(samples[:, :, :colours].max(initial=0)), 65535, "16-bit", label)
    if samples.shape[2] == 2:
        return np.repeat(samples[:, :, :1] / 65535.0, 3, axis=2)
    return samples[:, :, :3] / 65535.0


def load_gray(path, *, name: str = "trimap", max_pixels: int | None = None) -> np.ndarray:
    """Load a one-channel map (trimap, alpha matte, mask) as a float64 ``(h, w)`` array.

    Like :func:`load_trimap`, but ``name`` says what the file is in messages ("alpha",
    "mask" ...), so that a colour photograph given as an alpha matte is called an alpha
    matte, not a trimap.

    A file with a (not fully opaque) alpha channel: the alpha channel is the map when the
    colour channels cannot be (one uniform colour, as a trimap painted as opacity on a
    transparent layer; for an alpha matte or a mask also a photograph's colours, as in an
    RGBA cutout), with a note (:class:`AlphaChannelUsedWarning`); else it is ignored with a
    note (:class:`AlphaChannelIgnoredWarning`).

    Parameters
    ----------
    path : str, Path or binary file object
        The file, as in :func:`load_image`.
    name : str, optional
        What the file is, for messages (default ``"trimap"``).
    max_pixels : int, optional
        Pixel limit, as in :func:`load_image`.

    Returns
    -------
    ndarray, shape (h, w)
        Float64 values in [0, 1].
    """
    path = named_source(path, max_pixels=max_pixels)
    label = source_label(path)
    image = open_image(path, max_pixels)
    palette_levels = _gray_palette(image)
    one_wide_channel = is_wide_gray(image)
    samples = None if one_wide_channel else wide_samples(path, image, label)
    key_share = _key_colour_share(image, samples)  # before a conversion drops the key
    opacity = None
    if one_wide_channel:
        array = wide_gray(image, label)
    elif samples is not None:  # 16 bits kept
        if samples.shape[2] in (2, 4):
            opacity = samples[:, :, -1]
        array = samples[:, :, 0] if samples.shape[2] == 2 else samples[:, :, :3]
    elif image.mode in ("L", "1"):
        array = np.asarray(image if image.mode == "L" else image.convert("L"))
    elif palette_levels is not None:
        # Most trimaps are gray palette PNGs: the indices go through the palette's levels
        # (as through Pillow's RGB conversion), not through three channels.
        array = palette_levels[np.asarray(image)]
    else:
        # A palette file goes through its colours (RGB or RGBA): converting it to gray read a
        # colour photograph saved as GIF or palette PNG as a trimap without a word.
        if image.mode == "P":
            image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if image.mode in _ALPHA_MODES else "RGB")
        array = np.asarray(image)
        if array.shape[2] == 4:
            array, opacity = array[:, :, :3], array[:, :, 3]
    if opacity is not None and np.any(opacity < np.iinfo(opacity.dtype).max):
        array = _map_or_its_alpha(array, opacity, name, label)
    else:
        _warn_ignored(_TRANSPARENT_COLOUR, key_share, label, name)
    if array.dtype == np.uint16:  # wide_gray's samples were checked there
        note_low_range(int(array.max(initial=0)), 65535, "16-bit", label)
    checked = _checked_map(array, name, label)
    if name == "trimap" and image.format in _LOSSY_FORMATS:
        _note_smeared_levels(checked, label, image.format)
    return checked


def _gray_palette(image) -> np.ndarray | None:
    """The 256 uint8 levels the indices of a palette image without a transparent colour
    convert to, if all are gray (as Pillow's RGB conversion gives them, entries past the
    palette's end included); else None."""
    if image.mode != "P" or "transparency" in image.info:
        return None
    colours = bytes(image.getpalette("RGB") or ())
    if len(colours) < 3 * 256:  # the entries past its end, as Pillow's conversion fills them
        probe = image.crop((0, 0, 256, 1))  # keeps the palette
        probe.frombytes(bytes(range(256)))
        colours = probe.convert("RGB").tobytes()
    red = colours[0::3]
    if red != colours[1::3] or red != colours[2::3]:
        return None
    return np.frombuffer(red, np.uint8)


def _channels_equal(rgb: np.ndarray) -> bool:
    """Whether the three channels of the uint8 ``(..., 3)`` array ``rgb`` are equal."""
    first = rgb[..., 0]
    return bool(np.array_equal(first, rgb[..., 1]) and np.array_equal(first, rgb[..., 2]))


def _checked_map(array: np.ndarray, name: str, label: str) -> np.ndarray:
    """``check_trimap(array, name=name)``, its errors naming the file ``label``.

    8-bit gray samples (most maps), or 8-bit RGB ones whose channels are all equal, are
    divided by 255 here: the same values as check_trimap's, without its float checks of
    values that cannot leave [0, 1] and, for RGB, its three float channels.
    """
    from vecmatte.trimap import check_trimap

    try:
        if array.dtype == np.uint8 and array.ndim == 3 and array.shape[2] == 3:
            if _channels_equal(array):
                array = array[:, :, 0]
        if array.dtype == np.uint8 and array.ndim == 2:
            check_pixel_count(array.shape, name)
            return np.divide(array, 255.0, out=np.empty(array.shape))
        return check_trimap(array, name=name)
    except ValueError as error:
        raise ValueError(f"{label}: {error}") from None


# Formats whose compression changes pixel values (WebP, JPEG 2000 and AVIF may also be
# lossless; a lossless file has no smeared values and passes the count below unnoticed).
_LOSSY_FORMATS = ("JPEG", "MPO", "WEBP", "JPEG2000", "AVIF")
# Share of a trimap's pixels off its three levels above which a lossy file is noted. A
# JPEG at quality 100 smears about 0.5% of a typical trimap's pixels, quality 75 about 8%.
_SMEARED_SHARE = 0.01


def _note_smeared_levels(trimap: np.ndarray, label: str, file_format: str) -> None:
    """Warn once if many of a lossy trimap's values are neither 0, 1 nor its dominant gray."""
    levels = np.bincount(np.rint(trimap * 255.0).astype(np.uint8).ravel(), minlength=256)
    # The gray among the levels read as unknown (0.1 to 0.9): JPEG's ringing next to black
    # and white can outnumber a narrow band's own gray.
    gray = int(np.argmax(levels[26:230])) + 26
    smeared = trimap.size - int(levels[0] + levels[255] + levels[gray])
    if smeared > _SMEARED_SHARE * trimap.size:
        warnings.warn(
            f"{label}: the trimap is a lossy {file_format} file and "
            f"{100 * smeared / trimap.size:.1f}% of its pixels are neither black, white nor "
            f"its gray ({gray}); they are read as foreground above 90% white, background "
            "below 10%, unknown in between; save trimaps as PNG to keep their values exact",
            LossyTrimapWarning,
            stacklevel=outside_stacklevel(),
        )


def _map_or_its_alpha(array: np.ndarray, opacity: np.ndarray, name: str, label: str):
    """The samples that hold the map ``name`` of a file with a translucent alpha channel."""
    from vecmatte.trimap import coloured_fraction

    same = opacity if array.ndim == 2 else opacity[:, :, None]
    if np.array_equal(array, np.broadcast_to(same, array.shape)):
        return array  # gray and alpha agree (a matte saved with itself as alpha)
    # One colour cannot be a map (a trimap would have no foreground or no background): a
    # trimap painted as opacity on a transparent layer. A cutout's colours are read as its
    # alpha for a matte or mask, never for a trimap (its soft edge is no unknown band).
    uniform = array.min() == array.max()
    coloured = name != "trimap" and array.ndim == 3 and coloured_fraction(array) > 0
    if uniform or coloured:
        warnings.warn(
            f"{label}: the {name} is read from the file's alpha channel (its colours are "
            + ("a picture's: an RGBA cutout" if coloured else "all the same")
            + ")",
            AlphaChannelUsedWarning,
            stacklevel=outside_stacklevel(),
        )
        return opacity
    share = np.count_nonzero(opacity < np.iinfo(opacity.dtype).max) / opacity.size
    _warn_ignored("an alpha channel", share, label, name)
    return array


def load_trimap(path: PathOrFile, *, max_pixels: int | None = None) -> np.ndarray:
    """Load a trimap (or a mask) as a float64 ``(h, w)`` array in [0, 1].

    Gray, RGB and RGBA files, 8 or 16 bits or float, are accepted. Colour files must be gray
    up to compression noise (see :func:`vecmatte.trimap.check_trimap`); an alpha channel is
    ignored (with a note if it is not fully opaque), unless the colours are all one (then
    the alpha channel holds the trimap, see :func:`load_gray`). Values are not snapped here:
    :func:`vecmatte.trimap.trimap_split` reads ``> 0.9`` as foreground and ``< 0.1`` as
    background, which absorbs JPEG noise.

    Parameters
    ----------
    path : str, Path or binary file object
        The file, as in :func:`load_image`.
    max_pixels : int, optional
        Pixel limit, as in :func:`load_image`.

    Returns
    -------
    ndarray, shape (h, w)
        Float64 values in [0, 1].

    Warns
    -----
    LossyTrimapWarning
        If the file is in a lossy format (JPEG, lossy WebP) and more than 1% of its pixels
        are neither black, white nor its dominant gray: the message says how they are read.
    SampleRangeWarning
        If the file's 16- or 32-bit samples all lie below 1/255 of their largest value (8-bit
        levels 0/128/255 in a 16-bit file, say): they are read as stored, all background.
    """
    return load_gray(path, name="trimap", max_pixels=max_pixels)
