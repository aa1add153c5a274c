"""The information flows against plain per-pixel loops written from the paper and the toolbox."""

import numpy as np
import pytest
import scipy.sparse

from tests.reference import naive_laplacian
from vecmatte.laplacians import _lle
from vecmatte.laplacians import information_flow as flow


def toolbox_lle(point, neighbors, reg):
    """LLE weights as the toolbox writes them: uncentred Gram matrix and a Lagrange multiplier.

    ``neighbors`` is (k, d). Minimises |x - N^T w|^2 + reg |w|^2 subject to sum(w) = 1 via
    the KKT system, solved directly.
    """
    k = neighbors.shape[0]
    kkt = np.zeros((k + 1, k + 1))
    kkt[:k, :k] = neighbors @ neighbors.T + reg * np.eye(k)
    kkt[:k, k] = -1.0
    kkt[k, :k] = 1.0
    rhs = np.append(neighbors @ point, 1.0)
    return np.linalg.solve(kkt, rhs)[:k]


def features(image, xy_weight):
    h, w = image.shape[:2]
    out = np.zeros((h * w, 5))
    for y in range(h):
        for x in range(w):
            out[y * w + x] = [*image[y, x], xy_weight * (x + 1) / w, xy_weight * (y + 1) / h]
    return out


def brute_neighbors(feats, i, candidates, k):
    """The k nearest candidates of pixel i (itself excluded), nearest first."""
    others = [j for j in candidates if j != i]
    distance = [np.sum((feats[j] - feats[i]) ** 2) for j in others]
    return [others[t] for t in np.argsort(distance, kind="stable")[:k]]


# The flows regularise their Gram matrices by only 1e-10 (as the toolbox does): a condition
# number near 1e10, so two formulations that agree in exact arithmetic agree to about 1e-5.
FLOW_RTOL, FLOW_ATOL = 1e-4, 1e-5


def small_case(seed, shape=(7, 9), unknown_fraction=0.5):
    rng = np.random.default_rng(seed)
    image = rng.random((*shape, 3))
    unknown = rng.random(shape) < unknown_fraction
    return image, unknown


@pytest.mark.parametrize(("m", "k", "d"), [(30, 20, 3), (25, 4, 5), (10, 3, 3)])
@pytest.mark.parametrize("reg", [1e-3, 1e-7])
def test_lle_weights_match_a_direct_solve(m, k, d, reg):
    rng = np.random.default_rng(k + d)
    points = rng.random((m, d))
    neighbors = points[:, None, :] + 0.2 * rng.standard_normal((m, k, d))
    weights = flow.lle_weights(points, neighbors, reg=reg)
    expected = np.array([toolbox_lle(points[i], neighbors[i], reg) for i in range(m)])
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(weights, expected, rtol=1e-6, atol=1e-7)


def test_lle_weights_reconstruct_a_point_inside_its_neighbours():
    rng = np.random.default_rng(3)
    neighbors = rng.random((1, 4, 3))
    true = np.array([0.1, 0.2, 0.3, 0.4])
    point = (true @ neighbors[0])[None]
    np.testing.assert_allclose(flow.lle_weights(point, neighbors, reg=1e-12)[0], true, atol=1e-6)


@pytest.mark.parametrize("k", [2, 3, 4, 14, 20])
def test_lle_weights_of_pixels_are_those_of_the_gathered_colours(k, monkeypatch):
    # Bit for bit, whatever the blocks (blocks of one pixel reduce differently in NumPy).
    rng = np.random.default_rng(k)
    n, m = 200, 37
    planes = rng.random((3, n))
    colours = np.ascontiguousarray(planes.T)
    rows = rng.choice(n, m, replace=False)
    neighbors = rng.integers(0, n, (m, k))
    neighbors[:, 0] = rows  # a zero difference
    reference = flow.lle_weights(colours[rows], colours[neighbors])
    for block in (1, 5, 64):
        monkeypatch.setattr(_lle, "_BLOCK", block)
        np.testing.assert_array_equal(
            flow.lle_weights(colours[rows], colours[neighbors]), reference
        )
        if k > 3:
            got = _lle.pixel_lle_weights(planes, rows, neighbors)
            np.testing.assert_array_equal(got, reference)


def test_flows_do_not_depend_on_the_block_size(monkeypatch):
    image, unknown = small_case(4, shape=(9, 11))
    rows = np.flatnonzero(unknown)
    is_fg = ~unknown & (np.arange(unknown.size).reshape(unknown.shape) % 2 == 0)
    is_bg = ~unknown & ~is_fg

    def flows():
        return (
            *flow.color_mixture_weights(image, rows, 6, 1.0),
            *flow.intra_unknown_weights(image, rows, 5, 0.05),
            *flow.known_to_unknown_flow(image, is_fg, is_bg, k=3),
        )

    whole = flows()
    for block in (1, 7):
        monkeypatch.setattr(_lle, "_BLOCK", block)  # LLE solves
        monkeypatch.setattr(flow, "_BLOCK", block)  # intra-unknown distances
        for got, expected in zip(flows(), whole, strict=True):
            np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("seed", [0, 1])
def test_nonlocal_neighbors_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    feats = rng.random((60, 4))
    query = np.sort(rng.choice(60, 20, replace=False))
    candidates = np.sort(rng.choice(60, 30, replace=False))
    found = flow.nonlocal_neighbors(feats, query, candidates, 5)
    for row, i in enumerate(query):
        assert list(found[row]) == brute_neighbors(feats, i, candidates, 5)


@pytest.mark.parametrize("duplicates", [False, True])
def test_nonlocal_neighbors_among_all_pixels_leave_the_query_pixel_out(duplicates):
    # With every pixel a candidate the query pixel is found too; with duplicated features
    # another pixel at distance 0 may come before it (the general path of the drop).
    rng = np.random.default_rng(5)
    feats = rng.random((60, 4))
    if duplicates:
        feats[30:] = feats[:30]
    query = np.arange(0, 60, 3)
    found = flow.nonlocal_neighbors(feats, query, np.arange(60), 5)
    for row, i in enumerate(query):
        assert i not in found[row]
        expected = brute_neighbors(feats, i, np.arange(60), 5)
        if duplicates:
            distance = np.linalg.norm(feats[found[row]] - feats[i], axis=1)
            np.testing.assert_allclose(distance, np.linalg.norm(feats[expected] - feats[i], axis=1))
        else:
            assert list(found[row]) == expected


@pytest.mark.parametrize("same", [False, True])
def test_nonlocal_neighbors_in_any_given_order_match_brute_force(same):
    rng = np.random.default_rng(3)
    feats = rng.random((60, 4))
    query = np.sort(rng.choice(60, 25, replace=False))
    candidates = query.copy() if same else np.sort(rng.choice(60, 30, replace=False))
    for order in (None, flow.search_order(feats[query]), rng.permutation(len(query))):
        found = flow.nonlocal_neighbors(feats, query, candidates, 4, order=order)
        for row, i in enumerate(query):
            assert list(found[row]) == brute_neighbors(feats, i, candidates, 4)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_color_mixture_flow_matches_a_pixel_loop(seed):
    image, unknown = small_case(seed)
    h, w = unknown.shape
    k = 6
    got = flow.color_mixture_flow(image, unknown, k=k, xy_weight=1.0).toarray()
    feats = features(image, 1.0)
    expected = np.zeros((h * w, h * w))
    for i in range(h * w):
        if not unknown.flat[i]:
            continue
        neighbors = brute_neighbors(feats, i, range(h * w), k)
        weights = toolbox_lle(feats[i, :3], feats[neighbors, :3], 1e-10)
        expected[i, neighbors] = weights / weights.sum()
    np.testing.assert_allclose(got, expected, rtol=FLOW_RTOL, atol=FLOW_ATOL)
    np.testing.assert_allclose(got.sum(axis=1), unknown.ravel(), atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_intra_unknown_flow_matches_a_pixel_loop(seed):
    image, unknown = small_case(seed, shape=(8, 8), unknown_fraction=0.6)
    h, w = unknown.shape
    got = flow.intra_unknown_flow(image, unknown, k=5, xy_weight=0.05)
    assert isinstance(got, scipy.sparse.csr_matrix)
    got = got.toarray()
    unknown_pixels = list(np.flatnonzero(unknown))
    near_feats = features(image, 0.05)
    far_feats = features(image, 0.05 / 100)
    weight_feats = far_feats.copy()
    weight_feats[:, 3:] /= 100
    directed = np.zeros((h * w, h * w))
    for i in unknown_pixels:
        chosen = brute_neighbors(near_feats, i, unknown_pixels, 5)
        chosen += brute_neighbors(far_feats, i, unknown_pixels, 1)
        for j in chosen:
            difference = np.abs(weight_feats[i] - weight_feats[j]).sum()
            directed[i, j] += max(1 - difference / 5, 0)
    np.testing.assert_allclose(got, (directed + directed.T) / 2, atol=1e-12)
    np.testing.assert_array_equal(got, got.T)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("kind", ["means", "toolbox"])
def test_known_to_unknown_flow_matches_a_pixel_loop(seed, kind):
    rng = np.random.default_rng(seed)
    h, w = 8, 9
    image = rng.random((h, w, 3))
    labels = rng.integers(0, 3, (h, w))
    is_fg, is_bg = labels == 2, labels == 0
    k = 3
    alpha_hat, confidence = flow.known_to_unknown_flow(
        image, is_fg, is_bg, k=k, xy_weight=10, confidence=kind
    )
    feats = features(image, 10.0)
    fg_pixels, bg_pixels = np.flatnonzero(is_fg), np.flatnonzero(is_bg)
    for i in range(h * w):
        if is_fg.flat[i] or is_bg.flat[i]:
            assert alpha_hat.flat[i] == float(is_fg.flat[i])
            assert confidence.flat[i] == 1.0
            continue
        fg_near = brute_neighbors(feats, i, fg_pixels, k)
        bg_near = brute_neighbors(feats, i, bg_pixels, k)
        weights = toolbox_lle(feats[i, :3], feats[fg_near + bg_near, :3], 1e-10)
        fg_colour = weights[:k] @ feats[fg_near, :3]
        bg_colour = weights[k:] @ feats[bg_near, :3]
        if kind == "means":
            # Each side's weighted mean colour, clipped to the RGB cube.
            fg_colour = np.clip(fg_colour / max(weights[:k].sum(), 1e-3), 0, 1)
            bg_colour = np.clip(bg_colour / max(weights[k:].sum(), 1e-3), 0, 1)
        assert alpha_hat.flat[i] == pytest.approx(weights[:k].sum(), rel=FLOW_RTOL, abs=FLOW_ATOL)
        expected = np.sum((fg_colour - bg_colour) ** 2) / 3
        assert confidence.flat[i] == pytest.approx(expected, rel=FLOW_RTOL, abs=FLOW_ATOL)


def test_local_flow_is_the_matting_laplacian_of_windows_touching_unknowns():
    image, unknown = small_case(4, shape=(9, 10), unknown_fraction=0.2)
    got = flow.local_flow(image, unknown, eps=1e-6).toarray()
    expected = naive_laplacian(image, eps=1e-6, radius=1, known=~unknown).toarray() / 9
    np.testing.assert_allclose(got, expected, atol=1e-9)


def test_information_flow_laplacian_is_symmetric_semidefinite_with_constant_null_space():
    image, unknown = small_case(5, shape=(10, 11), unknown_fraction=0.4)
    laplacian = flow.information_flow_laplacian(image, unknown=unknown)
    dense = laplacian.toarray()
    np.testing.assert_allclose(dense, dense.T, atol=1e-10)
    np.testing.assert_allclose(dense @ np.ones(len(dense)), 0.0, atol=1e-8)
    assert np.linalg.eigvalsh(dense).min() > -1e-8


def test_information_flow_laplacian_is_the_weighted_sum_of_the_flows():
    image, unknown = small_case(6, shape=(9, 9), unknown_fraction=0.4)
    n = unknown.size
    mixture = (
        np.diag(unknown.ravel().astype(float)) - flow.color_mixture_flow(image, unknown).toarray()
    )
    intra = flow.intra_unknown_flow(image, unknown).toarray()
    expected = (
        mixture.T @ mixture
        + flow.local_flow(image, unknown).toarray()
        + 0.01 * (np.diag(intra.sum(axis=1)) - intra)
    )
    got = flow.information_flow_laplacian(image, unknown=unknown).toarray()
    assert got.shape == (n, n)
    np.testing.assert_allclose(got, expected, atol=1e-10)


def test_known_to_unknown_flow_where_computes_only_the_wanted_pixels():
    rng = np.random.default_rng(5)
    image = rng.random((9, 10, 3))
    labels = rng.integers(0, 3, (9, 10))
    is_fg, is_bg = labels == 2, labels == 0
    where = rng.random((9, 10)) < 0.5
    full = flow.known_to_unknown_flow(image, is_fg, is_bg, k=3)
    part = flow.known_to_unknown_flow(image, is_fg, is_bg, k=3, where=where)
    keep = where | is_fg | is_bg
    for whole, some in zip(full, part, strict=True):
        np.testing.assert_array_equal(some[keep], whole[keep])
        np.testing.assert_array_equal(some[~keep], 0.0)


@pytest.mark.parametrize("alpha", [0.05, 0.3, 0.5, 0.7, 0.95])
def test_confidence_of_a_two_colour_composite_is_the_colour_contrast(alpha):
    # Left third foreground of colour F, right third background of colour B, the middle
    # a composite alpha F + (1 - alpha) B: every unknown pixel's mixture has F and B as
    # its colours, so alpha_hat = alpha and confidence = |F - B|^2 / 3 for every alpha.
    # (The toolbox's weighted sums give |alpha F - (1 - alpha) B|^2 / 3 instead.)
    rng = np.random.default_rng(0)
    h, w = 6, 15
    fg_colour, bg_colour = np.array([0.9, 0.8, 0.2]), np.array([0.1, 0.3, 0.6])
    image = np.empty((h, w, 3))
    image[:, :5] = fg_colour
    image[:, 10:] = bg_colour
    image[:, 5:10] = alpha * fg_colour + (1 - alpha) * bg_colour
    image += rng.normal(0, 1e-9, image.shape)  # no exact ties in the neighbour search
    is_fg = np.zeros((h, w), bool)
    is_fg[:, :5] = True
    is_bg = np.zeros((h, w), bool)
    is_bg[:, 10:] = True
    alpha_hat, confidence = flow.known_to_unknown_flow(image, is_fg, is_bg, k=3)
    unknown = ~(is_fg | is_bg)
    np.testing.assert_allclose(alpha_hat[unknown], alpha, atol=1e-4)
    expected = np.sum((fg_colour - bg_colour) ** 2) / 3
    np.testing.assert_allclose(confidence[unknown], expected, atol=1e-4)
    # The toolbox's sums: the same estimate, a confidence that depends on alpha.
    toolbox = flow.known_to_unknown_flow(image, is_fg, is_bg, k=3, confidence="toolbox")
    np.testing.assert_array_equal(toolbox[0], alpha_hat)
    summed = np.sum((alpha * fg_colour - (1 - alpha) * bg_colour) ** 2) / 3
    np.testing.assert_allclose(toolbox[1][unknown], summed, atol=1e-4)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_confidence_stays_in_the_unit_interval(seed):
    # A side with (almost) no weight extrapolates its mean colour: clipped to the cube.
    rng = np.random.default_rng(seed)
    image = rng.random((12, 13, 3))
    labels = rng.integers(0, 3, (12, 13))
    _, confidence = flow.known_to_unknown_flow(image, labels == 2, labels == 0, k=3)
    assert confidence.min() >= 0.0 and confidence.max() <= 1.0


@pytest.mark.parametrize("kind", ["sums", "Means", None])
def test_known_to_unknown_flow_refuses_an_unknown_confidence(kind):
    image = np.random.default_rng(0).random((6, 7, 3))
    is_fg = np.zeros((6, 7), bool)
    is_fg[:, :2] = True
    is_bg = np.zeros((6, 7), bool)
    is_bg[:, 5:] = True
    with pytest.raises(ValueError, match="confidence must be 'means' or 'toolbox'"):
        flow.known_to_unknown_flow(image, is_fg, is_bg, k=3, confidence=kind)


@pytest.mark.parametrize(
    ("shape", "options", "message"),
    [
        ((4, 5), {}, r"^cm_k=20 asks for more neighbours than there are other pixels \(19\); "),
        ((1, 1), {}, r"^cm_k=20 asks for more neighbours than there are other pixels \(0\)$"),
        ((8, 9), {"cm_k": 72}, r"use cm_k <= 71$"),
        ((8, 9), {"iu_k": 72}, r"^iu_k=72 asks for more neighbours than there are other unknown"),
        ((8, 9), {"cm_k": 0}, r"^cm_k must be a whole number of at least 1, got 0$"),
        ((8, 9), {"iu_k": 2.5}, r"^iu_k must be a whole number of at least 1, got 2.5$"),
        ((8, 9), {"cm_k": "20"}, r"^cm_k must be a whole number of at least 1, got '20'$"),
        ((8, 9), {"cm_weight": float("inf")}, r"^cm_weight must be a finite number >= 0"),
        ((8, 9), {"local_weight": float("nan")}, r"^local_weight must be a finite number >= 0"),
        ((8, 9), {"iu_weight": -1.0}, r"^iu_weight must be a finite number >= 0, got -1.0$"),
        ((8, 9), {"cm_xy_weight": None}, r"^cm_xy_weight must be a finite number >= 0"),
        # The local flow's options are named as passed (they were called "eps" and "radius").
        ((8, 9), {"local_eps": -1.0}, r"^local_eps must be a positive finite number, got -1.0$"),
        ((8, 9), {"local_eps": 1e-13}, r"^local_eps must be at least 1e-12 for the closed-form"),
        ((8, 9), {"local_radius": 0}, r"^local_radius must be a positive integer, got 0$"),
        ((8, 9), {"local_radius": 4}, r"window \(local_radius=4\); use local_radius <= 3 or"),
    ],
)
def test_information_flow_laplacian_names_an_option_out_of_range(shape, options, message):
    # Counts too large reached the neighbour search as 'IndexError: index 20 is out of bounds'
    # (also the defaults on a small image), a count of 0 or a text as NumPy's errors, and a
    # NaN or infinite weight gave a Laplacian full of NaN.
    image = np.random.default_rng(0).random((*shape, 3))
    with pytest.raises(ValueError, match=message):
        flow.information_flow_laplacian(image, **options)


def test_information_flow_laplacian_takes_every_neighbour_there_is():
    image = np.random.default_rng(1).random((5, 5, 3))
    unknown = np.zeros((5, 5), dtype=bool)
    unknown[1:4, 1:3] = True
    laplacian = flow.information_flow_laplacian(image, unknown=unknown, cm_k=24, iu_k=5)
    assert np.isfinite(laplacian.data).all()
    np.testing.assert_allclose(laplacian.toarray(), laplacian.toarray().T, atol=1e-12)
    # An intra-unknown count is only bounded where there are unknown pixels to search.
    flow.information_flow_laplacian(image, unknown=np.zeros((5, 5), dtype=bool), iu_k=30)


def _flow_case():
    image = np.random.default_rng(2).random((6, 7, 3))
    is_fg = np.zeros((6, 7), dtype=bool)
    is_fg[:, :2] = True
    is_bg = np.zeros((6, 7), dtype=bool)
    is_bg[:, 5:] = True
    return image, is_fg, is_bg, ~(is_fg | is_bg)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        # Each was an IndexError or a NumPy/SciPy message from deep inside (or, for a mask of
        # the wrong size or a fractional one, a Laplacian of the mask's size: silently wrong).
        (lambda i, f, b, u: flow.color_mixture_flow(i, u, k=42), r"^k=42 .* other pixels \(41\)"),
        (lambda i, f, b, u: flow.color_mixture_flow(i, u, k=0), r"^k must be a whole number"),
        (lambda i, f, b, u: flow.color_mixture_flow(i, u, k=2.5), r"^k must be a whole number"),
        (lambda i, f, b, u: flow.color_mixture_flow(i, u, xy_weight=np.nan), r"^xy_weight must"),
        (lambda i, f, b, u: flow.color_mixture_flow(i, u, xy_weight=-1.0), r"^xy_weight must"),
        (lambda i, f, b, u: flow.color_mixture_flow(i, u[:5]), r"^unknown has shape \(5, 7\)"),
        (lambda i, f, b, u: flow.color_mixture_flow(i, u * 0.5), r"^unknown must be a boolean"),
        (lambda i, f, b, u: flow.color_mixture_flow(i * np.nan, u), r"^image contains NaN"),
        (lambda i, f, b, u: flow.color_mixture_weights(i, np.arange(3), 42, 1.0), r"^k=42 asks"),
        (lambda i, f, b, u: flow.intra_unknown_flow(i, u, k=18), r"^k=18 .* unknown pixels \(17\)"),
        (lambda i, f, b, u: flow.intra_unknown_flow(i, u, k=-2), r"^k must be a whole number"),
        (lambda i, f, b, u: flow.intra_unknown_flow(i, u, xy_weight=np.inf), r"^xy_weight must"),
        (lambda i, f, b, u: flow.intra_unknown_flow(i, u[:5]), r"^unknown has shape \(5, 7\)"),
        (lambda i, f, b, u: flow.intra_unknown_weights(i, np.arange(7), 7, 0.05), r"^k=7 asks"),
        (lambda i, f, b, u: flow.known_to_unknown_flow(i, f, b, k=13), r"^k=13 .* foreground pix"),
        (lambda i, f, b, u: flow.known_to_unknown_flow(i, f, b & False, k=3), r"background pix"),
        (lambda i, f, b, u: flow.known_to_unknown_flow(i, f, b, k=0), r"^k must be a whole number"),
        (lambda i, f, b, u: flow.known_to_unknown_flow(i, f, b, xy_weight=np.nan), r"^xy_weight"),
        (lambda i, f, b, u: flow.known_to_unknown_flow(i, f[:5], b[:5]), r"^is_fg has shape"),
        (lambda i, f, b, u: flow.known_to_unknown_flow(i, f, b, where=u[:5]), r"^where has shape"),
        (lambda i, f, b, u: flow.local_flow(i, u[:5]), r"^unknown has shape \(5, 7\)"),
        (lambda i, f, b, u: flow.lle_weights(i[0], i[:5, :2]), r"^points has shape \(7, 3\)"),
        (lambda i, f, b, u: flow.lle_weights(i[:, 0], i[:, :0]), r"has no neighbour per point"),
        (lambda i, f, b, u: flow.lle_weights(i[0], i[0, :, None], reg=0), r"^reg must be a finite"),
        (lambda i, f, b, u: flow.lle_weights(i[0], i[0, :, None], reg=np.nan), r"^reg must be"),
    ],
)
def test_flow_building_blocks_name_an_option_out_of_range(call, message):
    with pytest.raises(ValueError, match=message):
        call(*_flow_case())


def test_nonlocal_neighbors_refuse_more_neighbours_than_candidates():
    features = np.random.default_rng(3).random((12, 5))
    every = np.arange(12)
    # Every pixel a candidate: k=12 returned cKDTree's filler, the index 12 of no pixel.
    with pytest.raises(ValueError, match=r"^k=12 .* candidates other than the pixel \(11\)"):
        flow.nonlocal_neighbors(features, np.arange(3), every, 12)
    assert flow.nonlocal_neighbors(features, np.arange(3), every, 11).max() < 12
    # Query pixels outside the candidates may take them all, not one more (an IndexError).
    assert flow.nonlocal_neighbors(features, np.arange(3), every[7:], 5).shape == (3, 5)
    with pytest.raises(ValueError, match=r"^k=6 .* than there are candidates \(5\); use k <= 5$"):
        flow.nonlocal_neighbors(features, np.arange(3), every[7:], 6)
    with pytest.raises(ValueError, match=r"^k must be a whole number of at least 1, got 0$"):
        flow.nonlocal_neighbors(features, np.arange(3), every, 0)


def test_flows_take_the_largest_counts_and_no_unknown_pixels():
    image, is_fg, is_bg, unknown = _flow_case()
    assert flow.color_mixture_flow(image, unknown, k=41).nnz == 41 * unknown.sum()
    assert flow.intra_unknown_flow(image, unknown, k=17).shape == (42, 42)
    alpha_hat, _ = flow.known_to_unknown_flow(image, is_fg, is_bg, k=12)
    assert np.isfinite(alpha_hat).all()
    # No estimate wanted: no foreground needed, whatever k.
    flow.known_to_unknown_flow(image, is_fg & False, is_bg, where=unknown & False, k=30)
    none = np.zeros((6, 7), dtype=bool)
    assert flow.color_mixture_flow(image, none).nnz == 0
    assert flow.intra_unknown_flow(image, none).nnz == 0
