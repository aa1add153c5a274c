"""Stage messages: the library logs its long steps at INFO, the CLI shows them, nobody else.

The library logs on loggers under ``vecmatte`` and prints nothing itself (a NullHandler);
``vecmatte alpha`` shows the records among its time-stamped progress lines while it solves
(not with ``--quiet``) and detaches its handler afterwards; a batch shows its per-image
progress only.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import write_png

from vecmatte.alpha import estimate_alpha
from vecmatte.alpha.ifm import build_system
from vecmatte.cli import main
from vecmatte.synthetic import make_scene
from vecmatte.trimap import trimap_split

STAMP = r"\[\s*\d+\.\d\ds\] "


@pytest.fixture(scope="module")
def ifm_scene():
    return make_scene((40, 50), seed=1)


def _stages(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name.startswith("vecmatte")]


def _unknown(trimap) -> int:
    return int(np.count_nonzero(trimap == 0.5))


def _assert_in_order(messages: list[str], expected: list[str]) -> None:
    """``messages`` are exactly ``expected``, each message starting with its entry."""
    assert len(messages) == len(expected), messages
    for message, start in zip(messages, expected, strict=True):
        assert message.startswith(start), (message, start)


def test_ifm_logs_its_stages_in_order(caplog, ifm_scene):
    image, trimap = ifm_scene.image, ifm_scene.trimap
    u = _unknown(trimap)
    is_fg, is_bg, _ = trimap_split(trimap)
    m = len(build_system(image, is_fg, is_bg, known_to_unknown=True).unknown)
    assert m > u  # the solved pixels include known pixels the flows couple
    caplog.set_level(logging.INFO, logger="vecmatte")
    estimate_alpha(image, trimap, method="ifm", known_to_unknown=True)
    records = _stages(caplog)
    assert {record.levelno for record in records} == {logging.INFO}
    _assert_in_order(
        [record.getMessage() for record in records],
        [
            f"ifm: building the system of {u} unknown pixels (40 x 50 image, height x width)",
            f"ifm: colour-mixture neighbours of {u} unknown pixels (K=20)",
            f"ifm: local flow of {m} pixels (window radius 1)",
            f"ifm: edge trimming of {u} unknown pixels",
            f"ifm: patch trimming of {u} unknown pixels (K=5)",
            "ifm: known-to-unknown neighbours of ",
            f"ifm: intra-unknown neighbours of {u} unknown pixels (K=5)",
            f"ifm: assembling the system of {m} pixels",
            f"preconditioner twolevel for {m} equations",
            "twolevel: coarse matrix of ",
            f"conjugate gradient on {m} equations (rtol 1e-06)",
        ],
    )
    # Lazy %-formatting with small scalar arguments: nothing is formatted (or any array
    # printed) when nobody listens.
    for record in records:
        assert record.args and "%" in record.msg, record.msg
        assert all(isinstance(arg, (int, float, str)) for arg in record.args), record.args


def test_ifm_names_the_transparency_test_and_skips_trimming_without_known_to_unknown(
    caplog, ifm_scene
):
    caplog.set_level(logging.INFO, logger="vecmatte")
    estimate_alpha(ifm_scene.image, ifm_scene.trimap, method="ifm")
    assert [r.getMessage() for r in _stages(caplog)][1].startswith("ifm: transparency test of ")
    caplog.clear()
    estimate_alpha(ifm_scene.image, ifm_scene.trimap, method="ifm", known_to_unknown=False)
    messages = " | ".join(r.getMessage() for r in _stages(caplog))
    assert "colour-mixture" in messages and "intra-unknown" in messages
    assert "trimming" not in messages and "known-to-unknown" not in messages
    assert "transparency" not in messages


@pytest.mark.parametrize(
    ("method", "options", "stages"),
    [
        # maxiter=2 keeps this small system on the build and conjugate gradient (with
        # maxiter None or >= 3 it is solved whole by a band Cholesky factor, cf.solve_small).
        ("cf", {"maxiter": 2}, ["direct: ", "factor of {u} unknowns"]),
        (
            "knn",
            {},
            [
                "knn: nearest neighbours of 2000 pixels",
                "knn: 20 nearest neighbours of ",
                "knn: 10 nearest neighbours of ",
                "knn: assembling the system",
            ],
        ),
        ("lkm", {"radius": 2}, ["lkm: window statistics of the ", "(height x width, radius 2)"]),
        ("lbdm", {}, ["lbdm: window regressions of the 40 x 50 image (height x width", "direct: "]),
        ("rw", {}, []),
        ("sm", {}, ["sm: trimap expansion", "sm: sample gathering", "sm: local smoothing"]),
    ],
)
def test_every_method_logs_its_build_and_solve(caplog, ifm_scene, method, options, stages):
    u = _unknown(ifm_scene.trimap)
    caplog.set_level(logging.INFO, logger="vecmatte")
    estimate_alpha(ifm_scene.image, ifm_scene.trimap, method=method, **options)
    messages = [record.getMessage() for record in _stages(caplog)]
    verb = "estimating alpha of" if method == "sm" else "building the system of"
    assert messages[0] == f"{method}: {verb} {u} unknown pixels (40 x 50 image, height x width)"
    text = "\n".join(messages)
    for stage in stages:
        assert stage.format(u=u) in text, text
    if method != "sm":
        assert messages[-1].startswith("conjugate gradient on ")


def test_sizes_are_said_height_by_width_as_in_error_messages(caplog, ifm_scene):
    # The stage lines said "50 x 40 image" (width x height) of a 40 x 50 image, while every
    # error message says "40 x 50 pixels (height x width)". lkm's crop of a wide band of
    # unknown pixels (4 rows, padded by 2 radii) is 12 rows of the whole width.
    trimap = np.zeros((40, 50))
    trimap[:18], trimap[18:22] = 1.0, 0.5
    caplog.set_level(logging.INFO, logger="vecmatte")
    estimate_alpha(ifm_scene.image, trimap, method="lkm", radius=2)
    messages = [record.getMessage() for record in _stages(caplog)]
    assert messages[:2] == [
        "lkm: building the system of 200 unknown pixels (40 x 50 image, height x width)",
        "lkm: window statistics of the 12 x 50 crop around the unknown pixels (height x width, "
        "radius 2)",
    ]


def test_cli_prints_the_stages_with_time_stamps(tmp_path, scene, scene_files, capsys):
    image, trimap = scene_files
    code = main(
        ["alpha", str(image), str(trimap), "-o", str(tmp_path / "a.png"), "--method", "ifm"]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    lines = err.splitlines()
    assert all(re.match(STAMP, line) for line in lines), err

    def first(pattern: str) -> int:
        found = [i for i, line in enumerate(lines) if re.match(STAMP + pattern, line)]
        assert found, (pattern, err)
        return found[0]

    u = _unknown(scene.trimap)
    order = [
        first("solving for alpha \\(36 x 44 pixels, height x width, method ifm, "),
        first(
            f"  ifm: building the system of {u} unknown pixels \\(36 x 44 image, height x width\\)$"
        ),
        first(f"  ifm: colour-mixture neighbours of {u} unknown pixels \\(K=20\\)$"),
        first("  ifm: intra-unknown neighbours of "),
        first("  preconditioner twolevel for \\d+ equations$"),
        first("  conjugate gradient on \\d+ equations"),
        first("  CG iteration 1: "),
        first("solved "),
    ]
    assert order == sorted(order), err


def test_cli_quiet_prints_no_stage(tmp_path, scene_files, capsys):
    image, trimap = scene_files
    out = tmp_path / "a.png"
    assert main(["alpha", str(image), str(trimap), "-o", str(out), "--method", "ifm", "-q"]) == 0
    assert capsys.readouterr().err == ""
    assert out.exists()


def test_cli_leaves_no_handler_and_the_level_as_it_was(tmp_path, scene_files, monkeypatch):
    logger = logging.getLogger("vecmatte")
    before = (list(logger.handlers), logger.level, logger.propagate)
    image, trimap = scene_files
    assert main(["alpha", str(image), str(trimap), "-o", str(tmp_path / "a.png")]) == 0
    assert (list(logger.handlers), logger.level, logger.propagate) == before

    def fail(*args, **kwargs):
        logging.getLogger("vecmatte.alpha.test").info("a stage before failing")
        raise ValueError("the solve failed")

    monkeypatch.setattr("vecmatte.alpha.solve_alpha", fail)
    assert main(["alpha", str(image), str(trimap), "-o", str(tmp_path / "b.png")]) == 1
    assert (list(logger.handlers), logger.level, logger.propagate) == before


def test_cli_failure_shows_the_stage_it_reached(tmp_path, scene_files, monkeypatch, capsys):
    def fail(*args, **kwargs):
        logging.getLogger("vecmatte.alpha.test").info("stage %d of the solve", 3)
        raise ValueError("the solve failed")

    monkeypatch.setattr("vecmatte.alpha.solve_alpha", fail)
    image, trimap = scene_files
    assert main(["alpha", str(image), str(trimap), "-o", str(tmp_path / "a.png")]) == 1
    err = capsys.readouterr().err.splitlines()
    assert re.fullmatch(STAMP + "  stage 3 of the solve", err[-2]), err
    assert err[-1] == f"vecmatte: error: {image}: the solve failed"  # named since 2f429c1


def test_cli_batch_shows_no_stage(tmp_path, scene, capsys):
    images, trimaps = tmp_path / "images", tmp_path / "trimaps"
    images.mkdir()
    trimaps.mkdir()
    write_png(images / "a.png", scene.image)
    write_png(trimaps / "a.png", scene.trimap)
    code = main(
        ["batch", str(images), str(trimaps), "-o", str(tmp_path / "out"), "--method", "ifm"]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    assert "1 done" in err
    assert "ifm:" not in err and "conjugate gradient" not in err and "building" not in err


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )


def test_library_prints_nothing_unless_logging_is_configured():
    solve = (
        "import logging, vecmatte\n"
        "s = vecmatte.make_scene((30, 40), seed=1)\n"
        "for method in ('ifm', 'cf', 'sm'):\n"
        "    vecmatte.estimate_alpha(s.image, s.trimap, method=method)\n"
        "print([type(h).__name__ for h in logging.getLogger('vecmatte').handlers],"
        " logging.getLogger().handlers)\n"
    )
    quiet = _run(solve)
    assert quiet.stderr == ""
    assert quiet.stdout == "['NullHandler'] []\n"
    # As the README says: a library user sees the stages with logging.basicConfig.
    shown = _run("import logging\nlogging.basicConfig(level=logging.INFO)\n" + solve)
    assert "INFO:vecmatte.alpha.ifm:ifm: colour-mixture neighbours of " in shown.stderr
    assert "INFO:vecmatte.alpha._pipeline:sm: estimating alpha of " in shown.stderr


def test_a_long_conjugate_gradient_reports_its_iteration_and_residual(caplog, monkeypatch):
    # A solve of minutes (rw or ifm with 'jacobi' on a large image) said nothing between
    # "conjugate gradient on N equations" and its result. It now logs every PROGRESS_SECONDS
    # (here 0: at every reading of the clock) and a last line when it stops.
    from vecmatte.alpha import solve_alpha
    from vecmatte.linalg import cg

    scene = make_scene((40, 50), seed=2)
    residuals = {}
    quiet = solve_alpha(scene.image, scene.trimap, method="rw")
    monkeypatch.setattr(cg, "PROGRESS_SECONDS", 0.0)
    caplog.set_level(logging.INFO, logger="vecmatte")
    result = solve_alpha(
        scene.image, scene.trimap, method="rw", callback=lambda i, r: residuals.update({i: r})
    )
    np.testing.assert_array_equal(result.alpha, quiet.alpha)
    lines = [r.getMessage() for r in caplog.records if r.name == "vecmatte.linalg.cg"]
    pattern = r"conjugate gradient: iteration (\d+) of at most (\d+), relative residual (\S+) "
    progress = [re.match(pattern, line) for line in lines[:-1]]
    assert len(progress) >= 2 and all(progress), lines
    iterations = [int(match.group(1)) for match in progress]
    assert iterations[0] == 1 and iterations == sorted(set(iterations))
    for match in progress:
        assert float(match.group(3)) == pytest.approx(residuals[int(match.group(1))], rel=1e-2)
    assert lines[-1] == (
        f"conjugate gradient: stopped after {result.iterations} iterations, relative residual "
        f"{result.residual:.3g}"
    )


def test_a_quick_conjugate_gradient_or_no_logging_reports_nothing(caplog, monkeypatch):
    from vecmatte.linalg import cg

    scene = make_scene((40, 50), seed=2)
    caplog.set_level(logging.INFO, logger="vecmatte")
    estimate_alpha(scene.image, scene.trimap, method="rw")
    assert not [r for r in caplog.records if r.name == "vecmatte.linalg.cg"]
    caplog.clear()
    caplog.set_level(logging.WARNING, logger="vecmatte")
    monkeypatch.setattr(cg, "PROGRESS_SECONDS", 0.0)
    estimate_alpha(scene.image, scene.trimap, method="rw")
    assert not caplog.records
