"""Out-of-range preconditioner options are refused early, with one line naming the option."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import files_in

from vecmatte.cli import main
from vecmatte.preconditioners import resolve_preconditioner


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ("ichol:sweeps=0", "sweeps must be a whole number from 1 to 1000"),
        ("ichol:sweeps=-2", "sweeps must be a whole number from 1 to 1000"),
        ("ichol:sweeps=1.5", "sweeps must be a whole number from 1 to 1000"),
        ("ichol:sweeps=True", "sweeps must be a whole number from 1 to 1000"),
        ("ichol:sweeps=[1]", "sweeps must be a whole number from 1 to 1000"),
        ("ichol:shift=-0.1", "shift must be a number from 0 to 10"),
        ("ichol:shift=nan", "shift must be a number from 0 to 10"),
        ("vcycle:num_pre_iter=-1", "num_pre_iter must be a whole number >= 0"),
        ("vcycle:num_post_iter=0.5", "num_post_iter must be a whole number >= 0"),
        ("vcycle:num_pre_iter=0,num_post_iter=0", "may not both be 0"),
        ("vcycle:omega=0", "omega must lie in [2.2e-16, 1]"),
        ("vcycle:omega=2", "omega must lie in [2.2e-16, 1]"),
        ("vcycle:omega=inf", "omega must lie in [2.2e-16, 1]"),
        ("vcycle:direct_solve_size=0", "direct_solve_size must be a whole number of at least 1"),
        # A million sweeps in every application, or a coarsest level that is the whole
        # system (a float64 SuperLU factor outside the memory model), were taken.
        ("vcycle:num_pre_iter=101", "num_pre_iter must be a whole number >= 0 and at most 100"),
        ("vcycle:num_post_iter=1000000", "num_post_iter must be a whole number >= 0 and at m"),
        ("vcycle:direct_solve_size=16385", "direct_solve_size must be a whole number of at leas"),
    ],
)
def test_out_of_range_options_are_refused_naming_the_option(request_, message):
    with pytest.raises(
        ValueError, match=f"^preconditioner '[a-z]+': .*{re.escape(message)}"
    ) as info:
        resolve_preconditioner(request_)
    assert "\n" not in str(info.value)
    name = request_.partition(":")[2].split(",")[0].partition("=")[0]
    assert name in str(info.value)


@pytest.mark.parametrize(
    "request_",
    [
        "ichol:sweeps=1",
        "ichol:sweeps=4.0,shift=0",
        "vcycle:num_pre_iter=0",
        "vcycle:omega=1.0,direct_solve_size=1",
        "vcycle:num_pre_iter=100,num_post_iter=100,direct_solve_size=16384",
        "jacobi",
    ],
)
def test_options_in_range_pass(request_):
    resolve_preconditioner(request_)


def test_jacobi_takes_no_option():
    with pytest.raises(TypeError, match="'jacobi' has no option 'sweeps'; its options are none"):
        resolve_preconditioner("jacobi:sweeps=1")


def test_build_refuses_too(scene):
    # A direct call of build() (not through resolve_preconditioner) checks the same ranges.
    from types import SimpleNamespace

    from vecmatte.alpha import solve_alpha
    from vecmatte.preconditioners import ichol, vcycle

    with pytest.raises(ValueError, match=r"sweeps must be a whole number from 1 to 1000 .*got 0"):
        solve_alpha(scene.image, scene.trimap, preconditioner=("ichol", {"sweeps": 0}))
    with pytest.raises(ValueError, match="sweeps must be"):
        ichol.build(SimpleNamespace(stencil=object()), sweeps=0)
    with pytest.raises(ValueError, match="omega must lie in"):
        vcycle.build(SimpleNamespace(), omega=-1.0)


def test_an_ichol_sweep_changes_the_factor_from_its_start():
    # Why 0 sweeps is refused: the factor is then only the starting guess, not IC(0).
    from vecmatte.preconditioners.ichol import ichol_factor

    class Stencil:
        offsets = np.array([(-1, 0), (0, -1), (0, 0), (0, 1), (1, 0)])
        neighbors = np.array([[-1, 0, 1], [-1, 0, 1], [0, 1, 2], [1, 2, -1], [-1, -1, -1]])
        values = np.array([[0, -1, -1.0], [0, -1, -1.0], [4, 4, 4.0], [-1, -1, 0], [0, 0, 0.0]])

    start, _ = ichol_factor(Stencil, 0, 0.0)
    swept, _ = ichol_factor(Stencil, 1, 0.0)
    assert not np.allclose(start, swept)


@pytest.mark.parametrize(
    ("command", "option"),
    [("alpha", "ichol:sweeps=0"), ("batch", "ichol:sweeps=-1"), ("alpha", "vcycle:omega=3")],
)
def test_command_line_refuses_before_reading_or_writing(tmp_path, capsys, command, option):
    out = tmp_path / "out"
    if command == "alpha":
        argv = ["alpha", "missing.png", "missing_trimap.png", "-o", str(out / "a.png")]
    else:
        (tmp_path / "images").mkdir()
        (tmp_path / "trimaps").mkdir()
        argv = ["batch", str(tmp_path / "images"), str(tmp_path / "trimaps"), "-o", str(out)]
    # A usage error: exit 2 in every command (tests/test_cli_exit_codes.py), the message and
    # a pointer to --help.
    assert main([*argv, "--preconditioner", option]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) <= 2, lines
    assert lines[0].startswith(f"vecmatte: error: --preconditioner {option}: "), lines
    assert option.partition(":")[2].partition("=")[0] in lines[0]
    assert not out.exists()
    assert files_in(tmp_path) <= {"images", "trimaps"}


@pytest.mark.parametrize(
    "request_",
    [
        ("ichol", {"sweeps": 10**400}),
        ("ichol", {"shift": 10**400}),
        ("ichol", {"sweeps": 10**5000}),
        ("vcycle", {"num_pre_iter": 10**400}),
        ("vcycle", {"num_post_iter": -(10**5000)}),
        ("vcycle", {"direct_solve_size": 10**400}),
        ("vcycle", {"omega": 10**5000}),
        "ichol:sweeps=1" + "0" * 400,
        "vcycle:direct_solve_size=1" + "0" * 400,
    ],
)
def test_a_count_of_hundreds_of_digits_is_refused_in_one_short_line(request_):
    """float() of 10**400 raised OverflowError ('int too large to convert to float'), NumPy's
    isfinite a TypeError, and repr of 10**5000 Python's 'Exceeds the limit (4300 digits)'."""
    with pytest.raises(ValueError, match=r"^preconditioner '[a-z]+': [a-z_]+ must") as info:
        resolve_preconditioner(request_)
    assert "\n" not in str(info.value) and len(str(info.value)) < 240
