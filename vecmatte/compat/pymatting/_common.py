"""Shared by the shim's modules: PyMatting's option dictionaries onto vecmatte's keywords."""

from __future__ import annotations

from types import MappingProxyType

from vecmatte._numbers import real_number, whole_number

# An empty, read-only mapping: equal to PyMatting's ``{}`` defaults (so the signatures compare
# equal) without a mutable default argument.
NO_OPTIONS = MappingProxyType({})

# PyMatting's conjugate gradient defaults (pymatting.solver.cg).
CG_RTOL = 1e-7
CG_MAXITER = 10000

_CG_KEYS = ("rtol", "atol", "maxiter", "reorthogonalize")


class PyMattingAssertionError(AssertionError, ValueError):
    """Raised where PyMatting uses ``assert`` on its inputs.

    An ``AssertionError`` as in PyMatting (so ``except AssertionError`` still works), and a
    ``ValueError`` as vecmatte raises for bad values; unlike an ``assert``, not skipped by
    ``python -O``.
    """


class PyMattingTypeError(TypeError, ValueError):
    """Raised where PyMatting fails with ``TypeError`` on a value of the wrong kind (a
    fractional ``maxiter``, ``rtol=None``): both that and vecmatte's ``ValueError``."""


class PyMattingOSError(OSError, ValueError):
    """Raised where PyMatting's file writing fails with Pillow's ``OSError`` (an RGBA image
    saved as JPEG): both that (code around a save often catches ``OSError``) and vecmatte's
    ``ValueError``."""


class PyMattingKeyError(KeyError, ValueError):
    """Raised where PyMatting fails with ``KeyError`` on an unknown name (a resampling
    filter): both that and vecmatte's ``ValueError``."""

    __str__ = ValueError.__str__  # the message as it is (KeyError would show its repr)


def rgb_image(image):
    """:func:`vecmatte._arrays.check_image`, with PyMatting's AssertionError for a colour
    image of other than 3 channels (vecmatte's message names the fix)."""
    import numpy as np

    from vecmatte._arrays import check_image

    try:
        return check_image(image)
    except ValueError as error:
        if np.ndim(image) == 3 and np.shape(image)[2] != 3:
            raise PyMattingAssertionError(str(error)) from None
        raise


def zero_padded(image):
    """An ``(h, w, 1)`` or ``(h, w, 2)`` image with zero channels added up to three; any other
    image as it is.

    For the Laplacians PyMatting computes over the image's ``d`` channels (random walk, large
    kernel): added zero channels change no colour distance, mean or covariance term, so the
    result is PyMatting's for ``d`` channels. vecmatte's checks would repeat a single channel
    three times instead, which triples the distances (and divides ``epsilon`` by three).
    """
    import numpy as np

    shape = np.shape(image)
    if len(shape) != 3 or shape[2] not in (1, 2):
        return image
    image = np.asarray(image)
    return np.concatenate([image, np.zeros((*shape[:2], 3 - shape[2]), image.dtype)], axis=2)


def more_than_three(image) -> bool:
    """Whether ``image`` is ``(h, w, d)`` with ``d > 3`` channels (an RGBA array ...)."""
    import numpy as np

    shape = np.shape(image)
    return len(shape) == 3 and shape[2] > 3


def channels_image(image):
    """An ``(h, w, d)`` image of any ``d`` as float64, each channel checked (dtype, range,
    finite values) as vecmatte checks a gray image, for the computations PyMatting runs over
    all ``d`` channels."""
    import numpy as np

    from vecmatte._arrays import check_gray

    array = np.asarray(image)
    return np.stack([check_gray(array[:, :, c], "image") for c in range(array.shape[2])], axis=2)


def check_radius(radius, name: str = "radius") -> None:
    """PyMatting's TypeError (from NumPy or numba) for a radius that is not a whole number,
    as :class:`PyMattingTypeError`; its range is vecmatte's to check."""
    try:
        whole_number(radius, name, "a whole number", minimum=-(2**63))
    except ValueError as error:
        raise PyMattingTypeError(str(error)) from None


def check_keys(options, allowed, name: str, hint: str = "") -> dict:
    options = {} if options is None else dict(options)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise TypeError(
            f"{name} has unsupported key(s) {', '.join(map(repr, unknown))}; vecmatte's PyMatting "
            f"compatibility accepts {', '.join(map(repr, allowed)) or 'no keys'}{hint}"
        )
    return options


def cg_options(cg_kwargs, name: str, *, rtol: float, maxiter: int | None) -> dict:
    """Map PyMatting's ``cg`` keywords onto vecmatte's ``rtol`` and ``maxiter``.

    vecmatte stops on the relative residual ``||r|| <= rtol ||b||`` only. PyMatting stops on
    ``||r|| < atol`` *or* the relative test, so a result meeting ``rtol`` is one PyMatting
    would also accept: ``atol`` is allowed but only ``rtol`` decides.
    """
    options = check_keys(
        cg_kwargs,
        _CG_KEYS,
        name,
        "; x0, M and callback (PyMatting calls it with A, x, b, ...) have no vecmatte equivalent",
    )
    try:  # PyMatting's TypeError for text or None, as in cg
        rtol = option_number(options.get("rtol", rtol), f"{name}['rtol']")
        atol = option_number(options.get("atol", 0.0), f"{name}['atol']")
    except ValueError as error:
        raise PyMattingTypeError(str(error)) from None
    if not rtol > 0:
        raise ValueError(
            f"{name}['rtol'] is {rtol!r}; vecmatte stops on the relative residual only "
            f"(atol={atol!r} is not used), so rtol must be positive"
        )
    if options.get("reorthogonalize", False):
        raise TypeError(f"{name}['reorthogonalize']=True is not supported by vecmatte's solver")
    maxiter = options.get("maxiter", maxiter)
    if maxiter is not None:  # its range (at least 1) is the solve's to check
        try:
            maxiter = whole_number(
                maxiter, f"{name}['maxiter']", "a whole number", minimum=-(2**63)
            )
        except ValueError as error:
            raise PyMattingTypeError(str(error)) from None
    return {"rtol": rtol, "maxiter": maxiter}


def option_number(value, name: str) -> float:
    """A real number as a float; one ValueError naming ``name`` for text or None (``float()``
    said "could not convert string to float" without saying whose)."""
    return float(real_number(value, name, "a number"))


def preconditioner_name(preconditioner) -> str:
    """PyMatting passes a factory ``A -> M``; vecmatte looks preconditioners up by name."""
    from vecmatte import _defaults
    from vecmatte.preconditioners import PRECONDITIONERS

    if preconditioner is None:  # "the default": vecmatte's, as PyMatting's None means its own
        return _defaults.PRECONDITIONER
    name = (
        preconditioner
        if isinstance(preconditioner, str)
        else getattr(preconditioner, "__name__", None)
    )
    if name in PRECONDITIONERS:
        return name
    raise TypeError(
        f"preconditioner {preconditioner!r} is not supported; pass None (vecmatte's default), "
        "PyMatting's ichol or jacobi, or one of the names "
        f"{sorted(PRECONDITIONERS)}"
    )


def require_default(name: str, value, default, what: str) -> None:
    if value != default:
        raise ValueError(f"{name}={value!r} is not supported by {what}; leave it at {default!r}")
