"""Compositing a foreground over a new background (image or colour), and cutouts with it."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import write_png
from PIL import Image

from vecmatte import composite, cutout, estimate_foreground, make_scene
from vecmatte.cli import main
from vecmatte.compose import parse_color


@pytest.fixture(scope="module")
def soft_scene():
    return make_scene((40, 52), seed=4, softness=5.0)


def test_composite_over_original_background_is_the_image(soft_scene):
    s = soft_scene
    np.testing.assert_allclose(composite(s.foreground, s.alpha, s.background), s.image, atol=1e-12)


def test_composite_over_colour(soft_scene):
    s = soft_scene
    result = composite(s.foreground, s.alpha, "#00ff00")
    a = s.alpha[:, :, None]
    np.testing.assert_allclose(result, a * s.foreground + (1 - a) * [0.0, 1.0, 0.0], atol=1e-12)
    np.testing.assert_array_equal(result, composite(s.foreground, s.alpha, (0.0, 1.0, 0.0)))
    np.testing.assert_array_equal(result, composite(s.foreground, s.alpha, "lime"))


@pytest.mark.parametrize(
    ("text", "rgb"),
    [
        ("#00ff00", (0, 1, 0)),
        ("#f00", (1, 0, 0)),
        ("  #0000FF ", (0, 0, 1)),
        ("white", (1, 1, 1)),
        ("rgb(255, 0, 255)", (1, 0, 1)),
        ("#00ff00ff", (0, 1, 0)),  # opaque alpha given
        ((0.25, 0.5, 0.75), (0.25, 0.5, 0.75)),
    ],
)
def test_parse_color(text, rgb):
    np.testing.assert_allclose(parse_color(text), rgb)


@pytest.mark.parametrize("bad", ["#00ff0", "#gg0000", "greenish", "", (0, 0), (0, 0, 2), "0,255,0"])
def test_bad_colour(bad):
    with pytest.raises(ValueError, match="colour"):
        parse_color(bad)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            "rgb(300, 0, 0)",
            r"cannot read colour 'rgb\(300, 0, 0\)': red, green and blue must lie in 0 \.\.\. 255",
        ),
        ("rgba(0, 0, 0, 0)", r"colour 'rgba\(0, 0, 0, 0\)' is translucent \(alpha 0 of 255\)"),
        ("#00ff0080", "colour '#00ff0080' is translucent \\(alpha 128 of 255\\)"),
    ],
)
def test_colour_out_of_range_or_translucent_is_refused_in_its_own_words(bad, message):
    # Before: rgb(300, 0, 0) gave "colour array([1.17647059, 0., 0.]) must be ...", and a
    # transparent colour was taken as opaque.
    with pytest.raises(ValueError, match=f"^{message}"):
        parse_color(bad)


def test_fit_resize_stretches(soft_scene):
    s = soft_scene
    small = np.zeros((10, 13, 3))
    small[:, :, 2] = 1.0  # blue everywhere: stretching keeps it blue
    result = composite(s.foreground, s.alpha, small, fit="resize")
    outside = s.alpha == 0
    np.testing.assert_allclose(
        result[outside], np.broadcast_to([0, 0, 1.0], result[outside].shape), atol=1e-12
    )


def test_fit_crop_takes_the_centre(soft_scene):
    s = soft_scene
    h, w = s.alpha.shape
    big = np.random.default_rng(0).uniform(size=(h + 10, w + 7, 3))
    result = composite(s.foreground, s.alpha, big, fit="crop")
    expected_background = big[5 : 5 + h, 3 : 3 + w]
    outside = s.alpha == 0
    np.testing.assert_allclose(result[outside], expected_background[outside], atol=1e-12)


def test_fit_cover_keeps_aspect_ratio(soft_scene):
    """A wide background is scaled to the foreground's height and its centre kept."""
    s = soft_scene
    h, w = s.alpha.shape
    wide = np.zeros((h // 2, 4 * w, 3))
    wide[:, : 2 * w - w // 8] = 1.0  # white left part, black right part
    result = composite(np.zeros((h, w, 3)), np.zeros((h, w)), wide, fit="cover")
    # Scaled by 2 to (h, 8 w), the centre w columns start at 3.5 w and the white part ends
    # at 3.75 w: the first quarter of the composite is white, the rest black.
    assert result.shape == (h, w, 3)
    assert result[:, : w // 4 - 2].min() > 0.99
    assert result[:, w // 4 + 2 :].max() < 0.01


def test_fit_crop_refuses_small_background(soft_scene):
    s = soft_scene
    with pytest.raises(ValueError, match=r"smaller than the foreground's 40 x 52.*fit='cover'"):
        composite(s.foreground, s.alpha, np.zeros((30, 60, 3)), fit="crop")


def test_bad_fit_and_shapes(soft_scene):
    s = soft_scene
    with pytest.raises(ValueError, match="unknown fit 'stretch'"):
        composite(s.foreground, s.alpha, "white", fit="stretch")
    with pytest.raises(ValueError, match=r"alpha has shape \(39, 52\) but image has shape"):
        composite(s.foreground, s.alpha[:-1], "white")


def test_cutout_estimates_foreground(soft_scene):
    s = soft_scene
    rgba = cutout(s.image, s.alpha, method="ml")
    np.testing.assert_array_equal(rgba[:, :, :3], estimate_foreground(s.image, s.alpha))
    np.testing.assert_array_equal(rgba[:, :, 3], s.alpha)
    # Without a foreground or a method: the photograph's colours, as before.
    np.testing.assert_array_equal(cutout(s.image, s.alpha)[:, :, :3], s.image)
    with pytest.raises(ValueError, match="either foreground or method"):
        cutout(s.image, s.alpha, s.foreground, method="ml")


def test_estimated_foreground_composites_better_than_photo(soft_scene):
    """Over a new background the estimated foreground leaves less of the old one behind.

    Measured on this scene (mean error over the soft edge): photograph 0.035, "ml" 0.014.
    """
    s = soft_scene
    green = np.array([0.0, 1.0, 0.0])
    edge = (s.alpha > 0) & (s.alpha < 1)
    truth = composite(s.foreground, s.alpha, green)
    naive = np.abs(composite(s.image, s.alpha, green) - truth)[edge].mean()
    estimated = np.abs(composite(estimate_foreground(s.image, s.alpha), s.alpha, green) - truth)
    assert estimated[edge].mean() < 0.7 * naive


# --- command line -------------------------------------------------------------------------------


@pytest.fixture
def composite_files(tmp_path, soft_scene):
    image = write_png(tmp_path / "image.png", soft_scene.image)
    alpha = write_png(tmp_path / "alpha.png", soft_scene.alpha)
    background = write_png(
        tmp_path / "background.png", np.random.default_rng(1).uniform(size=(60, 90, 3))
    )
    return image, alpha, background


def _read(path) -> np.ndarray:
    with Image.open(path) as file:
        return np.asarray(file)


@pytest.mark.parametrize("fit", ["resize", "cover", "crop"])
def test_cli_composite_on_image(tmp_path, composite_files, soft_scene, capsys, fit):
    image, alpha, background = composite_files
    output = tmp_path / "out.png"
    code = main(
        [
            "composite",
            str(image),
            str(alpha),
            str(background),
            "-o",
            str(output),
            "--fit",
            fit,
            "-q",
        ]
    )
    assert code == 0, capsys.readouterr().err
    result = _read(output)
    assert result.shape == (40, 52, 3)
    # Well inside the foreground the composite is the photograph.
    inside = soft_scene.trimap == 1
    np.testing.assert_allclose(result[inside], _read(image)[inside], atol=1)


def test_cli_composite_on_colour(tmp_path, composite_files, soft_scene, capsys):
    image, alpha, _ = composite_files
    output = tmp_path / "out.png"
    code = main(["composite", str(image), str(alpha), "--color", "#00ff00", "-o", str(output)])
    assert code == 0, capsys.readouterr().err
    result = _read(output)
    a = _read(alpha)
    assert np.all(result[a == 0] == [0, 255, 0])


def test_cli_composite_memory_line_reads_as_a_sentence(tmp_path, composite_files, capsys):
    # It read "the foreground (method ml) and the composite needs about ...".
    image, alpha, _ = composite_files
    argv = ["composite", str(image), str(alpha), "--color", "#00ff00"]
    assert main([*argv, "-o", str(tmp_path / "out.png")]) == 0
    err = capsys.readouterr().err
    assert "the foreground (method ml) with the composite needs about" in err


def test_cli_composite_with_given_foreground(tmp_path, composite_files, capsys):
    image, alpha, _ = composite_files
    foreground = write_png(tmp_path / "fg.png", np.full((40, 52, 3), 0.2))
    output = tmp_path / "out.png"
    code = main(
        [
            "composite",
            str(image),
            str(alpha),
            "--color",
            "white",
            "--foreground",
            str(foreground),
            "-o",
            str(output),
            "-q",
        ]
    )
    assert code == 0, capsys.readouterr().err
    a = _read(alpha) / 255.0
    expected = np.round((a * 51 / 255 + (1 - a)) * 255)
    np.testing.assert_allclose(_read(output)[:, :, 0], expected, atol=1)


def test_cli_composite_bad_colour(tmp_path, composite_files, capsys):
    image, alpha, _ = composite_files
    output = tmp_path / "out.png"
    code = main(["composite", str(image), str(alpha), "--color", "#12345", "-o", str(output)])
    assert code == 2  # a usage error (tests/test_cli_exit_codes.py)
    err = capsys.readouterr().err
    assert "vecmatte: error: cannot read colour '#12345'" in err
    assert "Traceback" not in err
    assert not output.exists()


def test_cli_composite_shape_mismatch(tmp_path, composite_files, capsys):
    image, _, background = composite_files
    alpha = write_png(tmp_path / "small_alpha.png", np.zeros((30, 52)))
    output = tmp_path / "out.png"
    code = main(["composite", str(image), str(alpha), str(background), "-o", str(output)])
    assert code == 1
    assert "alpha has shape (30, 52) but" in capsys.readouterr().err
    assert not output.exists()


def test_cli_composite_crop_too_small(tmp_path, composite_files, capsys):
    image, alpha, _ = composite_files
    small = write_png(tmp_path / "small.png", np.zeros((20, 20, 3)))
    code = main(
        [
            "composite",
            str(image),
            str(alpha),
            str(small),
            "--fit",
            "crop",
            "-o",
            str(tmp_path / "out.png"),
        ]
    )
    assert code == 1
    assert "cannot be cropped to fit" in capsys.readouterr().err


@pytest.mark.parametrize("give", ["both", "neither"])
def test_cli_composite_needs_background_or_colour(tmp_path, composite_files, capsys, give):
    image, alpha, background = composite_files
    argv = ["composite", str(image), str(alpha)]
    if give == "both":
        argv += [str(background), "--color", "red"]
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "-o", str(tmp_path / "out.png")])
    assert exit_info.value.code == 2
    assert "give either BACKGROUND or --color" in capsys.readouterr().err


@pytest.mark.parametrize(("fit", "counted"), [("resize", True), ("cover", True), ("crop", False)])
def test_cli_composite_counts_a_background_resized_in_its_memory(
    tmp_path, composite_files, capsys, monkeypatch, fit, counted
):
    # A background of another size is filtered whole by skimage's resize (24 bytes a pixel
    # of it): a 24 MP photograph under a 1 MP image took 632 MB while the estimate said
    # 107 MB, so a machine short of memory was not told before the work. Cropping copies
    # nothing of it.
    import vecmatte.memory

    image, alpha, _ = composite_files
    background = write_png(tmp_path / "big.png", np.full((400, 600, 3), 0.5))
    foreground = write_png(tmp_path / "fg.png", np.full((40, 52, 3), 0.2))
    # more than the image's own terms, less than the background's 24 x 240,000 bytes
    monkeypatch.setattr(vecmatte.memory, "available_memory", lambda: 2**20)
    argv = ["composite", str(image), str(alpha), str(background), "--fit", fit]
    code = main([*argv, "--foreground", str(foreground), "-o", str(tmp_path / "out.png")])
    err = capsys.readouterr().err
    if counted:
        assert code == 1 and "needs about 5.7 MiB of memory but only 1.0 MiB" in err, err
        assert "give a background smaller than 400 x 600 pixels, downscale the image" in err
        assert not (tmp_path / "out.png").exists()
    else:
        assert code == 0, err
