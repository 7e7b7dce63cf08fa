"""Lecture 5 end to end: reference, stubs, buggy variants on the right check, and the policy that
the manual backward pass may not use autograd."""
from __future__ import annotations

import pytest
from conftest import ASSIGNMENTS, REFERENCE, grade_path, mutant

from grader.config import load_course
from grader.lectures.backprop.checks import GRADIENTS, STAGE_OF

CHECKS = {c.id for c in load_course().lecture("backprop").checks}


def test_reference_gets_full_marks(course):
    results = grade_path(REFERENCE, "backprop")
    assert set(results) == CHECKS
    assert not {k: r.message for k, r in results.items() if not r.passed}
    assert sum(r.points for r in results.values()) == sum(
        c.points for c in course.lecture("backprop").checks)
    # the lecture's cmp line on every gradient
    assert "dlogprobs | exact: True | approximate: True | maxdiff: 0" in \
        results["backprop.dlogprobs"].message


def test_every_gradient_of_the_lecture_has_its_own_check():
    assert len(GRADIENTS) == 26
    assert {f"backprop.d{g}" for g in GRADIENTS} <= CHECKS


def test_stub_submission_scores_zero_without_crash():
    results = grade_path(ASSIGNMENTS, "backprop")
    assert {r.status for r in results.values()} == {"not_implemented"}
    assert sum(r.points for r in results.values()) == 0


def _stage_checks(stage: str) -> set[str]:
    return {f"backprop.d{g}" for g in GRADIENTS if STAGE_OF[g] == stage}


BUGS = {
    # only the bnraw branch: bndiff's second use (bndiff2 -> bnvar) is forgotten
    "dbndiff_missing_second_branch": (
        {"ninja.py": [("    dbndiff += (2 * bndiff) * dbndiff2", "    pass")]},
        {"backprop.dbndiff", "backprop.dhprebn"},
        # dbnmeani stays right: the missing term 2 * bndiff * dbndiff2 sums to 0 over the batch
        (_stage_checks("backward_batchnorm") - {"backprop.dbndiff", "backprop.dhprebn"})
        | _stage_checks("backward_loss") | _stage_checks("backward_first_layer")),
    "dlogits_not_divided_by_batch_size": (
        {"fused.py": [("    dlogits /= n\n", "")]},
        {"backprop.dlogits_fused"},
        {"backprop.dlogits", "backprop.dhprebn_fused"}),
    "dcounts_missing_second_branch": (
        {"ninja.py": [("    dcounts += torch.ones_like(counts) * dcounts_sum", "    pass")]},
        {"backprop.dcounts", "backprop.dlogits"},
        {"backprop.dcounts_sum", "backprop.dlogprobs", "backprop.dh"}),
    "biased_variance_in_fused_batchnorm": (
        {"fused.py": [("- n / (n - 1) * bnraw * (dhpreact * bnraw).sum(0))\n    ### END",
                       "- bnraw * (dhpreact * bnraw).sum(0))\n    ### END")]},
        {"backprop.dhprebn_fused", "backprop.train_manual"},
        {"backprop.dhprebn", "backprop.dlogits_fused"}),
    # a hard-coded 1/31 passes at the lecture's batch of 32, not at another batch size
    "hard_coded_batch_size": (
        {"ninja.py": [("(1.0 / (n - 1)) * torch.ones_like(bndiff2)",
                       "(1.0 / 31) * torch.ones_like(bndiff2)")]},
        {"backprop.other_shapes"}, {"backprop.dbndiff2", "backprop.dhprebn"}),
}


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_buggy_variant_fails_the_right_check(tmp_path, bug):
    edits, must_fail, must_pass = BUGS[bug]
    results = grade_path(mutant(tmp_path, "backprop", edits), "backprop",
                         only=must_fail | must_pass)
    for k in must_fail:
        assert results[k].status == "failed" and results[k].points == 0, (k, results[k].message)
        assert "approximate: False" in results[k].message or "tolerance" in results[k].message
    for k in must_pass:
        assert results[k].passed, (k, results[k].message)


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
