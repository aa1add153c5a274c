"""KNN Laplacian: against brute-force neighbour loops and PyMatting."""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest
from reference import loop_knn_weights, loop_random_walk_laplacian

from vecmatte.laplacians import get_laplacian
from vecmatte.laplacians.knn import _kth_bound, knn_laplacian, knn_weights


@pytest.mark.parametrize("kernel", ["binary", "soft"])
@pytest.mark.parametrize(
    ("n_neighbors", "distance_weights"), [((6, 3), (2.0, 0.1)), ((4,), (1.0,))]
)
def test_weights_and_laplacian_match_brute_force(rng, kernel, n_neighbors, distance_weights):
    image = rng.random((5, 6, 3))
    expected = loop_knn_weights(image, n_neighbors, distance_weights, kernel)
    options = dict(n_neighbors=n_neighbors, distance_weights=distance_weights, kernel=kernel)
    np.testing.assert_allclose(knn_weights(image, **options).toarray(), expected, atol=1e-6)
    laplacian = knn_laplacian(image, **options)
    np.testing.assert_allclose(laplacian.toarray(), loop_random_walk_laplacian(expected), atol=1e-6)


def test_weights_are_symmetric_and_forms_agree(rng):
    image = rng.random((7, 6, 3))
    weights = knn_weights(image, n_neighbors=(5, 3))
    assert abs(weights - weights.T).max() == 0
    walk = knn_laplacian(image, n_neighbors=(5, 3))
    symmetric = knn_laplacian(image, n_neighbors=(5, 3), form="symmetric")
    degrees = np.asarray(weights.sum(axis=1)).ravel()
    np.testing.assert_allclose(symmetric.toarray(), degrees[:, None] * walk.toarray(), atol=1e-12)


def test_registered():
    assert get_laplacian("knn") is knn_laplacian


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"n_neighbors": (5, 3), "distance_weights": (1.0,)}, "same, non-zero length"),
        ({"n_neighbors": (0,), "distance_weights": (1.0,)}, "positive integers"),
        ({"n_neighbors": (5,), "distance_weights": (-1.0,)}, "numbers >= 0 and at most"),
        ({"n_neighbors": (50,), "distance_weights": (1.0,)}, "more neighbours than"),
        ({"kernel": "gaussian"}, "kernel must be 'binary' or 'soft'"),
        # Before: NumPy's "truth value of an array ... is ambiguous".
        ({"kernel": np.array(["soft", "binary"])}, "kernel must be 'binary' or 'soft'"),
        ({"form": "other"}, "form must be"),
    ],
)
def test_options_are_checked(options, message):
    with pytest.raises(ValueError, match=message):
        knn_laplacian(np.zeros((4, 4, 3)), **options)


@pytest.mark.skipif(importlib.util.find_spec("pymatting") is None, reason="PyMatting not installed")
@pytest.mark.parametrize("kernel", ["binary", "soft"])
def test_equals_pymatting(rng, kernel):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pymatting import knn_laplacian as pymatting_knn
    image = rng.random((12, 15, 3))
    expected = pymatting_knn(image, n_neighbors=[8, 4], kernel=kernel)
    ours = knn_laplacian(image, n_neighbors=(8, 4), kernel=kernel)
    # The soft kernel is computed from float32 features by both, summed in another order.
    assert abs(ours - expected).max() < 1e-6


@pytest.mark.parametrize("kernel", ["binary", "soft"])
@pytest.mark.parametrize(("n_neighbors", "distance_weights"), [((20, 10), (2.0, 0.1)), (5, 1.0)])
def test_rows_of_unknown_pixels_skip_no_pair(rng, kernel, n_neighbors, distance_weights):
    # A smooth image with a band of unknown pixels: most known pixels are far from it, so
    # their searches are skipped; the unknown rows must still equal the full matrix's.
    h, w = 30, 40
    yy, xx = np.mgrid[0:h, 0:w] / 40.0
    image = np.clip(np.stack([xx, yy, 0.5 + 0 * xx], axis=2) + 0.05 * rng.random((h, w, 3)), 0, 1)
    unknown = np.zeros((h, w), dtype=bool)
    unknown[:, 18:24] = True
    full = knn_weights(
        image, n_neighbors=n_neighbors, distance_weights=distance_weights, kernel=kernel
    )
    pruned = knn_weights(
        image,
        n_neighbors=n_neighbors,
        distance_weights=distance_weights,
        kernel=kernel,
        unknown=unknown.ravel(),
    )
    rows = np.flatnonzero(unknown)
    assert abs(full[rows] - pruned[rows]).max() == 0.0
    # Some searches were skipped (else the test would not test the pruning).
    assert pruned.nnz < full.nnz


@pytest.mark.parametrize("k", [2, 5, 20, 33, 34, 35, 80])
def test_kth_bound_is_an_upper_bound(rng, k):
    # Before: k >= 34 raised "kth(=32) out of bounds (32)" (32 points beside each point).
    from scipy.spatial import cKDTree

    points = rng.random((500, 5))
    tree = cKDTree(points, leafsize=32, balanced_tree=False)
    bound = _kth_bound(tree.data, tree.indices, k)
    # Plain reference: the k-th smallest distance to all points, the point itself first.
    distances = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=2))
    kth = np.sort(distances, axis=1)[:, k - 1]
    assert np.all(bound >= kth * (1 - 1e-12))


@pytest.mark.parametrize(
    "unknown",
    [np.ones(12, dtype=bool), np.ones((4, 5), dtype=bool), np.ones(20, dtype=np.uint8)],
    ids=["wrong length", "2-D", "not bool"],
)
def test_unknown_mask_is_checked(rng, unknown):
    with pytest.raises(ValueError, match="unknown must be a bool array of shape \\(20,\\)"):
        knn_weights(rng.random((4, 5, 3)), n_neighbors=3, distance_weights=1.0, unknown=unknown)


@pytest.mark.parametrize(("k", "weight"), [(5, 10.0), (8, 2.0), (4, 0.1), (3, 0.0)])
def test_may_reach_keeps_every_pixel_with_an_unknown_neighbour(rng, k, weight):
    # Brute force: a known pixel must be searched when an unknown pixel is within its k-th
    # neighbour distance; the distance-transform shortcut (large weights) must keep them too.
    from scipy.spatial import cKDTree

    from vecmatte.laplacians.knn import _may_reach

    h, w = 18, 21
    yy, xx = np.mgrid[0:h, 0:w] / 20.0
    image = np.clip(np.stack([xx, yy, 0.5 + 0 * xx], axis=2) + 0.1 * rng.random((h, w, 3)), 0, 1)
    features = np.concatenate(
        [
            image.reshape(-1, 3),
            weight * np.tile(np.linspace(0, 1, w), h)[:, None],
            weight * np.repeat(np.linspace(0, 1, h), w)[:, None],
        ],
        axis=1,
    ).astype(np.float32)
    unknown = np.zeros((h, w), dtype=bool)
    unknown[5:9, 7:12] = True
    unknown = unknown.ravel()
    tree = cKDTree(features, leafsize=32, balanced_tree=False)
    kept = _may_reach(tree, unknown, k, (h, w), weight)
    points = features.astype(np.float64)
    distances = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=2))
    kth = np.sort(distances, axis=1)[:, k - 1]
    needed = unknown | (distances[:, unknown] <= kth[:, None]).any(axis=1)
    assert np.all(kept[needed])
    assert np.all(kept[unknown])
    if weight >= 2.0:
        assert np.count_nonzero(kept) < len(kept)  # something was skipped


def test_searches_list_each_pass(rng):
    from vecmatte.laplacians.knn import knn_searches

    image = rng.random((6, 7, 3))
    searches = knn_searches(image, n_neighbors=(4, 2), distance_weights=(1.0, 0.5), kernel="soft")
    weights = knn_weights(image, n_neighbors=(4, 2), distance_weights=(1.0, 0.5), kernel="soft")
    nearest = np.zeros((42, 42))
    for (searched, neighbors, values), k in zip(searches, (4, 2), strict=True):
        assert neighbors.shape == (42, k) and values.dtype == np.float32
        assert sorted(searched) == list(range(42))
        np.add.at(nearest, (np.repeat(searched, k), neighbors.ravel()), values.ravel())
    np.testing.assert_allclose(weights.toarray(), nearest + nearest.T, atol=1e-12)


def test_a_soft_kernel_with_a_position_weight_of_at_most_1_never_goes_negative():
    # The worst case: opposite corners of a 2 x 2 image black and white are 3 + 2 w apart,
    # so w = 1 gives them weight 0 and anything above 1 a negative one, refused (before:
    # the negative weights went into the Laplacian, whose CG then broke down).
    image = np.full((2, 2, 3), 0.5)
    image[0, 0], image[1, 1] = 0.0, 1.0
    weights = knn_weights(image, n_neighbors=4, distance_weights=1.0, kernel="soft")
    assert weights.toarray()[0, 3] == 0.0 and weights.data.min() > 0  # the corners' pair
    with pytest.raises(ValueError, match=r"distance_weights entry 1\.01 is too large") as error:
        knn_weights(image, n_neighbors=4, distance_weights=1.01, kernel="soft")
    assert "\n" not in str(error.value) and "kernel='binary'" in str(error.value)
    binary = knn_weights(image, n_neighbors=4, distance_weights=1.01)
    assert binary.data.min() > 0
