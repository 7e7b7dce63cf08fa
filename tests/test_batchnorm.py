"""Lecture 4 end to end: reference, stubs, buggy variants on the right check, both BatchNorm
variance conventions."""
from __future__ import annotations

import pytest
from conftest import ASSIGNMENTS, REFERENCE, grade_path, mutant

from grader.config import load_course

CHECKS = {c.id for c in load_course().lecture("batchnorm").checks}
UPDATE = ("                self.running_mean = (1 - self.momentum) * self.running_mean + "
          "self.momentum * xmean\n"
          "                self.running_var = (1 - self.momentum) * self.running_var + "
          "self.momentum * xvar\n")


def test_reference_gets_full_marks(course):
    results = grade_path(REFERENCE, "batchnorm")
    assert set(results) == CHECKS
    assert not {k: r.message for k, r in results.items() if not r.passed}
    assert sum(r.points for r in results.values()) == sum(
        c.points for c in course.lecture("batchnorm").checks)
    assert "unbiased" in results["batchnorm.bn_train"].message  # the convention it found


def test_stub_submission_scores_zero_without_crash():
    results = grade_path(ASSIGNMENTS, "batchnorm")
    assert set(results) == CHECKS
    assert {r.status for r in results.values()} == {"not_implemented"}
    assert sum(r.points for r in results.values()) == 0


BUGS = {
    # running = momentum * running + (1 - momentum) * batch
    "momentum_wrong_way_round": (
        {"nn.py": [(UPDATE, UPDATE.replace("(1 - self.momentum) * self.running_mean + "
                                           "self.momentum * xmean",
                                           "self.momentum * self.running_mean + "
                                           "(1 - self.momentum) * xmean")
                    .replace("(1 - self.momentum) * self.running_var + self.momentum * xvar",
                             "self.momentum * self.running_var + (1 - self.momentum) * xvar"))]},
        {"batchnorm.bn_running", "batchnorm.bn_momentum"},
        {"batchnorm.bn_train", "batchnorm.linear"}),
    # the running statistics are updated with the batch's statistics in eval mode too
    "running_stats_updated_in_eval_mode": (
        {"nn.py": [("        if self.training:\n            with torch.no_grad():\n",
                    ("        if True:\n            xmean, xvar = x.mean(0, keepdim=True), "
                    "x.var(0, keepdim=True)\n            with torch.no_grad():\n"))]},
        {"batchnorm.bn_eval"},
        {"batchnorm.bn_train", "batchnorm.bn_running"}),
    # running statistics updated with grad enabled: each step's graph stays alive through them
    "running_stats_updated_with_grad": (
        {"nn.py": [("            with torch.no_grad():\n                self.running_mean",
                    "            if True:\n                self.running_mean")]},
        {"batchnorm.bn_running", "batchnorm.bn_momentum"},
        {"batchnorm.bn_train", "batchnorm.bn_eval", "batchnorm.bn_backward"}),
    "no_tanh_gain": ({"model.py": [("layer.weight *= 5 / 3", "layer.weight *= 1.0")]},
                     {"batchnorm.init_stats"}, {"batchnorm.init_loss", "batchnorm.linear"}),
    # ReLU's Kaiming gain sqrt(2) instead of tanh's 5/3: the pre-activation stds stay in range
    "relu_gain_instead_of_tanh": ({"model.py": [("layer.weight *= 5 / 3",
                                                 "layer.weight *= 2 ** 0.5")]},
                                  {"batchnorm.init_stats"}, {"batchnorm.init_loss"}),
    "no_fan_in_scaling": ({"nn.py": [("/ fan_in**0.5", "")]},
                          {"batchnorm.init_stats", "batchnorm.linear"}, {"batchnorm.bn_train"}),
    "last_layer_not_scaled_down": (
        {"model.py": [("            layers[-1].weight *= 0.1\n", "            pass\n")]},
        {"batchnorm.init_loss"}, {"batchnorm.init_stats"}),
    "fold_forgets_beta": ({"exercises.py": [("* scale + bn.beta)", "* scale)")]},
                          {"batchnorm.fold"}, {"batchnorm.bn_eval"}),
    # gamma and beta used detached: the forward is right, no gradient ever reaches them
    "gamma_beta_detached": (
        {"nn.py": [("        self.out = self.gamma * xhat + self.beta\n",
                    "        self.out = self.gamma.detach() * xhat + self.beta.detach()\n")]},
        {"batchnorm.bn_backward"}, {"batchnorm.bn_train", "batchnorm.bn_running"}),
    # the normalisation's statistics detached: a wrong x.grad, gamma/beta still right
    "batch_stats_detached": (
        {"nn.py": [("        xhat = (x - xmean) / torch.sqrt(xvar + self.eps)",
                    "        xhat = (x - xmean.detach()) / torch.sqrt(xvar.detach() + self.eps)")]},
        {"batchnorm.bn_backward"}, {"batchnorm.bn_train", "batchnorm.bn_eval"}),
    "variance_instead_of_std_in_stats": (
        {"diagnostics.py": [('"mean": t.mean().item(), "std": t.std().item(),\n',
                             '"mean": t.mean().item(), "std": t.var().item(),\n')]},
        {"batchnorm.activation_stats"}, {"batchnorm.grad_stats"}),
}


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_buggy_variant_fails_the_right_check(tmp_path, bug):
    edits, must_fail, must_pass = BUGS[bug]
    results = grade_path(mutant(tmp_path, "batchnorm", edits), "batchnorm",
                         only=must_fail | must_pass)
    for k in must_fail:
        assert results[k].status == "failed" and results[k].points == 0, (k, results[k].message)
    for k in must_pass:
        assert results[k].passed, (k, results[k].message)


def test_torch_variance_convention_is_accepted_and_named(tmp_path):
    # biased variance in the normalisation, unbiased in running_var: torch.nn.BatchNorm1d
    sub = mutant(tmp_path, "batchnorm", {"nn.py": [(
        "xhat = (x - xmean) / torch.sqrt(xvar + self.eps)",
        ("xhat = (x - xmean) / torch.sqrt((x.var(0, keepdim=True, unbiased=False) "
        "if self.training else xvar) + self.eps)"))]})
    results = grade_path(sub, "batchnorm", only={"batchnorm.bn_train", "batchnorm.bn_running",
                                                 "batchnorm.bn_eval", "batchnorm.bn_momentum",
                                                 "batchnorm.bn_backward"})
    assert all(r.passed for r in results.values()), {k: r.message for k, r in results.items()}
    assert "torch.nn.BatchNorm1d" in results["batchnorm.bn_train"].message
    assert "torch.nn.BatchNorm1d" in results["batchnorm.bn_backward"].message


def test_biased_running_var_fails_both_conventions(tmp_path):
    sub = mutant(tmp_path, "batchnorm", {"nn.py": [(
        "xvar = x.var(0, keepdim=True)", "xvar = x.var(0, keepdim=True, unbiased=False)")]})
    results = grade_path(sub, "batchnorm", only={"batchnorm.bn_train", "batchnorm.bn_running"})
    assert results["batchnorm.bn_train"].passed   # torch's normalisation ...
    r = results["batchnorm.bn_running"]           # ... but running_var must be unbiased
    assert r.status == "failed" and "running_var" in r.message and "tolerance" in r.message
