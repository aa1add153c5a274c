"""The memory models of a solve: bytes each method, preconditioner and factor needs.

Fitted to measured peaks (the constants below say where each number comes from); used by
:func:`vecmatte.memory.estimate_solve_memory`, which validates the request and adds them up.
"""

from __future__ import annotations

import inspect

from vecmatte._arrays import check_pixel_count, estimate_sizes
from vecmatte._numbers import whole_number
from vecmatte._validation import signature_parameters

__all__ = [
    "BASE_BYTES",
    "SAFETY",
    "SPARSE_LU_BYTES",
    "SPARSE_LU_POWER",
    "checked_counts",
    "checked_solve_bytes",
    "default_memory_bytes",
    "direct_factor_bytes",
    "direct_options_bytes",
    "lighter_preconditioner",
    "size_text",
    "solve_model",
]

# Peak memory of a closed-form solve beyond its inputs, in bytes, for n pixels and u unknown
# pixels:  SAFETY * ((a n + b u + max(e u, c u**1.25)) * (4r + 1)**2 / 25 + BASE_BYTES),
# with (a, b, e, c) per preconditioner. Origin: `python bench/large.py --calibrate` (points
# and dates in bench/results/large.md): the extra peak resident memory (ru_maxrss of a child
# process minus its resident memory just before the solve) of solve_alpha at radius 1 on the
# alphamatting images GT02, GT04 and GT19 upscaled to 0.25-8 MP (34k to 1.6M unknowns, 5 to
# 40% of the pixels), fitted by non-negative least squares of the relative error: "ichol"
# (commit d510b82) 7 n + 1948 u, rounded up to (10, 2000, 0, 0). "direct" refitted in
# session 6 with `python bench/memory_models.py` (VmHWM and tracemalloc peaks in fresh
# children; photographs at 0.1-13 MP, scribbles at 0.4 and 1.6 MP, scenes) after the
# nested-dissection factor's peak cut: (48, 600, 590, 21) (590 is 1518 since session 9: the
# envelope's bound, see direct_factor_bytes), the factor's term the larger of an
# envelope's (linear: the envelope's flops limit bounds its entries per row) and a
# nested-dissection factor's (fill u log u, bounded by u**1.25): every case at 1.10x its
# peak or more, those over 300k unknowns or 1.5 MP at 1.10-1.24x (GT05 x3, 7% unknown,
# 1.8x); the former (22, 600, 0, 39) gave 1.36-1.72x at 1.8-13 MP. With 1518 the same cases
# are at 1.47x or more (GT03 trimap 1 at full size the lowest), 1.57-2.09x over 300k unknowns
# (recomputed from bench/results/memory_models.md in session 9). a covers the image-sized
# arrays, b the sparse rows and vectors. Everything grows with the stencil, (4r + 1)**2
# entries. The model is split where it is used: the closed-form system's share
# (10 n + 600 u) in vecmatte.alpha.cf, each preconditioner's share in its
# PreconditionerSpec.memory.
BASE_BYTES = 40e6
SAFETY = 1.15

# A "direct" factor of a system whose entries couple pixels far apart (KNN matting's graph):
# no grid ordering applies, SuperLU's fill grows like rows**1.7, and none of the grid models
# covers it. Measured (VmHWM of fresh processes, minus a Jacobi solve's): KNN on GT04 at
# 19.8k, 44.7k, 91.3k and 178.7k unknowns: 100, 389, 1304 and 3760 MiB, 5.0-5.1 rows**1.7
# (4.65 at the largest), the soft constraints' 112k rows 1840 MiB (5.0); the grid model gave
# 630 MiB for the 4038 MiB peak of the largest. Pure noise fills in more (random colours at
# 16k and 32k rows: 1.75 rows**2 bytes, a third of a dense factor): not covered.
SPARSE_LU_BYTES = 5.1
SPARSE_LU_POWER = 1.7

# The float32 'direct' factor of a grid system, bounded whatever the stencil: factor "auto"
# takes the envelope only while the sum of its squared row widths stays under
# ENVELOPE_FLOPS_PER_UNKNOWN a row, so its rows average at most sqrt(1e5) = 316 entries
# (Cauchy-Schwarz); stored as band segments as wide as their widest row, 1.05-1.13x that on
# the two photographs just under the limit (GT16 and GT03, trimap 1, full size): 1.2x. Above
# the limit "auto" takes nested dissection, whose fill is the 21 rows**1.25 of "direct"'s
# PreconditionerSpec.memory (more for a wider stencil).
_ENVELOPE_PADDING = 1.2
# An envelope forced beyond that limit ("direct:factor=envelope") is as wide as the
# unknowns' region: measured (stored entries a row, reverse Cuthill-McKee, closed-form at
# reach 2): 0.06-0.72 reach * min(h, w) on the 40 trimaps of alphamatting-lowres at full size,
# 1.15-1.53 on whole boxes of unknowns (100 x 150 to 300 x 300, 80 x 600): 2 reach * min(h,
# w, sqrt(rows)) entries a row. SuperLU forced on a grid system ("direct:factor=superlu",
# minimum-degree order): 14-18 rows**1.25 entries of L and U on those boxes, each a float32
# value and an int32 index, plus its work space: 12 bytes * 20 rows**1.25.
_ENVELOPE_WIDTH = 2.0
_GRID_SUPERLU_BYTES = 240.0


def direct_factor_bytes(
    rows: int,
    *,
    reach: int | None = 2,
    entries: float = 25.0,
    shape: tuple[int, int] | None = None,
    factor: str = "auto",
    single_precision: bool = True,
    envelope_padding: float = _ENVELOPE_PADDING,
) -> float:
    """Bytes of the ``"direct"`` preconditioner's factor of a system of ``rows`` rows (a bound).

    Parameters
    ----------
    rows : int
        Rows of the system (its unknowns).
    reach : int or None, optional
        The system's ``reach`` (entries couple pixels at most this far apart); ``None`` for a
        system without one (KNN's graph), factored by SuperLU.
    entries : float, optional
        Entries a row of the system (the stencil's size).
    shape : (int, int), optional
        Image size ``(h, w)``: bounds a forced envelope's width (else ``sqrt(rows)`` does).
    factor : {"auto", "envelope", "nested", "superlu"}, optional
        The ``factor`` option of :func:`vecmatte.preconditioners.direct.build`.
    single_precision : bool, optional
        ``False``: the float64 factor, twice the float32 one.
    envelope_padding : float, optional
        Bytes stored per float32 entry of the bound of factor ``"auto"``'s envelope, over
        4: band segments as wide as their widest row (1.2, measured on closed-form). A
        model fitted to peaks that include them takes 1.0 (random walks').

    Returns
    -------
    float
        The factor's bytes (before the safety margin of this module's models).

    Raises
    ------
    ValueError
        One line: ``rows`` not a whole number >= 0, ``reach`` neither None nor a whole
        number >= 1, ``factor`` or ``single_precision`` as ``"direct"`` refuses them.
    """
    from vecmatte.preconditioners import PRECONDITIONERS
    from vecmatte.preconditioners.direct import ENVELOPE_FLOPS_PER_UNKNOWN, check_options

    # A negative count made the powers complex (a TypeError), an unknown factor read as
    # "auto", and reach 0 an envelope of no bytes.
    check_options(factor=factor, single_precision=single_precision)
    if reach is not None:
        reach = whole_number(reach, "reach", "None or a whole number of at least 1", minimum=1)
    rows = float(whole_number(rows, "rows", "a whole number of rows (0 or more)"))
    if reach is None:
        # SuperLU on a graph without grid order (also what a forced envelope falls back on
        # in width: nothing bounds it below the rows).
        if factor == "envelope":
            size = 4.0 * rows * (rows + 1) / 2
        else:
            size = SPARSE_LU_BYTES * rows**SPARSE_LU_POWER
    elif factor == "envelope":
        side = min((rows**0.5, *(shape or ())))
        size = 4.0 * rows * min(rows, _ENVELOPE_WIDTH * reach * side)
    elif factor == "superlu":
        size = _GRID_SUPERLU_BYTES * rows**1.25
    else:
        envelope = 4.0 * envelope_padding * ENVELOPE_FLOPS_PER_UNKNOWN**0.5 * rows
        nested = PRECONDITIONERS["direct"].memory[2] * rows**1.25 * max(1.0, entries / 25.0)
        size = nested if factor == "nested" else max(envelope, nested)
    return size if single_precision else 2.0 * size


def direct_options_bytes(shape, n_unknown: int, spec, options: dict, direct: dict) -> int:
    """What ``"direct"``'s options add to a method's model, which holds its default factor.

    A method's model covers the float32 factor that ``factor="auto"`` makes (measured), so
    the float64 one of ``single_precision=False`` adds one float32 factor more; a factor
    forced to a kind that "auto" would not take (an envelope beyond its flops limit, SuperLU
    on a grid system) adds its own bound whole.
    """
    factor = direct.get("factor", "auto")
    single = bool(direct.get("single_precision", True))
    reach = None if "reach" in spec.lacks else 2 * int(options.get("radius", 1))
    if factor == "nested" or (factor == "superlu" and reach is None):
        factor = "auto"  # what the method's model already holds
    if factor == "auto" and single:
        return 0
    h, w = shape
    # Soft constraints solve every pixel (vecmatte.systems.soft_constraint_system).
    rows = h * w if options.get("constraints") == "soft" else n_unknown
    # The grid methods' widest stencil: (4r + 1)**2 entries, reach 2r (closed-form, LBDM;
    # random walks' r is on the high side).
    kind = {"reach": reach, "entries": (2 * (reach or 2) + 1) ** 2, "shape": (h, w)}
    extra = direct_factor_bytes(rows, factor=factor, single_precision=single, **kind)
    if factor == "auto":
        extra -= direct_factor_bytes(rows, factor=factor, **kind)
    return int(SAFETY * extra)


def default_memory_bytes(
    shape: tuple[int, ...], n_unknown: int, *, preconditioner: str | None = None
) -> int:
    """Memory model for methods without their own: a radius-1 closed-form solve's.

    The system's share is the closed-form one (``10 n + 600 u`` bytes), the preconditioner's
    comes from its :class:`vecmatte.preconditioners.PreconditionerSpec`. ``shape`` and
    ``n_unknown`` are read as by :func:`checked_counts`; an unknown preconditioner is refused
    as the solve refuses it.

    Parameters
    ----------
    shape : tuple of int
        The image's shape, ``(h, w)`` or ``(h, w, channels)``.
    n_unknown : int
        Number of unknown (solved) pixels.
    preconditioner : str, optional
        The solve's preconditioner; ``None`` counts the system's share alone.

    Returns
    -------
    int
        Estimated peak bytes, with the margins :data:`SAFETY` and :data:`BASE_BYTES`.
    """
    from vecmatte.preconditioners import PRECONDITIONERS, resolve_preconditioner

    h, w, n_unknown = checked_counts(shape, n_unknown)
    n_pixels = h * w
    system = 10.0 * n_pixels + 600.0 * n_unknown
    if preconditioner is not None:
        name = resolve_preconditioner(preconditioner)[0]  # was a KeyError of an unknown name
        system += PRECONDITIONERS[name].memory_bytes(n_pixels, n_unknown)
    return int(SAFETY * (system + BASE_BYTES))


_TOO_LARGE = "no solve takes an image that large"


def checked_counts(shape, n_unknown) -> tuple[int, int, int]:
    """``(h, w, n_unknown)`` of a memory estimate's request, else one ValueError line.

    ``shape`` as :func:`vecmatte._arrays.estimate_sizes` reads it (0 allowed: an empty image
    needs no memory); ``n_unknown`` a whole number from 0 (an estimate of nothing: no solve
    runs) to the image's pixels (more is a mistake).
    """
    if type(shape) is tuple and len(shape) in (2, 3) and type(n_unknown) is int:
        # An array's shape and a count (every solve's): the checks below, without their
        # conversions (5 us of a 32 x 32 solve's 450).
        h, w = shape[0], shape[1]
        if type(h) is type(w) is int and h >= 0 and w >= 0 and 0 <= n_unknown <= h * w:
            if h * w:
                check_pixel_count((h, w), "shape", fix=_TOO_LARGE)
            return h, w, n_unknown
    h, w = estimate_sizes(shape, fix=_TOO_LARGE)
    wanted = f"non-negative, a whole number of pixels up to the image's {h * w}"
    n_unknown = whole_number(n_unknown, "n_unknown", wanted)
    if n_unknown > h * w:
        raise ValueError(f"n_unknown must be {wanted}, got {n_unknown}")
    return h, w, n_unknown


def solve_model(shape: tuple[int, int], n_unknown: int, spec, name, options: dict) -> int:
    """The method's memory model, with the preconditioner's added where it leaves it out."""
    from vecmatte.preconditioners import PRECONDITIONERS

    h, w = shape
    model = getattr(spec.load(), "memory_bytes", None)
    if model is None:
        return default_memory_bytes((h, w), n_unknown, preconditioner=name)
    parameters = signature_parameters(model).values()
    if name is not None and any(
        p.name == "preconditioner" or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters
    ):
        return int(model((h, w), n_unknown, preconditioner=name, **options))
    # The method's model covers its system only: add the preconditioner's.
    needed = int(model((h, w), n_unknown, **options))
    if name is not None:
        needed += int(PRECONDITIONERS[name].memory_bytes(h * w, n_unknown))
    return needed


def checked_solve_bytes(
    shape: tuple[int, int], n_unknown: int, spec, name, direct: dict, options: dict
) -> int:
    """:func:`vecmatte.memory.estimate_solve_memory` of a request it has checked.

    The solve checks its options itself, before it asks for the estimate: checking them
    again (names, ranges, the preconditioner) was a third of the memory check's time.

    Parameters
    ----------
    shape : (int, int)
        The image's ``(h, w)``.
    n_unknown : int
        Number of unknown pixels, checked against ``shape``.
    spec : vecmatte.alpha.MethodSpec
        The method's entry.
    name : str or None
        The preconditioner's name, as resolved for the method.
    direct : dict
        The preconditioner's options, as resolved.
    options : dict
        The method's options, checked.

    Returns
    -------
    int
        Estimated peak bytes.
    """
    h, w = shape
    needed = solve_model((h, w), n_unknown, spec, name, options)
    if name == "direct":
        needed += direct_options_bytes((h, w), n_unknown, spec, options, direct)
    if name == "direct" and "reach" in spec.lacks:
        # Soft constraints solve every pixel (vecmatte.systems.soft_constraint_system).
        rows = h * w if options.get("constraints") == "soft" else n_unknown
        needed += int(SAFETY * SPARSE_LU_BYTES * rows**SPARSE_LU_POWER)
    return needed


def size_text(n_bytes: float, digits: int = 1) -> str:
    """Bytes for people: GiB, or MiB below one GiB, KiB below one MiB (with ``digits``).

    GiB alone said "needs 0.0 GiB ... only 0.0 GiB" of a small solve or budget.
    """
    for unit, size in (("GiB", 2**30), ("MiB", 2**20)):
        if n_bytes >= size:
            return f"{n_bytes / size:.{digits}f} {unit}"
    return f"{n_bytes / 2**10:.{digits}f} KiB"


def lighter_preconditioner(method: str, preconditioner) -> str | None:
    """The preconditioner holding least that the method's systems take, if not the one used
    (a way out of :func:`vecmatte.memory.refuse_if_short`'s refusal).

    "ichol" where the systems have a pixel stencil, else "jacobi"; ``None`` for a method
    that solves no system, or when the solve uses it already.
    """
    from vecmatte.alpha._registry import get_method, resolve_method_preconditioner

    spec = get_method(method)
    if spec.preconditioner is None:
        return None
    used = resolve_method_preconditioner(method, preconditioner)[0]
    for name in ("ichol", "jacobi"):
        if spec.takes(name):
            return None if name == used else name
    return None
