"""Closed-form foreground and background (Levin, Lischinski and Weiss 2008, section 7).

The least-squares problem of ``solveFB.m`` (the authors' reference code): the compositing
equation per pixel, smoothness of F and B across 8-neighbour edges weighted by
``sqrt|d alpha| + 0.003``, and weak priors pinning F (B) to the photograph where alpha is near
1 (0). Its normal equations are assembled with ``scipy.sparse`` only over the pixels a
smoothness term reaches, and solved by Jacobi-preconditioned conjugate gradient started from
the multi-level estimate (:mod:`vecmatte.foreground.ml`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

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
# The four gradient directions of solveFB: right, down and the two diagonals.
_CF_DIRECTIONS = ((0, 1), (1, 0), (1, 1), (1, -1))
# Peak bytes per pixel when every pixel is coupled (measured with tracemalloc, rounded up).
_BYTES_PER_PIXEL = 700


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


def estimate(
    image: np.ndarray,
    alpha: np.ndarray,
    *,
    rtol: float,
    maxiter: int | None,
    initial: tuple[np.ndarray, np.ndarray] | None,
    background: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Foreground (and background) colours of the closed-form problem; see the module notes.

    Parameters
    ----------
    image : ndarray, shape (h, w, 3)
        The photograph, validated floats in [0, 1].
    alpha : ndarray, shape (h, w)
        The matte, validated floats in [0, 1].
    rtol : float
        Relative residual at which conjugate gradient stops.
    maxiter : int or None
        Iteration limit of conjugate gradient (None: its default).
    initial : (ndarray, ndarray) or None
        The starting guess ``(F, B)`` (the multi-level estimate) or None (the photograph's
        colours).
    background : bool, optional
        Also estimate the background colours (default True).
    progress : callable, optional
        ``progress(done, 3)``, called after each conjugate gradient iteration with the
        channels finished so far, and after each colour channel.

    Returns
    -------
    foreground : ndarray, shape (h, w, 3)
        The foreground colours.
    background : ndarray, shape (h, w, 3) or None
        The background colours, None unless ``background``.
    """
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
    background_out = background
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
            # A caller that stops on progress (the server, when its client left) must not wait
            # for a whole channel's solve: it hears the channels done so far after each step.
            callback=None if progress is None else (lambda _i, _r, done=channel: progress(done, 3)),
        )
        if worst is None or result.residual > worst.residual:
            worst = result
        foreground[active, channel] = start[:m] + result.x[:m]
        background[active, channel] = start[m:] + result.x[m:]
        if progress is not None:
            progress(channel + 1, 3)
    if worst is not None and not worst.converged:
        _warn_not_converged(worst, rtol)
    np.clip(foreground, 0.0, 1.0, out=foreground)
    np.clip(background, 0.0, 1.0, out=background)
    return foreground.reshape(h, w, 3), background.reshape(h, w, 3) if background_out else None


def memory_bytes(shape: tuple[int, int], *, background: bool = True) -> int:
    """Peak extra bytes of :func:`estimate` on an image of ``shape`` (an over-estimate).

    Every pixel counted as coupled: the sparse system over ``2 n`` unknowns (about ten
    entries a row), conjugate gradient's vectors, the pointwise terms and both outputs.

    Parameters
    ----------
    shape : (int, int)
        The image's height and width.
    background : bool, optional
        Also estimate the background colours (default True).

    Returns
    -------
    int
        Estimated peak bytes.
    """
    pixels = int(shape[0]) * int(shape[1])
    return pixels * _BYTES_PER_PIXEL
