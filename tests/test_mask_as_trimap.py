"""A mask (black and white only) given as the trimap: the warning names the way out.

The commonest first mistake: the "matte" of a mask is the mask again, with exit 0. The old
warning said only "the alpha matte is the trimap itself" (untrue of a trimap of 0.95 and
0.05, whose matte is 1 and 0), and not how to make a trimap from the mask.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import write_png

import vecmatte
from vecmatte.cli import build_parser, main


def _mask(scene: vecmatte.Scene) -> np.ndarray:
    return np.where(scene.alpha > 0.5, 1.0, 0.0)


def test_the_warning_names_the_way_from_a_mask_to_a_trimap(scene):
    with pytest.warns(vecmatte.NoUnknownPixelsWarning) as record:
        alpha = vecmatte.estimate_alpha(scene.image, _mask(scene))
    np.testing.assert_array_equal(alpha, _mask(scene))
    message = str(record[0].message)
    assert message.startswith("trimap has no unknown pixels")
    assert "is it a mask?" in message
    assert "vecmatte.trimap_from_mask(mask, band=10)" in message
    assert "vecmatte alpha --mask mask.png --band 10" in message
    assert "the trimap itself" not in message


def test_the_way_out_it_names_exists_and_gives_unknown_pixels(scene):
    # The function and the flags the message names are the real ones (a band of 2 pixels
    # on this small scene, where 10 leaves no sure foreground).
    trimap = vecmatte.trimap_from_mask(_mask(scene), band=2)
    assert ((trimap > 0.1) & (trimap < 0.9)).any()
    args = build_parser().parse_args(
        ["alpha", "image.png", "--mask", "mask.png", "--band", "10", "-o", "alpha.png"]
    )
    assert args.mask == "mask.png" and args.band == 10


def test_the_warning_says_what_the_matte_is_of_a_trimap_of_near_black_and_white(scene):
    # 0.95 is foreground (> 0.9), 0.05 background: the matte is 1 and 0, not the trimap.
    near = np.where(scene.alpha > 0.5, 0.95, 0.05)
    with pytest.warns(vecmatte.NoUnknownPixelsWarning) as record:
        alpha = vecmatte.estimate_alpha(scene.image, near)
    np.testing.assert_array_equal(alpha, _mask(scene))
    assert "1 on its foreground and 0 on its background" in str(record[0].message)


def test_the_command_line_says_it_too(tmp_path, scene, capsys):
    image = write_png(tmp_path / "image.png", scene.image)
    mask = write_png(tmp_path / "mask.png", _mask(scene))
    assert main(["alpha", str(image), str(mask), "-o", str(tmp_path / "a.png"), "-q"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("vecmatte: warning: trimap has no unknown pixels")
    assert "--mask mask.png --band 10" in err
