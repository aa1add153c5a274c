"""A soft mask whose values are all between 0.1 and 0.9 is told why no sure region is left."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from vecmatte import trimap_from_mask
from vecmatte.cli import main


def _low_confidence_mask(shape=(40, 60)):
    """A model's output of 0.15 and 0.85: foreground and background, but all of it soft."""
    mask = np.full(shape, 0.15)
    mask[:, shape[1] // 2 :] = 0.85
    return mask


def test_a_mask_of_soft_values_only_is_not_told_to_use_a_smaller_band():
    # Old message at band 1, the smallest there is: "... use a smaller band".
    with pytest.raises(ValueError) as refused:
        trimap_from_mask(_low_confidence_mask(), band=1)
    message = str(refused.value)
    assert message.startswith("no sure foreground is left: its pixels beyond the band of 1")
    assert "soft values between 0.1 and 0.9" in message and "threshold the mask at 0.5" in message
    assert "smaller band" not in message
    # thresholded, as the message says, it makes a trimap with the band alone unknown
    trimap = trimap_from_mask(_low_confidence_mask() > 0.5, band=1)
    assert np.count_nonzero(trimap == 0.5) == 2 * 40


def test_a_band_too_wide_is_still_told_so():
    mask = np.zeros((40, 60), bool)
    mask[10:30, 20:40] = True
    with pytest.raises(ValueError, match=r"once a band of 15 pixels .* use a smaller band"):
        trimap_from_mask(mask, band=15)


def test_the_command_line_says_the_same(tmp_path, capsys):
    path = tmp_path / "mask.png"
    Image.fromarray(np.round(_low_confidence_mask() * 255).astype(np.uint8)).save(path)
    code = main(["trimap", str(path), "-o", str(tmp_path / "trimap.png"), "--band", "1"])
    err = capsys.readouterr().err
    assert code == 1
    assert f"{path}: no sure foreground is left: its pixels beyond the band of 1" in err
    assert not (tmp_path / "trimap.png").exists()
