"""Lecture 2 (makemore bigram) end to end: reference, stubs, buggy variants, reproduction."""
from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest
import torch
from conftest import ASSIGNMENTS, REFERENCE, grade_path, mutant

from grader import data
from grader.config import load_course
from grader.oracle import reference

LECTURE = load_course().lecture("bigram")
CHECKS = [c.id for c in LECTURE.checks]
SLOW = {"bigram.pipeline", "bigram.gradient_descent"}


def test_reference_gets_full_marks():
    results = grade_path(REFERENCE, "bigram")
    assert set(results) == set(CHECKS)
    assert not {k: r.message for k, r in results.items() if not r.passed}
    assert sum(r.points for r in results.values()) == sum(c.points for c in LECTURE.checks)


def test_stub_submission_scores_zero_without_crash():
    results = grade_path(ASSIGNMENTS, "bigram")
    assert {r.status for r in results.values()} == {"not_implemented"}
    assert sum(r.points for r in results.values()) == 0


BUGS = {
    # stoi without the +1: '.' and 'a' share index 0 and 'z' falls off the end
    "off_by_one_vocabulary": (
        {"counts.py": [("stoi = {s: i + 1 for i, s", "stoi = {s: i for i, s")]},
        {"bigram.vocab", "bigram.e02_split"}),
    "forgetting_the_end_token": (
        {"counts.py": [("chs = ['.'] + list(w) + ['.']", "chs = ['.'] + list(w)")]},
        {"bigram.counts", "bigram.nll", "bigram.dataset", "bigram.e02_split"}),
    "smoothing_added_after_normalisation": (
        {"counts.py": [("    P = (N + k).float()\n    P /= P.sum(1, keepdim=True)\n",
                        "    P = N.float()\n    P /= P.sum(1, keepdim=True)\n    P += k\n")]},
        {"bigram.smoothing", "bigram.e02_split"}),
    # the lecture's famous one: (27, 27) / (27,) divides column j by row j's sum. Only the check
    # of P itself can see it: a bigram count matrix has equal row and column sums, so the NLL
    # of any list of whole words comes out exactly the same (samples do not)
    "keepdim_broadcasting": (
        {"counts.py": [("P /= P.sum(1, keepdim=True)", "P /= P.sum(1)")]},
        {"bigram.smoothing"}),
    "trigram_indexing_transposed": (
        {"exercises.py": [("N3.index_put_((ix[:, 0], ix[:, 1], ix[:, 2])",
                           "N3.index_put_((ix[:, 1], ix[:, 0], ix[:, 2])")]},
        {"bigram.e01_trigram", "bigram.e02_split"}),
    "sampling_from_the_wrong_row": (
        {"counts.py": [("p = P[ix]", "p = P[:, ix]")]}, {"bigram.sample"}),
    "indexing_columns_instead_of_rows": (
        {"neural.py": [("return W[xs]", "return W[:, xs].T")]}, {"bigram.e04_indexing"}),
    "cross_entropy_without_regulariser": (
        {"neural.py": [("    loss = F.cross_entropy(logits, ys)\n    if W is not None:",
                        "    loss = F.cross_entropy(logits, ys)\n    if False:")]},
        {"bigram.e05_cross_entropy", "bigram.gradient_descent"}),
    "gradients_never_reset": (
        {"neural.py": [("        W.grad = None\n", "")]}, {"bigram.gradient_descent"}),
    "split_ignores_the_seed": (
        {"exercises.py": [("random.Random(seed).shuffle(words)", "random.shuffle(words)")]},
        {"bigram.e02_split"}),
    # the docstring says "shuffle a copy" and leaves the global random state alone (issue #16)
    "split_shuffles_the_callers_list_in_place": (
        {"exercises.py": [("    words = list(words)\n    random.Random(seed).shuffle(words)",
                           "    random.Random(seed).shuffle(words)")]},
        {"bigram.e02_split"}),
    "split_reseeds_the_global_rng": (
        {"exercises.py": [("    random.Random(seed).shuffle(words)",
                           "    random.seed(seed)\n    random.shuffle(words)")]},
        {"bigram.e02_split"}),
    "smoothing_tuned_on_test": (
        {"exercises.py": [("best = strengths[dev_losses.index(min(dev_losses))]",
                           ("test_losses = [evaluate(train, test, k) for k in strengths]\n"
                           "    best = strengths[test_losses.index(min(test_losses))]"))]},
        {"bigram.e03_sweep"}),
}


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_buggy_variant_fails_the_right_check(tmp_path, bug):
    edits, must_fail = BUGS[bug]
    only = (set(CHECKS) - SLOW) | must_fail
    results = grade_path(mutant(tmp_path, "bigram", edits), "bigram", only=only)
    failed = {k for k, r in results.items() if not r.passed}
    assert failed == must_fail, {k: results[k].message for k in failed ^ must_fail}
    for k in must_fail:
        assert results[k].points == 0 and results[k].status in ("failed", "error")
    assert sum(r.points for r in results.values()) < sum(r.max_points for r in results.values())


def test_failure_names_the_bigram_and_the_tolerance(tmp_path):
    edits, _ = BUGS["keepdim_broadcasting"]
    r = grade_path(mutant(tmp_path, "bigram", edits), "bigram",
                   only={"bigram.smoothing"})["bigram.smoothing"]
    assert "rtol=1e-05, atol=1e-06" in r.message and "worst at P['" in r.message
    assert "keepdim" in r.message  # the hint


def test_gradient_descent_names_the_first_diverging_step(tmp_path):
    """Issue #17: steps in time order; gradients that accumulate make the update of step 1
    wrong, so the loss of step 2 is the first to diverge (steps 0 and 1 are still right)."""
    edits, _ = BUGS["gradients_never_reset"]
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
