"""vecmatte: alpha matting in vectorized NumPy/SciPy.

An image (float ``(h, w, 3)`` in [0, 1], or uint8) and a trimap (``(h, w)``: > 0.9
foreground, < 0.1 background, unknown between; a uint8 trimap's 0 / 128 / 255) give the
alpha matte with :func:`estimate_alpha` (``method=`` one of :data:`METHODS`); files are
read by :func:`load_image` and :func:`load_trimap`, a rough mask becomes a trimap with
:func:`trimap_from_mask`, and :func:`cutout` and :func:`composite` use the matte.
``vecmatte --help`` lists the command-line tools.

>>> import vecmatte
>>> scene = vecmatte.make_scene((60, 80), seed=0)  # a composite with known alpha
>>> alpha = vecmatte.estimate_alpha(scene.image, scene.trimap)
>>> alpha.shape, alpha.dtype.name
((60, 80), 'float64')
>>> vecmatte.cutout(scene.image, alpha).shape  # RGBA
(60, 80, 4)

The public names below are imported on first use, so that ``import vecmatte`` stays cheap
(NumPy, SciPy and scikit-image load only when a function needs them).
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING

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
    "ColourProfileWarning": "vecmatte.io",
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

# Type checkers see the public names' own types from these imports (the module __getattr__
# below hides them from them); at run time nothing is imported here: __getattr__ does it on
# first use. tests/test_package.py checks that these imports are exactly _EXPORTS.
if TYPE_CHECKING:  # 'name as name': an explicit re-export (PEP 484)
    from vecmatte._radius_cost import SlowSolveWarning as SlowSolveWarning
    from vecmatte.alpha import METHODS as METHODS
    from vecmatte.alpha import AlphaResult as AlphaResult
    from vecmatte.alpha import NoUnknownPixelsWarning as NoUnknownPixelsWarning
    from vecmatte.alpha import estimate_alpha as estimate_alpha
    from vecmatte.alpha import solve_alpha as solve_alpha
    from vecmatte.batch import BatchRecord as BatchRecord
    from vecmatte.batch import BatchTask as BatchTask
    from vecmatte.batch import find_tasks as find_tasks
    from vecmatte.batch import process_task as process_task
    from vecmatte.batch import run_batch as run_batch
    from vecmatte.batch.dask import run_batch_on_cluster as run_batch_on_cluster
    from vecmatte.compose import composite as composite
    from vecmatte.compose import cutout as cutout
    from vecmatte.foreground import estimate_foreground as estimate_foreground
    from vecmatte.foreground import estimate_foreground_background as estimate_foreground_background
    from vecmatte.io import AlphaChannelIgnoredWarning as AlphaChannelIgnoredWarning
    from vecmatte.io import AlphaChannelUsedWarning as AlphaChannelUsedWarning
    from vecmatte.io import ColourProfileWarning as ColourProfileWarning
    from vecmatte.io import ExtraFramesWarning as ExtraFramesWarning
    from vecmatte.io import ImageMetadataWarning as ImageMetadataWarning
    from vecmatte.io import ImageTooLargeError as ImageTooLargeError
    from vecmatte.io import LossyTrimapWarning as LossyTrimapWarning
    from vecmatte.io import SampleRangeWarning as SampleRangeWarning
    from vecmatte.io import load_image as load_image
    from vecmatte.io import load_trimap as load_trimap
    from vecmatte.io import save_image as save_image
    from vecmatte.laplacians.closed_form import matting_laplacian as matting_laplacian
    from vecmatte.linalg.cg import ConvergenceWarning as ConvergenceWarning
    from vecmatte.memory import InsufficientMemoryError as InsufficientMemoryError
    from vecmatte.memory import check_memory as check_memory
    from vecmatte.memory import estimate_solve_memory as estimate_solve_memory
    from vecmatte.metrics import connectivity_error as connectivity_error
    from vecmatte.metrics import gradient_error as gradient_error
    from vecmatte.metrics import matting_errors as matting_errors
    from vecmatte.metrics import mse as mse
    from vecmatte.metrics import sad as sad
    from vecmatte.preconditioners import PRECONDITIONERS as PRECONDITIONERS
    from vecmatte.synthetic import Scene as Scene
    from vecmatte.synthetic import make_scene as make_scene
    from vecmatte.trimap import scribbles_to_trimap as scribbles_to_trimap
    from vecmatte.trimap import trimap_from_mask as trimap_from_mask
    from vecmatte.trimap import trimap_split as trimap_split


if not TYPE_CHECKING:  # so that a type checker flags a misspelt name instead of typing it Any

    def __getattr__(name: str) -> object:
        module = _EXPORTS.get(name)
        if module is None:
            raise AttributeError(f"module 'vecmatte' has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted(__all__)
