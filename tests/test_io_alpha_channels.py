"""Alpha channels of input files: ignored, or the map itself when the colours cannot be."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from vecmatte.io import AlphaChannelIgnoredWarning, AlphaChannelUsedWarning, load_trimap

LEVELS = np.tile(np.repeat(np.array([0, 128, 255], np.uint8), 4), (5, 1))  # 5 x 12


@pytest.mark.parametrize(("mode", "colour"), [("RGBA", 0), ("RGBA", 255), ("LA", 0), ("LA", 77)])
def test_a_trimap_painted_as_opacity_on_a_transparent_layer_is_read_from_its_alpha(
    tmp_path, mode, colour
):
    # Colours all one value cannot be a trimap (no foreground or no background), and the
    # alpha channel was ignored with a note, then the trimap refused ('no foreground
    # pixels'); an alpha matte or mask of one colour was already read from its alpha.
    channels = 3 if mode == "RGBA" else 1
    pixels = np.dstack([np.full(LEVELS.shape, colour, np.uint8)] * channels + [LEVELS])
    Image.fromarray(pixels, mode).save(tmp_path / "trimap.png")
    with pytest.warns(AlphaChannelUsedWarning, match=r"trimap is read from the file's alpha"):
        trimap = load_trimap(tmp_path / "trimap.png")
    np.testing.assert_array_equal(trimap, LEVELS / 255.0)


def test_a_trimap_of_levels_keeps_its_gray_values_whatever_its_alpha(tmp_path):
    alpha = np.full(LEVELS.shape, 255, np.uint8)
    alpha[0] = 0  # a transparent row
    Image.fromarray(np.dstack([LEVELS] * 3 + [alpha]), "RGBA").save(tmp_path / "trimap.png")
    with pytest.warns(AlphaChannelIgnoredWarning, match=r"gray values are the trimap"):
        trimap = load_trimap(tmp_path / "trimap.png")
    np.testing.assert_array_equal(trimap, LEVELS / 255.0)
