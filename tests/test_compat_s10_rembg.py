"""rembg's call patterns run twice, on the real PyMatting and on vecmatte's shim, compared.

rembg (bg.py) calls ``alpha_matting_cutout(img, mask, fg_threshold, bg_threshold,
erode_size)`` with PIL images of any mode (it converts RGBA and CMYK to RGB, nothing else),
and ``remove()`` falls back to ``decontaminate_cutout`` (``estimate_foreground_ml`` with the
mask as alpha) when matting raises ``ValueError``. Each call below runs in a fresh
interpreter per library (the real PyMatting imports numba, which must not reach this
process); masks are made by the test, so no model is downloaded.
"""

from __future__ import annotations

import importlib.util
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
from test_rembg import rough_mask

import vecmatte

_MISSING = [
    name for name in ("rembg", "onnxruntime", "pymatting") if importlib.util.find_spec(name) is None
]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(bool(_MISSING), reason=f"{', '.join(_MISSING)} not installed"),
]

CHILD = """
import pickle, socket, sys, warnings
warnings.simplefilter("ignore")
import numpy as np
from PIL import Image


def no_network(*args, **kwargs):
    raise OSError("network access is disabled in this test (no model download expected)")


socket.socket.connect = no_network
socket.create_connection = no_network
if sys.argv[1] == "shim":
    from vecmatte.compat import install_pymatting
    install_pymatting()
import rembg.bg


class MaskSession:
    # stands in for a rembg session: predict() returns the mask the network would
    def __init__(self, mask):
        self.mask = mask

    def predict(self, img, *args, **kwargs):
        return [self.mask]


data = np.load(sys.argv[2])
image, mask = Image.fromarray(data["image"]), Image.fromarray(data["mask"])
empty = Image.fromarray(np.zeros_like(data["mask"]))
full = Image.fromarray(np.full_like(data["mask"], 255))
calls = {
    **{f"erode_{e}": (image, mask, 240, 10, e) for e in (0, 1, 3, 25)},
    "thresholds": (image, mask, 200, 50, 10),
    "rgba": (image.convert("RGBA"), mask, 240, 10, 10),
    "cmyk": (image.convert("CMYK"), mask, 240, 10, 10),
    "gray": (image.convert("L"), mask, 240, 10, 10),
    "gray_as_rgb": (image.convert("L").convert("RGB"), mask, 240, 10, 10),
    "gray_alpha": (image.convert("LA"), mask, 240, 10, 10),
    "tiny": (image.crop((0, 0, 3, 3)), mask.crop((0, 0, 3, 3)), 240, 10, 0),
    "one_row": (image.crop((40, 60, 140, 61)), mask.crop((40, 60, 140, 61)), 240, 10, 0),
    "mask_empty": (image, empty, 240, 10, 10),
    "mask_full": (image, full, 240, 10, 10),
}
out = {}
for name, args in calls.items():
    try:
        cutout = rembg.bg.alpha_matting_cutout(*args)
        out[name] = ("value", cutout.mode, np.asarray(cutout))
    except Exception as error:
        out[name] = ("error", type(error).__name__)
for name, m in (("empty", empty), ("full", full), ("rough", mask)):
    for key, options in (
        ("matting", {"alpha_matting": True}),
        ("decontaminate", {"decontaminate": True}),
    ):
        cutout = rembg.bg.remove(image, session=MaskSession(m), **options)
        out[f"remove_{name}_{key}"] = ("value", cutout.mode, np.asarray(cutout))
    cutout = rembg.bg.remove(data["image"], alpha_matting=True, session=MaskSession(m))
    out[f"remove_{name}_ndarray"] = ("value", cutout.dtype.name, cutout)
open(sys.argv[3], "wb").write(pickle.dumps(out))
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict:
    directory = tmp_path_factory.mktemp("rembg_s10")
    scene = vecmatte.make_scene((120, 160), seed=4, softness=3.0)
    inputs = directory / "inputs.npz"
    np.savez(
        inputs,
        image=np.round(scene.image * 255).astype(np.uint8),
        mask=rough_mask(scene.alpha),
    )
    # The two interpreters are independent: they run at once (on 2 cores, the set-up's wall
    # time is the slower one's instead of the sum).
    children = {
        library: subprocess.Popen(
            [sys.executable, "-c", CHILD, library, str(inputs), str(directory / library)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        for library in ("pymatting", "shim")
    }
    found = {}
    try:
        for library, child in children.items():
            output, _ = child.communicate(timeout=900)
            assert child.returncode == 0, output
            found[library] = pickle.loads((directory / library).read_bytes())
    finally:
        for child in children.values():
            if child.poll() is None:
                child.kill()
                child.wait()
    return found


def differences(results: dict, name: str) -> tuple[np.ndarray, np.ndarray]:
    """|shim - PyMatting| of a cutout's alpha, and of its colours where PyMatting's alpha is
    above 25 of 255 (colours under a transparent pixel are not seen)."""
    expected, actual = results["pymatting"][name], results["shim"][name]
    assert expected[0] == actual[0] == "value", (expected[:2], actual[:2])
    assert expected[1] == actual[1], (expected[1], actual[1])
    expected, actual = expected[2].astype(int), actual[2].astype(int)
    assert expected.shape == actual.shape
    visible = expected[:, :, 3] > 25
    return np.abs(actual - expected)[:, :, 3], np.abs(actual - expected)[:, :, :3][visible]


@pytest.mark.parametrize(
    "name",
    [
        "erode_0",
        "erode_1",
        "erode_3",
        "erode_25",
        "thresholds",
        "rgba",
        "cmyk",
        "remove_rough_matting",
        "remove_rough_decontaminate",
        "remove_rough_ndarray",
    ],
)
def test_cutout_as_pymattings(results, name):
    """Measured: alpha identical; colours 0.2-0.4 levels apart on average, at most 18 (the
    foreground is relaxed in red-black order, PyMatting's in raster order)."""
    alpha, colours = differences(results, name)
    assert alpha.max() <= 1
    assert colours.mean() < 1.0
    assert colours.max() <= 20


@pytest.mark.parametrize("name", ["empty", "full"])
@pytest.mark.parametrize("call", ["matting", "decontaminate", "ndarray"])
def test_empty_and_full_masks_as_pymattings(results, name, call):
    """An empty mask: matting raises ValueError, rembg falls back to the decontaminated
    cutout, whose foreground PyMatting starts (and leaves) black under alpha 0. The shim
    gave the image's mean colour there (184 levels off) before its foreground started black.
    """
    expected = results["pymatting"][f"remove_{name}_{call}"][2].astype(int)
    actual = results["shim"][f"remove_{name}_{call}"][2].astype(int)
    assert actual.shape == expected.shape
    # a full mask's foreground is the image up to float32 rounding, truncated by rembg
    assert np.abs(actual - expected).max() <= (0 if name == "empty" else 1)


@pytest.mark.parametrize("name", ["gray_alpha", "tiny", "one_row", "mask_empty", "mask_full"])
def test_same_failures_as_pymatting(results, name):
    """rembg's remove() catches only ValueError (its fallback): the types must agree."""
    expected, actual = results["pymatting"][name], results["shim"][name]
    assert expected[0] == "error", expected[:2]
    assert actual[0] == "error", actual[:2]
    if expected[1] == "AssertionError":  # the shim's PyMattingAssertionError is one
        assert actual[1] == "PyMattingAssertionError"
    else:
        assert actual[1] == expected[1]


def test_gray_photograph_is_matted(results):
    """rembg passes a gray ("L") photograph on as (h, w): PyMatting fails to unpack its shape
    (ValueError, so rembg falls back to the unmatted mask); the shim mattes it as the same
    photograph in RGB."""
    assert results["pymatting"]["gray"] == ("error", "ValueError")
    gray, as_rgb = results["shim"]["gray"], results["shim"]["gray_as_rgb"]
    assert gray[:2] == as_rgb[:2] == ("value", "RGBA")
    np.testing.assert_array_equal(gray[2], as_rgb[2])
