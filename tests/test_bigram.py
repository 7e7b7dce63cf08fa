"""Lecture 2 (makemore bigram) beyond tests/test_lectures.py: how failures read, the lecture's
numbers, reproduction."""
from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest
import torch
from bugs.bigram import BUGS
from conftest import grade_path, mutant

from grader import data
from grader.oracle import reference


def test_failure_names_the_bigram_and_the_tolerance(tmp_path):
    edits = BUGS["keepdim_broadcasting"].edits
    r = grade_path(mutant(tmp_path, "bigram", edits), "bigram",
                   only={"bigram.smoothing"})["bigram.smoothing"]
    assert "rtol=1e-05, atol=1e-06" in r.message and "worst at P['" in r.message
    assert "keepdim" in r.message  # the hint


def test_gradient_descent_names_the_first_diverging_step(tmp_path):
    """Issue #17: steps in time order; gradients that accumulate make the update of step 1
    wrong, so the loss of step 2 is the first to diverge (steps 0 and 1 are still right)."""
    edits = BUGS["gradients_never_reset"].edits
    r = grade_path(mutant(tmp_path, "bigram", edits), "bigram",
                   only={"bigram.gradient_descent"})["bigram.gradient_descent"]
    assert r.message.startswith("gradient_descent: the loss first diverges at step 2: got "), \
        r.message
    assert "update of step 1" in r.message and "worst at step" in r.message


def test_reference_reproduces_the_lecture_numbers():
    """The lecture's loop (float32 running sum) on all of names.txt: 2.4541 and 2.4544."""
    counts = reference("bigram", "counts")
    words = data.read_words()
    stoi, itos = counts.build_vocab(words)
    N = counts.count_bigrams(words, stoi)
    assert int(N.sum()) == 228146
    assert round(counts.nll(words, counts.probabilities(N, 0), stoi), 4) == 2.4541
    assert round(counts.nll(words, counts.probabilities(N, 1), stoi), 4) == 2.4544
    samples = counts.sample(counts.probabilities(N, 1), itos, 2,
                            torch.Generator().manual_seed(2147483647))
    assert samples == ["cexze.", "momasurailezitynn."]   # the lecture's first two samples


def _args(tmp_path):
    return SimpleNamespace(out_dir=str(tmp_path), device="cpu", preset="quick", data_dir=None)


def test_reproduce_names_every_path_tried_when_the_data_is_missing(tmp_path, monkeypatch,
                                                                   capsys):
    from grader.reproduce import reproduce
    monkeypatch.setattr(data, "PACKAGED", tmp_path / "nowhere")
    monkeypatch.setenv("ZTH_DATA_DIR", str(tmp_path / "env"))
    assert reproduce("bigram", _args(tmp_path)) == 1
    err = capsys.readouterr().err
    assert "cannot find names.txt" in err
    assert str(tmp_path / "env" / "names.txt") in err
    assert str(tmp_path / "nowhere" / "names.txt") in err


@pytest.mark.slow
def test_reproduce_bigram_prints_the_headline_numbers_and_saves_the_plots(tmp_path, capsys):
    from grader.reproduce import reproduce
    assert reproduce("bigram", _args(tmp_path)) == 0
    out = " ".join(capsys.readouterr().out.split())   # rich wraps lines to the terminal
    assert "2.4541" in out and "2.4544" in out and "cexze." in out
    assert (tmp_path / "bigram_counts.png").stat().st_size > 10_000
    assert (tmp_path / "bigram_neural_loss.png").is_file()
    assert sys.modules["grader.lectures.bigram.reproduce"].STEPS["lecture"] == 300
