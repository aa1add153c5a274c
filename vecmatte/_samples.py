"""Integer and float samples of one channel, read as Pillow gives them, into [0, 1].

Integer samples are divided by the largest value of their bit depth, as scikit-image's
``img_as_float`` divides by its dtype's; a TIFF's tags (BitsPerSample, SampleFormat) say
which depth and signedness its samples have, whatever mode Pillow opens it in. Used by
:mod:`vecmatte.io`'s readers of files, and by :mod:`vecmatte._arrays` for PIL images that
came from such files, so that both read the same samples the same way.
"""

from __future__ import annotations

import warnings

import numpy as np

from vecmatte._caller import outside_stacklevel
from vecmatte._errors import SampleRangeWarning

__all__ = [
    "integer_range",
    "is_wide_gray",
    "note_low_range",
    "reads_nearly_black",
    "tiff_tag",
    "wide_gray",
]

# Pillow's pixel modes that hold one channel of 16-bit, 32-bit integer or float samples.
_GRAY_WIDE_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
# TIFF tags BitsPerSample and SampleFormat, and the SampleFormat of signed integers.
_TIFF_BITS_PER_SAMPLE, _TIFF_SAMPLE_FORMAT, _TIFF_SIGNED = 258, 339, 2


def is_wide_gray(image) -> bool:
    """One channel read by :func:`wide_gray`: wider than 8 bits, or signed 8-bit TIFF.

    Pillow opens a TIFF of signed 8-bit samples as "L" with the bytes as they are (-1 as
    255, 127 at half brightness); its tags say how to read them.
    """
    return image.mode in _GRAY_WIDE_MODES or (
        image.mode == "L"
        and image.format == "TIFF"
        and tiff_tag(image, _TIFF_SAMPLE_FORMAT, 1) == _TIFF_SIGNED
    )


def tiff_tag(image, tag: int, default: int) -> int:
    """A TIFF tag's (first) value, such as BitsPerSample or SampleFormat."""
    value = image.tag_v2.get(tag, default)
    return value[0] if isinstance(value, tuple) else value


def wide_gray(image, label: str) -> np.ndarray:
    """One channel of 16-bit, 32-bit integer, float or signed 8-bit samples as float64 in [0, 1].

    Integer samples are divided by the largest value of their bit depth (see
    :func:`integer_range`), as scikit-image's ``img_as_float`` divides by its dtype's.
    """
    array = np.asarray(image)
    if image.mode == "F":
        array = array.astype(np.float64)
        if not np.isfinite(array).all():
            raise ValueError(f"{label}: float image contains NaN or infinite values")
        low, high = float(array.min()), float(array.max())
        if not (low >= 0.0 and high <= 1.0):
            raise ValueError(
                f"{label}: float image has values in [{low:.4g}, {high:.4g}]; a float image "
                "must hold values in [0, 1]"
            )
        return array
    depth, top = integer_range(image)
    if depth == "unsigned 32-bit":
        array = array.view(np.uint32)  # Pillow's "I" is signed: it wraps values >= 2**31
    elif depth == "signed 8-bit":
        array = array.view(np.int8)  # Pillow's "L" gives the bytes unsigned
    low, high = int(array.min(initial=0)), int(array.max(initial=0))
    if low < 0 or high > top:
        raise ValueError(
            f"{label}: {depth} integer image with values in [{low}, {high}]; its values must "
            f"lie in [0, {top}]: save it as 8- or 16-bit"
        )
    note_low_range(high, top, depth, label)
    return array / float(top)


def integer_range(image) -> tuple[str, int]:
    """The bit depth of a one-channel integer image's samples, and the largest value it holds.

    Pillow gives 16-bit samples as "I;16" (65535), and as "I" (32-bit signed) whatever the
    file stores: a TIFF says its depth and signedness in its tags; PNG and PGM hold at most
    16 bits ("I" is what older Pillow makes of a 16-bit PNG; Pillow scales PGM to 0-65535);
    other files (FITS, McIdas) are taken as Pillow's own 32-bit signed samples.
    """
    if image.mode == "L":  # a signed 8-bit TIFF (is_wide_gray)
        return "signed 8-bit", 127
    if image.mode != "I":
        # Pillow opens 12-bit TIFF samples as "I;16" with their values as stored (0-4095).
        bits = tiff_tag(image, _TIFF_BITS_PER_SAMPLE, 16) if image.format == "TIFF" else 16
        return (f"{bits}-bit", 2**bits - 1) if 8 < bits < 16 else ("16-bit", 65535)
    if image.format == "TIFF":
        bits = tiff_tag(image, _TIFF_BITS_PER_SAMPLE, 32)
        kind = tiff_tag(image, _TIFF_SAMPLE_FORMAT, 1)
        if kind == _TIFF_SIGNED:  # SampleFormat: two's complement signed integers
            return f"signed {bits}-bit", 2 ** (bits - 1) - 1
        return f"unsigned {bits}-bit" if bits == 32 else f"{bits}-bit", 2**bits - 1
    if image.format in ("PNG", "PPM"):
        return "16-bit", 65535
    return "signed 32-bit", 2**31 - 1


def reads_nearly_black(high: int, top: int) -> bool:
    """Whether samples whose largest is ``high`` (not 0), read on a scale up to ``top``, are
    black at 8 bits: likely levels of a smaller scale (8-bit levels stored as 16-bit)."""
    return 0 < high and high * 255 < top


def note_low_range(high: int, top: int, depth: str, label: str) -> None:
    """Warn if the largest sample, ``high`` of ``top``, would be black at 8 bits (not 0)."""
    if reads_nearly_black(high, top):
        if high <= 255:
            hint = "if it holds 8-bit values (0-255), save it as an 8-bit PNG"
        elif high <= 65535:
            hint = "if it holds 16-bit values (0-65535), save it as a 16-bit PNG"
        else:
            hint = "if its values are on a smaller scale, save it at that bit depth"
        warnings.warn(
            f"{label}: its largest value, {high}, is far below the {top} that its {depth} "
            f"samples can hold, so it reads as nearly black (at most {high / top:.2g}); {hint}",
            SampleRangeWarning,
            stacklevel=outside_stacklevel(),
        )
