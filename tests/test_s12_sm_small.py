"""Session 12: shared matting's fixed per-call costs (small images), mattes unchanged.

The fast paths for few unknown pixels (channels worked on together, window indices and
window sums shared between steps) must give the values of the plain per-channel,
per-step computations bit for bit, signs of zeros included.
"""

from __future__ import annotations

import numpy as np
import pytest

from vecmatte.alpha import _path_energy as energies
from vecmatte.alpha import _sample_gathering as gathering
from vecmatte.alpha import _sample_refinement as refinement
from vecmatte.alpha import _shared_sampling as common
from vecmatte.alpha import _trimap_expansion as expansion
from vecmatte.alpha import sm
from vecmatte.synthetic import make_scene

FG, BG, UNKNOWN = common.FOREGROUND, common.BACKGROUND, common.UNKNOWN


def _same(a, b):
    """Equal values, NaN where the other has NaN, and the same signs of zeros."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert np.array_equal(a, b, equal_nan=True)
    finite = ~np.isnan(a)
    assert np.array_equal(np.signbit(a[finite]), np.signbit(b[finite]))


def _colours(rng, shape, zeros=0.2):
    """float32 colours with many exact and negative zeros (and equal channels)."""
    x = rng.random(shape, dtype=np.float32)
    x[rng.random(shape) < zeros] = 0.0
    x[rng.random(shape) < zeros / 2] = -0.0
    return x


def loop_alpha(color, fg, bg):
    """eq. 12 channel by channel from 0, as the first implementation summed it."""
    numerator = denominator = 0
    for c in range(3):
        d = fg[c] - bg[c]
        numerator = numerator + (color[c] - bg[c]) * d
        denominator = denominator + d * d
    return np.clip(numerator / (denominator + common.PAIR_EPS), 0.0, 1.0)


def loop_distortion(color, fg, bg):
    alpha = loop_alpha(color, fg, bg)
    total = 0
    for c in range(3):
        r = alpha * (fg[c] - bg[c]) + (bg[c] - color[c])
        total = total + r * r
    return total


@pytest.mark.parametrize("m", [1, 7, 300, 5000])
def test_pair_formulas_match_channel_loops(m):
    rng = np.random.default_rng(m)
    color, fg, bg = (_colours(rng, (3, m)) for _ in range(3))
    # Equal colours in some channels: products of a zero and a negative number (-0.0).
    bg[:, : m // 3] = color[:, : m // 3]
    _same(common.estimate_alpha_from_pair(color, fg, bg), loop_alpha(color, fg, bg))
    _same(common.chromatic_distortion(color, fg, bg), loop_distortion(color, fg, bg))


def test_clips_are_numpys():
    x = np.array([-0.0, 0.0, -1.0, 0.5, 2.0, np.nan, -np.inf, np.inf], dtype=np.float32)
    _same(common.clip01(x.copy()), np.clip(x, 0.0, 1.0))
    _same(common.clamp_below(x.copy(), 1e-5), np.clip(x, 1e-5, np.inf))


def _inputs(shape, seed):
    """A scene's image, labels and unknown pixels, and random pairs and alphas for them."""
    scene = make_scene(shape, seed=seed)
    h, w = shape
    label = np.full(h * w, UNKNOWN, dtype=np.uint8)
    label[(scene.trimap == 1).ravel()] = FG
    label[(scene.trimap == 0).ravel()] = BG
    unknown = np.flatnonzero(label == UNKNOWN)
    colors = scene.image.reshape(-1, 3)
    rng = np.random.default_rng(seed)
    m = unknown.size
    fg, bg = _colours(rng, (3, m)), _colours(rng, (3, m))
    alpha = rng.random(m, dtype=np.float32)
    mean_fg, mean_bg = rng.random(3, dtype=np.float32), rng.random(3, dtype=np.float32)
    colors_unknown = colors[unknown].T.astype(np.float32)
    return colors, label, unknown, colors_unknown, fg, bg, alpha, mean_fg, mean_bg


@pytest.mark.parametrize(
    ("shape", "seed", "radius"), [((20, 24), 1, 5), ((40, 60), 2, 3), ((9, 11), 5, 2)]
)
def test_fused_refinement_and_smoothing_match_channel_loops(monkeypatch, shape, seed, radius):
    colors, label, unknown, colors_unknown, fg, bg, alpha, mean_fg, mean_bg = _inputs(shape, seed)
    planes = refinement.PairPlanes(colors.T, label, shape, unknown, fg, bg, mean_fg, mean_bg)
    with_alpha = refinement.PairPlanes(
        colors.T, label, shape, unknown, fg, bg, mean_fg, mean_bg, alpha
    )
    # Every chunk through the fused path, then none.
    monkeypatch.setattr(refinement, "_FUSED_ELEMENTS", 1 << 30)
    windows = {}
    fused = refinement.refine_samples(colors_unknown, planes, unknown, radius, windows=windows)
    assert len(windows) == 1  # kept for the smoothing
    fused_smooth = refinement.smooth_pairs(with_alpha, unknown, radius, 7.0, windows=windows)
    monkeypatch.setattr(refinement, "_FUSED_ELEMENTS", 0)
    plain = refinement.refine_samples(colors_unknown, planes, unknown, radius)
    plain_smooth = refinement.smooth_pairs(with_alpha, unknown, radius, 7.0)
    for got, want in zip((*fused, *fused_smooth), (*plain, *plain_smooth), strict=True):
        _same(got, want)


@pytest.mark.parametrize(
    ("shape", "seed", "radius"), [((20, 24), 1, 5), ((40, 60), 2, 3), ((33, 17), 4, 8)]
)
def test_confidence_and_low_frequency_together_match_each(shape, seed, radius):
    _, label, unknown, colors_unknown, fg, bg, alpha, _, _ = _inputs(shape, seed)
    trust, low = refinement.confidence_and_low_frequency(
        colors_unknown, fg, bg, alpha, label, shape, unknown, radius, 0.1, 9.0
    )
    _same(trust, refinement.confidence(colors_unknown, fg, bg, alpha, shape, unknown, radius, 0.1))
    _same(low, refinement.low_frequency_alpha(alpha, label, shape, unknown, radius, 9.0))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_matte_with_shared_sums_matches_separate_steps(monkeypatch, seed):
    """Default radii: the shared pass runs, and the matte is that of the separate steps."""
    scene = make_scene((40, 50), seed=seed)
    fg, bg = scene.trimap == 1, scene.trimap == 0
    calls = []
    shared = refinement.confidence_and_low_frequency

    def spy(*args):
        calls.append(args)
        return shared(*args)

    monkeypatch.setattr(refinement, "confidence_and_low_frequency", spy)
    combined = sm.shared_matting(scene.image, fg, bg)
    assert len(calls) == 1

    def separate(colors_unknown, f, b, alpha, label, shape, unknown, radius, s_c, s_l, bands):
        trust = refinement.confidence(colors_unknown, f, b, alpha, shape, unknown, radius, s_c)
        return trust, refinement.low_frequency_alpha(alpha, label, shape, unknown, radius, s_l)

    monkeypatch.setattr(refinement, "confidence_and_low_frequency", separate)
    plain = sm.shared_matting(scene.image, fg, bg)
    for got, want in zip(
        (combined.alpha, combined.foreground, combined.background),
        (plain.alpha, plain.foreground, plain.background),
        strict=True,
    ):
        _same(got, want)


def _gather(shape, seed, **options):
    """gather_samples on a random image whose unknown band runs down the middle."""
    rng = np.random.default_rng(seed)
    h, w = shape
    colors = rng.random((h * w, 3))
    label = np.full((h, w), FG, dtype=np.uint8)
    label[:, : w // 3] = BG
    label[:, w // 3 : w // 3 + max(1, w // 4)] = UNKNOWN
    label[rng.random((h, w)) < 0.1] = UNKNOWN
    label = label.ravel()
    unknown = np.flatnonzero(label == UNKNOWN)
    options = {"rays": 4, "exponents": (3.0, 2.0, 1.0, 4.0), "distortion_radius": 1, **options}
    return gathering.gather_samples(colors, label, shape, unknown, **options)


@pytest.mark.parametrize(
    ("shape", "seed", "rays"), [((20, 24), 1, 4), ((16, 18), 3, 9), ((9, 11), 5, 1)]
)
def test_one_group_of_few_pixels_matches_exact_groups(monkeypatch, shape, seed, rays):
    """Fewer pixels than _SMALL_GROUP: one group of all pixels, no grouping; the pairs of
    the exact groups (every count its own group, checked against a loop in test_alpha_sm)."""
    calls = []
    best_pairs = gathering._best_pairs
    monkeypatch.setattr(gathering, "_best_pairs", lambda *a: calls.append(a) or best_pairs(*a))
    fast = _gather(shape, seed, rays=rays)
    assert len(calls) == 1 and calls[0][2].size == fast[0].shape[1] < gathering._SMALL_GROUP
    monkeypatch.setattr(gathering, "_SMALL_GROUP", 0)
    exact = _gather(shape, seed, rays=rays)
    for got, want in zip(fast, exact, strict=True):
        _same(got, want)


@pytest.mark.parametrize("radius", [1, 2])
def test_distortion_in_one_reduction_matches_offset_groups(monkeypatch, radius):
    """All window offsets in one group (one reduction) or a few at a time (a loop)."""
    one = _gather((20, 24), 2, distortion_radius=radius)
    monkeypatch.setattr(gathering, "CHUNK_ELEMENTS", 64)  # an offset or two per group
    for got, want in zip(_gather((20, 24), 2, distortion_radius=radius), one, strict=True):
        _same(got, want)


@pytest.mark.parametrize("shape", [(1, 1), (1, 6), (6, 1), (2, 3), (32, 32), (40, 71)])
def test_small_gradient_tensor_matches_channel_loop(monkeypatch, shape):
    rng = np.random.default_rng(shape[0] * 100 + shape[1])
    colors = rng.random((shape[0] * shape[1], 3))
    colors[rng.random(colors.shape) < 0.3] = 0.5  # flat stretches: zero differences
    small = energies.gradient_tensor(colors, shape)
    assert shape[0] * shape[1] <= energies._ALL_CHANNELS_PIXELS  # the channels together
    monkeypatch.setattr(energies, "_ALL_CHANNELS_PIXELS", 0)
    _same(small, energies.gradient_tensor(colors, shape))


def _loop_expand(image, label, radius, threshold):
    """Each unknown pixel takes the label of the nearest known pixel within ``radius`` and
    ``threshold`` (first in scan order among equally near ones), one pixel at a time."""
    h, w = label.shape
    out = label.copy()
    for y, x in zip(*np.nonzero(label == UNKNOWN), strict=True):
        nearest = radius * radius + 1
        for y2 in range(max(0, y - radius), min(h, y + radius + 1)):
            for x2 in range(max(0, x - radius), min(w, x + radius + 1)):
                d2 = (y2 - y) ** 2 + (x2 - x) ** 2
                colour = np.sqrt(np.sum((image[y, x] - image[y2, x2]) ** 2))
                if label[y2, x2] != UNKNOWN and d2 < nearest and colour <= threshold:
                    nearest, out[y, x] = d2, label[y2, x2]
    return out


@pytest.mark.parametrize("seed", [0, 1])
def test_expansion_in_two_passes_matches_loop(monkeypatch, seed):
    """Many unknown pixels: the nearest offsets first, then the rest for the unlabelled."""
    rng = np.random.default_rng(seed)
    h, w = 36, 40
    image = np.repeat(rng.random((h, w // 4, 3)), 4, axis=1)  # runs of equal colours
    image += rng.normal(0.0, 0.05, image.shape)
    label = np.full((h, w), FG, dtype=np.uint8)
    label[:, : w // 2] = BG
    label[:, w // 2 - 4 : w // 2 + 4] = UNKNOWN
    unknown = np.count_nonzero(label == UNKNOWN)
    radius, threshold = 10, 0.12
    dy, _ = common.disk_offsets(radius)
    assert unknown * dy.size >= expansion._SPLIT_ELEMENTS  # two passes
    assert unknown * dy.size <= expansion._AT_ONCE_ELEMENTS
    passes = []
    label_first_close = expansion._label_first_close
    monkeypatch.setattr(
        expansion,
        "_label_first_close",
        lambda search, *a: passes.append(search.active.size) or label_first_close(search, *a),
    )
    got = expansion.expand_trimap(image.reshape(-1, 3), label.ravel(), (h, w), radius, threshold)
    assert passes[0] == unknown and passes[-1] < unknown  # the second pass: fewer pixels
    want = _loop_expand(image, label, radius, threshold)
    assert 0 < np.count_nonzero(want != label) < unknown  # some labelled, some not
    np.testing.assert_array_equal(got.reshape(h, w), want)
