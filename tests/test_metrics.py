"""Matting errors on small cases worked out by hand, and the ``vecmatte eval`` command."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import write_png

import vecmatte
from vecmatte.cli import main
from vecmatte.metrics import (
    _gaussian_derivative_kernel,
    connectivity_error,
    gradient_error,
    matting_errors,
    mse,
    sad,
)

# 0.5 is unknown, 1 foreground, 0 background.
ALPHA = np.array([[0.5, 1.0], [0.0, 0.25]])
TRUE = np.zeros((2, 2))
TRIMAP = np.array([[0.5, 0.5], [1.0, 0.5]])


def test_sad_by_hand():
    # unknown pixels: |0.5| + |1| + |0.25| = 1.75, reported / 1000
    assert sad(ALPHA, TRUE, TRIMAP) == pytest.approx(1.75e-3, abs=1e-15)
    # no trimap: every pixel (the known one adds |0 - 0|)
    assert sad(ALPHA, TRUE) == pytest.approx(1.75e-3, abs=1e-15)
    assert sad(ALPHA, np.ones((2, 2)), TRIMAP) == pytest.approx((0.5 + 0 + 0.75) / 1000, abs=1e-15)


def test_mse_by_hand():
    # (0.25 + 1 + 0.0625) / 3 unknown pixels
    assert mse(ALPHA, TRUE, TRIMAP) == pytest.approx(1.3125 / 3, abs=1e-15)
    # the foreground pixel now counts too: (0.25 + 1 + 0 + 0.0625) / 4
    assert mse(ALPHA, TRUE) == pytest.approx(1.3125 / 4, abs=1e-15)
    assert mse(ALPHA, TRUE, np.ones((2, 2))) == 0.0


def test_uint8_inputs_scale_to_unit_range():
    alpha = np.array([[255, 0], [51, 0]], dtype=np.uint8)
    trimap = np.full((2, 2), 128, dtype=np.uint8)
    # |1 - 0| + |0.2 - 0| = 1.2
    assert sad(alpha, np.zeros((2, 2)), trimap) == pytest.approx(1.2e-3, abs=1e-12)


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(
        ValueError, match=r"alpha has shape \(2, 2\) but true_alpha has shape \(2, 3\)"
    ):
        sad(ALPHA, np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"trimap has shape \(3, 2\)"):
        mse(ALPHA, TRUE, np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        sad(ALPHA * 2, TRUE)


def _kernel_by_loops(sigma):
    """The benchmark's derivative-of-Gaussian kernel, entry by entry."""
    half = math.ceil(sigma * math.sqrt(-2 * math.log(math.sqrt(2 * math.pi) * sigma * 0.01)))
    size = 2 * half + 1
    kernel = np.zeros((size, size))
    for i in range(size):
        for j in range(size):
            gy = math.exp(-((i - half) ** 2) / (2 * sigma**2)) / (sigma * math.sqrt(2 * math.pi))
            gx = math.exp(-((j - half) ** 2) / (2 * sigma**2)) / (sigma * math.sqrt(2 * math.pi))
            kernel[i, j] = gy * (-(j - half) * gx / sigma**2)
    return kernel / math.sqrt((kernel**2).sum())


def test_gradient_kernel_is_the_benchmarks():
    kernel = _gaussian_derivative_kernel(1.4)
    # half size: ceil(1.4 * sqrt(-2 ln(sqrt(2 pi) * 1.4 * 0.01))) = ceil(3.62) = 4
    assert kernel.shape == (9, 9)
    np.testing.assert_allclose(kernel, _kernel_by_loops(1.4), rtol=1e-12, atol=1e-15)
    assert (kernel**2).sum() == pytest.approx(1.0)
    np.testing.assert_allclose(kernel, -kernel[:, ::-1], atol=1e-15)


def test_gradient_error_of_ramps():
    # alpha = a * x has, away from the border, gradient magnitude a * K with
    # K = |sum_ij kernel_ij (j - 4)| (convolution flips the kernel); the error of two ramps
    # of slopes a and b is (a - b)^2 K^2 per evaluated pixel.
    kernel = _kernel_by_loops(1.4)
    k = abs(sum(kernel[i, j] * (j - 4) for i in range(9) for j in range(9)))
    x = np.broadcast_to(np.arange(20.0), (20, 20))
    trimap = np.zeros((20, 20))
    trimap[4:16, 4:16] = 0.5  # 144 unknown pixels, at least 4 from the border
    expected = 144 * (0.04 - 0.01) ** 2 * k**2 / 1000
    assert gradient_error(0.04 * x, 0.01 * x, trimap) == pytest.approx(expected, rel=1e-10)


def test_gradient_error_is_the_2d_convolution_with_the_kernel(rng):
    from scipy.ndimage import convolve

    alpha, true = rng.random((2, 17, 23))
    kernel = _kernel_by_loops(1.4)

    def magnitude(a):
        return np.hypot(convolve(a, kernel, mode="nearest"), convolve(a, kernel.T, mode="nearest"))

    expected = ((magnitude(alpha) - magnitude(true)) ** 2).sum() / 1000
    assert gradient_error(alpha, true) == pytest.approx(expected, rel=1e-12)


def test_gradient_error_ignores_offsets_but_sad_does_not():
    rng = np.random.default_rng(0)
    true = rng.random((12, 15)) * 0.5
    assert gradient_error(true + 0.25, true) == pytest.approx(0.0, abs=1e-15)
    assert sad(true + 0.25, true) == pytest.approx(12 * 15 * 0.25 / 1000)
    assert gradient_error(true, np.zeros_like(true)) > 0


def test_connectivity_error_of_a_broken_strip():
    # alpha = [1, 1, 0.45, 1] against ground truth all 1. Thresholds 0.1 .. 0.4 keep the whole
    # strip connected; at 0.5 the largest region is {0, 1}, so pixels 2 and 3 get level 0.4
    # and pixels 0, 1 keep level 1. Rises above the level: alpha [0, 0, 0.05, 0.6] ->
    # phi = [1, 1, 1, 0.4]; truth [0, 0, 0.6, 0.6] -> phi = [1, 1, 0.4, 0.4]. Error 0.6.
    alpha = np.array([[1.0, 1.0, 0.45, 1.0]])
    true = np.ones((1, 4))
    assert connectivity_error(alpha, true) == pytest.approx(0.6e-3, abs=1e-12)
    trimap = np.array([[0.5, 1.0, 1.0, 1.0]])  # only pixel 0 evaluated: no error there
    assert connectivity_error(alpha, true, trimap) == pytest.approx(0.0, abs=1e-15)
    trimap = np.array([[1.0, 1.0, 0.5, 0.0]])  # only pixel 2
    assert connectivity_error(alpha, true, trimap) == pytest.approx(0.6e-3, abs=1e-12)


def test_connectivity_error_of_an_island():
    # The ground truth is empty, so no region exists at any threshold and every pixel has
    # level 0; the island of 0.5 rises 0.5 >= 0.15: phi 0.5 against 1.
    alpha = np.array([[0.0, 0.0, 0.5, 0.0, 0.0]])
    assert connectivity_error(alpha, np.zeros((1, 5))) == pytest.approx(0.5e-3, abs=1e-12)
    # a rise below 0.15 is ignored
    assert connectivity_error(alpha * 0.2, np.zeros((1, 5))) == 0.0


def test_connectivity_error_rejects_bad_step():
    with pytest.raises(ValueError, match="step"):
        connectivity_error(ALPHA, TRUE, step=0.3)
    # An integer beyond floats raised a bare OverflowError from float().
    with pytest.raises(ValueError, match=r"step must divide 1 .* got 1000000000000000000000"):
        connectivity_error(ALPHA, TRUE, step=10**400)


def test_all_errors_zero_for_a_perfect_matte(scene):
    errors = matting_errors(scene.alpha, scene.alpha, scene.trimap)
    assert set(errors) == {"sad", "mse", "gradient", "connectivity"}
    assert all(value == 0.0 for value in errors.values())


def test_errors_grow_with_noise(scene, rng):
    noisy = np.clip(scene.alpha + 0.1 * rng.standard_normal(scene.alpha.shape), 0, 1)
    worse = np.clip(scene.alpha + 0.3 * rng.standard_normal(scene.alpha.shape), 0, 1)
    small = matting_errors(noisy, scene.alpha, scene.trimap)
    large = matting_errors(worse, scene.alpha, scene.trimap)
    for name in ("sad", "mse", "gradient"):
        assert 0 < small[name] < large[name], name


def test_matting_errors_checks_its_inputs_once_and_equals_each_metric(scene, monkeypatch):
    import vecmatte.metrics as metrics

    noisy = np.clip(
        scene.alpha + 0.1 * np.sin(np.arange(scene.alpha.size)).reshape(scene.alpha.shape), 0, 1
    )
    inputs = (np.round(noisy * 255).astype(np.uint8), scene.alpha, scene.trimap)
    each = {name: function(*inputs) for name, function in metrics.METRICS.items()}
    counts = {"check_gray": 0, "check_trimap": 0}
    for name in counts:
        original = getattr(metrics, name)

        def counted(*args, original=original, name=name, **kwargs):
            counts[name] += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(metrics, name, counted)
    assert matting_errors(*inputs) == each  # the same floats, bit for bit
    # Two mattes and one trimap, once (each metric checked all three again: 10 and 6).
    assert counts == {"check_gray": 2, "check_trimap": 1}


@pytest.mark.parametrize(
    ("alpha", "true_alpha", "trimap", "message"),
    [
        (np.full((3, 4), np.nan), np.zeros((3, 4)), None, "alpha contains NaN"),
        (np.zeros((3, 4)), np.zeros((3, 5)), None, "alpha has shape (3, 4) but true_alpha"),
        (np.zeros((3, 4)), np.zeros((3, 4)), np.zeros((4, 3)), "trimap has shape (4, 3)"),
        (np.zeros((3, 4)), np.full((3, 4), 2.0), np.zeros((3, 4)), "true_alpha has values"),
        (np.zeros((3, 4)), np.zeros((3, 4)), np.full((3, 4), -1.0), "trimap has values"),
    ],
)
def test_matting_errors_refuses_what_each_metric_refuses_with_its_words(
    alpha, true_alpha, trimap, message
):
    with pytest.raises(ValueError) as each:
        sad(alpha, true_alpha, trimap)
    assert message in str(each.value)
    with pytest.raises(ValueError) as together:
        matting_errors(alpha, true_alpha, trimap)
    assert str(together.value) == str(each.value)


def test_metrics_exported():
    assert vecmatte.sad is sad
    assert vecmatte.connectivity_error is connectivity_error


# --- vecmatte eval -------------------------------------------------------------------------


def _write_set(directory, name, alpha, true, trimap):
    for sub, array in (("pred", alpha), ("gt", true), ("trimap", trimap)):
        (directory / sub).mkdir(exist_ok=True)
        write_png(directory / sub / name, array)


def test_eval_files_prints_table(tmp_path, capsys):
    _write_set(tmp_path, "a.png", np.full((4, 5), 1.0), np.zeros((4, 5)), np.full((4, 5), 0.5))
    code = main(
        [
            "eval",
            str(tmp_path / "pred/a.png"),
            str(tmp_path / "gt/a.png"),
            str(tmp_path / "trimap/a.png"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "SAD" in out and "a.png" in out
    assert "0.0200" in out  # 20 pixels * |1 - 0| / 1000


def test_eval_folders_json(tmp_path, capsys):
    trimap = np.full((4, 5), 0.5)
    _write_set(tmp_path, "a.png", np.full((4, 5), 1.0), np.zeros((4, 5)), trimap)
    _write_set(tmp_path, "b.png", np.zeros((4, 5)), np.zeros((4, 5)), trimap)
    code = main(
        ["eval", str(tmp_path / "pred"), str(tmp_path / "gt"), str(tmp_path / "trimap"), "--json"]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [row["name"] for row in report["images"]] == ["a.png", "b.png"]
    assert report["images"][0]["sad"] == pytest.approx(0.02)
    assert report["images"][1]["mse"] == 0.0
    assert report["mean"]["sad"] == pytest.approx(0.01)
    assert report["mean"]["mse"] == pytest.approx(0.5)


def test_eval_folder_with_missing_ground_truth_fails(tmp_path, capsys):
    trimap = np.full((4, 5), 0.5)
    _write_set(tmp_path, "a.png", np.ones((4, 5)), np.zeros((4, 5)), trimap)
    write_png(tmp_path / "pred" / "c.png", np.ones((4, 5)))
    code = main(["eval", str(tmp_path / "pred"), str(tmp_path / "gt"), str(tmp_path / "trimap")])
    err = capsys.readouterr().err
    assert code == 1
    assert "c.png" in err and "gt" in err


def test_eval_mixing_file_and_folder_fails(tmp_path, capsys):
    trimap = np.full((4, 5), 0.5)
    _write_set(tmp_path, "a.png", np.ones((4, 5)), np.zeros((4, 5)), trimap)
    code = main(
        ["eval", str(tmp_path / "pred/a.png"), str(tmp_path / "gt"), str(tmp_path / "trimap/a.png")]
    )
    assert code == 1
    assert "folder" in capsys.readouterr().err
