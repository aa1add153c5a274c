"""The record of how a matte was made (a PNG text chunk), and resume checking it."""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import scene_folders, write_png
from PIL import Image
from PIL.PngImagePlugin import PngInfo

import vecmatte
from vecmatte.batch import find_tasks, run_batch
from vecmatte.batch._core import INPUTS_CHANGED, NO_RECORD, OTHER_OPTIONS
from vecmatte.batch._record import (
    RECORD_KEY,
    parse_record,
    read_record,
    record_text,
    same_solve,
    solve_record,
)
from vecmatte.cli import main
from vecmatte.io import png_text, save_image, save_images, written_by_vecmatte

NAMES = ["a", "b", "c"]


@pytest.fixture
def folders(tmp_path) -> tuple[Path, Path, Path]:
    """Three small scenes: images and trimaps (PNG), and an output folder path."""
    images, trimaps = scene_folders(tmp_path, NAMES, shape=(24, 28), band=2)
    return images, trimaps, tmp_path / "out"


def alpha_of(images: Path, trimaps: Path, name: str, **options) -> np.ndarray:
    """The matte of ``name`` solved here directly (an independent path to the same solve)."""
    return vecmatte.estimate_alpha(
        vecmatte.load_image(images / f"{name}.png"),
        vecmatte.load_trimap(trimaps / f"{name}.png"),
        **options,
    )


def batch_argv(images, trimaps, out, *more) -> list[str]:
    return ["batch", str(images), str(trimaps), "-o", str(out), *more]


# --- the text chunk --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.uint8, np.uint16])
def test_text_chunk_round_trips_and_leaves_the_pixels(tmp_path, rng, dtype):
    alpha = rng.random((9, 11))
    if dtype is np.uint8:
        alpha = np.round(alpha * 255).astype(np.uint8)
    elif dtype is np.uint16:
        alpha = np.round(alpha * 65535).astype(np.uint16)
    text = {RECORD_KEY: json.dumps({"method": "cf", "options": {"eps": 1e-7}})}
    save_image(tmp_path / "recorded.png", alpha, text=text)
    save_image(tmp_path / "plain.png", alpha)
    assert png_text(tmp_path / "recorded.png", RECORD_KEY) == text[RECORD_KEY]
    assert png_text(tmp_path / "plain.png", RECORD_KEY) is None
    assert written_by_vecmatte(tmp_path / "recorded.png")  # the Software chunk is still there
    with Image.open(tmp_path / "recorded.png") as a, Image.open(tmp_path / "plain.png") as b:
        assert a.mode == b.mode
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_text_reaches_streams_and_each_file_of_save_images(tmp_path, rng):
    stream = io.BytesIO()
    save_image(stream, rng.random((5, 6)), text={"k": "on a stream"})
    stream.seek(0)
    assert png_text(stream, "k") == "on a stream"
    save_images(
        [
            (tmp_path / "x.png", rng.random((5, 6)), {"k": "x"}),
            (tmp_path / "y.png", rng.random((5, 6))),
        ]
    )
    assert png_text(tmp_path / "x.png", "k") == "x" and png_text(tmp_path / "y.png", "k") is None
    save_image(tmp_path / "z.tif", rng.random((5, 6)), text={"k": "no text in TIFF"})
    assert png_text(tmp_path / "z.tif", "k") is None  # written, without text
    assert png_text(tmp_path / "missing.png", "k") is None


def test_bad_text_is_refused_before_writing(tmp_path, rng):
    with pytest.raises(ValueError, match="1 to 79 printable ASCII"):
        save_image(tmp_path / "a.png", rng.random((3, 3)), text={"": "v"})
    with pytest.raises(ValueError, match="vecmatte's own mark"):
        save_image(tmp_path / "a.png", rng.random((3, 3)), text={"Software": "other"})
    with pytest.raises(TypeError, match="dict of str keys to str values"):
        save_image(tmp_path / "a.png", rng.random((3, 3)), text={"k": 1})
    assert not any(tmp_path.iterdir())


def test_record_resolves_defaults_and_round_trips():
    default = solve_record({})
    spelled_out = solve_record(
        {"method": "cf", "eps": 1e-7, "radius": 1, "preconditioner": "direct"}
    )
    assert default["method"] == "cf" and default["options"]["eps"] == 1e-7
    assert default["preconditioner"] == {"name": "direct", "options": {}}
    assert same_solve(default, spelled_out)
    assert not same_solve(default, solve_record({"eps": 1e-6}))
    assert not same_solve(default, solve_record({"method": "knn"}))
    assert not same_solve(default, solve_record({"rtol": 1e-5}))
    assert not same_solve(default, solve_record({}, band=10))
    # tuples come back as JSON lists: still the same solve
    knn = solve_record({"method": "knn", "n_neighbors": (20, 10)})
    assert same_solve(parse_record(record_text(knn)[RECORD_KEY]), knn)
    # another version with the same options is the same solve
    assert same_solve({**knn, "version": "0.0.1"}, knn)
    # sm solves no linear system: no preconditioner, rtol or maxiter in its record
    sm = solve_record({"method": "sm"})
    assert sm["preconditioner"] is None and sm["rtol"] is None
    assert parse_record("not json") is None and parse_record('["a list"]') is None


# --- resume checks the record ----------------------------------------------------------------


def test_resume_redoes_mattes_of_another_method(folders, capsys):
    images, trimaps, out = folders
    assert main([*batch_argv(images, trimaps, out), "-q"]) == 0
    assert read_record(out / "a_alpha.png")["method"] == "cf"
    capsys.readouterr()
    assert main([*batch_argv(images, trimaps, out), "--resume", "--method", "knn"]) == 0
    err = capsys.readouterr().err
    assert "3 done, 0 failed" in err and "skipped" not in err.split("batch:")[1]
    assert f"3 made again: {OTHER_OPTIONS}" in err
    for name in NAMES:
        matte = vecmatte.load_trimap(out / f"{name}_alpha.png")
        expected = alpha_of(images, trimaps, name, method="knn")
        np.testing.assert_allclose(matte, expected, atol=0.5 / 255 + 1e-9)
        assert read_record(out / f"{name}_alpha.png")["method"] == "knn"


def test_resume_with_the_same_options_skips(folders, capsys):
    images, trimaps, out = folders
    assert main([*batch_argv(images, trimaps, out), "-q", "--eps", "1e-6"]) == 0
    mtime = os.stat(out / "a_alpha.png").st_mtime_ns
    # the same solve, the defaults now spelled out
    argv = ["--resume", "--eps", "1e-6", "--method", "cf", "--radius", "1"]
    assert main([*batch_argv(images, trimaps, out), *argv]) == 0
    err = capsys.readouterr().err
    assert "0 done, 3 skipped" in err and "made again" not in err
    assert os.stat(out / "a_alpha.png").st_mtime_ns == mtime
    # another eps: made again
    tasks = find_tasks(images, trimaps, out, eps=1e-5)
    records = run_batch(tasks, resume=True)
    assert [(r.status, r.redone) for r in records] == [("done", OTHER_OPTIONS)] * 3
    assert read_record(out / "a_alpha.png")["options"]["eps"] == 1e-5
    assert {r.status for r in run_batch(tasks, resume=True)} == {"skipped"}


def test_resume_redoes_a_stale_cutout(folders):
    # cf with cutouts, then knn without (the cf cutouts stay), then knn with cutouts: the
    # knn mattes are there, but the cutouts are cf's.
    images, trimaps, out = folders
    run_batch(find_tasks(images, trimaps, out, cutout=True))
    run_batch(find_tasks(images, trimaps, out, method="knn"))
    records = run_batch(find_tasks(images, trimaps, out, cutout=True, method="knn"), resume=True)
    assert [(r.status, r.redone) for r in records] == [("done", OTHER_OPTIONS)] * 3
    assert read_record(out / "a_cutout.png")["method"] == "knn"


def test_resume_redoes_masks_of_another_band(tmp_path):
    images, masks, out = tmp_path / "images", tmp_path / "masks", tmp_path / "out"
    images.mkdir()
    masks.mkdir()
    scene = vecmatte.make_scene((24, 28), seed=1, band=2)
    write_png(images / "a.png", scene.image)
    write_png(masks / "a.png", (scene.alpha > 0.5).astype(np.float64))
    run_batch(find_tasks(images, masks, out, band=3))
    assert read_record(out / "a_alpha.png")["band"] == 3
    assert run_batch(find_tasks(images, masks, out, band=3), resume=True)[0].status == "skipped"
    record = run_batch(find_tasks(images, masks, out, band=4), resume=True)[0]
    assert (record.status, record.redone) == ("done", OTHER_OPTIONS)


@pytest.mark.parametrize("writer", ["pillow", "older vecmatte"])
def test_resume_redoes_outputs_without_a_record(folders, capsys, writer):
    # Documented (--resume's help, README): a matte whose making is unknown is made again.
    images, trimaps, out = folders
    out.mkdir()
    foreign = np.zeros((24, 28), dtype=np.uint8)
    for name in NAMES:
        info = PngInfo()
        if writer == "older vecmatte":
            info.add_text("Software", "vecmatte 0.0.9")  # before records were written
        Image.fromarray(foreign).save(out / f"{name}_alpha.png", pnginfo=info)
    assert written_by_vecmatte(out / "a_alpha.png") == (writer == "older vecmatte")
    assert main([*batch_argv(images, trimaps, out), "--resume"]) == 0
    err = capsys.readouterr().err
    assert f"3 made again: {NO_RECORD}" in err
    for name in NAMES:
        matte = vecmatte.load_trimap(out / f"{name}_alpha.png")
        np.testing.assert_allclose(matte, alpha_of(images, trimaps, name), atol=0.5 / 255 + 1e-9)
    # now recorded: skipped
    records = run_batch(find_tasks(images, trimaps, out), resume=True)
    assert [(r.status, r.redone) for r in records] == [("skipped", None)] * 3


def test_missing_outputs_are_not_counted_as_made_again(folders, capsys):
    images, trimaps, out = folders
    run_batch(find_tasks(images, trimaps, out))
    (out / "b_alpha.png").unlink()
    (out / "c_alpha.png").write_bytes(b"")
    assert main([*batch_argv(images, trimaps, out), "--resume"]) == 0
    err = capsys.readouterr().err
    assert "2 done, 1 skipped" in err and "made again" not in err


# --- resume checks the inputs' digests -------------------------------------------------------


def sha256_of(path: Path) -> str:
    return "sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()


def mtimes(out: Path) -> dict[str, int]:
    return {path.name: path.stat().st_mtime_ns for path in out.iterdir()}


def test_outputs_record_the_digests_of_their_inputs(folders, tmp_path):
    images, trimaps, out = folders
    run_batch(find_tasks(images, trimaps, out, cutout=True))
    for name in NAMES:
        inputs = {"image": sha256_of(images / f"{name}.png")}
        inputs["trimap"] = sha256_of(trimaps / f"{name}.png")
        assert read_record(out / f"{name}_alpha.png")["inputs"] == inputs
        assert read_record(out / f"{name}_cutout.png") == {
            **read_record(out / f"{name}_alpha.png"),
            "foreground": "ml",
        }
    assert len(png_text(out / "a_alpha.png", RECORD_KEY)) < 600  # a small record
    # with masks, the second input is the mask
    masks = tmp_path / "masks"
    masks.mkdir()
    write_png(masks / "a.png", vecmatte.load_trimap(trimaps / "a.png") > 0.5)
    (images / "b.png").unlink()
    (images / "c.png").unlink()
    run_batch(find_tasks(images, masks, tmp_path / "from_masks", band=2))
    recorded = read_record(tmp_path / "from_masks" / "a_alpha.png")["inputs"]
    assert recorded == {"image": sha256_of(images / "a.png"), "mask": sha256_of(masks / "a.png")}


@pytest.mark.parametrize("changed", ["trimap", "image"])
def test_resume_redoes_only_the_outputs_of_a_changed_input(folders, capsys, changed):
    images, trimaps, out = folders
    assert main([*batch_argv(images, trimaps, out), "-q", "--cutout"]) == 0
    before = mtimes(out)
    # b's trimap (or image) corrected: another scene of the same size
    scene = vecmatte.make_scene((24, 28), seed=7, band=3)
    if changed == "trimap":
        write_png(trimaps / "b.png", scene.trimap)
    else:
        write_png(images / "b.png", scene.image)
    capsys.readouterr()
    assert main([*batch_argv(images, trimaps, out), "--resume", "--cutout"]) == 0
    err = capsys.readouterr().err
    assert "1 done, 2 skipped" in err and f"1 made again: {INPUTS_CHANGED}" in err
    after = mtimes(out)
    assert {name for name in after if after[name] != before[name]} == {
        "b_alpha.png",
        "b_cutout.png",
    }
    matte = vecmatte.load_trimap(out / "b_alpha.png")
    np.testing.assert_allclose(matte, alpha_of(images, trimaps, "b"), atol=0.5 / 255 + 1e-9)
    assert read_record(out / "b_alpha.png")["inputs"][changed] == sha256_of(
        (trimaps if changed == "trimap" else images) / "b.png"
    )
    records = run_batch(find_tasks(images, trimaps, out, cutout=True), resume=True)
    assert [r.status for r in records] == ["skipped"] * 3


def test_resume_skips_inputs_touched_or_rewritten_with_the_same_bytes(folders, capsys):
    images, trimaps, out = folders
    run_batch(find_tasks(images, trimaps, out))
    before = mtimes(out)
    os.utime(trimaps / "a.png", ns=(1, 10**18))  # a new modification time
    (images / "b.png").write_bytes((images / "b.png").read_bytes())  # copied over itself
    assert main([*batch_argv(images, trimaps, out), "--resume"]) == 0
    err = capsys.readouterr().err
    assert "0 done, 3 skipped" in err and "made again" not in err
    assert mtimes(out) == before


def test_resume_with_an_input_gone_fails_and_keeps_the_outputs(folders):
    images, trimaps, out = folders
    run_batch(find_tasks(images, trimaps, out))
    tasks = find_tasks(images, trimaps, out)
    matte = (out / "a_alpha.png").read_bytes()
    (trimaps / "a.png").unlink()
    records = run_batch(tasks, resume=True)
    assert [r.status for r in records] == ["failed", "skipped", "skipped"]
    assert "no trimap for a" in records[0].error
    assert (out / "a_alpha.png").read_bytes() == matte


def test_an_input_rewritten_while_read_is_made_again(folders, monkeypatch):
    # The digests are taken before the files are read: a trimap rewritten in between leaves
    # a record that no longer matches it, so resume makes the matte again (hashing after
    # reading would record the new trimap's digest for the old trimap's matte).
    images, trimaps, out = folders
    tasks = find_tasks(images, trimaps, out)
    load_image = vecmatte.io.load_image
    new = vecmatte.make_scene((24, 28), seed=7, band=3).trimap

    def load_then_rewrite(path, **keywords):
        if Path(path).name == "a.png":
            write_png(trimaps / "a.png", new)
        return load_image(path, **keywords)

    monkeypatch.setattr(vecmatte.io, "load_image", load_then_rewrite)
    run_batch(tasks[:1])
    monkeypatch.undo()
    record = run_batch(tasks[:1], resume=True)[0]
    assert (record.status, record.redone) == ("done", INPUTS_CHANGED)
    matte = vecmatte.load_trimap(out / "a_alpha.png")
    np.testing.assert_allclose(matte, alpha_of(images, trimaps, "a"), atol=0.5 / 255 + 1e-9)


def test_records_without_digests_or_foreground_method_are_redone(folders):
    # outputs of a vecmatte that recorded the solve only (before the inputs' digests and
    # the cutout's foreground method)
    images, trimaps, out = folders
    tasks = find_tasks(images, trimaps, out, cutout=True)
    run_batch(tasks)

    def rewrite_record(path, drop):
        record = read_record(path)
        del record[drop]
        with Image.open(path) as image:
            pixels = np.asarray(image)
        save_image(path, pixels, text=record_text(record))

    rewrite_record(out / "a_alpha.png", "inputs")
    rewrite_record(out / "b_cutout.png", "foreground")
    records = run_batch(tasks, resume=True)
    assert [(r.status, r.redone) for r in records] == [
        ("done", NO_RECORD),
        ("done", OTHER_OPTIONS),
        ("skipped", None),
    ]


# --- readers of mattes ignore the record -----------------------------------------------------


def test_readers_of_mattes_ignore_the_record(folders, tmp_path, capsys):
    images, trimaps, out = folders
    assert main([*batch_argv(images, trimaps, out), "-q", "--cutout"]) == 0
    assert read_record(out / "a_alpha.png") is not None
    # load_gray (load_trimap, eval, composite) reads the pixels as Pillow decodes them
    with Image.open(out / "a_alpha.png") as matte:
        levels = np.asarray(matte)
    np.testing.assert_array_equal(vecmatte.load_trimap(out / "a_alpha.png"), levels / 255)
    with Image.open(out / "a_cutout.png") as rgba:
        colours = np.asarray(rgba)[..., :3] / 255
    with pytest.warns(vecmatte.io.AlphaChannelIgnoredWarning):  # a cutout's own alpha
        np.testing.assert_array_equal(vecmatte.load_image(out / "a_cutout.png"), colours)
    capsys.readouterr()
    assert (
        main(["eval", str(out / "a_alpha.png"), str(out / "a_alpha.png"), str(trimaps / "a.png")])
        == 0
    )
    assert "0" in capsys.readouterr().out
    composite = tmp_path / "composite.png"
    argv = ["composite", str(images / "a.png"), str(out / "a_alpha.png"), "--color", "green"]
    assert main([*argv, "-o", str(composite), "-q"]) == 0
    assert composite.is_file()


@pytest.mark.parametrize("foreground_method", [None, "blur_fusion"])
def test_vecmatte_alpha_records_how_the_matte_was_made(folders, tmp_path, foreground_method):
    images, trimaps, _ = folders
    matte, cutout, colours = (tmp_path / f"{n}.png" for n in ("matte", "cutout", "fg"))
    argv = ["alpha", str(images / "a.png"), str(trimaps / "a.png"), "-o", str(matte), "-q"]
    argv += ["--cutout", str(cutout), "--foreground", str(colours)]
    if foreground_method is not None:
        argv += ["--foreground-method", foreground_method]
    assert main([*argv, "--method", "knn", "--option", "lam=50"]) == 0
    record = read_record(matte)
    assert record["method"] == "knn" and record["options"]["lam"] == 50
    assert same_solve(record, solve_record({"method": "knn", "lam": 50.0}))
    assert "foreground" not in record  # the matte does not depend on it
    # the cutout's and the foreground's colours do
    expected = {**record, "foreground": foreground_method or "ml"}
    assert read_record(cutout) == read_record(colours) == expected


# --- knn on an image smaller than its neighbourhood ------------------------------------------


def test_knn_on_a_tiny_image_says_the_image_is_too_small(tmp_path, capsys):
    image = np.random.default_rng(0).random((1, 3, 3))
    trimap = np.array([[0.0, 0.5, 1.0]])
    with pytest.raises(ValueError, match=r"image of 1 x 3 pixels .* is too small") as caught:
        vecmatte.estimate_alpha(image, trimap, method="knn")
    assert "at least 20 pixels" in str(caught.value) and "\n" not in str(caught.value)
    write_png(tmp_path / "i.png", image)
    write_png(tmp_path / "t.png", trimap)
    argv = [
        "alpha",
        str(tmp_path / "i.png"),
        str(tmp_path / "t.png"),
        "-o",
        str(tmp_path / "o.png"),
    ]
    assert main([*argv, "--method", "knn", "-q"]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is too small for KNN matting" in err
