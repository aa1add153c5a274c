"""Cutouts and composites from an alpha matte."""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from numpy.typing import DTypeLike

from vecmatte._arrays import (
    as_array,
    as_float,
    check_gray,
    check_image,
    check_pixel_count,
    check_same_size,
)
from vecmatte._caller import outside_stacklevel
from vecmatte._numbers import shown
from vecmatte._typing import ImageLike

__all__ = ["FITS", "composite", "composite_profile", "cutout", "parse_color"]

FITS = ("resize", "cover", "crop")
_FLOAT64 = np.dtype(np.float64)
_DTYPES = (_FLOAT64, np.dtype(np.uint8))  # of a cutout
# The bits of 1.0 read as uint64: the largest of a float64 in [0, 1] (see _checked_rgba).
_ONE_BITS = np.float64(1.0).view(np.uint64)


def cutout(
    image: ImageLike,
    alpha: ImageLike,
    foreground: ImageLike | None = None,
    *,
    method: str | None = None,
    dtype: DTypeLike = np.float64,
) -> np.ndarray:
    """RGBA cutout: the foreground colours with alpha as the fourth channel.

    Parameters
    ----------
    image : array_like, shape (h, w, 3)
        The photograph, floats in [0, 1] or uint8/uint16. With ``foreground`` given, only
        its size is used: its shape and dtype are checked, its values are not read.
    alpha : array_like, shape (h, w)
        Alpha matte in [0, 1].
    foreground : array_like, shape (h, w, 3), optional
        Estimated foreground colours (see :func:`vecmatte.estimate_foreground`).
    method : {"ml", "cf", "blur_fusion"}, optional
        When ``foreground`` is not given, estimate it with this method. With neither, the
        photograph's colours are used, which keep some of the old background in
        semi-transparent pixels.
    dtype : {np.float64, np.uint8}, optional
        Float64 values in [0, 1], or the 8-bit levels ``round(255 x)`` a file holds, filled
        a block of rows at a time (a 10 MP cutout in 40 MB instead of 320 MB plus the
        temporaries of a later conversion).

    Returns
    -------
    ndarray, shape (h, w, 4)
        RGBA (straight, not premultiplied, alpha) of ``dtype``.

    Examples
    --------
    >>> from vecmatte import cutout, make_scene
    >>> scene = make_scene((60, 80), seed=0)
    >>> cutout(scene.image, scene.alpha, method="ml").shape
    (60, 80, 4)
    """
    try:
        wanted = _FLOAT64 if dtype is np.float64 else np.dtype(dtype)
    except TypeError:  # np.dtype("foo") says "data type 'foo' not understood", not whose
        wanted = None
    # "is None" first: np.dtype("float64") == None is True (None means float64 to NumPy).
    if wanted is None or wanted not in _DTYPES:
        given = shown(dtype) if wanted is None else str(wanted)
        raise ValueError(f"cutout dtype must be np.float64 or np.uint8, not {given}")
    dtype = wanted
    if foreground is None or method is not None:
        image = check_image(image)
    else:
        image = _image_of_shape(image)
        if dtype == _FLOAT64:
            rgba = _checked_rgba(image, alpha, foreground)
            if rgba is not None:
                return rgba
    alpha = check_gray(alpha, "alpha")
    check_same_size(image, alpha, "alpha")
    if foreground is not None and method is not None:
        raise ValueError("give either foreground or method, not both")
    if foreground is None and method is not None:
        from vecmatte.foreground import estimate_foreground

        colours = estimate_foreground(image, alpha, method=method)
    else:
        colours = image if foreground is None else check_image(foreground, "foreground")
    check_same_size(image, colours, "foreground")
    if dtype == np.uint8:
        from vecmatte.io import floats_to_uint8

        rgba = np.empty((*alpha.shape, 4), dtype=np.uint8)
        floats_to_uint8(colours, out=rgba[:, :, :3])
        floats_to_uint8(alpha, out=rgba[:, :, 3])
        return rgba
    return np.concatenate([colours, alpha[:, :, None]], axis=2)


def _checked_rgba(image: np.ndarray, alpha, foreground) -> np.ndarray | None:
    """The float64 cutout of float arrays ``foreground`` and ``alpha`` of ``image``'s size,
    or None where :func:`cutout`'s checks must say what is wrong (or convert the values).

    Each block of rows is copied into the output and checked while it is still in cache:
    one pass over memory instead of a check of each input and a concatenation (1.3-1.5x
    PyMatting's stack_images before). A NaN or a value beyond [0, 1] returns None, and the
    checks then name the array as before.
    """
    if type(alpha) is not np.ndarray or type(foreground) is not np.ndarray:
        return None  # PIL images, masked arrays, lists: converted and checked as before
    if alpha.ndim == 3 and alpha.shape[2] == 1:
        alpha = alpha[:, :, 0]
    h, w = image.shape[:2]
    if (
        alpha.shape != (h, w)
        or foreground.shape != (h, w, 3)
        or alpha.dtype.kind != "f"
        or foreground.dtype.kind != "f"
    ):
        return None
    rgba = np.empty((h, w, 4))
    # The bits of a float64 in [0, 1] read as uint64 are at most those of 1.0; a negative
    # value, -0.0 included (then checked as before), a NaN or an infinity reads higher: one
    # max instead of a min and a max.
    bits = rgba.view(np.uint64)
    # About 256 KiB of output a block, so that its max reads it from L2.
    rows = max(1, 2**18 // (32 * w))
    for top in range(0, h, rows):
        block = slice(top, top + rows)
        # Channel by channel: one long strided loop each, instead of NumPy's 3-value inner
        # loops for a (rows, w, 3) copy (0.45x the time at 128 x 128, 0.6x at 512 x 512).
        for channel in range(3):
            rgba[block, :, channel] = foreground[block, :, channel]
        rgba[block, :, 3] = alpha[block]
        if np.maximum.reduce(bits[block], axis=None) > _ONE_BITS:
            return None
    return rgba


def _image_of_shape(image) -> np.ndarray:
    """``image`` as an array whose shape and dtype :func:`check_image` takes, its values not
    read: beside a given foreground only the photograph's size counts.

    Its min/max pass (and a uint8/uint16 image's conversion to floats) was an eighth of a
    cutout's time (1.9 of 14.9 ms on 1 MP). A shape, size or dtype it refuses still names
    a wrong argument (a file name, RGBA, channels first, signed levels); a NaN or a value
    beyond [0, 1] in pixels that never reach the cutout harms nothing: not looked for.
    """
    if type(image) is np.ndarray and image.dtype.kind == "f" and image.shape[2:] == (3,):
        # A float array of 3 channels (what a program passes): the conversions and dtype
        # checks below took more time than a 32 x 32 cutout.
        check_pixel_count(image.shape, "image")
        return image
    array = as_array(image, "image", gray=False)
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (1, 3))):
        check_image(image)  # raises its message, with its hints, for this shape
    check_pixel_count(array.shape, "image")
    as_float(array[:0], "image")  # the dtype's check, on no pixels
    return array


def parse_color(color) -> np.ndarray:
    """An RGB colour as three floats in [0, 1].

    Parameters
    ----------
    color : str or sequence of 3 floats
        ``"#00ff00"``, ``"#0f0"``, ``"rgb(0, 255, 0)"``, a CSS name such as ``"green"``
        (anything Pillow's ``ImageColor`` reads), or three floats in [0, 1].

    Returns
    -------
    ndarray, shape (3,)
        Red, green and blue, float64 in [0, 1].

    Raises
    ------
    ValueError
        If the string is not a colour (or a translucent one, with an alpha below 255), or
        the floats are not three values in [0, 1].
    """
    if isinstance(color, str):
        from PIL import ImageColor

        try:
            rgb = ImageColor.getrgb(color.strip())
        except ValueError:
            raise ValueError(
                f"cannot read colour {shown(color)}; use '#rrggbb' (e.g. '#00ff00'), "
                "'rgb(0, 255, 0)' or a name such as 'green'"
            ) from None
        if max(rgb[:3]) > 255:
            raise ValueError(
                f"cannot read colour {shown(color)}: red, green and blue must lie in 0 ... 255"
            )
        if len(rgb) == 4 and rgb[3] != 255:
            raise ValueError(
                f"colour {shown(color)} is translucent (alpha {rgb[3]} of 255); a composite's "
                "background is opaque: give an opaque colour (or write a cutout, which keeps "
                "the transparency)"
            )
        return np.asarray(rgb[:3], dtype=np.float64) / 255.0
    refused = ValueError(
        f"colour {shown(color)} must be a string like '#00ff00' or three floats in [0, 1]"
    )
    try:  # bytes, a dict ...: NumPy's or float()'s own words named neither colour nor form
        rgb = np.asarray(color, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int beyond floats
        raise refused from None
    if rgb.shape != (3,) or not np.all(np.isfinite(rgb)) or rgb.min() < 0 or rgb.max() > 1:
        raise refused
    return rgb


def _names_a_file(background) -> bool:
    """Whether ``background`` is a path to an image rather than a colour name."""
    if isinstance(background, os.PathLike):
        return True
    from vecmatte.io import IMAGE_EXTENSIONS

    path = Path(background)
    return path.suffix.lower() in IMAGE_EXTENSIONS or path.is_file()


def _fit_background(background: np.ndarray, shape: tuple[int, int], fit: str) -> np.ndarray:
    """Bring ``background`` to ``shape`` by stretching, scaling and cropping, or cropping."""
    h, w = shape
    bh, bw = background.shape[:2]
    if (bh, bw) == (h, w):
        return background
    if fit == "crop":
        if bh < h or bw < w:
            raise ValueError(
                f"background of {bh} x {bw} pixels (height x width) is smaller than the "
                f"foreground's {h} x {w}; it cannot be cropped to fit: use fit='cover' or "
                "fit='resize'"
            )
    else:
        from skimage.transform import resize

        if fit == "cover":
            scale = max(h / bh, w / bw)
            target = (max(h, round(bh * scale)), max(w, round(bw * scale)))
            if target[0] >= bh and target[1] >= bw:
                return _enlarged_centre(background, target, shape)
        else:
            target = (h, w)
        background = np.clip(resize(background, (*target, 3), anti_aliasing=True), 0.0, 1.0)
        bh, bw = target
    top, left = (bh - h) // 2, (bw - w) // 2
    return background[top : top + h, left : left + w]


def _enlarged_centre(
    background: np.ndarray, target: tuple[int, int], shape: tuple[int, int]
) -> np.ndarray:
    """The centre ``shape`` of ``background`` enlarged to ``target``, computed for it alone.

    The pixels of ``resize(background, target, anti_aliasing=True)`` (skimage) cropped to
    the centre, bit for bit: enlarging, skimage filters nothing and samples output pixel
    ``i`` at input ``(i + 0.5) * in / out - 0.5``, bilinearly, mirrored at the edges
    (``scipy.ndimage.zoom``, mode "mirror"). Enlarged whole, a 200 x 20000 background under
    a 1000 x 1000 foreground took 2.4 GB (1000 x 100000 pixels) to keep 24 MB of it.
    """
    from scipy import ndimage

    (h, w), (bh, bw), (th, tw) = shape, background.shape[:2], target
    top, left = (th - h) // 2, (tw - w) // 2
    rows = (np.arange(top, top + h) + 0.5) * (bh / th) - 0.5
    columns = (np.arange(left, left + w) + 0.5) * (bw / tw) - 0.5
    grid = np.meshgrid(rows, columns, indexing="ij")
    centre = np.stack(
        [
            ndimage.map_coordinates(background[:, :, channel], grid, order=1, mode="mirror")
            for channel in range(3)
        ],
        axis=2,
    )
    return np.clip(centre, 0.0, 1.0)


def composite(
    foreground: ImageLike,
    alpha: ImageLike,
    background: ImageLike | str | os.PathLike[str],
    *,
    fit: str = "resize",
) -> np.ndarray:
    """Place a foreground over a new background: ``alpha F + (1 - alpha) B``.

    Parameters
    ----------
    foreground : array_like, shape (h, w, 3)
        Foreground colours, ideally estimated (:func:`vecmatte.estimate_foreground`); the
        photograph itself works but leaves a fringe of its old background in soft edges.
    alpha : array_like, shape (h, w)
        Alpha matte in [0, 1].
    background : array_like of shape (H, W, 3), str, path, or 3 floats
        A new background image of any size, the path of one (a string ending in an image
        extension, or naming an existing file), or a colour (see :func:`parse_color`).
    fit : {"resize", "cover", "crop"}, optional
        How a background image of another size is brought to (h, w): ``"resize"`` stretches
        it, ``"cover"`` scales it keeping its aspect ratio until it covers the foreground and
        crops the centre, ``"crop"`` takes the centre without scaling (the background must be
        at least h x w).

    Returns
    -------
    ndarray, shape (h, w, 3)
        Float64 RGB in [0, 1].

    Raises
    ------
    ValueError
        If the shapes disagree, the colour cannot be read, ``fit`` is unknown, or
        ``fit="crop"`` with a background smaller than the foreground.

    Examples
    --------
    >>> from vecmatte import composite, make_scene
    >>> scene = make_scene((60, 80), seed=0)
    >>> composite(scene.foreground, scene.alpha, "#00ff00").shape
    (60, 80, 3)
    """
    foreground = check_image(foreground, "foreground")
    alpha = check_gray(alpha, "alpha")
    check_same_size(foreground, alpha, "alpha")
    # A text first: an array compared with each name raised NumPy's "truth value ... is
    # ambiguous" (or, of one element, passed as that name).
    if not isinstance(fit, str) or fit not in FITS:
        raise ValueError(f"unknown fit {shown(fit)}; choose one of {', '.join(FITS)}")
    if isinstance(background, (str, os.PathLike)) and _names_a_file(background):
        from vecmatte.io import load_image

        background = load_image(background)
    if isinstance(background, str) or np.ndim(background) == 1:
        new = np.broadcast_to(parse_color(background), foreground.shape)
    else:
        new = _fit_background(check_image(background, "background"), alpha.shape, fit)
    a = alpha[:, :, None]
    return a * foreground + (1 - a) * new


def composite_profile(photo: bytes | None, background: bytes | None = None) -> bytes | None:
    """The colour (ICC) profile to embed in a composite of a photograph over a background.

    A Display P3 photograph's composite written without its profile was shown paler than
    the cutout of ``vecmatte alpha``, which carries it.

    Parameters
    ----------
    photo : bytes or None
        The photograph's RGB profile (:func:`vecmatte.io.colour_profile`), or None (its
        values are taken for sRGB, as viewers take them).
    background : bytes or None, optional
        The background image's, or None (no profile, or a solid colour).

    Returns
    -------
    bytes or None
        ``photo`` if the background has no profile or one of the same colour space (its
        colours map onto themselves, within an 8-bit level); else None, with a
        :class:`vecmatte.io.ColourProfileWarning`: ``alpha F + (1 - alpha) B`` mixed
        values of two colour spaces as stored, and neither profile describes the result.
    """
    from vecmatte._profiles import ColourProfileWarning

    if background is None or _same_colour_space(photo, background):
        return photo
    warnings.warn(
        "the photograph and the background are in different colour spaces (their ICC "
        "profiles differ): their values were mixed as stored, and the composite is "
        "written without a colour profile; convert the background to the photograph's "
        "colour space first to keep its colours",
        ColourProfileWarning,
        stacklevel=outside_stacklevel(),
    )
    return None


def _same_colour_space(first: bytes | None, second: bytes) -> bool:
    """Whether ``first``'s RGB colours (None: sRGB's) are ``second``'s: a grid of 729
    colours mapped from one to the other (LittleCMS, relative colorimetric) moves none by
    more than a level. Profiles of one space differ in their bytes (descriptions, dates,
    makers); a photograph without one over a background in sRGB was warned of two spaces."""
    if first == second:
        return True
    try:
        from PIL import Image, ImageCms

        transform = ImageCms.buildTransform(
            ImageCms.ImageCmsProfile(
                ImageCms.createProfile("sRGB") if first is None else io.BytesIO(first)
            ),
            ImageCms.ImageCmsProfile(io.BytesIO(second)),
            "RGB",
            "RGB",
        )
        levels = np.linspace(0, 255, 9).round().astype(np.uint8)
        grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1)
        grid = np.ascontiguousarray(grid.reshape(27, 27, 3))
        mapped = np.asarray(ImageCms.applyTransform(Image.fromarray(grid), transform))
    except Exception:  # no LittleCMS, or a profile it cannot read: only equal bytes are one
        return False
    return int(np.abs(mapped.astype(np.int16) - grid).max()) <= 1
