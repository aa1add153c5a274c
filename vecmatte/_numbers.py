"""Numbers given as options: checked for type and range with one-line messages naming them.

``float()`` and ``int()`` alone accept text and booleans and refuse other values with
messages that do not say which option was wrong; these helpers do.
"""

from __future__ import annotations

import math
import numbers

import numpy as np


def literal_or_text(text: str):
    """An option's value given as text: the Python literal it spells, else the text itself.

    ``1e-6``, ``10, 5`` (a tuple), ``None`` and ``'word'`` are literals; a bare word stays
    text (``none`` is a preconditioner's name, not Python's None), so does what cannot be a
    literal, and the option's own check then names it: ``{[1]: 2}`` (unhashable: a
    TypeError) or a number behind 100 000 minus signs (deeper than the parser goes: a
    MemoryError) ended ``vecmatte alpha --option`` with a traceback or "MemoryError".
    """
    import ast

    try:
        return ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return text


def is_bool(value) -> bool:
    """``True`` or ``False``, as Python or NumPy booleans."""
    return isinstance(value, (bool, np.bool_))


def is_real_number(value) -> bool:
    """A real number that is not a boolean (Python reads ``True`` as 1)."""
    return isinstance(value, numbers.Real) and not is_bool(value)


def refuse_bool(value, name: str, wanted: str = "a number") -> None:
    """Refuse ``True``/``False`` where a number is wanted (Python reads them as 1 and 0).

    ``radius=True`` would otherwise run with radius 1: a typo (or a flag-style
    ``--option radius=True``) should be named, not silently read as a number.
    """
    if is_bool(value):
        raise ValueError(f"{name} must be {wanted}, not {value!r}")


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


def is_finite(number) -> bool:
    """Neither NaN nor infinite; an integer beyond floats is finite (``math.isfinite`` and
    ``np.isfinite`` raise OverflowError or TypeError for it)."""
    return number == number and abs(number) != float("inf")


def shown(value) -> str:
    """``repr(value)``, cut short: ``10**400`` or a long text would fill the error line.

    An integer of more than 4300 digits is said by its size: Python refuses to write it out
    (``repr`` raises ValueError "Exceeds the limit ... for integer string conversion").
    """
    try:
        text = repr(value)
    except ValueError as error:
        if isinstance(value, numbers.Integral):
            digits = round(int(value).bit_length() * math.log10(2))
            return f"{'a negative' if value < 0 else 'an'} integer of about {digits} digits"
        if "integer string conversion" in str(error):  # a tuple or list holding one
            return f"a {type(value).__name__} holding an integer of over 4300 digits"
        raise
    return text if len(text) <= 60 else f"{text[:24]}... ({len(text)} characters)"


def number_entries(value, name: str, wanted: str) -> list:
    """One number or a sequence of them (list, tuple, range, 1-d array) as a list, for an
    option given once per pass; the entries' own checks come after (a boolean is kept for
    them to refuse). A text, a set (no order), a 2-d array or a generator is refused:
    ``"<name> must be <wanted>, got <value>"``.
    """
    if isinstance(value, np.ndarray) and value.ndim <= 1:
        return list(value.reshape(-1))
    if isinstance(value, (list, tuple, range)):
        return list(value)
    if is_real_number(value) or is_bool(value):
        return [value]
    raise ValueError(f"{name} must be {wanted}, got {shown(value)}")


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
        is_finite(number) and float(number).is_integer()
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


def is_integer(value) -> bool:
    if isinstance(value, numbers.Integral):  # float() of one beyond 1e308 overflows
        return True
    try:
        return float(value).is_integer()
    except (TypeError, ValueError, OverflowError):
        return False


def snapped(number: float, given, *bounds: float) -> float:
    """``number``, or the one of ``bounds`` it equals in the precision of ``given``.

    ``given`` is the value as the user gave it. A range is stated in decimal, and
    ``np.float32(1e-6)`` is 9.99999997e-07: compared with 1e-6 it fell below the very bound
    the message told the user to give. A NumPy float narrower than float64 (a scalar or an
    array) that rounds from a bound therefore reads as the bound itself, so that range
    checks compare in decimal and a later check of the float64 value passes too; a value one
    step of its precision beyond a bound stays beyond it.
    """
    dtype = getattr(given, "dtype", None)
    if dtype is not None and dtype.kind == "f" and dtype.itemsize < 8:
        for bound in bounds:
            # A bound beyond the precision's range (1e6 in float16) rounds to infinity: no
            # finite value equals it, and NumPy's overflow warning would reach the user.
            with np.errstate(over="ignore"):
                rounded = float(np.asarray(bound, dtype=dtype))
            if number == rounded and rounded != float("inf"):
                return bound
    return number
