"""`mnist-explorer suspects`: the JSON's shape and order, the table, and bad input as one line with exit 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core import cli, datasets

TINY = ["--train-limit", "1500", "--epochs", "3", "--seed", "1"]


def test_json_lists_the_top_suspects_in_rank_order(capsys):
    assert cli.main(["suspects", *TINY, "--top", "7", "--json"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert set(result) == {"indices", "labels", "suggested", "scores"}
    assert all(len(result[key]) == 7 for key in result)
    indices = np.array(result["indices"])
    assert len(set(indices)) == 7 and indices.min() >= 0 and indices.max() < 1500
    train_labels = datasets.load("mnist").train_labels
    assert result["labels"] == [int(train_labels[i]) for i in indices]  # 0-based, in the IDX files' order
    assert all(0 <= s <= 9 and s != g for s, g in zip(result["suggested"], result["labels"], strict=True))
    assert result["scores"] == sorted(result["scores"])
    assert "epoch 3/3" in err  # the progress went to stderr


def test_the_table_names_the_images_and_the_score(capsys):
    assert cli.main(["suspects", *TINY, "--top", "3"]) == 0
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert "3 training images most likely mislabelled" in lines[0]
    assert lines[2].split() == ["rank", "index", "given", "suggested", "score"]
    assert [line.split()[0] for line in lines[3:]] == ["1", "2", "3"]


@pytest.mark.parametrize(
    "argv, words",
    [
        (["suspects", "--top", "0"], "--top"),
        (["suspects", "--top", "many"], "--top"),
        (["suspects", "--dataset", "/no/such/folder"], "/no/such/folder"),
        (["suspects", "--recipe", "nonsense"], "unknown recipe"),
        (["suspects", "--epochs", "1"], "--epochs"),
        (["suspects", "--method", "vibes"], "--method"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, words):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1
