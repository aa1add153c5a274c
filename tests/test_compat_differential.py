"""Differential audit of the PyMatting shim: same calls, compared with the real PyMatting.

Every case is an expression evaluated with ``pm`` bound to the real PyMatting (in one child
process: importing it imports numba, which must never reach this process) and to
``vecmatte.compat.pymatting`` here. For each result the test compares the structure (tuple,
list, array, sparse matrix, scalar), the dtype, the shape, the memory order of arrays of two
or more dimensions, and the values (to 1e-9, or the case's tolerance where an iterative solve
or float32 arithmetic is in between); for a failing call, that the shim raises an instance of
PyMatting's exception type. Inputs cover float64, float32, uint8, Fortran-order and
non-contiguous arrays.

``REFUSED``, ``IMPROVED`` and ``CLEARER`` list where the shim differs on purpose (each case
says what PyMatting does instead); the shim's docstring says so too. All skip when PyMatting is not
installed.
"""

from __future__ import annotations

import importlib
import importlib.util
import pathlib
import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from PIL import Image

from vecmatte.compat import pymatting as shim

_SPEC = importlib.util.find_spec("pymatting")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(_SPEC is None, reason="PyMatting not installed"),
]


def make_inputs() -> dict:
    """Small inputs, the same in both processes (seeded); ``folder`` holds image files."""
    rng = np.random.default_rng(7)
    h, w = 18, 21
    yy, xx = np.mgrid[:h, :w]
    r2 = (yy - 9) ** 2 + (xx - 10) ** 2
    inside = (r2 < 36).astype(float)[:, :, None]
    image = inside * [0.8, 0.3, 0.2] + (1 - inside) * [0.1, 0.5, 0.9]
    image = np.clip(image + 0.05 * rng.standard_normal((h, w, 3)), 0, 1)
    trimap = np.full((h, w), 0.5)
    trimap[r2 < 9] = 1.0
    trimap[r2 > 64] = 0.0
    a = rng.random((30, 30))
    big_image = np.zeros((2 * h, 2 * w, 3))
    big_image[::2, ::2] = image
    big_trimap = np.zeros((2 * h, 2 * w))
    big_trimap[::2, ::2] = trimap
    return {
        "image": image,
        "trimap": trimap,
        "alpha": np.clip(trimap + 0.2 * rng.random((h, w)) - 0.1, 0, 1),
        "image32": image.astype(np.float32),
        "trimap32": trimap.astype(np.float32),
        "imageF": np.asfortranarray(image),
        "trimapF": np.asfortranarray(trimap),
        "imageNC": big_image[::2, ::2],  # a view with strides, not contiguous
        "trimapNC": big_trimap[::2, ::2],
        "trimap8": np.round(trimap * 255).astype(np.uint8),
        "spd": a @ a.T + 30 * np.eye(30),
        "b": rng.random(30),
        "p": rng.random(h * w),
        "src": rng.random((20, 23, 2)),
        "points": rng.random((300, 5)).astype(np.float32),
        "W": (rng.random((40, 40)) < 0.2) * rng.random((40, 40)) + np.eye(40),
        "colors": rng.random((6, 7, 3)),
        "np": np,
        "sp": sp,
    }


def make_files(folder: pathlib.Path) -> None:
    rng = np.random.default_rng(1)
    rgb = (rng.random((13, 17, 3)) * 255).astype(np.uint8)
    Image.fromarray(rgb).save(folder / "rgb.png")
    Image.fromarray(rgb[:, :, 0]).save(folder / "gray.png")
    Image.fromarray(np.dstack([rgb, rgb[:, :, :1]])).save(folder / "rgba.png")
    Image.fromarray(rgb).convert("P").save(folder / "palette.png")
    Image.fromarray(rgb[:, :, 0] > 128).save(folder / "bilevel.png")
    inputs = make_inputs()
    Image.fromarray(np.round(inputs["image"] * 255).astype(np.uint8)).save(folder / "scene.png")
    Image.fromarray(np.round(inputs["trimap"] * 255).astype(np.uint8)).save(folder / "trimap.png")
    (folder / "notes.txt").write_text("not an image")
    (folder / "truncated.png").write_bytes((folder / "rgb.png").read_bytes()[:200])


# name -> expression; ``pm`` is PyMatting or the shim, ``folder`` the files' folder.
CASES = {
    # alpha estimators, on the inputs PyMatting takes
    "cf": "pm.estimate_alpha_cf(image, trimap)",
    "cf_fortran": "pm.estimate_alpha_cf(imageF, trimapF)",
    "cf_strided": "pm.estimate_alpha_cf(imageNC, trimapNC)",
    "cf_trimap32": "pm.estimate_alpha_cf(image, trimap32)",
    "cf_column_trimap": "pm.estimate_alpha_cf(image, trimap[:, :, None])",
    "cf_options": "pm.estimate_alpha_cf(image, trimap, None, {'epsilon': 1e-5, 'radius': 2})",
    "cf_jacobi": "pm.estimate_alpha_cf(image, trimap, pm.jacobi)",
    "cf_own_preconditioner": "pm.estimate_alpha_cf(image, trimap, lambda A: pm.jacobi(A))",
    "cf_callback": "[c := pm.CounterCallback(), "
    "pm.estimate_alpha_cf(image, trimap, pm.jacobi, cg_kwargs={'callback': c}), c.n > 0]",
    "cf_x0": "pm.estimate_alpha_cf(image, trimap, "
    "cg_kwargs={'x0': np.full((trimap == 0.5).sum(), 0.5)})",
    "cf_unknown_0_3": "pm.estimate_alpha_cf(image, np.where(trimap == 0.5, 0.3, trimap))",
    "alias": "pm.estimate_alpha(image, trimap)",
    "knn_float32": "pm.estimate_alpha_knn(image32, trimap32)",
    "knn_fortran": "pm.estimate_alpha_knn(imageF, trimapF)",
    "knn_column_trimap": "pm.estimate_alpha_knn(image, trimap[:, :, None])",
    "knn_options": "pm.estimate_alpha_knn(image, trimap, pm.jacobi, "
    "{'n_neighbors': [5], 'distance_weights': [1.0]}, "
    "{'callback': pm.CounterCallback(), 'x0': np.zeros(378)})",
    "rw_strided": "pm.estimate_alpha_rw(imageNC, trimapNC)",
    "rw_vcycle": "pm.estimate_alpha_rw(image, trimap, lambda A: pm.vcycle(A, (18, 21)))",
    "rw_column_trimap": "pm.estimate_alpha_rw(image, trimap[:, :, None])",
    "lbdm_fortran": "pm.estimate_alpha_lbdm(imageF, trimapF)",
    "lbdm_ichol": "pm.estimate_alpha_lbdm(image, trimap, lambda A: pm.ichol(A, 1e-3))",
    "lkm_float32": "pm.estimate_alpha_lkm(image32, trimap32, {'radius': 2})",
    "lkm_column_trimap": "pm.estimate_alpha_lkm(image, trimap[:, :, None], {'radius': 2})",
    "sm_float32": "pm.estimate_alpha_sm(image32, trimap32)",
    "sm_strided": "pm.estimate_alpha_sm(imageNC, trimapNC)",
    "sm_no_expansion": "pm.estimate_alpha_sm(image, trimap, trimap_expansion_radius=0)",
    # foreground
    "ml_float32": "pm.estimate_foreground_ml(image32, alpha.astype(np.float32))",
    "ml_fortran_background": "pm.estimate_foreground_ml(imageF, np.asfortranarray(alpha), "
    "return_background=True)",
    "cf_foreground_float32_dtype": "pm.estimate_foreground_cf(image32, "
    "alpha.astype(np.float32)).dtype.name",
    # PyMatting's foreground estimators take any number of channels (an RGBA image)
    "ml_rgba": "pm.estimate_foreground_ml(np.dstack([image, alpha]), alpha)",
    "ml_one_channel": "pm.estimate_foreground_ml(image[:, :, :1], alpha)",
    "ml_two_channels_background": "pm.estimate_foreground_ml(image[:, :, :2], alpha, "
    "return_background=True)",
    "ml_five_channels_float32": "pm.estimate_foreground_ml(np.dstack([image32, image32[:, :, :2]])"
    ", alpha.astype(np.float32), return_background=True)",
    "ml_strided": "pm.estimate_foreground_ml(imageNC, alpha)",
    "ml_weights": "pm.estimate_foreground_ml(image, alpha, 1e-3, gradient_weight=0.5)",
    "cf_foreground_rgba_shape": "pm.estimate_foreground_cf(np.dstack([image, alpha]), alpha, "
    "return_background=True)[1].shape",
    "cf_foreground_one_channel_float32": "pm.estimate_foreground_cf(image32[:, :, :1], "
    "alpha).dtype.name",
    # estimators on the other memory layouts
    "knn_strided": "pm.estimate_alpha_knn(imageNC, trimapNC)",
    "lbdm_strided": "pm.estimate_alpha_lbdm(imageNC, trimapNC)",
    "lbdm_column_trimap32": "pm.estimate_alpha_lbdm(image, trimap32[:, :, None])",
    "lkm_fortran": "pm.estimate_alpha_lkm(imageF, trimapF, {'radius': 2})",
    "rw_fortran": "pm.estimate_alpha_rw(imageF, trimapF)",
    # PyMatting's random walk and large-kernel Laplacians run over the image's d channels
    "rw_one_channel": "pm.estimate_alpha_rw(image[:, :, :1], trimap)",
    "lkm_one_channel": "pm.estimate_alpha_lkm(image[:, :, :1], trimap, {'radius': 2})",
    "rw_laplacian_one_channel": "pm.rw_laplacian(np.asfortranarray(image[:, :, :1]))",
    "rw_laplacian_two_channels": "pm.rw_laplacian(image[:, :, :2], radius=2)",
    "lkm_matvec_two_channels": "pm.lkm_laplacian(image[:, :, :2], 1e-5, 2)[0](p)",
    "sm_foreground_background": "pm.estimate_alpha_sm(image, trimap, "
    "return_foreground_background=True)",
    # Laplacians and the soft-constraint system
    "cf_laplacian_fortran": "pm.cf_laplacian(imageF)",
    "cf_laplacian_known": "pm.cf_laplacian(image, is_known=(trimap != 0.5).ravel())",
    "knn_laplacian_float32": "pm.knn_laplacian(image32)",
    "knn_laplacian_tuples": "pm.knn_laplacian(image, (20,), (2.0,))",
    "lbdm_laplacian_r2": "pm.lbdm_laplacian(image, radius=2)",
    "rw_laplacian_strided": "pm.rw_laplacian(imageNC, radius=2, regularization=0.0)",
    "uniform_laplacian_float32": "pm.uniform_laplacian(image32)",
    "uniform_laplacian_gray": "pm.uniform_laplacian(image[:, :, 0])",
    "uniform_laplacian_strided": "pm.uniform_laplacian(imageNC, radius=2)",
    "cf_laplacian_strided": "pm.cf_laplacian(imageNC, 1e-5, 2)",
    "knn_laplacian_soft": "pm.knn_laplacian(image, kernel='soft')",
    "lbdm_laplacian_fortran": "pm.lbdm_laplacian(imageF)",
    "rw_laplacian_fortran": "pm.rw_laplacian(imageF, radius=2)",
    "lkm_diagonal_fortran": "pm.lkm_laplacian(imageF, radius=2)[1]",
    "linear_system_strided": "pm.make_linear_system(pm.cf_laplacian(image), trimapNC, 10.0, True)",
    "lkm_diagonal_float32": "pm.lkm_laplacian(image32, radius=2)[1]",
    "lkm_matvec_2d": "pm.lkm_laplacian(image, radius=2)[0](p.reshape(18, 21))",
    "lkm_matvec_only": "pm.lkm_laplacian(image, radius=2, return_diagonal=False)(p)",
    "linear_system_trimap32": "pm.make_linear_system(pm.cf_laplacian(image), trimap32)",
    "linear_system_column": "pm.make_linear_system(pm.cf_laplacian(image), trimap[:, :, None])",
    "linear_system_float32_lambda": "pm.make_linear_system(pm.cf_laplacian(image), trimap, "
    "np.float32(3), True)",
    # solver and preconditioners
    "cg_float32": "pm.cg(spd, b.astype(np.float32))",
    "cg_sparse": "pm.cg(sp.csr_matrix(spd), b)",
    "cg_function": "pm.cg(lambda x: spd @ x, b)",
    "cg_x0_float32": "pm.cg(spd, b, x0=b.astype(np.float32))",
    "cg_lists": "pm.cg(spd, list(b), x0=list(b))",
    "cg_sparse_M": "pm.cg(spd, b, M=sp.diags(1 / np.diag(spd)))",
    "cg_atol": "pm.cg(spd, b, atol=1e-3)",
    "cg_progress": "[c := pm.ProgressCallback(), pm.cg(spd, b, callback=c), c.n][2]",
    "jacobi_sparse_float32": "pm.jacobi(sp.csr_matrix(spd))(b.astype(np.float32))",
    "cg_float32_matrix": "pm.cg(spd.astype(np.float32), b.astype(np.float32))",
    "cg_reorthogonalize": "pm.cg(spd, b, M=pm.jacobi(spd), reorthogonalize=True)",
    "cg_dense_M": "pm.cg(spd, b, M=np.diag(1 / np.diag(spd)))",
    "jacobi_dense": "pm.jacobi(spd)(b)",
    "ichol_csr": "pm.ichol(sp.csr_matrix(spd))(b)",
    "ichol_shift": "pm.ichol(sp.csc_matrix(spd), shifts=[0.0])(b)",
    # with nothing discarded PyMatting's factor is the complete (unique) Cholesky factor
    "ichol_factor": "pm.ichol(sp.csc_matrix(spd), 0.0).L",
    "ichol_ltuple": "[f := pm.ichol(sp.csc_matrix(spd), 0.0), "
    "sp.csc_matrix(f.Ltuple, spd.shape)][1]",
    "vcycle_options": "pm.vcycle(pm.make_linear_system(pm.cf_laplacian(image), trimap)[0], "
    "(18, 21), 2, 2, 0.6, 10)(p)",
    "vcycle_no_pre_sweep": "pm.vcycle(pm.make_linear_system(pm.cf_laplacian(image), trimap)[0], "
    "(18, 21), 0, 2)(p)",
    "vcycle_direct": "pm.vcycle(pm.make_linear_system(pm.cf_laplacian(image), trimap)[0], "
    "(18, 21), direct_solve_size=1000)(p)",
    "vcycle_many_sweeps": "pm.vcycle(pm.cf_laplacian(image) + sp.eye(378), (18, 21), 101, 150)(p)",
    "vcycle_in_cg": "pm.cg(*pm.make_linear_system(pm.cf_laplacian(image), trimap), "
    "M=pm.vcycle(pm.make_linear_system(pm.cf_laplacian(image), trimap)[0], (18, 21)))",
    # util
    "trimap_split_fortran": "pm.trimap_split(trimapF, False)",
    "trimap_split_strided": "pm.trimap_split(trimapNC, False)",
    "trimap_split_float32": "pm.trimap_split(trimap32, False)",
    "trimap_split_column": "pm.trimap_split(trimap[:, :, None], False)",
    "trimap_split_column_flat": "pm.trimap_split(trimap[:, :, None])",
    "trimap_split_flat_input": "pm.trimap_split(trimap.ravel())",
    "trimap_split_thresholds": "pm.trimap_split(trimap, True, 0.2, 0.8)",
    "trimap_split_equal_thresholds": "pm.trimap_split(trimap, bg_threshold=0.5, fg_threshold=0.5)",
    "fix_trimap_float32": "pm.fix_trimap(trimap32 * 0.95 + 0.02)",
    "fix_trimap_uint8": "pm.fix_trimap(trimap8)",
    "fix_trimap_bool": "pm.fix_trimap(trimap > 0.7, 0.5, 0.5)",
    "fix_trimap_int_unknown": "pm.fix_trimap(np.array([[0, 1], [2, 3]]), 0.5, 0.5)",
    "fix_trimap_fortran": "pm.fix_trimap(trimapF)",
    "fix_trimap_docstring": "pm.fix_trimap(np.array([0, 0.1, 0.4, 0.9, 1]), 0.2, 0.8)",
    "blend_float32": "pm.blend(image32, image32[::-1], alpha.astype(np.float32))",
    "blend_mixed": "pm.blend(image32, image[::-1], alpha)",
    "blend_column": "pm.blend(image, image[::-1], alpha[:, :, None])",
    "blend_colour": "pm.blend(image, np.array([0.1, 0.2, 0.3]), alpha)",
    "stack_float32": "pm.stack_images(image32, alpha.astype(np.float32))",
    "stack_mixed_floats": "pm.stack_images(image32, alpha)",
    "stack_uint8": "pm.stack_images((image * 255).astype(np.uint8), trimap8)",
    "stack_fortran": "pm.stack_images(imageF, trimapF)",
    "stack_bool": "pm.stack_images(image, alpha > 0.5)",
    "load_rgb": "pm.load_image(folder + '/rgb.png')",
    "load_gray_mode": "pm.load_image(folder + '/rgb.png', 'gray')",
    "load_rgba_mode": "pm.load_image(folder + '/rgb.png', 'RGBA')",
    "load_float_mode": "pm.load_image(folder + '/rgb.png', 'F')",
    "load_integer_mode": "pm.load_image(folder + '/rgb.png', 'I')",
    "load_cmyk_mode": "pm.load_image(folder + '/rgb.png', 'CMYK')",
    "load_scaled": "pm.load_image(folder + '/rgb.png', size=0.5)",
    "load_sized": "pm.load_image(folder + '/rgb.png', 'GRAY', (5, 7), 'bilinear')",
    "load_sized_list": "pm.load_image(folder + '/rgb.png', size=[5, 7], resample='LANCZOS')",
    "load_resample_none": "pm.load_image(folder + '/rgb.png', size=2, resample='none')",
    "load_gray_file_as_rgb": "pm.load_image(folder + '/gray.png', 'RGB')",
    "load_rgba_file": "pm.load_image(folder + '/rgba.png')",
    "load_palette_file": "pm.load_image(folder + '/palette.png')",
    "load_bilevel_file": "pm.load_image(folder + '/bilevel.png')",
    "save_and_load_float32": "[pm.save_image(folder + '/out/a.png', image32), "
    "pm.load_image(folder + '/out/a.png')][1]",
    "save_and_load_rgba": "[pm.save_image(folder + '/out/b/c.png', np.dstack([image, alpha])), "
    "pm.load_image(folder + '/out/b/c.png')][1]",
    "cutout_alpha": "[pm.cutout(folder + '/scene.png', folder + '/trimap.png', "
    "folder + '/out/cutout.png'), pm.load_image(folder + '/out/cutout.png')[:, :, 3]][1]",
    "cutout_colours": "[pm.cutout(folder + '/scene.png', folder + '/trimap.png', "
    "folder + '/out/cutout.png'), c := pm.load_image(folder + '/out/cutout.png'), "
    "c[:, :, :3][c[:, :, 3] > 0.1]][2]",
    "make_grid": "pm.make_grid([image, None, alpha, image32.astype(np.float64)])",
    "make_grid_rgba": "pm.make_grid([np.dstack([image, alpha]), image, alpha], 2, 2)",
    "make_grid_empty": "pm.make_grid([])",
    "make_grid_dtype": "pm.make_grid([alpha, alpha], dtype=np.float32)",
    "to_rgb8_gray": "pm.to_rgb8(alpha)",
    "to_rgb8_rgba": "pm.to_rgb8(np.dstack([image, alpha]))",
    "to_rgb8_column": "pm.to_rgb8((alpha * 255).astype(np.uint8)[:, :, None])",
    "to_rgb8_docstring": "pm.to_rgb8(np.eye(2))",
    "sanity_check": "pm.sanity_check_image(image)",
    "isiterable": "[pm.isiterable('ab'), pm.isiterable(np.float64(1)), pm.isiterable([])]",
    "div_round_up": "[pm.div_round_up(7, 3), pm.div_round_up(-7, 3), pm.div_round_up(7.5, 2)]",
    "normalize_float32": "pm.normalize(np.array([0, 1, 3, 10], dtype=np.float32))",
    "row_sum_int": "pm.row_sum(np.arange(4).reshape(2, 2))",
    "row_sum_float32": "pm.row_sum(sp.csr_matrix(W, dtype=np.float32))",
    "normalize_rows_dense": "pm.normalize_rows(np.arange(4).reshape(2, 2))",
    "normalize_rows_threshold": "pm.normalize_rows(sp.csr_matrix(W), 0.5)",
    "weights_dense": "pm.weights_to_laplacian(np.ones((4, 4)))",
    "weights_csc": "pm.weights_to_laplacian(sp.csc_matrix(W), True, 0.5)",
    "weights_float32": "pm.weights_to_laplacian(sp.csr_matrix(W, dtype=np.float32))",
    "weights_no_entries": "pm.weights_to_laplacian(sp.csr_matrix((40, 40)), True, 0.5)",
    "weights_isolated_node": "pm.weights_to_laplacian(sp.csr_matrix(W * (np.arange(40) != 3)))",
    "vec_vec_outer_int": "pm.vec_vec_outer(np.arange(1, 3), np.arange(1, 3))",
    "vec_vec_outer_float32": "pm.vec_vec_outer(image32, image32)",
    "mat_vec_dot": "pm.mat_vec_dot(np.eye(2), np.ones(2))",
    "grid_coordinates_flat": "pm.grid_coordinates(3, 2, True)",
    "sparse_conv_rectangular": "pm.sparse_conv_matrix(4, 5, np.ones((2, 4)))",
    "sparse_conv_offsets_2d_kernel": "pm.sparse_conv_matrix_with_offsets(5, 4, "
    "[[1, 2], [3, 4]], [0, 1, 0, 1], [0, 0, 1, 1])",
    "sparse_conv_offsets_shorter": "pm.sparse_conv_matrix_with_offsets(5, 4, [1, 2, 3], "
    "[0, 3], [1, 0, 1])",
    "bicolor_fortran": "pm.remove_background_bicolor(imageF, image[0, 0], image[9, 9])",
    "bicolor_rgba": "pm.remove_background_bicolor(np.dstack([image, alpha]), np.ones(4), "
    "np.zeros(4))",
    "bicolor_float32": "pm.remove_background_bicolor(colors.astype(np.float32), "
    "colors[0, 0].astype(np.float32), colors[1, 1].astype(np.float32))",
    "apply_to_channels_4d": "pm.apply_to_channels(lambda c: c * 2)(src[:, :, :, None])",
    "boxfilter_fortran": "pm.boxfilter(np.asfortranarray(src), 2)",
    "boxfilter_strided": "pm.boxfilter(src[::2, ::2], 1)",
    "boxfilter_4d": "pm.boxfilter(src[:, :, :1, None], 1)",
    "boxfilter_valid": "pm.boxfilter(src, 2, 'valid')",
    "boxfilter_full_fortran": "pm.boxfilter(np.asfortranarray(src), 1, 'full')",
    "distance_bool": "pm.distance_transform(p.reshape(18, 21) < 0.9)",
    "blend_layouts": "pm.blend(imageF, imageNC, np.asfortranarray(alpha))",
    "stack_column": "pm.stack_images(image, alpha[:, :, None])",
    "distance_float": "pm.distance_transform((p.reshape(18, 21) < 0.9).astype(np.float32))",
    "knn_one_dimension": "pm.knn(points[:, :1], points[:5, :1], 2)",
    "knn_no_neighbours": "pm.knn(points, points[:4], 0)",
    "knn_no_queries": "pm.knn(points, points[:0], 3)",
    "kdtree_leaf_size": "pm.KDTree(points, 1).query(points[:5], 3)",
    # session 10: images of more than three channels (an RGBA array), where PyMatting's random
    # walk and large kernel use all of them and learning-based / uniform read three / none
    "rw_rgba": "pm.estimate_alpha_rw(np.dstack([image, alpha]), trimap)",
    "rw_rgba_opaque": "pm.estimate_alpha_rw(np.dstack([image, np.ones((18, 21))]), trimap)",
    "rw_laplacian_five_channels": "pm.rw_laplacian(np.dstack([image, image[:, :, :2] ** 2]), "
    "0.1, 2, 1e-4)",
    "lkm_rgba": "pm.estimate_alpha_lkm(np.dstack([image, alpha]), trimap, {'radius': 2})",
    "lkm_rgba_opaque": "pm.estimate_alpha_lkm(np.dstack([image, np.ones((18, 21))]), trimap, "
    "{'radius': 2, 'epsilon': 1e-5})",
    "lkm_laplacian_rgba": "pm.lkm_laplacian(np.dstack([image, alpha]), radius=2)[1]",
    "lkm_laplacian_rgba_matvec": "pm.lkm_laplacian(np.dstack([imageF, alpha]), radius=2)[0](p)",
    "lkm_laplacian_six_channels": "pm.lkm_laplacian(np.dstack([image, image ** 2]), 1e-5, 2, "
    "False)(p)",
    "lbdm_rgba": "pm.estimate_alpha_lbdm(np.dstack([image, alpha]), trimap)",
    "lbdm_laplacian_rgba": "pm.lbdm_laplacian(np.dstack([image, alpha]))",
    "uniform_laplacian_rgba": "pm.uniform_laplacian(np.dstack([image, alpha]))",
    "uniform_laplacian_two_channels": "pm.uniform_laplacian(image[:, :, :2], 2)",
    # PyMatting's foreground starts black where alpha has no definite pixel: alpha 0
    # everywhere gives a black foreground (rembg's fallback cutout of an empty mask)
    "ml_alpha_zero": "pm.estimate_foreground_ml(image, alpha * 0)",
    "ml_alpha_zero_rgba_background": "pm.estimate_foreground_ml(np.dstack([image, alpha]), "
    "alpha * 0, return_background=True)",
    "ml_alpha_one_background": "pm.estimate_foreground_ml(image, alpha * 0 + 1, "
    "return_background=True)",
    # vcycle's omega: every positive finite value runs as PyMatting (above 1 too)
    "vcycle_omega_1_5": "pm.vcycle(pm.make_linear_system(pm.cf_laplacian(image), trimap)[0], "
    "(18, 21), omega=1.5)(p)",
    "vcycle_omega_tiny": "pm.vcycle(pm.make_linear_system(pm.cf_laplacian(image), trimap)[0], "
    "(18, 21), omega=1e-300)(p)",
    "vcycle_omega_5_in_cg": "pm.cg(*pm.make_linear_system(pm.cf_laplacian(image), trimap), "
    "M=pm.vcycle(pm.make_linear_system(pm.cf_laplacian(image), trimap)[0], (18, 21), 1, 1, 5.0))",
    # names the audit found without a differential case, or only with default arguments
    "vec_vec_dot": "pm.vec_vec_dot(image, imageNC[::-1])",
    "vec_vec_dot_float32": "pm.vec_vec_dot(image32, image32)",
    "mat_vec_dot_float32": "pm.mat_vec_dot(np.eye(3, dtype=np.float32) * image32[:, :, :, None], "
    "image32)",
    "estimate_foreground_alias": "pm.estimate_foreground(image, alpha)",
    "laplacian_lists": "[[f.__name__ for f in pm.LAPLACIANS], "
    "[f.__name__ for f in pm.LAPLACIAN_OPERATORS]]",
    "grid_coordinates": "pm.grid_coordinates(4, 3)",
    "sanity_check_float32": "pm.sanity_check_image(image32)",
    "normalize_rows_float32": "pm.normalize_rows(sp.csr_matrix(W, dtype=np.float32))",
    "row_sum_dense": "pm.row_sum(W)",
    "apply_to_channels_gray": "pm.apply_to_channels(lambda c: c + 1)(alpha)",
    "distance_strided": "pm.distance_transform(p.reshape(18, 21)[::2, ::3] < 0.5)",
    "rw_options": "pm.estimate_alpha_rw(image, trimap, None, "
    "{'radius': 2, 'regularization': 1e-4, 'sigma': 0.5}, {'rtol': 1e-8})",
    "lbdm_options": "pm.estimate_alpha_lbdm(image, trimap, pm.jacobi, "
    "{'epsilon': 1e-5, 'radius': 2}, {'maxiter': 5000})",
    "lkm_epsilon": "pm.estimate_alpha_lkm(imageNC, trimapNC, {'radius': 3, 'epsilon': 1e-4})",
    "knn_soft_kernel": "pm.estimate_alpha_knn(imageNC, trimap, None, {'kernel': 'soft'})",
    "lkm_laplacian_strided": "pm.lkm_laplacian(imageNC, 1e-5, 2)[1]",
    "knn_laplacian_strided": "pm.knn_laplacian(imageNC, [8], [1.0])",
    "sm_options": "pm.estimate_alpha_sm(image, trimap, trimap_expansion_radius=3, "
    "trimap_expansion_threshold=0.1)",
    "ml_regularization_background": "pm.estimate_foreground_ml(imageF, alpha.astype(np.float32), "
    "1e-2, return_background=True)",
    # tiny images
    "cf_laplacian_3x3": "pm.cf_laplacian(image[:3, :3])",
    "rw_laplacian_1xN": "pm.rw_laplacian(image[:1])",
    "lbdm_laplacian_3x3": "pm.lbdm_laplacian(image[:3, :3])",
    "knn_laplacian_3x7": "pm.knn_laplacian(image[:3, :7])",
    "ml_2x2": "pm.estimate_foreground_ml(image[:2, :2], alpha[:2, :2])",
    "ml_1xN": "pm.estimate_foreground_ml(image[:1], alpha[:1])",
    "ml_Nx1": "pm.estimate_foreground_ml(image[:, :1], alpha[:, :1], return_background=True)",
    "cf_foreground_1x1_shape": "pm.estimate_foreground_cf(image[:1, :1], alpha[:1, :1]).shape",
    "cf_foreground_1xN_shape": "pm.estimate_foreground_cf(image[:1], alpha[:1]).shape",
    "boxfilter_1xN_full": "pm.boxfilter(src[:3, :], 1, 'full')",
    # float32 stacked with booleans or uint8 stays float32, as NumPy's concatenation
    "stack_float32_bool": "pm.stack_images(image32, alpha > 0.5)",
    "stack_float32_uint8_dtype": "pm.stack_images(image32, trimap8).dtype.name",
    "stack_float32_float64": "pm.stack_images(image32, alpha, image32[:, :, 0] > 0.5)",
}
TOLERANCE = {
    "cf": 1e-4,
    "cf_fortran": 1e-4,
    "cf_strided": 1e-4,
    "cf_trimap32": 1e-4,
    "cf_column_trimap": 1e-4,
    "cf_options": 1e-4,
    "cf_jacobi": 1e-4,
    "cf_own_preconditioner": 1e-4,
    "cf_x0": 1e-4,
    "cf_unknown_0_3": 1e-4,
    "alias": 1e-4,
    "knn_float32": 1e-4,
    "knn_fortran": 1e-4,
    "knn_column_trimap": 1e-4,
    "knn_options": 1e-4,
    "rw_strided": 1e-4,
    "rw_vcycle": 1e-4,
    "rw_column_trimap": 1e-4,
    "lbdm_fortran": 1e-4,
    "lbdm_ichol": 1e-4,
    "lkm_float32": 1e-4,
    "lkm_column_trimap": 1e-4,
    "sm_float32": 2e-3,
    "sm_strided": 2e-3,
    "sm_no_expansion": 3e-3,
    "sm_foreground_background": 2e-3,
    "knn_strided": 1e-4,
    "lbdm_strided": 1e-4,
    "lbdm_column_trimap32": 1e-4,
    "lkm_fortran": 1e-4,
    "rw_fortran": 1e-4,
    "rw_one_channel": 1e-4,
    "lkm_one_channel": 1e-4,
    "lkm_matvec_two_channels": 1e-6,
    "cg_float32_matrix": 1e-6,
    # red-black instead of raster order: the same fixed point, colours close where alpha > 0
    "ml_float32": 0.15,
    "ml_fortran_background": 0.15,
    "ml_rgba": 0.15,
    "ml_one_channel": 0.15,
    "ml_two_channels_background": 0.15,
    "ml_five_channels_float32": 0.15,
    "ml_strided": 0.15,
    "ml_weights": 0.15,
    "lbdm_laplacian_r2": 1e-6,
    "lbdm_laplacian_fortran": 1e-6,
    "knn_laplacian_soft": 1e-6,
    "vcycle_in_cg": 1e-6,
    "ichol_factor": 1e-9,
    "knn_one_dimension": 1e-6,
    "kdtree_leaf_size": 1e-6,
    "weights_float32": 1e-6,
    "bicolor_float32": 1e-6,
    # the shim rounds floats to the nearest 8-bit level where PyMatting truncates
    "cutout_alpha": 1 / 255 + 1e-9,
    "cutout_colours": 0.05,  # and relaxes the foreground in another order (see above)
    "save_and_load_float32": 1 / 255 + 1e-9,
    "save_and_load_rgba": 1 / 255 + 1e-9,
    "rw_rgba": 1e-4,
    "rw_rgba_opaque": 1e-4,
    "lkm_rgba": 1e-4,
    "lkm_rgba_opaque": 1e-4,
    "lkm_laplacian_rgba": 1e-6,
    "lkm_laplacian_rgba_matvec": 1e-6,
    "lkm_laplacian_six_channels": 1e-6,
    "lbdm_rgba": 1e-4,
    "lbdm_laplacian_rgba": 1e-6,
    "vcycle_omega_5_in_cg": 1e-5,  # a poor preconditioner: rounding differs more
    "ml_alpha_zero_rgba_background": 1e-6,
    "ml_alpha_one_background": 1e-6,
    "estimate_foreground_alias": 0.15,
    "rw_options": 1e-4,
    "lbdm_options": 1e-4,
    "lkm_epsilon": 1e-4,
    "knn_soft_kernel": 1e-4,
    "lkm_laplacian_strided": 1e-6,
    "knn_laplacian_strided": 1e-6,
    "sm_options": 3e-3,
    "ml_regularization_background": 0.15,
    "ml_2x2": 0.15,
    "ml_1xN": 0.15,
    "ml_Nx1": 0.15,
    "lbdm_laplacian_3x3": 1e-6,
}
# name -> call expected to fail in both; the shim's exception must be PyMatting's type.
ERRORS = {
    "cf_not_converged": "pm.estimate_alpha_cf(image, trimap, cg_kwargs={'maxiter': 1})",
    "cf_no_foreground": "pm.estimate_alpha_cf(image, trimap * 0.5)",
    "cf_no_background": "pm.estimate_alpha_cf(image, trimap * 0 + 0.95)",
    "cf_other_size": "pm.estimate_alpha_cf(image, trimap[1:])",
    "cf_two_channels": "pm.estimate_alpha_cf(image[:, :, :2], trimap)",
    "cf_own_preconditioner_not_converged": "pm.estimate_alpha_cf(image, trimap, "
    "lambda A: pm.jacobi(A), cg_kwargs={'maxiter': 2})",
    "cf_rtol_text": "pm.estimate_alpha_cf(image, trimap, cg_kwargs={'rtol': 'a'})",
    "cf_maxiter_fraction": "pm.estimate_alpha_cf(image, trimap, cg_kwargs={'maxiter': 2.5})",
    "cf_radius_fraction": "pm.estimate_alpha_cf(image, trimap, None, {'radius': 1.5})",
    "cf_preconditioner_text": "pm.estimate_alpha_cf(image, trimap, 'nonsense')",
    "cf_laplacian_four_channels": "pm.cf_laplacian(np.dstack([image, alpha]))",
    "cf_laplacian_radius_fraction": "pm.cf_laplacian(image, radius=1.5)",
    "knn_two_channels": "pm.estimate_alpha_knn(image[:, :, :2], trimap)",
    "knn_other_size": "pm.estimate_alpha_knn(image, trimap[1:])",
    "lkm_other_size": "pm.estimate_alpha_lkm(image, trimap[1:], {'radius': 2})",
    "foreground_cf_other_size": "pm.estimate_foreground_cf(image, alpha[1:])",
    "lkm_too_small": "pm.estimate_alpha_lkm(image, trimap)",
    "sm_column_trimap": "pm.estimate_alpha_sm(image, trimap[:, :, None])",
    "sm_two_channels": "pm.estimate_alpha_sm(image[:, :, :2], trimap)",
    "knn_kernel": "pm.knn_laplacian(image, kernel='gauss')",
    "knn_laplacian_too_small": "pm.knn_laplacian(image[:3, :3])",
    "linear_system_dense": "pm.make_linear_system(pm.cf_laplacian(image).toarray(), trimap)",
    "linear_system_other_size": "pm.make_linear_system(pm.cf_laplacian(image)[:10, :10], trimap)",
    "cg_maxiter_0": "pm.cg(spd, b, maxiter=0)",
    "cg_zero_rhs": "pm.cg(spd, np.zeros(30), maxiter=50)",
    "cg_column_rhs": "pm.cg(spd, b[:, None])",
    "cg_integer_x0": "pm.cg(spd, b, x0=np.ones(30, dtype=int))",
    "cg_callback_not_callable": "pm.cg(spd, b, callback=1)",
    "cg_other_size": "pm.cg(spd, b[:29])",
    "cg_maxiter_fraction": "pm.cg(spd, b, maxiter=2.5)",
    "cg_rtol_none": "pm.cg(spd, b, rtol=None)",
    "jacobi_vector": "pm.jacobi(b)",
    "ichol_not_square": "pm.ichol(sp.csc_matrix(spd[:, :29]))",
    "ichol_coo": "pm.ichol(sp.coo_matrix(spd))",
    "ichol_max_nnz": "pm.ichol(sp.csc_matrix(spd), max_nnz=10)",
    "vcycle_fractional_sweeps": "pm.vcycle(pm.cf_laplacian(image), (18, 21), 2.5)(p)",
    "vcycle_text_sweeps": "pm.vcycle(pm.cf_laplacian(image), (18, 21), num_post_iter='1')(p)",
    "vcycle_wrong_shape": "pm.vcycle(pm.cf_laplacian(image), (17, 21))(p)",
    "cf_laplacian_kwargs_unknown": "pm.estimate_alpha_cf(image, trimap, None, {'bogus': 1})",
    "lkm_laplacian_kwargs_unknown": "pm.estimate_alpha_lkm(image, trimap, {'radius': 2, 'x': 1})",
    "trimap_split_no_foreground": "pm.trimap_split(trimap, flatten=False, fg_threshold=2)",
    "trimap_split_unknown_only": "pm.trimap_split(np.ones((3, 3)) * 0.5)",
    "fix_trimap_range": "pm.fix_trimap(trimap8, 10, 200)",
    "fix_trimap_order": "pm.fix_trimap(trimap, 0.6, 0.4)",
    "stack_nothing": "pm.stack_images()",
    "blend_gray": "pm.blend(image[:, :, 0], image[::-1, :, 0], alpha)",
    "load_missing": "pm.load_image(folder + '/missing.png')",
    "load_folder": "pm.load_image(folder)",
    "load_mode": "pm.load_image(folder + '/rgb.png', 'nonsense')",
    "load_size_zero": "pm.load_image(folder + '/rgb.png', size=0.01)",
    "load_size_floats": "pm.load_image(folder + '/rgb.png', size=(5.0, 7.0))",
    "load_resample": "pm.load_image(folder + '/rgb.png', size=0.5, resample='cubic')",
    "cutout_other_size": "pm.cutout(folder + '/scene.png', folder + '/rgb.png', "
    "folder + '/out/c.png')",
    "save_missing_folder": "pm.save_image(folder + '/none/x.png', image, False)",
    "save_unknown_extension": "pm.save_image(folder + '/x.xyz', image)",
    "save_empty": "pm.save_image(folder + '/x.png', np.zeros((0, 3, 3)))",
    "save_integer_dtype": "pm.save_image(folder + '/out/i.png', np.zeros((3, 3, 3), np.int32))",
    "normalize_empty": "pm.normalize([])",
    "div_round_up_zero": "pm.div_round_up(7, 0)",
    "sparse_conv_1d_kernel": "pm.sparse_conv_matrix(4, 5, np.ones(3))",
    "boxfilter_radius": "pm.boxfilter(src, 0)",
    "boxfilter_too_small": "pm.boxfilter(src[:3, :3], 2)",
    "kdtree_too_few": "pm.KDTree(points).query(points[:5], 301)",
    "bicolor_vector": "pm.remove_background_bicolor(colors[0], colors[0, 0], colors[1, 1])",
    "apply_to_channels_scalar": "pm.apply_to_channels(lambda c: c.sum())(src)",
    "make_grid_uint8": "pm.make_grid([trimap8])",
    "to_rgb8_int32": "pm.to_rgb8(trimap8.astype(np.int32))",
    "to_rgb8_five_channels": "pm.to_rgb8(np.zeros((2, 2, 5)))",
    # session 10
    "knn_rgba": "pm.estimate_alpha_knn(np.dstack([image, alpha]), trimap)",
    "cf_rgba": "pm.estimate_alpha_cf(np.dstack([image, alpha]), trimap)",
    "sm_rgba": "pm.estimate_alpha_sm(np.dstack([image, alpha]), trimap)",
    "rw_rgba_other_size": "pm.estimate_alpha_rw(np.dstack([image, alpha]), trimap[1:])",
    "lkm_rgba_too_small": "pm.estimate_alpha_lkm(np.dstack([image, alpha]), trimap)",
    "ichol_row_vector": "pm.ichol(sp.csc_matrix(spd))(b[None, :])",
    "ichol_three_dimensions": "pm.ichol(sp.csc_matrix(spd))(b[:, None, None])",
    "ichol_columns_other_size": "pm.ichol(sp.csc_matrix(spd))(np.ones((29, 2)))",
    "trimap_split_1x1": "pm.trimap_split(trimap[:1, :1])",
    # file errors keep their types (code around files catches OSError and its subclasses)
    "cutout_missing_image": "pm.cutout(folder + '/none.png', folder + '/trimap.png', "
    "folder + '/out/x.png')",
    "cutout_missing_trimap": "pm.cutout(folder + '/scene.png', folder + '/none.png', "
    "folder + '/out/x.png')",
    "load_not_an_image": "pm.load_image(folder + '/notes.txt')",
    "load_truncated": "pm.load_image(folder + '/truncated.png')",
    "save_below_a_file": "pm.save_image(folder + '/rgb.png/x.png', image)",
    "save_below_a_file_no_folders": "pm.save_image(folder + '/rgb.png/x.png', image, False)",
    "save_rgba_jpeg": "pm.save_image(folder + '/out/rgba.jpg', np.dstack([image, alpha]))",
    "save_rgba_jpeg_uint8": "pm.save_image(folder + '/out/rgba.jpeg', "
    "(np.dstack([image, alpha]) * 255).astype(np.uint8))",
    "lkm_rgba_one_window": "pm.lkm_laplacian(np.dstack([image, alpha])[:5, :6], radius=2)",
    "vcycle_omega_nan_in_cg": "pm.cg(*pm.make_linear_system(pm.cf_laplacian(image), trimap), "
    "M=pm.vcycle(pm.make_linear_system(pm.cf_laplacian(image), trimap)[0], (18, 21), "
    "omega=np.nan), maxiter=50)",
    "vcycle_omega_inf_in_cg": "pm.cg(*pm.make_linear_system(pm.cf_laplacian(image), trimap), "
    "M=pm.vcycle(pm.make_linear_system(pm.cf_laplacian(image), trimap)[0], (18, 21), "
    "omega=np.inf), maxiter=50)",
    "vcycle_omega_0_in_cg": "pm.cg(*pm.make_linear_system(pm.cf_laplacian(image), trimap), "
    "M=pm.vcycle(pm.make_linear_system(pm.cf_laplacian(image), trimap)[0], (18, 21), "
    "omega=0.0), maxiter=50)",
}
# Where the shim differs on purpose. REFUSED: name -> (expression, what PyMatting does
# instead); the shim raises a one-line ValueError naming the problem.
REFUSED = {
    "image_outside_0_1": (
        "pm.estimate_alpha_cf(image * 2, trimap)",
        "warns and solves with the values as they are",
    ),
    "trimap_outside_0_1": ("pm.trimap_split(trimap * 1.2)", "warns, splits at 0.1 and 0.9"),
    "trimap_nan": (
        "pm.estimate_alpha_cf(image, np.where(trimap == 0.5, np.nan, trimap))",
        "treats NaN as unknown",
    ),
    "knn_lengths": (
        "pm.knn_laplacian(image, [5, 3, 2], [1.0, 0.5])",
        "drops the n_neighbors without a distance weight",
    ),
    "cf_laplacian_radius_0": (
        "pm.cf_laplacian(image, radius=0)",
        "returns a matrix of 1x1 windows",
    ),
    "foreground_other_size": (
        "pm.estimate_foreground_ml(image, alpha[1:])",
        "reads past the alpha's rows",
    ),
    "sm_no_foreground": ("pm.estimate_alpha_sm(image, trimap * 0.5)", "returns NaN alphas"),
    "save_nan": (
        "pm.save_image(folder + '/nan.png', np.where(alpha > 0.5, np.nan, alpha))",
        "writes NaN as an undefined byte",
    ),
    "save_two_channels": ("pm.save_image(folder + '/la.png', image[:, :, :2])", "writes LA"),
    "boxfilter_fractional_radius": ("pm.boxfilter(src, 1.5)", "truncates the radius to 1"),
    "vcycle_negative_sweeps": (
        "pm.vcycle(pm.cf_laplacian(image), (18, 21), -1)(p)",
        "runs no sweep (range(-1) is empty)",
    ),
    "foreground_ml_schedule": (
        "pm.estimate_foreground_ml(image, alpha, n_small_iterations=5)",
        "runs another schedule (vecmatte's is fixed)",
    ),
    "foreground_cf_neighbors": (
        "pm.estimate_foreground_cf(image, alpha, neighbors=[(1, 0), (0, 1)])",
        "uses two neighbours (vecmatte's closed form has its own weights)",
    ),
    "stack_signed_with_float": (
        "pm.stack_images(image, alpha.astype(np.int32))",
        "stacks the integers unscaled with the floats",
    ),
    # vcycle's omega outside (0, inf): what PyMatting returns is no preconditioner
    "vcycle_omega_0": (
        "pm.vcycle(pm.make_linear_system(pm.cf_laplacian(image), trimap)[0], (18, 21), "
        "omega=0.0)(p)",
        "returns the coarse-grid correction alone, a singular operator (cg never converges)",
    ),
    "vcycle_omega_negative": (
        "pm.vcycle(pm.make_linear_system(pm.cf_laplacian(image), trimap)[0], (18, 21), "
        "omega=-0.5)(p)",
        "returns an indefinite operator (cg takes up to 25x the iterations or never converges)",
    ),
    "vcycle_omega_nan": (
        "pm.vcycle(pm.make_linear_system(pm.cf_laplacian(image), trimap)[0], (18, 21), "
        "omega=np.nan)(p)",
        "returns NaNs",
    ),
    # images smaller than one window: PyMatting's Laplacian has no window, so no entries
    # (or only the regularization), and the matte is not defined
    "cf_laplacian_1x1": ("pm.cf_laplacian(image[:1, :1])", "returns an all-zero Laplacian"),
    "cf_laplacian_2x2": ("pm.cf_laplacian(image[:2, :2])", "returns an all-zero Laplacian"),
    "cf_laplacian_1xN": ("pm.cf_laplacian(image[:1])", "returns an all-zero Laplacian"),
    "lbdm_laplacian_1xN": ("pm.lbdm_laplacian(image[:1])", "returns an all-zero Laplacian"),
    "rw_laplacian_1x1": (
        "pm.rw_laplacian(image[:1, :1])",
        "returns the 1 x 1 regularization (a pixel has no neighbour)",
    ),
    "rw_laplacian_rgba_radius_past_the_image": (
        "pm.rw_laplacian(np.dstack([image, alpha])[:5, :5], radius=6)",
        "returns a Laplacian of windows clamped to the border (refused for RGB and, since "
        "session 11, for more channels as well)",
    ),
    "uniform_laplacian_1x1": (
        "pm.uniform_laplacian(image[:1, :1])",
        "returns the 1 x 1 zero Laplacian (a pixel has no neighbour; radius 1 is not "
        "smaller than the image, refused as the random walk's since session 10)",
    ),
    "save_rgba_bmp": (
        "pm.save_image(folder + '/out/rgba.bmp', np.dstack([image, alpha]))",
        "writes a BMP whose alpha channel is lost when read back",
    ),
    "lbdm_laplacian_two_channels": (
        "pm.lbdm_laplacian(image[:, :, :2])",
        "reads a third channel past the image's two (memory it does not own)",
    ),
}
# IMPROVED: name -> (expression, what PyMatting does, a check of the shim's ``result``).
IMPROVED = {
    "trimap_no_unknown": (
        "pm.estimate_alpha_cf(image, np.where(trimap == 0.5, 0.0, trimap))",
        "divides 0 by 0 for 10000 iterations, then raises 'did not converge'",
        "np.array_equal(result, np.where(trimap == 0.5, 0.0, trimap))",
    ),
    "uint8_inputs": (
        "pm.estimate_alpha_cf((image * 255).astype(np.uint8), trimap8)",
        "raises TypeError from numba",
        "np.abs(result - pm.estimate_alpha_cf(image, trimap8 / 255)).max() < 1e-2",
    ),
    "make_grid_columns_only": (
        "pm.make_grid([alpha, alpha, alpha], nx=2)",
        "raises TypeError (it computes the rows from ny=None)",
        "result.shape == (36, 42) and not result[18:, 21:].any()",
    ),
    "float32_image": (
        "pm.estimate_alpha_lbdm(image32, trimap)",
        "raises TypeError from numba",
        "np.abs(result - pm.estimate_alpha_lbdm(image, trimap)).max() < 1e-4",
    ),
    # gray images (rembg passes np.asarray of an "L", "P" or "I;16" photograph): PyMatting's
    # ValueError makes rembg fall back to the mask; the shim mattes the gray image
    "cf_gray": (
        "pm.estimate_alpha_cf(image[:, :, 0], trimap)",
        "raises ValueError (h, w, d = image.shape)",
        "np.abs(result - pm.estimate_alpha_cf(np.dstack([image[:, :, 0]] * 3), trimap)).max() "
        "< 1e-6",
    ),
    "ml_gray": (
        "pm.estimate_foreground_ml(image[:, :, 0], alpha)",
        "raises TypeError from numba",
        "result.shape == (18, 21, 3) and result.dtype == np.float32",
    ),
    "ichol_columns": (
        "pm.ichol(sp.csc_matrix(spd))(np.stack([b, 2 * b], axis=1))",
        "raises TypeError from numba (one vector at a time)",
        "np.allclose(spd @ result, np.stack([b, 2 * b], axis=1))",
    ),
    "ichol_float32": (
        "pm.ichol(sp.csc_matrix(spd))(b.astype(np.float32))",
        "raises TypeError from numba",
        "np.allclose(spd @ result, b, atol=1e-6)",
    ),
    "lkm_laplacian_one_window": (
        "pm.lkm_laplacian(image[:5, :6], radius=2)[1]",
        "asserts in boxfilter (its window counts need 2 windows a side)",
        "np.allclose(result, pm.cf_laplacian(image[:5, :6], radius=2).diagonal())",
    ),
    "ml_column_alpha": (
        "pm.estimate_foreground_ml(image, alpha[:, :, None])",
        "raises TypeError from numba",
        "np.array_equal(result, pm.estimate_foreground_ml(image, alpha))",
    ),
    "ml_1x1": (
        "pm.estimate_foreground_ml(image[:1, :1], alpha[:1, :1])",
        "divides by zero (no level below 1 x 1)",
        "result.shape == (1, 1, 3)",
    ),
}
# CLEARER: name -> (expression, PyMatting's exception, the shim's): where PyMatting fails from
# inside with an error no caller would catch, the shim names the argument in one line.
CLEARER = {
    "cg_not_a_matrix": ("pm.cg(1, b)", "AttributeError", TypeError),
    "cg_list_matrix": ("pm.cg(spd.tolist(), b)", "AttributeError", TypeError),
    "cg_preconditioner_not_a_matrix": ("pm.cg(spd, b, M=1)", "AttributeError", TypeError),
    "ichol_longer_vector": (
        "pm.ichol(sp.csc_matrix(spd))(np.append(b, 1.0))",
        "ZeroDivisionError",
        TypeError,
    ),
}
# Differences not fixed yet: these cases must fail (strict xfail) until the fix lands.
PENDING: set[str] = set()


def pending(names) -> list:
    return [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason="not fixed yet"))
        if name in PENDING
        else name
        for name in sorted(names)
    ]


_CHILD = textwrap.dedent(
    """
    import pickle, sys, warnings
    warnings.simplefilter("ignore")
    import pymatting as pm
    sys.path.insert(0, sys.argv[2])
    from test_compat_differential import evaluate, make_inputs
    cases = pickle.loads(open(sys.argv[1], "rb").read())
    results = {name: evaluate(pm, expression, sys.argv[3]) for name, expression in cases.items()}
    open(sys.argv[1] + ".out", "wb").write(pickle.dumps(results))
    """
)


def describe(value):
    """The value as plain data: arrays with dtype, shape and order, sparse as (format, dense)."""
    if sp.issparse(value):
        return ("sparse", value.format, value.dtype.name, value.toarray())
    if isinstance(value, np.ndarray):
        order = value.flags.c_contiguous, value.flags.f_contiguous
        return ("array", value.dtype.name, value.shape, order if value.ndim > 1 else None, value)
    if isinstance(value, tuple | list):
        return (type(value).__name__, [describe(v) for v in value])
    if isinstance(value, np.generic):
        return ("scalar", value.dtype.name, value.item())
    return ("object", type(value).__name__, value if isinstance(value, int | float | str) else None)


def evaluate(module, expression: str, folder: str):
    """('value', description) or ('error', exception type's module and name)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = eval(expression, {"pm": module, "folder": folder, **make_inputs()})
        except Exception as error:
            return ("error", type(error).__module__, type(error).__qualname__)
    return ("value", describe(value))


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("pymatting_files")
    make_files(path)
    return str(path)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, folder):
    """PyMatting's results for CASES and ERRORS, computed in a child process."""
    differences = {**REFUSED, **IMPROVED, **CLEARER}
    cases = {**CASES, **ERRORS, **{name: entry[0] for name, entry in differences.items()}}
    assert len(cases) == len(CASES) + len(ERRORS) + len(differences), "a name is used twice"
    path = tmp_path_factory.mktemp("differential") / "cases.pickle"
    path.write_bytes(pickle.dumps(cases))
    # The child writes into its own copy of the files' folder.
    child_folder = tmp_path_factory.mktemp("pymatting_files_child")
    make_files(child_folder)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            _CHILD,
            str(path),
            str(pathlib.Path(__file__).parent),
            str(child_folder),
        ],
        capture_output=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    return pickle.loads(path.with_suffix(".pickle.out").read_bytes())


def assert_same(actual, expected, tolerance: float, path: str = "result") -> None:
    assert actual[0] == expected[0], f"{path}: {actual[0]} != {expected[0]}"
    kind = expected[0]
    if kind == "array":
        _, dtype, shape, order, values = expected
        assert (actual[1], actual[2]) == (dtype, shape), f"{path}: {actual[1:3]} != {dtype, shape}"
        assert actual[3] == order, f"{path}: (C, F) contiguous {actual[3]} != {order}"
        np.testing.assert_allclose(actual[4], values, rtol=tolerance, atol=tolerance, err_msg=path)
    elif kind == "sparse":
        assert actual[1:3] == expected[1:3], f"{path}: {actual[1:3]} != {expected[1:3]}"
        np.testing.assert_allclose(actual[3], expected[3], rtol=tolerance, atol=tolerance)
    elif kind in ("tuple", "list"):
        assert len(actual[1]) == len(expected[1]), f"{path}: length"
        for i, (a, e) in enumerate(zip(actual[1], expected[1], strict=True)):
            assert_same(a, e, tolerance, f"{path}[{i}]")
    elif kind == "scalar":
        assert actual[1] == expected[1], f"{path}: {actual[1]} != {expected[1]}"
        np.testing.assert_allclose(actual[2], expected[2], rtol=tolerance, atol=tolerance)
    else:
        assert actual[1] == expected[1], f"{path}: {actual[1]} != {expected[1]}"
        if isinstance(expected[2], float):
            np.testing.assert_allclose(actual[2], expected[2], rtol=tolerance, atol=tolerance)
        else:
            assert actual[2] == expected[2], f"{path}: {actual[2]!r} != {expected[2]!r}"


@pytest.mark.parametrize("name", pending(CASES))
def test_same_result_as_pymatting(reference, folder, name):
    expected = reference[name]
    assert expected[0] == "value", f"PyMatting raised {expected[1:]} for {CASES[name]}"
    actual = evaluate(shim, CASES[name], folder)
    assert actual[0] == "value", f"the shim raised {actual[1:]} for {CASES[name]}"
    assert_same(actual[1], expected[1], TOLERANCE.get(name, 1e-9))


@pytest.mark.parametrize("name", pending(ERRORS))
def test_same_exception_as_pymatting(reference, folder, name):
    expected = reference[name]
    assert expected[0] == "error", f"PyMatting does not raise for {ERRORS[name]}"
    module_name, qualname = expected[1:]
    expected_type = getattr(importlib.import_module(module_name), qualname)
    with warnings.catch_warnings(), pytest.raises(expected_type):
        # PyMatting's numbers warn on the way to some of these errors (0 / 0 in cg), and
        # the shim's follow them
        warnings.simplefilter("ignore", RuntimeWarning)
        eval(ERRORS[name], {"pm": shim, "folder": folder, **make_inputs()})


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_where_pymatting_goes_on(reference, folder, name):
    expression, pymatting_does = REFUSED[name]
    assert reference[name][0] == "value", f"PyMatting no longer {pymatting_does}: {expression}"
    with pytest.raises(ValueError) as caught:
        eval(expression, {"pm": shim, "folder": folder, **make_inputs()})
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("name", sorted(IMPROVED))
def test_improved_where_pymatting_fails(reference, folder, name):
    expression, pymatting_does, check = IMPROVED[name]
    assert reference[name][0] == "error", f"PyMatting no longer {pymatting_does}: {expression}"
    inputs = {"pm": shim, "folder": folder, **make_inputs()}
    result = eval(expression, inputs)
    assert eval(check, {**inputs, "result": result}), check


@pytest.mark.parametrize("name", sorted(CLEARER))
def test_clearer_error_where_pymatting_fails_from_inside(reference, folder, name):
    expression, pymatting_raises, raised = CLEARER[name]
    assert reference[name] == ("error", "builtins", pymatting_raises), reference[name]
    with pytest.raises(raised) as caught:
        eval(expression, {"pm": shim, "folder": folder, **make_inputs()})
    assert "\n" not in str(caught.value)
