"""Shared matting: each vectorized step against a plain per-pixel loop, the whole method on
synthetic composites with known alpha, and against PyMatting's estimate_alpha_sm."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vecmatte.alpha import _sample_gathering as gathering
from vecmatte.alpha import _sample_refinement as refinement
from vecmatte.alpha import _shared_sampling as common
from vecmatte.alpha import _trimap_expansion as expansion
from vecmatte.alpha import sm

FG, BG, UNKNOWN = common.FOREGROUND, common.BACKGROUND, common.UNKNOWN


# --- plain references: one pixel at a time, written for reading ------------------------------


def ref_alpha(c, f, b):
    d = [f[i] - b[i] for i in range(3)]
    v = [c[i] - b[i] for i in range(3)]
    a = sum(v[i] * d[i] for i in range(3)) / (sum(x * x for x in d) + 1e-5)
    return min(1.0, max(0.0, a))


def ref_distortion(c, f, b):
    a = ref_alpha(c, f, b)
    return sum((a * f[i] + (1 - a) * b[i] - c[i]) ** 2 for i in range(3))


def ref_expand(image, label, radius, threshold):
    h, w = label.shape
    out = label.copy()
    for y in range(h):
        for x in range(w):
            if label[y, x] != UNKNOWN:
                continue
            nearest = math.inf
            for y2 in range(y - radius, y + radius + 1):
                for x2 in range(x - radius, x + radius + 1):
                    if not (0 <= y2 < h and 0 <= x2 < w) or label[y2, x2] == UNKNOWN:
                        continue
                    space = math.hypot(x2 - x, y2 - y)
                    colour = math.sqrt(
                        sum((image[y, x, c] - image[y2, x2, c]) ** 2 for c in range(3))
                    )
                    if space <= radius and colour <= threshold and space < nearest:
                        nearest = space
                        out[y, x] = label[y2, x2]
    return out


def ref_march(label, x, y, rays):
    """First foreground and background pixel (y, x) of each ray, or None."""
    h, w = label.shape
    i = ((x % 8) + (y % 8) * 8) * 99991 % 64
    start = 2.0 * math.pi / 64 * i
    found = []
    for r in range(rays):
        angle = 2.0 * math.pi / rays * r + start
        c, s = math.cos(angle), math.sin(angle)
        fg = bg = None
        for step in range(2 * max(h, w)):
            x2, y2 = int(x + step * c), int(y + step * s)
            if x2 < 0 or y2 < 0 or x2 >= w or y2 >= h:
                break
            if fg is None and label[y2, x2] == FG:
                fg = (y2, x2)
            if bg is None and label[y2, x2] == BG:
                bg = (y2, x2)
            if fg is not None and bg is not None:
                break
        found.append((fg, bg))
    return found


def ref_path_energy(image, x0, y0, x1, y1, pymatting_path=False):
    h, w = image.shape[:2]
    length = math.hypot(x1 - x0, y1 - y0)
    if length == 0:
        return 0.0
    steps_ = max(1, min(10, math.ceil(length)))
    sx, sy = (x1 - x0) / steps_, (y1 - y0) / steps_
    total = 0.0
    for i in range(steps_ + 1):
        qx = int(x0 + i * sx)
        qy = int(y0 + i * (sx if pymatting_path else sy))
        right, left = min(w - 1, max(0, qx + 1)), min(w - 1, max(0, qx - 1))
        down, up = min(h - 1, max(0, qy + 1)), min(h - 1, max(0, qy - 1))
        qx, qy = min(w - 1, max(0, qx)), min(h - 1, max(0, qy))
        v = [
            sx * 0.5 * (image[qy, right, c] - image[qy, left, c])
            + sy * 0.5 * (image[down, qx, c] - image[up, qx, c])
            for c in range(3)
        ]
        total += math.sqrt(sum(t * t for t in v))
    return total


def ref_select(image, label, x, y, samples, mean_fg, mean_bg, exponents, radius):
    """The best pair at (x, y) from ``samples`` = ref_march's output."""
    h, w = label.shape
    fgs = [s[0] for s in samples if s[0] is not None]
    bgs = [s[1] for s in samples if s[1] is not None]
    fg_pairs = [(image[q], q) for q in fgs] or [(mean_fg, (y, x))]
    bg_pairs = [(image[q], q) for q in bgs] or [(mean_bg, (y, x))]
    e_f = min(ref_path_energy(image, x, y, q[1], q[0]) for _, q in fg_pairs)
    e_b = min(ref_path_energy(image, x, y, q[1], q[0]) for _, q in bg_pairs)
    prob_fg = e_b / (e_f + e_b + 1e-5)
    best = None
    for f, qf in fg_pairs:
        for b, qb in bg_pairs:
            a = ref_alpha(image[y, x], f, b)
            n = 0.0
            for y2 in range(y - radius, y + radius + 1):
                for x2 in range(x - radius, x + radius + 1):
                    c = image[min(h - 1, max(0, y2)), min(w - 1, max(0, x2))]
                    n += ref_distortion(c, f, b)
            cost = (
                n ** exponents[0]
                * (prob_fg + (1 - 2 * prob_fg) * a) ** exponents[1]
                * math.hypot(qf[0] - y, qf[1] - x) ** exponents[2]
                * math.hypot(qb[0] - y, qb[1] - x) ** exponents[3]
            )
            if best is None or cost < best[0]:
                best = (cost, f, b)
    return best[1], best[2]


def ref_refine(image, fg, bg, label, radius):
    """Mean of the three window pairs of least distortion, per unknown pixel."""
    h, w = label.shape
    out_f, out_b = fg.copy(), bg.copy()
    for y in range(h):
        for x in range(w):
            if label[y, x] != UNKNOWN:
                continue
            offers = []
            for y2 in range(y - radius, y + radius + 1):
                for x2 in range(x - radius, x + radius + 1):
                    if 0 <= y2 < h and 0 <= x2 < w:
                        cost = ref_distortion(image[y, x], fg[y2, x2], bg[y2, x2])
                        offers.append((cost, len(offers), fg[y2, x2], bg[y2, x2]))
            offers.sort(key=lambda o: (o[0], o[1]))
            best = offers[:3]
            out_f[y, x] = sum(o[2] for o in best) / 3
            out_b[y, x] = sum(o[3] for o in best) / 3
    return out_f, out_b


def ref_smooth(image, fg, bg, alpha, label, radius, sigma_sq):
    h, w = label.shape
    out_f, out_b = fg.copy(), bg.copy()
    for y in range(h):
        for x in range(w):
            if label[y, x] != UNKNOWN:
                continue
            sum_f = sum_b = 0.0
            acc_f, acc_b = np.zeros(3), np.zeros(3)
            for y2 in range(y - radius, y + radius + 1):
                for x2 in range(x - radius, x + radius + 1):
                    if not (0 <= y2 < h and 0 <= x2 < w):
                        continue
                    weight = math.exp(-((x2 - x) ** 2 + (y2 - y) ** 2) / sigma_sq)
                    if (y2, x2) != (y, x):
                        weight *= abs(alpha[y, x] - alpha[y2, x2])
                    w_f = max(weight * alpha[y2, x2], 1e-5)
                    w_b = max(weight * (1 - alpha[y2, x2]), 1e-5)
                    sum_f, sum_b = sum_f + w_f, sum_b + w_b
                    acc_f += w_f * fg[y2, x2]
                    acc_b += w_b * bg[y2, x2]
            out_f[y, x], out_b[y, x] = acc_f / sum_f, acc_b / sum_b
    return out_f, out_b


def ref_confidence(image, fg, bg, refined_alpha, label, radius, sigma_sq):
    h, w = label.shape
    out = np.zeros((h, w))
    for y in range(h):
        for x in range(w):
            if label[y, x] != UNKNOWN:
                continue
            num = den = 0.0
            for y2 in range(y - radius, y + radius + 1):
                for x2 in range(x - radius, x + radius + 1):
                    if 0 <= y2 < h and 0 <= x2 < w and label[y2, x2] == UNKNOWN:
                        weight = refined_alpha[y2, x2] * (1 - refined_alpha[y2, x2])
                        num += weight * np.linalg.norm(fg[y2, x2] - bg[y2, x2])
                        den += weight
            mean = num / (den + 1e-5) + 1e-5
            spread = np.linalg.norm(fg[y, x] - bg[y, x])
            distortion = ref_distortion(image[y, x], fg[y, x], bg[y, x])
            out[y, x] = min(1, spread / mean) * math.exp(-math.sqrt(distortion) / sigma_sq)
    return out


def ref_low_frequency(alpha, label, radius, sigma_sq):
    h, w = label.shape
    out = np.zeros((h, w))
    for y in range(h):
        for x in range(w):
            if label[y, x] != UNKNOWN:
                continue
            num = den = 0.0
            for y2 in range(y - radius, y + radius + 1):
                for x2 in range(x - radius, x + radius + 1):
                    if 0 <= y2 < h and 0 <= x2 < w:
                        weight = math.exp(-((x2 - x) ** 2 + (y2 - y) ** 2) / sigma_sq)
                        weight += label[y2, x2] != UNKNOWN
                        num += weight * alpha[y2, x2]
                        den += weight
            out[y, x] = num / den
    return out


# --- small inputs ----------------------------------------------------------------------------


def _inputs(seed, shape=(23, 31), unknown=0.5):
    """Random colours and a trimap: blobs of foreground, background and unknown pixels."""
    rng = np.random.default_rng(seed)
    h, w = shape
    image = rng.random((h, w, 3)).astype(np.float32).astype(np.float64)
    y, x = np.mgrid[0:h, 0:w]
    field = np.sin(x / rng.uniform(2, 6) + rng.uniform(0, 6)) + np.cos(y / rng.uniform(2, 6))
    label = np.where(field > 0.3, FG, BG).astype(np.uint8)
    label[rng.random((h, w)) < unknown] = UNKNOWN
    label[np.abs(field - 0.3) < 0.4] = UNKNOWN
    label.flat[rng.integers(0, h * w)] = FG
    label.flat[rng.integers(0, h * w)] = BG
    return image, label


def _planar(image):
    h, w = image.shape[:2]
    return np.ascontiguousarray(image.reshape(h * w, 3).T, dtype=np.float32)


def _any_planes(fg, bg, alpha=None):
    """PairPlanes holding the given pair (and alpha) images everywhere."""
    h, w = fg.shape[:2]
    everything = np.arange(h * w)
    label = np.full(h * w, UNKNOWN, dtype=np.uint8)
    a = None if alpha is None else alpha.ravel().astype(np.float32)
    mean = np.zeros(3, dtype=np.float32)
    return refinement.PairPlanes(
        _planar(fg), label, (h, w), everything, _planar(fg), _planar(bg), mean, mean, a
    )


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(("radius", "threshold"), [(3, 0.35), (5, 0.5), (0, 0.3)])
def test_expand_trimap_matches_loop(seed, radius, threshold):
    image, label = _inputs(seed)
    got = expansion.expand_trimap(
        image.reshape(-1, 3), label.ravel(), label.shape, radius, threshold
    )
    np.testing.assert_array_equal(
        got.reshape(label.shape), ref_expand(image, label, radius, threshold)
    )


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("rays", [1, 4, 7])
def test_march_rays_matches_loop(seed, rays):
    _, label = _inputs(seed, shape=(29, 37), unknown=0.3)
    h, w = label.shape
    unknown = np.flatnonzero(label.ravel() == UNKNOWN)
    fg, bg = gathering.march_rays(label.ravel(), (h, w), unknown, rays)
    for k, p in enumerate(unknown):
        y, x = divmod(int(p), w)
        for r, (f, b) in enumerate(ref_march(label, x, y, rays)):
            assert fg[k, r] == (-1 if f is None else f[0] * w + f[1])
            assert bg[k, r] == (-1 if b is None else b[0] * w + b[1])


@given(
    seed=st.integers(0, 2**16),
    height=st.integers(1, 24),
    width=st.integers(1, 24),
    rays=st.integers(1, 6),
    kinds=st.sampled_from([(FG, BG), (FG,), (BG,)]),
)
def test_march_rays_matches_loop_on_any_map(seed, height, width, rays, kinds):
    rng = np.random.default_rng(seed)
    label = rng.choice([UNKNOWN, *kinds], size=(height, width)).astype(np.uint8)
    unknown = np.flatnonzero(label.ravel() == UNKNOWN)
    fg, bg = gathering.march_rays(label.ravel(), (height, width), unknown, rays)
    for k, p in enumerate(unknown):
        y, x = divmod(int(p), width)
        for r, (f, b) in enumerate(ref_march(label, x, y, rays)):
            assert fg[k, r] == (-1 if f is None else f[0] * width + f[1])
            assert bg[k, r] == (-1 if b is None else b[0] * width + b[1])


@pytest.mark.parametrize("pymatting_path", [False, True])
def test_path_energy_matches_loop(pymatting_path):
    image, _ = _inputs(5, shape=(17, 26))
    h, w = image.shape[:2]
    rng = np.random.default_rng(0)
    x0, x1 = rng.integers(0, w, 200), rng.integers(0, w, 200)
    y0, y1 = rng.integers(0, h, 200), rng.integers(0, h, 200)
    x1[:5], y1[:5] = x0[:5], y0[:5]
    tensor = gathering.gradient_tensor(image.reshape(-1, 3), (h, w))
    got = gathering.path_energy(tensor, (h, w), x0, y0, x1, y1, pymatting_path=pymatting_path)
    want = [
        ref_path_energy(image, *args, pymatting_path) for args in zip(x0, y0, x1, y1, strict=True)
    ]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_sample_distances_equal_hypot():
    # The pair cost's distances: float32 of sqrt(dx^2 + dy^2), which must round as np.hypot
    # did, on every whole-number offset (ties between pairs depend on the last bit).
    dy, dx = np.mgrid[-300:301, -300:301]
    dy, dx = dy.ravel(), dx.ravel()
    got = gathering._distance32(dx, dy)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.hypot(dx, dy).astype(np.float32))


@pytest.mark.parametrize("seed", range(3))
def test_gather_samples_matches_loop(seed):
    image, label = _inputs(seed, shape=(19, 27), unknown=0.3)
    h, w = label.shape
    colors = image.reshape(-1, 3)
    unknown = np.flatnonzero(label.ravel() == UNKNOWN)
    exponents, radius = (3.0, 2.0, 1.0, 4.0), 1
    fg, bg, _, mean_fg, mean_bg, _ = gathering.gather_samples(
        colors,
        label.ravel(),
        (h, w),
        unknown,
        rays=4,
        exponents=exponents,
        distortion_radius=radius,
    )
    np.testing.assert_allclose(mean_fg, image[label == FG].mean(axis=0), rtol=1e-5)
    for k, p in enumerate(unknown):
        y, x = divmod(int(p), w)
        samples = ref_march(label, x, y, 4)
        f, b = ref_select(image, label, x, y, samples, mean_fg, mean_bg, exponents, radius)
        np.testing.assert_allclose(fg[:, k], f, atol=1e-6)
        np.testing.assert_allclose(bg[:, k], b, atol=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_gather_samples_matches_loop_without_merged_groups(seed, monkeypatch):
    # Small images merge every sample-count group into one (repeated samples); with no
    # merging each group keeps its own count: both must pick the loop's pairs.
    monkeypatch.setattr(gathering, "_SMALL_GROUP", 0)
    test_gather_samples_matches_loop(seed)


def test_merged_groups_pick_the_same_pairs():
    image, label = _inputs(7, shape=(31, 43), unknown=0.4)
    colors, shape = image.reshape(-1, 3), label.shape
    unknown = np.flatnonzero(label.ravel() == UNKNOWN)
    options = {"rays": 5, "exponents": (3.0, 2.0, 1.0, 4.0), "distortion_radius": 1}
    merged = gathering.gather_samples(colors, label.ravel(), shape, unknown, **options)
    saved = gathering._SMALL_GROUP
    try:
        gathering._SMALL_GROUP = 0
        exact = gathering.gather_samples(colors, label.ravel(), shape, unknown, **options)
    finally:
        gathering._SMALL_GROUP = saved
    for a, b in zip(merged, exact, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("pool", [1, 7, 64])
def test_march_rays_with_a_small_pool_matches_loop(pool, monkeypatch):
    # The pool is topped up as rays finish: tiny pools refill many times.
    monkeypatch.setattr(gathering, "RAY_CHUNK", pool)
    _, label = _inputs(3, shape=(23, 31), unknown=0.35)
    h, w = label.shape
    unknown = np.flatnonzero(label.ravel() == UNKNOWN)
    fg, bg = gathering.march_rays(label.ravel(), (h, w), unknown, 3)
    for k, p in enumerate(unknown):
        y, x = divmod(int(p), w)
        for r, (f, b) in enumerate(ref_march(label, x, y, 3)):
            assert fg[k, r] == (-1 if f is None else f[0] * w + f[1])
            assert bg[k, r] == (-1 if b is None else b[0] * w + b[1])


def _pair_planes(seed, shape=(21, 25)):
    image, label = _inputs(seed, shape=shape)
    rng = np.random.default_rng(seed + 100)
    fg = rng.random(image.shape).astype(np.float32).astype(np.float64)
    bg = rng.random(image.shape).astype(np.float32).astype(np.float64)
    return image, label, fg, bg


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("radius", [1, 3, 5])
def test_refine_samples_matches_loop(seed, radius):
    image, label, fg, bg = _pair_planes(seed)
    unknown = np.flatnonzero(label.ravel() == UNKNOWN)
    got_f, got_b, got_a = refinement.refine_samples(
        _planar(image)[:, unknown], _any_planes(fg, bg), unknown, radius
    )
    want_f, want_b = ref_refine(image, fg, bg, label, radius)
    np.testing.assert_allclose(got_f.T, want_f.reshape(-1, 3)[unknown], atol=1e-5)
    np.testing.assert_allclose(got_b.T, want_b.reshape(-1, 3)[unknown], atol=1e-5)
    colour = image.reshape(-1, 3)[unknown]
    want_a = [ref_alpha(c, f, b) for c, f, b in zip(colour, got_f.T, got_b.T, strict=True)]
    np.testing.assert_allclose(got_a, want_a, atol=1e-5)


@pytest.mark.parametrize("seed", range(3))
# Radius 8: windows of 289 pixels, too many for the packed known-pixel counts.
@pytest.mark.parametrize(("radius", "sigma_sq"), [(2, 1.5), (5, 4.3), (8, 9.0)])
def test_smoothing_matches_loop(seed, radius, sigma_sq):
    image, label, fg, bg = _pair_planes(seed)
    h, w = label.shape
    rng = np.random.default_rng(seed)
    alpha = np.where(label == FG, 1.0, 0.0)
    alpha[label == UNKNOWN] = rng.random(np.count_nonzero(label == UNKNOWN)).astype(np.float32)
    unknown = np.flatnonzero(label.ravel() == UNKNOWN)
    alpha_plane = alpha.ravel().astype(np.float32)
    got_f, got_b = refinement.smooth_pairs(_any_planes(fg, bg, alpha), unknown, radius, sigma_sq)
    want_f, want_b = ref_smooth(image, fg, bg, alpha, label, radius, sigma_sq)
    np.testing.assert_allclose(got_f.T, want_f.reshape(-1, 3)[unknown], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got_b.T, want_b.reshape(-1, 3)[unknown], rtol=1e-4, atol=1e-5)

    colour = _planar(image)[:, unknown]
    got = refinement.confidence(
        colour,
        _planar(fg)[:, unknown],
        _planar(bg)[:, unknown],
        alpha_plane[unknown],
        (h, w),
        unknown,
        radius,
        0.1,
    )
    want = ref_confidence(image, fg, bg, alpha, label, radius, 0.1).ravel()[unknown]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)

    got = refinement.low_frequency_alpha(
        alpha_plane[unknown], label.ravel(), (h, w), unknown, radius, sigma_sq
    )
    want = ref_low_frequency(alpha, label, radius, sigma_sq).ravel()[unknown]
    np.testing.assert_allclose(got, want, rtol=1e-5)


# --- the whole method --------------------------------------------------------------------------


def _sad(alpha, truth, unknown):
    return float(np.abs(alpha - truth)[unknown].sum())


@pytest.mark.parametrize("seed", range(3))
def test_estimate_on_synthetic_scene(seed):
    import vecmatte

    scene = vecmatte.make_scene((60, 80), seed=seed)
    alpha = vecmatte.estimate_alpha(scene.image, scene.trimap, method="sm")
    unknown = (scene.trimap > 0.1) & (scene.trimap < 0.9)
    assert alpha.shape == (60, 80) and alpha.dtype == np.float64
    assert np.all((alpha >= 0) & (alpha <= 1))
    np.testing.assert_array_equal(alpha[scene.trimap >= 0.9], 1.0)
    np.testing.assert_array_equal(alpha[scene.trimap <= 0.1], 0.0)
    # Far better than guessing one half everywhere, and small per pixel. Measured (seeds
    # 0, 1, 2): SAD 0.036, 0.036, 0.028 of one half's, mean error 0.0148, 0.0148, 0.0115;
    # the bounds are about 1.7x those. The matte plus seeded noise of sigma 0.05 (mean
    # error 0.031-0.035, 0.073-0.084 of one half's SAD) fails both; 0.25 and 0.08 did not.
    sad = _sad(alpha, scene.alpha, unknown)
    assert sad < 0.06 * _sad(np.full_like(alpha, 0.5), scene.alpha, unknown)
    assert sad / unknown.sum() < 0.025


def test_estimate_keeps_the_expanded_labels_and_the_contract():
    import vecmatte

    scene = vecmatte.make_scene((40, 50), seed=7)
    is_fg, is_bg = scene.trimap >= 0.9, scene.trimap <= 0.1
    result = sm.shared_matting(scene.image, is_fg, is_bg)
    assert result.foreground.shape == result.background.shape == (40, 50, 3)
    np.testing.assert_allclose(result.foreground[is_fg], scene.image[is_fg], atol=1e-6)
    np.testing.assert_allclose(result.background[is_bg], scene.image[is_bg], atol=1e-6)
    # The unknown pixels the loop's expansion (default radius 10, threshold 0.02) labels
    # keep that label: alpha exactly 1 or 0, their own colour as the foreground / background.
    label = np.where(is_fg, FG, np.where(is_bg, BG, UNKNOWN)).astype(np.uint8)
    expanded = ref_expand(scene.image, label, 10, 0.02)
    new_fg, new_bg = (expanded == FG) & ~is_fg, (expanded == BG) & ~is_bg
    assert new_fg.sum() > 50 and new_bg.sum() > 50  # the scene exercises both labels
    np.testing.assert_array_equal(result.alpha[new_fg], 1.0)
    np.testing.assert_array_equal(result.alpha[new_bg], 0.0)
    np.testing.assert_allclose(result.foreground[new_fg], scene.image[new_fg], atol=1e-6)
    np.testing.assert_allclose(result.background[new_bg], scene.image[new_bg], atol=1e-6)
    # Without expansion the same pixels are estimated (close to, but not exactly, 0 or 1).
    off = sm.estimate(scene.image, is_fg, is_bg, expansion_threshold=0.0)
    assert off.shape == (40, 50)
    assert (off[new_fg] < 1).any() and (off[new_bg] > 0).any()


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("rays", 0),
        ("expansion_radius", -1),
        ("cost_exponents", (1, 2)),
        ("confidence_sigma_sq", 0),
        ("refinement_radius", 30),  # the image is 20 x 30: 100000 asked NumPy for 596 GiB
        ("smoothing_radius", 100000),
    ],
)
def test_bad_options_are_named(option, value):
    import vecmatte

    scene = vecmatte.make_scene((20, 30), seed=1)
    with pytest.raises(ValueError, match=option):
        vecmatte.estimate_alpha(scene.image, scene.trimap, method="sm", **{option: value})


@pytest.mark.parametrize("shape", [(120, 160), (300, 400)])
def test_memory_model_covers_a_solve(shape):
    import tracemalloc

    from vecmatte.synthetic import make_scene

    scene = make_scene(shape, seed=3, band=12)
    is_fg, is_bg = scene.trimap >= 0.9, scene.trimap <= 0.1
    sm.estimate(scene.image, is_fg, is_bg)  # imports and caches outside the measurement
    tracemalloc.start()
    try:
        sm.estimate(scene.image, is_fg, is_bg)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    unknown = int((~is_fg & ~is_bg).sum())
    assert peak <= sm.memory_bytes(shape, unknown)


@pytest.mark.parametrize("seed", range(2))
def test_close_to_pymatting(seed):
    pymatting = pytest.importorskip("pymatting")
    import vecmatte

    scene = vecmatte.make_scene((70, 90), seed=seed, softness=6.0, band=4)
    unknown = (scene.trimap > 0.1) & (scene.trimap < 0.9)
    ours = vecmatte.estimate_alpha(scene.image, scene.trimap, method="sm")
    theirs = pymatting.estimate_alpha_sm(scene.image, scene.trimap)
    ours_sad = _sad(ours, scene.alpha, unknown)
    theirs_sad = _sad(theirs, scene.alpha, unknown)
    assert ours_sad <= 1.1 * theirs_sad + 1.0


def test_estimate_and_shared_matting_share_their_defaults():
    # estimate (the pipeline's entry) spells out shared_matting's options so that the
    # pipeline can read their names; the defaults written twice must not drift apart.
    import inspect

    from vecmatte.alpha import sm

    def defaults(function):
        parameters = inspect.signature(function).parameters.values()
        return {p.name: p.default for p in parameters if p.kind is p.KEYWORD_ONLY}

    entry, full = defaults(sm.estimate), defaults(sm.shared_matting)
    assert entry == {name: full[name] for name in entry}
