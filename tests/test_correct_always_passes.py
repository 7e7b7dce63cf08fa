"""A correct answer always gets full marks: regressions found by grading the reference at many
seeds (a class of 16 copies of it, `benchmarks/batch_throughput.py`, and seeds 0-39).

The hidden bigram.pipeline check sums ~14,000 float32 log probs one at a time (the lecture's
`nll` loop), whose rounding passed rtol at 1 seed in 40 before the check learned that loop's
error on the run's own words. A float64 sum must pass too, and a wrong smoothing k must still
fail."""
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


# mlp.sample: the parent's copy of the sampling loop cut names at 200 characters, the specified
# loop does not; 2 students in a class of 16 (batch seed 1) drew weights whose names ran longer
@pytest.mark.parametrize("student", ["student11", "student13"])
def test_mlp_sample_never_cuts_a_name_the_specified_loop_would_finish(student):
    from grader.runner import derive_seed
    r = grade_path(REFERENCE, "mlp", seed=derive_seed(1, student), only={"mlp.sample"})
    assert r["mlp.sample"].passed, r["mlp.sample"].message


# micrograd.train: with as many points of each class, the bias of a neuron that every point
# activates has a gradient of exactly 0 in exact arithmetic (±1e-17 in floats, sign by summation
# order), and a ReLU whose inputs are all dead then sits on that sign: a correct run left the
# torch replay at step 2 for student s25 of a class graded with --seed 7
def test_micrograd_train_classes_are_unbalanced_so_no_gradient_is_structurally_zero():
    import numpy as np

    from grader.config import load_course
    from grader.lectures.micrograd.checks import make_moons
    cfg = next(c for c in load_course().lecture("micrograd").checks if c.id == "micrograd.train")
    for seed in range(5):
        _, y = make_moons(np.random.default_rng(seed), cfg.params["n"], cfg.params["noise"])
        assert y.sum() != 0


def test_micrograd_train_passes_the_student_whose_run_left_the_replay():
    from grader.runner import derive_seed
    r = grade_path(REFERENCE, "micrograd", seed=derive_seed(7, "s25"), only={"micrograd.train"})
    assert r["micrograd.train"].passed, r["micrograd.train"].message
