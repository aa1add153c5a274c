"""Never a changed input: every public function that takes arrays leaves them byte-identical,
takes read-only arrays, and gives the same answer whatever the caller's dtype-preserving
memory layout (C or Fortran order, strided and reversed views, read-only flags).

The functions are those of ``vecmatte.__all__`` and the public functions of vecmatte.alpha,
vecmatte.foreground, vecmatte.laplacians (each registered Laplacian), vecmatte.compose,
vecmatte.trimap and vecmatte.metrics; a test checks that none is left out."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import io
import warnings

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given, settings
from hypothesis import strategies as st

import vecmatte
from vecmatte import METHODS, compose, metrics, trimap
from vecmatte.alpha import run_method
from vecmatte.laplacians import LAPLACIANS, get_laplacian

SHAPE = (10, 12)
DTYPES = ["float64", "float32", "uint8", "uint16", "bool"]
LAYOUTS = ["C", "F", "strided", "reversed"]
MODULES = [
    "vecmatte",
    "vecmatte.alpha",
    "vecmatte.foreground",
    "vecmatte.laplacians",
    "vecmatte.compose",
    "vecmatte.trimap",
    "vecmatte.metrics",
]


def _inputs() -> dict[str, np.ndarray]:
    """float64 pictures: image, trimap (foreground left, background right), a soft alpha,
    the image scribbled on (white and black strokes), and the known pixels of the trimap."""
    rng = np.random.default_rng(7)
    image = rng.random((*SHAPE, 3))
    trimap = np.full(SHAPE, 0.5)
    trimap[:, :3], trimap[:, -3:] = 1.0, 0.0
    alpha = np.clip(np.linspace(1.3, -0.3, SHAPE[1]), 0, 1)[None].repeat(SHAPE[0], axis=0)
    scribbled = image.copy()
    scribbled[2:8, 1], scribbled[2:8, -2] = 1.0, 0.0
    return {"image": image, "trimap": trimap, "alpha": alpha, "scribbled": scribbled}


#: lkm's default window (21 x 21) does not fit 10 x 12 pixels.
SMALL = {"lkm": {"radius": 1}, "large_kernel": {"radius": 1}}

# Each public array function, called on the pictures of _inputs (in the drawn dtype and
# layout); "known" and "unknown" are boolean masks made from the trimap.
CALLS = {
    # estimate_alpha and run_method are the pipeline solve_alpha runs: once each.
    "estimate_alpha": lambda a: vecmatte.estimate_alpha(a["image"], a["trimap"]),
    "run_method": lambda a: run_method(a["image"], a["trimap"], method="cf"),
    **{
        f"solve_alpha[{m}]": lambda a, m=m: vecmatte.solve_alpha(
            a["image"], a["trimap"], method=m, **SMALL.get(m, {})
        )
        for m in METHODS
    },
    **{
        f"estimate_foreground[{m}]": lambda a, m=m: vecmatte.estimate_foreground(
            a["image"], a["alpha"], method=m
        )
        for m in ("ml", "cf", "blur_fusion")
    },
    **{
        f"estimate_foreground_background[{m}]": lambda a, m=m: (
            vecmatte.estimate_foreground_background(a["image"], a["alpha"], method=m)
        )
        for m in ("ml", "cf", "blur_fusion")
    },
    **{
        f"laplacian[{n}]": lambda a, n=n: get_laplacian(n)(a["image"], **SMALL.get(n, {}))
        for n in LAPLACIANS
    },
    "matting_laplacian(known=)": lambda a: vecmatte.matting_laplacian(
        a["image"], known=a["trimap"] != 0.5
    ),
    "laplacian[lbdm](known=)": lambda a: get_laplacian("lbdm")(
        a["image"], known=a["trimap"] != 0.5
    ),
    "laplacian[information_flow](unknown=)": lambda a: get_laplacian("information_flow")(
        a["image"], unknown=a["trimap"] == 0.5
    ),
    "cutout": lambda a: vecmatte.cutout(a["image"], a["alpha"]),
    "cutout(foreground)": lambda a: vecmatte.cutout(a["image"], a["alpha"], a["scribbled"]),
    "composite": lambda a: vecmatte.composite(a["image"], a["alpha"], a["scribbled"]),
    "composite(colour)": lambda a: vecmatte.composite(a["image"], a["alpha"], "green"),
    "parse_color": lambda a: compose.parse_color(a["image"][0, 0]),
    "scribbles_to_trimap": lambda a: vecmatte.scribbles_to_trimap(a["image"], a["scribbled"]),
    "trimap_split": lambda a: vecmatte.trimap_split(a["trimap"]),
    "trimap_from_mask": lambda a: vecmatte.trimap_from_mask(a["alpha"], band=2),
    "check_trimap": lambda a: trimap.check_trimap(a["trimap"], SHAPE),
    "check_known_pixels": lambda a: trimap.check_known_pixels(a["trimap"]),
    "coloured_fraction": lambda a: trimap.coloured_fraction(a["scribbled"]),
    "save_image": lambda a: _saved(a["image"]),
    **{
        f.__name__: lambda a, f=f: f(a["alpha"], a["trimap"], a["trimap"])
        for f in (
            metrics.sad,
            metrics.mse,
            metrics.gradient_error,
            metrics.connectivity_error,
            metrics.matting_errors,
        )
    },
}

#: Public callables that take no arrays (names, shapes, paths, tasks).
NO_ARRAYS = {
    "make_scene",
    "load_image",
    "load_trimap",
    "estimate_solve_memory",
    "check_memory",
    "find_tasks",
    "process_task",
    "run_batch",
    "run_batch_on_cluster",
    "check_solve_options",
    "get_method",
    "get_laplacian",
    "foreground_memory_bytes",
    "composite_profile",  # two ICC profiles (bytes or None)
}


def _saved(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    vecmatte.save_image(buffer, image, format="png")
    return buffer.getvalue()


def _in_dtype(array: np.ndarray, dtype: str) -> np.ndarray:
    if dtype == "bool":
        return array > 0.5
    if dtype in ("uint8", "uint16"):
        return np.round(array * np.iinfo(dtype).max).astype(dtype)
    return array.astype(dtype)


def _laid_out(array: np.ndarray, layout: str, read_only: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(view, owner)``: ``array``'s values in ``layout``, and the array owning the memory."""
    if layout == "F":
        owner = np.asfortranarray(array)
        view = owner
    elif layout == "strided":  # every other row and column of a larger buffer
        owner = np.zeros((2 * array.shape[0], 2 * array.shape[1], *array.shape[2:]), array.dtype)
        view = owner[::2, 1::2]
        view[...] = array
    elif layout == "reversed":
        owner = np.ascontiguousarray(array[::-1, ::-1])
        view = owner[::-1, ::-1]
    else:
        owner = np.array(array, order="C")
        view = owner
    if read_only:
        owner.setflags(write=False)
        view.setflags(write=False)
    return view, owner


def _comparable(value):
    """A value that == compares by content: arrays as (dtype, shape, bytes), operators by
    their product with a fixed vector."""
    if isinstance(value, np.ndarray):
        return (value.dtype.str, value.shape, value.tobytes())
    if scipy.sparse.issparse(value):
        return _comparable(value.toarray())
    if hasattr(value, "matvec"):
        return _comparable(value.matvec(np.linspace(0.0, 1.0, value.shape[1])))
    if dataclasses.is_dataclass(value):
        return tuple(_comparable(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, (tuple, list)):
        return tuple(_comparable(item) for item in value)
    if isinstance(value, dict):
        return tuple((key, _comparable(item)) for key, item in value.items())
    return value


def _outcome(call, arguments: dict) -> tuple:
    """What the call returned or raised (as a comparable value) and the warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = ("returned", _comparable(call(arguments)))
        except (ValueError, TypeError) as error:
            result = ("raised", type(error).__name__, str(error))
    return result, sorted({(type(w.message).__name__, str(w.message)) for w in caught})


@st.composite
def layouts(draw):
    """Per argument: its dtype, memory layout and whether it is read-only."""
    return {
        name: (
            draw(st.sampled_from(DTYPES)),
            draw(st.sampled_from(LAYOUTS)),
            draw(st.booleans()),
        )
        for name in ("image", "trimap", "alpha", "scribbled")
    }


@pytest.mark.parametrize("name", list(CALLS))
@settings(max_examples=3)
@given(drawn=layouts())
def test_inputs_are_left_unchanged_and_read_only_ones_accepted(name, drawn):
    call = CALLS[name]
    pictures = _inputs()
    plain, given_, owners = {}, {}, {}
    for key, (dtype, layout, read_only) in drawn.items():
        plain[key] = _in_dtype(pictures[key], dtype)
        given_[key], owners[key] = _laid_out(plain[key], layout, read_only)
    before = {key: owner.copy() for key, owner in owners.items()}
    flags = {key: owner.flags.writeable for key, owner in owners.items()}

    outcome = _outcome(call, given_)

    for key, owner in owners.items():
        assert owner.tobytes() == before[key].tobytes(), f"{name} changed its {key}"
        assert owner.flags.writeable == flags[key], f"{name} changed the flags of its {key}"
    # The same values in plain writable C-ordered arrays give the same answer: a read-only
    # array, a view or another order is accepted as what it holds.
    assert outcome == _outcome(call, plain), name


def test_every_public_array_function_is_called():
    public = set()
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for item in module.__all__:
            value = getattr(module, item)
            if inspect.isfunction(value):
                public.add(item)
    called = {key.split("[")[0].split("(")[0] for key in CALLS}
    called.add("matting_laplacian")
    assert public - called - NO_ARRAYS == set()
    assert {key for key in CALLS if key.startswith("laplacian[")} >= {
        f"laplacian[{name}]" for name in LAPLACIANS
    }
