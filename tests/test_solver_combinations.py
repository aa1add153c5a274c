"""Every preconditioner with every alpha method: solved, or refused in one line before any work."""

from __future__ import annotations

import functools

import pytest

import vecmatte
from vecmatte.alpha import METHODS, solve_alpha
from vecmatte.alpha._pipeline import check_solve_options
from vecmatte.preconditioners import PRECONDITIONERS
from vecmatte.trimap import trimap_split

SYSTEM_METHODS = [name for name, spec in METHODS.items() if spec.preconditioner is not None]
# Both kinds of system where a method has both.
CONSTRAINTS = {"knn": ["hard", "soft"], "lkm": ["hard", "soft"], "rw": ["hard", "soft"]}
CASES = [
    (method, constraints)
    for method in SYSTEM_METHODS
    for constraints in CONSTRAINTS.get(method, [None])
]


@pytest.fixture(scope="module")
def scene():
    return vecmatte.make_scene((30, 40), seed=2)


def _options(constraints):
    return {} if constraints is None else {"constraints": constraints}


def _refused(method: str, preconditioner: str) -> bool:
    lacks = METHODS[method].lacks
    return any(need in lacks for need in PRECONDITIONERS[preconditioner].needs)


@pytest.mark.parametrize("preconditioner", list(PRECONDITIONERS))
@pytest.mark.parametrize(("method", "constraints"), CASES)
def test_each_method_and_preconditioner_solves_or_is_refused_before_building(
    method, constraints, preconditioner, scene, monkeypatch
):
    options = _options(constraints)
    if not _refused(method, preconditioner):
        result = solve_alpha(
            scene.image, scene.trimap, method=method, preconditioner=preconditioner, **options
        )
        assert result.converged
        return
    module = METHODS[method].load()
    original = module.build_system

    @functools.wraps(original)
    def never_built(*args, **kwargs):
        raise AssertionError("the system was built before the preconditioner was refused")

    monkeypatch.setattr(module, "build_system", never_built)
    # The knn / ifm neighbour searches of a large image take minutes: the combination used
    # to be refused only when the preconditioner was built, after them, and a batch or the
    # command line read and built every image first.
    pattern = f"'{preconditioner}' needs .* alpha method '{method}' do not have; use "
    with pytest.raises(ValueError, match=pattern):
        solve_alpha(
            scene.image, scene.trimap, method=method, preconditioner=preconditioner, **options
        )
    with pytest.raises(ValueError, match=pattern):
        check_solve_options({"method": method, "preconditioner": preconditioner, **options})


@pytest.mark.parametrize(("method", "constraints"), CASES)
def test_what_a_method_declares_its_systems_lack_they_lack(method, constraints, scene):
    is_fg, is_bg, _ = trimap_split(scene.trimap)
    system = METHODS[method].load().build_system(scene.image, is_fg, is_bg, **_options(constraints))
    lacks = METHODS[method].lacks
    # A refusal of a combination that would work is as wrong as a late one.
    assert ("matrix" in lacks) == (not hasattr(system.matrix, "tocsr"))
    assert ("stencil" in lacks) == (system.stencil is None)
    # Grid locality: without it a 'direct' factor is SuperLU's, counted apart for memory.
    assert ("reach" in lacks) == (system.reach is None)


def test_the_refusal_offers_the_preconditioners_that_work(scene):
    with pytest.raises(ValueError, match=r"use 'direct', 'jacobi', 'twolevel' or 'vcycle'$"):
        solve_alpha(scene.image, scene.trimap, method="knn", preconditioner="ichol")
    with pytest.raises(ValueError, match=r"matrix, which the systems .* 'lkm' .*; use 'jacobi'$"):
        solve_alpha(scene.image, scene.trimap, method="lkm", preconditioner="direct")
