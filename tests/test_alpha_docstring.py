"""estimate_alpha's docstring says what it does with masked arrays, an all-known trimap and
a float64 retry that would not fit."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import vecmatte
import vecmatte.memory
from vecmatte.alpha import NoUnknownPixelsWarning


def _doc() -> str:
    return " ".join(vecmatte.estimate_alpha.__doc__.split())


def test_what_the_docstring_says_of_masked_arrays_is_what_happens():
    # It said the mask is ignored; masked values are refused since 163cb16.
    scene = vecmatte.make_scene((30, 40), seed=0)
    image = np.ma.masked_array(scene.image, mask=False)
    image.mask[0, 0, 0] = True
    assert "masked array with masked values is refused" in _doc()
    assert "mask is ignored" not in _doc()
    with pytest.raises(ValueError, match="masked array"):
        vecmatte.estimate_alpha(image, scene.trimap)
    unmasked = np.ma.masked_array(scene.image, mask=False)
    assert np.array_equal(
        vecmatte.estimate_alpha(unmasked, scene.trimap),
        vecmatte.estimate_alpha(scene.image, scene.trimap),
    )


def test_what_the_docstring_says_of_a_trimap_without_unknown_pixels_is_what_happens():
    # It said the matte 'is then the trimap'; a trimap's 0.95 and 0.05 give 1 and 0.
    scene = vecmatte.make_scene((30, 40), seed=0)
    trimap = np.where(scene.alpha > 0.5, 0.95, 0.05)
    warns = re.search(r"NoUnknownPixelsWarning (.*?) SlowSolveWarning", _doc()).group(1)
    assert "is then the trimap" not in warns
    assert "1 on its foreground and 0 on its background" in warns
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        alpha = vecmatte.estimate_alpha(scene.image, trimap)
    assert [w.category for w in caught] == [NoUnknownPixelsWarning]
    assert np.array_equal(alpha, (trimap > 0.5).astype(float))


def test_the_docstring_says_a_float64_retry_that_would_not_fit_is_refused(monkeypatch):
    # 8a49981 made it an InsufficientMemoryError mid-solve; the Raises entry said only
    # "before anything large is allocated".
    # 2,261 unknowns: above the small systems' band Cholesky path (no float32 factor there).
    scene = vecmatte.make_scene((100, 120), seed=5)
    image = (scene.image > 0.5).astype(float)  # cf at eps 1e-12 breaks the float32 factor
    monkeypatch.setattr(vecmatte.memory, "available_memory", lambda: 2**20)
    with pytest.raises(vecmatte.memory.InsufficientMemoryError, match="float64"):
        vecmatte.estimate_alpha(image, scene.trimap, eps=1e-12)
    raises = re.search(r"InsufficientMemoryError (.*?) Warns", _doc()).group(1)
    assert "float64" in raises and "would not fit" in raises
