"""Lecture 6 beyond tests/test_lectures.py: the parameter count, the torch.nn equivalence under
both BatchNorm variance conventions, nested Sequentials."""
from __future__ import annotations

from conftest import grade_path, mutant

from grader.config import load_course
from grader.lectures.wavenet.checks import n_params

LECTURE = load_course().lecture("wavenet")
QUICK = {c.id for c in LECTURE.checks} - {"wavenet.train"}


def test_parameter_count_formula_matches_the_lecture():
    assert n_params(LECTURE.params["lecture"]) == 76_579
    # the lecture's 22K-parameter hierarchical variant: n_embd 10, n_hidden 68
    assert n_params({"vocab_size": 27, "block_size": 8, "n_embd": 10, "n_hidden": 68}) == 22_397


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
