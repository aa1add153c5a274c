"""``--preconditioner NAME:OPTION=VALUE`` reads its values as ``--option`` does."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import vecmatte
from vecmatte.batch._record import RECORD_KEY
from vecmatte.cli import main


@pytest.mark.parametrize("value", ["false", "FALSE", "False", "true", "True"])
def test_a_preconditioner_option_given_true_or_false_in_any_case(tmp_path, scene_files, value):
    # Before: 'direct:single_precision=true' reached the preconditioner as the text 'true' and
    # was refused ("must be True or False, got 'true'") where True was taken (old code: exit 1).
    image, trimap = scene_files
    out = tmp_path / "a.png"
    argv = ["alpha", str(image), str(trimap), "-o", str(out), "-q"]
    assert main([*argv, "--preconditioner", f"direct:single_precision={value}"]) == 0
    flag = value.lower() == "true"
    expected = vecmatte.solve_alpha(
        vecmatte.load_image(image),
        vecmatte.load_trimap(trimap),
        preconditioner=("direct", {"single_precision": flag}),
    ).alpha
    with Image.open(out) as written:
        pixels = np.asarray(written)
        record = json.loads(written.info[RECORD_KEY])
    np.testing.assert_array_equal(pixels, np.round(expected * 255).astype(np.uint8))
    assert record["preconditioner"] == {"name": "direct", "options": {"single_precision": flag}}


def test_a_batch_reads_the_preconditioners_values_alike(tmp_path, scene_files, capsys):
    image, trimap = scene_files
    (tmp_path / "i").mkdir()
    (tmp_path / "t").mkdir()
    (tmp_path / "i" / "a.png").write_bytes(image.read_bytes())
    (tmp_path / "t" / "a.png").write_bytes(trimap.read_bytes())
    argv = ["batch", str(tmp_path / "i"), str(tmp_path / "t"), "-o", str(tmp_path / "o"), "-q"]
    assert main([*argv, "--preconditioner", "direct:single_precision=false"]) == 0
    with Image.open(tmp_path / "o" / "a_alpha.png") as written:
        record = json.loads(written.info[RECORD_KEY])
    assert record["preconditioner"]["options"] == {"single_precision": False}
    # The same options typed as Python's literal: resume finds the outputs made already.
    argv.remove("-q")
    assert main([*argv, "--resume", "--preconditioner", "direct:single_precision=False"]) == 0
    assert "0 done, 1 skipped (outputs already there), 0 failed" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("ichol:sweeps=0", "--preconditioner ichol:sweeps=0: sweeps must be a whole number"),
        ("ichol:sweeps=true", "--preconditioner ichol:sweeps=true: "),  # a boolean, refused
        ("ichol:sweeps", "options are written 'name:option=value,option=value'"),
    ],
)
def test_a_bad_value_is_named_as_typed(tmp_path, scene_files, capsys, value, message):
    image, trimap = scene_files
    argv = ["alpha", str(image), str(trimap), "-o", str(tmp_path / "a.png"), "-q"]
    assert main([*argv, "--preconditioner", value]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "a.png").exists()
