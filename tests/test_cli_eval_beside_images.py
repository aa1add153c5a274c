"""``vecmatte eval`` of a folder where a batch wrote its mattes beside the photographs."""

from __future__ import annotations

import json
import shutil

from conftest import scene_folders

from vecmatte.cli import main
from vecmatte.io import save_image


def _scores(capsys, *folders) -> dict:
    assert main(["eval", *map(str, folders), "--json"]) == 0
    return {row["name"]: row["sad"] for row in json.loads(capsys.readouterr().out)["images"]}


def test_the_mattes_beside_their_photographs_are_evaluated(tmp_path, capsys):
    # `batch IMAGES TRIMAPS -o IMAGES` is documented; evaluating IMAGES then took each
    # photograph b.png for the prediction: "predicted alpha is in colour" (old code: exit 1).
    images, trimaps = scene_folders(tmp_path, ["a", "b"], write=save_image)
    truth = tmp_path / "truth"
    shutil.copytree(trimaps, truth)  # any gray images of the same size
    assert main(["batch", str(images), str(trimaps), "-o", str(images), "-q"]) == 0
    beside = _scores(capsys, images, truth, trimaps)
    alone = tmp_path / "alone"
    alone.mkdir()
    for name in ("a_alpha.png", "b_alpha.png"):
        shutil.copy(images / name, alone / name)
    assert beside == _scores(capsys, alone, truth, trimaps)
    assert set(beside) == {"a_alpha.png", "b_alpha.png"}


def test_a_prediction_of_its_own_name_stays_when_no_batch_made_the_matte_from_it(tmp_path, capsys):
    images, trimaps = scene_folders(tmp_path, ["a"], write=save_image)
    assert main(["batch", str(images), str(trimaps), "-o", str(tmp_path / "o"), "-q"]) == 0
    predictions = tmp_path / "pred"
    predictions.mkdir()
    shutil.copy(trimaps / "a.png", predictions / "a.png")  # the user's own, not the photograph
    shutil.copy(tmp_path / "o" / "a_alpha.png", predictions / "a_alpha.png")  # made from another
    assert set(_scores(capsys, predictions, trimaps, trimaps)) == {"a.png"}
