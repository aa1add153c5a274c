"""One pipeline for every alpha method: validate, check memory, build, precondition, solve, clip."""

from __future__ import annotations

import functools
import inspect
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from vecmatte import _defaults
from vecmatte._arrays import check_image
from vecmatte._numbers import shown
from vecmatte._typing import ImageLike, PreconditionerLike
from vecmatte._validation import (
    check_no_bool_numbers,
    check_option_names,
    check_solver_options,
    shape_for_any_window,
)
from vecmatte.alpha._registry import get_method, resolve_method_preconditioner
from vecmatte.trimap import check_known_pixels, check_trimap, split_checked

__all__ = [
    "SOLVE_KEYWORDS",
    "AlphaResult",
    "NoUnknownPixelsWarning",
    "default_rtol",
    "estimate_alpha",
    "run_method",
    "solve_alpha",
]

# Stage messages (INFO): silent unless the caller configures logging (see run_method).
_log = logging.getLogger(__name__)


class NoUnknownPixelsWarning(UserWarning):
    """The trimap has no unknown pixel: alpha is 1 on its foreground, 0 on its background."""


def _check_callback(callback) -> None:
    """Refuse, before any work, a callback that conjugate gradient could not call.

    Else "'int' object is not callable", or Python's "<lambda>() takes 1 positional argument
    but 2 were given", came from inside CG after the system was built, naming no ``callback``.
    """
    if not callable(callback):
        raise TypeError(
            f"callback must be a function callback(iteration, relative_residual) or None, "
            f"got {shown(callback)}"
        )
    try:
        signature = inspect.signature(callback)
    except (TypeError, ValueError):
        return  # some builtins have no signature to read: their call will tell
    try:
        signature.bind(1, 0.5)
    except TypeError:
        name = getattr(callback, "__qualname__", None) or shown(callback)
        raise TypeError(
            "callback must take two arguments, callback(iteration, relative_residual); "
            f"{name} takes {signature}"
        ) from None


@functools.lru_cache(maxsize=64)
def _takes(function, names: frozenset) -> bool:
    """Whether ``function`` (a method's ``solve_small``) takes each of ``names`` by keyword."""
    try:
        inspect.signature(function).bind_partial(**dict.fromkeys(names))
    except TypeError:
        return False
    return True


@dataclass(frozen=True)
class AlphaResult:
    """Alpha matte with the solver's diagnostics, as returned by :func:`solve_alpha`.

    Attributes
    ----------
    alpha : ndarray, shape (h, w), float64
    iterations : int
        Conjugate gradient iterations (0 when nothing was unknown, or for methods that are
        not a linear system; 1 for a small closed-form system solved by its exact band
        factor, :func:`vecmatte.alpha.cf.solve_small`).
    residual : float
        Final relative residual of the system.
    converged : bool
    n_unknown : int
    """

    alpha: np.ndarray
    iterations: int
    residual: float
    converged: bool
    n_unknown: int


def default_rtol(preconditioner: str | None) -> float:
    """The ``rtol`` of a solve that gives none, for the preconditioner's name.

    ``"direct"`` factors the system, so its iterations are cheap (two triangular solves and a
    product each) and one more buys about three digits of alpha: its default is
    :data:`vecmatte._defaults.DIRECT_RTOL` (1e-7). The iterative preconditioners keep
    :data:`vecmatte._defaults.RTOL` (1e-6).
    """
    return _defaults.DIRECT_RTOL if preconditioner == "direct" else _defaults.RTOL


# Keywords of solve_alpha that are not the method's own options.
SOLVE_KEYWORDS = ("method", "preconditioner", "rtol", "maxiter")


def check_solve_options(keywords: dict) -> None:
    """Check the keywords of a solve as far as possible without an image, before any work.

    The CLI and batches call it before reading a file, so that a typo fails at once rather
    than after the first image (or on every image of a batch).

    Parameters
    ----------
    keywords : dict
        Keywords of :func:`solve_alpha`: ``method``, ``preconditioner``, ``rtol``,
        ``maxiter`` and the method's own options, whose names are checked here, and their
        ranges as far as they do not depend on the image's size (``radius=0``; a window
        too large for the image is refused once the image is known).

    Raises
    ------
    ValueError
        For an unknown method, option or preconditioner (option), or an ``rtol``,
        ``maxiter`` or method option out of range.
    """

    method = keywords.get("method") or _defaults.METHOD
    spec = get_method(method)
    options = {k: v for k, v in keywords.items() if k not in SOLVE_KEYWORDS}
    try:
        check_option_names(f"alpha method {method!r}", spec.option_names(), options)
    except TypeError as error:  # solve_alpha's TypeError; a user's typo here
        raise ValueError(str(error)) from None
    # Python reads True as 1: lam=True would run as lam 1.0.
    check_no_bool_numbers(spec.entry(), options)
    try:
        name = resolve_method_preconditioner(method, keywords.get("preconditioner"))[0]
    except TypeError as error:  # an option the preconditioner does not take
        raise ValueError(str(error)) from None
    rtol = keywords.get("rtol")
    # The rtol the solve will use: the user's, or the default of the chosen preconditioner.
    check_solver_options(default_rtol(name) if rtol is None else rtol, keywords.get("maxiter"))
    check = getattr(spec.load(), "check_options", None)
    if check is not None:
        # An image large enough for any window: only the image-free ranges can fail.
        check(shape_for_any_window(options), **options)


def run_method(
    image,
    trimap,
    *,
    method: str = _defaults.METHOD,
    preconditioner: PreconditionerLike = None,
    rtol: float | None = None,
    maxiter: int | None = None,
    callback: Callable[[int, float], None] | None = None,
    options: dict | None = None,
    warn: bool = True,
    stacklevel: int = 2,
    checked: bool = False,
) -> AlphaResult:
    """The pipeline behind :func:`estimate_alpha` and :func:`solve_alpha`.

    Parameters are theirs, with the method's options as one dict, plus ``warn=False`` for
    callers that report non-convergence themselves (the PyMatting shim raises; a warnings
    filter would be process-wide and not thread-safe), and ``stacklevel``: the frame the
    warnings point at, as ``warnings.warn`` counts from here (2: the caller of this function).
    Each stage (build, preconditioner, conjugate gradient) is logged at INFO as it starts.

    Parameters
    ----------
    image, trimap, method, preconditioner, rtol, maxiter, callback
        As in :func:`estimate_alpha`.
    options : dict, optional
        The method's options (``**options`` of :func:`estimate_alpha`).
    warn : bool, optional
        Warn if conjugate gradient does not converge (default True).
    stacklevel : int, optional
        The frame the warnings point at, counted from here (default 2).
    checked : bool, optional
        For callers that checked ``image`` and ``trimap`` themselves (the PyMatting shim):
        they must be what :func:`vecmatte._arrays.check_image` and
        :func:`vecmatte.trimap.check_trimap` return, a float64 ``(h, w, 3)`` image in [0, 1]
        and a float64 ``(h, w)`` trimap. Their values are not checked again (default False:
        they are); an array of another kind, dtype or shape is refused in one line.

    Returns
    -------
    AlphaResult
        As :func:`solve_alpha` returns it.
    """
    from vecmatte._blas import single_threaded_blas
    from vecmatte._memory_models import checked_solve_bytes
    from vecmatte.linalg.cg import conjugate_gradient, warn_not_converged
    from vecmatte.memory import refuse_if_short
    from vecmatte.preconditioners import (
        PRECONDITIONERS,
        build_preconditioner,
    )

    if callback is not None:
        _check_callback(callback)
    options = dict(options or {})
    spec = get_method(method)
    check_option_names(f"alpha method {method!r}", spec.option_names(), options)
    check_no_bool_numbers(spec.entry(), options)
    module = spec.load()
    builds_system = hasattr(module, "build_system")
    if not checked:
        image = check_image(image)
        trimap = check_trimap(trimap, image.shape)
    elif not (
        isinstance(image, np.ndarray)
        and isinstance(trimap, np.ndarray)
        and image.dtype == trimap.dtype == np.float64
        and image.shape[2:] == (3,)
        and trimap.shape == image.shape[:2]
    ):
        # A uint8 image would be solved as if in [0, 255], a uint8 trimap read as all known.
        raise ValueError(
            "run_method(checked=True) takes a float64 (h, w, 3) image and a float64 (h, w) "
            "trimap as check_image and check_trimap return them; give checked=False"
        )
    check_options = getattr(module, "check_options", None)
    if check_options is not None:
        # Range checks first, so that a bad option is named before any trimap complaint.
        options = check_options(image.shape, **options)
    name, preconditioner_options = resolve_method_preconditioner(method, preconditioner)
    # Checked as resolved: the default depends on the preconditioner chosen above.
    rtol, maxiter = check_solver_options(default_rtol(name) if rtol is None else rtol, maxiter)
    is_fg, is_bg, unknown = split_checked(trimap)
    if not (is_fg.any() and is_bg.any()):
        # Only on the failure path, so the message (and its class-labels hint) lives in one place.
        check_known_pixels(trimap)
    alpha = is_fg.astype(np.float64)
    if not unknown.any():
        # Both classes are there (checked above) and nothing gray: most often a mask given
        # as the trimap, whose "matte" would be the mask again; say how to make a trimap.
        warnings.warn(
            "trimap has no unknown pixels; the alpha matte is 1 on its foreground and 0 on its "
            "background, with nothing solved; is it a mask? make a trimap with "
            "vecmatte.trimap_from_mask(mask, band=10) (vecmatte alpha --mask mask.png --band 10)",
            NoUnknownPixelsWarning,
            stacklevel=stacklevel,
        )
        return AlphaResult(alpha, 0, 0.0, True, 0)
    n_unknown = int(unknown.sum())
    # Refuse in a second, with the estimate, rather than be killed after minutes of swapping.
    # estimate_solve_memory's model without its checks: the options are checked above.
    needed = checked_solve_bytes(
        image.shape[:2], n_unknown, spec, name, preconditioner_options, options
    )
    refuse_if_short(needed, image.shape, n_unknown, method=method, preconditioner=name, **options)
    small = getattr(module, "solve_small", None)
    if small is not None and name == "direct" and (maxiter is None or maxiter >= 3):
        # A small system (cf) solved whole by a band Cholesky factor: conjugate gradient
        # preconditioned by the exact factor, which converges in one iteration (None: the
        # system is too large for it). A maxiter below the 'direct' preconditioner's two or
        # three iterations asks for conjugate gradient stopped short: left to it.
        # An option solve_small does not take (one added to build_system alone) leaves the
        # system to build_system, which honours it: passed, it raised TypeError here.
        solved = (
            small(image, is_fg, is_bg, rtol=rtol, **options)
            if _takes(small, frozenset(options))
            else None
        )
        if solved is not None:
            _log.info("%s: solved %d unknown pixels by a band Cholesky factor", method, n_unknown)
            if callback is not None:
                callback(1, solved[1])
            alpha[unknown] = np.clip(solved[0], 0.0, 1.0)
            return AlphaResult(alpha, 1, solved[1], True, n_unknown)
    h, w = is_fg.shape
    if not builds_system:
        _log.info(
            "%s: estimating alpha of %d unknown pixels (%d x %d image, height x width)",
            method,
            n_unknown,
            h,
            w,
        )
        estimated = np.asarray(module.estimate(image, is_fg, is_bg, **options), dtype=np.float64)
        alpha[unknown] = estimated[unknown]
        np.clip(alpha, 0.0, 1.0, out=alpha)
        return AlphaResult(alpha, 0, 0.0, True, n_unknown)
    _log.info(
        "%s: building the system of %d unknown pixels (%d x %d image, height x width)",
        method,
        n_unknown,
        h,
        w,
    )
    system = module.build_system(image, is_fg, is_bg, **options)
    m = system.rhs.shape[0]
    if "stencil" not in PRECONDITIONERS[name].needs and system.stencil is not None:
        # Release the per-offset arrays before the preconditioner allocates its own.
        system = replace(system, stencil=None)

    def solve(operator):
        return conjugate_gradient(
            system.matrix,
            system.rhs,
            preconditioner=operator,
            x0=system.x0,
            rtol=rtol,
            maxiter=maxiter,
            callback=callback,
        )

    # Factorisation and CG make many small BLAS calls; see vecmatte._blas for why one thread.
    with single_threaded_blas():
        _log.info("preconditioner %s for %d equations", name, m)
        operator = build_preconditioner(system, name, preconditioner_options)
        _log.info("conjugate gradient on %d equations (rtol %g)", m, rtol)
        result = solve(operator)
        if (
            result.breakdown
            and name == "direct"
            and preconditioner_options.get("single_precision", True)
        ):
            # The float32 factor holds no eigenvalue below about 1e-7 of the largest; cf at a
            # tiny eps with one known pixel of each kind, or lbdm on a few flat colours, have
            # some (down to 1e-15), which float64 holds: conjugate gradient then converges in
            # one or two iterations where it broke down.
            _log.info("conjugate gradient broke down with the float32 factor; factoring in float64")
            del operator  # the float32 factor, before the room left is read
            from vecmatte.alpha._float64_retry import check_float64_factor_fits

            check_float64_factor_fits(preconditioner_options, system)
            double = {**preconditioner_options, "single_precision": False}
            result = solve(build_preconditioner(system, name, double))
    if warn and not result.converged:
        warn_not_converged(
            result,
            rtol,
            stacklevel=stacklevel + 1,
            what=f"alpha matte of method {method!r} (preconditioner {name!r})",
            advice=_convergence_advice(
                method, name, result, rtol, 10 * m if maxiter is None else maxiter
            ),
        )
    elif warn and method in _FLAT_WINDOWS_UNBOUNDED and name != "direct":
        _warn_flat_windows(method, name, image, unknown, options, rtol, stacklevel + 1)
    # Known pixels already hold their trimap value (0 or 1): only the solution is clipped.
    solved = system.unknown
    alpha.ravel()[solved] = np.clip(result.x, 0.0, 1.0)
    if unknown.ravel()[solved].all():
        return AlphaResult(alpha, result.iterations, result.residual, result.converged, n_unknown)
    # Soft-constraint systems solve the known pixels too: keep them at their trimap value.
    known = ~unknown
    alpha[known] = is_fg[known]
    return AlphaResult(alpha, result.iterations, result.residual, result.converged, n_unknown)


# Methods whose systems are nearly singular on windows of one flat colour (LBDM: such a
# window's block is of the order of eps). Not closed-form: a flat window couples its pixels
# most strongly there.
_FLAT_WINDOWS_UNBOUNDED = ("lbdm",)
# Share of the unknown pixels in flat windows from which an iterative solve is warned about:
# none of 80 alphamatting.com cases (20 photographs x 2 trimaps, full and half size) has
# more than one such pixel (7e-6); thresholded or posterised synthetic scenes have 9-35%.
_FLAT_WINDOW_SHARE = 0.01


def _warn_flat_windows(method, name, image, unknown, options, rtol, stacklevel) -> None:
    """Warn that an iterative solve 'converged' where its residual bounds no error."""
    from vecmatte.linalg.cg import ConvergenceWarning
    from vecmatte.systems import flat_window_fraction

    share = flat_window_fraction(image, unknown, options.get("radius", 1))
    if share < _FLAT_WINDOW_SHARE:
        return
    warnings.warn(
        f"{share:.0%} of the unknown pixels lie in windows of one flat colour, where the "
        f"system of method {method!r} is nearly singular: the residual {rtol:g} reached with "
        f"the preconditioner {name!r} says nothing of the error there (mattes up to 1 away "
        "from the system's solution on such images); use the preconditioner 'direct' "
        f"(the default of {method!r})",
        ConvergenceWarning,
        stacklevel=stacklevel,
    )


def _convergence_advice(method: str, name: str, result, rtol: float, maxiter: int) -> str:
    """The ways out of a solve that stopped short, for its method and preconditioner."""
    from vecmatte.preconditioners import PRECONDITIONERS

    spec = get_method(method)
    if result.breakdown:
        if name == "vcycle":
            # Damped Jacobi sweeps that do not converge on some level make the V-cycle
            # indefinite (omega near 1 on random walks' graphs).
            return (
                "Use a smaller omega for the V-cycle (vcycle:omega=0.6; the default is 0.8), or "
                "the preconditioner 'jacobi' (positive definite on any such system)."
            )
        if PRECONDITIONERS[name].module is None or name == "jacobi":
            # Neither can make a positive definite system indefinite: the system is.
            return (
                f"The system of method {method!r} is not positive definite with these options: "
                "try other values (the defaults give a positive definite one)."
            )
        return "Use the preconditioner 'jacobi' (positive definite on any such system)."
    works = [other for other in ("direct", "ichol") if other != name and spec.takes(other)]
    ways = [f"Raise maxiter above {maxiter}"]
    if "direct" in works:
        ways.append(
            "leave the preconditioner at the method's default 'direct' (two or three iterations)"
            if spec.preconditioner == "direct"
            else "use the preconditioner 'direct' (a complete factor: a few iterations, more "
            "memory)"
        )
    elif "ichol" in works and name in ("jacobi", "none"):
        ways.append("use the preconditioner 'ichol' (fewer iterations)")
    if rtol < default_rtol(name):
        ways.append(f"ask for a larger rtol than {rtol:g} (the default is {default_rtol(name):g})")
    return ", or ".join(ways) + "."


def solve_alpha(
    image: ImageLike,
    trimap: ImageLike,
    *,
    method: str = _defaults.METHOD,
    preconditioner: PreconditionerLike = None,
    rtol: float | None = None,
    maxiter: int | None = None,
    callback: Callable[[int, float], None] | None = None,
    **options: Any,
) -> AlphaResult:
    """Same as :func:`estimate_alpha`, returning the solver's diagnostics as well.

    Parameters
    ----------
    image, trimap, method, preconditioner, rtol, maxiter, callback, **options
        As in :func:`estimate_alpha`.

    Returns
    -------
    AlphaResult
        ``alpha`` with ``iterations``, ``residual``, ``converged`` and ``n_unknown``.
    """
    return run_method(
        image,
        trimap,
        method=method,
        preconditioner=preconditioner,
        rtol=rtol,
        maxiter=maxiter,
        callback=callback,
        options=options,
        stacklevel=3,
    )


def estimate_alpha(
    image: ImageLike,
    trimap: ImageLike,
    *,
    method: str = _defaults.METHOD,
    preconditioner: PreconditionerLike = None,
    rtol: float | None = None,
    maxiter: int | None = None,
    callback: Callable[[int, float], None] | None = None,
    **options: Any,
) -> np.ndarray:
    """Estimate the alpha matte of an image from a trimap.

    Parameters
    ----------
    image : array_like, shape (h, w, 3) or (h, w)
        RGB (or gray) image: floats in [0, 1], bool, or uint8/uint16 (scaled by their
        range; signed integers, uint32 and uint64 are refused), or a PIL image (palette,
        YCbCr, CMYK ... are converted to RGB). RGBA, as an array or a PIL image, is
        refused: drop the alpha channel. Any memory layout; a masked array with masked
        values is refused (fill it first: ``image.filled(value)``), one without is read as
        its data. The caller's arrays are never modified.
    trimap : array_like, shape (h, w)
        Values > 0.9 are foreground, < 0.1 background, anything else unknown (after scaling
        uint8/uint16 to [0, 1]); ``(h, w, 1)`` and gray RGB(A) trimaps and PIL images too.
    method : str, optional
        Alpha method, a key of :data:`vecmatte.alpha.METHODS` (``"cf"``: closed-form
        matting, the default).
    preconditioner : None, str or (str, dict), optional
        Preconditioner of conjugate gradient, a key of
        :data:`vecmatte.preconditioners.PRECONDITIONERS` (``"direct"``, ``"ichol"``,
        ``"jacobi"``, ``"twolevel"``, ``"vcycle"``, ``"none"``), optionally with options as
        ``("ichol", {"sweeps": 5})`` or ``"ichol:sweeps=5"``. ``None`` (default) takes the
        method's own: ``"direct"`` for closed-form, which factors the system completely so
        that conjugate gradient only polishes the solution (two or three iterations; a
        small system is solved whole by its band factor); ``"twolevel"`` for
        information-flow; ``"ichol"`` and ``"jacobi"`` use less memory and more iterations.
    rtol : float, optional
        Relative residual at which conjugate gradient stops, in [1e-15, 1). ``None`` (default):
        1e-7 with the ``"direct"`` preconditioner (two or three iterations; alpha then
        within about 1e-3 of the exact solution), 1e-6 with the others.
    maxiter : int, optional
        Iteration limit of conjugate gradient (at least 1). ``None`` (default): 10 times the
        number of equations.
    callback : callable, optional
        ``callback(iteration, relative_residual)`` after each iteration.
    **options
        The method's options. Closed-form: ``eps`` (regularisation of the colour
        covariances, default 1e-7; larger gives smoother mattes) and ``radius`` (window
        radius, default 1). The other methods' options, with their defaults and ranges,
        are the keyword arguments of ``vecmatte.alpha.<method>.build_system`` (``estimate``
        for ``"sm"``), e.g. ``help(vecmatte.alpha.ifm.build_system)``.

    Returns
    -------
    ndarray, shape (h, w)
        Alpha in [0, 1], float64, C-ordered, a new array, for every method; known pixels
        are 1 (trimap > 0.9) or 0 (trimap < 0.1), whatever their value in the trimap.

    Raises
    ------
    ValueError
        If the image or trimap is malformed, their sizes differ, the trimap has no
        foreground or no background, or a method or solver option is out of range.
    TypeError
        If an option is not one of the method's (the message lists them).
    vecmatte.memory.InsufficientMemoryError
        If the solve's estimated memory exceeds the memory available (a ``MemoryError``
        raised before anything large is allocated): free memory, a cgroup's limit or the
        process's own (``ulimit -v``), see :func:`vecmatte.memory.available_memory`. Also
        when conjugate gradient broke down with the float32 ``"direct"`` factor and the
        float64 one, made to retry, would not fit.

    Warns
    -----
    ConvergenceWarning
        If conjugate gradient stops at ``maxiter`` above ``rtol``, or breaks down: it names
        the method and preconditioner, the residual reached and what to change. The matte
        is still returned (from the last iterate, clipped). Also when an iterative
        preconditioner reaches ``rtol`` on an LBDM system whose unknown pixels lie in windows
        of one flat colour (1% of them or more), where the residual bounds no error.
    NoUnknownPixelsWarning
        If the trimap has no unknown pixel: the matte is then 1 on its foreground and 0 on
        its background, nothing solved (most often a mask given as the trimap).
    SlowSolveWarning
        If a closed-form ``radius`` would make the solve take minutes (before the work).

    All three are importable from ``vecmatte``, and point at the caller's line.

    Notes
    -----
    Closed-form matting minimises :math:`\\alpha^T L \\alpha` with the known pixels fixed
    (hard constraints): with :math:`u` the unknown and :math:`k` the known pixels,
    :math:`L_{uu} \\alpha_u = -L_{uk} \\alpha_k`, solved by preconditioned conjugate
    gradient. :math:`L` is the matting Laplacian (:func:`vecmatte.matting_laplacian`) of
    Levin, Lischinski and Weiss, "A Closed-Form Solution to Natural Image Matting", IEEE
    TPAMI 30(2), 2008.

    Each long step of a solve (a method's neighbour searches, a factorisation, conjugate
    gradient) is logged as it starts, with its size, at level INFO on the loggers under
    ``"vecmatte"``; nothing is printed unless the program configures logging, e.g.
    ``logging.basicConfig(level=logging.INFO)``.

    Examples
    --------
    >>> from vecmatte import estimate_alpha, make_scene
    >>> scene = make_scene((60, 80), seed=0)
    >>> alpha = estimate_alpha(scene.image, scene.trimap)
    >>> alpha.shape
    (60, 80)
    """
    return run_method(
        image,
        trimap,
        method=method,
        preconditioner=preconditioner,
        rtol=rtol,
        maxiter=maxiter,
        callback=callback,
        options=options,
        stacklevel=3,
    ).alpha
