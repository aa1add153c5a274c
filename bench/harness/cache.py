"""Which code a measurement depends on, and the cache of finished cells (``--resume``).

A cell is keyed by the method, the input, the limits and a fingerprint of the code measured:

- vecmatte, by default: a hash of every ``vecmatte/**/*.py`` in the working tree (names and
  contents), taken once at the start of the run;
- vecmatte with ``--vecmatte-commit REV``: git's hash of the ``vecmatte/`` tree at REV. The
  children then import that commit, exported once with ``git archive`` into
  ``bench/.cache/trees/<hash>/``, not the working tree: other people's edits during a run
  change neither what is measured nor the key;
- the seed: a hash of ``bench/seed_numba.py``; PyMatting: its version.

The cache is a JSON-lines file: one ``{"key": ..., "cell": {...}}`` per finished cell, or
``{"key": ..., "cells": [{...}, {...}]}`` per pair measured in one process, or
``{"key": ..., "cold": [{...}, ...]}`` for a method's cold starts.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness.cells import Cell, ColdRecord
from harness.data import fail
from harness.methods import Method

BENCH_DIR = Path(__file__).resolve().parents[1]
ROOT = BENCH_DIR.parent


@dataclass(frozen=True)
class Code:
    """Where the children import vecmatte from, and what identifies it."""

    vecmatte: str  # fingerprint of vecmatte's code
    path: Path | None = None  # a directory holding the exported vecmatte/ (None: the tree)
    description: str = "working tree"

    def fingerprint(self, method: Method) -> str:
        if method.family == "vecmatte":
            return self.vecmatte
        if method.family == "seed":
            return hashlib.sha1((BENCH_DIR / "seed_numba.py").read_bytes()).hexdigest()[:12]
        from importlib.metadata import version

        return hashlib.sha1(version("pymatting").encode()).hexdigest()[:12]


def working_tree_code(root: Path = ROOT) -> Code:
    """A hash of ``vecmatte/**/*.py`` (relative names and contents) in the working tree."""
    digest = hashlib.sha1()
    package = root / "vecmatte"
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + b"\0")
        digest.update(path.read_bytes())
    return Code(digest.hexdigest()[:12], None, "working tree (hash of vecmatte/**/*.py)")


def commit_code(revision: str, root: Path = ROOT, trees: Path | None = None) -> Code:
    """vecmatte/ at a git revision, exported once into ``trees/<tree hash>/vecmatte``."""
    try:
        tree = _git(root, "rev-parse", f"{revision}:vecmatte").decode().strip()
        commit = _git(root, "rev-parse", "--short", revision).decode().strip()
    except subprocess.CalledProcessError as error:
        raise fail(f"--vecmatte-commit {revision!r}: {error.stderr.decode().strip()}") from None
    target = (trees or BENCH_DIR / ".cache" / "trees") / tree[:12]
    if not (target / "vecmatte" / "__init__.py").is_file():
        archive = _git(root, "archive", "--format=tar", revision, "vecmatte")
        target.parent.mkdir(parents=True, exist_ok=True)
        # a folder of its own, renamed at the end: two invocations may export at once
        partial = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(partial, filter="data")
        try:
            partial.rename(target)
        except OSError:  # the other invocation was first
            shutil.rmtree(partial, ignore_errors=True)
    return Code(f"git:{tree[:12]}", target, f"commit {commit} (vecmatte/ tree {tree[:12]})")


def _git(root: Path, *arguments: str) -> bytes:
    return subprocess.run(
        ["git", "-C", str(root), *arguments], capture_output=True, check=True
    ).stdout


def cell_key(cell: Cell, method: Method, code: Code, options) -> str:
    """The cache key of a cell measured in a child of its own (the historical layout)."""
    return json.dumps(
        [
            cell.method,
            cell.image,
            cell.trimap,
            cell.scale,
            code.fingerprint(method),
            options.repeats,
            options.budget,
            options.time_limit,
            options.memory_cap,
        ]
    )


def cold_key(method: Method, image: str, trimap: str, code: Code, options) -> str:
    """The cache key of a method's cold starts."""
    fingerprint = code.fingerprint(method)
    return json.dumps(["cold", method.key, image, trimap, fingerprint, options.time_limit])


def pair_key(cells: tuple[Cell, Cell], methods: tuple[Method, Method], code: Code, options):
    """The cache key of two methods measured in one process."""
    first = json.loads(cell_key(cells[0], methods[0], code, options))
    return json.dumps(["pair", *first, cells[1].method, code.fingerprint(methods[1])])


class CellCache:
    """Finished cells by key, read from and appended to a JSON-lines file."""

    def __init__(self, path: Path, *, read: bool) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.entries: dict[str, dict] = {}
        if read and self.path.is_file():
            for line in self.path.read_text().splitlines():
                if line.strip():
                    entry = json.loads(line)
                    self.entries[entry["key"]] = entry

    def __contains__(self, key: str) -> bool:
        """Whether a reusable result is cached: errors and crashes are measured again (they
        can come from a tree caught half-edited, unlike running out of time or memory)."""
        entry = self.entries.get(key)
        if entry is None:
            return False
        cells = entry.get("cells") or entry.get("cold") or [entry["cell"]]
        return not any(cell["status"] in ("error", "crash") for cell in cells)

    def cell(self, key: str) -> Cell:
        return Cell(**self.entries[key]["cell"])

    def pair(self, key: str) -> tuple[Cell, Cell]:
        first, second = self.entries[key]["cells"]
        return Cell(**first), Cell(**second)

    def cold(self, key: str) -> list[ColdRecord]:
        return [ColdRecord(**record) for record in self.entries[key]["cold"]]

    def add_cold(self, key: str, records: list[ColdRecord]) -> None:
        self._append({"key": key, "cold": [r.__dict__ for r in records]})

    def add_cell(self, key: str, cell: Cell) -> None:
        self._append({"key": key, "cell": cell.__dict__})

    def add_pair(self, key: str, cells: tuple[Cell, Cell]) -> None:
        self._append({"key": key, "cells": [c.__dict__ for c in cells]})

    def _append(self, entry: dict) -> None:
        self.entries[entry["key"]] = entry
        with self.path.open("a") as handle:
            handle.write(json.dumps(entry) + "\n")
