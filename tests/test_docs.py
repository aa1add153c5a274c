"""Every example in vecmatte's docstrings runs and shows what it says (doctest).

The same examples as ``python -m pytest --doctest-modules vecmatte``, so that the README's
test command (``python -m pytest``, which collects ``tests/`` only) checks them too. The
files are found by their ``>>>`` lines: an example added anywhere runs without a change here.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import re
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


def _section(doc: str, name: str) -> str:
    """The text of a numpydoc section (``Returns``, ``Parameters`` ...) of ``doc``."""
    rest = doc.split(f"{name}\n{'-' * len(name)}\n", 1)[1]
    following = re.search(r"^\S.*\n-{3,}$", rest, re.M)  # the next section's heading
    return rest[: following.start()] if following else rest


def test_known_pixels_of_the_matte_are_what_the_docstrings_say():
    # estimate_alpha's Returns said that known pixels "keep their trimap value", and
    # NoUnknownPixelsWarning that "alpha is the trimap itself": a trimap's 0.95 (foreground,
    # > 0.9) is 1 in the matte, its 0.05 is 0, with or without unknown pixels.
    import numpy as np

    scene = vecmatte.make_scene((30, 40), seed=0)
    trimap = np.where(scene.trimap == 1, 0.95, np.where(scene.trimap == 0, 0.05, 0.5))
    alpha = vecmatte.estimate_alpha(scene.image, trimap)
    assert (alpha[trimap == 0.95] == 1).all() and (alpha[trimap == 0.05] == 0).all()
    with pytest.warns(vecmatte.NoUnknownPixelsWarning):
        snapped = vecmatte.estimate_alpha(scene.image, np.where(trimap > 0.5, 0.95, 0.05))
    assert sorted(np.unique(snapped).tolist()) == [0.0, 1.0]
    returns = " ".join(_section(inspect.getdoc(vecmatte.estimate_alpha), "Returns").split())
    assert "known pixels are 1 (trimap > 0.9) or 0 (trimap < 0.1)" in returns
    assert "1 on its foreground, 0 on its background" in vecmatte.NoUnknownPixelsWarning.__doc__


def test_the_image_dtypes_estimate_alpha_says_it_refuses_are_refused():
    import numpy as np

    scene = vecmatte.make_scene((30, 40), seed=0)
    doc = " ".join(inspect.getdoc(vecmatte.estimate_alpha).split())
    assert "signed integers, uint32 and uint64 are refused" in doc
    for dtype in (np.int16, np.int64, np.uint32, np.uint64):
        with pytest.raises(ValueError, match=np.dtype(dtype).name):
            vecmatte.estimate_alpha(np.round(scene.image * 255).astype(dtype), scene.trimap)
    with pytest.raises(ValueError, match="alpha channel"):
        vecmatte.estimate_alpha(np.dstack([scene.image, scene.alpha]), scene.trimap)


def test_cutout_lists_every_foreground_method_it_takes():
    # cutout's docstring offered {"ml", "cf"}; it takes every foreground method.
    from vecmatte.foreground import FOREGROUND_METHODS

    doc = inspect.getdoc(vecmatte.cutout)
    listed = re.search(r"^method : \{([^}]*)\}", doc, re.M).group(1)
    assert sorted(name.strip(' "') for name in listed.split(",")) == sorted(FOREGROUND_METHODS)


@pytest.mark.parametrize("method", sorted(vecmatte.METHODS))
def test_every_option_of_every_method_is_documented_where_estimate_alpha_points(method):
    # estimate_alpha's **options sends readers to the method's build_system (estimate for
    # a method without a linear system): each of its keyword options is described there.
    assert "vecmatte.alpha.<method>.build_system" in " ".join(
        inspect.getdoc(vecmatte.estimate_alpha).split()
    )
    module = importlib.import_module(vecmatte.METHODS[method].module)
    function = getattr(module, "build_system", None) or module.estimate
    described = {
        name.strip()
        for line in _section(inspect.getdoc(function), "Parameters").splitlines()
        if " : " in line and not line.startswith(" ")
        for name in line.partition(" : ")[0].split(",")
    }
    options = [
        parameter.name
        for parameter in inspect.signature(function).parameters.values()
        if parameter.kind is parameter.KEYWORD_ONLY
    ]
    assert options and set(options) <= described, set(options) - described


def test_what_load_image_says_of_a_tilde_and_a_folder_holds(tmp_path, monkeypatch):
    # A quoted "~/photo.png" reaches Python unexpanded: the docstring says what happens.
    import numpy as np

    monkeypatch.setenv("HOME", str(tmp_path))
    vecmatte.save_image(tmp_path / "photo.png", np.zeros((4, 5, 3), np.uint8))
    raises = " ".join(_section(inspect.getdoc(vecmatte.load_image), "Raises").split())
    if "``~`` is not expanded" in raises:
        with pytest.raises(FileNotFoundError):
            vecmatte.load_image("~/photo.png")
    else:
        assert vecmatte.load_image("~/photo.png").shape == (4, 5, 3)
    assert "IsADirectoryError If ``path`` is a folder." in raises
    with pytest.raises(IsADirectoryError):
        vecmatte.load_image(tmp_path)


def test_find_tasks_raises_what_its_docstring_says_for_a_bad_option(tmp_path):
    import numpy as np

    for folder in ("photos", "trimaps"):
        (tmp_path / folder).mkdir()
    scene = vecmatte.make_scene((20, 30), seed=0)
    vecmatte.save_image(tmp_path / "photos" / "a.png", scene.image)
    vecmatte.save_image(
        tmp_path / "trimaps" / "a.png", np.round(scene.trimap * 255).astype(np.uint8)
    )
    raises = " ".join(_section(inspect.getdoc(vecmatte.find_tasks), "Raises").split())
    assert "a solver option is out of its range" in raises and "TypeError" in raises
    folders = (tmp_path / "photos", tmp_path / "trimaps", tmp_path / "out")
    with pytest.raises(ValueError, match="eps"):
        vecmatte.find_tasks(*folders, eps=-1)
    with pytest.raises(TypeError, match="epsilon"):
        vecmatte.find_tasks(*folders, epsilon=1e-6)


def test_convergence_warning_says_when_it_comes_and_that_the_matte_still_does():
    # Its docstring said only "stopped at maxiter": it also comes for a breakdown and for
    # LBDM's flat windows (estimate_alpha's Warns), and the matte is returned all the same.
    doc = " ".join(vecmatte.ConvergenceWarning.__doc__.split())
    assert "stopped at ``maxiter``, or broke down" in doc and "LBDM" in doc
    assert "is still returned" in doc
    scene = vecmatte.make_scene((30, 40), seed=0)
    with pytest.warns(vecmatte.ConvergenceWarning, match="conjugate gradient stopped after 1"):
        alpha = vecmatte.estimate_alpha(
            scene.image, scene.trimap, preconditioner="jacobi", maxiter=1
        )
    assert alpha.shape == (30, 40)
