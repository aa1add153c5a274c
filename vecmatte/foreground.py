"""Foreground (and background) colours behind an alpha matte.

Alpha alone does not give a usable cutout: in a semi-transparent pixel the photograph's colour
``I = alpha F + (1 - alpha) B`` still contains the old background ``B``. These functions solve
for ``F`` and ``B`` given ``I`` and ``alpha``.
"""

from __future__ import annotations

import numpy as np

from vecmatte._validation import check_gray, check_image, check_same_size

__all__ = ["FOREGROUND_METHODS", "estimate_foreground", "estimate_foreground_background"]

FOREGROUND_METHODS = ("ml", "cf")
DEFAULT_METHOD = "ml"

# Closed-form reconstruction, after the weights of ``solveFB.m`` (Levin et al.'s reference
# code). Pixels with alpha within MARGIN of 0 or 1 are "definite": their own colour is pinned
# with weight PIN; pixels with clearly dominant alpha get a weak pull towards the photograph's
# colour (PRIOR); the smoothness of F and B across an edge is weighted by sqrt|d alpha| + FLOOR.
_CF_MARGIN = 0.02
_CF_PIN = 100.0
_CF_PRIOR = 0.03
_CF_PRIOR_FROM = 0.7
_CF_AWAY = 0.01
_CF_FLOOR = 0.003
# Multi-level schedule of Germer et al.: 10 relaxations per level up to 32 x 32, 2 above.
# Their smoothness weights epsilon = 5e-3, omega = 0.1 (PyMatting defaults to 1e-5 and 1): on
# the alphamatting.com images these give a 5x lower re-composite error and, on composites with
# known colours, a 25% lower foreground error (bench/foreground.py).
_ML_DEFAULTS = {
    "regularization": 5e-3,
    "gradient_weight": 0.1,
    "small_size": 32,
    "small_iterations": 10,
    "big_iterations": 2,
    "checkerboard": True,
}
# The four gradient directions of solveFB: right, down and the two diagonals.
_CF_DIRECTIONS = ((0, 1), (1, 0), (1, 1), (1, -1))


def _check_inputs(image, alpha) -> tuple[np.ndarray, np.ndarray]:
    image = check_image(image)
    alpha = check_gray(alpha, "alpha")
    check_same_size(image, alpha, "alpha")
    return image, alpha


def _check_method(method: str) -> str:
    if method not in FOREGROUND_METHODS:
        raise ValueError(
            f"unknown foreground method {method!r}; choose one of {', '.join(FOREGROUND_METHODS)}"
        )
    return method


# --------------------------------------------------------------------------------------------
# "ml": fast multi-level foreground estimation (Germer et al. 2020)


def _resize_nearest(array: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of the first two axes (the sampling rule of Germer et al.)."""
    h0, w0 = array.shape[:2]
    rows = np.minimum(np.arange(shape[0]) * h0 // shape[0], h0 - 1)
    cols = np.minimum(np.arange(shape[1]) * w0 // shape[1], w0 - 1)
    return array[rows[:, None], cols[None, :]]


def _neighbours(array: np.ndarray) -> tuple[np.ndarray, ...]:
    """The up, down, left and right neighbours of every pixel, clamped at the border."""
    pad = ((1, 1), (1, 1)) + ((0, 0),) * (array.ndim - 2)
    padded = np.pad(array, pad, mode="edge")
    return (padded[:-2, 1:-1], padded[2:, 1:-1], padded[1:-1, :-2], padded[1:-1, 2:])


def _ml_level(
    image,
    alpha,
    foreground,
    background,
    *,
    iterations,
    regularization,
    gradient_weight,
    checkerboard,
):
    """Relax the local 2x2 systems of one level ``iterations`` times, over the whole grid."""
    a0 = alpha
    a1 = 1.0 - alpha
    weights = [regularization + gradient_weight * np.abs(a0 - n) for n in _neighbours(alpha)]
    total = sum(weights)
    # Per pixel: [[a0^2 + W, a0 a1], [a0 a1, a1^2 + W]] [F, B] = [a0 I + sum w F_n, a1 I + ...].
    m00 = a0 * a0 + total
    m01 = a0 * a1
    m11 = a1 * a1 + total
    det = m00 * m11 - m01 * m01
    i00, i01, i11 = (m11 / det)[..., None], (-m01 / det)[..., None], (m00 / det)[..., None]
    weights = [w[..., None] for w in weights]
    data_f = a0[..., None] * image
    data_b = a1[..., None] * image
    if checkerboard:
        # Red-black order: no pixel of one colour neighbours another, so updating a colour at
        # once is a Gauss-Seidel sweep (twice the convergence rate of a Jacobi sweep).
        rows, cols = np.indices(alpha.shape)
        colours = [((rows + cols) % 2 == parity)[..., None] for parity in (0, 1)]
    else:
        colours = [None]

    for _ in range(iterations):
        for colour in colours:
            rhs_f = data_f + sum(
                w * n for w, n in zip(weights, _neighbours(foreground), strict=True)
            )
            rhs_b = data_b + sum(
                w * n for w, n in zip(weights, _neighbours(background), strict=True)
            )
            new_f = np.clip(i00 * rhs_f + i01 * rhs_b, 0.0, 1.0)
            new_b = np.clip(i01 * rhs_f + i11 * rhs_b, 0.0, 1.0)
            if colour is None:
                foreground, background = new_f, new_b
            else:
                foreground = np.where(colour, new_f, foreground)
                background = np.where(colour, new_b, background)
    return foreground, background


def _estimate_ml(
    image,
    alpha,
    *,
    regularization,
    gradient_weight,
    small_size,
    small_iterations,
    big_iterations,
    checkerboard,
):
    h0, w0 = alpha.shape
    definite_fg = alpha > 0.9
    definite_bg = alpha < 0.1
    # Start from the mean colours of the definite regions (the image mean if there are none).
    mean = image.reshape(-1, 3).mean(axis=0)
    f_mean = image[definite_fg].mean(axis=0) if definite_fg.any() else mean
    b_mean = image[definite_bg].mean(axis=0) if definite_bg.any() else mean
    foreground = np.broadcast_to(f_mean, (1, 1, 3)).copy()
    background = np.broadcast_to(b_mean, (1, 1, 3)).copy()
    levels = max(1, int(np.ceil(np.log2(max(h0, w0)))))
    for level in range(levels + 1):
        shape = (round(h0 ** (level / levels)), round(w0 ** (level / levels)))
        level_image = _resize_nearest(image, shape)
        level_alpha = _resize_nearest(alpha, shape)
        foreground = _resize_nearest(foreground, shape)
        background = _resize_nearest(background, shape)
        small = shape[0] <= small_size and shape[1] <= small_size
        foreground, background = _ml_level(
            level_image,
            level_alpha,
            foreground,
            background,
            iterations=small_iterations if small else big_iterations,
            regularization=regularization,
            gradient_weight=gradient_weight,
            checkerboard=checkerboard,
        )
    return foreground, background


# --------------------------------------------------------------------------------------------
# "cf": closed-form reconstruction (Levin et al. 2008, section 7; solveFB.m)


def _cf_edges(alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat pixel indices ``(p, q)`` of the neighbour pairs that touch a mixed pixel."""
    h, w = alpha.shape
    index = np.arange(h * w).reshape(h, w)
    mixed = (alpha >= _CF_MARGIN) & (alpha <= 1.0 - _CF_MARGIN)
    firsts, seconds = [], []
    for dy, dx in _CF_DIRECTIONS:
        # p at (y, x), q at (y + dy, x + dx), over all positions where both exist.
        ys = slice(0, h - dy)
        yq = slice(dy, h)
        xs = slice(max(0, -dx), w - max(0, dx))
        xq = slice(max(0, dx), w + min(0, dx))
        keep = mixed[ys, xs] | mixed[yq, xq]
        firsts.append(index[ys, xs][keep])
        seconds.append(index[yq, xq][keep])
    return np.concatenate(firsts), np.concatenate(seconds)


def _cf_pointwise(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Squared prior weights of F and B, and the masks of where each prior pulls to ``I``."""
    wf = (
        (a > 1 - _CF_MARGIN) * _CF_PIN
        + _CF_PRIOR * a * (a > _CF_PRIOR_FROM)
        + _CF_AWAY * (a < _CF_MARGIN)
    )
    wb = (
        (a < _CF_MARGIN) * _CF_PIN
        + _CF_PRIOR * (1 - a) * (a < 1 - _CF_PRIOR_FROM)
        + _CF_AWAY * (a > 1 - _CF_MARGIN)
    )
    return wf**2, wb**2, a > _CF_MARGIN, a < 1 - _CF_MARGIN


def _cf_system(alpha: np.ndarray):
    """Normal equations of the closed-form problem on the pixels the smoothness term couples.

    Returns the matrix over ``[F_active, B_active]``, the active pixel indices and, for every
    pixel, the pointwise quantities needed for the right-hand sides.
    """
    import scipy.sparse

    a = alpha.ravel()
    p, q = _cf_edges(alpha)
    active = np.unique(np.concatenate([p, q]))
    m = len(active)
    local = np.full(a.size, -1, dtype=np.intp)
    local[active] = np.arange(m)
    lp, lq = local[p], local[q]

    root = np.sqrt(np.abs(a[p] - a[q]))
    middle = 0.5 * (a[p] + a[q])
    smooth_f = (root + _CF_FLOOR * (1 - middle)) ** 2
    smooth_b = (root + _CF_FLOOR * middle) ** 2

    wf2, wb2, pull_f, pull_b = _cf_pointwise(a)
    aa = a[active]
    diag_f = wf2[active] + aa * aa + np.bincount(lp, smooth_f, m) + np.bincount(lq, smooth_f, m)
    diag_b = (
        wb2[active] + (1 - aa) ** 2 + np.bincount(lp, smooth_b, m) + np.bincount(lq, smooth_b, m)
    )
    cross = aa * (1 - aa)
    span = np.arange(m)
    rows = np.concatenate([span, m + span, span, m + span, lp, lq, m + lp, m + lq])
    cols = np.concatenate([span, m + span, m + span, span, lq, lp, m + lq, m + lp])
    values = np.concatenate(
        [diag_f, diag_b, cross, cross, -smooth_f, -smooth_f, -smooth_b, -smooth_b]
    )
    matrix = scipy.sparse.csr_matrix((values, (rows, cols)), shape=(2 * m, 2 * m))
    return matrix, active, (a, wf2, wb2, pull_f, pull_b)


def _cf_rhs(image_channel: np.ndarray, pointwise) -> tuple[np.ndarray, np.ndarray]:
    a, wf2, wb2, pull_f, pull_b = pointwise
    rhs_f = (wf2 * pull_f + a) * image_channel
    rhs_b = (wb2 * pull_b + 1 - a) * image_channel
    return rhs_f, rhs_b


def _warn_not_converged(result, rtol: float) -> None:
    import warnings

    from vecmatte.linalg.cg import ConvergenceWarning

    warnings.warn(
        f"conjugate gradient for the foreground stopped after {result.iterations} iterations "
        f"with relative residual {result.residual:.3g}, above rtol={rtol:g}; the foreground "
        "colours are not accurate. Raise maxiter, or use method='ml'.",
        ConvergenceWarning,
        stacklevel=5,
    )


def _estimate_cf(image, alpha, *, rtol, maxiter, initial):
    from vecmatte.linalg.cg import conjugate_gradient
    from vecmatte.preconditioners.jacobi import jacobi_operator

    h, w = alpha.shape
    matrix, active, pointwise = _cf_system(alpha)
    a, wf2, wb2, _, _ = pointwise
    m = len(active)
    preconditioner = jacobi_operator(matrix.diagonal()) if m else None
    # Pixels no smoothness term reaches have an independent 2x2 system each.
    m00, m01, m11 = wf2 + a * a, a * (1 - a), wb2 + (1 - a) ** 2
    # Mixed pixels have no pin and a singular 2x2 block (overwritten below): avoid dividing by 0.
    det = np.maximum(m00 * m11 - m01 * m01, np.finfo(np.float64).tiny)
    foreground = np.empty((h * w, 3))
    background = np.empty((h * w, 3))
    if initial is not None:
        initial_f = initial[0].reshape(-1, 3)
        initial_b = initial[1].reshape(-1, 3)
    worst = None
    for channel in range(3):
        rhs_f, rhs_b = _cf_rhs(image[:, :, channel].ravel(), pointwise)
        foreground[:, channel] = (m11 * rhs_f - m01 * rhs_b) / det
        background[:, channel] = (m00 * rhs_b - m01 * rhs_f) / det
        if not m:
            continue
        if initial is None:
            start = np.concatenate([image[:, :, channel].ravel()[active]] * 2)
        else:
            start = np.concatenate([initial_f[active, channel], initial_b[active, channel]])
        # Solve for the correction to the start: the right-hand side is dominated by the pinned
        # pixels, so a residual relative to it would stop long before F and B settle.
        correction = np.concatenate([rhs_f[active], rhs_b[active]]) - matrix @ start
        result = conjugate_gradient(
            matrix,
            correction,
            preconditioner=preconditioner,
            rtol=rtol,
            maxiter=maxiter,
        )
        if worst is None or result.residual > worst.residual:
            worst = result
        foreground[active, channel] = start[:m] + result.x[:m]
        background[active, channel] = start[m:] + result.x[m:]
    if worst is not None and not worst.converged:
        _warn_not_converged(worst, rtol)
    return (
        np.clip(foreground.reshape(h, w, 3), 0.0, 1.0),
        np.clip(background.reshape(h, w, 3), 0.0, 1.0),
    )


# --------------------------------------------------------------------------------------------
# public API


def _estimate(image, alpha, *, method, regularization, gradient_weight, rtol, maxiter):
    """Validate the inputs and run the chosen method.

    Both public functions call it directly, so the convergence warning's stack level (caller,
    public function, here, ``_estimate_cf``, ``_warn_not_converged``) is the same for both.
    """
    image, alpha = _check_inputs(image, alpha)
    method = _check_method(method)
    if method == "ml":
        if not (np.isfinite(regularization) and regularization > 0):
            raise ValueError(f"regularization must be a positive number, got {regularization!r}")
        if not (np.isfinite(gradient_weight) and gradient_weight >= 0):
            raise ValueError(f"gradient_weight must be non-negative, got {gradient_weight!r}")
        options = dict(
            _ML_DEFAULTS,
            regularization=float(regularization),
            gradient_weight=float(gradient_weight),
        )
        return _estimate_ml(image, alpha, **options)
    if not float(rtol) > 0:
        raise ValueError(f"rtol must be positive, got {rtol!r}")
    # Start conjugate gradient from the multi-level estimate: it is close to the closed-form
    # solution and cheap, and cuts the iterations by about 4x on the alphamatting images.
    initial = _estimate_ml(image, alpha, **_ML_DEFAULTS)
    return _estimate_cf(image, alpha, rtol=float(rtol), maxiter=maxiter, initial=initial)


def estimate_foreground_background(
    image,
    alpha,
    *,
    method: str = DEFAULT_METHOD,
    regularization: float = 5e-3,
    gradient_weight: float = 0.1,
    rtol: float = 1e-6,
    maxiter: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Estimate the foreground and background colours of an image given its alpha matte.

    Parameters
    ----------
    image : array_like, shape (h, w, 3)
        The photograph, floats in [0, 1] or uint8/uint16.
    alpha : array_like, shape (h, w)
        Its alpha matte in [0, 1].
    method : {"ml", "cf"}, optional
        ``"ml"`` (default): fast multi-level estimation (Germer et al. 2020). ``"cf"``: the
        closed-form reconstruction of Levin et al. (2008), a sparse least-squares system solved
        by conjugate gradient. See Notes for how they compare.
    regularization, gradient_weight : float, optional
        ``"ml"`` only: smoothness weight between neighbours is
        ``regularization + gradient_weight * |alpha_i - alpha_j|`` (Germer et al.'s
        :math:`\\epsilon = 5 \\cdot 10^{-3}` and :math:`\\omega = 0.1` by default; PyMatting's
        defaults are ``1e-5`` and ``1``).
    rtol, maxiter : optional
        ``"cf"`` only: conjugate gradient tolerance and iteration limit. The tolerance is
        relative to the residual of the starting guess (the ``"ml"`` estimate), not to the
        right-hand side, which the pinned pixels dominate.

    Returns
    -------
    foreground, background : ndarray, shape (h, w, 3)
        Float64 colours in [0, 1]; ``alpha F + (1 - alpha) B`` reproduces the image up to the
        smoothness trade-off (mean error about 0.007 on the alphamatting.com images). Where
        alpha is 0 the foreground is a smooth extrapolation (``"ml"``) or, away from the soft
        edge, black (``"cf"``); likewise the background where alpha is 1.

    Raises
    ------
    ValueError
        If the image or alpha is malformed, their sizes differ, or ``method`` is unknown.

    Warns
    -----
    ConvergenceWarning
        ``"cf"`` only, if conjugate gradient stops at ``maxiter`` above ``rtol``.

    Notes
    -----
    Both methods minimise, per colour channel,

    .. math:: \\sum_i (\\alpha_i F_i + (1 - \\alpha_i) B_i - I_i)^2
              + \\sum_{i \\sim j} w_{ij} \\left((F_i - F_j)^2 + (B_i - B_j)^2\\right)

    with neighbour weights :math:`w_{ij}` growing with :math:`|\\alpha_i - \\alpha_j|`
    (Levin, Lischinski and Weiss, "A Closed-Form Solution to Natural Image Matting", IEEE
    TPAMI 30(2), 2008, eq. 19).

    ``"cf"`` follows the authors' reference code ``solveFB.m``: 8-neighbour smoothness with
    weights :math:`\\sqrt{|\\Delta\\alpha|} + 0.003`, and weak priors pinning F to I where alpha
    is near 1 and B to I where it is near 0. Its normal equations are assembled with
    ``scipy.sparse`` only over the pixels a smoothness term reaches (those within one pixel of
    a mixed pixel, ``0.02 <= alpha <= 0.98``); every other pixel has an independent 2x2 system
    solved directly. The coupled part is solved by conjugate gradient with a Jacobi
    preconditioner, started from the ``"ml"`` estimate (which cuts the iterations about 4x
    compared with starting from the photograph's colours).

    ``"ml"`` (Germer, Uelwer, Conrad and Harmeling, "Fast Multi-Level Foreground Estimation",
    ICPR 2020) solves the 4-neighbour version coarse to fine: at each of about
    :math:`\\log_2 \\max(h, w)` levels the image and alpha are resampled, and every pixel's
    2x2 system is relaxed given its neighbours' current F and B. Here each relaxation is
    whole-grid array arithmetic in red-black (checkerboard) order, which has the convergence
    of the paper's Gauss-Seidel sweeps without a loop over pixels.

    ``"ml"`` is the default, being both faster and closer to the photograph. Measured with
    ``bench/foreground.py`` on the 20 alphamatting.com low-resolution images (ground-truth alpha
    as input; ``bench/results/foreground.md``): mean re-composite error
    :math:`|\alpha F + (1 - \alpha) B - I|` over the mixed pixels 0.0010 for ``"ml"`` against
    0.0063 for ``"cf"``, in 0.5 against 3.1 CPU seconds per image. On semi-synthetic composites
    with known colours (the same alphas over two photographs) ``"cf"`` recovers the
    foreground better where alpha is between 0.1 and 1 (mean error 0.020 against 0.029; the
    photograph itself is 0.109 off): use it when the last bit of colour accuracy in wide soft
    regions is worth six times the time.

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
    )


def estimate_foreground(
    image,
    alpha,
    *,
    method: str = DEFAULT_METHOD,
    regularization: float = 5e-3,
    gradient_weight: float = 0.1,
    rtol: float = 1e-6,
    maxiter: int | None = None,
) -> np.ndarray:
    """Estimate the foreground colours of an image given its alpha matte.

    Same as :func:`estimate_foreground_background` (see it for the parameters, the two
    methods and the default), returning the foreground only.

    Returns
    -------
    ndarray, shape (h, w, 3)
        Float64 foreground colours in [0, 1].

    Examples
    --------
    >>> from vecmatte import estimate_foreground, make_scene
    >>> scene = make_scene((60, 80), seed=0)
    >>> estimate_foreground(scene.image, scene.alpha, method="cf").shape
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
    )[0]
