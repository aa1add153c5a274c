"""Preconditioners of conjugate gradient: a registry of specs, each built from the whole system.

Each preconditioner is a module ``vecmatte/preconditioners/<name>.py`` defining
``build(system, **options) -> LinearOperator`` (set-up apart from application, as in pyamg)
plus one :class:`PreconditionerSpec` line in :data:`PRECONDITIONERS`, which says what the
preconditioner needs from the system and how much memory it takes. A preconditioner is named
as ``"name"``, ``("name", {"option": value})`` (pyamg's form) or ``"name:option=value,..."``
(the command line's form); :func:`resolve_preconditioner` reads all three.

Adding a preconditioner: one module with ``build`` and one line below.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass

from vecmatte import _defaults
from vecmatte._numbers import literal_or_text, shown
from vecmatte._validation import check_option_names, signature_parameters

__all__ = [
    "PRECONDITIONERS",
    "PreconditionerSpec",
    "build_preconditioner",
    "format_preconditioner",
    "resolve_preconditioner",
]


@dataclass(frozen=True)
class PreconditionerSpec:
    """Where a preconditioner lives, what it needs, and its memory model.

    Attributes
    ----------
    module : str or None
        Module defining ``build(system, **options)``; ``None`` for no preconditioning.
    summary : str
        One line for help texts.
    needs : tuple of str
        ``"matrix"``: an explicit sparse matrix; ``"stencil"``: the system's pixel stencil;
        ``"coarse"``: an explicit sparse matrix or a Galerkin product (the operator's
        ``galerkin`` method), from which a coarse level is made.
    memory : tuple of float
        Bytes per pixel, per solved row and per solved row ** 1.25 that a solve with this
        preconditioner holds beyond the system itself, for 25 entries per row (scaled
        linearly by the entries per row): ``a n + max(b u, c u**1.25)``. The larger of the
        last two, not their sum: a "direct" factor is either an envelope (linear in the
        rows, bounded by its flops limit) or a nested-dissection factor (growing a little
        faster). Fitted with ``bench/memory_models.py`` on closed-form solves (see
        :mod:`vecmatte.memory`).
    """

    module: str | None
    summary: str
    needs: tuple[str, ...] = ()
    memory: tuple[float, float, float] = (0.0, 1400.0, 0.0)

    def load(self):
        """The ``build`` function of the module (``None`` for no preconditioning).

        Returns
        -------
        callable or None
            ``build(system, **options)``.
        """
        if self.module is None:
            return None
        return importlib.import_module(self.module).build

    def option_names(self) -> list[str]:
        """Keyword options that ``build`` accepts.

        Returns
        -------
        list of str
            Their names (none for no preconditioning).
        """
        build = self.load()
        if build is None:
            return []
        parameters = list(signature_parameters(build).values())[1:]
        return [p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY]

    def memory_bytes(self, n_pixels: int, n_rows: int, entries_per_row: float = 25.0) -> float:
        """Memory model: extra bytes for a system of ``n_rows`` rows on an ``n_pixels`` image.

        Parameters
        ----------
        n_pixels : int
            Pixels of the image.
        n_rows : int
            Rows (unknowns) of the system.
        entries_per_row : float, optional
            Stored entries per row of the system; the model is fitted at 25 (the default).

        Returns
        -------
        float
            Bytes, from :attr:`memory`, scaled by ``entries_per_row / 25``.
        """
        per_pixel, per_row, per_row_125 = self.memory
        scale = entries_per_row / 25.0
        return (per_pixel * n_pixels + max(per_row * n_rows, per_row_125 * n_rows**1.25)) * scale


# Memory coefficients: closed-form solves' fitted totals (see vecmatte.memory) minus the
# closed-form system's own 10 n + 600 u.
# "direct": 38 n + max(590 u, 21 u**1.25) until session 9 (1518 u now, see below).
# `python bench/memory_models.py --resume` (fresh
# children, VmHWM and tracemalloc peaks, session 6, after the factor's peak cut of 124677e):
# the estimates of 44 closed-form cases (alphamatting.com at 0.1-13 MP, both trimaps,
# scribbles at 0.4 and 1.6 MP, scenes) are all 1.10x their peaks or more: 1.10-1.24x on the
# cases with over 300k unknowns or 1.5 MP (1.8x on GT05 at 4 MP, 7% unknown), 1.10x on GT16
# trimap at full size, an envelope factor just under the envelope's flops limit (~270
# float32 entries a row, the densest an envelope gets: the flops limit bounds its entries
# per row, so 590 u covers envelopes of any size). The former 12 n + 39 u**1.25 gave
# 1.38-1.72x at 1.8-3.5 MP; a first refit, 12 n + max(710 u, 20 u**1.25), fell to 0.96x at
# 13 MP (GT02 x5.6: 3.05 GiB; the image-sized arrays weigh more than 12 n there). 21 u**1.25
# takes over from 620k unknowns on and grows faster than the nested-dissection fill (u log u).
# Session 9: 590 u fell below the envelope that factor "auto" may still take: cf on GT03
# trimap 1 at full size (121k unknowns, an envelope of 354 stored entries a row, just under
# the flops limit) was estimated at 0.96x its peak (VmHWM of a fresh child, one BLAS thread;
# GT16 trimap 1 1.06x, the other 38 trimaps 1.26-2.3x). The rows term is now the envelope's
# bound, vecmatte.memory.direct_factor_bytes: 4 bytes * 1.2 * sqrt(ENVELOPE_FLOPS_PER_UNKNOWN)
# = 1518 bytes a row (scaled with the stencil like the other terms: on the high side for a
# wider one; random walks' model takes the same bound unscaled).
PRECONDITIONERS: dict[str, PreconditionerSpec] = {
    "direct": PreconditionerSpec(
        "vecmatte.preconditioners.direct",
        "complete float32 Cholesky factor: 1-3 iterations, most memory",
        needs=("matrix",),
        memory=(38.0, 1518.0, 21.0),
    ),
    "ichol": PreconditionerSpec(
        "vecmatte.preconditioners.ichol",
        "incomplete Cholesky on the pixel stencil: less memory, more iterations",
        needs=("stencil",),
        memory=(0.0, 1400.0, 0.0),
    ),
    # not measured: ichol's, which holds a little more
    "jacobi": PreconditionerSpec("vecmatte.preconditioners.jacobi", "diagonal: any system"),
    # Jacobi's 1400 u plus 400: tracemalloc peaks of the preconditioner and CG on ifm systems
    # (GT03/GT04/GT08 of alphamatting-lowres) are 100-115 bytes a row above Jacobi's, on
    # 1.3-2 rows per unknown pixel, with the coarse SuperLU factor (about 1000 rows) besides.
    "twolevel": PreconditionerSpec(
        "vecmatte.preconditioners.twolevel",
        "diagonal plus a coarse correction on pixel blocks: ifm's default",
        needs=("coarse",),
        memory=(0.0, 1800.0, 0.0),
    ),
    # not measured: the Galerkin levels hold about a third of the fine matrix again
    "vcycle": PreconditionerSpec(
        "vecmatte.preconditioners.vcycle", "geometric multigrid V-cycle", needs=("matrix",)
    ),
    "none": PreconditionerSpec(None, "no preconditioning"),
}


def resolve_preconditioner(
    preconditioner, *, default: str = _defaults.PRECONDITIONER
) -> tuple[str, dict]:
    """Read a preconditioner request into ``(name, options)``, checking both.

    Parameters
    ----------
    preconditioner : None, str, or (str, dict)
        ``None`` (``default``), a registered name, ``"name:option=value,..."``, or
        ``("name", {"option": value})``.
    default : str, optional
        The name that ``None`` stands for (the alpha method's own preconditioner).

    Returns
    -------
    (str, dict)

    Raises
    ------
    ValueError
        For an unknown name, a malformed ``"name:..."`` string, or an option out of range
        (the module's ``check_options``, if it has one).
    TypeError
        For an option the preconditioner does not take (naming the ones it takes).

    Examples
    --------
    >>> resolve_preconditioner("ichol:sweeps=5")
    ('ichol', {'sweeps': 5})
    >>> resolve_preconditioner(("direct", {"factor": "nested"}))
    ('direct', {'factor': 'nested'})
    """
    if preconditioner is None:
        name, options = default, {}
    elif isinstance(preconditioner, str):
        name, _, text = preconditioner.partition(":")
        options = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            key, equals, value = item.partition("=")
            if not equals or not key.strip():
                raise ValueError(
                    f"preconditioner {shown(preconditioner)}: options are written "
                    f"'name:option=value,option=value', got {shown(item)}"
                )
            options[key.strip()] = literal_or_text(value.strip())
    elif (
        isinstance(preconditioner, tuple | list)
        and len(preconditioner) == 2
        and isinstance(preconditioner[0], str)
        and isinstance(preconditioner[1], Mapping)
    ):
        name, options = preconditioner[0], dict(preconditioner[1])
    else:
        raise TypeError(
            "preconditioner must be None, a name or (name, {options}), got " + shown(preconditioner)
        )
    name = name.strip()
    spec = PRECONDITIONERS.get(name)
    if spec is None:
        raise ValueError(
            f"unknown preconditioner {shown(name)}; choose one of {', '.join(PRECONDITIONERS)}"
        )
    valid = spec.option_names()
    check_option_names(f"preconditioner {name!r}", valid, options)
    # Ranges too, here rather than when the system is built: before any image is read.
    check = getattr(importlib.import_module(spec.module), "check_options", None) if valid else None
    if check is not None:
        check(**options)
    return name, options


def format_preconditioner(name: str, options: Mapping | None = None) -> str:
    """The ``"name:option=value,..."`` form of a preconditioner (inverse of the parser).

    Parameters
    ----------
    name : str
        The preconditioner's name.
    options : mapping, optional
        Its options; none gives ``name`` alone.

    Returns
    -------
    str
        The text form.
    """
    if not options:
        return name
    return name + ":" + ",".join(f"{key}={value!r}" for key, value in options.items())


def build_preconditioner(system, name: str, options: Mapping | None = None):
    """Build the registered preconditioner ``name`` for ``system`` (``None`` for "none").

    Parameters
    ----------
    system : vecmatte.systems.MattingSystem
        The system to precondition.
    name : str
        A key of :data:`PRECONDITIONERS`.
    options : mapping, optional
        Keyword options of its ``build``.

    Returns
    -------
    scipy.sparse.linalg.LinearOperator or None
        The preconditioner, or None for ``"none"``.

    Raises
    ------
    ValueError
        If the system lacks what the preconditioner needs.
    """
    spec = PRECONDITIONERS[name]
    if "stencil" in spec.needs and system.stencil is None:
        raise ValueError(
            f"preconditioner {name!r} needs a pixel stencil, which this method's system does "
            "not have; use 'jacobi' or 'direct'"
        )
    if "matrix" in spec.needs and not hasattr(system.matrix, "tocsr"):
        raise ValueError(
            f"preconditioner {name!r} needs an explicit sparse matrix, and this method's "
            "system is matrix-free; use 'jacobi'"
        )
    build = spec.load()
    return None if build is None else build(system, **dict(options or {}))
