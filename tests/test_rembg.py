"""rembg's own code running on vecmatte through the PyMatting shim (no model weights needed).

rembg's alpha matting is ``alpha_matting_cutout(img, mask, fg_threshold, bg_threshold,
erode_size)`` on a mask from its network; here the mask is made by the test. Everything rembg
runs happens in a fresh interpreter, so the shim never enters this test process.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from scipy.ndimage import binary_erosion, gaussian_filter

import vecmatte
from vecmatte.foreground import estimate_foreground

# `import rembg.bg` calls sys.exit(1) without onnxruntime, so both must be present.
_MISSING = [name for name in ("rembg", "onnxruntime") if importlib.util.find_spec(name) is None]
pytestmark = pytest.mark.skipif(
    bool(_MISSING),
    reason=f"{' and '.join(_MISSING)} not installed; rembg[cpu] is in the test extra "
    "(pip install -e '.[test]', Python >= 3.11)",
)

FOREGROUND_THRESHOLD, BACKGROUND_THRESHOLD, ERODE_SIZE = 240, 10, 10

RUN_REMBG = """
import json, socket, sys
import numpy as np
from PIL import Image


def no_network(*args, **kwargs):
    raise OSError("network access is disabled in this test (no model download expected)")


socket.socket.connect = no_network
socket.create_connection = no_network

from vecmatte.compat import install_pymatting
install_pymatting()
import rembg.bg

data = np.load(sys.argv[1])
image = Image.fromarray(data["image"])
report = {
    "numba_imported": "numba" in sys.modules,
    "estimate_alpha_cf": rembg.bg.estimate_alpha_cf.__module__,
    "estimate_foreground_ml": rembg.bg.estimate_foreground_ml.__module__,
}
cutout = rembg.bg.alpha_matting_cutout(image, Image.fromarray(data["mask"]), 240, 10, 10)
report["mode"] = cutout.mode
np.save(sys.argv[2], np.asarray(cutout))


class MaskSession:
    # Stands in for a rembg session: predict() returns the masks the network would.
    def __init__(self, mask):
        self.mask = mask

    def predict(self, img, *args, **kwargs):
        return [self.mask]


for name in ("no_foreground", "no_background"):
    mask = Image.fromarray(data[name])
    try:
        rembg.bg.alpha_matting_cutout(image, mask, 240, 10, 10)
        report[name + "_error"] = None
    except Exception as error:
        report[name + "_error"] = [type(error).__name__, str(error)]
    # rembg.bg.remove catches that ValueError and falls back to the decontaminated cutout.
    fallback = rembg.bg.remove(image, alpha_matting=True, session=MaskSession(mask))
    report[name + "_fallback"] = [fallback.mode, np.asarray(fallback)[:, :, 3].tolist()]
print(json.dumps(report))
"""


# The same call with the real PyMatting (numba), for the comparison below.
RUN_REMBG_ON_PYMATTING = """
import sys
import numpy as np
from PIL import Image
import rembg.bg

data = np.load(sys.argv[1])
cutout = rembg.bg.alpha_matting_cutout(
    Image.fromarray(data["image"]), Image.fromarray(data["mask"]), 240, 10, 10
)
assert rembg.bg.estimate_alpha_cf.__module__.startswith("pymatting"), "not the real PyMatting"
np.save(sys.argv[2], np.asarray(cutout))
"""


def rough_mask(alpha: np.ndarray) -> np.ndarray:
    """A network-like mask: the object grown by two pixels, blurred, as uint8."""
    grown = np.pad(alpha > 0.5, 2)
    shifted = np.zeros_like(alpha, dtype=bool)
    h, w = alpha.shape
    for dy in range(5):
        for dx in range(5):
            shifted |= grown[dy : dy + h, dx : dx + w]
    return np.round(gaussian_filter(shifted * 255.0, sigma=1.5)).astype(np.uint8)


def rembg_trimap(mask: np.ndarray) -> np.ndarray:
    """The trimap rembg's alpha_matting_cutout builds from a mask (rembg 2.0.x, bg.py)."""
    structure = np.ones((ERODE_SIZE, ERODE_SIZE), dtype=np.uint8)
    is_foreground = binary_erosion(mask > FOREGROUND_THRESHOLD, structure=structure)
    is_background = binary_erosion(mask < BACKGROUND_THRESHOLD, structure=structure, border_value=1)
    trimap = np.full(mask.shape, 128, dtype=np.uint8)
    trimap[is_foreground] = 255
    trimap[is_background] = 0
    return trimap


@pytest.fixture(scope="module")
def rembg_run(tmp_path_factory):
    directory = tmp_path_factory.mktemp("rembg")
    scene = vecmatte.make_scene((120, 160), seed=4, softness=3.0)
    image = np.round(scene.image * 255).astype(np.uint8)
    mask = rough_mask(scene.alpha)
    inputs, output = directory / "inputs.npz", directory / "cutout.npy"
    np.savez(
        inputs,
        image=image,
        mask=mask,
        no_foreground=np.minimum(mask, FOREGROUND_THRESHOLD),  # nothing above 240
        no_background=np.maximum(mask, BACKGROUND_THRESHOLD),  # nothing below 10
    )
    environment = {**os.environ, "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(
        [sys.executable, "-c", RUN_REMBG, str(inputs), str(output)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return image, mask, np.load(output), report, inputs


@pytest.fixture(scope="module")
def pymatting_cutout(rembg_run, tmp_path_factory):
    """rembg's cutout of the same inputs with the real PyMatting, in a fresh interpreter."""
    if importlib.util.find_spec("pymatting") is None:
        pytest.skip("PyMatting not installed")
    output = tmp_path_factory.mktemp("rembg_pymatting") / "cutout.npy"
    result = subprocess.run(
        [sys.executable, "-c", RUN_REMBG_ON_PYMATTING, str(rembg_run[4]), str(output)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return np.load(output)


def test_rembg_runs_on_vecmatte_without_numba(rembg_run):
    _, _, _, report, _ = rembg_run
    assert report["estimate_alpha_cf"] == "vecmatte.compat.pymatting"
    assert report["estimate_foreground_ml"] == "vecmatte.compat.pymatting"
    assert report["numba_imported"] is False


def test_alpha_matting_cutout_agrees_with_estimate_alpha(rembg_run):
    image, mask, cutout, report, _ = rembg_run
    assert report["mode"] == "RGBA"
    assert cutout.shape == (*mask.shape, 4)
    trimap = rembg_trimap(mask)
    unknown = trimap == 128
    assert unknown.sum() > 500  # the erosion left a real band to solve
    alpha = vecmatte.estimate_alpha(image / 255.0, trimap / 255.0, rtol=1e-7)
    # rembg converts with np.clip(x * 255, 0, 255).astype(np.uint8): truncation.
    expected_alpha = np.clip(alpha * 255, 0, 255).astype(np.uint8)
    difference = np.abs(cutout[:, :, 3].astype(int) - expected_alpha)
    assert difference.max() <= 1
    soft = (cutout[:, :, 3] > 5) & (cutout[:, :, 3] < 250)
    assert soft.sum() > 100  # a matte, not the binary mask
    np.testing.assert_array_equal(cutout[:, :, 3][trimap == 255], 255)
    np.testing.assert_array_equal(cutout[:, :, 3][trimap == 0], 0)


def test_alpha_matting_cutout_colours_are_vecmatte_foreground(rembg_run):
    image, mask, cutout, _, _ = rembg_run
    alpha = vecmatte.estimate_alpha(image / 255.0, rembg_trimap(mask) / 255.0, rtol=1e-7)
    # PyMatting's estimate_foreground_ml defaults, which the shim keeps
    foreground = estimate_foreground(image / 255.0, alpha, regularization=1e-5, gradient_weight=1.0)
    expected = np.clip(foreground * 255, 0, 255).astype(np.uint8)
    difference = np.abs(cutout[:, :, :3].astype(int) - expected)
    assert difference.max() <= 1


@pytest.mark.parametrize(
    ("case", "missing"), [("no_foreground", "foreground"), ("no_background", "background")]
)
def test_value_error_fallback_still_triggers(rembg_run, case, missing):
    _, mask, _, report, _ = rembg_run
    error_type, message = report[f"{case}_error"]
    assert error_type == "ValueError"
    assert f"did not contain {missing} values" in message
    # rembg.bg.remove caught it and fell back: alpha is the mask itself.
    mode, fallback_alpha = report[f"{case}_fallback"]
    assert mode == "RGBA"
    bounded = np.minimum(mask, 240) if case == "no_foreground" else np.maximum(mask, 10)
    np.testing.assert_array_equal(np.array(fallback_alpha), bounded)


@pytest.mark.slow
def test_alpha_matting_cutout_agrees_with_pymattings(rembg_run, pymatting_cutout):
    """rembg's cutout on the shim against rembg's cutout on PyMatting, same inputs.

    Measured: alpha identical (uint8), colours where alpha > 0.1 differ by 0.2 levels on
    average, at most 10 of 255 (vecmatte's foreground relaxes in red-black order, PyMatting's
    in raster order: the same fixed point, reached differently, see test_foreground_pymatting).
    """
    _, _, cutout, _, _ = rembg_run
    assert cutout.shape == pymatting_cutout.shape
    assert cutout.dtype == pymatting_cutout.dtype == np.uint8
    difference = np.abs(cutout.astype(int) - pymatting_cutout)
    assert difference[:, :, 3].max() <= 1
    visible = pymatting_cutout[:, :, 3] > 25
    assert difference[:, :, :3][visible].mean() < 1.0
    assert difference[:, :, :3][visible].max() <= 16
