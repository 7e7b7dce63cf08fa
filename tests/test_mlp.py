"""Lecture 3 (makemore MLP) end to end: reference, stubs, buggy variants, reproduction."""
from __future__ import annotations

import math
import re
from types import SimpleNamespace

import pytest
from conftest import ASSIGNMENTS, REFERENCE, grade_path, mutant

from grader import data
from grader.config import load_course
from grader.oracle import reference

LECTURE = load_course().lecture("mlp")
CHECKS = [c.id for c in LECTURE.checks]
SLOW = {"mlp.train", "mlp.pipeline"}


def test_reference_gets_full_marks():
    results = grade_path(REFERENCE, "mlp")
    assert set(results) == set(CHECKS)
    assert not {k: r.message for k, r in results.items() if not r.passed}
    assert sum(r.points for r in results.values()) == sum(c.points for c in LECTURE.checks)
    bound = LECTURE.checks[CHECKS.index("mlp.train")].params["max_dev_loss"]
    assert f"(bound {bound})" in results["mlp.train"].message


def test_stub_submission_scores_zero_without_crash():
    results = grade_path(ASSIGNMENTS, "mlp")
    assert {r.status for r in results.values()} == {"not_implemented"}
    assert sum(r.points for r in results.values()) == 0


BUGS = {
    # examples only once the context is full of real characters: no '...' padding
    "dataset_without_padding_context": (
        {"data.py": [("            X.append(context)\n            Y.append(ix)\n",
                      ("            if 0 not in context:\n                X.append(context)\n"
                      "                Y.append(ix)\n"))]},
        {"mlp.dataset"}),
    "dataset_without_end_token": (
        {"data.py": [("for ch in w + '.':", "for ch in w:")]}, {"mlp.dataset"}),
    "split_cut_at_90_percent": (
        {"data.py": [("n1, n2 = int(0.8 * len(words))", "n1, n2 = int(0.9 * len(words))")]},
        {"mlp.split"}),
    "init_draws_W1_before_C": (
        {"model.py": [(("    C = torch.randn((vocab_size, n_embd), generator=g)\n"
                       "    W1 = torch.randn((block_size * n_embd, n_hidden), generator=g)\n"),
                       ("    W1 = torch.randn((block_size * n_embd, n_hidden), generator=g)\n"
                       "    C = torch.randn((vocab_size, n_embd), generator=g)\n"))]},
        {"mlp.init"}),
    "hidden_layer_without_tanh": (
        {"model.py": [("return torch.tanh(emb.view(emb.shape[0], -1) @ W1 + b1)",
                       "return emb.view(emb.shape[0], -1) @ W1 + b1")]},
        {"mlp.forward", "mlp.grads"}),
    # the manual softmax + NLL: exp overflows for large logits
    "manual_loss_overflows": (
        {"model.py": [("    return F.cross_entropy(logits, Y)\n",
                       ("    counts = logits.exp()\n"
                       "    prob = counts / counts.sum(1, keepdim=True)\n"
                       "    return -prob[torch.arange(len(Y)), Y].log().mean()\n"))]},
        {"mlp.loss"}),
    "gradients_never_reset": (
        {"train.py": [("        for p in parameters:\n            p.grad = None\n", "")]},
        {"mlp.train"}),
    # issue #16: the docstring says "shuffle a copy" and leaves the global random state alone
    "split_shuffles_the_callers_list_in_place": (
        {"data.py": [("    words = list(words)\n    random.Random(seed).shuffle(words)",
                      "    random.Random(seed).shuffle(words)")]},
        {"mlp.split"}),
    "split_reseeds_the_global_rng": (
        {"data.py": [("    random.Random(seed).shuffle(words)",
                      "    random.seed(seed)\n    random.shuffle(words)")]},
        {"mlp.split"}),
    "split_reseeds_torch": (
        {"data.py": [("    random.Random(seed).shuffle(words)",
                      "    torch.manual_seed(seed)\n    random.Random(seed).shuffle(words)")]},
        {"mlp.split"}),
    # issues #15/#16: the learning-rate schedule is verified, every step of it
    "lr_never_decays": (
        {"train.py": [("            p.data += -lr(i) * p.grad\n",
                       "            p.data += -lr(0) * p.grad\n")]},
        {"mlp.train"}),
    "lr_decays_at_its_own_step": (
        {"train.py": [("            p.data += -lr(i) * p.grad\n",
                       ("            p.data += -(lr(0) if i < steps // 2 else lr(0) / 10)"
                        " * p.grad\n"))]},
        {"mlp.train"}),
    "lr_of_the_next_step": (
        {"train.py": [("            p.data += -lr(i) * p.grad\n",
                       "            p.data += -lr(i + 1) * p.grad\n")]},
        {"mlp.train"}),
    "batches_without_the_generator": (
        {"train.py": [("        ix = torch.randint(0, X.shape[0], (batch_size,), "
                       "generator=generator)\n",
                       "        ix = torch.randint(0, X.shape[0], (batch_size,))\n")]},
        {"mlp.train"}),
    "sample_never_slides_the_context": (
        {"model.py": [("            context = context[1:] + [ix]\n", "")]}, {"mlp.sample"}),
    "init_not_calibrated": (
        {"model.py": [("        W2 = W2 * 0.01\n        b2 = b2 * 0\n", "        pass\n")]},
        {"mlp.e02_init"}),
}


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_buggy_variant_fails_the_right_check(tmp_path, bug):
    edits, must_fail = BUGS[bug]
    only = (set(CHECKS) - SLOW) | must_fail
    results = grade_path(mutant(tmp_path, "mlp", edits), "mlp", only=only)
    failed = {k for k, r in results.items() if not r.passed}
    assert failed == must_fail, {k: results[k].message for k in failed ^ must_fail}
    for k in must_fail:
        assert results[k].points == 0 and results[k].status in ("failed", "error")


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


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(5))
def test_training_check_passes_the_reference_for_any_seed(seed):
    r = grade_path(REFERENCE, "mlp", seed=seed, only={"mlp.train"})["mlp.train"]
    assert r.passed, r.message
