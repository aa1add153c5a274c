"""The information flows of Aksoy, Aydin and Pollefeys' information-flow matting.

Information-flow matting (Aksoy, Aydin, Pollefeys, "Designing Effective Inter-Pixel
Information Flow for Natural Image Matting", CVPR 2017) sums four energies, each a quadratic
form in alpha:

- *colour mixture*: each unknown pixel's colour as an affine combination (locally linear
  embedding, LLE) of its ``K = 20`` nearest neighbours in ``[r, g, b, x/w, y/h]`` among all
  pixels; energy ``|(I_u - W_cm) alpha|^2``;
- *known to unknown*: the same LLE over 7 foreground and 7 background neighbours; the sum of
  the foreground weights is an estimate ``alpha_hat`` of alpha, with a confidence;
- *intra unknown*: ``K = 5`` neighbours among unknown pixels, weights
  ``max(1 - |f_i - f_j|_1 / 5, 0)``, symmetrised; a graph Laplacian;
- *local*: the closed-form matting Laplacian (3x3 windows) over the windows that touch the
  unknown region.

Nearest neighbours come from :class:`scipy.spatial.cKDTree`; every weight is computed for all
pixels at once (the LLE solves: :mod:`vecmatte.laplacians._lle`). Defaults follow
``getMattingParams('IFM')`` of the authors' MATLAB toolbox
(``yaksoy/AffinityBasedMattingToolbox``).
"""

from __future__ import annotations

import numpy as np

from vecmatte._arrays import check_image, check_mask
from vecmatte._numbers import finite_number, whole_number
from vecmatte.laplacians._lle import lle_weights, pixel_lle_weights
from vecmatte.laplacians._stencil import available_cpus

__all__ = [
    "KU_CONFIDENCES",
    "color_mixture_flow",
    "color_mixture_weights",
    "information_flow_laplacian",
    "intra_unknown_flow",
    "intra_unknown_weights",
    "known_to_unknown_flow",
    "lle_weights",
    "local_flow",
    "nonlocal_neighbors",
    "search_order",
]

# Pixels per block of intra-unknown distances: each block's temporaries stay small (the
# LLE solves have their own, vecmatte.laplacians._lle._BLOCK, of the same size).
_BLOCK = 8192
# Unbalanced (sliding-midpoint) trees with 32-point leaves build three times faster than
# SciPy's default and answer queries far from the data (unknown pixels searching the
# background) up to eight times faster. Measured on the alphamatting images.
_TREE_OPTIONS = {"leafsize": 32, "balanced_tree": False, "compact_nodes": False}
#: Ways to compute the known-to-unknown estimate's confidence (see known_to_unknown_flow).
KU_CONFIDENCES = ("means", "toolbox")
# Smallest weight sum by which the known-to-unknown flow divides to get a side's mean colour.
_MIXTURE_FLOOR = 1e-3


def pixel_features(image: np.ndarray, xy_weight: float) -> np.ndarray:
    """``(h*w, 5)`` features ``[r, g, b, xy_weight * x / w, xy_weight * y / h]``, row-major."""
    h, w = image.shape[:2]
    features = np.empty((h, w, 5))
    features[:, :, :3] = image
    # One value per column and per row, broadcast (no coordinate grids).
    features[:, :, 3] = (xy_weight / w) * (np.arange(w) + 1.0)
    features[:, :, 4] = ((xy_weight / h) * (np.arange(h) + 1.0))[:, None]
    return features.reshape(h * w, 5)


def _features_of(image: np.ndarray, pixels: np.ndarray, xy_weight: float) -> np.ndarray:
    """The rows ``pixels`` of :func:`pixel_features`, computed for those pixels only."""
    h, w = image.shape[:2]
    y, x = np.divmod(pixels, w)
    features = np.empty((len(pixels), 5))
    features[:, :3] = image.reshape(h * w, 3)[pixels]
    features[:, 3] = (xy_weight / w) * (x + 1.0)
    features[:, 4] = (xy_weight / h) * (y + 1.0)
    return features


def search_order(points: np.ndarray) -> np.ndarray:
    """An order of ``points`` (rows) that keeps neighbours in space close in the order.

    Asking a k-d tree in this order keeps consecutive searches in the same branches: the
    leaf order of a tree over the points themselves (up to twice as fast as row order).
    """
    from scipy.spatial import cKDTree

    return cKDTree(points, **_TREE_OPTIONS).indices


def nonlocal_neighbors(
    features: np.ndarray,
    query: np.ndarray,
    candidates: np.ndarray,
    k: int,
    *,
    order: np.ndarray | None = None,
) -> np.ndarray:
    """The ``k`` nearest candidates of each query pixel in feature space, itself excluded.

    Parameters
    ----------
    features : ndarray, shape (n, d)
        One feature vector per pixel.
    query, candidates : ndarray of intp
        Flat indices of the pixels whose neighbours are sought, and of those searched.
    k : int
        Neighbours per query pixel, at least 1; ``len(candidates)`` must exceed ``k`` when
        a query pixel is among the candidates, and reach it otherwise.
    order : ndarray of intp, optional
        Order in which to ask for the query pixels (positions in ``query``), from
        :func:`search_order` of their features; computed when not given. Several searches
        for the same query pixels share it.

    Returns
    -------
    ndarray of intp, shape (len(query), k)
        Flat pixel indices, nearest first.

    Raises
    ------
    ValueError
        If ``k`` is below 1 or more than the candidates other than the query pixel.
    """
    from scipy.spatial import cKDTree

    k = whole_number(k, "k", "a whole number of at least 1", minimum=1)
    every = len(candidates) == len(features) and np.array_equal(
        candidates, np.arange(len(features))
    )
    # Every pixel a candidate: the features as they are (the tree copies them only if it
    # must), the same points in the same order as features[candidates].
    tree = cKDTree(features if every else features[candidates], **_TREE_OPTIONS)
    if order is None:
        same = len(query) == len(candidates) and np.array_equal(query, candidates)
        if same:  # searching a set for its own members: the tree's leaf order
            order = tree.indices
        elif every:  # the query pixels in the order of the searched tree's leaves
            # Leaf positions are distinct: scattering the query positions onto them and
            # reading them back in leaf order is the stable argsort, without the sort.
            leaf = np.empty(len(features), dtype=np.intp)
            leaf[tree.indices] = np.arange(len(features))
            by_leaf = np.full(len(features), -1, dtype=np.intp)
            by_leaf[leaf[query]] = np.arange(len(query))
            order = by_leaf[by_leaf >= 0]
        else:
            order = search_order(features[query])
    if every:
        extra = 1  # every pixel is a candidate, the query pixels too
    else:
        searched = np.zeros(len(features), dtype=bool)
        searched[candidates] = True
        # A query pixel among the candidates finds itself first: ask for one more.
        extra = int(searched[query].any())
    # cKDTree pads a search beyond its points with index len(points): an IndexError deep in
    # the gather, or (every pixel a candidate) the index n returned as a neighbour.
    if len(query):
        others = " other than the pixel" * extra
        _check_count(k, "k", len(candidates) - extra, f"candidates{others}")
    asked = query[order]
    # The CPUs this process may use (SciPy's -1 starts a thread for each of the machine's;
    # the neighbours found do not depend on it).
    nearest = tree.query(features[asked], k=k + extra, workers=available_cpus())[1]
    if not every:  # tree positions to pixel indices
        nearest = candidates[nearest]
    found = np.empty((len(query), k), dtype=np.intp)
    if not extra:
        found[order] = nearest
        return found
    # Drop the query pixel itself where it was found, the farthest neighbour elsewhere;
    # usually it comes first (distance 0), and then the rest is one slice.
    if np.array_equal(nearest[:, 0], asked):
        found[order] = nearest[:, 1:]
        return found
    drop = nearest == asked[:, None]
    drop[:, -1] |= ~drop.any(axis=1)
    found[order] = nearest[~drop].reshape(len(query), k)
    return found


def color_mixture_flow(
    image: np.ndarray, unknown: np.ndarray, *, k: int = 20, xy_weight: float = 1.0
):
    """Colour-mixture flow ``W_cm``: LLE weights of each unknown pixel's ``k`` neighbours.

    Parameters
    ----------
    image : ndarray, shape (h, w, 3)
        RGB image in [0, 1].
    unknown : ndarray of bool, shape (h, w)
        Pixels that receive a row of weights.
    k : int, optional
        Neighbours per unknown pixel, searched among all pixels in ``[rgb, xy]``.
    xy_weight : float, optional
        Scale of the normalised coordinates ``x / w``, ``y / h`` in the neighbour search.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (h*w, h*w)
        Row ``i`` of an unknown pixel holds its ``k`` weights (summing to one); other rows
        are empty. The energy is :math:`|(D_u - W_{cm}) \\alpha|^2` with
        :math:`D_u = \\mathrm{diag}(unknown)`.

    Raises
    ------
    ValueError
        One line naming the value: ``unknown`` not a boolean mask of the image's size, ``k``
        not below the image's pixels, ``xy_weight`` negative or not finite.

    Notes
    -----
    Neighbours are found with the spatial coordinates, but the weights use colour only
    (section 3.1 of the paper).
    """
    import scipy.sparse

    image, unknown = _image_and_masks(image, unknown=unknown)
    h, w = unknown.shape
    n = h * w
    neighbors, weights = color_mixture_weights(image, np.flatnonzero(unknown), k, xy_weight)
    indptr = np.zeros(n + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(unknown.ravel() * k)
    return scipy.sparse.csr_matrix((weights.ravel(), neighbors.ravel(), indptr), shape=(n, n))


def color_mixture_weights(
    image: np.ndarray, rows: np.ndarray, k: int, xy_weight: float
) -> tuple[np.ndarray, np.ndarray]:
    """Neighbours ``(m, k)`` (flat indices) and LLE weights ``(m, k)`` of the pixels ``rows``.

    ``k`` below the image's pixels and ``xy_weight`` finite and >= 0, else one ValueError line.
    """
    k = _neighbour_count(k, "k", image.shape[0] * image.shape[1], "pixels")
    xy_weight = _weight(xy_weight, "xy_weight")
    features = pixel_features(image, xy_weight)
    neighbors = nonlocal_neighbors(features, rows, np.arange(len(features)), k)
    return neighbors, pixel_lle_weights(_colour_planes(image), rows, neighbors)


def _colour_planes(image: np.ndarray) -> np.ndarray:
    """``(3, h*w)`` red, green and blue planes: strided views of a C-contiguous float64 image
    (the pipeline's), not a contiguous copy (10 MB at full size, for each flow)."""
    return np.asarray(image, dtype=np.float64).reshape(-1, 3).T


def known_to_unknown_flow(
    image: np.ndarray,
    is_fg: np.ndarray,
    is_bg: np.ndarray,
    *,
    k: int = 7,
    xy_weight: float = 10.0,
    where: np.ndarray | None = None,
    confidence: str = "means",
) -> tuple[np.ndarray, np.ndarray]:
    """Known-to-unknown flow: an alpha estimate and its confidence for every pixel.

    Parameters
    ----------
    image : ndarray, shape (h, w, 3)
        RGB image in [0, 1].
    is_fg, is_bg : ndarray of bool, shape (h, w)
        Known foreground and background; every other pixel is unknown.
    k : int, optional
        Neighbours searched in the foreground and, separately, in the background.
    xy_weight : float, optional
        Scale of the normalised coordinates in the neighbour search.
    where : ndarray of bool, shape (h, w), optional
        The unknown pixels whose estimate is wanted (default: all); other unknown pixels
        get estimate and confidence 0.
    confidence : {"means", "toolbox"}, optional
        ``"means"`` compares the weighted mean colours of the two sides (see Notes);
        ``"toolbox"`` their weighted sums, as the authors' toolbox and paper do.

    Returns
    -------
    alpha_hat : ndarray, shape (h, w)
        Sum of the foreground neighbours' LLE weights (``is_fg`` on known pixels).
    confidence : ndarray, shape (h, w)
        :math:`|F - B|^2 / 3` with ``F``, ``B`` the foreground and background colours of
        the mixture, in [0, 1] (1 on known pixels); with ``"toolbox"``,
        :math:`|\\hat\\alpha F - (1 - \\hat\\alpha) B|^2 / 3`, unbounded.

    Raises
    ------
    ValueError
        One line naming the value: ``confidence`` neither ``"means"`` nor ``"toolbox"``, a
        mask not boolean or not of the image's size, ``k`` beyond the foreground or the
        background pixels (when an estimate is wanted), ``xy_weight`` negative or not finite.

    Notes
    -----
    The LLE weights of the ``2k`` neighbours (foreground first) reconstruct the pixel's
    colour; their foreground part estimates alpha (section 3.2 of the paper). The estimate
    is trusted in proportion to how different the two mixed colours are. With the weights
    summing to :math:`\\hat\\alpha` on the foreground side and :math:`1 - \\hat\\alpha` on
    the background side, the reconstruction is the compositing equation
    :math:`c = \\hat\\alpha F + (1 - \\hat\\alpha) B` with ``F`` and ``B`` the weighted
    *means* of each side's colours, clipped to the RGB cube (LLE weights may be negative,
    and a side with almost no weight extrapolates). The authors' toolbox compares the
    weighted *sums* instead, :math:`|\\hat\\alpha F - (1 - \\hat\\alpha) B|^2 / 3`, which
    rates the confidence by brightness as much as by contrast: it is zero wherever
    :math:`\\hat\\alpha F = (1 - \\hat\\alpha) B` however different ``F`` and ``B``
    are, a white pixel explained by the foreground alone gets confidence 1 even where
    foreground and background have the same colour, and it has no upper bound (up to 18
    on the alphamatting images, LLE weights being unbounded). OpenCV's port of the paper
    (``alphamat``, ``KtoU.cpp``) divides by the weight sums as here. On the
    alphamatting-lowres images the means lower ifm's mean SAD from 1.01 to 0.91 times
    closed-form's (first trimap set) and from 0.84 to 0.78 (second).
    """
    if confidence not in KU_CONFIDENCES:
        raise ValueError(f"confidence must be 'means' or 'toolbox', got {confidence!r}")
    image, is_fg, is_bg, where = _image_and_masks(image, is_fg=is_fg, is_bg=is_bg, where=where)
    h, w = is_fg.shape
    wanted = ~(is_fg | is_bg)
    if where is not None:
        wanted &= where
    rows = np.flatnonzero(wanted)
    k = whole_number(k, "k", "a whole number of at least 1", minimum=1)
    if len(rows):  # no estimate wanted: no neighbour searched, however few known pixels
        for side, known in (("foreground", is_fg), ("background", is_bg)):
            _check_count(k, "k", int(np.count_nonzero(known)), f"{side} pixels")
    features = pixel_features(image, _weight(xy_weight, "xy_weight"))
    order = search_order(features[rows])
    fg_neighbors = nonlocal_neighbors(features, rows, np.flatnonzero(is_fg), k, order=order)
    bg_neighbors = nonlocal_neighbors(features, rows, np.flatnonzero(is_bg), k, order=order)
    neighbors = np.concatenate([fg_neighbors, bg_neighbors], axis=1)
    planes = _colour_planes(image)
    weights = pixel_lle_weights(planes, rows, neighbors)
    # Gathers from contiguous rows of 3 rather than from the features' first 3 columns.
    colours = planes.T
    fg_weight = weights[:, :k].sum(axis=1)
    fg_colour = np.einsum("mk,mkc->mc", weights[:, :k], colours[fg_neighbors])
    bg_colour = np.einsum("mk,mkc->mc", weights[:, k:], colours[bg_neighbors])
    if confidence == "means":
        # Weighted means (see Notes); a side whose weights sum to almost nothing (or
        # less) gives a colour far outside the cube, which the clip brings back to it.
        fg_colour /= np.maximum(fg_weight, _MIXTURE_FLOOR)[:, None]
        bg_colour /= np.maximum(1.0 - fg_weight, _MIXTURE_FLOOR)[:, None]
        np.clip(fg_colour, 0.0, 1.0, out=fg_colour)
        np.clip(bg_colour, 0.0, 1.0, out=bg_colour)
    alpha_hat = is_fg.astype(np.float64).ravel()
    alpha_hat[rows] = fg_weight
    trust = (is_fg | is_bg).astype(np.float64).ravel()
    trust[rows] = ((fg_colour - bg_colour) ** 2).sum(axis=1) / 3.0
    return alpha_hat.reshape(h, w), trust.reshape(h, w)


def intra_unknown_flow(
    image: np.ndarray, unknown: np.ndarray, *, k: int = 5, xy_weight: float = 0.05
):
    """Intra-unknown flow: symmetric colour-similarity weights among unknown pixels.

    Parameters
    ----------
    image : ndarray, shape (h, w, 3)
        RGB image in [0, 1].
    unknown : ndarray of bool, shape (h, w)
        The pixels linked to each other.
    k : int, optional
        Neighbours per unknown pixel in ``[rgb, xy_weight * xy]``; ``ceil(k / 5)`` more are
        found with the coordinates weighted 100 times less (as KNN matting does).
    xy_weight : float, optional
        Scale of the normalised coordinates in the first search.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (h*w, h*w)
        Symmetric affinities :math:`(W + W^T) / 2`, where row ``i`` of ``W`` holds
        :math:`\\max(1 - |f_i - f_j|_1 / 5, 0)` for each neighbour ``j`` (section 3.3 of the
        paper); a pixel found in both searches is counted twice, as in the toolbox.

    Raises
    ------
    ValueError
        One line naming the value: ``unknown`` not a boolean mask of the image's size, ``k``
        not below the unknown pixels, ``xy_weight`` negative or not finite.
    """
    import scipy.sparse

    image, unknown = _image_and_masks(image, unknown=unknown)
    n = unknown.size
    rows = np.flatnonzero(unknown)
    neighbors, values = intra_unknown_weights(image, rows, k, xy_weight)
    flow = scipy.sparse.coo_matrix(
        (values.ravel(), (np.repeat(rows, neighbors.shape[1]), neighbors.ravel())), shape=(n, n)
    ).tocsr()
    return ((flow + flow.T) * 0.5).tocsr()


def intra_unknown_weights(
    image: np.ndarray, rows: np.ndarray, k: int, xy_weight: float
) -> tuple[np.ndarray, np.ndarray]:
    """Neighbours among ``rows`` and the directed weights ``max(1 - |f_i - f_j|_1 / 5, 0)``.

    ``k`` below ``len(rows)`` and ``xy_weight`` finite and >= 0, else one ValueError line.
    """
    k = _neighbour_count(k, "k", len(rows), "unknown pixels")
    xy_weight = _weight(xy_weight, "xy_weight")
    # Features of the unknown pixels only, searched by position among themselves.
    own = np.arange(len(rows))
    near = nonlocal_neighbors(_features_of(image, rows, xy_weight), own, own, k)
    far_features = _features_of(image, rows, xy_weight / 100.0)
    far = nonlocal_neighbors(far_features, own, own, -(-k // 5))
    positions = np.concatenate([near, far], axis=1)
    # The weights see the coordinates at a further 1/100 of the second search's scale.
    far_features[:, 3:] /= 100.0
    columns = np.ascontiguousarray(far_features.T)  # contiguous columns gather faster
    weights = np.empty(positions.shape)
    # Blocks of rows whose temporaries stay in cache, instead of a dozen whole-region
    # arrays (8.5 MB each on GT04).
    for start in range(0, len(rows), _BLOCK):
        block = slice(start, start + _BLOCK)
        index = positions[block]
        # Summed feature by feature, in the order of the sum over the last axis it replaced.
        distance = np.zeros(index.shape)
        for column in columns:
            distance += np.abs(column[block, None] - column.take(index))
        np.maximum(1.0 - distance / len(columns), 0.0, out=weights[block])
    return rows[positions], weights


def local_flow(image: np.ndarray, unknown: np.ndarray, *, eps: float = 1e-6, radius: int = 1):
    """Local flow: the matting Laplacian over windows touching the unknown region, / window size.

    Parameters
    ----------
    image : ndarray, shape (h, w, 3)
        RGB image in [0, 1].
    unknown : ndarray of bool, shape (h, w)
    eps : float, optional
        Regularisation of the window covariances.
    radius : int, optional
        Window radius.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (h*w, h*w)
        Symmetric positive semi-definite Laplacian.

    Notes
    -----
    The toolbox normalises each row of the window affinities by its sum, which is the number
    of windows holding the pixel: ``(2r+1)^2`` for every unknown pixel away from the image
    border. Dividing the whole Laplacian by ``(2r+1)^2`` gives the same rows there and keeps
    the matrix symmetric; rows differ on known pixels at the rim of the region, whose alpha
    the trimap constraint holds anyway, and on unknown pixels within ``2 r`` of the image
    border, which fewer windows hold.
    """
    from vecmatte.laplacians.closed_form import matting_laplacian

    # Named here: matting_laplacian would call a wrong-sized mask "known".
    image, unknown = _image_and_masks(image, unknown=unknown)
    laplacian = matting_laplacian(image, eps=eps, radius=radius, known=~unknown)
    return laplacian * (1.0 / (2 * radius + 1) ** 2)


def graph_laplacian(affinity):
    """``diag(affinity 1) - affinity`` as CSR."""
    import scipy.sparse

    degree = np.asarray(affinity.sum(axis=1)).ravel()
    return (scipy.sparse.diags(degree) - affinity).tocsr()


def information_flow_laplacian(
    image: np.ndarray,
    *,
    unknown: np.ndarray | None = None,
    cm_k: int = 20,
    cm_xy_weight: float = 1.0,
    cm_weight: float = 1.0,
    iu_k: int = 5,
    iu_xy_weight: float = 0.05,
    iu_weight: float = 0.01,
    local_eps: float = 1e-6,
    local_radius: int = 1,
    local_weight: float = 1.0,
):
    """The information-flow matting Laplacian without its known-to-unknown data term.

    Parameters
    ----------
    image : ndarray, shape (h, w, 3)
        RGB image in [0, 1].
    unknown : ndarray of bool, shape (h, w), optional
        Unknown pixels of the trimap (default: all pixels).
    cm_k, cm_xy_weight, cm_weight : optional
        Neighbours, spatial weight and multiplier of the colour-mixture flow.
    iu_k, iu_xy_weight, iu_weight : optional
        The same for the intra-unknown flow.
    local_eps, local_radius, local_weight : optional
        Regularisation, window radius and multiplier of the local flow.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (h*w, h*w)
        :math:`L = w_{cm} (D_u - W_{cm})^T (D_u - W_{cm}) + w_l L_{local}
        + w_{iu} (D_{iu} - W_{iu})`, symmetric positive semi-definite (eq. 15 of the paper
        without the known-to-unknown term).

    Raises
    ------
    ValueError
        One line naming the option: ``cm_k`` not below the image's pixels, ``iu_k`` not
        below the unknown pixels (a pixel's neighbours are other pixels), a weight that is
        negative or not finite, or ``local_eps``/``local_radius`` out of range.
    """
    from vecmatte._validation import check_radius_eps

    image = check_image(image)
    if unknown is None:
        unknown = np.ones(image.shape[:2], dtype=bool)
    unknown = check_mask(unknown, image.shape[:2], "unknown")
    # The ifm method picks its own counts (fewer on small regions); here a count too large
    # for the image reached the neighbour search as an IndexError.
    cm_k = _neighbour_count(cm_k, "cm_k", unknown.size, "pixels")
    iu_k = _neighbour_count(iu_k, "iu_k", int(np.count_nonzero(unknown)), "unknown pixels")
    # Checked here, under the names the caller used, before the flows' neighbour searches.
    local_radius, local_eps = check_radius_eps(
        local_radius, local_eps, image.shape, names=("local_radius", "local_eps")
    )
    # Negative multipliers make L indefinite; NaN or an infinity fills it with NaN.
    cm_xy_weight, cm_weight, iu_xy_weight, iu_weight, local_weight = (
        _weight(value, name)
        for name, value in (
            ("cm_xy_weight", cm_xy_weight),
            ("cm_weight", cm_weight),
            ("iu_xy_weight", iu_xy_weight),
            ("iu_weight", iu_weight),
            ("local_weight", local_weight),
        )
    )
    return _combined_laplacian(
        image,
        unknown,
        cm=(cm_k, cm_xy_weight, cm_weight),
        iu=(iu_k, iu_xy_weight, iu_weight),
        local=(local_eps, local_radius, local_weight),
    )


def _image_and_masks(image, **masks):
    """``image`` checked (:func:`~vecmatte._arrays.check_image`) and each mask given (None
    passes) as a boolean array of its size, one ValueError line naming the argument."""
    image = check_image(image)
    return image, *(
        None if mask is None else check_mask(mask, image.shape[:2], name)
        for name, mask in masks.items()
    )


def _weight(value, name: str) -> float:
    """A multiplier or coordinate scale as a float >= 0, else one ValueError line."""
    return finite_number(value, name, "a finite number >= 0", minimum=0.0)


def _neighbour_count(value, name: str, searched: int, what: str) -> int:
    """``value`` as a whole number from 1 to ``searched - 1``, else one ValueError line.

    ``searched`` pixels include the pixel itself, which is never its own neighbour. No bound
    applies when nothing is searched (no unknown pixels: no intra-unknown flow).
    """
    k = whole_number(value, name, "a whole number of at least 1", minimum=1)
    if searched:
        _check_count(k, name, searched - 1, f"other {what}")
    return k


def _check_count(k: int, name: str, available: int, what: str) -> None:
    """Refuse ``k`` neighbours when only ``available`` candidates are ``what``."""
    if k > available:
        fix = f"; use {name} <= {available}" if available > 0 else ""
        raise ValueError(
            f"{name}={k} asks for more neighbours than there are {what} ({available}){fix}"
        )


def _combined_laplacian(image, unknown, *, cm, iu, local):
    import scipy.sparse

    cm_k, cm_xy_weight, cm_weight = cm
    iu_k, iu_xy_weight, iu_weight = iu
    local_eps, local_radius, local_weight = local
    mixture = scipy.sparse.diags(unknown.ravel().astype(np.float64)) - color_mixture_flow(
        image, unknown, k=cm_k, xy_weight=cm_xy_weight
    )
    mixture = mixture.tocsr()
    laplacian = (mixture.T @ mixture).tocsr()
    del mixture
    if cm_weight != 1.0:
        laplacian *= cm_weight
    laplacian += local_weight * local_flow(image, unknown, eps=local_eps, radius=local_radius)
    laplacian += iu_weight * graph_laplacian(
        intra_unknown_flow(image, unknown, k=iu_k, xy_weight=iu_xy_weight)
    )
    return laplacian.tocsr()
