"""backprop's buggy variants. Every check a gradient bug fails names the gradient's stage
function (and the first wrong gradient) first: `named` is all of them."""
from __future__ import annotations

from . import Bug

BUGS = {
    # only the bnraw branch: bndiff's second use (bndiff2 -> bnvar) is forgotten; dbnmeani stays
    # right: the missing term 2 * bndiff * dbndiff2 sums to 0 over the batch
    "dbndiff_missing_second_branch": Bug(
        {"ninja.py": [("    dbndiff += (2 * bndiff) * dbndiff2", "    pass")]},
        fails="dbndiff dhprebn other_shapes", named="dbndiff dhprebn other_shapes"),
    "dlogits_not_divided_by_batch_size": Bug(
        {"fused.py": [("    dlogits /= n\n", "")]},
        fails="dlogits_fused train_manual other_shapes",
        named="dlogits_fused train_manual other_shapes"),
    "dcounts_missing_second_branch": Bug(
        {"ninja.py": [("    dcounts += torch.ones_like(counts) * dcounts_sum", "    pass")]},
        fails="dcounts dnorm_logits dlogit_maxes dlogits other_shapes",
        named="dcounts dnorm_logits dlogit_maxes dlogits other_shapes"),
    "biased_variance_in_fused_batchnorm": Bug(
        {"fused.py": [("- n / (n - 1) * bnraw * (dhpreact * bnraw).sum(0))\n    ### END",
                       "- bnraw * (dhpreact * bnraw).sum(0))\n    ### END")]},
        fails="dhprebn_fused train_manual other_shapes",
        named="dhprebn_fused train_manual other_shapes"),
    # a hard-coded 1/31 passes at the lecture's batch of 32, not at another batch size
    "hard_coded_batch_size": Bug(
        {"ninja.py": [("(1.0 / (n - 1)) * torch.ones_like(bndiff2)",
                       "(1.0 / 31) * torch.ones_like(bndiff2)")]},
        fails="other_shapes"),
    # the lecture's fixed learning rate instead of the one passed in: the grader's schedule
    # changes at a step the worker cannot guess
    "manual_step_ignores_lr": Bug(
        {"train.py": [("            t -= lr * grad\n", "            t -= 0.1 * grad\n")]},
        fails="train_manual"),
}
