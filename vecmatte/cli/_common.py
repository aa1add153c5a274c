"""What the subcommands share: exit codes, the options of the solve, memory checks.

Reading and writing (standard streams, the output guard): :mod:`vecmatte.cli._outputs`.
Progress and messages: :mod:`vecmatte.cli._messages`.
"""

from __future__ import annotations

import argparse
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vecmatte.cli._messages import Reporter

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def check_step_memory(shape, what: str, needed: int, reporter: Reporter, *, hint: str = "") -> None:
    """Report the memory of a step after the solve and refuse, before any work, if it is short.

    ``needed`` is the step's peak in bytes beyond the image and alpha (an over-estimate).
    """
    from vecmatte.memory import InsufficientMemoryError, available_memory, size_text

    reporter.stage(f"{what} needs about {size_text(needed)} of memory (estimate)")
    available = available_memory()
    if available is not None and needed > available:
        h, w = shape[:2]
        raise InsufficientMemoryError(
            f"{what} of an image of {h} x {w} pixels (height x width) needs about "
            f"{size_text(needed)} of memory but only {size_text(available)} is "
            f"available; {hint}downscale the image, or free memory"
        )


def foreground_memory(shape, method: str, outputs: int) -> tuple[int, str]:
    """Bytes of the foreground step and a hint naming a method that needs less (or "").

    The step is estimating the foreground with ``method``
    (:func:`vecmatte.foreground.foreground_memory_bytes`) plus ``outputs`` bytes a pixel made
    afterwards (8-bit files, a composite).
    """
    from vecmatte.foreground import foreground_memory_bytes

    n = int(shape[0]) * int(shape[1])
    needed = foreground_memory_bytes(tuple(shape[:2]), method) + outputs * n
    lighter = min(
        ("ml", "blur_fusion"), key=lambda name: foreground_memory_bytes(tuple(shape[:2]), name)
    )
    hint = "" if lighter == method else f"use --foreground-method {lighter}, or "
    return needed, hint


# ------------------------------------------------------------------------------- options


def whole_number(text: str) -> int | None:
    """``text`` as a whole number, also written ``1e4`` or ``2.0``; None if it is none.

    ``int`` alone refused ``--maxiter 1e4`` ("invalid int value: '1e4'") and said of
    ``--max-pixels 1e9`` "must be a whole number of at least 1, got '1e9'": whole numbers
    both, as scientists write them. Read exactly (``1e22`` is 10**22, not the float's
    neighbour), and only within the floats' range (``1e999999999`` is no number to build).
    """
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return None
    if not value.is_integer():  # 2.5, nan, inf
        return None
    from fractions import Fraction

    exact = Fraction(text.strip())
    return int(exact) if exact.denominator == 1 else None


def whole_number_option(text: str) -> int:
    """An argparse ``type``: :func:`whole_number`, else a usage error (exit 2).

    Ranges are checked where the value is used (``--radius 0`` names its option there).
    """
    from vecmatte._numbers import shown

    value = whole_number(text)
    if value is None:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {shown(text)}")
    return value


def positive_int(text: str) -> int:
    """An argparse ``type``: a whole number of at least 1 (else a usage error, exit 2).

    The one reader of such options for ``vecmatte`` and ``vecmatte serve`` alike: ``int``
    takes ``1_000`` (one underscore between digits), not ``1__0`` or ``_1``; ``1e6`` is
    read as :func:`whole_number` reads it.
    """
    from vecmatte._numbers import shown

    value = whole_number(text)
    if value is None or value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {shown(text)}")
    return value


def bit_depth_option(parser: argparse.ArgumentParser, what: str) -> None:
    """``--bit-depth {8,16}`` for the alpha mattes; ``what`` ends the help's first clause."""
    parser.add_argument(
        "--bit-depth",
        type=int,
        choices=(8, 16),
        default=8,
        help=f"bits per sample of {what}: 16 keeps the solve's precision (65536 levels "
        "instead of 256)",
    )


def quiet_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print nothing but errors and warnings (no progress)",
    )


def read_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-pixels",
        type=positive_int,
        default=None,
        metavar="N",
        help="refuse image files with more than N pixels, N at least 1 (decompression-bomb "
        "protection; default Pillow's limit, about 89 million)",
    )


def foreground_method_option(parser: argparse.ArgumentParser) -> None:
    from vecmatte.foreground import DEFAULT_METHOD, FOREGROUND_METHODS

    parser.add_argument(
        "--foreground-method",
        default=None,  # None: not given (check_foreground_method refuses it where unused)
        choices=FOREGROUND_METHODS,
        help="foreground estimation: ml = fast multi-level, cf = closed-form (most "
        f"accurate, slower), blur_fusion = two box-filter passes (default {DEFAULT_METHOD})",
    )


def check_foreground_method(args, used: bool, when: str) -> None:
    """``--foreground-method`` where no foreground is estimated is refused, not ignored."""
    from vecmatte.foreground import DEFAULT_METHOD

    if args.foreground_method is not None and not used:
        args.usage_error(f"--foreground-method applies {when}; leave it out")
    if args.foreground_method is None:
        args.foreground_method = DEFAULT_METHOD


def solver_options(parser: argparse.ArgumentParser) -> None:
    """``--method``, ``--option``, ``--eps``, ``--radius``, the preconditioner and CG options.

    The choices of ``--method`` are the names of the registry (read, not imported).
    """
    from vecmatte import _defaults
    from vecmatte.alpha import METHODS
    from vecmatte.preconditioners import PRECONDITIONERS

    group = parser.add_argument_group("solver")
    group.add_argument(
        "--method",
        default=_defaults.METHOD,
        choices=list(METHODS),
        help=f"alpha matting method (default {_defaults.METHOD}): "
        + "; ".join(f"{name} = {spec.summary}" for name, spec in METHODS.items()),
    )
    group.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an option of the method, as its Python keyword (repeat for several): e.g. "
        "--option eps=1e-6; values are read as Python literals (numbers, True, 'text'), "
        "true/false in any case, nan and inf; "
        "an unknown name is refused with the list of the method's options",
    )
    group.add_argument(
        "--eps",
        type=float,
        default=None,
        help=f"closed-form regularisation, from 1e-12 to 1e6 (lbdm from 1e-10, lkm from 1e-8; "
        f"default {_defaults.EPS:g}); same as --option eps=",
    )
    group.add_argument(
        "--radius",
        type=whole_number_option,
        default=None,
        help=f"closed-form window radius, at least 1 (default {_defaults.RADIUS}); same as "
        "--option radius=",
    )
    group.add_argument(
        "--preconditioner",
        default=None,
        type=_preconditioner_name_check(PRECONDITIONERS),
        metavar="NAME[:OPTION=VALUE,...]",
        help="CG preconditioner: one of "
        + ", ".join(PRECONDITIONERS)
        + ", with options after a colon (e.g. ichol:sweeps=2) (default: the method's own, "
        "direct for cf)",
    )
    group.add_argument(
        "--rtol",
        type=float,
        default=None,
        help=f"CG relative tolerance, in [1e-15, 1) (default {_defaults.DIRECT_RTOL:g} with the "
        f"direct preconditioner, {_defaults.RTOL:g} with the others)",
    )
    group.add_argument(
        "--maxiter",
        type=whole_number_option,
        default=None,
        help="CG iteration limit, at least 1 (default 10 times the number of equations)",
    )
    quiet_option(parser)


def _preconditioner_name_check(names):
    """An argparse ``type`` that refuses an unknown name as a usage error (exit 2)."""

    def check(text: str) -> str:
        name = text.partition(":")[0].strip()
        if name not in names:
            raise argparse.ArgumentTypeError(
                f"unknown preconditioner {name!r}; choose one of {', '.join(names)}"
            )
        return text

    return check


def option_value(text: str):
    """An option's value given as text, as ``--option NAME=VALUE`` and the web form read it.

    A Python literal (``1e-6``, ``10, 5`` or ``[10, 5]`` for a sequence, ``None``,
    ``'text'``), ``true`` and ``false`` in any case, ``nan`` and ``inf`` (what ``float``
    reads); any other text stays text (``none`` is a preconditioner's name, not Python's
    None; ``ichol:sweeps=2`` a preconditioner with its options). One reader for both: the
    form took ``true`` and ``nan`` while ``--option`` kept them as text and refused them.
    What ``float`` reads includes the digits of other scripts (``٢``, ``２``) and ``1_000``
    (a Python literal too): kept on purpose, since each reads as the number it shows (a
    whole one as a float, 2.0, which the whole-number options take as 2); a text that is
    no number (``10**3``, ``−1`` with a minus sign) stays text and its option refuses it.
    """
    from vecmatte._numbers import literal_or_text

    stripped = text.strip()
    lowered = stripped.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    value = literal_or_text(stripped)
    if value != stripped:  # a literal (a text one has lost its quotes)
        return value
    try:
        # NaN and infinities go on to the method, whose check names the option and its
        # range ("lam must be a positive finite number, got nan").
        return float(lowered)
    except ValueError:
        return stripped


def _same_value(first, second) -> bool:
    """Two values of one option agree (NaN agrees with NaN: given twice, it is one value)."""
    return first is second or first == second or (first != first and second != second)


def _check_number_text(entry, name: str, text: str) -> None:
    """Refuse a value that is not a number for an option whose default is a number.

    ``--option eps=(1`` reached the method as the text ``'(1'`` and failed with "could not
    convert string to float", and ``eps=1e-6,2`` (a tuple) with "float() argument must be a
    string or a real number, not 'tuple'": neither names the option nor the fix. ``nan``
    and ``inf`` pass (the method's range check names them), and None where the annotation
    allows it.
    """
    import inspect
    import numbers

    from vecmatte._numbers import shown

    parameter = inspect.signature(entry).parameters.get(name)
    default = None if parameter is None else parameter.default
    if isinstance(default, bool) or not isinstance(default, (int, float)):
        return
    value = option_value(text)
    if isinstance(value, numbers.Real) or (value is None and "None" in str(parameter.annotation)):
        return  # booleans are refused by check_no_bool_numbers
    raise ValueError(f"{name} takes a number such as its default {default!r}, got {shown(text)}")


def method_options(args) -> dict:
    """The method's keyword options from ``--option`` (and ``--eps``, ``--radius``)."""
    from vecmatte._numbers import shown
    from vecmatte.alpha import SOLVE_KEYWORDS

    options = {}
    for item in args.option:
        name, equals, value = item.partition("=")
        if not equals or not name.strip().isidentifier():
            raise ValueError(
                f"--option {shown(item)}: write it as NAME=VALUE, e.g. --option eps=1e-6"
            )
        name, value = name.strip(), option_value(value)
        if name in SOLVE_KEYWORDS:
            # Taken as solve keywords they overrode --method ... silently (by dict order).
            raise ValueError(
                f"--option {shown(item)}: {name} is not an option of the method; use --{name}"
            )
        if name in options and not _same_value(options[name], value):
            # The last one would win silently: the user meant one of them.
            raise ValueError(
                f"--option {name} is given twice ({shown(options[name])} and {shown(value)}); "
                "keep one"
            )
        options[name] = value
    for name in ("eps", "radius"):
        value = getattr(args, name)
        if value is not None:
            if name in options and not _same_value(options[name], value):
                raise ValueError(f"--{name} {value} and --option {name}={options[name]} disagree")
            options[name] = value
    return options


@contextmanager
def typed_values(args):
    """A ``TypeError`` raised by a value the user typed becomes a one-line ``ValueError``.

    ``--option radius=[1]`` or ``--preconditioner ichol:sweeps=[1]`` reach the method's own
    checks as a list, where ``float()`` raises ``TypeError``; with no such value given, a
    ``TypeError`` is a bug and propagates with its traceback.
    """
    try:
        yield
    except TypeError as error:
        given = [f"--option {item}" for item in getattr(args, "option", [])]
        preconditioner = getattr(args, "preconditioner", None)
        if preconditioner is not None and ":" in preconditioner:
            given.append(f"--preconditioner {preconditioner}")
        if not given:
            raise
        raise ValueError(f"a value of the wrong type among {', '.join(given)}: {error}") from None


class UsageError(Exception):
    """A value typed on the command line that its option does not take: exit 2."""


@contextmanager
def usage_errors():
    """A ``ValueError`` raised by checking what was typed becomes a :class:`UsageError`.

    The command's one rule: a value an option does not take, or options that do not go
    together, is a usage error (one line, the ``--help`` to read, exit 2), as argparse says
    of ``--band 0``; ``--rtol 2`` or ``--option eps=-1`` exited 1, as a failed input does.
    What depends on the files (their contents, an image too small for a radius) stays 1.
    """
    from vecmatte._errors import error_line

    try:
        yield
    except ValueError as error:
        raise UsageError(error_line(error)) from None


def solve_keywords(args) -> dict:
    """Keyword arguments of :func:`vecmatte.solve_alpha` from the solver options, checked.

    Everything that can be checked without the image is checked here, before any file is
    read or written: the method's option names, the preconditioner and its options,
    ``rtol`` and ``maxiter``, and the ranges of the method's own options as far as they do
    not depend on the image's size (``radius=0``; a radius too large for an image is only
    known with the image). A batch thus refuses ``--radius 0`` once, not for every image.
    A refusal here is a usage error (:func:`usage_errors`: exit 2).
    """
    with usage_errors():
        return _solve_keywords(args)


def _solve_keywords(args) -> dict:
    keywords = {"method": args.method, **method_options(args)}
    if args.preconditioner is not None:
        keywords["preconditioner"] = _read_preconditioner(args.preconditioner)
    for name in ("rtol", "maxiter"):
        if getattr(args, name) is not None:
            keywords[name] = getattr(args, name)
    from vecmatte._output_guard import shortened
    from vecmatte._validation import check_no_bool_numbers
    from vecmatte.alpha import check_solve_options, get_method

    if args.preconditioner is not None and ":" in args.preconditioner:
        _check_preconditioner_options(keywords["preconditioner"], typed=args.preconditioner)

    # Each --option's value first, so that its message names the --option as typed (the
    # names are checked next: an unknown name is skipped here).
    entry = get_method(args.method).entry()
    for item in args.option:
        name, _, value = item.partition("=")
        try:
            # Python reads True as 1: --option radius=True would run with radius 1.
            check_no_bool_numbers(entry, {name.strip(): option_value(value)})
            _check_number_text(entry, name.strip(), value.strip())
        except ValueError as error:
            # As typed, or its start and length (an --option may be ~128 KB long).
            raise ValueError(f"--option {shortened(item)}: {error}") from None
    with typed_values(args):
        check_solve_options(keywords)  # names, and the ranges that need no image
    return keywords


def _read_preconditioner(text: str) -> str:
    """``--preconditioner NAME:OPTION=VALUE,...`` with each value read as ``--option`` reads it.

    The library reads the values of such a text as Python literals only, so
    ``direct:single_precision=true`` stayed the text 'true' (refused) where ``--option`` and
    the web form take ``true`` (:func:`option_value`). Each value is read here and written
    back as its literal (``True``); a text the library cannot split is kept for its message.
    """
    name, colon, rest = text.partition(":")
    items = []
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, equals, value = item.partition("=")
        if not equals:
            return text  # resolve_preconditioner says how to write it
        items.append(f"{key.strip()}={option_value(value)!r}")
    return f"{name}:{','.join(items)}" if colon else text


def _check_preconditioner_options(text: str, typed: str) -> None:
    """The options of ``--preconditioner NAME:OPTION=VALUE,...``, refused naming it as typed.

    Booleans first (Python reads True as 1), then the preconditioner's own ranges
    (``ichol:sweeps=0``); an unknown option is left to :func:`check_solve_options`. ``text``
    is :func:`_read_preconditioner`'s, ``typed`` the option as given (for the message).
    """
    from vecmatte._validation import check_no_bool_numbers
    from vecmatte.preconditioners import PRECONDITIONERS, resolve_preconditioner

    name = text.partition(":")[0].strip()
    try:
        try:
            resolved, options = resolve_preconditioner(text)
        except TypeError:
            return  # an option it does not take: check_solve_options names the valid ones
        build = PRECONDITIONERS[resolved].load()
        if build is not None:
            check_no_bool_numbers(build, options)
    except ValueError as error:
        # The range check names its preconditioner; the option as typed says it already.
        message = str(error).removeprefix(f"preconditioner {name!r}: ")
        raise ValueError(f"--preconditioner {typed}: {message}") from None


def preconditioner_label(keywords: dict) -> str:
    """The preconditioner a solve will use, for progress messages."""
    from vecmatte.alpha import get_method

    chosen = keywords.get("preconditioner")
    if chosen is not None:
        return str(chosen)
    return str(get_method(keywords["method"]).preconditioner or "none")


def refuse_dash(args, option: str, value, instead: str, kind: str = "folder") -> None:
    """A usage error (exit 2) if ``value`` of ``option`` is ``-``: ``instead`` says what the
    command reads or writes there, and ``./-`` names a ``kind`` called ``-``.

    ``-`` is standard input or output for alpha, trimap and composite; where a command takes
    only files or folders it made (or read) one named ``-`` in silence, or said "-: no such
    file".
    """
    if value == "-":
        args.usage_error(f"{option} is '-', but {instead}; for a {kind} named '-' write ./-")


def check_band(args) -> None:
    """``--band`` means nothing without ``--mask``: refuse it rather than ignore it."""
    if args.band is not None and args.mask is None:
        args.usage_error("--band applies to --mask only; give --mask MASK, or leave out --band")
    if args.mask is not None and args.band is None:
        args.band = 10


def band_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--band",
        type=positive_int,
        default=None,
        metavar="PIXELS",
        help="with --mask: unknown pixels on each side of the mask's edge, at least 1 (default 10)",
    )
