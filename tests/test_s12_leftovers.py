"""Session 12 leftovers: cf's small path takes only its own options; ICC colour profiles of
``vecmatte composite`` and ``vecmatte serve``'s downloads.

References: SciPy's sparse direct solve of the system :func:`vecmatte.alpha.cf.build_system`
assembles; the profiles are checked as Pillow reads them back from the written PNGs.
"""

from __future__ import annotations

import io
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse.linalg
from conftest import write_png
from PIL import Image, ImageCms

import vecmatte
from vecmatte import _defaults
from vecmatte.alpha import cf
from vecmatte.cli import main
from vecmatte.compose import composite_profile
from vecmatte.io import ColourProfileWarning
from vecmatte.synthetic import make_scene

# --- cf.solve_small is passed only the options it takes ------------------------------------


def _spsolve_alpha(image, trimap, **options):
    """The matte of the assembled system's exact solution (clipped as the pipeline does)."""
    is_fg, is_bg = trimap > 0.9, trimap < 0.1
    system = cf.build_system(image, is_fg, is_bg, **options)
    alpha = is_fg.astype(np.float64)
    alpha.flat[system.unknown] = np.clip(
        scipy.sparse.linalg.spsolve(system.matrix.tocsc(), system.rhs), 0.0, 1.0
    )
    return alpha


def test_an_option_solve_small_does_not_take_leaves_the_system_to_build_system(monkeypatch):
    # A cf option added to build_system (and the memory model) but not to solve_small: it
    # raised TypeError inside solve_small rather than being honoured.
    build, model = cf.build_system, cf.memory_bytes
    seen = []

    def build_system(image, is_fg, is_bg, *, eps=_defaults.EPS, radius=_defaults.RADIUS, extra=0):
        seen.append(extra)
        return build(image, is_fg, is_bg, eps=eps, radius=radius)

    def memory_bytes(*args, extra=0, **options):
        return model(*args, **options)

    monkeypatch.setattr(cf, "build_system", build_system)
    monkeypatch.setattr(cf, "memory_bytes", memory_bytes)
    scene = make_scene((20, 24), seed=0, softness=1.5, band=1)
    result = vecmatte.solve_alpha(scene.image, scene.trimap, method="cf", rtol=1e-10, extra=3)
    assert seen == [3]  # built by build_system with the option, solved by conjugate gradient
    reference = _spsolve_alpha(scene.image, scene.trimap)
    np.testing.assert_allclose(result.alpha, reference, atol=1e-6)


def test_solve_small_still_takes_eps_and_radius(monkeypatch):
    calls = []
    small = cf.solve_small

    def solve_small(image, is_fg, is_bg, **keywords):
        calls.append(sorted(keywords))
        return small(image, is_fg, is_bg, **keywords)

    monkeypatch.setattr(cf, "solve_small", solve_small)
    scene = make_scene((20, 24), seed=1, softness=1.5, band=1)
    result = vecmatte.solve_alpha(scene.image, scene.trimap, method="cf", eps=1e-3, radius=1)
    assert calls == [["eps", "radius", "rtol"]] and result.iterations == 1
    reference = _spsolve_alpha(scene.image, scene.trimap, eps=1e-3, radius=1)
    np.testing.assert_allclose(result.alpha, reference, atol=1e-8)


# --- ICC profiles of vecmatte composite and of serve's downloads ----------------------------

# Display P3's colorants adapted to D50, as an ICC profile's rXYZ, gXYZ and bXYZ tags hold.
_P3_COLORANTS = {
    b"rXYZ": (0.5151, 0.2412, -0.0011),
    b"gXYZ": (0.2920, 0.6922, 0.0419),
    b"bXYZ": (0.1571, 0.0666, 0.7841),
}


def _srgb() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _with_colorants(profile: bytes, colorants: dict) -> bytes:
    """``profile`` with its colorant tags (XYZType, s15Fixed16 numbers) replaced."""
    data = bytearray(profile)
    (count,) = struct.unpack(">I", data[128:132])
    for i in range(count):
        tag, offset, size = struct.unpack(">4sII", data[132 + 12 * i : 144 + 12 * i])
        if tag in colorants:
            assert size == 20 and data[offset : offset + 4] == b"XYZ "
            numbers = b"".join(struct.pack(">i", round(v * 65536)) for v in colorants[tag])
            data[offset + 8 : offset + 20] = numbers
    assert bytes(data) != profile
    return bytes(data)


def _renamed(profile: bytes) -> bytes:
    """The same colour space under another description (other bytes)."""
    name = "sRGB".encode("utf-16-be")
    assert name in profile
    return profile.replace(name, "xRGB".encode("utf-16-be"))


WIDE = _with_colorants(_srgb(), _P3_COLORANTS)  # a wide-gamut space: not sRGB


def _transformed(colours: np.ndarray, source: bytes, target: bytes) -> np.ndarray:
    transform = ImageCms.buildTransform(
        ImageCms.ImageCmsProfile(io.BytesIO(source)),
        ImageCms.ImageCmsProfile(io.BytesIO(target)),
        "RGB",
        "RGB",
    )
    return np.asarray(ImageCms.applyTransform(Image.fromarray(colours), transform))


def test_the_test_profiles_are_what_they_stand_for():
    # LittleCMS reads them; the wide space moves sRGB's red, the renamed one moves nothing.
    colours = np.array([[[255, 0, 0], [0, 128, 0], [40, 90, 200]]], dtype=np.uint8)
    assert np.abs(_transformed(colours, WIDE, _srgb()).astype(int) - colours).max() > 20
    assert np.abs(_transformed(colours, _renamed(WIDE), WIDE).astype(int) - colours).max() <= 1


def _save(path, array, profile=None) -> str:
    pixels = np.round(np.asarray(array) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(path, **({} if profile is None else {"icc_profile": profile}))
    return str(path)


def _profile_of(data) -> bytes | None:
    with Image.open(io.BytesIO(data) if isinstance(data, bytes) else data) as image:
        return image.info.get("icc_profile")


@pytest.fixture
def photo(tmp_path):
    """A photograph in the wide colour space, its alpha matte; the cwd."""
    scene = make_scene((24, 32), seed=3)
    image = _save(tmp_path / "photo.png", scene.image, WIDE)
    alpha = write_png(tmp_path / "alpha.png", scene.alpha)
    return image, str(alpha), scene


def _composite(tmp_path, capsys, photo, *background) -> tuple[bytes | None, str]:
    output = tmp_path / "out.png"
    argv = ["composite", photo[0], photo[1], *background, "-o", str(output)]
    assert main([*argv, "--foreground-method", "blur_fusion", "-q"]) == 0
    return _profile_of(output), capsys.readouterr().err


def test_a_composite_over_a_colour_carries_the_photographs_profile(tmp_path, capsys, photo):
    profile, err = _composite(tmp_path, capsys, photo, "--color", "green")
    assert profile == WIDE and err == ""


@pytest.mark.parametrize("background_profile", [None, WIDE, _renamed(WIDE)])
def test_a_composite_over_a_background_of_its_space_carries_the_photographs_profile(
    tmp_path, capsys, photo, background_profile
):
    # No profile, the same one, or another description of the same colour space.
    background = _save(tmp_path / "bg.png", photo[2].background, background_profile)
    profile, err = _composite(tmp_path, capsys, photo, background)
    assert profile == WIDE and err == ""


def test_a_composite_over_a_background_of_another_space_has_no_profile(tmp_path, capsys, photo):
    background = _save(tmp_path / "bg.png", photo[2].background, _srgb())
    profile, err = _composite(tmp_path, capsys, photo, background)
    assert profile is None
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("vecmatte: warning: ")
    assert "different colour spaces" in lines[0] and "mixed as stored" in lines[0]


def test_composite_profile_of_a_photograph_without_one():
    # Its values are taken for sRGB: a background in a wide space is another space.
    with pytest.warns(ColourProfileWarning, match="different colour spaces"):
        assert composite_profile(None, WIDE) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert composite_profile(None, None) is None
        assert composite_profile(WIDE, None) == WIDE
        assert composite_profile(_srgb(), _renamed(_srgb())) == _srgb()


def _call_app(app, fields: dict, path: str) -> tuple[str, bytes]:
    """POST ``fields`` (bytes: files) as multipart/form-data to the WSGI application."""
    from wsgiref.util import setup_testing_defaults

    boundary = "leftoversBoundary"
    chunks = []
    for name, value in fields.items():
        if isinstance(value, bytes):
            head = f'name="{name}"; filename="{name}.png"\r\nContent-Type: image/png'
        else:
            head, value = f'name="{name}"', value.encode()
        chunks.append(
            f"--{boundary}\r\nContent-Disposition: form-data; {head}\r\n\r\n".encode()
            + value
            + b"\r\n"
        )
    body = b"".join(chunks) + f"--{boundary}--\r\n".encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "CONTENT_TYPE": f"multipart/form-data; boundary={boundary}",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": "localhost:8000",
        "QUERY_STRING": "",
        "wsgi.input": io.BytesIO(body),
    }
    setup_testing_defaults(environ)
    answer = {}
    chunks = app(environ, lambda status, headers: answer.update(status=status))
    try:
        return answer["status"], b"".join(chunks)
    finally:
        getattr(chunks, "close", lambda: None)()


def _png(array) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.round(np.asarray(array) * 255).astype(np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("profile", [WIDE, None])
def test_serve_downloads_carry_the_photographs_profile(tmp_path, photo, profile):
    from vecmatte.web import create_app

    app = create_app(workers=1)
    scene = photo[2]
    image = Path(_save(tmp_path / "p.png", scene.image, profile)).read_bytes()
    solved = {"image": image, "trimap": _png(scene.trimap), "foreground_method": "blur_fusion"}
    given = {"image": image, "alpha": _png(scene.alpha), "foreground_method": "none"}
    for fields, path, expected in (
        (solved, "/api/cutout", profile),
        (solved, "/api/foreground", profile),
        (given, "/api/cutout", profile),
        ({"image": image, "trimap": _png(scene.trimap)}, "/api/alpha", None),  # gray: none
    ):
        status, body = _call_app(app, fields, path)
        assert status.startswith("200"), body
        assert _profile_of(body) == expected, path
