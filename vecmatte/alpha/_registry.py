"""The alpha methods: one line per method, without importing any method module.

A method is a module ``vecmatte/alpha/<name>.py`` defining either

``build_system(image, is_fg, is_bg, *, <options>) -> vecmatte.systems.MattingSystem``
    for methods solved as a linear system (the pipeline preconditions and runs CG), or
``estimate(image, is_fg, is_bg, *, <options>) -> ndarray``
    for the others (alpha ``(h, w)``),

and optionally ``check_options(shape, **options) -> dict``, which range-checks the options
given (``ValueError``, one line) and returns them normalised, before anything else is
looked at; and ``memory_bytes(shape, n_unknown, **options) -> int``, the peak extra bytes
of a solve (an over-estimate), checked before anything large is allocated. If it accepts a
``preconditioner`` keyword it receives the preconditioner's name and returns the whole
solve's bytes; otherwise the pipeline adds the preconditioner's own model
(:attr:`vecmatte.preconditioners.PreconditionerSpec.memory`).
"""

from __future__ import annotations

import functools
import importlib
import inspect
from dataclasses import dataclass
from types import ModuleType

from vecmatte import _defaults
from vecmatte._numbers import shown
from vecmatte._validation import signature_parameters

__all__ = ["METHODS", "MethodSpec", "get_method", "resolve_method_preconditioner"]


@dataclass(frozen=True)
class MethodSpec:
    """Where an alpha method lives, what it is, and its default preconditioner.

    Attributes
    ----------
    module : str
        Module defining ``build_system`` or ``estimate`` (see :mod:`vecmatte.alpha._registry`).
    summary : str
        One line for help texts: the method and its paper.
    preconditioner : str or None
        What ``preconditioner=None`` means for this method; ``None`` for methods that define
        ``estimate`` (no linear system).
    lacks : tuple of str
        What the method's systems never have, of what preconditioners need
        (:attr:`vecmatte.preconditioners.PreconditionerSpec.needs`): ``"matrix"`` (the
        system is matrix-free), ``"stencil"`` (no pixel stencil), ``"coarse"`` (matrix-free
        without a Galerkin product: no coarse level). A preconditioner needing
        one of them is refused with the options, before the system is built. And
        ``"reach"``: entries couple pixels far apart, so a ``"direct"`` factor is SuperLU's,
        without a grid ordering, and its memory grows faster than any grid factor's
        (:func:`vecmatte.memory.estimate_solve_memory` counts it).
    """

    module: str
    summary: str
    preconditioner: str | None = _defaults.PRECONDITIONER
    lacks: tuple[str, ...] = ()

    def load(self) -> ModuleType:
        """Import the method's module.

        Returns
        -------
        module
            The imported module.
        """
        return importlib.import_module(self.module)

    def takes(self, preconditioner: str) -> bool:
        """Whether the method's systems have all that ``preconditioner`` needs (see ``lacks``).

        Parameters
        ----------
        preconditioner : str
            A name of :data:`vecmatte.preconditioners.PRECONDITIONERS`.

        Returns
        -------
        bool
            True if the method's systems have all it needs."""
        from vecmatte.preconditioners import PRECONDITIONERS

        return not set(PRECONDITIONERS[preconditioner].needs) & set(self.lacks)

    def entry(self):
        """The method's ``build_system`` or ``estimate`` function.

        Returns
        -------
        callable
            The function, from the imported module.
        """
        module = self.load()
        entry = getattr(module, "build_system", None) or getattr(module, "estimate", None)
        if entry is None:
            raise TypeError(f"{self.module} defines neither build_system nor estimate")
        return entry

    def _keyword_parameters(self) -> list[inspect.Parameter]:
        parameters = signature_parameters(self.entry()).values()
        return [p for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY]

    def option_names(self) -> list[str]:
        """The keyword options of the method's ``build_system`` or ``estimate``.

        Returns
        -------
        list of str
            Their names, in the signature's order.
        """
        entry = self.entry()
        try:
            return list(_keyword_names(entry))
        except TypeError:  # an unhashable callable: read each time
            return [p.name for p in self._keyword_parameters()]

    def option_defaults(self) -> dict:
        """The method's keyword options that have a default, with it.

        Returns
        -------
        dict
            Option name to default value.
        """
        return {
            p.name: p.default
            for p in self._keyword_parameters()
            if p.default is not inspect.Parameter.empty
        }


@functools.lru_cache(maxsize=64)
def _keyword_names(entry) -> tuple[str, ...]:
    """The keyword-only parameters of ``entry``, once per function: every solve asks (3 us)."""
    parameters = signature_parameters(entry).values()
    return tuple(p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY)


METHODS: dict[str, MethodSpec] = {
    "cf": MethodSpec(
        "vecmatte.alpha.cf",
        "closed-form matting (Levin, Lischinski, Weiss 2008)",
        preconditioner=_defaults.PRECONDITIONER,
    ),
    "sm": MethodSpec("vecmatte.alpha.sm", "shared matting (Gastal, Oliveira 2010)", None),
    "knn": MethodSpec(
        "vecmatte.alpha.knn",
        "KNN matting (Chen, Li, Tang 2013)",
        "jacobi",
        lacks=("stencil", "reach"),
    ),
    "lkm": MethodSpec(
        "vecmatte.alpha.lkm",
        "large-kernel matting (He, Sun, Tang 2010)",
        "jacobi",
        lacks=("matrix", "stencil", "reach", "coarse"),
    ),
    "lbdm": MethodSpec("vecmatte.alpha.lbdm", "learning-based matting (Zheng 2009)", "direct"),
    "rw": MethodSpec("vecmatte.alpha.rw", "random walk matting (Grady et al. 2005)", "jacobi"),
    "ifm": MethodSpec(
        "vecmatte.alpha.ifm",
        "information-flow matting (Aksoy et al. 2017)",
        "twolevel",
        lacks=("matrix", "reach"),
    ),
}


def get_method(name: str) -> MethodSpec:
    """The :class:`MethodSpec` registered as ``name``, or a ``ValueError`` listing them.

    Parameters
    ----------
    name : str
        A key of :data:`METHODS`.

    Returns
    -------
    MethodSpec
        The method's entry.

    Raises
    ------
    ValueError
        If no method has that name.
    """
    spec = METHODS.get(name) if isinstance(name, str) else None
    if spec is None:
        raise ValueError(f"unknown alpha method {shown(name)}; choose one of {', '.join(METHODS)}")
    return spec


def resolve_method_preconditioner(method: str, preconditioner) -> tuple[str | None, dict]:
    """``(name, options)`` of the preconditioner a solve of alpha method ``method`` uses.

    ``preconditioner`` is as :func:`vecmatte.preconditioners.resolve_preconditioner` takes it,
    None meaning the method's default. A method that solves no linear system (its
    ``MethodSpec.preconditioner`` is None) gives ``(None, {})`` and refuses any preconditioner,
    in one sentence for the solve, its checks and the memory estimate; so are a preconditioner
    needing what the method's systems lack and a ``"direct"`` factor they cannot take.
    """
    spec = get_method(method)
    if spec.preconditioner is None:
        if preconditioner is not None:
            raise ValueError(
                f"alpha method {method!r} solves no linear system: give no preconditioner"
            )
        return None, {}
    from vecmatte.preconditioners import PRECONDITIONERS, resolve_preconditioner

    name, options = resolve_preconditioner(preconditioner, default=spec.preconditioner)
    missing = [need for need in PRECONDITIONERS[name].needs if need in spec.lacks]
    if missing:
        # Said here, before the system is built (minutes for a large image's neighbour
        # searches) and, through check_solve_options, before a batch reads any image.
        usable = [
            repr(other)
            for other, other_spec in PRECONDITIONERS.items()
            if other_spec.module is not None and spec.takes(other)
        ]
        raise ValueError(
            f"preconditioner {name!r} needs {_NEED_WORDS[missing[0]]}, which the systems of "
            f"alpha method {method!r} do not have; use "
            + (f"{', '.join(usable[:-1])} or {usable[-1]}" if len(usable) > 1 else usable[0])
        )
    if name == "direct":
        from vecmatte.preconditioners.direct import check_factor_for_method

        check_factor_for_method(method, options, grid="reach" not in spec.lacks)
    return name, options


_NEED_WORDS = {
    "matrix": "an explicit sparse matrix",
    "stencil": "a pixel stencil",
    "coarse": "a coarse level (an explicit sparse matrix or a Galerkin product)",
}
