"""PyMatting's alpha estimators (``pymatting.alpha``) on vecmatte's Laplacians and solvers.

``estimate_alpha_cf`` runs vecmatte's closed-form pipeline (the same reduced system as
PyMatting). The others build PyMatting's own system from the shim's Laplacians and solve it
with the shim's :func:`~vecmatte.compat.pymatting.cg`, defects included: the KNN and random
walk matrices are not symmetric, and ``rw_laplacian`` ignores ``sigma``. vecmatte's own
methods (``estimate_alpha(..., method="knn")`` ...) solve an equivalent symmetric system.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from vecmatte._arrays import check_finite, check_image
from vecmatte.compat.pymatting._common import (
    CG_MAXITER,
    CG_RTOL,
    NO_OPTIONS,
    PyMattingAssertionError,
    cg_options,
    channels_image,
    check_keys,
    check_radius,
    more_than_three,
    preconditioner_name,
    rgb_image,
    zero_padded,
)
from vecmatte.compat.pymatting.laplacian import (
    knn_laplacian,
    lbdm_laplacian,
    lkm_laplacian,
    make_linear_system,
    rw_laplacian,
)
from vecmatte.compat.pymatting.preconditioner import jacobi
from vecmatte.compat.pymatting.solver import cg
from vecmatte.compat.pymatting.util import trimap_split
from vecmatte.trimap import check_trimap

__all__ = [
    "estimate_alpha",
    "estimate_alpha_cf",
    "estimate_alpha_knn",
    "estimate_alpha_lbdm",
    "estimate_alpha_lkm",
    "estimate_alpha_rw",
    "estimate_alpha_sm",
]

_LAPLACIAN_KEYS = {"epsilon": "eps", "radius": "radius"}


def estimate_alpha_cf(
    image: ArrayLike,
    trimap: ArrayLike,
    preconditioner: Callable | str | None = None,
    laplacian_kwargs: Mapping[str, Any] = NO_OPTIONS,
    cg_kwargs: Mapping[str, Any] = NO_OPTIONS,
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
        PyMatting's ``ichol`` or ``jacobi`` functions (recognised by name), a vecmatte
        preconditioner name, or any other function ``A -> M`` of the matrix over the unknown
        pixels (then solved as PyMatting does, see Notes).
    laplacian_kwargs : dict, optional
        ``epsilon`` and ``radius`` (vecmatte's ``eps`` and ``radius``).
    cg_kwargs : dict, optional
        ``rtol`` (default 1e-7), ``maxiter`` (default 10000), ``atol`` (accepted; vecmatte
        stops when ``rtol`` is met, which PyMatting also accepts as convergence), and
        ``x0``, ``callback`` and ``reorthogonalize`` of :func:`cg` (see Notes).

    Returns
    -------
    ndarray
        Alpha in [0, 1] in the trimap's shape (``(h, w, 1)`` stays so) and, for a float
        trimap, its dtype (float32 trimaps give float32, as PyMatting); float64 otherwise.
        Known pixels keep their trimap value, as in PyMatting.

    Raises
    ------
    ValueError
        If the trimap has no background or no foreground pixels, if conjugate gradient does
        not converge within ``maxiter`` iterations (as PyMatting), or if the inputs are malformed.
    PyMattingAssertionError
        (an ``AssertionError`` as PyMatting, and a ``ValueError``) for an image of other than
        3 channels.
    TypeError
        If ``laplacian_kwargs`` or ``cg_kwargs`` has a key vecmatte cannot honour.

    Notes
    -----
    With a preconditioner given as a function other than PyMatting's ``ichol``/``jacobi``,
    or with ``x0``, ``callback`` or ``reorthogonalize`` in ``cg_kwargs``, the system is
    PyMatting's: the rows of the unknown pixels of :func:`cf_laplacian` (windows of known
    pixels only left out), solved by :func:`cg` with ``M = preconditioner(L_U)``
    (:func:`ichol` when None). Otherwise vecmatte's closed-form pipeline solves the same
    system with its own preconditioner.
    """
    laplacian = check_keys(laplacian_kwargs, tuple(_LAPLACIAN_KEYS), "laplacian_kwargs")
    if "radius" in laplacian:
        check_radius(laplacian["radius"], "laplacian_kwargs['radius']")
    image = rgb_image(image)
    values = check_trimap(trimap, image.shape)
    # trimap_split's masks, without its second check of the checked values (a fortieth of
    # a small image's solve); it names a missing class.
    is_fg, is_bg = values >= 0.9, values <= 0.1
    if not (is_fg.any() and is_bg.any()):
        trimap_split(values, flatten=False)
    is_known = is_fg | is_bg
    is_unknown = ~is_known
    alpha = np.clip(values, 0.0, 1.0)
    if is_known.all():
        return _like_trimap(alpha, trimap, dtype=True)
    if _pymatting_solve(preconditioner, cg_kwargs):
        from vecmatte.compat.pymatting.laplacian import cf_laplacian
        from vecmatte.compat.pymatting.preconditioner import ichol

        cg_kwargs = {} if cg_kwargs is None else cg_kwargs  # None: no options, as elsewhere
        if "M" in cg_kwargs:  # PyMatting: "cg() got multiple values for keyword argument 'M'"
            raise TypeError(
                "cg_kwargs has the key 'M', but estimate_alpha_cf makes M from its "
                "preconditioner argument: pass preconditioner=lambda A: M instead"
            )
        L = cf_laplacian(image, **laplacian, is_known=is_known)
        known, unknown = is_known.ravel(), is_unknown.ravel()
        rows = L[unknown]
        L_U = rows[:, unknown]
        b = -rows[:, known].dot(is_fg.ravel()[known].astype(np.float64))
        M = (preconditioner or ichol)(L_U)
        alpha[is_unknown] = np.clip(cg(L_U, b, M=M, **cg_kwargs), 0.0, 1.0)
        return _like_trimap(alpha, trimap, dtype=True)
    from vecmatte.alpha import run_method

    options = {_LAPLACIAN_KEYS[key]: value for key, value in laplacian.items()}
    solver = cg_options(cg_kwargs, "cg_kwargs", rtol=CG_RTOL, maxiter=CG_MAXITER)
    # PyMatting's thresholds are inclusive, vecmatte's strict: known pixels become exact 0/1.
    hard = np.where(is_fg, 1.0, np.where(is_bg, 0.0, values))
    # The image and the trimap were checked above: run_method does not check them again.
    # warn=False: non-convergence raises below, as in PyMatting.
    result = run_method(
        image,
        hard,
        method="cf",
        preconditioner=preconditioner_name(preconditioner),
        options=options,
        warn=False,
        checked=True,
        **solver,
    )
    if not result.converged:
        raise ValueError(
            f"Conjugate gradient descent did not converge within {result.iterations} iterations "
            f"(relative residual {result.residual:.3g} > rtol={solver['rtol']:g}); raise "
            "cg_kwargs['maxiter'] or cg_kwargs['rtol']"
        )
    alpha[is_unknown] = result.alpha[is_unknown]
    return _like_trimap(alpha, trimap, dtype=True)


estimate_alpha = estimate_alpha_cf

# cg keywords only PyMatting's own solve honours (see estimate_alpha_cf's Notes); "M" is
# there too, to be refused with PyMatting's TypeError.
_PYMATTING_CG_KEYS = ("x0", "callback", "reorthogonalize", "M")


def _pymatting_solve(preconditioner, cg_kwargs) -> bool:
    """Whether estimate_alpha_cf must solve PyMatting's system with :func:`cg`."""
    from vecmatte.preconditioners import PRECONDITIONERS

    if any(key in (cg_kwargs or {}) for key in _PYMATTING_CG_KEYS):
        return True
    if preconditioner is None or isinstance(preconditioner, str):
        return False
    name = getattr(preconditioner, "__name__", None)
    return callable(preconditioner) and name not in PRECONDITIONERS


def _like_trimap(alpha: np.ndarray, trimap, *, dtype: bool = False) -> np.ndarray:
    """Alpha in the trimap's shape, as PyMatting's ``x.reshape(trimap.shape)``: an
    ``(h, w, 1)`` trimap gives an ``(h, w, 1)`` alpha. With ``dtype``, a float trimap's dtype
    too (estimate_alpha_cf writes into ``trimap.copy()``)."""
    if isinstance(trimap, np.ndarray):
        alpha = alpha.reshape(trimap.shape)
        if dtype and np.issubdtype(trimap.dtype, np.floating):
            alpha = alpha.astype(trimap.dtype, copy=False)
    return alpha


def _inputs(
    image: ArrayLike, trimap: ArrayLike, *, channels: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """The image and the trimap's values; with ``channels``, an image of more than three
    channels (RGBA) is kept whole, for the Laplacians PyMatting computes over all of them."""
    image = channels_image(image) if channels and more_than_three(image) else check_image(image)
    return image, check_trimap(trimap, image.shape)


def _solve(A, b, M, cg_kwargs: Mapping[str, Any], trimap) -> np.ndarray:
    return _like_trimap(np.clip(cg(A, b, M=M, **cg_kwargs), 0.0, 1.0), trimap)


def estimate_alpha_knn(
    image: ArrayLike,
    trimap: ArrayLike,
    preconditioner: Callable | None = None,
    laplacian_kwargs: Mapping[str, Any] = NO_OPTIONS,
    cg_kwargs: Mapping[str, Any] = NO_OPTIONS,
) -> np.ndarray:
    """KNN matting (Chen, Li, Tang 2013) with PyMatting's signature and system.

    ``make_linear_system(knn_laplacian(image), trimap)`` solved by :func:`cg`, as PyMatting:
    the matrix ``I - D^-1 W + 100 C`` is not symmetric (vecmatte's ``method="knn"`` solves
    the symmetric system with the same solution).

    Parameters
    ----------
    image : array_like, shape (h, w, 3)
        Floats in [0, 1] (uint8/uint16 are scaled).
    trimap : array_like, shape (h, w) or (h, w, 1)
        Floats in [0, 1]: ``>= 0.9`` foreground, ``<= 0.1`` background, else unknown.
    preconditioner : callable, optional
        Function ``A -> M`` such as :func:`~vecmatte.compat.pymatting.jacobi`; None: Jacobi.
    laplacian_kwargs : dict, optional
        Keywords of :func:`~vecmatte.compat.pymatting.knn_laplacian`.
    cg_kwargs : dict, optional
        Keywords of :func:`~vecmatte.compat.pymatting.cg` (``rtol`` 1e-7, ``maxiter`` 10000).

    Returns
    -------
    ndarray
        Float64 alpha in [0, 1], in the trimap's shape (``(h, w, 1)`` stays so, as PyMatting).

    Raises
    ------
    ValueError
        If the trimap has no background or no foreground pixels, or conjugate gradient does
        not converge (as PyMatting); if the inputs are malformed.
    TypeError
        If ``laplacian_kwargs`` or ``cg_kwargs`` has a key the function does not take.
    """
    image, values = _inputs(image, trimap)
    A, b = make_linear_system(knn_laplacian(image, **laplacian_kwargs), values)
    return _solve(A, b, (preconditioner or jacobi)(A), cg_kwargs, trimap)


def estimate_alpha_rw(
    image: ArrayLike,
    trimap: ArrayLike,
    preconditioner: Callable | None = None,
    laplacian_kwargs: Mapping[str, Any] = NO_OPTIONS,
    cg_kwargs: Mapping[str, Any] = NO_OPTIONS,
) -> np.ndarray:
    """Random walk matting (Grady et al. 2005) with PyMatting's signature and system.

    ``make_linear_system(rw_laplacian(image), trimap)`` solved by :func:`cg`, as PyMatting:
    the matrix is not symmetric, and ``laplacian_kwargs["sigma"]`` is ignored (the weights
    are ``exp(-900 |I_i - I_j|^2)``); vecmatte's ``method="rw"`` does neither.

    Parameters
    ----------
    image : array_like, shape (h, w, d)
        Floats in [0, 1] (uint8/uint16 are scaled), any number of channels ``d`` as in
        PyMatting (all ``d`` are used: an RGBA image's alpha counts as a colour).
    trimap : array_like, shape (h, w) or (h, w, 1)
        Floats in [0, 1]: ``>= 0.9`` foreground, ``<= 0.1`` background, else unknown.
    preconditioner : callable, optional
        Function ``A -> M`` such as :func:`~vecmatte.compat.pymatting.jacobi`; None: Jacobi.
    laplacian_kwargs : dict, optional
        Keywords of :func:`~vecmatte.compat.pymatting.rw_laplacian`.
    cg_kwargs : dict, optional
        Keywords of :func:`~vecmatte.compat.pymatting.cg` (``rtol`` 1e-7, ``maxiter`` 10000).

    Returns
    -------
    ndarray
        Float64 alpha in [0, 1], in the trimap's shape (``(h, w, 1)`` stays so, as PyMatting).

    Raises
    ------
    ValueError
        If the trimap has no background or no foreground pixels, or conjugate gradient does
        not converge (as PyMatting); if the inputs are malformed.
    TypeError
        If ``laplacian_kwargs`` or ``cg_kwargs`` has a key the function does not take.
    """
    image, values = _inputs(zero_padded(image), trimap, channels=True)
    A, b = make_linear_system(rw_laplacian(image, **laplacian_kwargs), values)
    return _solve(A, b, (preconditioner or jacobi)(A), cg_kwargs, trimap)


def estimate_alpha_lbdm(
    image: ArrayLike,
    trimap: ArrayLike,
    preconditioner: Callable | None = None,
    laplacian_kwargs: Mapping[str, Any] = NO_OPTIONS,
    cg_kwargs: Mapping[str, Any] = NO_OPTIONS,
) -> np.ndarray:
    """Learning-based matting (Zheng, Kambhamettu 2009) with PyMatting's signature and system.

    ``make_linear_system(lbdm_laplacian(image), trimap)`` solved by :func:`cg`. By default
    preconditioned by vecmatte's complete sparse Cholesky factor (``"direct"``) over the
    unknown pixels and a band around them, the diagonal elsewhere, where PyMatting uses its
    incomplete Cholesky factor: the same solution, in a few iterations.

    Parameters
    ----------
    image : array_like, shape (h, w, 3)
        Floats in [0, 1] (uint8/uint16 are scaled); of more channels (RGBA) the first three
        are used, as PyMatting.
    trimap : array_like, shape (h, w) or (h, w, 1)
        Floats in [0, 1]: ``>= 0.9`` foreground, ``<= 0.1`` background, else unknown.
    preconditioner : callable, optional
        Function ``A -> M`` such as :func:`~vecmatte.compat.pymatting.ichol`; None: the factor
        described above.
    laplacian_kwargs : dict, optional
        Keywords of :func:`~vecmatte.compat.pymatting.lbdm_laplacian`.
    cg_kwargs : dict, optional
        Keywords of :func:`~vecmatte.compat.pymatting.cg` (``rtol`` 1e-7, ``maxiter`` 10000).

    Returns
    -------
    ndarray
        Float64 alpha in [0, 1], in the trimap's shape (``(h, w, 1)`` stays so, as PyMatting).

    Raises
    ------
    ValueError
        If the trimap has no background or no foreground pixels, or conjugate gradient does
        not converge (as PyMatting); if the inputs are malformed.
    TypeError
        If ``laplacian_kwargs`` or ``cg_kwargs`` has a key the function does not take.
    """
    if more_than_three(image):  # PyMatting reads the first three channels
        image = np.asarray(image)[:, :, :3]
    image, values = _inputs(image, trimap)
    A, b = make_linear_system(lbdm_laplacian(image, **laplacian_kwargs), values)
    if preconditioner is not None:
        M = preconditioner(A)
    else:
        reach = 2 * int(laplacian_kwargs.get("radius", 1))
        M = _band_preconditioner(A, trimap_split(values, flatten=False)[3], reach)
    return _solve(A, b, M, cg_kwargs, trimap)


def _band_preconditioner(A, is_unknown: np.ndarray, reach: int):
    """Block Jacobi: a complete factor on the unknown pixels and a band of known ones around
    them, the diagonal elsewhere.

    Away from the unknown pixels each row of the soft-constraint matrix is dominated by its
    ``lambda = 100`` on the diagonal, so the diagonal is nearly exact there and only the band
    needs the factor (vecmatte's ``"direct"``, nested dissection over the pixel grid).
    """
    from scipy.ndimage import binary_dilation
    from scipy.sparse.linalg import LinearOperator

    from vecmatte.preconditioners import build_preconditioner
    from vecmatte.systems import MattingSystem

    band = np.flatnonzero(binary_dilation(is_unknown, iterations=2 * reach))
    if not band.size:  # no unknown pixel: every row is dominated by its diagonal
        return jacobi(A)
    block = A[band][:, band].tocsr()
    system = MattingSystem(block, np.zeros(len(band)), band, is_unknown.shape, reach=reach)
    factor = build_preconditioner(system, "direct")
    inverse_diagonal = 1.0 / A.diagonal()

    def apply(r: np.ndarray) -> np.ndarray:
        z = inverse_diagonal * r
        z[band] = factor.matvec(r[band])
        return z

    n = A.shape[0]
    return LinearOperator((n, n), matvec=apply, dtype=np.float64)


def estimate_alpha_lkm(
    image: ArrayLike,
    trimap: ArrayLike,
    laplacian_kwargs: Mapping[str, Any] = NO_OPTIONS,
    cg_kwargs: Mapping[str, Any] = NO_OPTIONS,
) -> np.ndarray:
    """Large-kernel matting (He, Sun, Tang 2010) with PyMatting's signature and system.

    The closed-form Laplacian at radius 10, matrix-free (:func:`lkm_laplacian`), with soft
    constraints (lambda 100) and the Jacobi preconditioner, as PyMatting (which has no
    ``preconditioner`` argument here).

    Parameters
    ----------
    image : array_like, shape (h, w, d)
        Floats in [0, 1] (uint8/uint16 are scaled), any number of channels ``d`` as in
        PyMatting (all ``d`` are used: an RGBA image's alpha counts as a colour).
    trimap : array_like, shape (h, w) or (h, w, 1)
        Floats in [0, 1]: ``>= 0.9`` foreground, ``<= 0.1`` background, else unknown.
    laplacian_kwargs : dict, optional
        Keywords of :func:`~vecmatte.compat.pymatting.lkm_laplacian`.
    cg_kwargs : dict, optional
        Keywords of :func:`~vecmatte.compat.pymatting.cg` (``rtol`` 1e-7, ``maxiter`` 10000).

    Returns
    -------
    ndarray
        Float64 alpha in [0, 1], in the trimap's shape (``(h, w, 1)`` stays so, as PyMatting).

    Raises
    ------
    ValueError
        If the trimap has no background or no foreground pixels, or conjugate gradient does
        not converge (as PyMatting); if the inputs are malformed.
    TypeError
        If ``laplacian_kwargs`` or ``cg_kwargs`` has a key the function does not take.
    """
    image, values = _inputs(zero_padded(image), trimap, channels=True)
    L_matvec, diag_L = lkm_laplacian(image, **laplacian_kwargs)
    is_fg, _, is_known, _ = trimap_split(values)
    lambda_value = 100.0
    c = lambda_value * is_known
    inverse_diagonal = 1.0 / (diag_L + c)

    def A_matvec(x: np.ndarray) -> np.ndarray:
        return L_matvec(x) + c * x

    def precondition(r: np.ndarray) -> np.ndarray:
        return inverse_diagonal * r

    return _solve(A_matvec, lambda_value * is_fg, precondition, cg_kwargs, trimap)


def _sigma_sq(radius: int) -> float:
    return (2 * radius + 1) ** 2 / (9.0 * np.pi)


def _check_sm_values(image: np.ndarray, trimap: np.ndarray) -> None:
    """Refuse what made shared matting return NaN alphas without a word: NaN or infinite
    values, and a trimap without foreground (exactly 1) or background (exactly 0) pixels."""
    check_finite(image, "image")
    low, high = check_finite(trimap, "trimap")
    for value, what, colour in ((1.0, "foreground", "white"), (0.0, "background", "black")):
        if not (trimap == value).any():
            raise ValueError(
                f"trimap has no {what} pixels: shared matting reads only values exactly "
                f"{value:g} as {what} (values in [{low:.4g}, {high:.4g}]); "
                f"mark some in {colour}"
            )


def estimate_alpha_sm(
    image: np.ndarray,
    trimap: np.ndarray,
    return_foreground_background: bool = False,
    trimap_expansion_radius: int = 10,
    trimap_expansion_threshold: float = 0.02,
    sample_gathering_angles: int = 4,
    sample_gathering_weights: tuple[float, float, float, float] = (3.0, 2.0, 1.0, 4.0),
    sample_gathering_Np_radius: int = 1,
    sample_refinement_radius: int = 5,
    local_smoothing_radius1: int = 5,
    local_smoothing_radius2: int = 5,
    local_smoothing_radius3: int = 5,
    local_smoothing_sigma_sq1: float | None = None,
    local_smoothing_sigma_sq2: float = 0.1,
    local_smoothing_sigma_sq3: float | None = None,
) -> np.ndarray | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shared matting (Gastal, Oliveira 2010) with PyMatting's signature.

    Runs :func:`vecmatte.alpha.sm.shared_matting` with PyMatting's path energy
    (``pymatting_path=True``). As in PyMatting, only trimap values exactly 0 and 1 are known,
    and ``local_smoothing_sigma_sq3=None`` takes its default from ``local_smoothing_radius1``.

    Parameters
    ----------
    image : ndarray, float32 or float64, shape (h, w, 3)
    trimap : ndarray, float32 or float64, shape (h, w)
    return_foreground_background : bool, optional
        Also return the foreground and background colours.
    trimap_expansion_radius, trimap_expansion_threshold
        Trimap expansion (off if either is not positive).
    sample_gathering_angles, sample_gathering_weights, sample_gathering_Np_radius
        Rays per pixel, exponents ``(e_N, e_A, e_f, e_b)`` of the pair cost, and the radius of
        the chromatic distortion's window.
    sample_refinement_radius : int
    local_smoothing_radius1, local_smoothing_radius2, local_smoothing_radius3 : int
        Windows of the pair smoothing, the confidence and the low-frequency alpha.
    local_smoothing_sigma_sq1, local_smoothing_sigma_sq2, local_smoothing_sigma_sq3
        Their Gaussian variances (``None``: ``(2 r_1 + 1)^2 / (9 pi)``).

    Returns
    -------
    alpha : ndarray, float32, shape (h, w)
    foreground, background : ndarray, float32, shape (h, w, 3)
        Only with ``return_foreground_background=True``.

    Raises
    ------
    PyMattingAssertionError
        (an ``AssertionError`` and ``ValueError``) where PyMatting asserts: non-float dtypes,
        an image that is not RGB, a trimap of another size.
    ValueError
        If the image or trimap holds NaN or infinite values, or the trimap has no pixel
        exactly 1 or none exactly 0 (the alpha would be NaN).
    """
    from vecmatte.alpha.sm import shared_matting

    image, trimap = np.asarray(image), np.asarray(trimap)
    for name, array in (("image", image), ("trimap", trimap)):
        if array.dtype not in (np.float32, np.float64):
            raise PyMattingAssertionError(
                f"{name}.dtype should be float32 or float64, but is {array.dtype}"
            )
    if image.ndim != 3 or image.shape[2] != 3:
        raise PyMattingAssertionError(f"image should be RGB, but shape is {image.shape}")
    if trimap.shape != image.shape[:2]:
        raise PyMattingAssertionError(
            f"image height and width should match trimap height and width, but image shape "
            f"is {image.shape} and trimap shape is {trimap.shape}"
        )
    trimap = trimap.astype(np.float32)
    _check_sm_values(image, trimap)
    if local_smoothing_sigma_sq1 is None:
        local_smoothing_sigma_sq1 = _sigma_sq(local_smoothing_radius1)
    if local_smoothing_sigma_sq3 is None:
        local_smoothing_sigma_sq3 = _sigma_sq(local_smoothing_radius1)  # sic, as PyMatting
    # Expansion relabels unknown pixels: with none it has nothing to do (and indexed an
    # empty list of them).
    expand = (
        trimap_expansion_radius > 0
        and trimap_expansion_threshold > 0.0
        and bool(((trimap != 0.0) & (trimap != 1.0)).any())
    )
    result = shared_matting(
        image.astype(np.float32).astype(np.float64),
        trimap == 1.0,
        trimap == 0.0,
        expansion_radius=int(trimap_expansion_radius) if expand else 0,
        expansion_threshold=float(trimap_expansion_threshold) if expand else 0.0,
        rays=int(sample_gathering_angles),
        cost_exponents=tuple(float(e) for e in sample_gathering_weights),
        distortion_radius=int(sample_gathering_Np_radius),
        refinement_radius=int(sample_refinement_radius),
        smoothing_radius=int(local_smoothing_radius1),
        confidence_radius=int(local_smoothing_radius2),
        low_frequency_radius=int(local_smoothing_radius3),
        smoothing_sigma_sq=float(local_smoothing_sigma_sq1),
        confidence_sigma_sq=float(local_smoothing_sigma_sq2),
        low_frequency_sigma_sq=float(local_smoothing_sigma_sq3),
        colour_pairs=bool(return_foreground_background),
        pymatting_path=True,
    )
    alpha = result.alpha.astype(np.float32)
    if return_foreground_background:
        # C order, as PyMatting's (vecmatte's colours may be views of channel-first planes)
        colours = (c.astype(np.float32, order="C") for c in (result.foreground, result.background))
        return alpha, *colours
    return alpha
