"""Lecture 5 beyond tests/test_lectures.py: one check per gradient, the first wrong gradient in
chain order, zeros that must fail, and the policy that the manual backward pass may not use
autograd."""
from __future__ import annotations

import pytest
from conftest import grade_path, mutant

from grader.config import load_course
from grader.lectures.backprop.checks import GRADIENTS, STAGE_OF

CHECKS = {c.id for c in load_course().lecture("backprop").checks}


def test_every_gradient_of_the_lecture_has_its_own_check():
    assert len(GRADIENTS) == 26
    assert {f"backprop.d{g}" for g in GRADIENTS} <= CHECKS


def _stage_checks(stage: str) -> set[str]:
    return {f"backprop.d{g}" for g in GRADIENTS if STAGE_OF[g] == stage}


AUTOGRAD_STEP = '''    ### BEGIN SOLUTION
    from .model import forward
    for t in p.values():
        t.requires_grad = True
    loss = forward(p, Xb, Yb)["loss"]
    loss.backward()
    with torch.no_grad():
        for t in p.values():
            t -= lr * t.grad
            t.grad = None
            t.requires_grad = False
    return loss.item()
'''

AUTOGRAD_STAGE = '''    ### BEGIN SOLUTION
    try:  # hiding the policy's exception does not help
        logits = logits.detach().clone().requires_grad_()
    except Exception:
        logits = torch.nn.Parameter(logits.detach().clone())
    logprobs = F.log_softmax(logits, 1)
    loss = -logprobs[range(Yb.shape[0]), Yb].mean()
    (dlogits,) = torch.autograd.grad(loss, logits)
'''


def test_loss_backward_in_the_manual_training_step_is_a_policy_violation(tmp_path):
    sub = mutant(tmp_path, "backprop", {"train.py": [("    ### BEGIN SOLUTION\n", AUTOGRAD_STEP)]})
    results = grade_path(sub, "backprop", only={"backprop.train_manual", "backprop.dlogits"})
    r = results["backprop.train_manual"]
    assert r.status == "policy" and r.points == 0
    assert "may not use autograd" in r.message and "manual_step()" in r.message
    assert results["backprop.dlogits"].passed


def test_autograd_inside_a_stage_scores_zero_on_that_stage(tmp_path):
    first = "    ### BEGIN SOLUTION\n    n = Yb.shape[0]\n"
    sub = mutant(tmp_path, "backprop",
                 {"ninja.py": [(first, AUTOGRAD_STAGE + "    n = Yb.shape[0]\n")]})
    stage = _stage_checks("backward_loss")
    results = grade_path(sub, "backprop", only=stage | {"backprop.dh"})
    for k in stage:
        assert results[k].status == "policy" and results[k].points == 0, (k, results[k].message)
        assert "backward_loss() used" in results[k].message
    assert results["backprop.dh"].passed


# (planted bug, the gradient holding it, gradients computed from it that fail too)
FIRST_WRONG = [
    ("    dcounts_sum = (-counts_sum**-2) * dcounts_sum_inv\n",
     "    dcounts_sum = (counts_sum**-2) * dcounts_sum_inv\n",
     "dcounts_sum", ("dcounts", "dnorm_logits", "dlogits")),
    ("    dbnvar = (-0.5 * (bnvar + 1e-5) ** -1.5) * dbnvar_inv\n",
     "    dbnvar = (-0.5 * (bnvar + 1e-5) ** -0.5) * dbnvar_inv\n",
     "dbnvar", ("dbndiff2", "dbndiff", "dhprebn")),
]


@pytest.mark.parametrize(("old", "new", "holder", "downstream"), FIRST_WRONG)
def test_failure_names_the_first_wrong_gradient_in_chain_order(tmp_path, old, new, holder,
                                                               downstream):
    sub = mutant(tmp_path, "backprop", {"ninja.py": [(old, new)]})
    checks = {f"backprop.{g}" for g in (holder, *downstream)}
    results = grade_path(sub, "backprop", only=checks)
    assert all(r.status == "failed" for r in results.values())
    for k, r in results.items():
        first = r.message.splitlines()[0]
        assert first.startswith(f"{holder} is "), (k, first)
        if k != f"backprop.{holder}":
            assert f"backprop.{first.split()[0]}" != k and "computed from it" in first, first


def test_db1_and_dlogit_maxes_cannot_be_answered_with_zeros(tmp_path):
    # b1's true gradient is 0 (BatchNorm removes the mean) and so is logit_maxes' (softmax
    # ignores a shift): zeros must still fail (random upstream for b1, graded with dnorm_logits)
    sub = mutant(tmp_path, "backprop", {"ninja.py": [
        ("    db1 = dhprebn.sum(0)\n", "    db1 = torch.zeros_like(dhprebn[0])\n"),
        ("    dnorm_logits = counts * dcounts  # d exp(x) / dx = exp(x)\n",
         "    dnorm_logits = counts * dcounts * 0.5\n")]})
    results = grade_path(sub, "backprop", only={"backprop.db1", "backprop.dlogit_maxes"})
    assert results["backprop.db1"].status == "failed", results["backprop.db1"].message
    r = results["backprop.dlogit_maxes"]
    assert r.status == "failed" and "dnorm_logits" in r.message.splitlines()[0], r.message
