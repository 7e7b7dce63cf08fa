"""Lecture 3 (makemore MLP) beyond tests/test_lectures.py: how the training check reports, the
lecture's data, reproduction."""
from __future__ import annotations

import math
import re
from types import SimpleNamespace

import pytest
from conftest import grade_path, mutant

from grader import data
from grader.oracle import reference


def test_train_failure_names_the_first_diverging_step_and_draws_the_curve(tmp_path):
    """Issue #17: a loop that reads the learning rate once per call diverges right after the
    drop; the message names that step first, and the loss-curve SVG marks it (same seed, same
    bytes)."""
    edits = {"train.py": [("    lossi = []\n", "    lossi = []\n    lr_now = lr(0)\n"),
                          ("            p.data += -lr(i) * p.grad\n",
                           "            p.data += -lr_now * p.grad\n")]}
    sub = mutant(tmp_path, "mlp", edits)
    runs = [grade_path(sub, "mlp", seed=seed, only={"mlp.train"})["mlp.train"]
            for seed in (5, 5)]
    for r in runs:
        assert r.status == "failed" and r.points == 0
        drop = int(re.search(r"from step (\d+) on", r.message).group(1))
        assert r.message.startswith("train: the run diverges from the specified one (rtol=")
        assert f"first at step {drop + 1}: minibatch loss" in r.message, r.message
        assert "the schedule is not followed" in r.message
        (fig,) = r.figures
        assert fig["name"] == "loss" and fig["svg"].lstrip().startswith("<?xml")
        assert f"first divergence at step {drop + 1}" in fig["svg"]
        assert "#d62728" in fig["svg"] and "Date" not in fig["svg"]
    assert runs[0].figures[0]["svg"] == runs[1].figures[0]["svg"]
    assert runs[0].message == runs[1].message


def test_reference_data_matches_the_lecture():
    d = reference("mlp", "data")
    words = data.read_words()
    assert [len(d.build_dataset(p)[1]) for p in d.split_words(words, 42)] == [182625, 22655,
                                                                              22866]
    X, Y = d.build_dataset(words[:1])          # "emma": ... → e, ..e → m, .em → m, ...
    assert X.tolist() == [[0, 0, 0], [0, 0, 5], [0, 5, 13], [5, 13, 13], [13, 13, 1]]
    assert Y.tolist() == [5, 13, 13, 1, 0]
    assert round(reference("mlp", "model").uniform_loss(), 4) == round(math.log(27), 4) == 3.2958


def _args(tmp_path):
    return SimpleNamespace(out_dir=str(tmp_path), device="cpu", preset="quick", data_dir=None)


def test_reproduce_names_every_path_tried_when_the_data_is_missing(tmp_path, monkeypatch,
                                                                   capsys):
    from grader.reproduce import reproduce
    monkeypatch.setattr(data, "PACKAGED", tmp_path / "nowhere")
    monkeypatch.setenv("ZTH_DATA_DIR", str(tmp_path / "env"))
    assert reproduce("mlp", _args(tmp_path)) == 1
    err = capsys.readouterr().err
    assert str(tmp_path / "env" / "names.txt") in err
    assert str(tmp_path / "nowhere" / "names.txt") in err


@pytest.mark.slow
def test_reproduce_mlp_quick_trains_and_saves_the_loss_curve(tmp_path, capsys):
    from grader.reproduce import reproduce
    assert reproduce("mlp", _args(tmp_path)) == 0
    out = " ".join(capsys.readouterr().out.split())   # rich wraps lines to the terminal
    assert "182,625 / 22,655 / 22,866" in out and "2.1701" in out
    assert (tmp_path / "mlp_loss.png").stat().st_size > 10_000
