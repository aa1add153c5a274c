"""Image and trimap given the wrong way round: the refusal says so.

Before: ``estimate_alpha(trimap, image)`` and ``vecmatte alpha trimap.png photo.png`` said
only "trimap is in colour: 99.7% of its pixels have channels that differ ...; it must be gray
(...)", leaving the user to guess that the arguments were swapped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import vecmatte
from vecmatte.cli import main
from vecmatte.io import load_image, load_trimap
from vecmatte.trimap import check_trimap

DATA = Path(vecmatte.__file__).parent / "data"
SWAPPED = "(image and trimap swapped? the photograph comes first)"


@pytest.fixture(scope="module")
def demo():
    return load_image(DATA / "demo_image.png"), load_trimap(DATA / "demo_trimap.png")


def test_swapped_arrays_say_so(demo):
    image, trimap = demo
    with pytest.raises(ValueError, match=r"^trimap is in colour: .*") as caught:
        vecmatte.estimate_alpha(trimap, image)
    assert str(caught.value).endswith(SWAPPED)
    assert "\n" not in str(caught.value)


def test_swapped_files_say_so(tmp_path, capsys):
    output = tmp_path / "a.png"
    code = main(
        ["alpha", str(DATA / "demo_trimap.png"), str(DATA / "demo_image.png"), "-o", str(output)]
    )
    assert code != 0 and not output.exists()
    err = capsys.readouterr().err
    assert "demo_image.png: trimap is in colour" in err and SWAPPED in err


def test_a_small_random_photograph_says_so():
    photo = np.random.default_rng(0).random((8, 9, 3))
    with pytest.raises(ValueError, match=r"swapped\? the photograph comes first\)$"):
        check_trimap(photo)


def test_a_colour_label_map_is_refused_without_the_swap_hint(tmp_path):
    # A map of a few flat colours (a palette label map) is no photograph: no swap hint.
    labels = np.zeros((40, 50), dtype=np.uint8)
    labels[:, 20:] = 1
    labels[10:30, 10:40] = 2
    path = tmp_path / "labels.png"
    picture = Image.fromarray(labels, mode="P")
    picture.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255])
    picture.save(path)
    with pytest.raises(ValueError, match="trimap is in colour") as caught:
        load_trimap(path)
    assert "swapped" not in str(caught.value)


def test_other_maps_keep_their_own_hint(demo):
    image, _ = demo
    with pytest.raises(ValueError, match=r"\(white foreground, black background\)$"):
        check_trimap(image, name="mask")
