"""Graph Laplacians of images, one module per Laplacian.

:data:`LAPLACIANS` maps a name to ``"module:function"``; the function takes
``(image, *, options)`` and returns a ``scipy.sparse.csr_matrix`` ``(n, n)`` over all pixels
(``n = h * w``, row-major). Modules are imported only when :func:`get_laplacian` is called.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

__all__ = ["LAPLACIANS", "get_laplacian"]

LAPLACIANS: dict[str, str] = {
    "closed_form": "vecmatte.laplacians.closed_form:matting_laplacian",
    "knn": "vecmatte.laplacians.knn:knn_laplacian",
    "lbdm": "vecmatte.laplacians.lbdm:lbdm_laplacian",
    "random_walk": "vecmatte.laplacians.random_walk:rw_laplacian",
    "large_kernel": "vecmatte.laplacians.large_kernel:lkm_laplacian",
    "uniform": "vecmatte.laplacians.uniform:uniform_laplacian",
    "information_flow": "vecmatte.laplacians.information_flow:information_flow_laplacian",
}


def get_laplacian(name: str) -> Callable:
    """The Laplacian function registered as ``name`` in :data:`LAPLACIANS`.

    Parameters
    ----------
    name : str
        A key of :data:`LAPLACIANS`.

    Returns
    -------
    callable
        The function, imported on first use.

    Raises
    ------
    ValueError
        If ``name`` is not registered.
    """
    try:
        target = LAPLACIANS[name]
    except KeyError:
        raise ValueError(
            f"unknown Laplacian {name!r}; choose one of {sorted(LAPLACIANS)}"
        ) from None
    module, function = target.split(":")
    return getattr(importlib.import_module(module), function)
