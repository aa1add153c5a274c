"""Information flow's known-to-unknown estimate outside [0, 1] carries no confidence.

With ``ku_confidence="means"`` (the default) an estimate outside [0, 1] means one side's LLE
weights sum below zero: no mixture ``alpha F + (1 - alpha) B`` with alpha in [0, 1] explains
the pixel, so its data term is dropped (and the estimate clipped). The reference is a plain
loop over the pixels on the flow's raw output; ``"toolbox"`` keeps the toolbox's behaviour.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse.linalg

from vecmatte.alpha import ifm
from vecmatte.alpha._ifm_trimming import edge_trimming, patch_trimming
from vecmatte.laplacians.information_flow import known_to_unknown_flow
from vecmatte.synthetic import make_scene

SLACK = 1e-6


def extrapolated_scene(seed: int = 0):
    """Foreground of gray 0.45, background of gray 0.55 and, in the unknown band, pixels
    darker than both (0.1-0.3): their mixture weights extrapolate beyond [0, 1]."""
    rng = np.random.default_rng(seed)
    h, w = 40, 48
    image = np.empty((h, w, 3))
    image[:, : w // 2] = 0.45
    image[:, w // 2 :] = 0.55
    image += rng.normal(0.0, 0.01, size=image.shape)
    trimap = np.zeros((h, w))
    trimap[:, : w // 2 - 6] = 1.0
    trimap[:, w // 2 - 6 : w // 2 + 6] = 0.5
    band = trimap == 0.5
    dark = band & (rng.uniform(size=(h, w)) < 0.5)
    image[dark] = rng.uniform(0.1, 0.3, size=(int(dark.sum()), 1))
    return np.clip(image, 0.0, 1.0), trimap


def raw_estimate(image, is_fg, is_bg, confidence):
    """The flow's own estimate and confidence, with both trimmings, as ifm feeds it."""
    edge_fg, edge_bg = edge_trimming(image, is_fg, is_bg)
    patch_fg, patch_bg = patch_trimming(image, is_fg, is_bg, k=5)
    alpha_hat, conf = known_to_unknown_flow(
        image, patch_fg, patch_bg, k=7, where=~(edge_fg | edge_bg), confidence=confidence
    )
    return alpha_hat, conf, edge_fg, edge_bg


def reference(image, is_fg, is_bg):
    """The rule applied pixel by pixel to the raw estimate."""
    alpha_hat, conf, edge_fg, edge_bg = raw_estimate(image, is_fg, is_bg, "means")
    h, w = is_fg.shape
    for y in range(h):
        for x in range(w):
            if edge_fg[y, x] or edge_bg[y, x]:  # the trimming's label, fully trusted
                alpha_hat[y, x] = 1.0 if edge_fg[y, x] else 0.0
                conf[y, x] = 1.0
            else:
                if alpha_hat[y, x] < -SLACK or alpha_hat[y, x] > 1.0 + SLACK:
                    conf[y, x] = 0.0
                alpha_hat[y, x] = min(max(alpha_hat[y, x], 0.0), 1.0)
            if is_fg[y, x] or is_bg[y, x]:  # the trimap's own term holds known pixels
                conf[y, x] = 0.0
    return alpha_hat, conf


def masks(trimap):
    return trimap > 0.9, trimap < 0.1


def test_the_scene_has_estimates_outside_the_unit_interval():
    image, trimap = extrapolated_scene()
    is_fg, is_bg = masks(trimap)
    alpha_hat, _, edge_fg, edge_bg = raw_estimate(image, is_fg, is_bg, "means")
    flowed = ~(is_fg | is_bg | edge_fg | edge_bg)
    outside = flowed & ((alpha_hat < -SLACK) | (alpha_hat > 1 + SLACK))
    assert outside.sum() >= 20  # else the tests below would prove nothing


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_estimates_outside_get_no_confidence_and_are_clipped(seed):
    image, trimap = extrapolated_scene(seed)
    is_fg, is_bg = masks(trimap)
    alpha_hat, conf = ifm._known_to_unknown_estimate(image, is_fg, is_bg, "means")
    want_alpha, want_conf = reference(image, is_fg, is_bg)
    np.testing.assert_array_equal(conf, want_conf)
    np.testing.assert_array_equal(alpha_hat, want_alpha)
    assert alpha_hat.min() >= 0.0 and alpha_hat.max() <= 1.0


def test_rounding_just_outside_keeps_its_confidence():
    # Synthetic scenes give estimates of 1 + 1e-9 and -1e-10 (rounding of the LLE solves):
    # those pixels are mixtures, not extrapolations.
    scene = make_scene((60, 80), seed=2)
    is_fg, is_bg = masks(scene.trimap)
    raw, raw_conf, edge_fg, edge_bg = raw_estimate(scene.image, is_fg, is_bg, "means")
    flowed = ~(is_fg | is_bg | edge_fg | edge_bg)
    rounding = flowed & (((raw > 1) & (raw <= 1 + SLACK)) | ((raw < 0) & (raw >= -SLACK)))
    assert rounding.any()
    _, conf = ifm._known_to_unknown_estimate(scene.image, is_fg, is_bg, "means")
    np.testing.assert_array_equal(conf[rounding], raw_conf[rounding])


def test_the_toolbox_confidence_is_left_as_the_toolbox_has_it():
    image, trimap = extrapolated_scene()
    is_fg, is_bg = masks(trimap)
    raw, raw_conf, edge_fg, edge_bg = raw_estimate(image, is_fg, is_bg, "toolbox")
    alpha_hat, conf = ifm._known_to_unknown_estimate(image, is_fg, is_bg, "toolbox")
    flowed = ~(is_fg | is_bg | edge_fg | edge_bg)
    np.testing.assert_array_equal(alpha_hat[flowed], raw[flowed])
    np.testing.assert_array_equal(conf[flowed], raw_conf[flowed])
    assert ((raw[flowed] < 0) | (raw[flowed] > 1)).any()


def test_the_system_has_no_data_term_where_the_estimate_is_outside():
    image, trimap = extrapolated_scene()
    is_fg, is_bg = masks(trimap)
    system = ifm.build_system(image, is_fg, is_bg, known_to_unknown=True)
    raw, _, edge_fg, edge_bg = raw_estimate(image, is_fg, is_bg, "means")
    flowed = ~(is_fg | is_bg | edge_fg | edge_bg)
    outside = (flowed & ((raw < -SLACK) | (raw > 1 + SLACK))).ravel()
    position = {pixel: i for i, pixel in enumerate(system.unknown)}
    rows = [position[p] for p in np.flatnonzero(outside)]
    # Unknown rows have no lam T term: their right-hand side is the data term alone.
    assert len(rows) >= 20
    np.testing.assert_array_equal(np.asarray(system.rhs)[rows], 0.0)
    # And the solve is the system's solution (CG against a direct solve).
    matrix = system.matrix @ np.eye(system.matrix.shape[0])
    exact = scipy.sparse.linalg.spsolve(scipy.sparse.csr_matrix(matrix), system.rhs)
    alpha = ifm_alpha(image, trimap, rtol=1e-10).ravel()[system.unknown]
    solved = ~(is_fg | is_bg).ravel()[system.unknown]  # known pixels keep the trimap's value
    np.testing.assert_allclose(alpha[solved], np.clip(exact[solved], 0, 1), atol=1e-6)


def ifm_alpha(image, trimap, **options):
    from vecmatte import estimate_alpha

    return estimate_alpha(image, trimap, method="ifm", known_to_unknown=True, **options)
