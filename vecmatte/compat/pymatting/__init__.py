"""PyMatting 1.1.16's API with its names and conventions, running on vecmatte.

The modules mirror PyMatting's packages: :mod:`.alpha`, :mod:`.foreground`, :mod:`.laplacian`,
:mod:`.preconditioner`, :mod:`.solver`, :mod:`.util` (with :mod:`.filters` for PyMatting's
``util.boxfilter``, ``util.distance`` and ``util.kdtree``, and :mod:`.grid` for its
``make_grid``, ``show_images`` and ``to_rgb8``) and :mod:`.cutout`; every public
name is also here, as in ``pymatting``.

Every function has the name, the positional order, the defaults and the return values of
the PyMatting function it stands for (dtypes, shapes and memory order included: float32 in,
float32 out where PyMatting does so), and raises the same exception types where callers rely
on them (``ValueError`` for a trimap without foreground or background, and when conjugate
gradient does not converge). Where PyMatting fails with ``assert``, ``TypeError`` or
``KeyError`` on a bad value, the shim raises :class:`PyMattingAssertionError`,
:class:`PyMattingTypeError` or :class:`PyMattingKeyError`: each both PyMatting's type and
vecmatte's ``ValueError``, with a message naming the value (and, unlike an ``assert``, not
skipped by ``python -O``). ``tests/test_compat_differential.py`` checks all this call by call
against the real PyMatting.

Where the shim differs on purpose:

- uint8/uint16 images, trimaps and alphas are scaled to [0, 1] (PyMatting computes with
  0-255 values, or fails inside numba); ``(h, w, 1)`` alphas and trimaps are accepted
  (results keep the trimap's shape, as PyMatting's); float32, Fortran-order and strided
  arrays are accepted everywhere (some of PyMatting's numba kernels refuse them).
- Refused with a one-line ``ValueError`` where PyMatting goes on: images or trimaps with
  values outside [0, 1] (PyMatting warns), NaN or infinite values (PyMatting reads NaN
  trimap pixels as unknown), options outside their meaningful range (``radius=0``,
  ``epsilon=0``, ``n_neighbors`` and ``distance_weights`` of different lengths, ``vcycle``
  sweep counts below 0 and ``omega`` of 0 or below, NaN or infinite: no preconditioner),
  closed-form and learning-based Laplacians of images smaller than one window (PyMatting's
  has no entry then) and a random walk of one pixel, an alpha of another size than its
  image, signed integers stacked with floats, saving NaN or two-channel arrays.
- Images of more than three channels (RGBA arrays) go where PyMatting takes them: the random
  walk and large-kernel Laplacians and estimators use every channel, the learning-based ones
  the first three, ``uniform_laplacian`` none, the foreground estimators each; closed-form,
  KNN and sampling matting fail as PyMatting's (AssertionError, ValueError).
- ``cg`` given an ``A`` or ``M`` that is neither a function nor has ``.dot`` raises
  ``TypeError`` naming it (PyMatting fails later with ``AttributeError: ... has no attribute
  'dot'``).
- A trimap without unknown pixels returns its own values (PyMatting divides 0 by 0 for
  ``maxiter`` iterations, then raises).
- ``estimate_alpha_cf`` runs vecmatte's closed-form pipeline (the same system, another
  preconditioner; alphas within the solver tolerance, about 1e-7), unless given a
  preconditioner function or ``cg_kwargs`` only PyMatting's solve takes (see its Notes).
  ``estimate_foreground_ml`` relaxes in red-black order instead of raster order (the same
  fixed point; colours where alpha > 0.1 within about 1e-3 on average; like PyMatting's,
  it starts black when alpha has no pixel above 0.9, or none below 0.1), and
  ``estimate_foreground_cf`` is vecmatte's closed-form foreground (8 neighbours, other
  colours where alpha is near 0). ``ichol`` factors completely (nothing is discarded; its
  factor also solves ``(n, k)`` columns and float32 vectors, where PyMatting's raises
  TypeError), ``vcycle`` leaves ``cache`` empty.
- Files: ``load_image`` reads 16-bit files by 65535 and float files as they are (PyMatting
  divides every file by 255); ``save_image`` rounds to the nearest 8-bit level (PyMatting
  truncates) and writes atomically.
- RGB trimaps are averaged to one channel; integer images mixed with float ones in
  ``stack_images`` and ``blend`` are scaled first.
- Nothing is printed: ``ProgressCallback`` and ``Timer`` write to stderr, ``ichol``'s
  "PERFORMANCE WARNING" is a ``RuntimeWarning``.

The alpha estimators other than ``estimate_alpha_cf`` build PyMatting's own linear systems
(soft constraints over all pixels; the KNN and random walk matrices are not symmetric, and
``rw_laplacian`` ignores ``sigma``, as in PyMatting) from vecmatte's vectorized Laplacians.
vecmatte's own methods (``vecmatte.estimate_alpha(image, trimap, method=...)``) solve
equivalent symmetric systems instead. numba is never imported.

``estimate_alpha_cf`` and the foreground estimators map PyMatting's option dictionaries
(``laplacian_kwargs``, ``cg_kwargs``) onto vecmatte's keywords; keys vecmatte has no
equivalent for raise ``TypeError`` naming the key and the accepted ones, instead of being
silently ignored.

To run an application that imports ``pymatting`` (such as rembg) on these functions without
editing it, see :func:`vecmatte.compat.install_pymatting`.
"""

from __future__ import annotations

from vecmatte.compat.pymatting._common import (
    PyMattingAssertionError,
    PyMattingKeyError,
    PyMattingTypeError,
)
from vecmatte.compat.pymatting.alpha import (
    estimate_alpha,
    estimate_alpha_cf,
    estimate_alpha_knn,
    estimate_alpha_lbdm,
    estimate_alpha_lkm,
    estimate_alpha_rw,
    estimate_alpha_sm,
)
from vecmatte.compat.pymatting.cutout import cutout
from vecmatte.compat.pymatting.filters import KDTree, boxfilter, distance_transform, knn
from vecmatte.compat.pymatting.foreground import (
    estimate_foreground,
    estimate_foreground_cf,
    estimate_foreground_ml,
)
from vecmatte.compat.pymatting.grid import make_grid, show_images, to_rgb8
from vecmatte.compat.pymatting.laplacian import (
    LAPLACIAN_OPERATORS,
    LAPLACIANS,
    cf_laplacian,
    knn_laplacian,
    lbdm_laplacian,
    lkm_laplacian,
    make_linear_system,
    rw_laplacian,
    uniform_laplacian,
)
from vecmatte.compat.pymatting.preconditioner import CholeskyDecomposition, ichol, jacobi, vcycle
from vecmatte.compat.pymatting.solver import CounterCallback, ProgressCallback, cg
from vecmatte.compat.pymatting.util import (
    Timer,
    apply_to_channels,
    blend,
    div_round_up,
    fix_trimap,
    grid_coordinates,
    isiterable,
    load_image,
    mat_vec_dot,
    normalize,
    normalize_rows,
    remove_background_bicolor,
    row_sum,
    sanity_check_image,
    save_image,
    sparse_conv_matrix,
    sparse_conv_matrix_with_offsets,
    stack_images,
    trimap_split,
    vec_vec_dot,
    vec_vec_outer,
    weights_to_laplacian,
)

PYMATTING_VERSION = "1.1.16"

__all__ = [
    "LAPLACIANS",
    "LAPLACIAN_OPERATORS",
    "PYMATTING_VERSION",
    "CholeskyDecomposition",
    "CounterCallback",
    "KDTree",
    "ProgressCallback",
    "PyMattingAssertionError",
    "PyMattingKeyError",
    "PyMattingTypeError",
    "Timer",
    "apply_to_channels",
    "blend",
    "boxfilter",
    "cf_laplacian",
    "cg",
    "cutout",
    "distance_transform",
    "div_round_up",
    "estimate_alpha",
    "estimate_alpha_cf",
    "estimate_alpha_knn",
    "estimate_alpha_lbdm",
    "estimate_alpha_lkm",
    "estimate_alpha_rw",
    "estimate_alpha_sm",
    "estimate_foreground",
    "estimate_foreground_cf",
    "estimate_foreground_ml",
    "fix_trimap",
    "grid_coordinates",
    "ichol",
    "isiterable",
    "jacobi",
    "knn",
    "knn_laplacian",
    "lbdm_laplacian",
    "lkm_laplacian",
    "load_image",
    "make_grid",
    "make_linear_system",
    "mat_vec_dot",
    "normalize",
    "normalize_rows",
    "remove_background_bicolor",
    "row_sum",
    "rw_laplacian",
    "sanity_check_image",
    "save_image",
    "show_images",
    "sparse_conv_matrix",
    "sparse_conv_matrix_with_offsets",
    "stack_images",
    "to_rgb8",
    "trimap_split",
    "uniform_laplacian",
    "vcycle",
    "vec_vec_dot",
    "vec_vec_outer",
    "weights_to_laplacian",
]

# Public objects report this package as their module (as PyMatting's report ``pymatting``):
# the submodules are an implementation detail of the shim.
for _name in __all__:
    _object = globals()[_name]
    if callable(_object) and getattr(_object, "__module__", "").startswith(__name__):
        _object.__module__ = __name__
del _name, _object
