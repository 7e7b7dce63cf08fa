"""Lecture 4 beyond tests/test_lectures.py: both BatchNorm variance conventions."""
from __future__ import annotations

from conftest import grade_path, mutant


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
