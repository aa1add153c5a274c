"""Batches, session 11: one name in two Unicode spellings, an input folder made unreadable.

Session 10 left these: ``é.png`` with its é composed (U+00E9) and ``é.png`` with it
decomposed (e + U+0301) are one file on macOS and two on Linux, so their mattes replaced
each other there; a trimaps (or masks, or images) folder made unreadable mid-batch failed
image by image, where a deleted one stops the batch in one line.
"""

from __future__ import annotations

import os
import unicodedata

import pytest
from conftest import files_in, scene_folders

import vecmatte.alpha
import vecmatte.io
from vecmatte.batch import find_tasks, run_batch
from vecmatte.cli import main

COMPOSED = unicodedata.normalize("NFC", "caf\u00e9")
DECOMPOSED = unicodedata.normalize("NFD", "caf\u00e9")


def _two_spellings_allowed(folder) -> bool:
    """Whether ``folder``'s file system keeps both spellings apart (not so on macOS)."""
    (folder / f"{COMPOSED}.probe").write_bytes(b"")
    try:
        return not (folder / f"{DECOMPOSED}.probe").exists()
    finally:
        (folder / f"{COMPOSED}.probe").unlink()


@pytest.fixture
def two_spellings(tmp_path):
    """Folders with images and trimaps named café in both spellings, and a plain one."""
    if not _two_spellings_allowed(tmp_path):
        pytest.skip("this file system takes both spellings for one name")
    return scene_folders(tmp_path, [COMPOSED, DECOMPOSED, "plain"], shape=(20, 24), band=2)


def test_one_name_in_two_unicode_spellings_is_refused_up_front(tmp_path, two_spellings, capsys):
    # Old code: both solved and written, café_alpha.png twice (one file on macOS: the second
    # image's matte replaced the first's), exit 0.
    images, trimaps = two_spellings
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="differ only in the Unicode spelling of an accent"):
        find_tasks(images, trimaps, out)
    assert main(["batch", str(images), str(trimaps), "-o", str(out), "-q"]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    assert "are one file on macOS; rename one of them (nothing was written)" in lines[0]
    assert not out.exists()


def test_one_spelling_without_a_trimap_is_no_clash(tmp_path, two_spellings):
    # As the case rule: only images that are solved write outputs.
    images, trimaps = two_spellings
    (trimaps / f"{DECOMPOSED}.png").unlink()
    tasks = find_tasks(images, trimaps, tmp_path / "out")
    assert len(tasks) == 3


def test_a_trimap_spelled_otherwise_is_named_beside_no_file(tmp_path):
    # Old code: "no file trimaps/café.*" beside the café.png the user sees there (the hint
    # said only "differs in case" for B.png / b.png).
    if not _two_spellings_allowed(tmp_path):
        pytest.skip("this file system takes both spellings for one name")
    images, trimaps = scene_folders(tmp_path, [COMPOSED, "plain"], shape=(20, 24), band=2)
    (trimaps / f"{COMPOSED}.png").rename(trimaps / f"{DECOMPOSED}.png")
    records = run_batch(find_tasks(images, trimaps, tmp_path / "out"))
    assert [r.status for r in records] == ["failed", "done"]
    assert "differs in the Unicode spelling of an accent" in records[0].error
    assert "names are matched exactly" in records[0].error


def test_names_differing_in_case_keep_their_message(tmp_path):
    images, trimaps = scene_folders(tmp_path, ["A", "a"], shape=(20, 24), band=2)
    with pytest.raises(
        ValueError, match=r"differ only in case, so .* case-insensitive file system"
    ):
        find_tasks(images, trimaps, tmp_path / "out")


# ------------------------------------------------------- an input folder made unreadable


def _at_the_second_solve(monkeypatch, action) -> list:
    """Run ``action()`` once the second image's solve is done (its outputs not yet written)."""
    solves, solve = [], vecmatte.alpha.solve_alpha

    def solving(*args, **kwargs):
        solves.append(1)
        result = solve(*args, **kwargs)
        if len(solves) == 2:
            action()
        return result

    monkeypatch.setattr(vecmatte.alpha, "solve_alpha", solving)
    return solves


def _make_unreadable(monkeypatch, folder) -> None:
    """What ``chmod a-rx folder`` does to a user who is not root (root passes every
    permission check, so CI needs this): ``os.access`` refuses searching it, and the files
    in it can no longer be seen (``is_file()`` is False) or opened."""
    access = os.access

    def denying(path, mode, *args, **kwargs):
        if os.path.abspath(path) == str(folder) and mode & os.X_OK:
            return False
        return access(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", denying)
    load = vecmatte.io.load_image

    def refusing(path, *args, **kwargs):
        if os.path.dirname(os.path.abspath(path)) == str(folder):
            raise PermissionError(13, "Permission denied", str(path))
        return load(path, *args, **kwargs)

    monkeypatch.setattr(vecmatte.io, "load_image", refusing)
    for entry in folder.iterdir():  # unseen: as is_file() finds them behind a chmod
        entry.rename(folder.parent / f"hidden-{entry.name}")


@pytest.mark.parametrize("folder", ["images", "trimaps", "masks"])
def test_a_batch_stops_when_an_input_folder_is_made_unreadable(tmp_path, monkeypatch, folder):
    # Old code: s2, s3 and s4 each failed ("no trimap for s2: no file ...", or permission
    # denied), one line each; no record stopped the batch.
    names = [f"s{i}" for i in range(5)]
    images, trimaps = scene_folders(tmp_path, names, shape=(20, 24), band=2)
    band = 2 if folder == "masks" else None
    tasks = find_tasks(images, trimaps, tmp_path / "out", band=band)
    target = images if folder == "images" else trimaps
    solves = _at_the_second_solve(monkeypatch, lambda: _make_unreadable(monkeypatch, target))
    records = run_batch(tasks)
    assert len(solves) == 2
    assert [r.status for r in records] == ["done", "done", "failed", "failed", "failed"]
    assert records[2].stops
    assert records[2].error == f"{target}: cannot read in the {folder} folder (permission denied)"
    assert all(r.error.startswith("not run: the batch stopped when s2 failed") for r in records[3:])


def test_one_unreadable_trimap_does_not_stop_the_batch(tmp_path):
    # The other side: a trimap missing (or unreadable) alone fails alone.
    images, trimaps = scene_folders(tmp_path, ["s0", "s1", "s2"], shape=(20, 24), band=2)
    tasks = find_tasks(images, trimaps, tmp_path / "out")
    (trimaps / "s1.png").unlink()
    records = run_batch(tasks)
    assert [r.status for r in records] == ["done", "failed", "done"]
    assert not records[1].stops


@pytest.mark.skipif(
    os.name != "posix" or os.geteuid() == 0, reason="needs POSIX permissions, not root"
)
def test_a_real_chmod_of_the_trimaps_folder_stops_the_batch(tmp_path, monkeypatch, capsys):
    images, trimaps = scene_folders(tmp_path, [f"s{i}" for i in range(4)], shape=(20, 24))
    out = tmp_path / "out"
    _at_the_second_solve(monkeypatch, lambda: trimaps.chmod(0))
    try:
        assert main(["batch", str(images), str(trimaps), "-o", str(out)]) == 1
    finally:
        trimaps.chmod(0o700)
    err = capsys.readouterr().err
    assert f"{trimaps}: cannot read in the trimaps folder (permission denied)" in err
    assert err.count("vecmatte: stopping: the images left would fail the same way") == 1
    assert files_in(out) == {"s0_alpha.png", "s1_alpha.png"}


# ------------------------------------------------------- output into the input folder


def test_an_output_that_would_replace_an_image_names_a_fix_a_batch_has(tmp_path, capsys):
    # Old code: "...; choose another output name": a batch's outputs are named after its
    # images, and no option of it names them.
    images, trimaps = scene_folders(tmp_path, ["a"], shape=(20, 24), band=2)
    own = images / "a_alpha.png"  # the user's own file (no vecmatte mark): an image
    own.write_bytes((images / "a.png").read_bytes())
    before = {path.name: path.read_bytes() for path in images.iterdir()}
    assert main(["batch", str(images), str(trimaps), "-o", str(images), "-q"]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    assert "would overwrite the image a_alpha" in lines[0]
    assert lines[0].endswith(
        "choose another output folder, or rename the file it would replace (nothing was written)"
    )
    assert {path.name: path.read_bytes() for path in images.iterdir()} == before


@pytest.mark.parametrize("kind", [".psd", ".heic"])
def test_a_trimap_of_a_type_not_read_is_named(tmp_path, kind):
    # Old code: "no trimap for b: no file trimaps/b.*" beside the b.psd the user sees.
    images, trimaps = scene_folders(tmp_path, ["a", "b"], shape=(20, 24), band=2)
    (trimaps / "b.png").rename(trimaps / f"b{kind}")
    records = run_batch(find_tasks(images, trimaps, tmp_path / "out"))
    assert [r.status for r in records] == ["done", "failed"]
    assert records[1].error == (
        f"no trimap for b: no file {trimaps / 'b.*'} ({trimaps / f'b{kind}'} is not of a "
        "type read: .png .jpg .jpeg .tif .tiff .bmp .webp .gif)"
    )


# ------------------------------------------------------- progress during a long solve


class _Terminal:
    """A stream that says it is a terminal, keeping what is written."""

    def __init__(self, tty: bool = True):
        self.text, self.tty = "", tty

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return self.tty


def test_the_bar_says_which_image_is_being_solved(tmp_path):
    # Old code: nothing on the terminal during the first image's solve (minutes for a large
    # one), then "a done" while b was solved.
    from vecmatte.cli.batch import BatchProgress

    images, trimaps = scene_folders(tmp_path, ["a", "b"], shape=(20, 24), band=2)
    stream = _Terminal()
    progress = BatchProgress(2, stream=stream)
    records = run_batch(find_tasks(images, trimaps, tmp_path / "out"), progress=progress)
    assert [r.status for r in records] == ["done", "done"]
    shown = [part.split("  ")[-1].removesuffix("\033[K") for part in stream.text.split("\r")[1:]]
    assert shown == ["solving a ...", "a done", "solving b ...", "b done"]
    assert "] 0/2 images" in stream.text.split("\r")[1]


@pytest.mark.parametrize(("tty", "quiet"), [(False, False), (True, True)])
def test_a_log_or_quiet_gets_no_line_for_a_start(tmp_path, tty, quiet):
    from vecmatte.cli.batch import BatchProgress

    images, trimaps = scene_folders(tmp_path, ["a", "b"], shape=(20, 24), band=2)
    stream = _Terminal(tty)
    run_batch(
        find_tasks(images, trimaps, tmp_path / "out"),
        progress=BatchProgress(2, stream=stream, quiet=quiet),
    )
    assert "solving" not in stream.text
    assert stream.text.count("\n") == (0 if quiet else 2)
