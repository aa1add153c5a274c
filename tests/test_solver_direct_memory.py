"""The memory of the 'direct' factor's options and of its float64 retry is modelled.

A forced envelope beyond its flops limit, a forced SuperLU factor of a grid system and a
float64 factor (``single_precision=False``) were outside :func:`estimate_solve_memory`; the
float64 retry after a float32 breakdown was gated by the whole solve's estimate, not by the
float64 factor's size.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import vecmatte
import vecmatte.memory
from vecmatte.memory import InsufficientMemoryError, direct_factor_bytes, estimate_solve_memory
from vecmatte.synthetic import make_scene


def _beyond_float32():
    """cf at its floor eps on a 0/1 image: CG breaks down with the float32 factor.

    2,261 unknowns: above the band Cholesky path of small systems (cf.solve_small), which
    would solve it whole without a float32 factor.
    """
    scene = make_scene((100, 120), seed=5)
    return (scene.image > 0.5).astype(float), scene.trimap


def test_a_float64_retry_that_would_not_fit_is_refused_in_one_line(monkeypatch):
    image, trimap = _beyond_float32()
    # Read by the retry only (the gate before the solve reads the limits themselves).
    monkeypatch.setattr(vecmatte.memory, "available_memory", lambda: 2**20)
    with pytest.raises(InsufficientMemoryError, match="float64 factor needs about") as caught:
        vecmatte.solve_alpha(image, trimap, method="cf", eps=1e-12)
    assert "\n" not in str(caught.value)
    assert "1.0 MiB is available" in str(caught.value)


def test_a_float64_retry_that_fits_is_made(monkeypatch):
    # 16 MiB holds the float64 factor of these ~2,300 rows (about 7.5 MiB), though not the
    # whole solve's estimate (about 50 MiB, its fixed 40 MB included) that gated it before.
    image, trimap = _beyond_float32()
    monkeypatch.setattr(vecmatte.memory, "available_memory", lambda: 16 * 2**20)
    result = vecmatte.solve_alpha(image, trimap, method="cf", eps=1e-12)
    assert result.converged
    assert result.residual < 1e-7


def test_the_float64_factor_is_twice_the_float32_one():
    for options in ({}, {"factor": "envelope", "shape": (200, 300)}, {"factor": "superlu"}):
        single = direct_factor_bytes(50_000, **options)
        assert direct_factor_bytes(50_000, single_precision=False, **options) == 2 * single
    assert direct_factor_bytes(50_000, reach=None, single_precision=False) == 2 * (
        direct_factor_bytes(50_000, reach=None)
    )


_CHILD = """
import json, sys
import numpy as np
import scipy.sparse.linalg, scipy.spatial  # noqa: F401  (loaded before the baseline)
import vecmatte
from vecmatte.memory import estimate_solve_memory

def resident(key):
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(key):
                return int(line.split()[1]) * 1024

h, w = 200, 300
scene = vecmatte.make_scene((h, w), seed=0)
# Scribbles: nearly every pixel unknown, the widest envelope and SuperLU fill per row.
trimap = np.full((h, w), 0.5)
for row in (h // 4, 3 * h // 4):
    trimap[row, 40:-40] = np.where(scene.alpha[row, 40:-40] > 0.5, 1.0, 0.0)
trimap[:2, :2], trimap[-2:, -2:] = 0.0, 1.0
preconditioner = sys.argv[1]
n_unknown = int((trimap == 0.5).sum())
estimate = estimate_solve_memory(scene.image.shape, n_unknown, preconditioner=preconditioner)
before = resident("VmRSS:")
vecmatte.estimate_alpha(scene.image, trimap, preconditioner=preconditioner)
print(json.dumps({"estimate": estimate, "peak": resident("VmHWM:") - before}))
"""


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads /proc/self/status")
@pytest.mark.parametrize(
    "preconditioner",
    ["direct:single_precision=False", "direct:factor='envelope'", "direct:factor='superlu'"],
)
def test_the_estimate_covers_the_peak_of_a_direct_option(preconditioner):
    # Measured before this model: estimate / peak 0.87, 0.72 and 0.80 (60k unknowns).
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, preconditioner],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    measured = json.loads(out.splitlines()[-1])
    assert measured["estimate"] >= measured["peak"], measured


def test_closed_form_covers_an_envelope_at_its_flops_limit():
    # GT03 trimap 1 at full size (800 x 640, 121,014 unknowns): factor "auto" takes an
    # envelope of 354 stored float32 entries a row; its solve's peak was 250 MB (VmHWM of a
    # fresh child, one BLAS thread) and the estimate 240 MB.
    assert estimate_solve_memory((800, 640), 121_014) >= 1.1 * 250_372_096


def test_direct_options_that_keep_the_factor_add_nothing():
    default = estimate_solve_memory((300, 400), 50_000)
    assert estimate_solve_memory((300, 400), 50_000, preconditioner="direct:factor='nested'") == (
        default
    )
    assert estimate_solve_memory((300, 400), 50_000, preconditioner="direct:factor='auto'") == (
        default
    )
    double = estimate_solve_memory(
        (300, 400), 50_000, preconditioner="direct:single_precision=False"
    )
    assert double > default
    # KNN's factor is SuperLU's anyway: forcing it adds nothing, float64 one factor more.
    knn = estimate_solve_memory((300, 400), 50_000, method="knn", preconditioner="direct")
    forced = ("direct", {"factor": "superlu"})
    assert estimate_solve_memory((300, 400), 50_000, method="knn", preconditioner=forced) == knn
    assert estimate_solve_memory(
        (300, 400), 50_000, method="knn", preconditioner=("direct", {"single_precision": False})
    ) > knn + direct_factor_bytes(50_000, reach=None)


def test_a_forced_envelope_is_bounded_by_the_image():
    # Whole boxes of unknowns, measured: up to 1.53 reach * min(h, w) stored entries a row.
    narrow = direct_factor_bytes(48_000, factor="envelope", shape=(80, 600))
    assert narrow >= 4 * 48_000 * 1.154 * 2 * 80
    square = direct_factor_bytes(90_000, factor="envelope", shape=(300, 300))
    assert square >= 4 * 90_000 * 1.528 * 2 * 300
    assert np.isfinite(direct_factor_bytes(10**8, factor="envelope"))
