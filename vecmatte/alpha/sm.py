"""Shared matting (Gastal and Oliveira 2010): alpha from sampled colour pairs, no linear system.

The steps live in :mod:`vecmatte.alpha._trimap_expansion`,
:mod:`vecmatte.alpha._sample_gathering` and :mod:`vecmatte.alpha._sample_refinement`; this
module checks the options, strings the steps together and tells the pipeline how much memory
they need.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from vecmatte._numbers import finite_number, shown, whole_number
from vecmatte._validation import check_radius_fits
from vecmatte.alpha import _sample_gathering as gathering
from vecmatte.alpha import _sample_refinement as refinement
from vecmatte.alpha import _shared_sampling as common
from vecmatte.alpha import _trimap_expansion as expansion

__all__ = ["SharedMatting", "check_options", "estimate", "memory_bytes", "shared_matting"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SharedMatting:
    """Result of :func:`shared_matting`.

    Attributes
    ----------
    alpha : ndarray, float64, shape (h, w)
        The matte; pixels that the trimap expansion labelled are 0 or 1.
    foreground, background : ndarray, float64, shape (h, w, 3)
        The colour pair of each pixel (known pixels: their colour and the mean colour of the
        other side).
    """

    alpha: np.ndarray
    foreground: np.ndarray
    background: np.ndarray


def check_options(shape: tuple[int, int], **options) -> dict:
    """Range-check the options of :func:`estimate`; ``ValueError`` naming the first bad one.

    Parameters
    ----------
    shape : tuple of int
        The image's shape, for the ranges that depend on its size.
    **options
        The method's options, as given.

    Returns
    -------
    dict
        ``options`` with the checked ones in the form the solve uses.
    """
    for name in (
        "expansion_radius",
        "distortion_radius",
        "refinement_radius",
        "smoothing_radius",
        "confidence_radius",
        "low_frequency_radius",
    ):
        if name in options:
            value = whole_number(options[name], name, "an integer >= 0")
            options[name] = check_radius_fits(value, name, shape, options[name])
    if "rays" in options:
        options["rays"] = whole_number(options["rays"], "rays", "an integer >= 1", minimum=1)
        if options["rays"] > shape[0] * shape[1]:
            # Each ray brings at most one foreground and one background pixel: more rays than
            # pixels only repeat samples (10**400 overflowed the memory estimate).
            raise ValueError(
                f"rays must be at most the image's pixel count ({shape[0]} x {shape[1]}), "
                f"got {shown(options['rays'])}"
            )
    if "expansion_threshold" in options:
        # A negative threshold expands nothing, as 0 does: it is a typo, not a setting.
        options["expansion_threshold"] = finite_number(
            options["expansion_threshold"],
            "expansion_threshold",
            "a finite number >= 0 (0 turns the expansion off)",
            minimum=0,
        )
        # Colours lie in [0, 1]^3, so no two differ by more than sqrt(3): every threshold
        # from 2 up expands the same pixels (bit for bit), and 1e300 overflowed the float32
        # comparisons and the squared threshold.
        options["expansion_threshold"] = min(options["expansion_threshold"], 2.0)
    if "cost_exponents" in options:
        value = options["cost_exponents"]
        wanted = (
            "four finite numbers >= 0 (distortion, probability, foreground distance, "
            "background distance)"
        )
        # float() of each entry took "3" as a number, and a text of four digits as four.
        one_dimensional = isinstance(value, np.ndarray) and value.ndim == 1
        entries = list(value) if isinstance(value, (list, tuple)) or one_dimensional else []
        if len(entries) != 4:
            raise ValueError(f"cost_exponents must be {wanted}, got {value!r}")
        for entry in entries:
            finite_number(entry, "cost_exponents", wanted, minimum=0)
        options["cost_exponents"] = tuple(float(e) for e in entries)
        if max(options["cost_exponents"]) > LARGEST_COST_EXPONENT:
            # The costs are sums of exponent * log(term) in float32 (about 7 digits): a larger
            # exponent drowns the other terms as 1e6 already does, and 1e300 overflowed the
            # float32 cast of the exponents.
            raise ValueError(
                f"cost_exponents must be at most {LARGEST_COST_EXPONENT:g}: the costs are "
                f"float32 sums of exponent * log(term), which a larger exponent overflows or "
                f"leaves to its own term alone, got {value!r}"
            )
    for name in ("smoothing_sigma_sq", "confidence_sigma_sq", "low_frequency_sigma_sq"):
        # confidence_sigma_sq has no automatic value: None failed deep in the solve.
        optional = name != "confidence_sigma_sq"
        value = options.get(name)
        if name in options and not (optional and value is None):
            wanted = "a finite number > 0" + (" or None" if optional else "")
            options[name] = finite_number(value, name, wanted, minimum=0, above_minimum=True)
            if name == "confidence_sigma_sq":
                # exp(-sqrt(distortion) / sigma_sq) with sqrt(distortion) <= sqrt(3) is 1.0
                # in float32 once the exponent is under 2**-25: from sigma_sq 6e7 up every
                # value gives the same matte (bit for bit), and 1e300 overflowed the float32
                # cast. Any larger value is taken as 1e9.
                options[name] = min(options[name], 1e9)
                if options[name] < SMALLEST_CONFIDENCE_SIGMA_SQ:
                    raise ValueError(
                        f"confidence_sigma_sq must be at least {SMALLEST_CONFIDENCE_SIGMA_SQ:g}: "
                        "smaller values zero every confidence whose colour distortion exceeds "
                        "1e-4 (float32 exp underflows) and overflow the float32 division below "
                        f"1e-38, got {value!r}"
                    )
            else:
                # exp(-(dy^2 + dx^2) / sigma_sq) with dy^2 + dx^2 >= 1 off the centre is 0.0 in
                # float64 for every sigma_sq <= 1e-3 (exp(-1000) underflows): all such values
                # weigh the centre pixel alone (bit for bit), and 5e-324 overflowed the division.
                options[name] = max(options[name], 1e-3)
    return options


#: Largest of each cost exponent (see check_options).
LARGEST_COST_EXPONENT = 1e6
#: Smallest confidence_sigma_sq: on make_scene((60, 80)) and GT04 every value from 1e-5 down
#: gave the same matte, and 1e-40 or less overflowed or divided by zero in float32.
SMALLEST_CONFIDENCE_SIGMA_SQ = 1e-6


def _default_sigma_sq(radius: int) -> float:
    """The paper's choice: a Gaussian whose 3-sigma disc fills the window."""
    return (2 * radius + 1) ** 2 / (9.0 * math.pi)


def shared_matting(
    image: np.ndarray,
    is_fg: np.ndarray,
    is_bg: np.ndarray,
    *,
    expansion_radius: int = 10,
    expansion_threshold: float = 0.02,
    rays: int = 4,
    cost_exponents: tuple[float, float, float, float] = (3.0, 2.0, 1.0, 4.0),
    distortion_radius: int = 1,
    refinement_radius: int = 5,
    smoothing_radius: int = 5,
    confidence_radius: int = 5,
    low_frequency_radius: int = 5,
    smoothing_sigma_sq: float | None = None,
    confidence_sigma_sq: float = 0.1,
    low_frequency_sigma_sq: float | None = None,
    colour_pairs: bool = True,
    pymatting_path: bool = False,
) -> SharedMatting:
    """Shared matting, with the colour pairs: see :func:`estimate` for the parameters.

    ``colour_pairs=False`` leaves ``foreground`` and ``background`` as ``None`` (they take
    six float64 planes). ``pymatting_path=True`` evaluates the path energy along PyMatting's
    paths, whose y coordinate advances by the x step (for the PyMatting shim).

    Parameters
    ----------
    image, is_fg, is_bg, expansion_radius, expansion_threshold, rays, cost_exponents, \
distortion_radius, refinement_radius, smoothing_radius, confidence_radius, \
low_frequency_radius, smoothing_sigma_sq, confidence_sigma_sq, low_frequency_sigma_sq
        As in :func:`estimate`.
    colour_pairs : bool, optional
        Keep the colour pairs (default True).
    pymatting_path : bool, optional
        Follow PyMatting's paths (default False).

    Returns
    -------
    SharedMatting
        Alpha, and the colour pairs unless ``colour_pairs=False``.
    """
    h, w = image.shape[:2]
    shape = (h, w)
    n = h * w
    # The steps gather from the image itself: nothing copies it.
    colors = np.ascontiguousarray(image, dtype=np.float64).reshape(n, 3)
    label = np.zeros(n, dtype=np.uint8)
    label[is_fg.ravel()] = common.FOREGROUND
    label[is_bg.ravel()] = common.BACKGROUND
    _log.info("sm: trimap expansion (radius %d)", expansion_radius)
    label = expansion.expand_trimap(colors, label, shape, expansion_radius, expansion_threshold)
    unknown = (label == common.UNKNOWN).nonzero()[0]
    _log.info("sm: sample gathering for %d unknown pixels (%d rays)", len(unknown), rays)

    fg, bg, _, mean_fg, mean_bg, planes32 = gathering.gather_samples(
        colors,
        label,
        shape,
        unknown,
        rays=rays,
        exponents=cost_exponents,
        distortion_radius=distortion_radius,
        pymatting_path=pymatting_path,
    )
    # Pair selection's float32 copy of the image gives the unknown pixels' colours; ...
    colors_unknown = planes32.take(unknown, axis=1, mode="wrap")
    # ... the later steps read the caller's image (no copy): the float32 copy kept to the
    # end would add a quarter to the peak memory of small images for about 1% less time.
    del planes32
    channels = colors.T
    planes = refinement.PairPlanes(channels, label, shape, unknown, fg, bg, mean_fg, mean_bg)
    # Bands of rows over the unknown pixels, made once per window radius for all steps.
    band_lists = {}

    def bands(radius):
        if radius not in band_lists:
            band_lists[radius] = refinement.band_list(unknown, shape, radius)
        return band_lists[radius]

    _log.info("sm: sample refinement of %d unknown pixels", len(unknown))
    # The window indices of refinement and smoothing are the same when their radii are;
    # kept between them when the unknown pixels are one chunk (one chunk's indices).
    one_chunk = unknown.size * (2 * refinement_radius + 1) ** 2 <= common.CHUNK_ELEMENTS
    windows = {} if one_chunk else None
    fg, bg, refined_alpha = refinement.refine_samples(
        colors_unknown,
        planes,
        unknown,
        refinement_radius,
        bands=bands(refinement_radius),
        windows=windows,
    )

    if smoothing_sigma_sq is None:
        smoothing_sigma_sq = _default_sigma_sq(smoothing_radius)
    if low_frequency_sigma_sq is None:
        low_frequency_sigma_sq = _default_sigma_sq(low_frequency_radius)
    planes = refinement.PairPlanes(
        channels, label, shape, unknown, fg, bg, mean_fg, mean_bg, refined_alpha
    )
    _log.info("sm: local smoothing of %d unknown pixels", len(unknown))
    fg, bg = refinement.smooth_pairs(
        planes, unknown, smoothing_radius, smoothing_sigma_sq, bands(smoothing_radius), windows
    )
    del planes, windows
    smooth_alpha = common.estimate_alpha_from_pair(colors_unknown, fg, bg)
    alpha = (label == common.FOREGROUND).astype(np.float64)
    # The expansion may have labelled every unknown pixel (a region of one colour):
    # the window sums below need at least one unknown pixel.
    if unknown.size and confidence_radius == low_frequency_radius:
        # One pass over the windows for both (their box-weighted sums taken together).
        trust, low = refinement.confidence_and_low_frequency(
            colors_unknown,
            fg,
            bg,
            refined_alpha,
            label,
            shape,
            unknown,
            confidence_radius,
            confidence_sigma_sq,
            low_frequency_sigma_sq,
            bands(confidence_radius),
        )
    elif unknown.size:
        trust = refinement.confidence(
            colors_unknown,
            fg,
            bg,
            refined_alpha,
            shape,
            unknown,
            confidence_radius,
            confidence_sigma_sq,
            bands(confidence_radius),
        )
        low = refinement.low_frequency_alpha(
            refined_alpha,
            label,
            shape,
            unknown,
            low_frequency_radius,
            low_frequency_sigma_sq,
            bands(low_frequency_radius),
        )
    if unknown.size:
        alpha[unknown] = trust * smooth_alpha + (1.0 - trust) * low
    alpha = alpha.reshape(shape)
    if not colour_pairs:
        return SharedMatting(alpha, None, None)
    fg, bg, _ = refinement.PairPlanes(
        channels, label, shape, unknown, fg, bg, mean_fg, mean_bg
    ).box(0, h, 0, w)
    return SharedMatting(
        alpha, fg.T.reshape(h, w, 3).astype(np.float64), bg.T.reshape(h, w, 3).astype(np.float64)
    )


def estimate(
    image: np.ndarray,
    is_fg: np.ndarray,
    is_bg: np.ndarray,
    *,
    expansion_radius: int = 10,
    expansion_threshold: float = 0.02,
    rays: int = 4,
    cost_exponents: tuple[float, float, float, float] = (3.0, 2.0, 1.0, 4.0),
    distortion_radius: int = 1,
    refinement_radius: int = 5,
    smoothing_radius: int = 5,
    confidence_radius: int = 5,
    low_frequency_radius: int = 5,
    smoothing_sigma_sq: float | None = None,
    confidence_sigma_sq: float = 0.1,
    low_frequency_sigma_sq: float | None = None,
) -> np.ndarray:
    """Alpha by shared matting (Gastal and Oliveira 2010).

    Parameters
    ----------
    image : ndarray, float64, shape (h, w, 3)
        Colours in [0, 1].
    is_fg, is_bg : ndarray, bool, shape (h, w)
        Known foreground and background pixels.
    expansion_radius : int
        Trimap expansion: an unknown pixel takes the label of the nearest known pixel within
        this distance (pixels) ...
    expansion_threshold : float
        ... whose colour is within this RGB distance. 0 turns the expansion off; any value
        from sqrt(3), the largest distance, up expands fully (taken as 2).
    rays : int
        Sample gathering: rays cast from each unknown pixel, evenly spread, rotated from
        pixel to pixel; each ray brings the first foreground and background pixel it meets.
    cost_exponents : (float, float, float, float)
        Exponents of the pair cost's factors: the chromatic distortion over the window, the
        probability-of-foreground term, the distances to the foreground and background
        samples (eq. 10; ``e_N, e_A, e_f, e_b``); each from 0 to 1e6.
    distortion_radius : int
        Radius of the window over which the chromatic distortion is summed.
    refinement_radius : int
        Sample refinement: the three best pairs in this window are averaged.
    smoothing_radius, confidence_radius, low_frequency_radius : int
        Local smoothing windows: pair smoothing, confidence, low-frequency alpha.
    smoothing_sigma_sq : float or None
        Variance of the pair smoothing's Gaussian weights; ``None``: ``(2 r + 1)^2 / (9 pi)``
        of the window. Every value up to 1e-3 weighs the centre pixel alone (taken as 1e-3).
    confidence_sigma_sq : float
        Scale of the distortion in the confidence (the paper's ``sigma^2``), at least 1e-6;
        every value from 6e7 up gives confidences of 1 (taken as 1e9).
    low_frequency_sigma_sq : float or None
        Variance of the low-frequency alpha's Gaussian weights, as ``smoothing_sigma_sq``.

    Returns
    -------
    ndarray, float64, shape (h, w)
        Alpha in [0, 1]. Known pixels are 0 or 1, and so are unknown pixels that the
        expansion labelled.

    Notes
    -----
    The steps (Gastal and Oliveira, "Shared Sampling for Real-Time Alpha Matting",
    Eurographics 2010), with PyMatting's defaults and constants so that the two compare:

    1. expansion: unknown pixels close in space and colour to a known pixel are labelled;
    2. gathering: per unknown pixel the pair ``(F, B)`` of ray samples minimising
       ``N_p^3 A_p^2 D_F D_B^4``, with ``N_p`` the chromatic distortion
       ``|I - (alpha F + (1 - alpha) B)|^2`` summed over a 3 x 3 window and ``A_p`` a
       probability-of-foreground term from path energies ``sum |grad I . dr|``;
    3. refinement: the mean of the three pairs of the 11 x 11 window that best explain
       the pixel;
    4. smoothing: pairs averaged with weights favouring alpha changes, and the final alpha
       blends ``alpha(I, F, B)`` with a low-frequency alpha by a confidence.

    Each step runs as array operations over all unknown pixels (rays marched together,
    windows as gathers over offsets). Unlike PyMatting, the path energy follows the straight
    path to the sample (PyMatting's path drifts: its y coordinate advances by the x step),
    and ``low_frequency_sigma_sq`` defaults from its own window's radius.

    Examples
    --------
    >>> from vecmatte import estimate_alpha, make_scene
    >>> scene = make_scene((40, 60), seed=2)
    >>> alpha = estimate_alpha(scene.image, scene.trimap, method="sm")
    >>> alpha.shape
    (40, 60)
    """
    return shared_matting(
        image,
        is_fg,
        is_bg,
        expansion_radius=expansion_radius,
        expansion_threshold=expansion_threshold,
        rays=rays,
        cost_exponents=cost_exponents,
        distortion_radius=distortion_radius,
        refinement_radius=refinement_radius,
        smoothing_radius=smoothing_radius,
        confidence_radius=confidence_radius,
        low_frequency_radius=low_frequency_radius,
        smoothing_sigma_sq=smoothing_sigma_sq,
        confidence_sigma_sq=confidence_sigma_sq,
        low_frequency_sigma_sq=low_frequency_sigma_sq,
        colour_pairs=False,
    ).alpha


def memory_bytes(shape: tuple[int, int], n_unknown: int, **options) -> int:
    """Peak extra bytes of :func:`estimate` (an over-estimate).

    About 48 bytes per pixel (the ray step tables, distance transforms, one float32 plane at
    a time), 108 + 8 ``rays`` per unknown pixel (ray samples, colour pairs before and after
    each step) and 4 MiB of chunked temporaries. Fitted over the resident and traced peaks of
    39 solves (bench/memory_models.py: alphamatting.com images at half and full size, both
    trimaps, upscaled to 1.8-4 MP, GT01 scribbles, synthetic scenes up to 900 x 1200):
    1.16 to 2.1 times the peak (2.4 on a 60 x 80 scene; 1.16 to 1.24 at 1.8 to 4 MP and on
    the scribbles; the fit at margin 1.1 is 46 n + 136 u + 2 MiB); the former 40 bytes per
    pixel gave 1.00x on GT05 at 4 MP (7% unknown), where the per-pixel arrays weigh most.

    Parameters
    ----------
    shape : tuple of int
        The image's shape.
    n_unknown : int
        Number of unknown (solved) pixels.
    **options
        The method's options.

    Returns
    -------
    int
        Estimated peak bytes.
    """
    n = shape[0] * shape[1]
    rays = int(options.get("rays", 4))
    return 48 * n + (108 + 8 * rays) * n_unknown + 4 * 2**20
