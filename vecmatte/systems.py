"""The linear systems that alpha methods hand to the solver, and the two ways to build them.

A method turns an image and a trimap into a :class:`MattingSystem` ``A x = b``: ``A``
symmetric positive definite, ``x`` the alpha of some pixels. Two constructions cover the
Laplacian methods:

- :func:`hard_constraint_system`: the known pixels are fixed, the unknowns solve
  ``L_uu x = -L_uk alpha_k`` (closed-form matting; scikit-image's random walker);
- :func:`soft_constraint_system`: every pixel is solved, the known ones pulled towards their
  value with weight ``lam``: ``(L + lam D) x = lam alpha_k`` with ``D = diag(known)``
  (PyMatting's KNN, LBDM, random walk, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vecmatte import _defaults
from vecmatte._numbers import whole_number

__all__ = [
    "LazyStencil",
    "MattingSystem",
    "Stencil",
    "flat_window_fraction",
    "hard_constraint_system",
    "soft_constraint_system",
]


@dataclass(frozen=True)
class Stencil:
    """Grid neighbourhood of the solved pixels, for preconditioners that exploit it.

    ``neighbors[s, u]`` is the solution index of the neighbour of solution entry ``u`` at
    ``offsets[s]`` (offsets in row-major flat order), or ``-1`` where that neighbour is not
    solved for or lies outside the image. ``values[s, u]`` is the matching matrix entry.

    Parameters
    ----------
    offsets : ndarray of int, shape (k,)
        Flat offsets of the stencil, row-major.
    neighbors : ndarray of int, shape (k, m)
        Solution index of each entry's neighbour at each offset, ``-1`` if none.
    values : ndarray, shape (k, m)
        The matching matrix entries.
    """

    offsets: np.ndarray
    neighbors: np.ndarray
    values: np.ndarray


class LazyStencil(Stencil):
    """A :class:`Stencil` whose two ``(k, m)`` arrays are formed only when first read.

    Only the ichol preconditioner reads a stencil: the other solves never pay for the
    per-offset arrays next to the matrix. ``form()`` returns ``(neighbors, values)`` and is
    called once; what it holds is released after.

    Parameters
    ----------
    offsets : ndarray of int
        Flat offsets of the stencil, row-major.
    form : callable
        ``form()`` returns ``(neighbors, values)``, both ``(k, m)``.
    """

    def __init__(self, offsets: np.ndarray, form) -> None:
        object.__setattr__(self, "offsets", offsets)
        object.__setattr__(self, "_form", form)
        object.__setattr__(self, "_formed", None)

    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if self._formed is None:
            object.__setattr__(self, "_formed", tuple(self._form()))
            object.__setattr__(self, "_form", None)
        return self._formed

    @property
    def neighbors(self) -> np.ndarray:
        return self._arrays()[0]

    @property
    def values(self) -> np.ndarray:
        return self._arrays()[1]


@dataclass(frozen=True)
class MattingSystem:
    """``matrix @ x = rhs`` for the alpha of the pixels ``unknown``.

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix or scipy.sparse.linalg.LinearOperator, shape (m, m)
        Symmetric positive definite.
    rhs : ndarray, shape (m,)
    unknown : ndarray of intp, shape (m,)
        Flat (row-major) pixel index of each solution entry: the unknown pixels under hard
        constraints, all pixels under soft constraints.
    shape : tuple of int
        ``(h, w)`` of the image.
    stencil : Stencil, optional
        Grid neighbourhood and entries, for the ``"ichol"`` preconditioner.
    reach : int, optional
        Entries couple only pixels at most ``reach`` apart in both coordinates (enables
        nested dissection in the ``"direct"`` preconditioner); ``None``: not grid-local.
    diagonal : ndarray, shape (m,), optional
        Diagonal of a matrix-free ``matrix`` (for ``"jacobi"``).
    x0 : ndarray, shape (m,), optional
        Starting guess of conjugate gradient.
    """

    matrix: object
    rhs: np.ndarray
    unknown: np.ndarray
    shape: tuple[int, int]
    stencil: Stencil | None = None
    reach: int | None = None
    diagonal: np.ndarray | None = None
    x0: np.ndarray | None = None

    def coordinates(self) -> tuple[np.ndarray, np.ndarray]:
        """Row and column of each solution entry's pixel.

        Returns
        -------
        rows, columns : ndarray of int
            One entry per solution entry.
        """
        return np.divmod(self.unknown, self.shape[1])


def _known_split(laplacian, is_fg, is_bg) -> tuple[np.ndarray, np.ndarray]:
    from vecmatte._arrays import check_mask

    # As the Laplacians' known= masks: a trimap given as is_fg read its 0.5 as True (every
    # unknown pixel fixed to 1), and masks of another size than the Laplacian reached SciPy.
    is_fg = check_mask(is_fg, np.shape(is_fg), "is_fg")
    is_bg = check_mask(is_bg, is_fg.shape, "is_bg")
    n = is_fg.size
    if tuple(laplacian.shape) != (n, n):
        raise ValueError(
            f"laplacian has shape {tuple(laplacian.shape)} but the masks have {n} pixels "
            f"(shape {is_fg.shape}); expected ({n}, {n})"
        )
    known = (is_fg | is_bg).ravel()
    return is_fg.ravel().astype(np.float64), known


def hard_constraint_system(
    laplacian, is_fg: np.ndarray, is_bg: np.ndarray, *, reach: int | None = None
) -> MattingSystem:
    """``L_uu x = -L_uk alpha_k``: the Laplacian's system with the known pixels fixed.

    Parameters
    ----------
    laplacian : sparse matrix or LinearOperator, shape (n, n)
        Symmetric positive semi-definite over all ``n = h * w`` pixels, row-major.
    is_fg, is_bg : ndarray of bool, shape (h, w)
        Known foreground (alpha 1) and background (alpha 0) pixels.
    reach : int, optional
        Passed on to the system (see :class:`MattingSystem`).

    Returns
    -------
    MattingSystem
        Over the unknown pixels.

    Notes
    -----
    With ``u`` the unknown and ``k`` the known pixels, minimising ``alpha^T L alpha`` with
    ``alpha_k`` fixed gives ``L_uu alpha_u = -L_uk alpha_k`` (Grady, "Random Walks for Image
    Segmentation", IEEE TPAMI 28(11), 2006; scikit-image's ``random_walker`` builds it the
    same way). Since ``alpha_k`` is 1 on the foreground and 0 elsewhere,
    ``L_uk alpha_k = L[u] @ is_fg``. A matrix-free ``laplacian`` gives a matrix-free system
    whose ``diagonal`` is filled when ``laplacian`` has a ``diagonal()`` method.
    """
    shape = tuple(np.shape(is_fg))
    fg, known = _known_split(laplacian, is_fg, is_bg)
    unknown = np.flatnonzero(~known)
    if hasattr(laplacian, "tocsr"):
        rows = laplacian.tocsr()[unknown]
        matrix = rows[:, unknown].tocsr()
        rhs = -(rows @ fg)
        return MattingSystem(matrix, rhs, unknown, shape, reach=reach)
    from scipy.sparse.linalg import LinearOperator

    n = len(fg)

    def matvec(x):
        full = np.zeros(n)
        full[unknown] = np.ravel(x)
        return (laplacian @ full)[unknown]

    m = len(unknown)
    matrix = LinearOperator((m, m), matvec=matvec, dtype=np.float64)
    rhs = -(laplacian @ fg)[unknown]
    diagonal = laplacian.diagonal()[unknown] if hasattr(laplacian, "diagonal") else None
    return MattingSystem(matrix, rhs, unknown, shape, reach=reach, diagonal=diagonal)


def soft_constraint_system(
    laplacian,
    is_fg: np.ndarray,
    is_bg: np.ndarray,
    *,
    lam: float = _defaults.LAMBDA,
    reach: int | None = None,
) -> MattingSystem:
    """``(L + lam D) x = lam alpha_k`` over all pixels, ``D`` the diagonal of known pixels.

    Parameters
    ----------
    laplacian : sparse matrix or LinearOperator, shape (n, n)
        Symmetric positive semi-definite over all ``n = h * w`` pixels, row-major.
    is_fg, is_bg : ndarray of bool, shape (h, w)
        Known foreground and background pixels.
    lam : float, optional
        Weight pulling known pixels to their value (PyMatting's ``lambda_value``).
    reach : int, optional
        Passed on to the system (see :class:`MattingSystem`).

    Returns
    -------
    MattingSystem
        Over all pixels (``unknown`` is ``arange(n)``).

    Notes
    -----
    Minimises ``alpha^T L alpha + lam (alpha - alpha_k)^T D (alpha - alpha_k)``, as
    PyMatting's ``make_linear_system`` (Aksoy, Aydin, Pollefeys, "Designing Effective
    Inter-Pixel Information Flow for Natural Image Matting", CVPR 2017, eq. 20).
    """
    from vecmatte._numbers import finite_number

    # float() alone named no option for lam="x" and took lam=True as 1.
    lam = finite_number(lam, "lam", "a positive finite number", minimum=0.0, above_minimum=True)
    shape = tuple(np.shape(is_fg))
    fg, known = _known_split(laplacian, is_fg, is_bg)
    n = len(fg)
    weights = lam * known.astype(np.float64)
    rhs = lam * fg
    unknown = np.arange(n)
    if hasattr(laplacian, "tocsr"):
        import scipy.sparse

        matrix = (laplacian.tocsr() + scipy.sparse.diags(weights, format="csr")).tocsr()
        return MattingSystem(matrix, rhs, unknown, shape, reach=reach)
    from scipy.sparse.linalg import LinearOperator

    def matvec(x):
        x = np.ravel(x)
        return laplacian @ x + weights * x

    matrix = LinearOperator((n, n), matvec=matvec, dtype=np.float64)
    diagonal = laplacian.diagonal() + weights if hasattr(laplacian, "diagonal") else None
    return MattingSystem(matrix, rhs, unknown, shape, reach=reach, diagonal=diagonal)


def flat_window_fraction(image: np.ndarray, unknown: np.ndarray, radius: int = 1) -> float:
    """Fraction of the unknown pixels whose ``(2 radius + 1)**2`` window holds one colour.

    Such windows make a learning-based (LBDM) system nearly singular: their blocks are of
    the order of ``eps`` where others are of the order of one (condition ~1e13 on images of
    a few flat colours), so a residual stop of an iterative preconditioner says nothing of
    the error there. Photographs have none (sensor noise; one pixel of 80 alphamatting.com
    trimaps at full and half size); graphics, thresholded or posterised images have many.

    Parameters
    ----------
    image : ndarray, shape (h, w, c)
    unknown : ndarray of bool, shape (h, w)
    radius : int, optional
        Window radius, a whole number of at least 1.

    Returns
    -------
    float
        In [0, 1]; 0 when nothing is unknown.

    Raises
    ------
    ValueError
        One line, for a radius that is not a whole number of at least 1.
    """
    from scipy.ndimage import maximum_filter, minimum_filter

    # radius 0 made every one-pixel window "flat" (1.0), 1.5 read as 1, -1 failed in SciPy.
    size = 2 * whole_number(radius, "radius", "a whole number of at least 1", minimum=1) + 1
    if not unknown.any():
        return 0.0
    spread = np.zeros(unknown.shape)
    for channel in np.moveaxis(np.asarray(image), -1, 0):
        spread = np.maximum(
            spread,
            maximum_filter(channel, size, mode="nearest")
            - minimum_filter(channel, size, mode="nearest"),
        )
    return float(np.count_nonzero(spread[unknown] == 0) / np.count_nonzero(unknown))
