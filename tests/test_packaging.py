"""What ``pip install vecmatte`` gets: the package's metadata, files and dependency range."""

from __future__ import annotations

import pytest

import vecmatte

# --- the lowest versions of the dependencies ----------------------------------------------------


def test_a_closed_pil_image_is_named_as_pillow_11_and_12_fail_on_it(tmp_path, monkeypatch):
    # pyproject allows pillow 11 and 12, whose load() of an image whose file was closed
    # raises AttributeError ("'NoneType' object has no attribute 'seek'": the file is None)
    # where 13 raises AssertionError; both must give the one-line message. Simulated here on
    # whichever Pillow is installed.
    from PIL import Image

    scene = vecmatte.make_scene((20, 24), seed=0)
    vecmatte.save_image(tmp_path / "image.png", scene.image)
    with Image.open(tmp_path / "image.png") as closed:
        pass
    assert closed.fp is None

    def load_as_pillow_11_does(self):
        return self.fp.seek(0)

    monkeypatch.setattr(type(closed), "load", load_as_pillow_11_does)
    with pytest.raises(ValueError, match=r"^image is a PIL image whose file was closed"):
        vecmatte.estimate_alpha(closed, scene.trimap)
