"""Where users got hurt (audit of session 6): redirected standard streams, links, odd options."""

from __future__ import annotations

import io
import os
import re
import sys

import numpy as np
import pytest
from conftest import files_in
from PIL import Image

import vecmatte
from vecmatte.cli import main


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("vecmatte: error:")]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def _batch_folders(tmp_path, scene_files):
    """Folders ``images`` and ``trimaps`` holding the scene's files as ``a.png``."""
    images, trimaps = tmp_path / "images", tmp_path / "trimaps"
    for folder, path in zip((images, trimaps), scene_files, strict=True):
        folder.mkdir()
        path.rename(folder / "a.png")
    return images, trimaps


def _redirect(monkeypatch, name: str, path, mode: str):
    """``sys.stdin`` / ``sys.stdout`` redirected from or to the file ``path`` (< or >>)."""
    handle = open(path, mode)  # the test closes the stream (and with it the file)
    stream = io.TextIOWrapper(handle)
    monkeypatch.setattr(sys, name, stream)
    return stream


def test_standard_output_appended_to_an_input_is_refused(tmp_path, scene_files, capsys):
    # `vecmatte alpha photo.png t.png -o - >> photo.png` appended a PNG to the photograph.
    image, trimap = scene_files
    before = image.read_bytes()
    with pytest.MonkeyPatch.context() as patch:
        stream = _redirect(patch, "stdout", image, "ab")
        code = main(["alpha", str(image), str(trimap), "-o", "-", "-q"])
        stream.close()
    assert code == 1
    line = _one_error_line(capsys.readouterr().err)
    assert "standard output" in line and str(image) in line
    assert image.read_bytes() == before


def test_an_output_that_is_the_file_standard_input_reads_is_refused(tmp_path, scene_files, capsys):
    # `vecmatte alpha - t.png -o photo.png < photo.png` replaced the photograph.
    image, trimap = scene_files
    before = image.read_bytes()
    with pytest.MonkeyPatch.context() as patch:
        stream = _redirect(patch, "stdin", image, "rb")
        code = main(["alpha", "-", str(trimap), "-o", str(image), "-q"])
        stream.close()
    assert code == 1
    line = _one_error_line(capsys.readouterr().err)
    assert "standard input" in line and str(image) in line
    assert image.read_bytes() == before


def test_standard_output_and_a_file_output_that_are_one_file_are_refused(
    tmp_path, scene_files, capsys
):
    # `-o - --cutout cut.png > cut.png`: the cutout was renamed over the file standard
    # output was writing, and the matte was lost.
    image, trimap = scene_files
    cut = tmp_path / "cut.png"
    with pytest.MonkeyPatch.context() as patch:
        stream = _redirect(patch, "stdout", cut, "wb")
        code = main(["alpha", str(image), str(trimap), "-o", "-", "--cutout", str(cut), "-q"])
        stream.close()
    assert code == 1
    assert "same file" in _one_error_line(capsys.readouterr().err)
    assert cut.read_bytes() == b""


def test_an_output_through_a_link_to_a_descriptor_writes_its_file(tmp_path, scene_files):
    # `-o /dev/stdout > out.png` (/dev/stdout -> /proc/self/fd/1): the rename replaced the
    # link itself by a file (as root, the system's /dev/stdout) and out.png stayed empty.
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc/self/fd")
    image, trimap = scene_files
    out = tmp_path / "out.png"
    devices = tmp_path / "dev"
    devices.mkdir()
    link = devices / "stdout"
    with open(out, "wb") as handle:
        link.symlink_to(f"/proc/self/fd/{handle.fileno()}")
        assert main(["alpha", str(image), str(trimap), "-o", str(link), "-q"]) == 0
    assert link.is_symlink()
    assert files_in(devices) == {"stdout"}
    with Image.open(out) as written, Image.open(image) as photograph:
        assert written.format == "PNG" and written.size == photograph.size


def test_save_image_writes_through_a_symbolic_link(tmp_path, scene):
    # A link is written through, as open() and Pillow's save write, not replaced by a file.
    target_dir = tmp_path / "elsewhere"
    target_dir.mkdir()
    target = target_dir / "alpha.png"
    target.write_bytes(b"old")
    link = tmp_path / "alpha.png"
    link.symlink_to(target)
    vecmatte.save_image(link, scene.alpha)
    assert link.is_symlink() and link.resolve() == target
    assert vecmatte.load_trimap(target).shape == scene.alpha.shape
    assert files_in(tmp_path) == {"alpha.png", "elsewhere"}
    assert files_in(target_dir) == {"alpha.png"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"radius": "abc"}, "radius must be a positive integer, got 'abc'"),
        ({"radius": [1]}, "radius must be a positive integer, got [1]"),
        ({"radius": "2"}, "radius must be a positive integer, got '2'"),
        ({"eps": "1e-5"}, "eps must be a positive finite number, got '1e-5'"),
        ({"eps": None}, "eps must be a positive finite number, got None"),
        ({"eps": 10**400}, "eps must be a positive finite number, got inf"),
        ({"rtol": "1e-6"}, "rtol must be a number in (0, 1), got '1e-6'"),
        ({"rtol": 10**400}, "rtol must lie in (0, 1)"),
        ({"maxiter": "5"}, "maxiter must be an integer of at least 1"),
    ],
)
def test_solver_options_of_the_wrong_type_are_refused_naming_them(scene, options, message):
    # The library read the text "1e-5" as a number, and refused "abc" or [1] with "could
    # not convert string to float" or "float() argument must be ...", naming no option.
    with pytest.raises(ValueError) as error:
        vecmatte.estimate_alpha(scene.image, scene.trimap, **options)
    assert str(error.value).startswith(message)


def test_numbers_of_every_numeric_kind_are_still_taken(scene):
    expected = vecmatte.estimate_alpha(scene.image, scene.trimap)
    alpha = vecmatte.estimate_alpha(
        scene.image,
        scene.trimap,
        radius=np.int64(1),
        eps=np.array(1e-7),
        rtol=np.float64(1e-7),
        maxiter=10**400,
    )
    np.testing.assert_array_equal(alpha, expected)


def test_an_upload_gone_silent_gives_back_its_place_on_the_server(monkeypatch, scene):
    # A client silent mid-upload (a laptop put to sleep) held its admission for ever: with
    # workers + queue of them, every later request was answered 503 until a restart.
    import socket
    import threading

    from vecmatte.web import create_app, make_server
    from vecmatte.web import server as web_server

    # The connections of `vecmatte serve` time out (the default had none) ...
    assert web_server._Handler.timeout == web_server.IDLE_SECONDS <= 60
    # ... and a request whose body stops coming is answered 408 (shortened here).
    monkeypatch.setattr(web_server._Handler, "timeout", 0.5)
    httpd = make_server(create_app(workers=1, queue=0), "127.0.0.1", 0, quiet=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    port = httpd.server_port
    head = (
        f"POST /api/alpha HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n--b\r\n"
    )
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=20) as silent:
            silent.sendall(head.encode())
            answer = b""
            while chunk := silent.recv(4096):
                answer += chunk
        assert answer.startswith(b"HTTP/1.0 408"), answer[:200]
        assert b"the body of 100,000 bytes stopped coming before its end" in answer
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_batch_on_a_full_disk_says_which_file_in_one_readable_line(
    tmp_path, scene_files, full_disk, capsys
):
    # Each failed image read "[Errno 28] No space left on device: 'out/image_alpha.png'".
    images, trimaps = _batch_folders(tmp_path, scene_files)
    out = tmp_path / "out"
    assert main(["batch", str(images), str(trimaps), "-o", str(out), "-q"]) == 1
    stderr = capsys.readouterr().err
    assert f"a: {out / 'a_alpha.png'}: no space left on device" in stderr
    assert "Errno" not in stderr


def test_composite_refuses_a_background_too_small_to_crop_before_any_work(
    tmp_path, scene_files, scene, monkeypatch, capsys
):
    # The foreground was estimated first (minutes on a large photograph with cf), then the
    # library said "use fit='cover' or fit='resize'", naming no file.
    import vecmatte.foreground

    image, _ = scene_files
    alpha = tmp_path / "alpha.png"
    vecmatte.save_image(alpha, scene.alpha)
    small = tmp_path / "small.png"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(small)
    estimated = []
    monkeypatch.setattr(vecmatte.foreground, "estimate_foreground", estimated.append)
    out = tmp_path / "out.png"
    code = main(["composite", str(image), str(alpha), str(small), "--fit", "crop", "-o", str(out)])
    assert code == 1
    line = _one_error_line(capsys.readouterr().err)
    assert str(small) in line and "--fit cover" in line
    assert not estimated and not out.exists()


@pytest.mark.parametrize("suffix", [".gif", ".tif"])
def test_a_file_of_several_frames_says_only_the_first_is_read(tmp_path, scene, suffix):
    # An animated GIF or a multi-page TIFF was matted on its first frame without a word.
    from vecmatte.io import ExtraFramesWarning

    pixels = np.round(scene.image * 255).astype(np.uint8)
    frames = [Image.fromarray(pixels), Image.fromarray(pixels[::-1].copy())]
    path = tmp_path / f"animated{suffix}"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    with pytest.warns(ExtraFramesWarning, match=r"holds 2 frames .* only the first") as caught:
        image = vecmatte.load_image(path)
    assert len(caught) == 1 and caught[0].filename == __file__
    assert str(path) in str(caught[0].message)
    assert image.shape == scene.image.shape
    single = tmp_path / f"single{suffix}"
    frames[0].save(single)
    vecmatte.load_image(single)  # one frame: no note (warnings are errors here)


@pytest.mark.parametrize("suffix", [".fits", ".xpm", ".ico", ".icns", ".pdf", ".xbm", ".qoi"])
def test_an_output_format_vecmatte_cannot_write_faithfully_is_refused_first(
    tmp_path, scene_files, monkeypatch, capsys, suffix
):
    # After the solve, .fits and .xpm ended in a KeyError traceback, .xbm and .qoi in
    # Pillow's "cannot write mode L as XBM"; .ico shrank the matte to 256 x 256 and .icns
    # stretched it to 1024 x 1024; .pdf wrote a document no image reader opens.
    import vecmatte.alpha

    image, trimap = scene_files
    solved = []
    monkeypatch.setattr(vecmatte.alpha, "solve_alpha", solved.append)
    out = tmp_path / f"matte{suffix}"
    assert main(["alpha", str(image), str(trimap), "-o", str(out), "-q"]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert str(out) in line and "vecmatte does not write" in line and ".png" in line
    assert not solved and not out.exists()
    with pytest.raises(ValueError, match="vecmatte does not write"):
        vecmatte.save_image(io.BytesIO(), np.zeros((4, 4)), format=suffix[1:])


@pytest.mark.parametrize("suffix", [".pgm", ".tga", ".gif", ".jp2", ".bmp"])
def test_other_image_formats_are_still_written_at_full_size(tmp_path, scene, suffix):
    path = tmp_path / f"matte{suffix}"
    vecmatte.save_image(path, scene.alpha)
    with Image.open(path) as written:
        assert written.size == scene.alpha.shape[::-1]


def test_demo_quiet_prints_nothing(tmp_path, capsys):
    # --quiet ("print nothing but errors") still printed "wrote .../demo_alpha.png and ...".
    out = tmp_path / "demo"
    assert main(["demo", "-q", "--output-dir", str(out)]) == 0
    assert capsys.readouterr() == ("", "")
    assert files_in(out) == {"demo_alpha.png", "demo_cutout.png"}


def test_a_read_only_file_system_is_called_so(tmp_path, scene_files, monkeypatch, capsys):
    # Root writing to a read-only mount was told "permission denied".
    from types import SimpleNamespace

    if not hasattr(os, "statvfs"):
        pytest.skip("needs os.statvfs")
    image, trimap = scene_files
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)
    monkeypatch.setattr(os, "statvfs", lambda path: SimpleNamespace(f_flag=os.ST_RDONLY))
    out = tmp_path / "alpha.png"
    assert main(["alpha", str(image), str(trimap), "-o", str(out), "-q"]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert line.endswith(f"{out}: cannot write to directory {tmp_path} (read-only file system)")


@pytest.mark.parametrize("suffix", [".gif", ".png"])
def test_a_colour_palette_file_given_as_a_trimap_is_refused(tmp_path, scene, suffix):
    # A photograph saved as GIF (or palette PNG) was turned into gray and read as a trimap.
    photo = Image.fromarray(np.round(scene.image * 255).astype(np.uint8)).convert("P")
    path = tmp_path / f"photo{suffix}"
    photo.save(path)
    with pytest.raises(ValueError, match=rf"{path.name}: trimap is in colour"):
        vecmatte.load_trimap(path)
    # A gray trimap saved with a palette reads exactly as before.
    levels = np.round(scene.trimap * 255).astype(np.uint8)
    gray = tmp_path / f"trimap{suffix}"
    Image.fromarray(levels).convert("P").save(gray)
    np.testing.assert_array_equal(vecmatte.load_trimap(gray), levels / 255.0)


def test_standard_input_from_a_terminal_is_refused_instead_of_waited_for(
    tmp_path, scene_files, monkeypatch, capsys
):
    # `vecmatte alpha - t.png -o a.png` typed without a pipe waited silently for input.
    class Terminal:
        def isatty(self) -> bool:
            return True

        @property
        def buffer(self):
            raise AssertionError("standard input was read")

    _, trimap = scene_files
    monkeypatch.setattr(sys, "stdin", Terminal())
    out = tmp_path / "a.png"
    assert main(["alpha", "-", str(trimap), "-o", str(out), "-q"]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert "standard input" in line and "terminal" in line
    assert not out.exists()


@pytest.mark.parametrize(
    ("band", "message"),
    [
        ("3", "band must be a positive whole number of pixels, got '3'"),
        (None, "band must be a positive whole number of pixels, got None"),
        ([2], "band must be a positive whole number of pixels, got [2]"),
        (10**400, "no sure foreground is left once a band of"),
    ],
)
def test_a_band_that_is_not_a_number_is_refused_naming_it(tmp_path, scene, band, message):
    # trimap_from_mask(mask, band="3") raised "'<' not supported between instances of 'str'
    # and 'int'", band=None "float() argument must be ...", band=10**400 OverflowError; the
    # batch's find_tasks the same.
    from vecmatte.batch import find_tasks
    from vecmatte.trimap import trimap_from_mask

    with pytest.raises(ValueError, match=re.escape(message)):
        trimap_from_mask(scene.alpha > 0.5, band=band)
    if band is not None and band != 10**400:
        with pytest.raises(ValueError, match=re.escape(message)):
            find_tasks(tmp_path, tmp_path, tmp_path / "out", band=band)


@pytest.mark.parametrize("value", ["2", None, [2]])
def test_jobs_and_max_pixels_that_are_not_numbers_are_refused_naming_them(
    tmp_path, scene_files, value
):
    # run_batch(jobs="2") raised "'<' not supported between instances of 'str' and 'int'",
    # jobs=None "float() argument must be ..."; load_image(max_pixels="5") the same.
    from vecmatte.batch import run_batch

    image, _ = scene_files
    with pytest.raises(ValueError, match=r"^jobs must be a positive whole number, got "):
        run_batch([], jobs=value)
    if value is not None:  # None is no limit
        with pytest.raises(ValueError, match=r"^max_pixels must be a positive integer, got "):
            vecmatte.load_image(image, max_pixels=value)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"radius": 0}, "radius must be a positive integer, got 0"),
        ({"eps": -1.0}, "eps must be a positive finite number"),
        ({"method": "knn", "options": {"lam": -1}}, "lam must be a positive finite number"),
    ],
)
def test_find_tasks_refuses_method_options_out_of_range_before_any_work(
    tmp_path, scene_files, options, message
):
    # find_tasks(..., radius=0) made its tasks (and the output folder), then every image
    # failed with the same message; the command line refused it once, before any work.
    from vecmatte.batch import find_tasks

    images, trimaps = _batch_folders(tmp_path, scene_files)
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=re.escape(message)):
        find_tasks(images, trimaps, out, **options)
    assert not out.exists()


@pytest.mark.parametrize("which", ["output", "image"])
def test_symbolic_links_that_loop_get_one_line_not_a_traceback(
    tmp_path, scene_files, capsys, which
):
    # pathlib's RuntimeError("Symlink loop from ...") reached the user as a traceback.
    image, trimap = scene_files
    loop = tmp_path / "loop.png"
    loop.symlink_to(loop.name)
    out = tmp_path / "a.png"
    if which == "output":
        argv = ["alpha", str(image), str(trimap), "-o", str(loop), "-q"]
    else:
        argv = ["alpha", str(loop), str(trimap), "-o", str(out), "-q"]
    assert main(argv) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert f"{loop}: its symbolic links loop" in line
    assert loop.is_symlink() and not out.exists()


def test_an_output_with_a_long_valid_name_is_written(tmp_path, scene):
    # A name of 242 to 255 bytes is valid, but its temporary's was too long: "file name too
    # long" named '.aaaa...png.x1y2z3.tmp', a file the user never gave, after the solve.
    from vecmatte._writing import temporary_prefix
    from vecmatte.batch._core import BatchTask, remove_stale_temporaries
    from vecmatte.io import save_image

    path = tmp_path / ("a" * 246 + ".png")  # 250 bytes
    save_image(path, scene.alpha)
    assert files_in(tmp_path) == {path.name}
    # A killed batch's temporary of such an output is still found and removed.
    stale = tmp_path / f"{temporary_prefix(path)}k1ll3d0n.tmp"
    stale.write_bytes(b"half")
    remove_stale_temporaries([BatchTask("a", "i.png", "t.png", str(path), None)])
    assert files_in(tmp_path) == {path.name}


def test_a_link_planted_by_another_user_in_a_shared_folder_is_not_followed(tmp_path, scene):
    # Outputs are written through links (a0f2f6b); in a sticky shared folder (/tmp) a link
    # of another user is refused, as the kernel's protected_symlinks refuses open() there.
    if not hasattr(os, "lchown") or os.geteuid() != 0:
        pytest.skip("needs root to give a link another owner")
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    mine = tmp_path / "precious.png"
    mine.write_bytes(b"keep")
    link = shared / "out.png"
    link.symlink_to(mine)
    os.lchown(link, 54321, 54321)
    with pytest.raises(PermissionError, match="symbolic link of another user"):
        vecmatte.save_image(link, scene.alpha)
    assert mine.read_bytes() == b"keep" and link.is_symlink()
    os.lchown(link, os.geteuid(), os.getegid())  # our own link is followed
    vecmatte.save_image(link, scene.alpha)
    assert vecmatte.load_trimap(mine).shape == scene.alpha.shape


def test_loading_something_that_is_not_a_file_says_what_to_give(scene_files):
    # load_image(data) with a file's bytes said "argument should be a str object or an
    # os.PathLike object returning str, not <class 'bytes'>", with an array "expected str,
    # bytes or os.PathLike object, not ndarray".
    image, _ = scene_files
    data = image.read_bytes()
    with pytest.raises(TypeError, match=r"got bytes; .* io\.BytesIO\(data\)"):
        vecmatte.load_image(data)
    with pytest.raises(TypeError, match="got ndarray; an array is an image already"):
        vecmatte.load_trimap(np.zeros((4, 4)))
    assert vecmatte.load_image(io.BytesIO(data)).shape[2] == 3


def test_with_standard_error_closed_standard_output_gets_only_the_png(tmp_path, scene_files):
    # `vecmatte alpha ... -o - 2>&-`: Python sets sys.stderr to None, print(file=None)
    # writes to standard output, and the progress lines went into the PNG (exit 0).
    import subprocess

    image, trimap = scene_files
    result = subprocess.run(
        [sys.executable, "-m", "vecmatte", "alpha", str(image), str(trimap), "-o", "-"],
        stdout=subprocess.PIPE,
        preexec_fn=lambda: os.close(2),  # in the child only: its standard error closed
        timeout=120,
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(result.stdout)) as matte, Image.open(image) as photograph:
        assert matte.size == photograph.size


@pytest.mark.parametrize("closed", [0, 1])
def test_a_closed_standard_stream_named_as_dash_gets_one_line(tmp_path, scene_files, closed):
    # Started with standard output closed (>&-), '-o -' and every command's final flush
    # raised AttributeError ("'NoneType' object has no attribute 'buffer'"/"'flush'"),
    # tracebacks; with standard input closed (<&-), '-' as the image did the same.
    import subprocess

    image, trimap = scene_files
    out = tmp_path / "a.png"
    source, target = (str(image), "-") if closed == 1 else ("-", str(out))
    command = [sys.executable, "-m", "vecmatte", "alpha", source, str(trimap), "-o", target]
    result = subprocess.run(
        command,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: os.close(closed),  # in the child only
        timeout=120,
        check=False,
        text=True,
    )
    assert result.returncode == 1
    assert _one_error_line(result.stderr).endswith(
        "which is closed; "
        + (
            "redirect it (> out.png) or give a file name"
            if closed == 1
            else "pipe or redirect the image into it (< photo.png), or give a file name"
        )
    )
    assert not out.exists()
    # A command that only prints (eval) runs to its end, printing nothing.
    alpha = tmp_path / "alpha.png"
    vecmatte.save_image(alpha, vecmatte.load_trimap(trimap))
    evaluation = subprocess.run(
        [sys.executable, "-m", "vecmatte", "eval", str(alpha), str(alpha), str(trimap)],
        stderr=subprocess.PIPE,
        preexec_fn=lambda: os.close(1),
        timeout=120,
        check=False,
        text=True,
    )
    assert evaluation.returncode == 0 and "Traceback" not in evaluation.stderr


def test_damaged_exif_data_is_noted_naming_the_file(tmp_path, scene):
    # Pillow's "Corrupt EXIF data.  Expecting to read 12 bytes but only got 2." reached the
    # user in Pillow's words without the file's name (and with warnings as errors, as a
    # Pillow UserWarning raised from inside Image.open).
    import struct

    from vecmatte.io import ImageMetadataWarning

    buffer = io.BytesIO()
    Image.fromarray(np.round(scene.image * 255).astype(np.uint8)).save(buffer, "JPEG")
    data = buffer.getvalue()
    payload = b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08" + b"\xff" * 40
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    path = tmp_path / "damaged.jpg"
    path.write_bytes(data[:2] + segment + data[2:])
    with pytest.warns(ImageMetadataWarning) as caught:
        image = vecmatte.load_image(path)
    assert len(caught) == 1 and caught[0].filename == __file__
    assert str(caught[0].message).startswith(f"{path}: its EXIF data is damaged (Corrupt EXIF")
    assert image.shape == scene.image.shape


def test_resume_cleans_the_temporaries_of_an_output_that_is_a_link(tmp_path):
    # Since a0f2f6b a linked output's temporary is made beside the link's file; a killed
    # batch's leftover there was not found by the clean-up, which looked beside the link.
    from vecmatte._writing import temporary_prefix
    from vecmatte.batch._core import BatchTask, remove_stale_temporaries

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = elsewhere / "kept.png"
    target.write_bytes(b"")
    out = tmp_path / "out"
    out.mkdir()
    link = out / "a_alpha.png"
    link.symlink_to(target)
    stale = elsewhere / f"{temporary_prefix(target)}k1ll3d0n.tmp"
    stale.write_bytes(b"half")
    remove_stale_temporaries([BatchTask("a", "i.png", "t.png", str(link), None)])
    assert files_in(elsewhere) == {"kept.png"}


@pytest.mark.parametrize("option", ["method=knn", "preconditioner=jacobi", "rtol=0.5", "maxiter=3"])
def test_a_solve_keyword_given_as_an_option_of_the_method_is_refused(
    tmp_path, scene_files, capsys, option
):
    # `--method sm --option method=knn` ran knn, and `--rtol 1e-6 --option rtol=0.5` was
    # decided by dict order, silently.
    image, trimap = scene_files
    out = tmp_path / "a.png"
    argv = ["alpha", str(image), str(trimap), "-o", str(out), "--method", "sm", "--option", option]
    assert main(argv) == 1
    name = option.partition("=")[0]
    line = _one_error_line(capsys.readouterr().err)
    assert line.endswith(f"{name} is not an option of the method; use --{name}")
    assert not out.exists()


def test_a_solve_refused_for_the_image_names_its_file(tmp_path, capsys):
    # "image of 1 x 8 pixels (height x width) is smaller than one 3 x 3 window ..." named no
    # file (every other refusal of an input does).
    image, trimap = tmp_path / "row.png", tmp_path / "row_trimap.png"
    Image.fromarray(np.full((1, 8, 3), 100, np.uint8)).save(image)
    Image.fromarray(np.array([[0, 0, 128, 128, 255, 255, 128, 0]], np.uint8)).save(trimap)
    out = tmp_path / "a.png"
    assert main(["alpha", str(image), str(trimap), "-o", str(out), "-q"]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith(f"vecmatte: error: {image}: image of 1 x 8 pixels")
    assert not out.exists()


@pytest.mark.parametrize("suffix", [".avif", ".mpo"])
def test_a_matte_written_in_another_lossy_format_gets_the_note(
    tmp_path, scene_files, capsys, suffix
):
    # The note that a lossy file changes the matte's values was given for JPEG and WebP only.
    from PIL import features

    if suffix == ".avif" and not features.check("avif"):
        pytest.skip("this Pillow writes no AVIF")
    image, trimap = scene_files
    out = tmp_path / f"a{suffix}"
    assert main(["alpha", str(image), str(trimap), "-o", str(out), "-q"]) == 0
    assert "is lossy: the alpha matte's values are not kept exactly" in capsys.readouterr().err
