"""PyMatting 1.1.16's most used functions, with its names and conventions, running on vecmatte.

Every function here has the name, the positional order, the defaults and the return values of
the PyMatting function it stands for, and raises the same exception types where callers rely
on them (``ValueError`` for a trimap without foreground or background, and when conjugate
gradient does not converge). Images are float arrays in [0, 1] and trimaps floats in [0, 1]
as in PyMatting; unlike PyMatting, uint8/uint16 images, trimaps and alphas are accepted and
scaled to [0, 1], and ``(h, w, 1)`` alphas and trimaps are squeezed.

Options that PyMatting passes through dictionaries (``laplacian_kwargs``, ``cg_kwargs``) are
mapped onto vecmatte's keywords; keys vecmatte has no equivalent for raise ``TypeError``
naming the key and the accepted ones, instead of being silently ignored.

To run an application that imports ``pymatting`` (such as rembg) on these functions without
editing it, see :func:`vecmatte.compat.install_pymatting`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from vecmatte._validation import as_float, check_gray, check_image, check_same_size
from vecmatte.trimap import check_trimap

__all__ = [
    "blend",
    "cutout",
    "estimate_alpha",
    "estimate_alpha_cf",
    "estimate_foreground",
    "estimate_foreground_cf",
    "estimate_foreground_ml",
    "load_image",
    "save_image",
    "stack_images",
    "trimap_split",
]

PYMATTING_VERSION = "1.1.16"

# PyMatting's conjugate gradient defaults (pymatting.solver.cg), which estimate_alpha_cf uses.
_CG_RTOL = 1e-7
_CG_MAXITER = 10000

_LAPLACIAN_KEYS = {"epsilon": "eps", "radius": "radius"}
_CG_KEYS = ("rtol", "atol", "maxiter", "reorthogonalize")
_PIL_FILTERS = ("bicubic", "bilinear", "box", "hamming", "lanczos", "nearest", "none")
_DEFAULT_NEIGHBORS = [(-1, 0), (1, 0), (0, -1), (0, 1)]


# --------------------------------------------------------------------------------------------
# option mapping


def _check_keys(options, allowed, name: str, hint: str = "") -> dict:
    options = {} if options is None else dict(options)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise TypeError(
            f"{name} has unsupported key(s) {', '.join(map(repr, unknown))}; vecmatte's PyMatting "
            f"compatibility accepts {', '.join(map(repr, allowed)) or 'no keys'}{hint}"
        )
    return options


def _cg_options(cg_kwargs, name: str, *, rtol: float, maxiter: int | None) -> dict:
    """Map PyMatting's ``cg`` keywords onto vecmatte's ``rtol`` and ``maxiter``.

    vecmatte stops on the relative residual ``||r|| <= rtol ||b||`` only. PyMatting stops on
    ``||r|| < atol`` *or* the relative test, so a result meeting ``rtol`` is one PyMatting
    would also accept: ``atol`` is allowed but only ``rtol`` decides.
    """
    options = _check_keys(
        cg_kwargs,
        _CG_KEYS,
        name,
        "; x0, M and callback (PyMatting calls it with A, x, b, ...) have no vecmatte equivalent",
    )
    rtol = float(options.get("rtol", rtol))
    atol = float(options.get("atol", 0.0))
    if not rtol > 0:
        raise ValueError(
            f"{name}['rtol'] is {rtol!r}; vecmatte stops on the relative residual only "
            f"(atol={atol!r} is not used), so rtol must be positive"
        )
    if options.get("reorthogonalize", False):
        raise TypeError(f"{name}['reorthogonalize']=True is not supported by vecmatte's solver")
    maxiter = options.get("maxiter", maxiter)
    return {"rtol": rtol, "maxiter": None if maxiter is None else int(maxiter)}


def _preconditioner_name(preconditioner) -> str:
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


def _require_default(name: str, value, default, what: str) -> None:
    if value != default:
        raise ValueError(f"{name}={value!r} is not supported by {what}; leave it at {default!r}")


def _solve_quietly(image, trimap, **options):
    """vecmatte's solve without its ConvergenceWarning: the caller raises instead."""
    from vecmatte.alpha import run_method

    solver = {
        key: options.pop(key) for key in ("preconditioner", "rtol", "maxiter") if key in options
    }
    return run_method(image, trimap, method="cf", options=options, warn=False, **solver)


# --------------------------------------------------------------------------------------------
# alpha


def estimate_alpha_cf(
    image: ArrayLike,
    trimap: ArrayLike,
    preconditioner: Callable | str | None = None,
    laplacian_kwargs: Mapping[str, Any] | None = None,
    cg_kwargs: Mapping[str, Any] | None = None,
) -> np.ndarray:
    """Closed-form alpha matting with PyMatting's signature (``pymatting.estimate_alpha_cf``).

    Parameters
    ----------
    image : array_like, shape (h, w, 3)
        Floats in [0, 1] (uint8/uint16 are scaled).
    trimap : array_like, shape (h, w) or (h, w, 1)
        Floats in [0, 1]: ``>= 0.9`` foreground, ``<= 0.1`` background, else unknown.
    preconditioner : None, str or callable, optional
        None (vecmatte's default preconditioner, as PyMatting's None means its default),
        PyMatting's ``ichol`` or ``jacobi`` functions (recognised by name), or a vecmatte
        preconditioner name.
    laplacian_kwargs : dict, optional
        ``epsilon`` and ``radius`` (vecmatte's ``eps`` and ``radius``).
    cg_kwargs : dict, optional
        ``rtol`` (default 1e-7), ``maxiter`` (default 10000) and ``atol`` (accepted; vecmatte
        stops when ``rtol`` is met, which PyMatting also accepts as convergence).

    Returns
    -------
    ndarray, shape (h, w)
        Float64 alpha in [0, 1]; known pixels keep their trimap value, as in PyMatting.

    Raises
    ------
    ValueError
        If the trimap has no background or no foreground pixels, if conjugate gradient does
        not converge within ``maxiter`` iterations (as PyMatting), or if the inputs are malformed.
    TypeError
        If ``laplacian_kwargs`` or ``cg_kwargs`` has a key vecmatte cannot honour.
    """

    laplacian = _check_keys(laplacian_kwargs, tuple(_LAPLACIAN_KEYS), "laplacian_kwargs")
    options = {_LAPLACIAN_KEYS[key]: value for key, value in laplacian.items()}
    options.update(_cg_options(cg_kwargs, "cg_kwargs", rtol=_CG_RTOL, maxiter=_CG_MAXITER))
    options["preconditioner"] = _preconditioner_name(preconditioner)
    image = check_image(image)
    values = check_trimap(trimap, image.shape)
    is_fg, is_bg, is_known, _ = trimap_split(values, flatten=False)
    alpha = np.clip(values, 0.0, 1.0)
    if is_known.all():
        return alpha
    # PyMatting's thresholds are inclusive, vecmatte's strict: known pixels become exact 0/1.
    hard = np.where(is_fg, 1.0, np.where(is_bg, 0.0, values))
    result = _solve_quietly(image, hard, **options)
    if not result.converged:
        raise ValueError(
            f"Conjugate gradient descent did not converge within {result.iterations} iterations "
            f"(relative residual {result.residual:.3g} > rtol={options['rtol']:g}); raise "
            "cg_kwargs['maxiter'] or cg_kwargs['rtol']"
        )
    unknown = ~is_known
    alpha[unknown] = result.alpha[unknown]
    return alpha


estimate_alpha = estimate_alpha_cf


# --------------------------------------------------------------------------------------------
# foreground


def estimate_foreground_ml(
    image: ArrayLike,
    alpha: ArrayLike,
    regularization: float = 1e-5,
    n_small_iterations: int = 10,
    n_big_iterations: int = 2,
    small_size: int = 32,
    return_background: bool = False,
    gradient_weight: float = 1.0,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Multi-level foreground estimation with PyMatting's signature (``estimate_foreground_ml``).

    Runs :func:`vecmatte.estimate_foreground_background` with ``method="ml"``.

    Parameters
    ----------
    image : array_like, shape (h, w, 3)
        Floats in [0, 1] (uint8/uint16 are scaled).
    alpha : array_like, shape (h, w) or (h, w, 1)
        Alpha matte in [0, 1] (uint8/uint16 are scaled).
    regularization, gradient_weight : float, optional
        Smoothness weight ``regularization + gradient_weight * |d alpha|`` between neighbours.
    n_small_iterations, n_big_iterations, small_size : int, optional
        Only PyMatting's defaults (10, 2, 32) are supported; vecmatte fixes the schedule.
    return_background : bool, optional
        Also return the background colours.

    Returns
    -------
    F : ndarray, shape (h, w, 3), float32
        Foreground colours (float32 like PyMatting's).
    B : ndarray, shape (h, w, 3), float32
        Background colours, only with ``return_background=True``.
    """
    from vecmatte.foreground import estimate_foreground_background

    what = "vecmatte's multi-level foreground estimation (fixed schedule)"
    _require_default("n_small_iterations", n_small_iterations, 10, what)
    _require_default("n_big_iterations", n_big_iterations, 2, what)
    _require_default("small_size", small_size, 32, what)
    image, alpha = _image_and_alpha(image, alpha)
    foreground, background = estimate_foreground_background(
        image,
        alpha,
        method="ml",
        regularization=regularization,
        gradient_weight=gradient_weight,
    )
    foreground = foreground.astype(np.float32)
    if return_background:
        return foreground, background.astype(np.float32)
    return foreground


estimate_foreground = estimate_foreground_ml


def estimate_foreground_cf(
    image: ArrayLike,
    alpha: ArrayLike,
    regularization: float = 1e-5,
    rtol: float = 1e-5,
    neighbors: Sequence[tuple[int, int]] | None = None,
    return_background: bool = False,
    foreground_guess: ArrayLike | None = None,
    background_guess: ArrayLike | None = None,
    ichol_kwargs: Mapping[str, Any] | None = None,
    cg_kwargs: Mapping[str, Any] | None = None,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Closed-form foreground estimation with PyMatting's signature (``estimate_foreground_cf``).

    Runs :func:`vecmatte.estimate_foreground_background` with ``method="cf"``, vecmatte's
    version of the closed-form reconstruction (the weights of Levin et al.'s ``solveFB.m``,
    8 neighbours, Jacobi-preconditioned conjugate gradient), so the colours differ slightly
    from PyMatting's 4-neighbour formulation.

    Parameters
    ----------
    image : array_like, shape (h, w, 3)
    alpha : array_like, shape (h, w) or (h, w, 1)
    regularization : float, optional
        Only PyMatting's default 1e-5 (vecmatte's closed form has its own weights).
    rtol : float, optional
        Relative tolerance of conjugate gradient.
    neighbors : list of (int, int), optional
        Only None or PyMatting's default 4-neighbourhood.
    return_background : bool, optional
        Also return the background colours.
    foreground_guess, background_guess : None
        Not supported (vecmatte starts from the image).
    ichol_kwargs : dict, optional
        Must be empty (vecmatte uses a Jacobi preconditioner here).
    cg_kwargs : dict, optional
        ``maxiter`` (default 10000, as PyMatting) and ``atol`` (see :func:`estimate_alpha_cf`).

    Returns
    -------
    F : ndarray, shape (h, w, 3)
        Float64 foreground colours in [0, 1].
    B : ndarray, shape (h, w, 3)
        Background colours, only with ``return_background=True``.

    Raises
    ------
    ValueError
        If conjugate gradient does not converge (as PyMatting), or the inputs are malformed.
    """
    from vecmatte.foreground import estimate_foreground_background
    from vecmatte.linalg.cg import ConvergenceWarning

    what = "vecmatte's closed-form foreground estimation"
    _require_default("regularization", regularization, 1e-5, what)
    if neighbors is not None and [tuple(n) for n in neighbors] != _DEFAULT_NEIGHBORS:
        raise ValueError(f"neighbors={neighbors!r} is not supported by {what}; leave it at None")
    if foreground_guess is not None or background_guess is not None:
        raise ValueError(f"foreground_guess and background_guess are not supported by {what}")
    _check_keys(ichol_kwargs, (), "ichol_kwargs", " (the closed-form foreground uses Jacobi)")
    cg = _check_keys(cg_kwargs, ("atol", "maxiter"), "cg_kwargs", " (rtol is an argument)")
    options = _cg_options(cg, "cg_kwargs", rtol=rtol, maxiter=_CG_MAXITER)
    image, alpha = _image_and_alpha(image, alpha)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        foreground, background = estimate_foreground_background(
            image, alpha, method="cf", **options
        )
    for warning in caught:
        if issubclass(warning.category, ConvergenceWarning):
            raise ValueError(str(warning.message))
        warnings.warn(warning.message, stacklevel=2)
    if return_background:
        return foreground, background
    return foreground


def _image_and_alpha(image, alpha) -> tuple[np.ndarray, np.ndarray]:
    image = check_image(image)
    alpha = check_gray(alpha, "alpha")
    check_same_size(image, alpha, "alpha")
    return image, alpha


# --------------------------------------------------------------------------------------------
# util


def trimap_split(
    trimap: ArrayLike,
    flatten: bool = True,
    bg_threshold: float = 0.1,
    fg_threshold: float = 0.9,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split a trimap like PyMatting: ``(is_fg, is_bg, is_known, is_unknown)``.

    Foreground is ``trimap >= fg_threshold`` and background ``trimap <= bg_threshold``
    (PyMatting's inclusive thresholds; vecmatte's own :func:`vecmatte.trimap_split` is strict).
    uint8/uint16 trimaps are scaled to [0, 1] first.

    Returns
    -------
    is_fg, is_bg, is_known, is_unknown : ndarray of bool
        Flat ``(h * w,)`` arrays with ``flatten=True`` (the default), else ``(h, w)``.

    Raises
    ------
    ValueError
        If no pixel is background, or none is foreground (checked in that order, as PyMatting).
    """
    values = check_trimap(trimap)
    if flatten:
        values = values.ravel()
    is_fg = values >= fg_threshold
    is_bg = values <= bg_threshold
    if not is_bg.any():
        raise ValueError(
            f"Trimap did not contain background values (values <= {bg_threshold:f}); "
            "mark some background pixels in black"
        )
    if not is_fg.any():
        raise ValueError(
            f"Trimap did not contain foreground values (values >= {fg_threshold:f}); "
            "mark some foreground pixels in white"
        )
    is_known = is_fg | is_bg
    return is_fg, is_bg, is_known, ~is_known


def _to_floats_if_mixed(arrays: list[np.ndarray], name: str) -> list[np.ndarray]:
    """Scale integer arrays to [0, 1] when they are combined with float arrays."""
    if len({array.dtype for array in arrays}) <= 1:
        return arrays
    return [as_float(array, name) for array in arrays]


def stack_images(*images: ArrayLike) -> np.ndarray:
    """Concatenate images along the channel axis; ``(h, w)`` arrays become one channel.

    Same as PyMatting's, except that integer images stacked with float images are first
    scaled to [0, 1] (uint8 by 255), so ``stack_images(foreground, uint8_alpha)`` is a valid
    RGBA image instead of one with alpha in [0, 255].
    """
    arrays = [np.asarray(image) for image in images]
    arrays = [array if array.ndim == 3 else array[:, :, np.newaxis] for array in arrays]
    return np.concatenate(_to_floats_if_mixed(arrays, "image"), axis=2)


def blend(foreground: ArrayLike, background: ArrayLike, alpha: ArrayLike) -> np.ndarray:
    """Composite ``alpha * foreground + (1 - alpha) * background`` (PyMatting's ``blend``).

    Integer inputs are scaled to [0, 1] first (PyMatting would mix 0-255 values with alpha
    fractions); ``(h, w)`` and ``(h, w, 1)`` alphas are both accepted.
    """
    arrays = [np.asarray(foreground), np.asarray(background), np.asarray(alpha)]
    if any(np.issubdtype(array.dtype, np.integer) for array in arrays):
        arrays = [
            as_float(array, name)
            for array, name in zip(arrays, ("foreground", "background", "alpha"), strict=True)
        ]
    foreground, background, alpha = arrays
    if alpha.ndim == 2:
        alpha = alpha[:, :, np.newaxis]
    return alpha * foreground + (1 - alpha) * background


def load_image(
    path: str | os.PathLike,
    mode: str | None = None,
    size: float | tuple[int, int] | None = None,
    resample: str = "box",
) -> np.ndarray:
    """Load an image file as floats in [0, 1] (PyMatting's ``load_image``).

    Parameters
    ----------
    path : str or path-like
    mode : str, optional
        ``"GRAY"`` (or ``"L"``), ``"RGB"``, or any Pillow mode to convert to; None keeps the
        file's channels (``(h, w)`` for gray, ``(h, w, 4)`` for RGBA).
    size : float or (int, int), optional
        Scale factor, or ``(width, height)`` to resize to.
    resample : str, optional
        Pillow filter name for resizing: box (default), bicubic, bilinear, hamming, lanczos,
        nearest.

    Returns
    -------
    ndarray
        Float64 in [0, 1]; 16-bit files are scaled by 65535 (PyMatting divides every file by 255).

    Raises
    ------
    FileNotFoundError, PIL.UnidentifiedImageError
        As PyMatting (both through Pillow).
    """
    from PIL import Image

    if size is not None and str(resample).lower() not in _PIL_FILTERS:
        raise ValueError(f"unknown resample filter {resample!r}; use one of {_PIL_FILTERS}")
    with Image.open(path) as image:
        if mode is not None:
            mode = mode.upper()
            image = image.convert("L" if mode == "GRAY" else mode)
        if size is not None:
            if np.ndim(size) == 0:
                size = (int(image.width * size), int(image.height * size))
            name = str(resample).upper()
            filter_ = getattr(Image.Resampling, "NEAREST" if name == "NONE" else name)
            image = image.resize(tuple(size), filter_)
        return _pixels(image)


def _pixels(image) -> np.ndarray:
    """Pillow image -> floats: 8-bit by 255 as PyMatting, 16-bit by 65535, float unchanged."""
    array = np.asarray(image)
    if image.mode == "F":
        return array.astype(np.float64)
    if image.mode.startswith("I;16") or (image.mode == "I" and array.max(initial=0) > 255):
        return array / 65535.0
    return array / 255.0


def save_image(path: str | os.PathLike, image: ArrayLike, make_directory: bool = True) -> None:
    """Save a float [0, 1] or uint8 image (PyMatting's ``save_image``).

    Written atomically by :func:`vecmatte.save_image` (a temporary file renamed into place),
    with float values rounded to the nearest 8-bit level (PyMatting truncates). The parent
    directories are created when ``make_directory`` is true, as in PyMatting.

    Raises
    ------
    ValueError
        For dtypes other than float and uint8 (PyMatting uses an ``assert``) and for shapes
        that are not an image.
    """
    from vecmatte.io import save_image as save

    image = np.asarray(image)
    if np.issubdtype(image.dtype, np.floating):
        image = np.clip(image, 0.0, 1.0)  # as PyMatting; vecmatte.save_image refuses instead
    if make_directory:
        directory = os.path.dirname(os.fspath(path))
        if directory:
            os.makedirs(directory, exist_ok=True)
    save(Path(path), image)


def cutout(
    image_path: str | os.PathLike, trimap_path: str | os.PathLike, cutout_path: str | os.PathLike
) -> None:
    """Image file + trimap file -> RGBA cutout file (PyMatting's ``cutout``).

    Closed-form alpha, multi-level foreground, then ``stack_images`` and ``save_image``, as in
    PyMatting. vecmatte's own :func:`vecmatte.cutout` works on arrays instead.

    Raises
    ------
    ValueError
        If the image and the trimap differ in size, the trimap has no foreground or
        background, or ``cutout_path`` names one of the inputs (PyMatting would overwrite it).
    """
    from vecmatte.io import check_output_paths

    check_output_paths(
        {"cutout_path": cutout_path},
        {"image_path": image_path, "trimap_path": trimap_path},
        writable=False,
    )
    image = load_image(image_path, "RGB")
    trimap = load_image(trimap_path, "GRAY")
    if image.shape[:2] != trimap.shape[:2]:
        raise ValueError(
            f"Input image and trimap must have same size: image is {image.shape[:2]}, "
            f"trimap is {trimap.shape[:2]}"
        )
    alpha = estimate_alpha_cf(image, trimap)
    foreground = estimate_foreground_ml(image, alpha)
    save_image(cutout_path, stack_images(foreground, alpha))
