"""A gray map stored as RGB (or gray + alpha) reads the values of the same map stored as gray.

The channels' mean of three equal floats may be one bit off them: eval of a matte against
itself saved as RGB or LA printed SAD 4.95e-18 instead of 0.
"""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from vecmatte.cli import main
from vecmatte.trimap import check_trimap


def test_every_8_and_16_bit_level_stored_as_rgb_reads_as_gray():
    for dtype, top in ((np.uint8, 255), (np.uint16, 65535)):
        levels = np.arange(top + 1, dtype=dtype).reshape(-1, 256)
        gray = check_trimap(levels, name="alpha")
        rgb = check_trimap(np.dstack([levels] * 3), name="alpha")
        assert np.array_equal(rgb, gray), dtype  # old code: 48 of 256, 12288 of 65536 differ
    # a pixel in colour (up to the noise check_trimap allows) still reads its channels' mean
    noisy = np.dstack([levels[:1], levels[:1], levels[:1]]).astype(np.float64) / 65535
    noisy[0, 5, 2] += 0.01
    assert check_trimap(noisy)[0, 5] == noisy[0, 5].mean()


def test_eval_of_a_matte_against_itself_saved_as_la_and_rgb_is_zero(tmp_path, capsys):
    rng = np.random.default_rng(0)
    alpha = rng.integers(0, 256, (20, 30), dtype=np.uint8)
    trimap = np.full((20, 30), 128, np.uint8)
    folders = {name: tmp_path / name for name in ("pred", "gt", "trimaps")}
    for folder in folders.values():
        folder.mkdir()
    for name, mode in (("la", "LA"), ("rgb", "RGB")):
        Image.fromarray(alpha).save(folders["pred"] / f"{name}.png")
        Image.fromarray(alpha).convert(mode).save(folders["gt"] / f"{name}.png")
        Image.fromarray(trimap).save(folders["trimaps"] / f"{name}.png")
    assert main(["eval", *map(str, folders.values()), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    for row in result["images"]:
        assert (row["sad"], row["mse"], row["gradient"], row["connectivity"]) == (0, 0, 0, 0), row
