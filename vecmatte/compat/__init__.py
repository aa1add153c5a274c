"""Compatibility with other matting libraries' APIs, for their users and their applications.

:mod:`vecmatte.compat.pymatting` has PyMatting 1.1.16's API with its names and
conventions; :func:`install_pymatting` makes ``import pymatting...`` resolve to them, so that an
application written for PyMatting (rembg, ComfyUI nodes) runs on vecmatte unchanged.
"""

from __future__ import annotations

import importlib.machinery
import sys
import types
import warnings

__all__ = ["install_pymatting"]

_UTIL = (
    "apply_to_channels", "blend", "div_round_up", "fix_trimap", "grid_coordinates", "isiterable",
    "load_image", "make_grid", "mat_vec_dot", "normalize", "normalize_rows",
    "remove_background_bicolor", "row_sum", "sanity_check_image", "save_image", "show_images",
    "sparse_conv_matrix", "sparse_conv_matrix_with_offsets", "stack_images", "to_rgb8",
    "trimap_split", "vec_vec_dot", "vec_vec_outer", "weights_to_laplacian",
)  # fmt: skip
_UTIL_MODULES = {
    "boxfilter": ("boxfilter",),
    "distance": ("distance_transform",),
    "kdtree": ("KDTree", "knn"),
    "timer": ("Timer",),
}
_ESTIMATORS = ("cf", "knn", "lbdm", "lkm", "rw", "sm")
_LAPLACIAN_FUNCTIONS = ("cf", "knn", "lbdm", "lkm", "rw", "uniform")
_PRECONDITIONERS = ("ichol", "jacobi", "vcycle")
_FOREGROUND = ("estimate_foreground_cf", "estimate_foreground_ml")

# Module path in PyMatting 1.1.16 -> names it exposes; each package re-exports the names of
# its submodules, as PyMatting's do (pymatting.alpha.estimate_alpha_cf is the function).
_SUBMODULES = {
    **{f"pymatting.alpha.estimate_alpha_{m}": (f"estimate_alpha_{m}",) for m in _ESTIMATORS},
    **{f"pymatting.foreground.{name}": (name,) for name in _FOREGROUND},
    **{f"pymatting.laplacian.{m}_laplacian": (f"{m}_laplacian",) for m in _LAPLACIAN_FUNCTIONS},
    "pymatting.laplacian.laplacian": ("make_linear_system",),
    **{f"pymatting.preconditioner.{name}": (name,) for name in _PRECONDITIONERS},
    "pymatting.solver.cg": ("cg",),
    "pymatting.solver.callback": ("CounterCallback", "ProgressCallback"),
    "pymatting.util.util": _UTIL,
    **{f"pymatting.util.{module}": names for module, names in _UTIL_MODULES.items()},
    "pymatting.cutout.cutout": ("cutout",),
}
# Names PyMatting's module holds but its packages do not re-export.
_MODULE_ONLY = {"pymatting.preconditioner.ichol": ("CholeskyDecomposition",)}
# Modules that PyMatting's star imports leave as attributes of ``pymatting``.
_TOP_LEVEL_MODULES = {
    "callback": "pymatting.solver.callback",
    "distance": "pymatting.util.distance",
    "kdtree": "pymatting.util.kdtree",
    "timer": "pymatting.util.timer",
}
_EXTRA = {
    "pymatting.alpha": ("estimate_alpha",),
    "pymatting.foreground": ("estimate_foreground",),
    "pymatting.laplacian": ("LAPLACIANS", "LAPLACIAN_OPERATORS"),
}


def _module_table() -> dict[str, tuple[bool, tuple[str, ...]]]:
    """Every module path -> (is a package, names), packages holding their submodules' names."""
    table: dict[str, tuple[bool, tuple[str, ...]]] = {}
    packages: dict[str, list[str]] = {"pymatting": []}
    for path, names in _SUBMODULES.items():
        table[path] = (False, names)
        package = path.rpartition(".")[0]
        packages.setdefault(package, []).extend(names)
        packages["pymatting"].extend(names)
    for package, names in _EXTRA.items():
        packages[package].extend(names)
        packages["pymatting"].extend(names)
    for package, names in packages.items():
        table[package] = (True, tuple(dict.fromkeys(names)))
    for path, names in _MODULE_ONLY.items():
        table[path] = (False, table[path][1] + names)
    # PyMatting's pymatting.config is an empty package (imported by nobody in PyMatting).
    table["pymatting.config"] = (True, ())
    return table


_MODULES = _module_table()

_MARKER = "__vecmatte_shim__"


def _missing(module_name: str, provided: tuple[str, ...]):
    names = f"only {', '.join(provided)}" if provided else "no names (as PyMatting's)"

    def __getattr__(name: str):
        raise AttributeError(
            f"module {module_name!r} has no attribute {name!r}: it is vecmatte's PyMatting shim "
            f"(vecmatte.compat.install_pymatting), which provides {names}"
        )

    return __getattr__


def _make_module(name: str, is_package: bool, names: tuple[str, ...], api) -> types.ModuleType:
    module = types.ModuleType(name, f"vecmatte's stand-in for {name} (see vecmatte.compat).")
    module.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=is_package)
    module.__loader__ = None
    # The file of the code that stands in (PyMatting's modules are files too: code reading
    # pymatting.__file__ to print or to build a path gets a path, not an AttributeError).
    module.__file__ = api.__file__
    module.__package__ = name if is_package else name.rpartition(".")[0]
    if is_package:
        # An empty search path: submodules the shim does not provide fail with
        # ModuleNotFoundError instead of being loaded from a real PyMatting next to it.
        module.__path__ = []
    for attribute in names:
        setattr(module, attribute, getattr(api, attribute))
    module.__all__ = list(names)
    module.__getattr__ = _missing(name, names)
    setattr(module, _MARKER, True)
    return module


def install_pymatting() -> types.ModuleType:
    """Make ``import pymatting`` and its submodules resolve to vecmatte's shim.

    Registers module objects in :data:`sys.modules` for ``pymatting`` and PyMatting 1.1.16's
    module paths (``pymatting.alpha.estimate_alpha_cf``, ``pymatting.laplacian.laplacian``,
    ``pymatting.util.util``, ``pymatting.util.boxfilter``, ``pymatting.solver.callback`` ...),
    each holding the functions of :mod:`vecmatte.compat.pymatting` that PyMatting's module
    holds; packages re-export their submodules' names, as PyMatting's do.

    Call it before the application imports PyMatting (for rembg: before ``import rembg``).
    It takes precedence over an installed PyMatting, which is then never imported (nor numba).
    Calling it again does nothing. It holds for the calling process: processes started by
    ``spawn`` or ``forkserver`` (multiprocessing's default on macOS and Windows, and for
    ProcessPoolExecutor there) start without it, so call it at the top of the module that
    imports the application, or in the pool's ``initializer``.

    Returns
    -------
    module
        The ``pymatting`` stand-in.

    Warns
    -----
    UserWarning
        If the real PyMatting was already imported: its modules are replaced, but code that
        already imported its functions keeps using them.

    Notes
    -----
    Names the shim lacks (the GPU foreground modules ``estimate_foreground_ml_cupy`` and
    ``_pyopencl``) raise ``AttributeError`` or ``ImportError``; ``pymatting.config`` is
    empty, as PyMatting's. Every module's ``__file__`` is that of
    :mod:`vecmatte.compat.pymatting`. The functions follow PyMatting's conventions (see
    :mod:`vecmatte.compat.pymatting`).

    Examples
    --------
    >>> from vecmatte.compat import install_pymatting
    >>> _ = install_pymatting()
    >>> from pymatting.alpha.estimate_alpha_cf import estimate_alpha_cf
    >>> estimate_alpha_cf.__module__
    'vecmatte.compat.pymatting'
    """
    current = sys.modules.get("pymatting")
    if getattr(current, _MARKER, False):
        return current
    real = sorted(
        name
        for name, module in sys.modules.items()
        if module is not None and (name == "pymatting" or name.startswith("pymatting."))
    )
    if real:
        warnings.warn(
            "PyMatting was imported before vecmatte.compat.install_pymatting(); its modules are "
            "replaced, but code that already imported its functions keeps using PyMatting. "
            "Call install_pymatting() before importing the application.",
            UserWarning,
            stacklevel=2,
        )
    # Drop every real PyMatting module, so that no half-real package is left behind.
    for name in [
        name for name in sys.modules if name == "pymatting" or name.startswith("pymatting.")
    ]:
        del sys.modules[name]

    from vecmatte.compat import pymatting as api

    modules = {
        name: _make_module(name, is_package, names, api)
        for name, (is_package, names) in _MODULES.items()
    }
    modules["pymatting"].__version__ = api.PYMATTING_VERSION
    for name, module in modules.items():
        parent, _, child = name.rpartition(".")
        # PyMatting's packages re-export functions named like their submodules
        # (pymatting.alpha.estimate_alpha_cf is the function): keep the function there.
        if parent and child not in modules[parent].__all__:
            setattr(modules[parent], child, module)
    for attribute, name in _TOP_LEVEL_MODULES.items():
        setattr(modules["pymatting"], attribute, modules[name])
    sys.modules.update(modules)
    return modules["pymatting"]
