"""Foreground (and background) colours behind an alpha matte.

Alpha alone does not give a usable cutout: in a semi-transparent pixel the photograph's colour
``I = alpha F + (1 - alpha) B`` still contains the old background ``B``. These functions solve
for ``F`` and ``B`` given ``I`` and ``alpha``, by one of the methods of
:data:`FOREGROUND_METHODS` (one module each in this package).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vecmatte._arrays import check_gray, check_image, check_same_size
from vecmatte._numbers import finite_number, number_entries, positive_whole_number, shown
from vecmatte._typing import ImageLike
from vecmatte._validation import check_solver_options

__all__ = [
    "DEFAULT_METHOD",
    "FOREGROUND_METHODS",
    "ForegroundMethod",
    "estimate_foreground",
    "estimate_foreground_background",
    "foreground_memory_bytes",
]


@dataclass(frozen=True)
class ForegroundMethod:
    """A foreground method: the module that defines ``estimate`` and ``memory_bytes``.

    Parameters
    ----------
    module : str
        Dotted name of the module, imported on first use.
    summary : str
        One line on the method, for help texts.
    """

    module: str
    summary: str


FOREGROUND_METHODS = {
    "ml": ForegroundMethod(
        "vecmatte.foreground.ml", "fast multi-level estimation (Germer et al. 2020)"
    ),
    "cf": ForegroundMethod(
        "vecmatte.foreground.cf", "closed-form least squares (Levin et al. 2008)"
    ),
    "blur_fusion": ForegroundMethod(
        "vecmatte.foreground.blur_fusion", "two box-filter passes (Forte and Pitie 2021)"
    ),
}
DEFAULT_METHOD = "ml"

# Germer et al.'s smoothness weights epsilon = 5e-3, omega = 0.1 (PyMatting defaults to 1e-5
# and 1): on the alphamatting.com images these give a 5x lower re-composite error and, on
# composites with known colours, a 25% lower foreground error (bench/foreground.py).
_ML_WEIGHTS = {"regularization": 5e-3, "gradient_weight": 0.1}

Progress = Callable[[int, int], None]


def _check_inputs(image, alpha) -> tuple[np.ndarray, np.ndarray]:
    image = check_image(image)
    alpha = check_gray(alpha, "alpha")
    check_same_size(image, alpha, "alpha")
    return image, alpha


def _check_method(method: str) -> str:
    # isinstance first: a list is unhashable, and "in" a dict raised "unhashable type".
    if not isinstance(method, str) or method not in FOREGROUND_METHODS:
        raise ValueError(
            f"unknown foreground method {shown(method)}; choose one of "
            + ", ".join(FOREGROUND_METHODS)
        )
    return method


#: Range of the "ml" smoothness weights. The data term of each pixel weighs
#: alpha^2 + (1 - alpha)^2 >= 0.5, so a regularization under 1e-16 is lost in its rounding
#: (1e-50 divided by zero); above 1e3 every weight gave the same flat foreground on
#: make_scene((60, 80)) and GT04, and 1e20 overflowed.
SMALLEST_REGULARIZATION, LARGEST_ML_WEIGHT = 1e-10, 1e6


def check_ml_weights(regularization: float, gradient_weight: float) -> dict[str, float]:
    """The "ml" smoothness weights as floats, checked (also used by the PyMatting shim)."""
    # finite_number names the option for a string or None too (np.isfinite raised a
    # TypeError about ufuncs for them).
    regularization = finite_number(
        regularization, "regularization", "a positive number", minimum=0.0, above_minimum=True
    )
    gradient_weight = finite_number(gradient_weight, "gradient_weight", "non-negative", minimum=0.0)
    if not SMALLEST_REGULARIZATION <= regularization <= LARGEST_ML_WEIGHT:
        raise ValueError(
            f"regularization must be from {SMALLEST_REGULARIZATION:g} to "
            f"{LARGEST_ML_WEIGHT:g}: smaller values vanish under the rounding of the data term "
            f"and divide by zero, larger ones give the same flat foreground and overflow, "
            f"got {regularization!r}"
        )
    if gradient_weight > LARGEST_ML_WEIGHT:
        raise ValueError(
            f"gradient_weight must be at most {LARGEST_ML_WEIGHT:g}: larger weights give the "
            f"same flat foreground and overflow, got {gradient_weight!r}"
        )
    return {"regularization": regularization, "gradient_weight": gradient_weight}


def _module(method: str):
    return importlib.import_module(FOREGROUND_METHODS[method].module)


#: Widest box of "blur_fusion" on an image whose larger side is under half of it. SciPy's box
#: filter reads each line with its mirrored extension (period 2 (side - 1)) as wide as the
#: box, in time and a buffer growing with the width (2**40 raised MemoryError), and a wider
#: box gives a result of its own (not that of a narrower one), so it is refused, not clamped.
LARGEST_BLUR_SIZE = 1 << 16


def _check_blur_sizes(blur_sizes, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The box widths as ints, each from 1 to the larger of :data:`LARGEST_BLUR_SIZE` and
    twice the image's larger side (beyond which every box already spans the whole mirrored
    image at every pixel).

    One width or a sequence of them (list, tuple, range, 1-d array), whole numbers of any
    kind (``90``, ``90.0``, ``np.int64(90)``, a 0-d array); not a set (it has no order for
    the passes), not ``True`` (Python's 1).
    """
    wanted = "a sequence of positive whole numbers (box widths in pixels)"
    refused = ValueError(
        f"blur_sizes must be {wanted}, got {shown(blur_sizes)}; the default is (90, 6)"
    )
    try:
        sizes = tuple(
            positive_whole_number(size, "blur_sizes", wanted)
            for size in number_entries(blur_sizes, "blur_sizes", wanted)
        )
    except ValueError:  # said with the default
        raise refused from None
    if not sizes:
        raise refused
    largest = max(LARGEST_BLUR_SIZE, 2 * max(shape[:2]))
    if max(sizes) > largest:
        raise ValueError(
            f"blur_sizes must be at most {largest} (the larger of {LARGEST_BLUR_SIZE} and twice "
            f"the image's larger side: a wider box spans the whole mirrored image more than "
            f"once and costs time and memory in proportion to its width), got {shown(max(sizes))}"
        )
    return sizes


def _estimate(
    image,
    alpha,
    *,
    method,
    regularization,
    gradient_weight,
    rtol,
    maxiter,
    blur_sizes,
    background,
    progress,
):
    """Validate the inputs and run the chosen method.

    Both public functions call it directly, so the convergence warning's stack level (caller,
    public function, here, ``cf.estimate``, its warning helper) is the same for both.
    """
    image, alpha = _check_inputs(image, alpha)
    method = _check_method(method)
    if progress is not None and not callable(progress):
        raise TypeError(
            f"progress must be a function progress(done, total) or None, got {shown(progress)}"
        )
    if method == "ml":
        return _module("ml").estimate(
            image,
            alpha,
            **check_ml_weights(regularization, gradient_weight),
            background=background,
            progress=progress,
        )
    if method == "blur_fusion":
        return _module("blur_fusion").estimate(
            image,
            alpha,
            blur_sizes=_check_blur_sizes(blur_sizes, image.shape),
            background=background,
            progress=progress,
        )
    # rtol is relative to the starting guess's residual: 1 or more returns that guess. The
    # alpha solves' check, so that both say the same words.
    rtol, maxiter = check_solver_options(rtol, maxiter)
    # Start conjugate gradient from the multi-level estimate: it is close to the closed-form
    # solution and cheap, and cuts the iterations by about 4x on the alphamatting images.
    initial = _module("ml").estimate(image, alpha, **_ML_WEIGHTS)
    return _module("cf").estimate(
        image,
        alpha,
        rtol=rtol,
        maxiter=maxiter,
        initial=initial,
        background=background,
        progress=progress,
    )


def foreground_memory_bytes(
    shape: tuple[int, int], method: str = DEFAULT_METHOD, *, background: bool = False
) -> int:
    """Peak memory of a foreground estimate, in bytes beyond its inputs (an over-estimate).

    Parameters
    ----------
    shape : tuple of int
        ``(h, w)`` of the image.
    method : str, optional
        A name of :data:`FOREGROUND_METHODS`.
    background : bool, optional
        True for :func:`estimate_foreground_background` (the background is kept too), False
        for :func:`estimate_foreground`.

    Returns
    -------
    int
        Bytes, including the float64 result(s); measured with ``bench/foreground.py
        --memory`` against the peak resident memory of a child process.

    Raises
    ------
    ValueError
        If ``method`` is unknown, ``shape`` is not ``(h, w)`` or ``(h, w, 3)`` of whole
        numbers of pixels (at most :data:`vecmatte._arrays.MAX_PIXELS`), or ``background``
        is not a boolean.

    Examples
    --------
    >>> from vecmatte.foreground import foreground_memory_bytes
    >>> foreground_memory_bytes((2660, 4000)) < 10**9
    True
    """
    from vecmatte._arrays import estimate_sizes
    from vecmatte._numbers import is_bool

    method = _check_method(method)
    # As estimate_solve_memory reads a shape: the models took a negative, fractional or
    # infinite size (OverflowError, or a number of bytes for -5 pixels).
    shape = estimate_sizes(shape, fix="no foreground estimate takes an image that large")
    if not is_bool(background):
        raise ValueError(f"background must be True or False, got {shown(background)}")
    if method == "cf":
        extra = _module("ml").memory_bytes(shape, background=True)
        return max(extra, _module("cf").memory_bytes(shape, background=background))
    return _module(method).memory_bytes(shape, background=background)


def estimate_foreground_background(
    image: ImageLike,
    alpha: ImageLike,
    *,
    method: str = DEFAULT_METHOD,
    regularization: float = 5e-3,
    gradient_weight: float = 0.1,
    rtol: float = 1e-6,
    maxiter: int | None = None,
    blur_sizes: tuple[int, ...] = (90, 6),
    progress: Progress | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Estimate the foreground and background colours of an image given its alpha matte.

    Parameters
    ----------
    image : array_like, shape (h, w, 3)
        The photograph, floats in [0, 1] or uint8/uint16.
    alpha : array_like, shape (h, w)
        Its alpha matte in [0, 1].
    method : {"ml", "cf", "blur_fusion"}, optional
        ``"ml"`` (default): fast multi-level estimation (Germer et al. 2020). ``"cf"``: the
        closed-form reconstruction of Levin et al. (2008), a sparse least-squares system solved
        by conjugate gradient. ``"blur_fusion"``: two box-filter passes (Forte and Pitie
        2021). See Notes for how they compare.
    regularization, gradient_weight : float, optional
        ``"ml"`` only: smoothness weight between neighbours is
        ``regularization + gradient_weight * |alpha_i - alpha_j|`` (Germer et al.'s
        :math:`\\epsilon = 5 \\cdot 10^{-3}` and :math:`\\omega = 0.1` by default; PyMatting's
        defaults are ``1e-5`` and ``1``). regularization from 1e-10 to 1e6, gradient_weight
        from 0 to 1e6.
    rtol, maxiter : optional
        ``"cf"`` only: conjugate gradient tolerance in [1e-15, 1) and iteration limit (None or at
        least 1). The tolerance is relative to the residual of the starting guess (the
        ``"ml"`` estimate), not to the right-hand side, which the pinned pixels dominate.
    blur_sizes : tuple of int, optional
        ``"blur_fusion"`` only: the box filter's width in pixels for each pass (the authors'
        90 then 6), each at most 65536 or twice the image's larger side if that is more.
    progress : callable, optional
        ``progress(done, total)``, called as the work advances (after each strip of rows of
        ``"ml"``'s big levels, each pass of ``"blur_fusion"``, each iteration of
        ``"cf"``'s solves), for a caller that shows progress; the library prints nothing.
        ``done`` never decreases; ``"cf"`` repeats it while a channel is solved, so that a
        caller that stops the work by raising from ``progress`` is heard within a step.

    Returns
    -------
    foreground, background : ndarray, shape (h, w, 3)
        Float64 colours in [0, 1]; ``alpha F + (1 - alpha) B`` reproduces the image up to the
        smoothness trade-off. Where alpha is 0 the foreground is a smooth extrapolation
        (``"ml"``), the nearby foreground's mean colour (``"blur_fusion"``) or, away from the
        soft edge, black (``"cf"``); likewise the background where alpha is 1.

    Raises
    ------
    ValueError
        If the image or alpha is malformed, their sizes differ, ``method`` is unknown or an
        option is out of range.
    TypeError
        If ``progress`` is not callable.

    Warns
    -----
    ConvergenceWarning
        ``"cf"`` only, if conjugate gradient stops at ``maxiter`` above ``rtol``.

    Notes
    -----
    ``"ml"`` and ``"cf"`` minimise, per colour channel,

    .. math:: \\sum_i (\\alpha_i F_i + (1 - \\alpha_i) B_i - I_i)^2
              + \\sum_{i \\sim j} w_{ij} \\left((F_i - F_j)^2 + (B_i - B_j)^2\\right)

    with neighbour weights :math:`w_{ij}` growing with :math:`|\\alpha_i - \\alpha_j|`
    (Levin, Lischinski and Weiss, "A Closed-Form Solution to Natural Image Matting", IEEE
    TPAMI 30(2), 2008, eq. 19).

    ``"ml"`` (Germer, Uelwer, Conrad and Harmeling, "Fast Multi-Level Foreground Estimation",
    ICPR 2020) solves the 4-neighbour version coarse to fine: at each of about
    :math:`\\log_2 \\max(h, w)` levels the image and alpha are resampled, and every pixel's
    2x2 system is relaxed given its neighbours' current F and B, in red-black order on packed
    half-size float32 arrays, in strips of rows (:mod:`vecmatte.foreground.ml`).

    ``"cf"`` follows the authors' reference code ``solveFB.m``: 8-neighbour smoothness with
    weights :math:`\\sqrt{|\\Delta\\alpha|} + 0.003`, and weak priors pinning F to I where alpha
    is near 1 and B to I where it is near 0, solved by conjugate gradient with a Jacobi
    preconditioner from the ``"ml"`` estimate (:mod:`vecmatte.foreground.cf`).

    ``"blur_fusion"`` (Forte and Pitie, "Approximate Fast Foreground Colour Estimation", ICIP
    2021) takes local means of the foreground and background colours with box filters and
    gives the compositing residual back to the foreground in proportion to alpha
    (:mod:`vecmatte.foreground.blur_fusion`).

    Which to use, measured with ``bench/foreground.py`` on the 20 alphamatting.com images
    (their ground-truth alpha as input; ``bench/results/foreground.md``): on semi-synthetic
    composites with known colours, the mean foreground error where :math:`0.1 < \\alpha < 1`
    is 0.029 for ``"ml"``, 0.020 for ``"cf"`` and 0.058 for ``"blur_fusion"`` (the photograph
    itself 0.109; PyMatting's ml 0.039, cf 0.018), in 0.04, 0.38 and 0.07 CPU seconds per
    image. ``"ml"`` is the default: blur-fusion is slower at this size and twice as far from
    the true colours, ``"cf"`` is the most accurate in wide soft regions at nine times the
    time. On a 10 MP photograph with a mask's 10-pixel unknown band ``"ml"`` takes 0.8 CPU s
    (0.75x the alpha solve) within the solve's peak memory; blur-fusion 1.8 s.
    Where the alpha is exactly 0 or 1 far from the soft edge, ``"ml"`` fills instead of relaxing
    (see :mod:`vecmatte.foreground.ml`).

    Examples
    --------
    >>> from vecmatte import estimate_foreground_background, make_scene
    >>> scene = make_scene((60, 80), seed=0)
    >>> foreground, background = estimate_foreground_background(scene.image, scene.alpha)
    >>> foreground.shape, background.shape
    ((60, 80, 3), (60, 80, 3))
    """
    return _estimate(
        image,
        alpha,
        method=method,
        regularization=regularization,
        gradient_weight=gradient_weight,
        rtol=rtol,
        maxiter=maxiter,
        blur_sizes=blur_sizes,
        background=True,
        progress=progress,
    )


def estimate_foreground(
    image: ImageLike,
    alpha: ImageLike,
    *,
    method: str = DEFAULT_METHOD,
    regularization: float = 5e-3,
    gradient_weight: float = 0.1,
    rtol: float = 1e-6,
    maxiter: int | None = None,
    blur_sizes: tuple[int, ...] = (90, 6),
    progress: Progress | None = None,
) -> np.ndarray:
    """Estimate the foreground colours of an image given its alpha matte.

    Same as :func:`estimate_foreground_background` (see it for the parameters, the methods
    and the default), returning the foreground only (and never holding a whole background in
    memory: :func:`foreground_memory_bytes` with ``background=False``).

    Parameters
    ----------
    image, alpha, method, regularization, gradient_weight, rtol, maxiter, blur_sizes, progress
        As in :func:`estimate_foreground_background`.

    Returns
    -------
    ndarray, shape (h, w, 3)
        Float64 foreground colours in [0, 1].

    Examples
    --------
    >>> from vecmatte import estimate_foreground, make_scene
    >>> scene = make_scene((60, 80), seed=0)
    >>> estimate_foreground(scene.image, scene.alpha, method="blur_fusion").shape
    (60, 80, 3)
    """
    return _estimate(
        image,
        alpha,
        method=method,
        regularization=regularization,
        gradient_weight=gradient_weight,
        rtol=rtol,
        maxiter=maxiter,
        blur_sizes=blur_sizes,
        background=False,
        progress=progress,
    )[0]
