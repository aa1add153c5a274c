"""Image, gray-map and mask arguments: checked, then converted to C-ordered float arrays.

PIL images, integer samples and odd shapes are read or refused here, so that every
function taking pixels says the same thing about the same input.
"""

from __future__ import annotations

import os

import numpy as np

from vecmatte._numbers import shown, whole_number
from vecmatte._samples import is_wide_gray, reads_nearly_black, wide_gray

# Above this many pixels a single image is almost certainly a mistake (a wrong reshape, a
# decompression bomb): 2**28 pixels is 268 MP, far beyond any camera.
MAX_PIXELS = 2**28


# PIL modes whose pixels np.asarray gives as they are meant: gray levels, RGB, 16-bit gray
# ("I;16*" as uint16), floats ("F", range-checked like any float array). Any other mode is
# converted first: np.asarray of a palette ("P") image gives palette indices, and of a
# YCbCr, LAB or HSV image three channels that are not red, green and blue.
_PIL_AS_IS = {"1", "L", "RGB", "F", "I;16", "I;16L", "I;16B", "I;16N"}
_PIL_WITH_ALPHA = {"LA", "La", "PA", "RGBA", "RGBa"}


def _is_pil(value) -> bool:
    """A PIL image, recognised without importing Pillow."""
    return type(value).__module__.startswith("PIL.") and hasattr(value, "mode")


def _pil_pixels(value, name: str, *, gray: bool):
    """The pixels of a PIL image as an array (other values are returned unchanged).

    ``np.asarray`` alone reads a palette image as its indices and a YCbCr, LAB, HSV or CMYK
    image as if its channels were RGB (a silently wrong matte); such modes are converted to
    ``"L"`` (``gray``: trimaps, masks, alphas) or ``"RGB"`` first. One channel of integer
    samples is read as its file is (see :func:`_integer_pil_pixels`). Images with
    transparency keep it (RGBA or LA), so that the usual checks refuse or ignore it.
    """
    if not _is_pil(value):
        return value
    _load_pil(value, name)
    mode = value.mode
    if mode == "P" and "transparency" in value.info:
        value, mode = value.convert("RGBA"), "RGBA"
    if mode == "I" or (mode != "F" and value.format is not None and is_wide_gray(value)):
        return _integer_pil_pixels(value, name)
    # A gray map's alpha is ignored (as an RGBA trimap's); an image keeps it as RGBA,
    # which check_image refuses with the way out. "La" and "RGBa" are premultiplied.
    if mode in _PIL_WITH_ALPHA:
        target = "L" if gray and mode in ("LA", "La", "PA") else "RGBA"
    else:
        target = mode if mode in _PIL_AS_IS else ("L" if gray else "RGB")
    if target != mode:
        try:
            value = value.convert(target)
        except ValueError as error:  # Pillow: "conversion from La to L not supported"
            raise ValueError(
                f"{name} is a PIL image of mode {mode!r}, which Pillow cannot convert to "
                f"{target} ({error}); convert it to 'RGB' or 'L' first"
            ) from None
    return np.asarray(value)


def _integer_pil_pixels(image, name: str) -> np.ndarray:
    """A PIL image of one channel of integer samples, read as the file it is or would be.

    An image opened from a file is read as :mod:`vecmatte.io` reads that file (its TIFF
    tags say the depth and signedness Pillow's mode does not). One made in memory (mode
    ``"I"``: ``Image.fromarray`` of int32, ``convert("I")``) holding at most 65535 is read
    as 16-bit levels, what a 16-bit PNG opened by older Pillow is; larger values as 32-bit
    signed samples, as the TIFF Pillow writes of it reads.
    """
    if image.format is None:
        array = np.asarray(image)
        if array.size and array.min() < 0:
            raise ValueError(
                f"{name} is a 32-bit PIL image (mode 'I') with values in [{array.min()}, "
                f"{array.max()}]; give 8-bit or 16-bit levels, or floats in [0, 1]"
            )
        if array.max(initial=0) <= 65535:
            _note_low_pil_levels(int(array.max(initial=0)), name)
            return array.astype(np.uint16)
    file = getattr(image, "filename", "")
    return wide_gray(image, f"{name} ({file})" if isinstance(file, str) and file else name)


def _note_low_pil_levels(high: int, name: str) -> None:
    """Warn that a mode "I" image's largest level, ``high``, reads nearly black at 16 bits.

    ``Image.fromarray`` of int32 levels and ``image.convert("I")`` make such images of 8-bit
    levels; read as 16-bit (as a 16-bit PNG that older Pillow opens as "I") 255 is 0.004.
    The condition is :func:`vecmatte._samples.note_low_range`'s, which says it of a file.
    """
    if reads_nearly_black(high, 65535):
        import warnings

        from vecmatte._caller import outside_stacklevel
        from vecmatte._errors import SampleRangeWarning

        warnings.warn(
            f"{name} is a PIL image of mode 'I' whose largest value, {high}, is far below "
            f"65535: read as 16-bit levels it is nearly black (at most {high / 65535:.2g}); "
            f"if it holds 8-bit levels (0-255), give {name}.convert('L')",
            SampleRangeWarning,
            stacklevel=outside_stacklevel(),
        )


def _load_pil(image, name: str) -> None:
    """Read a PIL image's pixels, or say in one line that its file was closed first.

    ``with Image.open(path) as image: pass`` leaves an image whose pixels were never read
    and whose file is closed: Pillow then raised a bare AssertionError (or ValueError
    "Operation on closed image" for one closed after loading; Pillow 11 and 12 raise
    AttributeError "'NoneType' object has no attribute 'seek'", the closed file being None).
    """
    try:
        image.load()
    except (AssertionError, ValueError, AttributeError) as error:
        if isinstance(error, ValueError) and "closed" not in str(error):
            raise
        if isinstance(error, AttributeError) and getattr(image, "fp", None) is not None:
            raise
        raise ValueError(
            f"{name} is a PIL image whose file was closed before its pixels were read: use "
            "it inside its 'with Image.open(...)' block, or call its .load() there"
        ) from None


def check_not_masked(value, name: str) -> None:
    """Refuse a masked array with masked values in one line (one without any is taken)."""
    # np.asarray drops a mask: the masked pixels' hidden values would be used silently.
    if isinstance(value, np.ma.MaskedArray) and (masked := np.ma.count_masked(value)):
        raise ValueError(
            f"{name} is a masked array with {masked} masked values; fill it first "
            f"({name}.filled(value))"
        )


def as_array(value, name: str, *, gray: bool) -> np.ndarray:
    """``np.asarray`` of an image, a gray map or a PIL image (see :func:`_pil_pixels`).

    A ragged list of lists made NumPy say "setting an array element with a sequence ..."
    without naming the argument.
    """
    if isinstance(value, (str, bytes, os.PathLike)):  # else read as a 0-dimensional array
        reader = (
            "vecmatte.load_image(path)"
            if not gray
            else "vecmatte.load_trimap(path)"
            if name == "trimap"
            else f"vecmatte.io.load_gray(path, name={name!r})"
        )
        raise ValueError(
            f"{name} is a file name ({shown(value)}), not pixels: read it with {reader}"
        )
    check_not_masked(value, name)
    value = _pil_pixels(value, name, gray=gray)
    try:
        return np.asarray(value)
    except ValueError:
        raise ValueError(
            f"{name} is a ragged nested sequence (rows of different lengths); give an array "
            "of shape (h, w, 3) or (h, w)"
        ) from None


def as_float(array, name: str) -> np.ndarray:
    """Convert uint8/uint16 arrays to [0, 1] floats by their dtype's range; floats pass through.

    Signed integers are refused, and so are uint32/uint64: scaled by their range (as
    scikit-image's ``img_as_float`` does), the 8-bit levels such an array usually holds
    would be read as black, a silently wrong matte.
    """
    array = np.asarray(array)
    if array.dtype == bool:
        return array.astype(np.float64)
    # kind, not np.issubdtype(..., np.integer): timedelta64 is an integer to NumPy, and
    # np.iinfo of it raised "Invalid integer data type 'm'".
    if array.dtype.kind == "i":
        # np.array of Python ints (0-255) is int64: name the conversion that keeps the levels.
        raise ValueError(
            f"{name} has signed integer dtype {array.dtype}; use unsigned or float: 8-bit "
            f"levels: {name}.astype(np.uint8), 16-bit ones: .astype(np.uint16), or floats "
            "in [0, 1]"
        )
    if array.dtype.kind == "u":
        info = np.iinfo(array.dtype)
        if info.bits > 16:
            raise ValueError(
                f"{name} has dtype {array.dtype}: scaled by its range, 8-bit levels would all "
                f"read as 0; convert 8-bit levels with {name}.astype(np.uint8), 16-bit ones "
                "with .astype(np.uint16), or give floats in [0, 1]"
            )
        return array.astype(np.float64) / info.max
    if np.issubdtype(array.dtype, np.floating):
        return array.astype(np.float64, copy=False)
    raise ValueError(f"{name} has dtype {array.dtype}; expected float in [0, 1] or uint8/uint16")


def check_finite(array: np.ndarray, name: str) -> tuple[float, float]:
    """``(min, max)`` of a non-empty float ``array``; a ValueError line if it holds NaN or an
    infinity."""
    # min and max carry any NaN or infinity through: two passes over the array instead of
    # three plus a boolean copy of it (a tenth of a millisecond on a small photograph).
    low, high = float(array.min()), float(array.max())
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return low, high


def _check_finite_range(array: np.ndarray, name: str) -> None:
    low, high = check_finite(array, name)
    if low < 0.0 or high > 1.0:
        raise ValueError(
            f"{name} has values in [{_beyond(low, 0.0)}, {_beyond(high, 1.0)}] but must lie "
            "in [0, 1] (floats in [0, 1], or uint8/uint16)"
        )


def _beyond(value: float, bound: float) -> str:
    """``value`` with 4 significant digits, or as many as show which side of ``bound`` it is.

    1.0001 at 4 digits reads "1", and "values in [0, 1] but must lie in [0, 1]" says nothing.
    """
    for digits in (4, 6, 9, 17):
        text = f"{value:.{digits}g}"
        if (float(text) - bound) * (value - bound) > 0 or value == bound:
            return text
    return repr(value)


def check_pixel_count(shape: tuple[int, ...], name: str, fix: str = "downscale it first") -> None:
    """Refuse an image ``shape`` of no pixels, or of more than :data:`MAX_PIXELS` (then
    saying ``fix``), in one line naming ``name``."""
    h, w = int(shape[0]), int(shape[1])
    pixels = h * w  # Python ints: no product overflows
    if pixels == 0:
        raise ValueError(f"{name} is empty ({h} x {w} pixels)")
    if pixels > MAX_PIXELS:
        # shown(): a shape given as numbers (estimate_solve_memory's) may be 10**3000 high.
        raise ValueError(
            f"{name} has {shown(pixels)} pixels ({shown(h)} x {shown(w)}, height x width), "
            f"more than the limit of {MAX_PIXELS}; {fix}"
        )


def _pixels_in_unit_range(array: np.ndarray, name: str) -> np.ndarray:
    """``array`` (shape already checked) as C-ordered float64 in [0, 1], else a ValueError."""
    check_pixel_count(array.shape, name)
    # C order: the pipeline writes the solution through alpha.ravel(), which is a copy (and
    # the write lost) for a Fortran-ordered trimap; methods reshape pixels row-major too.
    array = np.ascontiguousarray(as_float(array, name))
    _check_finite_range(array, name)
    return array


def check_image(image, name: str = "image") -> np.ndarray:
    """Return ``image`` as a C-ordered float64 ``(h, w, 3)`` array in [0, 1] or raise
    ``ValueError``.

    Grayscale ``(h, w)`` or ``(h, w, 1)`` images are repeated to three channels; an alpha
    channel ``(h, w, 4)`` is rejected here (``load_image`` drops it with a note).
    """
    array = as_array(image, name, gray=False)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    elif array.ndim == 3 and array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    if array.ndim != 3 or array.shape[2] != 3:
        # An RGBA array (np.asarray of a PNG with transparency) is the common case: say how.
        fix = (
            f"; drop the alpha channel first ({name}[:, :, :3])" if array.shape[-1:] == (4,) else ""
        )
        if fix and _is_pil(image):  # a PIL image cannot be sliced
            fix = f"; drop the alpha channel first ({name}.convert('RGB'))"
        if array.ndim == 3 and array.shape[0] in (1, 3) and array.shape[2] not in (1, 3, 4):
            # (3, h, w) from PyTorch or a FITS/TIFF reader: not to be read as a 3-wide image.
            fix = f"; channels first? np.moveaxis({name}, 0, -1) makes it (h, w, {array.shape[0]})"
        raise ValueError(
            f"{name} has shape {array.shape}; expected (h, w, 3) RGB or (h, w) gray{fix}"
        )
    return _pixels_in_unit_range(array, name)


def check_gray(array, name: str) -> np.ndarray:
    """Return a C-ordered float64 ``(h, w)`` array in [0, 1]; ``(h, w, 1)`` is squeezed."""
    array = as_array(array, name, gray=True)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim != 2:
        raise ValueError(f"{name} has shape {np.shape(array)}; expected (h, w)")
    return _pixels_in_unit_range(array, name)


def check_same_size(
    image: np.ndarray, other: np.ndarray, name: str, image_name: str = "image"
) -> None:
    if other.shape[:2] != image.shape[:2]:
        raise ValueError(
            f"{name} has shape {other.shape[:2]} but {image_name} has shape {image.shape[:2]}; "
            "they must have the same height and width"
        )


def check_mask(mask, shape: tuple[int, int], name: str) -> np.ndarray:
    """A boolean ``(h, w)`` mask; numbers are taken where they are all 0 or 1."""
    check_not_masked(mask, name)
    mask = np.asarray(mask)
    if mask.shape != tuple(shape):
        raise ValueError(f"{name} has shape {mask.shape} but image has shape {tuple(shape)}")
    # astype(bool) read a trimap's 0.5 (or a NaN) as True: a trimap given as the mask
    # marked every unknown pixel known.
    if mask.dtype != bool and not (mask.dtype.kind in "uif" and np.isin(mask, (0, 1)).all()):
        got = f"{mask.dtype} values other than 0 and 1" if mask.dtype.kind in "uif" else mask.dtype
        raise ValueError(
            f"{name} must be a boolean mask (True or 1, False or 0 for each pixel), got {got}"
        )
    return mask.astype(bool, copy=False)


def image_sizes(shape, *, minimum: int, channels: bool) -> tuple[int, int]:
    """``(h, w)`` of an image ``shape`` as ints of at least ``minimum`` (0 or 1), else one
    ValueError naming the value; NumPy integers and whole floats are taken.

    ``channels``: ``(h, w, c)`` is taken too (its ``c`` unchecked), as well as ``(h, w)``.
    """
    try:
        sizes = tuple(shape)
    except TypeError:
        sizes = ()
    if len(sizes) not in ((2, 3) if channels else (2,)):
        form = "(height, width) or (height, width, 3)" if channels else "(height, width)"
        raise ValueError(f"shape must be {form}, got {shown(shape)}")
    wanted = (
        "a positive whole number of pixels" if minimum else "non-negative, a whole number of pixels"
    )
    return tuple(
        whole_number(size, f"shape's {what}", wanted, minimum=minimum)
        for size, what in zip(sizes[:2], ("height", "width"), strict=True)
    )


def estimate_sizes(shape, *, fix: str) -> tuple[int, int]:
    """``(h, w)`` of a ``shape`` given to a memory estimate, as :func:`image_sizes` reads it
    (0 allowed: an empty image needs no memory; channels taken), refused beyond what any
    image argument takes (10**200 x 10**200 overflowed the models' floats), saying ``fix``.
    """
    h, w = image_sizes(shape, minimum=0, channels=True)
    if h * w:
        check_pixel_count((h, w), "shape", fix=fix)
    return h, w
