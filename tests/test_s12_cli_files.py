"""The command line with the files helper's additions (session 12): the photograph's colour
profile in the colour outputs, and standard input read within a bound."""

from __future__ import annotations

import io

import numpy as np
import pytest
from conftest import write_png
from PIL import Image, ImageCms

import vecmatte
from vecmatte.cli import main


@pytest.fixture(scope="module")
def profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _photo(path, scene, profile: bytes):
    pixels = np.round(scene.image * 255).astype(np.uint8)
    Image.fromarray(pixels).save(path, icc_profile=profile)
    return path


def _profile_of(path):
    with Image.open(path) as image:
        return image.info.get("icc_profile")


def test_the_colour_outputs_carry_the_photographs_profile(tmp_path, profile, monkeypatch):
    # A Display P3 or Adobe RGB photograph's cutout was written without its profile: viewers
    # took its values for sRGB and showed it paler. The matte (gray) gets none.
    scene = vecmatte.make_scene((40, 60), seed=1)
    photo = _photo(tmp_path / "photo.png", scene, profile)
    trimap = write_png(tmp_path / "trimap.png", scene.trimap)
    out = {name: tmp_path / f"{name}.png" for name in ("a", "c", "f")}
    argv = ["alpha", str(photo), str(trimap), "-o", str(out["a"]), "--cutout", str(out["c"])]
    assert main([*argv, "--foreground", str(out["f"]), "-q"]) == 0
    assert _profile_of(out["c"]) == profile and _profile_of(out["f"]) == profile
    assert _profile_of(out["a"]) is None
    # The photograph on standard input too.
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(photo.read_bytes())))
    piped = tmp_path / "piped.png"
    assert main(["alpha", "-", str(trimap), "-o", str(out["a"]), "--cutout", str(piped)]) == 0
    assert _profile_of(piped) == profile


def test_a_batch_cutout_carries_its_photographs_profile(tmp_path, profile):
    for folder in ("images", "trimaps"):
        (tmp_path / folder).mkdir()
    scene = vecmatte.make_scene((40, 60), seed=2)
    _photo(tmp_path / "images" / "p.png", scene, profile)
    write_png(tmp_path / "trimaps" / "p.png", scene.trimap)
    argv = ["batch", str(tmp_path / "images"), str(tmp_path / "trimaps"), "-o", str(tmp_path)]
    assert main([*argv, "--cutout", "-q"]) == 0
    assert _profile_of(tmp_path / "p_cutout.png") == profile
    assert _profile_of(tmp_path / "p_alpha.png") is None


class _Zeros(io.RawIOBase):
    """A pipe of zero bytes (``cat /dev/zero``), up to ``total``, counting what is read."""

    def __init__(self, total: int):
        self.left, self.read_bytes = total, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        count = min(len(buffer), self.left)
        buffer[:count] = bytes(count)
        self.left -= count
        self.read_bytes += count
        return count


@pytest.mark.parametrize("command", ["alpha", "composite", "trimap"])
def test_standard_input_is_read_within_a_bound(tmp_path, monkeypatch, capsys, command):
    # `cat /dev/zero | vecmatte alpha - t.png -o a.png` read standard input whole before any
    # check, until the memory was full.
    scene = vecmatte.make_scene((20, 30), seed=3)
    gray = write_png(tmp_path / "gray.png", scene.trimap)
    zeros = _Zeros(96 * 2**20)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BufferedReader(zeros)))
    argv = {
        "alpha": ["alpha", "-", str(gray), "-o", str(tmp_path / "a.png")],
        "composite": ["composite", "-", str(gray), "--color", "green"],
        "trimap": ["trimap", "-", "--band", "2"],
    }[command]
    argv += ["-o", str(tmp_path / "o.png")] if command != "alpha" else []
    assert main([*argv, "--max-pixels", "1000"]) == 1
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("vecmatte: error:")]
    assert len(errors) == 1 and "<stdin>" in errors[0] and err.endswith(errors[0] + "\n"), err
    # 16 bytes a pixel and 64 MiB of metadata at most, and one chunk (old code: all 96 MiB)
    assert zeros.read_bytes <= 1000 * 16 + 64 * 2**20 + 2**20
    assert not (tmp_path / "a.png").exists() and not (tmp_path / "o.png").exists()
