"""What ``pip install vecmatte`` gets: the sdist and the wheel built from this source tree.

The package's files (pyproject.toml, MANIFEST.in, README.md, LICENSE, vecmatte/ and what the
sdist carries besides) are copied to a temporary folder and built there with ``python -m build
--no-isolation`` (``build`` and ``setuptools`` come with the test extra: no network, nothing
written into the source tree): the sdist first, then the wheel from the unpacked sdist, as pip
does for a source install. Those tests are skipped when ``build`` or a recent enough setuptools
is missing, or outside a source checkout. The checks of the installed package itself (import
warnings, type hints of the public API) run everywhere.
"""

from __future__ import annotations

import email
import importlib.util
import inspect
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import vecmatte

ROOT = Path(__file__).resolve().parents[1]
# tifffile: imported directly (16-bit colour TIFF), so named, not left to scikit-image's floor.
RUNTIME = {"numpy", "scipy", "pillow", "scikit-image", "tifffile"}
# What the sdist carries besides the package, so that its tests run from the unpacked archive.
SDIST_EXTRA = ["pyproject.toml", "MANIFEST.in", "README.md", "LICENSE", "tests", "bench", "docs"]
DIST_INFO = f"vecmatte-{vecmatte.__version__}.dist-info"


def _setuptools_major() -> int:
    if importlib.util.find_spec("setuptools") is None:
        return 0
    from importlib.metadata import version

    return int(version("setuptools").split(".")[0])


def _ignored(folder: str, names: list[str]) -> list[str]:
    # A working tree's caches are not sources (MANIFEST.in prunes them from the sdist too).
    return [name for name in names if name in {"__pycache__", ".cache", ".hypothesis"}]


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> dict[str, Path]:
    """The sdist and the wheel, built from a copy of the source tree."""
    if not (ROOT / "pyproject.toml").is_file() or not (ROOT / "MANIFEST.in").is_file():
        pytest.skip("not a source checkout")
    if importlib.util.find_spec("build") is None or _setuptools_major() < 77:
        pytest.skip("building needs the test extra's build and setuptools>=77")
    root = tmp_path_factory.mktemp("packaging")
    tree = root / "tree"
    tree.mkdir()
    for name in [*SDIST_EXTRA, ".ci", "vecmatte"]:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tree / name, ignore=_ignored)
        elif source.is_file():
            shutil.copy2(source, tree / name)
    out = root / "dist"
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(tree)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (sdist,) = out.glob("vecmatte-*.tar.gz")
    (wheel,) = out.glob("vecmatte-*-py3-none-any.whl")
    return {"sdist": sdist, "wheel": wheel, "root": root}


@pytest.fixture(scope="module")
def wheel_names(dists) -> set[str]:
    with zipfile.ZipFile(dists["wheel"]) as wheel:
        return set(wheel.namelist())


@pytest.fixture(scope="module")
def metadata(dists) -> email.message.Message:
    with zipfile.ZipFile(dists["wheel"]) as wheel:
        return email.message_from_bytes(wheel.read(f"{DIST_INFO}/METADATA"))


def _package_files(tree: Path) -> set[str]:
    """The source files and data of ``tree``'s vecmatte/, as wheel paths."""
    return {
        path.relative_to(tree).as_posix()
        for path in (tree / "vecmatte").rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and path.suffix in {".py", ".png", ".html", ".css", ".js", ".typed"}
    }


def test_the_wheel_holds_every_module_the_bundled_example_the_web_page_and_py_typed(
    dists, wheel_names
):
    # Against the copy that was built: other files may appear in the tree meanwhile.
    expected = _package_files(dists["root"] / "tree")
    assert {
        "vecmatte/data/demo_image.png",
        "vecmatte/data/demo_trimap.png",
        "vecmatte/web/static/index.html",
        "vecmatte/web/static/app.js",
        "vecmatte/web/static/style.css",
        "vecmatte/py.typed",
        "vecmatte/__main__.py",
    } <= expected
    assert expected - wheel_names == set()


def test_the_wheel_holds_the_package_only(wheel_names):
    # No tests, benchmarks, docs or caches in site-packages: the package and its metadata.
    tops = {name.split("/", 1)[0] for name in wheel_names}
    assert tops == {"vecmatte", DIST_INFO}
    assert [name for name in wheel_names if "__pycache__" in name or name.endswith(".pyc")] == []


def test_the_wheel_carries_the_license(wheel_names, metadata):
    assert f"{DIST_INFO}/licenses/LICENSE" in wheel_names
    assert metadata["License-Expression"] == "MIT"


def test_metadata_says_what_the_package_needs(metadata):
    assert metadata["Name"] == "vecmatte"
    assert metadata["Version"] == vecmatte.__version__
    assert metadata["Requires-Python"] == ">=3.10"
    requirements = metadata.get_all("Requires-Dist")
    runtime = [r for r in requirements if "extra ==" not in r]
    names = {re.match(r"[A-Za-z0-9_.-]+", r).group(0).lower() for r in runtime}
    assert names == RUNTIME  # peers and test tools only ever in extras
    assert set(metadata.get_all("Provides-Extra")) >= {"test", "bench", "distributed"}
    assert any(
        r.startswith("dask[distributed]") and 'extra == "distributed"' in r for r in requirements
    )
    classifiers = metadata.get_all("Classifier")
    assert "Typing :: Typed" in classifiers
    assert "Programming Language :: Python :: 3.10" in classifiers  # the lowest one promised
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert metadata.get_payload().lstrip().startswith("# vecmatte")


def test_the_entry_point_names_the_command_line(dists):
    with zipfile.ZipFile(dists["wheel"]) as wheel:
        text = wheel.read(f"{DIST_INFO}/entry_points.txt").decode()
    assert re.search(r"^\[console_scripts\]\nvecmatte = vecmatte\.cli:console_entry$", text, re.M)
    from vecmatte.cli import console_entry

    assert callable(console_entry)


def test_the_sdist_holds_the_tests_with_their_helpers_and_no_cache(dists):
    with tarfile.open(dists["sdist"]) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    tree = dists["root"] / "tree"  # the copy that was built
    tests = {path.relative_to(tree).as_posix() for path in (tree / "tests").glob("*.py")}
    assert {"tests/conftest.py", "tests/reference.py"} <= tests
    assert tests - names == set()  # not only test_*.py: the helpers they import too
    assert {"LICENSE", "README.md", "pyproject.toml", ".ci/run", "bench/compare.py"} <= names
    assert {"docs/demo.png", "vecmatte/py.typed", "vecmatte/data/demo_image.png"} <= names
    caches = ("__pycache__", ".cache", ".hypothesis", ".pytest_cache", ".venv", ".git")
    assert [n for n in names if set(n.split("/")) & set(caches) or n.endswith(".pyc")] == []


def test_the_installed_wheel_runs_the_demo_from_its_own_data(dists, tmp_path):
    # Installed elsewhere (no dependency installed: this environment's serve), run from a
    # folder where the source tree is not importable: the bundled example is found in the
    # installed package, and `python -m vecmatte` works.
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--target",
            str(target),
            str(dists["wheel"]),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    environment = {**os.environ, "PYTHONPATH": str(target), "PYTHONWARNINGS": "error"}
    run = subprocess.run(
        [sys.executable, "-m", "vecmatte", "demo", "--output-dir", "out"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert str(target / "vecmatte" / "data" / "demo_image.png") in run.stderr
    assert (tmp_path / "out" / "demo_alpha.png").is_file()
    version = subprocess.run(
        [sys.executable, "-m", "vecmatte", "--version"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert version.stdout.strip() == f"vecmatte {vecmatte.__version__}"


@pytest.mark.skipif(not (ROOT / "pyproject.toml").is_file(), reason="not a source checkout")
def test_the_readme_names_the_lowest_versions_pyproject_requires():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (line,) = re.findall(r"^dependencies = \[(.*)\]$", pyproject, re.MULTILINE)
    bounds = dict(re.findall(r'"([a-z-]+)>=([0-9.]+)"', line))
    assert set(bounds) == RUNTIME
    intro = (ROOT / "README.md").read_text(encoding="utf-8").split("## ", 1)[0]
    assert [
        f"{name} ({version}"
        for name, version in bounds.items()
        if f"{name} ({version}" not in intro
    ] == []


# --- the installed package --------------------------------------------------------------------


def test_nothing_of_ours_warns_at_import():
    # Every module, and the command line's help, under warnings as errors in a fresh process.
    code = (
        "import importlib, pkgutil, vecmatte\n"
        "for info in pkgutil.walk_packages(vecmatte.__path__, 'vecmatte.'):\n"
        "    importlib.import_module(info.name)\n"
        "from vecmatte.cli import build_parser\n"
        "build_parser()\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr == ""


def test_a_full_run_imports_no_test_tool_peer_or_optional_dependency(tmp_path):
    # Function-level imports included: the demo, the command line's alpha with foreground and
    # cutout, every method, the foreground methods and the web app, in one fresh process.
    code = f"""
import sys
from vecmatte.cli import main
import vecmatte
assert main(["demo", "--output-dir", r"{tmp_path / "demo"}", "--quiet"]) == 0
data = r"{Path(vecmatte.__file__).parent / "data"}"
assert main(["alpha", data + "/demo_image.png", data + "/demo_trimap.png", "-q",
             "-o", r"{tmp_path / "a.png"}", "--cutout", r"{tmp_path / "c.png"}",
             "--foreground", r"{tmp_path / "f.png"}"]) == 0
scene = vecmatte.make_scene((30, 40), seed=0)
for method in vecmatte.METHODS:
    alpha = vecmatte.estimate_alpha(scene.image, scene.trimap, method=method)
for method in ("ml", "cf", "blur_fusion"):
    vecmatte.estimate_foreground(scene.image, alpha, method=method)
import vecmatte.web
vecmatte.web.create_app()
print(" ".join(sorted(sys.modules)))
"""
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = set(result.stdout.split())
    forbidden = [
        "pytest",
        "_pytest",
        "hypothesis",
        "numba",
        "pymatting",
        "dask",
        "distributed",
        "rembg",
        "matplotlib",
        "playwright",
        "cv2",
        "torch",
    ]
    assert sorted(m for m in loaded if m.split(".")[0] in forbidden) == []


def test_py_typed_marks_the_package_as_typed():
    assert (Path(vecmatte.__file__).parent / "py.typed").is_file()


def _unannotated(function, skip: tuple[str, ...] = ()) -> list[str]:
    signature = inspect.signature(function)
    missing = [
        name
        for name, parameter in signature.parameters.items()
        if parameter.annotation is inspect.Parameter.empty and name not in skip
    ]
    if signature.return_annotation is inspect.Signature.empty:
        missing.append("return")
    return missing


def _public_callables():
    for name in vecmatte.__all__:
        thing = getattr(vecmatte, name)
        if inspect.isfunction(thing):
            yield name, thing, ()
        elif inspect.isclass(thing):
            for attribute, member in vars(thing).items():
                if inspect.isfunction(member) and not attribute.startswith("_"):
                    yield f"{name}.{attribute}", member, ("self", "cls")


def test_every_public_function_is_annotated():
    # py.typed promises type hints: every parameter and the return of every function (and
    # public method) vecmatte exports. Checked from the signatures, without a type checker.
    missing = {
        name: gaps
        for name, function, skip in _public_callables()
        if (gaps := _unannotated(function, skip))
    }
    assert missing == {}


def test_the_annotation_check_can_fail():
    def half(image, *, eps: float = 1e-7):
        return image

    assert _unannotated(half) == ["image", "return"]


# --- the lowest versions of the dependencies ----------------------------------------------------


def test_a_closed_pil_image_is_named_as_pillow_11_and_12_fail_on_it(tmp_path, monkeypatch):
    # pyproject allows pillow 11 and 12, whose load() of an image whose file was closed
    # raises AttributeError ("'NoneType' object has no attribute 'seek'": the file is None)
    # where 13 raises AssertionError; both must give the one-line message. Simulated here on
    # whichever Pillow is installed.
    from PIL import Image

    scene = vecmatte.make_scene((20, 24), seed=0)
    vecmatte.save_image(tmp_path / "image.png", scene.image)
    with Image.open(tmp_path / "image.png") as closed:
        pass
    assert closed.fp is None

    def load_as_pillow_11_does(self):
        return self.fp.seek(0)

    monkeypatch.setattr(type(closed), "load", load_as_pillow_11_does)
    with pytest.raises(ValueError, match=r"^image is a PIL image whose file was closed"):
        vecmatte.estimate_alpha(closed, scene.trimap)
