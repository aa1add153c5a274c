"""Error measures of alpha mattes against ground truth, as in the alphamatting.com benchmark.

All four follow Rhemann et al., "A Perceptually Motivated Online Benchmark for Image Matting",
CVPR 2009, and the evaluation code published with the benchmark and copied by later matting
papers: alpha in [0, 1], errors summed (or averaged, for MSE) over the *unknown* pixels of
the trimap. SAD, gradient and connectivity errors are divided by 1000, the scale at which
matting papers report them.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from vecmatte._arrays import check_gray
from vecmatte._numbers import finite_number, real_number, shown
from vecmatte._typing import ImageLike
from vecmatte.trimap import check_trimap, split_checked

__all__ = ["METRICS", "connectivity_error", "gradient_error", "matting_errors", "mse", "sad"]

REPORT_SCALE = 1000.0
# The sigmas of gradient_error whose kernel is finite and covers the Gaussian (see there).
SIGMA_RANGE = (0.05, 24.0)
# The most thresholds connectivity_error takes (each labels the image's components once).
MAX_CONNECTIVITY_STEPS = 1000
# The benchmark's sigma of gradient_error and step of connectivity_error (their defaults).
GRADIENT_SIGMA = 1.4
CONNECTIVITY_STEP = 0.1


def _prepare(alpha, true_alpha, trimap) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated float mattes and the boolean mask of the pixels to evaluate."""
    alpha = check_gray(alpha, "alpha")
    true_alpha = check_gray(true_alpha, "true_alpha")
    if alpha.shape != true_alpha.shape:
        raise ValueError(
            f"alpha has shape {alpha.shape} but true_alpha has shape {true_alpha.shape}; "
            "they must have the same height and width"
        )
    if trimap is None:
        return alpha, true_alpha, np.ones(alpha.shape, dtype=bool)
    trimap = check_trimap(trimap)
    if trimap.shape != alpha.shape:
        raise ValueError(
            f"trimap has shape {trimap.shape} but alpha has shape {alpha.shape}; "
            "they must have the same height and width"
        )
    return alpha, true_alpha, split_checked(trimap)[2]


def sad(alpha: ImageLike, true_alpha: ImageLike, trimap: ImageLike | None = None) -> float:
    """Sum of absolute differences over the trimap's unknown pixels, divided by 1000.

    Parameters
    ----------
    alpha, true_alpha : array_like, shape (h, w)
        Estimated and ground-truth alpha: floats in [0, 1], or uint8/uint16.
    trimap : array_like, shape (h, w), optional
        Only its unknown pixels (values strictly between 0.1 and 0.9 after scaling to [0, 1])
        are counted; ``None`` counts every pixel.

    Returns
    -------
    float
        :math:`\\frac{1}{1000} \\sum_{i \\in U} |\\alpha_i - \\alpha^*_i|`.

    Raises
    ------
    ValueError
        If an input is malformed or the shapes differ.

    Examples
    --------
    >>> import numpy as np
    >>> from vecmatte.metrics import sad
    >>> sad(np.full((10, 100), 0.5), np.zeros((10, 100)))
    0.5
    """
    return _sad(*_prepare(alpha, true_alpha, trimap))


def _sad(alpha: np.ndarray, true_alpha: np.ndarray, mask: np.ndarray) -> float:
    return float(np.abs(alpha - true_alpha)[mask].sum()) / REPORT_SCALE


def mse(alpha: ImageLike, true_alpha: ImageLike, trimap: ImageLike | None = None) -> float:
    """Mean squared error over the trimap's unknown pixels (0 if there are none).

    Errors as in :func:`sad`.

    Parameters
    ----------
    alpha, true_alpha, trimap
        As in :func:`sad`.

    Returns
    -------
    float
        :math:`\\frac{1}{|U|} \\sum_{i \\in U} (\\alpha_i - \\alpha^*_i)^2`, not scaled.
    """
    return _mse(*_prepare(alpha, true_alpha, trimap))


def _mse(alpha: np.ndarray, true_alpha: np.ndarray, mask: np.ndarray) -> float:
    count = int(mask.sum())
    if count == 0:
        return 0.0
    return float(np.square(alpha - true_alpha)[mask].sum()) / count


@lru_cache(maxsize=8)
def _gaussian_derivative_kernel(sigma: float) -> np.ndarray:
    """The benchmark's first-derivative-of-Gaussian kernel along x, unit Frobenius norm.

    Its half size is where the Gaussian falls below 1 % of its peak,
    ``ceil(sigma * sqrt(-2 ln(sqrt(2 pi) sigma 0.01)))`` (4 for sigma = 1.4, a 9 x 9 kernel);
    entry ``(i, j)`` is ``g(i) g'(j)`` with ``i, j`` counted from the centre.
    """
    half = int(np.ceil(sigma * np.sqrt(-2.0 * np.log(np.sqrt(2.0 * np.pi) * sigma * 1e-2))))
    u = np.arange(-half, half + 1, dtype=np.float64)
    gauss = np.exp(-(u**2) / (2.0 * sigma**2)) / (sigma * np.sqrt(2.0 * np.pi))
    dgauss = -u * gauss / sigma**2
    kernel = np.outer(gauss, dgauss)
    kernel /= np.sqrt(np.square(kernel).sum())
    kernel.setflags(write=False)
    return kernel


def _gradient_magnitude(alpha: np.ndarray, sigma: float) -> np.ndarray:
    from scipy.ndimage import convolve1d

    kernel = _gaussian_derivative_kernel(sigma)
    # The kernel is an outer product (smoothing column x derivative row): filter separably.
    half = kernel.shape[0] // 2
    smooth = kernel[:, half + 1] / kernel[half, half + 1]
    derivative = kernel[half]
    gx = convolve1d(
        convolve1d(alpha, smooth, axis=0, mode="nearest"), derivative, axis=1, mode="nearest"
    )
    gy = convolve1d(
        convolve1d(alpha, smooth, axis=1, mode="nearest"), derivative, axis=0, mode="nearest"
    )
    return np.hypot(gx, gy)


def gradient_error(
    alpha: ImageLike,
    true_alpha: ImageLike,
    trimap: ImageLike | None = None,
    *,
    sigma: float = GRADIENT_SIGMA,
) -> float:
    """Gradient error: squared difference of Gaussian-gradient magnitudes, divided by 1000.

    Parameters
    ----------
    alpha, true_alpha, trimap
        As in :func:`sad`.
    sigma : float, optional
        Standard deviation of the Gaussian derivative filters (the benchmark's 1.4), in
        [0.05, 24]: the kernel's half size is the benchmark's, where the Gaussian falls below
        1 % of its peak, which stops growing with ``sigma`` at about 24.

    Returns
    -------
    float
        :math:`\\frac{1}{1000} \\sum_{i \\in U}
        (\\|\\nabla\\alpha_i\\| - \\|\\nabla\\alpha^*_i\\|)^2`.

    Notes
    -----
    The gradients are convolutions with the normalised kernel of
    :func:`_gaussian_derivative_kernel` and its transpose, with edge pixels replicated, over
    the whole image (only the sum is restricted to the unknown pixels). The benchmark code
    first rescales each matte to its own [min, max]; a matte constrained by a trimap with
    both foreground and background already spans [0, 1], so this is left out.
    """
    alpha, true_alpha, mask = _prepare(alpha, true_alpha, trimap)
    # Below 0.05 the kernel's entries underflow (the error was NaN); above about 24 the
    # benchmark's half-size formula shrinks the window again (a 7 x 7 kernel at 39.8), and at
    # 39.9 it takes the logarithm of a number above 1.
    sigma = finite_number(
        sigma,
        "sigma",
        f"a number in [{SIGMA_RANGE[0]}, {SIGMA_RANGE[1]}] (the benchmark's is 1.4)",
        minimum=SIGMA_RANGE[0],
        maximum=SIGMA_RANGE[1],
    )
    return _gradient_error(alpha, true_alpha, mask, sigma)


def _gradient_error(
    alpha: np.ndarray, true_alpha: np.ndarray, mask: np.ndarray, sigma: float
) -> float:
    difference = _gradient_magnitude(alpha, sigma) - _gradient_magnitude(true_alpha, sigma)
    return float(np.square(difference)[mask].sum()) / REPORT_SCALE


def _connectivity_levels(alpha: np.ndarray, true_alpha: np.ndarray, step: float) -> np.ndarray:
    """Per pixel, the last threshold at which it is still connected to the source region.

    For thresholds ``t = step, 2 step, ..., 1`` the source region is the largest
    4-connected component of ``(alpha >= t) & (true_alpha >= t)``; a pixel that leaves it at
    threshold ``t_k`` gets level ``t_{k-1}``, one that never leaves it gets 1.
    """
    from scipy.ndimage import label

    steps = round(1.0 / step)
    level = np.full(alpha.shape, -1.0)
    for k in range(1, steps + 1):
        threshold = k / steps
        components, count = label((alpha >= threshold) & (true_alpha >= threshold))
        source = np.zeros(alpha.shape, dtype=bool)
        if count:
            sizes = np.bincount(components.ravel())
            sizes[0] = 0
            source = components == int(np.argmax(sizes))
        level[(level == -1.0) & ~source] = (k - 1) / steps
    level[level == -1.0] = 1.0
    return level


def connectivity_error(
    alpha: ImageLike,
    true_alpha: ImageLike,
    trimap: ImageLike | None = None,
    *,
    step: float = CONNECTIVITY_STEP,
) -> float:
    """Connectivity error of Rhemann et al. 2009, divided by 1000.

    Parameters
    ----------
    alpha, true_alpha, trimap
        As in :func:`sad`.
    step : float, optional
        Threshold step (the benchmark's 0.1); ``1 / step`` must be a whole number of at
        most 1000.

    Returns
    -------
    float
        :math:`\\frac{1}{1000} \\sum_{i \\in U} |\\varphi(\\alpha_i, l_i) -
        \\varphi(\\alpha^*_i, l_i)|` with :math:`\\varphi(a, l) = 1 - (a - l)
        [a - l \\ge 0.15]`.

    Notes
    -----
    :math:`l_i` is the highest threshold at which pixel :math:`i` still belongs to the
    largest 4-connected region where both mattes are at least that threshold (see
    :func:`_connectivity_levels`); a pixel is penalised by how far its alpha rises above
    the level at which it got disconnected, ignoring rises below 0.15.

    The thresholds are ``k * step`` to the last bit, as MATLAB's ``0:step:1`` in the
    benchmark's code. Python ports that take ``np.arange(0, 1 + step, step)`` compare with
    0.6000000000000001 and 0.7000000000000001, so an 8-bit level 153 (0.6) falls on the
    other side (0.2 to 0.3 % more on GT01, GT04 and GT13 with a blurred, noisy prediction).
    """
    alpha, true_alpha, mask = _prepare(alpha, true_alpha, trimap)
    step = real_number(step, "step", "a number that divides 1 into whole steps (e.g. 0.1)")
    try:
        step = float(step)
    except OverflowError:  # an integer such as 10**400: refused below as it is
        pass
    # 1e-6, not tighter: np.float32(0.1) is 0.10000000149 and still means ten steps. Each
    # step labels the image once: at most MAX_CONNECTIVITY_STEPS of them (1e-9 ran for hours).
    if not (
        1.0 / MAX_CONNECTIVITY_STEPS <= step <= 1 and abs(1.0 / step - round(1.0 / step)) < 1e-6
    ):
        raise ValueError(
            f"step must divide 1 into a whole number of steps, at most "
            f"{MAX_CONNECTIVITY_STEPS} (e.g. 0.1), got {shown(step)}"
        )
    return _connectivity_error(alpha, true_alpha, mask, step)


def _connectivity_error(
    alpha: np.ndarray, true_alpha: np.ndarray, mask: np.ndarray, step: float
) -> float:
    level = _connectivity_levels(alpha, true_alpha, step)

    def phi(values: np.ndarray) -> np.ndarray:
        rise = values - level
        return 1.0 - rise * (rise >= 0.15)

    return float(np.abs(phi(alpha) - phi(true_alpha))[mask].sum()) / REPORT_SCALE


METRICS = {"sad": sad, "mse": mse, "gradient": gradient_error, "connectivity": connectivity_error}


def matting_errors(
    alpha: ImageLike, true_alpha: ImageLike, trimap: ImageLike | None = None
) -> dict[str, float]:
    """All four errors of :data:`METRICS` at once: ``sad``, ``mse``, ``gradient``, ``connectivity``.

    Errors as in :func:`sad`; ``gradient`` and ``connectivity`` take their defaults (the
    benchmark's sigma 1.4 and step 0.1).

    Parameters
    ----------
    alpha, true_alpha, trimap
        As in :func:`sad`.

    Returns
    -------
    dict of str to float
        The four errors by name, each as its function returns it.
    """
    # Checked once: each metric's own call checks its three arrays again.
    checked = _prepare(alpha, true_alpha, trimap)
    return {
        "sad": _sad(*checked),
        "mse": _mse(*checked),
        "gradient": _gradient_error(*checked, GRADIENT_SIGMA),
        "connectivity": _connectivity_error(*checked, CONNECTIVITY_STEP),
    }
