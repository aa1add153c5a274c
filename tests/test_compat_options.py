"""The shim's option checks and result layouts where they differed from what PyMatting does.

Read from PyMatting 1.1.16's source: ``vcycle``'s sweep counts go to ``range()`` (a fraction
or a text raises TypeError there; a huge count loops forever); ``remove_background_bicolor``
returns ``np.dstack`` of arrays shaped like the image (its memory order), and
``estimate_alpha_sm``'s colours are new C-ordered arrays.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from reference import loop_vcycle

from vecmatte.compat import pymatting as pm


def _grid_system(shape=(12, 14)):
    n = shape[0] * shape[1]
    laplacian = pm.uniform_laplacian(np.zeros((*shape, 3)))
    return (laplacian + 0.1 * sp.identity(n)).tocsr(), np.random.default_rng(0).random(n)


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"num_pre_iter": 10**400}, "num_pre_iter"),
        ({"num_post_iter": -(10**400)}, "num_post_iter"),
        ({"num_pre_iter": -1}, "num_pre_iter"),
        ({"omega": 10**400}, "omega"),
        ({"omega": float("nan")}, "omega"),
    ],
)
def test_vcycle_refuses_a_count_out_of_range_in_one_line(options, named):
    # The old shim raised OverflowError ('int too large to convert to float') for 10**400.
    matrix, _ = _grid_system()
    with pytest.raises(ValueError, match=f"^{named} must be") as caught:
        pm.vcycle(matrix, (12, 14), **options)
    assert "\n" not in str(caught.value)
    assert len(str(caught.value)) < 150


@pytest.mark.parametrize("count", [2.5, "1", None])
def test_vcycle_count_of_the_wrong_kind_is_pymattings_type_error(count):
    # PyMatting's range() raises TypeError; the old shim raised a plain ValueError.
    matrix, _ = _grid_system()
    with pytest.raises(TypeError, match="num_pre_iter must be a whole number"):
        pm.vcycle(matrix, (12, 14), count)
    with pytest.raises(ValueError):
        pm.vcycle(matrix, (12, 14), num_post_iter=count)


def test_vcycle_takes_counts_of_any_integer_type_and_the_extremes():
    matrix, rhs = _grid_system()
    # 101 and 150 sweeps were refused (vecmatte's own bound, 100): PyMatting runs them.
    for pre, post in ((np.int64(2), 3.0), (0, 100), (101, 150)):
        got = pm.vcycle(matrix, (12, 14), pre, post, np.float32(0.7))(rhs)
        expected = loop_vcycle(
            matrix.toarray(),
            (12, 14),
            rhs,
            omega=float(np.float32(0.7)),
            pre=int(pre),
            post=int(post),
        )
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("depth", [1, 3, 4])
@pytest.mark.parametrize("layout", ["C", "F"])
def test_bicolor_cutout_keeps_the_images_memory_order(layout, depth):
    # The old shim's np.dstack of a matrix-product alpha was neither C nor F for an F image;
    # colours of any number of channels, one more for alpha (PyMatting's np.dstack).
    rng = np.random.default_rng(1)
    image = np.asarray(rng.random((6, 7, depth)), order=layout)
    fg, bg = rng.random(depth), rng.random(depth)
    out = pm.remove_background_bicolor(image, fg, bg)
    assert out.shape == (6, 7, depth + 1)
    assert out.flags[f"{layout}_CONTIGUOUS"]
    direction = fg - bg
    alpha = np.clip(((image - bg) * direction).sum(axis=2) / (direction @ direction), 0, 1)
    np.testing.assert_allclose(out[:, :, -1], alpha, atol=1e-15)
    unmixed = (image - (1 - alpha[:, :, None]) * bg) / np.where(alpha > 0, alpha, 1)[:, :, None]
    expected = np.where(alpha[:, :, None] > 0, np.clip(unmixed, 0, 1), 0)
    np.testing.assert_allclose(out[:, :, :-1], expected, atol=1e-12)


def test_shared_matting_colours_are_c_ordered():
    # The old shim returned the colours in the order of vecmatte's channel-first planes.
    yy, xx = np.mgrid[:16, :18]
    inside = (np.hypot(yy - 8, xx - 9) < 5)[:, :, None]
    image = np.where(inside, [0.8, 0.3, 0.2], [0.1, 0.5, 0.9])
    trimap = np.full((16, 18), 0.5)
    trimap[np.hypot(yy - 8, xx - 9) < 3] = 1
    trimap[np.hypot(yy - 8, xx - 9) > 7] = 0
    alpha, foreground, background = pm.estimate_alpha_sm(image, trimap, True)
    for colours in (foreground, background):
        assert colours.shape == (16, 18, 3)
        assert colours.dtype == np.float32
        assert colours.flags.c_contiguous
    assert alpha.flags.c_contiguous


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.complex128])
def test_save_image_refuses_a_dtype_as_pymattings_assert_before_making_a_folder(tmp_path, dtype):
    # PyMatting asserts the dtype (AssertionError); the old shim raised a plain ValueError
    # after making the folders.
    path = tmp_path / "new" / "image.png"
    with pytest.raises(AssertionError, match=f"cannot save an array of dtype {np.dtype(dtype)}"):
        pm.save_image(path, np.zeros((3, 4, 3), dtype))
    assert not (tmp_path / "new").exists()
