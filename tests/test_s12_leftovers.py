"""Session 12 leftovers: cf's small path takes only its own options; ICC colour profiles of
``vecmatte composite`` and ``vecmatte serve``'s downloads.

References: SciPy's sparse direct solve of the system :func:`vecmatte.alpha.cf.build_system`
assembles; the profiles are checked as Pillow reads them back from the written PNGs.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse.linalg

import vecmatte
from vecmatte import _defaults
from vecmatte.alpha import cf
from vecmatte.synthetic import make_scene

# --- cf.solve_small is passed only the options it takes ------------------------------------


def _spsolve_alpha(image, trimap, **options):
    """The matte of the assembled system's exact solution (clipped as the pipeline does)."""
    is_fg, is_bg = trimap > 0.9, trimap < 0.1
    system = cf.build_system(image, is_fg, is_bg, **options)
    alpha = is_fg.astype(np.float64)
    alpha.flat[system.unknown] = np.clip(
        scipy.sparse.linalg.spsolve(system.matrix.tocsc(), system.rhs), 0.0, 1.0
    )
    return alpha


def test_an_option_solve_small_does_not_take_leaves_the_system_to_build_system(monkeypatch):
    # A cf option added to build_system (and the memory model) but not to solve_small: it
    # raised TypeError inside solve_small rather than being honoured.
    build, model = cf.build_system, cf.memory_bytes
    seen = []

    def build_system(image, is_fg, is_bg, *, eps=_defaults.EPS, radius=_defaults.RADIUS, extra=0):
        seen.append(extra)
        return build(image, is_fg, is_bg, eps=eps, radius=radius)

    def memory_bytes(*args, extra=0, **options):
        return model(*args, **options)

    monkeypatch.setattr(cf, "build_system", build_system)
    monkeypatch.setattr(cf, "memory_bytes", memory_bytes)
    scene = make_scene((20, 24), seed=0, softness=1.5, band=1)
    result = vecmatte.solve_alpha(scene.image, scene.trimap, method="cf", rtol=1e-10, extra=3)
    assert seen == [3]  # built by build_system with the option, solved by conjugate gradient
    reference = _spsolve_alpha(scene.image, scene.trimap)
    np.testing.assert_allclose(result.alpha, reference, atol=1e-6)


def test_solve_small_still_takes_eps_and_radius(monkeypatch):
    calls = []
    small = cf.solve_small

    def solve_small(image, is_fg, is_bg, **keywords):
        calls.append(sorted(keywords))
        return small(image, is_fg, is_bg, **keywords)

    monkeypatch.setattr(cf, "solve_small", solve_small)
    scene = make_scene((20, 24), seed=1, softness=1.5, band=1)
    result = vecmatte.solve_alpha(scene.image, scene.trimap, method="cf", eps=1e-3, radius=1)
    assert calls == [["eps", "radius", "rtol"]] and result.iterations == 1
    reference = _spsolve_alpha(scene.image, scene.trimap, eps=1e-3, radius=1)
    np.testing.assert_allclose(result.alpha, reference, atol=1e-8)
