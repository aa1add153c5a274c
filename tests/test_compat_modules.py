"""The modules install_pymatting registers look like PyMatting's where code looks at them.

PyMatting 1.1.16 (read from its source): ``pymatting/config/__init__.py`` is an empty
package; every module is a file (``__file__``); its star imports leave the modules
``callback``, ``distance``, ``kdtree`` and ``timer`` as attributes of ``pymatting``; and
``pymatting.preconditioner.ichol`` holds the class ``CholeskyDecomposition`` that ``ichol``
returns (the ``pymatting.preconditioner`` package does not re-export it).
"""

from __future__ import annotations

import importlib
import os
import sys

import pytest

from vecmatte.compat import install_pymatting
from vecmatte.compat import pymatting as pm


@pytest.fixture
def shim():
    """install_pymatting() in this process, restoring the ``pymatting*`` modules after."""
    saved = {n: m for n, m in sys.modules.items() if n == "pymatting" or n.startswith("pymatting.")}
    for name in saved:
        del sys.modules[name]
    yield install_pymatting()
    for name in [n for n in sys.modules if n == "pymatting" or n.startswith("pymatting.")]:
        del sys.modules[name]
    sys.modules.update(saved)


def test_pymatting_config_imports_and_is_empty(shim):
    # The old shim raised ModuleNotFoundError for `import pymatting.config`.
    config = importlib.import_module("pymatting.config")
    from pymatting import config as same

    assert same is config
    assert [name for name in vars(config) if not name.startswith("_")] == []
    with pytest.raises(AttributeError, match="provides no names"):
        _ = config.anything


def test_every_module_has_a_file(shim):
    # The old shim's modules had no __file__: os.path.dirname(pymatting.__file__) failed.
    names = [n for n in sys.modules if n == "pymatting" or n.startswith("pymatting.")]
    assert len(names) > 30
    for name in names:
        assert os.path.isfile(sys.modules[name].__file__), name
    assert os.path.isdir(os.path.dirname(shim.__file__))


def test_modules_left_by_pymattings_star_imports(shim):
    import pymatting

    assert pymatting.callback is sys.modules["pymatting.solver.callback"]
    assert pymatting.distance is sys.modules["pymatting.util.distance"]
    assert pymatting.kdtree.KDTree is pm.KDTree
    assert pymatting.timer.Timer is pm.Timer


def test_the_factor_class_where_pymatting_defines_it(shim):
    from pymatting.preconditioner.ichol import CholeskyDecomposition, ichol

    assert CholeskyDecomposition is pm.CholeskyDecomposition
    assert ichol is pm.ichol
    # as in PyMatting, only the module holds it
    assert "CholeskyDecomposition" not in sys.modules["pymatting.preconditioner"].__all__
