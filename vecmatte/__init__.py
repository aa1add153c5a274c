"""vecmatte: closed-form alpha matting in vectorized NumPy/SciPy.

The public names below are imported on first use, so that ``import vecmatte`` stays cheap
(SciPy's sparse solvers and scikit-image load only when a function needs them).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "matting_laplacian": "vecmatte.laplacian",
    "estimate_alpha": "vecmatte.alpha",
    "solve_alpha": "vecmatte.alpha",
    "AlphaResult": "vecmatte.alpha",
    "ConvergenceWarning": "vecmatte.solve",
    "PRECONDITIONERS": "vecmatte.preconditioners",
    "cutout": "vecmatte.compose",
    "load_image": "vecmatte.io",
    "load_trimap": "vecmatte.io",
    "save_image": "vecmatte.io",
    "trimap_split": "vecmatte.trimap",
    "make_scene": "vecmatte.synthetic",
    "Scene": "vecmatte.synthetic",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:
    from vecmatte.alpha import AlphaResult, estimate_alpha, solve_alpha
    from vecmatte.compose import cutout
    from vecmatte.io import load_image, load_trimap, save_image
    from vecmatte.laplacian import matting_laplacian
    from vecmatte.preconditioners import PRECONDITIONERS
    from vecmatte.solve import ConvergenceWarning
    from vecmatte.synthetic import Scene, make_scene
    from vecmatte.trimap import trimap_split


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'vecmatte' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
