"""Reading of session 12's shared-matting and foreground changes (reader-2): defects found,
each with its test."""

from __future__ import annotations

import threading

import numpy as np
from test_s12_review_speed import held_bytes
from test_s12_sm_small import loop_alpha, loop_distortion

from vecmatte.alpha import _sample_refinement as refinement
from vecmatte.alpha._shared_sampling import UNKNOWN
from vecmatte.foreground import _flat, ml

_OPTIONS = {"regularization": 1e-5, "gradient_weight": 1.0}


def _in_a_new_thread(work):
    """``work()`` run in a thread of its own (fresh per-thread kept arrays): its result, or
    the exception it raised."""
    out = []

    def run():
        try:
            out.append(work())
        except BaseException as error:  # handed back to the test
            out.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return out[0]


def test_a_memory_error_while_keeping_a_plans_arrays_leaves_no_partial_entry(monkeypatch):
    """_kept stored the plan's entry before making its arrays: a MemoryError on the second
    level left a one-level list, and every later call of that size in the thread failed
    (IndexError). Now the entry is stored once complete."""
    rng = np.random.default_rng(5)
    image, alpha = rng.random((32, 32, 3)), rng.random((32, 32))
    expected = _in_a_new_thread(lambda: ml.estimate(image, alpha, **_OPTIONS))
    sweeps = _flat._sweeps

    def work():
        calls = []

        def failing(*args):
            calls.append(1)
            if len(calls) == 2:
                raise MemoryError
            return sweeps(*args)

        monkeypatch.setattr(_flat, "_sweeps", failing)
        try:
            ml.estimate(image, alpha, **_OPTIONS)
        except MemoryError:
            pass
        else:
            raise AssertionError("the MemoryError was not raised")
        finally:
            monkeypatch.setattr(_flat, "_sweeps", sweeps)
        return ml.estimate(image, alpha, **_OPTIONS)

    got = _in_a_new_thread(work)
    assert not isinstance(got, BaseException), repr(got)
    for a, b in zip(got, expected, strict=True):
        assert a.tobytes() == b.tobytes()


def test_a_plan_bigger_than_the_cap_alone_is_not_kept():
    """A 1 x 4096 image with small_size 4096 has every level flat, 6.8 MB of kept arrays:
    the per-thread cap of 6 MiB was exceeded by that one plan (kept whole). Now its arrays
    are made for the call, and the colours are the same."""
    rng = np.random.default_rng(6)
    image, alpha = rng.random((1, 4096, 3)), rng.random((1, 4096))

    def work():
        first = ml.estimate(image, alpha, small_size=4096, **_OPTIONS)
        held = held_bytes()
        return held, first, ml.estimate(image, alpha, small_size=4096, **_OPTIONS)

    held, first, second = _in_a_new_thread(work)
    assert held <= _flat._KEPT_BYTES, held
    for a, b in zip(first, second, strict=True):
        assert a.tobytes() == b.tobytes()


def test_a_windows_dict_passed_on_with_other_targets_is_not_read_for_them():
    """refine_samples' ``windows`` kept a chunk's window indices keyed by the box, the
    offsets and the chunk's size, first and last pixels only: the same dict passed with
    other targets of the same size, first and last pixel gave them the first targets'
    windows (other pairs). Now an entry is read only for the targets it was made for."""
    rng = np.random.default_rng(7)
    h, w = 8, 8
    fg, bg = rng.random((h, w, 3)), rng.random((h, w, 3))
    colors = np.ascontiguousarray(rng.random((h * w, 3)).T, dtype=np.float32)
    everything = np.arange(h * w)
    label = np.full(h * w, UNKNOWN, dtype=np.uint8)
    mean = np.zeros(3, dtype=np.float32)

    def planar(x):
        return np.ascontiguousarray(x.reshape(h * w, 3).T, dtype=np.float32)

    planes = refinement.PairPlanes(
        planar(fg), label, (h, w), everything, planar(fg), planar(bg), mean, mean
    )
    first, other = np.array([0, 9, 63]), np.array([0, 18, 63])
    windows = {}
    refinement.refine_samples(colors[:, first], planes, first, 1, windows=windows)
    got = refinement.refine_samples(colors[:, other], planes, other, 1, windows=windows)
    expected = refinement.refine_samples(colors[:, other], planes, other, 1)
    for a, b in zip(got, expected, strict=True):
        assert a.tobytes() == b.tobytes()


def test_the_small_gradient_tensor_takes_differences_in_float64_as_the_big_one():
    """gradient_tensor's small-image path (channels together) took the differences in the
    colours' own dtype: integer colours wrapped (uint8 1 - 2 = 255) where the channel loop
    copies each channel to float64 first. Now both paths give one image's tensor."""
    from vecmatte.alpha._path_energy import gradient_tensor

    rng = np.random.default_rng(8)
    shape = (9, 11)
    colors = rng.integers(0, 256, (shape[0] * shape[1], 3), dtype=np.uint8)
    got = gradient_tensor(colors, shape)
    expected = gradient_tensor(colors.astype(np.float64), shape)
    assert got.tobytes() == expected.tobytes()


def test_path_energy_of_whole_number_coordinates_not_arrays():
    """path_energy skipped np.broadcast_arrays when the shapes agree, so that coordinates
    given as Python numbers or lists (which broadcast_arrays made arrays) failed
    (AttributeError: 'int' object has no attribute 'astype'). Now they are the arrays'
    energies."""
    from vecmatte.alpha._path_energy import gradient_tensor, path_energy

    rng = np.random.default_rng(9)
    shape = (12, 14)
    tensor = gradient_tensor(rng.random((shape[0] * shape[1], 3)), shape)
    for pymatting_path in (False, True):
        expected = path_energy(
            tensor, shape, *(np.array([v]) for v in (1, 2, 9, 7)), pymatting_path=pymatting_path
        )
        got = path_energy(tensor, shape, 1, 2, 9, 7, pymatting_path=pymatting_path)
        assert np.shape(got) == () and got.tobytes() == expected.tobytes()
        got = path_energy(tensor, shape, [1], [2], [9], [7], pymatting_path=pymatting_path)
        assert got.tobytes() == expected.tobytes()


def test_chromatic_distortion_of_float64_colours_and_float32_pairs_is_the_channel_loops():
    """chromatic_distortion multiplied ``F - B`` by alpha in place: with float64 colours and
    float32 pairs (alpha float64) the products were rounded to float32, and the distortion
    was float32 and other numbers than the channel loop's (float64). Same-dtype inputs (as
    sm gives) were and stay the loop's."""
    from vecmatte.alpha._shared_sampling import chromatic_distortion, estimate_alpha_from_pair

    rng = np.random.default_rng(10)
    for colour_type, pair_type in [(np.float64, np.float32), (np.float32, np.float64)] + [
        (t, t) for t in (np.float32, np.float64)
    ]:
        color = rng.random((3, 500)).astype(colour_type)
        fg, bg = (rng.random((3, 500)).astype(pair_type) for _ in range(2))
        alpha, distortion = loop_alpha(color, fg, bg), loop_distortion(color, fg, bg)
        got = estimate_alpha_from_pair(color, fg, bg)
        assert got.dtype == alpha.dtype and got.tobytes() == alpha.tobytes()
        got = chromatic_distortion(color, fg, bg)
        assert got.dtype == distortion.dtype and got.tobytes() == distortion.tobytes()
