"""Lecture 1 end to end: reference, stubs, a public-repo-shaped clone, buggy variants, policy."""
from __future__ import annotations

import pytest
from conftest import ASSIGNMENTS, REFERENCE, ROOT, grade_path, mutant

from grader.config import load_course

CHECKS = [c.id for c in load_course().lecture("micrograd").checks]
PUBLIC = ROOT / "tests" / "fixtures" / "micrograd_public"


def test_reference_gets_full_marks(course):
    results = grade_path(REFERENCE, "micrograd")
    assert set(results) == {c.id for c in course.lecture("micrograd").checks}
    failed = {k: (r.status, r.message) for k, r in results.items() if not r.passed}
    assert not failed
    assert sum(r.points for r in results.values()) == sum(
        c.points for c in course.lecture("micrograd").checks)


def test_stub_submission_scores_zero_without_crash():
    results = grade_path(ASSIGNMENTS, "micrograd")
    assert {r.status for r in results.values()} == {"not_implemented"}
    assert sum(r.points for r in results.values()) == 0
    assert all("YOUR CODE HERE" in r.message for r in results.values())


def test_public_repo_clone_gets_full_marks_on_what_it_covers():
    results = grade_path(PUBLIC, "micrograd")
    missing = {"micrograd.tanh": "Value.tanh", "micrograd.exp": "Value.exp",
               "micrograd.log": "Value.log", "micrograd.draw_dot": "micrograd/viz.py",
               "micrograd.numerical_grad": "micrograd/exercises.py",
               "micrograd.softmax_nll": "micrograd/exercises.py"}
    for cid, r in results.items():
        if cid in missing:
            assert r.status == "missing" and r.message == f"missing: {missing[cid]}"
            assert r.points == 0
        else:
            assert r.passed, (cid, r.message)
            assert r.points == r.max_points


BUGS = {
    # '=' instead of '+=' in a _backward: reused nodes lose a contribution
    "assign_not_accumulate": ({"engine.py": [("self.grad += out.grad\n            other.grad += "
                                              "out.grad", "self.grad = out.grad\n            "
                                              "other.grad = out.grad")]},
                              {"micrograd.accumulate", "micrograd.backward"}),
    # no topological sort: walk the graph depth-first from the root instead
    "no_topological_sort": ({"engine.py": [(
        "        build_topo(self)\n",
        "        build_topo(self)\n"
        "        topo = sorted(topo, key=lambda v: v.data)\n")]},
                            {"micrograd.backward"}),
    "pow_gradient_wrong": ({"engine.py": [("other * self.data**(other - 1) * out.grad",
                                           "other * self.data**other * out.grad")]},
                           {"micrograd.backward"}),
    "zero_grad_misses_biases": ({"nn.py": [("        for p in self.parameters():\n"
                                            "            p.grad = 0",
                                            "        for layer in self.layers:\n"
                                            "            for n in layer.neurons:\n"
                                            "                for w in n.w:\n"
                                            "                    w.grad = 0")]},
                                {"micrograd.zero_grad"}),
    "tanh_derivative_wrong": ({"engine.py": [("(1 - t**2) * out.grad", "(1 - t) * out.grad")]},
                              {"micrograd.tanh"}),
    "relu_on_last_layer": ({"nn.py": [("nonlin=i != len(nouts) - 1", "nonlin=True")]},
                           {"micrograd.nn_forward"}),
    "parameters_bias_first": ({"nn.py": [("return self.w + [self.b]", "return [self.b] + self.w")]},
                              {"micrograd.parameters"}),
    "one_sided_difference": ({"exercises.py": [("(f(*up) - f(*down)) / (2 * h)",
                                                "(f(*up) - f(*args)) / h")]},
                             {"micrograd.numerical_grad"}),
}


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_buggy_variant_fails_the_right_check(tmp_path, bug):
    edits, must_fail = BUGS[bug]
    quick = {c for c in CHECKS if c != "micrograd.train"} | must_fail
    results = grade_path(mutant(tmp_path, "micrograd", edits), "micrograd", only=quick)
    failed = {k for k, r in results.items() if not r.passed}
    assert must_fail <= failed, {k: results[k].message for k in must_fail}
    for k in must_fail:
        assert results[k].status == "failed" and results[k].points == 0
        assert "tolerance" in results[k].message or "should" in results[k].message
    assert sum(r.points for r in results.values()) < sum(r.max_points for r in results.values())


def test_failure_message_shows_tolerance_worst_error_and_where(tmp_path):
    edits, _ = BUGS["pow_gradient_wrong"]
    r = grade_path(mutant(tmp_path, "micrograd", edits), "micrograd",
                   only={"micrograd.backward"})["micrograd.backward"]
    assert "rtol=1e-09, atol=1e-12" in r.message
    assert "abs err" in r.message and "rel err" in r.message
    assert "worst at" in r.message and "** c" in r.message


def test_importing_numpy_is_a_policy_violation(tmp_path):
    sub = mutant(tmp_path, "micrograd",
                 {"engine.py": [("import math\n", "import math\nimport numpy\n")]})
    results = grade_path(sub, "micrograd")
    assert {r.status for r in results.values()} == {"policy"}
    assert all("may not import torch or numpy" in r.message and "engine.py:" in r.message
               for r in results.values())


def test_hidden_dynamic_import_of_torch_is_caught_by_the_audit_hook(tmp_path):
    sneaky = ("        t = math.tanh(self.data)\n",
              "        t = float(getattr(__builtins__, '__imp' + 'ort__')('to' + 'rch')"
              ".tanh(__import__('torch').tensor(self.data)))\n")
    sub = mutant(tmp_path, "micrograd", {"engine.py": [sneaky]})
    r = grade_path(sub, "micrograd", only={"micrograd.tanh"})["micrograd.tanh"]
    assert r.status == "policy" and r.points == 0
    assert "torch" in r.message


def test_syntax_error_is_reported_on_the_checks_that_need_the_file(tmp_path):
    sub = mutant(tmp_path, "micrograd", {"nn.py": [("class Module:", "class Module(:")]})
    results = grade_path(sub, "micrograd", only=set(CHECKS) - {"micrograd.train"})
    for cid in ("micrograd.nn_forward", "micrograd.parameters", "micrograd.zero_grad"):
        assert results[cid].status == "import_error" and results[cid].points == 0
        assert "SyntaxError" in results[cid].message and "nn.py" in results[cid].message
    assert results["micrograd.backward"].passed  # engine.py is fine and still graded


def test_syntax_error_in_package_init_fails_every_check_with_the_reason(tmp_path):
    sub = mutant(tmp_path, "micrograd", {"__init__.py": [('"""\n', '"""\ndef f(:\n')]})
    results = grade_path(sub, "micrograd", only=set(CHECKS) - {"micrograd.train"})
    assert {r.status for r in results.values()} == {"import_error"}
    assert all("SyntaxError" in r.message for r in results.values())
