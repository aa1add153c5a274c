"""Ranges of the methods' and the solver's options, checked once for the library and the
command line, so each message is written once."""

from __future__ import annotations

import functools
import inspect

import numpy as np

from vecmatte._arrays import MAX_PIXELS
from vecmatte._numbers import (
    finite_number,
    is_bool,
    is_finite,
    is_real_number,
    positive_whole_number,
    real_number,
    shown,
    snapped,
    whole_number,
)


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


def signature_parameters(function):
    """``inspect.signature(function).parameters``, read once per function.

    Every solve asks for its method's and preconditioner's options several times (names,
    boolean checks, the memory model's keywords): reading a signature costs about 30 us, a
    tenth of a whole solve of a small image. A function that cannot be a cache key (an
    unhashable callable) is read each time.

    Parameters
    ----------
    function : callable
        A function with a signature (a method's ``build_system``, a preconditioner's
        ``build`` ...).

    Returns
    -------
    mappingproxy
        Parameter name to :class:`inspect.Parameter`, in the signature's order (read-only).
    """
    try:
        return _cached_parameters(function)
    except TypeError:  # unhashable
        return inspect.signature(function).parameters


@functools.lru_cache(maxsize=256)
def _cached_parameters(function):
    return inspect.signature(function).parameters


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
    if not options:
        return
    parameters = signature_parameters(function)
    for name, value in options.items():
        parameter = parameters.get(name)
        if parameter is None or not is_bool(value) or is_bool(parameter.default):
            continue
        if "bool" in str(parameter.annotation):
            continue
        default = parameter.default
        like = "a number or None" if default is None else f"a value like its default {default!r}"
        raise ValueError(f"{name} takes {like}, not {value!r} (True and False are not numbers)")


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
        if "radius" in name and is_real_number(value) and is_finite(value):
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
            f"{name} must be smaller than the image ({shape[0]} x {shape[1]} pixels), "
            f"got {shown(given)}"
        )
    return radius


#: Range of ``lam``, the weight pulling known pixels to their trimap value (soft constraints,
#: information flow). Measured on make_scene((60, 80)): learning-based soft constraints broke
#: CG down from 1e-10 down (the pull vanishes under the solver's rtol) and overflowed a float32
#: cast from 1e50; knn, rw and ifm overflowed a dot product at 1e200-1e300. By 1e6 the mattes
#: stopped changing: a larger weight pins the known pixels no further.
SMALLEST_LAM, LARGEST_LAM = 1e-6, 1e10


def check_lam(lam) -> float:
    """``lam`` as a float in [:data:`SMALLEST_LAM`, :data:`LARGEST_LAM`], else one ValueError."""
    given = lam
    lam = finite_number(lam, "lam", "a positive finite number", minimum=0, above_minimum=True)
    lam = snapped(lam, given, SMALLEST_LAM, LARGEST_LAM)
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
    radius,
    eps,
    shape: tuple[int, ...],
    *,
    model: str = "closed-form",
    names: tuple[str, str] = ("radius", "eps"),
) -> tuple[int, float]:
    """``radius`` and ``eps`` of a windowed colour model checked; ``model`` picks eps's floor.

    ``model`` is a key of :data:`SMALLEST_EPS`. One ``ValueError`` line names the value, the
    range and the reason; ``names`` are the options' names as the caller's user wrote them
    (information flow's ``local_radius``, ``local_eps``).
    """
    smallest = SMALLEST_EPS[model]
    if (
        type(radius) is int
        and type(eps) is float
        and 1 <= radius <= MAX_PIXELS
        and smallest <= eps <= LARGEST_EPS
        and min(shape[0], shape[1]) > 2 * radius
    ):
        # The usual case, a plain int and float in range (the checks below pass them
        # unchanged): a solve checks them up to three times, 5 us each the long way.
        return radius, eps
    radius_name, eps_name = names
    radius = real_number(radius, radius_name, "a positive integer")
    given_eps = eps
    eps = real_number(eps, eps_name, "a positive finite number")
    eps_shown = shown(eps)  # as given: 10**400 is not "inf", -1 not "-1.0"
    finite = is_finite(radius)
    if not finite or radius < 1 or not (radius > MAX_PIXELS or float(radius).is_integer()):
        raise ValueError(f"{radius_name} must be a positive integer, got {shown(radius)}")
    if radius > MAX_PIXELS:
        # No image is that wide; and the window message would print a number of 300 digits.
        try:
            size = f"{float(radius):.3g}"
        except OverflowError:
            size = "an integer of over 300 digits"
        raise ValueError(f"{radius_name} must be smaller than the image, got {size}")
    radius = int(radius)
    # After radius's range: of two bad options, one of the wrong kind is named first (above),
    # then radius's range, then eps's.
    eps = finite_number(eps, eps_name, "a positive finite number", minimum=0.0, above_minimum=True)
    eps = snapped(eps, given_eps, smallest, LARGEST_EPS)
    if eps < smallest:
        raise ValueError(
            f"{eps_name} must be at least {smallest:g} for the {model} Laplacian: smaller "
            f"values fall below the rounding error of the window colour statistics, got {eps_shown}"
        )
    if eps > LARGEST_EPS:
        raise ValueError(
            f"{eps_name} must be at most {LARGEST_EPS:g}: larger values swamp every window's "
            f"colour covariance (at most 0.75) and the matte no longer changes, got {eps_shown}"
        )
    size = 2 * radius + 1
    if shape[0] < size or shape[1] < size:
        largest = (min(shape[0], shape[1]) - 1) // 2
        # A 1 or 2 pixel wide image has no radius that fits: only a larger image helps.
        fix = (
            f"use {radius_name} <= {largest} or a larger image"
            if largest >= 1
            else "use a larger image"
        )
        raise ValueError(
            f"image of {shape[0]} x {shape[1]} pixels (height x width) is smaller than one "
            f"{size} x {size} window ({radius_name}={radius}); {fix} "
            f"(at least {size} x {size} pixels)"
        )
    return radius, eps


def check_solver_options(rtol, maxiter) -> tuple[float, int | None]:
    """Return ``(rtol, maxiter)`` checked: ``1e-15 <= rtol < 1``, ``maxiter`` None or >= 1.

    An ``rtol`` of 1 or more stops conjugate gradient before its first iteration (the matte
    of the unknown pixels is then all zeros), and ``maxiter`` below 1 never iterates.
    """
    # The range named is the one accepted (SMALLEST_RTOL is the floor), as README and --help say.
    interval = f"[{SMALLEST_RTOL:g}, 1)"
    value = real_number(rtol, "rtol", f"a number in {interval}")
    if not (0.0 < value < 1.0):  # compared before float(): a huge integer does not fit one
        raise ValueError(
            f"rtol must lie in {interval}, got {shown(value)}; 1e-6 or less is accurate, "
            "1e-3 is rough"
        )
    return check_rtol_floor(float(value), given=rtol), check_maxiter(maxiter)


#: Smallest rtol: a float64 solve gets no closer than its rounding (about 1e-16 of the
#: right-hand side); only conjugate gradient's updated residual goes lower, and rtol=1e-300
#: ran it to its iteration limit (knn: residual 7e8) or into overflow (lkm).
SMALLEST_RTOL = 1e-15


def check_rtol_floor(rtol: float, given=None) -> float:
    """``rtol`` (already in (0, 1)) refused below :data:`SMALLEST_RTOL`.

    ``given`` is the value as given (a float32 ``rtol`` is compared with the bound in float32).
    """
    rtol = snapped(rtol, given, SMALLEST_RTOL)
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
        maxiter = maxiter.item()  # refused as the number it holds: "got 4.5"
    wanted = "an integer of at least 1 (or None: 10 times the number of equations)"
    return whole_number(maxiter, "maxiter", wanted, minimum=1)
