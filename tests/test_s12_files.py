"""Files, session 12: an input's colour profile carried to the colour outputs; a stream or
pipe read no further than an allowed image could need; the rename lock's descriptor closed
whatever Ctrl-C interrupts."""

import fcntl
import io
import os
import signal
import threading

import numpy as np
import pytest
from PIL import Image, ImageCms

import vecmatte._opening
import vecmatte._rename_lock
import vecmatte._writing
from vecmatte.io import (
    ColourProfileWarning,
    ImageTooLargeError,
    colour_profile,
    load_image,
    load_trimap,
    read_stream,
    save_image,
    save_images,
)


def _profile(space: str = "sRGB") -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile(space)).tobytes()


def _stored_profile(path) -> bytes | None:
    with Image.open(path) as image:
        return image.info.get("icc_profile")


@pytest.fixture
def tagged_photo(tmp_path, rng):
    """A PNG photo with an RGB colour profile (its values are in that profile's space)."""
    path = tmp_path / "photo.png"
    pixels = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, icc_profile=_profile())
    return path


# --- the colour profile ------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif", ".webp"])
def test_the_rgb_profile_of_a_file_is_read_from_it(tmp_path, rng, suffix):
    profile = _profile()
    path = tmp_path / f"tagged{suffix}"
    Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)).save(path, icc_profile=profile)
    assert colour_profile(path) == profile == _stored_profile(path)
    assert colour_profile(tmp_path / "missing.png") is None  # the reader says why, not this


def test_a_stream_is_read_from_its_start_and_left_where_it_was(tagged_photo):
    stream = io.BytesIO(tagged_photo.read_bytes())
    stream.seek(5)
    assert colour_profile(stream) == _profile()
    assert stream.tell() == 5


def test_no_profile_a_damaged_one_or_one_not_of_rgb_is_none(tmp_path, rng):
    pixels = rng.integers(0, 256, (6, 8), dtype=np.uint8)
    plain, damaged, lab = tmp_path / "plain.png", tmp_path / "damaged.png", tmp_path / "lab.tif"
    Image.fromarray(pixels).save(plain)
    Image.fromarray(pixels).save(damaged, icc_profile=b"not a profile" * 20)
    Image.fromarray(pixels).save(lab, icc_profile=_profile("LAB"))
    assert _stored_profile(lab) == _profile("LAB")
    assert [colour_profile(p) for p in (plain, damaged, lab)] == [None, None, None]


def test_a_named_pipe_is_not_opened_again_for_its_profile(tmp_path):
    # Its data went to the image's reader: opened again, it waited for a writer for good
    # (`vecmatte alpha FIFO t.png -o m.png` hung once the CLI asked for the profile).
    fifo = tmp_path / "in.png"
    os.mkfifo(fifo)
    found = []
    looking = threading.Thread(target=lambda: found.append(colour_profile(fifo)), daemon=True)
    looking.start()
    looking.join(30)
    if looking.is_alive():  # blocked in open(): let it go before failing
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert found == [None]


def test_the_colour_outputs_carry_the_profile_and_the_alpha_matte_none(tagged_photo, tmp_path):
    # The cutout and foreground hold the photo's values as stored, in its profile's space:
    # written without it (every file before), viewers showed them as sRGB.
    profile = colour_profile(tagged_photo)
    image = load_image(tagged_photo)
    alpha = image[:, :, 0]
    cutout = np.dstack([image, alpha])
    outputs = {
        "alpha.png": alpha,
        "cutout.png": cutout,
        "cutout.webp": cutout,
        "foreground.jpg": image,
        "foreground.tif": image,
        "foreground16.tif": np.rint(image * 65535).astype(np.uint16),
        "alpha16.png": np.rint(alpha * 65535).astype(np.uint16),
    }
    save_images([(tmp_path / name, array) for name, array in outputs.items()], icc_profile=profile)
    for name, array in outputs.items():
        expected = profile if array.ndim == 3 else None
        assert _stored_profile(tmp_path / name) == expected, name
    # the values are written as before (the profile is metadata only)
    np.testing.assert_array_equal(load_image(tmp_path / "foreground.tif"), image)
    np.testing.assert_array_equal(load_trimap(tmp_path / "alpha.png"), alpha)


def test_save_image_and_a_stream_take_the_profile(tmp_path, rng):
    profile = _profile()
    rgb = rng.random((5, 7, 3))
    save_image(tmp_path / "one.png", rgb, icc_profile=profile)
    stream = io.BytesIO()
    save_image(stream, rgb, icc_profile=profile)
    assert (
        _stored_profile(tmp_path / "one.png")
        == profile
        == _stored_profile(io.BytesIO(stream.getvalue()))
    )


def test_a_format_without_profiles_says_the_profile_is_not_kept(tmp_path, rng):
    rgb = rng.random((5, 7, 3))
    with pytest.warns(ColourProfileWarning, match=r"out\.bmp: BMP files hold no colour profile"):
        save_image(tmp_path / "out.bmp", rgb, icc_profile=_profile())
    np.testing.assert_array_equal(load_image(tmp_path / "out.bmp"), np.rint(rgb * 255) / 255)


@pytest.mark.parametrize(
    ("profile", "error", "message"),
    [
        ("sRGB", TypeError, "icc_profile must be bytes"),
        (b"junk" * 40, ValueError, "not an ICC profile"),
        (None, ValueError, "describes Lab values, not RGB"),
    ],
)
def test_a_profile_that_is_none_of_rgb_is_refused(tmp_path, profile, error, message):
    profile = _profile("LAB") if profile is None else profile
    with pytest.raises(error, match=message):
        save_image(tmp_path / "out.png", np.zeros((3, 3, 3)), icc_profile=profile)
    assert list(tmp_path.iterdir()) == []


# --- streams read with a bound ---------------------------------------------------------------


class _Endless(io.RawIOBase):
    """A pipe-like stream (no seeking) that never ends; it fails the test past ``most`` bytes."""

    name = "<endless>"

    def __init__(self, most: int):
        self.given, self.most = 0, most

    def readable(self):
        return True

    def readinto(self, buffer):
        if self.given > self.most:
            raise AssertionError(f"read {self.given} bytes of an endless stream")
        buffer[:] = bytes(len(buffer))
        self.given += len(buffer)
        return len(buffer)


@pytest.mark.parametrize("reader", [load_image, load_trimap])
def test_an_endless_stream_is_refused_once_past_what_an_image_could_need(reader, monkeypatch):
    # Read whole before any check: `cat /dev/zero | ...` filled the memory.
    monkeypatch.setattr(vecmatte._opening, "_METADATA_BYTES", 1000)
    stream = _Endless(most=8 << 20)
    with pytest.raises(ImageTooLargeError) as refused:
        reader(stream, max_pixels=100)
    assert str(refused.value).startswith(
        "<endless>: more than 2,600 bytes and not at its end, more than an image within the "
        "limit of 100 pixels can take"
    )
    assert "max_pixels=N" in str(refused.value) and "\n" not in str(refused.value)
    assert stream.given <= 2601


def test_a_stream_within_the_bound_is_read_whole(tagged_photo):
    data = tagged_photo.read_bytes()
    read, write = os.pipe()
    with open(read, "rb") as pipe:
        writer = threading.Thread(target=lambda: (os.write(write, data), os.close(write)))
        writer.start()
        copy = read_stream(pipe)
        writer.join()
    assert copy.getvalue() == data and copy.tell() == 0
    with open(tagged_photo, "rb") as handle:
        assert read_stream(handle, start=b"").getvalue() == data


def test_a_named_pipe_is_read_with_the_same_bound(tmp_path, monkeypatch):
    monkeypatch.setattr(vecmatte._opening, "_METADATA_BYTES", 1000)
    fifo = tmp_path / "in.png"
    os.mkfifo(fifo)
    stop = threading.Event()

    def endless():  # as good as endless: 8 MiB, 3000 times the bound
        try:
            with open(fifo, "wb") as pipe:
                for _ in range(128):
                    if stop.is_set():
                        break
                    pipe.write(bytes(1 << 16))
        except BrokenPipeError:  # the reader refused and closed it
            pass

    writer = threading.Thread(target=endless, daemon=True)
    writer.start()
    try:
        with pytest.raises(ImageTooLargeError, match=r"in\.png: more than 2,600 bytes"):
            load_image(fifo, max_pixels=100)
    finally:
        stop.set()
        writer.join(10)


# --- the rename lock and Ctrl-C ------------------------------------------------------------


def _open_descriptors() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


@pytest.fixture
def lock_folder(tmp_path, monkeypatch):
    """The folder of the rename locks (the system's temporary folder), one for this test."""
    import tempfile

    locks = tmp_path / "locks"
    locks.mkdir()
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(locks))
    return locks


pytestmark_posix = pytest.mark.skipif(
    not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc"
)


@pytestmark_posix
def test_ctrl_c_right_after_the_lock_file_is_opened_leaves_no_descriptor(
    tmp_path, lock_folder, monkeypatch
):
    # The lock file's descriptor was leaked when Ctrl-C came between os.open's return and
    # its noting: not yet locked here, but a leak at each such Ctrl-C (and past the flock, a
    # lock held for as long as the process ran).
    real_open = os.open

    def open_then_interrupted(path, *args, **kwargs):
        descriptor = real_open(path, *args, **kwargs)
        if "vecmatte-renames-" in os.fspath(path):
            signal.raise_signal(signal.SIGINT)
        return descriptor

    out = tmp_path / "out"
    out.mkdir()
    before = _open_descriptors()
    monkeypatch.setattr(vecmatte._rename_lock.os, "open", open_then_interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_images([(out / "m.png", np.zeros((4, 5))), (out / "c.png", np.zeros((4, 5, 4)))])
    monkeypatch.undo()
    assert _open_descriptors() == before
    assert list(out.iterdir()) == []  # neither output, no temporary
    for lock in lock_folder.iterdir():  # not held: another writer takes it at once
        descriptor = os.open(lock, os.O_RDONLY)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(descriptor)


@pytestmark_posix
def test_ctrl_c_ends_a_wait_for_another_writers_lock(tmp_path, lock_folder):
    # The locks are now taken with Ctrl-C held back (so that none comes between a lock
    # file's opening and its noting): the wait still ends at Ctrl-C.
    out = tmp_path / "out"
    out.mkdir()
    status = os.stat(out)
    lock = vecmatte._rename_lock.lock_path((status.st_dev, status.st_ino))
    before = _open_descriptors()
    other = os.open(lock, os.O_RDONLY | os.O_CREAT, 0o600)
    fcntl.flock(other, fcntl.LOCK_EX)  # another writer renaming
    main = threading.main_thread().ident  # where a Ctrl-C is handled
    interrupt = threading.Timer(0.3, signal.pthread_kill, (main, signal.SIGINT))
    # Should Ctrl-C not end the wait, the other writer lets go (the test then fails below
    # rather than hangs).
    release = threading.Timer(60, fcntl.flock, (other, fcntl.LOCK_UN))
    interrupt.start()
    release.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            save_images([(out / "m.png", np.zeros((4, 5))), (out / "c.png", np.zeros((4, 5)))])
        assert release.is_alive()  # ended by Ctrl-C, not by the other writer's end
    finally:
        interrupt.cancel()
        release.cancel()
        os.close(other)
    assert _open_descriptors() == before
    assert list(out.iterdir()) == []


# --- a JPEG cut short and closed -----------------------------------------------------------


def _jpeg(array: np.ndarray, **options) -> bytes:
    stream = io.BytesIO()
    Image.fromarray(array).save(stream, "JPEG", **options)
    return stream.getvalue()


def _cut_and_closed(data: bytes) -> bytes:
    """The first half of a JPEG with its end marker: as a recovery tool or a broken upload
    leaves it (libjpeg reads the missing blocks as flat gray, without an error)."""
    return data[: len(data) // 2] + b"\xff\xd9"


_PHOTO = np.random.default_rng(5).integers(0, 256, (37, 45, 3), dtype=np.uint8)
# Its last blocks of the very gray of no data, whole or cut.
_GRAY = np.concatenate([_PHOTO[:20], np.full((17, 45, 3), 128, np.uint8)])


@pytest.mark.parametrize(
    "data",
    [
        _jpeg(_PHOTO),
        _jpeg(_PHOTO, subsampling=0),
        _jpeg(_PHOTO, restart_marker_blocks=2),
        _jpeg(_PHOTO, optimize=True),
        _jpeg(_PHOTO[:, :, 0]),
        _jpeg(_GRAY),
        _jpeg(_PHOTO, comment=b"a comment with \xff\xda in it"),
    ],
    ids=["420", "444", "restarts", "optimized", "gray", "flat-gray", "comment"],
)
def test_a_jpeg_cut_short_and_closed_is_refused_and_the_whole_one_read(tmp_path, data):
    whole, cut = tmp_path / "whole.jpg", tmp_path / "cut.jpg"
    whole.write_bytes(data)
    cut.write_bytes(_cut_and_closed(data))
    with Image.open(cut) as image:  # Pillow itself decodes it without a word
        image.load()
        stored = np.asarray(image)
        assert np.all(stored[-1, -1] == 128)
    with pytest.raises(ValueError) as refused:
        load_image(cut)
    assert str(refused.value) == (
        f"{cut}: cannot read image, the file is damaged or truncated (its compressed data "
        "ends before its last block, which would read as flat gray: cut short, or damaged)"
    )
    with pytest.raises(ValueError, match="ends before its last block"):
        load_trimap(cut)
    with Image.open(whole) as image:
        expected = np.asarray(image.convert("RGB")) / 255.0
    np.testing.assert_array_equal(load_image(whole), expected)


def test_a_cmyk_jpeg_cut_short_and_closed_is_refused(tmp_path):
    stream = io.BytesIO()
    Image.fromarray(_PHOTO).convert("CMYK").save(stream, "JPEG")
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(_cut_and_closed(stream.getvalue()))
    with pytest.raises(ValueError, match=r"cut\.jpg: .*ends before its last block"):
        load_image(cut)


def test_a_truncated_jpeg_is_refused_even_where_pillow_is_told_to_load_truncated_images(
    tmp_path, monkeypatch
):
    # A program may set Pillow's global for its own reasons (many training scripts do):
    # Pillow then ends a file cut inside its data with flat gray, without an error.
    from PIL import ImageFile

    cut = tmp_path / "cut.jpg"
    data = _jpeg(_PHOTO)
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut\.jpg: .*truncated"):
        load_image(cut)  # Pillow's own refusal
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(ValueError, match=r"cut\.jpg: .*ends before its last block"):
        load_image(cut)


# --- a file replaced between the two reads of its 16-bit samples -----------------------------


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_a_16_bit_file_replaced_between_its_two_reads_is_refused_naming_it(
    tmp_path, rng, monkeypatch, suffix
):
    # Pillow reads 16-bit colour at 8 bits; the full samples are read a second time from
    # the name. A new file of that name in between (an editor's save) had its samples mixed
    # with the first's, or (larger) failed in NumPy without the file's name, or was read
    # past the pixel limit checked on the first.
    import tifffile

    import vecmatte._wide_colour as wide

    def write(path, shape):
        samples = rng.integers(0, 65536, shape, dtype=np.uint16)
        if suffix == ".png":  # 16-bit RGB PNG, as a raw writer makes it
            import zlib

            def chunk(kind, data):
                body = kind + data
                return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

            h, w = shape[:2]
            header = h.to_bytes(4, "big").join([w.to_bytes(4, "big"), bytes([16, 2, 0, 0, 0])])
            rows = b"".join(b"\0" + row.astype(">u2").tobytes() for row in samples)
            path.write_bytes(
                b"\x89PNG\r\n\x1a\n"
                + chunk(b"IHDR", header)
                + chunk(b"IDAT", zlib.compress(rows))
                + chunk(b"IEND", b"")
            )
        else:
            tifffile.imwrite(path, samples, photometric="rgb")
        return samples

    path = tmp_path / f"photo{suffix}"
    first = write(path, (6, 8, 3))
    np.testing.assert_array_equal(load_image(path), first / 65535.0)  # read whole
    real = wide.open_unchecked if suffix == ".png" else tifffile.TiffFile

    def replaced_then_read(source, *args, **kwargs):
        write(path, (12, 9, 3))  # another file of that name, larger
        return real(source, *args, **kwargs)

    if suffix == ".png":
        monkeypatch.setattr(wide, "open_unchecked", replaced_then_read)
    else:
        monkeypatch.setattr(tifffile, "TiffFile", replaced_then_read)
    with pytest.raises(ValueError) as refused:
        load_image(path)
    assert str(refused.value) == (
        f"{path}: the file changed while it was read (a new file of that name); read it again"
    )


@pytestmark_posix
def test_a_ctrl_c_held_over_the_renames_comes_once_the_locks_are_let_go(
    tmp_path, lock_folder, monkeypatch
):
    # Held back between two renames, Ctrl-C was delivered at the end of that block, inside
    # the lock's `with`: a KeyboardInterrupt at the entry of its end left the locks (and
    # every later writer into the folder) to the garbage collector. Now the locks are let go
    # inside the held block, before it is delivered.
    out = tmp_path / "out"
    out.mkdir()
    status = os.stat(out)
    lock = vecmatte._rename_lock.lock_path((status.st_dev, status.st_ino))
    real_replace, seen = os.replace, []

    def replace_then_interrupted(*args, **kwargs):
        real_replace(*args, **kwargs)
        signal.raise_signal(signal.SIGINT)

    def handler(number, frame):
        seen.append(lock.exists())  # a held lock's file is there until it is let go
        raise KeyboardInterrupt

    monkeypatch.setattr(vecmatte._writing.os, "replace", replace_then_interrupted)
    previous = signal.signal(signal.SIGINT, handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            save_images([(out / "m.png", np.zeros((4, 5))), (out / "c.png", np.zeros((4, 5)))])
    finally:
        signal.signal(signal.SIGINT, previous)
    assert seen == [False]
    assert sorted(p.name for p in out.iterdir()) == ["c.png", "m.png"]  # both, as before
