"""Every ```python and ```sh block of README.md runs as written, as a script.

Each block runs in one temporary folder prepared with the files the README names (made from
:func:`vecmatte.make_scene`), in README order, with ``vecmatte`` and ``python`` resolved to
this environment's entry point and interpreter. A block that cannot run here (it needs a
cluster, a network, another package) is written as ```text or ```console in the README.
Below them, claims the README makes in prose are checked against the code and the benchmark
files (a quoted message, a memory figure, the "Which method?" table), and the curl commands
of "In the browser" run against a `vecmatte serve` started here.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import vecmatte

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"^```(python|sh)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
TIMEOUT = 300


def _blocks() -> list[tuple[int, str, str]]:
    text = README.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, match.start()) + 1, match.group(1), match.group(2))
        for match in BLOCK.finditer(text)
    ]


def _save(path: Path, array) -> None:
    vecmatte.save_image(path, np.round(np.asarray(array) * 255).astype(np.uint8))


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """The files the README's blocks read: a photograph, its trimap, mask, scribbles ..."""
    root = tmp_path_factory.mktemp("readme")
    scene = vecmatte.make_scene((60, 80), seed=0)
    for name in ("photo.png", "photo.jpg", "image.png"):
        _save(root / name, scene.image)
    _save(root / "trimap.png", scene.trimap)
    _save(root / "mask.png", scene.alpha > 0.5)
    _save(root / "alpha.png", scene.alpha)
    _save(root / "fg.png", scene.foreground)
    _save(root / "beach.jpg", vecmatte.make_scene((90, 100), seed=1).image)
    scribbled = scene.image.copy()
    strokes = np.zeros(scene.trimap.shape, bool)
    strokes[::6] = True  # thin horizontal strokes, a sixth of the rows
    scribbled[strokes & (scene.trimap == 1.0)] = 1.0  # white on the sure foreground
    scribbled[strokes & (scene.trimap == 0.0)] = 0.0  # black on the sure background
    _save(root / "scribbled.png", scribbled)
    for directory in ("photos", "trimaps", "masks"):
        (root / directory).mkdir()
    for seed, name in enumerate(("shoe", "bag")):
        other = vecmatte.make_scene((40, 50), seed=10 + seed)
        _save(root / "photos" / f"{name}.jpg", other.image)
        _save(root / "trimaps" / f"{name}.png", other.trimap)
        _save(root / "masks" / f"{name}.png", other.alpha > 0.5)
    return root


@pytest.mark.parametrize(
    ("line", "language", "code"),
    _blocks(),
    ids=[f"README.md:{line}" for line, _, _ in _blocks()],
)
def test_readme_block_runs(folder, line, language, code):
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / "vecmatte").exists(), "the vecmatte entry point is not installed"
    script = folder / f"block_{line}.{'py' if language == 'python' else 'sh'}"
    script.write_text(code, encoding="utf-8")
    command = (
        [sys.executable, script.name]
        if language == "python"
        else ["bash", "-e", "-o", "pipefail", script.name]
    )
    environment = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    environment.pop("PYTHONWARNINGS", None)
    result = subprocess.run(
        command,
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, (
        f"README.md line {line} ({language}) exited with {result.returncode}:\n"
        f"{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    )
    assert "Traceback" not in result.stderr, result.stderr


def test_every_warning_class_is_named_and_every_named_one_exists():
    # The README tells users to filter warnings by the classes of vecmatte: each one the
    # package exports is named there, and each one named there can be taken from vecmatte.
    text = README.read_text(encoding="utf-8")
    named = set(re.findall(r"`(?:vecmatte\.)?([A-Z]\w*Warning)`", text))
    exported = {name for name in vecmatte.__all__ if name.endswith("Warning")}
    assert exported - named == set(), "exported but not named in README.md"
    assert named - exported == set(), "named in README.md but not exported by vecmatte"
    assert all(issubclass(getattr(vecmatte, name), Warning) for name in named)


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _agrees(written: str, value: float) -> bool:
    """``written`` is ``value`` rounded to the digits it shows (0.6 for 0.599, not 0.55)."""
    decimals = len(written.partition(".")[2])
    return abs(float(written) - value) <= 0.5 * 10.0**-decimals + 1e-12


def test_the_trimap_comment_of_the_first_snippet_holds_for_a_trimap_file(tmp_path):
    # A trimap file holds 0 / 128 / 255, which load_trimap reads as 0 / 0.502 / 1 (it does
    # not snap): the snippet's comment said 0 / 0.5 / 1. Values it lists must be those read.
    line = next(
        line for line in README.read_text(encoding="utf-8").splitlines() if "load_trimap(" in line
    )
    comment = line.partition("#")[2]
    _save(tmp_path / "trimap.png", vecmatte.make_scene((30, 40), seed=0).trimap)
    trimap = vecmatte.load_trimap(tmp_path / "trimap.png")
    assert trimap.dtype == np.float64
    assert "float64 (h, w)" in comment
    listed = re.findall(r"\b\d+(?:\.\d+)?\s*/\s*\d+(?:\.\d+)?(?:\s*/\s*\d+(?:\.\d+)?)*", comment)
    for values in listed:
        assert sorted(float(v) for v in values.split("/")) == np.unique(trimap).tolist(), comment
    if "in [0, 1]" in comment:
        assert 0 <= trimap.min() and trimap.max() <= 1


def test_the_memory_a_cluster_worker_is_told_to_expect_is_the_models():
    # "Running on a cluster" sizes a worker from the memory estimate of a 2 MP photograph
    # with 10 % unknown pixels: it said 0.55 GiB after the model had moved to 0.60.
    text = " ".join(_section("Running on a cluster").split())
    match = re.search(
        r"the estimate is about ([\d.]+) GiB for a 2 MP photograph with 10 % unknown", text
    )
    assert match, "the sentence with the estimate moved: update this test"
    estimate = vecmatte.estimate_solve_memory((1000, 2000), 200_000) / 2**30
    assert _agrees(match.group(1), estimate), f"README {match.group(1)} GiB, model {estimate:.3f}"


def test_the_large_photographs_estimates_are_the_models():
    # "Large images" gives today's estimates of the 16 and 32 MP solves of
    # bench/results/large.md (GT02 upscaled, 13.7 % unknown): it said 4.2 and 9.0 GiB after
    # the 'direct' rows term went from 590 to 1518 bytes (8a49981) made them 5.8 and 11.6.
    text = " ".join(_section("Batches and large images").split())
    match = re.search(r"today's ([\d.]+) and ([\d.]+)(?!\d): it errs on the high side", text)
    assert match, "the sentence with the estimates moved: update this test"
    for written, (shape, unknown) in zip(
        match.groups(), [((3237, 4942), 2_193_376), ((4578, 6990), 4_386_594)], strict=True
    ):
        estimate = vecmatte.estimate_solve_memory(shape, unknown) / 2**30
        assert _agrees(written, estimate), f"README {written} GiB, model {estimate:.2f}"


def test_the_which_method_table_agrees_with_the_registry_and_the_benchmark():
    rows = re.findall(
        r"^\| `\"(\w+)\"` \| [^|]* \| ([^|]*) \| ([^|]*) \|", _section("Which method?"), re.M
    )
    assert sorted(name for name, _, _ in rows) == sorted(vecmatte.METHODS)
    sad_ratio = {}  # (method, trimap set) -> SAD ratio, the 8th column of the summary table
    # The full table, then the later re-runs of single methods that the README cites (a
    # later file's row wins).
    for table in ("methods.md", "methods_session12_ifm.md"):
        bench = (README.parent / "bench" / "results" / table).read_text(encoding="utf-8")
        for row in bench.splitlines():
            cells = [cell.strip() for cell in row.strip("|").split("|")]
            if row.startswith("| ") and len(cells) > 8 and cells[2] == "x0.5":
                sad_ratio[cells[0], cells[3]] = cells[7]
    for name, solver, ratios in rows:
        spec = vecmatte.METHODS[name]
        assert (spec.preconditioner or "none") in solver.replace("`", ""), (name, solver)
        narrow, wide = re.findall(r"\d\.\d+", ratios)[:2]
        assert _agrees(narrow, float(sad_ratio[name, "trimap"])), (name, narrow)
        assert _agrees(wide, float(sad_ratio[name, "trimap2"])), (name, wide)


def test_the_refusal_the_readme_quotes_is_the_one_printed(folder):
    # "vecmatte alpha cat.png tri.png -o cat.png says `...`": the words a user will search for.
    text = " ".join(README.read_text(encoding="utf-8").split())
    match = re.search(r"`vecmatte alpha cat\.png tri\.png -o cat\.png` says `([^`]+)`", text)
    assert match
    for source, name in (("photo.png", "cat.png"), ("trimap.png", "tri.png")):
        (folder / name).write_bytes((folder / source).read_bytes())
    result = subprocess.run(
        [Path(sys.executable).parent / "vecmatte", "alpha", "cat.png", "tri.png", "-o", "cat.png"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 1
    assert match.group(1) in result.stderr, result.stderr


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_served_api_answers_the_readmes_curl_commands(folder, tmp_path):
    # The ```console blocks of "In the browser" are not run as scripts (a server must be up):
    # start `vecmatte serve` as shown, check its first line, then run each curl line as written
    # (on a free port instead of 8000) and check what it wrote.
    section = _section("In the browser")
    consoles = re.findall(r"^```console\n(.*?)^```", section, re.MULTILINE | re.DOTALL)
    banner = re.search(r"^\$ vecmatte serve\b.*\n(vecmatte serve: .*)$", consoles[0], re.M)
    assert banner, consoles[0]
    curls = [line for block in consoles for line in block.splitlines() if line.startswith("curl ")]
    # Every endpoint `vecmatte serve --help` lists has its curl line (/api/trimap had none).
    serve_help = subprocess.run(
        [Path(sys.executable).parent / "vecmatte", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
    ).stdout
    endpoints = set(re.findall(r"/api/\w+", serve_help))
    assert endpoints and endpoints <= {re.search(r"/api/\w+", line).group() for line in curls}
    for name in ("photo.png", "trimap.png", "mask.png", "alpha.png"):  # the files curl sends
        (tmp_path / name).write_bytes((folder / name).read_bytes())
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [Path(sys.executable).parent / "vecmatte", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        first = server.stdout.readline().strip()
        assert first == banner.group(1).replace(":8000/", f":{port}/"), first
        for line in curls:
            command = line.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
            command = command.replace("curl ", "curl --fail --silent --show-error ", 1)
            result = subprocess.run(
                command, shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT
            )
            assert result.returncode == 0, (line, result.stderr)
            written = tmp_path / command.rsplit(" -o ", 1)[1].split()[0]
            assert written.read_bytes().startswith(b"\x89PNG"), line
    finally:
        server.terminate()
        server.wait(timeout=30)
        server.stdout.close()


def test_an_rgba_photo_gets_the_note_the_readme_describes_only_when_it_is_not_opaque(tmp_path):
    # "An RGBA image ... its old alpha channel is ignored, with a note": an opaque RGBA PNG
    # (what many editors save) gets none, and the README now says when the note comes.
    import warnings

    text = " ".join(README.read_text(encoding="utf-8").split())
    assert "alpha channel is ignored, with a note if it is not opaque" in text
    scene = vecmatte.make_scene((20, 30), seed=0)
    rgb = np.round(scene.image * 255).astype(np.uint8)
    for opacity, noted in ((255, False), (200, True)):
        rgba = np.dstack([rgb, np.full(rgb.shape[:2], opacity, np.uint8)])
        vecmatte.save_image(tmp_path / "rgba.png", rgba)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            vecmatte.load_image(tmp_path / "rgba.png")
        kinds = [warning.category for warning in caught]
        assert (vecmatte.AlphaChannelIgnoredWarning in kinds) == noted, (opacity, kinds)
