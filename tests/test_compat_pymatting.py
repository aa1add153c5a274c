"""The PyMatting shim against the real PyMatting: signatures, numbers, exceptions.

Signatures are read from PyMatting's source files (``ast``, nothing imported). The numbers
and exceptions of the real PyMatting come from one child process (importing PyMatting imports
numba, which must never reach this process); every case is an expression evaluated with
``pm`` bound to the real PyMatting there and to ``vecmatte.compat.pymatting`` here.
All skip when PyMatting is not installed.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import inspect
import json
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from vecmatte.compat import pymatting as shim

_SPEC = importlib.util.find_spec("pymatting")
needs_pymatting = pytest.mark.skipif(_SPEC is None, reason="PyMatting not installed")

# --------------------------------------------------------------------------------------------
# signatures


@functools.cache  # parsed once for the 53 parameters of test_signature_equals_pymatting
def _pymatting_functions() -> dict[str, ast.FunctionDef | ast.ClassDef]:
    """Top-level functions and classes of PyMatting's source files, by name (read only)."""
    root = pathlib.Path(_SPEC.origin).parent
    found = {}
    for path in sorted(root.rglob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef) and not node.name.startswith("_"):
                found.setdefault(node.name, node)
    return found


def _default(node: ast.expr):
    return eval(compile(ast.Expression(node), "<default>", "eval"), {"int": int})


def _ast_parameters(node) -> list[tuple[str, str, object]]:
    if isinstance(node, ast.ClassDef):
        init = next(n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
        return _ast_parameters(init)[1:]  # without self
    args = node.args
    positional = args.posonlyargs + args.args
    defaults = [inspect.Parameter.empty] * (len(positional) - len(args.defaults))
    defaults += [_default(d) for d in args.defaults]
    result = [(a.arg, "positional", d) for a, d in zip(positional, defaults, strict=True)]
    if args.vararg:
        result.append((args.vararg.arg, "*", inspect.Parameter.empty))
    for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        result.append((a.arg, "keyword", inspect.Parameter.empty if d is None else _default(d)))
    if args.kwarg:
        result.append((args.kwarg.arg, "**", inspect.Parameter.empty))
    return result


_KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: "positional",
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional",
    inspect.Parameter.VAR_POSITIONAL: "*",
    inspect.Parameter.KEYWORD_ONLY: "keyword",
    inspect.Parameter.VAR_KEYWORD: "**",
}


def _shim_parameters(obj) -> list[tuple[str, str, object]]:
    return [(p.name, _KINDS[p.kind], p.default) for p in inspect.signature(obj).parameters.values()]


# Names whose PyMatting object is not a plain top-level def (aliases, lists, constants).
_NOT_DEFS = {
    "LAPLACIANS",
    "LAPLACIAN_OPERATORS",
    "PYMATTING_VERSION",
    "PyMattingAssertionError",
    "PyMattingKeyError",
    "PyMattingTypeError",
}
_ALIASES = {"estimate_alpha": "estimate_alpha_cf", "estimate_foreground": "estimate_foreground_ml"}
# The classes of the shim that are not PyMatting's (PyMatting's CholeskyDecomposition takes a
# tuple of its own arrays; the shim's is made by ichol only).
_OWN = {"CholeskyDecomposition"}


@needs_pymatting
@pytest.mark.parametrize("name", sorted(set(shim.__all__) - _NOT_DEFS - _OWN))
def test_signature_equals_pymatting(name):
    pymatting_defs = _pymatting_functions()
    reference = pymatting_defs[_ALIASES.get(name, name)]
    assert _shim_parameters(getattr(shim, name)) == _ast_parameters(reference)


@needs_pymatting
def test_laplacians_list_as_pymatting():
    source = (pathlib.Path(_SPEC.origin).parent / "laplacian" / "__init__.py").read_text()
    lists = {
        node.targets[0].id: [element.id for element in node.value.elts]
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.List)
    }
    assert [f.__name__ for f in shim.LAPLACIANS] == lists["LAPLACIANS"]
    assert [f.__name__ for f in shim.LAPLACIAN_OPERATORS] == lists["LAPLACIAN_OPERATORS"]


def test_shim_never_imports_numba_or_pymatting():
    code = "import sys, vecmatte.compat.pymatting; print(sorted(m for m in sys.modules " + (
        "if m.split('.')[0] in ('numba', 'pymatting')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# --------------------------------------------------------------------------------------------
# numbers and exceptions, against the real PyMatting in a child process


def _inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    h, w = 18, 21
    # A smooth two-colour scene with noise, so the Laplacians see edges and flat regions.
    yy, xx = np.mgrid[:h, :w]
    inside = ((yy - 9) ** 2 + (xx - 10) ** 2 < 36).astype(float)
    image = inside[:, :, None] * [0.8, 0.3, 0.2] + (1 - inside[:, :, None]) * [0.1, 0.5, 0.9]
    image = np.clip(image + 0.05 * rng.standard_normal((h, w, 3)), 0, 1)
    trimap = np.full((h, w), 0.5)
    trimap[(yy - 9) ** 2 + (xx - 10) ** 2 < 9] = 1.0
    trimap[(yy - 9) ** 2 + (xx - 10) ** 2 > 64] = 0.0
    a = rng.random((30, 30))
    spd = a @ a.T + 30 * np.eye(30)
    return {
        "image": image,
        "trimap": trimap,
        "spd": spd,
        "b": rng.random(30),
        "p": rng.random(h * w),
        "src": rng.random((20, 23, 2)),
        "mask": rng.random((25, 31)) < 0.9,
        "points": rng.random((300, 5)).astype(np.float32),
        "W": (rng.random((40, 40)) < 0.2) * rng.random((40, 40)) + np.eye(40),
        "kernel": rng.random((3, 3)),
        "colors": np.stack([rng.random((6, 7)), rng.random((6, 7)), rng.random((6, 7))], axis=2),
    }


# name -> expression (``pm`` is PyMatting or the shim). Sparse results become dense.
CASES = {
    "cf_laplacian": "pm.cf_laplacian(image)",
    "cf_laplacian_r2": "pm.cf_laplacian(image, 1e-5, 2)",
    "knn_laplacian": "pm.knn_laplacian(image)",
    "knn_laplacian_soft": "pm.knn_laplacian(image, [10], [1.0], 'soft')",
    "lbdm_laplacian": "pm.lbdm_laplacian(image)",
    "rw_laplacian": "pm.rw_laplacian(image)",
    "rw_laplacian_sigma_ignored": "pm.rw_laplacian(image, sigma=0.5)",
    "uniform_laplacian": "pm.uniform_laplacian(image, 2)",
    "lkm_matvec": "pm.lkm_laplacian(image, radius=2)[0](p)",
    "lkm_diagonal": "pm.lkm_laplacian(image, radius=2)[1]",
    "make_linear_system": "pm.make_linear_system(pm.cf_laplacian(image), trimap, 50.0, True)",
    "weights_to_laplacian": "pm.weights_to_laplacian(sp.csr_matrix(W), regularization=1e-3)",
    "weights_to_laplacian_raw": "pm.weights_to_laplacian(sp.csr_matrix(W), False)",
    "estimate_alpha_cf": "pm.estimate_alpha_cf(image, trimap)",
    "estimate_alpha_knn": "pm.estimate_alpha_knn(image, trimap)",
    "estimate_alpha_rw": "pm.estimate_alpha_rw(image, trimap)",
    "estimate_alpha_lbdm": "pm.estimate_alpha_lbdm(image, trimap)",
    "estimate_alpha_lkm": "pm.estimate_alpha_lkm(image, trimap, {'radius': 2})",
    "estimate_alpha_lbdm_jacobi": "pm.estimate_alpha_lbdm(image, trimap, pm.jacobi)",
    "estimate_alpha_lbdm_known": "pm.estimate_alpha_lbdm(image, (trimap > 0.5) * 1.0)",
    "estimate_alpha_sm": "pm.estimate_alpha_sm(image, trimap)",
    "estimate_alpha_sm_colours": "pm.estimate_alpha_sm(image, trimap, True)",
    "cg": "pm.cg(spd, b, rtol=1e-12)",
    "cg_x0_matrix_M": "pm.cg(spd, b, x0=b, M=np.diag(1 / np.diag(spd)), rtol=1e-12)",
    "cg_counter": "[c := pm.CounterCallback(), pm.cg(spd, b, callback=c), c.n][2]",
    "cg_reorthogonalize": "pm.cg(spd, b, rtol=1e-12, reorthogonalize=True)",
    "jacobi": "pm.jacobi(spd)(b)",
    "ichol_solves": "pm.ichol(sp.csc_matrix(spd), discard_threshold=0.0)(b)",
    "vcycle": "pm.vcycle(pm.make_linear_system(pm.cf_laplacian(image), trimap)[0], (18, 21))(p)",
    "boxfilter_valid": "pm.boxfilter(src, 2, 'valid')",
    "boxfilter_same": "pm.boxfilter(src[:, :, 0], 3)",
    "boxfilter_full": "pm.boxfilter(src, 1, 'full')",
    "distance_transform": "pm.distance_transform(mask)",
    "knn_distances": "pm.knn(points, points[:50], 7)[0]",
    "knn_indices": "pm.knn(points, points[:50], 7)[1]",
    "apply_to_channels": "pm.apply_to_channels(lambda c, k: c * k + c.T @ c)(src[:7, :7], 2)",
    "normalize": "pm.normalize([3, 1, 2, 7])",
    "vec_vec_dot": "pm.vec_vec_dot(src, src)",
    "vec_vec_outer": "pm.vec_vec_outer(src, src)",
    "mat_vec_dot": "pm.mat_vec_dot(pm.vec_vec_outer(src, src), src)",
    "fix_trimap": "pm.fix_trimap(trimap * p.reshape(18, 21), 0.2, 0.7)",
    "remove_background_bicolor": "pm.remove_background_bicolor(colors, colors[0, 0], colors[1, 1])",
    "sparse_conv_matrix": "pm.sparse_conv_matrix(5, 4, kernel)",
    "sparse_conv_with_offsets": "pm.sparse_conv_matrix_with_offsets(5, 4, [1, 2], [0, 3], [1, 0])",
    "grid_coordinates": "pm.grid_coordinates(3, 2)",
    "grid_coordinates_flat": "pm.grid_coordinates(3, 2, True)",
    "row_sum": "pm.row_sum(sp.csr_matrix(W))",
    "normalize_rows": "pm.normalize_rows(sp.csr_matrix(W))",
    "div_round_up": "pm.div_round_up(7, 3)",
    "isiterable": "[pm.isiterable([]), pm.isiterable(3)]",
    "trimap_split": "pm.trimap_split(trimap, False)",
}
# Looser tolerances where the result goes through an iterative solve or float32.
TOLERANCE = {
    "estimate_alpha_cf": 1e-4,
    "estimate_alpha_knn": 1e-4,
    "estimate_alpha_rw": 1e-4,
    "estimate_alpha_lbdm": 1e-4,
    "estimate_alpha_lbdm_jacobi": 1e-4,
    "estimate_alpha_lbdm_known": 1e-4,
    "estimate_alpha_lkm": 1e-4,
    "knn_distances": 1e-6,
    "vcycle": 1e-6,
    "lbdm_laplacian": 1e-6,  # 4 x 4 solves regularised by only 1e-7
    "knn_laplacian_soft": 1e-7,  # float32 feature distances
    "estimate_alpha_sm": 2e-3,  # float32 arithmetic in another order
    "estimate_alpha_sm_colours": 2e-3,
}
# name -> call expected to fail; the shim's exception must be an instance of PyMatting's type.
ERRORS = {
    "trimap_without_background": "pm.trimap_split(np.ones((3, 3)))",
    "fix_trimap_thresholds": "pm.fix_trimap(trimap, 0.8, 0.2)",
    "fix_trimap_range": "pm.fix_trimap(trimap, -0.1)",
    "knn_laplacian_kernel": "pm.knn_laplacian(image, kernel='gaussian')",
    "cg_not_converged": "pm.cg(spd, b, maxiter=1, rtol=1e-14)",
    "ichol_dense": "pm.ichol(spd)",
    "ichol_max_nnz": "pm.ichol(sp.csc_matrix(spd), max_nnz=10)",
    "knn_too_few_points": "pm.knn(points[:5], points, 10)",
    "boxfilter_radius": "pm.boxfilter(src, 0)",
    "boxfilter_mode": "pm.boxfilter(src, 1, 'wrap')",
    "sm_uint8": "pm.estimate_alpha_sm((image * 255).astype(np.uint8), trimap)",
    "sm_shape": "pm.estimate_alpha_sm(image, trimap[1:])",
    "linear_system_without_foreground": "pm.make_linear_system(sp.eye(378), trimap * 0)",
    "knn_unknown_laplacian_option": "pm.estimate_alpha_knn(image, trimap, None, {'k': 3})",
    "rw_unknown_cg_option": "pm.estimate_alpha_rw(image, trimap, cg_kwargs={'tol': 1e-3})",
    "lkm_not_converged": "pm.estimate_alpha_lkm(image, trimap, {'radius': 2}, {'maxiter': 1})",
}

_CHILD = textwrap.dedent(
    """
    import json, sys, numpy as np, scipy.sparse as sp
    import pymatting as pm
    sys.path.insert(0, sys.argv[3])
    from test_compat_pymatting import evaluate
    inputs = dict(np.load(sys.argv[1]))
    cases, errors = json.loads(open(sys.argv[2]).read())
    results = {name: evaluate(pm, expression, inputs) for name, expression in cases.items()}
    failures = {}
    for name, expression in errors.items():
        try:
            evaluate(pm, expression, inputs)
            failures[name] = None
        except Exception as error:
            failures[name] = [type(error).__module__, type(error).__qualname__]
    np.savez(sys.argv[1] + ".out.npz", **{k: v for k, v in results.items()})
    print(json.dumps(failures))
    """
)


def evaluate(module, expression: str, inputs: dict) -> np.ndarray:
    """The expression's value as one float array (sparse made dense, sequences stacked)."""
    import scipy.sparse as sp

    value = eval(expression, {"pm": module, "np": np, "sp": sp, **inputs})
    values = value if isinstance(value, tuple | list) else [value]
    dense = [v.toarray() if sp.issparse(v) else np.asarray(v, dtype=np.float64) for v in values]
    return np.concatenate([d.ravel() for d in dense])


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """PyMatting's results and exception types for CASES and ERRORS, from a child process."""
    if _SPEC is None:
        pytest.skip("PyMatting not installed")
    folder = tmp_path_factory.mktemp("pymatting")
    np.savez(folder / "inputs.npz", **_inputs())
    (folder / "cases.json").write_text(json.dumps([CASES, ERRORS]))
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            _CHILD,
            str(folder / "inputs.npz"),
            str(folder / "cases.json"),
            str(pathlib.Path(__file__).parent),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr
    outputs = dict(np.load(folder / "inputs.npz.out.npz"))
    return outputs, json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@needs_pymatting
@pytest.mark.parametrize("name", sorted(CASES))
def test_same_numbers_as_pymatting(reference, name):
    expected = reference[0][name]
    actual = evaluate(shim, CASES[name], _inputs())
    assert actual.shape == expected.shape
    tolerance = TOLERANCE.get(name, 1e-9)
    np.testing.assert_allclose(actual, expected, rtol=tolerance, atol=tolerance)


@pytest.mark.slow
@needs_pymatting
@pytest.mark.parametrize("name", sorted(ERRORS))
def test_same_exceptions_as_pymatting(reference, name):
    if reference[1][name] is None:
        pytest.fail(f"PyMatting does not raise for {ERRORS[name]}")
    module_name, qualname = reference[1][name]
    assert module_name == "builtins"
    expected = getattr(__import__("builtins"), qualname)
    with pytest.raises(expected):
        evaluate(shim, ERRORS[name], _inputs())
