"""A correct answer always gets full marks, including the lecture's own float32 loops: the hidden
bigram.pipeline check sums ~14,000 float32 log probs one at a time (the lecture's `nll` loop),
whose rounding passed rtol at 1 seed in 40 before the check learned that loop's error on the
run's own words. A float64 sum must pass too, and a wrong smoothing k must still fail."""
from __future__ import annotations

import pytest
from conftest import REFERENCE, grade_path, mutant

PIPELINE = {"bigram.pipeline"}
SEED_PAST_RTOL = 23      # found by grading the reference at seeds 0-39 (only this one failed)
LOOP = ("    log_likelihood = 0.0\n", "    log_likelihood = torch.zeros((), dtype=torch.float64)\n")


def test_the_lectures_float32_loop_passes_where_its_rounding_passes_rtol():
    r = grade_path(REFERENCE, "bigram", seed=SEED_PAST_RTOL, only=PIPELINE)["bigram.pipeline"]
    assert r.passed, r.message


@pytest.mark.parametrize("seed", [SEED_PAST_RTOL, 1])
def test_a_float64_sum_passes(tmp_path, seed):
    add = ("        log_likelihood += torch.log(prob)",
           "        log_likelihood += torch.log(prob.double())")
    sub = mutant(tmp_path, "bigram", {"counts.py": [LOOP, add]})
    r = grade_path(sub, "bigram", seed=seed, only=PIPELINE)["bigram.pipeline"]
    assert r.passed, r.message


def test_smoothing_that_ignores_k_still_fails(tmp_path):
    sub = mutant(tmp_path, "bigram", {"counts.py": [("    P = (N + k).float()",
                                                     "    P = (N + 1).float()")]})
    fails = [s for s in range(6)
             if not grade_path(sub, "bigram", seed=s, only=PIPELINE)["bigram.pipeline"].passed]
    assert fails, "k ignored passed the pipeline at every seed (k is drawn from 0, 1, U(0.1, 3))"
