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
    # the lecture's fixed learning rate instead of the one passed in: the grader's schedule
    # changes at a step the worker cannot guess
    "manual_step_ignores_lr": (
        {"train.py": [("            t -= lr * grad\n", "            t -= 0.1 * grad\n")]},
        {"backprop.train_manual"}, {"backprop.dlogits_fused"}),
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


def _holder(fname: str, old: str) -> set[str]:
    """Names of the planted edit's place, derived from the reference (not written by hand): the
    function enclosing the edited text, and the variable its first line assigns, if any."""
    import ast
    import re
    src = (REFERENCE / "backprop" / fname).read_text()
    line = src[:src.index(old)].count("\n") + 1 + (old[0] == "\n")
    names = {f.name for f in ast.walk(ast.parse(src)) if isinstance(f, ast.FunctionDef)
             and f.lineno <= line <= f.end_lineno}
    m = re.match(r"\s*(\w+)\s*[-+*/]?=", old)
    return names | ({m.group(1)} if m else set())


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_first_line_names_where_the_bug_is(tmp_path, bug):
    edits, must_fail, _ = BUGS[bug]
    results = grade_path(mutant(tmp_path, "backprop", edits), "backprop", only=must_fail)
    (fname, pairs), = edits.items()
    names = _holder(fname, pairs[0][0])
    for k in must_fail:
        first = results[k].message.splitlines()[0]
        assert any(n in first for n in names), (k, names, first)
