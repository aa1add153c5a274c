"""Every example in vecmatte's docstrings runs and shows what it says (doctest).

The same examples as ``python -m pytest --doctest-modules vecmatte``, so that the README's
test command (``python -m pytest``, which collects ``tests/`` only) checks them too. The
files are found by their ``>>>`` lines: an example added anywhere runs without a change here.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import sys
from pathlib import Path

import pytest

import vecmatte

PACKAGE = Path(vecmatte.__file__).resolve().parent
FILES = sorted(
    path.relative_to(PACKAGE.parent).as_posix()
    for path in PACKAGE.rglob("*.py")
    if ">>>" in path.read_text(encoding="utf-8")
)


def _written_in(module, test: doctest.DocTest) -> str:
    """The file whose docstring holds ``test``: doctest names the module's file, but a
    function re-exported by its package (compat's ``cg``) is written in another one."""
    thing = module
    for attribute in test.name.removeprefix(module.__name__).split(".")[1:]:
        thing = getattr(thing, attribute)
    try:
        file = inspect.getsourcefile(inspect.unwrap(thing)) or test.filename
    except TypeError:  # a property or a constant: no source file of its own
        file = test.filename
    return Path(file).resolve().relative_to(PACKAGE.parent).as_posix()


def _examples_by_file() -> dict[str, list[doctest.DocTest]]:
    """Each file's docstring examples, found from the modules as doctest finds them."""
    found: dict[str, dict[str, doctest.DocTest]] = {}
    names = set()
    for file in FILES:
        parts = file.removesuffix(".py").split("/")
        parts = parts[:-1] if parts[-1] == "__init__" else parts
        # The packages above too: doctest finds a function re-exported by its package (compat's
        # cg) only there.
        names.update(".".join(parts[:end]) for end in range(1, len(parts) + 1))
    for name in sorted(names):
        module = importlib.import_module(name)
        for test in doctest.DocTestFinder().find(module):
            if test.examples:
                found.setdefault(_written_in(module, test), {})[test.name] = test
    return {file: list(tests.values()) for file, tests in found.items()}


@pytest.fixture(scope="module")
def examples() -> dict[str, list[doctest.DocTest]]:
    return _examples_by_file()


@pytest.fixture
def pymatting_modules_restored():
    """install_pymatting's example replaces ``pymatting*`` in sys.modules: put them back."""

    def pymatting_names() -> list[str]:
        return [name for name in sys.modules if name.split(".")[0] == "pymatting"]

    saved = {name: sys.modules.pop(name) for name in pymatting_names()}
    yield
    for name in pymatting_names():
        del sys.modules[name]
    sys.modules.update(saved)


@pytest.mark.parametrize("file", FILES)
def test_docstring_examples_run(file, examples, pymatting_modules_restored):
    tests = examples.get(file, [])
    assert tests, f"{file} has '>>>' lines but doctest finds no example in it"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    report: list[str] = []
    for test in tests:
        runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)
