"""Shared matting's small-image paths (session 11): each against a plain loop, and against the
chunked path it replaces for few pixels, bit for bit."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vecmatte.alpha import _path_energy as energies
from vecmatte.alpha import _sample_gathering as gathering
from vecmatte.alpha import _shared_sampling as common
from vecmatte.alpha import _trimap_expansion as expansion
from vecmatte.alpha import sm

FG, BG, UNKNOWN = common.FOREGROUND, common.BACKGROUND, common.UNKNOWN


def ref_march(label, x, y, rays):
    """First foreground and background flat index of each ray of pixel (x, y), or -1."""
    h, w = label.shape
    i = ((x % 8) + (y % 8) * 8) * 99991 % 64
    found = []
    for r in range(rays):
        angle = 2.0 * math.pi / rays * r + 2.0 * math.pi / 64 * i
        c, s = math.cos(angle), math.sin(angle)
        fg = bg = -1
        for step in range(2 * max(h, w)):
            x2, y2 = int(x + step * c), int(y + step * s)
            if x2 < 0 or y2 < 0 or x2 >= w or y2 >= h:
                break
            if fg < 0 and label[y2, x2] == FG:
                fg = y2 * w + x2
            if bg < 0 and label[y2, x2] == BG:
                bg = y2 * w + x2
            if fg >= 0 and bg >= 0:
                break
        found.append((fg, bg))
    return found


def ref_expand(image, label, radius, threshold):
    h, w = label.shape
    out = label.copy()
    for y in range(h):
        for x in range(w):
            if label[y, x] != UNKNOWN:
                continue
            nearest = math.inf
            for y2 in range(max(0, y - radius), min(h, y + radius + 1)):
                for x2 in range(max(0, x - radius), min(w, x + radius + 1)):
                    if label[y2, x2] == UNKNOWN:
                        continue
                    space = math.hypot(x2 - x, y2 - y)
                    colour = math.sqrt(
                        sum((image[y, x, c] - image[y2, x2, c]) ** 2 for c in range(3))
                    )
                    if space <= radius and colour <= threshold and space < nearest:
                        nearest = space
                        out[y, x] = label[y2, x2]
    return out


def _map(seed, shape, unknown=0.4, kinds=(FG, BG)):
    rng = np.random.default_rng(seed)
    label = rng.choice(kinds, size=shape).astype(np.uint8)
    label[rng.random(shape) < unknown] = UNKNOWN
    return label


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    height=st.integers(1, 20),
    width=st.integers(1, 20),
    rays=st.integers(1, 5),
    unknown=st.floats(0.3, 0.95),
    kinds=st.sampled_from([(FG, BG), (FG,), (BG,)]),
    window=st.sampled_from([0, 4, 6, 1 << 15]),
)
def test_ray_windows_find_the_loop_samples(seed, height, width, rays, unknown, kinds, window):
    # window: steps per ray of the first window (0: the march alone). Short windows leave
    # rays with one kind found for the next window, which must not take that kind again
    # (a ray's first foreground, not its last).
    label = _map(seed, (height, width), unknown, kinds)
    targets = np.flatnonzero(label.ravel() == UNKNOWN)
    saved = gathering._FIRST_STEPS_ELEMENTS
    try:
        gathering._FIRST_STEPS_ELEMENTS = window * max(1, targets.size * rays)
        fg, bg = gathering.march_rays(label.ravel(), (height, width), targets, rays)
    finally:
        gathering._FIRST_STEPS_ELEMENTS = saved
    for k, p in enumerate(targets):
        y, x = divmod(int(p), width)
        want = ref_march(label, x, y, rays)
        assert [(int(f), int(b)) for f, b in zip(fg[k], bg[k], strict=True)] == want


def test_a_later_window_keeps_the_first_sample():
    # A ray along a row of foreground pixels past a background one: the first window (4
    # steps) finds the foreground, the second the background and more foreground.
    label = np.full((1, 24), FG, dtype=np.uint8)
    label[0, 0] = UNKNOWN
    label[0, 10] = BG
    saved = gathering._FIRST_STEPS_ELEMENTS
    try:
        gathering._FIRST_STEPS_ELEMENTS = 4
        fg, bg = gathering.march_rays(label.ravel(), (1, 24), np.array([0]), 1)
    finally:
        gathering._FIRST_STEPS_ELEMENTS = saved
    assert [(int(fg[0, 0]), int(bg[0, 0]))] == ref_march(label, 0, 0, 1)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("at_once", [0, 40, 1 << 30])
def test_expansion_paths_match_loop(seed, at_once, monkeypatch):
    # 0: the block filter and offset groups; 40: all offsets, a pixel or two at a time.
    monkeypatch.setattr(expansion, "_AT_ONCE_ELEMENTS", at_once)
    if at_once == 40:
        monkeypatch.setattr(expansion, "CHUNK_ELEMENTS", 40)
    rng = np.random.default_rng(seed)
    image = rng.random((17, 23, 3)).round(1)  # equal colours: many pixels qualify
    label = _map(seed, (17, 23), 0.6)
    got = expansion.expand_trimap(image.reshape(-1, 3), label.ravel(), (17, 23), 3, 0.25)
    np.testing.assert_array_equal(got.reshape(17, 23), ref_expand(image, label, 3, 0.25))


@pytest.mark.parametrize("pymatting_path", [False, True])
def test_path_energy_at_once_equals_rounds(pymatting_path, monkeypatch):
    rng = np.random.default_rng(4)
    h, w = 15, 21
    image = rng.random((h, w, 3))
    tensor = energies.gradient_tensor(image.reshape(-1, 3), (h, w))
    x0, x1 = rng.integers(0, w, 300), rng.integers(0, w, 300)
    y0, y1 = rng.integers(0, h, 300), rng.integers(0, h, 300)
    x1[:9], y1[:9] = x0[:9], y0[:9]
    args = (tensor, (h, w), x0, y0, x1, y1)
    at_once = energies.path_energy(*args, pymatting_path=pymatting_path)
    monkeypatch.setattr(energies, "CHUNK_ELEMENTS", 0)
    rounds = energies.path_energy(*args, pymatting_path=pymatting_path)
    np.testing.assert_array_equal(at_once, rounds)
    assert not np.signbit(at_once).any()


def test_least_path_energy_of_two_sets_equals_one_at_a_time():
    rng = np.random.default_rng(5)
    h, w = 13, 17
    tensor = energies.gradient_tensor(rng.random((h * w, 3)), (h, w))
    targets = np.sort(rng.choice(h * w, 40, replace=False))
    index = np.where(rng.random((2, 40, 3)) < 0.7, rng.integers(0, h * w, (2, 40, 3)), -1)
    both = energies.least_path_energy(tensor, (h, w), targets, index)
    for s in range(2):
        one = energies.least_path_energy(tensor, (h, w), targets, index[s])
        np.testing.assert_array_equal(both[s], one)


@given(seed=st.integers(0, 2**16), m=st.integers(0, 30), rays=st.integers(1, 10))
def test_found_first_matches_loop(seed, m, rays):
    rng = np.random.default_rng(seed)
    index = np.where(rng.random((m, rays)) < rng.random(), rng.integers(0, 99, (m, rays)), -1)
    index = index.astype(np.int32)
    got = gathering._found_first(index)
    for row, out in zip(index, got, strict=True):
        found = [int(v) for v in row if v >= 0]
        want = found + [found[0] if found else -1] * (rays - len(found))
        assert out.tolist() == want


@given(seed=st.integers(0, 2**16), rays=st.integers(1, 5), size=st.integers(1, 3000))
def test_merge_groups_matches_loop(seed, rays, size):
    rng = np.random.default_rng(seed)
    n_f, n_b = rng.integers(1, rays + 1, size), rng.integers(1, rays + 1, size)
    group = (n_f * (rays + 1) + n_b).astype(np.int16)
    counts = np.bincount(group, minlength=(rays + 1) ** 2)
    large = [c for c in range(counts.size) if counts[c] >= gathering._SMALL_GROUP]
    large.append(rays * (rays + 1) + rays)
    want = []
    for code in group.tolist():
        if code in large:
            want.append(code)
            continue
        covers = [c for c in sorted(set(large)) if c // (rays + 1) >= code // (rays + 1)]
        covers = [c for c in covers if c % (rays + 1) >= code % (rays + 1)]
        want.append(min(covers, key=lambda c: (c // (rays + 1)) * (c % (rays + 1))))
    assert gathering._merge_groups(group, rays).tolist() == want


@pytest.mark.parametrize("seed", range(3))
def test_distortion_offsets_one_at_a_time_or_together(seed, monkeypatch):
    # The pair costs' window offsets go in groups sized to a chunk: one offset at a time
    # (a tiny chunk) must pick the same pairs, bit for bit.
    rng = np.random.default_rng(seed)
    image = rng.random((19, 27, 3))
    label = _map(seed, (19, 27), 0.5)
    targets = np.flatnonzero(label.ravel() == UNKNOWN)
    options = {"rays": 4, "exponents": (3.0, 2.0, 1.0, 4.0), "distortion_radius": 2}
    args = (image.reshape(-1, 3), label.ravel(), (19, 27), targets)
    together = gathering.gather_samples(*args, **options)
    monkeypatch.setattr(gathering, "CHUNK_ELEMENTS", 1)
    apart = gathering.gather_samples(*args, **options)
    for a, b in zip(together, apart, strict=True):
        np.testing.assert_array_equal(a, b)


def test_cached_tables_are_read_only_and_right():
    for radius in (1, 3, 70):
        dy, dx = common.square_offsets(radius)
        grid_y, grid_x = np.mgrid[-radius : radius + 1, -radius : radius + 1]
        np.testing.assert_array_equal(dy, grid_y.ravel())
        np.testing.assert_array_equal(dx, grid_x.ravel())
        dy, dx = common.disk_offsets(radius)
        d2 = dy * dy + dx * dx
        assert (np.diff(d2) >= 0).all() and d2.min() > 0 and d2.max() <= radius * radius
        assert dy.size == np.count_nonzero(grid_y**2 + grid_x**2 <= radius**2) - 1
    for rays in (4, 65):
        cos, sin = gathering._angle_table(rays)
        assert cos[5, rays - 1] == math.cos(2 * math.pi / rays * (rays - 1) + 2 * math.pi / 64 * 5)
        assert sin[7, 1] == math.sin(2 * math.pi / rays + 2 * math.pi / 64 * 7)
    dy, _ = common.square_offsets(2)
    with pytest.raises(ValueError, match="read-only"):
        dy[0] = 5


@pytest.mark.parametrize("shape", [(8, 9), (30, 41)])
def test_tiny_mattes_equal_the_chunked_paths(shape, monkeypatch):
    # Every small-image path off (march alone, grouped expansion, path rounds, one offset
    # at a time) gives the same matte and colour pairs, bit for bit.
    rng = np.random.default_rng(sum(shape))
    image = rng.random((*shape, 3))
    label = _map(1, shape, 0.3)
    fast = sm.shared_matting(image, label == FG, label == BG, expansion_threshold=0.3)
    monkeypatch.setattr(gathering, "_FIRST_STEPS_ELEMENTS", 0)
    monkeypatch.setattr(expansion, "_AT_ONCE_ELEMENTS", 0)
    monkeypatch.setattr(energies, "CHUNK_ELEMENTS", 0)
    monkeypatch.setattr(gathering, "CHUNK_ELEMENTS", 1)
    slow = sm.shared_matting(image, label == FG, label == BG, expansion_threshold=0.3)
    for a, b in zip(
        (fast.alpha, fast.foreground, fast.background),
        (slow.alpha, slow.foreground, slow.background),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)
