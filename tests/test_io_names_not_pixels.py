"""A file name given where pixels are wanted says how to read the file."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import vecmatte
from vecmatte import metrics


@pytest.mark.parametrize("given", ["photo.png", Path("photo.png"), b"photo.png"])
def test_a_file_name_given_for_pixels_says_to_read_the_file(scene, given):
    # It was read as a 0-dimensional array: 'image has shape (); expected (h, w, 3) RGB or
    # (h, w) gray', which says neither that a file name is not pixels nor how to read it.
    shown = re.escape(repr(given))
    with pytest.raises(ValueError, match=rf"image is a file name \({shown}\).*load_image"):
        vecmatte.estimate_alpha(given, scene.trimap)
    with pytest.raises(ValueError, match=rf"trimap is a file name \({shown}\).*load_trimap"):
        vecmatte.estimate_alpha(scene.image, given)
    with pytest.raises(ValueError, match=r"true_alpha is a file name .*load_gray"):
        metrics.sad(scene.alpha, given)
    with pytest.raises(ValueError, match=r"mask is a file name .*load_gray"):
        vecmatte.trimap_from_mask(given)


def test_a_string_of_pixels_is_still_refused_by_its_shape():
    with pytest.raises(ValueError, match=r"alpha has shape \(2,\); expected \(h, w\)"):
        metrics.sad(np.array(["a", "b"]), np.zeros((2, 2)))


def test_a_long_file_name_given_for_pixels_is_cut_short(scene):
    # The whole name was repeated in the line (a text of 5000 characters here).
    cut = r"image is a file name \('x{23}\.\.\. \(5006 characters\)\), not pixels"
    with pytest.raises(ValueError, match=cut) as info:
        vecmatte.estimate_alpha("x" * 5000 + ".png", scene.trimap)
    assert len(str(info.value)) < 200
