"""estimate_alpha / solve_alpha against a direct sparse solve, synthetic ground truth, bad input."""

from __future__ import annotations

import functools
import re
import warnings

import numpy as np
import pytest
from reference import direct_alpha, naive_laplacian

import vecmatte
from vecmatte import ConvergenceWarning, estimate_alpha, solve_alpha

# Every registered preconditioner, plus none: new preconditioners are tested automatically.
PRECONDITIONER_NAMES = [None, *sorted(vecmatte.PRECONDITIONERS)]


@pytest.fixture(scope="module")
def random_problem():
    """A random image (not colour-line) with a band of unknowns: a generic, harder system."""
    rng = np.random.default_rng(7)
    image = rng.random((17, 21, 3))
    trimap = np.zeros((17, 21))
    trimap[:, 11:] = 1.0
    trimap[3:14, 6:15] = 0.5
    return image, trimap


@functools.cache
def _direct_scene_alpha(radius: int) -> tuple[vecmatte.Scene, np.ndarray]:
    """A small scene and its alpha by spsolve of the loop reference's reduced system."""
    scene = vecmatte.make_scene((24, 30), seed=4, band=2)
    return scene, direct_alpha(naive_laplacian(scene.image, radius=radius), scene.trimap)


@pytest.mark.parametrize("preconditioner", PRECONDITIONER_NAMES)
@pytest.mark.parametrize("radius", [1, 2])
def test_matches_direct_solve_scene(preconditioner, radius):
    scene, expected = _direct_scene_alpha(radius)
    alpha = estimate_alpha(
        scene.image, scene.trimap, radius=radius, preconditioner=preconditioner, rtol=1e-9
    )
    # estimate_alpha clips to [0, 1]; the direct solution may overshoot by rounding.
    assert np.abs(alpha - np.clip(expected, 0, 1)).max() < 1e-4


@pytest.mark.parametrize("preconditioner", PRECONDITIONER_NAMES)
def test_matches_direct_solve_random_image(preconditioner, random_problem):
    image, trimap = random_problem
    expected = np.clip(direct_alpha(naive_laplacian(image), trimap), 0, 1)
    alpha = estimate_alpha(image, trimap, preconditioner=preconditioner, rtol=1e-9)
    assert np.abs(alpha - expected).max() < 1e-4


@pytest.mark.parametrize("preconditioner", PRECONDITIONER_NAMES)
def test_default_tolerance_is_accurate(preconditioner):
    # At the default rtol the answer must already be within 1e-4 of the direct solve.
    scene, expected = _direct_scene_alpha(1)
    expected = np.clip(expected, 0, 1)
    alpha = estimate_alpha(scene.image, scene.trimap, preconditioner=preconditioner)
    assert np.abs(alpha - expected).max() < 1e-4


def test_recovers_synthetic_alpha():
    scene = vecmatte.make_scene((60, 80), seed=11, softness=5.0, band=3)
    result = solve_alpha(scene.image, scene.trimap)
    unknown = (scene.trimap > 0.1) & (scene.trimap < 0.9)
    assert unknown.sum() > 300
    assert result.converged
    assert np.abs(result.alpha - scene.alpha)[unknown].max() < 1e-2
    # Known pixels keep their trimap value exactly.
    np.testing.assert_array_equal(result.alpha[~unknown], scene.trimap[~unknown])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recovers_synthetic_alpha_other_seeds(seed):
    scene = vecmatte.make_scene((40, 48), seed=seed)
    alpha = estimate_alpha(scene.image, scene.trimap)
    unknown = (scene.trimap > 0.1) & (scene.trimap < 0.9)
    assert np.abs(alpha - scene.alpha)[unknown].max() < 1e-2


def test_a_wrong_image_does_not_recover_alpha(scene):
    # Guard against a vacuous recovery test: the trimap alone must not give the answer.
    rng = np.random.default_rng(0)
    alpha = estimate_alpha(rng.random(scene.image.shape), scene.trimap)
    unknown = (scene.trimap > 0.1) & (scene.trimap < 0.9)
    assert np.abs(alpha - scene.alpha)[unknown].max() > 0.1


def test_result_fields(scene):
    calls = []
    result = solve_alpha(scene.image, scene.trimap, callback=lambda i, r: calls.append((i, r)))
    assert isinstance(result, vecmatte.AlphaResult)
    assert result.alpha.shape == scene.trimap.shape
    assert result.alpha.dtype == np.float64
    assert 0.0 <= result.alpha.min() and result.alpha.max() <= 1.0
    unknown = (scene.trimap > 0.1) & (scene.trimap < 0.9)
    assert result.n_unknown == unknown.sum()
    assert result.converged and result.residual <= 1e-6
    assert result.iterations == len(calls) > 0
    assert calls[-1] == (result.iterations, result.residual)


def test_convergence_warning_names_residual(scene):
    with pytest.warns(ConvergenceWarning) as record:
        result = solve_alpha(scene.image, scene.trimap, preconditioner="none", maxiter=2)
    assert not result.converged
    assert result.iterations == 2
    assert result.residual > 1e-6
    message = str(record[0].message)
    assert "2 iterations" in message
    reported = float(re.search(r"residual ([0-9.eE+-]+)", message).group(1))
    assert reported == pytest.approx(result.residual, rel=1e-2)


def test_solve_alpha_warning_points_at_caller(scene):
    with pytest.warns(ConvergenceWarning) as record:
        solve_alpha(scene.image, scene.trimap, preconditioner="none", maxiter=2)
    assert record[0].filename == __file__


def test_convergence_warning_from_estimate_alpha(scene):
    with pytest.warns(ConvergenceWarning, match="residual") as record:
        estimate_alpha(scene.image, scene.trimap, preconditioner="none", maxiter=1)
    assert record[0].filename == __file__


def test_no_warning_when_converged(scene):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        estimate_alpha(scene.image, scene.trimap)


def test_no_unknown_pixels_returns_trimap(scene):
    trimap = (scene.alpha >= 0.5).astype(float)
    with pytest.warns(UserWarning, match="no unknown pixels") as record:
        result = solve_alpha(scene.image, trimap)
    np.testing.assert_array_equal(result.alpha, trimap)
    assert result.iterations == 0 and result.n_unknown == 0 and result.converged
    assert "no unknown pixels" in str(record[0].message)


def test_no_unknown_pixels_warning_points_at_caller(scene):
    trimap = (scene.alpha >= 0.5).astype(float)
    with pytest.warns(UserWarning, match="no unknown pixels") as record:
        estimate_alpha(scene.image, trimap)
    assert record[0].filename == __file__


def test_no_unknown_pixels_solve_alpha_warning_points_at_caller(scene):
    trimap = (scene.alpha >= 0.5).astype(float)
    with pytest.warns(UserWarning, match="no unknown pixels") as record:
        solve_alpha(scene.image, trimap)
    assert record[0].filename == __file__


def test_no_unknown_pixels_uint8_trimap(scene):
    trimap = np.where(scene.alpha >= 0.5, 255, 0).astype(np.uint8)
    with pytest.warns(UserWarning, match="no unknown pixels"):
        alpha = estimate_alpha(scene.image, trimap)
    np.testing.assert_array_equal(alpha, trimap / 255.0)


def test_integer_inputs_accepted(scene):
    image8 = np.round(scene.image * 255).astype(np.uint8)
    trimap8 = np.round(scene.trimap * 255).astype(np.uint8)
    expected = estimate_alpha(image8 / 255.0, trimap8 / 255.0)
    np.testing.assert_allclose(estimate_alpha(image8, trimap8), expected, atol=1e-12)
    image16 = np.round(scene.image * 65535).astype(np.uint16)
    trimap16 = np.round(scene.trimap * 65535).astype(np.uint16)
    expected16 = estimate_alpha(image16 / 65535.0, trimap16 / 65535.0)
    np.testing.assert_allclose(estimate_alpha(image16, trimap16), expected16, atol=1e-12)


def test_gray_image_accepted(scene):
    gray = scene.image.mean(axis=2)
    alpha = estimate_alpha(gray, scene.trimap)
    np.testing.assert_allclose(
        alpha, estimate_alpha(np.repeat(gray[:, :, None], 3, axis=2), scene.trimap), atol=1e-12
    )


def test_trimap_thresholds(scene):
    # > 0.9 is foreground, < 0.1 background, the rest unknown (uint8: 230 > 0.9 > 229).
    trimap = np.round(scene.trimap * 255).astype(np.uint8)
    unknown = trimap == 128
    softened = trimap.copy()
    softened[trimap == 255] = 230
    softened[trimap == 0] = 25
    np.testing.assert_allclose(
        estimate_alpha(scene.image, softened), estimate_alpha(scene.image, trimap), atol=1e-12
    )
    # 229 is unknown: marking one foreground pixel 229 adds it to the unknowns.
    one = trimap.copy()
    y, x = np.argwhere(trimap == 255)[0]
    one[y, x] = 229
    assert solve_alpha(scene.image, one).n_unknown == unknown.sum() + 1


def _bad_inputs(scene):
    image, trimap = scene.image, scene.trimap
    nan_image = image.copy()
    nan_image[3, 4, 1] = np.nan
    nan_trimap = trimap.copy()
    nan_trimap[5, 5] = np.nan
    return {
        "size mismatch": (image, trimap[:-1], "trimap has shape"),
        "no foreground": (image, np.where(trimap > 0.9, 0.5, trimap), "no foreground"),
        "no background": (image, np.where(trimap < 0.1, 0.5, trimap), "no background"),
        "nan image": (nan_image, trimap, "image contains NaN"),
        "nan trimap": (image, nan_trimap, "trimap contains NaN"),
        "image out of range": (image * 2, trimap, r"image has values in \[.*\] but must lie in"),
        "negative image": (image - 0.5, trimap, r"image has values in \[-0\.\d+, "),
        "trimap out of range": (image, trimap * 255.0, r"trimap has values in \[0, 255\]"),
        "2x2 image": (image[:2, :2], trimap[:2, :2], "smaller than one 3 x 3 window"),
        "image not rgb": (image[:, :, :2], trimap, "image has shape"),
        "signed image": ((image * 100).astype(np.int16), trimap, "signed integer"),
        "object image": (image.astype(object), trimap, "dtype object"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "size mismatch",
        "no foreground",
        "no background",
        "nan image",
        "nan trimap",
        "image out of range",
        "negative image",
        "trimap out of range",
        "2x2 image",
        "image not rgb",
        "signed image",
        "object image",
    ],
)
def test_bad_input_raises_clear_error(case, scene):
    image, trimap, message = _bad_inputs(scene)[case]
    with pytest.raises(ValueError, match=message):
        estimate_alpha(image, trimap)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"preconditioner": "amg"}, "unknown preconditioner 'amg'"),
        ({"rtol": 0.0}, r"rtol must lie in \[1e-15, 1\), got 0.0"),
        ({"rtol": -1.0}, r"rtol must lie in \[1e-15, 1\), got -1.0"),
        ({"eps": -1.0}, "eps must be a positive"),
        ({"radius": 0}, "radius must be a positive integer"),
    ],
)
def test_bad_options(kwargs, message, scene):
    with pytest.raises(ValueError, match=message):
        estimate_alpha(scene.image, scene.trimap, **kwargs)


def test_radius_too_large_for_image(scene):
    with pytest.raises(ValueError, match="smaller than one 5 x 5 window"):
        estimate_alpha(scene.image[:4, :4], scene.trimap[:4, :4], radius=2)


def test_options_are_keyword_only(scene):
    with pytest.raises(TypeError):
        estimate_alpha(scene.image, scene.trimap, 1e-7)  # type: ignore[misc]


@pytest.mark.data
@pytest.mark.parametrize("name", ["GT02", "GT13"])
def test_real_photograph_crop_matches_direct_solve(name):
    # A crop of a real photograph (ill-conditioned windows, real noise) around its unknown band.
    from conftest import DATA_DIR

    if not (DATA_DIR / "image" / f"{name}.png").is_file():
        pytest.skip(f"alphamatting data not found at {DATA_DIR}")
    image = vecmatte.load_image(DATA_DIR / "image" / f"{name}.png")
    trimap = vecmatte.load_trimap(DATA_DIR / "trimap" / f"{name}.png")
    # The 48 x 64 crop (on a 16-pixel grid) with the most pixels of its rarest class.
    classes = np.stack([trimap > 0.9, trimap < 0.1, (trimap >= 0.1) & (trimap <= 0.9)])
    h, w = trimap.shape
    corners = [(y, x) for y in range(0, h - 48, 16) for x in range(0, w - 64, 16)]
    top, left = max(
        corners, key=lambda c: classes[:, c[0] : c[0] + 48, c[1] : c[1] + 64].sum(axis=(1, 2)).min()
    )
    crop = (slice(top, top + 48), slice(left, left + 64))
    image, trimap = image[crop], trimap[crop]
    assert classes[(slice(None), *crop)].sum(axis=(1, 2)).min() > 50
    expected = np.clip(direct_alpha(naive_laplacian(image), trimap), 0, 1)
    for preconditioner in PRECONDITIONER_NAMES:
        alpha = estimate_alpha(image, trimap, preconditioner=preconditioner, rtol=1e-9)
        assert np.abs(alpha - expected).max() < 1e-4, preconditioner


def test_refuses_before_solving_when_memory_is_short(scene, monkeypatch):
    import vecmatte.alpha.cf
    import vecmatte.memory

    def must_not_assemble(*args, **kwargs):
        raise AssertionError("the system was assembled although memory is short")

    monkeypatch.setattr(vecmatte.memory, "_memory_readings", lambda: {"machine": 10_000})
    monkeypatch.setattr(vecmatte.alpha.cf, "build_system", must_not_assemble)
    with pytest.raises(vecmatte.memory.InsufficientMemoryError, match="MiB"):
        estimate_alpha(scene.image, scene.trimap)


# --------------------------------------------------------------------------------------------
# the method pipeline


def test_unknown_option_is_a_type_error_listing_the_valid_ones(scene):
    with pytest.raises(
        TypeError, match=r"'cf' has no option 'radus'; its options are 'eps', 'radius'"
    ):
        estimate_alpha(scene.image, scene.trimap, radus=2)


def test_unknown_method_lists_the_registry(scene):
    with pytest.raises(ValueError, match=r"unknown alpha method 'bayes'; choose one of cf"):
        estimate_alpha(scene.image, scene.trimap, method="bayes")


@pytest.mark.parametrize(
    "preconditioner",
    [("direct", {"factor": "superlu"}), "direct:factor='nested'", ("ichol", {"sweeps": 6})],
)
def test_preconditioner_options_reach_the_builder(scene, preconditioner):
    expected = estimate_alpha(scene.image, scene.trimap, rtol=1e-9)
    got = estimate_alpha(scene.image, scene.trimap, preconditioner=preconditioner, rtol=1e-9)
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_bad_preconditioner_option_is_refused_before_solving(scene):
    with pytest.raises(TypeError, match="no option 'sweep'"):
        estimate_alpha(scene.image, scene.trimap, preconditioner=("ichol", {"sweep": 1}))


@pytest.fixture
def fake_methods(monkeypatch):
    """Register two throw-away methods: a soft-constraint system and a non-linear estimate."""
    import sys
    import types

    import vecmatte.alpha._registry as registry
    from vecmatte.laplacians.closed_form import matting_laplacian
    from vecmatte.systems import soft_constraint_system

    soft = types.ModuleType("fake_soft_method")

    def build_system(image, is_fg, is_bg, *, lam=100.0):
        return soft_constraint_system(matting_laplacian(image), is_fg, is_bg, lam=lam)

    def memory_bytes(shape, n_unknown, *, lam=100.0):  # no preconditioner: the pipeline adds it
        calls.append((shape, n_unknown))
        return 1000

    soft.build_system, soft.memory_bytes = build_system, memory_bytes
    guess = types.ModuleType("fake_guess_method")

    def estimate(image, is_fg, is_bg, *, level=0.5):
        return np.full(is_fg.shape, 2.0 * level)  # out of range on purpose: must be clipped

    guess.estimate = estimate
    calls: list = []
    monkeypatch.setitem(sys.modules, "fake_soft_method", soft)
    monkeypatch.setitem(sys.modules, "fake_guess_method", guess)
    monkeypatch.setitem(
        registry.METHODS, "soft", registry.MethodSpec("fake_soft_method", "test", "jacobi")
    )
    monkeypatch.setitem(
        registry.METHODS, "guess", registry.MethodSpec("fake_guess_method", "test", None)
    )
    return calls


def test_soft_constraint_method_keeps_the_known_pixels(scene, fake_methods):
    result = solve_alpha(scene.image, scene.trimap, method="soft", rtol=1e-8, lam=10.0)
    assert result.converged and result.iterations > 0
    is_fg, is_bg = scene.trimap > 0.9, scene.trimap < 0.1
    assert np.all(result.alpha[is_fg] == 1.0) and np.all(result.alpha[is_bg] == 0.0)
    assert 0.0 <= result.alpha.min() and result.alpha.max() <= 1.0
    assert fake_methods == [(scene.image.shape[:2], result.n_unknown)]


def test_method_memory_model_without_preconditioner_gets_the_preconditioners(
    scene, fake_methods, monkeypatch
):
    import vecmatte.memory

    # The method says 1000 bytes; jacobi's own model adds far more than 2000.
    monkeypatch.setattr(vecmatte.memory, "_memory_readings", lambda: {"machine": 2000})
    with pytest.raises(vecmatte.memory.InsufficientMemoryError):
        estimate_alpha(scene.image, scene.trimap, method="soft")


def test_estimate_method_is_clipped_and_keeps_the_known_pixels(scene, fake_methods):
    result = solve_alpha(scene.image, scene.trimap, method="guess", level=0.75)
    unknown = (scene.trimap > 0.1) & (scene.trimap < 0.9)
    assert np.all(result.alpha[unknown] == 1.0)
    assert np.all(result.alpha[scene.trimap < 0.1] == 0.0)
    assert result.iterations == 0 and result.n_unknown == unknown.sum()
    with pytest.raises(ValueError, match="solves no linear system"):
        estimate_alpha(scene.image, scene.trimap, method="guess", preconditioner="jacobi")


def test_registry_imports_no_method_module():
    import subprocess
    import sys

    code = (
        "import sys, vecmatte.alpha\n"
        "print(sorted(m for m in sys.modules if m.startswith('vecmatte.alpha.')))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "['vecmatte.alpha._pipeline', 'vecmatte.alpha._registry']"


def test_a_trimap_of_class_labels_gets_the_hint_in_the_library_too():
    # The library and the command line share one message (vecmatte.trimap.check_known_pixels).
    labels = np.zeros((6, 6))
    labels[2:4, 2:4] = 2 / 255
    with pytest.raises(ValueError, match=r"is it an image of class labels \(0, 1, 2\)\?"):
        vecmatte.estimate_alpha(np.full((6, 6, 3), 0.5), labels)
