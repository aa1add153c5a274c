"""What the benchmark can measure, and how each one is called.

vecmatte's methods come from its registry (``vecmatte.alpha.METHODS``) and its preconditioners
from ``vecmatte.preconditioners.PRECONDITIONERS``; the peers are PyMatting's estimators
(``estimate_alpha_<name>``) and the seed's numba program. Keys:

- ``vecmatte:<preconditioner>``: closed-form with that preconditioner (the comparison of
  preconditioners, and closed-form's row in the method table with the default one);
- ``vecmatte:<method>``: any other registered method with its default preconditioner;
- ``pymatting:<method>``: PyMatting's ``estimate_alpha_<method>``;
- ``seed``: the seed's program (``bench/seed_numba.py``).

Peers (numba, pymatting) are imported only by the children that run them.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from harness.data import fail

BENCH_DIR = Path(__file__).resolve().parents[1]

# PyMatting 1.1's alpha estimators: estimate_alpha_<name>.
PYMATTING_METHODS = ("cf", "knn", "lkm", "lbdm", "rw", "sm")
FAMILIES = ("vecmatte", "pymatting", "seed")


@dataclass(frozen=True)
class Method:
    key: str  # "vecmatte:ichol", "vecmatte:knn", "pymatting:cf", "seed"
    label: str
    family: str  # "vecmatte", "pymatting", "seed"
    uses_numba: bool
    name: str = "cf"  # the alpha method: registry name, or PyMatting's estimate_alpha_<name>
    preconditioner: str | None = None  # vecmatte only; None: the method's default

    def to_job(self) -> dict:
        """The fields a child needs to call the method (JSON)."""
        return asdict(self)


def default_preconditioner() -> str:
    """vecmatte's default preconditioner (closed-form's)."""
    try:
        from vecmatte._defaults import PRECONDITIONER

        return PRECONDITIONER
    except ImportError:  # before the layout of issue 12
        from vecmatte.alpha import DEFAULT_PRECONDITIONER

        return DEFAULT_PRECONDITIONER


def registry() -> dict[str, str]:
    """vecmatte's alpha methods at run time: name -> one-line summary (closed-form first)."""
    import vecmatte.alpha

    methods = getattr(vecmatte.alpha, "METHODS", None)
    if methods is None:  # before the registry existed: closed-form only
        return {"cf": "closed-form matting (Levin, Lischinski, Weiss 2008)"}
    names = sorted(methods, key=lambda name: (name != "cf", name))
    return {name: str(getattr(methods[name], "summary", "") or name) for name in names}


def cf_preconditioners() -> list[str]:
    """The preconditioners closed-form's reduced system can use (default first).

    A preconditioner whose spec says it needs the full pixel grid (a soft-constraint system)
    cannot serve closed-form's hard-constraint system and is left out, and so is "none"
    (unpreconditioned CG would take hours on the full set).
    """
    from vecmatte.preconditioners import PRECONDITIONERS

    default = default_preconditioner()
    usable = []
    for name, spec in PRECONDITIONERS.items():
        if name != default and getattr(spec, "module", "") is None:
            continue
        if getattr(spec, "module", "") is None:  # "none": unpreconditioned CG, far too slow
            continue
        needs = getattr(spec, "needs", ()) or ()
        needs = (needs,) if isinstance(needs, str) else tuple(needs)
        if any("grid" in str(need) for need in needs):
            continue
        usable.append(name)
    return [default, *sorted(n for n in usable if n != default)]


def vecmatte_key(name: str, preconditioner: str | None = None) -> str:
    """The key of a vecmatte method: closed-form by its preconditioner, others by name."""
    if name == "cf":
        return f"vecmatte:{preconditioner or default_preconditioner()}"
    return f"vecmatte:{name}" + (f"+{preconditioner}" if preconditioner else "")


def vecmatte_method(name: str, preconditioner: str | None = None) -> Method:
    default = default_preconditioner()
    if name == "cf":
        chosen = preconditioner or default
        label = f"vecmatte {chosen}" + (" (default)" if chosen == default else "")
        return Method(vecmatte_key(name, chosen), label, "vecmatte", False, "cf", chosen)
    label = f"vecmatte {name}" + (f" {preconditioner}" if preconditioner else "")
    return Method(
        vecmatte_key(name, preconditioner), label, "vecmatte", False, name, preconditioner
    )


def pymatting_method(name: str) -> Method:
    return Method(f"pymatting:{name}", f"PyMatting {name}", "pymatting", True, name)


SEED = Method("seed", "seed (numba + spsolve)", "seed", True)


def all_methods() -> list[Method]:
    """The closed-form comparison: vecmatte with each preconditioner (default first),
    PyMatting cf, the seed."""
    methods = [vecmatte_method("cf", name) for name in cf_preconditioners()]
    return [*methods, pymatting_method("cf"), SEED]


def default_method_key() -> str:
    return vecmatte_key("cf")


def select_methods(requested: list[str] | None, methods: list[Method] | None = None):
    """The methods named by keys or families (all of ``methods`` when nothing is asked)."""
    methods = all_methods() if methods is None else methods
    if not requested:
        return methods
    chosen = []
    for request in requested:
        matches = [m for m in methods if m.key == request or m.family == request]
        if not matches:
            raise fail(
                f"unknown method {request!r}; choose from "
                f"{', '.join(m.key for m in methods)} or a family ({', '.join(FAMILIES)})"
            )
        chosen += [m for m in matches if m not in chosen]
    return chosen


def method_pairs(
    names: list[str] | None = None, *, registered_only: bool = True
) -> list[tuple[Method, Method]]:
    """(vecmatte method, what it is compared with) for the method table.

    Each registered method is paired with PyMatting's estimator of the same name, or, when
    PyMatting has none (information flow), with vecmatte's closed-form. With
    ``registered_only=False`` names vecmatte does not have (yet) are accepted, so that the
    peers' cells can be measured ahead.
    """
    available = registry()
    if names and registered_only:
        unknown = [n for n in names if n not in available]
        if unknown:
            raise fail(f"vecmatte has no method {unknown[0]!r}; registered: {', '.join(available)}")
    pairs = []
    for name in names or list(available):
        ours = vecmatte_method(name)
        peer = pymatting_method(name) if name in PYMATTING_METHODS else vecmatte_method("cf")
        pairs.append((ours, peer))
    return pairs


def peer_available(method: Method) -> str | None:
    """``None`` if the method can run here, else why not."""
    needed = {"vecmatte": [], "pymatting": ["pymatting", "numba"], "seed": ["numba"]}
    for module in needed[method.family]:
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install -e '.[bench]')"
    if method.family == "pymatting" and method.name not in PYMATTING_METHODS:
        return f"PyMatting has no estimate_alpha_{method.name}"
    return None


def load_solver(job: dict):
    """``solve(image, trimap) -> (alpha, cg_iterations or None)``; imports the method."""
    method = Method(**job)
    if method.family == "vecmatte":
        return _vecmatte_solver(method.name, method.preconditioner)
    if method.family == "pymatting":
        return _pymatting_solver(method.name)
    if method.family == "seed":
        sys.path.insert(0, str(BENCH_DIR))
        from seed_numba import seed_alpha

        return lambda image, trimap: (seed_alpha(image, trimap), None)
    raise ValueError(f"unknown method family {method.family!r}")


def _vecmatte_solver(name: str, preconditioner: str | None):
    from vecmatte import solve_alpha

    options = {} if preconditioner is None else {"preconditioner": preconditioner}
    if name != "cf":
        if "method" not in inspect.signature(solve_alpha).parameters:
            raise ValueError(f"this vecmatte's solve_alpha has no method= (asked for {name!r})")
        options["method"] = name

    def solve(image, trimap):
        result = solve_alpha(image, trimap, **options)
        return result.alpha, getattr(result, "iterations", None)

    return solve


def _pymatting_solver(name: str):
    import pymatting

    estimate = getattr(pymatting, f"estimate_alpha_{name}")
    counts_iterations = "cg_kwargs" in inspect.signature(estimate).parameters

    def solve(image, trimap):
        if not counts_iterations:
            return estimate(image, trimap), None
        count = [0]

        def callback(*_):
            count[0] += 1

        alpha = estimate(image, trimap, cg_kwargs={"callback": callback})
        return alpha, count[0]

    return solve
