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
    "matting_laplacian": "vecmatte.laplacians.closed_form",
    "estimate_alpha": "vecmatte.alpha",
    "solve_alpha": "vecmatte.alpha",
    "AlphaResult": "vecmatte.alpha",
    "ConvergenceWarning": "vecmatte.linalg.cg",
    "PRECONDITIONERS": "vecmatte.preconditioners",
    "cutout": "vecmatte.compose",
    "composite": "vecmatte.compose",
    "estimate_foreground": "vecmatte.foreground",
    "estimate_foreground_background": "vecmatte.foreground",
    "scribbles_to_trimap": "vecmatte.trimap",
    "load_image": "vecmatte.io",
    "load_trimap": "vecmatte.io",
    "save_image": "vecmatte.io",
    "trimap_split": "vecmatte.trimap",
    "make_scene": "vecmatte.synthetic",
    "Scene": "vecmatte.synthetic",
    "sad": "vecmatte.metrics",
    "mse": "vecmatte.metrics",
    "gradient_error": "vecmatte.metrics",
    "connectivity_error": "vecmatte.metrics",
    "matting_errors": "vecmatte.metrics",
    "run_batch_on_cluster": "vecmatte.distributed",
    "AlphaChannelIgnoredWarning": "vecmatte.io",
    "ImageTooLargeError": "vecmatte.io",
    "trimap_from_mask": "vecmatte.trimap",
    "estimate_solve_memory": "vecmatte.memory",
    "check_memory": "vecmatte.memory",
    "InsufficientMemoryError": "vecmatte.memory",
    "BatchTask": "vecmatte.batch",
    "BatchRecord": "vecmatte.batch",
    "find_tasks": "vecmatte.batch",
    "process_task": "vecmatte.batch",
    "run_batch": "vecmatte.batch",
}

# Spelled out (not derived from _EXPORTS) so that linters and readers see the public API;
# tests/test_package.py checks that the two agree.
__all__ = [
    "PRECONDITIONERS",
    "AlphaChannelIgnoredWarning",
    "AlphaResult",
    "BatchRecord",
    "BatchTask",
    "ConvergenceWarning",
    "ImageTooLargeError",
    "InsufficientMemoryError",
    "Scene",
    "__version__",
    "check_memory",
    "composite",
    "connectivity_error",
    "cutout",
    "estimate_alpha",
    "estimate_foreground",
    "estimate_foreground_background",
    "estimate_solve_memory",
    "find_tasks",
    "gradient_error",
    "load_image",
    "load_trimap",
    "make_scene",
    "matting_errors",
    "matting_laplacian",
    "mse",
    "process_task",
    "run_batch",
    "run_batch_on_cluster",
    "sad",
    "save_image",
    "scribbles_to_trimap",
    "solve_alpha",
    "trimap_from_mask",
    "trimap_split",
]

if TYPE_CHECKING:
    from vecmatte.alpha import AlphaResult, estimate_alpha, solve_alpha
    from vecmatte.batch import BatchRecord, BatchTask, find_tasks, process_task, run_batch
    from vecmatte.compose import composite, cutout
    from vecmatte.distributed import run_batch_on_cluster
    from vecmatte.foreground import estimate_foreground, estimate_foreground_background
    from vecmatte.io import (
        AlphaChannelIgnoredWarning,
        ImageTooLargeError,
        load_image,
        load_trimap,
        save_image,
    )
    from vecmatte.laplacians.closed_form import matting_laplacian
    from vecmatte.linalg.cg import ConvergenceWarning
    from vecmatte.memory import InsufficientMemoryError, check_memory, estimate_solve_memory
    from vecmatte.metrics import connectivity_error, gradient_error, matting_errors, mse, sad
    from vecmatte.preconditioners import PRECONDITIONERS
    from vecmatte.synthetic import Scene, make_scene
    from vecmatte.trimap import scribbles_to_trimap, trimap_from_mask, trimap_split


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'vecmatte' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
