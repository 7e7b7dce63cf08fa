"""Lecture 6 end to end: reference, stubs, buggy variants on the right check, the torch.nn
equivalence under both BatchNorm variance conventions."""
from __future__ import annotations

import pytest
from conftest import ASSIGNMENTS, REFERENCE, grade_path, mutant

from grader.config import load_course
from grader.lectures.wavenet.checks import n_params

LECTURE = load_course().lecture("wavenet")
CHECKS = {c.id for c in LECTURE.checks}
QUICK = CHECKS - {"wavenet.train"}


def test_reference_gets_full_marks():
    results = grade_path(REFERENCE, "wavenet")
    assert set(results) == CHECKS
    assert not {k: r.message for k, r in results.items() if not r.passed}
    assert sum(r.points for r in results.values()) == sum(c.points for c in LECTURE.checks)
    assert results["wavenet.shapes"].message == "76,579 parameters"


def test_parameter_count_formula_matches_the_lecture():
    assert n_params(LECTURE.params["lecture"]) == 76_579
    # the lecture's 22K-parameter hierarchical variant: n_embd 10, n_hidden 68
    assert n_params({"vocab_size": 27, "block_size": 8, "n_embd": 10, "n_hidden": 68}) == 22_397


def test_stub_submission_scores_zero_without_crash():
    results = grade_path(ASSIGNMENTS, "wavenet")
    assert {r.status for r in results.values()} == {"not_implemented"}
    assert sum(r.points for r in results.values()) == 0


BUGS = {
    "flatten_drops_the_squeeze": (
        {"nn.py": [("        if x.shape[1] == 1:\n            x = x.squeeze(1)\n", "")]},
        {"wavenet.flatten", "wavenet.shapes"},
        {"wavenet.embedding", "wavenet.batchnorm3d", "wavenet.sequential"}),
    # the lecture's bug: statistics over dim 0 only, one set per position
    "batchnorm_mean_over_dim_0_only": (
        {"nn.py": [("                dim = (0, 1)\n", "                dim = 0\n")]},
        {"wavenet.batchnorm3d", "wavenet.torch_equiv", "wavenet.train"},
        {"wavenet.embedding", "wavenet.flatten", "wavenet.shapes", "wavenet.sequential"}),
    "sequential_parameters_reversed": (
        {"nn.py": [("for layer in self.layers for p in layer.parameters()]",
                    "for layer in self.layers[::-1] for p in layer.parameters()]")]},
        {"wavenet.sequential", "wavenet.torch_equiv"}, {"wavenet.flatten", "wavenet.shapes"}),
    # x.squeeze() drops every singleton dim: a batch of one loses its batch dimension
    "flatten_squeezes_every_singleton": (
        {"nn.py": [("        if x.shape[1] == 1:\n            x = x.squeeze(1)\n",
                    "        x = x.squeeze()\n")]},
        {"wavenet.flatten"}, {"wavenet.embedding", "wavenet.batchnorm3d"}),
    # running buffers updated with grad enabled: each step's graph stays alive through them
    "running_stats_updated_with_grad": (
        {"nn.py": [("            with torch.no_grad():\n                self.running_mean",
                    "            if True:\n                self.running_mean")]},
        {"wavenet.batchnorm3d"}, {"wavenet.torch_equiv", "wavenet.eval_mode"}),
    # biased variance throughout: running_var must track the unbiased one (the contract)
    "biased_running_var": (
        {"nn.py": [("            xvar = x.var(dim, keepdim=True)",
                    "            xvar = x.var(dim, keepdim=True, unbiased=False)")]},
        {"wavenet.batchnorm3d", "wavenet.eval_mode"}, {"wavenet.torch_equiv"}),
    # found by `zth mutate wavenet`: the last layer scaled up, not down (confidently wrong at init)
    "last_layer_scaled_up": (
        {"model.py": [("model.layers[-1].weight *= 0.1", "model.layers[-1].weight /= 0.1")]},
        {"wavenet.shapes"}, {"wavenet.torch_equiv", "wavenet.sequential"}),
}


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_buggy_variant_fails_the_right_check(tmp_path, bug):
    edits, must_fail, must_pass = BUGS[bug]
    results = grade_path(mutant(tmp_path, "wavenet", edits), "wavenet", only=must_fail | must_pass)
    for k in must_fail:
        assert results[k].status in ("failed", "error") and results[k].points == 0, \
            (k, results[k].message)
    for k in must_pass:
        assert results[k].passed, (k, results[k].message)


def test_eval_mode_is_checked_on_the_batchnorm_layer_itself(tmp_path):
    # a BatchNorm1d that ignores `training` (always batch statistics) fails eval mode
    sub = mutant(tmp_path, "wavenet",
                 {"nn.py": [("        if self.training:\n            ### BEGIN",
                             "        if True:\n            ### BEGIN")]})
    results = grade_path(sub, "wavenet", only={"wavenet.eval_mode", "wavenet.torch_equiv"})
    assert results["wavenet.torch_equiv"].passed
    r = results["wavenet.eval_mode"]
    assert r.status == "failed" and "eval" in r.message


def test_torch_variance_convention_is_accepted_and_named(tmp_path):
    sub = mutant(tmp_path, "wavenet", {"nn.py": [(
        "        xhat = (x - xmean) / torch.sqrt(xvar + self.eps)",
        ("        xhat = (x - xmean) / torch.sqrt((x.var(dim, keepdim=True, unbiased=False) "
        "if self.training else xvar) + self.eps)"))]})
    results = grade_path(sub, "wavenet", only=QUICK)
    assert all(r.passed for r in results.values()), {k: r.message for k, r in results.items()
                                                     if not r.passed}
    for k in ("wavenet.batchnorm3d", "wavenet.torch_equiv"):
        assert "torch.nn.BatchNorm1d" in results[k].message


def test_biased_running_var_is_named_with_the_contract(tmp_path):
    sub = mutant(tmp_path, "wavenet", {"nn.py": [(
        "            xvar = x.var(dim, keepdim=True)",
        "            xvar = x.var(dim, keepdim=True, unbiased=False)")]})
    r = grade_path(sub, "wavenet", only={"wavenet.batchnorm3d"})["wavenet.batchnorm3d"]
    assert "running_var" in r.message and "unbiased" in r.message and "tolerance" in r.message


NESTED = ("        layers += [FlattenConsecutive(2), Linear(width * 2, n_hidden, bias=False),\n"
          "                   BatchNorm1d(n_hidden), Tanh()]\n")


def test_nested_sequentials_get_full_marks(tmp_path):
    # one Sequential per level inside the model's Sequential: the grader walks into them
    sub = mutant(tmp_path, "wavenet", {"model.py": [(NESTED, NESTED.replace(
        "[FlattenConsecutive(2)", "[Sequential([FlattenConsecutive(2)").replace(
        "Tanh()]\n", "Tanh()])]\n"))]})
    results = grade_path(sub, "wavenet")
    assert not {k: r.message for k, r in results.items() if not r.passed}
