"""The public type hints resolve at run time, without making imports dearer.

Sphinx (autodoc-typehints), typeguard, pydantic's validate_call and IDE help call
``typing.get_type_hints()``, which evaluates a function's annotations in its module: every name
an annotation uses must exist there at run time, not only under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
import subprocess
import sys
import typing

import pytest

import vecmatte


def _exported():
    for name in vecmatte.__all__:
        thing = getattr(vecmatte, name)
        if inspect.isfunction(thing) or inspect.isclass(thing):
            yield name, thing


def _public_modules():
    yield vecmatte
    for found in pkgutil.walk_packages(vecmatte.__path__, "vecmatte."):
        if not any(part.startswith("_") for part in found.name.split(".")[1:]):
            yield importlib.import_module(found.name)


def _public_functions():
    for module in _public_modules():
        names = getattr(module, "__all__", None) or vars(module)
        for name in names:
            thing = getattr(module, name, None)
            if name.startswith("_") or not getattr(thing, "__module__", "").startswith("vecmatte"):
                continue
            if inspect.isfunction(thing):
                yield f"{module.__name__}.{name}", thing
            elif inspect.isclass(thing):
                for attribute, member in vars(thing).items():
                    if inspect.isfunction(member) and not attribute.startswith("_"):
                        yield f"{module.__name__}.{name}.{attribute}", member


# dask is optional (the test extra installs it): without it, only the hints naming its Client
# cannot resolve, and those are left out rather than the whole check.
HAS_DASK = importlib.util.find_spec("distributed") is not None


def _unresolved(things):
    failures = {}
    for name, thing in things:
        try:
            typing.get_type_hints(thing)
        except ModuleNotFoundError as error:
            if HAS_DASK or error.name != "distributed":
                failures[name] = f"{type(error).__name__}: {error}"
        except Exception as error:  # every failure is reported by name
            failures[name] = f"{type(error).__name__}: {error}"
    return failures


def test_the_hints_of_every_exported_name_resolve():
    # Fails on the old code: the aliases (ImageLike, PathOrFile, ...), scipy.sparse and
    # dask's Client were imported under TYPE_CHECKING only (25 NameErrors).
    assert _unresolved(_exported()) == {}


def test_the_hints_of_every_public_function_of_the_public_modules_resolve():
    functions = list(_public_functions())
    assert len(functions) > 100
    assert _unresolved(functions) == {}


def test_the_hints_name_the_real_types():
    from PIL import Image
    from scipy import sparse

    image = typing.get_type_hints(vecmatte.estimate_alpha)["image"]
    assert Image.Image in typing.get_args(image)
    assert typing.get_type_hints(vecmatte.matting_laplacian)["return"] is sparse.csr_matrix
    path = typing.get_type_hints(vecmatte.load_image)["path"]
    assert str in typing.get_args(path)


@pytest.mark.skipif(not HAS_DASK, reason="needs dask (distributed)")
def test_the_optional_dask_client_resolves_to_its_class():
    from distributed import Client

    scheduler = typing.get_type_hints(vecmatte.run_batch)["scheduler"]
    assert Client in typing.get_args(scheduler)


def test_resolvable_hints_import_nothing_more_until_they_are_resolved():
    # Pillow, SciPy and dask load only when a hint naming them is resolved: the modules that
    # take images keep loading neither (an array-only estimate_alpha never needs Pillow).
    code = (
        "import sys, typing\n"
        "import vecmatte.alpha, vecmatte.compose, vecmatte.foreground, vecmatte.io\n"
        "import vecmatte.metrics, vecmatte.memory, vecmatte.trimap, vecmatte.batch\n"
        "import vecmatte.laplacians.closed_form\n"
        "heavy = ('PIL', 'scipy', 'distributed', 'skimage')\n"
        "print(sorted(name for name in heavy if name in sys.modules))\n"
        "typing.get_type_hints(vecmatte.alpha.estimate_alpha)\n"
        "print('PIL.Image' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.split("\n")[:2] == ["[]", "True"]
