"""Alpha matting methods behind one pipeline.

:data:`METHODS` names every method (:mod:`vecmatte.alpha._registry`); :func:`estimate_alpha`
and :func:`solve_alpha` run any of them: validate the inputs, check the memory, build the
method's system, precondition, solve by conjugate gradient, clip.
"""

from __future__ import annotations

from vecmatte.alpha._pipeline import (
    SOLVE_KEYWORDS,
    AlphaResult,
    NoUnknownPixelsWarning,
    check_solve_options,
    estimate_alpha,
    run_method,
    solve_alpha,
)
from vecmatte.alpha._registry import METHODS, MethodSpec, get_method

__all__ = [
    "METHODS",
    "SOLVE_KEYWORDS",
    "AlphaResult",
    "MethodSpec",
    "NoUnknownPixelsWarning",
    "check_solve_options",
    "estimate_alpha",
    "get_method",
    "run_method",
    "solve_alpha",
]
