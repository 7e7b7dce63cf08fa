"""bigram's buggy variants."""
from __future__ import annotations

from . import Bug

BUGS = {
    # stoi without the +1: '.' and 'a' share index 0 and 'z' falls off the end
    "off_by_one_vocabulary": Bug(
        {"counts.py": [("stoi = {s: i + 1 for i, s", "stoi = {s: i for i, s")]},
        fails="vocab e02_split pipeline"),
    "forgetting_the_end_token": Bug(
        {"counts.py": [("chs = ['.'] + list(w) + ['.']", "chs = ['.'] + list(w)")]},
        fails="counts nll dataset e02_split pipeline"),
    "smoothing_added_after_normalisation": Bug(
        {"counts.py": [("    P = (N + k).float()\n    P /= P.sum(1, keepdim=True)\n",
                        "    P = N.float()\n    P /= P.sum(1, keepdim=True)\n    P += k\n")]},
        fails="smoothing e02_split pipeline"),
    # the lecture's famous one: (27, 27) / (27,) divides column j by row j's sum. Only the check
    # of P itself can see it: a bigram count matrix has equal row and column sums, so the NLL
    # of any list of whole words comes out exactly the same (samples do not)
    "keepdim_broadcasting": Bug(
        {"counts.py": [("P /= P.sum(1, keepdim=True)", "P /= P.sum(1)")]}, fails="smoothing"),
    "trigram_indexing_transposed": Bug(
        {"exercises.py": [("N3.index_put_((ix[:, 0], ix[:, 1], ix[:, 2])",
                           "N3.index_put_((ix[:, 1], ix[:, 0], ix[:, 2])")]},
        fails="e01_trigram e02_split"),
    "sampling_from_the_wrong_row": Bug(
        {"counts.py": [("p = P[ix]", "p = P[:, ix]")]}, fails="sample"),
    "indexing_columns_instead_of_rows": Bug(
        {"neural.py": [("return W[xs]", "return W[:, xs].T")]},
        fails="e04_indexing gradient_descent"),
    "cross_entropy_without_regulariser": Bug(
        {"neural.py": [("    loss = F.cross_entropy(logits, ys)\n    if W is not None:",
                        "    loss = F.cross_entropy(logits, ys)\n    if False:")]},
        fails="e05_cross_entropy gradient_descent"),
    "gradients_never_reset": Bug(
        {"neural.py": [("        W.grad = None\n", "")]}, fails="gradient_descent"),
    "split_ignores_the_seed": Bug(
        {"exercises.py": [("random.Random(seed).shuffle(words)", "random.shuffle(words)")]},
        fails="e02_split"),
    # the docstring says "shuffle a copy" and leaves the global random state alone (issue #16)
    "split_shuffles_the_callers_list_in_place": Bug(
        {"exercises.py": [("    words = list(words)\n    random.Random(seed).shuffle(words)",
                           "    random.Random(seed).shuffle(words)")]},
        fails="e02_split"),
    "split_reseeds_the_global_rng": Bug(
        {"exercises.py": [("    random.Random(seed).shuffle(words)",
                           "    random.seed(seed)\n    random.shuffle(words)")]},
        fails="e02_split"),
    "smoothing_tuned_on_test": Bug(
        {"exercises.py": [("best = strengths[dev_losses.index(min(dev_losses))]",
                           ("test_losses = [evaluate(train, test, k) for k in strengths]\n"
                            "    best = strengths[test_losses.index(min(test_losses))]"))]},
        fails="e03_sweep"),
}
