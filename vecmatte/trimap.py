"""Trimaps: checking them and splitting them into foreground, background and unknown."""

from __future__ import annotations

import numpy as np

from vecmatte._arrays import as_array, as_float, check_finite, check_gray
from vecmatte._numbers import finite_number
from vecmatte._typing import ImageLike
from vecmatte._validation import check_band

__all__ = [
    "check_known_pixels",
    "check_trimap",
    "coloured_fraction",
    "scribbles_to_trimap",
    "trimap_from_mask",
    "trimap_split",
]

FOREGROUND_THRESHOLD = 0.9
BACKGROUND_THRESHOLD = 0.1


# A gray image saved as RGB JPEG keeps its channels equal up to a few levels, and chroma
# subsampling smears colour only along sharp edges: a pixel whose channels differ by more than
# _CHANNEL_SPREAD counts as coloured, and a map with more than _COLOURED_FRACTION of them is
# refused (it is a photograph or a colour drawing, not a trimap).
_CHANNEL_SPREAD = 0.1
_COLOURED_FRACTION = 0.01


_GRAY_MEANING = {
    "trimap": "(white foreground, black background, gray unknown)",
    "mask": "(white foreground, black background)",
}


def _coloured_share(rgb: np.ndarray) -> float:
    """Fraction of the pixels of float ``rgb`` whose channels differ by more than the noise."""
    with np.errstate(invalid="ignore"):  # inf - inf: NaN, not counted (and no RuntimeWarning)
        spread = rgb.max(axis=2) - rgb.min(axis=2)
    return np.count_nonzero(spread > _CHANNEL_SPREAD) / max(spread.size, 1)


def _looks_like_a_photograph(rgb: np.ndarray) -> bool:
    """Whether float ``rgb`` has more distinct colours than a drawn or palette map.

    A label map or a trimap drawn in colour has a few flat colours (a palette PNG at most
    256); a photograph, or the synthetic demo composite, has hundreds among a few thousand
    pixels. Counted on at most about 4096 pixels spread over the image.
    """
    flat = rgb.reshape(-1, 3)
    sample = flat[:: max(len(flat) // 4096, 1)]
    levels = np.round(np.clip(sample, 0.0, 1.0) * 255).astype(np.int64)  # finite: checked
    codes = (levels[:, 0] << 16) | (levels[:, 1] << 8) | levels[:, 2]
    return len(np.unique(codes)) > min(256, len(codes) // 4)


def coloured_fraction(array) -> float:
    """Share of an RGB(A) map's pixels in colour, beyond :func:`check_trimap`'s tolerance.

    0 when the map counts as gray (up to compression noise), else the fraction of its
    pixels whose channels differ by more than 0.1 (more than 1% of them).

    Parameters
    ----------
    array : ndarray, shape (h, w, 3) or (h, w, 4)
        The map, floats in [0, 1].

    Returns
    -------
    float
        The fraction, from 0 to 1.
    """
    share = _coloured_share(as_float(np.asarray(array)[:, :, :3], "map"))
    return share if share > _COLOURED_FRACTION else 0.0


def _gray_map(array, name: str) -> np.ndarray:
    """An ``(h, w)`` map from gray, RGB or RGBA data (alpha ignored), checked for colour."""
    array = as_array(array, name, gray=True)
    if array.ndim == 3 and array.shape[2] in (3, 4):
        rgb = as_float(array[:, :, :3], name)
        if rgb.size:  # NaN or an infinity is named as such, not as colour (or gray)
            check_finite(rgb, name)
        share = _coloured_share(rgb)
        if share > _COLOURED_FRACTION:
            swapped = name == "trimap" and _looks_like_a_photograph(rgb)
            raise ValueError(
                f"{name} is in colour: {100 * share:.1f}% of its pixels have "
                f"channels that differ by more than {_CHANNEL_SPREAD}; it must be gray "
                + _GRAY_MEANING.get(name, "(was the photograph given in its place?)")
                + (" (image and trimap swapped? the photograph comes first)" if swapped else "")
            )
        array = rgb.mean(axis=2)
        # The mean of three equal floats may be one bit off them: a matte saved as RGB read
        # 1e-17 from itself (eval's SAD 4.95e-18 for identical files). Gray pixels keep theirs.
        gray = (rgb[:, :, 0] == rgb[:, :, 1]) & (rgb[:, :, 0] == rgb[:, :, 2])
        array[gray] = rgb[:, :, 0][gray]
    return check_gray(array, name)


def check_trimap(
    trimap, shape: tuple[int, int] | None = None, *, name: str = "trimap"
) -> np.ndarray:
    """Return ``trimap`` as a float64 ``(h, w)`` array in [0, 1].

    Parameters
    ----------
    trimap : array_like, shape (h, w), (h, w, 1), (h, w, 3) or (h, w, 4)
        Floats in [0, 1], bool, or uint8/uint16 (scaled by their dtype's range). RGB and RGBA
        trimaps must be gray up to compression noise (pixels whose channels differ by more
        than 0.1 may make up at most 1% of the image); their channels are averaged and the
        alpha channel is ignored.
    shape : tuple, optional
        Shape of the image the trimap belongs to.
    name : str, optional
        What the map is, for messages ("alpha", "mask" ...).

    Returns
    -------
    ndarray, shape (h, w)
        The values are not snapped: :func:`trimap_split` reads ``> 0.9`` as foreground and
        ``< 0.1`` as background, which absorbs JPEG noise around 0 and 1.
    """
    array = _gray_map(trimap, name)
    if shape is not None and array.shape != tuple(shape[:2]):
        turned = array.shape == tuple(shape[:2])[::-1]
        raise ValueError(
            f"{name} has shape {array.shape} but image has shape {tuple(shape[:2])}; "
            "they must have the same height and width"
            + (
                f" (one of them is turned by 90 degrees: was the {name} made from the photo "
                "without its EXIF orientation? load_image applies it, a PIL image from "
                "Image.open does not: PIL.ImageOps.exif_transpose(image) does)"
                if turned
                else ""
            )
        )
    return array


def check_known_pixels(trimap: np.ndarray) -> None:
    """Refuse a [0, 1] trimap without foreground or without background pixels (ValueError).

    The solve refuses the same with the same message; a command checks it when it reads the
    file, so that the message names the file.

    Parameters
    ----------
    trimap : ndarray, shape (h, w)
        The trimap, floats in [0, 1].
    """
    is_fg, is_bg, _ = split_checked(trimap)
    if not is_fg.any():
        high = float(np.max(trimap, initial=0.0))
        # Datasets often store class labels (0, 1, 2 or 0, 1): read as 8 bits, all black.
        labels = (
            f"; its largest value is {round(high * 255)} of 255: is it an image of class "
            "labels (0, 1, 2)? A trimap is white (255) foreground, black (0) background and "
            "gray (128) unknown"
            if 0 < high <= 4 / 255
            else ""
        )
        raise ValueError(
            "trimap has no foreground pixels (values > 0.9); mark some in white" + labels
        )
    if not is_bg.any():
        raise ValueError("trimap has no background pixels (values < 0.1); mark some in black")


def trimap_split(trimap: ImageLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boolean masks ``(foreground, background, unknown)`` of a trimap.

    Foreground is ``> 0.9``, background ``< 0.1``, everything else unknown (after scaling
    integer trimaps by their dtype's range); the thresholds also absorb JPEG noise around 0
    and 1. No class needs to be present. (The PyMatting shim's
    ``vecmatte.compat.pymatting.trimap_split`` is PyMatting's: four flat masks ``(is_fg,
    is_bg, is_known, is_unknown)``, inclusive thresholds, and an error when a class is empty.)

    Parameters
    ----------
    trimap : array_like, shape (h, w)
        Anything :func:`check_trimap` takes: floats in [0, 1], bool, uint8/uint16 (a uint8
        trimap's 128 is unknown, not foreground), ``(h, w, 1)``, gray RGB(A), a PIL image.

    Returns
    -------
    is_fg, is_bg, is_unknown : ndarray of bool, shape (h, w)

    Raises
    ------
    ValueError
        If ``trimap`` is not one: NaN, values outside [0, 1], signed integers, another shape.

    Examples
    --------
    >>> import numpy as np
    >>> is_fg, is_bg, is_unknown = trimap_split(np.array([[0, 128, 255]], dtype=np.uint8))
    >>> is_fg.tolist(), is_bg.tolist(), is_unknown.tolist()
    ([[False, False, True]], [[True, False, False]], [[False, True, False]])
    """
    return split_checked(check_trimap(trimap))


def split_checked(trimap: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`trimap_split` of a trimap :func:`check_trimap` has already returned.

    For the pipeline and the metrics, which check the trimap once themselves; compared with
    the thresholds as it is (a uint8 trimap here would read 128 as foreground).
    """
    is_fg = trimap > FOREGROUND_THRESHOLD
    is_bg = trimap < BACKGROUND_THRESHOLD
    return is_fg, is_bg, ~(is_fg | is_bg)


def trimap_from_mask(mask: ImageLike, *, band: int = 10) -> np.ndarray:
    """A trimap from a rough binary or soft mask, with an unknown band along its edge.

    Parameters
    ----------
    mask : array_like, shape (h, w) (or gray RGB/RGBA)
        Foreground where ``> 0.5``: bool, floats in [0, 1] or uint8/uint16 (scaled by their
        range), for example the output of a segmentation model.
    band : int, optional
        Width in pixels of the unknown region on each side of the mask's edge (so the band
        is about ``2 * band`` pixels wide). Soft mask values between 0.1 and 0.9 are unknown
        as well.

    Returns
    -------
    ndarray, shape (h, w)
        1 (foreground) where the mask is foreground farther than ``band`` pixels from its
        edge, 0 (background) likewise, 0.5 (unknown) elsewhere.

    Raises
    ------
    ValueError
        If the mask has no foreground or no background, or if either vanishes once the
        band is taken out (then use a smaller band) or once its soft values are (then
        threshold the mask at 0.5 first).

    Notes
    -----
    Isotropic erosion and dilation of scikit-image (exact Euclidean distances, so the band
    has the same width in every direction whatever its size).

    Examples
    --------
    >>> import numpy as np
    >>> mask = np.zeros((40, 40), bool)
    >>> mask[10:30, 10:30] = True
    >>> trimap = trimap_from_mask(mask, band=3)
    >>> sorted(np.unique(trimap).tolist())
    [0.0, 0.5, 1.0]
    """
    from skimage.morphology import isotropic_dilation, isotropic_erosion

    band = check_band(band)
    mask = _gray_map(mask, "mask")
    foreground = mask > 0.5
    if not foreground.any():
        high = float(mask.max())
        # 8- and 16-bit levels are scaled by their range: labels 0 and 1 are nearly black.
        if high in (1 / 255, 1 / 65535):
            # Scaled to its own dtype's top: 255 in a 16-bit mask still reads as 0.004.
            top = round(1 / high)
            detail = (
                f"its largest value is 1 of {top}: a label image of 0 and 1? "
                f"give mask > 0, or scale it to 0 and {top}"
            )
        else:
            detail = f"no value above 0.5 of 1; its largest is {high:.4g}"
        raise ValueError(f"mask has no foreground ({detail})")
    if foreground.all():
        raise ValueError("mask has no background (every value > 0.5)")
    # Beyond the image's height + width (more than its diagonal) a band takes out every
    # pixel alike; skimage cannot take a radius of 10**400 (OverflowError).
    reach = min(band, mask.shape[0] + mask.shape[1])
    sure_fg = isotropic_erosion(foreground, reach)
    sure_bg = ~isotropic_dilation(foreground, reach)
    soft = (mask >= BACKGROUND_THRESHOLD) & (mask <= FOREGROUND_THRESHOLD)
    trimap = np.full(mask.shape, 0.5)
    trimap[sure_fg & ~soft] = 1.0
    trimap[sure_bg & ~soft] = 0.0
    for value, what, sure in ((1.0, "foreground", sure_fg), (0.0, "background", sure_bg)):
        if not (trimap == value).any():
            if sure.any():
                # A smaller band cannot help: a model's 0.15 / 0.85 said "use a smaller band"
                # even at band 1.
                raise ValueError(
                    f"no sure {what} is left: its pixels beyond the band of {band} all have "
                    f"soft values between {BACKGROUND_THRESHOLD} and {FOREGROUND_THRESHOLD}, "
                    "which are unknown; threshold the mask at 0.5 first to have only the band "
                    "unknown"
                )
            raise ValueError(
                f"no sure {what} is left once a band of {band} pixels is taken out along the "
                "mask's edge; use a smaller band"
            )
    return trimap


# A scribbled image counts as "the photograph with strokes on it" when at least this fraction of
# its pixels equal the photograph's; otherwise it is read as a plain stroke mask.
_SCRIBBLED_SAME_FRACTION = 0.5


def _snap(foreground: np.ndarray, background: np.ndarray, what: str) -> np.ndarray:
    if not foreground.any():
        raise ValueError(f"no foreground (white) strokes in the {what}; draw some in white")
    if not background.any():
        raise ValueError(f"no background (black) strokes in the {what}; draw some in black")
    trimap = np.full(foreground.shape, 0.5)
    trimap[foreground] = 1.0
    trimap[background] = 0.0
    return trimap


def _level(dtype: np.dtype) -> float:
    """One level of an unsigned integer dtype in [0, 1] units (0 for floats and bool)."""
    if np.issubdtype(dtype, np.unsignedinteger):
        return 1.0 / np.iinfo(dtype).max
    return 0.0


def scribbles_to_trimap(
    image: ImageLike, scribbled: ImageLike, *, tolerance: float = 1e-3
) -> np.ndarray:
    """A trimap (1 foreground, 0 background, 0.5 unknown) from scribbles.

    Parameters
    ----------
    image : array_like, shape (h, w, 3)
        The photograph.
    scribbled : array_like, shape (h, w, 3) or (h, w)
        Either the photograph with strokes drawn on it (the convention of Levin et al.'s
        code): every pixel that differs from ``image`` by more than ``tolerance`` in some
        channel is a stroke, white (brightness > 0.9) for foreground and black (< 0.1) for
        background; or a plain stroke mask: white and black strokes on any gray (a 2-D array,
        or an RGB image that differs from the photograph on more than half its pixels).
    tolerance : float, optional
        Largest channel difference (in [0, 1] units) still counted as "unchanged". Keep it
        small: save scribbled images losslessly (PNG), since JPEG changes every pixel. When
        one of ``image`` and ``scribbled`` is stored with coarser levels than the other (a
        float photograph, a uint8 scribbled copy), at least one level of the coarser is
        allowed (1/255 for uint8), so that its rounding is not read as strokes.

    Returns
    -------
    ndarray, shape (h, w)
        Float64 trimap of 0, 0.5 and 1 for :func:`vecmatte.estimate_alpha`.

    Raises
    ------
    ValueError
        If the shapes differ, the mask is in colour, or there are no white or no black strokes.

    Notes
    -----
    Stroke pixels of intermediate brightness (anti-aliased stroke edges, coloured marks) stay
    unknown rather than being forced to 0 or 1: a wrong hard constraint would spoil the matte,
    a missing one costs nothing. With scribbles nearly every pixel is unknown, so the solver
    has far more work than with a trimap.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.full((4, 4, 3), 0.5)
    >>> scribbled = image.copy()
    >>> scribbled[0, 0] = 1.0  # a white dot: foreground
    >>> scribbled[3, 3] = 0.0  # a black dot: background
    >>> scribbles_to_trimap(image, scribbled)[[0, 1, 3], [0, 1, 3]].tolist()
    [1.0, 0.5, 0.0]
    """
    from vecmatte._arrays import check_image

    photo = as_array(image, "image", gray=False)
    image = check_image(photo)
    tolerance = finite_number(tolerance, "tolerance", "in [0, 1)", minimum=0.0)
    if tolerance >= 1:
        raise ValueError(f"tolerance must be in [0, 1), got {tolerance!r}")
    array = as_array(scribbled, "scribbled", gray=False)
    if array.ndim == 3 and array.shape[2] in (3, 4):
        strokes = check_image(array[:, :, :3], "scribbled image")
        if strokes.shape != image.shape:
            raise ValueError(
                f"scribbled image has shape {strokes.shape[:2]} but image has shape "
                f"{image.shape[:2]}; they must have the same height and width"
            )
        # A float photograph and its scribbled copy saved as 8 bits differ by up to half a
        # level on every pixel (0.002 > the default tolerance): all of it would be a stroke.
        steps = {_level(photo.dtype), _level(array.dtype)}
        if len(steps) > 1:
            tolerance = max(tolerance, *steps)
        differs = np.abs(strokes - image).max(axis=2) > tolerance
        if np.count_nonzero(~differs) >= _SCRIBBLED_SAME_FRACTION * differs.size:
            if not differs.any():
                raise ValueError(
                    "scribbled image is identical to the photograph: draw white strokes on "
                    "the foreground and black strokes on the background"
                )
            brightness = strokes.mean(axis=2)
            return _snap(
                differs & (brightness > FOREGROUND_THRESHOLD),
                differs & (brightness < BACKGROUND_THRESHOLD),
                "scribbled image",
            )
    mask = _gray_map(array, "scribble mask")
    if mask.shape != image.shape[:2]:
        raise ValueError(
            f"scribble mask has shape {mask.shape} but image has shape {image.shape[:2]}; "
            "they must have the same height and width"
        )
    return _snap(mask > FOREGROUND_THRESHOLD, mask < BACKGROUND_THRESHOLD, "scribble mask")
