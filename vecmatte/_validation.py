"""Checks shared by the library and the command line, so each message is written once."""

from __future__ import annotations

import numbers

import numpy as np

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
    ``"L"`` (``gray``: trimaps, masks, alphas) or ``"RGB"`` first. A 32-bit ``"I"`` image
    (how Pillow may open a 16-bit gray PNG) is read as uint16 when its values fit. Images
    with transparency keep it (RGBA or LA), so that the usual checks refuse or ignore it.
    """
    if not _is_pil(value):
        return value
    _load_pil(value, name)
    mode = value.mode
    if mode == "P" and "transparency" in value.info:
        value, mode = value.convert("RGBA"), "RGBA"
    if mode == "I":
        array = np.asarray(value)
        if array.size and (array.min() < 0 or array.max() > 65535):
            raise ValueError(
                f"{name} is a 32-bit PIL image (mode 'I') with values in [{array.min()}, "
                f"{array.max()}]; give 8-bit or 16-bit levels, or floats in [0, 1]"
            )
        _note_low_pil_levels(int(array.max(initial=0)), name)
        return array.astype(np.uint16)
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


def _note_low_pil_levels(high: int, name: str) -> None:
    """Warn that a mode "I" image's largest level, ``high``, reads nearly black at 16 bits.

    ``Image.fromarray`` of int32 levels and ``image.convert("I")`` make such images of 8-bit
    levels; read as 16-bit (as a 16-bit PNG that older Pillow opens as "I") 255 is 0.004.
    As :func:`vecmatte.io.load_image` says of a file of them.
    """
    if 0 < high and high * 255 < 65535:
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
    "Operation on closed image" for one closed after loading).
    """
    try:
        image.load()
    except (AssertionError, ValueError) as error:
        if isinstance(error, ValueError) and "closed" not in str(error):
            raise
        raise ValueError(
            f"{name} is a PIL image whose file was closed before its pixels were read: use "
            "it inside its 'with Image.open(...)' block, or call its .load() there"
        ) from None


def as_array(value, name: str, *, gray: bool) -> np.ndarray:
    """``np.asarray`` of an image, a gray map or a PIL image (see :func:`_pil_pixels`).

    A ragged list of lists made NumPy say "setting an array element with a sequence ..."
    without naming the argument.
    """
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
        raise ValueError(f"{name} has signed integer dtype {array.dtype}; use unsigned or float")
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


def _check_finite_range(array: np.ndarray, name: str) -> None:
    # min and max carry any NaN or infinity through: two passes over the array instead of
    # three plus a boolean copy of it (a tenth of a millisecond on a small photograph).
    low, high = float(array.min()), float(array.max())
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ValueError(f"{name} contains NaN or infinite values")
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


def _check_pixel_count(shape: tuple[int, ...], name: str) -> None:
    pixels = int(np.prod(shape[:2], dtype=np.int64))
    if pixels == 0:
        raise ValueError(f"{name} is empty ({shape[0]} x {shape[1]} pixels)")
    if pixels > MAX_PIXELS:
        raise ValueError(
            f"{name} has {pixels} pixels ({shape[0]} x {shape[1]}), more than the limit of "
            f"{MAX_PIXELS}; downscale it first"
        )


def _pixels_in_unit_range(array: np.ndarray, name: str) -> np.ndarray:
    """``array`` (shape already checked) as C-ordered float64 in [0, 1], else a ValueError."""
    _check_pixel_count(array.shape, name)
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
    mask = np.asarray(mask)
    if mask.shape != tuple(shape):
        raise ValueError(f"{name} has shape {mask.shape} but image has shape {tuple(shape)}")
    return mask.astype(bool, copy=False)


def _is_bool(value) -> bool:
    return isinstance(value, (bool, np.bool_))


def is_real_number(value) -> bool:
    """A real number that is not a boolean (Python reads ``True`` as 1)."""
    return isinstance(value, numbers.Real) and not _is_bool(value)


def refuse_bool(value, name: str, wanted: str = "a number") -> None:
    """Refuse ``True``/``False`` where a number is wanted (Python reads them as 1 and 0).

    ``radius=True`` would otherwise run with radius 1: a typo (or a flag-style
    ``--option radius=True``) should be named, not silently read as a number.
    """
    if _is_bool(value):
        raise ValueError(f"{name} must be {wanted}, not {value!r}")


def check_option_names(owner: str, valid: list[str], options: dict) -> None:
    """Refuse (TypeError) option names not in ``valid``, listing those that are.

    ``owner`` names what takes the options (``"alpha method 'knn'"``, ``"preconditioner
    'ichol'"``), so the solve, the memory estimate and the preconditioner parser say one sentence.
    """
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise TypeError(
            f"{owner} has no option {', '.join(map(repr, unknown))}; "
            f"its options are {', '.join(map(repr, valid)) or 'none'}"
        )


def check_no_bool_numbers(function, options: dict) -> None:
    """Refuse a boolean given for a numeric keyword option of ``function``.

    An option whose default is a bool, or whose annotation mentions ``bool``, takes
    ``True``/``False``; any other option (a number, a tuple of numbers, a name) does not.

    Parameters
    ----------
    function : callable
        Whose keyword parameters the options are (a method's ``build_system`` or
        ``estimate``, a preconditioner's ``build``).
    options : dict
        The options given; names that ``function`` does not take are skipped (their check
        is elsewhere).

    Raises
    ------
    ValueError
        One line naming the first option given a boolean where a number is wanted.
    """
    import inspect

    parameters = inspect.signature(function).parameters
    for name, value in options.items():
        parameter = parameters.get(name)
        if parameter is None or not _is_bool(value) or _is_bool(parameter.default):
            continue
        if "bool" in str(parameter.annotation):
            continue
        default = parameter.default
        like = "a number or None" if default is None else f"a value like its default {default!r}"
        raise ValueError(f"{name} takes {like}, not {value!r} (True and False are not numbers)")


def real_number(value, name: str, wanted: str):
    """``value`` if it is a real number (a 0-d array's number), else a one-line ValueError.

    ``float()`` alone read the text ``"1e-5"`` as a number and refused ``"abc"`` or
    ``[1]`` with "could not convert string to float" or "float() argument must be ...",
    which do not say which option was wrong. ``wanted`` says what ``name`` takes.
    """
    refuse_bool(value, name, wanted)
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if not is_real_number(value):
        raise ValueError(f"{name} must be {wanted}, got {shown(value)}")
    return value


def _is_finite(number) -> bool:
    """Neither NaN nor infinite; an integer beyond floats is finite (``math.isfinite`` and
    ``np.isfinite`` raise OverflowError or TypeError for it)."""
    return number == number and abs(number) != float("inf")


def shape_for_any_window(options: dict) -> tuple[int, int, int]:
    """An image shape that no window radius among a method's ``options`` is too large for.

    The command line and a batch check a method's options before any image is read, with
    this shape: only the ranges that do not depend on the image can fail (a window too large
    for the real image is refused once it is read).
    """
    side = 1 << 15
    for name, value in options.items():
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value.item()
        # NaN and infinities are left to the range checks, which refuse them as such; a
        # finite radius however large widens the shape (a Python int does not overflow), so
        # only the real image can find its window too large, and says so naming it.
        if "radius" in name and is_real_number(value) and _is_finite(value):
            side = max(side, 2 * int(abs(value)) + 3)
    return side, side, 3


def check_radius_fits(radius: int, name: str, shape: tuple[int, ...], given) -> int:
    """``radius`` (checked whole), refused at or beyond the image's larger side.

    Every offset beyond the image clamps to its border: a larger radius adds nothing but time
    and memory (1e300 overflowed rw's memory estimate, 100000 asked sm for 596 GiB of offset
    tables). ``given`` is the value as the user wrote it, for the message.
    """
    if radius >= max(shape[:2]):
        raise ValueError(
            f"{name} must be smaller than the image ({shape[0]} x {shape[1]} pixels), got {given!r}"
        )
    return radius


def shown(value) -> str:
    """``repr(value)``, cut short: ``10**400`` or a long text would fill the error line."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:24]}... ({len(text)} characters)"


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
        raise ValueError(f"shape must be {form}, got {shape!r}")
    wanted = (
        "a positive whole number of pixels" if minimum else "non-negative, a whole number of pixels"
    )
    return tuple(
        whole_number(size, f"shape's {what}", wanted, minimum=minimum)
        for size, what in zip(sizes[:2], ("height", "width"), strict=True)
    )


def positive_whole_number(value, name: str, wanted: str = "a positive whole number") -> int:
    """``value`` as an int of at least 1 (``3`` or ``3.0``), else one ValueError naming it.

    ``float()`` alone let ``"3"`` reach ``<`` (TypeError), ``None`` raise "float() argument
    must be ...", and ``10**400`` OverflowError. ``wanted`` says what ``name`` takes.
    """
    return whole_number(value, name, wanted, minimum=1)


def whole_number(value, name: str, wanted: str, *, minimum: int = 0) -> int:
    """``value`` as an int of at least ``minimum`` (``3`` or ``3.0``), else one ValueError.

    The message is ``"<name> must be <wanted>, got <value>"``, for a string, None, a list, a
    boolean, NaN, an infinity, a fraction or a number below ``minimum`` alike.
    """
    number = real_number(value, name, wanted)
    whole = isinstance(number, numbers.Integral) or (
        _is_finite(number) and float(number).is_integer()
    )
    if not whole or number < minimum:
        raise ValueError(f"{name} must be {wanted}, got {shown(value)}")
    return int(number)


def finite_number(
    value,
    name: str,
    wanted: str,
    *,
    minimum: float = -float("inf"),
    maximum: float = float("inf"),
    above_minimum: bool = False,
) -> float:
    """``value`` as a finite float in ``[minimum, maximum]``, else one ValueError naming it.

    ``above_minimum`` excludes ``minimum`` itself (``lam > 0``). The message is ``"<name>
    must be <wanted>, got <value>"``, for a string (``float()`` alone read ``"100"`` as a
    number and said "could not convert string to float" of ``"x"``, not naming the option),
    None, a list, a boolean, NaN, an infinity, an integer beyond floats or a number out of
    range alike. NumPy scalars and 0-d arrays are numbers.
    """
    number = real_number(value, name, wanted)
    try:
        number = float(number)
    except OverflowError:  # an integer beyond floats: as unusable as infinity
        number = float("inf")
    low_ok = number > minimum if above_minimum else number >= minimum
    if not (np.isfinite(number) and low_ok and number <= maximum):
        raise ValueError(f"{name} must be {wanted}, got {shown(value)}")
    return number


#: Range of ``lam``, the weight pulling known pixels to their trimap value (soft constraints,
#: information flow). Measured on make_scene((60, 80)): learning-based soft constraints broke
#: CG down from 1e-10 down (the pull vanishes under the solver's rtol) and overflowed a float32
#: cast from 1e50; knn, rw and ifm overflowed a dot product at 1e200-1e300. By 1e6 the mattes
#: stopped changing: a larger weight pins the known pixels no further.
SMALLEST_LAM, LARGEST_LAM = 1e-6, 1e10


def check_lam(lam) -> float:
    """``lam`` as a float in [:data:`SMALLEST_LAM`, :data:`LARGEST_LAM`], else one ValueError."""
    lam = finite_number(lam, "lam", "a positive finite number", minimum=0, above_minimum=True)
    if not SMALLEST_LAM <= lam <= LARGEST_LAM:
        raise ValueError(
            f"lam must be from {SMALLEST_LAM:g} to {LARGEST_LAM:g}: weaker pulls vanish under "
            f"the solver's tolerance, stronger ones pin the known pixels no further and "
            f"overflow, got {lam!r}"
        )
    return lam


def check_band(band) -> int:
    """``band`` (the unknown pixels on each side of a mask's edge) as an int of at least 1."""
    return positive_whole_number(band, "band", "a positive whole number of pixels")


#: Smallest ``eps`` of each windowed colour model (the Laplacian names of check_radius_eps).
#: Below it ``eps`` falls under the rounding error of the window colour statistics, which
#: are exact zeros in flat regions only up to float64 rounding (about 1e-16 of their sums):
#: measured on make_scene((60, 80)), closed-form broke down below 1e-16 (NaN, CG at
#: iteration 0), learning-based raised a singular 4 x 4 solve at 1e-15 and was off by 0.03
#: at 1e-12, large-kernel (box sums of 441 pixels) broke CG down at 1e-10 and 1e-11. The
#: bounds keep a margin of 10 to 10000 over the last value that gave the default's matte.
SMALLEST_EPS = {"closed-form": 1e-12, "learning-based": 1e-10, "large-kernel": 1e-8}
#: Largest ``eps``: a window's colour covariance is at most 0.75 (colours in [0, 1]); by
#: 1e4 to 1e6 every matte measured stopped changing (the colour-blind one), and 1e300
#: overflowed the large-kernel inverse.
LARGEST_EPS = 1e6


def check_radius_eps(
    radius, eps, shape: tuple[int, ...], *, model: str = "closed-form"
) -> tuple[int, float]:
    """``radius`` and ``eps`` of a windowed colour model checked; ``model`` picks eps's floor.

    ``model`` is a key of :data:`SMALLEST_EPS`. One ``ValueError`` line names the value, the
    range and the reason.
    """
    radius = real_number(radius, "radius", "a positive integer")
    eps = real_number(eps, "eps", "a positive finite number")
    finite = _is_finite(radius)
    if not finite or radius < 1 or not (radius > MAX_PIXELS or float(radius).is_integer()):
        raise ValueError(f"radius must be a positive integer, got {radius!r}")
    if radius > MAX_PIXELS:
        # No image is that wide; and the window message would print a number of 300 digits.
        try:
            shown = f"{float(radius):.3g}"
        except OverflowError:
            shown = "an integer of over 300 digits"
        raise ValueError(f"radius must be smaller than the image, got {shown}")
    radius = int(radius)
    try:
        eps = float(eps)
    except OverflowError:  # an integer beyond floats: as unusable as infinity
        eps = float("inf")
    if not np.isfinite(eps) or eps <= 0:
        raise ValueError(f"eps must be a positive finite number, got {eps!r}")
    smallest = SMALLEST_EPS[model]
    if eps < smallest:
        raise ValueError(
            f"eps must be at least {smallest:g} for the {model} Laplacian: smaller values fall "
            f"below the rounding error of the window colour statistics, got {eps!r}"
        )
    if eps > LARGEST_EPS:
        raise ValueError(
            f"eps must be at most {LARGEST_EPS:g}: larger values swamp every window's colour "
            f"covariance (at most 0.75) and the matte no longer changes, got {eps!r}"
        )
    size = 2 * radius + 1
    if shape[0] < size or shape[1] < size:
        largest = (min(shape[0], shape[1]) - 1) // 2
        # A 1 or 2 pixel wide image has no radius that fits: only a larger image helps.
        fix = f"use radius <= {largest} or a larger image" if largest >= 1 else "use a larger image"
        raise ValueError(
            f"image of {shape[0]} x {shape[1]} pixels (height x width) is smaller than one "
            f"{size} x {size} window (radius={radius}); {fix} (at least {size} x {size} pixels)"
        )
    return radius, eps


def check_solver_options(rtol, maxiter) -> tuple[float, int | None]:
    """Return ``(rtol, maxiter)`` checked: ``0 < rtol < 1``, ``maxiter`` None or an integer >= 1.

    An ``rtol`` of 1 or more stops conjugate gradient before its first iteration (the matte
    of the unknown pixels is then all zeros), and ``maxiter`` below 1 never iterates.
    """
    value = real_number(rtol, "rtol", "a number in (0, 1)")
    if not (0.0 < value < 1.0):  # compared before float(): a huge integer does not fit one
        raise ValueError(
            f"rtol must lie in (0, 1), got {rtol!r}; 1e-6 or less is accurate (the defaults "
            "are 1e-6, and 1e-7 with the direct preconditioner), 1e-3 is a rough matte"
        )
    return check_rtol_floor(float(value)), check_maxiter(maxiter)


#: Smallest rtol: a float64 solve gets no closer than its rounding (about 1e-16 of the
#: right-hand side); only conjugate gradient's updated residual goes lower, and rtol=1e-300
#: ran it to its iteration limit (knn: residual 7e8) or into overflow (lkm).
SMALLEST_RTOL = 1e-15


def check_rtol_floor(rtol: float) -> float:
    """``rtol`` (already in (0, 1)) refused below :data:`SMALLEST_RTOL`."""
    if rtol < SMALLEST_RTOL:
        raise ValueError(
            f"rtol must be at least {SMALLEST_RTOL:g}: a float64 solve gets no closer than its "
            f"rounding (about 1e-16), got {rtol!r}"
        )
    return rtol


def check_maxiter(maxiter) -> int | None:
    """``maxiter`` as None (the solver's default) or an int of at least 1, else a ValueError.

    None is not "no limit": conjugate gradient then stops after 10 times the number of
    equations (:func:`vecmatte.linalg.cg.conjugate_gradient`).
    """
    if maxiter is None:
        return None
    if isinstance(maxiter, np.ndarray) and maxiter.ndim == 0:
        maxiter = maxiter.item()
    if is_real_number(maxiter) and _is_integer(maxiter) and int(maxiter) >= 1:
        return int(maxiter)
    raise ValueError(
        "maxiter must be an integer of at least 1 (or None: 10 times the number of "
        f"equations), got {shown(maxiter)}"
    )


def _is_integer(value) -> bool:
    if isinstance(value, numbers.Integral):  # float() of one beyond 1e308 overflows
        return True
    try:
        return float(value).is_integer()
    except (TypeError, ValueError, OverflowError):
        return False
