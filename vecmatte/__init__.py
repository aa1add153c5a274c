"""vecmatte: alpha matting in vectorized NumPy/SciPy.

The public names below are imported on first use, so that ``import vecmatte`` stays cheap
(NumPy, SciPy and scikit-image load only when a function needs them).
"""

from __future__ import annotations

import importlib
import logging

__version__ = "0.1.0"

# Stage messages of long computations are logged at INFO on loggers under "vecmatte"; as a
# library, it prints nothing of its own: the application (or the CLI) adds handlers.
logging.getLogger(__name__).addHandler(logging.NullHandler())

# The one list of public names: name -> module that defines it, imported on first use
# (PEP 562 module __getattr__).
_EXPORTS = {
    "matting_laplacian": "vecmatte.laplacians.closed_form",
    "estimate_alpha": "vecmatte.alpha",
    "solve_alpha": "vecmatte.alpha",
    "AlphaResult": "vecmatte.alpha",
    "ConvergenceWarning": "vecmatte.linalg.cg",
    "METHODS": "vecmatte.alpha",
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
    "run_batch_on_cluster": "vecmatte.batch.dask",
    "AlphaChannelIgnoredWarning": "vecmatte.io",
    "AlphaChannelUsedWarning": "vecmatte.io",
    "LossyTrimapWarning": "vecmatte.io",
    "SampleRangeWarning": "vecmatte.io",
    "ExtraFramesWarning": "vecmatte.io",
    "ImageMetadataWarning": "vecmatte.io",
    "NoUnknownPixelsWarning": "vecmatte.alpha",
    "SlowSolveWarning": "vecmatte._radius_cost",
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

#: The public API: every name above plus the version. Nothing else lists it.
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'vecmatte' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
