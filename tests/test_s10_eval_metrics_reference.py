"""The four errors against plain per-pixel loops of the benchmark's published MATLAB code.

SAD and MSE summed pixel by pixel; the gradient error with the 9 x 9 kernel built entry by
entry and convolved pixel by pixel with replicated edges (MATLAB's ``imfilter(..., 'replicate',
'conv')``); the connectivity error with a breadth-first flood fill (4-neighbours) per
threshold of MATLAB's ``0:0.1:1``. Mattes of 8-bit levels, trimaps of 0 / 128 / 255.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pytest

from vecmatte.metrics import matting_errors


def _kernel(sigma: float) -> list[list[float]]:
    half = math.ceil(sigma * math.sqrt(-2 * math.log(math.sqrt(2 * math.pi) * sigma * 0.01)))

    def gauss(x):
        return math.exp(-(x**2) / (2 * sigma**2)) / (sigma * math.sqrt(2 * math.pi))

    rows = [
        [gauss(i) * (-j * gauss(j) / sigma**2) for j in range(-half, half + 1)]
        for i in range(-half, half + 1)
    ]
    norm = math.sqrt(sum(value * value for row in rows for value in row))
    return [[value / norm for value in row] for row in rows]


def _convolve(image, kernel):
    """True convolution (the kernel flipped), edge pixels replicated."""
    h, w, half = len(image), len(image[0]), len(kernel) // 2
    out = [[0.0] * w for _ in range(h)]
    for y in range(h):
        for x in range(w):
            total = 0.0
            for i in range(-half, half + 1):
                for j in range(-half, half + 1):
                    source = image[min(max(y - i, 0), h - 1)][min(max(x - j, 0), w - 1)]
                    total += kernel[i + half][j + half] * source
            out[y][x] = total
    return out


def _gradient_amplitude(image, sigma=1.4):
    hx = _kernel(sigma)
    hy = [list(column) for column in zip(*hx, strict=True)]
    gx, gy = _convolve(image, hx), _convolve(image, hy)
    return [
        [math.hypot(a, b) for a, b in zip(row_x, row_y, strict=True)]
        for row_x, row_y in zip(gx, gy, strict=True)
    ]


def _largest_component(inside):
    """The largest 4-connected set of True pixels (the first found among equals)."""
    h, w = len(inside), len(inside[0])
    seen = [[False] * w for _ in range(h)]
    best: set = set()
    for y in range(h):
        for x in range(w):
            if not inside[y][x] or seen[y][x]:
                continue
            component, queue = set(), deque([(y, x)])
            seen[y][x] = True
            while queue:
                cy, cx = queue.popleft()
                component.add((cy, cx))
                for ny, nx in ((cy - 1, cx), (cy + 1, cx), (cy, cx - 1), (cy, cx + 1)):
                    if 0 <= ny < h and 0 <= nx < w and inside[ny][nx] and not seen[ny][nx]:
                        seen[ny][nx] = True
                        queue.append((ny, nx))
            if len(component) > len(best):
                best = component
    return best


def _reference(pred, truth, trimap):
    """SAD, MSE, Grad, Conn of 2-D lists of floats in [0, 1] over trimap == 128."""
    h, w = len(pred), len(pred[0])
    unknown = [(y, x) for y in range(h) for x in range(w) if trimap[y][x] == 128]
    sad = sum(abs(pred[y][x] - truth[y][x]) for y, x in unknown)
    mse = sum((pred[y][x] - truth[y][x]) ** 2 for y, x in unknown) / max(len(unknown), 1)
    gp, gt = _gradient_amplitude(pred), _gradient_amplitude(truth)
    grad = sum((gp[y][x] - gt[y][x]) ** 2 for y, x in unknown)
    # MATLAB's 0:0.1:1 is k / 10 to the last bit (np.arange's 0.6000000000000001 is not)
    thresholds = [k / 10 for k in range(11)]
    level = [[-1.0] * w for _ in range(h)]
    for k in range(1, 11):
        t = thresholds[k]
        source = _largest_component(
            [[pred[y][x] >= t and truth[y][x] >= t for x in range(w)] for y in range(h)]
        )
        for y in range(h):
            for x in range(w):
                if level[y][x] == -1.0 and (y, x) not in source:
                    level[y][x] = thresholds[k - 1]
    conn = 0.0
    for y, x in unknown:
        lv = 1.0 if level[y][x] == -1.0 else level[y][x]
        dp, dt = pred[y][x] - lv, truth[y][x] - lv
        conn += abs((1 - dp * (dp >= 0.15)) - (1 - dt * (dt >= 0.15)))
    return {"sad": sad / 1000, "mse": mse, "gradient": grad / 1000, "connectivity": conn / 1000}


def _blob(shape, rng):
    """An 8-bit matte: a soft disc with noise, so every threshold cuts something."""
    h, w = shape
    y, x = np.mgrid[0:h, 0:w]
    radius = np.hypot(y - h / 2 + rng.uniform(-1, 1), x - w / 2 + rng.uniform(-1, 1))
    alpha = np.clip((min(h, w) / 3 - radius) / 3 + 0.5 + rng.normal(0, 0.1, shape), 0, 1)
    return np.round(alpha * 255).astype(np.uint8)


@pytest.mark.parametrize("seed", range(4))
def test_the_four_errors_equal_plain_loops_of_the_benchmark_code(seed):
    rng = np.random.default_rng(seed)
    shape = (13, 17)
    truth = _blob(shape, rng)
    pred = np.clip(truth.astype(int) + rng.integers(-40, 41, shape), 0, 255).astype(np.uint8)
    pred[rng.random(shape) < 0.1] = 153  # 0.6 exactly: a threshold of the connectivity error
    trimap = np.where(truth > 250, 255, np.where(truth < 5, 0, 128)).astype(np.uint8)
    trimap[rng.random(shape) < 0.2] = 128
    expected = _reference(
        (pred / 255.0).tolist(), (truth / 255.0).tolist(), trimap.astype(int).tolist()
    )
    got = matting_errors(pred, truth, trimap)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert value > 0, key
        assert got[key] == pytest.approx(value, rel=1e-12, abs=0), key


def test_errors_over_an_all_known_trimap_are_zero_not_a_division_by_zero():
    rng = np.random.default_rng(5)
    truth = _blob((9, 11), rng)
    pred = 255 - truth
    trimap = np.where(truth >= 128, 255, 0).astype(np.uint8)
    assert matting_errors(pred, truth, trimap) == {
        "sad": 0.0,
        "mse": 0.0,
        "gradient": 0.0,
        "connectivity": 0.0,
    }
