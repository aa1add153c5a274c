"""Information-flow matting: trimmings and transparency test against plain loops, the system
against a direct solve over all pixels, the whole method on synthetic composites."""

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg

from vecmatte.alpha import estimate_alpha, ifm, solve_alpha
from vecmatte.synthetic import make_scene


def blocky_image(seed, shape=(14, 16), levels=(0.2, 0.5, 0.8), noise=0.004):
    """Piecewise-constant colours in 3x3 blocks plus a little noise: many near matches."""
    rng = np.random.default_rng(seed)
    h, w = shape
    blocks = rng.choice(levels, size=(-(-h // 3), -(-w // 3), 3))
    image = np.repeat(np.repeat(blocks, 3, axis=0), 3, axis=1)[:h, :w]
    return np.clip(image + noise * rng.standard_normal(image.shape), 0, 1)


def random_trimap(seed, shape, unknown_fraction=0.5):
    rng = np.random.default_rng(seed + 100)
    unknown = rng.random(shape) < unknown_fraction
    is_fg = ~unknown & (rng.random(shape) < 0.5)
    is_bg = ~unknown & ~is_fg
    return is_fg, is_bg


def loop_edge_trimming(image, is_fg, is_bg, iterations=9, upper=9 / 256, lower=1 / 256):
    """Label expansion pixel by pixel, window scanned column by column as MATLAB does."""
    h, w = is_fg.shape
    trimap = np.where(is_fg, 1.0, np.where(is_bg, 0.0, 0.5))
    for i in range(1, iterations + 1):
        threshold = upper - i * (upper - lower) / iterations
        known = (trimap > 0.8) | (trimap < 0.2)
        extended = trimap.copy()
        for r in range(h):
            for c in range(w):
                if known[r, c]:
                    continue
                best = None
                for cc in range(c - i, c + i + 1):
                    for rr in range(r - i, r + i + 1):
                        if not (0 <= rr < h and 0 <= cc < w) or not known[rr, cc]:
                            continue
                        if np.linalg.norm(image[rr, cc] - image[r, c]) >= threshold:
                            continue
                        distance = np.hypot(rr - r, cc - c)
                        if best is None or distance < best[0]:
                            best = (distance, trimap[rr, cc])
                if best is not None:
                    extended[r, c] = best[1]
        trimap = extended
    return trimap > 0.8, trimap < 0.2


def loop_gaussians(image, radius=1, eps=1e-8):
    """Mean and covariance of each pixel's window, edges replicated."""
    h, w = image.shape[:2]
    means = np.zeros((h, w, 3))
    covariances = np.zeros((h, w, 3, 3))
    for y in range(h):
        for x in range(w):
            patch = []
            for dy in range(-radius, radius + 1):
                for dx in range(-radius, radius + 1):
                    patch.append(image[min(max(y + dy, 0), h - 1), min(max(x + dx, 0), w - 1)])
            patch = np.array(patch)
            means[y, x] = patch.mean(axis=0)
            covariances[y, x] = (patch - means[y, x]).T @ (patch - means[y, x]) / len(patch)
            covariances[y, x] += eps * np.eye(3)
    return means.reshape(h * w, 3), covariances.reshape(h * w, 3, 3)


def bhattacharyya(mean_a, cov_a, mean_b, cov_b):
    cov = (cov_a + cov_b) / 2
    d = mean_b - mean_a
    return 0.125 * d @ np.linalg.solve(cov, d) + 0.5 * np.log(
        np.linalg.det(cov) / np.sqrt(np.linalg.det(cov_a) * np.linalg.det(cov_b))
    )


def loop_patch_trimming(image, is_fg, is_bg, k, min_distance=0.25, max_distance=0.9):
    means, covariances = loop_gaussians(image)
    fg, bg = is_fg.ravel().copy(), is_bg.ravel().copy()
    fg_pixels, bg_pixels = np.flatnonzero(is_fg), np.flatnonzero(is_bg)
    for i in np.flatnonzero(~(is_fg | is_bg)):
        nearest = []
        for pixels in (fg_pixels, bg_pixels):
            order = np.argsort([np.sum((means[j] - means[i]) ** 2) for j in pixels])[:k]
            nearest.append(
                min(
                    bhattacharyya(means[i], covariances[i], means[j], covariances[j])
                    for j in pixels[order]
                )
            )
        fg_distance, bg_distance = nearest
        if fg_distance < min_distance:
            if bg_distance > max_distance:
                fg[i] = True
        elif bg_distance < min_distance and fg_distance > max_distance:
            bg[i] = True
    return fg.reshape(is_fg.shape), bg.reshape(is_bg.shape)


def loop_highly_transparent(image, is_fg, is_bg):
    h, w = is_fg.shape
    unknown = ~(is_fg | is_bg)
    near = np.zeros_like(unknown)
    for y in range(h):
        for x in range(w):
            # MATLAB's imdilate(unknown, ones(20)) (the toolbox): output y sees rows y-10 .. y+9
            near[y, x] = unknown[max(y - 10, 0) : y + 10, max(x - 10, 0) : x + 10].any()

    def histogram(mask):
        counts = np.zeros(30)
        for y in range(h):
            for x in range(w):
                if mask[y, x]:
                    for block, channel in enumerate((0, 2, 2)):
                        counts[10 * block + round(image[y, x, channel] * 9)] += 1
        return counts / max(mask.sum(), 1)

    basis = np.column_stack([histogram(is_fg & near), histogram(is_bg & near)])
    target = histogram(unknown)
    weights = np.linalg.solve(basis.T @ basis, basis.T @ target)
    return np.linalg.norm(basis @ weights - target) / 30 > 0.0099


@pytest.mark.parametrize(("seed", "iterations"), [(0, 4), (1, 4), (2, 4), (3, 9)])
def test_edge_trimming_matches_a_pixel_loop(seed, iterations):
    image = blocky_image(seed)
    is_fg, is_bg = random_trimap(seed, image.shape[:2], unknown_fraction=0.6)
    fg, bg = ifm.edge_trimming(image, is_fg, is_bg, iterations=iterations)
    expected_fg, expected_bg = loop_edge_trimming(image, is_fg, is_bg, iterations=iterations)
    np.testing.assert_array_equal(fg, expected_fg)
    np.testing.assert_array_equal(bg, expected_bg)
    assert (fg & ~is_fg).any() and (bg & ~is_bg).any()  # the test exercises both labels
    assert not (fg & bg).any()


@pytest.mark.parametrize(("seed", "iterations"), [(0, 4), (1, 9)])
def test_edge_trimming_of_8_bit_colours_matches_a_pixel_loop(seed, iterations):
    # Colours that are exactly bytes / 255 take the packed-integer comparison.
    image = np.round(blocky_image(seed, noise=0.01) * 255) / 255
    is_fg, is_bg = random_trimap(seed, image.shape[:2], unknown_fraction=0.6)
    fg, bg = ifm.edge_trimming(image, is_fg, is_bg, iterations=iterations)
    expected_fg, expected_bg = loop_edge_trimming(image, is_fg, is_bg, iterations=iterations)
    np.testing.assert_array_equal(fg, expected_fg)
    np.testing.assert_array_equal(bg, expected_bg)
    assert (fg & ~is_fg).any() and (bg & ~is_bg).any()


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    ("upper", "lower"), [(9 / 256, 1 / 256), (3 / 255, 3 / 255), (6 / 255, 2 / 255)]
)
def test_edge_trimming_integer_test_decides_as_the_float_test(seed, upper, lower, monkeypatch):
    from vecmatte.alpha import _ifm_trimming

    # Thresholds of whole bytes put pairs exactly on the limit: the exact check decides them.
    image = np.round(blocky_image(seed, shape=(24, 26), noise=0.008) * 255) / 255
    is_fg, is_bg = random_trimap(seed, image.shape[:2], unknown_fraction=0.6)
    planes = _ifm_trimming._colour_planes
    checked = []
    monkeypatch.setattr(
        _ifm_trimming, "_colour_planes", lambda *args: checked.append(1) or planes(*args)
    )
    packed = ifm.edge_trimming(image, is_fg, is_bg, iterations=4, upper=upper, lower=lower)
    monkeypatch.setattr(_ifm_trimming, "_packed_bytes", lambda image: None)
    plain = ifm.edge_trimming(image, is_fg, is_bg, iterations=4, upper=upper, lower=lower)
    np.testing.assert_array_equal(packed[0], plain[0])
    np.testing.assert_array_equal(packed[1], plain[1])
    if upper == lower:
        assert len(checked) >= 2  # the exact check ran for the packed call too


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("block", [1, 7, 2048])
def test_patch_trimming_matches_a_pixel_loop(seed, block, monkeypatch):
    from vecmatte.alpha import _ifm_trimming

    monkeypatch.setattr(_ifm_trimming, "_BLOCK", block)  # distances in blocks of pixels
    image = blocky_image(seed, noise=0.02)
    is_fg, is_bg = random_trimap(seed, image.shape[:2], unknown_fraction=0.4)
    fg, bg = ifm.patch_trimming(image, is_fg, is_bg, k=5)
    expected_fg, expected_bg = loop_patch_trimming(image, is_fg, is_bg, k=5)
    np.testing.assert_array_equal(fg, expected_fg)
    np.testing.assert_array_equal(bg, expected_bg)
    assert (fg != is_fg).any() or (bg != is_bg).any()


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_detect_highly_transparent_matches_a_loop(seed):
    image = blocky_image(seed, shape=(30, 34))
    is_fg, is_bg = random_trimap(seed, image.shape[:2], unknown_fraction=0.1 + 0.2 * seed)
    assert ifm.detect_highly_transparent(image, is_fg, is_bg) == loop_highly_transparent(
        image, is_fg, is_bg
    )


@pytest.mark.parametrize(("fg_row", "expected"), [(44, False), (15, True)])
def test_transparency_window_sits_where_matlab_imdilate_puts_it(fg_row, expected):
    # Unknown rows 25..34; the toolbox's imdilate(unknown, ones(20)) reaches rows 16..44
    # (scipy's binary_dilation 15..43). Only foreground pixels inside the window can
    # explain the unknown colours: the decision tells where the window sits.
    image = np.zeros((60, 60, 3))
    is_bg = np.ones((60, 60), bool)
    is_bg[25:35, 25:35] = False
    image[25:35, 25:35] = 0.6
    is_fg = np.zeros((60, 60), bool)
    is_fg[fg_row, 25:35] = True
    is_bg[fg_row, 25:35] = False
    image[fg_row, 25:35] = 0.6
    assert ifm.detect_highly_transparent(image, is_fg, is_bg) is expected


def test_transparency_test_separates_mixtures_from_opaque_boundaries():
    h, w = 40, 60
    fg_colour, bg_colour = np.array([0.9, 0.1, 0.1]), np.array([0.1, 0.2, 0.9])
    is_fg = np.zeros((h, w), bool)
    is_fg[:, :20] = True
    is_bg = np.zeros((h, w), bool)
    is_bg[:, 40:] = True
    opaque = np.where(np.arange(w)[None, :, None] < 30, fg_colour, bg_colour) * np.ones((h, 1, 1))
    assert not ifm.detect_highly_transparent(opaque, is_fg, is_bg)
    veil = opaque.copy()
    veil[:, 20:40] = 0.5 * fg_colour + 0.5 * bg_colour  # see-through: a colour of neither side
    assert ifm.detect_highly_transparent(veil, is_fg, is_bg)


def full_system(image, is_fg, is_bg, lam, known_to_unknown, ku_confidence="means"):
    """The toolbox's system over every pixel, assembled plainly from the flows."""
    from vecmatte.laplacians.information_flow import (
        information_flow_laplacian,
        known_to_unknown_flow,
    )

    known = (is_fg | is_bg).ravel()
    laplacian = information_flow_laplacian(image, unknown=~(is_fg | is_bg)).toarray()
    diagonal = lam * known.astype(float)
    rhs = lam * is_fg.ravel().astype(float)
    if known_to_unknown:
        edge_fg, edge_bg = ifm.edge_trimming(image, is_fg, is_bg)
        patch_fg, patch_bg = ifm.patch_trimming(image, is_fg, is_bg, k=5)
        alpha_hat, confidence = known_to_unknown_flow(
            image, patch_fg, patch_bg, confidence=ku_confidence
        )
        alpha_hat = np.where(edge_fg, 1.0, np.where(edge_bg, 0.0, alpha_hat)).ravel()
        confidence = np.where(edge_fg | edge_bg, 1.0, confidence).ravel()
        confidence[known] = 0.0
        diagonal += 0.05 * confidence
        rhs += 0.05 * confidence * alpha_hat
    return laplacian + np.diag(diagonal), rhs


@pytest.mark.parametrize(
    ("known_to_unknown", "ku_confidence"), [(True, "means"), (True, "toolbox"), (False, "means")]
)
def test_system_over_coupled_pixels_solves_the_full_system(known_to_unknown, ku_confidence):
    scene = make_scene((30, 36), seed=2)
    is_fg, is_bg = scene.trimap > 0.9, scene.trimap < 0.1
    system = ifm.build_system(
        scene.image,
        is_fg,
        is_bg,
        known_to_unknown=known_to_unknown,
        ku_confidence=ku_confidence,
    )
    matrix = system.matrix @ np.eye(len(system.unknown))
    np.testing.assert_allclose(matrix, matrix.T, atol=1e-10)
    np.linalg.cholesky(matrix)  # positive definite
    assert np.isin(np.flatnonzero(~(is_fg | is_bg)), system.unknown).all()
    assert len(system.unknown) < is_fg.size  # pixels far from the unknown region are left out

    full_matrix, full_rhs = full_system(
        scene.image, is_fg, is_bg, 100.0, known_to_unknown, ku_confidence
    )
    expected = np.linalg.solve(full_matrix, full_rhs)
    got = is_fg.ravel().astype(float)
    got[system.unknown] = np.linalg.solve(matrix, system.rhs)
    np.testing.assert_allclose(got, expected, atol=1e-8)


@pytest.mark.parametrize("seed", [0, 1, 3])
def test_recovers_the_alpha_of_synthetic_composites(seed):
    scene = make_scene((60, 80), seed=seed)
    unknown = (scene.trimap > 0.1) & (scene.trimap < 0.9)
    result = solve_alpha(scene.image, scene.trimap, method="ifm")
    assert result.converged
    error = np.abs(result.alpha - scene.alpha)[unknown]
    assert error.mean() < 0.005
    assert error.max() < 0.1


def test_pipeline_solution_matches_a_direct_solve_of_the_system():
    scene = make_scene((40, 50), seed=4)
    is_fg, is_bg = scene.trimap > 0.9, scene.trimap < 0.1
    system = ifm.build_system(scene.image, is_fg, is_bg)
    matrix = scipy.sparse.csc_matrix(system.matrix @ np.eye(len(system.unknown)))
    expected = is_fg.astype(float)
    expected.ravel()[system.unknown] = scipy.sparse.linalg.spsolve(matrix, system.rhs)
    expected[is_fg | is_bg] = is_fg[is_fg | is_bg]
    alpha = estimate_alpha(scene.image, scene.trimap, method="ifm", rtol=1e-10)
    np.testing.assert_allclose(alpha, np.clip(expected, 0, 1), atol=1e-7)


def test_preconditioners_reach_the_same_matte():
    # Against a direct solve, not against the default solve (Jacobi: the same code path as
    # the "jacobi" case); each preconditioner is the one used: their iteration counts differ
    # (52, 43 and 95 measured).
    scene = make_scene((40, 50), seed=5)
    is_fg, is_bg = scene.trimap > 0.9, scene.trimap < 0.1
    system = ifm.build_system(scene.image, is_fg, is_bg)
    matrix = scipy.sparse.csc_matrix(system.matrix @ np.eye(len(system.unknown)))
    expected = is_fg.astype(float)
    expected.ravel()[system.unknown] = scipy.sparse.linalg.spsolve(matrix, system.rhs)
    expected[is_fg | is_bg] = is_fg[is_fg | is_bg]  # soft constraints solve some known pixels
    expected = np.clip(expected, 0, 1)
    iterations = {}
    for preconditioner in ("jacobi", "ichol", "none"):
        result = solve_alpha(
            scene.image, scene.trimap, method="ifm", preconditioner=preconditioner, rtol=1e-9
        )
        assert result.converged
        np.testing.assert_allclose(result.alpha, expected, atol=1e-6, err_msg=preconditioner)
        iterations[preconditioner] = result.iterations
    assert len(set(iterations.values())) == 3, iterations


def test_options_reach_the_method():
    scene = make_scene((40, 50), seed=6)
    with_flow = estimate_alpha(scene.image, scene.trimap, method="ifm", known_to_unknown=True)
    without = estimate_alpha(scene.image, scene.trimap, method="ifm", known_to_unknown=False)
    assert np.abs(with_flow - without).max() > 1e-4
    toolbox = estimate_alpha(
        scene.image, scene.trimap, method="ifm", known_to_unknown=True, ku_confidence="toolbox"
    )
    assert np.abs(with_flow - toolbox).max() > 1e-4
    with pytest.raises(ValueError, match="ku_confidence must be 'means' or 'toolbox'"):
        estimate_alpha(scene.image, scene.trimap, method="ifm", ku_confidence="sums")
    with pytest.raises(ValueError, match="lam must be"):
        estimate_alpha(scene.image, scene.trimap, method="ifm", lam=-1.0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"lam": 0}, "lam must be a positive finite number"),
        ({"lam": "big"}, "lam must be a positive finite number"),
        ({"known_to_unknown": "auto"}, "known_to_unknown must be True, False or None"),
        ({"ku_confidence": "sums"}, "ku_confidence must be 'means' or 'toolbox', got 'sums'"),
        ({"ku_confidence": None}, "ku_confidence must be 'means' or 'toolbox', got None"),
    ],
)
def test_check_options_rejects_bad_values(options, message):
    with pytest.raises(ValueError, match=message):
        ifm.check_options((10, 10, 3), **options)


def test_memory_model_grows_with_the_unknown_region():
    assert ifm.memory_bytes((100, 100), 5000) > ifm.memory_bytes((100, 100), 500) > 0


def test_tiny_known_and_unknown_regions_still_give_a_system():
    scene = make_scene((12, 14), seed=0)
    is_fg = np.zeros((12, 14), bool)
    is_fg[6, 6:8] = True  # two foreground pixels: fewer than the 7 neighbours searched
    is_bg = np.ones((12, 14), bool)
    is_bg[5:8, 5:9] = False  # ten unknown pixels
    is_bg &= ~is_fg
    system = ifm.build_system(scene.image, is_fg, is_bg, known_to_unknown=True)
    matrix = system.matrix @ np.eye(len(system.unknown))
    np.linalg.cholesky(matrix)
    assert np.isfinite(np.linalg.solve(matrix, system.rhs)).all()


def test_the_command_line_reaches_the_confidence_option(tmp_path, scene_files, capsys):
    from vecmatte import load_image, load_trimap
    from vecmatte.cli import main

    image, trimap = scene_files
    out = tmp_path / "a.png"
    argv = ["alpha", str(image), str(trimap), "-o", str(out), "-q", "--method", "ifm"]
    argv += ["--bit-depth", "16"]  # the two confidences' mattes differ by about 2e-4 here
    assert main([*argv, "--option", "ku_confidence=toolbox"]) == 0, capsys.readouterr().err
    written = load_trimap(out)
    photo, known = load_image(image), load_trimap(trimap)
    toolbox = estimate_alpha(photo, known, method="ifm", ku_confidence="toolbox")
    means = estimate_alpha(photo, known, method="ifm")
    np.testing.assert_allclose(written, toolbox, rtol=0, atol=0.5 / 65535 + 1e-12)
    assert np.abs(written - means).max() > 1e-4  # the option reached the method
    out.unlink()
    assert main([*argv, "--option", "ku_confidence=sums"]) == 2  # a usage error (f45a117)
    assert "ku_confidence must be 'means' or 'toolbox', got 'sums'" in capsys.readouterr().err
    assert not out.exists()
