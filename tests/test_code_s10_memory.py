"""Memory estimates of session 10: KNN's 'direct' factor counted once, random walks' factor
through the shared function, and the public memory API refusing what the solve refuses."""

from __future__ import annotations

import pytest

from vecmatte.memory import (
    BASE_BYTES,
    SAFETY,
    default_memory_bytes,
    direct_factor_bytes,
    estimate_solve_memory,
    refuse_if_short,
)
from vecmatte.preconditioners.direct import ENVELOPE_FLOPS_PER_UNKNOWN

MiB = 2**20

# knn with preconditioner='direct', VmHWM of fresh children minus the resident memory before
# the solve (one BLAS thread): (shape, unknown, options, peak MiB). Session 10 on
# alphamatting-lowres and scenes; the last two from 322f88a (session 8).
KNN_DIRECT_PEAKS = [
    ((188, 267), 19898, {}, 98.6),  # GT04 trimap x1/3
    ((276, 400), 7350, {}, 48.4),  # GT05 trimap x0.5
    ((290, 400), 6366, {}, 50.7),  # GT19 trimap x0.5
    ((60, 80), 1355, {}, 5.7),  # scene, band 3
    ((150, 200), 5618, {}, 18.1),  # scene, band 6
    ((248, 400), 9625, {}, 44.7),  # GT01 trimap x0.5
    ((282, 400), 44743, {}, 333.9),  # GT04 trimap x0.5
    ((300, 400), 39602, {}, 132.5),  # scene, band 25
    ((268, 400), 27430, {}, 102.6),  # GT16 trimap2 x0.5
    ((298, 400), 36018, {}, 222.8),  # GT13 trimap x0.5
    ((150, 200), 5618, {"constraints": "soft"}, 163.0),  # scene, band 6
    ((282, 400), 54760, {}, 423.6),  # GT04 trimap2 x0.5
    ((563, 800), 178728, {}, 4038.0),  # GT04 trimap x1
    ((282, 400), 44743, {"constraints": "soft"}, 1847.0),  # GT04 trimap x0.5
]


@pytest.mark.parametrize(("shape", "unknown", "options", "peak"), KNN_DIRECT_PEAKS)
def test_knn_direct_estimates_cover_their_measured_peaks(shape, unknown, options, peak):
    estimate = estimate_solve_memory(
        shape, unknown, method="knn", preconditioner="direct", **options
    )
    assert estimate >= 1.10 * peak * MiB


@pytest.mark.parametrize(
    ("shape", "unknown", "options"),
    [((563, 800), 178728, {}), ((60, 80), 1355, {}), ((282, 400), 44743, {"constraints": "soft"})],
)
def test_knn_direct_adds_superlu_factor_once(shape, unknown, options):
    # SuperLU's 5.1 rows**1.7 was fitted to the peak beyond a Jacobi solve's; the grid
    # factors' model (38 n + 1518 rows, 0.4 GiB on GT04) was added on top of it.
    rows = shape[0] * shape[1] if options else unknown
    jacobi = estimate_solve_memory(shape, unknown, method="knn", **options)
    direct = estimate_solve_memory(shape, unknown, method="knn", preconditioner="direct", **options)
    expected = SAFETY * BASE_BYTES + SAFETY * 5.1 * rows**1.7
    assert abs(direct - jacobi - expected) <= 2


def test_random_walk_direct_factor_has_no_envelope_padding():
    # Random walks' estimate, as before its factor model moved into direct_factor_bytes:
    # 30 n + 320 u + 2**18 (Jacobi) and 1.15 max(4 sqrt(1e5) u, 21 u**1.25).
    for shape, unknown in [((563, 800), 178728), ((60, 80), 1355), ((2934, 4480), 1801700)]:
        n = shape[0] * shape[1]
        factor = max(4.0 * ENVELOPE_FLOPS_PER_UNKNOWN**0.5 * unknown, 21.0 * unknown**1.25)
        expected = 30.0 * n + 320.0 * unknown + 2**18 + SAFETY * factor
        estimate = estimate_solve_memory(shape, unknown, method="rw", preconditioner="direct")
        assert abs(estimate - expected) <= 1


@pytest.mark.parametrize(
    ("method", "shape", "options", "message"),
    [
        # Estimates of solves the solve refuses: 3 PiB for rw, a number for large-kernel.
        ("rw", (50, 50), {"radius": 10**6}, r"^radius must be smaller than the image \(50 x 50"),
        ("lkm", (50, 50), {"radius": 0}, r"^radius must be a positive integer, got 0$"),
        ("lkm", (1, 50), {}, r"^image of 1 x 50 pixels .* 21 x 21 window \(radius=10\)"),
        ("lkm", (50, 50), {"eps": -1.0}, r"^eps must be a positive finite number, got -1.0$"),
    ],
)
def test_estimate_refuses_options_the_solve_refuses(method, shape, options, message):
    with pytest.raises(ValueError, match=message):
        estimate_solve_memory(shape, 10, method=method, **options)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((float("nan"), (10, 10), 5), r"^needed must be a number of bytes \(0 or more\), got nan$"),
        ((-5, (10, 10), 5), r"^needed must be a number of bytes"),
        ((10**12, "ab", 5), r"^shape's height must be non-negative, a whole number of pixels"),
        ((10**12, (10, 10), 101), r"^n_unknown must be non-negative, a whole number of pixels"),
    ],
)
def test_refuse_if_short_names_a_bad_argument(arguments, message):
    # Were "cannot convert float NaN to integer", "invalid literal for int()", or nothing.
    with pytest.raises(ValueError, match=message):
        refuse_if_short(*arguments, available=10)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"rows": -5}, r"^rows must be a whole number of rows \(0 or more\), got -5$"),
        ({"rows": 100, "factor": "nope"}, r"^direct: factor must be one of auto, envelope"),
        ({"rows": 100, "reach": 0, "factor": "envelope"}, r"^reach must be None or a whole"),
        ({"rows": 100, "single_precision": "no"}, r"^direct: single_precision must be True"),
    ],
)
def test_direct_factor_bytes_refuses_what_direct_refuses(options, message):
    # Were a TypeError of a complex power, "nope" read as "auto", an envelope of 0 bytes.
    rows = options.pop("rows")
    with pytest.raises(ValueError, match=message):
        direct_factor_bytes(rows, **options)


def test_default_memory_bytes_reads_its_request_as_the_estimate_does():
    assert default_memory_bytes((10, 10, 3), 5) == default_memory_bytes((10, 10), 5)
    with pytest.raises(ValueError, match=r"^shape's height must be non-negative"):
        default_memory_bytes((-10, 10), 5)  # was an estimate of -100 pixels
    with pytest.raises(ValueError, match=r"^n_unknown must be non-negative"):
        default_memory_bytes((10, 10), -5)
    with pytest.raises(ValueError, match=r"^unknown preconditioner 'nope'; choose one of"):
        default_memory_bytes((10, 10), 5, preconditioner="nope")  # was KeyError: 'nope'
