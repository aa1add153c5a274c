"""Package-level promises: cheap imports, no optional dependency at module level, public names."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import vecmatte

# Heavy or optional modules. pymatting always imports numba, so "numba" also catches it.
HEAVY = ["scipy.sparse.linalg", "skimage"]
OPTIONAL = ["numba", "cv2", "rembg", "dask", "distributed", "matplotlib", "torch"]


def _modules_after(code: str) -> set[str]:
    """Names in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    return set(json.loads(output.strip().splitlines()[-1]))


def _loaded(modules: set[str], names: list[str]) -> list[str]:
    return [
        name for name in names if name in modules or any(m.startswith(name + ".") for m in modules)
    ]


def test_import_is_cheap():
    modules = _modules_after("import vecmatte")
    assert _loaded(modules, HEAVY + OPTIONAL) == []


def test_command_line_parser_is_cheap():
    # `vecmatte --help` should not pay for the solvers or scikit-image.
    modules = _modules_after("from vecmatte.cli import build_parser; build_parser()")
    assert _loaded(modules, HEAVY + OPTIONAL) == []


def test_no_optional_dependency_at_module_level():
    # Import every module of the package: none may pull in an optional dependency.
    code = (
        "import importlib, pkgutil, vecmatte\n"
        "for info in pkgutil.walk_packages(vecmatte.__path__, 'vecmatte.'):\n"
        "    importlib.import_module(info.name)\n"
    )
    assert _loaded(_modules_after(code), OPTIONAL) == []


def test_import_loads_neither_scipy_nor_skimage():
    modules = _modules_after("import vecmatte")
    assert _loaded(modules, ["scipy", "skimage"]) == []


def test_the_check_can_fail():
    # Guard against a vacuous check: a real use of the solver does load scipy.sparse.linalg
    # (2,259 unknowns: a system of at most 2,000 is solved by a band Cholesky factor without).
    code = (
        "import vecmatte\nscene = vecmatte.make_scene((100, 120), seed=1)\n"
        "vecmatte.estimate_alpha(scene.image, scene.trimap)"
    )
    assert "scipy.sparse.linalg" in _loaded(_modules_after(code), HEAVY)


@pytest.mark.parametrize("name", vecmatte.__all__)
def test_public_names_resolve(name):
    assert getattr(vecmatte, name) is not None
    assert name in dir(vecmatte)


def test_type_checkers_see_exactly_the_public_names():
    # vecmatte/__init__.py imports the public names under TYPE_CHECKING (its module
    # __getattr__ would type them all Any): the same names from the same modules as _EXPORTS,
    # each as an explicit re-export ('name as name').
    import ast

    tree = ast.parse(Path(vecmatte.__file__).read_text(encoding="utf-8"))
    seen = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom), ast.unparse(statement)
                for alias in statement.names:
                    assert alias.asname == alias.name, ast.unparse(statement)
                    seen[alias.name] = statement.module
    assert seen == vecmatte._EXPORTS


def test_unknown_attribute():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        vecmatte.nope  # noqa: B018


@pytest.mark.parametrize(
    "name",
    [
        "matting_laplacian",
        "estimate_alpha",
        "solve_alpha",
        "AlphaResult",
        "PRECONDITIONERS",
        "ConvergenceWarning",
        "cutout",
        "load_image",
        "save_image",
        "make_scene",
    ],
)
def test_core_api_exported(name):
    assert name in vecmatte.__all__


def test_version_matches_metadata():
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("vecmatte")
    except PackageNotFoundError:
        pytest.skip("vecmatte is not installed (running from a source tree)")
    assert installed == vecmatte.__version__


ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    # ```console: these blocks install and run everything, so tests/test_readme.py skips them
    return re.findall(r"```console\n(python3 -m venv .venv && [^\n]*)\n```", readme)


@pytest.mark.skipif(not (ROOT / ".ci" / "run").is_file(), reason="not a source checkout")
def test_ci_runs_the_readme_test_command():
    commands = _readme_commands()
    assert len(commands) == 2, commands
    install_and_demo, install_and_test = commands
    assert install_and_demo.endswith("vecmatte demo")
    assert '".[test]"' in install_and_test and install_and_test.endswith("-m pytest")
    script = (ROOT / ".ci" / "run").read_text().splitlines()
    assert script[0].startswith("#!") and "set -euo pipefail" in script
    assert install_and_test in script  # as a whole line, verbatim


@pytest.mark.skipif(not (ROOT / "README.md").is_file(), reason="not a source checkout")
def test_readme_python_examples_run(tmp_path, monkeypatch):
    # The library examples of the README run as written (files made from a synthetic scene).
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Use it from Python", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) >= 2
    scene = vecmatte.make_scene((40, 50), seed=0)
    monkeypatch.chdir(tmp_path)
    vecmatte.save_image("photo.png", scene.image)
    vecmatte.save_image("trimap.png", scene.trimap)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
    assert (tmp_path / "alpha.png").is_file() and (tmp_path / "cutout.png").is_file()


# --- the shape of the package (issue 12) ------------------------------------------------------

PACKAGE = ROOT / "vecmatte"
MAX_LINES = 600


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _package_modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


_TYPE_CHECKING = {"TYPE_CHECKING", "typing.TYPE_CHECKING"}


def _imports(path: Path, name: str, modules) -> list[tuple[str, str, int]]:
    """``(module, imported name, line)`` for every import in the file, at any depth.

    ``from X import Y`` counts as an import of ``X.Y`` when that is a module of the package
    (a submodule import: it needs ``X``'s ``__init__`` only to exist), else of ``X``. The
    implicit import of parent packages is not counted: ``vecmatte/__init__.py`` resolves its
    names lazily and imports nothing at module level.
    """
    import ast

    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(), str(path))
    # Imports under `if TYPE_CHECKING:` never run (type checkers read them): not counted.
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test) in _TYPE_CHECKING
        for statement in node.body
        for inner in ast.walk(statement)
    }
    found = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found += [(alias.name, "", node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if submodule in modules:
                    found.append((submodule, "", node.lineno))
                else:
                    found.append((base, alias.name, node.lineno))
    return found


def test_no_import_cycle_counting_imports_inside_functions():
    modules = _package_modules()
    graph = {
        name: sorted(
            {target for target, _, _ in _imports(path, name, modules) if target in modules}
        )
        for name, path in modules.items()
    }
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for target in graph[node]:
            if state.get(target) == 1:
                cycle = [*path[path.index(target) :], target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        path.pop()
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node)


def test_the_cycle_check_sees_function_level_imports():
    modules = _package_modules()
    found = _imports(modules["vecmatte.alpha._pipeline"], "vecmatte.alpha._pipeline", modules)
    assert "vecmatte.memory" in {target for target, _, _ in found}  # imported inside run_method


def test_no_private_name_is_imported_across_modules():
    modules = _package_modules()
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {target}.{imported}"
        for name, path in modules.items()
        for target, imported, line in _imports(path, name, modules)
        if target.startswith("vecmatte")
        and imported.startswith("_")
        and not imported.startswith("__")
    ]
    assert offenders == []


def _long_files(folder: str) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}: {lines} lines"
        for path in sorted((ROOT / folder).rglob("*.py"))
        if not any(part.startswith(".") for part in path.relative_to(ROOT).parts)  # caches
        and (lines := len(path.read_text().splitlines())) > MAX_LINES
    ]


def test_no_library_file_over_600_lines():
    assert _long_files("vecmatte") == []


@pytest.mark.skipif(not (ROOT / "bench").is_dir(), reason="not a source checkout")
def test_no_bench_file_over_600_lines():
    assert _long_files("bench") == []
